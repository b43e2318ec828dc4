"""fakemda.py - a recording LMTP server that stands in for mda, for the
tests of smtpd (test_smtpd.py, test_smtpd_heal.py): what smtpd.delivery
hands over can be checked exactly, and failures and timing ordered.
Also mda_offers_xseal() for a real mda, and read_reply() for any SMTP or
LMTP reply on a socket file.
"""

import re
import socket
import struct
import threading
import time

from fixtures import UnixServer
from harness import wait_for


class FakeMda(UnixServer):
    """An LMTP server (RFC 2033) recording every transaction.

    It offers XSEAL as mda does (the agreed hand-off: "XSEAL ID=<queue
    id> CLASS=SAFE|UNSAFE" after LHLO, before MAIL) unless xseal=False.
    messages holds (MAIL line, [rcpt], data, XSEAL line or None) for each
    transaction that got a 250; commands every command line received.

    fail maps a user to a list of reply lines used (and consumed) for
    the per-recipient answer after DATA, e.g. ["451 4.2.0 busy"].  With
    hold set, a transaction that has its data waits for release before
    it answers (and is recorded); held lists the pids of the clients
    (SO_PEERCRED) waiting so.  A client that goes away during DATA or
    while held delivered nothing.  With bye set, a session ends after
    each transaction with an unasked 421 (as mda's engine ends an idle
    one), and the socket closes a second later."""

    MODE = 0o777

    def __init__(self, path, xseal=True):
        self.xseal = xseal
        self.messages = []      # (mail line, [rcpt], data, xseal line)
        self.commands = []
        self.fail = {}
        self.down = False       # True: refuse every connection (421)
        self.bye = False
        self.hold = False
        self.release = threading.Event()
        self.held = []
        self.lock = threading.Lock()
        super().__init__(path)

    def serve(self, c):
        f = c.makefile("rb")
        pid = struct.unpack("3i", c.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]

        def send(s):
            c.sendall(s.encode() + b"\r\n")
        try:
            if self.down:
                send("421 4.3.2 fake-mda is down")
                return
            send("220 fake-mda LMTP")
            xseal, mail, rcpts = None, None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                with self.lock:
                    self.commands.append(cmd)
                up = cmd.upper()
                if up.startswith("LHLO"):
                    send("250-fake-mda")
                    if self.xseal:
                        send("250-XSEAL")
                    send("250-SMTPUTF8")
                    send("250 PIPELINING")
                elif up.startswith("XSEAL ") and self.xseal:
                    if mail is not None or xseal is not None:
                        send("503 5.5.1 XSEAL once, before MAIL")
                    elif not re.fullmatch(r"XSEAL ID=[0-9a-f]{16} "
                                          r"CLASS=(SAFE|UNSAFE)", cmd, re.I):
                        send("501 5.5.4 bad XSEAL")
                    else:
                        xseal = cmd
                        send("250 2.0.0 OK")
                elif up.startswith("MAIL FROM:"):
                    mail, rcpts = cmd, []
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    rcpts.append(re.search(r"<(.*)>", cmd).group(1))
                    send("250 2.1.5 ok")
                elif up == "RSET":
                    xseal, mail, rcpts = None, None, []
                    send("250 2.0.0 ok")
                elif up == "DATA":
                    send("354 go")
                    data = b""
                    while True:
                        l = f.readline()
                        if not l:
                            return      # the client went away
                        if l == b".\r\n":
                            break
                        if l.startswith(b".."):
                            l = l[1:]
                        data += l
                    if self.hold:
                        with self.lock:
                            self.held.append(pid)
                        self.release.wait(60)
                        c.setblocking(False)
                        try:
                            if c.recv(1, socket.MSG_PEEK) == b"":
                                return  # gone while held
                        except BlockingIOError:
                            pass
                        c.setblocking(True)
                    answers = []
                    with self.lock:
                        for r in rcpts:
                            q = self.fail.get(r)
                            answers.append(q.pop(0) if q else "250 2.0.0 ok")
                        if any(a.startswith("2") for a in answers):
                            self.messages.append((mail, list(rcpts), data,
                                                  xseal))
                    for a in answers:
                        send(a)
                    xseal, mail, rcpts = None, None, []
                    if self.bye:
                        send("421 4.4.2 fake-mda idle timeout")
                        time.sleep(1)   # said, not yet closed
                        return
                elif up == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("500 5.5.2 what")
        except OSError:
            return
        finally:
            c.close()

    def wait(self, n, timeout=15):
        wait_for(lambda: len(self.messages) >= n, timeout,
                 "%d message(s) at the fake mda" % n)
        return self.messages


def mda_offers_xseal(path, timeout=10):
    """Whether the LMTP server on path (the real mda) offers XSEAL, the
    hand-off smtpd.delivery requires (it defers everything otherwise)."""
    end = time.time() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(path)
                f = s.makefile("rb")
                read_reply(f)
                s.sendall(b"LHLO probe.example.test\r\n")
                caps = [l[4:].split(" ")[0].upper() for l in read_reply(f)]
                s.sendall(b"QUIT\r\n")
                return "XSEAL" in caps
        except (OSError, EOFError):
            if time.time() > end:
                raise
            time.sleep(0.1)


def read_reply(f):
    """One SMTP reply (all its lines) from a socket file."""
    lines = []
    while True:
        l = f.readline()
        if not l:
            raise EOFError("connection closed")
        lines.append(l.decode("utf-8", "replace").rstrip("\r\n"))
        if len(l) < 4 or l[3:4] != b"-":
            return lines
