"""test_flood.py - the daemons stay reachable under a slowloris flood, and
idle sessions are cheap.

The flood: 400 connections, each from its own loopback address (so no
per-address limit helps), each sending one byte every 3 seconds and
reconnecting 3 seconds after it is dropped, as a patient attacker would.
It runs on a thread against smtpd's port 25, submitd's port 587 and
imapd's port 143 in turn, with max_sessions at 200 (the configuration in
which 200 slots were once held by the flood and every legitimate client
got "421 Too many connections").  Meanwhile a normal client (smtplib,
imaplib) comes every 1.5 s for 15 s and must be served every time: the
flooded daemon enters stress mode (deadlines of 10 s), and when every
slot is taken it evicts the session that has done the least.

Memory: VmRSS of the process serving the sessions (smtpd.receiver,
submitd.smtp, imapd.prelogin) may grow during the flood by at most
max_sessions times a per-session budget (PER_SESSION_KB, a few times the
measured cost of an idle session) plus a margin for the allocator; the
flood's churn must not add to that, because an evicted or timed-out
session is freed.  ASan's redzones and its quarantine of freed blocks
(which churn fills) get a larger bound.

The hold tests open 1,000 idle sessions against each daemon with its
default limits, check that every one got its greeting and is still
there, and print the memory per session (KB of VmRSS growth / 1000).
"""

import errno
import imaplib
import os
import resource
import selectors
import smtplib
import socket
import threading
import time
import unittest

from fixtures import role_pid as process_named, rss_kb
from harness import DOMAIN, Instance, binary, sanitized, wait_for

BOB = "bob@" + DOMAIN
PASSWORD = "flood-resistant-pw"

FLOOD = 400             # connections, one address each
DRIP_EVERY = 3.0        # seconds between bytes, and before a reconnect
WINDOW = 15.0           # seconds of legitimate attempts under flood
ATTEMPT_EVERY = 1.5
MAX_SESSIONS = 200
HOLD = 1000
# a generous budget per idle session (measured: a few KB, see the hold
# tests' output) and the allocator's slack; ASan multiplies both
PER_SESSION_KB = 32 * (4 if sanitized() else 1)
SLACK_KB = 16 * 1024 * (4 if sanitized() else 1)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def role_pid(inst, daemon, name):
    """The pid of daemon's process called name (it may still be forking)."""
    return wait_for(lambda: process_named(inst.pid(daemon), name), 10,
                    "%s process" % name)


def address(net, i):
    """The i-th loopback address of 127.net.0.0/16 (no .0 or .255)."""
    return "127.%d.%d.%d" % (net, i // 250, i % 250 + 1)


class Flood:
    """n slowloris connections from 127.net.x.y, on a thread until stop().

    Every socket sends one byte of drip every `every` seconds (the first
    `every` seconds after it connected, so after any greeting pause);
    half of them first send a whole EHLO line, so the flood has sessions
    that did something as well as sessions that did nothing.  A socket
    the server closes reconnects `every` seconds later."""

    def __init__(self, port, n=FLOOD, net=20, drip=b"x", every=DRIP_EVERY,
                 hello=b"EHLO flood.example\r\n"):
        self.port, self.n, self.net = port, n, net
        self.drip, self.every, self.hello = drip, every, hello
        self.socks = [None] * n
        self.due = [0.0] * n
        self.opened = self.dropped = self.bytes = 0
        self.sel = selectors.DefaultSelector()
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.halt.set()
        self.thread.join(30)
        for s in self.socks:
            if s is not None:
                s.close()
        self.sel.close()

    def connected(self):
        return sum(1 for s in self.socks if s is not None)

    def open(self, i, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((address(self.net, i), 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.due[i] = now + self.every
            return
        self.socks[i] = s
        self.sel.register(s, selectors.EVENT_READ, i)
        self.opened += 1
        self.due[i] = now + self.every

    def drop(self, i, now):
        self.sel.unregister(self.socks[i])
        self.socks[i].close()
        self.socks[i] = None
        self.dropped += 1
        self.due[i] = now + self.every

    def send(self, i, data, now):
        try:
            self.socks[i].send(data)
            self.bytes += len(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            if e.errno not in (errno.ENOTCONN, errno.EAGAIN):
                self.drop(i, now)
                return
        self.due[i] = now + self.every

    def run(self):
        hellos = set()
        while not self.halt.is_set():
            for key, _ in self.sel.select(0.2):
                i = key.data
                try:
                    if key.fileobj.recv(4096):
                        continue
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    pass
                self.drop(i, time.monotonic())
                hellos.discard(i)
            now = time.monotonic()
            for i in range(self.n):
                if self.due[i] > now:
                    continue
                if self.socks[i] is None:
                    self.open(i, now)
                elif i % 2 == 0 and i not in hellos and self.hello:
                    hellos.add(i)
                    self.send(i, self.hello, now)
                else:
                    self.send(i, self.drip, now)


class FloodTest(unittest.TestCase):
    """One instance per test: the flooded daemon with max_sessions 200."""

    @classmethod
    def setUpClass(cls):
        raise_nofile(8192)

    def setUp(self):
        self.inst = None

    def tearDown(self):
        if self.inst is not None:
            self.inst.close()

    def instance(self, section, extra=None):
        conf = {section: {"max_sessions": str(MAX_SESSIONS)}}
        for k, v in (extra or {}).items():
            conf.setdefault(k, {}).update(v)
        self.inst = Instance(extra_conf=conf)
        self.inst.add_user(BOB, PASSWORD)
        return self.inst

    def role(self, daemon, name):
        return role_pid(self.inst, daemon, name)

    def under_flood(self, port, daemon, role, attempt):
        """Flood port; every ATTEMPT_EVERY s for WINDOW s, attempt() must
        succeed.  Returns the role's VmRSS growth in KB."""
        pid = self.role(daemon, role)
        attempt()               # warm up: caches, TLS, the first PAM call
        before = rss_kb(pid)
        flood = Flood(port).start()
        failures, served, peak = [], 0, 0
        try:
            time.sleep(2)       # the flood is in and dripping
            t_start = time.monotonic()
            while time.monotonic() < t_start + WINDOW:
                t0 = time.monotonic()
                try:
                    attempt()
                    served += 1
                except Exception as e:      # every failure is reported
                    failures.append("%.1fs: %r" % (t0 - t_start, e))
                peak = max(peak, rss_kb(pid))
                time.sleep(max(0, ATTEMPT_EVERY - (time.monotonic() - t0)))
            held = flood.connected()
        finally:
            flood.stop()
        grown = max(peak, rss_kb(pid)) - before
        print("\n  %s under flood: served %d of %d, flood opened %d "
              "connections (%d dropped, %d held at the end), %s grew "
              "%d KB" % (daemon, served, served + len(failures),
                         flood.opened, flood.dropped, held, role, grown))
        self.assertEqual(failures, [], "%s refused a normal client" % daemon)
        self.assertGreaterEqual(served, int(WINDOW / ATTEMPT_EVERY) - 1)
        # the flood really was bigger than the table
        self.assertGreater(flood.opened, MAX_SESSIONS)
        bound = MAX_SESSIONS * PER_SESSION_KB + SLACK_KB
        self.assertLess(grown, bound, "%s grew %d KB" % (role, grown))
        self.assertIsNone(self.inst.procs[daemon].poll())
        return grown

    def test_smtpd_serves_a_normal_client_under_a_slowloris_flood(self):
        inst = self.instance("smtpd")
        inst.start("smtpd")

        def attempt():
            s = smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=10)
            try:
                s.ehlo("mx.sender.example")
                refused = s.sendmail("someone@sender.example", [BOB],
                                     b"Subject: under flood\r\n\r\nhi\r\n")
                self.assertEqual(refused, {})
            finally:
                s.close()
        self.under_flood(inst.port("smtp"), "smtpd", "smtpd.receiver",
                         attempt)
        log = inst.log("smtpd")
        self.assertIn("stress=on", log)
        self.assertIn("evicted", log)

    def test_submitd_serves_a_normal_client_under_a_slowloris_flood(self):
        inst = self.instance("submitd")
        inst.start("submitd")

        def attempt():
            s = smtplib.SMTP("127.0.0.1", inst.port("submission"),
                             timeout=10)
            try:
                s.ehlo("client.example.test")
                s.starttls(context=inst.client_tls_context())
                s.ehlo("client.example.test")
                s.login(BOB, PASSWORD)
                self.assertEqual(s.mail(BOB)[0], 250)
                self.assertEqual(s.rcpt(BOB)[0], 250)
                s.rset()
                s.quit()
            finally:
                s.close()
        self.under_flood(inst.port("submission"), "submitd", "submitd.smtp",
                         attempt)
        self.assertIn("stress=on", inst.log("submitd"))

    def test_imapd_serves_a_normal_client_under_a_slowloris_flood(self):
        inst = self.instance("imapd")
        inst.start("imapd")

        def attempt():
            m = imaplib.IMAP4("127.0.0.1", inst.port("imap"), timeout=10)
            try:
                m.starttls(inst.client_tls_context())
                m.login(BOB, PASSWORD)
                self.assertEqual(m.select("INBOX")[0], "OK")
            finally:
                try:
                    m.logout()
                except (OSError, imaplib.IMAP4.error):
                    pass
        self.under_flood(inst.port("imap"), "imapd", "imapd.prelogin",
                         attempt)
        self.assertIn("stress=on", inst.log("imapd"))


class HoldTest(unittest.TestCase):
    """1,000 idle sessions against a daemon's default limits."""

    @classmethod
    def setUpClass(cls):
        if raise_nofile(HOLD + 512) < HOLD + 512:
            raise unittest.SkipTest("RLIMIT_NOFILE below %d" % (HOLD + 512))

    def setUp(self):
        self.inst = Instance()

    def tearDown(self):
        self.inst.close()

    def role(self, daemon, name):
        return role_pid(self.inst, daemon, name)

    def hold(self, port, daemon, role, greeting):
        pid = self.role(daemon, role)
        before = rss_kb(pid)
        socks, sel = [], selectors.DefaultSelector()
        pending = {}
        greeted = 0
        try:
            # in batches of 100, each greeted before the next (the
            # listen backlog is 128), ten sessions per address: under
            # every per-address limit
            for i in range(HOLD):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((address(30, i // 10), 0))
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
                pending[s] = b""
                sel.register(s, selectors.EVENT_READ)
                if (i + 1) % 100 == 0:
                    greeted += self.greetings(daemon, sel, pending,
                                              greeting)
            self.assertEqual(greeted, HOLD)
            time.sleep(1)
            after = rss_kb(pid)
            # still all there: none was dropped or evicted
            for s in socks:
                try:
                    self.assertNotEqual(s.recv(1, socket.MSG_PEEK), b"")
                except BlockingIOError:
                    pass
        finally:
            for s in socks:
                s.close()
            sel.close()
        per = (after - before) / HOLD
        print("\n  %s: %d idle sessions, VmRSS %d -> %d KB, %.1f KB per "
              "session%s" % (role, HOLD, before, after, per,
                             " (ASan)" if sanitized() else ""))
        self.assertLess(per, PER_SESSION_KB)
        self.assertIsNone(self.inst.procs[daemon].poll())
        return per

    def greetings(self, daemon, sel, pending, greeting):
        """Read the greeting of every pending socket; how many came."""
        t_end = time.monotonic() + 20
        n = 0
        while pending and time.monotonic() < t_end:
            for key, _ in sel.select(0.5):
                s = key.fileobj
                try:
                    data = s.recv(512)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.fail("%s closed a held session: %r"
                              % (daemon, pending[s]))
                pending[s] += data
                if b"\r\n" in pending[s]:
                    self.assertTrue(pending[s].startswith(greeting),
                                    pending[s])
                    del pending[s]
                    sel.unregister(s)
                    n += 1
        return n

    def test_smtpd_holds_1000_idle_sessions(self):
        self.inst.start("smtpd")
        self.hold(self.inst.port("smtp"), "smtpd", "smtpd.receiver", b"220 ")

    def test_submitd_holds_1000_idle_sessions(self):
        if not os.path.exists(binary("submitd")):
            raise unittest.SkipTest("submitd not built")
        self.inst.start("submitd")
        self.hold(self.inst.port("submission"), "submitd", "submitd.smtp",
                  b"220 ")

    def test_imapd_holds_1000_idle_sessions(self):
        self.inst.start("imapd")
        self.hold(self.inst.port("imap"), "imapd", "imapd.prelogin",
                  b"* OK ")


class DeadlineTest(unittest.TestCase):
    """Deadlines are totals: a byte now and then buys nothing, and a TLS
    handshake that never ends is dropped at the deadline too."""

    DEADLINE = 2

    def setUp(self):
        d = "%ds" % self.DEADLINE
        self.inst = Instance(extra_conf={
            "smtpd": {"greeting_timeout": d},
            "submitd": {"greeting_timeout": d},
            "imapd": {"login_timeout": d}})

    def tearDown(self):
        self.inst.close()

    def time_to_close(self, port, drip=None, limit=15):
        """Seconds from connect until the server closes; what it sent."""
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        t0 = time.monotonic()
        got = b""
        try:
            while time.monotonic() - t0 < limit:
                try:
                    data = s.recv(4096)
                    if not data:
                        return time.monotonic() - t0, got
                    got += data
                except socket.timeout:
                    pass
                except OSError:
                    return time.monotonic() - t0, got
                if drip is not None and got:
                    try:
                        s.send(drip)
                    except OSError:
                        return time.monotonic() - t0, got
        finally:
            s.close()
        return None, got

    def test_a_dribbled_first_command_misses_its_deadline(self):
        self.inst.start("smtpd", "submitd", "imapd")
        for port, bye in (("smtp", b"421 4.4.2"), ("submission", b"421 4.4.2"),
                          ("imap", b"* BYE")):
            took, got = self.time_to_close(self.inst.port(port), b"x")
            self.assertIsNotNone(took, "%s still open: %r" % (port, got))
            self.assertLess(took, self.DEADLINE + 3, port)
            self.assertIn(bye, got, port)

    def test_a_tls_handshake_that_never_ends_is_dropped_at_the_deadline(self):
        self.inst.start("submitd", "imapd")
        for port in ("submissions", "imaps"):
            took, _ = self.time_to_close(self.inst.port(port))
            self.assertIsNotNone(took, "%s still open" % port)
            self.assertLess(took, self.DEADLINE + 3, port)


if __name__ == "__main__":
    unittest.main()
