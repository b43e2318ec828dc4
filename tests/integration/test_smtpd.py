"""test_smtpd.py - smtpd with real clients: smtplib (with and without
STARTTLS), swaks, raw sockets for pipelining, malformed input and SMTP
smuggling, restart recovery.  kill -9 of each role: test_smtpd_heal.py.

smtpd delivers over LMTP; these tests put a small LMTP server of their own
on [mda] lmtp_socket (FakeMda, fakemda.py), so that what smtpd hands over
(envelope, class parameter, bytes) can be checked exactly, and so that
temporary and permanent failures can be ordered.
"""

import os
import pwd
import re
import signal
import smtplib
import socket
import ssl
import shutil
import stat
import struct
import subprocess
import time
import unittest

import harness
from fakemda import FakeMda, mda_offers_xseal, read_reply  # noqa: F401
from fixtures import role_pid, settled_roles
from harness import Instance, wait_for, descendants, proc_info

DOMAIN = harness.DOMAIN
BOB = "bob@" + DOMAIN
ALICE = "alice@" + DOMAIN


class SmtpdTest(unittest.TestCase):
    extra_conf = {}
    mda_xseal = True

    @classmethod
    def setUpClass(cls):
        if not harness.Instance or not os.path.exists(harness.binary("smtpd")):
            raise unittest.SkipTest("smtpd is not built")

    def setUp(self):
        conf = {"smtpd": {"max_message_size": "64K", "retry_min": "1s",
                          "retry_max": "2s"}}
        for k, v in self.extra_conf.items():
            conf.setdefault(k, {}).update(v)
        self.inst = Instance(extra_conf=conf)
        # cleanups, not tearDown: they run when start() fails or skips too
        # (the daemons it started would be left running otherwise)
        self.addCleanup(self.inst.close)
        self.inst.add_user(BOB)
        self.inst.add_user(ALICE)
        self.mda = FakeMda(self.inst.path("run", "lmtp.sock"),
                           xseal=self.mda_xseal)
        self.addCleanup(lambda: self.mda.close())
        self.start()

    def start(self):
        self.inst.start("smtpd")

    def smtp(self, **kw):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20,
                         **kw)
        s.ehlo("client.example.net")
        return s

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")),
                                     timeout=20)
        f = s.makefile("rb")
        self.assertTrue(read_reply(f)[0].startswith("220 "))
        return s, f

    def role_pid(self, role):
        pid = role_pid(self.inst.pid("smtpd"), role)
        if pid is None:
            raise AssertionError("no process " + role)
        return pid

    def queue_ids(self):
        try:
            return sorted(os.listdir(self.inst.path("queue", "queue")))
        except FileNotFoundError:
            return []

    MSG = ("From: someone@example.net\r\nTo: bob@example.test\r\n"
           "Subject: hello\r\n\r\nHello Bob.\r\n.leading dot\r\n")


class TestDelivery(SmtpdTest):
    def test_plain_smtp_is_queued_and_delivered_unsafe(self):
        """250 names the queue ID; mda gets class unsafe and a Received"""
        s = self.smtp()
        s.mail("someone@example.net")
        s.rcpt(BOB)
        code, text = s.data(self.MSG)
        s.quit()
        self.assertEqual(code, 250)
        m = re.search(rb"queued as ([0-9a-f]{16})", text)
        self.assertTrue(m, text)
        qid = m.group(1).decode()
        mail, rcpts, data, xseal = self.mda.wait(1)[0]
        self.assertEqual(xseal, "XSEAL ID=%s CLASS=UNSAFE" % qid)
        self.assertEqual(mail, "MAIL FROM:<someone@example.net>")
        self.assertEqual(rcpts, [BOB])
        # the verdict on top (unsigned: dkim=none), then our Received
        self.assertTrue(re.match(
            rb"Authentication-Results: mx.example.test;\r\n\tdkim=none;"
            rb"(\r\n\t[^\r\n]*)*\r\nReceived: from client.example.net",
            data), data[:400])
        self.assertIn(("id " + qid).encode(), data)
        self.assertIn(b"\r\n.leading dot\r\n", data)
        wait_for(lambda: self.queue_ids() == [], 10, "queue to empty")

    def test_class_travels_in_xseal_before_mail_never_as_a_parameter(self):
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        self.mda.wait(1)
        verbs = [c.split()[0].upper() for c in self.mda.commands]
        self.assertEqual(verbs[:5], ["LHLO", "XSEAL", "MAIL", "RCPT",
                                     "DATA"])
        self.assertFalse([c for c in self.mda.commands
                          if "X-SEALMAIL-CLASS" in c.upper()])

    def test_utf8_addresses_are_handed_on_with_smtputf8(self):
        s, f = self.raw()
        s.sendall("EHLO c\r\nMAIL FROM:<jos\u00e9@example.net> SMTPUTF8\r\n"
                  "RCPT TO:<bob@example.test>\r\nDATA\r\n".encode())
        self.assertEqual([read_reply(f)[-1][:3] for _ in range(4)],
                         ["250", "250", "250", "354"])
        s.sendall(b"Subject: utf8\r\n\r\nx\r\n.\r\n")
        self.assertTrue(read_reply(f)[0].startswith("250 "))
        mail = self.mda.wait(1)[0][0]
        self.assertEqual(mail, "MAIL FROM:<jos\u00e9@example.net> SMTPUTF8")

    def test_starttls_received_header_names_protocol_and_cipher(self):
        s = self.smtp()
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.net")
        self.assertNotIn("starttls", s.esmtp_features)
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        data = self.mda.wait(1)[0][2]
        self.assertRegex(data.split(b"\r\n\r\n")[0].decode(),
                         r"with ESMTPS\r\n\t\(version=TLSv1\.[23] cipher=\S+\)")

    def test_unknown_user_and_relay_are_refused(self):
        s = self.smtp()
        s.mail("someone@example.net")
        code, text = s.rcpt("nobody@" + DOMAIN)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)
        code, text = s.rcpt("victim@example.org")
        self.assertEqual(code, 554)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        code, _ = s.rcpt("Bob@EXAMPLE.test")
        self.assertEqual(code, 250)
        s.quit()

    def test_user_without_unsafe_mailbox_refuses_unverified_mail_after_data(
            self):
        """RCPT is taken (the message may verify), a recipient who would
        take unsafe mail waits for a transaction of its own (452 4.5.3),
        and unsigned mail is refused"""
        self.inst.ctl("user", "set", ALICE, "unsafe_mailbox=no")
        s = self.smtp()
        s.mail("someone@example.net")
        self.assertEqual(s.rcpt(ALICE)[0], 250)
        code, text = s.rcpt(BOB)
        self.assertEqual(code, 452, text)
        self.assertTrue(text.startswith(b"4.5.3"), text)
        code, text = s.data(self.MSG)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        self.assertIn(ALICE.encode(), text)
        # the session goes on: the same message to Bob alone is taken
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        got = self.mda.wait(1)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][1], [BOB])

    def test_process_layout(self):
        """receiver and queue chrooted, nobody but the parent is root"""
        seen = {}
        for _, comm, uids, root in settled_roles(
                self.inst.pid("smtpd"),
                ("smtpd.receiver", "smtpd.queue", "smtpd.delivery")):
            seen.setdefault(comm, []).append((uids, root))
        sm = pwd.getpwnam("sealmail").pw_uid
        q = pwd.getpwnam("sealmailq").pw_uid
        self.assertEqual(seen["smtpd.receiver"],
                         [([sm] * 3, self.inst.path("empty"))])
        self.assertEqual(seen["smtpd.queue"],
                         [([q] * 3, self.inst.path("queue"))])
        self.assertEqual(len(seen["smtpd.delivery"]), 4)
        for uids, _ in seen["smtpd.delivery"]:
            self.assertEqual(uids, [q] * 3)

    def test_mail_loop_is_refused(self):
        hops = "".join("Received: from hop%d by hop%d; now\r\n" % (i, i + 1)
                       for i in range(50))
        s = self.smtp()
        s.mail("someone@example.net")
        s.rcpt(BOB)
        code, text = s.data(hops + self.MSG)
        self.assertEqual(code, 554)
        self.assertTrue(text.startswith(b"5.4.6"), text)
        # 49 earlier hops and ours: still fine
        s.mail("someone@example.net")
        s.rcpt(BOB)
        code, _ = s.data(hops.split("\r\n", 1)[1] + self.MSG)
        self.assertEqual(code, 250)
        s.quit()

    def test_oversize_is_refused(self):
        s = self.smtp()
        self.assertEqual(int(s.esmtp_features["size"]), 64 * 1024)
        s.mail("someone@example.net")
        s.rcpt(BOB)
        code, text = s.data("Subject: big\r\n\r\n" +
                            ("x" * 70 + "\r\n") * 2000)
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith(b"5.3.4"))
        code, _ = s.mail("someone@example.net", ["SIZE=100000"])
        self.assertEqual(code, 552)
        s.quit()
        time.sleep(0.5)
        self.assertEqual(self.mda.messages, [])

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_pipelining_and_tls(self):
        for extra in (["--pipeline"], ["--pipeline", "--tls",
                      "--tls-ca-path", self.inst.path("etc", "ca.pem")]):
            r = subprocess.run(
                ["swaks", "--server", "127.0.0.1", "--port",
                 str(self.inst.port("smtp")), "--from", "s@example.net",
                 "--to", BOB, "--helo", "client.example.net",
                 "--timeout", "20"] + extra,
                capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"<[-~] +250 2\.0\.0 Ok: queued as")
        self.mda.wait(2)


class TestKeptConnection(SmtpdTest):
    def test_a_connection_mda_ended_is_not_taken_for_an_answer(self):
        """mda ends an idle LMTP session with an unasked 421; delivery
        sees that before its next message and connects anew, rather
        than read the 421 as the answer to XSEAL and defer the mail"""
        self.mda.bye = True
        for i in range(2):
            s = self.smtp()
            s.sendmail("someone@example.net", [BOB], self.MSG)
            s.quit()
            self.mda.wait(i + 1)
            time.sleep(0.3)     # the 421 is there before the next one
        log = self.inst.log("smtpd")
        self.assertNotIn("refused XSEAL", log)
        self.assertNotIn("status=deferred", log)
        self.assertEqual(len(self.mda.messages), 2)


class TestRawProtocol(SmtpdTest):
    def test_pipelined_transaction_answers_in_order(self):
        s, f = self.raw()
        s.sendall(b"EHLO c.example.net\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
                  b"RCPT TO:<x@example.org>\r\nDATA\r\n")
        codes = [read_reply(f)[-1][:3] for _ in range(6)]
        self.assertEqual(codes, ["250", "250", "550", "250", "554", "354"])
        s.sendall(b"Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertRegex(read_reply(f)[0], r"^250 2\.0\.0 Ok: queued as")
        self.assertEqual(read_reply(f)[0][:3], "221")
        self.assertEqual(self.mda.wait(1)[0][1], [BOB])

    def test_bdat(self):
        s, f = self.raw()
        body = b"Subject: chunked\r\n\r\nline one\r\n.dot line\r\n"
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<bob@example.test>\r\n")
        for _ in range(3):
            self.assertTrue(read_reply(f)[-1].startswith("250"))
        s.sendall(b"BDAT %d\r\n" % 20 + body[:20] +
                  b"BDAT %d LAST\r\n" % (len(body) - 20) + body[20:])
        self.assertTrue(read_reply(f)[0].startswith("250 2.0.0 20 octets"))
        self.assertRegex(read_reply(f)[0], r"^250 2\.0\.0 Ok: queued as")
        data = self.mda.wait(1)[0][2]
        self.assertTrue(data.endswith(body), data)

    def test_smuggling_patterns_never_split_a_message(self):
        """bare LF / CR end-of-data variants: refused, nothing smuggled"""
        variants = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r"]
        for v in variants:
            s, f = self.raw()
            s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.net>\r\n"
                      b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
            for _ in range(4):
                read_reply(f)
            s.sendall(b"Subject: outer\r\n\r\nx" + v +
                      b"MAIL FROM:<evil@example.net>\r\n"
                      b"RCPT TO:<alice@example.test>\r\nDATA\r\n"
                      b"Subject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n")
            r = read_reply(f)
            self.assertTrue(r[0].startswith("550 5.6.0"), (v, r))
            self.assertEqual(read_reply(f)[0][:3], "221")
            s.close()
        time.sleep(1)
        self.assertEqual(self.mda.messages, [])

    def test_overlong_lines(self):
        s, f = self.raw()
        s.sendall(b"NOOP " + b"a" * 5000 + b"\r\nNOOP\r\n")
        self.assertTrue(read_reply(f)[0].startswith("500 5.5.6"))
        self.assertTrue(read_reply(f)[0].startswith("250"))
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        for _ in range(4):
            read_reply(f)
        s.sendall(b"Subject: long\r\n\r\n" + b"y" * 1200 + b"\r\n.\r\n")
        self.assertTrue(read_reply(f)[0].startswith("550 5.6.0"))

    def test_starttls_injection_is_discarded(self):
        """commands pipelined after STARTTLS are not run inside TLS"""
        s, f = self.raw()
        s.sendall(b"EHLO c\r\n")
        read_reply(f)
        s.sendall(b"STARTTLS\r\nMAIL FROM:<inject@example.net>\r\n")
        self.assertTrue(read_reply(f)[0].startswith("220 2.0.0"))
        t = self.inst.client_tls_context().wrap_socket(s)
        tf = t.makefile("rb")
        t.sendall(b"EHLO c\r\n")
        self.assertTrue(read_reply(tf)[-1].startswith("250 "))
        t.sendall(b"RCPT TO:<bob@example.test>\r\n")
        # had MAIL been injected, this RCPT would be accepted
        self.assertTrue(read_reply(tf)[0].startswith("503 5.5.1"))
        t.close()

    def test_openssl_s_client_pipelined_inside_starttls(self):
        script = ("EHLO c.example.net\nMAIL FROM:<a@example.net>\n"
                  "RCPT TO:<bob@example.test>\nRCPT TO:<x@example.org>\n"
                  "DATA\nSubject: s_client\n\nvia openssl\n.\nQUIT\n")
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-crlf", "-quiet",
             "-ign_eof", "-CAfile", self.inst.path("etc", "ca.pem"),
             "-connect", "127.0.0.1:%d" % self.inst.port("smtp")],
            input=script, capture_output=True, text=True, timeout=30)
        self.assertRegex(r.stdout, r"554 5\.7\.1 Relay access denied")
        self.assertRegex(r.stdout, r"250 2\.0\.0 Ok: queued as [0-9a-f]{16}")
        self.assertIn("221 2.0.0", r.stdout)
        data = self.mda.wait(1)[0][2]
        self.assertIn(b"with ESMTPS", data)
        self.assertIn(b"via openssl", data)

    def test_talking_before_greeting_is_refused(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")),
                                     timeout=10)
        s.sendall(b"EHLO eager\r\n")
        f = s.makefile("rb")
        self.assertTrue(read_reply(f)[0].startswith("554 5.5.1"))

    def test_error_limit_ends_session(self):
        s, f = self.raw()
        s.sendall(b"BOGUS\r\n" * 25)
        replies = []
        try:
            while True:
                replies.append(read_reply(f)[0][:3])
        except (EOFError, ConnectionError):
            pass
        self.assertEqual(replies, ["500"] * 20 + ["421"])

    def test_per_address_session_limit(self):
        socks = []
        for _ in range(20):
            socks.append(self.raw())
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")),
                                     timeout=10)
        self.assertTrue(read_reply(s.makefile("rb"))[0].startswith("421"))


class TestQueue(SmtpdTest):
    def test_tempfail_is_retried(self):
        self.mda.fail[BOB] = ["451 4.2.0 mailbox busy"]
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        self.assertEqual(len(self.mda.wait(1, timeout=20)), 1)
        self.assertEqual(self.mda.fail[BOB], [])
        wait_for(lambda: self.queue_ids() == [], 10, "queue to empty")

    def test_permfail_bounces_to_the_sender_not_the_null_sender(self):
        self.mda.fail[BOB] = ["550 5.2.1 mailbox disabled",
                              "550 5.2.1 mailbox disabled"]
        s = self.smtp()
        s.sendmail(ALICE, [BOB], self.MSG)
        s.sendmail("", [BOB], self.MSG)
        s.quit()
        msgs = self.mda.wait(1)
        mail, rcpts, data, xseal = msgs[0]
        self.assertEqual(mail, "MAIL FROM:<>")
        self.assertEqual(rcpts, [ALICE])
        # port 25 mail is unsafe, and so is its bounce, whoever it claims
        # to come from
        self.assertRegex(xseal, r"^XSEAL ID=[0-9a-f]{16} CLASS=UNSAFE$")
        self.assertIn(b"report-type=delivery-status", data)
        self.assertIn(b"Final-Recipient: rfc822; " + BOB.encode(), data)
        self.assertIn(b"Status: 5.2.1", data)
        time.sleep(2)
        self.assertEqual(len(self.mda.messages), 1)
        wait_for(lambda: self.queue_ids() == [], 10, "queue to empty")

    def test_bounce_returns_at_most_8k_of_whole_header_fields(self):
        self.mda.fail[BOB] = ["550 5.2.1 mailbox disabled"]
        headers = "".join("X-Filler-%03d: %s\r\n\t%s\r\n" %
                          (i, "a" * 60, "b" * 30) for i in range(300))
        s = self.smtp()
        s.sendmail(ALICE, [BOB], headers + "Subject: big\r\n\r\nthe body\r\n")
        s.quit()
        data = self.mda.wait(1)[0][2]
        part = data.split(b"Content-Type: text/rfc822-headers\r\n\r\n",
                          1)[1]
        part = part[:part.index(b"\r\n--")]
        self.assertLessEqual(len(part), 8192)
        self.assertGreater(len(part), 7000)
        self.assertTrue(part.endswith(b"\r\n\t" + b"b" * 30 + b"\r\n"),
                        part[-100:])
        self.assertEqual(data.count(b"Content-Type: text/rfc822-headers"), 1)
        self.assertNotIn(b"the body", data)
        self.assertNotIn(b"X-Filler-299", data)

    def test_restart_recovers_the_queue(self):
        self.mda.close()
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        self.assertEqual(len(self.queue_ids()), 1)
        self.inst.stop("smtpd")
        self.mda = FakeMda(self.inst.path("run", "lmtp.sock"))
        self.start()
        self.assertEqual(len(self.mda.wait(1)), 1)
        wait_for(lambda: self.queue_ids() == [], 10, "queue to empty")
        time.sleep(1.5)
        self.assertEqual(len(self.mda.messages), 1)


class TestMdaWithoutXseal(SmtpdTest):
    """An mda that does not offer XSEAL gets no MAIL at all: the class
    would be lost.  The message is deferred and stays queued."""
    mda_xseal = False

    def test_delivery_is_deferred_with_a_clear_log_line(self):
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        wait_for(lambda: "mda does not offer XSEAL" in
                 self.inst.log("smtpd"), 10, "the log line")
        time.sleep(2.5)         # retries after retry_max at the latest
        self.assertEqual(self.mda.messages, [])
        self.assertFalse([c for c in self.mda.commands
                          if not c.upper().startswith(("LHLO", "QUIT"))])
        qid = self.queue_ids()
        self.assertEqual(len(qid), 1)
        with open(self.inst.path("queue", "queue", qid[0], "envelope")) as f:
            env = f.read()
        self.assertIn("rcpt pending", env)
        self.assertIn("451 4.3.5 mda does not offer XSEAL", env)


class TestExpiry(SmtpdTest):
    extra_conf = {"smtpd": {"queue_lifetime": "3s"}}

    def test_expired_message_bounces_with_4_4_7(self):
        self.mda.fail[BOB] = ["451 4.2.0 mailbox busy"] * 100
        s = self.smtp()
        s.sendmail(ALICE, [BOB], self.MSG)
        s.quit()
        mail, rcpts, data, _ = self.mda.wait(1, timeout=30)[0]
        self.assertEqual(rcpts, [ALICE])
        self.assertIn(b"Action: failed\r\nStatus: 4.4.7", data)
        wait_for(lambda: self.queue_ids() == [], 10, "queue to empty")


class TestFlush(SmtpdTest):
    extra_conf = {"smtpd": {"retry_min": "1h", "retry_max": "4h"}}

    def test_sigusr1_flush_retries_at_once(self):
        """what "sealmailctl queue flush" does (q_admin_flush)"""
        self.mda.fail[BOB] = ["451 4.2.0 mailbox busy"]
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        wait_for(lambda: self.mda.fail[BOB] == [], 10, "the first attempt")
        time.sleep(1)
        self.assertEqual(self.mda.messages, [])
        qid = self.queue_ids()[0]
        with open(self.inst.path("queue", "queue", qid, "envelope")) as f:
            self.assertIn("attempts 1\n", f.read())
        os.kill(self.inst.pid("smtpd"), signal.SIGUSR1)
        self.assertEqual(len(self.mda.wait(1)), 1)


class TestWithMda(SmtpdTest):
    """Against the real mda, when it is built: port 25 mail is unsafe."""

    def start(self):
        if not self.inst.built("mda"):
            self.skipTest("mda is not built")
        self.mda.close()
        self.inst.start("mda")
        if not mda_offers_xseal(self.inst.path("run", "lmtp.sock")):
            self.fail("mda does not offer XSEAL")
        self.inst.start("smtpd")

    def test_port25_mail_lands_in_the_unsafe_folder(self):
        s = self.smtp()
        s.sendmail("someone@example.net", [BOB], self.MSG)
        s.quit()
        wait_for(lambda: self.inst.messages(BOB, "Unsafe"), 20,
                 "the message in .Unsafe")
        self.assertEqual(self.inst.messages(BOB), [])

    def test_bounce_of_unsafe_mail_lands_in_the_senders_unsafe_folder(self):
        """a forged local sender gets no attacker's headers in INBOX"""
        self.inst.ctl("user", "set", BOB, "quota_bytes=1")
        s = self.smtp()
        s.sendmail(ALICE, [BOB], self.MSG)
        s.quit()
        paths = wait_for(lambda: self.inst.messages(ALICE, "Unsafe"), 20,
                         "the bounce in alice's .Unsafe")
        with open(paths[0], "rb") as f:
            data = f.read()
        self.assertIn(b"Subject: Undelivered Mail Returned to Sender", data)
        self.assertIn(b"5.2.2 <bob@example.test> mailbox full", data)
        # as unsafe mail, stripped: the quoted headers are gone
        self.assertNotIn(b"Subject: hello", data)
        self.assertEqual(self.inst.messages(ALICE), [])
        self.assertEqual(self.inst.messages(BOB), [])

# -- submitd's hand-over on [smtpd] queue_socket (common/ipc wire format) --

IPC_OK, IPC_ERR, IPC_QUEUE_MESSAGE = 1, 2, 200


def ipc_str(s):
    b = s.encode()
    return b"s" + struct.pack(">I", len(b)) + b + b"\0"


def ipc_u32(v):
    return b"u" + struct.pack(">I", v)


def ipc_send(sock, mtype, mid, payload, fd=None):
    hdr = struct.pack(">III", mtype, mid,
                      len(payload) | (0x80000000 if fd is not None else 0))
    if fd is None:
        sock.sendall(hdr + payload)
    else:
        socket.send_fds(sock, [hdr + payload], [fd])


def ipc_recv(sock):
    def exact(n):
        b = b""
        while len(b) < n:
            c = sock.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    mtype, mid, plen = struct.unpack(">III", exact(12))
    payload, fields, pos = exact(plen & 0x7fffffff), [], 0
    while pos < len(payload):
        tag = payload[pos:pos + 1]
        if tag == b"u":
            fields.append(struct.unpack(">I", payload[pos + 1:pos + 5])[0])
            pos += 5
        else:
            n = struct.unpack(">I", payload[pos + 1:pos + 5])[0]
            fields.append(payload[pos + 5:pos + 5 + n].decode())
            pos += 5 + n + (tag == b"s")
    return mtype, mid, fields


class TestQueueSocket(SmtpdTest):
    # remote mail goes to a next hop that refuses: it stays queued
    extra_conf = {"smtpd": {"relayhost": "127.0.0.1:1"}}

    def submit(self, rcpts, cls=1, sender=ALICE, body=None, fd=True,
               author=""):
        body = body or ("From: %s\r\nSubject: s\r\n\r\nhi\r\n" % sender)
        mfd = os.memfd_create("msg")
        os.write(mfd, body.encode())
        payload = ipc_str("") + ipc_str(sender) + ipc_u32(cls) + \
            ipc_str("submit.example.test") + ipc_str("127.0.0.1") + \
            ipc_str(author) + ipc_u32(0) + ipc_u32(len(rcpts))
        for addr, user, flags in rcpts:
            payload += ipc_str(addr) + ipc_str(user) + ipc_u32(flags)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.inst.path("run", "queue.sock"))
        ipc_send(s, IPC_QUEUE_MESSAGE, 7, payload, mfd if fd else None)
        os.close(mfd)
        r = ipc_recv(s)
        s.close()
        return r

    def test_submitted_mail_is_committed_then_acked_and_safe(self):
        mtype, mid, fields = self.submit([(BOB, BOB, 1),
                                          ("carol@example.net", "", 0)])
        self.assertEqual((mtype, mid), (IPC_OK, 7))
        qid = fields[0]
        # committed before the ack; the remote recipient (deferred: the
        # relayhost refuses) keeps it queued
        self.assertIn(qid, self.queue_ids())
        mail, rcpts, data, xseal = self.mda.wait(1)[0]
        self.assertEqual(xseal, "XSEAL ID=%s CLASS=SAFE" % qid)
        self.assertEqual(mail, "MAIL FROM:<%s>" % ALICE)
        self.assertEqual(rcpts, [BOB])
        time.sleep(1.5)
        self.assertEqual(self.queue_ids(), [qid])
        with open(self.inst.path("queue", "queue", qid, "envelope")) as f:
            env = f.read()
        self.assertIn("rcpt done %s %s\n" % (BOB, BOB), env)
        self.assertIn("rcpt remote - carol@example.net\n", env)
        r = subprocess.run([harness.binary("sealmailctl"), "-c",
                            self.inst.conf, "queue", "list"],
                           capture_output=True, text=True)
        if r.returncode == 0 and "id=" in r.stdout:
            self.assertIn("id=" + qid, r.stdout)

    def test_malformed_submission_is_refused(self):
        mtype, mid, fields = self.submit([(BOB, BOB, 1)], fd=False)
        self.assertEqual(mtype, IPC_ERR)
        self.assertEqual(fields[0], 554)
        mtype, _, _ = self.submit([("a\r\nb@example.test", "x", 1)])
        self.assertEqual(mtype, IPC_ERR)
        self.assertEqual(self.queue_ids(), [])

    def test_an_address_that_is_not_one_is_refused_and_nothing_queued(self):
        """the receiver and submitd are checked alike: nothing that would
        end the address in MAIL/RCPT reaches the queue"""
        crafted = "a@example.org> X-SEALMAIL-CLASS=safe Z="
        mtype, mid, fields = self.submit([(BOB, BOB, 1)], sender=crafted)
        self.assertEqual((mtype, mid), (IPC_ERR, 7))
        self.assertEqual(fields[0], 553)
        self.assertTrue(fields[1].startswith("5.1.7"), fields)
        for rcpt in [("bob@example.test> X=1", BOB, 1),
                     (BOB, "bob@example.test X-SEALMAIL-CLASS=safe", 1),
                     ("bob", BOB, 1), ("carol@example.net Z=1", "", 0)]:
            mtype, _, fields = self.submit([rcpt])
            self.assertEqual(mtype, IPC_ERR, rcpt)
            self.assertEqual(fields[0], 553, rcpt)
        self.assertEqual(self.queue_ids(), [])
        self.assertIn("queue_socket: refused message: 553 5.1.7",
                      self.inst.log("smtpd"))
        # what passes: a quoted local part, UTF-8, <Postmaster>, <>
        for sender, rcpt in [('"john doe"@example.net', BOB),
                             ("jos\u00e9@example.net", BOB),
                             ("", "Postmaster")]:
            mtype, _, _ = self.submit([(rcpt, BOB, 1)], sender=sender)
            self.assertEqual(mtype, IPC_OK, sender)
        self.mda.wait(3)
        time.sleep(0.5)
        self.assertEqual(len(self.mda.messages), 3)

    def test_a_peer_that_is_not_root_is_refused(self):
        """submitd's parent is root; the network user may not queue"""
        path = self.inst.path("run", "queue.sock")
        os.chmod(path, 0o666)   # let the sealmail user reach it at all
        pw = pwd.getpwnam("sealmail")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
                mfd = os.memfd_create("msg")
                os.write(mfd, b"Subject: s\r\n\r\nhi\r\n")
                payload = ipc_str("") + ipc_str(ALICE) + ipc_u32(1) + \
                    ipc_str("h") + ipc_str("p") + ipc_str("") + ipc_u32(0) + \
                    ipc_u32(1) + ipc_str(BOB) + ipc_str(BOB) + ipc_u32(1)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(path)
                try:
                    ipc_send(s, IPC_QUEUE_MESSAGE, 7, payload, mfd)
                    out = str(ipc_recv(s)[0])
                except (EOFError, OSError):
                    out = "closed"
                os.write(w, out.encode())
            finally:
                os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        with os.fdopen(r) as f:
            out = f.read()
        self.assertEqual(out, "closed")
        self.assertEqual(self.queue_ids(), [])
        self.assertIn("queue_socket: refused peer uid %d" % pw.pw_uid,
                      self.inst.log("smtpd"))

    def test_bounce_of_submitted_mail_is_safe(self):
        self.mda.fail[BOB] = ["550 5.2.1 mailbox disabled"]
        mtype, _, fields = self.submit([(BOB, BOB, 1)])
        self.assertEqual(mtype, IPC_OK)
        mail, rcpts, data, xseal = self.mda.wait(1)[0]
        self.assertEqual((mail, rcpts), ("MAIL FROM:<>", [ALICE]))
        self.assertRegex(xseal, r"^XSEAL ID=[0-9a-f]{16} CLASS=SAFE$")
        self.assertNotEqual(xseal, "XSEAL ID=%s CLASS=SAFE" % fields[0])

    def test_queue_socket_is_root_only(self):
        st = os.stat(self.inst.path("run", "queue.sock"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, 0)


if __name__ == "__main__":
    unittest.main()
