#!/usr/bin/python3
"""bench_sign.py - submission throughput with DKIM signing on, end to end:
from the first message submitted until the last one is in bob's Maildir,
signed (and, for Sealmail, verified again by the queue for its
Authentication-Results), next to Postfix signing with OpenDKIM.

    SEALMAIL_BUILDDIR=$PWD/build python3 bench/sign/bench_sign.py \
        [--messages 1500] [--clients 10] [--size 5120] [--runs 3] \
        [--only both,rsa,postfix,port25]

Variants, each run on a fresh instance, the variants of one round back to
back so that the shared machine's load hits them alike:

  both     Sealmail as shipped: submitd (STARTTLS, AUTH once per client
           session) -> smtpd.queue (fsync, signs rsa-sha256 and
           ed25519-sha256 through the keystore, verifies both against
           the keys' records) -> smtpd.delivery -> LMTP -> mda -> Maildir
  rsa      the same with [smtpd] sign_ed25519 = no (one signature)
  port25   the same queue, delivery and mda with nothing to sign: the
           messages come in on port 25 from another domain (STARTTLS, no
           AUTH), are verified by the receiver (no signature) and filed
           in bob's Unsafe folder: what the signing step costs
  postfix  Postfix 3.7 (a private instance, postfix -c DIR) taking the
           same client on a loopback port with STARTTLS, relaying for
           127.0.0.0/8 (no SASL: Dovecot is not needed; the login is
           once per session either way), signing through OpenDKIM 2.11
           as a milter (rsa-sha256, relaxed/relaxed, the same header
           fields oversigned) and delivering with virtual(8) to Maildir

--clients threads each keep one TLS session and submit their share of
--messages back to back, all to bob@example.test.  Per run: accepted (the
last 250) and in Maildir (the last file in new/), both from the first
connection; the rate is messages / in-Maildir time.  One delivered message
per run is checked for its signatures.  Prints the medians of --runs runs
as a Markdown table, then every run.  Needs root, the postfix and
opendkim packages (apt-get install postfix opendkim; Postfix "No
configuration"), and a build without sanitizers.
"""

import argparse
import os
import pwd
import shutil
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import harness  # noqa: E402

PASSWORD = "bench password"
RCPT = "bob@" + harness.DOMAIN
OVERSIGN = ("From,To,Cc,Subject,Date,Message-ID,Reply-To,References,"
            "In-Reply-To,Content-Type,MIME-Version")


def message(frm, n, size):
    line = "x" * 74 + "\r\n"
    body = line * max(1, size // len(line))
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: bench %d\r\n"
            "Date: Sun, 6 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <%d.%s>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s"
            % (frm, RCPT, n, n, frm, body)).encode()


def count_new(maildir):
    try:
        return len(os.listdir(os.path.join(maildir, "new")))
    except FileNotFoundError:
        return 0


def load(port, users, password, args):
    """Submit args.messages over args.clients sessions; the seconds until
    the last 250 and until the last message is in maildir (set later)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    errors = []
    share = [args.messages // args.clients + (k < args.messages %
                                               args.clients)
             for k in range(args.clients)]

    def client(k):
        user = users[k % len(users)]
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            s.ehlo("bench.example.test")
            if s.has_extn("starttls"):
                s.starttls(context=ctx)
                s.ehlo("bench.example.test")
            if password is not None:
                s.login(user, password)
            for i in range(share[k]):
                s.sendmail(user, [RCPT], message(user, k * 100000 + i,
                                                 args.size))
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported, run discarded
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(args.clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    if errors:
        raise RuntimeError("client errors: %s" % errors[:3])
    return t0, time.time() - t0


def wait_maildir(maildir, n, t0, limit=600):
    while count_new(maildir) < n:
        if time.time() - t0 > limit:
            raise RuntimeError("%d of %d messages in %s after %ds" % (
                count_new(maildir), n, maildir, limit))
        time.sleep(0.02)
    return time.time() - t0


def one_message(maildir):
    d = os.path.join(maildir, "new")
    with open(os.path.join(d, sorted(os.listdir(d))[0]), "rb") as f:
        return f.read()


# -- Sealmail -------------------------------------------------------------

def bench_sealmail(args, ed25519):
    conf = {"global": {"log_level": "warn"},
            "submitd": {"max_sessions_per_ip": "100"}}
    if not ed25519:
        conf["smtpd"] = {"sign_ed25519": "no"}
    inst = harness.Instance(extra_conf=conf)
    try:
        users = ["bench%d@%s" % (k, harness.DOMAIN)
                 for k in range(args.clients)]
        for u in users:
            inst.add_user(u, PASSWORD)
            inst.ctl("user", "set", u, "max_rcpt_per_day=10000000")
        inst.add_user(RCPT, PASSWORD)
        inst.start("keystore", "mda", "smtpd", "submitd")
        maildir = inst.maildir(RCPT)
        t0, accepted = load(inst.port("submission"), users, PASSWORD, args)
        done = wait_maildir(maildir, args.messages, t0)
        m = one_message(maildir)
        want = 2 if ed25519 else 1
        if m.count(b"DKIM-Signature:") != want or \
                m.count(b"dkim=pass") != want:
            raise RuntimeError("not signed and verified as expected:\n%s"
                               % m[:3000].decode(errors="replace"))
        return accepted, done
    finally:
        inst.close()


def bench_port25(args):
    """The same queue and delivery without signing: port 25 mail from
    another domain (the receiver verifies it, finds no signature, and
    mda files it in bob's Unsafe folder)."""
    inst = harness.Instance(extra_conf={
        "global": {"log_level": "warn"},
        "smtpd": {"max_sessions_per_ip": str(args.clients + 5)}})
    try:
        inst.add_user(RCPT, PASSWORD)
        inst.start("keystore", "mda", "smtpd")
        maildir = inst.maildir(RCPT, "Unsafe")
        t0, accepted = load(inst.port("smtp"), ["carol@remote.test"], None,
                            args)
        done = wait_maildir(maildir, args.messages, t0)
        if b"DKIM-Signature:" in one_message(maildir):
            raise RuntimeError("port 25 mail was signed")
        return accepted, done
    finally:
        inst.close()


# -- Postfix + OpenDKIM -----------------------------------------------------

POSTFIX_MAIN = """\
compatibility_level = 3.6
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
smtpd_peername_lookup = no
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_tls_cert_file = {d}/etc/cert.pem
smtpd_tls_key_file = {d}/etc/key.pem
smtpd_tls_security_level = may
smtpd_milters = inet:127.0.0.1:{milter}
milter_default_action = tempfail
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{d}/etc/vmailbox
virtual_mailbox_base = {d}/mail
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_destination_concurrency_limit = 20
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 100
defer_transports = smtp
maillog_file_prefixes = /tmp
maillog_file = {d}/maillog
"""

OPENDKIM_CONF = """\
Syslog no
Mode s
Domain {domain}
Selector bench
KeyFile {d}/etc/dkim.pem
Socket inet:{milter}@127.0.0.1
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.0/8
OversignHeaders {oversign}
PidFile {d}/opendkim.pid
RequireSafeKeys false
"""


def bench_postfix(args):
    d = tempfile.mkdtemp(prefix="pf-sign-bench-", dir="/tmp")
    port, milter = harness.free_port(), harness.free_port()
    vm, pf = pwd.getpwnam("vmail"), pwd.getpwnam("postfix")
    env = dict(os.environ, MAIL_CONFIG=d + "/etc")
    for sub in ("etc", "spool", "data", "mail/" + harness.DOMAIN):
        os.makedirs(os.path.join(d, sub))
    os.chown(d + "/mail", vm.pw_uid, vm.pw_gid)
    os.chown(d + "/mail/" + harness.DOMAIN, vm.pw_uid, vm.pw_gid)
    os.chown(d + "/data", pf.pw_uid, pf.pw_gid)
    os.chmod(d, 0o755)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.example.test", "-keyout",
                    d + "/etc/key.pem", "-out", d + "/etc/cert.pem"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", d + "/etc/dkim.pem"],
                   check=True, capture_output=True)
    os.chmod(d + "/etc/dkim.pem", 0o600)
    fmt = {"d": d, "milter": milter, "uid": vm.pw_uid, "gid": vm.pw_gid,
           "domain": harness.DOMAIN, "oversign": OVERSIGN}
    with open(d + "/etc/main.cf", "w") as f:
        f.write(POSTFIX_MAIN.format(**fmt))
    with open(d + "/etc/opendkim.conf", "w") as f:
        f.write(OPENDKIM_CONF.format(**fmt))
    with open(d + "/etc/vmailbox", "w") as f:
        f.write("%s %s/bob/\n" % (RCPT, harness.DOMAIN))
    with open("/etc/postfix/master.cf") as f:
        master = f.read()
    smtp = "smtp      inet  n       -       y       -       -       smtpd"
    if smtp not in master:
        raise RuntimeError("/etc/postfix/master.cf: no smtp inet line")
    with open(d + "/etc/master.cf", "w") as f:
        f.write(master.replace(smtp, "127.0.0.1:%d inet n - n - - smtpd"
                               % port))
    dkim = subprocess.Popen(["opendkim", "-f", "-x",
                             d + "/etc/opendkim.conf"],
                            stderr=subprocess.DEVNULL)
    subprocess.run(["postfix", "-c", d + "/etc", "check"], env=env,
                   capture_output=True)
    subprocess.run(["postfix", "-c", d + "/etc", "start"], check=True,
                   env=env, capture_output=True)
    try:
        harness.wait_for(lambda: harness.port_open(port), 20, "postfix")
        harness.wait_for(lambda: harness.port_open(milter), 20, "opendkim")
        maildir = os.path.join(d, "mail", harness.DOMAIN, "bob")
        t0, accepted = load(port, ["bench%d@%s" % (k, harness.DOMAIN)
                                   for k in range(args.clients)], None,
                            args)
        done = wait_maildir(maildir, args.messages, t0)
        m = one_message(maildir)
        if m.count(b"DKIM-Signature:") != 1:
            raise RuntimeError("Postfix did not sign:\n%s"
                               % m[:3000].decode(errors="replace"))
        return accepted, done
    finally:
        subprocess.run(["postfix", "-c", d + "/etc", "stop"], env=env,
                       capture_output=True)
        dkim.terminate()
        dkim.wait()
        time.sleep(1)
        shutil.rmtree(d, ignore_errors=True)


VARIANTS = {
    "both": ("Sealmail, rsa-sha256 + ed25519-sha256",
             lambda a: bench_sealmail(a, True)),
    "rsa": ("Sealmail, rsa-sha256 only", lambda a: bench_sealmail(a, False)),
    "postfix": ("Postfix 3.7 + OpenDKIM 2.11, rsa-sha256", bench_postfix),
    "port25": ("Sealmail, port 25 in, nothing signed (same queue and mda)",
               bench_port25),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--size", type=int, default=5120)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="both,rsa,postfix,port25")
    args = ap.parse_args()
    names = args.only.split(",")
    for n in names:
        if n not in VARIANTS:
            ap.error("unknown variant %s" % n)
    runs = {n: [] for n in names}
    for r in range(args.runs):
        for n in names:
            accepted, done = VARIANTS[n][1](args)
            runs[n].append((accepted, done))
            print("run %d %s: accepted %.2f s, in Maildir %.2f s, %.1f msg/s"
                  % (r + 1, n, accepted, done, args.messages / done),
                  file=sys.stderr, flush=True)
    print("%d messages of %d bytes, %d client sessions (STARTTLS), "
          "medians of %d runs" % (args.messages, args.size, args.clients,
                                  args.runs))
    print()
    print("| variant | all accepted | all in Maildir | msg/s accepted "
          "| msg/s end to end |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for n in names:
        acc = statistics.median(a for a, _ in runs[n])
        done = statistics.median(d for _, d in runs[n])
        print("| %s | %.2f s | %.2f s | %.0f | %.0f |" % (
            VARIANTS[n][0], acc, done, args.messages / acc,
            args.messages / done))
    print()
    for r in range(args.runs):
        for n in names:
            a, d = runs[n][r]
            print("run %d %s: accepted %.2f s, in Maildir %.2f s" % (
                r + 1, n, a, d))


if __name__ == "__main__":
    main()
