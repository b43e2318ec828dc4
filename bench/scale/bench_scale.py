#!/usr/bin/env python3
"""bench_scale.py - how the cost of one delivery and of the everyday IMAP
commands grows with the size of the folder: Sealmail (mda, imapd) against
Debian's Dovecot 2.3.19 (dovecot-lda, imapd) on copies of the same Maildir.

    python3 bench/scale/bench_scale.py [--builddir build]
        [--sizes 1000,10000,100000] [--reps 5] [--max-secs 900]
        [--profile DIR] [--out FILE]

For each size one user gets an INBOX of that many messages, written
straight into cur/ by bench/imap/bench_imap.py's fill_maildir (20%
multipart, 70% \\Seen), and Dovecot's user gets a copy of it (the servers
are bench_imap.py's Servers: the same instance, password hashes and TLS
certificate).  Both servers run for the whole run; every operation is
timed on Sealmail and on Dovecot back to back (the order alternates each
repetition), from the client's side (Python's imaplib over implicit TLS
on loopback, or the LDA process from fork to exit):

    first open  SELECT INBOX on a fresh login, the folder never opened:
                builds each server's index (reported once, not a median)
    deliver     one 5 KB message through the LDA, as root: Sealmail's
                `mda -d USER -s safe` with the user's quota_bytes set
                (sealmailctl user set USER quota_bytes=10G); Dovecot's
                dovecot-lda with the maildir quota plugin (quota =
                maildir, a 10 GB rule) and mail_fsync = always.  The
                first delivery is reported apart: it is where Dovecot
                builds its maildirsize file.
    select      SELECT INBOX on a fresh login (the login not timed)
    fetch50     UID FETCH of the newest 50 messages' FLAGS and header
                fields From To Subject Date Message-ID
    search      UID SEARCH SUBJECT <word> where only the delivered
                messages carry the word (the whole folder is searched, the
                answer stays a few UIDs long)
    store       UID STORE of one random message, +FLAGS then -FLAGS
                (\\Flagged) in turn

Each figure is the median of --reps repetitions, in milliseconds; the
ratio is Dovecot's time over Sealmail's (above 1: Sealmail is faster, as
in the other benchmarks' Sealmail / peer figures); the growth columns
divide a size's median by the smallest size's.  Every answer is checked
(the number of messages fetched, the UIDs found) so a server that fails
is not timed as fast.  The whole run is bounded by --max-secs (checked
between operations; each IMAP command also times out after 300 s), and
every server and temporary directory is removed at the end, on failure
and on Ctrl-C too.

--profile DIR then runs each operation again at the largest size under
perf record (cpu-clock, flat report) and under strace -c -f, over every
process of each server, into DIR/{perf,strace}-SERVER-OP.txt: about 5
minutes more at 100,000 messages.

Needs root (both servers and both LDAs start as root), dovecot-imapd,
dovecot-core and a build tree with imapd, mda and sealmailctl.
"""

import argparse
import imaplib
import os
import pwd
import random
import resource
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "bench", "imap"))
sys.path.insert(0, os.path.join(SRC, "bench", "mda"))

import bench_imap  # noqa: E402
from bench_imap import PW, DOMAIN, Servers, fill_maildir  # noqa: E402
import bench_mda  # noqa: E402

DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
SENDER = "alice@example.net"
WORD = "quokka"         # in the delivered messages' subjects only
QUOTA = "10G"
HDRS = "(UID FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])"
CMD_TIMEOUT = 300

# appended to bench_imap's Dovecot config: quota for the LDA, fsync of
# every delivered message as Sealmail does, and what dovecot-lda needs
DOVECOT_EXTRA = """
mail_plugins = $mail_plugins quota
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=10G
}
postmaster_address = postmaster@example.test
hostname = mx.example.test
protocol lda {
  mail_fsync = always
}
"""

OPS = ("deliver", "select", "fetch50", "search", "store")
SERVERS = ("sealmail", "dovecot")


SIZES = []     # the run's folder sizes, smallest first


def size_user(n):
    """bench_imap's user number i holds the folder of the i-th size."""
    return bench_imap.user(SIZES.index(n))


def message(u, i):
    """A 5 KB message to u (bench_mda's text) whose subject has WORD."""
    rng = random.Random(i)
    h = ("From: Alice <%s>\nTo: <%s>\nSubject: %s delivery %d\n"
         "Date: Mon, 23 Nov 2026 17:00:00 +0000\n"
         "Message-ID: <scale-%d@example.net>\n\n" % (SENDER, u, WORD, i, i))
    return (h + bench_mda.text(rng, 5120 - len(h))).encode()


class ScaleServers(Servers):
    """bench_imap's Servers, Dovecot as stock with the quota plugin; user
    number i of bench_imap gets the folder of the i-th size."""

    def __init__(self, args, sizes):
        # dovecot, ops, pam_workers: for a Servers that runs Dovecot in
        # named modes and sets Sealmail's PAM workers (0: its default)
        a = argparse.Namespace(builddir=args.builddir, users=len(sizes),
                               msgs=0, dovecot=["stock"], ops=[], conns=0,
                               pam_workers=0)
        self.dovecot = None
        try:
            super().__init__(a)
        except BaseException:
            if getattr(self, "inst", None) is not None:
                self.inst.close()   # made before what failed
            raise
        self.vm = pwd.getpwnam("vmail")
        # the peer's name in Servers: "dovecot", or one per Dovecot mode
        self.peer = "dovecot" if "dovecot" in self.ports else "dovecot-stock"
        self.ports["dovecot"] = self.ports[self.peer]
        self.dconf = os.path.join(self.dprefix, self.peer + ".conf")
        with open(self.dconf, "a") as f:
            f.write(DOVECOT_EXTRA)
        self.sizes = sizes
        for i, n in enumerate(sizes):
            self.inst.ctl("user", "set", size_user(n), "quota_bytes=" + QUOTA)

    def fill(self, n):
        """The same n messages (fill_maildir is deterministic) for both."""
        u = size_user(n)
        fill_maildir(self.inst.maildir(u), n, n, self.vm)
        local = u.split("@")[0]
        fill_maildir(os.path.join(self.dprefix, "mail", DOMAIN, local,
                                  "Maildir"), n, n, self.vm)

    def start(self, name):
        super().start(self.peer if name == "dovecot" else name)

    def lda_argv(self, name, u):
        import harness      # after Servers set SEALMAIL_BUILDDIR
        if name == "sealmail":
            return [harness.binary("mda"), "-c", self.inst.conf,
                    "-d", u, "-s", "safe", "-f", SENDER]
        return [DOVECOT_LDA, "-c", self.dconf, "-d", u, "-f", SENDER]

    def shutdown(self):
        d = self.dovecot
        if d is not None and d.poll() is None:
            d.terminate()
            try:
                d.wait(20)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
        self.inst.stop_all()
        # the two copies at once: on a disk mounted with discard every
        # unlink waits for its discard, and 200,000 of them take minutes
        rms = [subprocess.Popen(["rm", "-rf", "--one-file-system", d])
               for d in (self.inst.path("mail"),
                         os.path.join(self.dprefix, "mail"))]
        for p in rms:
            p.wait()
        self.close()


class Clock:
    """The run's time budget."""

    def __init__(self, secs):
        self.end = time.monotonic() + secs

    def check(self, what):
        if time.monotonic() > self.end:
            raise TimeoutError("time budget spent before %s" % what)


def login(port, u):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=bench_imap.ssl_ctx(),
                          timeout=CMD_TIMEOUT)
    m.login(u, PW)
    return m


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t0) * 1000.0, r


def ok(r, what):
    if r[0] != "OK":
        raise RuntimeError("%s: %s" % (what, r))
    return r[1]


def t_select(port, u):
    m = login(port, u)
    try:
        ms, r = timed(lambda: m.select("INBOX"))
        n = int(ok(r, "SELECT")[0])
    finally:
        m.logout()
    return ms, n


def newest_uids(m, exists, k):
    data = ok(m.fetch("%d:%d" % (max(1, exists - k + 1), exists), "(UID)"),
              "FETCH UID")
    return [int(x.split(b"UID ")[1].split(b")")[0]) for x in data if x]


class Session:
    """One logged-in connection per server, INBOX selected."""

    def __init__(self, port, u):
        self.m = login(port, u)
        self.exists = int(ok(self.m.select("INBOX"), "SELECT")[0])
        self.newest = newest_uids(self.m, self.exists, 50)
        self.flag = 0

    def fetch50(self):
        lo, hi = min(self.newest), max(self.newest)
        ms, r = timed(lambda: self.m.uid("FETCH", "%d:%d" % (lo, hi), HDRS))
        got = [x for x in ok(r, "UID FETCH") if isinstance(x, tuple)]
        if len(got) != 50:
            raise RuntimeError("UID FETCH %d:%d gave %d messages"
                               % (lo, hi, len(got)))
        return ms

    def search(self, want):
        ms, r = timed(lambda: self.m.uid("SEARCH", "SUBJECT", WORD))
        got = ok(r, "UID SEARCH")[0].split()
        if want is not None and len(got) != want:
            raise RuntimeError("UID SEARCH SUBJECT %s found %d, not %d"
                               % (WORD, len(got), want))
        return ms

    def store(self, rng):
        uid = newest_uids(self.m, rng.randint(1, self.exists), 1)[0]
        op = "+FLAGS" if self.flag % 2 == 0 else "-FLAGS"
        self.flag += 1
        ms, r = timed(lambda: self.m.uid("STORE", str(uid), op, "(\\Flagged)"))
        ok(r, "UID STORE")
        return ms

    def close(self):
        try:
            self.m.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def deliver(srv, name, u, i):
    data = message(u, i)
    t0 = time.perf_counter()
    r = subprocess.run(srv.lda_argv(name, u), input=data,
                       capture_output=True, timeout=CMD_TIMEOUT)
    ms = (time.perf_counter() - t0) * 1000.0
    if r.returncode != 0:
        raise RuntimeError("%s LDA exit %d: %s" % (name, r.returncode,
                                                   r.stderr[-400:]))
    return ms


def order(rep):
    return SERVERS if rep % 2 == 0 else SERVERS[::-1]


def run_size(srv, n, args, clock, log):
    """{server: {op: [ms, ...], 'first_open': ms, 'first_deliver': ms}}"""
    u = size_user(n)
    res = {s: {op: [] for op in OPS} for s in SERVERS}
    for s in SERVERS:
        clock.check("first open of %d" % n)
        ms, exists = t_select(srv.ports[s], u)
        if exists != n:
            raise RuntimeError("%s: INBOX of %s has %d, not %d"
                               % (s, u, exists, n))
        res[s]["first_open"] = ms
        log("%6d %-8s first open %9.1f ms" % (n, s, ms))
    delivered = 0
    for rep in range(args.reps + 1):
        clock.check("delivery into %d" % n)
        for s in order(rep):
            ms = deliver(srv, s, u, delivered)
            if rep == 0:
                res[s]["first_deliver"] = ms
            else:
                res[s]["deliver"].append(ms)
        delivered += 1
    for s in SERVERS:   # untimed: each server takes the deliveries in
        t_select(srv.ports[s], u)
    for rep in range(args.reps):
        clock.check("select of %d" % n)
        for s in order(rep):
            ms, exists = t_select(srv.ports[s], u)
            if exists != n + delivered:
                raise RuntimeError("%s: INBOX has %d after %d deliveries"
                                   % (s, exists, delivered))
            res[s]["select"].append(ms)
    sess = {s: Session(srv.ports[s], u) for s in SERVERS}
    rng = random.Random(n)
    try:
        for op in ("fetch50", "search", "store"):
            for rep in range(args.reps):
                clock.check("%s of %d" % (op, n))
                for s in order(rep):
                    if op == "fetch50":
                        ms = sess[s].fetch50()
                    elif op == "search":
                        ms = sess[s].search(delivered)
                    else:
                        ms = sess[s].store(rng)
                    res[s][op].append(ms)
    finally:
        for x in sess.values():
            x.close()
    for s in SERVERS:
        log("%6d %-8s first deliver %.1f ms; %s" % (
            n, s, res[s]["first_deliver"], ", ".join(
                "%s %s" % (op, " ".join("%.1f" % v for v in res[s][op]))
                for op in OPS)))
    return res


def server_pids(srv, s):
    """Every process of server s (its root process and all below)."""
    root = srv.procs[srv.peer if s == "dovecot" else s]
    return bench_imap.tree(root)


class Tracer:
    """perf record (cpu-clock, call graphs) or strace -c over a server's
    processes, children forked meanwhile included, while a block runs."""

    def __init__(self, kind, pids, out):
        self.out = out
        if kind == "perf":
            argv = ["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o",
                    out + ".data", "-p", ",".join(map(str, pids))]
        else:
            argv = ["strace", "-c", "-f", "-o", out]
            for p in pids:
                argv += ["-p", str(p)]
        self.kind = kind
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(1)

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        if self.kind == "perf":
            perf_report(self.out)


def perf_report(out):
    """out.data (perf record) into out, flat, symbols of 1% and more."""
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", out + ".data", "--stdio",
                        "--no-children", "--sort", "comm,dso,sym", "-g",
                        "none", "--percent-limit", "1"], stdout=f,
                       stderr=subprocess.DEVNULL, timeout=300)
    os.unlink(out + ".data")


def profile(srv, n, args, clock, log):
    """Where the time goes at the largest size: each op --reps times on
    each server under perf, then twice under strace -c (one delivery),
    into args.profile."""
    u = size_user(n)
    os.makedirs(args.profile, exist_ok=True)
    rng = random.Random(1)
    for kind in ("perf", "strace"):
        for s in SERVERS:
            out = os.path.join(args.profile, "%s-%s-deliver.txt" % (kind, s))
            argv = (["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o",
                     out + ".data", "--"] if kind == "perf" else
                    ["strace", "-c", "-f", "-o", out])
            # one delivery: strace -c counts every call, and perf samples
            # a whole delivery's CPU (about one sample a millisecond)
            r = subprocess.run(argv + srv.lda_argv(s, u),
                               input=message(u, 1000), capture_output=True,
                               timeout=CMD_TIMEOUT)
            if r.returncode != 0:
                raise RuntimeError("%s deliver under %s: %s"
                                   % (s, kind, r.stderr[-300:]))
            if kind == "perf":
                perf_report(out)
            for op in ("select", "fetch50", "search", "store"):
                clock.check("profile of %s" % op)
                # SELECT: on --reps connections logged in beforehand, so
                # that the password check is not in the profile
                sess = Session(srv.ports[s], u) if op != "select" else None
                fresh = [login(srv.ports[s], u) for i in range(args.reps)] \
                    if op == "select" else []
                out = os.path.join(args.profile,
                                   "%s-%s-%s.txt" % (kind, s, op))
                t = Tracer(kind, server_pids(srv, s), out)
                times = []
                # strace costs ~20 us a call: 2 are enough to count them
                reps = args.reps if kind == "perf" else min(args.reps, 2)
                try:
                    for i in range(reps):
                        t0 = time.perf_counter()
                        if op == "select":
                            ok(fresh[i].select("INBOX"), "SELECT")
                        elif op == "fetch50":
                            sess.fetch50()
                        elif op == "search":
                            sess.search(None)
                        else:
                            sess.store(rng)
                        times.append((time.perf_counter() - t0) * 1000.0)
                finally:
                    t.stop()
                    for x in [sess] if sess is not None else []:
                        x.close()
                    for m in fresh:
                        m.logout()
                log("profiled %s %s %s (%s ms): %s" % (
                    kind, s, op, " ".join("%.0f" % x for x in times), out))


def med(res, s, op):
    v = res[s][op]
    return v if isinstance(v, float) else statistics.median(v)


def report(args, sizes, results, elapsed, load):
    cols = ("first_open", "first_deliver") + OPS
    lines = [
        "Median latency in ms (%d repetitions; first open and first "
        "delivery are single measurements), Sealmail and Dovecot %s; "
        "ratio = Dovecot's time / Sealmail's (as the other benchmarks' "
        "Sealmail / peer speed: above 1, Sealmail is faster)."
        % (args.reps, bench_imap.dovecot_version()),
        "",
        "| messages | op | Sealmail ms | Dovecot ms | ratio |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for n in sizes:
        for op in cols:
            a = med(results[n], "sealmail", op)
            b = med(results[n], "dovecot", op)
            lines.append("| %d | %s | %.2f | %.2f | %.2f |"
                         % (n, op, a, b, b / a))
    lines += ["", "Growth: median at each size / median at %d messages:"
              % sizes[0], "",
              "| op | " + " | ".join("Sealmail %d | Dovecot %d" % (n, n)
                                     for n in sizes[1:]) + " |",
              "| --- |" + " ---: | ---: |" * (len(sizes) - 1)]
    for op in cols:
        row = []
        for n in sizes[1:]:
            for s in SERVERS:
                row.append("%.2f" % (med(results[n], s, op) /
                                     med(results[sizes[0]], s, op)))
        lines.append("| %s | %s |" % (op, " | ".join(row)))
    lines += ["", "Every repetition (ms):", ""]
    for n in sizes:
        for s in SERVERS:
            lines.append("- %d %s: %s" % (n, s, "; ".join(
                "%s %s" % (op, " ".join("%.1f" % v for v in results[n][s][op]))
                for op in OPS)))
    lines += ["", "Run took %.0f s before the clean-up; load average "
              "before the run %s (the machine's 2 vCPUs were shared with "
              "other work)." %
              (elapsed, load), "",
              "    python3 bench/scale/bench_scale.py --builddir %s "
              "--sizes %s --reps %d" % (args.builddir, ",".join(
                  str(n) for n in sizes), args.reps), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.path.join(SRC, "build"))
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-secs", type=float, default=900)
    ap.add_argument("--out", default=None, help="write the Markdown here")
    ap.add_argument("--profile", default=None, metavar="DIR",
                    help="then profile each op at the largest size (perf "
                    "report and strace -c per server and op) into DIR")
    args = ap.parse_args()
    args.builddir = os.path.abspath(args.builddir)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    SIZES[:] = sizes
    if os.geteuid() != 0:
        sys.exit("run as root (the servers and LDAs start as root)")
    for p in (DOVECOT_LDA, "/usr/sbin/dovecot", "/usr/lib/dovecot/imap"):
        if not os.path.exists(p):
            sys.exit("%s missing: apt-get install dovecot-imapd" % p)
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    # SIGTERM unwinds like Ctrl-C, through the cleanup below
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    t0 = time.monotonic()
    clock = Clock(args.max_secs)

    def log(s):
        print("[%5.0fs] %s" % (time.monotonic() - t0, s), flush=True)

    results = {}
    srv = None
    try:
        srv = ScaleServers(args, sizes)
        for n in sizes:
            clock.check("filling %d" % n)
            srv.fill(n)
            log("filled %d messages (and Dovecot's copy)" % n)
        for s in SERVERS:
            srv.start(s)
        for n in sizes:
            results[n] = run_size(srv, n, args, clock, log)
        if args.profile:
            profile(srv, sizes[-1], args, clock, log)
    finally:
        t_done = time.monotonic()
        if srv is not None:
            srv.shutdown()
    text = report(args, sizes, results, t_done - t0, load)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
