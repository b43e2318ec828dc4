"""DKIM signing in the mail flow, with real daemons: what alice submits
reaches bob signed with her keys (d= her domain, s= her selectors, i=
her address), and the signatures verify with python3-dkim and with
common/dkim (tests/tools/dkimtool) against what `sealmailctl keys dns`
publishes; the ed25519 setting; a keystore that is down or restarts;
a keystore that refuses a signature for good (550: the message is
returned to the author, never sent unsigned); a receiver that names an
author on its channel to the queue gets nothing signed; bounces signed
with the
domain's key; what a kill leaves of a signing, settled at the next
attempt; and port 25 mail, which nobody signs.  Local deliveries of
submitted mail carry our Authentication-Results: the queue verifies its
own signatures against the keys' records (dkim=pass only when they
verify) and names the authenticated author (auth=pass); remote copies
never carry it, and a field forging our authserv-id is removed."""

import base64
import ctypes
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time
import unittest

import dkim

from fixtures import role_pid
from harness import BUILDDIR, DOMAIN, Instance, wait_for
from kstools import (IPC_ERR, IPC_KS_GETKEYS, IPC_KS_KEYS, IPC_KS_SIGN,
                     IPC_KS_SIGNATURE, dns_records, dnsfunc, f_data, f_str,
                     f_u32, frame, read_frame)
from test_submitd import PASSWORD, login, message

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
AUTHSERV = "mx.example.test"    # the harness's [global] hostname


def header_of(data):
    return data.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in data else \
        data.split(b"\n\n", 1)[0]


def signatures(data):
    """The DKIM-Signature fields of a message, unfolded, in order."""
    head = header_of(data).replace(b"\r\n", b"\n")
    out = []
    for m in re.finditer(rb"^DKIM-Signature:(.*(?:\n[ \t].*)*)", head,
                         re.M | re.I):
        out.append(re.sub(rb"\s+", b"", m.group(1)).decode())
    return out


def tags(sig):
    return dict(t.split("=", 1) for t in sig.strip(";").split(";") if t)


def python_dkim(data, records):
    """python3-dkim's verdict on each signature, in order."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    d = dkim.DKIM(data)
    out = []
    for i in range(len(signatures(data))):
        try:
            out.append(d.verify(idx=i, dnsfunc=dnsfunc(records)))
        except dkim.ValidationError:
            out.append(False)
    return out


def common_dkim(inst, data, records):
    """common/dkim's verdict (dkimtool verify), one line a signature."""
    keys = inst.path("dkim-keys")
    with open(keys, "w") as f:
        for name, rec in records.items():
            f.write("%s %s\n" % (name.decode().rstrip("."), rec.decode()))
    tool = os.path.join(BUILDDIR, "tests", "tools", "dkimtool")
    if not os.path.exists(tool):
        subprocess.run(["make", "-C", BUILDDIR, "-s", "tests/tools/dkimtool"],
                       check=True, capture_output=True)
    r = subprocess.run([tool, "verify", "-K", keys], input=data,
                       capture_output=True, timeout=30)
    return r.stdout.decode().splitlines()


def auth_results(data):
    """The Authentication-Results fields of a message's header, in order,
    unfolded (each fold one space)."""
    head = header_of(data).replace(b"\r\n", b"\n").decode()
    return [re.sub(r"\n[ \t]+", " ", m.group(0)) for m in
            re.finditer(r"^Authentication-Results:.*(?:\n[ \t].*)*",
                        head, re.M | re.I)]


def rsa_record():
    """A DNS record of a fresh RSA key nobody signs with."""
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                          "-pkeyopt", "rsa_keygen_bits:2048"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"],
                         input=key, capture_output=True, check=True).stdout
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def selectors_of(inst, owner):
    out = inst.ctl("keys", "show", owner).stdout
    return set(re.findall(r"\b(s[a-z2-7]{12})\b", out))


class Base(unittest.TestCase):
    CONF = {}
    KEYSTORE = True

    def setUp(self):
        self.inst = Instance(extra_conf=self.CONF, keystore=self.KEYSTORE)
        self.addCleanup(self.inst.close)
        self.inst.add_user(ALICE, PASSWORD)
        self.inst.add_user(BOB, PASSWORD)

    def start(self):
        self.inst.start("mda", "smtpd", "submitd")

    def submit(self, user=ALICE, rcpts=(BOB,), subject="sealed", extra=""):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("submission"),
                         timeout=30)
        s.ehlo("client.example.test")
        s.starttls(context=self.inst.client_tls_context())
        s.ehlo("client.example.test")
        login(s, user, PASSWORD)
        s.sendmail(user, list(rcpts), message(user, rcpts[0], subject,
                                              extra))
        s.quit()

    def arrived(self, addr=BOB, n=1, timeout=20, folder=""):
        msgs = wait_for(lambda: len(self.inst.messages(addr, folder)) >= n
                        and self.inst.messages(addr, folder), timeout,
                        "mail for " + addr)
        with open(msgs[n - 1], "rb") as f:
            return f.read()

    def queue_ids(self):
        out = self.inst.ctl("queue", "list").stdout
        return re.findall(r"id=([0-9a-f]{16})", out)


class SignedDeliveryTest(Base):

    def test_submitted_mail_arrives_signed_by_its_author_both_algorithms(self):
        self.start()
        self.submit()
        data = self.arrived()
        sigs = signatures(data)
        self.assertEqual(len(sigs), 2, data)
        t = [tags(s) for s in sigs]
        self.assertEqual([x["a"] for x in t], ["rsa-sha256", "ed25519-sha256"])
        self.assertEqual({x["s"] for x in t}, selectors_of(self.inst, ALICE))
        for x in t:
            self.assertEqual(x["d"], DOMAIN)
            self.assertEqual(x["i"], ALICE)
            self.assertEqual(x["c"], "relaxed/relaxed")
            self.assertNotIn("l", x)
            # x= a week after t= by default
            self.assertEqual(int(x["x"]) - int(x["t"]), 7 * 86400)
            self.assertLess(abs(int(x["t"]) - time.time()), 120)
            h = x["h"].lower().split(":")
            # oversigned: each listed once more than it occurs
            for name in ("from", "to", "subject", "date", "message-id",
                         "cc", "reply-to", "references", "in-reply-to",
                         "content-type", "mime-version"):
                self.assertIn(name, h)
            self.assertEqual(h.count("from"), 2)
            self.assertEqual(h.count("cc"), 1)
        recs = dns_records(self.inst)
        self.assertEqual(python_dkim(data, recs), [True, True])
        verdicts = common_dkim(self.inst, data, recs)
        self.assertEqual(len(verdicts), 2, verdicts)
        for v in verdicts:
            self.assertTrue(v.startswith("dkim=pass"), v)
        # signed once, in the queue, and logged with the queue ID
        self.assertRegex(self.inst.log("smtpd"),
                         r"id=[0-9a-f]{16} signed owner=<%s> d=%s"
                         % (ALICE, DOMAIN))

    def test_port_25_mail_is_not_signed(self):
        self.start()
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                          timeout=30) as c:
            c.sendmail("carol@remote.test", [BOB],
                       b"From: carol@remote.test\r\nSubject: x\r\n\r\nhi\r\n")
        data = self.arrived(folder="Unsafe")
        self.assertEqual(signatures(data), [])
        self.assertNotIn(" signed owner=", self.inst.log("smtpd"))


class Ed25519OffTest(Base):
    CONF = {"smtpd": {"sign_ed25519": "no", "signature_ttl": "2d"}}

    def test_sign_ed25519_no_gives_one_rsa_signature(self):
        self.start()
        self.submit()
        data = self.arrived()
        sigs = signatures(data)
        self.assertEqual(len(sigs), 1, data)
        t = tags(sigs[0])
        self.assertEqual(t["a"], "rsa-sha256")
        self.assertEqual(int(t["x"]) - int(t["t"]), 2 * 86400)
        self.assertEqual(python_dkim(data, dns_records(self.inst)), [True])


class KeystoreDownTest(Base):

    def test_keystore_down_keeps_it_queued_then_delivers_it_signed(self):
        self.start()
        self.inst.stop("keystore")
        self.submit()
        wait_for(lambda: "not signed, deferred" in self.inst.log("smtpd"),
                 20, "the deferral")
        time.sleep(3)   # a few retries (retry_max 2s)
        self.assertEqual(self.inst.messages(BOB), [])
        ids = self.queue_ids()
        self.assertEqual(len(ids), 1)
        show = self.inst.ctl("queue", "show", ids[0]).stdout
        self.assertIn("Not signed yet", show)
        self.inst.start("keystore")
        data = self.arrived(timeout=30)
        self.assertEqual(len(signatures(data)), 2)
        self.assertEqual(python_dkim(data, dns_records(self.inst)),
                         [True, True])
        wait_for(lambda: self.queue_ids() == [], 10, "the queue to empty")

    def test_a_keystore_restart_does_not_stop_signing(self):
        self.start()
        self.submit(subject="one")
        self.arrived(n=1)
        # the queue's connection breaks; the next message gets a new one
        self.inst.stop("keystore")
        self.inst.start("keystore")
        self.submit(subject="two")
        data = self.arrived(n=2, timeout=30)
        self.assertIn(b"Subject: two", data)
        self.assertEqual(python_dkim(data, dns_records(self.inst)),
                         [True, True])
        # and again, after a kill -9 of the keystore
        self.inst.stop("keystore", sig=signal.SIGKILL)
        os.unlink(self.inst.path("run", "keystore.sock"))
        self.inst.start("keystore")
        self.submit(subject="three")
        data = self.arrived(n=3, timeout=30)
        self.assertEqual(python_dkim(data, dns_records(self.inst)),
                         [True, True])


class FakeKeystore:
    """A keystore that knows one RSA key (whose record it gives), refuses
    (550 key revoked) to sign for a user, and signs anything else with
    nonsense bytes."""

    def __init__(self, path, refuse_owner, record="v=DKIM1; k=rsa; p="):
        self.path = path
        self.refuse = refuse_owner
        self.record = record
        self.getkeys = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def close(self):
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,),
                             daemon=True).start()

    def conn(self, c):
        with c:
            while True:
                m = read_frame(c)
                if m is None:
                    return
                mtype, mid, f = m
                if mtype == IPC_KS_GETKEYS:
                    self.getkeys.append(f[0])
                    out = frame(IPC_KS_KEYS, mid, f_str(DOMAIN) + f_u32(1) +
                                f_str("rsa-sha256") + f_str("sfake") +
                                f_str(self.record))
                elif f[0] == self.refuse:
                    out = frame(IPC_ERR, mid, f_u32(550) +
                                f_str("key revoked"))
                else:
                    out = frame(IPC_KS_SIGNATURE, mid, f_str(DOMAIN) +
                                f_str(f[2]) + f_data(b"\x01" * 256))
                c.sendall(out)


class RefusedSignatureTest(Base):
    KEYSTORE = False

    def test_a_revoked_key_returns_the_message_to_its_author(self):
        ks = FakeKeystore(self.inst.path("run", "keystore.sock"), ALICE)
        self.addCleanup(ks.close)
        self.start()
        self.submit()
        dsn = self.arrived(ALICE)
        self.assertIn(b"Undelivered Mail Returned to Sender", dsn)
        self.assertIn(b"Message could not be signed (key revoked)", dsn)
        self.assertIn(b"Status: 5.7.0", dsn)
        # the bounce is system mail: the domain's key was asked for it
        self.assertIn(b"From: Mail Delivery System <MAILER-DAEMON@%s>"
                      % DOMAIN.encode(), dsn)
        self.assertEqual(len(signatures(dsn)), 1)
        # a 550 is asked about once more, on fresh keys, then final
        self.assertEqual(ks.getkeys.count(ALICE), 2)
        self.assertIn(DOMAIN, ks.getkeys)
        time.sleep(2)
        self.assertEqual(self.inst.messages(BOB), [])
        self.assertIn("CANNOT BE SIGNED: key revoked",
                      self.inst.log("smtpd"))
        wait_for(lambda: self.queue_ids() == [], 10, "the queue to empty")


class SystemMailTest(Base):

    def test_a_bounce_is_signed_with_the_domain_key(self):
        self.start()
        self.inst.ctl("user", "set", BOB, "quota_bytes=1")
        self.submit()
        dsn = self.arrived(ALICE)
        self.assertIn(b"Undelivered Mail Returned to Sender", dsn)
        sigs = [tags(s) for s in signatures(dsn)]
        self.assertEqual(len(sigs), 2, dsn)
        self.assertEqual({s["s"] for s in sigs},
                         selectors_of(self.inst, DOMAIN))
        for s in sigs:
            self.assertEqual(s["d"], DOMAIN)
            self.assertNotIn("i", s)
        self.assertEqual(python_dkim(dsn, dns_records(self.inst)),
                         [True, True])
        # verified like submitted mail, but nobody authenticated
        ar = auth_results(dsn)
        self.assertEqual(len(ar), 1, dsn)
        self.assertEqual(ar[0].count("dkim=pass header.d=%s " % DOMAIN), 2)
        self.assertNotIn("auth=", ar[0])


class AuthResultsTest(Base):
    # remote mail goes to a relay where nothing listens: it is deferred,
    # so the queued copy stays to be looked at
    CONF = {"smtpd": {"relayhost": "127.0.0.1:1"}}

    def test_local_delivery_carries_our_verified_results_and_the_author(self):
        self.start()
        self.submit()
        data = self.arrived()
        ar = auth_results(data)
        self.assertEqual(len(ar), 1, data)
        t = [tags(x) for x in signatures(data)]
        want = "Authentication-Results: %s; " % AUTHSERV + "; ".join(
            "dkim=pass header.d=%s header.i=%s header.s=%s header.a=%s "
            "header.b=%s" % (DOMAIN, ALICE, x["s"], x["a"], x["b"][:8])
            for x in t) + "; auth=pass smtp.auth=%s" % ALICE
        self.assertEqual(ar[0], want)
        # on top of the signatures it speaks of
        head = header_of(data)
        self.assertLess(head.index(b"Authentication-Results:"),
                        head.index(b"DKIM-Signature:"))
        self.assertIn("id=", self.inst.log("smtpd"))
        self.assertNotIn("DOES NOT VERIFY", self.inst.log("smtpd"))

    def test_the_queued_copy_for_a_remote_recipient_never_carries_it(self):
        self.start()
        self.submit(rcpts=(BOB, "carol@remote.test"))
        data = self.arrived()
        self.assertEqual(len(auth_results(data)), 1)
        qid = self.queue_ids()[0]
        d = self.inst.path("queue", "queue", qid)
        with open(os.path.join(d, "message"), "rb") as f:
            queued = f.read()
        self.assertEqual(len(signatures(queued)), 2)
        self.assertNotIn(b"Authentication-Results", queued)
        # the verdict waits in the envelope, for local deliveries only
        with open(os.path.join(d, "envelope")) as f:
            env = f.read()
        self.assertIn("\nauthres Authentication-Results: %s;\tdkim=pass "
                      % AUTHSERV, env)

    def test_a_field_forging_our_authserv_id_is_removed(self):
        self.start()
        forged = ("Authentication-Results: %s;\r\n\tdkim=pass "
                  "header.d=bank.test\r\n" % AUTHSERV.upper())
        theirs = ("Authentication-Results: relay.example.net; "
                  "spf=pass\r\n")
        self.submit(extra=forged + theirs)
        data = self.arrived()
        ar = auth_results(data)
        self.assertEqual(len(ar), 2, data)
        self.assertTrue(ar[0].startswith("Authentication-Results: %s; "
                                         "dkim=pass header.d=%s "
                                         % (AUTHSERV, DOMAIN)), ar)
        self.assertEqual(ar[1], theirs.strip())
        self.assertNotIn(b"bank.test", data)
        # leaving it out did not touch what the signatures cover
        self.assertEqual(python_dkim(data, dns_records(self.inst)),
                         [True, True])
        self.assertRegex(self.inst.log("smtpd"),
                         r"id=[0-9a-f]{16} removed 1 Authentication-Results "
                         r"claiming %s" % AUTHSERV)


class UnverifiableSignatureTest(Base):
    """A keystore whose signatures do not match the record it gives:
    the verdict is the verification's, not the signing's word."""
    KEYSTORE = False

    def test_a_signature_that_does_not_verify_is_never_called_a_pass(self):
        ks = FakeKeystore(self.inst.path("run", "keystore.sock"), None,
                          rsa_record())
        self.addCleanup(ks.close)
        self.start()
        self.submit()
        data = self.arrived()
        self.assertEqual(len(signatures(data)), 1)
        ar = auth_results(data)
        self.assertEqual(len(ar), 1, data)
        self.assertIn("; dkim=fail (signature mismatch) header.d=%s "
                      % DOMAIN, ar[0])
        self.assertNotIn("dkim=pass", ar[0])
        self.assertTrue(ar[0].endswith("; auth=pass smtp.auth=%s" % ALICE))
        self.assertIn("OUR OWN SIGNATURE DOES NOT VERIFY",
                      self.inst.log("smtpd"))


# -- speaking on smtpd.receiver's own channel to the queue -------------

IPC_OK, IPC_QUEUE_MESSAGE = 1, 200
SYS_PIDFD_GETFD = 438       # x86_64 and the generic table alike


def socket_inodes(pid):
    """{inode: fd} of the sockets a process holds."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out[int(link[8:-1])] = int(fd)
    return out


def channel_fd(pid, peer_pid):
    """The descriptor of pid's end of the socketpair to peer_pid."""
    mine, theirs = socket_inodes(pid), socket_inodes(peer_pid)
    out = subprocess.run(["ss", "-xa"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[5].isdigit() and f[7].isdigit() and \
                int(f[5]) in mine and int(f[7]) in theirs:
            return mine[int(f[5])]
    return None


def steal_fd(pid, fd):
    """A copy of another process's descriptor (pidfd_getfd(2), root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        r = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if r < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return r
    finally:
        os.close(pidfd)


class LyingReceiverTest(Base):
    """smtpd.receiver parses network input and may be taken over; what it
    says on its channel to the queue is all such an attacker has.  The
    test speaks on that very channel (the receiver stopped meanwhile, its
    end of the socketpair copied with pidfd_getfd) and names alice as the
    author of a message: the queue must refuse it, so nothing the
    receiver wrote is ever signed with a user's key."""

    def handoff(self, sock, mid, author):
        from test_smtpd import ipc_recv, ipc_send, ipc_str, ipc_u32
        mfd = os.memfd_create("msg")
        os.write(mfd, ("From: <%s>\r\nTo: <%s>\r\nSubject: forged %d\r\n"
                       "\r\nsign me\r\n" % (ALICE, BOB, mid)).encode())
        payload = ipc_str("") + ipc_str(ALICE) + ipc_u32(1) + \
            ipc_str("mx.attacker.test") + ipc_str("192.0.2.66") + \
            ipc_str(author) + ipc_u32(0) + ipc_u32(1) + ipc_str(BOB) + \
            ipc_str(BOB) + ipc_u32(1)
        ipc_send(sock, IPC_QUEUE_MESSAGE, mid, payload, mfd)
        os.close(mfd)
        return ipc_recv(sock)

    def test_an_author_named_by_the_receiver_is_refused_never_signed(self):
        self.start()
        smtpd = self.inst.pid("smtpd")
        receiver = wait_for(lambda: role_pid(smtpd, "smtpd.receiver"), 10,
                            "smtpd.receiver")
        queue = wait_for(lambda: role_pid(smtpd, "smtpd.queue"), 10,
                         "smtpd.queue")
        fd = channel_fd(receiver, queue)
        self.assertIsNotNone(fd, "no channel from the receiver to the queue")
        os.kill(receiver, signal.SIGSTOP)
        try:
            try:
                sock = socket.socket(fileno=steal_fd(receiver, fd))
            except OSError as e:
                self.skipTest("cannot copy the receiver's descriptor: %s"
                              % e)
            with sock:
                sock.settimeout(30)
                lie = self.handoff(sock, 901, ALICE)
                # the same channel, no author: taken, as port 25 mail is
                plain = self.handoff(sock, 902, "")
        finally:
            os.kill(receiver, signal.SIGCONT)
        self.assertEqual(lie, (2, 901, [554, "5.7.1 Not allowed: the "
                                        "receiver named an author"]))
        self.assertEqual(plain[:2], (IPC_OK, 902))
        data = self.arrived()
        self.assertIn(b"Subject: forged 902", data)
        self.assertEqual(signatures(data), [])
        self.assertEqual(auth_results(data), [])
        time.sleep(1)
        self.assertEqual(len(self.inst.messages(BOB)), 1)
        log = self.inst.log("smtpd")
        self.assertIn("receiver: refused message: 554 5.7.1 Not allowed: "
                      "the receiver named an author", log)
        self.assertNotIn(" signed owner=", log)
        # the receiver, continued, still serves port 25
        self.assertEqual(role_pid(smtpd, "smtpd.receiver"), receiver)
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"),
                          timeout=30) as c:
            c.sendmail("carol@remote.test", [BOB],
                       b"From: carol@remote.test\r\nSubject: x\r\n\r\nhi\r\n")
        self.arrived(folder="Unsafe")


class KillRecoveryTest(Base):
    """What a kill -9 of smtpd can leave of a signing, made by hand (the
    queue stopped with the message still unsigned), and what the next
    attempt makes of it."""

    def queued_unsigned(self):
        self.start()
        self.inst.stop("keystore")
        self.submit()
        wait_for(lambda: "not signed, deferred" in self.inst.log("smtpd"),
                 20, "the deferral")
        qid = self.queue_ids()[0]
        self.inst.stop("smtpd", sig=signal.SIGKILL)
        time.sleep(1)   # its roles see the parent gone and exit
        d = self.inst.path("queue", "queue", qid)
        with open(os.path.join(d, "message"), "rb") as f:
            original = f.read()
        return d, original

    def restart(self):
        self.inst.start("keystore")
        self.inst.start("smtpd")

    def test_an_unfinished_signed_copy_is_dropped_and_signed_once(self):
        d, original = self.queued_unsigned()
        # killed after writing message.signed, before the envelope said so
        with open(os.path.join(d, "message.signed"), "wb") as f:
            f.write(b"DKIM-Signature: v=1; stale\r\n" + original)
        self.restart()
        data = self.arrived(timeout=30)
        self.assertNotIn(b"stale", data)
        self.assertEqual(len(signatures(data)), 2)
        self.assertEqual(python_dkim(data, dns_records(self.inst)),
                         [True, True])
        self.assertIn("unfinished signed copy removed",
                      self.inst.log("smtpd"))

    def test_a_committed_signed_copy_is_put_in_place_not_signed_again(self):
        d, original = self.queued_unsigned()
        # killed after the envelope said "signed yes", before the rename
        with open(os.path.join(d, "message.signed"), "wb") as f:
            f.write(b"X-Marker: the signed copy\r\n" + original)
        env = os.path.join(d, "envelope")
        with open(env) as f:
            text = f.read()
        with open(env, "w") as f:
            f.write(text.replace("author %s\n" % ALICE,
                                 "author %s\nsigned yes\n" % ALICE))
        self.restart()
        data = self.arrived(timeout=30)
        self.assertIn(b"X-Marker: the signed copy", data)
        self.assertEqual(signatures(data), [])
        self.assertIn("signed copy put in place", self.inst.log("smtpd"))
        self.assertNotIn(" signed owner=", self.inst.log("smtpd"))


if __name__ == "__main__":
    unittest.main()
