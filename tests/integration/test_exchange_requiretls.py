"""test_exchange_requiretls.py - REQUIRETLS (RFC 8689) between the two
ISPs of test_exchange.py: an author who asks for it at submission gets
the message delivered only over TLS with a verified certificate to a
server that offers REQUIRETLS too, found through MX records from a
DNSSEC-secure answer, and returned (5.7.30) when no server of the
destination offers it or its MX records are not vouched for; both our SMTP servers offer it only once
TLS is up, and refuse it in plain text.

The server that speaks TLS but does not offer REQUIRETLS is a small one
the test runs with a certificate from the test CA naming "localhost",
reached through isp-a's [smtpd] transport as rt.test.
"""

import smtplib
import ssl
import unittest

from test_exchange import ALICE, BOB, Exchange, Listener, make_cert
from test_submitd import PASSWORD, login


class TlsNoRequireTlsServer(Listener):
    """An SMTP server with STARTTLS (a certificate for localhost) that
    does not offer REQUIRETLS; it notes every command it reads."""

    def __init__(self):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.commands = []
        super().__init__()

    def session(self, c):
        f = c.makefile("rwb")
        f.write(b"220 rt.test ESMTP\r\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            self.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                f.write(b"250-rt.test\r\n250-PIPELINING\r\n"
                        + (b"" if isinstance(c, ssl.SSLSocket)
                           else b"250-STARTTLS\r\n") + b"250 8BITMIME\r\n")
            elif verb == "STARTTLS":
                f.write(b"220 go ahead\r\n")
                f.flush()
                c = self.ctx.wrap_socket(c, server_side=True)
                f = c.makefile("rwb")
                continue
            elif verb == "QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                return
            else:
                f.write(b"250 ok\r\n")
            f.flush()


class RequireTlsTest(Exchange):
    """tls_policy = may on isp-a: REQUIRETLS alone raises it to verify.
    isp-b.test's zone is signed, so its MX hosts come from a secure
    answer; unsigned.test's is not (its MX is isp-b's server too)."""

    POLICY = "may"
    SIGNED = ("isp-b.test",)
    EXTRA_ZONES = {"unsigned.test": ["@ MX 10 mx", "mx A 127.0.0.1"]}

    @classmethod
    def a_smtpd_extra(cls):
        cls.norequire = TlsNoRequireTlsServer()
        cls.closers.append(cls.norequire.close)
        return {"transport": "plain.test=127.0.0.1:%d rt.test=localhost:%d"
                % (cls.notls.port, cls.norequire.port)}

    @classmethod
    def setup(cls):
        super().setup()
        cls.norequire.ctx.load_cert_chain(*make_cert(
            cls.a.path("exchange-ca"), "localhost", ["DNS:localhost"]))

    def submit_requiretls(self, rcpt, subject):
        s = smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=30)
        s.ehlo("client.test")
        s.starttls(context=self.a.client_tls_context())
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("requiretls"))
        login(s, ALICE, PASSWORD)
        s.sendmail(ALICE, [rcpt], "From: <%s>\r\nTo: <%s>\r\nSubject: %s"
                   "\r\n\r\nsecret\r\n" % (ALICE, rcpt, subject),
                   mail_options=["REQUIRETLS"])
        s.quit()

    def test_requiretls_mail_goes_over_verified_tls_with_requiretls(self):
        self.submit_requiretls(BOB, "rtls y1")
        self.find(self.b, BOB, "rtls y1")
        self.assertRegex(
            self.sent_log(r"rcpt=<bob@isp-b\.test> .*status="),
            r"mta rcpt=<bob@isp-b\.test> \S+ "
            r"policy=verify\+requiretls tls=TLSv1\.[23] cipher=\S+ "
            r"verified=name\+chain .*status=sent")

    def test_without_requiretls_the_may_policy_stays(self):
        self.submit(self.a, ALICE, BOB, "plain y2")
        self.find(self.b, BOB, "plain y2")
        self.assertRegex(self.sent_log(r"rcpt=<bob@isp-b\.test> .*status="),
                         r"mta rcpt=<bob@isp-b\.test> "
                         r"\S+ policy=may tls=")

    def test_a_server_without_requiretls_gets_nothing_and_alice_a_bounce(
            self):
        self.submit_requiretls("carol@rt.test", "rtls y3")
        data = self.find(self.a, ALICE, "carol@rt.test")
        self.assertIn(b"Status: 5.7.30", data)
        self.assertIn(b"does not offer", data)
        # it saw TLS set up, then nothing of the message
        self.assertIn("STARTTLS", self.norequire.commands)
        self.assertFalse([c for c in self.norequire.commands
                          if c.upper().startswith(("MAIL", "RCPT"))])

    def test_mx_hosts_not_from_dnssec_or_mta_sts_get_nothing(self):
        self.submit_requiretls("dave@unsigned.test", "rtls y4")
        data = self.find(self.a, ALICE, "dave@unsigned.test")
        self.assertIn(b"Status: 5.7.30", data)
        self.assertIn(b"from DNSSEC or an MTA-STS policy", data)
        self.assertNotRegex(self.a.log("smtpd"),
                            r"mta rcpt=<dave@unsigned\.test> \S+ .*"
                            r"status=sent")

    def test_port_25_offers_requiretls_only_over_tls(self):
        s = smtplib.SMTP("127.0.0.1", self.b.port("smtp"), timeout=30)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("requiretls"))
        code, msg = s.docmd("MAIL FROM:<x@client.test> REQUIRETLS")
        self.assertEqual((code, msg[:6]), (530, b"5.7.10"))
        s.starttls(context=self.b.client_tls_context())
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("requiretls"))
        code, msg = s.docmd("MAIL FROM:<x@client.test> REQUIRETLS")
        self.assertEqual(code, 250, msg)
        s.quit()


if __name__ == "__main__":
    unittest.main()
