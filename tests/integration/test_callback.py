"""test_callback.py - the sending-server callback (docs/interfaces.md,
"The callback") between two instances, isp-a.test and isp-b.test (the
two ISPs of test_exchange.py), both with [smtpd] callback_port.

isp-a's transmitter gives each session to a receiver that offers
SEALMAIL-CALLBACK a secret ID (SESSID=), and isp-a's responder answers
whether an ID belongs to a session open from isp-a to the address that
asks.  The real isp-b takes SESSID and its mail, but keeps the ID to
itself (it is the secret), and its verdict does not ask yet; so to ask
while a session is open the test plays the receiver at a second
loopback address, 127.0.0.2 (domain recv.test, reached through isp-a's
[smtpd] transport): a small SMTP server that offers SEALMAIL-CALLBACK,
notes the SESSID and holds its reply to the end of DATA while the test
asks isp-a's responder, over TLS, from 127.0.0.2 (the receiver), from
127.0.0.3 (a spoofer that claims isp-a's sessions) and through the
verifier (tests/tools/cbkcheck, smtpd/callback_check.c).  127.0.0.5 is
a receiver of its own for the rate limit.
"""

import os
import queue
import re
import secrets
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import unittest

import harness
from harness import descendants, proc_info, wait_for
from test_exchange import ALICE, BOB, Exchange, Listener

RECEIVER = "127.0.0.2"
SPOOFER = "127.0.0.3"
RATE_RECEIVER = "127.0.0.5"
CBKCHECK = os.path.join(harness.BUILDDIR, "tests", "tools", "cbkcheck")


class HoldingReceiver(Listener):
    """An SMTP receiver that offers SEALMAIL-CALLBACK and, at the end of
    DATA, puts (sessid, release) on self.held and waits until the test
    calls release(); then it answers 250.  One transaction a session:
    whatever the client sends next ends it (QUIT gets its 221, a MAIL
    on the kept connection is hung up on, so the transmitter opens a
    new session), and self.closed[sessid] is set when it has."""

    def __init__(self, host):
        self.held = queue.Queue()
        self.closed = {}
        self.mails = []
        super().__init__(host=host)

    def accepted(self, c):
        threading.Thread(target=Listener.accepted, args=(self, c),
                         daemon=True).start()

    def session(self, c):
        f = c.makefile("rwb")
        f.write(b"220 recv.test ESMTP\r\n")
        f.flush()
        sessid = None
        for line in f:
            cmd = line.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                f.write(b"250-recv.test\r\n250-SEALMAIL-CALLBACK\r\n"
                        b"250 8BITMIME\r\n")
            elif verb == "MAIL":
                self.mails.append(cmd)
                m = re.search(r" SESSID=(\S+)", cmd)
                sessid = m.group(1) if m else None
                f.write(b"250 ok\r\n")
            elif verb == "DATA":
                f.write(b"354 go on\r\n")
                f.flush()
                for body in f:
                    if body == b".\r\n":
                        break
                release = threading.Event()
                self.closed[sessid] = threading.Event()
                self.held.put((sessid, release))
                release.wait(120)
                f.write(b"250 ok\r\n")
                f.flush()
                after = f.readline()
                if after.upper().startswith(b"QUIT"):
                    f.write(b"221 bye\r\n")
                    f.flush()
                self.closed[sessid].set()
                return
            elif verb == "QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                return
            else:
                f.write(b"250 ok\r\n")
            f.flush()


def ask(port, line, source, host="127.0.0.1"):
    """One question to a responder, over TLS from source; the answer's
    bytes (at most 16), b"" when it closed without one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=15,
                                   source_address=(source, 0))
    with ctx.wrap_socket(raw) as s:
        s.sendall(line)
        got = b""
        try:
            while len(got) < 16:
                b = s.recv(16)
                if not b:
                    break
                got += b
        except (ssl.SSLError, OSError):
            pass
        return got


def check_line(sessid):
    return b"CHECK " + sessid.encode() + b"\r\n"


class CallbackTest(Exchange):

    POLICY = "may"

    @classmethod
    def setup(cls):
        cls.cb_a = harness.free_port()
        cls.cb_b = harness.free_port()
        cls.recv = HoldingReceiver(RECEIVER)
        cls.rate_recv = HoldingReceiver(RATE_RECEIVER)
        cls.A_TRANSPORT = ["recv.test=%s:%d" % (RECEIVER, cls.recv.port),
                           "rate.test=%s:%d" % (RATE_RECEIVER,
                                                cls.rate_recv.port)]
        cls.A_SMTPD = {"callback_port": str(cls.cb_a)}
        try:
            super().setup()
        finally:
            cls.closers.append(cls.recv.close)
            cls.closers.append(cls.rate_recv.close)

    @classmethod
    def prepare(cls, zones):
        with open(cls.b.conf) as f:
            text = f.read()
        with open(cls.b.conf, "w") as f:
            f.write(text.replace("[smtpd]\n", "[smtpd]\ncallback_port = %d\n"
                                 % cls.cb_b, 1))

    # -- helpers ----------------------------------------------------------

    def hold(self, rcpt, subject, recv=None):
        """alice's message to rcpt at the holding receiver: its SESSID
        and the release of the transmitter's session."""
        recv = recv or self.recv
        self.submit(self.a, ALICE, rcpt, subject)
        try:
            sessid, release = recv.held.get(timeout=40)
        except queue.Empty:
            self.fail("the message did not reach the holding receiver")
        self.addCleanup(release.set)
        return sessid, release

    def ask_a(self, line, source):
        return ask(self.cb_a, line, source)

    def cbkcheck(self, *args):
        out = subprocess.run(
            [CBKCHECK] +
            list(args), capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.splitlines()

    # -- the transmitter and the responder --------------------------------

    def test_a_held_session_is_vouched_for_once_to_its_receiver_only(self):
        sessid, release = self.hold("x@recv.test", "held 1")
        self.assertRegex(sessid or "", r"^[0-9a-f]{64}$")
        # a spoofer that knows the ID, asking from its own address
        self.assertEqual(self.ask_a(check_line(sessid), SPOOFER), b"NO \r\n")
        # an ID nobody opened
        self.assertEqual(self.ask_a(check_line(secrets.token_hex(32)),
                                    RECEIVER), b"NO \r\n")
        # the receiver the session is open to: once
        self.assertEqual(self.ask_a(check_line(sessid), RECEIVER),
                         b"YES\r\n")
        self.assertEqual(self.ask_a(check_line(sessid), RECEIVER),
                         b"NO \r\n")
        release.set()

    def a_pids(self, role):
        out = []
        for p in descendants(self.a.pid("smtpd")):
            try:
                if proc_info(p)[0] == role:
                    out.append(p)
            except OSError:
                pass
        return out

    def test_a_new_receiver_is_told_the_open_sessions(self):
        sessid, release = self.hold("r@recv.test", "held 6")
        old = wait_for(lambda: self.a_pids("smtpd.receiver"), 5,
                       "isp-a's receiver")
        os.kill(old[0], signal.SIGKILL)
        wait_for(lambda: [p for p in self.a_pids("smtpd.receiver")
                          if p not in old], 20, "a new receiver")
        wait_for(lambda: harness.port_open(self.cb_a), 20,
                 "the responder back")
        self.assertEqual(self.ask_a(check_line(sessid), RECEIVER),
                         b"YES\r\n")
        release.set()

    def test_a_dead_transmitter_takes_its_ids_along(self):
        sessid, release = self.hold("d@recv.test", "held 7")
        mtas = self.a_pids("smtpd.mta")
        for pid in mtas:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len([p for p in self.a_pids("smtpd.mta")
                              if p not in mtas]) == len(mtas), 20,
                 "new transmitters")
        self.assertEqual(self.ask_a(check_line(sessid), RECEIVER),
                         b"NO \r\n")
        release.set()
        # the queue sends the message again, in a new session
        again, release2 = self.recv.held.get(timeout=40)
        self.assertNotEqual(again, sessid)
        release2.set()

    def test_garbage_and_overlong_lines_get_no(self):
        for line in (b"HELO there\r\n", b"CHECK 1234\r\n",
                     b"CHECK " + b"A" * 64 + b"\r\n",
                     b"CHECK " + b"0" * 200 + b"\r\n", b"x" * 100,
                     b"\x00\xff" * 50):
            with self.subTest(line=line[:20]):
                self.assertEqual(self.ask_a(line, RECEIVER), b"NO \r\n")

    def test_a_silent_client_gets_no_after_five_seconds(self):
        t0 = time.monotonic()
        self.assertEqual(self.ask_a(b"", RECEIVER), b"NO \r\n")
        self.assertGreaterEqual(time.monotonic() - t0, 4.5)

    def test_connections_from_one_address_are_bounded(self):
        src = "127.0.0.7"
        idle = [socket.create_connection(("127.0.0.1", self.cb_a),
                                         timeout=15, source_address=(src, 0))
                for _ in range(4)]
        try:
            time.sleep(0.5)
            # the fifth from that address is closed unanswered ...
            with self.assertRaises((ssl.SSLError, OSError)):
                self.ask_a(check_line(secrets.token_hex(32)), src)
            # ... while another address is answered
            self.assertEqual(self.ask_a(check_line(secrets.token_hex(32)),
                                        "127.0.0.8"), b"NO \r\n")
        finally:
            for s in idle:
                s.close()
        time.sleep(0.5)
        self.assertEqual(self.ask_a(check_line(secrets.token_hex(32)), src),
                         b"NO \r\n")
        self.assertIn("peer=%s refused: connection limit" % src,
                      self.a.log("smtpd"))

    def test_the_responder_speaks_only_tls(self):
        with socket.create_connection(("127.0.0.1", self.cb_a), timeout=15,
                                      source_address=(RECEIVER, 0)) as s:
            s.sendall(check_line(secrets.token_hex(32)))
            s.settimeout(10)
            try:
                got = s.recv(64)
            except OSError:
                got = b""
        self.assertNotIn(b"YES", got)
        self.assertNotIn(b"NO ", got)

    def test_an_id_dies_with_its_session(self):
        sessid, release = self.hold("y@recv.test", "held 2")
        release.set()
        # the transmitter keeps the connection for MTA_IDLE, then QUITs;
        # it withdraws the ID before it says QUIT, and the parent passes
        # that on at once
        if not self.recv.closed[sessid].wait(40):
            self.fail("the transmitter kept the session")
        time.sleep(0.5)
        self.assertEqual(self.ask_a(check_line(sessid), RECEIVER),
                         b"NO \r\n")

    def test_the_rate_limit_trips_at_30_a_minute(self):
        sessid, release = self.hold("z@rate.test", "held 3",
                                    recv=self.rate_recv)
        # early in a minute, so the window does not start over midway
        while time.time() % 60 > 40:
            time.sleep(0.5)
        for _ in range(30):
            self.assertEqual(self.ask_a(check_line(secrets.token_hex(32)),
                                        RATE_RECEIVER), b"NO \r\n")
        # the 31st question, with the real ID, from the right address
        self.assertEqual(self.ask_a(check_line(sessid), RATE_RECEIVER),
                         b"NO \r\n")
        wait_for(lambda: "peer=%s answer=no why=rate-limited" % RATE_RECEIVER
                 in self.a.log("smtpd"), 10, "the rate limit in the log")
        release.set()

    # -- the verifier ------------------------------------------------------

    def test_the_verifier_passes_a_real_open_session(self):
        sessid, release = self.hold("v@recv.test", "held 4")
        out = self.cbkcheck("-C", self.a.path("etc", "ca.pem"), "-s",
                            RECEIVER, "127.0.0.1", str(self.cb_a), sessid)
        self.assertEqual(out[0].split("\t")[:2], ["pass", "cert=yes"])
        # single use, through the verifier as well
        out = self.cbkcheck("-s", RECEIVER, "127.0.0.1", str(self.cb_a),
                            sessid)
        self.assertEqual(out[0].split("\t")[:2], ["fail", "cert=no"])
        release.set()

    def test_the_verifier_from_another_address_fails(self):
        sessid, release = self.hold("w@recv.test", "held 5")
        out = self.cbkcheck("-s", SPOOFER, "127.0.0.1", str(self.cb_a),
                            sessid)
        self.assertEqual(out[0].split("\t")[0], "fail")
        release.set()

    def test_the_verifier_says_unknown_when_nothing_listens(self):
        out = self.cbkcheck("127.0.0.1", str(harness.free_port()),
                            secrets.token_hex(32))
        self.assertEqual(out[0].split("\t")[0], "unknown")

    def test_the_verifier_says_unknown_for_a_server_that_is_not_one(self):
        # isp-b's port 25 greets in plain text: no TLS, no answer
        out = self.cbkcheck("-t", "3000", "127.0.0.1",
                            str(self.b.port("smtp")), secrets.token_hex(32))
        self.assertEqual(out[0].split("\t")[0], "unknown")

    def test_the_verifier_rate_limits_per_address(self):
        out = self.cbkcheck("-n", "11", "-t", "2000", "127.0.0.6",
                            str(harness.free_port()), secrets.token_hex(32))
        self.assertEqual(len(out), 11)
        self.assertTrue(all(o.startswith("unknown\tcert=no\tno connection")
                            for o in out[:10]), out)
        self.assertEqual(out[10], "unknown\tcert=no\trate limited")

    # -- the receiver --------------------------------------------------------

    def test_the_receiver_offers_the_callback_and_takes_sessid(self):
        s = smtplib.SMTP("127.0.0.1", self.b.port("smtp"), timeout=30)
        code, text = s.ehlo("client.test")
        self.assertIn(b"SEALMAIL-CALLBACK", text)
        code, _ = s.docmd("MAIL FROM:<x@client.test> SESSID=abc")
        self.assertEqual(code, 501)
        code, _ = s.docmd("MAIL FROM:<x@client.test> SESSID=" +
                          secrets.token_hex(32).upper())
        self.assertEqual(code, 501)
        code, _ = s.docmd("MAIL FROM:<x@client.test> SESSID=" +
                          secrets.token_hex(32))
        self.assertEqual(code, 250)
        s.quit()

    def test_alice_to_bob_crosses_with_a_sessid(self):
        self.submit(self.a, ALICE, BOB, "callback crossing")
        self.find(self.b, BOB, "callback crossing")
        # isp-b offered SEALMAIL-CALLBACK, isp-a sent SESSID, isp-b took it
        self.assertRegex(self.a.log("smtpd"),
                         r"rcpt=<%s>.* callback=offered status=sent"
                         % re.escape(BOB))


class NoCallbackTest(unittest.TestCase):
    """Without callback_port the receiver offers nothing and SESSID is an
    unknown parameter, as before."""

    def test_sessid_is_unknown_without_callback_port(self):
        with harness.Instance() as inst:
            inst.start("smtpd")
            s = smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=30)
            code, text = s.ehlo("client.test")
            self.assertNotIn(b"SEALMAIL-CALLBACK", text)
            code, _ = s.docmd("MAIL FROM:<x@client.test> SESSID=" +
                              secrets.token_hex(32))
            self.assertEqual(code, 555)
            s.quit()


if __name__ == "__main__":
    unittest.main()
