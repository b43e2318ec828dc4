"""Sealmail's DKIM (common/dkim, driven by tests/tools/dkimtool) against
the real Debian implementations: python3-dkim (dkimpy) and OpenDKIM's
opendkim-testmsg.

* Sealmail's signatures, rsa-sha256 and ed25519-sha256, relaxed/relaxed
  and simple/simple, verify in dkimpy (keys through its dnsfunc) and in
  OpenDKIM (keys through NSD in a private network namespace, see
  dnsserver.py).
* dkimpy's signatures, rsa-sha256 and ed25519-sha256, verify in Sealmail.
* The refusals agree: a tampered body, a From added after signing, a
  revoked key, a 512-bit key each fail in all three with the result RFC
  8601 names; an l= signature with content appended is "policy" in
  Sealmail, never "pass".

Keys are made fresh with openssl for each run.  Needs python3-dkim,
opendkim-tools and nsd (./sealmail.sh deps); the OpenDKIM cases need root
for unshare(1) and skip without it.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import dnsserver
from harness import BUILDDIR, SRCDIR

try:
    import dkim
except ImportError:  # reported by setUpClass
    dkim = None

DOMAIN = "example.test"
MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Interop  check\t\r\n"
    b"Date: Tue, 14 Nov 2023 10:00:00 +0000\r\n"
    b"Message-ID: <interop-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"  the figures are  attached\t below.  \r\n"
    b"\r\n"
    b"Alice\r\n"
    b"\r\n"
    b"\r\n")
TOOL = os.path.join(BUILDDIR, "tests", "tools", "dkimtool")
DNSSERVER = os.path.join(SRCDIR, "tests", "integration", "dnsserver.py")


def run(cmd, data=None):
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (cmd[0], p.returncode,
                                                   p.stderr.decode()))
    return p.stdout


class DkimInteropTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if dkim is None:
            raise AssertionError("python3-dkim is missing: ./sealmail.sh deps")
        if not os.path.exists(TOOL):
            run(["make", "-C", BUILDDIR, "-s", "tests/tools/dkimtool"])
        cls.dir = tempfile.mkdtemp(prefix="sealmail-dkim-")
        cls.keys = {}       # selector -> (private PEM path, key record)
        cls.make_key("rsa", ["-algorithm", "RSA", "-pkeyopt",
                             "rsa_keygen_bits:2048"])
        cls.make_key("ed", ["-algorithm", "ED25519"])
        cls.make_key("weak", ["-algorithm", "RSA", "-pkeyopt",
                              "rsa_keygen_bits:512"])

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("SEALMAIL_KEEP") != "1":
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def make_key(cls, sel, args):
        pem = os.path.join(cls.dir, sel + ".pem")
        run(["openssl", "genpkey"] + args + ["-out", pem])
        der = run(["openssl", "pkey", "-in", pem, "-pubout", "-outform",
                   "DER"])
        if sel == "ed":
            rec = "v=DKIM1; k=ed25519; p=" + \
                base64.b64encode(der[-32:]).decode()
        else:
            rec = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        cls.keys[sel] = (pem, rec)

    # --- the three implementations -------------------------------------

    def records(self, override=None):
        recs = {"%s._domainkey.%s" % (s, DOMAIN): r
                for s, (_, r) in self.keys.items()}
        recs.update(override or {})
        return recs

    def sealmail_sign(self, sel, canon, msg=MESSAGE):
        return run([TOOL, "sign", "-k", self.keys[sel][0], "-d", DOMAIN,
                    "-s", sel, "-i", "alice@" + DOMAIN, "-c", canon,
                    "-t", str(int(time.time()))], msg)

    def sealmail_verify(self, msg, override=None):
        path = os.path.join(self.dir, "keys.txt")
        with open(path, "w") as f:
            for name, rec in self.records(override).items():
                f.write("%s %s\n" % (name, rec))
        out = run([TOOL, "verify", "-K", path, "-b", "7"], msg)
        return out.decode().splitlines()

    def dkimpy_verify(self, msg, override=None):
        recs = self.records(override)

        def dnsfunc(name, timeout=5):
            rec = recs.get(name.decode().rstrip("."))
            return rec.encode() if rec is not None else None
        return dkim.verify(msg, dnsfunc=dnsfunc)

    def dkimpy_sign(self, sel, canon, length=False, msg=MESSAGE):
        pem, _ = self.keys[sel]
        if sel == "ed":
            der = run(["openssl", "pkey", "-in", pem, "-outform", "DER"])
            key, alg = base64.b64encode(der[-32:]), b"ed25519-sha256"
        else:
            with open(pem, "rb") as f:
                key, alg = f.read(), b"rsa-sha256"
        c = tuple(x.encode() for x in canon.split("/"))
        sig = dkim.sign(msg, sel.encode(), DOMAIN.encode(), key,
                        canonicalize=c, signature_algorithm=alg,
                        length=length)
        return sig + msg

    def opendkim_verify(self, msg, override=None):
        """opendkim-testmsg's exit status and complaint, keys served by
        NSD inside a private network namespace (dnsserver.py)."""
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.skipTest("OpenDKIM looks keys up in DNS: needs root "
                          "for a private network namespace")
        why = dnsserver.missing()
        if why is not None:
            raise AssertionError(why + "; ./sealmail.sh deps installs it")
        zones = os.path.join(self.dir, "zones.json")
        with open(zones, "w") as f:
            json.dump({DOMAIN: [
                "%s. TXT %s" % (name, " ".join(
                    '"%s"' % rec[i:i + 255] for i in range(0, len(rec), 255)))
                for name, rec in self.records(override).items()]}, f)
        resolv = os.path.join(self.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
        path = os.path.join(self.dir, "opendkim.eml")
        with open(path, "wb") as f:
            f.write(msg)
        script = ('ip link set lo up && mount --bind "$1" /etc/resolv.conf '
                  '&& exec "$2" "$3" "$4" "$5" /usr/sbin/opendkim-testmsg')
        p = subprocess.run(["unshare", "--net", "--mount",
                            "--propagation", "private", "sh", "-c", script,
                            "sh", resolv, "/usr/bin/python3", DNSSERVER,
                            zones, path], capture_output=True, timeout=120)
        return p.returncode, p.stderr.decode()

    def assert_all_reject(self, msg, sealmail_status, reason, override=None):
        lines = self.sealmail_verify(msg, override)
        self.assertTrue(lines[0].startswith("dkim=%s (%s" % (sealmail_status,
                                                             reason)), lines)
        self.assertFalse(self.dkimpy_verify(msg, override))

    # --- Sealmail signs ------------------------------------------------

    def test_sealmail_signatures_verify_in_dkimpy(self):
        """rsa and ed25519, relaxed/relaxed and simple/simple"""
        for sel in ("rsa", "ed"):
            for canon in ("relaxed/relaxed", "simple/simple"):
                signed = self.sealmail_sign(sel, canon)
                head = signed.split(b"\r\nFrom:")[0]
                self.assertNotIn(b" l=", head)
                self.assertIn(b"c=%s;" % canon.encode(), head)
                self.assertTrue(self.dkimpy_verify(signed), (sel, canon))
                self.assertEqual(self.sealmail_verify(signed)[0][:10],
                                 "dkim=pass ")

    def test_sealmail_signatures_verify_in_opendkim(self):
        """rsa and ed25519, relaxed/relaxed and simple/simple"""
        for sel in ("rsa", "ed"):
            for canon in ("relaxed/relaxed", "simple/simple"):
                rc, err = self.opendkim_verify(self.sealmail_sign(sel, canon))
                self.assertEqual((rc, err), (0, ""), (sel, canon))

    def test_opendkim_rejects_what_sealmail_rejects(self):
        """a tampered body (rsa, ed25519) and a revoked key fail in OpenDKIM"""
        for sel in ("rsa", "ed"):
            signed = self.sealmail_sign(sel, "relaxed/relaxed")
            rc, err = self.opendkim_verify(signed.replace(b"Bob,", b"Rob,"))
            self.assertNotEqual(rc, 0, sel)
            self.assertIn("bad signature", err.lower(), sel)
        rc, err = self.opendkim_verify(signed, {
            "ed._domainkey." + DOMAIN: "v=DKIM1; k=ed25519; p="})
        self.assertNotEqual(rc, 0)
        self.assertIn("revoked", err.lower())

    # --- dkimpy signs --------------------------------------------------

    def test_dkimpy_signatures_verify_in_sealmail(self):
        """rsa and ed25519, relaxed/relaxed and simple/simple"""
        for sel in ("rsa", "ed"):
            for canon in ("relaxed/relaxed", "simple/simple"):
                lines = self.sealmail_verify(self.dkimpy_sign(sel, canon))
                self.assertEqual(len(lines), 1)
                self.assertTrue(lines[0].startswith(
                    "dkim=pass header.d=example.test "), (sel, canon, lines))

    # --- what must not pass --------------------------------------------

    def test_tampered_body_fails_everywhere(self):
        for signed in (self.sealmail_sign("ed", "relaxed/relaxed"),
                       self.dkimpy_sign("rsa", "relaxed/relaxed")):
            self.assert_all_reject(signed.replace(b"figures", b"figurez"),
                                   "fail", "body hash mismatch")

    def test_from_added_after_signing_fails_everywhere(self):
        signed = self.sealmail_sign("rsa", "relaxed/relaxed")
        forged = b"From: Mallory <ceo@example.test>\r\n" + signed
        self.assert_all_reject(forged, "fail", "signature mismatch")

    def test_revoked_key_is_permerror(self):
        signed = self.sealmail_sign("ed", "simple/simple")
        self.assert_all_reject(signed, "permerror", "key revoked", {
            "ed._domainkey." + DOMAIN: "v=DKIM1; k=ed25519; p="})

    def test_512_bit_key_is_permerror(self):
        """dkimpy signs with it; Sealmail and dkimpy refuse it (RFC 8301)"""
        signed = self.dkimpy_sign("weak", "relaxed/relaxed")
        self.assert_all_reject(signed, "permerror", "RSA key under 1024 bits")
        self.assertTrue(dkim.verify(signed, minkey=512, dnsfunc=lambda n,
                        timeout=5: self.keys["weak"][1].encode()))

    def test_body_length_signature_with_appended_text_is_policy(self):
        signed = self.dkimpy_sign("rsa", "relaxed/relaxed", length=True)
        self.assertIn(b" l=", signed.split(b"\r\nFrom:")[0])
        self.assertTrue(self.sealmail_verify(signed)[0].startswith(
            "dkim=pass "))
        appended = signed + b"P.S. Wire the money to account 12345.\r\n"
        line = self.sealmail_verify(appended)[0]
        self.assertTrue(line.startswith(
            "dkim=policy (l= leaves part of the body unsigned: l="), line)
        # dkimpy counts it as a pass: l= is the verifier's policy to judge
        self.assertTrue(self.dkimpy_verify(appended))


if __name__ == "__main__":
    unittest.main()
