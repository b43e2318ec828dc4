#!/usr/bin/env python3
"""bench_mda.py - deliveries per second into a Maildir: Sealmail's mda
against Debian's Dovecot (dovecot-lda and Dovecot's LMTP server), same
messages, same run, same disk, both fsyncing every message.

    python3 bench/mda/bench_mda.py [--builddir build] [--runs 3]
        [--small 500] [--large 100] [--secs 20] [--out FILE]
        [--cases lmtp:500k:unsafe,lda:5k:safe,...]

Cases (each is the median of --runs runs; runs of all servers are
interleaved so load on the shared machine hits them alike):
    size   5 KB (1 in 4 carries a ~3 KB attachment) or 500 KB (a text
           part, an HTML alternative and a ~490 KB attachment)
    class  safe   -> INBOX, delivered as is
           unsafe -> Sealmail: stripped (attachments, HTML), filed in
                     .Unsafe, the original kept in the quarantine when
                     something was removed.  Dovecot has no stripper: it
                     files the unchanged message in .Unsafe (-m Unsafe for
                     the LDA, rcpt bob+Unsafe with lmtp_save_to_detail_
                     mailbox for LMTP), so this row shows what stripping
                     and the quarantine copy cost.
    path   lda    one process per message, run as root, message on stdin:
                  `mda -c CONF -d bob@example.test -s CLASS -f SENDER` and
                  `dovecot-lda -c CONF -d bob@example.test -f SENDER
                  [-m Unsafe]`; both resolve the user and drop to vmail.
           lmtp   one connection over a Unix socket, messages one after
                  another (MAIL, RCPT, DATA, wait for the 250): the mda
                  server (how smtpd delivers) and Dovecot's lmtp service.
A run delivers --small (5 KB) or --large (500 KB) messages, or as many as
fit in --secs seconds; every delivery must succeed and the Maildir must
then hold that many new files, else the script stops.  Maildirs are
emptied between runs (untimed).

Besides the rate, each run records the CPU time (user + system) the
server used per message: its daemon's process tree (Sealmail's mda,
Dovecot's master, auth and lmtp, with children that exited) plus the LDA
processes this script ran.  On a shared machine the rate moves with the
load; the CPU per message moves much less.

Durability: Sealmail fsyncs the file and new/ before the 250 (always).
Dovecot runs with mail_fsync = always.  Dovecot also keeps its index and
dovecot-uidlist up to date on delivery; Sealmail's mda does not index
(imapd does on first read).  Needs root, dovecot-core and dovecot-lmtpd.
"""

import argparse
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

RCPT = "bob@example.test"
SENDER = "alice@example.net"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"

DOVECOT_CONF = """
base_dir = {p}/run
state_dir = {p}/state
log_path = {p}/dovecot.log
info_log_path = {p}/dovecot-info.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
hostname = mx.example.test
postmaster_address = postmaster@example.test
mail_fsync = always
passdb {{
  driver = passwd-file
  args = {p}/passwd
}}
userdb {{
  driver = passwd-file
  args = {p}/passwd
}}
mail_location = maildir:~/Maildir
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
namespace inbox {{
  inbox = yes
  separator = .
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""

# -- messages ---------------------------------------------------------------

WORDS = ("mail delivery maildir fsync quarterly report invoice meeting "
         "schedule budget project review draft attached please find "
         "regards thanks tomorrow office network server").split()


def text(rng, n):
    out, line = [], []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        line.append(w)
        if sum(len(x) + 1 for x in line) > 70:
            s = " ".join(line)
            out.append(s)
            size += len(s) + 1
            line = []
    return "\n".join(out) + "\n"


def b64lines(data):
    import base64
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def headers(i, subject, extra=""):
    return ("From: Alice <%s>\nTo: Bob <%s>\nSubject: %s %d\n"
            "Date: Mon, 23 Nov 2026 17:00:00 +0000\n"
            "Message-ID: <bench-%d@example.net>\n%s\n"
            % (SENDER, RCPT, subject, i, i, extra))


def plain_msg(rng, i, size):
    h = headers(i, "plain")
    return h + text(rng, size - len(h))


def attached_msg(rng, i, size, html=False):
    body = text(rng, 800)
    mime = ('MIME-Version: 1.0\nContent-Type: multipart/mixed; '
            'boundary="mixed-%d"\n' % i)
    h = headers(i, "attached", mime)
    parts = ["This is a multi-part message in MIME format.\n"]
    if html:
        hb = "<html><body>" + "".join("<p>%s</p>\n" % ln for ln in
                                      body.splitlines()) + "</body></html>\n"
        parts.append('--mixed-%d\nContent-Type: multipart/alternative; '
                     'boundary="alt-%d"\n\n--alt-%d\nContent-Type: text/plain;'
                     ' charset=utf-8\n\n%s--alt-%d\nContent-Type: text/html; '
                     'charset=utf-8\n\n%s--alt-%d--\n'
                     % (i, i, i, body, i, hb, i))
    else:
        parts.append("--mixed-%d\nContent-Type: text/plain; charset=utf-8\n\n%s"
                     % (i, body))
    att_head = ("--mixed-%d\nContent-Type: application/pdf; name=\"r%d.pdf\"\n"
                "Content-Disposition: attachment; filename=\"r%d.pdf\"\n"
                "Content-Transfer-Encoding: base64\n\n" % (i, i, i))
    tail = "--mixed-%d--\n" % i
    used = len(h) + sum(len(p) for p in parts) + len(att_head) + len(tail)
    raw = max(0, (size - used) * 57 // 78)
    parts.append(att_head + b64lines(rng.randbytes(raw)))
    return h + "".join(parts) + tail


def make_messages(d):
    """Pools of message files (LF, for the LDAs) and LMTP payloads."""
    rng = random.Random(20261123)
    pools = {"5k": [], "500k": []}
    for i in range(20):
        m = attached_msg(rng, i, 5120) if i % 4 == 0 else \
            plain_msg(rng, i, 5120)
        pools["5k"].append(m)
    for i in range(4):
        pools["500k"].append(attached_msg(rng, 100 + i, 512000, html=True))
    out = {}
    for k, msgs in pools.items():
        out[k] = []
        for j, m in enumerate(msgs):
            p = os.path.join(d, "%s-%02d.eml" % (k, j))
            data = m.encode()
            with open(p, "wb") as f:
                f.write(data)
            crlf = data.replace(b"\n", b"\r\n")
            lines = crlf.split(b"\r\n")[:-1]
            stuffed = b"\r\n".join(b"." + ln if ln.startswith(b".") else ln
                                   for ln in lines) + b"\r\n.\r\n"
            out[k].append((p, stuffed, len(data)))
    return out


# -- drivers ----------------------------------------------------------------

class LMTP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.expect(220)
        self.cmd("LHLO bench.example.net", 250)

    def reply(self):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("LMTP connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), line.decode(errors="replace").strip()

    def expect(self, code):
        c, t = self.reply()
        if c != code:
            raise RuntimeError("LMTP: expected %d, got %s" % (code, t))
        return t

    def cmd(self, line, code):
        self.s.sendall(line.encode() + b"\r\n")
        return self.expect(code)

    def send(self, xseal, rcpt, payload):
        # pipelined envelope (both servers announce PIPELINING), then data;
        # Sealmail's class and queue ID travel in an XSEAL line first
        pre = ""
        if xseal:
            pre = "XSEAL ID=%s CLASS=%s\r\n" % (os.urandom(8).hex(),
                                                 xseal.upper())
        self.s.sendall(("%sMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                        % (pre, SENDER, rcpt)).encode())
        if xseal:
            self.expect(250)
        self.expect(250)
        self.expect(250)
        self.expect(354)
        self.s.sendall(payload)
        self.expect(250)

    def close(self):
        try:
            self.cmd("QUIT", 221)
        except (OSError, RuntimeError):
            pass
        self.s.close()


def count_files(d):
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(d, sub)))
        except FileNotFoundError:
            pass
    return n


class Bench:
    def __init__(self, args):
        os.environ["SEALMAIL_BUILDDIR"] = args.builddir
        import harness
        self.harness = harness
        self.args = args
        self.inst = harness.Instance(
            prefix=tempfile.mkdtemp(prefix="sm-mdabench-", dir="/tmp"),
            extra_conf={"global": {"log_level": "info"}})
        self.inst.add_user(RCPT, "pw")
        os.makedirs(self.inst.path("msgs"))
        self.msgs = make_messages(self.inst.path("msgs"))
        vm = pwd.getpwnam("vmail")
        self.vm = vm
        # Dovecot: a private instance under the same prefix
        self.dp = self.inst.path("dovecot")
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dp, sub))
        home = os.path.join(self.dp, "mail", "example.test", "bob")
        os.makedirs(home)
        for p in (os.path.join(self.dp, "mail"),
                  os.path.join(self.dp, "mail", "example.test"), home):
            os.chown(p, vm.pw_uid, vm.pw_gid)
        self.dhome = home
        with open(os.path.join(self.dp, "passwd"), "w") as f:
            f.write("%s:{PLAIN}pw:%d:%d::%s::\n"
                    % (RCPT, vm.pw_uid, vm.pw_gid, home))
        self.dconf = os.path.join(self.dp, "dovecot.conf")
        with open(self.dconf, "w") as f:
            f.write(DOVECOT_CONF.format(p=self.dp))
        self.dovecot = None
        self.cpu_ms = {}

    def start(self):
        self.inst.start("mda")
        self.dovecot = subprocess.Popen(
            ["dovecot", "-F", "-c", self.dconf], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        sock = os.path.join(self.dp, "run", "lmtp")
        self.harness.wait_for(lambda: os.path.exists(sock) and os.path.exists(
            os.path.join(self.dp, "run", "auth-userdb")), 20, "dovecot")

    def close(self):
        if self.dovecot is not None and self.dovecot.poll() is None:
            self.dovecot.terminate()
            try:
                self.dovecot.wait(20)
            except subprocess.TimeoutExpired:
                self.dovecot.kill()
                self.dovecot.wait()
        self.inst.close()

    def cpu(self, server):
        """Seconds of CPU (user + system) used so far by the server's
        processes: its daemon tree (Sealmail's mda, Dovecot's master and
        services, with their children that exited) and the LDAs we ran.
        Steadier than a rate on a shared machine."""
        root = self.inst.procs["mda"].pid if server == "sealmail" \
            else self.dovecot.pid
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [root] + self.harness.descendants(root):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in st[11:15])
        t = os.times()
        return total / tick + t.children_user + t.children_system

    # where a delivery lands, for counting and wiping
    def target(self, server, cls):
        if server == "sealmail":
            md = self.inst.maildir(RCPT)
        else:
            md = os.path.join(self.dhome, "Maildir")
        return os.path.join(md, ".Unsafe") if cls == "unsafe" else md

    def wipe(self):
        for d in (os.path.join(self.inst.path("mail"), "example.test", "bob"),
                  os.path.join(self.dhome, "Maildir"),
                  self.inst.path("quarantine", "example.test")):
            shutil.rmtree(d, ignore_errors=True)

    def run_one(self, server, path, size, cls):
        n = self.args.small if size == "5k" else self.args.large
        pool = self.msgs[size]
        self.wipe()
        dest = self.target(server, cls)
        lmtp = None
        if path == "lmtp":
            sock = self.inst.path("run", "lmtp.sock") if server == "sealmail" \
                else os.path.join(self.dp, "run", "lmtp")
            lmtp = LMTP(sock)
            if server == "sealmail":
                xseal, rcpt = cls, RCPT
            else:
                xseal = ""
                rcpt = "bob+Unsafe@example.test" if cls == "unsafe" else RCPT
        else:
            if server == "sealmail":
                argv = [self.harness.binary("mda"), "-c", self.inst.conf,
                        "-d", RCPT, "-s", cls, "-f", SENDER]
            else:
                argv = [DOVECOT_LDA, "-c", self.dconf, "-d", RCPT,
                        "-f", SENDER]
                if cls == "unsafe":
                    argv += ["-m", "Unsafe"]
        done = 0
        nbytes = 0
        cpu0 = self.cpu(server)
        t0 = time.monotonic()
        deadline = t0 + self.args.secs
        while done < n and time.monotonic() < deadline:
            p, payload, sz = pool[done % len(pool)]
            if lmtp is not None:
                lmtp.send(xseal, rcpt, payload)
            else:
                with open(p, "rb") as f:
                    r = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, timeout=60)
                if r.returncode != 0:
                    raise RuntimeError("%s exit %d: %s" % (
                        argv[0], r.returncode, r.stderr.decode(
                            errors="replace")[-500:]))
            done += 1
            nbytes += sz
        dt = time.monotonic() - t0
        self.cpu_ms[(server, path, size, cls)] = self.cpu_ms.get(
            (server, path, size, cls), []) + [
            (self.cpu(server) - cpu0) * 1000 / max(done, 1)]
        if lmtp is not None:
            lmtp.close()
        got = count_files(dest)
        if got != done:
            raise RuntimeError("%s %s %s %s: %d delivered, %d files in %s"
                               % (server, path, size, cls, done, got, dest))
        if server == "sealmail" and cls == "unsafe":
            self.check_stripped(dest)
        return done / dt, done, dt

    def check_stripped(self, dest):
        """An unsafe delivery with an attachment must have lost it."""
        for sub in ("new", "cur"):
            d = os.path.join(dest, sub)
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                if b"Subject: attached" in data:
                    if b"Content-Transfer-Encoding: base64" in data:
                        raise RuntimeError("attachment not stripped in %s"
                                           % name)
                    return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.environ.get(
        "SEALMAIL_BUILDDIR", os.path.join(SRC, "build")))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small", type=int, default=500,
                    help="5 KB messages per run")
    ap.add_argument("--large", type=int, default=100,
                    help="500 KB messages per run")
    ap.add_argument("--secs", type=float, default=20,
                    help="time cap per run, seconds")
    ap.add_argument("--out", default=None, help="write Markdown table here")
    ap.add_argument("--cases", default=None,
                    help="only these rows, e.g. lmtp:500k:unsafe,lda:5k:safe")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (both LDAs start as root and drop to vmail)")
    if not os.path.exists(DOVECOT_LDA) or \
            not os.path.exists("/usr/lib/dovecot/lmtp"):
        sys.exit("apt-get install -y dovecot-core dovecot-lmtpd")
    b = Bench(args)
    cases = [(path, size, cls) for path in ("lda", "lmtp")
             for size in ("5k", "500k") for cls in ("safe", "unsafe")]
    if args.cases:
        want = [tuple(c.split(":")) for c in args.cases.split(",")]
        cases = [c for c in cases if c in want]
    res = {}
    t_start = time.monotonic()
    try:
        b.start()
        for run in range(args.runs):
            for case in cases:
                order = ("sealmail", "dovecot") if run % 2 == 0 else \
                    ("dovecot", "sealmail")
                for server in order:
                    rate, n, dt = b.run_one(server, *case)
                    res.setdefault((server,) + case, []).append(rate)
                    print("run %d %-8s %-4s %-4s %-6s %4d msgs %6.2f s "
                          "%7.1f msg/s %6.2f CPU ms/msg"
                          % (run + 1, server, case[0], case[1], case[2], n,
                             dt, rate, b.cpu_ms[(server,) + case][-1]),
                          flush=True)
    finally:
        b.close()
    lines = ["| path | size | class | Sealmail msg/s | Dovecot msg/s | "
             "Sealmail/Dovecot | Sealmail CPU ms/msg | Dovecot CPU ms/msg |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for case in cases:
        s = statistics.median(res[("sealmail",) + case])
        d = statistics.median(res[("dovecot",) + case])
        sc = statistics.median(b.cpu_ms[("sealmail",) + case])
        dc = statistics.median(b.cpu_ms[("dovecot",) + case])
        lines.append("| %s | %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f |"
                     % (case[0], case[1].replace("k", " KB"), case[2], s, d,
                        s / d, sc, dc))
    report("\n".join(lines), res, "  %-8s %-4s %-4s %-6s", t_start,
           args.out)


def report(table, res, keyfmt, t_start, out):
    """Print the table and every run (keys formatted by keyfmt); write
    the table to out, if given."""
    print()
    print(table)
    print("\nall runs (msg/s):")
    for k in sorted(res):
        print(keyfmt % k, " ".join("%.1f" % r for r in res[k]))
    print("total %.0f s" % (time.monotonic() - t_start))
    if out:
        with open(out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
