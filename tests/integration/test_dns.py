"""test_dns.py - common/dns against a real authoritative server: a
private NSD on loopback (dnsserver.py) with a DNSSEC-signed zone, a
signed record whose signature was tampered with, an unsigned zone and a
reverse zone.  tests/tools/dnsq resolves through common/dns in a
libevent loop and prints one JSON line per query.

Needs the Debian packages nsd and ldnsutils (./sealmail.sh deps).
"""

import json
import os
import socket
import subprocess
import time
import unittest

import dnsserver
from harness import BUILDDIR

DNSQ = os.path.join(BUILDDIR, "tests", "tools", "dnsq")

DKIM_KEY = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A" * 12

ZONES = {
    "example.test": [
        "@ MX 30 mx3",
        "@ MX 10 mx1",
        "@ MX 20 mx2",
        "mx1 A 192.0.2.1",
        "mx1 A 192.0.2.11",
        "mx2 AAAA 2001:db8::2",
        "mx3 A 192.0.2.3",
        "mx3 AAAA 2001:db8::3",
        '@ TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"',
        'sel._domainkey TXT "%s" "%s"' % (DKIM_KEY[:255], DKIM_KEY[255:]),
        "_25._tcp.mx1 TLSA 3 1 1 " + "0123456789abcdef" * 4,
        "www CNAME alias",
        "alias CNAME mx1",
        "dangling CNAME gone",
        'bad TXT "this signature is tampered with"',
        "big TXT " + " ".join('"%s"' % ("%03d" % i * 90)[:250]
                              for i in range(16)),
    ],
    "unsigned.test": [
        '@ TXT "plain"',
        "@ MX 5 mx.example.test.",
    ],
    # 198.18.0.0/15: the reverse zones of private and documentation
    # ranges are answered by libunbound itself (RFC 6303)
    "0.18.198.in-addr.arpa": [
        "1 PTR mx1.example.test.",
    ],
}


def silent_upstream():
    """A UDP socket and a TCP listener on one loopback port that never
    answer: (sockets, "127.0.0.1@PORT")."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", port))
    t.listen(1)
    return (u, t), "127.0.0.1@%d" % port


class DnsTest(unittest.TestCase):

    dns = None

    @classmethod
    def setUpClass(cls):
        why = dnsserver.missing()
        if why is not None:
            raise RuntimeError(why + "; ./sealmail.sh deps installs it")
        if not os.path.exists(DNSQ):
            subprocess.run(["make", "-C", BUILDDIR, "-s", "tests/tools/dnsq"],
                           check=True, capture_output=True)
        cls.dns = dnsserver.DnsServer(
            ZONES, signed=["example.test"],
            tamper=[("bad.example.test", "TXT")]).start()

    @classmethod
    def tearDownClass(cls):
        if cls.dns is not None:
            cls.dns.stop()

    def dnsq(self, *pairs, resolver=None, anchor=True, timeout=5000,
             limit=30):
        argv = [DNSQ, "-t", str(timeout)]
        if resolver is not False:
            argv += ["-r", resolver or self.dns.resolver]
        if anchor:
            argv += ["-a", self.dns.trust_anchor]
        r = subprocess.run(argv + list(pairs), capture_output=True,
                           text=True, timeout=limit)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(out), len(pairs) // 2, r.stdout)
        return out

    def one(self, qtype, name, **kw):
        return self.dnsq(qtype, name, **kw)[0]

    def test_txt_strings_are_joined_and_kept_apart(self):
        r = self.one("TXT", "example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(len(r["rr"]), 1)
        self.assertEqual(r["rr"][0]["text"], "v=spf1 ip4:192.0.2.0/24 -all")
        self.assertEqual(r["rr"][0]["strings"],
                         ["v=spf1 ", "ip4:192.0.2.0/24 ", "-all"])

    def test_dkim_key_over_255_octets_is_joined_whole(self):
        r = self.one("TXT", "sel._domainkey.example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["rr"][0]["text"], DKIM_KEY)
        self.assertEqual(len(r["rr"][0]["strings"]), 2)

    def test_txt_too_big_for_udp_arrives_over_tcp(self):
        raw = self.dns.query("big.example.test", "TXT")
        self.assertTrue(raw[2] & 0x02, "NSD was expected to truncate")
        r = self.one("TXT", "big.example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(len(r["rr"][0]["strings"]), 16)
        self.assertEqual(len(r["rr"][0]["text"]), 16 * 250)

    def test_mx_sorted_by_preference(self):
        r = self.one("MX", "example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual([(x["pref"], x["host"]) for x in r["rr"]],
                         [(10, "mx1.example.test"), (20, "mx2.example.test"),
                          (30, "mx3.example.test")])

    def test_a_and_aaaa_addresses(self):
        a, aaaa, both4, both6 = self.dnsq(
            "A", "mx1.example.test", "AAAA", "mx2.example.test",
            "A", "mx3.example.test", "AAAA", "mx3.example.test")
        self.assertEqual(sorted(x["addr"] for x in a["rr"]),
                         ["192.0.2.1", "192.0.2.11"])
        self.assertEqual([x["addr"] for x in aaaa["rr"]], ["2001:db8::2"])
        self.assertEqual([x["addr"] for x in both4["rr"]], ["192.0.2.3"])
        self.assertEqual([x["addr"] for x in both6["rr"]], ["2001:db8::3"])
        self.assertTrue(all(x["ttl"] == 300 for x in a["rr"]))

    def test_tlsa_fields(self):
        r = self.one("TLSA", "_25._tcp.mx1.example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["sec"], "secure")
        t = r["rr"][0]
        self.assertEqual((t["usage"], t["selector"], t["mtype"]), (3, 1, 1))
        self.assertEqual(t["data"], "0123456789abcdef" * 4)

    def test_ptr_of_an_address(self):
        r = self.one("PTR", "1.0.18.198.in-addr.arpa")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["rr"][0]["name"], "mx1.example.test")

    def test_nxdomain_and_nodata_are_told_apart(self):
        nx, nodata, nx_unsigned, nodata_unsigned = self.dnsq(
            "A", "nope.example.test", "AAAA", "mx1.example.test",
            "A", "nope.unsigned.test", "TLSA", "unsigned.test")
        self.assertEqual((nx["status"], nx["rcode"]), ("nxdomain", 3))
        self.assertEqual((nodata["status"], nodata["rcode"]), ("nodata", 0))
        self.assertEqual(nx["rr"], [])
        self.assertEqual(nodata["rr"], [])
        self.assertEqual(nx_unsigned["status"], "nxdomain")
        self.assertEqual(nodata_unsigned["status"], "nodata")
        # signed denials are proven, unsigned ones are not
        self.assertEqual((nx["sec"], nodata["sec"]), ("secure", "secure"))
        self.assertEqual(nx_unsigned["sec"], "insecure")

    def test_cname_chain_is_followed(self):
        r = self.one("A", "www.example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["canon"], "mx1.example.test")
        self.assertEqual(r["ncname"], 2)
        self.assertEqual(sorted(x["addr"] for x in r["rr"]),
                         ["192.0.2.1", "192.0.2.11"])

    def test_cname_to_nothing_is_nxdomain_of_its_target(self):
        r = self.one("A", "dangling.example.test")
        self.assertEqual(r["status"], "nxdomain")
        self.assertEqual(r["canon"], "gone.example.test")
        self.assertEqual(r["ncname"], 1)

    def test_cname_asked_for_is_not_followed(self):
        r = self.one("CNAME", "www.example.test")
        self.assertEqual(r["status"], "ok")
        self.assertEqual([x["name"] for x in r["rr"]],
                         ["alias.example.test"])

    def test_dnssec_secure_with_the_trust_anchor(self):
        for r in self.dnsq("MX", "example.test", "A", "www.example.test",
                           "TXT", "sel._domainkey.example.test"):
            self.assertEqual((r["status"], r["sec"]), ("ok", "secure"), r)

    def test_dnssec_tampered_signature_is_bogus_without_records(self):
        r = self.one("TXT", "bad.example.test")
        self.assertEqual(r["status"], "bogus")
        self.assertEqual(r["sec"], "bogus")
        self.assertEqual(r["rr"], [])
        self.assertIn("signature", r["why_bogus"])

    def test_dnssec_unsigned_zone_is_insecure(self):
        r = self.one("TXT", "unsigned.test")
        self.assertEqual((r["status"], r["sec"]), ("ok", "insecure"))
        self.assertEqual(r["rr"][0]["text"], "plain")

    def test_without_trust_anchor_nothing_is_validated(self):
        good, bad = self.dnsq("MX", "example.test", "TXT", "bad.example.test",
                              anchor=False)
        self.assertEqual((good["status"], good["sec"]), ("ok", "insecure"))
        self.assertEqual((bad["status"], bad["sec"]), ("ok", "insecure"))
        self.assertEqual(bad["rr"][0]["text"],
                         "this signature is tampered with")

    def test_silent_upstream_times_out_within_the_bound(self):
        socks, spec = silent_upstream()
        try:
            t0 = time.time()
            r = self.one("MX", "example.test", resolver=spec, anchor=False,
                         timeout=1000)
            took = time.time() - t0
        finally:
            for s in socks:
                s.close()
        self.assertEqual(r["status"], "timeout")
        self.assertGreaterEqual(r["ms"], 900)
        self.assertLess(took, 5)

    def test_dead_upstream_fails_within_the_bound(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            spec = "127.0.0.1@%d" % s.getsockname()[1]
        t0 = time.time()
        r = self.one("A", "mx1.example.test", resolver=spec, anchor=False,
                     timeout=2000)
        self.assertIn(r["status"], ("tempfail", "timeout"))
        self.assertEqual(r["rr"], [])
        self.assertLess(time.time() - t0, 6)

    def test_many_queries_at_once_each_get_their_answer(self):
        names = ["mx1", "mx3", "nope", "www"] * 10
        pairs = []
        for n in names:
            pairs += ["A", n + ".example.test"]
        out = self.dnsq(*pairs)
        for n, r in zip(names, out):
            self.assertEqual(r["name"], n + ".example.test")
            if n == "nope":
                self.assertEqual(r["status"], "nxdomain")
            else:
                self.assertEqual(r["status"], "ok")
        self.assertEqual([x["addr"] for x in out[1]["rr"]], ["192.0.2.3"])

    def test_names_that_are_not_domain_names_are_refused(self):
        r = self.dnsq("A", "a..example.test", "A", "a b.example.test")
        self.assertEqual([x["status"] for x in r], ["badname", "badname"])

    def test_system_resolver_setting_reads_resolv_conf(self):
        # no -r: /etc/resolv.conf; localhost is answered by libunbound
        r = self.one("A", "localhost", resolver=False, anchor=False)
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["rr"][0]["addr"], "127.0.0.1")


if __name__ == "__main__":
    unittest.main()
