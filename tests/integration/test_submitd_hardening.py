"""submitd's root parent trusts neither of its unprivileged roles, and
keeps them alive.

* The client's address is what the parent reads from the socket, whatever
  submitd.smtp says: the Received header, the queue's envelope, the log
  and the per-address lockout use it.
* The header's From:/Sender: facts on which the parent decides come from
  the submitd.header role, not from the session process.
* A role that dies is restarted on the same listeners; the parent keeps
  running; a malformed message from a role ends that role only; a
  session that ends while its message is at the queue abandons the
  hand-off; a burst of deaths stops the daemon with a non-zero status.

A subverted role is played by submitd_liar.c, an LD_PRELOAD library that
changes what submitd.smtp is told by the C library (the address accept()
returns, the bytes pread() reads back) or the type of a message a role
sends; submitd's code is the real one.
"""

import base64
import os
import signal
import smtplib
import socket
import subprocess
import time
import unittest

from harness import (DOMAIN, Instance, binary, descendants, proc_info,
                     wait_for)
from fixtures import FakeQueue, HoldingQueue
from test_submitd import PASSWORD, login, message

HERE = os.path.dirname(os.path.abspath(__file__))
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN


def build_liar(directory):
    """Compile submitd_liar.c into directory; its path."""
    out = os.path.join(directory, "submitd_liar.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", out,
                    os.path.join(HERE, "submitd_liar.c"), "-ldl"],
                   check=True, capture_output=True, timeout=120)
    return out


class LiarInstance(Instance):
    """An instance whose submitd roles run with submitd_liar.so."""

    liar = None

    def env(self, pam=False):
        e = super().env(pam)
        if pam and self.liar:
            e["LD_PRELOAD"] = e.get("LD_PRELOAD", "") + ":" + self.liar
            e["SUBMITD_LIAR"] = "1"
        return e


def role_pid(inst, role, other_than=None, timeout=10):
    """The pid of submitd's role process once it dropped root (and is not
    other_than)."""
    def find():
        try:
            kids = descendants(inst.pid("submitd"))
        except OSError:
            return None
        for pid in kids:
            try:
                comm, uids, _ = proc_info(pid)
            except OSError:
                continue
            if comm == role and uids[1] != 0 and pid != other_than:
                return pid
        return None
    return wait_for(find, timeout, "%s to run" % role)


def alive(inst):
    return inst.procs["submitd"].poll() is None


class HardeningBase(unittest.TestCase):
    EXTRA = {"submitd": {"auth_fail_max": "3", "auth_fail_window": "60s"}}
    LIAR = False
    QUEUE = FakeQueue

    def setUp(self):
        if not os.path.exists(binary("submitd")):
            self.skipTest("submitd not built")
        self.inst = LiarInstance(extra_conf=self.EXTRA)
        if self.LIAR:
            self.inst.liar = build_liar(self.inst.prefix)
        self.queue = None
        if self.QUEUE is not None:
            self.queue = self.QUEUE(self.inst.path("run", "queue.sock"))
        for u in ("alice", "bob"):
            self.inst.add_user("%s@%s" % (u, DOMAIN), PASSWORD)
        self.inst.start("submitd")

    def tearDown(self):
        self.inst.close()
        if self.queue is not None:
            self.queue.close()

    def connect(self, source="127.0.0.1", user=None, port="submission"):
        s = smtplib.SMTP("127.0.0.1", self.inst.port(port), timeout=30,
                         source_address=(source, 0))
        s.ehlo("client.example.test")
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.test")
        if user is not None:
            code, text = login(s, user, PASSWORD)
            self.assertEqual(code, 235, text)
        return s

    def submit(self, data=None, user=ALICE, source="127.0.0.1"):
        """One message from user to bob; the final (code, text)."""
        s = self.connect(source=source, user=user)
        code, text = s.mail(user)
        self.assertEqual(code, 250, text)
        code, text = s.rcpt(BOB)
        self.assertEqual(code, 250, text)
        reply = s.data(data if data is not None else
                       message(user, BOB).encode())
        s.quit()
        return reply

    def send_message(self):
        """A session that sent a whole message from alice to bob, its
        reply not yet read."""
        s = self.connect(user=ALICE)
        s.mail(ALICE)
        s.rcpt(BOB)
        code, _ = s.docmd("DATA")
        self.assertEqual(code, 354)
        s.send(message(ALICE, BOB).encode() + b"\r\n.\r\n")
        return s

    def submit_when_ready(self, timeout=10):
        """A message goes through once submitd serves again."""
        end = time.time() + timeout
        while True:
            try:
                code, text = self.submit()
                if code == 250:
                    return code, text
            except (OSError, smtplib.SMTPException):
                pass
            if time.time() > end:
                self.fail("submitd did not serve again within %ds:\n%s"
                          % (timeout, self.inst.log("submitd")[-3000:]))
            time.sleep(0.1)


class ClientAddressTest(HardeningBase):
    """submitd.smtp claims 192.0.2.N for every connection."""
    LIAR = True

    def test_received_and_envelope_carry_the_address_the_parent_read(self):
        n0 = len(self.queue.messages)
        code, text = self.submit(source="127.0.0.6")
        self.assertEqual(code, 250, text)
        m = self.queue.wait(n0 + 1)[n0]
        head = m["data"].split(b"\r\n\r\n", 1)[0].decode()
        self.assertTrue(head.startswith("Received: from client.example.test"
                                        " ([127.0.0.6])"), head)
        self.assertNotIn("192.0.2.", head)
        self.assertEqual(m["peer"], "127.0.0.6")
        log = self.inst.log("submitd")
        self.assertIn("auth client=127.0.0.6 user=%s result=ok" % ALICE, log)
        self.assertRegex(log, r"id=%s user=%s .* client=127\.0\.0\.6 queued"
                         % (m["id"], ALICE))
        # the liar was at work
        self.assertIn("submitd_liar: accept4 reports 192.0.2.x", log)

    def test_a_child_claiming_new_addresses_cannot_escape_the_lockout(self):
        for i in range(3):
            s = self.connect(source="127.0.0.7")
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                login(s, BOB, "guess%d" % i)
            s.close()
        s = self.connect(source="127.0.0.7")
        with self.assertRaises(smtplib.SMTPException) as cm:
            login(s, BOB, PASSWORD)
        self.assertIn("421", str(cm.exception))
        s.close()
        log = self.inst.log("submitd")
        self.assertIn("client=127.0.0.7 barred", log)
        self.assertIn("client=127.0.0.7 refused: barred", log)
        self.assertNotRegex(log, r"auth client=192\.0\.2\.")
        # another address is not barred
        s = self.connect(source="127.0.0.8", user=BOB)
        s.quit()


class HeaderRoleTest(HardeningBase):
    """submitd.smtp reads "zzzzz@" in a message as "alice@"."""
    LIAR = True

    def test_the_decision_uses_the_header_roles_reading(self):
        n0 = len(self.queue.messages)
        data = (b"From: Z <zzzzz@example.test>\r\nTo: <bob@example.test>\r\n"
                b"Subject: forged\r\n\r\nbody\r\n")
        code, text = self.submit(data)
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.1", text)
        self.assertIn(b"zzzzz@example.test", text)
        # the same for Sender:
        data = (b"From: <alice@example.test>\r\n"
                b"Sender: <zzzzz@example.test>\r\n\r\nbody\r\n")
        code, text = self.submit(data)
        self.assertEqual(code, 550, text)
        self.assertIn(b"Sender: address <zzzzz@example.test>", text)
        self.assertEqual(len(self.queue.messages), n0)
        self.assertIn("submitd_liar: pread reads zzzzz@ as alice@",
                      self.inst.log("submitd"))
        # an honest message passes
        code, text = self.submit()
        self.assertEqual(code, 250, text)

    def test_killed_header_role_is_restarted_and_messages_go_on(self):
        pid = role_pid(self.inst, "submitd.header")
        os.kill(pid, signal.SIGKILL)
        self.submit_when_ready()
        new = role_pid(self.inst, "submitd.header", other_than=pid)
        self.assertNotEqual(new, pid)
        self.assertTrue(alive(self.inst))
        self.assertIn("role=submitd.header pid=%d died" % pid,
                      self.inst.log("submitd"))

    def test_a_message_at_a_header_role_that_dies_gets_451(self):
        pid = role_pid(self.inst, "submitd.header")
        os.kill(pid, signal.SIGSTOP)
        s = self.send_message()
        time.sleep(0.5)		# the parent asked the stopped role
        os.kill(pid, signal.SIGKILL)
        code, text = s.getreply()
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.3.0", text)
        s.quit()
        self.submit_when_ready()

    def test_malformed_answers_of_the_header_role_end_only_that_role(self):
        for marker in ("garble-header-type", "garble-header-fields"):
            pid = role_pid(self.inst, "submitd.header")
            # the answer carries the From: address, not the display name
            data = ("From: %s <alice@example.test>\r\n\r\nbody\r\n"
                    % marker).encode()
            code, text = self.submit(data)
            self.assertEqual(code, 250, (marker, text))
            data = ("From: <%s@example.test>\r\n\r\nbody\r\n"
                    % marker).encode()
            code, text = self.submit(data)
            self.assertEqual(code, 451, (marker, text))
            self.assertTrue(alive(self.inst))
            role_pid(self.inst, "submitd.header", other_than=pid)
            self.submit_when_ready()
        log = self.inst.log("submitd")
        self.assertIn("submitd_liar: garble-header-fields", log)
        self.assertIn("submitd.header sent an unexpected message type", log)
        self.assertIn("submitd.header sent a malformed IPC_ERR", log)


class MalformedRequestTest(HardeningBase):
    """submitd.smtp sends garbage when an AUTH names garble-smtp-*."""
    LIAR = True

    def test_a_malformed_request_ends_only_the_child(self):
        for marker in ("garble-smtp-type", "garble-smtp-fields",
                       "garble-smtp-frame"):
            pid = role_pid(self.inst, "submitd.smtp")
            s = self.connect()
            cred = base64.b64encode(("\0%s@example.test\0pw" % marker)
                                    .encode()).decode()
            with self.assertRaises((smtplib.SMTPServerDisconnected,
                                    OSError)):
                code, text = s.docmd("AUTH", "PLAIN " + cred)
                # a reply before the kill would be a failure
                self.fail("AUTH answered %d %r" % (code, text))
            s.close()
            self.assertTrue(alive(self.inst), self.inst.log("submitd"))
            role_pid(self.inst, "submitd.smtp", other_than=pid)
            self.submit_when_ready()
        log = self.inst.log("submitd")
        self.assertIn("submitd_liar: garble-smtp-frame", log)
        self.assertIn("submitd.smtp sent an unexpected message type", log)
        self.assertIn("submitd.smtp sent a malformed IPC_PARENT_SENDER_OK",
                      log)


class RestartTest(HardeningBase):

    def test_killed_smtp_role_while_idle_is_restarted_on_both_ports(self):
        pid = role_pid(self.inst, "submitd.smtp")
        parent = self.inst.pid("submitd")
        os.kill(pid, signal.SIGKILL)
        t0 = time.time()
        self.submit_when_ready(timeout=5)
        self.assertLess(time.time() - t0, 5)
        role_pid(self.inst, "submitd.smtp", other_than=pid)
        self.assertTrue(alive(self.inst))
        self.assertEqual(self.inst.pid("submitd"), parent)
        s = smtplib.SMTP_SSL("127.0.0.1", self.inst.port("submissions"),
                             context=self.inst.client_tls_context(),
                             timeout=30)
        login(s, ALICE, PASSWORD)
        s.quit()
        self.assertIn("role=submitd.smtp pid=%d died signal=9" % pid,
                      self.inst.log("submitd"))

    def test_killed_smtp_role_mid_transaction(self):
        n0 = len(self.queue.messages)
        pid = role_pid(self.inst, "submitd.smtp")
        s = self.connect(user=ALICE)
        self.assertEqual(s.mail(ALICE)[0], 250)
        self.assertEqual(s.rcpt(BOB)[0], 250)
        os.kill(pid, signal.SIGKILL)
        with self.assertRaises((smtplib.SMTPServerDisconnected, OSError)):
            s.data(message(ALICE, BOB).encode())
        s.close()
        self.submit_when_ready()
        self.assertTrue(alive(self.inst))
        # only the message of the new session was queued
        self.assertEqual(len(self.queue.wait(n0 + 1)), n0 + 1)
        self.assertIn("submitd.smtp gone: 1 sessions ended with it",
                      self.inst.log("submitd"))

    def test_restarted_roles_are_unprivileged_chrooted_and_hold_no_database(
            self):
        for role in ("submitd.smtp", "submitd.header"):
            pid = role_pid(self.inst, role)
            os.kill(pid, signal.SIGKILL)
            role_pid(self.inst, role, other_than=pid)
        self.submit_when_ready()
        db_dir = os.path.realpath(self.inst.path("db"))
        uid = self.inst.users["sealmail"].pw_uid
        for role in ("submitd.smtp", "submitd.header"):
            pid = role_pid(self.inst, role)
            comm, uids, root = proc_info(pid)
            self.assertEqual(uids, [uid] * 3, role)
            self.assertEqual(os.path.realpath(root),
                             os.path.realpath(self.inst.path("empty")), role)
            held = []
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    held.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                except OSError:
                    pass
            with open("/proc/%d/maps" % pid) as f:
                held += [line.split(None, 5)[5].strip() for line in f
                         if len(line.split(None, 5)) == 6]
            bad = [p for p in held if p.startswith(db_dir + "/") or
                   os.path.basename(p).startswith("__db.") or
                   p.endswith(".db")]
            self.assertEqual(bad, [], role)

    def test_a_burst_of_deaths_stops_submitd_with_a_non_zero_status(self):
        proc = self.inst.procs["submitd"]
        pid = None
        for _ in range(5):
            try:
                pid = role_pid(self.inst, "submitd.smtp", other_than=pid)
            except TimeoutError:
                break
            os.kill(pid, signal.SIGKILL)
        proc.wait(20)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("role=submitd.smtp died signal=9, 5 times",
                      self.inst.log("submitd"))


class AbandonTest(HardeningBase):
    """The queue holds the message without committing."""
    QUEUE = None

    def start_message(self):
        """A session that sent a whole message; the parent is at the
        queue with it."""
        s = self.send_message()
        self.assertTrue(self.queue.taken.wait(10), "the hand-off")
        return s

    def test_a_client_gone_before_the_queue_answered_abandons_it(self):
        self.queue = HoldingQueue(self.inst.path("run", "queue.sock"))
        s = self.start_message()
        s.sock.shutdown(socket.SHUT_RDWR)
        s.close()
        self.assertTrue(self.queue.eof.wait(5),
                        "submitd did not shut its side of the hand-off")
        qid = self.queue.ids[0]
        wait_for(lambda: "id=%s user=%s not queued: the session ended"
                 % (qid, ALICE) in self.inst.log("submitd"), 5,
                 "the log line")
        self.submit_when_ready_without_queue()

    def test_a_killed_child_abandons_the_hand_off_and_a_late_commit_is_logged(
            self):
        self.queue = HoldingQueue(self.inst.path("run", "queue.sock"),
                                  commit_after_eof=True)
        s = self.start_message()
        os.kill(role_pid(self.inst, "submitd.smtp"), signal.SIGKILL)
        self.assertTrue(self.queue.eof.wait(5),
                        "submitd did not shut its side of the hand-off")
        qid = self.queue.ids[0]
        wait_for(lambda: "id=%s user=%s queued, but the session ended "
                 "before it was told" % (qid, ALICE)
                 in self.inst.log("submitd"), 5, "the log line")
        with self.assertRaises((smtplib.SMTPServerDisconnected, OSError)):
            s.getreply()
        s.close()
        self.assertTrue(alive(self.inst))

    def submit_when_ready_without_queue(self):
        s = self.connect(user=ALICE)
        self.assertEqual(s.mail(ALICE)[0], 250)
        s.quit()


if __name__ == "__main__":
    unittest.main()
