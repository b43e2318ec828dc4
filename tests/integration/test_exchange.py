"""test_exchange.py - mail between two Sealmail ISPs, end to end: two
instances, isp-a.test and isp-b.test, each with its own submission,
port 25, keystore and mda, and a private NSD (dnsserver.py) serving
their MX and A records and the DKIM keys `sealmailctl keys dns` prints
for each.  Both instances use the NSD as [global] resolver; both listen
on 127.0.0.1 on ports of their own, so each one's [smtpd] mta_port is
the other's port 25 (MX lookup, then the port).

The certificates come from one CA the test makes, [global] tls_ca of
both: each names its instance's MX host, so tls_policy = verify passes;
the "wrong certificate" case gives isp-b one that names another host.
A peer that offers no STARTTLS is a small fake server the test runs
(reached through [smtpd] transport).
"""

import os
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import unittest

import dnsserver
import harness
from harness import Instance, wait_for
from kstools import dns_lines
from test_submitd import PASSWORD, login

ALICE = "alice@isp-a.test"
BOB = "bob@isp-b.test"


def openssl(cwd, *args):
    subprocess.run(("openssl",) + args, check=True, cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d):
    os.makedirs(d, exist_ok=True)
    openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj",
            "/CN=Exchange Test CA", "-keyout", "ca.key", "-out", "ca.pem")


def make_cert(d, name, sans):
    """A key and certificate signed by the CA in d, for sans."""
    openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
            "-out", name + ".csr")
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % ",".join(sans))
    openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
            "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-extfile",
            name + ".ext", "-out", name + ".pem")
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def install_tls(inst, ca_dir, cert, key):
    """The instance's certificate, key and trust anchors: the shared CA."""
    for src, dst, mode in ((cert, "cert.pem", 0o644), (key, "key.pem", 0o600),
                           (os.path.join(ca_dir, "ca.pem"), "ca.pem", 0o644)):
        with open(src, "rb") as f, open(inst.path("etc", dst), "wb") as g:
            g.write(f.read())
        os.chmod(inst.path("etc", dst), mode)


def zone_records(inst, domain):
    """`keys dns` of a domain as zone-file records of that zone."""
    out = []
    for line in dns_lines(inst, domain):
        name, rest = line.split(" IN ", 1)
        assert name.endswith("." + domain), line
        out.append(name[:-len(domain) - 1] + " " + rest)
    return out


class Listener:
    """A TCP listener on loopback that a test runs: every connection it
    accepts goes to accepted(conn), in the one accepting thread.  A
    subclass sets its own attributes before calling __init__ (which
    starts that thread) and gives session(conn), or accepted(conn)."""

    def __init__(self, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.accepted(c)

    def accepted(self, c):
        """One session, served and closed."""
        with c:
            try:
                self.session(c)
            except (OSError, ssl.SSLError):
                pass

    def close(self):
        self.sock.close()


class NoTlsServer(Listener):
    """An SMTP server that offers no STARTTLS and notes every command."""

    def __init__(self):
        self.commands = []
        super().__init__()

    def session(self, c):
        f = c.makefile("rwb")
        f.write(b"220 plain.test ESMTP\r\n")
        f.flush()
        for line in f:
            cmd = line.decode(errors="replace").strip()
            self.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                f.write(b"250-plain.test\r\n250 PIPELINING\r\n")
            elif verb == "QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                break
            else:
                f.write(b"250 ok\r\n")
            f.flush()


class Exchange(unittest.TestCase):
    """Two ISPs; subclasses say which TLS policy and certificates."""

    POLICY = "verify"
    B_NAMES_ITS_MX = True
    A_SMTPD = {}
    A_TRANSPORT = []    # more domain=host:port next hops of isp-a
    EXTRA_ZONES = {}    # zone -> more records (zone-file syntax)
    SIGNED = ()         # zones the NSD signs; their DS is the trust anchor
    TAMPER = ()         # (owner, type) whose RRSIG is broken
    A_INSTANCE = Instance   # a subclass may run isp-a differently

    @classmethod
    def setUpClass(cls):
        why = dnsserver.missing()
        if why is not None:
            raise RuntimeError(why + "; ./sealmail.sh deps installs it")
        cls.closers = []
        try:
            cls.setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def setup(cls):
        pa = {p: harness.free_port() for p in Instance.PORTS}
        pb = {p: harness.free_port() for p in Instance.PORTS}
        # the NSD's port is known once it runs, after the keys are made
        resolver = "127.0.0.1@1"
        cls.notls = NoTlsServer()
        cls.closers.append(cls.notls.close)

        def conf(name, other, smtpd):
            s = {"mta_port": str(other["smtp"]), "tls_policy": cls.POLICY}
            s.update(smtpd)
            g = {"hostname": "mx.%s" % name,
                 "postmaster": "postmaster@%s" % name, "resolver": resolver}
            if cls.SIGNED:
                g["dns_trust_anchor"] = "etc/dns-trust-anchor"
            return {"global": g, "smtpd": s}
        a_smtpd = {"tls_policy_map": "plain.test=encrypt",
                   "transport": " ".join(["plain.test=127.0.0.1:%d"
                                          % cls.notls.port] +
                                         cls.A_TRANSPORT)}
        a_smtpd.update(cls.a_smtpd_extra())
        cls.a = cls.A_INSTANCE(ports=pa,
                               extra_conf=conf("isp-a.test", pb, a_smtpd))
        cls.closers.append(cls.a.close)
        cls.b = Instance(ports=pb, extra_conf=conf("isp-b.test", pa, {}))
        cls.closers.append(cls.b.close)
        ca = cls.a.path("exchange-ca")
        make_ca(ca)
        base = ["DNS:mx.example.test", "DNS:localhost", "IP:127.0.0.1"]
        install_tls(cls.a, ca, *make_cert(ca, "mx.isp-a.test",
                                          ["DNS:mx.isp-a.test"] + base))
        install_tls(cls.b, ca, *make_cert(
            ca, "b", (["DNS:mx.isp-b.test"] if cls.B_NAMES_ITS_MX else [])
            + base))
        cls.a.add_user(ALICE, PASSWORD)
        cls.b.add_user(BOB, PASSWORD)
        zones = {}
        for inst, dom in ((cls.a, "isp-a.test"), (cls.b, "isp-b.test")):
            zones[dom] = ["@ MX 10 mx", "mx A 127.0.0.1"] + \
                zone_records(inst, dom)
        for dom, records in cls.EXTRA_ZONES.items():
            zones[dom] = zones.get(dom, []) + list(records)
        cls.prepare(zones)
        cls.dns = dnsserver.DnsServer(zones, signed=cls.SIGNED,
                                      tamper=cls.TAMPER)
        cls.dns.start()
        cls.closers.append(cls.dns.stop)
        for inst in (cls.a, cls.b):
            with open(inst.conf) as f:
                text = f.read()
            with open(inst.conf, "w") as f:
                f.write(text.replace("resolver = 127.0.0.1@1\n",
                                     "resolver = %s\n" % cls.dns.resolver))
            if cls.SIGNED:
                with open(cls.dns.trust_anchor) as f, \
                        open(inst.path("etc", "dns-trust-anchor"), "w") as g:
                    g.write(f.read())
            inst.start("keystore", "mda", "smtpd", "submitd")

    @classmethod
    def a_smtpd_extra(cls):
        """isp-a's [smtpd] settings beyond the common ones."""
        return cls.A_SMTPD

    @classmethod
    def prepare(cls, zones):
        """For subclasses, before the daemons start: more zones or records
        (zones maps a zone to its records) and users of their own."""

    @classmethod
    def tearDownClass(cls):
        for c in reversed(cls.closers):
            try:
                c()
            except Exception:
                pass

    # -- helpers ----------------------------------------------------------

    def submit(self, inst, user, rcpt, subject, body="Hello.\r\n",
               frm=None):
        s = smtplib.SMTP("127.0.0.1", inst.port("submission"), timeout=30)
        s.ehlo("client.test")
        s.starttls(context=inst.client_tls_context())
        s.ehlo("client.test")
        login(s, user, PASSWORD)
        s.sendmail(user, [rcpt], ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                                  "\r\n%s" % (frm or user, rcpt, subject,
                                              body)))
        s.quit()

    def sent_log(self, pattern):
        """isp-a's smtpd log once it has a line matching pattern.  isp-b
        may file the message before isp-a's transmitter has read the 250
        and logged it."""
        wait_for(lambda: re.search(pattern, self.a.log("smtpd")), 10,
                 "isp-a's transmitter to log %s" % pattern)
        return self.a.log("smtpd")

    def find(self, inst, addr, needle, folder="", timeout=40):
        def look():
            for p in inst.messages(addr, folder):
                with open(p, "rb") as f:
                    data = f.read()
                if needle.encode() in data:
                    return data
            return None
        return wait_for(look, timeout, "%s in %s %s" % (needle, addr, folder))


class VerifiedExchangeTest(Exchange):
    """tls_policy = verify, each certificate naming its MX."""

    def test_alice_writes_to_bob_signed_verified_safe_and_bob_replies(self):
        self.submit(self.a, ALICE, BOB, "hello bob x1")
        data = self.find(self.b, BOB, "hello bob x1")
        head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
        self.assertRegex(head, rb"(?i)DKIM-Signature:[^\n]*\n?[^\n]*d=isp-a")
        self.assertRegex(head, rb"Authentication-Results: mx\.isp-b\.test;"
                         rb"(.|\n)*dkim=pass")
        self.assertEqual(self.b.messages(BOB, "Unsafe"), [])
        log = self.sent_log(r"mta rcpt=<bob@isp-b\.test> .* body=bdat "
                            r"status=sent")
        self.assertRegex(log, r"mta rcpt=<bob@isp-b\.test> "
                         r"relay=mx\.isp-b\.test\[127\.0\.0\.1\]:%d "
                         r"policy=verify tls=TLSv1\.[23] cipher=\S+ "
                         r"verified=name\+chain" % self.b.port("smtp"))
        self.submit(self.b, BOB, ALICE, "re: hello bob x1")
        data = self.find(self.a, ALICE, "re: hello bob x1")
        self.assertIn(b"dkim=pass", data)

    def test_a_large_message_crosses_in_bdat_chunks_unchanged(self):
        # over 256 KB: several chunks; lines starting with a dot, which
        # DATA would have stuffed and BDAT must not
        lines = ["%05d .dot line %s" % (i, "x" * 60) for i in range(6000)]
        body = "\r\n".join("." + l if i % 7 == 0 else l
                            for i, l in enumerate(lines)) + "\r\n"
        self.submit(self.a, ALICE, BOB, "big x6", body=body)
        data = self.find(self.b, BOB, "big x6")
        self.assertIn(body.encode(), data)
        self.sent_log(r"body=bdat status=sent")

    def test_forged_alice_on_port_25_lands_in_unsafe_stripped(self):
        msg = ("From: <alice@isp-a.test>\r\nTo: <bob@isp-b.test>\r\n"
               "Subject: forged x2\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
               "--BB\r\nContent-Type: text/plain\r\n\r\npay now\r\n"
               "--BB\r\nContent-Type: application/octet-stream\r\n"
               "Content-Disposition: attachment; filename=evil.exe\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n"
               "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAA\r\n"
               "--BB--\r\n")
        s = smtplib.SMTP("127.0.0.1", self.b.port("smtp"), timeout=30)
        s.sendmail("alice@isp-a.test", [BOB], msg)
        s.quit()
        data = self.find(self.b, BOB, "forged x2", folder="Unsafe")
        self.assertNotIn(b"TVqQAAMAAAAEAAAA", data)
        self.assertRegex(data, rb"dkim=none|dkim=fail")

    def test_unknown_user_at_the_far_end_bounces_with_the_remote_reply(self):
        self.submit(self.a, ALICE, "nobody@isp-b.test", "lost x3")
        data = self.find(self.a, ALICE, "nobody@isp-b.test")
        self.assertIn(b"Undelivered Mail Returned to Sender", data)
        self.assertIn(b"Status: 5.1.1", data)
        self.assertRegex(data, rb"Diagnostic-Code: smtp; 550 5\.1\.1 .*host "
                         rb"mx\.isp-b\.test\[127\.0\.0\.1\] said, in reply "
                         rb"to RCPT TO")

    def test_encrypt_never_sends_to_a_peer_without_starttls(self):
        self.submit(self.a, ALICE, "carol@plain.test", "plain x4")
        wait_for(lambda: re.search(
            r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d policy=encrypt "
            r"not used: TLS is required" % self.notls.port,
            self.a.log("smtpd")), 30, "the encrypt refusal")
        self.assertFalse([c for c in self.notls.commands
                          if c.upper().startswith("MAIL")])
        # still queued, with the reason noted for the administrator
        ids = re.findall(r"id=([0-9a-f]{16})",
                         self.a.ctl("queue", "list").stdout)
        shown = "".join(self.a.ctl("queue", "show", i).stdout for i in ids)
        self.assertRegex(shown, r"carol@plain\.test(.|\n)*4\.7\.5 TLS is "
                         r"required")


class WrongCertificateTest(Exchange):
    """tls_policy = verify, isp-b's certificate does not name its MX: the
    mail is deferred, then returned to alice at the end of its lifetime."""

    B_NAMES_ITS_MX = False
    A_SMTPD = {"queue_lifetime": "8s"}

    def test_verify_defers_then_bounces_at_lifetime(self):
        self.submit(self.a, ALICE, BOB, "unverified x5")
        data = self.find(self.a, ALICE, "Undelivered Mail", timeout=60)
        self.assertIn(b"bob@isp-b.test", data)
        self.assertIn(b"Status: 4.4.7", data)
        self.assertRegex(self.a.log("smtpd"), r"policy=verify not used: "
                         r".*certificate")
        self.assertEqual(self.b.messages(BOB), [])


if __name__ == "__main__":
    unittest.main()
