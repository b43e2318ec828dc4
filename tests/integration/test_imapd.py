"""imapd against real clients: Python's imaplib over STARTTLS and implicit
TLS, curl imap:// and imaps://, mbsync in both directions, raw protocol
(literals, pipelining, malformed and oversized input), IDLE seeing a
delivery, two sessions seeing each other's changes, and the process
layout (pre-login process unprivileged and chrooted, one process per user
chrooted to that user's mail directory).
"""

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import Instance, binary, descendants, proc_info, wait_for
from imapsession import start_imapd

ALICE = "alice@example.test"
BOB = "bob@example.test"
PW = "s3cret-pw"

MSG = (b"From: Alice <alice@example.test>\r\n"
       b"To: Bob <bob@example.test>\r\n"
       b"Subject: hello there\r\n"
       b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
       b"Message-ID: <m1@example.test>\r\n"
       b"\r\n"
       b"Hello Bob, this is the body.\r\n")

MULTI = (b"From: carol@example.test\r\n"
         b"To: bob@example.test\r\n"
         b"Subject: parts\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
         b"\r\n"
         b"--XX\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"\r\n"
         b"first part\r\n"
         b"--XX\r\n"
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
         b"\r\n"
         b"AAECAw==\r\n"
         b"--XX--\r\n")


_seq = [0]


def deliver(maildir, data, name=None):
    """Drop a message into new/ the Maildir way (tmp/, then rename)."""
    _seq[0] += 1
    name = name or "%d.M%06dP%dQ%d.test" % (time.time(), _seq[0],
                                            os.getpid(), _seq[0])
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    vm = __import__("pwd").getpwnam("vmail")
    os.chown(tmp, vm.pw_uid, vm.pw_gid)
    os.rename(tmp, os.path.join(maildir, "new", name))


def flatten(data):
    """imaplib's FETCH answer (lines and (head, literal) pairs) as bytes"""
    return b"".join(x if isinstance(x, bytes) else b"".join(x)
                    for x in data)


class ImapdTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # a prefix of our own: other suites sweep /tmp/smt-* behind them
        cls.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-imapd-",
                                                    dir="/tmp"))
        cls.inst.add_user(ALICE, PW)
        cls.inst.add_user(BOB, PW)
        # user processes leave after 2 idle seconds (default 10 minutes)
        start_imapd(cls.inst, 2)
        # bob's Maildir exists before anyone logs in (as the mda makes it)
        md = cls.inst.maildir(BOB)
        vm = __import__("pwd").getpwnam("vmail")
        for d in (os.path.dirname(os.path.dirname(md)), os.path.dirname(md),
                  md, md + "/cur", md + "/new", md + "/tmp"):
            os.makedirs(d, exist_ok=True)
            os.chown(d, vm.pw_uid, vm.pw_gid)
        deliver(md, MSG)
        deliver(md, MULTI)

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def ctx(self):
        return self.inst.client_tls_context()

    def login(self, user=BOB, tls=True):
        if tls:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.inst.port("imaps"),
                                  ssl_context=self.ctx())
        else:
            m = imaplib.IMAP4("127.0.0.1", self.inst.port("imap"))
            m.starttls(ssl_context=self.ctx())
        m.login(user, PW)
        return m

    def raw(self, tls=True):
        s = socket.create_connection(("127.0.0.1", self.inst.port("imaps")),
                                     timeout=10)
        s = self.ctx().wrap_socket(s, server_hostname="localhost")
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        return s, f

    def read_until_tag(self, f, tag):
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise EOFError("connection closed; got %r" % lines)
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    # -- login and capabilities ---------------------------------------

    def test_login_disabled_before_starttls(self):
        """LOGINDISABLED and STARTTLS are offered on the plain port; LOGIN
        before TLS is refused"""
        m = imaplib.IMAP4("127.0.0.1", self.inst.port("imap"))
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertIn("STARTTLS", m.capabilities)
        typ, data = m._simple_command("LOGIN", BOB, PW) \
            if False else ("NO", None)
        tag = m._new_tag()
        m.send(tag + b" LOGIN bob@example.test x\r\n")
        line = m.readline()
        self.assertTrue(line.startswith(tag + b" NO"), line)
        m.starttls(ssl_context=self.ctx())
        self.assertIn("AUTH=PLAIN", m.capabilities)
        m.login(BOB, PW)
        self.assertIn("IMAP4REV2", m.capabilities)
        m.logout()

    def test_starttls_drops_pipelined_plaintext(self):
        """commands sent in the clear behind STARTTLS are never run"""
        s = socket.create_connection(("127.0.0.1", self.inst.port("imap")),
                                     timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        s.sendall(b"a STARTTLS\r\nb LOGIN bob@example.test x\r\n")
        self.assertTrue(f.readline().startswith(b"a OK"))
        t = self.ctx().wrap_socket(s, server_hostname="localhost")
        tf = t.makefile("rb")
        t.sendall(b"c NOOP\r\n")
        lines = self.read_until_tag(tf, b"c")
        self.assertFalse([ln for ln in lines if ln.startswith(b"b ")], lines)
        t.close()

    def test_wrong_password_is_refused(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.inst.port("imaps"),
                              ssl_context=self.ctx())
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(BOB, "wrong")
        m.logout()

    def test_three_failures_end_the_connection(self):
        """failed logins are answered after a delay; the third ends it"""
        s, f = self.raw()
        t0 = time.time()
        for tag in (b"a", b"b"):
            s.sendall(tag + b" LOGIN bob@example.test wrong\r\n")
            last = self.read_until_tag(f, tag)[-1]
            self.assertTrue(last.startswith(tag + b" NO [AUTHENTICATIONFAILED]"))
        self.assertGreaterEqual(time.time() - t0, 1.5)
        s.sendall(b"c LOGIN bob@example.test wrong\r\n")
        rest = b"".join(iter(f.readline, b""))
        self.assertIn(b"c NO", rest)
        self.assertIn(b"* BYE", rest)
        s.close()

    def test_authenticate_plain_sasl_ir(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.inst.port("imaps"),
                              ssl_context=self.ctx())
        typ, _ = m.authenticate("PLAIN",
                                lambda _: ("\0%s\0%s" % (BOB, PW)).encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        m.logout()
        s, f = self.raw()
        import base64
        ir = base64.b64encode(("\0%s\0%s" % (BOB, PW)).encode())
        s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
        self.assertTrue(self.read_until_tag(f, b"a")[-1].startswith(b"a OK"))
        s.close()

    # -- mailbox commands ---------------------------------------------

    def test_list_special_use_and_defaults(self):
        m = self.login()
        typ, data = m.list('""', "*")
        names = b"\n".join(data)
        for attr, name in ((b"\\Sent", b'"Sent"'), (b"\\Drafts", b'"Drafts"'),
                           (b"\\Trash", b'"Trash"')):
            self.assertIn(attr, names)
            self.assertIn(name, names)
        m.create("Unsafe")
        typ, data = m._simple_command("LIST", '""', "*", "RETURN",
                                      "(SPECIAL-USE)")
        self.assertIn(b'\\Junk) "/" "Unsafe"',
                      b"\n".join(m.untagged_responses.pop("LIST")))
        m.logout()

    def test_select_fetch_envelope_bodystructure(self):
        m = self.login()
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertGreaterEqual(int(data[0]), 2)
        typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
        self.assertIn(b'"hello there"', data[0])
        self.assertIn(b'(("Alice" NIL "alice" "example.test"))', data[0])
        self.assertIn(b"RFC822.SIZE %d" % len(MSG), data[0])
        typ, data = m.fetch("2", "(BODYSTRUCTURE BODY.PEEK[2] BINARY.PEEK[2] "
                            "BODY.PEEK[1.MIME])")
        flat = flatten(data)
        self.assertIn(b'"MIXED"', flat)
        self.assertIn(b'("ATTACHMENT" ("FILENAME" "a.bin"))', flat)
        self.assertIn(b"AAECAw==", flat)
        self.assertIn(b"\x00\x01\x02\x03", flat)
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                            "BODY.PEEK[TEXT]<6.3>)")
        self.assertEqual(data[0][1], b"Subject: hello there\r\n\r\n")
        self.assertEqual(data[1][1], b"Bob")
        m.logout()

    def test_store_search_copy_move_expunge(self):
        m = self.login()
        m.create("Archive")
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "SUBJECT", "hello")
        self.assertTrue(data[0])
        uid = data[0].split()[0]
        m.uid("STORE", uid, "+FLAGS", "(\\Flagged $Label1)")
        typ, data = m.uid("FETCH", uid, "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Label1", data[0])
        self.assertEqual(m.uid("SEARCH", "FLAGGED")[1][0].split()[0], uid)
        self.assertEqual(m.uid("SEARCH", "KEYWORD", "$Label1")[1][0], uid)
        self.assertEqual(m.search(None, "BODY", "attachment-not-there")[1],
                         [b""])
        self.assertTrue(m.search(None, "OR", "FROM", "carol", "TO", "nobody")[1][0])
        self.assertTrue(m.search(None, "SENTON", "1-Jul-2003")[1][0])
        self.assertTrue(m.search(None, "NOT", "DELETED", "LARGER", "10")[1][0])
        typ, data = m.uid("COPY", uid, "Archive")
        self.assertEqual(typ, "OK")
        typ, data = m.select("Archive")
        self.assertEqual(int(data[0]), 1)
        typ, data = m.uid("MOVE", "1:*", "Trash")
        self.assertEqual(typ, "OK")
        typ, data = m.select("Trash")
        n = int(data[0])
        m.store("1:*", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        self.assertEqual(len([x for x in data if x]), n)
        self.assertEqual(m.select("Trash")[1][0], b"0")
        m.logout()

    def test_envelope_and_search_read_addresses_alike(self):
        """ENVELOPE and SEARCH FROM/TO read address lists the one way
        (common/addr): comments inside an address are not part of it, a
        trailing comment is the display name, an empty group and a source
        route are shown as RFC 3501 says, an encoded name is searched
        decoded"""
        m = self.login()
        m.create("Addresses")
        for x in (b"From: <user (c)@ (c) domain.test>\r\nTo: group:;\r\n"
                  b"Subject: a1\r\n\r\nx\r\n",
                  b"From: real@name.test (Real Name)\r\n"
                  b"To: <@route.test:user@h.test>\r\nSubject: a2\r\n\r\nx\r\n",
                  b"From: =?utf-8?q?B=C3=B6b?= <bob@x.test>\r\n"
                  b"To: a@x.test\r\nSubject: a3\r\n\r\nx\r\n"):
            self.assertEqual(m.append("Addresses", None, None, x)[0], "OK")
        m.select("Addresses")
        self.assertEqual(m.search(None, "FROM", "user@domain.test")[1],
                         [b"1"])
        self.assertEqual(m.search(None, "FROM", '"(c)"')[1], [b""])
        self.assertEqual(m.search(None, "FROM", '"Real Name"')[1], [b"2"])
        self.assertEqual(m.search(None, "TO", "user@h.test")[1], [b"2"])
        self.assertEqual(m.search(None, "TO", "group")[1], [b"1"])
        m.literal = "B\u00f6b".encode()
        self.assertEqual(m.search("UTF-8", "FROM")[1], [b"3"])
        typ, data = m.fetch("1:3", "(ENVELOPE)")
        flat = flatten(data)
        self.assertIn(b'((NIL NIL "user" "domain.test"))', flat)
        self.assertIn(b'((NIL NIL "group" NIL)(NIL NIL NIL NIL))', flat)
        self.assertIn(b'(("Real Name" NIL "real" "name.test"))', flat)
        self.assertIn(b'((NIL "@route.test" "user" "h.test"))', flat)
        self.assertIn(b'(("=?utf-8?q?B=C3=B6b?=" NIL "bob" "x.test"))', flat)
        m.logout()

    def test_append_literal_plus_and_uidplus(self):
        m = self.login()
        typ, data = m.append("Drafts", "(\\Draft)",
                             imaplib.Time2Internaldate(1000000000),
                             b"Subject: draft\r\n\r\ntext\r\n")
        self.assertEqual(typ, "OK")
        self.assertIn(b"APPENDUID", data[0])
        m.select("Drafts")
        typ, data = m.fetch("1:*", "(FLAGS INTERNALDATE)")
        self.assertIn(b"\\Draft", data[-1])
        self.assertIn(b"09-Sep-2001", data[-1])
        m.logout()
        # LITERAL+: no continuation is waited for
        s, f = self.raw()
        body = b"Subject: nonsync\r\n\r\nx\r\n"
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() + b"\r\n"
                  b"b APPEND Drafts {%d+}\r\n" % len(body) + body + b"\r\n"
                  b"c LOGOUT\r\n")
        out = b"".join(self.read_until_tag(f, b"c"))
        self.assertIn(b"b OK [APPENDUID", out)
        s.close()

    def test_status_and_condstore(self):
        m = self.login()
        typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN "
                             "HIGHESTMODSEQ SIZE)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"HIGHESTMODSEQ", data[0])
        m._simple_command("ENABLE", "CONDSTORE")
        m.select("INBOX")
        typ, data = m.fetch("1", "(MODSEQ)")
        self.assertIn(b"MODSEQ (", data[0])
        m.logout()

    def test_imap4rev2_utf8_names_and_esearch(self):
        """after ENABLE IMAP4rev2 names are UTF-8 (kept as modified UTF-7
        for IMAP4rev1 sessions) and SEARCH answers ESEARCH"""
        s, f = self.raw()
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() + b"\r\n"
                  b"b ENABLE IMAP4rev2\r\n")
        self.read_until_tag(f, b"a")
        out = b"".join(self.read_until_tag(f, b"b"))
        self.assertIn(b"* ENABLED IMAP4rev2", out)
        name = "Caf\u00e9".encode()
        s.sendall(b"c CREATE {%d+}\r\n%s\r\n" % (len(name), name))
        self.assertTrue(self.read_until_tag(f, b"c")[-1].startswith(b"c OK"))
        s.sendall(b"d LIST \"\" Caf*\r\n")
        out = b"".join(self.read_until_tag(f, b"d"))
        self.assertIn(name, out)
        s.sendall(b"e SELECT INBOX\r\nf SEARCH ALL\r\n")
        out = b"".join(self.read_until_tag(f, b"e"))
        self.assertNotIn(b"RECENT", out)
        out = b"".join(self.read_until_tag(f, b"f"))
        self.assertIn(b'* ESEARCH (TAG "f") ALL 1:', out)
        s.close()
        m = self.login()
        typ, data = m.list('""', "Caf*")
        self.assertIn(b'"Caf&AOk-"', b"".join(data))
        m.logout()

    def test_imap4rev1_names_must_be_modified_utf7(self):
        """an IMAP4rev1 session's mailbox names are modified UTF-7 (RFC
        3501 5.1.3): raw 8-bit and a bare "&" are refused, so a name
        stored reads back the same in IMAP4rev2"""
        s, f = self.raw()
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() + b"\r\n")
        self.read_until_tag(f, b"a")
        raw = "Re\u00e7u".encode()
        for tag, name in ((b"b", raw), (b"c", b"Q&A"), (b"d", b"X&AOk")):
            s.sendall(tag + b" CREATE {%d+}\r\n%s\r\n" % (len(name), name))
            last = self.read_until_tag(f, tag)[-1]
            self.assertFalse(last.startswith(tag + b" OK"), (name, last))
        s.sendall(b"e CREATE \"Q&-A\"\r\nf CREATE Re&AOc-u\r\n")
        self.assertTrue(self.read_until_tag(f, b"e")[-1].startswith(b"e OK"))
        self.assertTrue(self.read_until_tag(f, b"f")[-1].startswith(b"f OK"))
        s.sendall(b"g ENABLE IMAP4rev2\r\nh LIST \"\" *\r\n")
        self.read_until_tag(f, b"g")
        out = b"".join(self.read_until_tag(f, b"h"))
        self.assertIn(b'"Q&A"', out)
        self.assertIn(raw, out)
        self.assertNotIn(b"Re&AOc-u", out)
        s.close()

    # -- raw protocol ---------------------------------------------------

    def test_raw_literals_pipelining_and_errors(self):
        s, f = self.raw()
        s.sendall(b"a LOGIN {16}\r\n")
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(b"bob@example.test {%d}\r\n" % len(PW))
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(PW.encode() + b"\r\n")
        self.assertTrue(self.read_until_tag(f, b"a")[-1].startswith(b"a OK"))
        # pipelined commands are answered in order
        s.sendall(b"b NOOP\r\nc SELECT INBOX\r\nd FETCH 1 UID\r\n")
        self.read_until_tag(f, b"b")
        self.assertTrue(self.read_until_tag(f, b"c")[-1].startswith(b"c OK"))
        self.assertTrue(self.read_until_tag(f, b"d")[-1].startswith(b"d OK"))
        # malformed input gets BAD, never a crash
        for bad in (b"e FETCH 1 (BODY[\r\n", b"e FETCH x:y FLAGS\r\n",
                    b"e \"unterminated\r\n", b"e SEARCH OR\r\n",
                    b"e FETCH 1 (BODY[1.HEADER.FIELDS (]\r\n",
                    b"e STORE 1 FLAGS (\\Bogus)\r\n", b"e FOO\r\n",
                    b"e UID FROB 1\r\n", b"e LIST\r\n",
                    b"e FETCH 99999 FLAGS\r\n"):
            s.sendall(bad)
            last = self.read_until_tag(f, b"e")[-1]
            self.assertTrue(last.startswith(b"e BAD") or
                            last.startswith(b"e NO"), (bad, last))
        # an oversized literal is refused without a continuation
        s.sendall(b"f APPEND INBOX {999999999999}\r\n")
        self.assertTrue(self.read_until_tag(f, b"f")[-1].startswith(b"f BAD"))
        # an oversized line
        s.sendall(b"g NOOP " + b"x" * 70000 + b"\r\n")
        self.assertTrue(self.read_until_tag(f, b"g")[-1].startswith(b"g BAD"))
        s.sendall(b"h NOOP\r\n")
        self.assertTrue(self.read_until_tag(f, b"h")[-1].startswith(b"h OK"))
        s.close()

    def test_compress_deflate(self):
        import zlib
        s, f = self.raw()
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() + b"\r\n")
        self.read_until_tag(f, b"a")
        s.sendall(b"b COMPRESS DEFLATE\r\n")
        self.assertTrue(self.read_until_tag(f, b"b")[-1].startswith(b"b OK"))
        co = zlib.compressobj(wbits=-15)
        de = zlib.decompressobj(wbits=-15)
        s.sendall(co.compress(b"c NOOP\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
        out = b""
        while b"c OK" not in out:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            out += de.decompress(chunk)
        s.close()

    # -- concurrency ----------------------------------------------------

    def test_idle_sees_delivery(self):
        s, f = self.raw()
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() +
                  b"\r\nb SELECT INBOX\r\n")
        self.read_until_tag(f, b"a")
        self.read_until_tag(f, b"b")
        s.sendall(b"c IDLE\r\n")
        self.assertTrue(f.readline().startswith(b"+"))
        deliver(self.inst.maildir(BOB), b"Subject: during idle\r\n\r\nx\r\n")
        s.settimeout(15)
        line = f.readline()
        self.assertRegex(line, rb"^\* \d+ EXISTS")
        s.sendall(b"DONE\r\n")
        self.assertTrue(self.read_until_tag(f, b"c")[-1].startswith(b"c OK"))
        s.close()

    def lda(self, rcpt, cls, data):
        return subprocess.run([binary("mda"), "-d", rcpt, "-s", cls, "-c",
                               self.inst.conf], input=data,
                              capture_output=True, env=self.inst.env(),
                              timeout=60)

    @unittest.skipUnless(os.path.exists(binary("mda")), "mda not built")
    def test_mda_delivery_seen_by_idle_and_unsafe_is_junk(self):
        """mail the real mda delivers shows up in an IDLE session; unsafe
        mail lands in the \\Junk folder Unsafe"""
        s, f = self.raw()
        s.sendall(b"a LOGIN bob@example.test " + PW.encode() +
                  b"\r\nb SELECT INBOX\r\nc IDLE\r\n")
        self.read_until_tag(f, b"a")
        self.read_until_tag(f, b"b")
        self.assertTrue(f.readline().startswith(b"+"))
        r = self.lda(BOB, "safe", b"From: carol@example.org\r\n"
                     b"Subject: via the mda\r\n\r\nhello\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        s.settimeout(15)
        self.assertRegex(f.readline(), rb"^\* \d+ EXISTS")
        s.sendall(b"DONE\r\n")
        self.read_until_tag(f, b"c")
        s.sendall(b"d UID SEARCH SUBJECT \"via the mda\"\r\n")
        out = b"".join(self.read_until_tag(f, b"d"))
        self.assertRegex(out, rb"\* SEARCH \d+")
        s.close()
        r = self.lda(BOB, "unsafe", b"From: x@spam.example\r\n"
                     b"Subject: unverified\r\n\r\nbuy\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.login()
        typ, data = m.list('""', "Unsafe")
        self.assertIn(b"\\Junk", b"".join(data))
        typ, data = m.select("Unsafe")
        self.assertGreaterEqual(int(data[0]), 1)
        m.logout()

    def test_two_sessions_see_flag_changes(self):
        a = self.login()
        b = self.login()
        a.select("INBOX")
        b.select("INBOX")
        a.store("1", "+FLAGS", "(\\Answered)")
        typ, data = b.noop()
        fetches = b.untagged_responses.get("FETCH", [])
        self.assertTrue(any(b"\\Answered" in x for x in fetches), fetches)
        a.store("1", "-FLAGS", "(\\Answered)")
        a.logout()
        b.logout()

    def test_one_process_per_user_chrooted(self):
        a = self.login(BOB)
        b = self.login(ALICE)
        parent = self.inst.pid("imapd")
        seen = {}
        for pid in descendants(parent):
            comm, uids, root = proc_info(pid)
            seen.setdefault(comm, []).append((uids, root))
            self.assertNotIn(0, uids)
        self.assertIn("imapd.prelogin", seen)
        self.assertEqual(seen["imapd.prelogin"][0][1], self.inst.path("empty"))
        roots = sorted(r for _, r in seen.get("imapd.user", []))
        self.assertIn(os.path.dirname(self.inst.maildir(BOB)), roots)
        self.assertIn(os.path.dirname(self.inst.maildir(ALICE)), roots)
        vm = __import__("pwd").getpwnam("vmail").pw_uid
        for uids, _ in seen["imapd.user"]:
            self.assertEqual(uids, [vm] * 3)
        a.logout()
        b.logout()

    def user_procs(self):
        out = {}
        for pid in descendants(self.inst.pid("imapd")):
            try:
                comm, uids, root = proc_info(pid)
            except OSError:
                continue
            if comm == "imapd.user":
                out[pid] = root
        return out

    def test_idle_user_process_exits_and_comes_back(self):
        """a user process with no session leaves after the linger time;
        the next login starts a new one"""
        home = os.path.dirname(self.inst.maildir(ALICE))
        m = self.login(ALICE)
        first = [p for p, r in self.user_procs().items() if r == home]
        self.assertEqual(len(first), 1)
        m.logout()
        wait_for(lambda: home not in self.user_procs().values(), 15,
                 "alice's process to leave")
        m = self.login(ALICE)
        self.assertEqual(m.select("INBOX")[0], "OK")
        again = [p for p, r in self.user_procs().items() if r == home]
        self.assertEqual(len(again), 1)
        self.assertNotEqual(again, first)
        m.logout()

    # -- other clients --------------------------------------------------

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_imap_and_imaps(self):
        ca = self.inst.path("etc", "ca.pem")
        for url, extra in (("imap://127.0.0.1:%d/INBOX;UID=1"
                            % self.inst.port("imap"), ["--ssl-reqd"]),
                           ("imaps://127.0.0.1:%d/INBOX;UID=1"
                            % self.inst.port("imaps"), [])):
            r = subprocess.run(["curl", "-s", "--cacert", ca, "-k", "-u",
                                "%s:%s" % (BOB, PW), url] + extra,
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"Subject:", r.stdout)

    @unittest.skipUnless(shutil.which("mbsync"), "isync not installed")
    def test_mbsync_both_ways(self):
        local = os.path.join(self.inst.prefix, "mbsync-local")
        os.makedirs(os.path.join(local, "INBOX", "cur"), exist_ok=True)
        rc = os.path.join(self.inst.prefix, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount t\nHost localhost\nPort %d\nUser %s\n"
                    "Pass %s\nSSLType IMAPS\nCertificateFile %s\n\n"
                    "IMAPStore remote\nAccount t\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                    "SubFolders Verbatim\n\n"
                    "Channel c\nFar :remote:\nNear :local:\n"
                    "Patterns INBOX Sent\nCreate Both\nSync All\nExpunge None\n"
                    "SyncState *\n"
                    % (self.inst.port("imaps"), ALICE, PW,
                       self.inst.path("etc", "ca.pem"), local, local))
        deliver_dir = self.inst.maildir(ALICE)
        m = self.login(ALICE)
        m.append("INBOX", None, None, b"Subject: remote one\r\n\r\nr\r\n")
        m.logout()
        r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = []
        for d in ("cur", "new"):
            p = os.path.join(local, "INBOX", d)
            if os.path.isdir(p):
                got += os.listdir(p)
        self.assertTrue(got, "pulled nothing")
        # a message made locally goes up to Sent
        sent = os.path.join(local, "Sent")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(sent, d), exist_ok=True)
        with open(os.path.join(sent, "new", "1.local.test"), "wb") as f:
            f.write(b"Subject: local one\r\n\r\nl\r\n")
        r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = self.login(ALICE)
        typ, data = m.select("Sent")
        self.assertGreaterEqual(int(data[0]), 1)
        typ, data = m.search(None, "SUBJECT", '"local one"')
        self.assertTrue(data[0])
        m.logout()
        self.assertTrue(os.path.isdir(deliver_dir))


if __name__ == "__main__":
    unittest.main()
