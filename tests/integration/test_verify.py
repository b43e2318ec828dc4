"""test_verify.py - DKIM verification in smtpd.receiver, end to end: mail
signed by python3-dkim (an independent implementation) with keys the
test publishes in a private NSD (dnsserver.py), or signed through the
keystore with a key only its key server publishes, arrives on port 25
and lands in INBOX (safe) or Unsafe through the real mda, with our
Authentication-Results on top.

The receiver's [global] resolver is the NSD; [smtpd] keyserver_port is
the instance's own key server, which signer.test's MX (127.0.0.1) names.
"""

import base64
import os
import re
import smtplib
import subprocess
import unittest
import uuid

import dkim
import nacl.signing

import dnsserver
import harness
from fakemda import mda_offers_xseal
from harness import Instance, wait_for
from kstools import kssign

BOB = "bob@example.test"
CAROL = "carol@example.test"          # keeps no unsafe mailbox
SIGNER = "signer@signer.test"         # keys in the keystore alone
AUTHSERV = "mx.example.test"


def rsa_key():
    """(private PEM, public SubjectPublicKeyInfo base64) of RSA-2048."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, check=True, capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


def ed_key():
    """(python3-dkim's base64 private key, base64 public key)."""
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            base64.b64encode(bytes(sk.verify_key)).decode())


def txt(record):
    """A TXT record in zone-file syntax, in strings of at most 255."""
    parts = [record[i:i + 250] for i in range(0, len(record), 250)]
    return "TXT " + " ".join('"%s"' % p for p in parts)


def receiving_instance(resolver, smtpd, prepare=None):
    """An instance with bob and carol (who keeps no unsafe mailbox),
    [global] resolver, [smtpd] keyserver_port its own key server and the
    settings in smtpd, keystore, mda and smtpd running; prepare(inst)
    runs before they start."""
    ports = {p: harness.free_port() for p in Instance.PORTS}
    conf = {"keyserver_port": str(ports["keyserver"])}
    conf.update(smtpd)
    inst = Instance(ports=ports, extra_conf={
        "global": {"resolver": resolver}, "smtpd": conf})
    try:
        for u in (BOB, CAROL):
            inst.add_user(u)
        inst.ctl("user", "set", CAROL, "unsafe_mailbox=no")
        if prepare is not None:
            prepare(inst)
        if not inst.built("mda"):
            raise unittest.SkipTest("mda is not built")
        inst.start("keystore", "mda")
        if not mda_offers_xseal(inst.path("run", "lmtp.sock")):
            raise AssertionError("mda does not offer XSEAL")
        inst.start("smtpd")
    except BaseException:
        inst.close()
        raise
    return inst


class MessageHelpers:
    """Making, signing, sending and finding test messages; for test
    classes with an instance in cls.inst (test_verdict.py uses it too)."""

    # -- helpers ----------------------------------------------------------

    def message(self, sender="alice@signed.test", extra=b""):
        """A message with a token of its own, for finding it again."""
        token = uuid.uuid4().hex
        return token, (b"From: Alice <" + sender.encode() + b">\r\n"
                       b"To: Bob <bob@example.test>\r\n"
                       b"Subject: token " + token.encode() + b"\r\n"
                       b"Date: Sat, 05 Dec 2026 12:00:00 +0000\r\n"
                       b"Message-ID: <" + token.encode() + b"@signed.test>\r\n"
                       + extra + b"\r\n"
                       b"Hello Bob, this is " + token.encode() + b".\r\n")

    def sign(self, msg, selector=b"good", domain=b"signed.test", key=None,
             **kw):
        key = key or self.rsa
        return dkim.sign(msg, selector, domain, key,
                         canonicalize=(b"relaxed", b"relaxed"), **kw) + msg

    def send(self, data, rcpts=(BOB,), mail="alice@signed.test",
             source="127.0.0.1", helo="client.example.net"):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=60,
                         source_address=(source, 0))
        try:
            s.ehlo(helo)
            s.mail(mail)
            for r in rcpts:
                code, text = s.rcpt(r)
                self.assertEqual(code, 250, text)
            return s.data(data)
        finally:
            s.quit()

    def find(self, token, who=BOB):
        """(folder, bytes) of the message with token, once delivered."""
        def look():
            for folder in ("", "Unsafe"):
                for p in self.inst.messages(who, folder):
                    with open(p, "rb") as f:
                        data = f.read()
                    if token.encode() in data:
                        return folder or "INBOX", data
            return None
        return wait_for(look, 30, "message " + token)

    def deliver(self, data, token, **kw):
        code, text = self.send(data, **kw)
        self.assertEqual(code, 250, text)
        return self.find(token)

    def ar_fields(self, data):
        """Every Authentication-Results field of the header, unfolded."""
        head = data.split(b"\r\n\r\n", 1)[0].decode()
        fields = re.split(r"\r\n(?![ \t])", head)
        return [re.sub(r"\r\n[ \t]+", " ", f) for f in fields
                if f.lower().startswith("authentication-results:")]

    def our_ar(self, data):
        ours = [f for f in self.ar_fields(data)
                if f.split(":", 1)[1].split(";")[0].strip() == AUTHSERV]
        self.assertEqual(len(ours), 1, data[:2000])
        # on top of what smtpd passed on (mda adds its own two above)
        m = re.match(rb"(Return-Path: [^\r]*\r\nDelivered-To: [^\r]*\r\n)?"
                     rb"Authentication-Results: ([^;]*);", data)
        self.assertTrue(m, data[:300])
        self.assertEqual(m.group(2).decode(), AUTHSERV)
        return ours[0]


class VerifyTest(MessageHelpers, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = dnsserver.missing()
        if why is not None:
            raise RuntimeError(why + "; ./sealmail.sh deps installs it")
        cls.rsa, rsa_pub = rsa_key()
        cls.ed, ed_pub = ed_key()
        cls.other, other_pub = rsa_key()
        zones = {
            "signed.test": [
                "good._domainkey " + txt("v=DKIM1; k=rsa; p=" + rsa_pub),
                "ed._domainkey " + txt("v=DKIM1; k=ed25519; p=" + ed_pub),
                "revoked._domainkey " + txt("v=DKIM1; k=rsa; p="),
            ],
            "other.test": [
                "good._domainkey " + txt("v=DKIM1; k=rsa; p=" + other_pub),
            ],
            "signer.test": ["@ MX 10 mx", "mx A 127.0.0.1"],
        }
        cls.dns = dnsserver.DnsServer(zones).start()
        try:
            cls.start_instance()
        except BaseException:
            cls.dns.stop()
            raise

    @classmethod
    def start_instance(cls):
        def signer(inst):
            inst.add_domain("signer.test")
            inst.add_user(SIGNER)
        cls.inst = receiving_instance(cls.dns.resolver, {}, signer)

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()
        cls.dns.stop()

    # -- the cases ------------------------------------------------------------

    def test_valid_aligned_signatures_land_in_inbox_with_dkim_pass(self):
        token, msg = self.message()
        data = self.sign(self.sign(msg), selector=b"ed", key=self.ed,
                         signature_algorithm=b"ed25519-sha256")
        folder, got = self.deliver(data, token)
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        self.assertIn("dkim=pass header.d=signed.test", ar)
        self.assertIn("header.s=good header.a=rsa-sha256", ar)
        self.assertIn("header.s=ed header.a=ed25519-sha256", ar)
        self.assertNotIn("fail", ar)
        # Received follows, then the message as it came
        self.assertIn(b"\r\nReceived: from client.example.net", got)

    def test_tampered_body_fails_and_lands_in_unsafe(self):
        token, msg = self.message()
        data = self.sign(msg).replace(b"Hello Bob", b"Hello Rob")
        folder, got = self.deliver(data, token)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=fail (body hash mismatch) header.d=signed.test",
                      self.our_ar(got))

    def test_added_signed_header_fails_and_lands_in_unsafe(self):
        token, msg = self.message()
        data = self.sign(msg, include_headers=[b"from", b"to", b"subject",
                                               b"subject", b"date"])
        data = b"Subject: urgent, pay now\r\n" + data
        folder, got = self.deliver(data, token)
        self.assertEqual(folder, "Unsafe")
        ar = self.our_ar(got)
        self.assertIn("dkim=fail", ar)
        self.assertNotIn("dkim=pass", ar)

    def test_revoked_key_is_no_pass_and_unsafe(self):
        token, msg = self.message()
        folder, got = self.deliver(self.sign(msg, selector=b"revoked"), token)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=permerror (key revoked) header.d=signed.test",
                      self.our_ar(got))

    def test_valid_signature_of_an_unaligned_domain_is_unsafe(self):
        token, msg = self.message()
        data = self.sign(msg, domain=b"other.test", key=self.other)
        folder, got = self.deliver(data, token)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=pass header.d=other.test", self.our_ar(got))

    def test_missing_key_is_permerror_and_unsafe(self):
        token, msg = self.message()
        folder, got = self.deliver(self.sign(msg, selector=b"gone"), token)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=permerror (no key for signature) "
                      "header.d=signed.test", self.our_ar(got))

    def test_unsigned_mail_is_dkim_none_and_unsafe(self):
        token, msg = self.message()
        folder, got = self.deliver(msg, token)
        self.assertEqual(folder, "Unsafe")
        ar = self.our_ar(got)
        self.assertTrue(ar.startswith(
            "Authentication-Results: %s; dkim=none; " % AUTHSERV), ar)
        # no SPF or DMARC record in signed.test, a plain connection
        for fact in ("spf=none smtp.mailfrom=alice@signed.test",
                     # example.net is not served: no answer for the HELO
                     "spf=temperror smtp.helo=client.example.net",
                     "dmarc=none header.from=signed.test", "x-tls=none",
                     "x-registry=none", "x-callback=none"):
            self.assertIn(fact, ar)

    def test_key_only_on_the_key_server_verifies(self):
        """signer.test publishes no key in DNS; its MX runs our key server"""
        token, msg = self.message(sender=SIGNER)
        r = kssign(self.inst, SIGNER, input=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"d=signer.test", r.stdout)
        folder, got = self.deliver(r.stdout, token)
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        self.assertIn("dkim=pass header.d=signer.test", ar)
        self.assertIn("header.a=rsa-sha256", ar)
        self.assertIn("header.a=ed25519-sha256", ar)
        self.assertIn("key=<%s>" % SIGNER, self.inst.log("keystore"))

    def test_forged_results_with_our_id_are_removed_others_kept(self):
        forged = ("Authentication-Results: %s;\r\n\tdkim=pass "
                  "header.d=signed.test\r\n" % AUTHSERV.upper()).encode()
        theirs = (b"Authentication-Results: relay.example.net;\r\n"
                  b"\tdkim=pass header.d=relay.example.net\r\n")
        token, msg = self.message()
        folder, got = self.deliver(forged + theirs + msg, token)
        self.assertEqual(folder, "Unsafe")
        fields = self.ar_fields(got)
        self.assertEqual(len(fields), 2, fields)
        self.assertTrue(fields[0].startswith(
            "Authentication-Results: %s; dkim=none;" % AUTHSERV), fields)
        self.assertTrue(fields[1].startswith(
            "Authentication-Results: relay.example.net;"), fields)

    def test_opted_out_user_refuses_unsafe_mail_at_smtp_time(self):
        token, msg = self.message()
        before = self.inst.messages(CAROL, "Unsafe")
        code, text = self.send(msg, rcpts=(CAROL,))
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        self.assertIn(CAROL.encode(), text)
        self.assertIn(b"verified", text)
        self.assertEqual(self.inst.messages(CAROL, "Unsafe"), before)
        self.assertFalse([p for p in self.inst.messages(BOB, "Unsafe") +
                          self.inst.messages(BOB)
                          if token.encode() in open(p, "rb").read()])

    def test_opted_out_user_gets_verified_mail(self):
        token, msg = self.message()
        code, text = self.send(self.sign(msg), rcpts=(CAROL,))
        self.assertEqual(code, 250, text)
        folder, got = self.find(token, CAROL)
        self.assertEqual(folder, "INBOX")
        self.assertIn("dkim=pass", self.our_ar(got))


if __name__ == "__main__":
    unittest.main()
