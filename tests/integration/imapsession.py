"""imapsession.py - the raw IMAP client of the imapd tests that speak the
protocol themselves (test_imap_recent, _sort, _condstore, _proto,
_extensions), where imaplib would hide what is checked:

* ImapSession, one connection to an Instance's imaps port over implicit
  TLS (the instance's private CA), logged in or not: tagged commands
  (t1, t2, ...) with non-synchronising literals, each response of the
  server read whole with the literals it carries ({n} and ~{n});
  cmd() and ok() as text for most tests, raw() and raw_ok() byte for
  byte, send() and response() for what is no tagged command (IDLE);
* lit(), a non-synchronising literal (LITERAL+) or literal8;
* status(), a number of a STATUS response;
* start_imapd(), imapd started with user processes that linger a few
  seconds after their last session;
* ImapCase, a test class with one instance, one user (USER, PW) and
  imapd for all its tests, sessions closed after each test, and folders
  of fresh names (FOLDER plus a number).

    s = ImapSession(inst, "bob@example.test", "pw")
    s.ok("CREATE box")
    s.ok("APPEND box", b"Subject: x\\r\\n\\r\\nbody\\r\\n")
    untagged, tagged = s.cmd("SELECT box")    # "* 1 EXISTS", ...; "OK ..."
    tag, responses = s.raw(b"FETCH 1 BINARY.PEEK[]")
    s.close()
"""

import os
import re
import socket
import tempfile
import unittest

from harness import Instance

# a response line that ends in a literal's length: {n} or literal8's ~{n}
LITERAL = re.compile(rb"~?\{(\d+)\}\r\n$")


def lit(data, binary=False):
    """data as a non-synchronising literal (LITERAL+), ~{n+} for
    literal8."""
    return (b"~" if binary else b"") + b"{%d+}\r\n" % len(data) + data


class ImapSession:
    """One raw IMAP connection to inst's imaps port.  greeting is the
    server's first response (an AssertionError unless "* OK"); with user
    the session logs in as user with password."""

    def __init__(self, inst, user=None, password=None, timeout=20):
        s = socket.create_connection(("127.0.0.1", inst.port("imaps")),
                                     timeout=timeout)
        self.sock = inst.client_tls_context().wrap_socket(
            s, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.n = 0
        self.greeting = self.response()
        if not self.greeting.startswith(b"* OK"):
            raise AssertionError("greeting %r" % self.greeting)
        if user is not None:
            self.ok("LOGIN %s %s" % (user, password))

    def send(self, data):
        """data as it is: what no tagged command says (IDLE's DONE)."""
        self.sock.sendall(data)

    def response(self):
        """The server's next response as bytes, CRLF kept, with the
        literals it carries read in."""
        out = b""
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed after %r" % out)
            out += line
            m = LITERAL.search(line)
            if not m:
                return out
            out += self.f.read(int(m.group(1)))

    def raw(self, data, *literals):
        """Send the next tag, a space, data, each of literals as it is
        (made by lit()) and CRLF; (tag, the responses up to the tagged
        one, that last), bytes as they came."""
        self.n += 1
        tag = b"t%d" % self.n
        self.send(tag + b" " + data + b"".join(literals) + b"\r\n")
        responses = []
        while True:
            responses.append(self.response())
            if responses[-1].startswith(tag + b" "):
                return tag, responses

    def raw_ok(self, data, *literals):
        """The responses of raw(), tagged last, which must be OK."""
        tag, responses = self.raw(data, *literals)
        if not responses[-1].startswith(tag + b" OK"):
            raise AssertionError("%r -> %r" % (data, responses))
        return responses

    def cmd(self, line, literal=None):
        """Send line, then literal (bytes) as a non-synchronising literal
        after a space; (untagged, tagged): the untagged responses and the
        tagged one without its tag, str with CRLF gone (a literal inside
        a response stays in it)."""
        data = line.encode()
        if literal is not None:
            data += b" " + lit(literal)
        tag, responses = self.raw(data)
        text = [r.decode("utf-8", "replace").rstrip("\r\n")
                for r in responses]
        return text[:-1], text[-1][len(tag) + 1:]

    def ok(self, line, literal=None):
        """The untagged responses of cmd(), which must end in OK."""
        untagged, tagged = self.cmd(line, literal)
        if not tagged.startswith("OK"):
            raise AssertionError("%s -> %s %r" % (line, tagged, untagged))
        return untagged

    def close(self):
        """LOGOUT (whatever comes of it) and close; again does no harm."""
        try:
            self.cmd("LOGOUT")
        except (OSError, EOFError, ValueError):
            pass
        self.f.close()
        self.sock.close()


def status(lines, item):
    """The number item has in the "* STATUS" response among lines."""
    for ln in lines:
        m = re.search(r"\b%s (\d+)" % item, ln)
        if ln.startswith("* STATUS") and m:
            return int(m.group(1))
    return None


def start_imapd(inst, linger):
    """Start inst's imapd with user processes that stay linger seconds
    after their last session ends."""
    os.environ["SEALMAIL_IMAPD_LINGER"] = str(linger)
    try:
        inst.start("imapd")
    finally:
        del os.environ["SEALMAIL_IMAPD_LINGER"]


class ImapCase(unittest.TestCase):
    USER = "ida@example.test"
    PW = "imap-case-pw"
    LINGER = 2          # seconds a user process stays after its last session
    FOLDER = "F"

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-imapcase-",
                                                    dir="/tmp"))
        cls.inst.add_user(cls.USER, cls.PW)
        start_imapd(cls.inst, linger=cls.LINGER)
        cls.nbox = 0

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def setUp(self):
        self.sessions = []

    def tearDown(self):
        for s in self.sessions:
            s.close()

    def session(self):
        s = ImapSession(self.inst, self.USER, self.PW)
        self.sessions.append(s)
        return s

    def new_folder(self, s):
        """CREATE a folder of a name not used before in this class."""
        type(self).nbox += 1
        name = "%s%d" % (self.FOLDER, type(self).nbox)
        s.ok("CREATE %s" % name)
        return name
