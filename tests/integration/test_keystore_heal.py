"""test_keystore_heal.py - the keystore's root parent keeps the key server
alive: a killed keystore.server is replaced within seconds on the same
listening socket, and a role that keeps dying makes the daemon give up
with a non-zero exit (for systemd's Restart= to take over)."""

import os
import signal
import socket
import time
import unittest

from harness import Instance, descendants, proc_info, wait_for


def server_pid(parent):
    for pid in descendants(parent):
        try:
            if proc_info(pid)[0] == "keystore.server":
                return pid
        except OSError:
            pass
    return None


def greets(port):
    try:
        with socket.create_connection(("127.0.0.1", port), 2) as s:
            return s.makefile("rb").readline().startswith(b"+OK")
    except OSError:
        return False


class KeystoreHealTest(unittest.TestCase):
    def test_killed_server_role_comes_back(self):
        with Instance() as inst:
            inst.start("keystore")
            parent = inst.pid("keystore")
            old = wait_for(lambda: server_pid(parent), 10, "keystore.server")
            t0 = time.time()
            os.kill(old, signal.SIGKILL)
            new = wait_for(lambda: (lambda p: p if p and p != old else None)
                           (server_pid(parent)), 10, "a new keystore.server")
            self.assertTrue(wait_for(lambda: greets(inst.port("keyserver")),
                                     10, "the key server to greet"))
            self.assertLess(time.time() - t0, 5)
            self.assertIsNone(inst.procs["keystore"].poll())
            self.assertNotEqual(new, old)
            self.assertIn("role=keystore.server", inst.log("keystore"))

    def test_a_role_that_keeps_dying_makes_the_daemon_give_up(self):
        with Instance() as inst:
            inst.start("keystore")
            proc = inst.procs["keystore"]
            deadline = time.time() + 60
            while proc.poll() is None and time.time() < deadline:
                pid = server_pid(proc.pid)
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.05)
            self.assertIsNotNone(proc.poll(), "keystore never gave up")
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("giving up", inst.log("keystore"))


if __name__ == "__main__":
    unittest.main()
