"""The keystore's keys as the administrator handles them with sealmailctl:
made by `user add` / `domain add`, shown, rotated, revoked, published
(`keys dns`), revoked by `user del`; and the key database at rest:
encrypted, no private key in the clear in any file, a passphrase file that
must be root's alone or the keystore does not start."""

import os
import re
import subprocess
import unittest

from fixtures import InstanceCase
from harness import Instance, binary
from kstools import (PKCS8_ED25519, PKCS8_RSA, db_password, dns_lines,
                     txt_strings)

KEYLINE = re.compile(
    r"^selector=(s[a-z2-7]{12}) algorithm=(rsa-sha256|ed25519-sha256) "
    r"state=(active|retiring|revoked) created=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    r"bits=(2048|256)( revoke_at=\S+| revoked_at=\S+)?$")


def keys(inst, owner):
    """[(selector, algorithm, state, bits)] of keys show."""
    out = []
    for line in inst.ctl("keys", "show", owner).stdout.splitlines():
        m = KEYLINE.match(line)
        assert m, line
        out.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
    return out


class KeyManagementTest(InstanceCase):

    USERS = ("alice@example.test", "bob@example.test")
    PASSWORD = None

    @classmethod
    def prepare(cls):
        cls.inst.add_domain("other.test")

    def test_user_add_makes_an_rsa_and_an_ed25519_key(self):
        k = keys(self.inst, "alice@example.test")
        self.assertEqual(sorted((a, s, b) for _, a, s, b in k),
                         [("ed25519-sha256", "active", 256),
                          ("rsa-sha256", "active", 2048)])

    def test_domain_add_makes_keys_for_system_mail(self):
        k = keys(self.inst, "other.test")
        self.assertEqual(sorted(a for _, a, s, _ in k if s == "active"),
                         ["ed25519-sha256", "rsa-sha256"])

    def test_selectors_are_random_unique_and_never_name_the_user(self):
        sels = [s for o in ("alice@example.test", "bob@example.test",
                            "example.test", "other.test")
                for s, _, _, _ in keys(self.inst, o)]
        self.assertEqual(len(sels), len(set(sels)))
        for s in sels:
            # names of five letters or more: a three-letter one such as
            # "bob" turns up in 12 random base32 letters about once in
            # 3,300 selectors ("s7c2yqbobrv7o" was one)
            for name in ("alice", "example", "other"):
                self.assertNotIn(name, s)
            self.assertRegex(s, r"^s[a-z2-7]{12}$")

    def test_owner_is_case_insensitive_in_the_domain(self):
        self.assertEqual(keys(self.inst, "alice@EXAMPLE.Test"),
                         keys(self.inst, "alice@example.test"))

    def test_keys_dns_one_record_a_line_rsa_split_in_255_octet_strings(self):
        lines = dns_lines(self.inst)
        expect = {s for o in ("alice@example.test", "bob@example.test",
                              "example.test", "other.test")
                  for s, _, _, _ in keys(self.inst, o)}
        self.assertEqual(len(lines), len(expect))
        seen = set()
        for line in lines:
            m = re.match(r'^(s[a-z2-7]{12})\._domainkey\.([a-z.]+) IN TXT '
                         r'"[^"]*"( "[^"]*")*$', line)
            self.assertTrue(m, line)
            seen.add(m.group(1))
            strings = txt_strings(line)
            self.assertTrue(all(len(x) <= 255 for x in strings), line)
            value = "".join(strings)
            if "k=rsa" in value:
                self.assertEqual(len(strings), 2, line)
                self.assertEqual(len(strings[0]), 255, line)
                self.assertRegex(value, r"^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+$")
            else:
                self.assertEqual(len(strings), 1, line)
                self.assertRegex(value, r"^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$")
        self.assertEqual(seen, expect)

    def test_keys_dns_for_one_domain(self):
        lines = dns_lines(self.inst, "other.test")
        self.assertEqual(len(lines), 2)
        self.assertTrue(all("._domainkey.other.test IN TXT" in l
                            for l in lines))
        r = self.inst.ctl("keys", "dns", "nowhere.test", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such domain", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_show_of_unknown_owner_fails_on_stderr(self):
        r = self.inst.ctl("keys", "show", "nobody@example.test", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("nobody@example.test: no such user or domain", r.stderr)
        r = self.inst.ctl("keys", "rotate", "nobody@example.test",
                          check=False)
        self.assertEqual(r.returncode, 1)
        r = self.inst.ctl("keys", "show", "not an address", check=False)
        self.assertEqual(r.returncode, 1)

    def test_refused_commands_change_nothing(self):
        before = dns_lines(self.inst)
        for args in (("keys", "rotate", "ghost@example.test"),
                     ("keys", "revoke", "alice@example.test", "snotthere2345"),
                     ("keys", "revoke", "alice@example.test", "Bad.Selector"),
                     ("user", "add", "alice@example.test"),
                     ("domain", "add", "example.test")):
            r = self.inst.ctl(*args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertNotEqual(r.stderr, "", args)
        self.assertEqual(dns_lines(self.inst), before)


class KeyLifecycleTest(unittest.TestCase):

    def setUp(self):
        self.inst = None

    def tearDown(self):
        if self.inst is not None:
            self.inst.close()

    def make(self, grace="1h", publish="1h"):
        self.inst = Instance(extra_conf={"keystore": {
            "rotate_grace": grace, "revoked_publish": publish}})
        self.inst.add_user("carol@example.test")

    def test_rotate_retires_old_keys_then_sweep_revokes_them(self):
        import time
        # the grace outlasts the checks made within it (several
        # sealmailctl runs: seconds each under ASan on a loaded machine)
        self.make(grace="20s", publish="8s")
        old = keys(self.inst, "carol@example.test")
        t0 = time.time()
        r = self.inst.ctl("keys", "rotate", "carol@example.test")
        now = keys(self.inst, "carol@example.test")
        self.assertEqual(r.stdout.count("\n"), 4)
        self.assertEqual(sorted((s, st) for s, _, st, _ in now
                                if s in {o[0] for o in old}),
                         sorted((s, "retiring") for s, _, _, _ in old))
        fresh = [k for k in now if k[0] not in {o[0] for o in old}]
        self.assertEqual(sorted((a, st) for _, a, st, _ in fresh),
                         [("ed25519-sha256", "active"),
                          ("rsa-sha256", "active")])
        # retiring keys are still published
        recs = "\n".join(dns_lines(self.inst))
        self.assertLess(time.time() - t0, 20, "checks outlasted the grace")
        for s, _, _, _ in old:
            self.assertRegex(recs, s + r'.*p=[A-Za-z0-9]')
        import calendar
        due = {calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
               for v in re.findall(r"revoke_at=(\S+)", r.stdout)}
        self.assertEqual(len(due), 1, r.stdout)
        due = due.pop()
        self.assertAlmostEqual(due - t0, 20, delta=3)
        time.sleep(max(0, due + 1.1 - time.time()))
        # the next sealmailctl run sweeps: revoked, empty p=
        states = {s: st for s, _, st, _ in keys(self.inst,
                                                  "carol@example.test")}
        for s, _, _, _ in old:
            self.assertEqual(states[s], "revoked")
        for line in dns_lines(self.inst):
            if line.split(".", 1)[0] in {o[0] for o in old}:
                self.assertTrue(line.endswith('p="'), line)
        time.sleep(max(0, due + 8 + 1.1 - time.time()))
        # past revoked_publish: gone
        self.assertEqual(sorted(s for s, _, _, _ in
                                keys(self.inst, "carol@example.test")),
                         sorted(s for s, _, _, _ in fresh))

    def test_revoke_one_selector_replaces_it(self):
        self.make()
        old = keys(self.inst, "carol@example.test")
        rsa = [s for s, a, _, _ in old if a == "rsa-sha256"][0]
        ed = [s for s, a, _, _ in old if a == "ed25519-sha256"][0]
        self.inst.ctl("keys", "revoke", "carol@example.test", rsa)
        now = {s: (a, st) for s, a, st, _ in
               keys(self.inst, "carol@example.test")}
        self.assertEqual(now[rsa], ("rsa-sha256", "revoked"))
        self.assertEqual(now[ed], ("ed25519-sha256", "active"))
        self.assertEqual(sorted(v for v in now.values() if v[1] == "active"),
                         [("ed25519-sha256", "active"),
                          ("rsa-sha256", "active")])
        line = [l for l in dns_lines(self.inst) if l.startswith(rsa)][0]
        self.assertEqual(line, '%s._domainkey.example.test IN TXT '
                         '"v=DKIM1; k=rsa; p="' % rsa)

    def test_revoke_of_a_selector_of_another_owner_is_refused(self):
        self.make()
        self.inst.add_user("dave@example.test")
        theirs = keys(self.inst, "dave@example.test")[0][0]
        r = self.inst.ctl("keys", "revoke", "carol@example.test", theirs,
                          check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no key " + theirs, r.stderr)
        self.assertEqual(keys(self.inst, "dave@example.test")[0][2],
                         "active")

    def test_user_del_revokes_every_key(self):
        self.make()
        old = keys(self.inst, "carol@example.test")
        self.inst.ctl("user", "del", "carol@example.test")
        r = self.inst.ctl("keys", "show", "carol@example.test")
        self.assertEqual(sorted(s for s, _, st, _ in keys(
            self.inst, "carol@example.test") if st == "revoked"),
            sorted(s for s, _, _, _ in old))
        self.assertEqual(r.stdout.count("state=revoked"), 2)
        for line in dns_lines(self.inst):
            if line.split(".", 1)[0] in {o[0] for o in old}:
                self.assertTrue(line.endswith('p="'), line)


class KeyDatabaseAtRestTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance()
        self.inst.add_user("erin@example.test")
        self.keys = self.inst.path("keys")
        self.passfile = self.inst.path("etc", "keystore.passphrase")

    def tearDown(self):
        self.inst.close()

    def test_passphrase_file_is_made_root_only(self):
        st = os.stat(self.passfile)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        with open(self.passfile) as f:
            self.assertGreaterEqual(len(f.readline().strip()), 40)

    def test_database_does_not_open_without_the_passphrase(self):
        r = subprocess.run(["db5.3_dump", "-h", self.keys, "keys.db"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(b"6b3a73", r.stdout)
        r = subprocess.run(["db5.3_dump", "-h", self.keys, "-P",
                            "not the password", "keys.db"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(b"6b3a73", r.stdout)
        # what it takes: the password derived from the passphrase
        r = subprocess.run(["db5.3_dump", "-h", self.keys, "-P",
                            db_password(self.inst), "keys.db"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"6b3a73", r.stdout)      # "k:s", a key record

    def test_no_file_holds_a_private_key_or_the_passphrase_in_clear(self):
        # the patterns are right: they are in a PKCS#8 key openssl made
        for alg, pattern in (("RSA", PKCS8_RSA), ("ED25519", PKCS8_ED25519)):
            der = subprocess.run(
                "openssl genpkey -algorithm %s | openssl pkcs8 -topk8 "
                "-nocrypt -outform DER" % alg, shell=True,
                capture_output=True, check=True).stdout
            self.assertIn(pattern, der)
        with open(self.passfile, "rb") as f:
            pw = f.readline().strip()
        self.inst.start("keystore")     # its region files in use too
        for name in os.listdir(self.keys):
            with open(os.path.join(self.keys, name), "rb") as f:
                data = f.read()
            for needle in (PKCS8_RSA, PKCS8_ED25519, b"-----BEGIN", pw):
                self.assertNotIn(needle, data, "%s holds %r" % (name, needle))

    def test_keystore_refuses_a_passphrase_file_others_can_read(self):
        os.chmod(self.passfile, 0o644)
        self.inst.start("keystore", wait=False)
        proc = self.inst.procs["keystore"]
        self.assertEqual(proc.wait(20), 1)
        log = self.inst.log("keystore")
        self.assertIn("refusing to start: passphrase file %s" % self.passfile,
                      log)
        self.assertIn("mode 0644", log)
        self.assertIn("chmod 600", log)
        # and sealmailctl will not use it either
        r = self.inst.ctl("keys", "show", "erin@example.test", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("mode 0644", r.stderr)
        os.chmod(self.passfile, 0o600)
        self.inst.start("keystore")

    def test_wrong_passphrase_refused_and_lost_one_not_replaced(self):
        with open(self.passfile) as f:
            good = f.read()
        with open(self.passfile, "w") as f:
            f.write("an entirely different passphrase\n")
        r = self.inst.ctl("keys", "show", "erin@example.test", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not open the key database", r.stderr)
        os.unlink(self.passfile)
        r = self.inst.ctl("keys", "show", "erin@example.test", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(self.passfile))
        self.inst.start("keystore", wait=False)
        self.assertEqual(self.inst.procs["keystore"].wait(20), 1)
        with open(self.passfile, "w") as f:
            f.write(good)
        os.chmod(self.passfile, 0o600)
        self.assertEqual(len(keys(self.inst, "erin@example.test")), 2)

    def test_sealmailctl_manages_keys_while_the_keystore_runs(self):
        self.inst.start("keystore")
        self.inst.ctl("keys", "rotate", "erin@example.test")
        self.inst.add_user("frank@example.test")
        self.assertEqual(len(keys(self.inst, "erin@example.test")), 4)
        self.assertEqual(len(keys(self.inst, "frank@example.test")), 2)
        self.assertIsNone(self.inst.procs["keystore"].poll())
        self.inst.stop("keystore")
        self.inst.start("keystore")
        self.assertEqual(len(keys(self.inst, "frank@example.test")), 2)


class KeysUsageTest(unittest.TestCase):

    def test_keys_verbs_are_in_the_usage(self):
        r = subprocess.run([binary("sealmailctl")], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        for verb in ("keys show ADDRESS|DOMAIN", "keys rotate ADDRESS|DOMAIN",
                     "keys revoke ADDRESS|DOMAIN [SELECTOR]",
                     "keys dns [DOMAIN]"):
            self.assertIn(verb, r.stderr)


if __name__ == "__main__":
    unittest.main()
