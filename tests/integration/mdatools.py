"""mdatools.py - what the tests of mda share (test_mda.py,
test_mda_hardening.py, test_mda_heal.py): a raw LMTP client and a plain
message; a class with one running mda and its users; the pids of the
mda.lmtp processes; code run as another uid; directories made as the mail user; and
the database files a process holds."""

import json
import os
import socket

from fixtures import InstanceCase, holdings, role_pid as process_named, \
    role_pids as process_pids
from harness import wait_for

BOB = "bob@example.test"
CAROL = "carol@example.test"
NOBODY = 65534

PLAIN = (b"From: alice@example.test\r\nTo: bob@example.test\r\n"
         b"Subject: plain\r\nMessage-ID: <p1@example.test>\r\n\r\n"
         b"Hello Bob,\r\n.a line that starts with a dot\r\nbye\r\n")


def new_qid():
    """A queue ID as smtpd makes them: 16 lowercase hex digits."""
    return os.urandom(8).hex()


def dotstuff(msg):
    out = []
    for line in msg.split(b"\r\n")[:-1]:
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out) + b"\r\n.\r\n"


class LMTPClient:
    """A raw LMTP client: one reply per recipient after DATA."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        assert self.reply()[0] == 220

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode()
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines[-1]

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def send(self, sender, rcpts, msg, cls=None, qid=None):
        """One transaction; with cls (as smtpd does) XSEAL names the
        class and a queue ID (qid, or a fresh one)."""
        self.cmd("LHLO test")
        if cls:
            code, text = self.xseal(cls, qid)
            assert code == 250, text
        assert self.cmd("MAIL FROM:<%s>" % sender)[0] == 250
        accepted = [r for r in rcpts if self.cmd("RCPT TO:<%s>" % r)[0] == 250]
        if not accepted:
            return []
        assert self.cmd("DATA")[0] == 354
        self.sock.sendall(dotstuff(msg))
        return [self.reply() for _ in accepted]

    def xseal(self, cls, qid=None):
        return self.cmd("XSEAL ID=%s CLASS=%s" % (qid or new_qid(),
                                                  cls.upper()))

    def close(self):
        self.cmd("QUIT")
        self.sock.close()


def as_uid(uid, fn):
    """fn() in a child process running as uid; its JSON-able result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            out = json.dumps(fn()).encode()
            while out:
                out = out[os.write(w, out):]
        except BaseException as e:     # report, never return into unittest
            os.write(w, json.dumps({"error": repr(e)}).encode())
            code = 1
        os._exit(code)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    res = json.loads(data.decode())
    if isinstance(res, dict) and "error" in res:
        raise AssertionError("as uid %d: %s" % (uid, res["error"]))
    return res


def role_pid(inst, role="mda.lmtp"):
    return process_named(inst.pid("mda"), role)


def role_pids(inst, role="mda.lmtp"):
    """Every process called role below mda ([mda] lmtp_processes of
    mda.lmtp)."""
    return process_pids(inst.pid("mda"), role)


def kill_roles(inst, sig=9):
    """Kill every mda.lmtp; their pids."""
    old = role_pids(inst)
    for pid in old:
        os.kill(pid, sig)
    return old


def new_role_pids(inst, old, timeout=10):
    """Once as many mda.lmtp run as before, none of them one of old:
    their pids."""
    return wait_for(lambda: (lambda now: now if len(now) == len(old) and
                             not set(now) & set(old) else None)(
        role_pids(inst)), timeout, "new mda.lmtp processes")


def db_holdings(inst, pid):
    """Files of db_dir, Berkeley DB regions or .db files pid has open or
    mapped (as test_privsep checks)."""
    return holdings(pid, [inst.path("db")])


def chown_vmail(inst, *paths):
    u = inst.users["vmail"]
    for p in paths:
        os.lchown(p, u.pw_uid, u.pw_gid)


def vmail_dir(inst, path, mode=0o700):
    """path, made with any missing parent, each owned by the mail user."""
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = os.path.dirname(p)
    for p in reversed(missing):
        os.mkdir(p, 0o700)
        chown_vmail(inst, p)
    os.chmod(path, mode)
    chown_vmail(inst, path)
    return path


def user_dir(inst, addr):
    local, domain = addr.split("@")
    return inst.path("mail", domain, local)



class MdaCase(InstanceCase):
    """An instance with users, running mda, shared by a class's tests."""

    USERS = (BOB, CAROL)
    DAEMONS = ("mda",)

    def lmtp(self):
        return LMTPClient(self.inst.path("run", "lmtp.sock"))

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def count(self, addr, folder=""):
        return len(self.inst.messages(addr, folder))

    def assertParentAlive(self):
        self.assertIsNone(self.inst.procs["mda"].poll(),
                          "mda's root parent exited:\n%s"
                          % self.inst.log("mda")[-3000:])

    def deliver_ok(self, addr=BOB, cls="safe"):
        """A delivery works end to end (and the parent is alive)."""
        before = self.count(addr, "" if cls == "safe" else "Unsafe")
        c = self.lmtp()
        replies = c.send("alice@example.test", [addr], PLAIN, cls)
        c.close()
        self.assertEqual([r[0] for r in replies], [250], replies)
        self.assertEqual(self.count(addr, "" if cls == "safe" else "Unsafe"),
                         before + 1)


def lmtp_lines(path, lines, data=None):
    """Connect, then send each line and collect its reply (multi-line
    replies joined); with data, send it (dot-stuffed) after the last
    line and collect one more reply.  For use as another uid."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    f = s.makefile("rb")

    def reply():
        out = []
        while True:
            line = f.readline().decode()
            if not line:
                out.append("EOF")
                return out
            out.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                return out
    replies = [reply()]
    for line in lines:
        s.sendall(line.encode() + b"\r\n")
        replies.append(reply())
    if data is not None:
        s.sendall(dotstuff(data))
        replies.append(reply())
    s.close()
    return replies
