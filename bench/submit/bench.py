#!/usr/bin/python3
"""bench.py - authenticated submissions per second over TLS, and the CPU
time submitd spends per message.

    SEALMAIL_BUILDDIR=build python3 bench/submit/bench.py [--clients 10]
        [--seconds 20] [--mode session|connection] [--rcpts 1]
        [--queue fake|smtpd] [--target sealmail|HOST:PORT --user U --password P]

A throwaway instance (tests/integration/harness.py) runs submitd; the
queue behind it is smtpd's when built (--queue smtpd) or the integration
tests' FakeQueue (a Python stand-in that reads the message fd and
answers IPC_OK with the queue ID).  --clients threads submit for --seconds:

    session      one TLS session and AUTH per client, then messages
                 back to back (a bulk submitter)
    connection   connect, STARTTLS, AUTH, one message, QUIT, per message
                 (what a mail client does)

CPU time is read from /proc (utime + stime) of the submitd parent and
its children before and after.  --target HOST:PORT benchmarks another
submission server (e.g. Postfix with Dovecot SASL) with the same client;
then only the rate is measured here, and --pids names the processes
whose CPU time to count.
"""

import argparse
import os
import smtplib
import ssl
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from harness import DOMAIN, Instance, binary, descendants  # noqa: E402

PASSWORD = "bench password"
BODY = ("Subject: bench\r\n\r\n" + "x" * 72 + "\r\n") * 1


def cpu_ticks(pids):
    """utime + stime per process name (comm), in clock ticks."""
    out = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[comm] = out.get(comm, 0) + int(fields[11]) + int(fields[12])
        # processes that exited during the run (Postfix recycles its
        # smtpd processes) are counted in their parent's cutime/cstime
        reaped = int(fields[13]) + int(fields[14])
        if reaped:
            key = "exited children of " + comm
            out[key] = out.get(key, 0) + reaped
    return out


def message(frm, to):
    return ("From: <%s>\r\nTo: <%s>\r\n%s" % (frm, to, BODY)).encode()


class Client(threading.Thread):
    def __init__(self, args, host, port, ctx, user, rcpts, stop):
        super().__init__(daemon=True)
        self.args, self.host, self.port, self.ctx = args, host, port, ctx
        self.user, self.rcpts, self.stop = user, rcpts, stop
        self.sent = 0
        self.errors = 0
        self.latencies = []

    def session(self):
        s = smtplib.SMTP(self.host, self.port, timeout=60)
        s.ehlo("bench.example.test")
        s.starttls(context=self.ctx)
        s.ehlo("bench.example.test")
        s.login(self.user, self.args.password)
        return s

    def one(self, s):
        t0 = time.time()
        s.sendmail(self.user, self.rcpts, message(self.user, self.rcpts[0]))
        self.latencies.append(time.time() - t0)
        self.sent += 1

    def run(self):
        s = None
        while not self.stop.is_set():
            try:
                if s is None:
                    s = self.session()
                self.one(s)
                if self.args.mode == "connection":
                    try:
                        s.quit()
                    except smtplib.SMTPServerDisconnected:
                        pass
                    s = None
            except Exception as e:  # noqa: BLE001 - counted
                self.errors += 1
                if self.errors < 3:
                    print("client error:", repr(e), file=sys.stderr)
                s = None
                time.sleep(0.1)
        if s is not None:
            try:
                s.quit()
            except Exception:  # noqa: BLE001
                pass


def run_load(args, host, port, ctx, users, rcpt_domain, pids):
    stop = threading.Event()
    clients = []
    for k in range(args.clients):
        user = users[k % len(users)]
        rcpts = ["r%d.%d@%s" % (k, i, rcpt_domain) for i in range(args.rcpts)]
        clients.append(Client(args, host, port, ctx, user, rcpts, stop))
    c0 = cpu_ticks(pids())
    me0 = os.times()
    t0 = time.time()
    for c in clients:
        c.start()
    time.sleep(args.seconds)
    stop.set()
    for c in clients:
        c.join(60)
    elapsed = time.time() - t0
    c1 = cpu_ticks(pids())
    me1 = os.times()
    sent = sum(c.sent for c in clients)
    errors = sum(c.errors for c in clients)
    lat = sorted(x for c in clients for x in c.latencies)
    hz = os.sysconf("SC_CLK_TCK")
    by_name = {k: (c1.get(k, 0) - c0.get(k, 0)) / hz for k in c1}
    server_cpu = sum(by_name.values())
    client_cpu = (me1.user - me0.user) + (me1.system - me0.system)
    return {
        "messages": sent, "errors": errors, "seconds": elapsed,
        "rate": sent / elapsed,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_msg": 1000 * server_cpu / sent if sent else 0,
        "client_cpu_s": client_cpu,
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else 0,
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else 0,
        "cpu_ms_per_msg_by_process": ", ".join(
            "%s %.3f" % (k, 1000 * v / sent) for k, v in
            sorted(by_name.items(), key=lambda kv: -kv[1]) if v > 0 and sent),
    }


def bench_sealmail(args):
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    from test_submitd import FakeQueue
    extra = {"global": {"log_level": "warn"},
             "submitd": {"max_sessions_per_ip": "100"}}
    inst = Instance(extra_conf=extra)
    fq = None
    try:
        users = ["bench%d@%s" % (k, DOMAIN) for k in range(args.clients)]
        for u in users:
            inst.add_user(u, PASSWORD)
            inst.ctl("user", "set", u, "max_rcpt_per_day=10000000")
        if args.queue == "smtpd":
            inst.start("mda", "smtpd")
        else:
            fq = FakeQueue(inst.path("run", "queue.sock"))
            fq.keep = False
        inst.start("submitd")
        pid = inst.pid("submitd")

        def pids():
            p = [pid] + descendants(pid)
            if args.queue == "smtpd":
                for n in ("smtpd", "mda"):
                    q = inst.pid(n)
                    p += [q] + descendants(q)
            return p
        ctx = inst.client_tls_context()
        args.password = PASSWORD
        return run_load(args, "127.0.0.1", inst.port("submission"), ctx,
                        users, "remote.example", pids)
    finally:
        inst.close()
        if fq is not None:
            fq.close()


def bench_other(args):
    host, port = args.target.rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    pids = [int(p) for p in args.pids.split(",")] if args.pids else []

    def allpids():
        out = []
        for p in pids:
            out += [p] + descendants(p)
        return out
    return run_load(args, host, int(port), ctx, [args.user], args.rcpt_domain,
                    allpids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--mode", choices=("session", "connection"),
                    default="session")
    ap.add_argument("--rcpts", type=int, default=1)
    ap.add_argument("--queue", choices=("fake", "smtpd"), default=None)
    ap.add_argument("--target", default="sealmail")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--pids", default="")
    ap.add_argument("--rcpt-domain", default="remote.example")
    args = ap.parse_args()
    if args.queue is None:
        args.queue = "smtpd" if os.path.exists(binary("smtpd")) else "fake"
    if args.target == "sealmail":
        r = bench_sealmail(args)
    else:
        r = bench_other(args)
    print("target=%s mode=%s clients=%d rcpts=%d queue=%s" %
          (args.target, args.mode, args.clients, args.rcpts,
           args.queue if args.target == "sealmail" else "-"))
    for k, v in r.items():
        print("%s=%s" % (k, round(v, 3) if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
