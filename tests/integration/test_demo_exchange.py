"""test_demo_exchange.py - ./sealmail.sh demo exchange: the two-ISP demo
(demo.py exchange DIR, demo_exchange.py) follows alice@isp-a.test's
message to bob@isp-b.test through each step, exits 0 only when bob's
copy carries isp-b's dkim=pass, and leaves nothing running.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import dnsserver
from test_service import running

HERE = os.path.dirname(os.path.abspath(__file__))


class DemoExchangeTest(unittest.TestCase):

    def setUp(self):
        why = dnsserver.missing()
        if why is not None:
            raise RuntimeError(why + "; ./sealmail.sh deps installs it")
        self.dir = tempfile.mkdtemp(prefix="smdemo-", dir="/tmp")
        os.chmod(self.dir, 0o755)   # vmail makes the Maildirs below
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_alice_at_isp_a_writes_to_bob_at_isp_b_step_by_step(self):
        prefix = os.path.join(self.dir, "demo-exchange")
        r = subprocess.run(["/usr/bin/python3",
                            os.path.join(HERE, "demo.py"), "exchange",
                            prefix], capture_output=True, text=True,
                           timeout=300)
        out = r.stdout
        self.assertEqual(r.returncode, 0, out + r.stderr)
        steps = [r"1\. submission: alice submits to bob@isp-b\.test",
                 r"id=\S+ signed owner=<alice@isp-a\.test> d=isp-a\.test",
                 r"mta rcpt=<bob@isp-b\.test> relay=mx\.isp-b\.test"
                 r"\[127\.0\.0\.1\]:\d+ policy=verify tls=TLSv1\.[23] "
                 r"cipher=\S+ verified=name\+chain .*status=sent",
                 r"id=\S+ verdict=safe from=<alice@isp-a\.test> "
                 r"dkim=pass/isp-a\.test.* spf=pass .*dmarc=pass/reject",
                 r"bob's INBOX holds:",
                 r"\| Authentication-Results: mx\.isp-b\.test;",
                 r"\| Subject: Hello from isp-a",
                 r"isp-b verified isp-a's signatures \(dkim=pass, "
                 r"spf=pass, dmarc=pass\)"]
        at = 0
        for step in steps:
            m = re.compile(step).search(out, at)
            self.assertIsNotNone(m, "%r after offset %d in:\n%s"
                                 % (step, at, out))
            at = m.end()
        # everything stopped; the logs kept
        for isp in ("isp-a", "isp-b"):
            run = os.path.join(prefix, isp, "run")
            for name in os.listdir(run):
                if name.endswith(".pid"):
                    with open(os.path.join(run, name)) as f:
                        pid = int(f.read().strip() or 0)
                    self.assertFalse(pid and running(pid), name)
            self.assertTrue(os.path.exists(os.path.join(prefix, isp, "log",
                                                        "smtpd.log")))


if __name__ == "__main__":
    unittest.main()
