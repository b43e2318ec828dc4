"""imapd's CONDSTORE and QRESYNC (RFC 7162) and sequence sets up to
2^32-1, over implicit TLS with the raw protocol: CONDSTORE turned on by its
first use (with HIGHESTMODSEQ told), MODSEQ in STORE replies, SEARCH and
ESEARCH with MODSEQ criteria, ENABLE QRESYNC, SELECT (QRESYNC ...) with
VANISHED (EARLIER), VANISHED for expunges, UID FETCH (CHANGEDSINCE n
VANISHED) and [CLOSED].
"""

import re
import unittest

from fixtures import InstanceCase
from imapsession import ImapSession

BOB = "bob@example.test"
PW = "s3cret-pw"


def msg(n):
    return (b"From: alice@example.test\r\nTo: bob@example.test\r\n"
            b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n))


def modseqs(lines):
    """{seq: modseq} of the FETCH lines"""
    out = {}
    for line in lines:
        m = re.match(r"\* (\d+) FETCH \(.*MODSEQ \((\d+)\)", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def code_value(lines, code):
    for line in lines:
        m = re.match(r"\* OK \[%s (\d+)\]" % code, line)
        if m:
            return int(m.group(1))
    return None


class CondstoreTest(InstanceCase):
    USERS = (BOB,)
    PASSWORD = PW
    DAEMONS = ("imapd",)

    boxes = 0

    def session(self):
        s = ImapSession(self.inst, BOB, PW)
        self.addCleanup(s.close)
        return s

    def mailbox(self, s, n):
        """A new mailbox of n messages (UIDs 1..n)."""
        CondstoreTest.boxes += 1
        name = "box%d" % CondstoreTest.boxes
        s.ok("CREATE %s" % name)
        for i in range(1, n + 1):
            s.ok("APPEND %s ()" % name, msg(i))
        return name

    # -- CONDSTORE ------------------------------------------------------

    def test_fetch_modseq_enables_condstore_and_tells_highestmodseq(self):
        s = self.session()
        box = self.mailbox(s, 2)
        sel = s.ok("SELECT %s" % box)
        highest = code_value(sel, "HIGHESTMODSEQ")
        # before CONDSTORE is on, STORE replies carry no MODSEQ
        lines = s.ok("STORE 1 +FLAGS (\\Flagged)")
        self.assertNotIn("MODSEQ", " ".join(lines))
        lines = s.ok("FETCH 1 (MODSEQ)")
        told = code_value(lines, "HIGHESTMODSEQ")
        self.assertIsNotNone(told, lines)
        self.assertGreater(told, highest)
        self.assertIn(1, modseqs(lines))
        # told once only
        lines = s.ok("FETCH 1 (MODSEQ)")
        self.assertIsNone(code_value(lines, "HIGHESTMODSEQ"))
        lines = s.ok("STORE 2 +FLAGS (\\Seen)")
        self.assertRegex(" ".join(lines),
                         r"\* 2 FETCH \(FLAGS \(\\Seen( \\Recent)?\) "
                         r"MODSEQ \(\d+\)\)")

    def test_other_condstore_commands_enable_it_too(self):
        for first in ("SEARCH MODSEQ 1", "STORE 1 (UNCHANGEDSINCE 1000) "
                      "+FLAGS (\\Draft)", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
                      "ENABLE CONDSTORE"):
            with self.subTest(first=first):
                s = self.session()
                box = self.mailbox(s, 1)
                s.ok("SELECT %s" % box)
                lines = s.ok(first)
                self.assertIsNotNone(code_value(lines, "HIGHESTMODSEQ"),
                                     lines)
                lines = s.ok("STORE 1 -FLAGS.SILENT (\\Draft \\Seen)")
                self.assertRegex(" ".join(lines),
                                 r"\* 1 FETCH \(MODSEQ \(\d+\)\)")

    def test_every_flag_change_raises_the_message_modseq(self):
        s = self.session()
        box = self.mailbox(s, 4)
        s.ok("SELECT %s (CONDSTORE)" % box)
        seen = {}
        last = 0
        for seq in (1, 3, 2, 4):
            got = modseqs(s.ok("STORE %d +FLAGS (\\Seen)" % seq))
            self.assertGreater(got[seq], last)
            last = seen[seq] = got[seq]
        self.assertEqual(modseqs(s.ok("FETCH 1:4 (MODSEQ)")), seen)
        # a keyword changes it too; storing what is there does not
        got = modseqs(s.ok("STORE 1 +FLAGS ($Work)"))
        self.assertGreater(got[1], last)
        again = modseqs(s.ok("STORE 1 +FLAGS ($Work)"))
        self.assertEqual(again[1], got[1])
        sel = s.ok("SELECT %s" % box)
        self.assertEqual(code_value(sel, "HIGHESTMODSEQ"), got[1])

    def test_search_modseq_sets_and_values(self):
        s = self.session()
        box = self.mailbox(s, 4)
        s.ok("SELECT %s (CONDSTORE)" % box)
        ms = {}
        for seq in (1, 3, 2, 4):
            ms.update(modseqs(s.ok("STORE %d +FLAGS (\\Seen)" % seq)))
        entry = '"/flags/\\\\seen" all'

        def esearch(ret, keys):
            lines = s.ok("SEARCH RETURN (%s) %s" % (ret, keys))
            return [x for x in lines if x.startswith("* ESEARCH")][0]

        self.assertRegex(esearch("MIN", "1:3 MODSEQ %s 1" % entry),
                         r" MIN 1 MODSEQ %d$" % ms[1])
        self.assertRegex(esearch("MAX", "1:3 MODSEQ %s 1" % entry),
                         r" MAX 3 MODSEQ %d$" % ms[3])
        self.assertRegex(esearch("", "1:3 MODSEQ %s 1" % entry),
                         r" ALL 1:3 MODSEQ %d$" % ms[2])
        self.assertRegex(esearch("MIN MAX", "2:3 MODSEQ %s 1" % entry),
                         r" MIN 2 MAX 3 MODSEQ %d$" % ms[2])
        self.assertRegex(esearch("ALL", "MODSEQ %d" % ms[3]),
                         r" ALL 2:4 MODSEQ %d$" % ms[4])
        self.assertRegex(esearch("COUNT", "MODSEQ %d" % ms[2]),
                         r" COUNT 2 MODSEQ %d$" % ms[4])
        # nothing matched: no MODSEQ
        self.assertRegex(esearch("ALL", "2:3 MODSEQ %d" % ms[4]),
                         r"^\* ESEARCH \(TAG \"t\d+\"\)$")
        lines = s.ok("SEARCH MODSEQ %d" % ms[3])
        self.assertIn("* SEARCH 2 3 4 (MODSEQ %d)" % ms[4], lines)
        lines = s.ok("UID SEARCH MODSEQ \"/flags/$work\" priv %d" % ms[4])
        self.assertIn("* SEARCH 4 (MODSEQ %d)" % ms[4], lines)

    def test_malformed_modseq_criteria_are_bad(self):
        s = self.session()
        box = self.mailbox(s, 1)
        s.ok("SELECT %s" % box)
        for keys in ('MODSEQ "/flags/\\\\seen" everyone 1',
                     'MODSEQ "/flags/\\\\seen" all', 'MODSEQ ""',
                     "MODSEQ -1", "MODSEQ 1x", "MODSEQ 99999999999999999999",
                     'MODSEQ "/flags/" all 1'):
            with self.subTest(keys=keys):
                _, tagged = s.cmd("SEARCH " + keys)
                self.assertTrue(tagged.startswith("BAD"), tagged)
        for cmd in ("FETCH 1 (FLAGS) (CHANGEDSINCE x)",
                    "STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)",
                    "STORE 1 (UNCHANGEDSINCE -3) +FLAGS (\\Seen)"):
            with self.subTest(cmd=cmd):
                _, tagged = s.cmd(cmd)
                self.assertTrue(tagged.startswith("BAD"), tagged)

    # -- sequence sets ---------------------------------------------------

    def test_sets_take_every_number_up_to_2_32_minus_1(self):
        s = self.session()
        box = self.mailbox(s, 3)
        s.ok("SELECT %s" % box)
        self.assertIn("* SEARCH 1 2 3", s.ok("UID SEARCH UID 1:4294967295"))
        self.assertIn("* SEARCH", s.ok("UID SEARCH UID 4:4294967295"))
        self.assertIn("* SEARCH 2", s.ok("UID SEARCH UID 4294967295:2,1:1 "
                                         "NOT UID 1,3"))
        self.assertIn("* SEARCH 1 2 3", s.ok("SEARCH 1:4294967295"))
        lines = s.ok("UID FETCH 2:4294967295 (FLAGS)")
        self.assertEqual(len([x for x in lines if " FETCH " in x]), 2)
        lines = s.ok("UID STORE 4294967295,3 +FLAGS (\\Flagged)")
        self.assertEqual(len([x for x in lines if " FETCH " in x]), 1)
        s.ok("UID COPY 1:4294967295 INBOX")
        _, tagged = s.cmd("UID SEARCH UID 1:4294967296")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = s.cmd("UID FETCH 4294967296 (FLAGS)")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = s.cmd("FETCH 0:2 (FLAGS)")
        self.assertTrue(tagged.startswith("BAD"), tagged)

    # -- QRESYNC ---------------------------------------------------------

    def test_qresync_is_advertised_and_enabled(self):
        s = self.session()
        caps = " ".join(s.ok("CAPABILITY")).split()
        self.assertIn("QRESYNC", caps)
        self.assertIn("CONDSTORE", caps)
        self.assertIn("* ENABLED QRESYNC", s.ok("ENABLE QRESYNC"))

    def test_qresync_parameters_need_enable_qresync(self):
        s = self.session()
        box = self.mailbox(s, 1)
        _, tagged = s.cmd("SELECT %s (QRESYNC (1 1))" % box)
        self.assertTrue(tagged.startswith("BAD"), tagged)
        s.ok("SELECT %s" % box)
        _, tagged = s.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        s.ok("ENABLE QRESYNC")
        _, tagged = s.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        for bad in ("(QRESYNC)", "(QRESYNC ())", "(QRESYNC (0 1))",
                    "(QRESYNC (1 x))", "(QRESYNC (1 1 0:3))",
                    "(QRESYNC (1 1 1:3 (1:2)))", "(FROBNICATE)"):
            with self.subTest(params=bad):
                _, tagged = s.cmd("EXAMINE %s %s" % (box, bad))
                self.assertTrue(tagged.startswith("BAD"), tagged)

    def changed_box(self, s):
        """A mailbox of 6 messages, its UIDVALIDITY and the modseq before
        2 was flagged and 4 and 5 were expunged."""
        box = self.mailbox(s, 6)
        sel = s.ok("SELECT %s" % box)
        uv = code_value(sel, "UIDVALIDITY")
        before = code_value(sel, "HIGHESTMODSEQ")
        s.ok("UID STORE 2 +FLAGS (\\Answered)")
        s.ok("UID STORE 4:5 +FLAGS.SILENT (\\Deleted)")
        s.ok("EXPUNGE")
        s.ok("UNSELECT")
        return box, uv, before

    def test_select_qresync_tells_vanished_and_changed(self):
        s = self.session()
        box, uv, before = self.changed_box(s)
        s.ok("ENABLE QRESYNC")
        lines = s.ok("SELECT %s (QRESYNC (%d %d))" % (box, uv, before))
        self.assertIn("* VANISHED (EARLIER) 4:5", lines)
        fetches = [x for x in lines if " FETCH " in x]
        self.assertEqual(len(fetches), 1, lines)
        self.assertRegex(fetches[0], r"^\* 2 FETCH \(UID 2 FLAGS "
                         r"\(\\Answered\) MODSEQ \(\d+\)\)$")
        # the VANISHED comes before the FETCH and after the SELECT data
        self.assertLess(lines.index("* VANISHED (EARLIER) 4:5"),
                        lines.index(fetches[0]))
        self.assertGreater(lines.index("* VANISHED (EARLIER) 4:5"),
                           [i for i, x in enumerate(lines)
                            if "UIDVALIDITY" in x][0])
        # known-uids narrow both
        lines = s.ok("EXAMINE %s (QRESYNC (%d %d 1,3:4,6))" %
                     (box, uv, before))
        self.assertIn("* OK [CLOSED] Previous mailbox closed", lines)
        self.assertIn("* VANISHED (EARLIER) 4", lines)
        self.assertEqual([x for x in lines if " FETCH " in x], [])
        # seq-match-data is accepted
        lines = s.ok("EXAMINE %s (QRESYNC (%d %d 1:6 (1:3 1:3)))" %
                     (box, uv, before))
        self.assertIn("* VANISHED (EARLIER) 4:5", lines)
        # nothing since the present modseq
        highest = code_value(lines, "HIGHESTMODSEQ")
        lines = s.ok("EXAMINE %s (QRESYNC (%d %d))" % (box, uv, highest))
        self.assertEqual([x for x in lines if "VANISHED" in x or
                          " FETCH " in x], [])
        # another UIDVALIDITY: no resync, a plain select
        lines = s.ok("EXAMINE %s (QRESYNC (%d %d))" % (box, uv + 1, before))
        self.assertEqual([x for x in lines if "VANISHED" in x or
                          " FETCH " in x], [])

    def test_expunges_are_vanished_once_qresync_is_on(self):
        s = self.session()
        other = self.session()
        box = self.mailbox(s, 5)
        s.ok("ENABLE QRESYNC")
        other.ok("ENABLE QRESYNC")
        s.ok("SELECT %s" % box)
        other.ok("SELECT %s" % box)
        s.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
        lines = s.ok("EXPUNGE")
        self.assertIn("* VANISHED 2:3", lines)
        self.assertNotIn("EXPUNGE", " ".join(lines))
        lines = other.ok("NOOP")
        self.assertIn("* VANISHED 2:3", lines)
        self.assertNotIn("EXPUNGE", " ".join(lines))
        s.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
        lines = s.ok("UID EXPUNGE 1:5")
        self.assertEqual([x for x in lines if "VANISHED" in x],
                         ["* VANISHED 5"])
        lines = s.ok("UID MOVE 4 INBOX")
        self.assertIn("* VANISHED 4", lines)
        self.assertNotIn("EXPUNGE", " ".join(lines))
        # and without QRESYNC, EXPUNGE as before
        plain = self.session()
        plain.ok("SELECT %s" % box)
        s.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        s.ok("EXPUNGE")
        self.assertIn("* 1 EXPUNGE", plain.ok("NOOP"))

    def test_uid_fetch_changedsince_vanished(self):
        s = self.session()
        box, uv, before = self.changed_box(s)
        s.ok("ENABLE QRESYNC")
        s.ok("SELECT %s" % box)
        lines = s.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" %
                     before)
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 4:5")
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[1], r"^\* 2 FETCH \(UID 2 FLAGS "
                         r"\(\\Answered\) MODSEQ \(\d+\)\)$")
        lines = s.ok("UID FETCH 5:6 (FLAGS) (CHANGEDSINCE %d VANISHED)" %
                     before)
        self.assertEqual(lines, ["* VANISHED (EARLIER) 5"])
        # once QRESYNC is on, FETCH and STORE replies name the UID
        lines = s.ok("FETCH 1 (FLAGS)")
        self.assertRegex(lines[0], r"^\* 1 FETCH \(UID 1 FLAGS \(\)\)$")
        lines = s.ok("STORE 1 +FLAGS (\\Seen)")
        self.assertRegex(lines[0], r"^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) "
                         r"MODSEQ \(\d+\)\)$")

    def test_vanished_is_remembered_by_a_new_user_process(self):
        s = self.session()
        box, uv, before = self.changed_box(s)
        s.close()
        # the index holds what was expunged: let the user process go
        self.inst.stop("imapd")
        self.inst.start("imapd")
        s = self.session()
        s.ok("ENABLE QRESYNC")
        lines = s.ok("SELECT %s (QRESYNC (%d %d))" % (box, uv, before))
        self.assertIn("* VANISHED (EARLIER) 4:5", lines)


if __name__ == "__main__":
    unittest.main()
