"""test_exchange_dane.py - DANE (RFC 7672) between the two ISPs of
test_exchange.py: isp-a.test sends under tls_policy = dane (dane-only
for one domain) with [global] dns_trust_anchor the DS records of the
zones the private NSD signs.  isp-b hosts several domains, each a zone
of its own whose MX is isp-b's port 25, so one pair of instances shows
every case:

    isp-b.test      signed, TLSA 3 1 1 of isp-b's key       dane-ee
    ta-b.test       signed, MX mx.example.test (signed), TLSA 2 0 0 of
                    the CA; isp-b's certificate names that MX  dane-ta
    wrong-b.test    signed, TLSA 3 1 1 of another key        deferred
    tan-b.test      signed, TLSA 2 0 0 of the CA, but the certificate
                    does not name the MX host                deferred
    bogus-b.test    signed, the right TLSA, its RRSIG broken deferred
    cn-b.test       signed, MX host a CNAME, TLSA 3 1 1 at the
                    CNAME's target only                      dane-ee
    plain-b.test    unsigned                                 opportunistic
    only-b.test     unsigned, dane-only                      deferred

The TLSA data is computed from the certificates with openssl here.
"""

import hashlib
import re
import subprocess
import time
import unittest

import test_exchange
from harness import wait_for
from test_exchange import ALICE

SIGNED_B = ("isp-b.test", "ta-b.test", "example.test", "wrong-b.test",
            "tan-b.test", "bogus-b.test", "cn-b.test")


def der(*args):
    return subprocess.run(("openssl",) + args, check=True,
                          capture_output=True).stdout


def spki_sha256(cert):
    """The 3 1 1 data of a certificate: SHA-256 of its public key."""
    pem = der("x509", "-in", cert, "-noout", "-pubkey")
    spki = subprocess.run(("openssl", "pkey", "-pubin", "-outform", "DER"),
                          input=pem, check=True, capture_output=True).stdout
    return hashlib.sha256(spki).hexdigest()


def cert_der(cert):
    """The 2 0 0 data of a certificate: all of it, DER."""
    return der("x509", "-in", cert, "-outform", "DER").hex()


class DaneExchangeTest(test_exchange.Exchange):
    """tls_policy = dane from isp-a to the domains isp-b hosts."""

    POLICY = "dane"
    A_SMTPD = {"tls_policy_map": "only-b.test=dane-only"}
    SIGNED = SIGNED_B
    TAMPER = (("_25._tcp.mx.bogus-b.test", "TLSA"),)

    @classmethod
    def prepare(cls, zones):
        b_cert = cls.b.path("etc", "cert.pem")
        ee = "_25._tcp.mx TLSA 3 1 1 %s" % spki_sha256(b_cert)
        ta = "_25._tcp.mx TLSA 2 0 0 %s" % cert_der(cls.b.path("etc",
                                                              "ca.pem"))
        other = hashlib.sha256(b"some other key").hexdigest()
        mx = ["@ MX 10 mx", "mx A 127.0.0.1"]
        zones["isp-b.test"].append(ee)
        zones["ta-b.test"] = ["@ MX 10 mx.example.test."]
        zones["example.test"] = ["mx A 127.0.0.1", ta]
        zones["wrong-b.test"] = mx + ["_25._tcp.mx TLSA 3 1 1 %s" % other]
        zones["tan-b.test"] = mx + [ta]
        zones["bogus-b.test"] = mx + [ee]
        zones["cn-b.test"] = ["@ MX 10 mx", "mx CNAME real",
                              "real A 127.0.0.1",
                              "_25._tcp.real TLSA 3 1 1 %s"
                              % spki_sha256(b_cert)]
        zones["plain-b.test"] = list(mx)
        zones["only-b.test"] = mx + [ee]
        for dom in ("ta-b.test", "wrong-b.test", "tan-b.test",
                    "bogus-b.test", "cn-b.test", "plain-b.test",
                    "only-b.test"):
            cls.b.add_user("bob@" + dom)

    # -- helpers ----------------------------------------------------------

    def delivered(self, rcpt, subject):
        self.submit(self.a, ALICE, rcpt, subject)
        self.find(self.b, rcpt, subject)
        return wait_for(lambda: re.search(
            r"mta rcpt=<%s> .*status=sent" % re.escape(rcpt),
            self.a.log("smtpd")), 30, "the log of %s" % rcpt).group(0)

    def deferred(self, rcpt, subject, reason):
        """rcpt's message is refused for reason, stays queued with a
        4.7.5 and never reaches isp-b."""
        self.submit(self.a, ALICE, rcpt, subject)
        wait_for(lambda: re.search(reason, self.a.log("smtpd")), 30,
                 "%s in the log" % reason)
        time.sleep(2)       # a retry or two (retry_min 1s)
        self.assertEqual(self.b.messages(rcpt), [])
        log = self.a.log("smtpd")
        self.assertNotRegex(log, r"mta rcpt=<%s> .*status=sent"
                            % re.escape(rcpt))
        # nothing of an earlier connection is claimed for it
        self.assertRegex(log, r"mta rcpt=<%s> .*policy=dane\S* tls=none "
                         r"verified=no .*status=deferred 451 4\.7\.5"
                         % re.escape(rcpt))
        self.assertNotRegex(log, r"mta rcpt=<%s> .*tls=TLS"
                            % re.escape(rcpt))
        ids = re.findall(r"id=([0-9a-f]{16})",
                         self.a.ctl("queue", "list").stdout)
        shown = "".join(self.a.ctl("queue", "show", i).stdout for i in ids)
        self.assertRegex(shown, r"%s(.|\n)*4\.7\.5" % re.escape(rcpt))

    # -- tests ------------------------------------------------------------

    def test_matching_dane_ee_tlsa_delivers_verified_over_tls(self):
        line = self.delivered("bob@isp-b.test", "dane ee d1")
        self.assertRegex(line, r"relay=mx\.isp-b\.test\[127\.0\.0\.1\]:%d "
                         r"policy=dane tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=dane-ee " % self.b.port("smtp"))

    def test_dane_ta_tlsa_delivers_when_the_certificate_names_the_mx(self):
        line = self.delivered("bob@ta-b.test", "dane ta d2")
        self.assertRegex(line, r"relay=mx\.example\.test\[127\.0\.0\.1\]:"
                         r"\d+ policy=dane tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=dane-ta ")

    def test_tlsa_at_the_target_of_a_cname_mx_host_is_used(self):
        line = self.delivered("bob@cn-b.test", "cname d8")
        self.assertRegex(line, r"relay=mx\.cn-b\.test\[127\.0\.0\.1\]:\d+ "
                         r"policy=dane tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=dane-ee ")

    def test_a_tlsa_that_does_not_match_defers(self):
        self.deferred("bob@wrong-b.test", "wrong tlsa d3",
                      r"relay=mx\.wrong-b\.test\[127\.0\.0\.1\]:\d+ "
                      r"policy=dane not used: .*TLSA")

    def test_dane_ta_defers_when_the_certificate_does_not_name_the_mx(self):
        self.deferred("bob@tan-b.test", "ta wrong name d4",
                      r"relay=mx\.tan-b\.test\[127\.0\.0\.1\]:\d+ "
                      r"policy=dane not used: .*certificate")

    def test_a_bogus_tlsa_defers_and_is_never_sent_in_plain_text(self):
        self.deferred("bob@bogus-b.test", "bogus tlsa d5",
                      r"relay=mx\.bogus-b\.test\[127\.0\.0\.1\]:\d+ "
                      r"policy=dane not used: DANE: TLSA lookup: bogus")

    def test_dane_toward_an_unsigned_zone_is_opportunistic(self):
        line = self.delivered("bob@plain-b.test", "unsigned d6")
        self.assertRegex(line, r"policy=dane tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=no ")

    def test_dane_only_toward_an_unsigned_zone_defers(self):
        self.deferred("bob@only-b.test", "dane-only d7",
                      r"relay=mx\.only-b\.test\[127\.0\.0\.1\]:\d+ "
                      r"policy=dane-only not used: DANE: the MX answer is "
                      r"insecure")


if __name__ == "__main__":
    unittest.main()
