"""sealmailctl trace: who sent a message, for an administrator answering
an abuse report.  alice submits over port 587 (real submitd, smtpd,
keystore and mda); the administrator traces the message by its tracking
ID, by the message file (our Received field), by our DKIM signature
alone (the Received field removed: the tracking ID is the signature's
sealmail_id tag), and gets a clear refusal for an unknown ID, for a
signature of another domain ("not ours"), and for a signature of our
domain that does not verify or does not match."""

import base64
import re
import smtplib
import subprocess
import time
import unittest

from harness import DOMAIN, binary, wait_for
from test_sign import Base, header_of, selectors_of
from test_submitd import PASSWORD, login, message

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
CAROL = "carol@" + DOMAIN


def without_fields(data, name):
    """data with every header field called name (folded lines too)
    removed."""
    head, sep, body = data.partition(b"\r\n\r\n")
    out, skip = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        skip = line.lower().startswith(name.lower() + b":")
        if not skip:
            out.append(line)
    return b"\r\n".join(out) + sep + body


def records(out):
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)


class TraceTest(Base):

    def setUp(self):
        super().setUp()
        self.inst.add_user(CAROL, PASSWORD)
        self.start()

    def send(self, rcpts=(BOB, CAROL), extra=""):
        """alice submits; the tracking ID from the 250 reply."""
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=30)
        s.ehlo("client.example.test")
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.test")
        login(s, ALICE, PASSWORD)
        s.mail(ALICE)
        for r in rcpts:
            s.rcpt(r)
        code, text = s.data(message(ALICE, rcpts[0], "abuse?", extra)
                            .encode())
        s.quit()
        self.assertEqual(code, 250, text)
        qid = text.split()[-1].decode()
        self.assertRegex(qid, "^[0-9a-f]{16}$")
        return qid

    def arrived_with(self, qid):
        """bob's copy of the message whose signatures name qid."""
        tag = ("sealmail_id=%s" % qid).encode()

        def find():
            for path in self.inst.messages(BOB):
                with open(path, "rb") as f:
                    m = f.read()
                if tag in m:
                    return m
            return None
        return wait_for(find, 20, "the message " + qid)

    def trace(self, *args, input=None):
        return subprocess.run([binary("sealmailctl"), "-c", self.inst.conf,
                               "trace"] + list(args), input=input,
                              capture_output=True, timeout=60)

    def trace_file(self, data):
        path = self.inst.path("reported.eml")
        with open(path, "wb") as f:
            f.write(data)
        return self.trace("--message", path)

    def assert_traced(self, r, qid, found):
        self.assertEqual(r.returncode, 0, r.stderr)
        rec = records(r.stdout.decode())
        self.assertEqual(rec["tracking_id"], qid)
        self.assertEqual(rec["user"], ALICE)
        self.assertEqual(rec["recipients"], "2")
        self.assertEqual(rec["client"], "127.0.0.1")
        self.assertEqual(rec["sender"], "<%s>" % ALICE)
        self.assertEqual(rec["found"], found)
        when = time.mktime(time.strptime(rec["time"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(when - time.mktime(time.gmtime())), 300)
        return rec

    def test_traced_by_tracking_id(self):
        qid = self.send(extra="Message-ID: <report-1@client.example.test>\r\n")
        r = self.trace(qid)
        rec = self.assert_traced(r, qid, "id")
        self.assertEqual(rec["message_id"], "<report-1@client.example.test>")

    def test_traced_message_id_is_the_one_submitd_made(self):
        qid = self.send()
        data = self.arrived()
        made = re.search(rb"^Message-ID: (\S+)", header_of(data),
                         re.M | re.I).group(1).decode()
        self.assertIn(qid, made)
        rec = self.assert_traced(self.trace(qid), qid, "id")
        self.assertEqual(rec["message_id"], made)

    def test_traced_from_the_message_file_and_from_stdin(self):
        qid = self.send()
        data = self.arrived()
        self.assert_traced(self.trace_file(data), qid, "received")
        self.assert_traced(self.trace("--message", "-", input=data), qid,
                           "received")
        # a copy saved with LF line ends traces the same
        lf = data.replace(b"\r\n", b"\n")
        self.assert_traced(self.trace_file(lf), qid, "received")

    def test_traced_from_the_signature_alone(self):
        qid = self.send()
        data = without_fields(self.arrived(), b"Received")
        self.assertNotIn(b"ESMTPSA id", data)
        self.assertIn(("sealmail_id=%s" % qid).encode(),
                      re.sub(rb"\s+", b"", header_of(data)))
        self.assert_traced(self.trace_file(data), qid, "signature")
        # with LF line ends too (the signature is relaxed/relaxed)
        self.assert_traced(self.trace_file(data.replace(b"\r\n", b"\n")),
                           qid, "signature")

    def test_traced_from_the_signature_after_the_key_rotated(self):
        qid = self.send()
        data = without_fields(self.arrived(), b"Received")
        self.inst.ctl("keys", "rotate", ALICE)
        self.inst.ctl("keys", "revoke", ALICE)
        self.assert_traced(self.trace_file(data), qid, "signature")

    def test_a_forged_received_field_loses_to_our_signature(self):
        first = self.send()
        second = self.send()
        data = without_fields(self.arrived_with(second), b"Received")
        forged = ("Received: from x ([192.0.2.1])\r\n\tby mx.example.test "
                  "(Sealmail submitd) with ESMTPSA id %s;\r\n\tMon, 1 Jan "
                  "2024 00:00:00 +0000\r\n" % first).encode()
        r = self.trace_file(forged + data)
        self.assert_traced(r, second, "signature")
        self.assertIn(b"forged", r.stderr)
        # without our signature, the Received field is all there is
        r = self.trace_file(forged + without_fields(data, b"DKIM-Signature"))
        self.assert_traced(r, first, "received")

    def test_unknown_tracking_id_fails_clearly(self):
        self.send()
        r = self.trace("0123456789abcdef")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"no message with tracking ID 0123456789abcdef",
                      r.stderr)
        r = self.trace("not-an-id")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"not a tracking ID", r.stderr)

    def test_a_message_without_anything_of_ours_is_not_traced(self):
        self.send()
        data = message("mallory@evil.test", BOB).encode()
        r = self.trace_file(data)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"not traced", r.stderr)
        self.assertIn(b"no DKIM signature", r.stderr)

    def test_a_signature_of_another_domain_is_not_ours(self):
        self.send()
        sig = ("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
               "d=evil.test; s=sel; h=from; sealmail_id=0123456789abcdef; "
               "bh=%s; b=%s\r\n" % (base64.b64encode(b"x" * 32).decode(),
                                    base64.b64encode(b"y" * 256).decode()))
        data = sig.encode() + message("mallory@evil.test", BOB).encode()
        r = self.trace_file(data)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"signature=evil.test not ours", r.stdout)
        self.assertIn(b"not ours", r.stderr)

    def test_a_forged_signature_of_our_domain_is_not_traced(self):
        qid = self.send()
        sel = sorted(selectors_of(self.inst, ALICE))[0]
        # made with a key that is not ours, naming a real tracking ID
        sig = ("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
               "d=%s; s=%s; i=%s; h=from:to:subject; t=%d; "
               "sealmail_id=%s; bh=%s; b=%s\r\n"
               % (DOMAIN, sel, ALICE, int(time.time()), qid,
                  base64.b64encode(b"x" * 32).decode(),
                  base64.b64encode(b"y" * 256).decode()))
        data = sig.encode() + message(ALICE, BOB, "spam").encode()
        r = self.trace_file(data)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(b"tracking_id=", r.stdout)
        self.assertIn(b"does not verify", r.stderr)

    def test_a_real_signature_on_a_changed_message_is_not_traced(self):
        self.send()
        data = without_fields(self.arrived(), b"Received")
        changed = data.replace(b"Hello.", b"Buy now.")
        self.assertNotEqual(changed, data)
        r = self.trace_file(changed)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(b"tracking_id=", r.stdout)
        self.assertIn(b"does not verify", r.stderr)

    def test_a_signature_whose_tag_was_changed_is_not_traced(self):
        first = self.send()
        second = self.send()
        data = without_fields(self.arrived_with(second), b"Received")
        # point the second message's signatures at the first one
        swapped = data.replace(("sealmail_id=%s" % second).encode(),
                               ("sealmail_id=%s" % first).encode())
        r = self.trace_file(swapped)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(b"tracking_id=", r.stdout)


if __name__ == "__main__":
    unittest.main()
