"""imapd's folder index as a cache of the Maildir, and folders kept loaded
between commands, over implicit TLS with raw IMAP:

* an APPENDed message is on disk when the tagged OK comes, whatever
  happens to the user process next; the index, whose writes are synced
  together about once a second rather than one by one, is rebuilt with a
  new UIDVALIDITY when its writer was killed before syncing it, so a UID
  given out is never given to another message under the same UIDVALIDITY;
* a user process ended with SIGTERM (imapd stopping) syncs its indexes:
  after a restart every folder keeps its UIDVALIDITY and UIDs;
* a folder kept loaded after its last session let it go is not written
  to once another Maildir tool has renamed or deleted it;
* a message the mda delivers in the same second as the folder's last
  rescan is seen by the next NOOP.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from harness import binary, descendants, proc_info
from imapsession import ImapCase, status, start_imapd

USER = "ida@example.test"
PW = "ind3x-pw"


def msg(n):
    return (b"From: Alice <alice@example.test>\r\n"
            b"To: Ida <ida@example.test>\r\n"
            b"Subject: index %d\r\n"
            b"Message-ID: <index.%d@example.test>\r\n"
            b"\r\n"
            b"body %d\r\n" % (n, n, n))


def appenduid(tagged):
    """(uidvalidity, uid) of "OK [APPENDUID v u] ..." """
    m = re.search(r"\[APPENDUID (\d+) (\d+)\]", tagged)
    return int(m.group(1)), int(m.group(2))


class IndexTest(ImapCase):
    USER, PW = USER, PW
    LINGER = 30
    FOLDER = "I"

    def folder(self, s):
        return self.new_folder(s)

    def append(self, s, box, n):
        untagged, tagged = s.cmd("APPEND %s" % box, msg(n))
        self.assertTrue(tagged.startswith("OK"), tagged)
        return appenduid(tagged)

    def user_pid(self):
        home = os.path.dirname(self.inst.maildir(USER))
        for pid in descendants(self.inst.pid("imapd")):
            try:
                comm, _, root = proc_info(pid)
            except OSError:
                continue
            if comm == "imapd.user" and root == home:
                return pid
        raise AssertionError("no user process for %s" % USER)

    def uids_by_subject(self, s, box):
        """{subject number: UID} of every message in box, and its
        UIDVALIDITY"""
        out = s.ok("SELECT %s" % box)
        uv = [int(m.group(1)) for m in (re.search(r"UIDVALIDITY (\d+)", ln)
                                        for ln in out) if m][0]
        got = {}
        for ln in s.ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS "
                       "(Subject)])"):
            m = re.search(r"UID (\d+).*Subject: index (\d+)", ln, re.S)
            if m:
                got[int(m.group(2))] = int(m.group(1))
        s.ok("CLOSE")
        return uv, got

    def test_append_then_kill9_keeps_the_message_and_never_reuses_a_uid(self):
        a = self.session()
        box = self.folder(a)
        given = {}
        for n in range(3):
            uv, uid = self.append(a, box, n)
            given[n] = (uv, uid)
        # killed before the index is synced (it is, within a second)
        os.kill(self.user_pid(), signal.SIGKILL)
        self.sessions.remove(a)
        b = self.session()
        uv, got = self.uids_by_subject(b, box)
        self.assertEqual(sorted(got), [0, 1, 2])
        uv2, uid = self.append(b, box, 3)
        self.assertEqual(uv2, uv)
        for n in range(3):
            if given[n][0] == uv:
                # the same UIDVALIDITY: the same UID for the same message,
                # and no other message ever gets it
                self.assertEqual(got[n], given[n][1])
                self.assertNotEqual(uid, given[n][1])
        # within the second, the index is found unclean and rebuilt
        self.assertNotEqual(uv, given[0][0])
        self.assertIn("rebuilding", self.inst.log("imapd"))

    def test_index_synced_within_seconds_survives_kill9(self):
        a = self.session()
        box = self.folder(a)
        uv, uid = self.append(a, box, 10)
        time.sleep(2.5)
        os.kill(self.user_pid(), signal.SIGKILL)
        self.sessions.remove(a)
        b = self.session()
        self.assertEqual(self.uids_by_subject(b, box), (uv, {10: uid}))

    def test_sigterm_keeps_every_uidvalidity_and_uid(self):
        a = self.session()
        box = self.folder(a)
        given = dict((n, self.append(a, box, n)) for n in range(20, 23))
        a.ok("SELECT %s" % box)
        a.ok("STORE 1 +FLAGS ($Label1)")
        self.inst.stop("imapd")
        self.sessions.remove(a)
        start_imapd(self.inst, linger=30)
        b = self.session()
        uv, got = self.uids_by_subject(b, box)
        self.assertEqual(uv, given[20][0])
        self.assertEqual(got, dict((n, u) for n, (_, u) in given.items()))
        out = b.ok("EXAMINE %s" % box)
        self.assertTrue([ln for ln in out if "$Label1" in ln], out)

    def test_append_after_another_tool_renamed_the_folder_goes_to_the_new_one(
            self):
        a = self.session()
        box = self.folder(a)
        self.append(a, box, 30)      # loaded, then let go: kept loaded
        path = self.inst.maildir(USER, box)
        moved = path + "-moved"
        os.rename(path, moved)
        a.ok("CREATE %s" % box)
        self.append(a, box, 31)
        self.assertEqual(len(self.inst.messages(USER, box)), 1)
        shutil.rmtree(path)
        os.rename(moved, path)
        self.append(a, box, 32)
        # the old folder's directory again: both of its messages
        self.assertEqual(len(self.inst.messages(USER, box)), 2)
        _, got = self.uids_by_subject(a, box)
        self.assertEqual(sorted(got), [30, 32])

    def test_delete_of_a_folder_kept_loaded_is_allowed(self):
        a = self.session()
        box = self.folder(a)
        self.append(a, box, 40)
        a.ok("SELECT %s" % box)
        a.ok("CLOSE")
        a.ok("DELETE %s" % box)
        a.ok("CREATE %s" % box)
        self.assertEqual(status(a.ok("STATUS %s (MESSAGES)" % box),
                                "MESSAGES"), 0)

    @unittest.skipUnless(os.path.exists(binary("mda")), "mda not built")
    def test_delivery_in_the_second_of_the_last_scan_is_seen_by_noop(self):
        a = self.session()
        out = a.ok("SELECT INBOX")
        before = [int(ln.split()[1]) for ln in out
                  if ln.endswith(" EXISTS")][0]
        for n in range(3):
            # deliver, then look at once: same second as the scan before
            p = subprocess.run([binary("mda"), "-d", USER, "-s", "safe",
                                "-c", self.inst.conf], input=msg(50 + n),
                               capture_output=True, env=self.inst.env(),
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = a.ok("NOOP")
            self.assertIn("* %d EXISTS" % (before + n + 1), out)

    def settle(self, box):
        """Let box's directories settle (mtimes older than the second
        before), have a session rescan it then, and end the user process
        cleanly, so the next open starts from the index on disk."""
        time.sleep(2.2)
        a = self.session()
        a.ok("SELECT %s" % box)
        a.ok("CLOSE")
        pid = self.user_pid()
        a.close()
        self.sessions.remove(a)
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 20
        while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            time.sleep(0.05)

    def traced(self, calls, box, *commands):
        """SELECT box in a new user process, then commands, under strace
        -e trace=calls: the paths its calls named, and the answers."""
        s = self.session()
        out = os.path.join(self.inst.path("log"), "strace-%s-%s.txt"
                           % (box, time.monotonic()))
        st = subprocess.Popen(["strace", "-y", "-e", "trace=" + calls,
                               "-o", out, "-p", str(self.user_pid())],
                              stderr=subprocess.PIPE)
        st.stderr.readline()            # "Process N attached"
        answers = [s.ok("SELECT %s" % box)]
        answers += [s.ok(c) for c in commands]
        st.send_signal(signal.SIGINT)
        st.wait(20)
        with open(out) as f:
            return f.read(), answers

    def test_a_search_in_a_fresh_process_reads_headers_from_the_index(self):
        a = self.session()
        box = self.folder(a)
        for n in range(10):
            self.append(a, box, n)
        a.ok("SELECT %s" % box)
        first = a.ok("UID SEARCH SUBJECT \"index 7\"")
        a.close()
        self.sessions.remove(a)
        self.settle(box)
        trace, answers = self.traced("openat", box,
                                     "UID SEARCH SUBJECT \"index 7\"",
                                     "UID SEARCH HEADER Subject index")
        self.assertEqual(answers[1], first)
        self.assertIn(" ".join(str(u) for u in range(1, 11)),
                      " ".join(answers[2]))
        self.assertNotIn("/cur/", trace)

    def test_our_own_flag_changes_do_not_make_the_folder_read_again(self):
        box = self.settled_folder(10)
        trace, answers = self.traced(
            "getdents64", box, "UID STORE 1 +FLAGS (\\Flagged)",
            "UID STORE 2 +FLAGS (\\Seen)", "UID STORE 1 -FLAGS (\\Flagged)",
            "EXPUNGE", "NOOP", "UID FETCH 1:3 (FLAGS)")
        self.assertNotIn("getdents64", trace)
        self.assertIn("\\Seen", " ".join(answers[-1]))
        # another program's change to cur/ after ours is still seen
        time.sleep(0.1)
        cur = os.path.join(self.inst.maildir(USER), "." + box, "cur")
        name = [n for n in sorted(os.listdir(cur)) if n.endswith(":2,")][0]
        os.rename(os.path.join(cur, name), os.path.join(cur, name + "D"))
        s = self.sessions[-1]
        out = " ".join(s.ok("NOOP"))
        self.assertIn("\\Draft", out)

    def dirs_read_by_select(self, box):
        """SELECT box in a new user process under strace: the directories
        it read (getdents64), and the SELECT's answer."""
        s = self.session()
        out = os.path.join(self.inst.path("log"), "strace-%s.txt" % box)
        st = subprocess.Popen(["strace", "-y", "-e", "trace=getdents64",
                               "-o", out, "-p", str(self.user_pid())],
                              stderr=subprocess.PIPE)
        st.stderr.readline()            # "Process N attached"
        answer = s.ok("SELECT %s" % box)
        st.send_signal(signal.SIGINT)
        st.wait(20)
        with open(out) as f:
            return re.findall(r"getdents64\(\d+<([^>]*)>", f.read()), answer

    def settled_folder(self, nmsgs):
        """A new folder of nmsgs messages, settled (see settle())."""
        a = self.session()
        box = self.folder(a)
        for n in range(nmsgs):
            self.append(a, box, n)
        a.close()
        self.sessions.remove(a)
        self.settle(box)
        return box

    def test_a_fresh_open_of_a_settled_folder_reads_no_directory(self):
        box = self.settled_folder(20)
        read, answer = self.dirs_read_by_select(box)
        self.assertEqual(read, [])
        self.assertIn("* 20 EXISTS", answer)
        # and every message is where the index says: read, flag, expunge
        s = self.sessions[-1]
        body = " ".join(s.ok("UID FETCH 5 (BODY[])"))
        self.assertIn("Subject: index 4", body)
        s.ok("UID STORE 6 +FLAGS (\\Deleted)")
        s.ok("EXPUNGE")
        self.assertIn("* 19 EXISTS", " ".join(s.ok("SELECT %s" % box)))

    def test_a_change_made_while_no_process_had_the_folder_is_seen(self):
        box = self.settled_folder(3)
        # another Maildir tool flags one message and removes another
        cur = os.path.join(self.inst.maildir(USER), "." + box, "cur")
        names = sorted(os.listdir(cur))
        os.rename(os.path.join(cur, names[0]),
                  os.path.join(cur, names[0].split(":2,")[0] + ":2,F"))
        os.unlink(os.path.join(cur, names[1]))
        time.sleep(2.2)                 # settled again, but not as indexed
        read, answer = self.dirs_read_by_select(box)
        self.assertTrue(any(p.endswith("/cur") for p in read), read)
        self.assertIn("* 2 EXISTS", answer)
        b = self.sessions[-1]
        flags = " ".join(b.ok("FETCH 1:* (FLAGS)"))
        self.assertIn("\\Flagged", flags)


if __name__ == "__main__":
    unittest.main()
