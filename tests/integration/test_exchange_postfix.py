"""test_exchange_postfix.py - mail between Sealmail and a real Postfix,
both ways, on top of test_exchange.py's two ISPs (isp-a.test and
isp-b.test, the private NSD and the private CA).

A private Postfix (postfix_instance.py) is the MX of pf.test: the NSD
serves mx.pf.test, isp-a's [smtpd] transport sends pf.test to
mx.pf.test on Postfix's port, and Postfix holds a certificate of the
test CA naming mx.pf.test, so isp-a's tls_policy = verify applies to it
as to isp-b.  Postfix files carol@pf.test's mail with virtual(8) into a
Maildir of its own.  Postfix in turn sends isp-b.test's mail to isp-b's
port 25 (a transport map entry) with smtp_tls_security_level = encrypt
and the CA as smtp_tls_CAfile.

Skipped when postfix is not installed or the test is not root
(./sealmail.sh deps installs it).
"""

import os
import pwd
import smtplib
import tempfile
import time
import unittest

import dkim

import harness
from harness import wait_for
from kstools import dns_records, dnsfunc
from postfix_instance import PostfixInstance, missing
from test_exchange import BOB, Exchange, ALICE, make_cert

CAROL = "carol@pf.test"


class PostfixExchangeTest(Exchange):
    """isp-a -> Postfix (pf.test) and Postfix -> isp-b."""

    pf = None

    @classmethod
    def setUpClass(cls):
        why = missing()
        if why is not None:
            raise unittest.SkipTest(why)
        cls.pf_port = harness.free_port()
        cls.A_TRANSPORT = ["pf.test=mx.pf.test:%d" % cls.pf_port]
        cls.EXTRA_ZONES = {"pf.test": ["@ MX 10 mx", "mx A 127.0.0.1"]}
        super().setUpClass()
        try:
            cls.start_postfix()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_postfix(cls):
        d = tempfile.mkdtemp(prefix="pfx-exch-", dir="/tmp")
        os.chmod(d, 0o755)
        etc = os.path.join(d, "etc")
        mail = os.path.join(d, "mail")
        ca = cls.a.path("exchange-ca")
        cert, key = make_cert(ca, "mx.pf.test",
                              ["DNS:mx.pf.test", "IP:127.0.0.1"])
        vmail = pwd.getpwnam("vmail")
        cls.pf = PostfixInstance(cls.pf_port, {
            "myhostname": "mx.pf.test",
            "mydomain": "pf.test",
            "mydestination": "localhost",
            "virtual_mailbox_domains": "pf.test",
            "virtual_mailbox_maps": "texthash:%s/vmailbox" % etc,
            "virtual_mailbox_base": mail,
            "virtual_uid_maps": "static:%d" % vmail.pw_uid,
            "virtual_gid_maps": "static:%d" % vmail.pw_gid,
            "transport_maps": "texthash:%s/transport" % etc,
            "defer_transports": "",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": cert,
            "smtpd_tls_key_file": key,
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes",
            "smtp_tls_security_level": "encrypt",
            "smtp_tls_CAfile": os.path.join(ca, "ca.pem"),
            "smtp_tls_loglevel": "1",
        }, prefix=d)
        cls.closers.append(cls.pf.close)
        os.makedirs(mail)
        os.chown(mail, vmail.pw_uid, vmail.pw_gid)
        with open(os.path.join(etc, "vmailbox"), "w") as f:
            f.write("%s pf.test/carol/\n" % CAROL)
        with open(os.path.join(etc, "transport"), "w") as f:
            f.write("isp-b.test smtp:[127.0.0.1]:%d\n" % cls.b.port("smtp"))
        cls.pf_maildir = os.path.join(mail, "pf.test", "carol")
        cls.pf.start()

    # -- helpers ----------------------------------------------------------

    def wait_message(self, paths, needle, where, logs):
        """The first of the files paths() lists that holds needle; when
        none does in time the test fails with logs()."""
        def look():
            for p in paths():
                with open(p, "rb") as f:
                    data = f.read()
                if needle.encode() in data:
                    return data
            return None
        try:
            return wait_for(look, 40, "%s in %s" % (needle, where))
        except TimeoutError:
            self.fail("%s not in %s\n%s" % (needle, where, logs()))

    def in_postfix_maildir(self, needle):
        new = os.path.join(self.pf_maildir, "new")

        def paths():
            try:
                return [os.path.join(new, n) for n in os.listdir(new)]
            except FileNotFoundError:
                return []
        return self.wait_message(
            paths, needle, "carol's Maildir at Postfix",
            lambda: "--- isp-a smtpd:\n%s\n--- maillog:\n%s"
            % (self.a.log("smtpd")[-3000:], self.pf.log()[-3000:]))

    def in_bobs_maildir(self, needle):
        return self.wait_message(
            lambda: self.b.messages(BOB) + self.b.messages(BOB, "Unsafe"),
            needle, "bob's Maildir",
            lambda: "--- maillog:\n%s\n--- isp-b smtpd:\n%s"
            % (self.pf.log()[-3000:], self.b.log("smtpd")[-3000:]))

    # -- tests ------------------------------------------------------------

    def test_alice_to_postfix_goes_signed_over_verified_tls(self):
        self.submit(self.a, ALICE, CAROL, "to postfix p1",
                    body="Hello Carol.\r\n")
        data = self.in_postfix_maildir("to postfix p1")
        # signed by isp-a's keystore, and the signature holds at Postfix's
        # end: Postfix did not alter what it received
        self.assertRegex(data, rb"DKIM-Signature:[^\n]*(\n[ \t][^\n]*)*"
                         rb"d=isp-a\.test")
        crlf = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.assertTrue(dkim.verify(crlf, dnsfunc=dnsfunc(
            dns_records(self.a))), data[:2000])
        self.assertIn(b"Hello Carol.", data)
        # isp-a verified Postfix's certificate by name and chain ...
        self.assertRegex(self.sent_log(r"rcpt=<carol@pf\.test> .*status="),
                         r"mta rcpt=<carol@pf\.test> "
                         r"relay=mx\.pf\.test\[127\.0\.0\.1\]:%d "
                         r"policy=verify tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=name\+chain" % self.pf_port)
        # ... and Postfix says the session was TLS
        line = self.pf.wait_log(r"TLS connection established from", 10)
        self.assertRegex(line, r"TLSv1\.[23] with cipher")
        self.assertRegex(data, rb"Received: from mx\.isp-a\.test[^\n]*\n"
                         rb"(?:[ \t][^\n]*\n)*?[ \t]*\(using TLSv1\.[23]")

    def test_postfix_to_bob_over_tls_gets_our_authentication_results(self):
        msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: from postfix p2\r\n"
               "Message-ID: <p2.%d@pf.test>\r\n\r\nHello Bob.\r\n"
               % (CAROL, BOB, time.time()))
        with smtplib.SMTP("127.0.0.1", self.pf_port, timeout=30) as s:
            s.ehlo("client.pf.test")
            self.assertEqual(s.sendmail(CAROL, [BOB], msg), {})
        data = self.in_bobs_maildir("from postfix p2")
        self.assertIn(b"Hello Bob.", data)
        # isp-b's receiver judged it and said so; Postfix signs nothing
        self.assertRegex(data, rb"Authentication-Results: mx\.isp-b\.test;"
                         rb"(.|\n)*dkim=none")
        self.assertRegex(data, rb"Received: from mx\.pf\.test [^\n]*\n"
                         rb"(?:[ \t][^\n]*\n)*?[ \t]*by mx\.isp-b\.test "
                         rb"\(Sealmail\) with ESMTPS")
        line = self.pf.wait_log(r"to=<bob@isp-b\.test>.*status=", 30)
        self.assertIn("status=sent", line)
        self.assertIn("relay=127.0.0.1[127.0.0.1]:%d" % self.b.port("smtp"),
                      line)
        self.pf.wait_log(r"Trusted TLS connection established to "
                         r"127\.0\.0\.1\[127\.0\.0\.1\]:%d: TLSv1\.[23]"
                         % self.b.port("smtp"), 10)


if __name__ == "__main__":
    unittest.main()
