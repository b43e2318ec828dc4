"""test_tracking.py - one ID follows a message through the logs.

The tracking ID submitd writes into the Received header is the queue ID
(common/qhandoff.h); smtpd's queue and delivery log it, smtpd.delivery
hands it to mda in XSEAL, and mda logs it on every line about the
delivery, beside the Maildir file it wrote.  So an administrator greps
one ID and sees the message from submission to the file.  With the real
submitd, smtpd and mda.
"""

import os
import re
import smtplib
import unittest

from fixtures import InstanceCase
from harness import DOMAIN, wait_for
from test_submitd import PASSWORD, bye, login, message

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN

ATTACHED = ("From: <mallory@evil.test>\r\nTo: <%s>\r\nSubject: invoice\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            "--b1\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"invoice.exe\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            "TUFSS0VSLUVWSUwtUEFZTE9BRA==\r\n--b1--\r\n" % BOB)


class TrackingTest(InstanceCase):

    USERS = (ALICE, BOB)
    PASSWORD = PASSWORD
    DAEMONS = ("mda", "smtpd", "submitd")
    NEEDS = ("submitd", "smtpd", "mda")

    def grep(self, daemon, qid):
        return [l for l in self.inst.log(daemon).splitlines() if qid in l]

    def delivered(self, folder, before):
        """The one new message in bob's folder: its file name."""
        new = wait_for(lambda: sorted(set(self.inst.messages(BOB, folder))
                                      - before), 20, "the delivery")
        self.assertEqual(len(new), 1, new)
        return os.path.basename(new[0])

    def test_one_id_follows_a_submission_to_the_maildir_file(self):
        before = set(self.inst.messages(BOB))
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=30)
        s.ehlo("client.example.test")
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.test")
        login(s, ALICE, PASSWORD)
        s.mail(ALICE)
        s.rcpt(BOB)
        code, text = s.data(message(ALICE, BOB).encode())
        bye(s)
        self.assertEqual(code, 250, text)
        qid = text.split()[-1].decode()
        self.assertRegex(qid, "^[0-9a-f]{16}$")
        name = self.delivered("", before)
        with open(os.path.join(self.inst.maildir(BOB), "new", name),
                  "rb") as f:
            self.assertIn(("with ESMTPSA id %s" % qid).encode(), f.read())

        sub = self.grep("submitd", qid)
        self.assertTrue([l for l in sub if "id=%s " % qid in l and
                         "queued" in l], sub)
        smtpd = wait_for(lambda: (lambda ls: ls if any(
            "status=sent" in l for l in ls) else None)(
            self.grep("smtpd", qid)), 10, "smtpd's delivery line")
        self.assertTrue([l for l in smtpd if "source=submit queued" in l],
                        smtpd)
        mda = self.grep("mda", qid)
        self.assertTrue([l for l in mda if "id=%s " % qid in l and
                         "file=%s" % name in l], mda)
        # and the delivery record names the same file
        rec = os.path.join(self.inst.path("mail", DOMAIN, "bob"),
                           "delivered", qid)
        with open(rec) as f:
            self.assertEqual(f.read().strip(), "Maildir/new/" + name)

    def test_every_mda_line_about_a_stripped_message_carries_its_id(self):
        before = set(self.inst.messages(BOB, "Unsafe"))
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=30)
        s.ehlo("mx.evil.test")
        s.mail("mallory@evil.test")
        s.rcpt(BOB)
        code, text = s.data(ATTACHED.encode())
        bye(s)
        self.assertEqual(code, 250, text)
        qid = re.search(rb"queued as ([0-9a-f]{16})", text).group(1).decode()
        name = self.delivered("Unsafe", before)
        # the stripped copy was quarantined: that line too names the ID
        about = wait_for(lambda: (lambda ls: ls if len(ls) >= 2 else None)(
            [l for l in self.inst.log("mda").splitlines() if name in l]),
            10, "mda's lines about the file")
        self.assertTrue([l for l in about if "quarantined=" in l], about)
        for line in about:
            self.assertIn("id=%s " % qid, line)


if __name__ == "__main__":
    unittest.main()
