"""Signing through the real keystore daemon: tests/tools/kssign (the
client library common/ks_client, what smtpd.queue will use) signs a
message with both algorithms and python3-dkim verifies it against what
`sealmailctl keys dns` publishes; the peer-uid check of [keystore]
clients; requests a client gets wrong; rotation and revocation end to
end; and the privilege separation that keeps every private key in the
keystore's root parent."""

import os
import signal
import time
import unittest

import dkim

from fixtures import InstanceCase, holdings
from harness import Instance, descendants, proc_info, wait_for
from kstools import (IPC_ERR, IPC_KS_GETKEYS, IPC_KS_KEYS, IPC_KS_SIGN,
                     IPC_KS_SIGNATURE, MESSAGE, db_password, dns_records,
                     dnsfunc, f_data, f_str, f_u32, frame, kssign,
                     memory_holds, read_frame, signing_socket)


def verify_all(signed, records):
    """python3-dkim's verdict on each DKIM-Signature, in order."""
    d = dkim.DKIM(signed)
    n = signed.split(b"\r\n\r\n", 1)[0].count(b"DKIM-Signature:")
    out = []
    for i in range(n):
        try:
            out.append(d.verify(idx=i, dnsfunc=dnsfunc(records)))
        except dkim.ValidationError:
            out.append(False)   # a body hash mismatch, say
    return out


def selectors(signed):
    import re
    return re.findall(rb"s=(s[a-z2-7]{12});", signed)


def client_socket(inst, user="sealmailq"):
    """A raw connection to the signing socket as user (SO_PEERCRED takes
    the effective uid at connect time)."""
    os.setegid(inst.users[user].pw_gid)
    os.seteuid(inst.users[user].pw_uid)
    try:
        return signing_socket(inst)
    finally:
        os.seteuid(0)
        os.setegid(0)


def sign_raw(s, mid, owner, alg, sel, digest=b"y" * 32):
    s.sendall(frame(IPC_KS_SIGN, mid, f_str(owner) + f_str(alg) +
                    f_str(sel) + f_data(digest)))
    return read_frame(s)


class SigningTest(InstanceCase):

    USERS = ("alice@example.test",)
    PASSWORD = None
    DAEMONS = ("keystore",)

    def sign(self, *args, owner="alice@example.test", **kw):
        r = kssign(self.inst, *args, owner, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_both_algorithms_sign_and_verify_with_python_dkim(self):
        signed = self.sign("-i", "alice@example.test")
        self.assertTrue(signed.startswith(b"DKIM-Signature: v=1; "
                                          b"a=rsa-sha256;"))
        self.assertIn(b"a=ed25519-sha256;", signed)
        self.assertTrue(signed.endswith(MESSAGE))
        self.assertEqual(verify_all(signed, dns_records(self.inst)),
                         [True, True])

    def test_each_algorithm_alone_and_simple_canonicalization(self):
        for alg in ("rsa", "ed25519"):
            for canon in ("relaxed/relaxed", "simple/simple"):
                signed = self.sign("-a", alg, "-c", canon)
                self.assertEqual(signed.count(b"DKIM-Signature:"), 1)
                self.assertIn(b"c=" + canon.encode() + b";", signed)
                self.assertEqual(verify_all(signed, dns_records(self.inst)),
                                 [True], (alg, canon))

    def test_signature_is_d_domain_s_active_selector(self):
        signed = self.sign()
        self.assertEqual(signed.count(b"d=example.test;"), 2)
        listed = kssign(self.inst, "-k", "alice@example.test").stdout
        for line in listed.decode().splitlines():
            domain, alg, sel = line.split()
            self.assertEqual(domain, "example.test")
            self.assertIn(b"s=" + sel.encode() + b";", signed)

    def test_domain_owner_signs_system_mail(self):
        signed = self.sign(owner="example.test")
        self.assertEqual(verify_all(signed, dns_records(self.inst)),
                         [True, True])

    def test_tampered_message_fails(self):
        signed = self.sign()
        self.assertEqual(verify_all(signed.replace(b"Signed through",
                                                   b"Signed thru"),
                                    dns_records(self.inst)), [False, False])

    def test_owner_without_keys_gets_them_on_demand(self):
        out = kssign(self.inst, "-k", "newcomer@example.test")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(out.stdout.splitlines()), 2)
        self.assertIn("owner=<newcomer@example.test> keys=2 made on demand",
                      self.inst.log("keystore"))
        signed = self.sign(owner="newcomer@example.test")
        self.assertEqual(verify_all(signed, dns_records(self.inst)),
                         [True, True])

    def test_uid_not_in_clients_is_refused_and_logged(self):
        r = kssign(self.inst, "-k", "alice@example.test", user="sealmail")
        self.assertEqual(r.returncode, 1, r.stderr)
        uid = self.inst.users["sealmail"].pw_uid
        self.assertIn(b"uid %d may not use the keystore" % uid, r.stderr)
        self.assertIn("client uid=%d pid=" % uid, self.inst.log("keystore"))
        self.assertIn("refused: not in [keystore] clients",
                      self.inst.log("keystore"))
        # root is no client either, unless the config says so
        r = kssign(self.inst, "-k", "alice@example.test", user="root")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"uid 0 may not use the keystore", r.stderr)

    def raw(self):
        s = client_socket(self.inst)
        self.addCleanup(s.close)
        return s

    def test_bad_requests_are_answered_501_and_the_connection_goes_on(self):
        keys = kssign(self.inst, "-k", "alice@example.test").stdout.split()
        sel = keys[2].decode()
        s = self.raw()
        cases = [
            (IPC_KS_SIGN, f_str("alice@example.test") + f_str("rsa-sha256")
             + f_str(sel) + f_data(b"x" * 31), "the digest must be 32 bytes"),
            (IPC_KS_SIGN, f_str("alice@example.test") + f_str("rsa-sha1")
             + f_str(sel) + f_data(b"x" * 32), "unknown algorithm"),
            (IPC_KS_SIGN, f_str("alice@example.test") + f_str("rsa-sha256")
             + f_str("../x") + f_data(b"x" * 32), "not a selector"),
            (IPC_KS_GETKEYS, f_str("a b@example.test"),
             "not an address or a domain"),
            (IPC_KS_GETKEYS, f_str("alice@example.test") + f_u32(1),
             "malformed request"),
            (IPC_KS_GETKEYS, f_u32(7), "malformed request"),
            (IPC_KS_KEYS, f_str("x"), "unknown request"),
        ]
        for i, (t, payload, why) in enumerate(cases, 1):
            s.sendall(frame(t, i, payload))
            mtype, mid, fields = read_frame(s)
            self.assertEqual((mtype, mid), (IPC_ERR, i), why)
            self.assertEqual(fields, [501, why])
        # someone else's key, or a key that is not there: 550
        s.sendall(frame(IPC_KS_SIGN, 50, f_str("bob@example.test") +
                        f_str("rsa-sha256") + f_str(sel) +
                        f_data(b"x" * 32)))
        self.assertEqual(read_frame(s), (IPC_ERR, 50,
                                         [550, "no such key of this owner"]))
        # and a good one still works on the same connection
        s.sendall(frame(IPC_KS_SIGN, 51, f_str("alice@example.test") +
                        f_str("rsa-sha256") + f_str(sel) +
                        f_data(b"x" * 32)))
        mtype, mid, fields = read_frame(s)
        self.assertEqual((mtype, mid), (IPC_KS_SIGNATURE, 51))
        self.assertEqual(fields[:2], ["example.test", sel])
        self.assertEqual(len(fields[2]), 256)
        # a broken frame ends this connection, not the keystore
        s.sendall(b"\x00\x00\x00\x00garbage-garbage")
        self.assertIsNone(read_frame(s))
        self.assertIsNone(self.inst.procs["keystore"].poll())
        self.assertEqual(kssign(self.inst, "-k", "alice@example.test")
                         .returncode, 0)

    def test_getkeys_gives_each_key_with_the_record_dns_publishes(self):
        s = self.raw()
        s.sendall(frame(IPC_KS_GETKEYS, 8, f_str("alice@example.test")))
        mtype, mid, fields = read_frame(s)
        self.assertEqual((mtype, mid), (IPC_KS_KEYS, 8))
        self.assertEqual(fields[0:2], ["example.test", 2])
        self.assertEqual(len(fields), 2 + 3 * 2)
        recs = dns_records(self.inst)
        for alg, sel, rec in zip(fields[2::3], fields[3::3], fields[4::3]):
            self.assertEqual(rec.encode(),
                             recs[b"%s._domainkey.example.test." %
                                  sel.encode()], alg)
            self.assertIn("k=%s;" % alg.split("-")[0], rec)

    def test_pipelined_requests_are_answered_by_id(self):
        s = self.raw()
        s.sendall(frame(IPC_KS_GETKEYS, 7, f_str("alice@example.test")))
        mtype, mid, fields = read_frame(s)
        self.assertEqual((mtype, mid), (IPC_KS_KEYS, 7))
        self.assertEqual(fields[0:2], ["example.test", 2])
        sels = dict(zip(fields[2::3], fields[3::3]))
        out = b""
        for i in range(40):
            alg = "rsa-sha256" if i % 2 else "ed25519-sha256"
            out += frame(IPC_KS_SIGN, 1000 + i, f_str("alice@example.test")
                         + f_str(alg) + f_str(sels[alg])
                         + f_data(bytes([i]) * 32))
        s.sendall(out)
        got = {}
        for _ in range(40):
            mtype, mid, fields = read_frame(s)
            self.assertEqual(mtype, IPC_KS_SIGNATURE)
            got[mid] = fields
        self.assertEqual(sorted(got), list(range(1000, 1040)))
        for mid, fields in got.items():
            self.assertEqual(len(fields[2]), 256 if mid % 2 else 64)


# rotate_grace in RotationTest: long enough for the checks made within
# it on a loaded machine under ASan
GRACE = 15


class RotationTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(extra_conf={"keystore": {
            "rotate_grace": "%ds" % GRACE, "revoked_publish": "1h"}})
        self.inst.add_user("carol@example.test")
        self.inst.start("keystore")

    def tearDown(self):
        self.inst.close()

    def test_rotation_and_revocation_end_to_end(self):
        r = kssign(self.inst, "carol@example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        old = r.stdout
        before = time.monotonic()
        self.inst.ctl("keys", "rotate", "carol@example.test")
        after = time.monotonic()
        # new mail is signed with the new keys; both verify meanwhile
        new = kssign(self.inst, "carol@example.test").stdout
        self.assertEqual(set(selectors(old)) & set(selectors(new)), set())
        recs = dns_records(self.inst)
        self.assertEqual(verify_all(old, recs), [True, True])
        self.assertEqual(verify_all(new, recs), [True, True])
        # what a client hashed with an old selector still gets signed
        rsa_old = selectors(old)[0].decode()
        s = client_socket(self.inst)
        self.addCleanup(s.close)
        mtype, mid, fields = sign_raw(s, 1, "carol@example.test",
                                      "rsa-sha256", rsa_old)
        self.assertLess(time.monotonic() - before, GRACE,
                        "the checks within the grace period took longer "
                        "than it: nothing was measured")
        self.assertEqual((mtype, fields[1]), (IPC_KS_SIGNATURE, rsa_old))
        # past the grace period the old keys are revoked: before any
        # sweep the keystore refuses them; keys dns publishes p= empty
        time.sleep(max(0.0, after + GRACE + 0.5 - time.monotonic()))
        self.assertEqual(sign_raw(s, 2, "carol@example.test", "rsa-sha256",
                                  rsa_old), (IPC_ERR, 2, [550,
                                                          "key revoked"]))
        line = [l for l in self.inst.ctl("keys", "dns").stdout.splitlines()
                if l.startswith(rsa_old)][0]
        self.assertTrue(line.endswith('p="'), line)
        recs = dns_records(self.inst)
        self.assertEqual(verify_all(old, recs), [False, False])
        self.assertEqual(verify_all(new, recs), [True, True])
        # revoking the new ones: their signatures fail from then on
        self.inst.ctl("keys", "revoke", "carol@example.test")
        recs = dns_records(self.inst)
        self.assertEqual(verify_all(new, recs), [False, False])
        newest = kssign(self.inst, "carol@example.test").stdout
        self.assertEqual(verify_all(newest, recs), [True, True])

    def test_a_key_revoked_by_sealmailctl_stops_signing_at_once(self):
        s = client_socket(self.inst)
        self.addCleanup(s.close)
        s.sendall(frame(IPC_KS_GETKEYS, 1, f_str("carol@example.test")))
        fields = read_frame(s)[2]
        sels = dict(zip(fields[2::3], fields[3::3]))
        for alg, sel in sels.items():
            # signed twice: the second from the keystore's key cache
            for mid in (2, 3):
                self.assertEqual(sign_raw(s, mid, "carol@example.test", alg,
                                          sel)[0], IPC_KS_SIGNATURE)
        self.inst.ctl("keys", "revoke", "carol@example.test",
                      sels["ed25519-sha256"])
        self.assertEqual(sign_raw(s, 4, "carol@example.test",
                                  "ed25519-sha256",
                                  sels["ed25519-sha256"]),
                         (IPC_ERR, 4, [550, "key revoked"]))
        self.assertEqual(sign_raw(s, 5, "carol@example.test", "rsa-sha256",
                                  sels["rsa-sha256"])[0], IPC_KS_SIGNATURE)
        self.inst.ctl("user", "del", "carol@example.test")
        self.assertEqual(sign_raw(s, 6, "carol@example.test", "rsa-sha256",
                                  sels["rsa-sha256"]),
                         (IPC_ERR, 6, [550, "key revoked"]))

    def test_keystore_restarted_signs_with_the_same_keys(self):
        before = kssign(self.inst, "-k", "carol@example.test").stdout
        self.inst.stop("keystore")
        self.inst.start("keystore")
        self.assertEqual(kssign(self.inst, "-k", "carol@example.test")
                         .stdout, before)
        signed = kssign(self.inst, "carol@example.test").stdout
        self.assertEqual(verify_all(signed, dns_records(self.inst)),
                         [True, True])


class KeyIsolationTest(unittest.TestCase):
    """No process but the keystore's root parent holds key material."""

    def setUp(self):
        self.inst = Instance()
        self.inst.add_user("alice@example.test")
        self.inst.start("keystore")
        self.assertEqual(kssign(self.inst, "alice@example.test").returncode,
                         0)

    def tearDown(self):
        self.inst.close()

    def roles(self):
        parent = self.inst.pid("keystore")
        kids = wait_for(lambda: descendants(parent), 10, "keystore roles")
        return parent, kids

    def test_only_the_parent_has_the_key_database_open(self):
        parent, kids = self.roles()
        dirs = [self.inst.path("keys")]
        self.assertNotEqual(holdings(parent, dirs), [])     # the control
        for pid in kids:
            comm, uids, root = proc_info(pid)
            self.assertEqual(comm, "keystore.server")
            self.assertNotIn(0, uids)
            self.assertEqual(holdings(pid, dirs), [], comm)

    def test_server_role_memory_holds_no_passphrase(self):
        with open(self.inst.path("etc", "keystore.passphrase"), "rb") as f:
            pw = f.readline().strip()
        dbpw = db_password(self.inst).encode()
        parent, kids = self.roles()
        found = memory_holds(parent, dbpw)
        if found is None:
            self.skipTest("/proc/PID/mem cannot be read here")
        # the parent has the database open (the control); the server
        # role never read the passphrase nor anything made from it
        self.assertTrue(found)
        for pid in kids:
            self.assertFalse(memory_holds(pid, pw))
            self.assertFalse(memory_holds(pid, dbpw))

    def test_restarted_server_role_is_a_fresh_image(self):
        parent, kids = self.roles()
        os.kill(kids[0], signal.SIGKILL)
        # the new role is judged once it runs as itself (past its exec
        # and its drop): between fork and exec it is still the parent's
        # image
        def dropped():
            out = []
            for p in descendants(parent):
                try:
                    comm, uids, _ = proc_info(p)
                except OSError:
                    continue
                if p not in kids and comm == "keystore.server" and \
                        0 not in uids:
                    out.append(p)
            return out
        new = wait_for(dropped, 10, "a new role")
        self.assertEqual(holdings(new[0], [self.inst.path("keys")]), [])
        with open("/proc/%d/cmdline" % new[0], "rb") as f:
            self.assertIn(b"-X\0server\0", f.read())
        wait_for(lambda: kssign(self.inst, "-k", "alice@example.test")
                 .returncode == 0, 10, "signing again")


if __name__ == "__main__":
    unittest.main()
