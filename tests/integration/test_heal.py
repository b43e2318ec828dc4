"""test_heal.py - the whole suite keeps serving while its processes die.

Every daemon runs (keystore, mda, smtpd, submitd, imapd) and three kinds
of client load it at once: port 25 senders, authenticated submission and
IMAP readers.  Meanwhile one process of each kind is killed with SIGKILL
in turn (every unprivileged role of every daemon, and a per-user IMAP
process).  Then:

* no root parent stopped, and each killed role came back by itself;
* after each kill, every service answered again within HEAL_SECONDS,
  without any command;
* every message a client saw acknowledged with 250 is in bob's mailbox
  exactly once, and no message is there twice.

The load is bounded in count and time and stops by itself.
"""

import imaplib
import os
import re
import signal
import smtplib
import ssl
import threading
import time
import unittest

from fixtures import role_pids
from harness import Instance, sanitized, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
PW = "heal-pw"
HEAL_SECONDS = 10
LOAD_SECONDS = 90           # the load stops by itself after this
KILL_GAP = 1.5              # seconds of load between two kills

# (daemon, role) killed in turn; a daemon's root parent must replace each.
ROLES = (
    ("smtpd", "smtpd.receiver"),
    ("smtpd", "smtpd.delivery"),
    ("smtpd", "smtpd.queue"),
    ("mda", "mda.lmtp"),
    ("submitd", "submitd.smtp"),
    ("submitd", "submitd.header"),
    ("imapd", "imapd.prelogin"),
    ("imapd", "imapd.user"),
    ("keystore", "keystore.server"),
)

TOKEN = re.compile(rb"^X-Heal-Token: (\S+)", re.M)


class Load:
    """Client threads that send and read until told to stop."""

    def __init__(self, inst):
        self.inst = inst
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []           # tokens acknowledged with 250
        self.errors = 0
        self.imap_ok = 0
        self.seq = 0
        self.threads = []

    def token(self, kind):
        with self.lock:
            self.seq += 1
            return "%s-%d" % (kind, self.seq)

    def _message(self, tok, sender):
        return ("From: <%s>\r\nTo: <%s>\r\nSubject: heal %s\r\n"
                "X-Heal-Token: %s\r\n\r\nbody of %s\r\n"
                % (sender, BOB, tok, tok, tok)).encode()

    def _ack(self, tok):
        with self.lock:
            self.acked.append(tok)

    def _fail(self):
        with self.lock:
            self.errors += 1
        time.sleep(0.2)

    def port25(self):
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                                  timeout=15) as c:
                    for _ in range(5):
                        if self.stop.is_set():
                            break
                        tok = self.token("mx")
                        c.sendmail("carol@remote.test", [BOB],
                                   self._message(tok, "carol@remote.test"))
                        self._ack(tok)
            except (OSError, smtplib.SMTPException):
                self._fail()

    def submission(self):
        ctx = self.inst.client_tls_context()
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                                  timeout=15) as c:
                    c.starttls(context=ctx)
                    c.login(ALICE, PW)
                    for _ in range(5):
                        if self.stop.is_set():
                            break
                        tok = self.token("sub")
                        c.sendmail(ALICE, [BOB], self._message(tok, ALICE))
                        self._ack(tok)
            except (OSError, smtplib.SMTPException):
                self._fail()

    def reader(self):
        ctx = self.inst.client_tls_context()
        while not self.stop.is_set():
            try:
                m = imaplib.IMAP4("127.0.0.1", self.inst.port("imap"))
                m.sock.settimeout(15)
                m.starttls(ssl_context=ctx)
                m.login(BOB, PW)
                for _ in range(10):
                    if self.stop.is_set():
                        break
                    m.select("INBOX")
                    m.noop()
                    with self.lock:
                        self.imap_ok += 1
                    time.sleep(0.1)
                m.logout()
            except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort,
                    ssl.SSLError):
                self._fail()

    def start(self):
        for fn in (self.port25, self.port25, self.submission, self.reader):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class Probe:
    """One request to each service, answered or not."""

    def __init__(self, inst):
        self.inst = inst

    def smtp(self):
        try:
            with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                              timeout=5) as c:
                return c.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def submission(self):
        try:
            with smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                              timeout=5) as c:
                c.starttls(context=self.inst.client_tls_context())
                c.login(ALICE, PW)
                return True
        except (OSError, smtplib.SMTPException):
            return False

    def imap(self):
        try:
            m = imaplib.IMAP4("127.0.0.1", self.inst.port("imap"))
            m.sock.settimeout(5)
            m.starttls(ssl_context=self.inst.client_tls_context())
            m.login(BOB, PW)
            ok = m.select("INBOX")[0] == "OK"
            m.logout()
            return ok
        except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort,
                ssl.SSLError):
            return False

    def keyserver(self):
        import socket
        try:
            with socket.create_connection(
                    ("127.0.0.1", self.inst.port("keyserver")), 5) as s:
                return s.makefile("rb").readline().startswith(b"+OK")
        except OSError:
            return False

    def all(self):
        """True when every service answers; else remembers which did not."""
        for name in ("smtp", "submission", "imap", "keyserver"):
            if not getattr(self, name)():
                self.failed = name
                return False
        return True


class HealUnderLoadTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(extra_conf={
            # a test box's loopback clients reconnect often
            "submitd": {"auth_fail_max": "1000"},
            "imapd": {"auth_fail_max": "1000"},
        })
        self.inst.add_user(ALICE, PW)
        self.inst.add_user(BOB, PW)
        # the load sends thousands of messages: past alice's daily limit
        self.inst.ctl("user", "set", ALICE, "max_rcpt_per_day=1000000")
        self.inst.start("keystore", "mda", "smtpd", "submitd", "imapd")

    def tearDown(self):
        self.inst.close()

    def mailbox_tokens(self):
        counts = {}
        for folder in ("", "Unsafe"):
            for path in self.inst.messages(BOB, folder):
                try:
                    with open(path, "rb") as f:
                        data = f.read(65536)
                except OSError:
                    continue
                for tok in TOKEN.findall(data):
                    tok = tok.decode()
                    counts[tok] = counts.get(tok, 0) + 1
        return counts

    def test_every_process_killed_under_load_heals_and_loses_nothing(self):
        inst = self.inst
        probe = Probe(inst)
        # ASan makes every process several times slower
        heal_seconds = HEAL_SECONDS * (3 if sanitized() else 1)
        self.assertTrue(probe.all(), "the suite does not serve at start")
        load = Load(inst)
        load.start()
        t_end = time.time() + LOAD_SECONDS
        healed = {}
        try:
            for daemon, role in ROLES:
                self.assertLess(time.time(), t_end, "the load ran out")
                time.sleep(KILL_GAP)
                parent = inst.pid(daemon)
                # imapd.user exists only while bob is logged in
                victims = wait_for(lambda: role_pids(parent, role), 10, role)
                victim = victims[0]
                t0 = time.time()
                os.kill(victim, signal.SIGKILL)
                wait_for(lambda: victim not in role_pids(parent, role),
                         5, "%s pid %d to go" % (role, victim))
                if role != "imapd.user":   # started again on next login
                    wait_for(lambda: role_pids(parent, role), heal_seconds,
                             "a new %s" % role)
                try:
                    wait_for(probe.all, heal_seconds,
                             "service after killing %s" % role)
                except TimeoutError:
                    self.fail("%s did not answer within %d s of killing %s"
                              % (probe.failed, heal_seconds, role))
                healed[role] = time.time() - t0
                for d in ("keystore", "mda", "smtpd", "submitd", "imapd"):
                    self.assertIsNone(inst.procs[d].poll(),
                                      "%s stopped after %s was killed:\n%s"
                                      % (d, role, inst.log(d)[-3000:]))
        finally:
            load.finish()
        print("\n  healed in (s): " + ", ".join(
            "%s %.1f" % kv for kv in healed.items()))
        print("  acknowledged %d messages, %d client errors, %d IMAP rounds"
              % (len(load.acked), load.errors, load.imap_ok))
        self.assertGreater(len(load.acked), 20, "too little load to judge")
        self.assertGreater(load.imap_ok, 10)

        acked = set(load.acked)

        def all_delivered():
            counts = self.mailbox_tokens()
            return acked <= set(counts) and counts
        counts = wait_for(all_delivered, 120 if sanitized() else 60,
                          "every acknowledged message in the mailbox")
        # then the queue drains: nothing more will arrive
        try:
            wait_for(lambda: inst.ctl("queue", "list").stdout.strip() == "",
                     60, "the queue to drain")
        except TimeoutError:
            self.fail("the queue did not drain:\n%s\n%s" % (
                inst.ctl("queue", "list").stdout[-2000:],
                inst.log("smtpd")[-3000:]))
        counts = self.mailbox_tokens()
        missing = acked - set(counts)
        self.assertEqual(missing, set())
        twice = {t: n for t, n in counts.items() if n != 1}
        self.assertEqual(twice, {}, "delivered more than once")
        for d in ("keystore", "mda", "smtpd", "submitd", "imapd"):
            self.assertIsNone(inst.procs[d].poll(), "%s stopped" % d)


if __name__ == "__main__":
    unittest.main()
