#!/usr/bin/python3
"""bench_relay.py - relaying between two ISPs, end to end: messages per
second from the first submission at one server until the last message
is in the far user's Maildir, over TLS, next to Postfix to Postfix on the
same machine in the same run; and the TCP connections the receiving side
saw per 1,000 messages (connection reuse).

    SEALMAIL_BUILDDIR=$PWD/build python3 bench/relay/bench_relay.py \
        [--messages 500] [--clients 5] [--size 5120] [--runs 3] \
        [--only sealmail,postfix] [--postfix-dkim yes|no]

Variants, each on fresh instances, the variants of one round back to
back so that the shared machine's load hits them alike:

  sealmail  isp-a.test -> isp-b.test, two Sealmail instances on loopback
            with a private NSD (MX, A and the DKIM TXT records, as
            tests/integration/test_exchange.py) and a private CA: alice
            submits to isp-a (STARTTLS, AUTH once per session), isp-a's
            queue signs (rsa-sha256 + ed25519-sha256) and checks its
            signatures, smtpd.mta finds isp-b's MX and sends over
            STARTTLS with tls_policy = verify; isp-b's receiver verifies
            the signatures against the NSD, mda files the message in
            bob's INBOX
  postfix   two private Postfix 3.7 instances (postfix -c DIR) on
            loopback: the first takes the same clients (STARTTLS, relay
            for 127.0.0.0/8), signs through OpenDKIM as a milter when
            --postfix-dkim yes (rsa-sha256, as bench/sign) and relays
            isp-b.test to the second (transport map, smtp(8) with
            smtp_tls_security_level = encrypt and the CA), which files
            it with virtual(8) in a Maildir; the second verifies nothing

Both: every message is fsynced by each server before its 250.  The rate
is messages / seconds until the last file is in the far Maildir's new/.
Connections: the sessions the receiving side logged while the messages
came in (Sealmail isp-b: distinct session ids of its receiver's from=
lines at log_level info; Postfix: smtpd's "connect from" lines), per
1,000 messages.  Needs root, postfix, opendkim (for --postfix-dkim yes),
nsd and ldnsutils (./sealmail.sh deps) and a build without sanitizers.
"""

import argparse
import os
import pwd
import re
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
sys.path.insert(0, os.path.join(TOP, "bench", "sign"))

import dnsserver  # noqa: E402
import harness  # noqa: E402
from bench_sign import (OPENDKIM_CONF, OVERSIGN, one_message,  # noqa: E402
                        wait_maildir)
from postfix_instance import PostfixInstance, missing  # noqa: E402
from test_exchange import (install_tls, make_ca, make_cert,  # noqa: E402
                           zone_records)

PASSWORD = "bench password"
ALICE = "alice@isp-a.test"
BOB = "bob@isp-b.test"


def message(n, size):
    line = "x" * 74 + "\r\n"
    body = line * max(1, size // len(line))
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: relay bench %d\r\n"
            "Date: Sun, 6 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <%d.relay@isp-a.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s"
            % (ALICE, BOB, n, n, body)).encode()


def load(port, login, args):
    """Send args.messages over args.clients STARTTLS sessions; the time
    of the first connection and the seconds until the last 250."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    errors = []
    share = [args.messages // args.clients +
             (k < args.messages % args.clients) for k in range(args.clients)]

    def client(k):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            s.ehlo("bench.isp-a.test")
            s.starttls(context=ctx)
            s.ehlo("bench.isp-a.test")
            if login:
                s.login(ALICE, PASSWORD)
            for i in range(share[k]):
                s.sendmail(ALICE, [BOB], message(k * 100000 + i, args.size))
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    t0 = time.time()
    threads = [threading.Thread(target=client, args=(k,))
               for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("client failed: %r" % errors[0])
    return t0, time.time() - t0


# -- Sealmail -> Sealmail -----------------------------------------------------

def sealmail_sessions(inst):
    """isp-b receiver sessions that carried mail so far."""
    return set(re.findall(r"session=([0-9a-f]+) peer=\S+ from=<",
                          inst.log("smtpd")))


def bench_sealmail(args):
    pa = {p: harness.free_port() for p in harness.Instance.PORTS}
    pb = {p: harness.free_port() for p in harness.Instance.PORTS}

    def conf(name, other):
        return {"global": {"hostname": "mx.%s" % name, "log_level": "info",
                           "postmaster": "postmaster@%s" % name,
                           "resolver": "127.0.0.1@1"},
                "smtpd": {"mta_port": str(other["smtp"]),
                          "tls_policy": "verify",
                          "max_sessions_per_ip": "100"},
                "submitd": {"max_sessions_per_ip": str(args.clients + 5)}}
    closers = []
    try:
        a = harness.Instance(ports=pa, extra_conf=conf("isp-a.test", pb))
        closers.append(a.close)
        b = harness.Instance(ports=pb, extra_conf=conf("isp-b.test", pa))
        closers.append(b.close)
        ca = a.path("relay-ca")
        make_ca(ca)
        base = ["DNS:localhost", "IP:127.0.0.1"]
        install_tls(a, ca, *make_cert(ca, "a", ["DNS:mx.isp-a.test"] + base))
        install_tls(b, ca, *make_cert(ca, "b", ["DNS:mx.isp-b.test"] + base))
        a.add_user(ALICE, PASSWORD)
        b.add_user(BOB, PASSWORD)
        zones = {dom: ["@ MX 10 mx", "mx A 127.0.0.1"] +
                 zone_records(inst, dom)
                 for inst, dom in ((a, "isp-a.test"), (b, "isp-b.test"))}
        dns = dnsserver.DnsServer(zones)
        dns.start()
        closers.append(dns.stop)
        for inst in (a, b):
            with open(inst.conf) as f:
                text = f.read()
            with open(inst.conf, "w") as f:
                f.write(text.replace("resolver = 127.0.0.1@1\n",
                                     "resolver = %s\n" % dns.resolver))
            inst.start("keystore", "mda", "smtpd", "submitd")
        maildir = b.maildir(BOB)
        before = sealmail_sessions(b)
        t0, accepted = load(a.port("submission"), True, args)
        done = wait_maildir(maildir, args.messages, t0)
        conns = len(sealmail_sessions(b) - before)
        m = one_message(maildir)
        if m.count(b"DKIM-Signature:") != 2 or m.count(b"dkim=pass") != 2:
            raise RuntimeError("not signed and verified as expected:\n%s"
                               % m[:3000].decode(errors="replace"))
        if not re.search(r"policy=verify tls=TLSv1\.[23] .*status=sent",
                         a.log("smtpd")):
            raise RuntimeError("isp-a did not send over verified TLS")
        return accepted, done, conns
    finally:
        for c in reversed(closers):
            c()


# -- Postfix -> Postfix -------------------------------------------------------

def postfix_connections(pf):
    return len(re.findall(r"postfix/smtpd\[\d+\]: connect from ", pf.log()))


def bench_postfix(args):
    d = tempfile.mkdtemp(prefix="pf-relay-bench-", dir="/tmp")
    os.chmod(d, 0o755)
    ca = os.path.join(d, "ca")
    make_ca(ca)
    base = ["DNS:localhost", "IP:127.0.0.1"]
    cert_a = make_cert(ca, "a", ["DNS:mx.pfa.test"] + base)
    cert_b = make_cert(ca, "b", ["DNS:mx.isp-b.test"] + base)
    vm = pwd.getpwnam("vmail")
    port_a, port_b, milter = (harness.free_port(), harness.free_port(),
                              harness.free_port())
    common = {
        "mydestination": "localhost",
        "smtpd_tls_security_level": "may",
        "smtpd_client_connection_count_limit": "0",
        "smtpd_client_connection_rate_limit": "0",
        "default_process_limit": "100",
        "defer_transports": "",
    }
    a_main = dict(common, **{
        "myhostname": "mx.pfa.test", "mydomain": "pfa.test",
        "smtpd_tls_cert_file": cert_a[0], "smtpd_tls_key_file": cert_a[1],
        "transport_maps": "texthash:%s/a/etc/transport" % d,
        "smtp_tls_security_level": "encrypt",
        "smtp_tls_CAfile": os.path.join(ca, "ca.pem"),
        "smtp_tls_loglevel": "1",
    })
    if args.postfix_dkim == "yes":
        a_main.update({"smtpd_milters": "inet:127.0.0.1:%d" % milter,
                       "milter_default_action": "tempfail"})
    mail = os.path.join(d, "mail")
    b_main = dict(common, **{
        "myhostname": "mx.isp-b.test", "mydomain": "isp-b.test",
        "smtpd_tls_cert_file": cert_b[0], "smtpd_tls_key_file": cert_b[1],
        "virtual_mailbox_domains": "isp-b.test",
        "virtual_mailbox_maps": "texthash:%s/b/etc/vmailbox" % d,
        "virtual_mailbox_base": mail,
        "virtual_uid_maps": "static:%d" % vm.pw_uid,
        "virtual_gid_maps": "static:%d" % vm.pw_gid,
        "virtual_destination_concurrency_limit": "20",
    })
    for sub in ("a", "b"):
        os.makedirs(os.path.join(d, sub))
    pfa = PostfixInstance(port_a, a_main, prefix=os.path.join(d, "a"))
    pfb = PostfixInstance(port_b, b_main, prefix=os.path.join(d, "b"))
    os.makedirs(mail)
    os.chown(mail, vm.pw_uid, vm.pw_gid)
    with open(os.path.join(d, "a", "etc", "transport"), "w") as f:
        f.write("isp-b.test smtp:[127.0.0.1]:%d\n" % port_b)
    with open(os.path.join(d, "b", "etc", "vmailbox"), "w") as f:
        f.write("%s isp-b.test/bob/\n" % BOB)
    dkim = None
    try:
        if args.postfix_dkim == "yes":
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                            "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                            d + "/dkim.pem"], check=True,
                           capture_output=True)
            os.chmod(d + "/dkim.pem", 0o600)
            with open(d + "/opendkim.conf", "w") as f:
                f.write(OPENDKIM_CONF.format(d=d, milter=milter,
                                             domain="isp-a.test",
                                             oversign=OVERSIGN)
                        .replace(d + "/etc/dkim.pem", d + "/dkim.pem"))
            dkim = subprocess.Popen(["opendkim", "-f", "-x",
                                     d + "/opendkim.conf"],
                                    stderr=subprocess.DEVNULL)
            harness.wait_for(lambda: harness.port_open(milter), 20,
                             "opendkim")
        pfb.start()
        pfa.start()
        maildir = os.path.join(mail, "isp-b.test", "bob")
        before = postfix_connections(pfb)
        t0, accepted = load(port_a, False, args)
        done = wait_maildir(maildir, args.messages, t0)
        conns = postfix_connections(pfb) - before
        m = one_message(maildir)
        if args.postfix_dkim == "yes" and m.count(b"DKIM-Signature:") != 1:
            raise RuntimeError("Postfix did not sign:\n%s"
                               % m[:3000].decode(errors="replace"))
        if "Trusted TLS connection established to 127.0.0.1" \
                not in pfa.log():
            raise RuntimeError("Postfix did not relay over TLS")
        return accepted, done, conns
    finally:
        pfa.close()
        pfb.close()
        if dkim is not None:
            dkim.terminate()
            dkim.wait()
        subprocess.run(["rm", "-rf", d])


VARIANTS = {
    "sealmail": ("Sealmail -> Sealmail (signed, verify TLS, verified)",
                 bench_sealmail),
    "postfix": ("Postfix 3.7 -> Postfix 3.7 (encrypt TLS)", bench_postfix),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--size", type=int, default=5120)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="sealmail,postfix")
    ap.add_argument("--postfix-dkim", choices=("yes", "no"), default="yes")
    args = ap.parse_args()
    names = args.only.split(",")
    for n in names:
        if n not in VARIANTS:
            ap.error("unknown variant %s" % n)
    if "postfix" in names and missing():
        ap.error(missing())
    runs = {n: [] for n in names}
    for r in range(args.runs):
        for n in names:
            acc, done, conns = VARIANTS[n][1](args)
            runs[n].append((acc, done, conns))
            print("run %d %s: accepted %.2f s, in far Maildir %.2f s, "
                  "%.1f msg/s, %d connections" % (
                      r + 1, n, acc, done, args.messages / done, conns),
                  file=sys.stderr, flush=True)
    print("%d messages of %d bytes, %d client sessions, medians of %d runs"
          % (args.messages, args.size, args.clients, args.runs))
    print()
    print("| variant | all accepted | all in far Maildir | msg/s end to end "
          "| connections per 1,000 msgs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for n in names:
        acc = statistics.median(a for a, _, _ in runs[n])
        done = statistics.median(d for _, d, _ in runs[n])
        conns = statistics.median(c for _, _, c in runs[n])
        print("| %s | %.2f s | %.2f s | %.1f | %.0f |" % (
            VARIANTS[n][0], acc, done, args.messages / done,
            conns * 1000.0 / args.messages))
    print()
    for r in range(args.runs):
        for n in names:
            a, d, c = runs[n][r]
            print("run %d %s: accepted %.2f s, in far Maildir %.2f s, "
                  "%d connections" % (r + 1, n, a, d, c))


if __name__ == "__main__":
    main()
