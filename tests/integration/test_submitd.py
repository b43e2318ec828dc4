"""Authenticated submission (submitd): AUTH only under TLS, PAM in the
parent, failed logins slowed down and barred per address, sender identity
(MAIL FROM and the header's From:), the per-message and daily recipient
limits with lockout and the postmaster's notice, the Received header with
the tracking ID, and the hand-off to the queue only acknowledged after
the queue committed.

Most tests run submitd against FakeQueue, a stand-in for smtpd's queue on
[smtpd] queue_socket that speaks the hand-off protocol (submitd/queue.c)
and keeps what it receives, so the envelope and the stamped message can
be checked exactly.  The end-to-end test runs the real smtpd and mda when
they are built, and skips otherwise.
"""

import base64
import os
import shutil
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from fixtures import FakeQueue, InstanceCase
from harness import DOMAIN, Instance, binary, wait_for

PASSWORD = "correct horse battery"


def bye(s):
    """QUIT, and the 221 must come back (over TLS too)."""
    code, _ = s.quit()
    assert code == 221, code


def login(s, user, password, mech="PLAIN"):
    """AUTH with one mechanism (smtplib.login() would try the next one
    after a failure, and count twice)."""
    s.user, s.password = user, password
    return s.auth(mech, s.auth_plain if mech == "PLAIN" else s.auth_login)


def message(frm, to, subject="test", extra="", body="Hello.\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n%s\r\n%s"
            % (frm, to, subject, extra, body))


class SubmitdBase(InstanceCase):
    CONF = {"submitd": {"auth_fail_max": "3", "auth_fail_window": "60s"}}
    USERS = tuple("%s@%s" % (u, DOMAIN) for u in (
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
        "postmaster", "boss"))
    PASSWORD = PASSWORD
    DAEMONS = NEEDS = ("submitd",)
    queue = None

    ALIASES = (("alice@" + DOMAIN, "sales@" + DOMAIN, "sender=yes"),
               ("alice@" + DOMAIN, "info@" + DOMAIN, "sender=no"))

    @classmethod
    def prepare(cls):
        cls.queue = FakeQueue(cls.inst.path("run", "queue.sock"))
        cls.inst.ctl("user", "set", "boss@" + DOMAIN, "privileged=yes",
                     "max_rcpt_per_msg=200", "max_rcpt_per_day=5000")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.queue is not None:
            cls.queue.close()

    def ctx(self):
        return self.inst.client_tls_context()

    def connect(self, source="127.0.0.1", login=None):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=30, source_address=(source, 0))
        s.ehlo("client.example.test")
        s.starttls(context=self.ctx())
        s.ehlo("client.example.test")
        if login is not None:
            code, text = globals()["login"](s, login, PASSWORD)
            assert code == 235, (code, text)
        return s

    def queued_since(self, n):
        return self.queue.messages[n:]

    def send(self, s, frm, rcpts, data=None):
        """MAIL, RCPT..., DATA: returns the final (code, text)."""
        code, text = s.mail(frm)
        if code != 250:
            return code, text
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                return code, text
        return s.data(data if data is not None else
                      message(frm, rcpts[0]).encode())


class AuthTest(SubmitdBase):

    def test_auth_not_offered_and_refused_before_starttls(self):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=10)
        code, text = s.ehlo("client.example.test")
        self.assertEqual(code, 250)
        self.assertNotIn(b"AUTH", text)
        self.assertIn(b"STARTTLS", text)
        cred = base64.b64encode(b"\0alice@example.test\0" +
                                PASSWORD.encode()).decode()
        code, text = s.docmd("AUTH", "PLAIN " + cred)
        self.assertEqual(code, 538, text)
        s.starttls(context=self.ctx())
        code, text = s.ehlo("client.example.test")
        self.assertIn(b"AUTH PLAIN LOGIN", text)
        bye(s)

    def test_auth_before_ehlo_is_503(self):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=10)
        s.ehlo("client.example.test")
        s.starttls(context=self.ctx())
        cred = base64.b64encode(b"\0alice@example.test\0" +
                                PASSWORD.encode()).decode()
        code, text = s.docmd("AUTH", "PLAIN " + cred)
        self.assertEqual(code, 503, text)
        bye(s)

    def test_sighup_reloads_and_keeps_serving(self):
        os.kill(self.inst.pid("submitd"), signal.SIGHUP)
        wait_for(lambda: "reloaded" in self.inst.log("submitd"), 10,
                 "the reload")
        s = self.connect(login="alice@" + DOMAIN)
        code, _ = s.mail("alice@" + DOMAIN)
        self.assertEqual(code, 250)
        bye(s)

    def test_mail_without_auth_is_refused_530(self):
        s = self.connect()
        code, text = s.mail("alice@" + DOMAIN)
        self.assertEqual(code, 530)
        self.assertIn(b"5.7.0", text)
        bye(s)

    def test_plain_and_login_mechanisms_both_work(self):
        for mech in ("PLAIN", "LOGIN"):
            s = self.connect()
            s.user, s.password = "alice@" + DOMAIN, PASSWORD
            fn = s.auth_plain if mech == "PLAIN" else s.auth_login
            code, text = s.auth(mech, fn)
            self.assertEqual(code, 235, (mech, text))
            code, _ = s.mail("alice@" + DOMAIN)
            self.assertEqual(code, 250)
            bye(s)

    def test_plain_with_initial_response_and_empty_challenge(self):
        s = self.connect()
        cred = base64.b64encode(b"\0bob@example.test\0" +
                                PASSWORD.encode()).decode()
        code, text = s.docmd("AUTH", "PLAIN")
        self.assertEqual(code, 334)
        code, text = s.docmd(cred)
        self.assertEqual(code, 235, text)
        bye(s)

    def test_wrong_password_and_unknown_user_look_the_same_and_are_slow(self):
        replies = []
        for user, pw in (("alice@" + DOMAIN, "wrong"),
                         ("nobody@" + DOMAIN, PASSWORD)):
            s = self.connect(source="127.0.0.3")
            t0 = time.time()
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                login(s, user, pw)
            self.assertGreaterEqual(time.time() - t0, 0.4)
            replies.append((cm.exception.smtp_code, cm.exception.smtp_error))
            s.close()
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(replies[0][0], 535)
        self.assertIn(b"5.7.8", replies[0][1])

    def test_auth_cancelled_and_garbage_are_501(self):
        s = self.connect()
        code, _ = s.docmd("AUTH", "LOGIN")
        self.assertEqual(code, 334)
        code, text = s.docmd("*")
        self.assertEqual(code, 501, text)
        code, text = s.docmd("AUTH", "PLAIN !!!notbase64")
        self.assertEqual(code, 501, text)
        code, text = s.docmd("AUTH", "CRAM-MD5")
        self.assertEqual(code, 504, text)
        bye(s)

    def test_failed_logins_bar_the_client_address(self):
        for i in range(3):
            s = self.connect(source="127.0.0.2")
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                login(s, "bob@" + DOMAIN, "guess%d" % i)
            s.close()
        # even the right password is refused now, from that address only
        s = self.connect(source="127.0.0.2")
        with self.assertRaises(smtplib.SMTPException) as cm:
            login(s, "bob@" + DOMAIN, PASSWORD)
        self.assertIn("421", str(cm.exception))
        s.close()
        self.assertIn("client=127.0.0.2 refused: barred",
                      self.inst.log("submitd"))
        s = self.connect(source="127.0.0.1", login="bob@" + DOMAIN)
        bye(s)
        self.assertIn("client=127.0.0.2 barred", self.inst.log("submitd"))


class SubmitTest(SubmitdBase):

    def test_message_is_queued_with_received_and_tracking_id(self):
        n0 = len(self.queue.messages)
        s = self.connect(login="alice@" + DOMAIN)
        rcpts = ["bob@" + DOMAIN, "someone@remote.example"]
        code, text = self.send(s, "alice@" + DOMAIN, rcpts)
        self.assertEqual(code, 250, text)
        bye(s)
        m = self.queue.wait(n0 + 1)[n0]
        qid = m["id"]
        self.assertRegex(qid, r"^[0-9a-f]{16}$")
        self.assertIn(qid.encode(), text)
        self.assertEqual(m["from"], "alice@" + DOMAIN)
        self.assertEqual(m["class"], 1)
        self.assertTrue(m["hasfd"])
        self.assertEqual(m["rcpts"], [("bob@" + DOMAIN, "bob@" + DOMAIN, 1),
                                      ("someone@remote.example", "", 0)])
        head = m["data"].split(b"\r\n\r\n", 1)[0].decode()
        self.assertTrue(head.startswith("Received: from client.example.test"
                                        " ([127.0.0.1])"), head)
        self.assertIn("(authenticated user alice@%s)" % DOMAIN, head)
        self.assertIn("with ESMTPSA id %s" % qid, head)
        self.assertIn("Message-ID: <%s." % qid, head)
        self.assertIn("\r\nDate: ", head)
        self.assertTrue(m["data"].endswith(b"Hello.\r\n"))
        log = self.inst.log("submitd")
        self.assertRegex(log, r"id=%s user=alice@%s from=<alice@%s> nrcpt=2 "
                         % (qid, DOMAIN, DOMAIN))

    def test_existing_message_id_and_date_are_kept(self):
        n0 = len(self.queue.messages)
        s = self.connect(login="alice@" + DOMAIN)
        extra = ("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                 "Message-ID: <keep.me@client.example.test>\r\n")
        code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN],
                               message("alice@" + DOMAIN, "bob@" + DOMAIN,
                                       extra=extra).encode())
        self.assertEqual(code, 250, text)
        bye(s)
        data = self.queue.wait(n0 + 1)[n0]["data"].decode()
        self.assertEqual(data.count("Message-ID:"), 1)
        self.assertEqual(data.count("\r\nDate:"), 1)
        self.assertIn("<keep.me@client.example.test>", data)

    def test_privileged_user_is_not_named_in_received(self):
        n0 = len(self.queue.messages)
        s = self.connect(login="boss@" + DOMAIN)
        code, text = self.send(s, "boss@" + DOMAIN, ["bob@" + DOMAIN])
        self.assertEqual(code, 250, text)
        bye(s)
        data = self.queue.wait(n0 + 1)[n0]["data"].decode()
        self.assertNotIn("authenticated user", data)
        self.assertNotIn("boss@", data.split("Subject:")[0].split(
            "From:")[0])

    def test_privileged_user_has_higher_limits(self):
        s = self.connect(login="boss@" + DOMAIN)
        rcpts = ["r%d@remote.example" % i for i in range(120)]
        code, text = self.send(s, "boss@" + DOMAIN, rcpts)
        self.assertEqual(code, 250, text)
        bye(s)

    def test_envelope_sender_spoofing_is_refused(self):
        s = self.connect(login="alice@" + DOMAIN)
        for frm in ("bob@" + DOMAIN, "alice@evil.example", "info@" + DOMAIN,
                    ""):
            code, text = s.mail(frm)
            self.assertEqual(code, 550, (frm, text))
            self.assertIn(b"5.7.1", text)
            s.rset()
        code, text = s.mail("sales@" + DOMAIN)
        self.assertEqual(code, 250, text)
        bye(s)

    def test_header_from_spoofing_is_refused(self):
        n0 = len(self.queue.messages)
        s = self.connect(login="alice@" + DOMAIN)
        for hdr in ("From: Bob <bob@example.test>",
                    "From: \"alice@example.test\" <bob@example.test>",
                    "From: alice@example.test, bob@example.test",
                    "From: alice@example.test\r\nSender: bob@example.test",
                    "From: alice@example.test\r\nFrom: bob@example.test"):
            data = (hdr + "\r\nSubject: x\r\n\r\nbody\r\n").encode()
            code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN],
                                   data)
            self.assertEqual(code // 100, 5, (hdr, text))
            self.assertTrue(b"5.7.1" in text or b"5.6.0" in text, text)
        data = b"From: Sales <sales@example.test>\r\n\r\nbody\r\n"
        code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN], data)
        self.assertEqual(code, 250, text)
        bye(s)
        self.assertEqual(len(self.queue.messages), n0 + 1)

    def test_missing_from_gets_the_envelope_sender(self):
        n0 = len(self.queue.messages)
        s = self.connect(login="alice@" + DOMAIN)
        code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN],
                               b"just a body line\r\n")
        self.assertEqual(code, 250, text)
        bye(s)
        data = self.queue.wait(n0 + 1)[n0]["data"].decode()
        head, body = data.split("\r\n\r\n", 1)
        self.assertIn("\r\nFrom: <alice@%s>" % DOMAIN, head)
        self.assertEqual(body, "just a body line\r\n")

    def test_unknown_local_recipient_is_refused(self):
        s = self.connect(login="alice@" + DOMAIN)
        s.mail("alice@" + DOMAIN)
        code, text = s.rcpt("nobody@" + DOMAIN)
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", text)
        code, text = s.rcpt("sales@" + DOMAIN)
        self.assertEqual(code, 250)
        bye(s)

    def test_50_recipients_pass_and_the_51st_gets_452(self):
        s = self.connect(login="erin@" + DOMAIN)
        s.mail("erin@" + DOMAIN)
        for i in range(50):
            code, text = s.rcpt("r%d@remote.example" % i)
            self.assertEqual(code, 250, text)
        code, text = s.rcpt("r50@remote.example")
        self.assertEqual(code, 452)
        self.assertIn(b"4.5.3", text)
        code, text = s.data(message("erin@" + DOMAIN,
                                    "r0@remote.example").encode())
        self.assertEqual(code, 250, text)
        bye(s)

    def test_250_only_after_the_queue_committed(self):
        self.queue.delay = 1.0
        try:
            s = self.connect(login="alice@" + DOMAIN)
            t0 = time.time()
            code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN])
            self.assertEqual(code, 250, text)
            self.assertGreaterEqual(time.time() - t0, 0.9)
            self.queue.refuse = True
            code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN])
            self.assertEqual(code, 451, text)
            bye(s)
        finally:
            self.queue.delay = 0
            self.queue.refuse = False

    def test_implicit_tls_on_465(self):
        n0 = len(self.queue.messages)
        s = smtplib.SMTP_SSL("127.0.0.1", self.inst.port("submissions"),
                             context=self.ctx(), timeout=30)
        code, text = s.ehlo("client.example.test")
        self.assertIn(b"AUTH PLAIN LOGIN", text)
        self.assertNotIn(b"STARTTLS", text)
        login(s, "alice@" + DOMAIN, PASSWORD)
        code, text = self.send(s, "alice@" + DOMAIN, ["bob@" + DOMAIN])
        self.assertEqual(code, 250, text)
        bye(s)
        data = self.queue.wait(n0 + 1)[n0]["data"].decode()
        self.assertIn("(using TLSv1.3 with cipher", data)

    def test_swaks_submission(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        n0 = len(self.queue.messages)
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port",
             str(self.inst.port("submission")), "--tls",
             "--tls-ca-path", self.inst.path("etc", "ca.pem"),
             "--auth", "PLAIN", "--auth-user", "alice@" + DOMAIN,
             "--auth-password", PASSWORD, "--from", "alice@" + DOMAIN,
             "--to", "bob@" + DOMAIN, "--helo", "swaks.example.test"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("250 2.0.0 Ok: queued as", r.stdout)
        self.queue.wait(n0 + 1)

    def test_curl_smtp_starttls_and_smtps(self):
        if shutil.which("curl") is None:
            self.skipTest("curl not installed")
        msg = message("alice@" + DOMAIN, "bob@" + DOMAIN).encode()
        for url in ("smtp://127.0.0.1:%d" % self.inst.port("submission"),
                    "smtps://127.0.0.1:%d" % self.inst.port("submissions")):
            n0 = len(self.queue.messages)
            r = subprocess.run(
                ["curl", "-sS", "--ssl-reqd", "--cacert",
                 self.inst.path("etc", "ca.pem"), "--url", url,
                 "--user", "alice@%s:%s" % (DOMAIN, PASSWORD),
                 "--mail-from", "alice@" + DOMAIN,
                 "--mail-rcpt", "bob@" + DOMAIN, "-T", "-"],
                input=msg, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, (url, r.stderr))
            self.queue.wait(n0 + 1)


class QuotaTest(SubmitdBase):

    def test_300_per_day_then_301st_locks_and_notifies_postmaster(self):
        user = "carol@" + DOMAIN
        s = self.connect(login=user)
        for k in range(6):
            rcpts = ["c%d.%d@remote.example" % (k, i) for i in range(50)]
            code, text = self.send(s, user, rcpts)
            self.assertEqual(code, 250, (k, text))
        n0 = len(self.queue.messages)
        code, text = self.send(s, user, ["one-more@remote.example"])
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.1", text)
        bye(s)
        # the postmaster's notice went through the queue
        msgs = self.queue.wait(n0 + 1)
        notice = msgs[n0]
        self.assertEqual(notice["rcpts"], [("postmaster@" + DOMAIN,
                                            "postmaster@" + DOMAIN, 1)])
        self.assertEqual(notice["from"], "")
        body = notice["data"].decode()
        self.assertIn("Subject: Account %s locked" % user, body)
        self.assertIn("limit: 300 recipients", body)
        self.assertIn("sent in the last 24 hours: 300", body)
        self.assertIn("127.0.0.1", body)
        self.assertIn("sealmailctl user unlock %s" % user, body)
        show = self.inst.ctl("user", "show", user).stdout
        self.assertIn("locked=yes", show)
        # AUTH answers as before; MAIL names the administrator contact
        s = self.connect(login=user)
        code, text = s.mail(user)
        self.assertEqual(code, 550)
        self.assertIn(b"postmaster@" + DOMAIN.encode(), text)
        bye(s)
        # unlocking clears the lock and the counters
        self.inst.ctl("user", "unlock", user)
        s = self.connect(login=user)
        code, text = self.send(s, user, ["after-unlock@remote.example"])
        self.assertEqual(code, 250, text)
        bye(s)

    def test_concurrent_sessions_of_one_user_cannot_pass_the_daily_limit(self):
        user = "dave@" + DOMAIN
        nthreads = 10
        barrier = threading.Barrier(nthreads)
        results = [None] * nthreads

        def worker(k):
            try:
                # one client address each: the per-address session limit
                # is not what this test is about
                s = self.connect(source="127.0.1.%d" % (k + 1), login=user)
                s.mail(user)
                for i in range(50):
                    code, _ = s.rcpt("d%d.%d@remote.example" % (k, i))
                    assert code == 250
                code, _ = s.docmd("DATA")
                assert code == 354
                s.send(message(user, "x@remote.example").encode() +
                       b"\r\n")
                barrier.wait(30)
                s.send(b".\r\n")
                results[k] = s.getreply()
                bye(s)
            except Exception as e:  # noqa: BLE001 - reported below
                results[k] = (0, repr(e).encode())

        threads = [threading.Thread(target=worker, args=(k,))
                   for k in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = [r[0] for r in results]
        self.assertEqual(codes.count(250), 6, results)
        self.assertEqual(codes.count(550), 4, results)
        show = self.inst.ctl("user", "show", user).stdout
        self.assertIn("locked=yes", show)


class EndToEndTest(unittest.TestCase):
    """With the real smtpd and mda: submissions arrive in local INBOXes,
    and the tracking ID of the 250 reply is the queue ID all along."""

    def setUp(self):
        for name in ("submitd", "smtpd", "mda"):
            if not os.path.exists(binary(name)):
                self.skipTest("%s not built" % name)
        self.inst = Instance()
        for u in ("alice", "bob", "postmaster"):
            self.inst.add_user("%s@%s" % (u, DOMAIN), PASSWORD)
        self.inst.start("mda", "smtpd", "submitd")

    def tearDown(self):
        self.inst.close()

    def submit(self, rcpts):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=30)
        s.ehlo("client.example.test")
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.test")
        login(s, "alice@" + DOMAIN, PASSWORD)
        s.mail("alice@" + DOMAIN)
        for r in rcpts:
            s.rcpt(r)
        reply = s.data(message("alice@" + DOMAIN, rcpts[0]).encode())
        bye(s)
        return reply

    def test_submission_is_delivered_to_the_local_inbox(self):
        code, text = self.submit(["bob@" + DOMAIN])
        self.assertEqual(code, 250, text)
        qid = text.split()[-1].decode()
        paths = wait_for(lambda: self.inst.messages("bob@" + DOMAIN), 20,
                         "delivery to bob's INBOX")
        with open(paths[0], "rb") as f:
            data = f.read()
        self.assertIn(b"(authenticated user alice@example.test)", data)
        self.assertIn(("with ESMTPSA id %s" % qid).encode(), data)
        self.assertIn("id=%s" % qid, self.inst.log("smtpd"))

    def test_lockout_notice_reaches_the_postmasters_inbox(self):
        self.inst.ctl("user", "set", "alice@" + DOMAIN, "max_rcpt_per_day=2")
        code, text = self.submit(["bob@" + DOMAIN, "postmaster@" + DOMAIN])
        self.assertEqual(code, 250, text)
        code, text = self.submit(["bob@" + DOMAIN])
        self.assertEqual(code, 550, text)
        pm = "postmaster@" + DOMAIN

        def notice():
            for p in self.inst.messages(pm):
                with open(p, "rb") as f:
                    d = f.read()
                if b"Subject: Account alice@example.test locked" in d:
                    return d
            return None
        data = wait_for(notice, 20, "the lockout notice")
        self.assertIn(b"limit: 2 recipients per 24 hours", data)


if __name__ == "__main__":
    unittest.main()
