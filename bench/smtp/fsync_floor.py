#!/usr/bin/env python3
"""fsync_floor.py - how many messages a second this disk can take through
each server's file operations alone, with no server running.

    python3 bench/smtp/fsync_floor.py [--msgs 2000] [--procs 8] [--runs 5]
        [--dir DIR] [--patterns postfix,before,sealmail,floor,grouped]
        [--group 8]

Each pattern is the sequence of file-system calls one 5 KB message costs
from its arrival to its place in the Maildir, replayed by --procs
processes at once (the servers' writers and deliverers overlap the same
way) in a fresh directory tree under --dir (default: the system's
temporary directory, where the benchmarks' instances live).  Patterns run
in turn, --runs times; the table gives each one's median rate, its
ratio to postfix, and the CPU (user and system) its processes used per
message, which on this VM is mostly the kernel's work for the calls.

    postfix   Postfix + virtual(8): the queue file written and fsynced,
              the Maildir file written in tmp/, fsynced, renamed into
              new/; the queue file removed.  No directory fsync.  2 fsyncs.
    before    Sealmail before the delivery record shared its directory
              fsync: the message written as a tmp file, renamed to
              <id>.msg, delivered/ fsynced; the record the same way; then
              the rename into new/ and two fsyncs.  9.5 fsyncs.
    sealmail  Sealmail as shipped: the queue's directory of two files
              (message, envelope through envelope.tmp) and the directory
              fsynced, renamed into queue/, queue/ fsynced once for the
              writers' batch (every other message here); mda's delivery
              record (mda/record.c): message, record, delivered/, the
              rename into new/, new/ and delivered/.  8.5 fsyncs.
    floor     the fewest operations Sealmail's guarantees allow: one queue
              file per message (fsync, rename, queue/ per batch of 4),
              then the delivery record as shipped.  6.25 fsyncs.
    grouped   floor with every directory fsync shared by --group (8)
              messages: what a group commit across deliveries could save.

A run stops by itself after --msgs messages or --secs seconds.
"""

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

DATA = b"x" * 5120
ENVELOPE = b"from <a@b.test>\nrcpt <c@d.test>\n" * 4
FLAGS = os.O_CREAT | os.O_WRONLY | os.O_EXCL


def write_file(path, data):
    fd = os.open(path, FLAGS, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def postfix(base, i):
    write_file("%s/q/%d" % (base, i), DATA)
    write_file("%s/tmp/%d" % (base, i), DATA)
    os.rename("%s/tmp/%d" % (base, i), "%s/new/%d" % (base, i))
    os.unlink("%s/q/%d" % (base, i))


def record(base, i, every=1):
    """mda/record.c's delivery of message i; directory fsyncs only for
    every every-th message."""
    d = base + "/d"
    write_file("%s/%d.msg" % (d, i), DATA)
    write_file("%s/tmp.%d.rec" % (d, i), b"Maildir/new/%d\n" % i)
    os.rename("%s/tmp.%d.rec" % (d, i), "%s/%d" % (d, i))
    if i % every == 0:
        fsync_dir(d)
    os.rename("%s/%d.msg" % (d, i), "%s/new/%d" % (base, i))
    if i % every == 0:
        fsync_dir(base + "/new")
        fsync_dir(d)


def old_record(base, i):
    d = base + "/d"
    write_file("%s/tmp.%d" % (d, i), DATA)
    os.rename("%s/tmp.%d" % (d, i), "%s/%d.msg" % (d, i))
    fsync_dir(d)
    write_file("%s/tmp.%d.rec" % (d, i), b"Maildir/new/%d\n" % i)
    os.rename("%s/tmp.%d.rec" % (d, i), "%s/%d" % (d, i))
    fsync_dir(d)
    os.rename("%s/%d.msg" % (d, i), "%s/new/%d" % (base, i))
    fsync_dir(base + "/new")
    fsync_dir(d)


def sealmail(base, i, deliver=record):
    inc = "%s/qi/%d" % (base, i)
    os.mkdir(inc)
    write_file(inc + "/message", DATA)
    write_file(inc + "/envelope.tmp", ENVELOPE)
    os.rename(inc + "/envelope.tmp", inc + "/envelope")
    fsync_dir(inc)
    os.rename(inc, "%s/q/%d" % (base, i))
    if i % 2 == 0:
        fsync_dir(base + "/q")
    deliver(base, i)
    for name in ("envelope", "message"):
        os.unlink("%s/q/%d/%s" % (base, i, name))
    os.rmdir("%s/q/%d" % (base, i))


def one_file_queue(base, i, every):
    write_file("%s/qi/%d" % (base, i), ENVELOPE + DATA)
    os.rename("%s/qi/%d" % (base, i), "%s/q/%d" % (base, i))
    if i % every == 0:
        fsync_dir(base + "/q")


def floor(base, i):
    one_file_queue(base, i, 4)
    record(base, i)
    os.unlink("%s/q/%d" % (base, i))


GROUP = 8


def grouped(base, i):
    one_file_queue(base, i, GROUP)
    record(base, i, GROUP)
    os.unlink("%s/q/%d" % (base, i))


def before(base, i):
    sealmail(base, i, old_record)


PATTERNS = {"postfix": postfix, "before": before, "sealmail": sealmail,
            "floor": floor, "grouped": grouped}


def worker(args):
    name, base, lo, hi, deadline = args
    f = PATTERNS[name]
    done = 0
    for i in range(lo, hi):
        if time.monotonic() > deadline:
            break
        f(base, i)
        done += 1
    return done


def cpu_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(name, top, msgs, procs, secs):
    """(msg/s, CPU ms a message, user and system, of the processes)"""
    base = tempfile.mkdtemp(prefix="fsync-floor-", dir=top)
    try:
        for sub in ("q", "qi", "tmp", "new", "d"):
            os.mkdir(os.path.join(base, sub))
        os.sync()
        cpu0 = cpu_children()
        start = time.monotonic()
        jobs = [(name, base, k * msgs // procs, (k + 1) * msgs // procs,
                 start + secs) for k in range(procs)]
        pool = multiprocessing.Pool(procs)
        done = sum(pool.map(worker, jobs))
        elapsed = time.monotonic() - start
        pool.close()
        pool.join()             # reaped: their CPU is in RUSAGE_CHILDREN
        return done / elapsed, (cpu_children() - cpu0) * 1000 / done
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--secs", type=float, default=60.0)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--patterns", default="postfix,before,sealmail,floor,grouped")
    ap.add_argument("--group", type=int, default=GROUP,
                    help="messages sharing a directory fsync in grouped")
    a = ap.parse_args()
    globals()["GROUP"] = a.group
    names = a.patterns.split(",")
    for n in names:
        if n not in PATTERNS:
            sys.exit("unknown pattern %s (have %s)" % (n, ", ".join(PATTERNS)))
    rates = {n: [] for n in names}
    cpu = {n: [] for n in names}
    for r in range(a.runs):
        for n in names:
            rate, ms = run(n, a.dir, a.msgs, a.procs, a.secs)
            rates[n].append(rate)
            cpu[n].append(ms)
            print("run %d %-8s %6.0f msg/s %5.2f CPU ms/msg"
                  % (r + 1, n, rate, ms), flush=True)
    ref = statistics.median(rates["postfix"]) if "postfix" in rates else None
    print("\n| pattern | median msg/s | runs | / postfix | CPU ms/msg |")
    print("| --- | ---: | --- | ---: | ---: |")
    for n in names:
        med = statistics.median(rates[n])
        print("| %s | %.0f | %s | %s | %.2f |" % (
            n, med, " ".join("%.0f" % x for x in rates[n]),
            "%.2f" % (med / ref) if ref else "-",
            statistics.median(cpu[n])))


if __name__ == "__main__":
    main()
