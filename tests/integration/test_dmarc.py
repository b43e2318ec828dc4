"""test_dmarc.py - DMARC policy discovery (common/dmarc.c) through the
real resolver code (common/dns.c on libunbound): _dmarc records served
by spfdns.py on loopback, tests/tools/dmarccheck runs each case with
Debian's Public Suffix List, and its result, the domain whose record
applied, the policy and the disposition must be the table's.  Where
python3-authheaders decides the same question (one record with a valid
p, at most one passing DKIM domain; it has no pct, rua fallback or
temperror) our result and policy must also be its.
"""

import os
import subprocess
import types
import unittest

try:
    import authheaders
except ImportError:
    authheaders = None

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

    @unittest.skipUnless(authheaders, "python3-authheaders not installed")
    def test_same_results_as_authheaders(self):
        def txt(name):
            recs = [r["TXT"] for r in ZONE.get(name, []) if "TXT" in r]
            recs = ["".join(r) if isinstance(r, list) else r for r in recs]
            recs = [r for r in recs if r.startswith("v=DMARC1")]
            return recs[0] if recs else None

        failed, compared = [], 0
        with SpfDns(ZONE) as dns:
            for case in CASES:
                frm, dkim, spf, spfdom = case[:4]
                if case[5] == "temperror" or len(dkim) > 1 or any(
                        frm.endswith(d) for d in ("two.example",
                                                  "badp.example",
                                                  "badp-rua.example")):
                    continue
                spf_res = types.SimpleNamespace(
                    result=spf, smtp_mailfrom="postmaster@" + spfdom)
                dkim_res = types.SimpleNamespace(
                    result="pass" if dkim else "none",
                    header_d=dkim[0] if dkim else "")
                result, _, _, policy = authheaders.dmarc_per_from(
                    frm, spf_res, dkim_res, dnsfunc=txt)
                got = self.check(dns, case)
                compared += 1
                # authheaders 0.15 applies sp= to the From domain's own
                # record too; RFC 7489 6.3 gives sp to subdomains only
                if "sp=" in (txt("_dmarc." + frm) or ""):
                    policy = got[2]
                if got[0] != result or got[2] != policy:
                    failed.append("%s: ours %r, authheaders %r" % (
                        case[:5], got[:3], [result, "", policy]))
        self.assertGreater(compared, 10)
        self.assertEqual(failed, [], "\n" + "\n".join(failed))


if __name__ == "__main__":
    unittest.main()
