"""test_queue_admin_safety.py - sealmailctl (root) reading the queue that
smtpd.queue (the queue user) writes: it prints peer bytes escaped and
follows no link planted in the queue tree."""

import os
import re
import shutil
import smtplib
import tempfile
import unittest

from fixtures import InstanceCase
from harness import wait_for

BOB = "bob@example.test"


class QueueAdminSafetyTest(InstanceCase):

    USERS = (BOB,)
    DAEMONS = ("smtpd",)

    def send(self, data):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=30) as c:
            c.ehlo("client.remote.test")
            self.assertEqual(c.docmd("MAIL FROM:<alice@remote.test>")[0], 250)
            self.assertEqual(c.docmd("RCPT TO:<%s>" % BOB)[0], 250)
            code, text = c.data(data)
            self.assertEqual(code, 250, text)
        m = re.search(rb"queued as (\S+)", text)
        return m.group(1).decode() if m else None

    def ids(self):
        return re.findall(r"id=([0-9a-f]+)",
                          self.inst.ctl("queue", "list").stdout)

    def test_header_bytes_are_escaped(self):
        before = set(self.ids())
        self.send(b"Subject: a\x1b[2J\x1b]0;owned\x07 b\r\n"
                  b"X-Bytes: \xc3\xa9\x00\x7f\r\n\r\nbody\r\n")
        new = wait_for(lambda: set(self.ids()) - before, 10, "queued")
        out = self.inst.ctl("queue", "show", new.pop()).stdout
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\x07", out)
        self.assertIn("Subject: a\\x1b[2J\\x1b]0;owned\\x07 b", out)
        self.assertIn("X-Bytes: \\xc3\\xa9", out)
        self.assertTrue(all(0x20 <= ord(ch) < 0x7f or ch == "\n"
                            for ch in out), out)

    def test_links_in_the_queue_are_not_followed(self):
        qdir = self.inst.path("queue", "queue")
        before = set(self.ids())
        self.send(b"Subject: x\r\n\r\nx\r\n")
        real = wait_for(lambda: set(self.ids()) - before, 10, "queued").pop()
        # A directory outside the queue that looks like a message (a copy
        # of a real one), and a link to it named like a queue ID.
        victim = tempfile.mkdtemp(prefix="victim-", dir="/tmp")
        lid = real[:-1] + ("0" if real[-1] != "0" else "1")
        link = os.path.join(qdir, lid)
        try:
            shutil.copy(os.path.join(qdir, real, "envelope"), victim)
            with open(os.path.join(victim, "message"), "w") as f:
                f.write("Subject: secret from outside the queue\n\n")
            os.symlink(victim, link)
            self.assertNotIn(lid, self.ids())
            r = self.inst.ctl("queue", "show", lid, check=False)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertNotIn("secret", r.stdout)
            r = self.inst.ctl("queue", "delete", lid, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertTrue(os.path.exists(os.path.join(victim, "envelope")))
            self.assertTrue(os.path.exists(os.path.join(victim, "message")))
            # and a link in place of a real message's file
            os.rename(os.path.join(qdir, real, "message"),
                      os.path.join(qdir, real, "message.orig"))
            os.symlink(os.path.join(victim, "message"),
                       os.path.join(qdir, real, "message"))
            r = self.inst.ctl("queue", "show", real, check=False)
            self.assertNotIn("secret", r.stdout)
        finally:
            if os.path.islink(link):
                os.unlink(link)
            shutil.rmtree(victim)

if __name__ == "__main__":
    unittest.main()
