"""test_smtpd_heal.py - smtpd heals itself: kill -9 of any role (the
receiver, the queue, a delivery process), while idle and while mail
flows from several clients at once, leaves the root parent running; the
role comes back within seconds with no command, and every message that
got a 250 is delivered.  A role that keeps dying makes smtpd give up with
a non-zero exit, for systemd's Restart= to take over.

Each scenario runs against the real mda (delivering into the Maildir,
where every message must land exactly once) and against the recording
LMTP server (fakemda.FakeMda).  A few scenarios need the recording
server's control over timing (holding a transaction while its delivery
process is killed) and run against it only.
"""

import collections
import os
import re
import signal
import smtplib
import socket
import threading
import time
import unittest

import test_smtpd
from harness import descendants, port_open, proc_info, wait_for

BOB = test_smtpd.BOB
ROLES = ("smtpd.receiver", "smtpd.queue", "smtpd.delivery")
# the Subject, which mda leaves alone (the body of unsafe mail it may
# re-encode)
TOKEN = re.compile(rb"\r\nSubject: heal (\w+)\r\n")


def socket_inodes(table, where):
    """Inodes of the listening sockets bound to where: a path in
    /proc/net/unix, a port on 127.0.0.1 in /proc/net/tcp."""
    out = set()
    with open(table) as f:
        next(f)
        for line in f:
            p = line.split()
            if table.endswith("unix") and len(p) >= 8 and p[7] == where:
                out.add(int(p[6]))
            elif table.endswith("tcp") and p[1] == "0100007F:%04X" % where \
                    and p[3] == "0A":
                out.add(int(p[9]))
    return out


class HealTest(test_smtpd.SmtpdTest):
    real_mda = False

    def start(self):
        if self.real_mda:
            if not self.inst.built("mda"):
                self.skipTest("mda is not built")
            self.mda.close()
            self.inst.start("mda")
            if not test_smtpd.mda_offers_xseal(
                    self.inst.path("run", "lmtp.sock")):
                self.fail("mda does not offer XSEAL")
        self.inst.start("smtpd")

    # -- looking at smtpd -----------------------------------------------

    def pids(self, role):
        out = []
        for p in descendants(self.inst.pid("smtpd")):
            try:
                if proc_info(p)[0] == role:
                    out.append(p)
            except OSError:
                pass
        return sorted(out)

    def kill_role(self, role):
        """kill -9 one process of role; returns its pid."""
        pid = wait_for(lambda: self.pids(role), 5, role)[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_back(self, role, old):
        """The role runs again in a process other than old."""
        n = 4 if role == "smtpd.delivery" else 1

        def back():
            p = self.pids(role)
            return p if len(p) == n and old not in p else None
        wait_for(back, 5, "%s to come back" % role)

    def assert_parent_runs(self):
        self.assertIsNone(self.inst.procs["smtpd"].poll(),
                          self.inst.log("smtpd")[-3000:])

    # -- mail ----------------------------------------------------------

    @staticmethod
    def message(token):
        return ("From: someone@example.net\r\nTo: %s\r\n"
                "Subject: heal %s\r\n\r\ntoken=%s\r\n" % (BOB, token, token))

    def send(self, token):
        """One message in its own session: the SMTP code of its DATA, or
        0 when the session broke."""
        try:
            with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                              timeout=20) as s:
                s.ehlo("client.example.net")
                s.mail("someone@example.net")
                code, _ = s.rcpt(BOB)
                if code != 250:
                    return code
                code, _ = s.data(self.message(token))
                return code
        except smtplib.SMTPResponseException as e:
            return e.smtp_code
        except (OSError, smtplib.SMTPException):
            return 0

    def send_until_250(self, token, timeout=5):
        """Service resumes without a command: within timeout seconds."""
        end = time.time() + timeout
        while True:
            code = self.send(token)
            if code == 250 or time.time() > end:
                return code
            time.sleep(0.1)

    def delivered(self):
        """token -> how many copies were delivered."""
        counts = collections.Counter()
        if self.real_mda:
            for folder in ("", "Unsafe"):
                for path in self.inst.messages(BOB, folder):
                    try:
                        with open(path, "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    counts.update(set(TOKEN.findall(data)))
        else:
            for m in list(self.mda.messages):
                counts.update(set(TOKEN.findall(m[2])))
        return {k.decode(): v for k, v in counts.items()}

    def assert_delivered(self, tokens, timeout=20):
        # The real mda keeps a delivery record per queue ID and user
        # (XSEAL ID=), so a message retried after a kill lands exactly
        # once; the recording server keeps whatever it is sent, so there
        # a retry after a kill may show twice.
        def missing():
            got = self.delivered()
            return [t for t in tokens if got.get(t, 0) < 1]
        try:
            wait_for(lambda: not missing(), timeout, "every 250'd message")
        except TimeoutError:
            self.fail("not delivered: %s\n%s" % (
                missing(), self.inst.log("smtpd")[-4000:]))
        wait_for(lambda: self.queue_ids() == [], timeout, "queue to empty")
        if self.real_mda:
            got = self.delivered()
            self.assertEqual({t: got[t] for t in tokens if got[t] != 1}, {},
                             "delivered more than once")


class Scenarios:
    """kill -9 of each role, idle and under load (mixed into a backend)."""

    def idle(self, role):
        self.assertEqual(self.send_until_250("before"), 250)
        self.assert_delivered(["before"])
        old = self.kill_role(role)
        t0 = time.time()
        self.wait_back(role, old)
        self.assertEqual(self.send_until_250("after"), 250)
        self.assert_delivered(["after"])
        self.assertLess(time.time() - t0, 15)
        self.assert_parent_runs()
        self.assertIn("role=%s restarted" % role, self.inst.log("smtpd"))

    def test_receiver_killed_while_idle_comes_back(self):
        self.idle("smtpd.receiver")

    def test_queue_killed_while_idle_comes_back(self):
        self.idle("smtpd.queue")

    def test_delivery_killed_while_idle_comes_back(self):
        self.idle("smtpd.delivery")

    def flow(self, role, nthreads=4, per_thread=20):
        """Clients keep sending from several threads; the role is killed
        after the first few messages were accepted."""
        results = []            # (token, code, time)
        lock = threading.Lock()
        started = threading.Event()

        def client(k):
            for i in range(per_thread):
                token = "t%dx%d" % (k, i)
                code = self.send(token)
                with lock:
                    results.append((token, code, time.time()))
                    if sum(1 for r in results if r[1] == 250) >= 8:
                        started.set()
        threads = [threading.Thread(target=client, args=(k,))
                   for k in range(nthreads)]
        for t in threads:
            t.start()
        self.assertTrue(started.wait(30), results)
        old = self.kill_role(role)
        killed = time.time()
        for t in threads:
            t.join(120)
        self.wait_back(role, old)
        self.assert_parent_runs()
        ok = [r[0] for r in results if r[1] == 250]
        self.assertTrue([r for r in results if r[1] == 250 and
                         r[2] > killed + 0.5] or
                        self.send_until_250("late") == 250,
                        "no 250 after the kill: %s" % results)
        # a message refused for the crash gets a temporary error, never
        # a permanent one: its client tries again
        self.assertFalse([r for r in results if 500 <= r[1] < 600],
                         results)
        self.assert_delivered(ok)

    def test_receiver_killed_while_mail_flows_loses_nothing(self):
        self.flow("smtpd.receiver")

    def test_queue_killed_while_mail_flows_loses_nothing(self):
        self.flow("smtpd.queue")

    def test_delivery_killed_while_mail_flows_loses_nothing(self):
        self.flow("smtpd.delivery")


class TestHealWithMda(Scenarios, HealTest):
    """Deliveries into the Maildir by the real mda."""
    real_mda = True


class TestHealWithLmtpServer(Scenarios, HealTest):
    """Deliveries to the recording LMTP server, whose timing the tests
    control."""

    def test_delivery_killed_holding_a_message_retries_it(self):
        """not lost, not stuck in flight: another process delivers it"""
        self.mda.hold = True
        self.assertEqual(self.send("held"), 250)
        pid = wait_for(lambda: self.mda.held and self.mda.held[0], 10,
                       "the transaction at the LMTP server")
        os.kill(pid, signal.SIGKILL)
        self.wait_back("smtpd.delivery", pid)   # reaped: its socket closed
        self.mda.hold = False
        self.mda.release.set()
        self.assert_delivered(["held"], timeout=10)
        self.assertEqual(self.delivered()["held"], 1)
        self.assertIn("delivery process lost", self.inst.log("smtpd"))
        self.assert_parent_runs()

    def test_accepted_mail_survives_each_role_being_killed(self):
        """with nothing in flight (mda refuses all), exactly once"""
        self.mda.down = True
        tokens = [role.split(".")[1] for role in ROLES]
        for role, token in zip(ROLES, tokens):
            self.assertEqual(self.send_until_250(token), 250)
            self.wait_back(role, self.kill_role(role))
        self.mda.down = False
        self.assert_delivered(tokens)
        time.sleep(2.5)         # a retry would come after retry_max
        self.assertEqual(self.delivered(), {t: 1 for t in tokens})
        self.assert_parent_runs()

    def test_restarted_roles_hold_nothing_of_the_parent(self):
        """a role forked after the parent opened the user database holds
        none of it, and only the listening sockets it uses"""
        for role in ROLES:
            self.wait_back(role, self.kill_role(role))
        self.assertEqual(self.send_until_250("after"), 250)
        self.assert_delivered(["after"])
        db_dir = os.path.realpath(self.inst.path("db"))
        qsock = socket_inodes("/proc/net/unix", self.inst.path("run",
                                                               "queue.sock"))
        smtp = socket_inodes("/proc/net/tcp", self.inst.port("smtp"))
        self.assertTrue(qsock and smtp)
        for role in ROLES:
            for pid in self.pids(role):
                held = []
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    if t.startswith(db_dir) or "__db." in t:
                        held.append(t)
                    m = re.fullmatch(r"socket:\[(\d+)\]", t)
                    if m and int(m.group(1)) in qsock and \
                            role != "smtpd.queue":
                        held.append("queue_socket")
                    if m and int(m.group(1)) in smtp and \
                            role != "smtpd.receiver":
                        held.append("smtp listener")
                with open("/proc/%d/maps" % pid) as f:
                    held += [l.split()[-1] for l in f
                             if db_dir in l or "__db." in l]
                self.assertEqual(held, [], "%s pid %d" % (role, pid))

    def test_a_removal_cut_short_by_a_kill_is_finished_at_restart(self):
        """what a queue killed inside q_rm_entry leaves: the message
        file without its envelope (the envelope goes first)"""
        d = self.inst.path("queue", "queue", "0123456789abcdef")
        os.mkdir(d, 0o700)
        with open(os.path.join(d, "message"), "w") as f:
            f.write("Subject: half removed\r\n\r\ntoken=halfgone\r\n")
        q = self.inst.users["sealmailq"]
        for p in (d, os.path.join(d, "message")):
            os.chown(p, q.pw_uid, q.pw_gid)
        self.wait_back("smtpd.queue", self.kill_role("smtpd.queue"))
        wait_for(lambda: not os.path.exists(d), 5, "the rest removed")
        self.assertIn("id=0123456789abcdef half removed",
                      self.inst.log("smtpd"))

    def test_queue_killed_with_a_message_at_it_answers_451(self):
        """a message the queue never committed gets no 250"""
        s, f = self.raw()
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        for _ in range(4):
            test_smtpd.read_reply(f)
        queue = self.pids("smtpd.queue")[0]
        os.kill(queue, signal.SIGSTOP)      # it takes nothing in now
        try:
            s.sendall(b"Subject: heal lost\r\n\r\ntoken=lost\r\n.\r\n")
            time.sleep(0.5)
        finally:
            os.kill(queue, signal.SIGKILL)
        reply = test_smtpd.read_reply(f)[0]
        self.assertTrue(reply.startswith("451 4.3.0"), reply)
        # the session goes on, and so does the service
        s.sendall(b"MAIL FROM:<a@example.net>\r\n")
        self.assertTrue(test_smtpd.read_reply(f)[0].startswith("250"))
        s.close()
        self.wait_back("smtpd.queue", queue)
        self.assertEqual(self.send_until_250("next"), 250)
        self.assert_delivered(["next"])
        self.assertNotIn("lost", self.delivered())

    def test_queue_killed_mid_data_never_says_250_for_what_it_lost(self):
        s, f = self.raw()
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<bob@example.test>\r\nDATA\r\n"
                  b"Subject: heal half\r\n\r\n")
        for _ in range(4):
            test_smtpd.read_reply(f)
        old = self.kill_role("smtpd.queue")
        s.sendall(b"token=half\r\n.\r\n")
        reply = test_smtpd.read_reply(f)[0]
        s.close()
        self.wait_back("smtpd.queue", old)
        if reply.startswith("250"):
            # the new queue committed it
            self.assert_delivered(["half"])
        else:
            self.assertTrue(reply.startswith("451"), reply)
        self.assert_parent_runs()

    def test_a_role_that_keeps_dying_makes_smtpd_give_up(self):
        proc = self.inst.procs["smtpd"]
        deadline = time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            for pid in self.pids("smtpd.receiver"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        self.assertIsNotNone(proc.poll(), "smtpd never gave up")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("role=smtpd.receiver", self.inst.log("smtpd"))
        self.assertIn("giving up", self.inst.log("smtpd"))
        # and it took its roles and its listening socket with it
        self.assertFalse(port_open(self.inst.port("smtp")))


if __name__ == "__main__":
    unittest.main()
