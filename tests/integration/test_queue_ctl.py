"""sealmailctl queue list|show|flush|delete against a real smtpd whose
mda is not running, so what it accepts stays in the queue."""

import re
import smtplib
import unittest

from fixtures import InstanceCase
from harness import wait_for

BOB = "bob@example.test"


class QueueCtlTest(InstanceCase):

    USERS = (BOB,)
    DAEMONS = ("smtpd",)

    def send(self):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=30) as c:
            c.ehlo("client.remote.test")
            code, text = c.docmd("MAIL FROM:<alice@remote.test>")
            self.assertEqual(code, 250)
            self.assertEqual(c.docmd("RCPT TO:<%s>" % BOB)[0], 250)
            code, text = c.data(b"Subject: queued\r\n\r\nstays in the queue\r\n")
            self.assertEqual(code, 250)
        return text.decode()

    def queue_ids(self):
        out = self.inst.ctl("queue", "list").stdout
        return re.findall(r"id=([0-9a-f]+)", out), out

    def test_list_show_delete(self):
        self.send()
        ids, out = wait_for(lambda: self.queue_ids() if self.queue_ids()[0]
                            else None, 10, "a queued message")
        self.assertIn("alice@remote.test", out)
        qid = ids[0]
        show = self.inst.ctl("queue", "show", qid).stdout
        self.assertIn(qid, show)
        self.assertIn(BOB, show)
        self.assertEqual(self.inst.ctl("queue", "delete", qid).stdout,
                         "deleted=%s\n" % qid)
        self.assertNotIn(qid, self.queue_ids()[0])

    def test_flush_and_refusals_change_nothing(self):
        self.send()
        before = wait_for(lambda: self.queue_ids()[0] or None, 10, "queued")
        self.assertEqual(self.inst.ctl("queue", "flush").stdout, "flushed=yes\n")
        for args in (("queue", "show", "nosuchid"),
                     ("queue", "delete", "../../etc"),
                     ("queue", "delete", "0123456789abcdef0")):
            r = self.inst.ctl(*args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertTrue(r.stderr.startswith("sealmailctl: queue"), r.stderr)
        self.assertEqual(sorted(self.queue_ids()[0]), sorted(before))
        r = self.inst.ctl("queue", "show", check=False)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
