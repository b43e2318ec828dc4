#!/usr/bin/env python3
"""bench_imap.py - one IMAP workload against Sealmail's imapd and Debian's
Dovecot, over copies of the same Maildirs, both on loopback with implicit
TLS and the same password hashes (crypt(3), as sealmailctl writes them).

    python3 bench/imap/bench_imap.py [--builddir build] [--users 100]
        [--msgs 100] [--runs 3] [--secs 2] [--conns 1000] [--out FILE]

Workload (each op is timed for --secs seconds by 2 client processes, on
their own users; the median of --runs runs is reported):
    login       TCP + TLS handshake + LOGIN + LOGOUT
    select      SELECT INBOX on a logged-in connection
    headers     UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS
                (From To Subject Date Message-ID)]) -- every message
    body        UID FETCH <random uid> BODY.PEEK[]
    flags       UID STORE <random uid> +FLAGS/-FLAGS (\\Flagged)
    search      UID SEARCH SUBJECT <word> | UNSEEN | FROM <name>, in turn
    append      10 client processes, one user each, each APPENDs a 5 KB
                message to its INBOX in a loop (not selected); the sum of
                tagged OKs per second.  Run last, as it grows the folders.
Dovecot runs in the configurations named by --dovecot, one after the
other on the same copy of the Maildirs:
    stock       as installed (mail_fsync = optimized: fsync of the message
                file when saved, index written without fsync)
    fast        the "high-performance" settings: imap-login in
                high-performance mode (service_count = 0, one process per
                CPU), mail_fsync = never, maildir_very_dirty_syncs = yes
    always      the same but mail_fsync = always (fsync of the message and
                of every index write before the tagged OK)
Sealmail fsyncs the message file and cur/ before the tagged OK (and its
index as it says in bench/imap/RESULTS-imap.md).
Memory: --conns logged-in connections (SELECT INBOX, then idle) spread
evenly over all users; the PSS and RSS of every server process, minus what
they used before the first connection, divided by the connections.

Needs root (both servers start as root), dovecot-imapd installed, and a
build tree with imapd and sealmailctl.  Writes a Markdown summary.
"""

import argparse
import imaplib
import multiprocessing
import os
import pwd
import random
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

PW = "bench-password"
DOMAIN = "example.test"
WORDS = ("report", "meeting", "invoice", "holiday", "release", "budget",
         "review", "coffee", "server", "backup")
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank")


def user(i):
    return "u%03d@%s" % (i, DOMAIN)


def make_message(rng, i):
    subj = "%s %s %d" % (rng.choice(WORDS), rng.choice(WORDS), i)
    frm = rng.choice(NAMES)
    body = "".join("%s line %d of message %d\r\n" % (rng.choice(WORDS), n, i)
                   for n in range(rng.randint(5, 300)))
    hdr = ("From: %s <%s@example.org>\r\nTo: someone@example.test\r\n"
           "Subject: %s\r\nDate: Mon, %d Jun 2025 10:%02d:00 +0000\r\n"
           "Message-ID: <%d.%d@example.org>\r\n" %
           (frm.title(), frm, subj, 1 + i % 28, i % 60, i, rng.randint(0, 1 << 30)))
    if i % 5 == 0:
        return (hdr + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                "boundary=\"b%d\"\r\n\r\n--b%d\r\nContent-Type: text/plain\r\n"
                "\r\n%s--b%d\r\nContent-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n"
                "--b%d--\r\n" % (i, i, body, i, i)).encode()
    return (hdr + "\r\n" + body).encode()


def fill_maildir(md, nmsgs, seed, vm):
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    t0 = 1700000000
    for i in range(nmsgs):
        name = "%d.M%06dP1Q%d.bench:2,%s" % (t0 + i, i, i,
                                             "S" if rng.random() < 0.7 else "")
        p = os.path.join(md, "cur", name)
        with open(p, "wb") as f:
            f.write(make_message(rng, i))
        os.utime(p, (t0 + i, t0 + i))
    for root, dirs, files in os.walk(os.path.dirname(md)):
        for n in dirs + files:
            os.chown(os.path.join(root, n), vm.pw_uid, vm.pw_gid)
    os.chown(os.path.dirname(md), vm.pw_uid, vm.pw_gid)


DOVECOT_CONF = """
base_dir = {p}/run
state_dir = {p}/state
log_path = {p}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{etc}/cert.pem
ssl_key = <{etc}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=CRYPT {p}/passwd
}}
userdb {{
  driver = static
  args = uid=vmail gid=vmail home={p}/mail/%d/%n
}}
mail_location = maildir:~/Maildir
{extra}
mail_max_userip_connections = 1000
default_process_limit = 1500
default_client_limit = 5000
service imap-login {{
{login_extra}
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


HP_LOGIN = "  service_count = 0\n  process_min_avail = %d\n" % os.cpu_count()
DOVECOT_MODES = {
    "stock": ("", ""),
    "fast": ("mail_fsync = never\nmaildir_very_dirty_syncs = yes\n", HP_LOGIN),
    "always": ("mail_fsync = always\n", HP_LOGIN),
}


def scheme_of(hashes):
    """The crypt(3) scheme of every hash ("$y$" yescrypt), which must be
    one: both servers check the same strings."""
    schemes = set(h.split("$")[1] if h.startswith("$") else "des"
                  for h in hashes)
    if len(schemes) != 1:
        raise SystemExit("password hashes of several schemes: %s" % schemes)
    return {"y": "yescrypt", "6": "sha512crypt", "2b": "bcrypt"}.get(
        schemes.pop(), "?")


class Servers:
    def __init__(self, args):
        os.environ["SEALMAIL_BUILDDIR"] = args.builddir
        from harness import Instance
        self.inst = Instance(prefix=tempfile.mkdtemp(prefix="sm-imapbench-",
                                                     dir="/tmp"), extra_conf={
            "imapd": {"max_sessions": "5000", "max_sessions_per_ip": "5000"},
            "submitd": {"pam_workers": str(args.pam_workers)},
            "global": {"log_level": os.environ.get("BENCH_LOG", "warn")}})
        self.args = args
        vm = pwd.getpwnam("vmail")
        for i in range(args.users):
            self.inst.add_user(user(i), PW)
            fill_maildir(self.inst.maildir(user(i)), args.msgs, i, vm)
        # Dovecot gets a copy of the same Maildirs and the same hashes
        self.dprefix = self.inst.path("dovecot")
        os.makedirs(self.dprefix)
        shutil.copytree(self.inst.path("mail"),
                        os.path.join(self.dprefix, "mail"), symlinks=True)
        os.chown(os.path.join(self.dprefix, "mail"), vm.pw_uid, vm.pw_gid)
        for root, dirs, files in os.walk(os.path.join(self.dprefix, "mail")):
            for n in dirs + files:
                os.chown(os.path.join(root, n), vm.pw_uid, vm.pw_gid)
        dump = subprocess.run(["db5.3_dump", "-p", self.inst.path("db", "passwd.db")],
                              capture_output=True, text=True, check=True).stdout
        lines = dump.split("HEADER=END\n", 1)[1].splitlines()
        lines = [ln.strip() for ln in lines if ln.startswith(" ")]
        with open(os.path.join(self.dprefix, "passwd"), "w") as f:
            for k, v in zip(lines[0::2], lines[1::2]):
                f.write("%s:{CRYPT}%s\n" % (k, v))
        self.dport = self.free_port()
        self.ports = {"sealmail": self.inst.port("imaps")}
        for mode in args.dovecot:
            extra, login = DOVECOT_MODES[mode]
            with open(os.path.join(self.dprefix, "dovecot-%s.conf" % mode),
                      "w") as f:
                f.write(DOVECOT_CONF.format(p=self.dprefix,
                                            etc=self.inst.path("etc"),
                                            port=self.dport, extra=extra,
                                            login_extra=login))
            self.ports["dovecot-" + mode] = self.dport

        self.scheme = scheme_of(lines[1::2])
        self.procs = {}

    @staticmethod
    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def start(self, name):
        if name == "sealmail":
            self.inst.start("imapd")
            self.procs[name] = self.inst.pid("imapd")
        else:
            p = subprocess.Popen(["dovecot", "-F", "-c", os.path.join(
                self.dprefix, "%s.conf" % name)], stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT)
            self.dovecot = p
            end = time.time() + 20
            while time.time() < end:
                try:
                    socket.create_connection(("127.0.0.1", self.dport), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            self.procs[name] = p.pid

    def stop(self, name):
        if name == "sealmail":
            self.inst.stop("imapd")
        else:
            self.dovecot.terminate()
            self.dovecot.wait(20)

    def close(self):
        self.inst.close()


def ssl_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(port, u):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl_ctx())
    # imaplib sends a literal and its CRLF in two writes: with Nagle the
    # second waits for the peer's delayed ACK (40 ms), which would be
    # measured instead of the server
    m.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    m.login(u, PW)
    return m


def worker(args):
    op, port, users, secs, seed = args
    rng = random.Random(seed)
    n = 0
    m = None
    if op == "append":
        return append_worker(port, users[0], secs, seed)
    if op != "login":
        m = connect(port, users[0])
        m.select("INBOX")
        uids = m.uid("SEARCH", "ALL")[1][0].split()
    end = time.time() + secs
    while time.time() < end:
        if op == "login":
            c = connect(port, users[n % len(users)])
            c.logout()
        elif op == "select":
            m.select("INBOX")
        elif op == "headers":
            m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER."
                  "FIELDS (From To Subject Date Message-ID)])")
        elif op == "body":
            m.uid("FETCH", rng.choice(uids), "(BODY.PEEK[])")
        elif op == "flags":
            m.uid("STORE", rng.choice(uids), "+FLAGS" if n % 2 == 0 else
                  "-FLAGS", "(\\Flagged)")
        elif op == "search":
            k = n % 3
            if k == 0:
                m.uid("SEARCH", "SUBJECT", rng.choice(WORDS))
            elif k == 1:
                m.uid("SEARCH", "UNSEEN")
            else:
                m.uid("SEARCH", "FROM", rng.choice(NAMES))
        n += 1
    if m is not None:
        m.logout()
    return n


def append_message(seed):
    """About 5 KB, CRLF line ends, a different Message-ID each."""
    hdr = ("From: Bench <bench@example.org>\r\nTo: someone@example.test\r\n"
           "Subject: append %d\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n"
           "Message-ID: <append.%d@example.org>\r\n\r\n" % (seed, seed))
    line = "%s\r\n" % ("x" * 70)
    return (hdr + line * ((5120 - len(hdr)) // len(line))).encode()


def append_worker(port, u, secs, seed):
    m = connect(port, u)
    n = 0
    end = time.time() + secs
    while time.time() < end:
        typ, _ = m.append("INBOX", None, None, append_message(seed * 100000 + n))
        if typ != "OK":
            raise SystemExit("APPEND failed: %s" % typ)
        n += 1
    m.logout()
    return n


APPEND_CLIENTS = 10
OPS = ("login", "select", "headers", "body", "flags", "search", "append")


def run_ops(port, args, run):
    out = {}
    with multiprocessing.Pool(APPEND_CLIENTS) as pool:
        for op in args.ops:
            if op == "append":
                # user 50.. : not the users the other ops read
                jobs = [(op, port, [user(50 + w)], args.secs, run * 100 + w)
                        for w in range(APPEND_CLIENTS)]
            else:
                jobs = [(op, port, [user(w * 10 + j) for j in range(10)],
                         args.secs, run * 100 + w) for w in range(2)]
            counts = pool.map(worker, jobs)
            out[op] = sum(counts) / args.secs
    return out


def tree(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    s = f.read()
                kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
            except OSError:
                pass
    out, todo = [pid], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def memory(pid):
    """(PSS, RSS) in kB summed over the process tree below pid."""
    pss = rss = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def idle_memory(port, pid, args):
    base = memory(pid)
    conns = []
    for i in range(args.conns):
        m = connect(port, user(i % args.users))
        m.select("INBOX")
        conns.append(m)
    time.sleep(2)
    used = memory(pid)
    nproc = len(tree(pid))
    for m in conns:
        try:
            m.logout()
        except Exception:
            pass
    return ((used[0] - base[0]) / args.conns, (used[1] - base[1]) / args.conns,
            nproc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.path.join(SRC, "build"))
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--msgs", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=2.0)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--ops", default=",".join(OPS),
                    help="comma-separated, of: " + ",".join(OPS))
    ap.add_argument("--dovecot", default="stock",
                    help="comma-separated Dovecot modes: stock,fast,always")
    ap.add_argument("--pam-workers", type=int, default=0,
                    help="Sealmail's [submitd] pam_workers (0: one per CPU)")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS-imap.md"))
    args = ap.parse_args()
    args.ops = [o for o in OPS if o in args.ops.split(",")]
    args.dovecot = args.dovecot.split(",")
    if args.users < 60 and "append" in args.ops:
        ap.error("append uses users 50-59: --users 60 or more")
    args.builddir = os.path.abspath(args.builddir)
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    srv = Servers(args)
    runs = {name: [] for name in srv.ports}
    mem = {}
    try:
        # back to back in every run, so both see the same machine load
        for r in range(args.runs):
            for name in srv.ports:
                srv.start(name)
                runs[name].append(run_ops(srv.ports[name], args, r))
                print(name, r, runs[name][-1], flush=True)
                if r == args.runs - 1 and args.conns:
                    mem[name] = idle_memory(srv.ports[name], srv.procs[name],
                                            args)
                srv.stop(name)
    finally:
        srv.close()
    results = {name: ({op: statistics.median(x[op] for x in runs[name])
                       for op in args.ops}, runs[name],
                      mem.get(name, (0, 0, 0))) for name in runs}
    write_results(args, srv.scheme, results)


def ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def write_results(args, scheme, results):
    s = results["sealmail"]
    peers = [n for n in results if n != "sealmail"]
    lines = [
        "# IMAP benchmark: Sealmail imapd vs Dovecot",
        "",
        "Same Maildirs (%d users x %d messages in INBOX, 20%% multipart), "
        "implicit TLS on loopback, the same %s password hashes (crypt(3), "
        "written by sealmailctl) for both; 2 client processes (10 for "
        "append); each op timed %gs; median of %d runs, Sealmail and "
        "every Dovecot mode back to back in each run (ops/s, higher is "
        "better).  Dovecot %s."
        % (args.users, args.msgs, scheme, args.secs, args.runs,
           dovecot_version()),
        "",
        "| op | Sealmail | " + " | ".join(peers) + " | " +
        " | ".join("Sealmail / " + p for p in peers) + " |",
        "| --- | ---: | " + " | ".join("---:" for p in peers * 2) + " |",
    ]
    for op in args.ops:
        a = s[0][op]
        lines.append("| %s | %.1f | %s | %s |" % (
            op, a, " | ".join("%.1f" % results[p][0][op] for p in peers),
            " | ".join(ratio(a, results[p][0][op]) for p in peers)))
    if args.conns:
        d = results[peers[0]]
        lines += [
            "",
            "Memory per idle logged-in connection (%d connections over %d "
            "users, each SELECTed INBOX), over the servers' footprint "
            "before the first connection, against %s:"
            % (args.conns, args.users, peers[0]),
            "",
            "| | Sealmail | Dovecot | ratio |",
            "| --- | ---: | ---: | ---: |",
            "| PSS kB/conn | %.1f | %.1f | %s |" % (s[2][0], d[2][0],
                                                  ratio(s[2][0], d[2][0])),
            "| RSS kB/conn | %.1f | %.1f | %s |" % (s[2][1], d[2][1],
                                                  ratio(s[2][1], d[2][1])),
            "| processes | %d | %d | |" % (s[2][2], d[2][2]),
        ]
    lines += ["", "Every run (ops/s):", ""]
    for name in results:
        for i, r in enumerate(results[name][1]):
            lines.append("- %s run %d: %s" % (name, i + 1, ", ".join(
                "%s %.1f" % (op, r[op]) for op in args.ops)))
    lines += [
        "",
        "fsync policy: Sealmail fsyncs an APPENDed message's file and cur/ "
        "before the tagged OK; Dovecot stock fsyncs the message file "
        "(mail_fsync = optimized), fast fsyncs nothing (mail_fsync = "
        "never), always fsyncs the message and its index writes.  "
        "Neither fsyncs the directory as Sealmail does, so dovecot-always "
        "is the like-for-like comparison for append.",
        "",
        "Reproduce (as root, with dovecot-imapd installed and a build in "
        "build/):",
        "",
        "    python3 bench/imap/bench_imap.py --builddir build --users %d "
        "--msgs %d --runs %d --secs %g --conns %d --ops %s --dovecot %s "
        "--pam-workers %d --out FILE"
        % (args.users, args.msgs, args.runs, args.secs, args.conns,
           ",".join(args.ops), ",".join(args.dovecot), args.pam_workers),
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def dovecot_version():
    try:
        return subprocess.run(["dovecot", "--version"], capture_output=True,
                              text=True).stdout.split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
