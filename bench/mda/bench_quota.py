"""bench_quota.py - command-line delivery (LDA) with a quota set, into a
Maildir that already holds 0, 10,000 or 100,000 messages: does the cost
of a delivery grow with the mailbox?

    python3 bench/mda/bench_quota.py [--builddir build]
        [--before-builddir DIR] [--prefill 0,10000,100000] [--runs 3]
        [--count 100] [--secs 20] [--out FILE]

Servers, each with quota_bytes (Sealmail) or a quota rule (Dovecot) of
10 GB, so that nothing is refused:
    sealmail         the mda of --builddir (reads the Maildir++
                     maildirsize, appends a line)
    sealmail-before  the mda of --before-builddir, when given (a build of
                     the code before maildirsize: it walks the Maildir on
                     every delivery)
    dovecot          dovecot-lda 2.3 with the quota plugin, Maildir++
                     backend (quota = maildir:User quota), which keeps the
                     same maildirsize file; its index and dovecot-uidlist
                     are built by an untimed first delivery.
For every prefill size the Maildirs are emptied and refilled (untimed)
with that many 1 KB messages in cur/ (hard links of one set of files, so
both servers' Maildirs hold the same names and sizes), then one untimed
delivery per server (Sealmail: writes maildirsize; Dovecot: its index)
and a sync(2), then --runs runs of --count 5 KB deliveries (or --secs
seconds), servers interleaved, alternating which goes first.  Reported:
messages per second, medians.  Needs root, dovecot-core; same message
pool and Dovecot set-up as bench_mda.py (mail_fsync = always).
"""

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_mda  # noqa: E402  (sets up the harness import path)

QUOTA = 10 * 1024 ** 3
DOVECOT_QUOTA = """
mail_plugins = $mail_plugins quota
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=10G
}
"""


class QuotaBench(bench_mda.Bench):
    def __init__(self, args):
        super().__init__(args)
        self.inst.ctl("user", "set", bench_mda.RCPT, "quota_bytes=%d" % QUOTA)
        with open(self.dconf, "a") as f:
            f.write(DOVECOT_QUOTA)
        self.seed = self.inst.path("seed")

    def maildir(self, server):
        return self.target(server.split("-")[0], "safe")

    def argv(self, server):
        if server == "dovecot":
            return [bench_mda.DOVECOT_LDA, "-c", self.dconf, "-d",
                    bench_mda.RCPT, "-f", bench_mda.SENDER]
        bd = self.args.before_builddir if server == "sealmail-before" \
            else self.args.builddir
        return [os.path.join(bd, "mda", "mda"), "-c", self.inst.conf, "-d",
                bench_mda.RCPT, "-s", "safe", "-f", bench_mda.SENDER]

    def prefill(self, n):
        """n 1 KB messages in cur/ of both Maildirs (hard links)."""
        self.wipe()
        shutil.rmtree(self.seed, ignore_errors=True)
        os.makedirs(self.seed)
        t = int(time.time()) - 86400
        names = []
        for i in range(n):
            name = "%d.M%06dP1Q%d.seed,S=1024:2,S" % (t, i, i)
            with open(os.path.join(self.seed, name), "wb") as f:
                f.write(b"x" * 1024)
            names.append(name)
        for server in ("sealmail", "dovecot"):
            md = self.maildir(server)
            for sub in ("", "tmp", "new", "cur"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for name in names:
                os.link(os.path.join(self.seed, name),
                        os.path.join(md, "cur", name))
            for root, dirs, files in os.walk(os.path.dirname(md)):
                for x in dirs + files:
                    os.chown(os.path.join(root, x), self.vm.pw_uid,
                             self.vm.pw_gid)
            os.chown(os.path.dirname(md), self.vm.pw_uid, self.vm.pw_gid)

    def deliver(self, server, msg):
        with open(msg, "rb") as f:
            r = subprocess.run(self.argv(server), stdin=f,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("%s exit %d: %s" % (
                server, r.returncode, r.stderr.decode(
                    errors="replace")[-500:]))

    def run(self, server):
        pool = self.msgs["5k"]
        done = 0
        t0 = time.monotonic()
        while done < self.args.count and \
                time.monotonic() < t0 + self.args.secs:
            self.deliver(server, pool[done % len(pool)][0])
            done += 1
        return done / (time.monotonic() - t0), done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.environ.get(
        "SEALMAIL_BUILDDIR", os.path.join(bench_mda.SRC, "build")))
    ap.add_argument("--before-builddir", default=None)
    ap.add_argument("--prefill", default="0,10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--secs", type=float, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (both LDAs start as root and drop to vmail)")
    servers = ["sealmail", "dovecot"]
    if args.before_builddir:
        servers.insert(1, "sealmail-before")
    b = QuotaBench(args)
    b.vm = pwd.getpwnam("vmail")
    res = {}
    t_start = time.monotonic()
    try:
        b.start()
        for n in [int(x) for x in args.prefill.split(",")]:
            t0 = time.monotonic()
            b.prefill(n)
            for server in servers:
                b.deliver(server, b.msgs["5k"][0][0])
            # the prefill's writeback must not land in the timed runs
            os.sync()
            print("prefill %d: %.1f s" % (n, time.monotonic() - t0),
                  flush=True)
            for run in range(args.runs):
                order = servers if run % 2 == 0 else servers[::-1]
                for server in order:
                    rate, done = b.run(server)
                    res.setdefault((n, server), []).append(rate)
                    print("prefill %6d run %d %-15s %4d msgs %7.1f msg/s"
                          % (n, run + 1, server, done, rate), flush=True)
    finally:
        b.close()
    prefills = sorted({k[0] for k in res})
    lines = ["| messages in the Maildir | " + " | ".join(
        "%s msg/s" % s for s in servers) + " | Sealmail/Dovecot |",
        "| ---: |" + " ---: |" * (len(servers) + 1)]
    for n in prefills:
        med = {s: statistics.median(res[(n, s)]) for s in servers}
        lines.append("| %d | " % n + " | ".join(
            "%.1f" % med[s] for s in servers) +
            " | %.2f |" % (med["sealmail"] / med["dovecot"]))
    bench_mda.report("\n".join(lines), res, "  %6d %-15s", t_start,
                     args.out)


if __name__ == "__main__":
    main()
