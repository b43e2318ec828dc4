"""mda under failure: the real daemon's mda.lmtp role dies, misbehaves
or is asked for too much, and the root parent goes on (helpers in
mdatools.py; attacks over LMTP are in test_mda_hardening.py).

* The root parent answers odd lookups with an error and ends (and
  restarts) a child that breaks the IPC protocol; mda.lmtp killed idle
  or mid-delivery is restarted; a burst of deaths stops mda with a
  non-zero status; sessions are capped ([mda] lmtp_max_sessions).
* No process but the root parent ever holds the user database, before
  and after a restart.
"""

import ctypes
import os
import signal
import socket
import struct
import time
import unittest

from fixtures import IPC_ERR
from harness import Instance, descendants, proc_info, wait_for
from mdatools import (BOB, PLAIN, MdaCase, db_holdings, kill_roles,
                      new_role_pids, role_pid, role_pids)

IPC_PARENT_LOOKUP_RCPT = 101


class SelfHealingTest(MdaCase):
    """mda.lmtp dies; mda does not."""

    def test_killed_while_idle_it_is_restarted(self):
        old = kill_roles(self.inst)
        self.assertEqual(len(old), 4)       # [mda] lmtp_processes
        new_role_pids(self.inst, old)
        self.deliver_ok()
        self.assertParentAlive()

    def test_killed_during_a_delivery_it_is_restarted(self):
        before = self.count(BOB)
        c = self.lmtp()
        c.cmd("LHLO test")
        c.xseal("safe")
        c.cmd("MAIL FROM:<alice@example.test>")
        c.cmd("RCPT TO:<%s>" % BOB)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.sock.sendall(PLAIN[:40])
        time.sleep(0.2)
        old = kill_roles(self.inst)     # the one holding the session too
        self.assertEqual(c.f.readline(), b"")      # the session ended
        c.sock.close()
        start = time.time()
        new_role_pids(self.inst, old)
        self.deliver_ok()
        self.assertLess(time.time() - start, 5)
        self.assertEqual(self.count(BOB), before + 1)  # not the torn one
        self.assertParentAlive()

    def test_connections_made_while_it_restarts_are_served(self):
        kill_roles(self.inst)
        # the socket stays open in the parent: connect at once
        c = self.lmtp()
        replies = c.send("alice@example.test", [BOB], PLAIN, "safe")
        c.close()
        self.assertEqual(replies[0][0], 250)

    def test_no_child_holds_the_user_database_even_after_a_restart(self):
        inst = self.inst
        self.deliver_ok()
        for pid in role_pids(inst):
            self.assertEqual(db_holdings(inst, pid), [])
        old = kill_roles(inst)
        new = new_role_pids(inst, old)
        self.deliver_ok()
        for pid in descendants(inst.pid("mda")):
            self.assertEqual(db_holdings(inst, pid), [],
                             "%s holds the database" % proc_info(pid)[0])
        self.assertTrue(set(new) <= set(descendants(inst.pid("mda"))))
        # ... while the parent still has it (it answers lookups)
        self.assertNotEqual(db_holdings(inst, inst.pid("mda")), [])


def ipc_frame(type_, id_, payload):
    return struct.pack(">III", type_, id_, len(payload)) + payload


def ipc_str(s):
    b = s.encode()
    return b"s" + struct.pack(">I", len(b)) + b + b"\0"


class OneOfSeveralTest(MdaCase):
    """One of the [mda] lmtp_processes dies (its own instance: each role's
    deaths count towards its burst)."""

    def test_one_killed_is_restarted_and_the_others_serve_meanwhile(self):
        pids = role_pids(self.inst)
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: pids[0] not in role_pids(self.inst), 10, "its end")
        for _ in range(4):
            self.deliver_ok()
        now = wait_for(lambda: (lambda p: p if len(p) == 4 else None)(
            role_pids(self.inst)), 10, "four mda.lmtp again")
        self.assertNotIn(pids[0], now)
        self.assertTrue(set(pids[1:]) <= set(now))
        self.assertParentAlive()


class ParentIpcTest(MdaCase):
    """The root parent and a misbehaving mda.lmtp: the test takes a copy
    of mda.lmtp's end of the IPC channel (pidfd_getfd, as root) while
    mda.lmtp is stopped, and speaks for it."""

    def grab_channel(self, lmtp):
        """mda.lmtp's IPC socket: a unix socket of it that the parent
        does not share, created by the parent (SO_PEERCRED)."""
        libc = ctypes.CDLL(None, use_errno=True)
        parent = self.inst.pid("mda")

        def inodes(pid):
            out = {}
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if t.startswith("socket:"):
                    out[t] = int(fd)
            return out
        mine, theirs = inodes(lmtp), inodes(parent)
        pidfd = os.pidfd_open(lmtp)
        try:
            for inode, fd in mine.items():
                if inode in theirs:
                    continue
                n = libc.syscall(438, pidfd, fd, 0)     # pidfd_getfd
                if n < 0:
                    self.skipTest("pidfd_getfd: %s"
                                  % os.strerror(ctypes.get_errno()))
                s = socket.socket(fileno=n)
                cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                    struct.calcsize("3i"))
                if struct.unpack("3i", cred)[0] == parent:
                    return s
                s.detach()
                os.close(n)
        finally:
            os.close(pidfd)
        self.fail("no IPC channel found in mda.lmtp")

    def test_odd_lookups_get_errors_and_bad_messages_end_only_the_child(self):
        lmtp = role_pid(self.inst)
        os.kill(lmtp, signal.SIGSTOP)
        try:
            ch = self.grab_channel(lmtp)
            ch.settimeout(10)
            # a well-formed lookup of an address no peer may send
            ch.sendall(ipc_frame(IPC_PARENT_LOOKUP_RCPT, 77,
                                 ipc_str("a" * 300 + "@example.test")))
            hdr = ch.recv(12, socket.MSG_WAITALL)
            type_, id_, plen = struct.unpack(">III", hdr)
            body = ch.recv(plen, socket.MSG_WAITALL)
            self.assertEqual((type_, id_), (IPC_ERR, 77))
            self.assertIn(b"501 5.1.3", body)
            self.assertParentAlive()
            # a message that breaks the protocol: the child goes
            ch.sendall(ipc_frame(IPC_PARENT_LOOKUP_RCPT, 78,
                                 b"u" + struct.pack(">I", 5)))
            ch.close()
        finally:
            try:
                os.kill(lmtp, signal.SIGCONT)
            except ProcessLookupError:
                pass
        wait_for(lambda: lmtp not in role_pids(self.inst) and
                 len(role_pids(self.inst)) == 4, 10, "its replacement")
        self.assertIn("mda.lmtp sent a malformed message",
                      self.inst.log("mda"))
        self.deliver_ok()
        self.assertParentAlive()


class BurstTest(unittest.TestCase):
    """A role that keeps dying: mda gives up, with a non-zero status."""

    def test_a_burst_of_deaths_stops_mda_non_zero(self):
        with Instance() as inst:
            inst.start("mda")
            proc = inst.procs["mda"]
            for _ in range(5):
                if proc.poll() is not None:
                    break
                wait_for(lambda: role_pids(inst), 10, "mda.lmtp")
                old = kill_roles(inst)
                wait_for(lambda: proc.poll() is not None or
                         (len(role_pids(inst)) == len(old) and
                          not set(role_pids(inst)) & set(old)), 10,
                         "every one restarted, or the end")
            proc.wait(15)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("giving up", inst.log("mda"))


class SessionCapTest(MdaCase):
    CONF = {"mda": {"lmtp_max_sessions": "3"}}

    def test_sessions_beyond_the_cap_get_421_and_are_closed(self):
        path = self.inst.path("run", "lmtp.sock")
        held = [self.lmtp() for _ in range(3)]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rb")
        line = f.readline()
        self.assertTrue(line.startswith(b"421 4.3.2"), line)
        self.assertEqual(f.readline(), b"")
        s.close()
        held.pop().close()
        time.sleep(0.3)
        self.deliver_ok()
        for c in held:
            c.close()
        self.assertParentAlive()


if __name__ == "__main__":
    unittest.main()
