"""fixtures.py - what the integration tests share beyond harness.py:

* InstanceCase, a TestCase whose tests share one Instance made in
  setUpClass from class attributes (configuration, users, daemons), and
  closed again even when setUpClass fails half-way;
* UnixServer, the listening skeleton of the stand-ins for a daemon on a
  unix socket (fakemda.FakeMda for mda's LMTP server, FakeQueue and
  HoldingQueue for smtpd's queue as submitd hands messages to it);
* the tagged fields of common/ipc (ipc_fields, ipc_encode);
* from /proc: holdings(), the files a process has open or mapped under
  some directories (who holds a database, who holds keys); role_pid(),
  a daemon's process by its name; rss_kb(), its resident memory.

    class QueueTest(InstanceCase):
        USERS = ("bob@example.test",)
        DAEMONS = ("smtpd",)

        def test_it(self):
            self.inst.port("smtp")
"""

import os
import socket
import struct
import threading
import time
import unittest

from harness import Instance, binary, descendants, proc_info, wait_for

IPC_OK, IPC_ERR = 1, 2     # the queue's answers (common/qhandoff.h)
IPC_QUEUE_MESSAGE = 200
IPC_FLAG_FD = 0x80000000


# -- one instance per test class -----------------------------------------

class InstanceCase(unittest.TestCase):
    """The tests of a class share cls.inst: an Instance with CONF as its
    extra configuration, each of USERS added (with PASSWORD, None for
    none), each of ALIASES, (user, alias, settings...), made, prepare()
    run, then DAEMONS started.  The class is skipped when a program of
    NEEDS is not built."""

    CONF = None
    USERS = ()
    PASSWORD = "pw"
    ALIASES = ()
    DAEMONS = ()
    NEEDS = ()

    @classmethod
    def setUpClass(cls):
        for name in cls.NEEDS:
            if not os.path.exists(binary(name)):
                raise unittest.SkipTest("%s not built" % name)
        cls.inst = Instance(extra_conf=cls.CONF)
        try:
            for user in cls.USERS:
                cls.inst.add_user(user, cls.PASSWORD)
            for alias in cls.ALIASES:
                cls.inst.ctl("user", "alias", "add", *alias)
            cls.prepare()
            cls.inst.start(*cls.DAEMONS)
        except BaseException:
            # tearDownClass does not run when setUpClass fails
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        """What the class needs between the users and the daemons."""

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()


# -- stand-ins for a daemon on a unix socket -----------------------------

class UnixServer:
    """A listening unix socket at path (replacing any file there) whose
    connections are each served by self.serve(conn) on a thread of its
    own; with one_connection, only the first is accepted.  close()
    stops listening and removes the socket file."""

    BACKLOG = 16
    MODE = None             # chmod the socket (other uids connect)

    def __init__(self, path, one_connection=False):
        self.path = path
        self.one_connection = one_connection
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        if self.MODE is not None:
            os.chmod(path, self.MODE)
        self.sock.listen(self.BACKLOG)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.one_connection:
                self.serve(conn)
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        raise NotImplementedError


# -- common/ipc's tagged fields ------------------------------------------

def ipc_fields(payload):
    """The tagged fields of an IPC payload, as a list of Python values."""
    out, pos = [], 0
    while pos < len(payload):
        tag = payload[pos:pos + 1]
        pos += 1
        if tag == b"u":
            out.append(struct.unpack(">I", payload[pos:pos + 4])[0])
            pos += 4
        elif tag == b"U":
            out.append(struct.unpack(">Q", payload[pos:pos + 8])[0])
            pos += 8
        elif tag in (b"s", b"d"):
            n = struct.unpack(">I", payload[pos:pos + 4])[0]
            pos += 4
            v = payload[pos:pos + n]
            pos += n + (1 if tag == b"s" else 0)
            out.append(v.decode("utf-8", "replace") if tag == b"s" else v)
        else:
            raise ValueError("bad IPC tag %r" % tag)
    return out


def ipc_encode(mtype, mid, fields):
    payload = b""
    for f in fields:
        if isinstance(f, int):
            payload += b"u" + struct.pack(">I", f)
        else:
            b = f.encode()
            payload += b"s" + struct.pack(">I", len(b)) + b + b"\0"
    return struct.pack(">III", mtype, mid, len(payload)) + payload


# -- smtpd's queue as submitd sees it ------------------------------------

class FakeQueue(UnixServer):
    """smtpd's queue as submitd sees it: IPC_QUEUE_MESSAGE in, then
    IPC_OK with the queue ID (or IPC_ERR when refuse is set)."""

    BACKLOG = 64

    def __init__(self, path, delay=0.0):
        self.delay = delay
        self.refuse = False
        self.messages = []
        self.lock = threading.Lock()
        super().__init__(path)

    @staticmethod
    def _read(conn, n, fds):
        data = b""
        while len(data) < n:
            chunk, got, _, _ = socket.recv_fds(conn, n - len(data), 4)
            if not chunk:
                raise EOFError
            fds.extend(got)
            data += chunk
        return data

    def serve(self, conn):
        fds = []
        with conn:
            try:
                hdr = self._read(conn, 12, fds)
                mtype, mid, plen = struct.unpack(">III", hdr)
                payload = self._read(conn, plen & ~IPC_FLAG_FD, fds)
            except EOFError:
                return
            f = ipc_fields(payload)
            msg = {"type": mtype, "id": f[0], "from": f[1], "class": f[2],
                   "helo": f[3], "peer": f[4], "author": f[5],
                   "flags": f[6], "rcpts": []}
            n = f[7]
            for i in range(n):
                msg["rcpts"].append(tuple(f[8 + 3 * i:11 + 3 * i]))
            data = b""
            if fds:
                os.lseek(fds[0], 0, os.SEEK_SET)
                while True:
                    chunk = os.read(fds[0], 65536)
                    if not chunk:
                        break
                    data += chunk
                for fd in fds:
                    os.close(fd)
            msg["data"] = data
            msg["hasfd"] = bool(plen & IPC_FLAG_FD)
            if self.delay:
                time.sleep(self.delay)
            if self.refuse:
                conn.sendall(ipc_encode(IPC_ERR, mid, [451, "4.3.0 full"]))
                return
            with self.lock:
                self.messages.append(msg)
            conn.sendall(ipc_encode(IPC_OK, mid, [msg["id"]]))

    def wait(self, n, timeout=10):
        wait_for(lambda: len(self.messages) >= n, timeout,
                 "%d queued messages" % n)
        return self.messages


class HoldingQueue(UnixServer):
    """smtpd's queue as a hand-off that never commits by itself: it takes
    one IPC_QUEUE_MESSAGE and waits.  eof is set when submitd shuts its
    side; commit_after_eof then answers IPC_OK all the same (the queue
    had committed before it saw the end)."""

    BACKLOG = 8

    def __init__(self, path, commit_after_eof=False):
        self.commit_after_eof = commit_after_eof
        self.taken = threading.Event()
        self.eof = threading.Event()
        self.ids = []
        super().__init__(path, one_connection=True)

    def serve(self, conn):
        with conn:
            data, fds = b"", []
            while len(data) < 12 or len(data) < 12 + (
                    struct.unpack(">III", data[:12])[2] & ~IPC_FLAG_FD):
                chunk, got, _, _ = socket.recv_fds(conn, 65536, 4)
                fds += got
                if not chunk:
                    return
                data += chunk
            for fd in fds:
                os.close(fd)
            mid = struct.unpack(">III", data[:12])[1]
            self.ids.append(ipc_fields(data[12:])[0])
            self.taken.set()
            conn.settimeout(30)
            try:
                rest = conn.recv(1)
            except OSError:
                return
            if rest == b"":
                self.eof.set()
                if self.commit_after_eof:
                    conn.sendall(ipc_encode(IPC_OK, mid,
                                            [self.ids[-1]]))


# -- /proc ---------------------------------------------------------------

def holdings(pid, dirs, allowed=()):
    """Files under dirs (or any __db.* / *.db) that pid has open or
    mapped; a file named in allowed counts only under dirs.  [] when pid
    has gone."""
    dirs = [os.path.realpath(d) + "/" for d in dirs]
    held = []

    def bad(path):
        path = path.replace(" (deleted)", "")
        base = os.path.basename(path)
        if any(path.startswith(d) for d in dirs):
            return True
        if base in allowed:
            return False
        return base.startswith("__db.") or base.endswith(".db")
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if bad(target):
                held.append("fd %s -> %s" % (fd, target))
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and bad(parts[5].strip()):
                    held.append("mapped %s" % parts[5].strip())
    except FileNotFoundError:
        pass            # it exited meanwhile
    return held


def role_pid(parent, role):
    """The pid of a process called role below parent, or None."""
    pids = role_pids(parent, role)
    return pids[0] if pids else None


def role_pids(parent, role):
    """The pids of every process called role below parent (mda runs
    [mda] lmtp_processes of mda.lmtp)."""
    out = []
    for pid in descendants(parent):
        try:
            if proc_info(pid)[0] == role:
                out.append(pid)
        except OSError:
            pass        # gone meanwhile
    return out


def settled_roles(parent, names, timeout=10.0):
    """[(pid, comm, uids, root)] of parent's descendants once every role
    in names runs and none of them is root any more (a child is root
    between its fork and its privilege drop); after timeout, what there
    is, so the caller's assertions say what is wrong."""
    def look():
        kids = []
        for pid in descendants(parent):
            try:
                kids.append((pid,) + tuple(proc_info(pid)))
            except OSError:
                continue        # gone meanwhile
        return kids

    def settled():
        kids = look()
        if (set(names) <= {k[1] for k in kids} and
                all(0 not in k[2] for k in kids)):
            return kids
        return None
    try:
        return wait_for(settled, timeout)
    except TimeoutError:
        return look()


def rss_kb(pid):
    """The resident memory of pid in KiB (0 when the kernel says none)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
