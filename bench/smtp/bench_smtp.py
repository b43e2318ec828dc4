#!/usr/bin/python3
"""bench_smtp.py - how fast does smtpd take mail in and get it into a
Maildir, next to Postfix doing the same and smtp-sink doing nothing.

    sudo python3 bench/smtp/bench_smtp.py [MESSAGES [SESSIONS [SIZE]]]

Defaults: 2,000 messages of 5 KB over 20 concurrent sessions, sent by
Postfix's smtp-source (apt-get install postfix; "No configuration" is
enough).  Each run is timed from the first connection until the last
message is in a Maildir's new/ (for smtp-sink: until smtp-source ends).

  sealmail  smtpd from SEALMAIL_BUILDDIR in a throwaway instance (the
            integration harness), once as shipped (a 200 ms pause before
            the greeting catches clients that talk first; smtp-source
            opens one connection per message, so it pays the pause for
            every message) and once with the pause off
            (SEALMAIL_SMTPD_GREET_DELAY_MS=0).  Delivery goes over LMTP to mda when
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
    if greet_delay is not None:
        os.environ["SEALMAIL_SMTPD_GREET_DELAY_MS"] = str(greet_delay)
    inst = harness.Instance(extra_conf={"smtpd": {
        "max_sessions_per_ip": str(SESS + 5)}})
    try:
        inst.add_user(RCPT)
        maildir = inst.maildir(RCPT)
        if inst.built("mda"):
            inst.start("mda")
            # port 25 mail is unsafe: mda files it in .Unsafe
            maildir = inst.maildir(RCPT, "Unsafe")
            how = "mda"
        else:
            MaildirLmtp(inst.path("run", "lmtp.sock"), maildir)
            how = "Python LMTP-to-Maildir stand-in for mda"
        inst.start("smtpd")
        return timed(inst.port("smtp"), maildir) + (how,)
    finally:
        inst.close()
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
    subprocess.run(["postfix", "-c", d + "/etc", "start"], check=True,
                   env=env, capture_output=True)
    try:
        harness.wait_for(lambda: harness.port_open(port), 20, "postfix")
        yield d, port, d + "/mail/example.test/bob"
    finally:
        subprocess.run(["postfix", "-c", d + "/etc", "stop"], env=env,
                       capture_output=True)
        time.sleep(1)
        shutil.rmtree(d, ignore_errors=True)


def bench_postfix():
    with postfix_instance() as (_, port, maildir):
        return timed(port, maildir)


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


def main():
    global MSGS, SESS, SIZE
    if len(sys.argv) > 1:
        MSGS = int(sys.argv[1])
    if len(sys.argv) > 2:
        SESS = int(sys.argv[2])
    if len(sys.argv) > 3:
        SIZE = int(sys.argv[3])
    print("%d messages of %d bytes, %d sessions, smtp-source" %
          (MSGS, SIZE, SESS))
    rows = []
    for name, fn in (("sealmail smtpd", bench_sealmail),
                     ("sealmail smtpd, no pregreet",
                      lambda: bench_sealmail(0)),
                     ("postfix (virtual Maildir)", bench_postfix),
                     ("smtp-sink (no disk)", bench_sink)):
        r = fn()
        rows.append((name,) + r)
        print("%-30s sent in %6.2fs  in Maildir after %6.2fs  %7.1f msg/s %s"
              % (name, r[0], r[1], MSGS / r[1],
                 "(%s)" % r[2] if len(r) > 2 else ""), flush=True)


if __name__ == "__main__":
    main()
