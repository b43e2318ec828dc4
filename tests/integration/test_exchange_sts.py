"""test_exchange_sts.py - MTA-STS (RFC 8461) in the two-ISP exchange of
test_exchange.py: isp-a's transmitter, under tls_policy = may, sends to
domains whose mail host is isp-b (mx.isp-b.test, its certificate from
the test CA) and which publish an _mta-sts TXT record in the private NSD;
their policies are served over HTTPS by a small web server the test runs
on 127.0.0.1 (python's http.server over ssl, a certificate from the same
CA naming each mta-sts.<domain>), reached through [smtpd] mta_sts_port.

    sts-enforce.test   enforce, lists isp-b's MX (by a *. pattern)
    sts-unlisted.test  enforce, lists another host only
    sts-redirect.test  the policy URL answers 301 to an enforce policy
                       that lists another host
    sts-testing.test   testing, lists another host only
    sts-nomx.test      no MX (the domain's own A record is its mail
                       host), enforce, lists isp-b's MX only
"""

import http.server
import re
import ssl
import threading
import time
import unittest

from harness import wait_for
from test_exchange import ALICE, Exchange, make_cert

OTHER = "mx.elsewhere.test"
POLICY = "version: STSv1\r\nmode: %s\r\n%smax_age: 86400\r\n"


def policy(mode, *mx):
    return POLICY % (mode, "".join("mx: %s\r\n" % m for m in mx))


def records(mx=True):
    out = ['_mta-sts TXT "v=STSv1; id=20261206T0300;"', "mta-sts A 127.0.0.1"]
    return out + (["@ MX 10 mx.isp-b.test."] if mx else ["@ A 127.0.0.1"])


class PolicyServer:
    """HTTPS on 127.0.0.1: each mta-sts.<domain> gets its answer, a
    (status, headers, body); every request's host and path is noted."""

    def __init__(self):
        self.answers = {}
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "").split(":")[0]
                server.requests.append((host, self.path))
                status, headers, body = server.answers.get(
                    (host, self.path), (404, {}, ""))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]

    def start(self, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, domain, status, body, headers=None,
              path="/.well-known/mta-sts.txt"):
        self.answers[("mta-sts." + domain, path)] = (status, headers or {},
                                                     body)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class MtaStsTest(Exchange):
    """tls_policy = may at isp-a: what changes is MTA-STS's doing."""

    POLICY = "may"
    DOMAINS = ("sts-enforce.test", "sts-unlisted.test", "sts-redirect.test",
               "sts-testing.test", "sts-nomx.test")
    EXTRA_ZONES = {d: records(mx=d != "sts-nomx.test") for d in DOMAINS}

    @classmethod
    def setup(cls):
        cls.web = PolicyServer()
        cls.closers.append(cls.web.close)
        cls.A_SMTPD = {"mta_sts_port": str(cls.web.port)}
        super().setup()
        cert, key = make_cert(cls.a.path("exchange-ca"), "mta-sts",
                              ["DNS:mta-sts.%s" % d for d in cls.DOMAINS])
        web = cls.web
        web.serve("sts-enforce.test", 200,
                  policy("enforce", OTHER, "*.isp-b.test"))
        web.serve("sts-unlisted.test", 200, policy("enforce", OTHER))
        web.serve("sts-redirect.test", 301, "moved\r\n", {
            "Location": "https://mta-sts.sts-redirect.test:%d/elsewhere.txt"
                        % web.port})
        web.serve("sts-redirect.test", 200, policy("enforce", OTHER),
                  path="/elsewhere.txt")
        web.serve("sts-testing.test", 200, policy("testing", OTHER))
        web.serve("sts-nomx.test", 200, policy("enforce", "mx.isp-b.test"))
        web.start(cert, key)
        for d in cls.DOMAINS:
            cls.b.add_user("bob@" + d)

    def delivery(self, rcpt, status, timeout=40):
        """The transmitter's log line for rcpt with that status."""
        pat = re.compile(r"id=(\S+) mta rcpt=<%s> .* status=%s .*"
                         % (re.escape(rcpt), status))
        return wait_for(lambda: pat.search(self.a.log("smtpd")), timeout,
                        "%s %s in isp-a's log" % (rcpt, status))

    def test_enforce_listing_the_mx_delivers_verified_and_says_so(self):
        rcpt = "bob@sts-enforce.test"
        self.submit(self.a, ALICE, rcpt, "sts enforce s1")
        self.find(self.b, rcpt, "sts enforce s1")
        line = self.delivery(rcpt, "sent").group(0)
        self.assertRegex(line, r"relay=mx\.isp-b\.test\[127\.0\.0\.1\]:%d "
                         r"policy=verify mta-sts=enforce tls=TLSv1\.[23] "
                         r"cipher=\S+ verified=name\+chain"
                         % self.b.port("smtp"))
        self.assertRegex(self.a.log("smtpd"), r"mta-sts "
                         r"domain=sts-enforce\.test policy "
                         r"id=20261206T0300 mode=enforce max_age=86400 mx=2")

    def test_enforce_not_listing_the_mx_defers_and_nothing_arrives(self):
        rcpt = "bob@sts-unlisted.test"
        self.submit(self.a, ALICE, rcpt, "sts unlisted s2")
        line = self.delivery(rcpt, "deferred").group(0)
        self.assertRegex(line, r"mta-sts=enforce .*4\.7\.5 mx\.isp-b\.test "
                         r"matches no mx of the MTA-STS policy")
        time.sleep(3)   # retries every second or two: still nothing
        self.assertEqual(self.b.messages(rcpt), [])
        ids = re.findall(r"id=([0-9a-f]{16})",
                         self.a.ctl("queue", "list").stdout)
        shown = "".join(self.a.ctl("queue", "show", i).stdout for i in ids)
        self.assertRegex(shown, r"sts-unlisted\.test(.|\n)*4\.7\.5")

    def test_a_policy_server_that_redirects_is_not_followed(self):
        rcpt = "bob@sts-redirect.test"
        self.submit(self.a, ALICE, rcpt, "sts redirect s3")
        self.find(self.b, rcpt, "sts redirect s3")
        line = self.delivery(rcpt, "sent").group(0)
        self.assertRegex(line, r"policy=may tls=TLSv1\.[23] ")
        self.assertNotIn("mta-sts=", line)
        self.assertRegex(self.a.log("smtpd"), r"mta-sts "
                         r"domain=sts-redirect\.test fetch failed: .*HTTP "
                         r"status 301, not 200; no policy")
        self.assertIn(("mta-sts.sts-redirect.test",
                       "/.well-known/mta-sts.txt"), self.web.requests)
        self.assertNotIn("/elsewhere.txt",
                         [p for _, p in self.web.requests])

    def test_testing_delivers_and_logs_what_enforce_would_refuse(self):
        rcpt = "bob@sts-testing.test"
        self.submit(self.a, ALICE, rcpt, "sts testing s4")
        self.find(self.b, rcpt, "sts testing s4")
        m = self.delivery(rcpt, "sent")
        self.assertRegex(m.group(0), r"policy=may mta-sts=testing "
                         r"tls=TLSv1\.[23] cipher=\S+ verified=name\+chain")
        self.assertRegex(self.a.log("smtpd"), r"id=%s mta "
                         r"relay=mx\.isp-b\.test\[127\.0\.0\.1\]:%d "
                         r"mta-sts=testing would refuse: mx\.isp-b\.test "
                         r"matches no mx" % (m.group(1), self.b.port("smtp")))

    def test_without_mx_the_domain_itself_must_match_a_pattern(self):
        rcpt = "bob@sts-nomx.test"
        self.submit(self.a, ALICE, rcpt, "sts nomx s5")
        line = self.delivery(rcpt, "deferred").group(0)
        self.assertRegex(line, r"relay=sts-nomx\.test\[127\.0\.0\.1\]:%d "
                         r"policy=verify mta-sts=enforce .*4\.7\.5 "
                         r"sts-nomx\.test matches no mx"
                         % self.b.port("smtp"))
        time.sleep(3)
        self.assertEqual(self.b.messages(rcpt), [])


if __name__ == "__main__":
    unittest.main()
