#!/usr/bin/python3
"""bench_smtp.py - how fast does smtpd take mail in and get it into a
Maildir, next to Postfix doing the same and smtp-sink doing nothing.

    sudo python3 bench/smtp/bench_smtp.py [MESSAGES [SESSIONS [SIZE [RUNS]]]]

Defaults: 2,000 messages of 5 KB over 20 concurrent sessions, sent by
Postfix's smtp-source (apt-get install postfix; "No configuration" is
enough), 3 runs of Sealmail and Postfix in turn, then smtp-sink once.
Each run is timed from the first connection until the last message is
in a Maildir's new/ (for smtp-sink: until smtp-source ends).  Besides
the times, the CPU every process of each server used (a cpuacct cgroup
per run, holding the servers but not smtp-source): on a shared machine
the times move with the other load, the CPU per message much less.

  sealmail  smtpd from SEALMAIL_BUILDDIR in a throwaway instance (the
            integration harness) at the shipped log level (info), as
            shipped: a 200 ms pause before the greeting catches clients
            that talk first (an address that waited for the greeting
            recently is spared it).  Delivery goes over LMTP to mda when
            build/mda/mda exists, else to the small LMTP server below
            that writes Maildir files the way mda does (tmp/, fsync,
            rename into new/).
  postfix   a private Postfix instance (postfix -c DIR) on a loopback
            port with virtual(8) Maildir delivery for the same domain.
  sink      smtp-sink: the protocol with no queue and no disk, a ceiling.
"""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import harness  # noqa: E402

# set from the command line by main(), or by a benchmark importing this one
MSGS, SESS, SIZE = 2000, 20, 5120
RCPT = "bob@example.test"
CPUACCT = "/sys/fs/cgroup/cpuacct"
last_cpu = None     # CPU seconds of the last run's servers, when counted


class Accounted:
    """A cpuacct cgroup (v1) for the servers of one run: processes this
    one starts between enter() and leave() are counted, with everything
    they fork later.  Without the controller it counts nothing."""

    def __init__(self, name):
        self.dir = None
        if os.path.isdir(CPUACCT):
            self.dir = os.path.join(CPUACCT, "sealmail-bench-%s-%d" %
                                    (name, os.getpid()))
            os.makedirs(self.dir, exist_ok=True)

    def _move(self, d):
        if self.dir is not None:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def enter(self):
        self._move(self.dir)

    def leave(self):
        self._move(CPUACCT)

    def seconds(self):
        if self.dir is None:
            return None
        with open(os.path.join(self.dir, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def close(self):
        self.leave()
        for _ in range(50):          # its processes take a moment to go
            try:
                if self.dir is not None:
                    os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)


def count_new(d):
    try:
        return len(os.listdir(os.path.join(d, "new")))
    except FileNotFoundError:
        return 0


def smtp_source(port):
    return subprocess.run(
        ["smtp-source", "-s", str(SESS), "-m", str(MSGS), "-l", str(SIZE),
         "-f", "bench@example.net", "-t", RCPT, "-M", "client.example.net",
         "127.0.0.1:%d" % port], capture_output=True, text=True)


def timed(port, maildir):
    t0 = time.time()
    r = smtp_source(port)
    t_sent = time.time() - t0
    if r.returncode != 0:
        raise RuntimeError("smtp-source: %s" % r.stderr)
    if maildir is not None:
        harness.wait_for(lambda: count_new(maildir) >= MSGS, 600,
                         "%d messages in %s" % (MSGS, maildir))
    return t_sent, time.time() - t0


class MaildirLmtp:
    """LMTP to Maildir, one thread per connection: tmp/, fsync, new/."""

    def __init__(self, path, maildir):
        self.maildir, self.n = maildir, 0
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.listen(16)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 lmtp\r\n")
        nrcpt = 0
        while True:
            line = f.readline()
            if not line:
                return
            up = line.upper()
            if up.startswith(b"LHLO"):
                c.sendall(b"250 lmtp\r\n")
            elif up.startswith(b"MAIL"):
                nrcpt = 0
                c.sendall(b"250 ok\r\n")
            elif up.startswith(b"RCPT"):
                nrcpt += 1
                c.sendall(b"250 ok\r\n")
            elif up.startswith(b"DATA"):
                c.sendall(b"354 go\r\n")
                chunks = []
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b""):
                        break
                    chunks.append(l[1:] if l.startswith(b"..") else l)
                self.n += 1
                name = "%d.%d_%d.bench" % (time.time(), os.getpid(), self.n)
                tmp = os.path.join(self.maildir, "tmp", name)
                with open(tmp, "wb") as out:
                    out.write(b"".join(chunks))
                    out.flush()
                    os.fsync(out.fileno())
                os.rename(tmp, os.path.join(self.maildir, "new", name))
                c.sendall(b"250 ok\r\n" * nrcpt)
            elif up.startswith(b"RSET"):
                c.sendall(b"250 ok\r\n")
            else:
                c.sendall(b"221 bye\r\n")
                return


def bench_sealmail(greet_delay=None):
    global last_cpu
    if greet_delay is not None:
        os.environ["SEALMAIL_SMTPD_GREET_DELAY_MS"] = str(greet_delay)
    inst = harness.Instance(extra_conf={
        "smtpd": {"max_sessions_per_ip": str(SESS + 5)},
        "global": {"log_level": os.environ.get("BENCH_LOG", "info")}})
    acct = Accounted("sealmail")
    try:
        inst.add_user(RCPT)
        maildir = inst.maildir(RCPT)
        acct.enter()
        if inst.built("mda"):
            inst.start("mda")
            # port 25 mail is unsafe: mda files it in .Unsafe
            maildir = inst.maildir(RCPT, "Unsafe")
            how = "mda"
        else:
            MaildirLmtp(inst.path("run", "lmtp.sock"), maildir)
            how = "Python LMTP-to-Maildir stand-in for mda"
        inst.start("smtpd")
        acct.leave()
        cpu0 = acct.seconds()
        r = timed(inst.port("smtp"), maildir) + (how,)
        last_cpu = None if cpu0 is None else acct.seconds() - cpu0
        return r
    finally:
        acct.leave()
        inst.close()
        acct.close()
        os.environ.pop("SEALMAIL_SMTPD_GREET_DELAY_MS", None)


POSTFIX_MAIN = """\
queue_directory = {d}/spool
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:{d}/etc/vmailbox
virtual_mailbox_base = {d}/mail
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_destination_concurrency_limit = 20
smtpd_client_connection_count_limit = 0
maillog_file_prefixes = /tmp
maillog_file = {d}/maillog
compatibility_level = 3.6
"""


@contextmanager
def postfix_instance(extra_main="", extra_master=""):
    """A private Postfix on a free loopback port delivering example.test
    to Maildirs with virtual(8); yields (config dir, port, bob's Maildir).
    extra_main's lines come after POSTFIX_MAIN's (the last one of a name
    wins), extra_master is appended to master.cf."""
    d = tempfile.mkdtemp(prefix="pf-bench-", dir="/tmp")
    port = harness.free_port()
    vm = pwd.getpwnam("vmail")
    os.makedirs(d + "/etc")
    os.makedirs(d + "/mail/example.test", exist_ok=True)
    os.chown(d + "/mail", vm.pw_uid, vm.pw_gid)
    os.chown(d + "/mail/example.test", vm.pw_uid, vm.pw_gid)
    with open(d + "/etc/main.cf", "w") as f:
        f.write(POSTFIX_MAIN.format(d=d, uid=vm.pw_uid, gid=vm.pw_gid))
        f.write(extra_main.format(d=d))
    with open(d + "/etc/vmailbox", "w") as f:
        f.write("%s example.test/bob/\n" % RCPT)
    with open("/etc/postfix/master.cf") as f:
        master = f.read()
    master = master.replace("smtp      inet  n       -       y       -       -       smtpd",
                            "127.0.0.1:%d inet n - n - - smtpd" % port)
    with open(d + "/etc/master.cf", "w") as f:
        f.write(master + extra_master)
    env = dict(os.environ, MAIL_CONFIG=d + "/etc")
    os.makedirs(d + "/spool")
    os.makedirs(d + "/data")
    pf = pwd.getpwnam("postfix")
    os.chown(d + "/data", pf.pw_uid, pf.pw_gid)
    os.chmod(d, 0o755)
    # "check" creates the queue's subdirectories with their owners
    subprocess.run(["postfix", "-c", d + "/etc", "check"], env=env,
                   capture_output=True)
    acct = Accounted("postfix")
    acct.enter()
    try:
        subprocess.run(["postfix", "-c", d + "/etc", "start"], check=True,
                       env=env, capture_output=True)
    finally:
        acct.leave()
    postfix_instance.acct = acct
    try:
        harness.wait_for(lambda: harness.port_open(port), 20, "postfix")
        yield d, port, d + "/mail/example.test/bob"
    finally:
        subprocess.run(["postfix", "-c", d + "/etc", "stop"], env=env,
                       capture_output=True)
        time.sleep(1)
        acct.close()
        shutil.rmtree(d, ignore_errors=True)


def bench_postfix():
    global last_cpu
    with postfix_instance() as (_, port, maildir):
        acct = postfix_instance.acct
        cpu0 = acct.seconds()
        r = timed(port, maildir)
        last_cpu = None if cpu0 is None else acct.seconds() - cpu0
        return r


def bench_sink():
    port = harness.free_port()
    p = subprocess.Popen(["smtp-sink", "-u", "nobody",
                          "127.0.0.1:%d" % port, "100"])
    try:
        harness.wait_for(lambda: harness.port_open(port), 10, "smtp-sink")
        return timed(port, None)
    finally:
        p.terminate()
        p.wait()


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else \
        (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    global MSGS, SESS, SIZE
    args = [int(a) for a in sys.argv[1:5]]
    MSGS, SESS, SIZE, runs = args + [MSGS, SESS, SIZE, 3][len(args):]
    print("%d messages of %d bytes, %d sessions, smtp-source, %d runs" %
          (MSGS, SIZE, SESS, runs), flush=True)
    res = {"sealmail": [], "postfix": []}
    for i in range(runs):
        for name, fn in (("sealmail", bench_sealmail),
                         ("postfix", bench_postfix)):
            r = fn()
            cpu = last_cpu
            res[name].append((r[0], r[1], cpu))
            print("run %d %-9s all accepted %6.2f s  all in Maildir %6.2f s"
                  "  %6.1f msg/s  server CPU %s" %
                  (i + 1, name, r[0], r[1], MSGS / r[1],
                   "-" if cpu is None else "%.2f s (%.2f ms/msg)" %
                   (cpu, cpu * 1000 / MSGS)), flush=True)
    sink = bench_sink()
    print("smtp-sink (no disk): all accepted %.2f s, %.1f msg/s" %
          (sink[0], MSGS / sink[0]))
    print("\n| server | all accepted (s) | all in Maildir (s) | msg/s | "
          "CPU ms/msg |\n| --- | ---: | ---: | ---: | ---: |")
    med = {}
    for name, rows in res.items():
        acc = median([r[0] for r in rows])
        done = median([r[1] for r in rows])
        cpus = [r[2] for r in rows if r[2] is not None]
        med[name] = (done, median(cpus) * 1000 / MSGS if cpus else None)
        print("| %s | %.2f | %.2f | %.1f | %s |" % (
            name, acc, done, MSGS / done,
            "-" if med[name][1] is None else "%.2f" % med[name][1]))
    print("\nratio end to end (median msg/s, Sealmail / Postfix): %.2f" %
          (med["postfix"][0] / med["sealmail"][0]))
    if med["sealmail"][1] and med["postfix"][1]:
        print("ratio of CPU per message (Postfix / Sealmail): %.2f" %
              (med["postfix"][1] / med["sealmail"][1]))


if __name__ == "__main__":
    main()
