"""test_registry.py - the registry of trusted transmitters.

* `sealmailctl registry add|del|list` on a throwaway database: what list
  prints, expiry (a date or a number of days; "expired" shown once the
  time has come, which the test reaches by shifting the clock of
  sealmailctl with a tiny LD_PRELOAD library compiled here), and every
  refusal (bad names, bad notes, bad expiry, duplicates, deleting what is
  not listed) with a nonzero exit and nothing changed.
* smtpd's parent answering the receiver's registry question
  (IPC_PARENT_REGISTRY) from registry.db as sealmailctl changes it, and a
  malformed question restarting the receiver while the parent goes on
  and the next client is served.  Both questions are made by
  registry_liar.c, an LD_PRELOAD library compiled here, from recipient
  lookups of marked addresses (the receiver does not ask yet).
* The DNS registry zones ([smtpd] registry_zones) through the real
  resolver code: tests/tools/regcheck runs common/registry_dns.c's
  asynchronous lookup against a private NSD on loopback (dnsserver.py)
  serving a registry zone: the client's address (IPv4 octets and IPv6
  nibbles reversed), names, answers outside 127.0.0.0/8 ignored, a zone
  the server refuses and a server that never answers (temperror).

Needs the Debian packages nsd and ldnsutils (./sealmail.sh deps).
"""

import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import dnsserver
import harness
from fixtures import role_pid
from harness import BUILDDIR, Instance, binary, wait_for
from test_dns import silent_upstream

HERE = os.path.dirname(os.path.abspath(__file__))
REGCHECK = os.path.join(BUILDDIR, "tests", "tools", "regcheck")
LINE = re.compile(r"^(\S+) created=(\S+) expires=(\S+) state=(active|expired)"
                  r" note=(.*)$")

# time() shifted by SEALMAIL_TEST_TIME_SHIFT seconds, for sealmailctl
SHIFT_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
time_t time(time_t *t) {
	static time_t (*real)(time_t *);
	const char *s = getenv("SEALMAIL_TEST_TIME_SHIFT");
	time_t now;
	if (real == NULL)
		real = (time_t (*)(time_t *))dlsym(RTLD_NEXT, "time");
	now = real(NULL) + (s != NULL ? atol(s) : 0);
	if (t != NULL)
		*t = now;
	return now;
}
"""

DAY = 86400


class RegistryCtlTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="smt-registry-")
        src = os.path.join(cls.tmp, "shift.c")
        with open(src, "w") as f:
            f.write(SHIFT_C)
        cls.shift = os.path.join(cls.tmp, "shift.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", cls.shift, src,
                        "-ldl"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="inst-", dir=self.tmp)
        self.conf = os.path.join(self.dir, "sealmail.conf")
        with open(self.conf, "w") as f:
            f.write("[global]\nprefix = %s\ndb_dir = db\n" % self.dir)

    def ctl(self, *args, shift=0):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS",
                       "detect_leaks=0:verify_asan_link_order=0")
        if shift:
            env["LD_PRELOAD"] = self.shift
            env["SEALMAIL_TEST_TIME_SHIFT"] = str(shift)
        return subprocess.run([binary("sealmailctl"), "-c", self.conf] +
                              list(args), capture_output=True, text=True,
                              env=env, timeout=60)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def entries(self, **kw):
        out = {}
        for line in self.ok("registry", "list", **kw).splitlines():
            m = LINE.match(line)
            self.assertIsNotNone(m, line)
            out[m.group(1)] = m.groups()[1:]
        return out

    def refused(self, args, why):
        before = self.ok("registry", "list")
        r = self.ctl(*args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(why, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.ok("registry", "list"), before)

    def test_add_list_del(self):
        self.ok("registry", "add", "ISP-A.test", "--note",
                "partner ISP, contract 42")
        self.ok("registry", "add", "mx.isp-b.test")
        e = self.entries()
        self.assertEqual(sorted(e), ["isp-a.test", "mx.isp-b.test"])
        created, expires, state, note = e["isp-a.test"]
        self.assertRegex(created, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((expires, state, note),
                         ("never", "active", "partner ISP, contract 42"))
        self.assertEqual(e["mx.isp-b.test"][1:], ("never", "active", ""))
        self.ok("registry", "del", "isp-a.test")
        self.assertEqual(sorted(self.entries()), ["mx.isp-b.test"])

    def test_utf8_note_is_kept(self):
        self.ok("registry", "add", "isp-a.test", "--note",
                "Stra\u00dfe 1, M\u00fcnchen")
        self.assertEqual(self.entries()["isp-a.test"][3],
                         "Stra\u00dfe 1, M\u00fcnchen")

    def test_expiry_by_days_and_by_date(self):
        self.ok("registry", "add", "days.test", "--expires", "2d")
        self.ok("registry", "add", "date.test", "--expires", "2099-03-01")
        e = self.entries()
        self.assertEqual(e["date.test"][1:3],
                         ("2099-03-01T00:00:00Z", "active"))
        when = time.strptime(e["days.test"][1], "%Y-%m-%dT%H:%M:%SZ")
        created = time.strptime(e["days.test"][0], "%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(time.mktime(when) - time.mktime(created), 2 * DAY)
        # a day later it is still active; three days later it has expired
        self.assertEqual(self.entries(shift=DAY)["days.test"][2], "active")
        later = self.entries(shift=3 * DAY)
        self.assertEqual(later["days.test"][2], "expired")
        self.assertEqual(later["date.test"][2], "active")

    def test_expired_entry_is_replaced_by_add_and_can_be_deleted(self):
        self.ok("registry", "add", "old.test", "--expires", "1d",
                "--note", "first")
        r = self.ctl("registry", "add", "old.test", "--note", "again")
        self.assertEqual(r.returncode, 1)
        self.ok("registry", "add", "old.test", "--note", "renewed",
                shift=2 * DAY)
        self.assertEqual(self.entries()["old.test"][1:],
                         ("never", "active", "renewed"))
        self.ok("registry", "add", "gone.test", "--expires", "1d")
        self.assertEqual(self.entries(shift=2 * DAY)["gone.test"][2],
                         "expired")
        self.ok("registry", "del", "gone.test", shift=2 * DAY)
        self.assertNotIn("gone.test", self.entries())

    def test_refusals_change_nothing(self):
        self.ok("registry", "add", "isp-a.test", "--note", "kept")
        cases = [
            (["registry", "add", "isp-a.test"], "already listed"),
            (["registry", "add", "ISP-A.TEST", "--note", "x"],
             "already listed"),
            (["registry", "add", "bad_name.test"], "bad_name.test"),
            (["registry", "add", "test"], "top-level"),
            (["registry", "add", "b\u00fccher.test"], "b\u00fccher.test"),
            (["registry", "add", "[192.0.2.1]"], "[192.0.2.1]"),
            (["registry", "add", "a..test"], "a..test"),
            (["registry", "add", "new.test", "--note", "two\nlines"],
             "note"),
            (["registry", "add", "new.test", "--note", "esc\x1b[31m"],
             "note"),
            (["registry", "add", "new.test", "--note", "x" * 201], "note"),
            (["registry", "add", "new.test", "--expires", "2020-01-01"],
             "already passed"),
            (["registry", "add", "new.test", "--expires", "2099-02-30"],
             "expected --expires"),
            (["registry", "add", "new.test", "--expires", "0d"],
             "expected --expires"),
            (["registry", "add", "new.test", "--expires", "36501d"],
             "expected --expires"),
            (["registry", "add", "new.test", "--expires", "tomorrow"],
             "expected --expires"),
            (["registry", "add", "new.test", "--bogus"], "unexpected"),
            (["registry", "add", "new.test", "other.test"], "unexpected"),
            (["registry", "add", "--note", "x"], "no name"),
            (["registry", "del", "nowhere.test"], "not listed"),
            (["registry", "del", "bad_name.test"], "bad_name.test"),
        ]
        for args, why in cases:
            with self.subTest(args=args):
                self.refused(args, why)
        self.assertEqual(self.entries()["isp-a.test"][3], "kept")

    def test_usage_errors_exit_2(self):
        for args in (["registry"], ["registry", "add"],
                     ["registry", "del"], ["registry", "list", "x"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("registry add NAME", r.stderr)


class LiarInstance(Instance):
    """An instance whose daemons have registry_liar.so preloaded (it lies
    only in smtpd.receiver, about a frame holding its marker)."""

    liar = None

    def env(self, pam=False):
        e = super().env(pam)
        e["LD_PRELOAD"] = ":".join(
            x for x in (e.get("LD_PRELOAD"), self.liar) if x)
        e["SMTPD_REGISTRY_LIAR"] = "1"
        return e


class RegistryIpcTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smt-regliar-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        LiarInstance.liar = os.path.join(self.tmp, "registry_liar.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o",
                        LiarInstance.liar,
                        os.path.join(HERE, "registry_liar.c"), "-ldl"],
                       check=True, capture_output=True, timeout=120)
        self.inst = LiarInstance(keystore=False)
        self.addCleanup(self.inst.close)
        self.inst.add_user("bob@" + harness.DOMAIN)
        self.inst.start("smtpd")

    def rcpt(self, addr):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                          timeout=20) as s:
            s.ehlo("client.example.net")
            s.mail("someone@example.net")
            return s.rcpt(addr)

    def test_malformed_question_restarts_the_receiver_not_the_parent(self):
        parent = self.inst.pid("smtpd")
        before = role_pid(parent, "smtpd.receiver")
        self.assertIsNotNone(before)
        with self.assertRaises(smtplib.SMTPServerDisconnected):
            self.rcpt("garble-registry@" + harness.DOMAIN)
        log = self.inst.log("smtpd")
        self.assertIn("registry_liar: a malformed IPC_PARENT_REGISTRY", log)
        self.assertIn("sent a message it may not (type 110)", log)

        def restarted():
            pid = role_pid(parent, "smtpd.receiver")
            return pid is not None and pid != before
        wait_for(restarted, what="a new receiver")
        self.assertEqual(self.inst.pid("smtpd"), parent)
        self.assertTrue(self.inst.running("smtpd"))
        wait_for(lambda: harness.port_open(self.inst.port("smtp")),
                 what="smtp port")
        code, _ = self.rcpt("bob@" + harness.DOMAIN)
        self.assertEqual(code, 250)

    def ask(self, name):
        """The parent's answer to the receiver's registry question about
        name (made from a recipient lookup by registry_liar.c), as the
        liar read it in the receiver."""
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")),
                                     timeout=20)
        try:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220 "))
            s.sendall(b"HELO client.example.net\r\n")
            self.assertTrue(f.readline().startswith(b"250 "))
            s.sendall(b"MAIL FROM:<someone@example.net>\r\n")
            self.assertTrue(f.readline().startswith(b"250 "))
            before = self.inst.log("smtpd").count("registry_liar: answer")
            s.sendall(b"RCPT TO:<ask-registry@%s>\r\n" % name.encode())

            def answered():
                return self.inst.log("smtpd").count(
                    "registry_liar: answer") > before
            wait_for(answered, what="the registry answer")
        finally:
            s.close()
        lines = [x for x in self.inst.log("smtpd").splitlines()
                 if "registry_liar: answer" in x]
        return lines[-1].split("registry_liar: ", 1)[1]

    def test_parent_answers_the_receivers_question_from_the_database(self):
        self.assertEqual(self.ask("mx.isp-a.test"),
                         "answer status=0 index=0 name= note=")
        # sealmailctl's change is seen at once by the running parent
        self.inst.ctl("registry", "add", "isp-a.test", "--note",
                      "partner ISP")
        self.assertEqual(self.ask("mx.isp-a.test"),
                         "answer status=1 index=0 name=isp-a.test "
                         "note=partner ISP")
        self.assertEqual(self.ask("isp-a.test.evil.test"),
                         "answer status=0 index=0 name= note=")
        parent = self.inst.pid("smtpd")
        self.assertNotIn("sent a message it may not", self.inst.log("smtpd"))
        self.assertEqual(self.inst.pid("smtpd"), parent)


ZONES = {
    "reg.test": [
        "1.2.0.192 A 127.0.0.2",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        " A 127.0.0.3",
        "isp-a.test A 127.0.0.2",
        "mx.isp-c.test A 127.0.0.4",
        "liar.test A 192.0.2.80",
        "nodata.test TXT \"listed elsewhere\"",
        "7.2.0.192 A 10.0.0.1",
    ],
    "other.test": [
        "isp-b.test A 127.0.0.5",
        "9.2.0.192 A 127.0.0.9",
    ],
}


class RegistryDnsTest(unittest.TestCase):

    dns = None

    @classmethod
    def setUpClass(cls):
        why = dnsserver.missing()
        if why is not None:
            raise RuntimeError(why + "; ./sealmail.sh deps installs it")
        if not os.path.exists(REGCHECK):
            subprocess.run(["make", "-C", BUILDDIR, "-s",
                            "tests/tools/regcheck"], check=True,
                           capture_output=True)
        cls.dns = dnsserver.DnsServer(ZONES).start()

    @classmethod
    def tearDownClass(cls):
        if cls.dns is not None:
            cls.dns.stop()

    def check(self, zones, ip, *names, resolver=None, timeout=5000):
        r = subprocess.run([REGCHECK, "-t", str(timeout),
                            resolver or self.dns.resolver, zones, ip] +
                           list(names), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stderr = r.stderr
        return r.stdout.strip()

    def test_ipv4_address_reversed_under_the_zone(self):
        self.assertEqual(self.check("reg.test", "192.0.2.1"),
                         "listed ip reg.test 127.0.0.2")

    def test_ipv6_address_as_reversed_nibbles(self):
        self.assertEqual(self.check("reg.test", "2001:db8::1"),
                         "listed ip reg.test 127.0.0.3")

    def test_name_under_the_zone(self):
        self.assertEqual(self.check("reg.test", "192.0.2.50", "nobody.test",
                                    "isp-a.test"),
                         "listed name reg.test 127.0.0.2 isp-a.test")
        self.assertEqual(self.check("reg.test", "-", "MX.isp-c.test"),
                         "listed name reg.test 127.0.0.4 MX.isp-c.test")

    def test_not_listed_nxdomain_and_nodata(self):
        self.assertEqual(self.check("reg.test", "192.0.2.50", "nobody.test",
                                    "nodata.test"), "none")

    def test_answer_outside_loopback_range_is_ignored_and_logged(self):
        self.assertEqual(self.check("reg.test", "192.0.2.7", "liar.test"),
                         "none")
        self.assertIn("answer=192.0.2.80 outside 127.0.0.0/8", self.stderr)
        self.assertIn("answer=10.0.0.1 outside 127.0.0.0/8", self.stderr)

    def test_every_zone_is_asked_first_listing_wins(self):
        self.assertEqual(self.check("reg.test other.test", "192.0.2.50",
                                    "isp-b.test"),
                         "listed name other.test 127.0.0.5 isp-b.test")
        # zone order first, then the address before the names
        self.assertEqual(self.check("other.test,reg.test", "192.0.2.9",
                                    "isp-a.test"),
                         "listed ip other.test 127.0.0.9")
        self.assertEqual(self.check("reg.test other.test", "192.0.2.9",
                                    "isp-a.test"),
                         "listed name reg.test 127.0.0.2 isp-a.test")

    def test_refused_zone_is_a_temperror_unless_another_lists(self):
        self.assertEqual(self.check("unserved.test", "192.0.2.1"),
                         "temperror unserved.test")
        self.assertEqual(self.check("unserved.test reg.test", "192.0.2.1"),
                         "listed ip reg.test 127.0.0.2")
        self.assertEqual(self.check("reg.test unserved.test", "192.0.2.50"),
                         "temperror unserved.test")

    def test_silent_server_is_a_temperror(self):
        socks, resolver = silent_upstream()
        try:
            self.assertEqual(self.check("reg.test", "192.0.2.1",
                                        resolver=resolver, timeout=700),
                             "temperror reg.test")
        finally:
            for s in socks:
                s.close()

    def test_nothing_to_ask(self):
        self.assertEqual(self.check("", "192.0.2.1"), "nothing to ask")
        self.assertEqual(self.check("reg.test", "-", "bad_name.test"),
                         "nothing to ask")


if __name__ == "__main__":
    unittest.main()
