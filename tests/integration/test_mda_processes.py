"""mda's LMTP server as several processes ([mda] lmtp_processes): the
real daemon, raw LMTP clients on its socket.

- connections made together go to different mda.lmtp processes, so
  their deliveries overlap;
- the processes count their sessions together: lmtp_max_sessions is a
  cap over all of them (test_mda_heal.SessionCapTest holds it at 3
  with 4 processes);
- one queue ID handed over on two connections at once (smtpd gave up
  on one and retried on another) is stored once: the delivery record
  is held against the other process.
"""

import os
import re
import subprocess
import threading
import unittest

from harness import Instance, binary, wait_for
from mdatools import BOB, CAROL, PLAIN, LMTPClient, MdaCase, dotstuff, new_qid, \
    role_pids


def serving_pid(client):
    """The pid of the process holding the server end of client's
    connection (ss lists each unix socket with its peer's inode)."""
    ino = os.fstat(client.sock.fileno()).st_ino
    out = subprocess.run(["ss", "-xpn"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        # Netid State Recv-Q Send-Q Local Port Peer Port Process
        if len(f) >= 9 and f[7] == str(ino):
            m = re.search(r"pid=(\d+)", line)
            if m:
                return int(m.group(1))
    return None


class ProcessesTest(MdaCase):

    def test_there_are_lmtp_processes_of_the_configured_number(self):
        self.assertEqual(len(role_pids(self.inst)), 4)

    def test_connections_made_together_are_served_by_different_processes(self):
        clients = [self.lmtp() for _ in range(4)]
        try:
            pids = [wait_for(lambda c=c: serving_pid(c), 5, "its server")
                    for c in clients]
            self.assertEqual(len(set(pids)), 4, pids)
            self.assertTrue(set(pids) <= set(role_pids(self.inst)))
            for c in clients:       # and each of them delivers
                r = c.send("alice@example.test", [BOB], PLAIN, "safe")
                self.assertEqual([x[0] for x in r], [250], r)
        finally:
            for c in clients:
                c.close()

    def test_one_queue_id_on_two_connections_at_once_is_stored_once(self):
        # big enough that both deliveries are writing at the same time
        body = b"".join(b"line %08d of a large message\r\n" % i
                        for i in range(200000))
        msg = PLAIN.replace(b"Hello Bob,\r\n", b"Hello Bob,\r\n" + body)
        data = dotstuff(msg)
        for _ in range(3):
            qid = new_qid()
            before = self.count(BOB)
            clients = [self.lmtp() for _ in range(2)]
            self.assertEqual(len({serving_pid(c) for c in clients}), 2)
            for c in clients:
                c.cmd("LHLO test")
                self.assertEqual(c.xseal("safe", qid)[0], 250)
                self.assertEqual(c.cmd("MAIL FROM:<a@example.test>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.sock.sendall(data[:-3])         # all but the final dot
            replies = []

            def finish(c):
                c.sock.sendall(data[-3:])
                replies.append(c.reply()[0])
            threads = [threading.Thread(target=finish, args=(c,))
                       for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for c in clients:
                c.close()
            self.assertEqual(replies, [250, 250])
            self.assertEqual(self.count(BOB), before + 1,
                             "queue ID %s stored twice" % qid)

    def test_refused_unsafe_deliveries_leave_no_descriptor_open(self):
        self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=no")
        try:
            c = self.lmtp()
            pid = serving_pid(c)
            before = len(os.listdir("/proc/%d/fd" % pid))
            for _ in range(20):
                r = c.send("alice@example.test", [CAROL], PLAIN, "unsafe")
                self.assertEqual(r[0][0], 550, r)
            self.assertEqual(len(os.listdir("/proc/%d/fd" % pid)), before)
            c.close()
        finally:
            self.inst.ctl("user", "set", CAROL, "unsafe_mailbox=yes")


class OneProcessTest(MdaCase):
    CONF = {"mda": {"lmtp_processes": "1"}}

    def test_one_process_serves_every_connection(self):
        clients = [self.lmtp() for _ in range(3)]
        try:
            pids = {serving_pid(c) for c in clients}
            self.assertEqual(pids, set(role_pids(self.inst)))
            self.assertEqual(len(pids), 1)
            for c in clients:
                r = c.send("alice@example.test", [BOB], PLAIN, "safe")
                self.assertEqual([x[0] for x in r], [250], r)
        finally:
            for c in clients:
                c.close()


class BadCountTest(unittest.TestCase):

    def test_a_count_out_of_range_stops_mda_with_a_message(self):
        for n in ("0", "33"):
            with Instance(extra_conf={"mda": {"lmtp_processes": n}}) as inst:
                r = subprocess.run([binary("mda"), "-F", "-c",
                                    inst.conf], capture_output=True,
                                   text=True, timeout=20)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("lmtp_processes must be 1 to 32",
                              r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
