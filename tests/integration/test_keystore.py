"""The key server protocol (docs/interfaces.md), spoken by a raw TCP client to
the real keystore daemon: one "+OK <selector> <algorithm> <key>" line per
live key, "+OK <selector> <algorithm> revoked" for a revoked one, a "."
line after them (keystore/keyserver.c), "-ERR" alone for an address
without keys, whether or not it is a user."""

import base64
import socket
import statistics
import time
import unittest

from fixtures import InstanceCase
from harness import Instance
from kstools import dns_records, key_answer, keyserver


class KeyServerTest(InstanceCase):

    USERS = ("alice@example.test", "nokeys@example.test")
    PASSWORD = None
    DAEMONS = ("keystore",)

    @classmethod
    def prepare(cls):
        cls.inst.ctl("keys", "revoke", "nokeys@example.test")

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("keyserver")), 5)
        f = s.makefile("rwb")
        return s, f

    def cmd(self, f, line):
        f.write(line + b"\r\n")
        f.flush()
        return f.readline().rstrip(b"\r\n")

    def test_greeting_names_host(self):
        s, f = self.connect()
        self.assertEqual(f.readline(), b"+OK mx.example.test keystore\r\n")
        self.assertEqual(self.cmd(f, b"QUIT"), b"+OK bye")
        self.assertEqual(f.readline(), b"")
        s.close()

    def test_key_for_address_without_key_is_err(self):
        s, f = self.connect()
        f.readline()
        self.assertEqual(self.cmd(f, b"KEY nobody@example.test"),
                         b"-ERR no key for this address")
        s.close()

    def test_malformed_commands_get_err_and_session_continues(self):
        s, f = self.connect()
        f.readline()
        self.assertEqual(self.cmd(f, b"HELO x"), b"-ERR unknown command")
        self.assertEqual(self.cmd(f, b"KEY not-an-address"),
                         b"-ERR malformed address")
        self.assertEqual(self.cmd(f, b"KEY a..b@example.test"),
                         b"-ERR malformed address")
        self.assertEqual(self.cmd(f, b"QUIT"), b"+OK bye")
        s.close()

    def test_overlong_line_ends_session(self):
        s, f = self.connect()
        f.readline()
        f.write(b"KEY " + b"a" * 5000 + b"\r\n")
        f.flush()
        self.assertEqual(f.readline(), b"-ERR line too long\r\n")
        try:
            rest = f.readline()
        except ConnectionResetError:
            rest = b""      # closed with the rest of the line unread
        self.assertEqual(rest, b"")
        s.close()

    def test_key_lists_each_live_key_then_a_dot_line(self):
        s, f, _ = keyserver(self.inst)
        with s:
            lines = key_answer(f, "alice@example.test")
        published = dns_records(self.inst)
        self.assertEqual(len(lines), 2)
        algs = set()
        for line in lines:
            ok, sel, alg, key = line.split(" ")
            algs.add(alg)
            rec = published[("%s._domainkey.example.test." % sel).encode()]
            self.assertTrue(rec.endswith(b"p=" + key.encode()), line)
            raw = base64.b64decode(key)
            self.assertEqual(len(raw), 294 if alg == "rsa-sha256" else 32)
        self.assertEqual(algs, {"rsa-sha256", "ed25519-sha256"})

    def test_domain_part_is_case_insensitive(self):
        s, f, _ = keyserver(self.inst)
        with s:
            self.assertEqual(key_answer(f, "alice@EXAMPLE.test"),
                             key_answer(f, "alice@example.test"))

    def test_revoked_keys_are_reported_as_revoked(self):
        s, f, _ = keyserver(self.inst)
        with s:
            lines = key_answer(f, "nokeys@example.test")
        revoked = [l for l in lines if l.endswith(" revoked")]
        live = [l for l in lines if not l.endswith(" revoked")]
        self.assertEqual(len(revoked), 2)
        self.assertEqual(len(live), 2)      # the keys that replaced them
        for l in revoked:
            self.assertRegex(l, r"^\+OK s[a-z2-7]{12} "
                             r"(rsa|ed25519)-sha256 revoked$")

    def test_unknown_and_keyless_addresses_look_the_same(self):
        s, f, _ = keyserver(self.inst)
        with s:
            for addr in ("ghost@example.test", "alice@nowhere.test",
                         "postmaster@example.test"):
                self.assertEqual(key_answer(f, addr),
                                 ["-ERR no key for this address"])

    def test_answers_take_the_same_time_for_users_and_strangers(self):
        s, f, _ = keyserver(self.inst)
        times = {"alice@example.test": [], "ghost@example.test": []}
        with s:
            for _ in range(6):
                for addr in times:
                    t = time.monotonic()
                    key_answer(f, addr)
                    times[addr].append(time.monotonic() - t)
        for addr, ts in times.items():
            self.assertGreaterEqual(min(ts), 0.024, addr)
        diff = abs(statistics.median(times["alice@example.test"]) -
                   statistics.median(times["ghost@example.test"]))
        self.assertLess(diff, 0.015, times)

    def test_pipelined_commands_answered_in_order(self):
        s, f = self.connect()
        f.readline()
        f.write(b"KEY a@example.test\r\nBOGUS\r\nKEY b@example.test\r\nQUIT\r\n")
        f.flush()
        self.assertEqual([f.readline() for _ in range(4)],
                         [b"-ERR no key for this address\r\n",
                          b"-ERR unknown command\r\n",
                          b"-ERR no key for this address\r\n",
                          b"+OK bye\r\n"])
        s.close()


class KeyServerLimitsTest(unittest.TestCase):

    def test_queries_per_client_address_are_rate_limited(self):
        # 60 KEY queries a minute (windows of one clock minute: the run
        # may straddle two, hence up to 120 before the refusal)
        with Instance() as inst:
            inst.start("keystore")
            s, f, _ = keyserver(inst)
            n = 0
            try:
                while n < 125:
                    if n and n % 45 == 0:   # 50 commands a connection
                        s.close()
                        s, f, _ = keyserver(inst)
                    a = key_answer(f, "x%d@example.test" % n)
                    if a == ["-ERR rate limit exceeded, try later"]:
                        break
                    self.assertEqual(a, ["-ERR no key for this address"])
                    n += 1
            finally:
                s.close()
            self.assertGreaterEqual(n, 60)
            self.assertLessEqual(n, 120)
            self.assertIn("client=127.0.0.1 rate limited", inst.log("keystore"))

    def test_forward_greeting_sends_the_client_elsewhere(self):
        with Instance(extra_conf={"keystore": {
                "forward": "keys.example.org:4025"}}) as inst:
            inst.start("keystore")
            s, f, greeting = keyserver(inst)
            with s:
                self.assertEqual(greeting, b"-FW keys.example.org:4025\r\n")
                self.assertEqual(f.readline(), b"")


class KeystoreDaemonTest(unittest.TestCase):
    """The daemon helpers every Sealmail daemon shares, seen from outside."""

    def test_sighup_with_bad_config_keeps_running_and_sigterm_stops(self):
        import os
        import signal
        import time
        from harness import port_open
        with Instance() as inst:
            inst.start("keystore")
            pid = inst.pid("keystore")
            with open(inst.conf, "a") as f:
                f.write("[keystore]\nbogus_key = 1\n")
            os.kill(pid, signal.SIGHUP)
            time.sleep(0.5)
            self.assertIsNone(inst.procs["keystore"].poll())
            self.assertTrue(port_open(inst.port("keyserver")))
            self.assertIn("bogus_key: unknown key", inst.log("keystore"))
            self.assertIn("keeping the running config", inst.log("keystore"))
            self.assertEqual(inst.stop("keystore"), 0)
            self.assertFalse(os.path.exists(inst.pidfile("keystore")))
            self.assertFalse(port_open(inst.port("keyserver")))

    def test_bad_config_is_refused_at_start_naming_file_line_key(self):
        import subprocess
        from harness import binary
        with Instance() as inst:
            with open(inst.conf, "a") as f:
                f.write("[smtpd]\nmax_message_size = lots\n")
            r = subprocess.run([binary("keystore"), "-d", "-c", inst.conf],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"sealmail.conf:\d+: max_message_size: "
                             r"expected a size")

    def test_second_instance_refused_while_first_runs(self):
        import subprocess
        from harness import binary
        with Instance() as inst:
            inst.start("keystore")
            r = subprocess.run([binary("keystore"), "-d", "-c", inst.conf],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
