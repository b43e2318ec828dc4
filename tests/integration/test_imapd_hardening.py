"""test_imapd_hardening.py - imapd under attack and under failure.

* a link planted in the mail tree (by a process of the mail user) is
  refused by the root parent, never followed or chowned or chrooted into;
* before login only LITERAL- is offered and a command's literals are
  capped at a few KB, so the one pre-login process stays small;
* failed logins are remembered per client address across connections;
* a killed pre-login process is restarted, a killed user process ends only
  that user's sessions;
* after COMPRESS DEFLATE, a small compressed input that inflates a
  thousandfold is inflated a little at a time, never held whole.
"""

import imaplib
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest

from fixtures import rss_kb
from harness import Instance, descendants, proc_info, sanitized, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
PW = "hardening-pw"


class ImapdHardeningTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(extra_conf={"imapd": {"auth_fail_max": "4"}})
        self.inst.add_user(ALICE, PW)
        self.inst.add_user(BOB, PW)
        self.inst.start("imapd")

    def tearDown(self):
        self.inst.close()

    def role(self, name):
        for pid in descendants(self.inst.pid("imapd")):
            try:
                if proc_info(pid)[0] == name:
                    return pid
            except OSError:
                pass
        return None

    def login(self, user, pw=PW, addr="127.0.0.1"):
        m = imaplib.IMAP4("127.0.0.1", self.inst.port("imap"))
        if addr != "127.0.0.1":
            m.sock.close()
            s = socket.socket()
            s.bind((addr, 0))
            s.connect(("127.0.0.1", self.inst.port("imap")))
            m.sock = s
            m.file = s.makefile("rb")
            m._get_response()
        m.starttls(ssl_context=self.inst.client_tls_context())
        m.login(user, pw)
        return m

    def tls_raw(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("imaps")), 5)
        ctx = self.inst.client_tls_context()
        t = ctx.wrap_socket(s, server_hostname="mx.example.test")
        f = t.makefile("rwb")
        greeting = f.readline()
        return t, f, greeting

    # -- the mail tree --------------------------------------------------

    def test_a_link_in_the_mail_tree_is_not_followed(self):
        victim = tempfile.mkdtemp(prefix="victim-", dir="/tmp")
        try:
            udir = self.inst.path("mail", "example.test", "alice")
            if os.path.exists(udir):
                shutil.rmtree(udir)
            os.makedirs(os.path.dirname(udir), exist_ok=True)
            os.symlink(victim, udir)
            before = os.stat(victim)
            with self.assertRaises(imaplib.IMAP4.error):
                self.login(ALICE)
            after = os.stat(victim)
            self.assertEqual((before.st_uid, before.st_gid),
                             (after.st_uid, after.st_gid))
            self.assertFalse(os.path.exists(os.path.join(victim, "Maildir")))
            # no user process of alice runs chrooted anywhere
            for pid in descendants(self.inst.pid("imapd")):
                comm, uids, root = proc_info(pid)
                self.assertNotEqual(os.path.realpath(root), "/"
                                    if comm == "imapd.user" else "-")
            # bob, whose tree is intact, is served
            m = self.login(BOB)
            self.assertEqual(m.select("INBOX")[0], "OK")
            m.logout()
            # a link to / one level up: the domain
            os.unlink(udir)
            dom = self.inst.path("mail", "example.test")
            shutil.rmtree(dom)
            os.symlink("/", dom)
            with self.assertRaises(imaplib.IMAP4.error):
                self.login(ALICE)
            self.assertFalse(os.path.exists("/alice"))
        finally:
            shutil.rmtree(victim, ignore_errors=True)

    # -- pre-login memory -----------------------------------------------

    def test_prelogin_offers_literal_minus_and_caps_a_command(self):
        t, f, greeting = self.tls_raw()
        self.assertIn(b"LITERAL-", greeting)
        self.assertNotIn(b"LITERAL+", greeting)
        pre = self.role("imapd.prelogin")
        base = rss_kb(pre)
        # a synchronising literal past 4096 octets: refused, no "+"
        f.write(b"a1 LOGIN {5000}\r\n")
        f.flush()
        line = f.readline()
        self.assertTrue(line.startswith(b"a1 NO") or line.startswith(b"a1 BAD"),
                        line)
        self.assertIn(b"TOOBIG", line)
        # literals that each fit but together pass the command's cap
        f.write(b"a2 LOGIN {3000}\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"+"))
        f.write(b"u" * 3000 + b" {3000}\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"+"))
        f.write(b"p" * 3000 + b" {3000}\r\n")
        f.flush()
        line = f.readline()
        self.assertTrue(line.startswith(b"a2 "), line)
        self.assertIn(b"TOOBIG", line)
        # a non-synchronising one past the cap ends the connection
        try:
            f.write(b"a3 LOGIN {70000+}\r\n" + b"x" * 70000 + b" pw\r\n")
            f.flush()
            rest = f.read()
        except (OSError, ssl.SSLError):
            rest = b""
        self.assertNotIn(b"a3 OK", rest)
        t.close()
        # many clients each announcing big literals leave it small
        conns = []
        for i in range(40):
            t, f, _ = self.tls_raw()
            f.write(b"x%d LOGIN {4000}\r\n" % i)
            f.flush()
            f.readline()
            f.write(b"y" * 3000)
            f.flush()
            conns.append(t)
        time.sleep(0.5)
        grown = rss_kb(pre) - base
        for t in conns:
            t.close()
        # TLS state and a 4 KB buffer each: a few MB; ASan's redzones and
        # quarantine of freed blocks multiply that
        limit = (64 if sanitized() else 16) * 1024
        self.assertLess(grown, limit, "pre-login grew %d KB" % grown)

    # -- failed logins ----------------------------------------------------

    def test_failed_logins_bar_the_address_not_the_user(self):
        bad = 0
        # four failures, over several connections, from 127.0.0.9
        while bad < 4:
            try:
                self.login(ALICE, "wrong", addr="127.0.0.9")
            except imaplib.IMAP4.error:
                bad += 1
            except (OSError, imaplib.IMAP4.abort):
                pass
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            self.login(ALICE, PW, addr="127.0.0.9")
        self.assertIn("UNAVAILABLE", str(cm.exception))
        # the user is not locked out from elsewhere
        m = self.login(ALICE, PW, addr="127.0.0.10")
        m.logout()
        self.assertIn("barred", self.inst.log("imapd"))

    # -- healing ----------------------------------------------------------

    def test_killed_prelogin_is_restarted(self):
        old = wait_for(lambda: self.role("imapd.prelogin"), 10, "prelogin")
        os.kill(old, signal.SIGKILL)
        t0 = time.time()

        def serves():
            try:
                m = self.login(BOB)
                m.logout()
                return True
            except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort):
                return False
        wait_for(serves, 10, "logins after the restart")
        self.assertLess(time.time() - t0, 5)
        self.assertIsNone(self.inst.procs["imapd"].poll())
        new = self.role("imapd.prelogin")
        self.assertNotIn(new, (None, old))

    def test_killed_user_process_ends_only_that_user(self):
        a = self.login(ALICE)
        b = self.login(BOB)
        a.select("INBOX")
        b.select("INBOX")
        users = [p for p in descendants(self.inst.pid("imapd"))
                 if proc_info(p)[0] == "imapd.user"]
        self.assertEqual(len(users), 2)
        # alice's process is the one chrooted to alice's directory
        apid = [p for p in users if os.readlink("/proc/%d/root" % p)
                .endswith("/alice")][0]
        os.kill(apid, signal.SIGKILL)
        self.assertEqual(b.noop()[0], "OK")
        with self.assertRaises((imaplib.IMAP4.abort, OSError)):
            for _ in range(20):
                a.noop()
                time.sleep(0.1)
        self.assertIsNone(self.inst.procs["imapd"].poll())
        a2 = self.login(ALICE)
        self.assertEqual(a2.select("INBOX")[0], "OK")
        self.assertEqual(b.noop()[0], "OK")
        a2.logout()
        b.logout()

    # -- COMPRESS -------------------------------------------------------

    def test_deflate_bomb_is_inflated_a_little_at_a_time(self):
        """64 MB of spaces deflate to about 64 KB; the user process reads
        them as one over-long line (refused) without ever holding more
        than about 1 MB of them"""
        import zlib
        t, f, _ = self.tls_raw()
        t.sendall(b"a LOGIN %s %s\r\n" % (BOB.encode(), PW.encode()))
        self.assertTrue(f.readline().startswith(b"a OK"))
        t.sendall(b"b COMPRESS DEFLATE\r\n")
        self.assertTrue(f.readline().startswith(b"b OK"))
        user = [p for p in descendants(self.inst.pid("imapd"))
                if proc_info(p)[0] == "imapd.user"][0]

        def hwm_kb():
            with open("/proc/%d/status" % user) as st:
                for line in st:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        before = hwm_kb()
        co = zlib.compressobj(wbits=-15)
        de = zlib.decompressobj(wbits=-15)
        bomb = co.compress(b"c NOOP" + b" " * (64 << 20) + b"\r\n"
                           b"d NOOP\r\n") + co.flush(zlib.Z_SYNC_FLUSH)
        self.assertLess(len(bomb), 128 << 10)
        t.sendall(bomb)
        out = b""
        t.settimeout(30)
        while b"d OK" not in out:
            chunk = t.recv(4096)
            self.assertTrue(chunk, out[-200:])
            out += de.decompress(chunk)
        self.assertIn(b"c BAD", out)
        grown = hwm_kb() - before
        # Inflated whole, each read from the relay (4 KB here, up to a
        # TLS record of 16 KB) became up to 1032 times its size: about
        # 4 MB at once here.  A step at a time, about 1 MB.  ASan keeps
        # freed blocks in quarantine (256 MB by default), so its peak
        # holds every step: the bound is the plain build's to check,
        # ASan's the memory safety of the steps.
        if not sanitized():
            self.assertLess(grown, 3 << 10, "the user process peaked %d "
                            "kB higher" % grown)
        t.close()


if __name__ == "__main__":
    unittest.main()
