"""imapd's SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957), ESORT
(RFC 5267) and SEARCHRES (RFC 5182), over implicit TLS with the raw
protocol: each test APPENDs the messages it needs (with the INTERNALDATE
it needs) to a folder of its own and checks the exact untagged answers.
"""

import re
import tempfile
import unittest

from harness import Instance
from imapsession import ImapSession

BOB = "bob@example.test"
PW = "s3cret-pw"


def msg(subject=None, date=None, extra=(), body="x"):
    lines = []
    if subject is not None:
        lines.append("Subject: " + subject)
    if date is not None:
        lines.append("Date: " + date)
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


class ImapSortTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-imapsort-",
                                                    dir="/tmp"))
        cls.inst.add_user(BOB, PW)
        cls.inst.start("imapd")
        cls.box = 0

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def setUp(self):
        self.c = ImapSession(self.inst, BOB, PW)
        self.addCleanup(self.c.close)

    def one(self, line, prefix):
        """the one untagged answer starting with prefix"""
        got = [u for u in self.c.ok(line) if u.upper().startswith(prefix)]
        if len(got) != 1:
            raise AssertionError("%s -> %r" % (line, got))
        return got[0]

    def folder(self, messages):
        """a new folder holding messages [(bytes, internaldate)], selected"""
        type(self).box += 1
        name = "box%d" % self.box
        self.c.ok("CREATE " + name)
        for i, m in enumerate(messages):
            data, idate = m if isinstance(m, tuple) else (m, None)
            idate = idate or "01-Jan-2020 00:00:%02d +0000" % (i % 60)
            self.c.ok('APPEND %s () "%s"' % (name, idate), data)
        self.c.ok("SELECT " + name)
        return name

    def sort(self, line):
        got = self.one(line, "* SORT")
        return [int(x) for x in got.split()[2:]]

    # -- capabilities -------------------------------------------------

    def test_capabilities_name_sort_thread_esort_searchres(self):
        caps = self.one("CAPABILITY", "* CAPABILITY").upper().split()
        for cap in ("SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT",
                    "THREAD=REFERENCES", "ESORT", "SEARCHRES"):
            self.assertIn(cap, caps)
        self.assertNotIn("CONTEXT=SORT", caps)
        self.assertNotIn("CONTEXT=SEARCH", caps)

    # -- SORT ---------------------------------------------------------

    def test_sort_subject_uses_the_base_subject(self):
        """Re:, Fwd:, [blob] prefixes, (fwd) trailers and encoded words
        are not part of the base subject; case is ignored"""
        self.folder([msg("Re: banana"), msg("apple"),
                     msg("[list] Fwd: Cherry (fwd)"),
                     msg("=?utf-8?q?BANANA?="), msg(None),
                     msg("re: [fwd: apple]")])
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 ALL"),
                         [5, 2, 6, 1, 4, 3])
        self.assertEqual(self.sort("SORT (REVERSE SUBJECT) UTF-8 ALL"),
                         [3, 1, 4, 2, 6, 5])

    def test_sort_date_falls_back_to_internaldate_and_ties_by_number(self):
        self.folder([
            (msg(date="Mon, 6 Jan 2020 10:00:00 +0200"), None),
            (msg(), "06-Jan-2020 07:30:00 +0000"),
            (msg(date="Mon, 6 Jan 2020 09:00:00 +0100"), None),
            (msg(date="not a date"), "06-Jan-2020 07:00:00 +0000"),
            (msg(date="Mon, 6 Jan 2020 08:00:00 +0000"), None)])
        # 1: 08:00Z, 2: 07:30Z, 3: 08:00Z, 4: 07:00Z, 5: 08:00Z
        self.assertEqual(self.sort("SORT (DATE) US-ASCII ALL"),
                         [4, 2, 1, 3, 5])
        self.assertEqual(self.sort("SORT (REVERSE DATE) US-ASCII ALL"),
                         [1, 3, 5, 2, 4])

    def test_sort_arrival_size_and_a_second_key(self):
        self.folder([(msg(body="aaaa"), "02-Jan-2020 00:00:00 +0000"),
                     (msg(body="a"), "01-Jan-2020 00:00:00 +0000"),
                     (msg(body="aaaaaaaa"), "02-Jan-2020 00:00:00 +0000"),
                     (msg(body="aa"), "03-Jan-2020 00:00:00 +0000")])
        self.assertEqual(self.sort("SORT (ARRIVAL) UTF-8 ALL"), [2, 1, 3, 4])
        self.assertEqual(self.sort("SORT (SIZE) UTF-8 ALL"), [2, 4, 1, 3])
        self.assertEqual(self.sort("SORT (ARRIVAL REVERSE SIZE) UTF-8 ALL"),
                         [2, 3, 1, 4])

    def test_sort_addresses_by_first_mailbox(self):
        self.folder([
            msg(extra=["From: Zed <bob@b.example>", "To: x@y",
                       "Cc: carol@c.example, aaron@a.example"]),
            msg(extra=["From: alice@z.example", "To: Y <yvonne@y>",
                       "Cc: b@b"]),
            msg(extra=["From: <Ann@a.example>", "To: group: ab@c;"])])
        self.assertEqual(self.sort("SORT (FROM) UTF-8 ALL"), [2, 3, 1])
        self.assertEqual(self.sort("SORT (CC) UTF-8 ALL"), [3, 2, 1])
        self.assertEqual(self.sort("SORT (TO) UTF-8 ALL"), [3, 1, 2])

    def test_sort_display_uses_the_decoded_name_or_the_address(self):
        self.folder([
            msg(extra=["From: Zed <a@a>", "To: =?utf-8?q?Bea?= <z@z>"]),
            msg(extra=["From: =?iso-8859-1?q?M=FCller?= <b@b>",
                       "To: c@c"]),
            msg(extra=["From: mary@m", "To: Abe <y@y>"])])
        self.assertEqual(self.sort("SORT (DISPLAYFROM) UTF-8 ALL"),
                         [3, 2, 1])
        self.assertEqual(self.sort("SORT (DISPLAYTO) UTF-8 ALL"), [3, 1, 2])

    def test_sort_applies_search_keys_and_uid_sort_gives_uids(self):
        self.folder([msg("c"), msg("a"), msg("b"), msg("d")])
        self.c.ok("STORE 2,4 +FLAGS (\\Flagged)")
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 UNFLAGGED"), [3, 1])
        uids = {}
        for ln in self.c.ok("FETCH 1:* UID"):
            m = re.match(r"\* (\d+) FETCH \(UID (\d+)\)", ln)
            uids[int(m.group(1))] = int(m.group(2))
        self.assertEqual(self.sort("UID SORT (SUBJECT) UTF-8 ALL"),
                         [uids[2], uids[3], uids[1], uids[4]])

    def test_sort_errors(self):
        self.folder([msg("a")])
        self.assertTrue(self.c.cmd("SORT (NOSUCHKEY) UTF-8 ALL")[1]
                        .startswith("BAD"))
        self.assertTrue(self.c.cmd("SORT () UTF-8 ALL")[1].startswith("BAD"))
        self.assertTrue(self.c.cmd("SORT (REVERSE) UTF-8 ALL")[1]
                        .startswith("BAD"))
        self.assertTrue(self.c.cmd("SORT (DATE) UTF-8")[1].startswith("BAD"))
        _, st = self.c.cmd("SORT (DATE) KOI8-R ALL")
        self.assertTrue(st.startswith("NO [BADCHARSET"), st)

    # -- ESORT --------------------------------------------------------

    def test_esort_returns_min_max_count_and_all_in_sort_order(self):
        self.folder([(msg(), "03-Jan-2020 00:00:00 +0000"),
                     (msg(), "01-Jan-2020 00:00:00 +0000"),
                     (msg(), "02-Jan-2020 00:00:00 +0000"),
                     (msg(), "04-Jan-2020 00:00:00 +0000"),
                     (msg(), "05-Jan-2020 00:00:00 +0000")])
        line = self.one("SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) UTF-8 "
                          "ALL", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) MIN 2 MAX 5 '
                         r'COUNT 5 ALL 2:3,1,4:5$')
        line = self.one("SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL",
                          "* ESEARCH")
        self.assertTrue(line.endswith(" ALL 5,4,1,3,2"), line)
        line = self.one("SORT RETURN () (ARRIVAL) UTF-8 2:3", "* ESEARCH")
        self.assertTrue(line.endswith(" ALL 2:3"), line)
        line = self.one("SORT RETURN (COUNT) (ARRIVAL) UTF-8 DELETED",
                          "* ESEARCH")
        self.assertTrue(line.endswith(" COUNT 0"), line)
        self.assertIn(" UID ", self.one(
            "UID SORT RETURN (MIN) (ARRIVAL) UTF-8 ALL", "* ESEARCH"))
        self.assertTrue(self.c.cmd("SORT RETURN (BOGUS) (ARRIVAL) UTF-8 ALL")
                        [1].startswith("BAD"))

    # -- THREAD -------------------------------------------------------

    def thread(self, line):
        return self.one(line, "* THREAD")[len("* THREAD "):]

    def test_thread_references_builds_the_reply_tree(self):
        d = "Mon, 6 Jan 2020 %02d:00:00 +0000"
        self.folder([
            msg("root", d % 1, ["Message-ID: <r@x>"]),
            msg("Re: root", d % 3, ["Message-ID: <c2@x>",
                                    "In-Reply-To: <r@x>"]),
            msg("Re: root", d % 2, ["Message-ID: <c1@x>",
                                    "References: <r@x>"]),
            msg("Re: root", d % 4, ["Message-ID: <g@x>",
                                    "References: <r@x> <c1@x>"]),
            msg("other", d % 5, ["Message-ID: <o@x>"]),
            # two replies to a message we do not have: a dummy parent
            msg("lost", d % 6, ["Message-ID: <l1@x>",
                                "References: <gone@x>"]),
            msg("lost", d % 7, ["Message-ID: <l2@x>",
                                "References: <gone@x>"]),
            # same base subject as "other", no references: merged
            msg("Re: other", d % 8, ["Message-ID: <o2@x>"])])
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 ALL"),
                         "(1 (3 4)(2))(5 8)((6)(7))")
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 NOT 1"),
                         "((3 4)(2))(5 8)((6)(7))")

    def test_thread_references_breaks_loops_and_duplicate_ids(self):
        """1 says b is its parent, 2 then says a is: that link would make
        a loop and is not made; 3 repeats 1's Message-ID and stands
        alone"""
        self.folder([
            msg("a", None, ["Message-ID: <a@x>", "References: <b@x>"]),
            msg("b", None, ["Message-ID: <b@x>", "References: <a@x>"]),
            msg("c", None, ["Message-ID: <a@x>"])])
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 ALL"),
                         "(2 1)(3)")

    def test_thread_orderedsubject(self):
        d = "Mon, 6 Jan 2020 %02d:00:00 +0000"
        self.folder([msg("b", d % 5), msg("Re: a", d % 2), msg("a", d % 3),
                     msg("B", d % 1), msg("c", d % 4), msg("fwd: b", d % 6)])
        self.assertEqual(self.thread("THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "(4 (1)(6))(2 3)(5)")
        uids = self.c.ok("UID THREAD ORDEREDSUBJECT UTF-8 ALL")
        self.assertTrue(uids and uids[0].startswith("* THREAD ("), uids)

    def test_thread_unknown_algorithm_is_bad(self):
        self.folder([msg("a")])
        self.assertTrue(self.c.cmd("THREAD NOSUCH UTF-8 ALL")[1]
                        .startswith("BAD"))

    # -- SEARCHRES ----------------------------------------------------

    def uids(self):
        return [int(re.search(r"UID (\d+)", ln).group(1))
                for ln in self.c.ok("FETCH 1:* UID") if "FETCH" in ln]

    def test_search_save_then_fetch_store_copy_and_search_dollar(self):
        self.folder([msg("a"), msg("b"), msg("a"), msg("c")])
        un = self.c.ok("SEARCH RETURN (SAVE) SUBJECT a")
        self.assertEqual(un, [])    # SAVE alone answers nothing
        got = [ln for ln in self.c.ok("FETCH $ (FLAGS)") if "FETCH" in ln]
        self.assertEqual([ln.split()[1] for ln in got], ["1", "3"])
        u = self.uids()
        got = self.c.ok("UID FETCH $ (FLAGS)")
        self.assertEqual([int(re.search(r"UID (\d+)", ln).group(1))
                          for ln in got], [u[0], u[2]])
        self.c.ok("STORE $ +FLAGS.SILENT (\\Flagged)")
        self.assertEqual(self.one("SEARCH FLAGGED", "* SEARCH"),
                         "* SEARCH 1 3")
        self.assertEqual(self.one("SEARCH $ NOT 1", "* SEARCH"),
                         "* SEARCH 3")
        self.assertEqual(self.one("UID SEARCH UID $", "* SEARCH"),
                         "* SEARCH %d %d" % (u[0], u[2]))
        self.c.ok("CREATE saved%d" % self.box)
        self.c.ok("COPY $ saved%d" % self.box)
        st = self.one("STATUS saved%d (MESSAGES)" % self.box, "* STATUS")
        self.assertIn("MESSAGES 2", st)

    def test_search_save_with_min_keeps_only_the_min(self):
        self.folder([msg("a"), msg("a"), msg("a")])
        line = self.one("SEARCH RETURN (SAVE MIN) SUBJECT a", "* ESEARCH")
        self.assertTrue(line.endswith(" MIN 1"), line)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"), "* SEARCH 1")
        self.c.ok("SEARCH RETURN (SAVE COUNT) 2:3")
        self.assertEqual(self.one("SEARCH $", "* SEARCH"),
                         "* SEARCH 2 3")

    def test_saved_result_follows_expunge_and_resets_on_select(self):
        name = self.folder([msg("a"), msg("b"), msg("a")])
        self.c.ok("SEARCH RETURN (SAVE) SUBJECT a")
        self.c.ok("STORE 1 +FLAGS (\\Deleted)")
        self.c.ok("EXPUNGE")
        # the saved messages are the same messages, now number 2 only
        self.assertEqual(self.one("SEARCH $", "* SEARCH"), "* SEARCH 2")
        self.c.ok("SELECT " + name)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"), "* SEARCH")
        self.assertEqual([ln for ln in self.c.ok("FETCH $ UID")
                          if "FETCH" in ln], [])

    def test_failed_save_empties_and_bad_save_keeps_the_result(self):
        self.folder([msg("a"), msg("b")])
        self.c.ok("SEARCH RETURN (SAVE) ALL")
        _, st = self.c.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
        self.assertTrue(st.startswith("BAD"), st)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"),
                         "* SEARCH 1 2")
        _, st = self.c.cmd("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
        self.assertTrue(st.startswith("NO"), st)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"), "* SEARCH")

    def test_sort_return_save_saves_the_matches(self):
        self.folder([msg("b"), msg("a"), msg("c")])
        self.c.ok("SORT RETURN (SAVE) (SUBJECT) UTF-8 NOT SUBJECT c")
        self.assertEqual(self.one("SEARCH $", "* SEARCH"),
                         "* SEARCH 1 2")

    def test_sort_save_no_empties_and_bad_keeps_the_result(self):
        self.folder([msg("a"), msg("b")])
        self.c.ok("SEARCH RETURN (SAVE) ALL")
        _, st = self.c.cmd("SORT RETURN (SAVE) (SUBJECT) UTF-8 NOSUCHKEY")
        self.assertTrue(st.startswith("BAD"), st)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"),
                         "* SEARCH 1 2")
        _, st = self.c.cmd("SORT RETURN (SAVE) (SUBJECT) KOI8-R ALL")
        self.assertTrue(st.startswith("NO [BADCHARSET"), st)
        self.assertEqual(self.one("SEARCH $", "* SEARCH"), "* SEARCH")


if __name__ == "__main__":
    unittest.main()
