"""imapd's smaller extensions, each as a client uses it, over implicit TLS
with raw commands: UNSELECT (RFC 3691), NAMESPACE (RFC 2342), ID (RFC
2971), CHILDREN (RFC 3348), SPECIAL-USE and CREATE-SPECIAL-USE (RFC
6154), LIST-STATUS (RFC 5819), STATUS=SIZE (RFC 8438), ENABLE (RFC 5161)
and LITERAL- before login (RFC 7888).
"""

import re

from fixtures import InstanceCase
from imapsession import ImapSession

BOB = "bob@example.test"


class ExtensionsTest(InstanceCase):
    USERS = (BOB,)
    DAEMONS = ("imapd",)

    def session(self, user=BOB):
        s = ImapSession(self.inst, user, self.PASSWORD)
        self.addCleanup(s.close)
        return s

    def caps(self, s):
        lines, done = s.cmd("CAPABILITY")
        self.assertTrue(done.startswith("OK"))
        return lines[0].split()[2:]

    def list_line(self, lines, name):
        for ln in lines:
            if ln.endswith('"' + name + '"') or ln.endswith(" " + name):
                return ln
        self.fail("%s not listed in %r" % (name, lines))

    def test_capabilities_name_every_extension(self):
        s = self.session()
        caps = set(self.caps(s))
        for c in ("UNSELECT", "NAMESPACE", "ID", "CHILDREN", "SPECIAL-USE",
                  "CREATE-SPECIAL-USE", "LIST-STATUS", "STATUS=SIZE",
                  "ENABLE", "LITERAL+"):
            self.assertIn(c, caps)

    def test_literal_minus_before_login_refuses_big_literals(self):
        """before login only LITERAL- is offered: a non-synchronising
        literal over 4096 octets is refused (RFC 7888)"""
        s = self.session(user=None)
        caps = set(self.caps(s))
        self.assertIn("LITERAL-", caps)
        self.assertNotIn("LITERAL+", caps)
        _, done = s.cmd("ID (\"name\" {3+}\r\nabc)")
        self.assertTrue(done.startswith("OK"), done)
        s.send(b"big LOGIN {5000+}\r\n")
        rest = s.response()
        self.assertTrue(rest.startswith(b"big BAD") or
                        rest.startswith(b"* BYE"), rest)

    def test_unselect_leaves_deleted_messages(self):
        """UNSELECT ends the selection without expunging, unlike CLOSE"""
        s = self.session()
        s.cmd("CREATE unsel")
        _, done = s.cmd("APPEND unsel (\\Deleted)", b"Subject: x\r\n")
        self.assertTrue(done.startswith("OK"), done)
        s.cmd("SELECT unsel")
        _, done = s.cmd("UNSELECT")
        self.assertTrue(done.startswith("OK"), done)
        _, done = s.cmd("FETCH 1 FLAGS")
        self.assertTrue(done.startswith("BAD"), done)
        lines, _ = s.cmd("STATUS unsel (MESSAGES)")
        self.assertIn("(MESSAGES 1)", lines[0])
        s.cmd("SELECT unsel")
        s.cmd("CLOSE")
        lines, _ = s.cmd("STATUS unsel (MESSAGES)")
        self.assertIn("(MESSAGES 0)", lines[0])

    def test_namespace_is_personal_with_slash(self):
        s = self.session()
        lines, done = s.cmd("NAMESPACE")
        self.assertTrue(done.startswith("OK"))
        self.assertEqual(lines, ['* NAMESPACE (("" "/")) NIL NIL'])

    def test_id_answers_with_the_server_name(self):
        s = self.session()
        lines, done = s.cmd('ID ("name" "test-client" "version" "1")')
        self.assertTrue(done.startswith("OK"))
        self.assertIn('"name" "Sealmail"', lines[0])
        _, done = s.cmd("ID NIL")
        self.assertTrue(done.startswith("OK"))
        _, done = s.cmd("ID name")
        self.assertTrue(done.startswith("BAD"), done)

    def test_children_attributes_follow_the_hierarchy(self):
        s = self.session()
        s.cmd("CREATE kids/a/b")
        lines, _ = s.cmd('LIST "" "kids*"')
        self.assertIn("\\HasChildren", self.list_line(lines, "kids"))
        self.assertIn("\\HasChildren", self.list_line(lines, "kids/a"))
        self.assertIn("\\HasNoChildren", self.list_line(lines, "kids/a/b"))
        s.cmd("DELETE kids/a/b")
        lines, _ = s.cmd('LIST "" "kids*"')
        self.assertIn("\\HasNoChildren", self.list_line(lines, "kids/a"))

    def test_special_use_listed_and_selected(self):
        s = self.session()
        lines, _ = s.cmd('LIST "" "*" RETURN (SPECIAL-USE)')
        self.assertIn("\\Sent", self.list_line(lines, "Sent"))
        self.assertIn("\\Trash", self.list_line(lines, "Trash"))
        lines, _ = s.cmd('LIST (SPECIAL-USE) "" "*"')
        self.assertTrue(lines)
        for ln in lines:
            self.assertRegex(ln, r"\\(Sent|Drafts|Trash|Junk|Archive)")
        self.assertFalse([ln for ln in lines if '"INBOX"' in ln or
                          ln.endswith(" INBOX")])

    def test_create_special_use_is_kept_renamed_and_deleted(self):
        """CREATE name (USE (\\Sent)) gives the folder the attribute; it
        follows the folder through RENAME and goes with DELETE"""
        s = self.session()
        _, done = s.cmd("CREATE Outbox-sent (USE (\\Sent))")
        self.assertTrue(done.startswith("OK"), done)
        lines, _ = s.cmd('LIST "" "Outbox*" RETURN (SPECIAL-USE)')
        self.assertIn("\\Sent", self.list_line(lines, "Outbox-sent"))
        _, done = s.cmd("RENAME Outbox-sent Gesendet")
        self.assertTrue(done.startswith("OK"), done)
        lines, _ = s.cmd('LIST (SPECIAL-USE) "" "Gesendet"')
        self.assertIn("\\Sent", self.list_line(lines, "Gesendet"))
        s.cmd("DELETE Gesendet")
        s.cmd("CREATE Gesendet")
        lines, _ = s.cmd('LIST "" "Gesendet" RETURN (SPECIAL-USE)')
        self.assertNotIn("\\Sent", self.list_line(lines, "Gesendet"))
        _, done = s.cmd("CREATE Bin (USE ())")
        self.assertTrue(done.startswith("OK"), done)

    def test_create_special_use_refuses_what_it_cannot_keep(self):
        s = self.session()
        for attrs in ("\\All", "\\Flagged", "\\Sent \\Junk", "\\Bogus"):
            _, done = s.cmd("CREATE nouse (USE (%s))" % attrs)
            self.assertTrue(done.startswith("NO [USEATTR]"), (attrs, done))
        lines, _ = s.cmd('LIST "" "nouse"')
        self.assertEqual(lines, [])
        _, done = s.cmd("CREATE nouse (FOO (\\Sent))")
        self.assertTrue(done.startswith("BAD"), done)
        _, done = s.cmd("CREATE INBOX (USE (\\Sent))")
        self.assertTrue(done.startswith("NO"), done)

    def test_list_status_and_status_size(self):
        s = self.session()
        s.cmd("CREATE sized")
        body = b"Subject: sized\r\n\r\n" + b"x" * 100 + b"\r\n"
        s.cmd("APPEND sized", body)
        lines, done = s.cmd('LIST "" "sized" RETURN (STATUS (MESSAGES '
                            'UNSEEN SIZE))')
        self.assertTrue(done.startswith("OK"), done)
        st = [ln for ln in lines if ln.startswith("* STATUS")]
        self.assertEqual(len(st), 1, lines)
        m = re.search(r"SIZE (\d+)", st[0])
        self.assertEqual(int(m.group(1)), len(body))
        self.assertIn("MESSAGES 1", st[0])
        self.assertIn("UNSEEN 1", st[0])

    def test_commands_out_of_state_say_why(self):
        s = self.session()
        for line in ("LOGIN %s x" % BOB, "AUTHENTICATE PLAIN",
                     "STARTTLS"):
            _, done = s.cmd(line)
            self.assertEqual(done, "BAD Already logged in", line)
        _, done = s.cmd("FETCH 1 FLAGS")
        self.assertEqual(done, "BAD Select a mailbox first")

    def test_enable_answers_what_it_turned_on(self):
        s = self.session()
        lines, done = s.cmd("ENABLE CONDSTORE X-UNKNOWN")
        self.assertTrue(done.startswith("OK"), done)
        self.assertEqual(lines, ["* ENABLED CONDSTORE"])
        lines, _ = s.cmd("ENABLE CONDSTORE")
        self.assertEqual(lines, ["* ENABLED"])
