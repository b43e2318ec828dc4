#!/usr/bin/env python3
"""bench_memory.py - memory under load: what 1,000 idle SMTP sessions and
1,000 idle IMAP connections cost Sealmail and its peers, in the same run.

    python3 bench/memory/bench_memory.py [--builddir build] [--sessions 1000]
        [--conns 1000] [--runs 3] [--skip-imap] [--out FILE]

SMTP: --sessions concurrent connections to port 25 of Sealmail's smtpd (a
throwaway instance of tests/integration/harness.py, max_sessions and
max_sessions_per_ip raised, the greeting pause as shipped) and of a private
Postfix 3.7 (bench/smtp/bench_smtp.py's postfix_instance: smtpd straight
from master(8), no postscreen, default_process_limit raised so every
session gets its smtpd).  Each session reads the greeting, says EHLO,
reads the answer and then stays open and idle.  With every session open
the benchmark waits 2 s and adds up the PSS and RSS (/proc/PID/
smaps_rollup) of every process of the server's trees: smtpd and the
keystore it starts for Sealmail; master(8) and all its children for
Postfix.  The figure per session is (with sessions - before the first
session) / sessions; every session must then still answer NOOP.

IMAP: bench/imap/bench_imap.py's Servers and idle_memory: --conns logged-in
connections (implicit TLS, SELECT INBOX, then idle) over 100 users of 100
messages each, Sealmail's imapd against Dovecot 2.3.19.

Each server's runs are back to back (Sealmail, then the peer), --runs
times; medians are reported.  Needs root (the servers start as root),
postfix and dovecot-imapd installed, a build tree with smtpd, keystore,
imapd and sealmailctl.  Every server and temporary directory is removed
at the end, on failure and on Ctrl-C too.
"""

import argparse
import asyncio
import os
import resource
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "bench", "imap"))
sys.path.insert(0, os.path.join(SRC, "bench", "smtp"))

SESSION_TIMEOUT = 120   # seconds for one session's greeting and EHLO
SETTLE = 2              # seconds idle before the memory is read

POSTFIX_EXTRA = """
default_process_limit = {n}
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_peername_lookup = no
"""


async def smtp_session(port, sem, held):
    async with sem:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), SESSION_TIMEOUT)
        try:
            await asyncio.wait_for(reply(r, b"220"), SESSION_TIMEOUT)
            w.write(b"EHLO client.example.net\r\n")
            await asyncio.wait_for(reply(r, b"250"), SESSION_TIMEOUT)
        except BaseException:
            w.close()
            raise
        held.append((r, w))


async def reply(r, code):
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed before %s" % code.decode())
        if line[:3] != code:
            raise ConnectionError("expected %s, got %r"
                                  % (code.decode(), line))
        if line[3:4] != b"-":
            return


async def hold_smtp(port, n, measure):
    """Open n sessions (200 at a time in greeting/EHLO), then measure()."""
    sem = asyncio.Semaphore(200)
    held = []
    res = await asyncio.gather(*(smtp_session(port, sem, held)
                                 for _ in range(n)), return_exceptions=True)
    errors = [e for e in res if isinstance(e, BaseException)]
    try:
        await asyncio.sleep(SETTLE)
        out = measure()
        # every session measured must still be open: NOOP on each
        alive = await asyncio.gather(*(noop(r, w) for r, w in held),
                                     return_exceptions=True)
        alive = sum(1 for a in alive if a is True)
    finally:
        for _, w in held:
            w.write(b"QUIT\r\n")
            w.close()
        await asyncio.sleep(0.5)
    return alive, errors, out


async def noop(r, w):
    w.write(b"NOOP\r\n")
    await asyncio.wait_for(reply(r, b"250"), SESSION_TIMEOUT)
    return True


def trees(pids):
    """(PSS kB, RSS kB, processes) over the process trees below pids."""
    from bench_imap import memory, tree
    pss = rss = nproc = 0
    for pid in pids:
        p, r = memory(pid)
        pss += p
        rss += r
        nproc += len(tree(pid))
    return pss, rss, nproc


def smtp_run(pids, port, n):
    base = trees(pids)
    held, errors, used = asyncio.run(hold_smtp(port, n, lambda: trees(pids)))
    if held != n:
        raise RuntimeError("%d of %d SMTP sessions open and answering "
                           "NOOP when measured; first error: %r"
                           % (held, n, errors[:1]))
    return {"pss": (used[0] - base[0]) / n, "rss": (used[1] - base[1]) / n,
            "procs": used[2], "base_pss": base[0], "base_rss": base[1],
            "total_pss": used[0], "total_rss": used[1]}


def sealmail_smtp(args):
    import harness
    inst = harness.Instance(
        prefix=tempfile.mkdtemp(prefix="sm-membench-", dir="/tmp"),
        extra_conf={"smtpd": {"max_sessions": str(args.sessions + 100),
                              "max_sessions_per_ip": str(args.sessions + 100)},
                    "global": {"log_level": "warn"}})
    try:
        inst.start("smtpd")
        time.sleep(1)
        pids = [inst.pid(n) for n in ("smtpd", "keystore") if inst.running(n)]
        return smtp_run(pids, inst.port("smtp"), args.sessions)
    finally:
        inst.close()


def postfix_smtp(args):
    import bench_smtp
    with bench_smtp.postfix_instance(
            extra_main=POSTFIX_EXTRA.format(n=args.sessions + 100)) as (
            d, port, _):
        time.sleep(1)
        with open(os.path.join(d, "spool", "pid", "master.pid")) as f:
            master = int(f.read().strip())
        return smtp_run([master], port, args.sessions)


def guarded(cls, a):
    """cls(a), removing the instance it made when it fails half-way."""
    srv = cls.__new__(cls)
    srv.inst = None
    try:
        srv.__init__(a)
    except BaseException:
        if srv.inst is not None:
            srv.inst.close()
        raise
    return srv


def imap_runs(args):
    import bench_imap
    # dovecot/ops: for a Servers that runs Dovecot in named modes
    a = argparse.Namespace(builddir=args.builddir, users=100, msgs=100,
                           conns=args.conns, dovecot=["stock"], ops=[],
                           pam_workers=0)
    srv = None
    out = {"sealmail": [], "dovecot": []}
    try:
        srv = guarded(bench_imap.Servers, a)
        peer = "dovecot" if "dovecot" in srv.ports else "dovecot-stock"
        for run in range(args.runs):
            for name, key in (("sealmail", "sealmail"), ("dovecot", peer)):
                srv.start(key)
                time.sleep(1)
                pss, rss, nproc = bench_imap.idle_memory(
                    srv.ports[key], srv.procs[key], a)
                srv.stop(key)
                out[name].append({"pss": pss, "rss": rss, "procs": nproc})
                print("imap run %d %-8s %7.1f kB PSS %7.1f kB RSS per "
                      "connection, %d processes" % (run + 1, name, pss, rss,
                                                    nproc), flush=True)
    finally:
        if srv is not None:
            d = getattr(srv, "dovecot", None)
            if d is not None and d.poll() is None:
                d.terminate()
                d.wait(20)
            srv.close()
    return out


def medians(runs):
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def report(args, smtp, imap, load, elapsed):
    lines = []
    if smtp:
        s, p = medians(smtp["sealmail"]), medians(smtp["postfix"])
        lines += [
            "SMTP: %d concurrent sessions after EHLO, idle; medians of %d "
            "runs; kB per session over the servers' footprint before the "
            "first session (ratio Sealmail / Postfix, below 1: Sealmail "
            "uses less):" % (args.sessions, args.runs), "",
            "| | Sealmail smtpd | Postfix 3.7 smtpd | ratio |",
            "| --- | ---: | ---: | ---: |",
            "| PSS kB/session | %.1f | %.1f | %.3f |" % (s["pss"], p["pss"],
                                                         s["pss"] / p["pss"]),
            "| RSS kB/session | %.1f | %.1f | %.3f |" % (s["rss"], p["rss"],
                                                         s["rss"] / p["rss"]),
            "| PSS MB, all processes, idle | %.1f | %.1f | |" % (
                s["base_pss"] / 1024, p["base_pss"] / 1024),
            "| PSS MB, all processes, %d sessions | %.1f | %.1f | |" % (
                args.sessions, s["total_pss"] / 1024, p["total_pss"] / 1024),
            "| RSS MB, all processes, %d sessions | %.1f | %.1f | |" % (
                args.sessions, s["total_rss"] / 1024, p["total_rss"] / 1024),
            "| processes with %d sessions | %d | %d | |" % (
                args.sessions, s["procs"], p["procs"]),
            ""]
    if imap:
        s, d = medians(imap["sealmail"]), medians(imap["dovecot"])
        lines += [
            "IMAP: %d logged-in connections (INBOX selected, idle) over 100 "
            "users of 100 messages; medians of %d runs; kB per connection "
            "over the servers' footprint before the first:"
            % (args.conns, args.runs), "",
            "| | Sealmail imapd | Dovecot 2.3.19 | ratio |",
            "| --- | ---: | ---: | ---: |",
            "| PSS kB/conn | %.1f | %.1f | %.3f |" % (s["pss"], d["pss"],
                                                      s["pss"] / d["pss"]),
            "| RSS kB/conn | %.1f | %.1f | %.3f |" % (s["rss"], d["rss"],
                                                      s["rss"] / d["rss"]),
            "| processes | %d | %d | |" % (s["procs"], d["procs"]), ""]
    lines += ["Every run:", ""]
    for what, res in (("smtp", smtp), ("imap", imap)):
        for name, runs in (res or {}).items():
            for i, r in enumerate(runs):
                lines.append("- %s %s run %d: %s" % (
                    what, name, i + 1, ", ".join(
                        "%s %.1f" % (k, v) for k, v in r.items())))
    lines += ["", "Run took %.0f s; load average before it %s (2 shared "
              "vCPUs, other work running)." % (elapsed, load), "",
              "    python3 bench/memory/bench_memory.py --builddir %s "
              "--sessions %d --conns %d --runs %d%s" % (
                  args.builddir, args.sessions, args.conns, args.runs,
                  " --skip-imap" if args.skip_imap else ""), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.path.join(SRC, "build"))
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-imap", action="store_true")
    ap.add_argument("--skip-smtp", action="store_true")
    ap.add_argument("--out", default=None, help="write the Markdown here")
    args = ap.parse_args()
    args.builddir = os.path.abspath(args.builddir)
    os.environ["SEALMAIL_BUILDDIR"] = args.builddir
    if os.geteuid() != 0:
        sys.exit("run as root (the servers start as root)")
    for p in ("/usr/sbin/postfix", "/usr/sbin/dovecot"):
        if not os.path.exists(p):
            sys.exit("%s missing: apt-get install postfix dovecot-imapd" % p)
    # smtpd sizes its session table to what RLIMIT_NOFILE allows (about
    # 7 descriptors a session: net_session_budget), Postfix and Dovecot
    # need one or two a session in their masters
    want = max(args.sessions, args.conns) * 16 + 1000
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    t0 = time.monotonic()
    smtp = {}
    if not args.skip_smtp:
        smtp = {"sealmail": [], "postfix": []}
        for run in range(args.runs):
            for name, fn in (("sealmail", sealmail_smtp),
                             ("postfix", postfix_smtp)):
                r = fn(args)
                smtp[name].append(r)
                print("smtp run %d %-8s %7.1f kB PSS %7.1f kB RSS per "
                      "session, %d processes, PSS %.1f MB before and %.1f "
                      "MB with the sessions" % (
                          run + 1, name, r["pss"], r["rss"], r["procs"],
                          r["base_pss"] / 1024, r["total_pss"] / 1024),
                      flush=True)
    imap = None if args.skip_imap else imap_runs(args)
    text = report(args, smtp, imap, load, time.monotonic() - t0)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
