"""Privilege separation: every process of every daemon that handles
network input runs as its unprivileged user, chrooted (docs/architecture.md,
rule 1), and no unprivileged process holds the user database (docs/storage.md:
the Berkeley DB environment is opened only by root processes).

Read from /proc: the uids of each process below the daemon's parent, the
directory /proc/PID/root points to, and /proc/PID/fd and /proc/PID/maps of
every process that is not root.
"""

import imaplib
import os
import smtplib
import unittest

from fixtures import holdings, settled_roles
from harness import Instance, binary, descendants, proc_info, wait_for

# the per-folder IMAP index (imapd/mailbox.c INDEX_FILE)
INDEX_NAME = "sealmail.index.db"

# Roles that read network input: (process name, user, chroot) where the
# chroot is a path in the instance ("empty" is [global] empty_dir) or "/"
# for none.
NETWORK_ROLES = {
    "keystore": [("keystore.server", "sealmail", "empty")],
    "smtpd": [("smtpd.receiver", "sealmail", "empty")],
    "submitd": [("submitd.smtp", "sealmail", "empty")],
    "imapd": [("imapd.prelogin", "sealmail", "empty")],
    # not chrooted: it writes every user's Maildir under mail_root and
    # the quarantine (mda/mda.c); it holds no database
    "mda": [("mda.lmtp", "vmail", "/")],
}

# After bob logs in to IMAP: his own process, as the mail user, chrooted
# to his mail directory (docs/architecture.md, rule 2).
USER = "bob@example.test"
USER_ROLES = {
    "imapd": [("imapd.user", "vmail", "mail/example.test/bob")],
}


class PrivsepTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance()

    def tearDown(self):
        self.inst.close()

    def check_daemon(self, name):
        inst = self.inst
        inst.add_user(USER, "pw")
        inst.start(name)
        parent = inst.pid(name)
        comm, uids, root = proc_info(parent)
        self.assertEqual(uids[1], 0, "%s parent runs as root" % name)
        self.check_roles(name, NETWORK_ROLES[name])
        if name in USER_ROLES:
            imap = imaplib.IMAP4("127.0.0.1", inst.port("imap"))
            try:
                imap.starttls(ssl_context=inst.client_tls_context())
                imap.login(USER, "pw")
                imap.select("INBOX")
                self.check_roles(name, NETWORK_ROLES[name] +
                                 USER_ROLES[name])
            finally:
                imap.logout()
        inst.stop(name)

    def check_roles(self, name, expect):
        """Each expected role runs as its user in its chroot; no child of
        the daemon keeps root or holds the user database."""
        inst = self.inst
        parent = inst.pid(name)

        seen = {comm: pid for pid, comm, _, _ in
                settled_roles(parent, [r for r, _, _ in expect])}
        for pid in seen.values():
            try:
                comm, uids, root = proc_info(pid)
            except OSError:
                continue
            # No child of any daemon keeps root.
            self.assertNotIn(0, uids, "%s (%s) has uid 0: %s"
                             % (comm, pid, uids))
            self.assertEqual(self.db_holdings(pid, comm), [],
                             "%s holds the user database" % comm)
        for role, user, chroot in expect:
            self.assertIn(role, seen, "%s has a %s process (saw %s)"
                          % (name, role, sorted(seen)))
            comm, uids, root = proc_info(seen[role])
            uid = inst.users[user].pw_uid
            self.assertEqual(uids, [uid] * 3, "%s runs as %s" % (role, user))
            self.assertEqual(os.path.realpath(root),
                             os.path.realpath(inst.path(chroot)),
                             "%s is chrooted to %s" % (role, chroot))

    def db_holdings(self, pid, comm=""):
        """Files of db_dir (or any Berkeley DB region or .db file) that
        pid has open or mapped.  A user's IMAP process may hold its own
        folder indexes (docs/storage.md: per-user indexes live in the user's
        chroot), never anything of the shared environment."""
        return holdings(pid, [self.inst.path("db")],
                        (INDEX_NAME,) if comm == "imapd.user" else ())

    def test_no_unprivileged_process_holds_the_user_database(self):
        # Every daemon running and busy (a delivery made, an IMAP user
        # logged in, a submission session open): no process that is not
        # root has a database file open or a DB region mapped.
        inst = self.inst
        inst.add_user(USER, "pw")
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

    def test_mda_lmtp_role_runs_as_the_mail_user(self):
        self.check_daemon("mda")

    def test_smtpd_receiver_is_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("smtpd")):
            self.skipTest("smtpd not built")
        self.check_daemon("smtpd")

    def test_submitd_smtp_role_is_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("submitd")):
            self.skipTest("submitd not built")
        self.check_daemon("submitd")

    def test_imapd_prelogin_and_user_are_unprivileged_and_chrooted(self):
        if not os.path.exists(binary("imapd")):
            self.skipTest("imapd not built")
        self.check_daemon("imapd")


if __name__ == "__main__":
    unittest.main()
