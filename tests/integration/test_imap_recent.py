"""imapd's session-level flags and folder identity, over implicit TLS with
raw IMAP: \\Recent (RFC 3501 2.3.2: recent to exactly one session, the
first to SELECT the folder after the message came; EXAMINE does not take
it; IMAP4rev2 has none), RECENT counts after SELECT, EXAMINE, NOOP, COPY,
APPEND and in STATUS, SEARCH NEW/OLD/RECENT; a new UIDVALIDITY for a folder
deleted (or renamed away) and made again; and keywords announced in FLAGS
and PERMANENTFLAGS before any FETCH shows them, in every session.
"""

import re
import time
import unittest

from imapsession import ImapCase, status

USER = "rita@example.test"
PW = "r3cent-pw"

MSG = (b"From: Alice <alice@example.test>\r\n"
       b"To: Rita <rita@example.test>\r\n"
       b"Subject: recent\r\n"
       b"\r\n"
       b"body\r\n")


def count(lines, what):
    """n of "* n WHAT", or None"""
    for ln in lines:
        m = re.match(r"\* (\d+) %s$" % what, ln)
        if m:
            return int(m.group(1))
    return None


def search(lines):
    for ln in lines:
        if ln.startswith("* SEARCH"):
            return [int(x) for x in ln.split()[2:]]
    return None


def flags_list(lines):
    """the keywords of the last "* FLAGS (...)", lower case"""
    fl = [ln for ln in lines if ln.startswith("* FLAGS (")]
    return fl[-1][9:-1].lower().split() if fl else None


class RecentTest(ImapCase):
    USER, PW = USER, PW
    LINGER = 2      # the user process leaves 2 idle seconds after the last
    FOLDER = "R"

    def folder(self, s, nmsgs=0):
        name = self.new_folder(s)
        for _ in range(nmsgs):
            s.ok("APPEND %s" % name, MSG)
        return name

    # -- \Recent --------------------------------------------------------

    def test_appended_mail_is_recent_to_the_first_select_only(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 2)
        out = a.ok("EXAMINE %s" % box)
        self.assertEqual(count(out, "RECENT"), 2, out)
        out = a.ok("FETCH 1:2 FLAGS")
        self.assertEqual(len([ln for ln in out if "\\Recent" in ln]), 2, out)
        a.ok("CLOSE")
        # EXAMINE took nothing
        self.assertEqual(status(a.ok("STATUS %s (RECENT)" % box), "RECENT"),
                         2)
        out = a.ok("SELECT %s" % box)
        self.assertEqual(count(out, "RECENT"), 2, out)
        self.assertEqual(search(a.ok("SEARCH RECENT")), [1, 2])
        self.assertEqual(search(a.ok("SEARCH NEW")), [1, 2])
        self.assertEqual(search(a.ok("SEARCH OLD")), [])
        a.ok("STORE 1 +FLAGS (\\Seen)")
        self.assertEqual(search(a.ok("SEARCH NEW")), [2])
        # a second session finds them already taken
        out = b.ok("SELECT %s" % box)
        self.assertEqual(count(out, "RECENT"), 0, out)
        self.assertEqual(search(b.ok("SEARCH RECENT")), [])
        self.assertEqual(search(b.ok("SEARCH OLD")), [1, 2])
        out = b.ok("FETCH 1:2 FLAGS")
        self.assertFalse([ln for ln in out if "\\Recent" in ln], out)
        self.assertEqual(status(b.ok("STATUS %s (RECENT MESSAGES)" % box),
                                "RECENT"), 0)
        # and the first keeps them, whatever its flags become
        a.ok("STORE 2 FLAGS (\\Flagged)")
        out = a.ok("FETCH 2 FLAGS")
        self.assertIn("\\Recent", out[0])

    def test_mail_arriving_in_a_selected_folder_is_recent_to_one_session(self):
        a, b, c = self.session(), self.session(), self.session()
        box = self.folder(a, 1)
        src = self.folder(a, 2)
        out = b.ok("SELECT %s" % box)
        self.assertEqual(count(out, "RECENT"), 1, out)
        a.ok("APPEND %s" % box, MSG)
        out = b.ok("NOOP")
        self.assertEqual(count(out, "EXISTS"), 2, out)
        self.assertEqual(count(out, "RECENT"), 2, out)
        out = c.ok("SELECT %s" % box)
        self.assertEqual(count(out, "RECENT"), 0, out)
        # COPY from another session
        a.ok("SELECT %s" % src)
        a.ok("COPY 1:2 %s" % box)
        out = b.ok("NOOP")
        self.assertEqual(count(out, "EXISTS"), 4, out)
        self.assertEqual(count(out, "RECENT"), 4, out)
        out = c.ok("NOOP")
        self.assertEqual(count(out, "EXISTS"), 4, out)
        self.assertEqual(count(out, "RECENT"), 0, out)
        out = b.ok("FETCH 3:4 FLAGS")
        self.assertEqual(len([ln for ln in out if "\\Recent" in ln]), 2, out)
        # APPEND into the session's own selected folder
        b.ok("APPEND %s" % box, MSG)
        out = b.ok("NOOP") + b.ok("FETCH 5 FLAGS")
        self.assertIn("\\Recent", [ln for ln in out if "FETCH" in ln][0])
        # expunged recent messages leave the count
        b.ok("STORE 5 +FLAGS (\\Deleted)")
        b.ok("EXPUNGE")
        a.ok("APPEND %s" % box, MSG)
        out = b.ok("NOOP")
        self.assertEqual(count(out, "EXISTS"), 5, out)
        self.assertEqual(count(out, "RECENT"), 5, out)

    def test_idle_reports_recent_with_new_mail(self):
        a, b = self.session(), self.session()
        box = self.folder(a)
        b.ok("SELECT %s" % box)
        b.send(b"idle IDLE\r\n")
        self.assertTrue(b.response().startswith(b"+"))
        a.ok("APPEND %s" % box, MSG)
        got = []
        while not any(g.endswith(b"RECENT\r\n") for g in got):
            got.append(b.response())
        self.assertIn(b"* 1 EXISTS\r\n", got)
        self.assertIn(b"* 1 RECENT\r\n", got)
        b.send(b"DONE\r\n")
        while not b.response().startswith(b"idle "):
            pass

    def test_recent_survives_the_user_process_leaving(self):
        a = self.session()
        box = self.folder(a, 2)
        a.ok("SELECT %s" % box)
        a.close()
        self.sessions.remove(a)
        time.sleep(4)           # the user process lingers 2 seconds
        b = self.session()
        b.ok("APPEND %s" % box, MSG)
        b.close()
        self.sessions.remove(b)
        time.sleep(4)
        c = self.session()
        out = c.ok("SELECT %s" % box)
        self.assertEqual(count(out, "EXISTS"), 3, out)
        self.assertEqual(count(out, "RECENT"), 1, out)
        self.assertEqual(search(c.ok("SEARCH RECENT")), [3])

    def test_imap4rev2_session_neither_sees_nor_takes_recent(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 2)
        a.ok("ENABLE IMAP4rev2")
        out = a.ok("SELECT %s" % box)
        self.assertIsNone(count(out, "RECENT"), out)
        out = a.ok("FETCH 1:2 FLAGS")
        self.assertFalse([ln for ln in out if "\\Recent" in ln], out)
        out = b.ok("SELECT %s" % box)
        self.assertEqual(count(out, "RECENT"), 2, out)

    # -- UIDVALIDITY ----------------------------------------------------

    def uidvalidity(self, s, box):
        return status(s.ok("STATUS %s (UIDVALIDITY)" % box), "UIDVALIDITY")

    def test_uidvalidity_changes_when_a_folder_is_made_again(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 1)
        seen = {self.uidvalidity(a, box)}
        for _ in range(3):      # within one second: the clock is not enough
            a.ok("DELETE %s" % box)
            b.ok("CREATE %s" % box)
            b.ok("APPEND %s" % box, MSG)
            uv = self.uidvalidity(a, box)
            self.assertNotIn(uv, seen)
            seen.add(uv)

    def test_uidvalidity_differs_after_renames_swap_a_name(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 1)
        other = self.folder(b, 1)
        uv = self.uidvalidity(a, box)
        a.ok("RENAME %s %s-old" % (box, box))
        b.ok("RENAME %s %s" % (other, box))
        self.assertNotEqual(self.uidvalidity(a, box), uv)

    # -- keywords announced ---------------------------------------------

    def assert_flags_before_fetch(self, out, kw):
        """FLAGS and PERMANENTFLAGS naming kw come before the first FETCH
        showing it"""
        fetch = [i for i, ln in enumerate(out)
                 if "FETCH" in ln and kw.lower() in ln.lower()]
        fl = [i for i, ln in enumerate(out) if ln.startswith("* FLAGS (")
              and kw.lower() in flags_list([ln])]
        pf = [i for i, ln in enumerate(out) if "[PERMANENTFLAGS (" in ln
              and kw.lower() in ln.lower()]
        self.assertTrue(fetch, out)
        self.assertTrue(fl and fl[0] < fetch[0], out)
        self.assertTrue(pf and pf[0] < fetch[0], out)

    def test_new_keyword_is_announced_to_every_session_first(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 2)
        a.ok("SELECT %s" % box)
        b.ok("SELECT %s" % box)
        out = a.ok("STORE 1 +FLAGS ($Fresh)")
        self.assert_flags_before_fetch(out, "$Fresh")
        out = b.ok("NOOP")
        self.assert_flags_before_fetch(out, "$Fresh")
        # told once: a second use needs no new FLAGS
        out = a.ok("STORE 2 +FLAGS ($Fresh)")
        self.assertFalse([ln for ln in out if ln.startswith("* FLAGS")], out)
        # a later SELECT lists it at once
        self.assertIn("$fresh", flags_list(b.ok("SELECT %s" % box)))

    def test_keyword_set_elsewhere_is_announced_before_a_store_shows_it(self):
        a, b = self.session(), self.session()
        box = self.folder(a, 1)
        a.ok("SELECT %s" % box)
        b.ok("SELECT %s" % box)
        b.ok("STORE 1 +FLAGS ($Elsewhere)")
        # a's STORE of a system flag shows the message's keywords
        out = a.ok("STORE 1 +FLAGS (\\Seen)")
        self.assert_flags_before_fetch(out, "$Elsewhere")

    def test_keyword_arriving_by_copy_is_announced(self):
        a, b = self.session(), self.session()
        src = self.folder(a, 1)
        box = self.folder(a)
        a.ok("SELECT %s" % src)
        a.ok("STORE 1 +FLAGS ($Copied)")
        out = b.ok("SELECT %s" % box)
        self.assertNotIn("$copied", flags_list(out))
        a.ok("COPY 1 %s" % box)
        out = b.ok("NOOP") + b.ok("FETCH 1 FLAGS")
        self.assert_flags_before_fetch(out, "$Copied")
        # and appended ones too, in the session that appends
        out = b.ok("APPEND %s (\\Seen $Appended)" % box, MSG)
        out += b.ok("FETCH 2 FLAGS")
        self.assert_flags_before_fetch(out, "$Appended")

    def test_keyword_keeps_the_spelling_it_was_first_given(self):
        a = self.session()
        box = self.folder(a, 2)
        a.ok("SELECT %s" % box)
        a.ok("STORE 1 +FLAGS ($MixedCase)")
        out = a.ok("STORE 2 +FLAGS ($MIXEDCASE)")
        self.assertIn("$MixedCase", out[-1])
        self.assertEqual(flags_list(a.ok("SELECT %s" % box)).count(
            "$mixedcase"), 1)

    def test_nil_is_a_keyword_atom(self):
        """RFC 3501 flag-keyword is an atom, and NIL is one"""
        a = self.session()
        box = self.folder(a, 1)
        a.ok("SELECT %s" % box)
        out = a.ok("STORE 1 +FLAGS NIL")
        self.assert_flags_before_fetch(out, "NIL")
        self.assertIn(r"(NIL \Recent)", a.ok("FETCH 1 FLAGS")[0])

    def test_keywords_of_a_folder_are_bounded(self):
        a = self.session()
        box = self.folder(a, 1)
        a.ok("SELECT %s" % box)
        for i in range(16):     # 960 of at most 1000
            kws = " ".join("k%d_%d" % (i, j) for j in range(60))
            a.ok("STORE 1 FLAGS.SILENT (%s)" % kws)
        out, st = a.cmd("STORE 1 FLAGS.SILENT (%s)" %
                        " ".join("x%d" % j for j in range(60)))
        self.assertTrue(st.startswith("NO [LIMIT]"), st)
        out, st = a.cmd("APPEND %s (%s)" % (box, " ".join(
            "y%d" % j for j in range(60))), MSG)
        self.assertTrue(st.startswith("NO [LIMIT]"), st)
        # known ones still do
        a.ok("STORE 1 FLAGS.SILENT (k3_3)")


if __name__ == "__main__":
    unittest.main()
