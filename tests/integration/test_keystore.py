"""The key server protocol of DESIGN.md, spoken by a raw TCP client to
the real keystore daemon."""

import socket
import unittest

from harness import Instance


class KeyServerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance()
        cls.inst.start("keystore")

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

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
