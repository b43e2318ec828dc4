"""Privilege separation: every process of every daemon that handles
network input runs as its unprivileged user, chrooted (DESIGN.md rule 1).

Read from /proc: the uids of each process below the daemon's parent, and
the directory /proc/PID/root points to.
"""

import os
import unittest

from harness import Instance, binary, descendants, proc_info, wait_for

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
        kids = wait_for(lambda: descendants(parent) if
                        len(descendants(parent)) >= len(expect) else None,
                        10, "%s roles" % name)
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
