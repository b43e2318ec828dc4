"""mda's quota check against a Maildir++ maildirsize (issue 18, item 4).

With quota_bytes set, a delivery reads the Maildir's maildirsize and
appends one line; it counts the Maildir (reads its directories) only when
the file is missing, corrupt, too long, stale, for another quota, or says
the message does not fit.  imapd appends a line for every message it
stores or expunges, so the file stays right without a recount.
"""

import os
import pwd
import subprocess
import tempfile
import time
import unittest

from harness import Instance, binary
from imapsession import ImapSession, start_imapd
from mdatools import LMTPClient, PLAIN

PW = "pw-quota"
SENDER = "alice@example.test"


def walk(maildir):
    """(bytes, count) of the regular files in new/ and cur/ of the Maildir
    and each of its folders: what a recount finds."""
    b = n = 0
    dirs = [maildir] + [os.path.join(maildir, d) for d in os.listdir(maildir)
                        if d.startswith(".") and
                        os.path.isdir(os.path.join(maildir, d))]
    for d in dirs:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for name in os.listdir(p):
                st = os.lstat(os.path.join(p, name))
                if not name.startswith(".") and \
                        (st.st_mode & 0o170000) == 0o100000:
                    b += st.st_size
                    n += 1
    return b, n


def read_maildirsize(maildir):
    """(quota line, bytes, count, number of lines after the quota line)."""
    with open(os.path.join(maildir, "maildirsize")) as f:
        lines = f.read().split("\n")
    assert lines[-1] == "", "maildirsize ends with a line end"
    body = [tuple(int(x) for x in ln.split()) for ln in lines[1:-1]]
    return (lines[0], sum(x[0] for x in body), sum(x[1] for x in body),
            len(body))


class MdaQuotaTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-mdaquota-",
                                                    dir="/tmp"))
        cls.vm = pwd.getpwnam("vmail")
        cls.inst.start("mda")
        start_imapd(cls.inst, linger=2)

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def user(self, name, quota="1g"):
        addr = "%s@example.test" % name
        self.inst.add_user(addr, PW)
        self.inst.ctl("user", "set", addr, "quota_bytes=%s" % quota)
        return addr, self.inst.maildir(addr)

    def deliver(self, addr, code=250):
        c = LMTPClient(self.inst.path("run", "lmtp.sock"))
        replies = c.send(SENDER, [addr], PLAIN, "safe")
        c.close()
        self.assertEqual(replies[0][0], code, replies)

    def lda_traced(self, addr):
        """Deliver with the LDA under strace: the directories it read."""
        out = self.inst.path("strace-%s.txt" % time.monotonic())
        r = subprocess.run(
            ["strace", "-f", "-y", "-e", "trace=getdents64", "-o", out,
             binary("mda"), "-c", self.inst.conf, "-d", addr, "-s", "safe",
             "-f", SENDER], input=PLAIN.replace(b"\r\n", b"\n"),
            capture_output=True, env=self.inst.env(), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            return [ln for ln in f if "getdents64(" in ln]

    def prefill(self, maildir, n, size=100):
        """n messages of size bytes in cur/, behind mda's back."""
        cur = os.path.join(maildir, "cur")
        t = int(time.time())
        for i in range(n):
            p = os.path.join(cur, "%d.M%dP1Q%d.test,S=%d:2,S"
                             % (t, i, i, size))
            with open(p, "wb") as f:
                f.write(b"x" * size)
            os.chown(p, self.vm.pw_uid, self.vm.pw_gid)

    def plant(self, maildir, text):
        p = os.path.join(maildir, "maildirsize")
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, self.vm.pw_uid, self.vm.pw_gid)

    def assertFileRight(self, maildir, quota_line):
        line, b, n, _ = read_maildirsize(maildir)
        self.assertEqual(line, quota_line)
        self.assertEqual((b, n), walk(maildir))

    def test_delivery_among_5000_messages_reads_no_directory(self):
        addr, md = self.user("many")
        self.deliver(addr)
        self.prefill(md, 5000)
        os.unlink(os.path.join(md, "maildirsize"))
        # missing: counted once (cur/ read), and written right
        read = self.lda_traced(addr)
        self.assertTrue([ln for ln in read if "/Maildir/cur>" in ln], read)
        self.assertFileRight(md, "1073741824S")
        # then a delivery reads the file, not the Maildir
        for _ in range(3):
            read = self.lda_traced(addr)
            self.assertEqual([ln for ln in read if "/Maildir" in ln], [])
        self.assertFileRight(md, "1073741824S")
        self.assertEqual(walk(md)[1], 5005)

    def test_a_corrupt_or_deleted_maildirsize_is_rebuilt(self):
        addr, md = self.user("corrupt")
        self.deliver(addr)
        self.deliver(addr)
        self.assertFileRight(md, "1073741824S")
        for text in ("garbage\n", "1073741824S\n12 1\n34", "5S\n1 1\n"):
            self.plant(md, text)
            self.deliver(addr)
            self.assertFileRight(md, "1073741824S")
        os.unlink(os.path.join(md, "maildirsize"))
        self.deliver(addr)
        self.assertFileRight(md, "1073741824S")
        self.assertEqual(walk(md)[1], 6)

    def test_a_count_that_drifted_up_never_refuses(self):
        addr, md = self.user("drift", "100k")
        self.deliver(addr)
        # the file claims the mailbox full; the Maildir is not
        self.plant(md, "102400S\n102400 1\n")
        self.deliver(addr)
        self.assertFileRight(md, "102400S")

    def test_refused_at_the_limit(self):
        addr, md = self.user("limit")
        self.deliver(addr)
        used = walk(md)[0]
        size = len(PLAIN)
        # exactly room for the message as received: accepted
        self.inst.ctl("user", "set", addr, "quota_bytes=%d" % (used + size))
        self.deliver(addr)
        self.assertEqual(walk(md)[1], 2)
        # one byte short, with the file right or missing: refused
        used = walk(md)[0]
        self.inst.ctl("user", "set", addr,
                      "quota_bytes=%d" % (used + size - 1))
        self.deliver(addr, 552)
        os.unlink(os.path.join(md, "maildirsize"))
        self.deliver(addr, 552)
        self.assertEqual(walk(md)[1], 2)
        self.assertFileRight(md, "%dS" % (used + size - 1))

    def test_imap_expunge_append_and_copy_keep_the_file_right(self):
        addr, md = self.user("imap")
        for _ in range(3):
            self.deliver(addr)
        s = ImapSession(self.inst, addr, PW)
        self.addCleanup(s.close)
        s.ok("CREATE Keep")
        s.ok("SELECT INBOX")
        s.ok("STORE 1:2 +FLAGS (\\Deleted)")
        s.ok("EXPUNGE")
        s.ok("APPEND INBOX", b"Subject: appended\r\n\r\n" + b"a" * 3000
             + b"\r\n")
        s.ok("COPY 1 Keep")
        s.ok("MOVE 1 Keep")
        s.close()
        _, _, _, nlines = read_maildirsize(md)
        self.assertFileRight(md, "1073741824S")
        self.deliver(addr)
        self.assertFileRight(md, "1073741824S")
        # kept right by lines, not by a recount
        _, _, _, after = read_maildirsize(md)
        self.assertEqual(after, nlines + 1)
        self.assertGreater(nlines, 4)
        self.assertEqual(walk(md)[1], 4)


if __name__ == "__main__":
    unittest.main()
