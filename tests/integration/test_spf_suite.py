"""test_spf_suite.py - the openspf.org RFC 7208 test suite
(tests/data/spf/rfc7208-tests.yml) through common/spf.c and the real
resolver code (common/dns.c on libunbound): each scenario's zone data is
served by spfdns.py on loopback, tests/tools/spfcheck runs each test's
check, and its result must be one the suite allows, with the suite's
explanation where it gives one ("DEFAULT": no exp= text of our own).
"""

import os
import subprocess
import sys
import unittest

import yaml

from harness import BUILDDIR, SRCDIR
from spfdns import SpfDns

SPFCHECK = os.path.join(BUILDDIR, "tests", "tools", "spfcheck")
# reverse zones libunbound answers itself (RFC 6303) that the suite uses
TRANSPARENT = ["168.192.in-addr.arpa.", "2.0.192.in-addr.arpa.",
               "8.b.d.0.1.0.0.2.ip6.arpa."]
SUITE = os.path.join(SRCDIR, "tests", "data", "spf", "rfc7208-tests.yml")


def scenarios():
    with open(SUITE, encoding="utf-8") as f:
        return list(yaml.safe_load_all(f))


class SpfSuite(unittest.TestCase):
    def check(self, dns, test):
        out = subprocess.run(
            [SPFCHECK, "-t", "1500", "-r", "receiver.example.net"] +
            sum([["-T", z] for z in TRANSPARENT], []) + [
             dns.resolver, test["host"], test["helo"],
             test.get("mailfrom") or ""],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.rstrip("\n").split("\t")

    def test_every_scenario(self):
        passed, failed = 0, []
        for sc in scenarios():
            with SpfDns(sc.get("zonedata")) as dns:
                for name, test in sc["tests"].items():
                    result, expl, problem = self.check(dns, test)
                    want = test["result"]
                    want = want if isinstance(want, list) else [want]
                    ok = result in want
                    if ok and "explanation" in test and result == "fail":
                        w = test["explanation"]
                        ok = expl == ("" if w == "DEFAULT" else w)
                    if ok:
                        passed += 1
                    else:
                        failed.append("%s/%s: got %s %r (%s), want %s %r" % (
                            sc["description"], name, result, expl, problem,
                            want, test.get("explanation")))
        sys.stderr.write("spf suite: %d passed, %d failed\n" %
                         (passed, len(failed)))
        self.assertEqual(failed, [], "\n" + "\n".join(failed))


if __name__ == "__main__":
    unittest.main()
