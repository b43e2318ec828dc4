"""mda under attack: the real daemon, driven over its LMTP socket as
root (a trusted peer, like smtpd) and as another local user (anyone may
connect).  Its failures and restarts are in test_mda_heal.py.

* The hand-off: XSEAL sets class and queue ID for trusted peers only, in
  its place in the transaction; X-SEALMAIL-CLASS is gone; every address
  is checked; a parameter given twice is refused; an overlong recipient
  gets an LMTP error.
* Idempotent delivery: one copy per (queue ID, user) whatever the
  retries, and every state a crash can leave is completed or started
  over, never doubled or lost; old records are purged.
* Links planted in the mail tree are never followed: not by delivery,
  not by the quota walk.
* The LDA leaves out the message's own Return-Path and Delivered-To.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import binary, wait_for
from mdatools import (BOB, CAROL, NOBODY, PLAIN, MdaCase, as_uid,
                      chown_vmail, dotstuff, lmtp_lines, new_qid, role_pids,
                      user_dir, vmail_dir)


class EnvelopeTest(MdaCase):
    """XSEAL, parameters and addresses."""

    def test_lhlo_offers_xseal_and_a_trusted_peer_sets_the_class(self):
        c = self.lmtp()
        c.sock.sendall(b"LHLO test\r\n")
        lines = []
        while True:
            line = c.f.readline().decode().rstrip("\r\n")
            lines.append(line)
            if line[3] != "-":
                break
        self.assertIn("250-XSEAL", lines)
        self.assertEqual(c.xseal("safe"), (250, "250 2.0.0 OK"))
        c.cmd("MAIL FROM:<alice@example.test>")
        c.cmd("RCPT TO:<%s>" % BOB)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.sock.sendall(dotstuff(PLAIN))
        code, text = c.reply()
        c.close()
        self.assertEqual(code, 250)
        self.assertIn("INBOX", text)

    def test_untrusted_peer_may_not_xseal_and_its_mail_is_unsafe(self):
        inbox = self.count(CAROL)
        path = self.inst.path("run", "lmtp.sock")
        qid = new_qid()
        replies = as_uid(NOBODY, lambda: lmtp_lines(path, [
            "LHLO nobody", "XSEAL ID=%s CLASS=SAFE" % qid,
            "MAIL FROM:<alice@example.test>", "RCPT TO:<%s>" % CAROL,
            "DATA"], PLAIN))
        self.assertEqual(replies[2], ["550 5.7.1 XSEAL not permitted"])
        self.assertTrue(replies[5][0].startswith("354"), replies)
        self.assertTrue(replies[6][0].startswith("250"), replies)
        self.assertIn("Unsafe", replies[6][0])
        self.assertEqual(self.count(CAROL), inbox)
        # ... and it did not make a record under that ID either
        self.assertFalse(os.path.exists(os.path.join(
            user_dir(self.inst, CAROL), "delivered", qid)))

    def test_xseal_comes_once_after_lhlo_before_mail(self):
        c = self.lmtp()
        self.assertEqual(c.xseal("safe")[0], 503)          # before LHLO
        c.cmd("LHLO test")
        self.assertEqual(c.xseal("safe")[0], 250)
        code, text = c.xseal("unsafe")                     # a second one
        self.assertEqual(code, 503)
        self.assertIn("5.5.1", text)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.test>")[0], 250)
        self.assertEqual(c.xseal("safe")[0], 503)          # after MAIL
        c.close()

    def test_xseal_arguments_are_exactly_id_and_class(self):
        c = self.lmtp()
        c.cmd("LHLO test")
        qid = new_qid()
        for bad in ("XSEAL", "XSEAL ID=%s" % qid, "XSEAL CLASS=SAFE",
                    "XSEAL ID=%s CLASS=MAYBE" % qid,
                    "XSEAL ID=%s CLASS=SAFE X=1" % qid,
                    "XSEAL ID=%s ID=%s CLASS=SAFE" % (qid, qid),
                    "XSEAL ID=%s CLASS=SAFE" % qid.upper(),
                    "XSEAL ID=../../x CLASS=SAFE"):
            code, text = c.cmd(bad)
            self.assertEqual(code, 501, bad)
            self.assertIn("5.5.4", text)
        self.assertEqual(c.cmd("XSEAL class=safe id=%s" % qid)[0], 250)
        c.close()

    def test_class_and_id_end_with_the_transaction(self):
        inbox, unsafe = self.count(BOB), self.count(BOB, "Unsafe")
        c = self.lmtp()
        self.assertEqual(c.send("a@example.test", [BOB], PLAIN, "safe")[0][0],
                         250)
        # the same session, no XSEAL: unsafe
        self.assertEqual(c.send("a@example.test", [BOB], PLAIN)[0][0], 250)
        # XSEAL, then RSET: gone
        c.xseal("safe")
        c.cmd("RSET")
        self.assertEqual(c.send("a@example.test", [BOB], PLAIN)[0][0], 250)
        c.close()
        self.assertEqual(self.count(BOB), inbox + 1)
        self.assertEqual(self.count(BOB, "Unsafe"), unsafe + 2)

    def test_x_sealmail_class_is_an_unknown_parameter(self):
        inbox = self.count(BOB)
        c = self.lmtp()
        c.cmd("LHLO test")
        code, text = c.cmd("MAIL FROM:<a@example.test> X-SEALMAIL-CLASS=safe")
        self.assertEqual(code, 555)
        self.assertIn("5.5.4", text)
        c.close()
        self.assertEqual(self.count(BOB), inbox)

    def test_a_parameter_given_twice_is_refused(self):
        c = self.lmtp()
        c.cmd("LHLO test")
        for line in ("MAIL FROM:<a@example.test> BODY=8BITMIME body=7BIT",
                     "MAIL FROM:<a@example.test> SMTPUTF8 SMTPUTF8",
                     "MAIL FROM:<a@example.test> X-SEALMAIL-CLASS=safe Z=> "
                     "X-SEALMAIL-CLASS=unsafe"):
            code, text = c.cmd(line)
            self.assertEqual(code, 501, line)
            self.assertIn("5.5.4", text)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.test> BODY=8BITMIME "
                               "SMTPUTF8")[0], 250)
        c.close()

    def test_addresses_are_checked(self):
        c = self.lmtp()
        c.cmd("LHLO test")
        # one octet over a mailbox's 254: the command parser's path rule
        # (common/addr) refuses it before mda's own check would
        long_sender = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".ccccccc"
        self.assertEqual(len(long_sender), 255)
        code, text = c.cmd("MAIL FROM:<%s>" % long_sender)
        self.assertEqual(code, 553)
        self.assertIn("5.1.3", text)
        self.assertEqual(c.cmd("MAIL FROM:<>")[0], 250)
        code, text = c.cmd("RCPT TO:<postmaster>")
        self.assertEqual(code, 501)
        self.assertIn("5.1.3", text)
        code, text = c.cmd("RCPT TO:<%s> NOTIFY=NEVER" % BOB)
        self.assertEqual(code, 555)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        c.close()

    def test_overlong_recipient_from_any_user_never_stops_delivery(self):
        # 256 and 255 characters: beyond the 254 of a mailbox, refused by
        # the command parser (common/addr).  Sent by an unprivileged local
        # user.
        path = self.inst.path("run", "lmtp.sock")
        rcpts = ["a" * 64 + "@" + ".".join(["b" * 60] * 3) + "." + "c" * n
                 for n in (8, 7)]
        self.assertEqual([len(r) for r in rcpts], [256, 255])
        replies = as_uid(NOBODY, lambda: lmtp_lines(path, [
            "LHLO nobody", "MAIL FROM:<mallory@evil.test>"] +
            ["RCPT TO:<%s>" % r for r in rcpts] +
            ["RCPT TO:<%s>" % CAROL, "QUIT"]))
        for r in replies[3:5]:
            self.assertTrue(r[0].startswith("553 5.1.3"), replies)
        self.assertTrue(replies[5][0].startswith("250"), replies)
        time.sleep(0.3)
        self.assertParentAlive()
        self.deliver_ok()


class IdempotencyTest(MdaCase):
    """One copy per (queue ID, user): retries, and every crash state."""

    def recdir(self, addr):
        return os.path.join(user_dir(self.inst, addr), "delivered")

    def send_id(self, qid, rcpts=(BOB,), msg=PLAIN, cls="safe"):
        c = self.lmtp()
        replies = c.send("alice@example.test", list(rcpts), msg, cls, qid)
        c.close()
        return replies

    def plant(self, addr, name, data):
        d = vmail_dir(self.inst, self.recdir(addr))
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        chown_vmail(self.inst, p)
        return p

    def test_the_same_id_twice_is_stored_once(self):
        qid = new_qid()
        before = self.count(BOB)
        first = self.send_id(qid)
        second = self.send_id(qid)
        self.assertEqual(first[0][0], 250)
        self.assertEqual(second[0][0], 250, second)
        self.assertIn("INBOX", second[0][1])
        self.assertEqual(self.count(BOB), before + 1)
        # what a finished delivery leaves: the record alone
        self.assertEqual(sorted(os.listdir(self.recdir(BOB))).count(qid), 1)
        self.assertNotIn(qid + ".msg", os.listdir(self.recdir(BOB)))
        # a different ID is a different message
        self.assertEqual(self.send_id(new_qid())[0][0], 250)
        self.assertEqual(self.count(BOB), before + 2)

    def test_records_are_per_user(self):
        qid = new_qid()
        b, c = self.count(BOB), self.count(CAROL, "Unsafe")
        self.assertEqual([r[0] for r in self.send_id(qid, (BOB,))], [250])
        # the retry also goes to carol (unsafe): she gets her copy
        replies = self.send_id(qid, (BOB, CAROL), cls="unsafe")
        self.assertEqual([r[0] for r in replies], [250, 250])
        self.assertIn("INBOX", replies[0][1])  # bob: as first delivered
        self.assertEqual(self.count(BOB), b + 1)
        self.assertEqual(self.count(CAROL, "Unsafe"), c + 1)
        replies = self.send_id(qid, (CAROL,), cls="unsafe")
        self.assertIn("Unsafe", replies[0][1])
        self.assertEqual(self.count(CAROL, "Unsafe"), c + 1)

    def test_a_250_that_never_arrived_is_answered_again_without_a_copy(self):
        # smtpd.delivery killed after the message went in, before it read
        # the 250: the retry gets 250 and no second copy.
        qid = new_qid()
        before = self.count(BOB)
        c = self.lmtp()
        c.cmd("LHLO test")
        c.xseal("safe", qid)
        c.cmd("MAIL FROM:<alice@example.test>")
        c.cmd("RCPT TO:<%s>" % BOB)
        c.cmd("DATA")
        c.sock.sendall(dotstuff(PLAIN))
        c.sock.close()
        wait_for(lambda: self.count(BOB) == before + 1, 10, "the delivery")
        self.assertEqual(self.send_id(qid)[0][0], 250)
        self.assertEqual(self.count(BOB), before + 1)

    def test_record_and_message_are_durable_before_the_delivering_rename(self):
        # Under strace on every mda.lmtp: the order the crash table of
        # mda/record.c rests on, at its cost of five fsyncs.  The message
        # is written once, as <id>.msg, and the record renamed into place;
        # one fsync of delivered/ then makes both names durable before
        # <id>.msg is renamed into new/, and new/ and delivered/ are
        # fsynced after.
        self.deliver_ok()
        qid = new_qid()
        out = self.inst.path("strace-record-%s.txt" % qid)
        pids = role_pids(self.inst)
        st = subprocess.Popen(
            ["strace", "-f", "-y", "-qq", "-o", out, "-e",
             "trace=fsync,fdatasync,openat,rename,renameat,renameat2"]
            + [a for pid in pids for a in ("-p", str(pid))],
            stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)             # attached to every process
            self.assertEqual(self.send_id(qid)[0][0], 250)
        finally:
            st.terminate()
            st.wait(10)
        with open(out) as f:
            calls = [ln.split(None, 1)[1] for ln in f
                     if ln.split(None, 1)[1:]
                     and ln.split(None, 1)[1].startswith(
                         ("fsync(", "fdatasync(", "openat(", "rename"))]
        first = next(i for i, c in enumerate(calls)
                     if c.startswith("openat(") and qid + ".msg" in c)
        calls = calls[first:]
        rename_in = [i for i, c in enumerate(calls)
                     if c.startswith("rename") and qid + ".msg" in c
                     and "/new>" in c]
        self.assertEqual(len(rename_in), 1, calls)
        before = calls[:rename_in[0]]
        record = [i for i, c in enumerate(before)
                  if c.startswith("rename") and '"%s"' % qid in c]
        self.assertEqual(len(record), 1, before)
        syncs = [c for c in before[record[0]:]
                 if re.match(r"fsync\(\d+<[^>]*/delivered>\)", c)]
        self.assertEqual(len(syncs), 1, before)
        fsyncs = [c for c in calls if c.startswith(("fsync(", "fdatasync("))]
        self.assertEqual(len(fsyncs), 5, calls)
        self.assertEqual(len([c for c in calls if c.startswith("rename")]),
                         2, calls)

    def test_a_crash_after_the_record_is_completed_on_retry(self):
        # The crash left the message complete beside its record, not yet
        # renamed into the Maildir: the retry puts that very message in.
        qid = new_qid()
        before = set(self.inst.messages(BOB))
        self.assertEqual(self.count(BOB), len(before))
        self.deliver_ok()       # the Maildir exists
        before = set(self.inst.messages(BOB))
        name = "1700000000.M1P1Q1.mx.example.test,S=42"
        stored = (b"Return-Path: <x@y.test>\r\nSubject: interrupted\r\n"
                  b"\r\nhi\r\n")
        self.plant(BOB, qid + ".msg", stored)
        self.plant(BOB, qid, ("Maildir/new/%s\n" % name).encode())
        replies = self.send_id(qid)
        self.assertEqual(replies[0][0], 250, replies)
        new = set(self.inst.messages(BOB)) - before
        self.assertEqual([os.path.basename(p) for p in new], [name])
        self.assertEqual(self.read(new.pop()), stored)
        self.assertEqual(os.listdir(self.recdir(BOB)).count(qid + ".msg"), 0)
        # and once more: nothing new
        self.assertEqual(self.send_id(qid)[0][0], 250)
        self.assertEqual(self.count(BOB), len(before) + 1)

    def test_a_crash_before_the_record_starts_over(self):
        qid = new_qid()
        before = self.count(BOB)
        self.plant(BOB, qid + ".msg", b"Subject: half-way\r\n\r\nx\r\n")
        self.plant(BOB, "tmp.1700000000.M2P2Q2.mx.example.test", b"part")
        replies = self.send_id(qid)
        self.assertEqual(replies[0][0], 250)
        self.assertEqual(self.count(BOB), before + 1)
        newest = max(self.inst.messages(BOB), key=os.path.getmtime)
        self.assertTrue(self.read(newest).endswith(PLAIN))
        self.assertNotIn(qid + ".msg", os.listdir(self.recdir(BOB)))

    def test_a_record_alone_means_delivered(self):
        qid = new_qid()
        self.deliver_ok()
        before = self.count(BOB)
        self.plant(BOB, qid, b"Maildir/.Unsafe/new/1700000000.M3P3Q3.mx,S=9\n")
        replies = self.send_id(qid)
        self.assertEqual(replies[0][0], 250)
        self.assertIn("Unsafe", replies[0][1])
        self.assertEqual(self.count(BOB), before)

    def test_an_unreadable_record_is_a_temporary_failure(self):
        qid = new_qid()
        before = self.count(BOB)
        self.plant(BOB, qid, b"../../../../etc/passwd\n")
        replies = self.send_id(qid)
        self.assertEqual(replies[0][0], 451, replies)
        self.assertEqual(self.count(BOB), before)

    def test_a_delivery_that_fails_half_way_leaves_nothing_behind(self):
        qid = new_qid()
        self.deliver_ok()
        before = self.count(BOB)
        new = os.path.join(self.inst.maildir(BOB), "new")
        os.chmod(new, 0o500)        # the final rename fails
        try:
            replies = self.send_id(qid)
        finally:
            os.chmod(new, 0o700)
        self.assertEqual(replies[0][0], 451, replies)
        self.assertEqual(self.count(BOB), before)
        self.assertFalse({qid, qid + ".msg"} & set(os.listdir(
            self.recdir(BOB))))
        self.assertEqual(self.send_id(qid)[0][0], 250)
        self.assertEqual(self.count(BOB), before + 1)

    def test_without_xseal_nothing_is_recorded(self):
        before = self.count(BOB, "Unsafe")
        try:
            had = set(os.listdir(self.recdir(BOB)))
        except FileNotFoundError:
            had = set()
        for _ in range(2):
            c = self.lmtp()
            self.assertEqual(c.send("a@example.test", [BOB], PLAIN)[0][0],
                             250)
            c.close()
        self.assertEqual(self.count(BOB, "Unsafe"), before + 2)
        try:
            now = set(os.listdir(self.recdir(BOB)))
        except FileNotFoundError:
            now = set()
        self.assertEqual(now, had)


class RecordPurgeTest(MdaCase):
    """mda.purge removes old records (at start, then hourly)."""

    def test_old_records_and_leftovers_are_purged(self):
        inst = self.inst
        self.deliver_ok(CAROL)
        rec = vmail_dir(inst, os.path.join(user_dir(inst, CAROL),
                                           "delivered"))
        old = time.time() - 11 * 86400
        day_old = time.time() - 2 * 86400
        files = {}
        for name, age in ((new_qid(), old), (new_qid(), None),
                          ("%s.msg", old), ("tmp.1.M1P1Q1.x", day_old),
                          ("tmp.2.M1P1Q1.x", None)):
            if name == "%s.msg":            # a pending message, old record
                files["pair"] = qid = new_qid()
                for n in (qid, qid + ".msg"):
                    p = os.path.join(rec, n)
                    open(p, "w").close()
                    chown_vmail(inst, p)
                    os.utime(p, (age, age))
                continue
            p = os.path.join(rec, name)
            with open(p, "w") as f:
                f.write("Maildir/new/x\n")
            chown_vmail(inst, p)
            if age:
                os.utime(p, (age, age))
            files[name] = age
        lone = new_qid() + ".msg"
        p = os.path.join(rec, lone)
        open(p, "w").close()
        chown_vmail(inst, p)
        os.utime(p, (day_old, day_old))
        inst.stop("mda")
        inst.start("mda")         # the purge runs before mda.lmtp starts
        left = set(os.listdir(rec))
        for name, age in files.items():
            if name == "pair":
                self.assertFalse({age, age + ".msg"} & left)
            elif age:
                self.assertNotIn(name, left)
            else:
                self.assertIn(name, left)
        self.assertNotIn(lone, left)
        self.assertIn("delivery records purged days=10 removed=2",
                      inst.log("mda"))


class LinksTest(MdaCase):
    """Links planted in the mail tree lead nowhere."""

    USERS = (BOB, CAROL, "dave@example.test", "erin@example.test",
             "frank@example.test", "grace@example.test")

    def setUp(self):
        self.outside = tempfile.mkdtemp(prefix="smt-outside-", dir="/tmp")
        vmail_dir(self.inst, self.outside, 0o755)

    def tearDown(self):
        shutil.rmtree(self.outside, ignore_errors=True)

    def everything_outside(self):
        out = []
        for root, dirs, names in os.walk(self.outside):
            out += [os.path.join(root, n) for n in dirs + names]
        return out

    def refused(self, addr, cls="safe"):
        c = self.lmtp()
        replies = c.send("alice@example.test", [addr], PLAIN, cls)
        c.close()
        self.assertEqual(len(replies), 1)
        self.assertTrue(400 <= replies[0][0] < 500, replies)
        self.assertEqual(self.everything_outside(), [])
        self.assertParentAlive()

    def test_a_link_as_the_user_directory(self):
        addr = "dave@example.test"
        domain = vmail_dir(self.inst, self.inst.path("mail", "example.test"))
        # (user add made it, with the Unsafe folder)
        shutil.rmtree(os.path.join(domain, "dave"), ignore_errors=True)
        os.symlink(self.outside, os.path.join(domain, "dave"))
        chown_vmail(self.inst, os.path.join(domain, "dave"))
        self.refused(addr)
        # the LDA (root resolves, then delivers as the mail user) too
        r = subprocess.run([binary("mda"), "-c", self.inst.conf, "-d", addr,
                            "-s", "safe"], input=PLAIN, capture_output=True,
                           env=self.inst.env(), timeout=30)
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertEqual(self.everything_outside(), [])

    def test_a_link_as_the_maildir(self):
        ud = vmail_dir(self.inst, user_dir(self.inst, "erin@example.test"))
        shutil.rmtree(os.path.join(ud, "Maildir"), ignore_errors=True)
        os.symlink(self.outside, os.path.join(ud, "Maildir"))
        self.refused("erin@example.test")
        self.refused("erin@example.test", "unsafe")

    def test_a_link_as_new(self):
        addr = "frank@example.test"
        self.deliver_ok(addr)
        new = os.path.join(self.inst.maildir(addr), "new")
        shutil.rmtree(new)
        os.symlink(self.outside, new)
        self.refused(addr)

    def test_the_quota_walk_neither_counts_nor_follows_links(self):
        addr = "grace@example.test"
        self.deliver_ok(addr)
        big = os.path.join(self.outside, "big")
        with open(big, "wb") as f:
            f.truncate(50 * 1024 * 1024)
        for sub in ("new", "cur"):
            os.makedirs(os.path.join(self.outside, "folder", sub))
            with open(os.path.join(self.outside, "folder", sub, "m"),
                      "wb") as f:
                f.truncate(50 * 1024 * 1024)
        md = self.inst.maildir(addr)
        os.symlink(big, os.path.join(md, "cur", "1.M1P1.x,S=52428800:2,S"))
        os.symlink(os.path.join(self.outside, "folder"),
                   os.path.join(md, ".Evil"))
        os.symlink(".", os.path.join(md, ".Loop"))
        self.inst.ctl("user", "set", addr, "quota_bytes=1000000")
        before = self.count(addr)
        c = self.lmtp()
        replies = c.send("alice@example.test", [addr], PLAIN, "safe")
        c.close()
        self.assertEqual(replies[0][0], 250, replies)
        self.assertEqual(self.count(addr), before + 1)
        # the quota still counts the real messages
        self.inst.ctl("user", "set", addr, "quota_bytes=%d"
                      % (len(PLAIN) + 10))
        c = self.lmtp()
        replies = c.send("alice@example.test", [addr], PLAIN, "safe")
        c.close()
        self.assertEqual(replies[0][0], 552, replies)


class LdaHeaderTest(MdaCase):
    """The LDA keeps one Return-Path and one Delivered-To: its own."""

    MSG = (b"Return-Path: <forged@evil.test>\n"
           b"Delivered-To: someone@elsewhere.test\n"
           b"From: alice@example.test\nTo: bob@example.test\n"
           b"delivered-to:\n\tbob@example.test\n"
           b"Subject: trace fields\n\nReturn-Path: <in the body>\n")

    def fields(self, data, name):
        return [l for l in data.replace(b"\r\n", b"\n").split(b"\n\n")[0]
                .split(b"\n") if l.lower().startswith(name.lower() + b":")]

    def lda(self, *args, uid=None):
        prog = self.inst.exposed_binary("mda") if uid else binary("mda")
        return subprocess.run([prog, "-c", self.inst.conf, "-d", BOB] +
                              list(args), input=self.MSG,
                              capture_output=True, env=self.inst.env(),
                              timeout=30,
                              preexec_fn=(lambda: os.setuid(uid)) if uid
                              else None)

    def check(self, path, body=True):
        data = self.read(path)
        self.assertEqual(self.fields(data, b"Return-Path"),
                         [b"Return-Path: <alice@example.test>"])
        self.assertEqual(self.fields(data, b"Delivered-To"),
                         [b"Delivered-To: bob@example.test"])
        if body:
            self.assertIn(b"\n\nReturn-Path: <in the body>\n",
                          data.replace(b"\r\n", b"\n"))

    def test_root_lda_drops_the_messages_own_trace_fields(self):
        r = self.lda("-s", "safe", "-f", "alice@example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check(max(self.inst.messages(BOB), key=os.path.getmtime))

    def test_relaying_lda_drops_them_too(self):
        os.chmod(self.inst.conf, 0o644)
        r = self.lda("-f", "alice@example.test", uid=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        # (unsafe: the stripper wrote the body in its own structure)
        self.check(max(self.inst.messages(BOB, "Unsafe"),
                       key=os.path.getmtime), body=False)


if __name__ == "__main__":
    unittest.main()
