"""test_exchange_faults.py - the transmitter when things go wrong, on the
two-ISP exchange of test_exchange.py (isp-a.test and isp-b.test, a
private NSD, a private CA; its helpers are imported, not copied):

* several MX hosts: the first (lower preference number) has no
  listener, the message arrives through the second;
* IPv6: an MX host with only an AAAA record, ::1 (skipped when ::1
  cannot be used here);
* STARTTLS stripped by a man in the middle the test runs (a TCP proxy
  that removes STARTTLS from the EHLO reply): under `encrypt` and
  `verify` nothing is sent in plain text and the message is deferred;
  under `may` it is delivered and the log says no TLS;
* a dead host past the queue lifetime: the DSN lands in alice's INBOX;
* a dead destination: several messages to it cause one cohort of
  connection attempts (one, at the start), not one per message;
* the delay notice ([smtpd] delay_warning_time), once;
* mail that would loop back to isp-a (its own host is the best MX, or
  the server greets it with its own hostname) bounces with 5.4.6;
* a transmitter the queue cut off (a malformed report or a message
  type it may not send, made by mta_liar.c; neither is fatal for the
  queue) or that crashed is restarted.

The MX hosts are reached on isp-a's [smtpd] mta_port, which is isp-b's
port 25: a host "with no listener" is another loopback address with
nothing on that port; the proxies listen on ports of their own and are
reached through [smtpd] transport, or, for IPv6, on [::1] at that port.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import unittest

import test_exchange
from harness import Instance, descendants, proc_info, wait_for
from test_exchange import ALICE, Exchange

HERE = os.path.dirname(os.path.abspath(__file__))
STARTTLS_LINE = re.compile(rb"^250[- ]STARTTLS\s*$", re.I)


class Proxy(test_exchange.Listener):
    """A TCP proxy on (host, port) to target, run by the test: it notes
    every line the client sends and counts connections.  strip=True
    removes STARTTLS from the server's replies (a man in the middle);
    target None closes each connection at once (a host that answers
    nothing)."""

    def __init__(self, host="127.0.0.1", port=0, target=None, strip=False):
        self.target = target
        self.strip = strip
        self.lines = []
        super().__init__(host, port)

    def accepted(self, c):
        if self.target is None:
            c.close()
            return
        try:
            s = socket.create_connection(self.target, timeout=30)
        except OSError:
            c.close()
            return
        threading.Thread(target=self.upstream, args=(c, s),
                         daemon=True).start()
        threading.Thread(target=self.downstream, args=(s, c),
                         daemon=True).start()

    @staticmethod
    def hang_up(*socks):
        for x in socks:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def upstream(self, c, s):
        """Client to server as it comes (a TLS handshake too), its lines
        noted."""
        pending = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                s.sendall(data)
                pending += data
                *done, pending = pending.split(b"\n")
                self.lines += [x.decode(errors="replace").strip()
                               for x in done]
        except OSError:
            pass
        finally:
            self.hang_up(s, c)

    def downstream(self, s, c):
        """Server to client; with strip, a reply at a time with STARTTLS
        taken out."""
        if not self.strip:
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    c.sendall(data)
            except OSError:
                pass
            finally:
                self.hang_up(s, c)
            return
        f = s.makefile("rb")
        reply = []
        try:
            for line in f:
                reply.append(line)
                if len(line) > 3 and line[3:4] == b"-":
                    continue
                kept = [x for x in reply
                        if not STARTTLS_LINE.match(x.rstrip(b"\r\n"))]
                if kept and len(kept) < len(reply):
                    last = kept[-1]
                    kept[-1] = last[:3] + b" " + last[4:]
                c.sendall(b"".join(kept or reply))
                reply = []
        except OSError:
            pass
        finally:
            self.hang_up(s, c)

    def sent_mail(self):
        return [x for x in self.lines
                if x.upper().startswith(("MAIL", "RCPT", "DATA"))]


class GarbleServer(test_exchange.Listener):
    """An SMTP server whose first "end of DATA" reply holds a marker
    mta_liar.c turns into a malformed report (garble-mta-report: a
    control character in the text; garble-mta-type: a message type a
    transmitter may not send); later ones are plain."""

    def __init__(self, marker="garble-mta-report"):
        self.marker = marker.encode()
        self.messages = 0
        super().__init__()

    def session(self, c):
        f = c.makefile("rwb")
        f.write(b"220 garble.test ESMTP\r\n")
        f.flush()
        for line in f:
            verb = line.decode(errors="replace").strip().split(" ")[0]
            verb = verb.upper()
            if verb == "EHLO":
                f.write(b"250-garble.test\r\n250 8BITMIME\r\n")
            elif verb == "DATA":
                f.write(b"354 go on\r\n")
                f.flush()
                for body in f:
                    if body in (b".\r\n", b".\n"):
                        break
                self.messages += 1
                f.write(b"250 2.0.0 ok " + self.marker + b"\r\n"
                        if self.messages == 1 else b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                return
            else:
                f.write(b"250 2.0.0 ok\r\n")
            f.flush()


class LiarInstance(Instance):
    """isp-a, with mta_liar.so preloaded into every daemon (it lies only
    in smtpd.mta, and only about a reply that holds its marker)."""

    liar = None

    def env(self, pam=False):
        e = super().env(pam)
        if self.liar:
            e["LD_PRELOAD"] = ":".join(
                x for x in (e.get("LD_PRELOAD"), self.liar) if x)
            e["SMTPD_MTA_LIAR"] = "1"
        return e


def build_liar(directory):
    out = os.path.join(directory, "mta_liar.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", out,
                    os.path.join(HERE, "mta_liar.c"), "-ldl"],
                   check=True, capture_output=True, timeout=120)
    return out


def ipv6_loopback():
    """Can a socket be bound to ::1 here?"""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def mta_pids(inst, role="smtpd.mta"):
    """The processes of a role of inst's smtpd that dropped root."""
    out = set()
    try:
        kids = descendants(inst.pid("smtpd"))
    except OSError:
        return out
    for pid in kids:
        try:
            comm, uids, _ = proc_info(pid)
        except OSError:
            continue
        if comm == role and uids[1] != 0:
            out.add(pid)
    return out


class ExchangeFaultsTest(Exchange):
    """isp-a under `may`, with short times: retry every 8 s, a lifetime
    of 24 s, a delay notice after 5 s (so a destination is dead for
    8 s)."""

    POLICY = "may"
    A_INSTANCE = LiarInstance
    EXTRA_ZONES = {
        "multi.test": ["@ MX 5 first", "first A 127.0.0.2",
                       "@ MX 10 mx.isp-b.test."],
        "v6.test": ["@ MX 10 mx6", "mx6 AAAA ::1"],
        "dead.test": ["@ MX 10 mx", "mx A 127.0.0.3"],
        "cohort.test": ["@ MX 10 mx", "mx A 127.0.0.4"],
        "late.test": ["@ MX 10 mx", "mx A 127.0.0.5"],
        "loop.test": ["@ MX 10 mx.isp-a.test.", "@ MX 20 mx.isp-b.test."],
    }
    STRIPPED = ("encrypt", "verify", "may")

    @classmethod
    def setup(cls):
        cls.tmp = tempfile.mkdtemp(prefix="faults-")
        cls.closers.append(lambda: shutil.rmtree(cls.tmp, True))
        # the liar only acts on a marker only the garble server sends
        LiarInstance.liar = build_liar(cls.tmp)
        cls.mitm = {p: Proxy(strip=True) for p in cls.STRIPPED}
        cls.selfproxy = Proxy()
        cls.garble = GarbleServer()
        cls.garble2 = GarbleServer("garble-mta-type")
        for c in list(cls.mitm.values()) + [cls.selfproxy, cls.garble,
                                            cls.garble2]:
            cls.closers.append(c.close)
        transport = ["strip-%s.test=127.0.0.1:%d" % (p, x.port)
                     for p, x in cls.mitm.items()]
        transport += ["self.test=127.0.0.1:%d" % cls.selfproxy.port,
                      "garble.test=127.0.0.1:%d" % cls.garble.port,
                      "garble2.test=127.0.0.1:%d" % cls.garble2.port]
        cls.A_SMTPD = {
            "transport": " ".join(transport),
            "tls_policy_map": " ".join("strip-%s.test=%s" % (p, p)
                                       for p in cls.STRIPPED),
            "retry_min": "8s", "retry_max": "8s",
            "queue_lifetime": "24s", "delay_warning_time": "5s",
        }
        super().setup()
        bport = cls.b.port("smtp")
        for p in cls.mitm.values():
            p.target = ("127.0.0.1", bport)
        cls.selfproxy.target = ("127.0.0.1", cls.a.port("smtp"))
        # "host with no answer" of the cohort: nothing but a close
        cls.silent = Proxy("127.0.0.4", bport)
        cls.closers.append(cls.silent.close)
        cls.v6 = None
        if ipv6_loopback():
            cls.v6 = Proxy("::1", bport, target=("127.0.0.1", bport))
            cls.closers.append(cls.v6.close)
        for who in ("bob@multi.test", "bob@v6.test",
                    "carol@strip-may.test"):
            cls.b.add_user(who, test_exchange.PASSWORD)

    # -- helpers ----------------------------------------------------------

    def inbox_with(self, inst, addr, *needles, timeout=60):
        """The messages in addr's INBOX that hold every needle, once
        there is one."""
        def look():
            out = []
            for p in inst.messages(addr):
                with open(p, "rb") as f:
                    data = f.read()
                if all(n.encode() in data for n in needles):
                    out.append(data)
            return out or None
        return wait_for(look, timeout, "%s in %s" % (needles, addr))

    def log_has(self, pattern, timeout=40):
        return wait_for(lambda: re.search(pattern, self.a.log("smtpd")),
                        timeout, pattern)

    def queued_text(self):
        ids = re.findall(r"id=([0-9a-f]{16})",
                         self.a.ctl("queue", "list").stdout)
        return "".join(self.a.ctl("queue", "show", i, check=False).stdout
                       for i in ids)

    # -- routes -----------------------------------------------------------

    def test_first_mx_without_listener_falls_back_to_the_second(self):
        self.submit(self.a, ALICE, "bob@multi.test", "fallback f1")
        self.find(self.b, "bob@multi.test", "fallback f1")
        log = self.sent_log(r"mta rcpt=<bob@multi\.test> .*status=sent")
        self.assertRegex(log, r"relay=first\.multi\.test\[127\.0\.0\.2\]"
                         r":\d+ policy=may not used: .*refused")
        self.assertRegex(log, r"mta rcpt=<bob@multi\.test> "
                         r"relay=mx\.isp-b\.test\[127\.0\.0\.1\]:\d+ "
                         r".*status=sent")

    def test_mx_with_only_an_ipv6_address(self):
        if self.v6 is None:
            self.skipTest("::1 cannot be bound here")
        self.submit(self.a, ALICE, "bob@v6.test", "over ipv6 f2")
        self.find(self.b, "bob@v6.test", "over ipv6 f2")
        self.assertRegex(self.sent_log(r"rcpt=<bob@v6\.test> .*status="),
                         r"mta rcpt=<bob@v6\.test> "
                         r"relay=mx6\.v6\.test\[::1\]:\d+ policy=may "
                         r"tls=TLSv1\.[23] .*status=sent")
        self.assertGreaterEqual(self.v6.connections, 1)

    # -- STARTTLS stripped ------------------------------------------------

    def stripped(self, policy):
        rcpt = "carol@strip-%s.test" % policy
        self.submit(self.a, ALICE, rcpt, "stripped %s f3" % policy)
        self.log_has(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d policy=%s "
                     r"not used: TLS is required, but .* did not offer "
                     r"STARTTLS" % (self.mitm[policy].port, policy))
        proxy = self.mitm[policy]
        self.assertTrue([x for x in proxy.lines if x.upper().startswith(
            "EHLO")], "the transmitter went through the proxy")
        self.assertEqual(proxy.sent_mail(), [])
        self.assertFalse([x for x in proxy.lines if "stripped" in x])
        self.assertRegex(self.queued_text(), r"%s(.|\n)*4\.7\.5 TLS is "
                         r"required" % re.escape(rcpt))

    def test_starttls_stripped_under_encrypt_sends_nothing_and_defers(self):
        self.stripped("encrypt")

    def test_starttls_stripped_under_verify_sends_nothing_and_defers(self):
        self.stripped("verify")

    def test_starttls_stripped_under_may_delivers_in_plain_text(self):
        self.submit(self.a, ALICE, "carol@strip-may.test", "stripped may f4")
        self.find(self.b, "carol@strip-may.test", "stripped may f4")
        self.assertRegex(self.sent_log(r"rcpt=<carol@strip-may\.test> "
                                       r".*status="),
                         r"mta rcpt=<carol@strip-may"
                         r"\.test> relay=\S+ policy=may tls=none "
                         r"verified=no .*status=sent")
        self.assertFalse([x for x in self.mitm["may"].lines
                          if x.upper() == "STARTTLS"])

    # -- dead hosts -------------------------------------------------------

    def test_dead_host_past_the_lifetime_bounces_to_alice(self):
        self.submit(self.a, ALICE, "bob@dead.test", "dead host f5")
        data = self.inbox_with(self.a, ALICE, "Undelivered Mail",
                               "dead host f5", timeout=90)[0]
        self.assertIn(b"Final-Recipient: rfc822; bob@dead.test", data)
        self.assertIn(b"Status: 4.4.7", data)

    def test_a_dead_destination_gets_one_cohort_not_one_try_a_message(self):
        for i in range(4):
            self.submit(self.a, ALICE, "u%d@cohort.test" % i,
                        "cohort %d f6" % i)
        wait_for(lambda: len(re.findall(
            r"dest=cohort\.test dead: not tried", self.a.log("smtpd"))) >= 3,
            30, "three messages deferred untried")
        self.assertEqual(self.silent.connections, 1)
        self.assertRegex(self.a.log("smtpd"), r"dest=cohort\.test dead: 1 "
                         r"attempt\(s\) in a row reached no server")
        self.assertRegex(self.queued_text(), r"u\d@cohort\.test(.|\n)*"
                         r"destination cohort\.test is dead")

    def test_delay_notice_once_then_the_bounce(self):
        self.submit(self.a, ALICE, "bob@late.test", "late mail f7")
        data = self.inbox_with(self.a, ALICE, "Delayed Mail", "late mail f7",
                               timeout=60)[0]
        self.assertIn(b"Action: delayed", data)
        self.assertIn(b"Final-Recipient: rfc822; bob@late.test", data)
        self.assertIn(b"Will-Retry-Until:", data)
        self.inbox_with(self.a, ALICE, "Undelivered Mail", "late mail f7",
                        timeout=90)
        self.assertEqual(len(self.inbox_with(self.a, ALICE, "Delayed Mail",
                                             "late mail f7")), 1)

    # -- loops ------------------------------------------------------------

    def test_we_are_the_best_mx_bounces_with_5_4_6(self):
        self.submit(self.a, ALICE, "bob@loop.test", "mx loop f8")
        data = self.inbox_with(self.a, ALICE, "Undelivered Mail",
                               "mx loop f8")[0]
        self.assertIn(b"Status: 5.4.6", data)
        self.assertIn(b"loops back to myself", data)

    def test_a_server_that_greets_with_our_name_bounces_with_5_4_6(self):
        self.submit(self.a, ALICE, "bob@self.test", "greeting loop f9")
        data = self.inbox_with(self.a, ALICE, "Undelivered Mail",
                               "greeting loop f9")[0]
        self.assertIn(b"Status: 5.4.6", data)
        self.assertIn(b"greeted me with my own hostname mx.isp-a.test", data)

    # -- transmitters -----------------------------------------------------

    def test_a_transmitter_cut_off_by_the_queue_is_restarted(self):
        before = wait_for(lambda: (lambda s: s if len(s) == 4 else None)(
            mta_pids(self.a)), 20, "four transmitters")
        self.submit(self.a, ALICE, "x@garble.test", "garbled f10")
        self.log_has(r"transmitter slot=\d sent a malformed "
                     r"IPC_QUEUE_DELIVERED")
        self.assertIn("mta_liar:", self.a.log("smtpd"))
        after = wait_for(lambda: (lambda s: s if len(s) == 4 and
                                  len(before - s) == 1 else None)(
            mta_pids(self.a)), 30, "the cut-off transmitter replaced")
        self.assertEqual(len(after - before), 1)
        # what it held is sent again, by a transmitter that works
        self.log_has(r"rcpt=<x@garble\.test> remote class=\S+ status=sent",
                     timeout=40)
        self.assertGreaterEqual(self.garble.messages, 2)

    def test_a_message_type_a_transmitter_may_not_send_cuts_it_off(self):
        """Not fatal for the queue: only that transmitter goes."""
        before = wait_for(lambda: (lambda s: s if len(s) == 4 else None)(
            mta_pids(self.a)), 20, "four transmitters")
        queue = mta_pids(self.a, "smtpd.queue")
        self.assertEqual(len(queue), 1)
        self.submit(self.a, ALICE, "x@garble2.test", "garbled f12")
        self.log_has(r"transmitter slot=\d sent a malformed message type")
        wait_for(lambda: (lambda s: len(s) == 4 and len(before - s) == 1)(
            mta_pids(self.a)), 30, "the cut-off transmitter replaced")
        self.log_has(r"rcpt=<x@garble2\.test> remote class=\S+ status=sent",
                     timeout=40)
        self.assertEqual(mta_pids(self.a, "smtpd.queue"), queue)
        self.assertNotIn("queue: unexpected message", self.a.log("smtpd"))

    def test_a_crashed_transmitter_is_restarted(self):
        before = wait_for(lambda: (lambda s: s if len(s) == 4 else None)(
            mta_pids(self.a)), 20, "four transmitters")
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        after = wait_for(lambda: (lambda s: s if len(s) == 4 and
                                  victim not in s else None)(
            mta_pids(self.a)), 30, "the crashed transmitter replaced")
        self.assertEqual(len(after - before), 1)
        self.submit(self.a, ALICE, test_exchange.BOB, "after crash f11")
        self.find(self.b, test_exchange.BOB, "after crash f11")


if __name__ == "__main__":
    unittest.main()
