"""The quarantine (the mda issue): the original of every stripped message
is kept per user; `sealmailctl quarantine list|release|purge` shows it,
delivers it unstripped into the unsafe mailbox, and removes old ones.

Messages reach the quarantine through the real mda over LMTP, as unsafe
mail with an attachment; sealmailctl runs as the administrator would.
"""

import base64
import calendar
import os
import re
import socket
import time
import unittest

from fixtures import InstanceCase
from harness import Instance, wait_for

BOB = "bob@example.test"
CAROL = "carol@example.test"
DAY = 24 * 60 * 60

PAYLOAD = b"MARKER-QUARANTINED-ATTACHMENT " + bytes(range(256)) * 8
B64 = base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n")


def attached(subject):
    return (b"From: \"Mallory\" <mallory@evil.test>\r\n"
            b"To: bob@example.test\r\nSubject: " + subject + b"\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            b"--b1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=\"payload.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + B64 +
            b"--b1--\r\n")


def lmtp_unsafe(path, sender, rcpt, msg):
    """Deliver msg over LMTP without a class (so: unsafe); the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(path)
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline().decode()
                if len(line) < 4 or line[3] != "-":
                    return int(line[:3]), line.rstrip()

        def cmd(line):
            s.sendall(line.encode() + b"\r\n")
            return reply()

        assert reply()[0] == 220
        assert cmd("LHLO test")[0] == 250
        assert cmd("MAIL FROM:<%s>" % sender)[0] == 250
        assert cmd("RCPT TO:<%s>" % rcpt)[0] == 250
        assert cmd("DATA")[0] == 354
        lines = msg.split(b"\r\n")[:-1]
        s.sendall(b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                           for l in lines) + b".\r\n")
        r = reply()
        cmd("QUIT")
        return r


LINE = re.compile(r'^id=(\S+) date=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) '
                  r'size=(\d+) from=<([^>]*)> subject="(.*)"$')


class QuarantineTest(InstanceCase):

    USERS = (BOB, CAROL)
    ALIASES = ((BOB, "robert@example.test"),)
    DAEMONS = ("mda",)

    def qdir(self, local="bob"):
        return self.inst.path("quarantine", "example.test", local, "new")

    def deliver(self, subject, rcpt=BOB):
        """Deliver an unsafe message; the path of its quarantined original."""
        before = set(os.listdir(self.qdir())) if os.path.isdir(
            self.qdir()) else set()
        code, text = lmtp_unsafe(self.inst.path("run", "lmtp.sock"),
                                 "mallory@evil.test", rcpt,
                                 attached(subject))
        self.assertEqual(code, 250, text)
        self.assertIn("Unsafe", text)
        new = set(os.listdir(self.qdir())) - before
        self.assertEqual(len(new), 1, "one original quarantined")
        return os.path.join(self.qdir(), new.pop())

    def listing(self, addr=BOB):
        r = self.inst.ctl("quarantine", "list", addr)
        out = {}
        for line in r.stdout.splitlines():
            m = LINE.match(line)
            self.assertTrue(m, "list line %r" % line)
            out[m.group(1)] = m.groups()
        return out

    def snapshot(self):
        """Every file under the quarantine and the mail root, with stats."""
        snap = {}
        for top in ("quarantine", "mail"):
            for d, dirs, files in os.walk(self.inst.path(top)):
                for n in dirs + files:
                    p = os.path.join(d, n)
                    st = os.lstat(p)
                    snap[p] = (st.st_size, st.st_mtime_ns, st.st_mode)
        return snap

    def read(self, p):
        with open(p, "rb") as f:
            return f.read()

    def test_list_release_delivers_the_original_into_unsafe(self):
        qpath = self.deliver(b"invoice 1")
        original = self.read(qpath)
        qid = os.path.basename(qpath).split(",")[0]

        # the alias resolves to bob
        entries = self.listing("robert@example.test")
        self.assertIn(qid, entries)
        _, date, size, frm, subject = entries[qid]
        self.assertEqual(int(size), len(original))
        self.assertEqual(frm, "mallory@evil.test")
        self.assertEqual(subject, "invoice 1")
        self.assertLess(abs(calendar.timegm(time.strptime(
            date, "%Y-%m-%dT%H:%M:%SZ")) - os.stat(qpath).st_mtime), 2)
        # the stripped copy in Unsafe lacks the attachment
        self.assertFalse(any(b"MARKER-QUARANTINED" in self.read(p) or
                             B64[:40] in self.read(p)
                             for p in self.inst.messages(BOB, "Unsafe")))

        before = set(self.inst.messages(BOB, "Unsafe"))
        r = self.inst.ctl("quarantine", "release", BOB, qid)
        self.assertRegex(r.stdout, r"^released=%s user=%s file=\S+\n$"
                         % (re.escape(qid), re.escape(BOB)))
        released = set(self.inst.messages(BOB, "Unsafe")) - before
        self.assertEqual(len(released), 1)
        path = released.pop()
        self.assertEqual(os.path.dirname(path), os.path.join(
            self.inst.maildir(BOB, "Unsafe"), "new"))
        data = self.read(path)
        first, rest = data.split(b"\r\n", 1)
        self.assertRegex(first.decode(), r"^X-Sealmail-Released: \w{3}, "
                         r"\d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000 by the "
                         r"administrator$")
        self.assertEqual(rest, original)
        self.assertTrue(rest.startswith(
            b"Return-Path: <mallory@evil.test>\r\n"
            b"Delivered-To: bob@example.test\r\n"))
        self.assertTrue(rest.endswith(attached(b"invoice 1")))
        body = rest.split(b"Content-Transfer-Encoding: base64\r\n\r\n")[1]
        self.assertEqual(base64.b64decode(body.split(b"--b1--")[0]),
                         PAYLOAD)
        st = os.stat(path)
        self.assertEqual(st.st_uid, self.inst.users["vmail"].pw_uid)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.assertIn(",S=%d" % len(data), path)
        # gone from the quarantine, and from its listing
        self.assertFalse(os.path.exists(qpath))
        self.assertNotIn(qid, self.listing(BOB))
        # releasing it again is refused
        r = self.inst.ctl("quarantine", "release", BOB, qid, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such ID", r.stderr)

    def test_release_creates_a_missing_unsafe_folder(self):
        # carol's original, with her Unsafe folder removed afterwards
        code, _ = lmtp_unsafe(self.inst.path("run", "lmtp.sock"),
                              "mallory@evil.test", CAROL,
                              attached(b"carol"))
        self.assertEqual(code, 250)
        names = os.listdir(self.qdir("carol"))
        self.assertTrue(names)
        unsafe = self.inst.maildir(CAROL, "Unsafe")
        for sub in ("new", "cur", "tmp"):
            d = os.path.join(unsafe, sub)
            for n in os.listdir(d):
                os.unlink(os.path.join(d, n))
            os.rmdir(d)
        os.unlink(os.path.join(unsafe, "maildirfolder"))
        os.rmdir(unsafe)
        qid = names[0].split(",")[0]
        self.inst.ctl("quarantine", "release", CAROL, qid)
        vmail = self.inst.users["vmail"].pw_uid
        for sub in ("new", "cur", "tmp", "maildirfolder"):
            self.assertEqual(os.stat(os.path.join(unsafe, sub)).st_uid,
                             vmail, sub)
        self.assertEqual(os.stat(unsafe).st_uid, vmail)
        self.assertEqual(len(self.inst.messages(CAROL, "Unsafe")), 1)

    def test_purge_removes_old_originals_and_keeps_young_ones(self):
        old = self.deliver(b"old")
        young = self.deliver(b"young")
        now = time.time()
        os.utime(old, (now - 15 * DAY, now - 15 * DAY))
        os.utime(young, (now - 13 * DAY, now - 13 * DAY))
        r = self.inst.ctl("quarantine", "purge")
        self.assertRegex(r.stdout, r"^removed=[1-9]\d*\n$")
        self.assertFalse(os.path.exists(old))
        self.assertTrue(os.path.exists(young))
        ids = self.listing(BOB)
        self.assertIn(os.path.basename(young).split(",")[0], ids)
        self.assertNotIn(os.path.basename(old).split(",")[0], ids)
        # nothing left that is old enough
        self.assertEqual(self.inst.ctl("quarantine", "purge").stdout,
                         "removed=0\n")

    def test_refusals_change_nothing(self):
        qpath = self.deliver(b"keep me")
        qid = os.path.basename(qpath).split(",")[0]
        before = self.snapshot()
        cases = [
            (("quarantine", "list", "nobody@example.test"), "no such user"),
            (("quarantine", "list", "bob@other.test"), "no such user"),
            (("quarantine", "list", "not-an-address"), ""),
            (("quarantine", "release", "nobody@example.test", qid),
             "no such user"),
            (("quarantine", "release", CAROL, qid), "no such ID"),
            (("quarantine", "release", BOB, "1.M1P1Q1.nothere"),
             "no such ID"),
            (("quarantine", "release", BOB, "../bob/new/" + qid),
             "not a quarantine ID"),
            (("quarantine", "release", BOB, qid + "/x"),
             "not a quarantine ID"),
            (("quarantine", "release", BOB, ".."), "not a quarantine ID"),
            (("quarantine", "release", BOB, os.path.basename(qpath)),
             "not a quarantine ID"),
            (("quarantine", "release", BOB), "usage"),
            (("quarantine", "release", BOB, qid, "extra"), "usage"),
            (("quarantine", "purge", "now"), "usage"),
        ]
        for args, msg in cases:
            r = self.inst.ctl(*args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertEqual(r.stdout, "", args)
            self.assertTrue(r.stderr.strip(), args)
            self.assertIn(msg, r.stderr, args)
        self.assertEqual(self.snapshot(), before)
        self.assertIn(qid, self.listing(BOB))


class PurgeAtStartTest(unittest.TestCase):
    """The mda's root parent purges once at start (then hourly)."""

    def test_mda_purges_at_start_as_the_mail_user(self):
        with Instance(extra_conf={"mda": {"quarantine_days": "2"}}) as inst:
            inst.add_user(BOB, "pw")
            vmail = inst.users["vmail"]
            d = inst.path("quarantine", "example.test", "bob")
            for sub in ("", "new", "cur", "tmp"):
                os.makedirs(os.path.join(d, sub), exist_ok=True)
            for p in (inst.path("quarantine", "example.test"), d,
                      os.path.join(d, "new"), os.path.join(d, "cur"),
                      os.path.join(d, "tmp")):
                os.chown(p, vmail.pw_uid, vmail.pw_gid)
            now = time.time()
            files = {}
            for name, age in (("1.M1P1Q1.old,S=3", 3 * DAY),
                              ("2.M1P1Q1.young,S=3", 1 * DAY)):
                p = os.path.join(d, "new", name)
                with open(p, "wb") as f:
                    f.write(b"x\r\n")
                os.chown(p, vmail.pw_uid, vmail.pw_gid)
                os.utime(p, (now - age, now - age))
                files[name] = p
            # root's own directory: the purge, as vmail, cannot touch it
            rootdir = inst.path("quarantine", "example.test", "root", "new")
            os.makedirs(rootdir)
            os.chmod(os.path.dirname(rootdir), 0o755)
            os.chmod(rootdir, 0o755)
            rootfile = os.path.join(rootdir, "3.M1P1Q1.root,S=3")
            with open(rootfile, "wb") as f:
                f.write(b"x\r\n")
            os.utime(rootfile, (now - 3 * DAY, now - 3 * DAY))
            inst.start("mda")
            wait_for(lambda: "quarantine purged" in inst.log("mda"), 20,
                     "the purge at start")
            self.assertRegex(inst.log("mda"), r"mda\.purge.*quarantine "
                             r"purged .*days=2 removed=1")
            self.assertRegex(inst.log("mda"), r"quarantine purge example"
                             r"\.test/root/new/3\.M1P1Q1\.root,S=3: "
                             r"Permission denied")
            self.assertFalse(os.path.exists(files["1.M1P1Q1.old,S=3"]))
            self.assertTrue(os.path.exists(files["2.M1P1Q1.young,S=3"]))
            self.assertTrue(os.path.exists(rootfile))
            self.assertIn("mda.purge failed (status 1)", inst.log("mda"))


if __name__ == "__main__":
    unittest.main()
