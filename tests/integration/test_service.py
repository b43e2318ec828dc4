"""test_service.py - sealmailctl start/restart/status/stop on the real
daemons of the build tree, the way an administrator runs them.

No SEALMAIL_LIBEXECDIR: sealmailctl must find build/<daemon>/<daemon> next
to its own build/sealmailctl/sealmailctl (and must not take the directory
build/<daemon> for the program).  The daemons detach and write their
pidfiles; each must start with a minimal environment, not the
administrator's.
"""

import os
import smtplib
import unittest

from harness import DAEMONS, Instance, binary, wait_for
import subprocess


def running(pid):
    """Alive and not a zombie left for a parent that does not reap."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        raw = f.read()
    return dict(kv.decode(errors="replace").split("=", 1)
                for kv in raw.split(b"\0") if b"=" in kv)


class ServiceTest(unittest.TestCase):
    def setUp(self):
        self.inst = Instance()
        self.inst.add_user("bob@example.test", "pw")

    def tearDown(self):
        self.ctl("stop")
        self.inst.close()

    def ctl(self, *args):
        env = self.inst.env(pam=True)
        env.pop("SEALMAIL_LIBEXECDIR", None)
        env["SEALMAIL_TEST_STRAY"] = "x"   # kept: the project's prefix
        env["STRAY_SECRET"] = "do-not-inherit"
        env["PATH"] = "/nonexistent:" + env.get("PATH", "")
        return subprocess.run([binary("sealmailctl"), "-c", self.inst.conf]
                              + list(args), capture_output=True, text=True,
                              env=env, timeout=120)

    def pids(self):
        out = {}
        for d in DAEMONS:
            try:
                with open(self.inst.pidfile(d)) as f:
                    out[d] = int(f.read())
            except (OSError, ValueError):
                pass
        return out

    def smtp_greets(self):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                          timeout=10) as c:
            return c.ehlo()[0] == 250

    def test_start_restart_stop_from_the_build_tree(self):
        r = self.ctl("start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        first = self.pids()
        self.assertEqual(sorted(first), sorted(DAEMONS), r.stdout)
        self.assertTrue(wait_for(self.smtp_greets, 15, "smtpd to greet"))
        for d, pid in first.items():
            env = environ_of(pid)
            self.assertNotIn("STRAY_SECRET", env, d)
            self.assertNotIn("/nonexistent", env.get("PATH", ""), d)
            self.assertEqual(env.get("LANG"), "C", d)
            self.assertIn("SEALMAIL_TEST_STRAY", env, d)
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stdout)
        r = self.ctl("restart", "smtpd")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        second = self.pids()
        self.assertNotEqual(first["smtpd"], second["smtpd"])
        self.assertEqual(first["imapd"], second["imapd"])
        self.assertFalse(running(first["smtpd"]))
        self.assertTrue(wait_for(self.smtp_greets, 15, "smtpd to greet"))
        r = self.ctl("stop")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for d, pid in second.items():
            self.assertFalse(running(pid), d)
        self.assertEqual(self.ctl("status").returncode, 3)

    def test_demo_restart_keeps_the_instance(self):
        # ./sealmail.sh start: demo.py restart on an existing instance.
        inst = self.inst
        inst.start("smtpd", "mda")
        with smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=30) as c:
            c.sendmail("a@remote.test", ["bob@example.test"],
                       b"Subject: kept\r\n\r\nkept across a restart\r\n")
        wait_for(lambda: inst.messages("bob@example.test") or
                 inst.messages("bob@example.test", "Unsafe"), 20, "delivery")
        before = inst.messages("bob@example.test") + \
            inst.messages("bob@example.test", "Unsafe")
        old = inst.pid("smtpd")
        demo = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "demo.py")
        r = subprocess.run(["/usr/bin/python3", demo, "restart", inst.prefix],
                           capture_output=True, text=True, timeout=120,
                           env=inst.env(pam=True))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("kept the instance", r.stdout)
        self.assertFalse(running(old))
        new = self.pids()
        self.assertEqual(sorted(new), sorted(d for d in DAEMONS
                                             if inst.built(d)))
        self.assertEqual(before, inst.messages("bob@example.test") +
                         inst.messages("bob@example.test", "Unsafe"))
        self.assertIn("bob@example.test",
                      inst.ctl("user", "list").stdout)
        self.assertTrue(wait_for(self.smtp_greets, 15, "smtpd to greet"))

    def test_a_directory_is_not_a_daemon(self):
        env = self.inst.env()
        # SEALMAIL_LIBEXECDIR=<build>: <build>/smtpd is a directory and
        # must be passed over for <build>/smtpd/smtpd.
        env["SEALMAIL_LIBEXECDIR"] = os.path.dirname(
            os.path.dirname(binary("smtpd")))
        r = subprocess.run([binary("sealmailctl"), "-c", self.inst.conf,
                            "start", "smtpd"], capture_output=True,
                           text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("smtpd state=running", r.stdout)


if __name__ == "__main__":
    unittest.main()
