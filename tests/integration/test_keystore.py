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


if __name__ == "__main__":
    unittest.main()
