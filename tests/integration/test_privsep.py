"""Privilege separation: every process of every daemon that handles
network input runs as its unprivileged user, chrooted (docs/architecture.md,
rule 1), and no unprivileged process holds the user database (docs/storage.md:
Berkeley DB environment is opened only by root processes).

Read from /proc: the uids of each process below the daemon's parent, the
directory /proc/PID/root points to, and /proc/PID/fd and /proc/PID/maps of
every process that is not root.
"""

import imaplib
import os
import smtplib
import unittest

from harness import Instance, binary, descendants, proc_info, wait_for

# the per-folder IMAP index (imapd/mailbox.c INDEX_FILE)
INDEX_NAME = "sealmail.index.db"

# Roles that read network input: (process name, user, chroot) where the
# chroot "empty" is [global] empty_dir.
NETWORK_ROLES = {
    "keystore": [("keystore.server", "sealmail", "empty")],
    "smtpd": [("smtpd.receiver", "sealmail", "empty")],
    "submitd": [("submitd.smtp", "sealmail", "empty")],
    "imapd": [("imapd.prelogin", "sealmail", "empty")],
    "mda": [],
}


class PrivsepTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance()

    def tearDown(self):
        self.inst.close()

    def check_daemon(self, name):
        inst = self.inst
        inst.start(name)
        parent = inst.pid(name)
        comm, uids, root = proc_info(parent)
        self.assertEqual(uids[1], 0, "%s parent runs as root" % name)
        expect = NETWORK_ROLES[name]
        # a role started by re-exec is root for a moment, until it has
        # read what it needs and dropped: wait until every role is there
        # and none is root; one still root after that fails below
        try:
            kids = wait_for(lambda: self.settled(parent, expect), 10)
        except TimeoutError:
            kids = descendants(parent)
        seen = {}
        for pid in kids:
            comm, uids, root = proc_info(pid)
            seen[comm] = (uids, root)
            # No child of any daemon keeps root.
            self.assertNotIn(0, uids, "%s (%s) has uid 0: %s" % (comm, pid, uids))
        for role, user, chroot in expect:
            self.assertIn(role, seen, "%s has a %s process (saw %s)"
                          % (name, role, sorted(seen)))
            uids, root = seen[role]
            uid = inst.users[user].pw_uid
            self.assertEqual(uids, [uid] * 3, "%s runs as %s" % (role, user))
            self.assertEqual(os.path.realpath(root),
                             os.path.realpath(inst.path(chroot)),
                             "%s is chrooted to %s" % (role, chroot))
        inst.stop(name)

    @staticmethod
    def settled(parent, expect):
        """parent's descendants once each expected role runs and none of
        them is root."""
        kids = descendants(parent)
        names = set()
        for pid in kids:
            try:
                comm, uids, _ = proc_info(pid)
            except OSError:
                return None
            if 0 in uids:
                return None
            names.add(comm)
        return kids if {r for r, _, _ in expect} <= names else None

    def db_holdings(self, pid, comm=""):
        """Files of db_dir (or any Berkeley DB region or .db file) that
        pid has open or mapped.  A user's IMAP process may hold its own
        folder indexes (docs/storage.md: per-user indexes live in the user's
        chroot), never anything of the shared environment."""
        db_dir = os.path.realpath(self.inst.path("db"))
        held = []

        def bad(path):
            path = path.replace(" (deleted)", "")
            base = os.path.basename(path)
            if (comm == "imapd.user" and base == INDEX_NAME
                    and not path.startswith(db_dir + "/")):
                return False
            return (path.startswith(db_dir + "/") or base.startswith("__db.")
                    or base.endswith(".db"))
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if bad(target):
                    held.append("fd %s -> %s" % (fd, target))
            with open("/proc/%d/maps" % pid) as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and bad(parts[5].strip()):
                        held.append("mapped %s" % parts[5].strip())
        except FileNotFoundError:
            pass		# it exited meanwhile
        return held

    def test_no_unprivileged_process_holds_the_user_database(self):
        # Every daemon running and busy (a delivery made, an IMAP user
        # logged in, a submission session open): no process that is not
        # root has a database file open or a DB region mapped.
        inst = self.inst
        inst.add_user("bob@example.test", "pw")
        names = [d for d in ("keystore", "mda", "smtpd", "submitd", "imapd")
                 if inst.built(d)]
        inst.start(*names)
        with smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=30) as c:
            c.sendmail("alice@remote.test", ["bob@example.test"],
                       b"Subject: privsep\r\n\r\nhi\r\n")
        wait_for(lambda: inst.messages("bob@example.test") or
                 inst.messages("bob@example.test", "Unsafe"), 20,
                 "the delivery")
        sub = smtplib.SMTP("127.0.0.1", inst.port("submission"), timeout=30)
        sub.ehlo()
        imap = imaplib.IMAP4("127.0.0.1", inst.port("imap"))
        imap.starttls(ssl_context=inst.client_tls_context())
        imap.login("bob@example.test", "pw")
        imap.select("INBOX")
        try:
            checked, holding = {}, {}
            for name in names:
                for pid in descendants(inst.pid(name)):
                    try:
                        comm, uids, root = proc_info(pid)
                    except OSError:
                        continue
                    if uids[1] == 0:
                        continue
                    checked[comm] = pid
                    held = self.db_holdings(pid, comm)
                    if held:
                        holding["%s pid %d uid %d" % (comm, pid, uids[1])] \
                            = held
            self.assertEqual(holding, {})
            for role in ("keystore.server", "smtpd.receiver", "smtpd.queue",
                         "submitd.smtp", "imapd.prelogin", "imapd.user",
                         "mda.lmtp"):
                if role.split(".")[0] in names:
                    self.assertIn(role, checked, sorted(checked))
        finally:
            imap.logout()
            sub.quit()

    def test_keystore_server_role_is_unprivileged_and_chrooted(self):
        self.check_daemon("keystore")

    def test_mda_children_are_never_root(self):
        self.check_daemon("mda")

    def test_smtpd_receiver_is_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("smtpd")):
            self.skipTest("smtpd not built")
        self.check_daemon("smtpd")

    def test_submitd_smtp_role_is_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("submitd")):
            self.skipTest("submitd not built")
        self.check_daemon("submitd")

    def test_imapd_prelogin_is_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("imapd")):
            self.skipTest("imapd not built")
        self.check_daemon("imapd")


if __name__ == "__main__":
    unittest.main()
