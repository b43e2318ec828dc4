"""test_verdict_callback.py - the callback in the verdict, between two
real instances: isp-b trusts isp-a as a registered transmitter
(registry.db lists isp-a.test) but requires the callback for safe mail,
so a message is safe only when isp-a's own responder confirms that the
session it came in is one isp-a opened to isp-b.

isp-a listens on 127.0.0.1, isp-b on 127.0.0.2 (its MX), both with the
same [smtpd] callback_port, so each calls back the other's address on
the port it uses itself.  A spoofer on 127.0.0.3 says HELO mx.isp-a.test
and replays a genuine signed message of alice's: its signature passes,
but nobody at 127.0.0.3 vouches for the session, and isp-b never asks
isp-a (the name the spoofer gave) in its place.
"""

import re
import secrets
import smtplib

import harness
from test_exchange import ALICE, BOB, Exchange

B_ADDR = "127.0.0.2"
SPOOFER = "127.0.0.3"


class CallbackVerdictTest(Exchange):

    POLICY = "may"

    @classmethod
    def setup(cls):
        cls.cb_port = harness.free_port()
        cls.A_SMTPD = {"callback_port": str(cls.cb_port)}
        super().setup()

    @classmethod
    def prepare(cls, zones):
        zones["isp-b.test"] = [r.replace("mx A 127.0.0.1", "mx A " + B_ADDR)
                               for r in zones["isp-b.test"]]
        with open(cls.b.conf) as f:
            text = f.read()
        text = re.sub(r"(\[smtpd\]\n(?:.*\n)*?)listen = 127\.0\.0\.1:",
                      r"\1listen = %s:" % B_ADDR, text, count=1)
        text = text.replace("[smtpd]\n", "[smtpd]\ncallback_port = %d\n"
                            "verdict_require = callback\n" % cls.cb_port, 1)
        with open(cls.b.conf, "w") as f:
            f.write(text)
        cls.b.hosts["smtp"] = B_ADDR
        cls.b.ctl("registry", "add", "isp-a.test", "--note", "isp-a")

    def ar(self, data):
        head = data.split(b"\r\n\r\n", 1)[0].decode()
        m = re.search(r"Authentication-Results: mx\.isp-b\.test;.*?"
                      r"(?=\r\n\S)", head, re.S)
        self.assertTrue(m, head)
        return re.sub(r"\r\n\s+", " ", m.group(0))

    def test_confirmed_session_of_a_registered_transmitter_is_safe(self):
        self.submit(self.a, ALICE, BOB, "called back c1")
        data = self.find(self.b, BOB, "called back c1")
        ar = self.ar(data)
        self.assertIn("x-registry=pass policy.registry=isp-a.test", ar)
        self.assertIn("x-callback=pass smtp.helo=mx.isp-a.test", ar)
        self.assertRegex(self.a.log("smtpd"),
                         r"callback peer=%s answer=yes" % re.escape(B_ADDR))

    def test_spoofer_claiming_isp_a_is_unsafe_and_isp_a_is_never_asked(self):
        self.submit(self.a, ALICE, BOB, "original c2")
        original = self.find(self.b, BOB, "original c2")
        # what isp-a signed, without what isp-b added on top
        body = original.split(b"DKIM-Signature:", 1)[1]
        replay = b"DKIM-Signature:" + body
        asked_before = self.a.log("smtpd").count("callback peer=")
        s = smtplib.SMTP(B_ADDR, self.b.port("smtp"), timeout=60,
                         source_address=(SPOOFER, 0))
        try:
            s.ehlo("mx.isp-a.test")
            self.assertTrue(s.has_extn("sealmail-callback"))
            s.mail(ALICE, ["SESSID=" + secrets.token_hex(32)])
            s.rcpt(BOB)
            code, text = s.data(replay)
            self.assertEqual(code, 250, text)
        finally:
            s.quit()
        data = self.find(self.b, BOB, "original c2", folder="Unsafe")
        ar = self.ar(data)
        self.assertIn("dkim=pass header.d=isp-a.test", ar)
        self.assertIn("x-registry=fail", ar)
        self.assertRegex(ar, r"x-callback=(temperror|fail)")
        self.assertIn("the sending server did not confirm the session",
                      self.b.log("smtpd"))
        # isp-b called back the spoofer's address, not isp-a's
        self.assertEqual(self.a.log("smtpd").count("callback peer="),
                         asked_before)
