"""mda: LMTP server and LDA against real Maildirs (the mda issue).

Safe mail lands in INBOX byte for byte plus Return-Path and Delivered-To;
unsafe mail lands in .Unsafe with its attachments removed and the
original quarantined; only root and [mda] trusted_user may call a message
safe (XSEAL ... CLASS=SAFE); refusals (unknown user, no unsafe mailbox,
quota) store nothing.
"""

import glob
import os
import subprocess
import threading
import unittest

from harness import Instance, binary, descendants, proc_info
from mdatools import BOB, CAROL, PLAIN, LMTPClient, MdaCase, dotstuff, new_qid


ATTACHED = (b"From: mallory@evil.test\r\nTo: bob@example.test\r\n"
            b"Subject: invoice\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            b"--b1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=\"invoice.exe\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"TUFSS0VSLUVWSUwtUEFZTE9BRA==\r\n--b1--\r\n")
MARKER = b"MARKER-EVIL-PAYLOAD"


class MdaTest(MdaCase):

    ALIASES = ((BOB, "robert@example.test"),)

    def newest(self, addr, folder=""):
        msgs = self.inst.messages(addr, folder)
        self.assertTrue(msgs, "a message in %s %s" % (addr, folder or "INBOX"))
        return max(msgs, key=os.path.getmtime)

    def test_safe_lands_in_inbox_byte_for_byte(self):
        before = len(self.inst.messages(BOB))
        c = self.lmtp()
        replies = c.send("alice@example.test", [BOB], PLAIN, "safe")
        c.close()
        self.assertEqual(replies[0][0], 250, replies)
        self.assertEqual(len(self.inst.messages(BOB)), before + 1)
        data = self.read(self.newest(BOB))
        self.assertEqual(data, b"Return-Path: <alice@example.test>\r\n"
                         b"Delivered-To: bob@example.test\r\n" + PLAIN)
        st = os.stat(self.newest(BOB))
        self.assertEqual(st.st_uid, self.inst.users["vmail"].pw_uid)
        self.assertEqual(st.st_mode & 0o777, 0o600)

    def test_no_class_is_unsafe_and_stripped_with_original_quarantined(self):
        c = self.lmtp()
        replies = c.send("mallory@evil.test", [BOB], ATTACHED)
        c.close()
        self.assertEqual(replies[0][0], 250, replies)
        self.assertIn("Unsafe", replies[0][1])
        data = self.read(self.newest(BOB, "Unsafe"))
        self.assertNotIn(MARKER, data)
        self.assertNotIn(b"TUFSS0VSLUVWSUwtUEFZTE9BRA", data)
        self.assertIn(b"X-Sealmail-Stripped: 1", data)
        self.assertIn(b"invoice.exe", data)     # named in the notice
        self.assertTrue(os.path.exists(
            os.path.join(self.inst.maildir(BOB), ".Unsafe", "maildirfolder")))
        quarantined = glob.glob(self.inst.path(
            "quarantine", "example.test", "bob", "new", "*"))
        self.assertTrue(any(self.read(q).endswith(ATTACHED)
                            for q in quarantined), "original quarantined")

    def test_several_recipients_get_one_reply_each(self):
        c = self.lmtp()
        c.cmd("LHLO test")
        c.xseal("safe")
        c.cmd("MAIL FROM:<alice@example.test>")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        code, text = c.cmd("RCPT TO:<nobody@example.test>")
        self.assertEqual(code, 550)
        self.assertIn("5.1.1", text)
        self.assertEqual(c.cmd("RCPT TO:<robert@example.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % CAROL)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.sock.sendall(dotstuff(PLAIN))
        replies = [c.reply() for _ in range(3)]
        c.close()
        self.assertEqual([r[0] for r in replies], [250, 250, 250])
        self.assertIn("robert@example.test", replies[1][1])

    def test_user_without_unsafe_mailbox_refuses_unsafe(self):
        self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=no")
        try:
            before = self.inst.messages(CAROL, "Unsafe")
            c = self.lmtp()
            replies = c.send("mallory@evil.test", [CAROL], ATTACHED, "unsafe")
            c.close()
            self.assertEqual(replies[0][0], 550)
            self.assertIn("5.7.1", replies[0][1])
            self.assertEqual(self.inst.messages(CAROL, "Unsafe"), before)
        finally:
            self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=yes")

    def test_unsafe_is_rewritten_even_with_stripping_off(self):
        """docs/architecture.md rule 3: no sender MIME reaches the mailbox
        unexamined."""
        self.inst.ctl("user", "set", CAROL, "strip_attachments=no",
                      "strip_html=no")
        try:
            broken = ATTACHED.replace(b'; boundary="b1"', b"")
            c = self.lmtp()
            replies = c.send("mallory@evil.test", [CAROL], broken, "unsafe")
            c.close()
            self.assertEqual(replies[0][0], 250, replies)
            data = self.read(self.newest(CAROL, "Unsafe"))
            self.assertIn(b"X-Sealmail-Stripped:", data)
            self.assertNotIn(b"--b1\r\nContent-Type: application/octet-stream",
                             data)
        finally:
            self.inst.ctl("user", "set", CAROL, "strip_attachments=yes",
                          "strip_html=yes")

    def test_over_quota_is_552(self):
        self.inst.ctl("user", "set", CAROL, "quota_bytes=10")
        try:
            c = self.lmtp()
            replies = c.send("alice@example.test", [CAROL], PLAIN, "safe")
            c.close()
            self.assertEqual(replies[0][0], 552)
            self.assertIn("5.2.2", replies[0][1])
        finally:
            self.inst.ctl("user", "set", CAROL, "quota_bytes=0")

    def test_protocol_errors(self):
        c = self.lmtp()
        self.assertEqual(c.cmd("EHLO x")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.test>")[0], 503)
        c.cmd("LHLO x")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 503)
        self.assertEqual(c.cmd("XSEAL ID=%s CLASS=maybe" % new_qid())[0],
                         501)
        c.cmd("MAIL FROM:<a@b.test>")
        self.assertEqual(c.cmd("DATA")[0], 554)
        c.close()

    def test_a_bare_lf_is_no_line_end_and_the_message_is_refused(self):
        """mda reads content with the engine smtpd and submitd use: only
        CRLF "." CRLF ends it, and a bare LF refuses the whole message,
        once per recipient, so no hidden second message gets in"""
        before = (len(self.inst.messages(BOB)), len(self.inst.messages(CAROL)))
        c = self.lmtp()
        c.cmd("LHLO test")
        c.xseal("safe")
        c.cmd("MAIL FROM:<alice@example.test>")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % CAROL)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.sock.sendall(b"Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<x@y.test>"
                       b"\r\nRCPT TO:<%s>\r\nDATA\r\nSubject: smuggled\r\n"
                       b"\r\n.\r\n" % BOB.encode())
        replies = [c.reply() for _ in range(2)]
        self.assertEqual([r[0] for r in replies], [550, 550], replies)
        self.assertIn("5.6.0", replies[0][1])
        # the session goes on, in step: the next reply is NOOP's
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.close()
        self.assertEqual((len(self.inst.messages(BOB)),
                          len(self.inst.messages(CAROL))), before)

    def test_dot_stuffing_is_undone(self):
        c = self.lmtp()
        msg = b"Subject: dots\r\n\r\n..two\r\n.one\r\n...\r\n"
        replies = c.send("alice@example.test", [BOB], msg, "safe")
        c.close()
        self.assertEqual(replies[0][0], 250, replies)
        self.assertTrue(self.read(self.newest(BOB)).endswith(msg))

    def lda(self, rcpt, msg, *args, uid=None):
        env = self.inst.env()
        # As another uid the program must be reachable from anywhere.
        prog = self.inst.exposed_binary("mda") if uid else binary("mda")
        return subprocess.run([prog, "-c", self.inst.conf, "-d", rcpt]
                              + list(args), input=msg, capture_output=True,
                              env=env, timeout=30,
                              preexec_fn=(lambda: os.setuid(uid)) if uid else None)

    def test_lda_as_root_delivers_and_reports_sysexits(self):
        r = self.lda(BOB, PLAIN.replace(b"\r\n", b"\n"), "-s", "safe",
                     "-f", "alice@example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = self.read(self.newest(BOB))
        self.assertTrue(data.startswith(b"Return-Path: <alice@example.test>\n"
                                        b"Delivered-To: bob@example.test\n"))
        self.assertEqual(self.lda("nobody@example.test", PLAIN).returncode, 67)
        self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=no")
        try:
            self.assertEqual(self.lda(CAROL, ATTACHED).returncode, 77)
        finally:
            self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=yes")

    def test_the_lda_loads_no_tls_library(self):
        # mda -d runs once per message: it neither offers nor starts TLS,
        # and loading libssl and libcrypto cost more CPU than a delivery's
        # own work (common/tls.h, common/smtp_client_tls.c).
        r = subprocess.run(["ldd", binary("mda")], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("libc.so", r.stdout)
        for lib in ("libssl", "libcrypto", "libevent_openssl"):
            self.assertNotIn(lib, r.stdout)

    def test_lda_as_other_user_relays_and_cannot_claim_safe(self):
        before = len(self.inst.messages(CAROL))
        r = self.lda(CAROL, ATTACHED, "-s", "safe", uid=65534)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.inst.messages(CAROL)), before)
        self.assertNotIn(MARKER, self.read(self.newest(CAROL, "Unsafe")))

    def test_concurrent_deliveries_to_one_mailbox(self):
        before = set(self.inst.messages(CAROL))
        results = []

        def one(i):
            msg = PLAIN.replace(b"plain", b"concurrent %d" % i)
            results.append(self.lda(CAROL, msg, "-s", "safe").returncode)

        def lmtp_one(i):
            c = self.lmtp()
            msg = PLAIN.replace(b"plain", b"lmtp concurrent %d" % i)
            results.append(0 if c.send("a@b.test", [CAROL], msg, "safe")[0][0]
                           == 250 else 1)
            c.close()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        threads += [threading.Thread(target=lmtp_one, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [0] * 20)
        new = set(self.inst.messages(CAROL)) - before
        self.assertEqual(len(new), 20)
        subjects = {self.read(p).split(b"Subject: ")[1].split(b"\r\n")[0]
                    .split(b"\n")[0] for p in new}
        self.assertEqual(len(subjects), 20)

    def test_lmtp_role_runs_as_mail_user(self):
        kids = descendants(self.inst.pid("mda"))
        roles = {proc_info(p)[0]: proc_info(p)[1] for p in kids}
        self.assertIn("mda.lmtp", roles)
        vmail = self.inst.users["vmail"].pw_uid
        self.assertEqual(roles["mda.lmtp"], [vmail] * 3)


class HostNameInFileNamesTest(unittest.TestCase):
    """The host part of a Maildir name is [global] hostname with '/' and
    ':' written as \\057 and \\072, as the Maildir spec says: either would
    otherwise make a path or an info of the name."""

    def test_slash_and_colon_in_the_hostname_are_escaped(self):
        with Instance(extra_conf={"global": {"hostname": "mx/a:b"}}) as inst:
            inst.add_user(BOB, "pw")
            inst.start("mda")
            qid = new_qid()
            # the second time is answered from the delivery record
            for _ in range(2):
                c = LMTPClient(inst.path("run", "lmtp.sock"))
                replies = c.send("alice@example.test", [BOB], PLAIN, "safe",
                                 qid)
                c.close()
                self.assertEqual(replies[0][0], 250, replies)
            msgs = inst.messages(BOB)
            self.assertEqual(len(msgs), 1)
            name = os.path.basename(msgs[0])
            size = len(b"Return-Path: <alice@example.test>\r\n"
                       b"Delivered-To: bob@example.test\r\n" + PLAIN)
            self.assertRegex(name, r"^\d+\.M\d{6}P\d+Q\d+\.mx\\057a\\072b,"
                             r"S=%d$" % size)


if __name__ == "__main__":
    unittest.main()
