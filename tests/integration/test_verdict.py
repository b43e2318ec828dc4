"""test_verdict.py - the receiver's verdict end to end: mail arrives on
port 25 from loopback addresses, is checked (DKIM with python3-dkim's
signatures, SPF and DMARC against records a private NSD serves) and lands
in INBOX or Unsafe through the real mda, or is refused at SMTP time, as
[smtpd] verdict_mode, verdict_require and dmarc_reject say.

signed.test lets only 127.0.0.2 send for it (SPF -all) and publishes
DMARC p=reject; evil.test signs validly for itself and has no policy.
"""

import os
import smtplib
import ssl
import subprocess
import unittest

import dnsserver
from test_verify import (AUTHSERV, BOB, CAROL, MessageHelpers,
                         receiving_instance, rsa_key, txt)

SENDER_IP = "127.0.0.2"       # signed.test's only authorized sender
OTHER_IP = "127.0.0.1"        # anyone else
ZONE_LISTED_IP = "127.0.0.3"  # in the DNS registry zone reg.test
# a forger: its own address and envelope, someone else's From
FORGER = {"source": OTHER_IP, "mail": "mallory@evil.test"}

keys = {}
dns = None


def setUpModule():
    global dns
    why = dnsserver.missing()
    if why is not None:
        raise RuntimeError(why + "; ./sealmail.sh deps installs it")
    keys["signed"], signed_pub = rsa_key()
    keys["evil"], evil_pub = rsa_key()
    zones = {
        "signed.test": [
            "good._domainkey " + txt("v=DKIM1; k=rsa; p=" + signed_pub),
            "@ " + txt("v=spf1 ip4:%s -all" % SENDER_IP),
            "_dmarc " + txt("v=DMARC1; p=reject"),
        ],
        "evil.test": [
            "good._domainkey " + txt("v=DKIM1; k=rsa; p=" + evil_pub),
        ],
        # a registered transmitter: its HELO name's SPF names 127.0.0.2
        "relay.test": ["mx " + txt("v=spf1 ip4:%s -all" % SENDER_IP)],
        # a DNS registry zone listing 127.0.0.3
        "reg.test": ["%s A 127.0.0.2" % ".".join(
            reversed(ZONE_LISTED_IP.split(".")))],
    }
    dns = dnsserver.DnsServer(zones).start()


def tearDownModule():
    if dns is not None:
        dns.stop()


class VerdictCase(MessageHelpers, unittest.TestCase):
    SETTINGS = {}

    @classmethod
    def setUpClass(cls):
        cls.rsa = keys["signed"]
        cls.inst = receiving_instance(dns.resolver, cls.SETTINGS,
                                      cls.prepare)

    @classmethod
    def prepare(cls, inst):
        """For subclasses: more before the daemons start."""

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def signed(self):
        token, msg = self.message()
        return token, self.sign(msg)

    def evil(self, msg):
        return self.sign(msg, domain=b"evil.test", key=keys["evil"])

    def refused(self, data, **kw):
        code, text = self.send(data, **kw)
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        return text.decode()


class SoftTest(VerdictCase):
    """The default policy: soft mode, nothing required beyond DKIM."""

    def test_valid_aligned_signature_from_the_authorized_server_is_safe(self):
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        for fact in ("dkim=pass header.d=signed.test",
                     "spf=pass smtp.mailfrom=alice@signed.test",
                     "dmarc=pass (p=reject dis=none) header.from=signed.test",
                     "x-tls=none"):
            self.assertIn(fact, ar)

    def test_forged_from_without_signature_is_unsafe(self):
        token, msg = self.message()
        folder, got = self.deliver(msg, token, **FORGER)
        self.assertEqual(folder, "Unsafe")
        ar = self.our_ar(got)
        self.assertIn("dkim=none", ar)
        self.assertIn("dmarc=fail (p=reject dis=reject)", ar)

    def test_valid_signature_of_an_unaligned_domain_is_unsafe(self):
        token, msg = self.message()
        folder, got = self.deliver(self.evil(msg), token, **FORGER)
        self.assertEqual(folder, "Unsafe")
        ar = self.our_ar(got)
        self.assertIn("dkim=pass header.d=evil.test", ar)
        self.assertIn("spf=none smtp.mailfrom=mallory@evil.test", ar)
        self.assertIn("dmarc=fail", ar)

    def test_body_changed_after_signing_is_unsafe(self):
        token, data = self.signed()
        data = data.replace(b"Hello Bob", b"Hello Rob")
        folder, got = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=fail (body hash mismatch)", self.our_ar(got))

    def test_second_from_added_after_signing_is_unsafe(self):
        token, data = self.signed()
        data = b"From: Mallory <mallory@evil.test>\r\n" + data
        folder, _ = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "Unsafe")

    def test_display_name_impersonating_a_local_user_is_unsafe(self):
        """evil.test signs validly for itself, but its From shows bob"""
        token, msg = self.message(sender="mallory@evil.test")
        msg = msg.replace(b"From: Alice <mallory@evil.test>",
                          b"From: \"bob@example.test\" <mallory@evil.test>")
        folder, got = self.deliver(self.evil(msg), token, **FORGER)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=pass header.d=evil.test", self.our_ar(got))
        self.assertIn("display name names another address",
                      self.inst.log("smtpd"))

    def test_spf_fail_with_valid_aligned_dkim_is_safe(self):
        """the author is proven by the signature; DMARC passes through
        DKIM, so SPF's fail (a forwarder, or a replay) does not decide"""
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=OTHER_IP)
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        self.assertIn("spf=fail smtp.mailfrom=alice@signed.test", ar)
        self.assertIn("dmarc=pass", ar)

    def test_unaligned_dmarc_reject_is_unsafe_not_refused_by_default(self):
        token, msg = self.message()
        folder, _ = self.deliver(msg, token, **FORGER)
        self.assertEqual(folder, "Unsafe")

    def test_mixed_recipients_are_split_so_a_refusal_costs_nobody(self):
        """carol keeps no unsafe mailbox: bob, who would take unsafe mail
        into his, waits for a transaction of his own (452 4.5.3); the
        refusal at DATA then concerns carol alone"""
        token, msg = self.message()
        s = self.smtp_session()
        try:
            s.mail("alice@signed.test")
            self.assertEqual(s.rcpt(CAROL)[0], 250)
            code, text = s.rcpt(BOB)
            self.assertEqual(code, 452, text)
            self.assertTrue(text.startswith(b"4.5.3"), text)
            code, text = s.data(msg)
            self.assertEqual(code, 550, text)
            self.assertIn(CAROL.encode(), text)
            # bob's own transaction takes it, into Unsafe
            s.mail("alice@signed.test")
            self.assertEqual(s.rcpt(BOB)[0], 250)
            self.assertEqual(s.data(msg)[0], 250)
        finally:
            s.quit()
        folder, _ = self.find(token)
        self.assertEqual(folder, "Unsafe")

    def test_forged_results_claiming_our_id_with_comments_are_removed(self):
        forged = ("Authentication-Results: (looks official) %s (1);\r\n"
                  "\tdkim=pass header.d=signed.test;\r\n\tdmarc=pass\r\n"
                  % AUTHSERV.swapcase()).encode()
        token, msg = self.message()
        folder, got = self.deliver(forged + msg, token, source=SENDER_IP)
        self.assertEqual(folder, "Unsafe")
        self.assertEqual(len(self.ar_fields(got)), 1)
        self.assertIn("dkim=none", self.our_ar(got))

    def smtp_session(self, source=OTHER_IP):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=60,
                         source_address=(source, 0))
        s.ehlo("client.example.net")
        return s


class RefuseTest(VerdictCase):
    """dmarc_reject = refuse, and SPF required for safe."""
    SETTINGS = {"dmarc_reject": "refuse", "verdict_require": "spf"}

    def test_dmarc_reject_failure_is_refused_with_the_reason(self):
        _, msg = self.message()
        text = self.refused(msg, **FORGER)
        self.assertIn("DMARC fail (p=reject)", text)

    def test_replay_from_another_server_is_unsafe_when_spf_is_required(self):
        """a valid signed message sent again by a server signed.test does
        not authorize: the signature passes, SPF does not"""
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=OTHER_IP)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("dkim=pass header.d=signed.test", self.our_ar(got))
        self.assertIn("SPF did not pass", self.inst.log("smtpd"))

    def test_replay_to_another_recipient_who_takes_only_safe_mail(self):
        """alice's message to bob, replayed to carol by another server:
        carol keeps no unsafe mailbox, so it is refused at DATA"""
        _, data = self.signed()
        code, text = self.send(data, rcpts=(CAROL,), source=OTHER_IP)
        self.assertEqual(code, 550, text)
        self.assertIn(b"SPF did not pass", text)

    def test_the_original_from_the_authorized_server_is_safe(self):
        token, data = self.signed()
        folder, _ = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "INBOX")


class HardlineTest(VerdictCase):
    """verdict_mode = hardline: unsafe mail is refused at DATA."""
    SETTINGS = {"verdict_mode": "hardline"}

    def test_unsigned_mail_is_refused_with_the_reasons(self):
        _, msg = self.message(sender="someone@evil.test")
        text = self.refused(msg, mail="someone@evil.test")
        self.assertIn("no valid DKIM signature", text)
        self.assertEqual(self.inst.messages(BOB, "Unsafe"), [])

    def test_aligned_mail_is_delivered(self):
        token, data = self.signed()
        folder, _ = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "INBOX")

    def test_no_split_when_every_recipient_refuses_alike(self):
        token, data = self.signed()
        code, text = self.send(data, rcpts=(CAROL, BOB), source=SENDER_IP)
        self.assertEqual(code, 250, text)


class TlsTest(VerdictCase):
    """TLS required for safe; client certificates asked for, checked
    against the instance's CA."""
    SETTINGS = {"verdict_require": "tls", "tls_client_ca": "etc/ca.pem"}

    def client_cert(self, name, signed_by_ca):
        """(cert, key) paths of a client certificate for name."""
        d = self.inst.path("etc")
        key, cert = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
        run = lambda *a: subprocess.run(a, check=True, cwd=d,
                                        capture_output=True)
        if signed_by_ca:
            run("openssl", "req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
                "-keyout", key, "-out", name + ".csr")
            run("openssl", "x509", "-req", "-in", name + ".csr", "-CA",
                "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-out", cert)
        else:
            run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                "/CN=" + name, "-keyout", key, "-out", cert)
        return cert, key

    def send_tls(self, data, cert=None):
        ctx = ssl.create_default_context(cafile=self.inst.path("etc", "ca.pem"))
        if cert is not None:
            ctx.load_cert_chain(*cert)
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=60,
                         source_address=(SENDER_IP, 0))
        try:
            s.ehlo("client.example.net")
            s.starttls(context=ctx)
            s.ehlo("client.example.net")
            s.mail("alice@signed.test")
            self.assertEqual(s.rcpt(BOB)[0], 250)
            return s.data(data)
        finally:
            s.quit()

    def test_plain_connection_is_unsafe_when_tls_is_required(self):
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("x-tls=none", self.our_ar(got))
        self.assertIn("not sent over TLS", self.inst.log("smtpd"))

    def test_tls_without_client_certificate_is_safe(self):
        token, data = self.signed()
        self.assertEqual(self.send_tls(data)[0], 250)
        folder, got = self.find(token)
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        self.assertIn("x-tls=pass policy.version=TLSv1.3 policy.cipher=", ar)
        self.assertNotIn("client-cert", ar)

    def test_client_certificate_of_the_configured_ca_is_verified(self):
        cert = self.client_cert("mx.signed.test", True)
        token, data = self.signed()
        self.assertEqual(self.send_tls(data, cert)[0], 250)
        ar = self.our_ar(self.find(token)[1])
        self.assertIn("policy.client-cert=verified "
                      "policy.client-subject=\"/CN=mx.signed.test\"", ar)

    def test_self_signed_client_certificate_is_unverified(self):
        cert = self.client_cert("self.signed.test", False)
        token, data = self.signed()
        self.assertEqual(self.send_tls(data, cert)[0], 250)
        ar = self.our_ar(self.find(token)[1])
        self.assertIn("policy.client-cert=unverified", ar)


class RegistryTest(VerdictCase):
    """Safe mail must come from a registered transmitter: relay.test is
    in registry.db, 127.0.0.3 in the DNS registry zone reg.test."""
    SETTINGS = {"verdict_require": "registry", "registry_zones": "reg.test"}

    @classmethod
    def prepare(cls, inst):
        inst.ctl("registry", "add", "relay.test", "--note", "partner")

    def test_registered_name_confirmed_by_its_spf_is_safe(self):
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=SENDER_IP,
                                   helo="mx.relay.test")
        self.assertEqual(folder, "INBOX")
        ar = self.our_ar(got)
        self.assertIn("spf=pass smtp.helo=mx.relay.test", ar)
        self.assertIn("x-registry=pass policy.registry=relay.test", ar)

    def test_registered_name_claimed_from_another_address_fails(self):
        """a spoofer says HELO mx.relay.test from an address relay.test
        does not authorize"""
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=OTHER_IP,
                                   helo="mx.relay.test")
        self.assertEqual(folder, "Unsafe")
        ar = self.our_ar(got)
        self.assertIn("x-registry=fail", ar)
        self.assertIn("not a registered transmitter", self.inst.log("smtpd"))

    def test_address_listed_in_a_registry_zone_passes(self):
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=ZONE_LISTED_IP)
        self.assertEqual(folder, "INBOX")
        self.assertIn("x-registry=pass policy.registry=reg.test",
                      self.our_ar(got))

    def test_unregistered_transmitter_is_unsafe_when_registry_required(self):
        token, data = self.signed()
        folder, got = self.deliver(data, token, source=SENDER_IP)
        self.assertEqual(folder, "Unsafe")
        self.assertIn("x-registry=none", self.our_ar(got))


if __name__ == "__main__":
    unittest.main()
