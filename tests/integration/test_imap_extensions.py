"""imapd's smaller extensions, each as a client uses it, over implicit TLS
with raw commands: UNSELECT (RFC 3691), NAMESPACE (RFC 2342), ID (RFC
2971), CHILDREN (RFC 3348), SPECIAL-USE and CREATE-SPECIAL-USE (RFC
6154), LIST-STATUS (RFC 5819), STATUS=SIZE (RFC 8438), ENABLE (RFC 5161)
and LITERAL- before login (RFC 7888).
"""

import re
import socket

from fixtures import InstanceCase

BOB = "bob@example.test"


class ImapSession:
    """One raw IMAP session over implicit TLS: cmd() sends a command and
    returns (untagged lines, tagged line)."""

    def __init__(self, inst, user=BOB, password=InstanceCase.PASSWORD):
        s = socket.create_connection(("127.0.0.1", inst.port("imaps")),
                                     timeout=10)
        self.sock = inst.client_tls_context().wrap_socket(
            s, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        if user is not None:
            _, done = self.cmd("LOGIN %s %s" % (user, password))
            assert done.startswith(b"OK"), done

    def cmd(self, line):
        self.n += 1
        tag = b"x%d" % self.n
        self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        untagged = []
        while True:
            ln = self.f.readline()
            if not ln:
                raise EOFError("closed after %r" % untagged)
            if ln.startswith(tag + b" "):
                return untagged, ln[len(tag) + 1:].rstrip()
            untagged.append(ln.rstrip())

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, EOFError):
            pass
        self.sock.close()


class ExtensionsTest(InstanceCase):
    USERS = (BOB,)
    DAEMONS = ("imapd",)

    def session(self, **kw):
        s = ImapSession(self.inst, **kw)
        self.addCleanup(s.close)
        return s

    def caps(self, s):
        lines, done = s.cmd("CAPABILITY")
        self.assertTrue(done.startswith(b"OK"))
        return lines[0].split()[2:]

    def list_line(self, lines, name):
        for ln in lines:
            if ln.endswith(b'"' + name.encode() + b'"') or \
                    ln.endswith(b" " + name.encode()):
                return ln
        self.fail("%s not listed in %r" % (name, lines))

    def test_capabilities_name_every_extension(self):
        s = self.session()
        caps = set(self.caps(s))
        for c in (b"UNSELECT", b"NAMESPACE", b"ID", b"CHILDREN",
                  b"SPECIAL-USE", b"CREATE-SPECIAL-USE", b"LIST-STATUS",
                  b"STATUS=SIZE", b"ENABLE", b"LITERAL+"):
            self.assertIn(c, caps)

    def test_literal_minus_before_login_refuses_big_literals(self):
        """before login only LITERAL- is offered: a non-synchronising
        literal over 4096 octets is refused (RFC 7888)"""
        s = self.session(user=None)
        caps = set(self.caps(s))
        self.assertIn(b"LITERAL-", caps)
        self.assertNotIn(b"LITERAL+", caps)
        _, done = s.cmd("ID (\"name\" {3+}\r\nabc)")
        self.assertTrue(done.startswith(b"OK"), done)
        s.sock.sendall(b"big LOGIN {5000+}\r\n")
        rest = s.f.readline()
        self.assertTrue(rest.startswith(b"big BAD") or
                        rest.startswith(b"* BYE"), rest)

    def test_unselect_leaves_deleted_messages(self):
        """UNSELECT ends the selection without expunging, unlike CLOSE"""
        s = self.session()
        s.cmd("CREATE unsel")
        _, done = s.cmd("APPEND unsel (\\Deleted) {11+}\r\nSubject: x\r\n")
        self.assertTrue(done.startswith(b"OK"), done)
        s.cmd("SELECT unsel")
        _, done = s.cmd("UNSELECT")
        self.assertTrue(done.startswith(b"OK"), done)
        _, done = s.cmd("FETCH 1 FLAGS")
        self.assertTrue(done.startswith(b"BAD"), done)
        lines, _ = s.cmd("STATUS unsel (MESSAGES)")
        self.assertIn(b"(MESSAGES 1)", lines[0])
        s.cmd("SELECT unsel")
        s.cmd("CLOSE")
        lines, _ = s.cmd("STATUS unsel (MESSAGES)")
        self.assertIn(b"(MESSAGES 0)", lines[0])

    def test_namespace_is_personal_with_slash(self):
        s = self.session()
        lines, done = s.cmd("NAMESPACE")
        self.assertTrue(done.startswith(b"OK"))
        self.assertEqual(lines, [b'* NAMESPACE (("" "/")) NIL NIL'])

    def test_id_answers_with_the_server_name(self):
        s = self.session()
        lines, done = s.cmd('ID ("name" "test-client" "version" "1")')
        self.assertTrue(done.startswith(b"OK"))
        self.assertIn(b'"name" "Sealmail"', lines[0])
        _, done = s.cmd("ID NIL")
        self.assertTrue(done.startswith(b"OK"))
        _, done = s.cmd("ID name")
        self.assertTrue(done.startswith(b"BAD"), done)

    def test_children_attributes_follow_the_hierarchy(self):
        s = self.session()
        s.cmd("CREATE kids/a/b")
        lines, _ = s.cmd('LIST "" "kids*"')
        self.assertIn(b"\\HasChildren", self.list_line(lines, "kids"))
        self.assertIn(b"\\HasChildren", self.list_line(lines, "kids/a"))
        self.assertIn(b"\\HasNoChildren", self.list_line(lines, "kids/a/b"))
        s.cmd("DELETE kids/a/b")
        lines, _ = s.cmd('LIST "" "kids*"')
        self.assertIn(b"\\HasNoChildren", self.list_line(lines, "kids/a"))

    def test_special_use_listed_and_selected(self):
        s = self.session()
        lines, _ = s.cmd('LIST "" "*" RETURN (SPECIAL-USE)')
        self.assertIn(b"\\Sent", self.list_line(lines, "Sent"))
        self.assertIn(b"\\Trash", self.list_line(lines, "Trash"))
        lines, _ = s.cmd('LIST (SPECIAL-USE) "" "*"')
        self.assertTrue(lines)
        for ln in lines:
            self.assertRegex(ln, rb"\\(Sent|Drafts|Trash|Junk|Archive)")
        self.assertFalse([ln for ln in lines if b'"INBOX"' in ln or
                          ln.endswith(b" INBOX")])

    def test_create_special_use_is_kept_renamed_and_deleted(self):
        """CREATE name (USE (\\Sent)) gives the folder the attribute; it
        follows the folder through RENAME and goes with DELETE"""
        s = self.session()
        _, done = s.cmd("CREATE Outbox-sent (USE (\\Sent))")
        self.assertTrue(done.startswith(b"OK"), done)
        lines, _ = s.cmd('LIST "" "Outbox*" RETURN (SPECIAL-USE)')
        self.assertIn(b"\\Sent", self.list_line(lines, "Outbox-sent"))
        _, done = s.cmd("RENAME Outbox-sent Gesendet")
        self.assertTrue(done.startswith(b"OK"), done)
        lines, _ = s.cmd('LIST (SPECIAL-USE) "" "Gesendet"')
        self.assertIn(b"\\Sent", self.list_line(lines, "Gesendet"))
        s.cmd("DELETE Gesendet")
        s.cmd("CREATE Gesendet")
        lines, _ = s.cmd('LIST "" "Gesendet" RETURN (SPECIAL-USE)')
        self.assertNotIn(b"\\Sent", self.list_line(lines, "Gesendet"))
        _, done = s.cmd("CREATE Bin (USE ())")
        self.assertTrue(done.startswith(b"OK"), done)

    def test_create_special_use_refuses_what_it_cannot_keep(self):
        s = self.session()
        for attrs in ("\\All", "\\Flagged", "\\Sent \\Junk", "\\Bogus"):
            _, done = s.cmd("CREATE nouse (USE (%s))" % attrs)
            self.assertTrue(done.startswith(b"NO [USEATTR]"), (attrs, done))
        lines, _ = s.cmd('LIST "" "nouse"')
        self.assertEqual(lines, [])
        _, done = s.cmd("CREATE nouse (FOO (\\Sent))")
        self.assertTrue(done.startswith(b"BAD"), done)
        _, done = s.cmd("CREATE INBOX (USE (\\Sent))")
        self.assertTrue(done.startswith(b"NO"), done)

    def test_list_status_and_status_size(self):
        s = self.session()
        s.cmd("CREATE sized")
        body = "Subject: sized\r\n\r\n" + "x" * 100 + "\r\n"
        s.cmd("APPEND sized {%d+}\r\n%s" % (len(body), body))
        lines, done = s.cmd('LIST "" "sized" RETURN (STATUS (MESSAGES '
                            'UNSEEN SIZE))')
        self.assertTrue(done.startswith(b"OK"), done)
        st = [ln for ln in lines if ln.startswith(b"* STATUS")]
        self.assertEqual(len(st), 1, lines)
        m = re.search(rb"SIZE (\d+)", st[0])
        self.assertEqual(int(m.group(1)), len(body))
        self.assertIn(b"MESSAGES 1", st[0])
        self.assertIn(b"UNSEEN 1", st[0])

    def test_enable_answers_what_it_turned_on(self):
        s = self.session()
        lines, done = s.cmd("ENABLE CONDSTORE X-UNKNOWN")
        self.assertTrue(done.startswith(b"OK"), done)
        self.assertEqual(lines, [b"* ENABLED CONDSTORE"])
        lines, _ = s.cmd("ENABLE CONDSTORE")
        self.assertEqual(lines, [b"* ENABLED"])
