"""imapd protocol compliance beyond the basics, over implicit TLS with raw
commands: atoms holding "[" (RFC 3501 9), ID at RFC 2971's maximum before
and after login, BINARY and literal8 APPEND (RFC 3516), MULTIAPPEND (RFC
3502), QUOTA from the user's quota_bytes (RFC 9208), LIST-EXTENDED (RFC
5258) and LSUB, and address parsing in ENVELOPE and SEARCH (RFC 5322 with
RFC 822 comments, RFC 3501 7.4.2).  Dovecot's imaptest checks the same
ground; CI cannot run it, these keep it.
"""

import os
import re
import tempfile
import time
import unittest

from harness import Instance
from imapsession import ImapSession, lit, start_imapd

ALICE = "alice@example.test"
QUSER = "quota@example.test"
QUSER2 = "quota2@example.test"
PW = "pr0to-pw"

ATOM = b"!#$&'+,-.0123456789:;<=>?@^_`|[}"


def message(subject, body=b"body\r\n", extra=b""):
    return (b"From: Alice <alice@example.test>\r\n"
            b"To: bob@example.test\r\n"
            b"Subject: " + subject + b"\r\n" + extra +
            b"\r\n" + body)


class ImapProtoTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-improto-",
                                                    dir="/tmp"))
        cls.inst.add_user(ALICE, PW)
        cls.inst.add_user(QUSER, PW)
        cls.inst.add_user(QUSER2, PW)
        cls.inst.ctl("user", "set", QUSER, "quota_bytes=10k")
        cls.inst.ctl("user", "set", QUSER2, "quota_bytes=1m")
        start_imapd(cls.inst, linger=2)

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def session(self, user=ALICE):
        s = ImapSession(self.inst, user, PW)
        self.addCleanup(s.close)
        return s

    def last(self, lines):
        return lines[-1].split(b" ", 1)[1]

    # -- atoms ------------------------------------------------------------

    def test_bracket_in_an_atom_is_part_of_the_name(self):
        s = self.session()
        tag, lines = s.raw(b"SELECT " + ATOM)
        self.assertTrue(self.last(lines).startswith(b"NO"), lines)
        lines = s.raw_ok(b"LIST \"\" " + ATOM + b"%*")
        self.assertEqual(len(lines), 1, lines)
        s.raw_ok(b"CREATE a[b")
        lines = s.raw_ok(b"LIST \"\" a[b")
        self.assertIn(b"\"a[b\"", lines[0])
        s.raw_ok(b"SELECT a[b")
        # a FETCH section keeps its spaces
        s.raw_ok(b"APPEND a[b " + lit(message(b"sect")))
        lines = s.raw_ok(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject To)])")
        self.assertIn(b"Subject: sect", lines[0])
        s.raw_ok(b"NOOP")

    def test_header_fields_hold_field_names_only(self):
        """A FETCH section is echoed as it came: a name with "(" or 8-bit
        bytes in HEADER.FIELDS is a BAD, not a response that no longer
        parses; quoted names are names too."""
        s = self.session()
        s.raw_ok(b"CREATE fieldnames")
        s.raw_ok(b"APPEND fieldnames " + lit(message(b"names")))
        s.raw_ok(b"SELECT fieldnames")
        for bad in (b"From (To", b"Fr\xc3\xa9", b"\"a(b\"", b"X:Y"):
            tag, lines = s.raw(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (" +
                               bad + b")])")
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(self.last(lines).startswith(b"BAD"), lines)
        lines = s.raw_ok(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT "
                     b"(\"From\" To)])")
        self.assertIn(b"Subject: names", lines[0])
        self.assertNotIn(b"From:", lines[0])

    def test_partial_takes_digits_only(self):
        """<-1.5> is no number (RFC 3501): BAD, not the end of the body"""
        s = self.session()
        s.raw_ok(b"CREATE partials")
        s.raw_ok(b"APPEND partials " + lit(message(b"partial")))
        s.raw_ok(b"SELECT partials")
        for bad in (b"<-1.5>", b"<+1.5>", b"< 1.5>", b"<1.-5>"):
            tag, lines = s.raw(b"FETCH 1 (BODY.PEEK[]" + bad + b")")
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(self.last(lines).startswith(b"BAD"), lines)
        lines = s.raw_ok(b"FETCH 1 (BODY.PEEK[]<0.4>)")
        self.assertIn(b"BODY[]<0> {4}", lines[0])

    # -- ID ---------------------------------------------------------------

    def id_command(self):
        pairs = []
        for i in range(30):
            pairs.append(b"\"%s\" \"%s\"" % (b"f%02d" % i + b"x" * 27,
                                             b"v" * 1024))
        return b"ID (" + b" ".join(pairs) + b")"

    def test_id_at_rfc2971_maximum_before_and_after_login(self):
        s = self.session(user=None)
        lines = s.raw_ok(self.id_command())
        self.assertTrue(lines[0].startswith(b"* ID "), lines)
        s.raw_ok(b"LOGIN " + ALICE.encode() + b" " + PW.encode())
        lines = s.raw_ok(self.id_command())
        self.assertTrue(lines[0].startswith(b"* ID "), lines)

    def test_prelogin_line_stays_bounded(self):
        s = self.session(user=None)
        tag, lines = s.raw(b"ID (\"a\" \"" + b"v" * 70000 + b"\")")
        self.assertIn(b"BAD [TOOBIG]", lines[-1])
        s.raw_ok(b"NOOP")

    # -- BINARY -----------------------------------------------------------

    BIN = (b"From: user@domain.test\r\n"
           b"Mime-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n"
           b"\r\n"
           b"\x00-\xe4\n\r\n\n\x00\x01\xff")
    BODY = b"\x00-\xe4\n\r\n\n\x00\x01\xff"

    def test_literal8_append_is_stored_and_fetched_exactly(self):
        s = self.session()
        s.raw_ok(b"CREATE bin1")
        lines = s.raw_ok(b"APPEND bin1 " + lit(self.BIN, binary=True))
        self.assertIn(b"[APPENDUID ", lines[-1])
        s.raw_ok(b"SELECT bin1")
        lines = s.raw_ok(b"FETCH 1 (RFC822.SIZE BINARY.SIZE[1] "
                         b"BINARY.PEEK[1])")
        self.assertIn(b"RFC822.SIZE %d " % len(self.BIN), lines[0])
        self.assertIn(b"BINARY.SIZE[1] %d " % len(self.BODY), lines[0])
        self.assertIn(b"BINARY[1] ~{%d}\r\n" % len(self.BODY) + self.BODY,
                      lines[0])
        lines = s.raw_ok(b"FETCH 1 BINARY.PEEK[]")
        self.assertIn(b"~{%d}\r\n" % len(self.BIN) + self.BIN, lines[0])

    def test_body_of_binary_data_has_no_nul(self):
        s = self.session()
        s.raw_ok(b"CREATE bin2")
        s.raw_ok(b"APPEND bin2 " + lit(self.BIN, binary=True))
        s.raw_ok(b"SELECT bin2")
        lines = s.raw_ok(b"FETCH 1 BODY.PEEK[1]")
        want = self.BODY.replace(b"\x00", b"\x80")
        self.assertIn(b"BODY[1] {%d}\r\n" % len(want) + want, lines[0])

    # -- MULTIAPPEND ------------------------------------------------------

    def test_multiappend_stores_every_message_with_a_uid_set(self):
        s = self.session()
        self.assertIn(b"MULTIAPPEND", s.raw_ok(b"CAPABILITY")[0])
        s.raw_ok(b"CREATE multi1")
        lines = s.raw_ok(b"APPEND multi1 (\\Seen) " +
                         lit(message(b"one")) + b" " +
                         lit(message(b"two")) + b" (\\Flagged) "
                         b"\"05-Jan-2024 10:00:00 +0000\" " +
                         lit(message(b"three")))
        m = re.search(rb"\[APPENDUID (\d+) 1:3\]", lines[-1])
        self.assertIsNotNone(m, lines)
        s.raw_ok(b"SELECT multi1")
        lines = s.raw_ok(b"FETCH 1:* (FLAGS INTERNALDATE "
                         b"BODY.PEEK[HEADER.FIELDS (Subject)])")
        self.assertEqual(len(lines), 4, lines)
        self.assertIn(b"\\Seen", lines[0])
        self.assertIn(b"Subject: one", lines[0])
        self.assertNotIn(b"\\Seen", lines[1])
        self.assertIn(b"Subject: two", lines[1])
        self.assertIn(b"\\Flagged", lines[2])
        self.assertIn(b"05-Jan-2024 10:00:00 +0000", lines[2])
        self.assertIn(b"Subject: three", lines[2])

    def test_multiappend_is_all_or_nothing(self):
        s = self.session()
        s.raw_ok(b"CREATE multi2")
        tag, lines = s.raw(b"APPEND multi2 " + lit(message(b"one")) +
                           b" \"not a date\" " + lit(message(b"two")))
        self.assertTrue(self.last(lines).startswith(b"BAD"), lines)
        tag, lines = s.raw(b"APPEND multi2 " + lit(message(b"one")) +
                           b" " + lit(b""))
        self.assertTrue(self.last(lines).startswith(b"NO"), lines)
        lines = s.raw_ok(b"STATUS multi2 (MESSAGES)")
        self.assertIn(b"MESSAGES 0", lines[0])

    # -- QUOTA ------------------------------------------------------------

    def quota_line(self, lines):
        q = [ln for ln in lines if ln.startswith(b"* QUOTA ")]
        self.assertEqual(len(q), 1, lines)
        m = re.match(rb'\* QUOTA "" \(STORAGE (\d+) (\d+)\)\r\n$', q[0])
        self.assertIsNotNone(m, q)
        return int(m.group(1)), int(m.group(2))

    def test_quota_shows_the_users_quota_bytes_and_refuses_over_it(self):
        s = self.session(QUSER)
        caps = s.raw_ok(b"CAPABILITY")[0]
        self.assertIn(b" QUOTA ", caps)
        self.assertIn(b" QUOTA=RES-STORAGE", caps)
        s.raw_ok(b"CREATE qa")
        lines = s.raw_ok(b"GETQUOTAROOT qa")
        self.assertIn(b'* QUOTAROOT "qa" ""\r\n', lines)
        used, limit = self.quota_line(lines)
        self.assertEqual(limit, 10)
        big = message(b"big", b"x" * 2900 + b"\r\n")
        s.raw_ok(b"APPEND qa " + lit(big))
        used2, _ = self.quota_line(s.raw_ok(b"GETQUOTA \"\""))
        self.assertEqual(used2, used + 2)
        # two more fit (about 9 KB), the next does not
        s.raw_ok(b"APPEND qa " + lit(big) + b" " + lit(big))
        tag, lines = s.raw(b"APPEND qa " + lit(big))
        self.assertIn(b"NO [OVERQUOTA]", lines[-1])
        s.raw_ok(b"SELECT qa")
        tag, lines = s.raw(b"COPY 1 INBOX")
        self.assertIn(b"NO [OVERQUOTA]", lines[-1])
        # MOVE needs no room; an expunge makes some
        s.raw_ok(b"MOVE 1 INBOX")
        s.raw_ok(b"STORE 1 +FLAGS (\\Deleted)")
        s.raw_ok(b"EXPUNGE")
        s.raw_ok(b"COPY 1 INBOX")
        tag, lines = s.raw(b"SETQUOTA \"\" (STORAGE 100)")
        self.assertIn(b"NO [NOPERM]", lines[-1])

    def test_quota_counts_mail_delivered_behind_our_back(self):
        s = self.session(QUSER2)
        s.raw_ok(b"CREATE qb")
        before, _ = self.quota_line(s.raw_ok(b"GETQUOTAROOT qb"))
        d = self.inst.maildir(QUSER2, "qb")
        name = "%d.M1P1Q1.test" % time.time()
        with open(os.path.join(d, "tmp", name), "wb") as f:
            f.write(message(b"dropped", b"y" * 2100 + b"\r\n"))
        vm = __import__("pwd").getpwnam("vmail")
        os.chown(os.path.join(d, "tmp", name), vm.pw_uid, vm.pw_gid)
        os.rename(os.path.join(d, "tmp", name), os.path.join(d, "new", name))
        after, _ = self.quota_line(s.raw_ok(b"GETQUOTAROOT qb"))
        self.assertEqual(after, before + 2)

    def test_quota_comes_with_each_login(self):
        s = self.session()
        lines = s.raw_ok(b"GETQUOTAROOT INBOX")
        self.assertIn(b"* QUOTAROOT \"INBOX\"\r\n", lines)
        tag, lines = s.raw(b"GETQUOTA \"\"")
        self.assertTrue(self.last(lines).startswith(b"NO"), lines)
        # the user process lives on; a new login brings the new limit
        self.inst.ctl("user", "set", ALICE, "quota_bytes=5m")
        try:
            t = self.session()
            _, limit = self.quota_line(t.raw_ok(b"GETQUOTAROOT INBOX"))
            self.assertEqual(limit, 5 * 1024)
        finally:
            self.inst.ctl("user", "set", ALICE, "quota_bytes=0")

    # -- LIST-EXTENDED and LSUB -------------------------------------------

    def test_recursivematch_needs_another_selection_option(self):
        s = self.session()
        for opts in (b"(RECURSIVEMATCH)", b"(RECURSIVEMATCH REMOTE)"):
            tag, lines = s.raw(b"LIST " + opts + b" \"\" \"*\"")
            self.assertTrue(self.last(lines).startswith(b"BAD"), lines)
        s.raw_ok(b"LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"*\"")

    def test_subscribed_names_without_a_mailbox_are_nonexistent(self):
        s = self.session()
        s.raw_ok(b"CREATE lx/gone")
        s.raw_ok(b"SUBSCRIBE lx/gone")
        s.raw_ok(b"DELETE lx/gone")
        lines = s.raw_ok(b"LIST (SUBSCRIBED) \"\" lx/*")
        gone = [ln for ln in lines if ln.endswith(b"\"lx/gone\"\r\n")]
        self.assertEqual(len(gone), 1, lines)
        self.assertIn(b"\\NonExistent", gone[0])
        self.assertIn(b"\\Subscribed", gone[0])
        self.assertNotIn(b"\\Noselect", gone[0])
        lines = s.raw_ok(b"LSUB \"\" lx/*")
        self.assertIn(b"* LSUB () \"/\" \"lx/gone\"\r\n", lines)

    def test_childinfo_for_a_parent_of_unmatched_subscriptions(self):
        s = self.session()
        for n in (b"cx/a", b"cx/a/b", b"cx/c", b"cx/c/d", b"cx/c/e"):
            s.raw_ok(b"CREATE " + n)
        for n in (b"cx/a/b", b"cx/c/d", b"cx/c/e"):
            s.raw_ok(b"SUBSCRIBE " + n)
        lines = s.raw_ok(b"LIST (SUBSCRIBED RECURSIVEMATCH) \"\" cx/% "
                         b"RETURN (CHILDREN)")
        self.assertEqual(len(lines), 3, lines)
        self.assertIn(b"\\HasChildren", lines[0])
        self.assertTrue(lines[0].endswith(
            b"\"cx/a\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"), lines)
        self.assertTrue(lines[1].endswith(
            b"\"cx/c\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"), lines)
        self.assertNotIn(b"\\Subscribed", lines[0] + lines[1])
        # a child the pattern returns itself makes CHILDINFO redundant;
        # cx/c still has cx/c/e unmatched
        lines = s.raw_ok(b"LIST (SUBSCRIBED RECURSIVEMATCH) \"\" "
                         b"(cx/a cx/a/b cx/c cx/c/d)")
        text = b"".join(lines)
        self.assertNotIn(b"\"cx/a\"", text)
        self.assertIn(b"\"cx/a/b\"", text)
        self.assertIn(b"\"cx/c\" (\"CHILDINFO\" (\"SUBSCRIBED\"))", text)

    def test_lsub_shows_unsubscribed_parents_as_noselect(self):
        s = self.session()
        for n in (b"ls/t", b"ls/t2/t", b"ls/t3/t3"):
            s.raw_ok(b"CREATE " + n)
            s.raw_ok(b"SUBSCRIBE " + n)
        lines = s.raw_ok(b"LSUB \"\" ls/%")
        self.assertEqual(lines[:-1], [
            b"* LSUB () \"/\" \"ls/t\"\r\n",
            b"* LSUB (\\Noselect) \"/\" \"ls/t2\"\r\n",
            b"* LSUB (\\Noselect) \"/\" \"ls/t3\"\r\n"])
        lines = s.raw_ok(b"LSUB \"\" ls/*")
        self.assertEqual(lines[:-1], [
            b"* LSUB () \"/\" \"ls/t\"\r\n",
            b"* LSUB () \"/\" \"ls/t2/t\"\r\n",
            b"* LSUB () \"/\" \"ls/t3/t3\"\r\n"])

    # -- addresses --------------------------------------------------------

    ADDR = (b"From: <user (c1)@ (c2) domain.test>\r\n"
            b"Sender: user@domain.test (Real Name)\r\n"
            b"To: group:;\r\n"
            b"Cc: <@route.test:rcpt@domain.test>\r\n"
            b"Subject: addresses\r\n"
            b"\r\n"
            b"body\r\n")

    def test_address_comments_groups_and_routes(self):
        s = self.session()
        s.raw_ok(b"CREATE addr1")
        s.raw_ok(b"APPEND addr1 " + lit(self.ADDR))
        s.raw_ok(b"SELECT addr1")
        lines = s.raw_ok(b"SEARCH FROM user@domain.test")
        self.assertEqual(lines[0], b"* SEARCH 1\r\n")
        lines = s.raw_ok(b"FETCH 1 ENVELOPE")
        env = lines[0]
        self.assertIn(b"\"addresses\" ((NIL NIL \"user\" \"domain.test\")) "
                      b"((\"Real Name\" NIL \"user\" \"domain.test\")) ", env)
        self.assertIn(b" ((NIL NIL \"group\" NIL)(NIL NIL NIL NIL)) "
                      b"((NIL \"@route.test\" \"rcpt\" \"domain.test\")) ",
                      env)

    def test_empty_fields_in_the_envelope(self):
        s = self.session()
        s.raw_ok(b"CREATE addr2")
        s.raw_ok(b"APPEND addr2 " +
                 lit(b"Subject:\r\nFrom: a@x.test\r\n"
                     b"In-Reply-To: \r\n\r\nbody\r\n"))
        s.raw_ok(b"SELECT addr2")
        lines = s.raw_ok(b"FETCH 1 ENVELOPE")
        self.assertIn(b"ENVELOPE (NIL \"\" ((NIL NIL \"a\" \"x.test\")) ",
                      lines[0])
        self.assertIn(b" NIL NIL NIL \"\" NIL))", lines[0])


if __name__ == "__main__":
    unittest.main()
