#!/usr/bin/python3
"""bench_verdict.py - verdicts per second: the receiver's whole path with
verification on (DKIM signature verified, SPF and DMARC checked, DNS
answers cached), port 25 into the Maildir, next to the same receiver
with nothing to verify, and next to Postfix with and without OpenDKIM,
OpenDMARC and policyd-spf.

    apt-get install postfix nsd unbound opendkim opendmarc \
        postfix-policyd-spf-python python3-dkim     # ./sealmail.sh deps --bench
    SEALMAIL_BUILDDIR=$PWD/build python3 bench/verdict/bench_verdict.py \
        [--messages 2000] [--sessions 10] [--size 5120] [--runs 3] \
        [--only verify,unsigned,smtp,postfix,milters] \
        [--profile SECS [--call-graph]]

Everything runs in a network and mount namespace of its own (unshare
--net --mount, loopback only, with 192.0.2.53 added to lo), where
/etc/resolv.conf names 192.0.2.53: a private NSD serves the zones
(signed.example publishes the DKIM key,
"v=spf1 ip4:127.0.0.2 -all" and "v=DMARC1; p=reject"), a private unbound
on 192.0.2.53:53 caches in front of it and answers NXDOMAIN for every
other name (nothing leaves the machine), and every variant's DNS goes
through that unbound: Sealmail's [global] resolver forwards to it (and
libunbound in smtpd.receiver keeps a cache of its own), OpenDKIM's
libunbound forwards to it (Nameservers), OpenDMARC (libc's resolver) and
policyd-spf (python3-spf) read resolv.conf.  The key's domain is not
under .test, which libunbound answers itself (RFC 6761) unless told
otherwise, as Sealmail's common/dns.c does and OpenDKIM does not.

The messages are made and signed once, before the first run: --messages
of --size bytes from alice@signed.example, signed by python3-dkim
(rsa-sha256, relaxed/relaxed, RSA 2048, selector good), sent by
--sessions threads from 127.0.0.2 (the address SPF allows), each keeping
one plain SMTP session and sending its share back to back to
bob@example.test.  Per run: accepted (the last 250 after DATA; Sealmail
and the milters give it after the verdict) and in Maildir (the last file
in new/), both from the first connection.

  verify    Sealmail as shipped, signed mail: smtpd.receiver verifies,
            judges it safe, mda files it in bob's INBOX
  unsigned  the same instance setup and client, the same messages
            without their signature from carol@remote.test (no SPF, no
            DMARC record): the verdict's lookups still run, nothing to
            verify, filed in bob's Unsafe folder
  smtp      bench/smtp's Sealmail run (smtp-source, one message per
            connection, --sessions sessions, unsigned, into Unsafe)
  postfix   bench/smtp's Postfix run (Postfix 3.7 smtpd + virtual(8),
            smtp-source, nothing verified)
  milters   Postfix 3.7 as bench/smtp runs it, plus OpenDKIM 2.11
            (Mode v) and OpenDMARC 1.4 (reading OpenDKIM's results and
            policyd-spf's Received-SPF) as milters and policyd-spf
            (postfix-policyd-spf-python 3.0) as a policy service, with
            this script's client and signed messages: the like-for-like
            peer, nothing refused, every result added to the header

--profile SECS records smtpd.receiver with perf for SECS seconds from its
start (so SECS should cover the load too) in the first verify run and
prints its top functions; with --call-graph, every function's cost with
what it calls.  Needs root (the namespace, Postfix), perf for
--profile, and a build without sanitizers.  Results and how to read
them: RESULTS-verdict.md.
"""

import argparse
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
for sub in ("tests/integration", "bench/smtp", "bench/sign"):
    sys.path.insert(0, os.path.join(TOP, sub))

import dkim  # noqa: E402
import dnsserver  # noqa: E402
import harness  # noqa: E402
import bench_sign  # noqa: E402
import bench_smtp  # noqa: E402
from test_verify import rsa_key, txt  # noqa: E402

SENDER_IP = "127.0.0.2"
AUTHOR = "alice@signed.example"
STRANGER = "carol@remote.test"
RCPT = "bob@" + harness.DOMAIN
AUTHSERV = "mx.example.test"
NETNS_ENV = "SEALMAIL_BENCH_NETNS"
# the caching resolver's address in the namespace: not a loopback one,
# which libunbound (OpenDKIM's resolver) will not forward to by default
DNS_ADDR = "192.0.2.53"

UNBOUND_CONF = """\
server:
	interface: {addr}
	access-control: 127.0.0.0/8 allow
	access-control: 192.0.2.0/24 allow
	port: 53
	do-ip6: no
	num-threads: 1
	username: ""
	chroot: ""
	directory: "{dir}"
	pidfile: "{dir}/unbound.pid"
	use-syslog: no
	logfile: "{dir}/unbound.log"
	verbosity: 0
	module-config: "iterator"
	do-not-query-localhost: no
	local-zone: "." static
"""


# -- DNS: NSD with the zones, unbound caching in front -----------------------

class Dns:
    """The private NSD and the unbound in front of it on DNS_ADDR:53."""

    def __init__(self):
        self.key, pub = rsa_key()
        self.zones = {
            "signed.example": [
                "good._domainkey " + txt("v=DKIM1; k=rsa; p=" + pub),
                "@ " + txt("v=spf1 ip4:%s -all" % SENDER_IP),
                "_dmarc " + txt("v=DMARC1; p=reject"),
            ],
            "remote.test": ["@ A 192.0.2.7"],
            "example.test": ["mx A 127.0.0.1"],
            "example.net": ["client A 127.0.0.1"],
        }
        self.nsd = dnsserver.DnsServer(self.zones).start()
        self.unbound = None
        self.dir = tempfile.mkdtemp(prefix="smbench-unbound-", dir="/tmp")
        try:
            self._start_unbound()
        except BaseException:
            self.stop()
            raise

    def _start_unbound(self):
        conf = UNBOUND_CONF.format(dir=self.dir, addr=DNS_ADDR)
        for z in self.zones:
            conf += '\tlocal-zone: "%s." transparent\n' % z
        for z in self.zones:
            conf += 'stub-zone:\n\tname: "%s."\n\tstub-addr: %s\n' % (
                z, self.nsd.resolver)
        path = os.path.join(self.dir, "unbound.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.unbound = subprocess.Popen(["unbound", "-d", "-c", path],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        harness.wait_for(self.answers, 15, "unbound on %s:53" % DNS_ADDR)

    def answers(self):
        r = bytearray(dnsserver.query_packet("_dmarc.signed.example", "TXT"))
        r[2] |= 0x01    # RD: unbound refuses others ("allow", no snooping)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(r, (DNS_ADDR, 53))
            try:
                data = s.recv(4096)
            except OSError:
                return False
        return data[3] & 0x0f == 0 and b"DMARC1" in data

    def stop(self):
        if self.unbound is not None:
            self.unbound.terminate()
            self.unbound.wait(10)
        self.nsd.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- messages and the client -------------------------------------------------

def make_messages(n, size, key):
    """(signed, unsigned) lists of n messages of about size bytes."""
    line = b"x" * 74 + b"\r\n"
    body = line * max(1, size // len(line))
    signed, unsigned = [], []
    for i in range(n):
        head = (b"From: Alice <%s>\r\nTo: Bob <%s>\r\nSubject: bench %d\r\n"
                b"Date: Sun, 06 Dec 2026 07:00:00 +0000\r\n"
                b"Message-ID: <%d.bench@signed.example>\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                % (AUTHOR.encode(), RCPT.encode(), i, i))
        msg = head + body
        signed.append(dkim.sign(msg, b"good", b"signed.example", key,
                                canonicalize=(b"relaxed", b"relaxed")) + msg)
        unsigned.append(msg.replace(AUTHOR.encode(), STRANGER.encode()))
    return signed, unsigned


def load(port, msgs, sender, sessions, limit=600):
    """Send msgs over sessions plain SMTP sessions from SENDER_IP; the
    start time and the seconds until the last 250."""
    errors = []

    def client(k):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120,
                             source_address=(SENDER_IP, 0))
            s.ehlo("mail.signed.example")
            for m in msgs[k::sessions]:
                s.sendmail(sender, [RCPT], m)
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported, run discarded
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(sessions)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1, limit - (time.time() - t0)))
    if errors or any(t.is_alive() for t in threads):
        raise RuntimeError("client errors: %s" % (errors[:3] or "timeout"))
    return t0, time.time() - t0


def header_of(maildir):
    """The header of one message there (virtual(8) writes bare LFs)."""
    data = bench_sign.one_message(maildir).replace(b"\r\n", b"\n")
    return data.split(b"\n\n", 1)[0]


# -- Sealmail ----------------------------------------------------------------

def receiver_pid(inst):
    """The pid of this instance's smtpd.receiver (a child of its smtpd,
    named by common/privsep.c)."""
    parent = inst.pid("smtpd")
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/comm" % p) as f:
                comm = f.read().strip()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and comm == "smtpd.receiver":
            return int(p)
    raise RuntimeError("no smtpd.receiver under smtpd %d" % parent)


def cpu_seconds(pid):
    """User + system CPU seconds pid has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants_cpu(roots):
    """{pid: (name, CPU seconds incl. reaped children)} of roots and all
    processes below them (the name is the role privsep.c gives)."""
    procs = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                f = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % p) as c:
                title = c.read().strip()
        except (OSError, IndexError):
            continue
        secs = sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
        procs[int(p)] = (int(f[1]), title, secs)
    out, todo = {}, list(roots)
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in out:
            out[pid] = procs[pid][1:]
            todo.extend(q for q, v in procs.items() if v[0] == pid)
    return out


def cpu_by_title(before, after, n):
    """CPU ms per message of each process title between two snapshots."""
    by = {}
    for pid, (title, secs) in after.items():
        was = before.get(pid)
        by[title] = by.get(title, 0) + secs - (was[1] if was else 0)
    return {t: v * 1000 / n for t, v in by.items()}


class Profile:
    """perf record of one process for a fixed time, in the background."""

    def __init__(self, pid, secs, dwarf=False):
        self.out = tempfile.mktemp(prefix="smbench-perf-", dir="/tmp")
        self.dwarf = dwarf
        how = ["--call-graph", "dwarf,16384", "-F", "199"] if dwarf \
            else ["-F", "999"]
        self.proc = subprocess.Popen(
            ["perf", "record"] + how + ["-p", str(pid), "-o", self.out,
                                       "--", "sleep", str(secs)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def report(self):
        """By library and the top functions by their own cost; with
        dwarf, every function with what it calls (the build has no frame
        pointers, so only DWARF unwinding gives call chains)."""
        self.proc.wait(120)
        out = []
        for what, opts in (
                ("by library", ["--no-children", "--sort", "dso"]),
                ("functions, self", ["--no-children", "--sort",
                                     "dso,symbol", "--percent-limit",
                                     "0.7"])) if not self.dwarf else (
                ("functions with what they call (DWARF call chains)",
                 ["--children", "--sort", "symbol", "--percent-limit",
                  "0.5"]),):
            r = subprocess.run(["perf", "report", "-i", self.out,
                                "--stdio", "-g", "none"] + opts,
                               capture_output=True, text=True, timeout=300)
            out.append("-- %s:" % what)
            out += [l.rstrip() for l in r.stdout.splitlines()
                    if l.strip() and not l.startswith("#")][:80]
        os.unlink(self.out)
        return "\n".join(out)


def bench_sealmail(args, msgs, sender, folder, cpu, profile=None):
    """One run into bob's folder; appends smtpd.receiver's CPU time per
    message (ms, over the whole load) to cpu."""
    inst = harness.Instance(extra_conf={
        "global": {"log_level": "warn", "resolver": DNS_ADDR + "@53"},
        "smtpd": {"max_sessions_per_ip": str(args.sessions + 5)}})
    try:
        inst.add_user(RCPT)
        inst.start("keystore", "mda", "smtpd")
        maildir = inst.maildir(RCPT, folder)
        pid = receiver_pid(inst)
        prof = Profile(pid, profile, args.call_graph) if profile else None
        roots = [inst.pid(n) for n in ("smtpd", "mda", "keystore")]
        all0 = descendants_cpu(roots)
        cpu0 = cpu_seconds(pid)
        t0, accepted = load(inst.port("smtp"), msgs, sender, args.sessions)
        cpu.append((cpu_seconds(pid) - cpu0) * 1000 / len(msgs))
        done = bench_sign.wait_maildir(maildir, len(msgs), t0)
        print("CPU ms per message until all were in the Maildir: %s" % (
            ", ".join("%s %.2f" % kv for kv in sorted(cpu_by_title(
                all0, descendants_cpu(roots), len(msgs)).items()))),
            file=sys.stderr, flush=True)
        head = header_of(maildir)
        if folder == "" and not all(
                f in head for f in (b"dkim=pass", b"spf=pass",
                                    b"dmarc=pass")):
            raise RuntimeError("not verified as expected:\n%s"
                               % head.decode(errors="replace"))
        if prof is not None:
            print("perf, smtpd.receiver, %d s of the verify run:\n%s\n"
                  % (profile, prof.report()), flush=True)
        return accepted, done, head
    finally:
        inst.close()


def bench_verify(args, ctx):
    prof, ctx["profile"] = ctx.get("profile"), None
    return bench_sealmail(args, ctx["signed"], AUTHOR, "",
                          ctx["cpu"]["verify"], prof)


def bench_unsigned(args, ctx):
    return bench_sealmail(args, ctx["unsigned"], STRANGER, "Unsafe",
                          ctx["cpu"]["unsigned"])


def smtp_source_setup(args):
    bench_smtp.MSGS, bench_smtp.SESS, bench_smtp.SIZE = (
        args.messages, args.sessions, args.size)


def bench_smtp_sealmail(args, ctx):
    smtp_source_setup(args)
    accepted, done, _ = bench_smtp.bench_sealmail()
    return accepted, done, b""


def bench_smtp_postfix(args, ctx):
    smtp_source_setup(args)
    accepted, done = bench_smtp.bench_postfix()
    return accepted, done, b""


# -- Postfix + OpenDKIM + OpenDMARC + policyd-spf ------------------------------

OPENDKIM_CONF = """\
Syslog no
Mode v
Socket inet:{dkim}@127.0.0.1
AuthservID {authserv}
InternalHosts 192.0.2.1
PidFile {dir}/opendkim.pid
Nameservers {addr}
"""

OPENDMARC_CONF = """\
Syslog false
Socket inet:{dmarc}@127.0.0.1
AuthservID {authserv}
TrustedAuthservIDs {authserv}
IgnoreHosts {dir}/ignore-hosts
PidFile {dir}/opendmarc.pid
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
SPFIgnoreResults false
SPFSelfValidate false
RejectFailures false
"""

POLICYD_SPF_CONF = """\
debugLevel = 0
TestOnly = 1
HELO_reject = False
Mail_From_reject = False
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.1/32
"""

MILTER_MAIN = """
smtpd_milters = inet:127.0.0.1:{dkim}, inet:127.0.0.1:{dmarc}
milter_default_action = tempfail
smtpd_recipient_restrictions = check_policy_service unix:private/policyd-spf,
    permit_mynetworks, reject
policyd-spf_time_limit = 3600
"""

MILTER_MASTER = """
policyd-spf unix - n n - 0 spawn
    user=policyd-spf argv=/usr/bin/policyd-spf {dir}/policyd-spf.conf
"""


def bench_milters(args, ctx):
    d = tempfile.mkdtemp(prefix="smbench-milters-", dir="/tmp")
    os.chmod(d, 0o755)
    fmt = {"dir": d, "dkim": harness.free_port(), "addr": DNS_ADDR,
           "dmarc": harness.free_port(), "authserv": AUTHSERV}
    for name, text in (("opendkim.conf", OPENDKIM_CONF),
                       ("opendmarc.conf", OPENDMARC_CONF),
                       ("policyd-spf.conf", POLICYD_SPF_CONF),
                       ("ignore-hosts", "192.0.2.1\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text.format(**fmt))
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(d, log), "w"))
             for argv, log in (
                 (["opendkim", "-f", "-x", d + "/opendkim.conf"],
                  "opendkim.log"),
                 (["opendmarc", "-f", "-c", d + "/opendmarc.conf"],
                  "opendmarc.log"))]
    try:
        harness.wait_for(lambda: harness.port_open(fmt["dkim"]), 20,
                         "opendkim")
        harness.wait_for(lambda: harness.port_open(fmt["dmarc"]), 20,
                         "opendmarc")
        with bench_smtp.postfix_instance(MILTER_MAIN.format(**fmt),
                                         MILTER_MASTER.format(**fmt)) \
                as (pfdir, port, maildir):
            try:
                t0, accepted = load(port, ctx["signed"], AUTHOR,
                                    args.sessions)
            except RuntimeError:
                for log in (pfdir + "/maillog", d + "/opendkim.log",
                            d + "/opendmarc.log"):
                    with open(log, errors="replace") as f:
                        print("%s:\n%s" % (log, f.read()[-3000:]),
                              file=sys.stderr)
                raise
            done = bench_sign.wait_maildir(maildir, args.messages, t0)
            head = header_of(maildir)
        for want in (b"dkim=pass", b"Received-SPF: Pass", b"dmarc=pass"):
            if want not in head:
                raise RuntimeError("the milters did not judge as expected "
                                   "(%s):\n%s" % (want.decode(),
                                                  head.decode(errors="replace")))
        return accepted, done, head
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


VARIANTS = {
    "verify": ("Sealmail, signed, verified (DKIM + SPF + DMARC) -> INBOX",
               bench_verify),
    "unsigned": ("Sealmail, same client, unsigned (SPF + DMARC lookups) "
                 "-> Unsafe", bench_unsigned),
    "smtp": ("Sealmail, bench/smtp (smtp-source, unsigned) -> Unsafe",
             bench_smtp_sealmail),
    "postfix": ("Postfix 3.7 + virtual(8), bench/smtp (smtp-source, "
                "nothing verified)", bench_smtp_postfix),
    "milters": ("Postfix 3.7 + OpenDKIM 2.11 + OpenDMARC 1.4 + policyd-spf "
                "3.0, signed, verified", bench_milters),
}


def in_namespace(argv):
    """Run this script again in a network and mount namespace of its own
    with loopback up, DNS_ADDR on it and /etc/resolv.conf naming it."""
    rc = tempfile.mktemp(prefix="smbench-resolv-", dir="/tmp")
    with open(rc, "w") as f:
        f.write("nameserver %s\noptions timeout:2 attempts:1\n" % DNS_ADDR)
    try:
        env = dict(os.environ, **{NETNS_ENV: "1"})
        return subprocess.run(
            ["unshare", "--net", "--mount", "--", "sh", "-ec",
             'ip link set lo up; ip addr add "$1"/32 dev lo; '
             'mount --bind "$0" /etc/resolv.conf; shift; '
             'exec "$@"', rc, DNS_ADDR, sys.executable, os.path.abspath(__file__)]
            + argv, env=env).returncode
    finally:
        os.unlink(rc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--size", type=int, default=5120)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="verify,unsigned,smtp,postfix,milters")
    ap.add_argument("--profile", type=int, default=0, metavar="SECS")
    ap.add_argument("--call-graph", action="store_true",
                    help="--profile with DWARF call chains (199 Hz)")
    args = ap.parse_args()
    names = args.only.split(",")
    for n in names:
        if n not in VARIANTS:
            ap.error("unknown variant %s" % n)
    if os.environ.get(NETNS_ENV) != "1":
        return in_namespace(sys.argv[1:])
    dns = Dns()
    try:
        t = time.time()
        signed, unsigned = make_messages(args.messages, args.size, dns.key)
        print("%d messages signed in %.1f s, %d bytes each signed"
              % (args.messages, time.time() - t, len(signed[0])),
              file=sys.stderr, flush=True)
        ctx = {"signed": signed, "unsigned": unsigned,
               "profile": args.profile,
               "cpu": {"verify": [], "unsigned": []}}
        runs = {n: [] for n in names}
        for r in range(args.runs):
            for n in names:
                accepted, done, head = VARIANTS[n][1](args, ctx)
                runs[n].append((accepted, done))
                if r == 0 and head:
                    print("%s, first message's header:\n%s\n" % (
                        n, head.decode(errors="replace")), file=sys.stderr)
                print("run %d %s: accepted %.2f s (%.0f/s), in Maildir "
                      "%.2f s (%.0f/s)" % (
                          r + 1, n, accepted, args.messages / accepted,
                          done, args.messages / done),
                      file=sys.stderr, flush=True)
    finally:
        dns.stop()
    report(args, names, runs, ctx["cpu"])
    return 0


def report(args, names, runs, cpu):
    print("%d messages of %d bytes, %d sessions, medians of %d runs"
          % (args.messages, args.size, args.sessions, args.runs))
    print()
    print("| variant | all accepted | all in Maildir | accepted msg/s "
          "| end to end msg/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    med = {}
    for n in names:
        acc = statistics.median(a for a, _ in runs[n])
        done = statistics.median(d for _, d in runs[n])
        med[n] = (acc, done)
        print("| %s | %.2f s | %.2f s | %.0f | %.0f |" % (
            VARIANTS[n][0], acc, done, args.messages / acc,
            args.messages / done))
    print()
    if "verify" in runs:
        for n in names:
            if n == "verify":
                continue
            ra = [runs[n][r][0] / runs["verify"][r][0]
                  for r in range(args.runs)]
            rd = [runs[n][r][1] / runs["verify"][r][1]
                  for r in range(args.runs)]
            print("verify / %s, run by run (rate ratios): accepted %s, "
                  "end to end %s" % (
                      n, " ".join("%.2f" % x for x in ra),
                      " ".join("%.2f" % x for x in rd)))
        print()
    for n, ms in cpu.items():
        if ms:
            print("smtpd.receiver CPU per message, %s: median %.2f ms "
                  "(runs: %s)" % (n, statistics.median(ms),
                                  " ".join("%.2f" % x for x in ms)))
    print()
    for r in range(args.runs):
        for n in names:
            a, d = runs[n][r]
            print("run %d %s: accepted %.2f s, in Maildir %.2f s"
                  % (r + 1, n, a, d))


if __name__ == "__main__":
    sys.exit(main())
