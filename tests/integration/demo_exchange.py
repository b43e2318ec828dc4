"""demo_exchange.py - the two-ISP demo: ./sealmail.sh demo exchange.

Called by demo.py (`demo.py exchange DIR`).  Makes two Sealmail
instances, isp-a.test in DIR/isp-a and isp-b.test in DIR/isp-b, on free
loopback ports, as tests/integration/test_exchange.py does: one private
CA whose certificates name mx.isp-a.test and mx.isp-b.test, a private
NSD serving both domains' MX and A records and the DKIM records
`sealmailctl keys dns` prints, each instance's [smtpd] mta_port the
other's port 25 and tls_policy = verify.  alice@isp-a.test submits to
bob@isp-b.test; each step is shown from the logs and the message
itself, and bob reads it over IMAP.  Then everything is stopped; the
logs stay in DIR/isp-*/log/.
"""

import os
import re
import shutil
from email.message import EmailMessage

import dnsserver
from demo import PASSWORD, header_fields, read_inbox, say, stop, submit
from harness import Instance, free_port, wait_for
from test_exchange import install_tls, make_ca, make_cert, zone_records

ALICE = "alice@isp-a.test"
BOB = "bob@isp-b.test"


def make(prefix, name, mine, other):
    conf = {"global": {"hostname": "mx." + name,
                       "postmaster": "postmaster@" + name,
                       "resolver": "127.0.0.1@1"},
            "smtpd": {"mta_port": str(other["smtp"]),
                      "tls_policy": "verify"}}
    return Instance(prefix=prefix, ports=mine, extra_conf=conf)


def set_resolver(inst, resolver):
    with open(inst.conf) as f:
        text = f.read()
    with open(inst.conf, "w") as f:
        f.write(text.replace("resolver = 127.0.0.1@1\n",
                             "resolver = %s\n" % resolver))


def log_line(inst, pattern, what, timeout=60):
    rx = re.compile(pattern)

    def look():
        for line in inst.log("smtpd").splitlines():
            if rx.search(line):
                return line
        return None
    return wait_for(look, timeout, what)


def show(lines):
    for line in lines:
        print("    | " + line)


def result(ar, method):
    """The first result of method in an Authentication-Results text."""
    m = re.search(r"\b%s=(\w+)" % method, ar)
    return m.group(1) if m else "none"


def run(prefix):
    if os.path.isdir(prefix):
        say("wiping the previous two-ISP demo in %s" % prefix)
        for sub in ("isp-a", "isp-b"):
            # stop whatever an interrupted run left behind
            if os.path.isdir(os.path.join(prefix, sub, "run")):
                stop(os.path.join(prefix, sub))
        shutil.rmtree(prefix)
    os.makedirs(prefix)
    os.chmod(prefix, 0o755)     # vmail makes the Maildirs below
    pa = {p: free_port() for p in Instance.PORTS}
    pb = {p: free_port() for p in Instance.PORTS}
    a = make(os.path.join(prefix, "isp-a"), "isp-a.test", pa, pb)
    b = make(os.path.join(prefix, "isp-b"), "isp-b.test", pb, pa)
    dns = None
    try:
        ca = os.path.join(prefix, "ca")
        make_ca(ca)
        base = ["DNS:localhost", "IP:127.0.0.1"]
        install_tls(a, ca, *make_cert(ca, "mx.isp-a.test",
                                      ["DNS:mx.isp-a.test"] + base))
        install_tls(b, ca, *make_cert(ca, "mx.isp-b.test",
                                      ["DNS:mx.isp-b.test"] + base))
        a.add_user(ALICE, PASSWORD)
        b.add_user(BOB, PASSWORD)
        say("isp-a.test in %s (port 25 on %d, submission %d)"
            % (a.prefix, pa["smtp"], pa["submission"]))
        say("isp-b.test in %s (port 25 on %d, IMAP %d)"
            % (b.prefix, pb["smtp"], pb["imap"]))
        say("one private CA in %s: each server's certificate names its MX"
            % ca)
        zones = {}
        for inst, dom in ((a, "isp-a.test"), (b, "isp-b.test")):
            # both ISPs send from 127.0.0.1: SPF names it, DMARC asks
            # receivers to reject what fails
            zones[dom] = ["@ MX 10 mx", "mx A 127.0.0.1",
                          '@ TXT "v=spf1 ip4:127.0.0.1 -all"',
                          '_dmarc TXT "v=DMARC1; p=reject"'] + \
                zone_records(inst, dom)
        dns = dnsserver.DnsServer(zones, keep=False)
        dns.start()
        say("a private NSD on 127.0.0.1 port %d serves both zones:"
            % dns.port)
        for dom, recs in zones.items():
            show("%s: %s" % (dom, r[:100]) for r in recs)
        for inst in (a, b):
            set_resolver(inst, dns.resolver)
        a.start("keystore", "mda", "smtpd", "submitd")
        b.start("keystore", "mda", "smtpd", "imapd")
        say("started keystore, mda, smtpd and submitd of isp-a, keystore, "
            "mda, smtpd and imapd of isp-b")
        ok = exchange(a, b)
    finally:
        a.stop_all()
        b.stop_all()
        if dns is not None:
            dns.stop()
        say("stopped both instances and the NSD; the logs are in "
            "%s/isp-a/log and %s/isp-b/log" % (prefix, prefix))
    return 0 if ok else 1


def exchange(a, b):
    msg = EmailMessage()
    msg["From"] = ALICE
    msg["To"] = BOB
    msg["Subject"] = "Hello from isp-a"
    msg.set_content("Hi Bob,\n\nthis came from another ISP.\n\nAlice\n")
    say("1. submission: alice submits to bob@isp-b.test on isp-a's port "
        "%d (STARTTLS, AUTH PLAIN)" % a.port("submission"))
    submit(a, a.port("submission"), ALICE, msg)
    say("2. signing: isp-a's queue signs with alice's keys "
        "(the keystore holds them)")
    show([log_line(a, r"id=\S+ signed owner=<%s>" % ALICE, "the signing")])
    say("3. transmitter: smtpd.mta looks up isp-b.test's MX in DNS and "
        "sends over TLS, verifying the certificate (tls_policy = verify)")
    show([log_line(a, r"mta rcpt=<%s> .*status=" % BOB, "the transmitter")])
    say("4. verification: isp-b's receiver checks the signatures against "
        "isp-a's DNS records, SPF and DMARC, and decides: safe")
    show([log_line(b, r"id=\S+ verdict=\S+", "isp-b's verdict")])
    say("5. bob logs in to isp-b over IMAP on port %d (STARTTLS)"
        % b.port("imap"))

    text = read_inbox(b, b.port("imap"), BOB, 60)
    say("bob's INBOX holds:")
    show(text.splitlines())
    for name in ("DKIM-Signature", "Authentication-Results"):
        fields = header_fields(text, name)
        say("%s: %d field%s" % (name, len(fields),
                                "" if len(fields) == 1 else "s"))
    verdict = " ".join(" ".join(f) for f in
                       header_fields(text, "Authentication-Results"))
    if "dkim=pass" in verdict and "mx.isp-b.test" in verdict:
        say("isp-b verified isp-a's signatures (dkim=pass, spf=%s, "
            "dmarc=%s) and filed the message in bob's INBOX as safe"
            % (result(verdict, "spf"), result(verdict, "dmarc")))
        return True
    say("WARNING: no dkim=pass from mx.isp-b.test in bob's copy")
    return False
