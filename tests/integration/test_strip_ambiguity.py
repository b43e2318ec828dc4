"""test_strip_ambiguity.py - unsafe mail whose MIME structure readers may
take differently, delivered by the real mda and read back the way mail
clients read it.

Each tests/corpus/mime/amb-*.eml message hides content marked
SEALMAIL-ATTACHMENT-MARKER behind an ambiguity: a second Content-Type,
Content-Transfer-Encoding or Content-Disposition, a parameter given twice
(boundary, charset, name, filename), or a file name on a text part in any
form (name, filename, in either field, RFC 2231 sections, RFC 2047 words).
The stripped message in the user's Unsafe folder is parsed with Python's
email package under two policies (the modern default and compat32, which
differ in how they pick among duplicate fields), every part is decoded,
and under neither reading may a marker, a file name or anything but plain
text survive.
"""

import base64
import email
import email.policy
import glob
import os
import socket
import unittest

from fixtures import InstanceCase
from harness import SRCDIR, wait_for

BOB = "bob@example.test"
MARK = b"SEALMAIL-ATTACHMENT-MARKER"
CORPUS = os.path.join(SRCDIR, "tests", "corpus", "mime")


def lmtp_deliver(path, rcpt, msg):
    """One unsafe LMTP transaction (no class: unknown is unsafe)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3])
    assert reply() == 220
    for cmd in (b"LHLO test", b"MAIL FROM:<mallory@bad.example>",
                b"RCPT TO:<%s>" % rcpt.encode()):
        s.sendall(cmd + b"\r\n")
        assert reply() == 250, cmd
    s.sendall(b"DATA\r\n")
    assert reply() == 354
    body = b"\r\n".join(b"." + l if l.startswith(b".") else l
                        for l in msg.split(b"\r\n"))
    s.sendall(body.rstrip(b"\r\n") + b"\r\n.\r\n")
    code = reply()
    s.sendall(b"QUIT\r\n")
    s.close()
    return code


class StripAmbiguityTest(InstanceCase):

    USERS = (BOB,)
    DAEMONS = ("mda",)

    def deliver(self, name):
        with open(os.path.join(CORPUS, name), "rb") as f:
            msg = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        before = set(self.inst.messages(BOB, "Unsafe"))
        self.assertEqual(lmtp_deliver(self.inst.path("run", "lmtp.sock"),
                                      BOB, msg), 250)
        new = wait_for(lambda: set(self.inst.messages(BOB, "Unsafe")) -
                       before, 10, "the stripped %s" % name)
        with open(new.pop(), "rb") as f:
            return f.read()

    def check_reading(self, name, raw, policy):
        msg = email.message_from_bytes(raw, policy=policy)
        leaves = [p for p in msg.walk() if not p.is_multipart()]
        self.assertTrue(leaves, name)
        for p in leaves:
            what = "%s (%s): %s" % (name, policy, p.get_content_type())
            self.assertEqual(p.get_content_type(), "text/plain", what)
            self.assertIsNone(p.get_filename(), what)
            self.assertIn(p.get_content_disposition(), (None, "inline"), what)
            payload = p.get_payload(decode=True) or b""
            self.assertNotIn(MARK, payload, what)
        # the notice names what went
        self.assertTrue(any(b"removed" in (p.get_payload(decode=True) or b"")
                            for p in leaves), name)

    def test_every_ambiguous_message_keeps_only_plain_text(self):
        names = sorted(os.path.basename(p) for p in
                       glob.glob(os.path.join(CORPUS, "amb-*.eml")))
        self.assertGreaterEqual(len(names), 8)
        for name in names:
            raw = self.deliver(name)
            self.assertNotIn(MARK, raw, name)
            for policy in (email.policy.default, email.policy.compat32):
                self.check_reading(name, raw, policy)

    def test_the_corpus_hides_something_in_each_message(self):
        # Corpus sanity: every original carries a marked part, in the
        # clear or base64-encoded, so the test above can fail.
        for path in sorted(glob.glob(os.path.join(CORPUS, "amb-*.eml"))):
            with open(path, "rb") as f:
                raw = f.read()
            decoded = b""
            for line in raw.split(b"\n"):
                try:
                    decoded += base64.b64decode(line.strip(), validate=True)
                except ValueError:
                    pass
            self.assertTrue(MARK in raw or MARK in decoded, path)

if __name__ == "__main__":
    unittest.main()
