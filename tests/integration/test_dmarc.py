"""test_dmarc.py - DMARC policy discovery (common/dmarc.c) through the
real resolver code (common/dns.c on libunbound): _dmarc records served
by spfdns.py on loopback, tests/tools/dmarccheck runs each case with
Debian's Public Suffix List, and its result, the domain whose record
applied, the policy and the disposition must be the table's.
"""

import os
import subprocess
import unittest

from harness import BUILDDIR
from spfdns import SpfDns

DMARCCHECK = os.path.join(BUILDDIR, "tests", "tools", "dmarccheck")

ZONE = {
    "_dmarc.example.com": [{"TXT": "v=DMARC1; p=reject; sp=quarantine"}],
    "_dmarc.own.example.com": [{"TXT": "v=DMARC1; p=none"}],
    "_dmarc.example.org": [{"TXT": "v=spf1 -all"},
                           {"TXT": ["v=DMARC1; ", "p=quarantine; pct=50"]}],
    "_dmarc.two.example": [{"TXT": "v=DMARC1; p=reject"},
                           {"TXT": "v=DMARC1; p=none"}],
    "_dmarc.badp.example": [{"TXT": "v=DMARC1; p=maybe"}],
    "_dmarc.badp-rua.example": [
        {"TXT": "v=DMARC1; p=maybe; rua=mailto:r@badp-rua.example"}],
    "_dmarc.example.co.uk": [{"TXT": "v=DMARC1; p=reject; adkim=s"}],
    "_dmarc.relaxed.co.uk": [{"TXT": "v=DMARC1; p=reject"}],
    "_dmarc.slow.example": ["TIMEOUT"],
    "host.nodmarc.example": [{"A": "192.0.2.1"}],
}

# (from, dkim d= that passed, spf result, MAIL FROM domain, roll,
#  result, record domain, policy, disposition)
CASES = [
    ("example.com", ["example.com"], "fail", "x.example", 0,
     "pass", "example.com", "reject", "none"),
    ("example.com", [], "pass", "bounce.example.com", 0,
     "pass", "example.com", "reject", "none"),
    ("example.com", ["example.net"], "softfail", "example.com", 0,
     "fail", "example.com", "reject", "reject"),
    # a subdomain without its own record gets the org domain's sp
    ("a.b.example.com", [], "none", "", 0,
     "fail", "example.com", "quarantine", "quarantine"),
    # a subdomain with its own record gets that record's p
    ("own.example.com", [], "none", "", 0,
     "fail", "own.example.com", "none", "none"),
    # non-DMARC TXT ignored, strings joined, pct sampling
    ("example.org", [], "none", "", 49,
     "fail", "example.org", "quarantine", "quarantine"),
    ("example.org", [], "none", "", 50,
     "fail", "example.org", "quarantine", "none"),
    # several records: no policy
    ("two.example", [], "none", "", 0, "none", "", "", ""),
    ("mail.two.example", [], "none", "", 0, "none", "", "", ""),
    # no valid p: nothing, or p=none with a valid rua
    ("badp.example", [], "none", "", 0, "none", "", "", ""),
    ("badp-rua.example", [], "none", "", 0,
     "fail", "badp-rua.example", "none", "none"),
    # the organizational domain under a two-label public suffix
    ("mail.relaxed.co.uk", ["relaxed.co.uk"], "none", "", 0,
     "pass", "relaxed.co.uk", "reject", "none"),
    ("mail.relaxed.co.uk", ["other.co.uk"], "pass", "co.uk", 0,
     "fail", "relaxed.co.uk", "reject", "reject"),
    # adkim=s: only the From domain itself
    ("www.example.co.uk", ["www.example.co.uk"], "none", "", 0,
     "pass", "example.co.uk", "reject", "none"),
    ("www.example.co.uk", ["example.co.uk"], "none", "", 0,
     "fail", "example.co.uk", "reject", "reject"),
    ("host.nodmarc.example", ["host.nodmarc.example"], "pass",
     "host.nodmarc.example", 0, "none", "", "", ""),
    ("slow.example", ["slow.example"], "pass", "slow.example", 0,
     "temperror", "", "", ""),
]


class DmarcDiscovery(unittest.TestCase):
    def check(self, dns, case):
        frm, dkim, spf, spfdom, roll = case[:5]
        out = subprocess.run(
            [DMARCCHECK, "-t", "1500", "-R", str(roll)] +
            sum([["-d", d] for d in dkim], []) +
            [dns.resolver, frm, spf, spfdom],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.rstrip("\n").split("\t")

    def test_discovery_alignment_and_policy(self):
        failed = []
        with SpfDns(ZONE) as dns:
            for case in CASES:
                got = self.check(dns, case)
                if got[:4] != list(case[5:]):
                    failed.append("%s: got %r, want %r" % (
                        case[:5], got, list(case[5:])))
        self.assertEqual(failed, [], "\n" + "\n".join(failed))


if __name__ == "__main__":
    unittest.main()
