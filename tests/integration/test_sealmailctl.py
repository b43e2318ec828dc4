"""test_sealmailctl.py - the administrator's command, driven as a user would.

Runs the built sealmailctl (SEALMAIL_BUILDDIR, default <srcdir>/build)
against a throwaway config in a temporary directory and checks its output
and exit codes.  Every refused command is checked to change nothing: the
whole visible state (domains, users, every `user show`, aliases, the
password file) is compared before and after.  Passwords set with `user
passwd` are checked through real PAM: pam_userdb under pam_wrapper, driven
by the PAM client built into tests/unit/test-passwd.  start/stop/status run
small stand-in daemons compiled here, so they need no certificates or
system users.
"""

import glob
import hashlib
import os
import pwd
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

SRCDIR = os.environ.get(
    "SEALMAIL_SRCDIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("SEALMAIL_BUILDDIR", os.path.join(SRCDIR, "build"))
CTL = os.path.join(BUILDDIR, "sealmailctl", "sealmailctl")
PAM_CLIENT = os.path.join(BUILDDIR, "tests", "unit", "test-passwd")
DAEMONS = ("keystore", "mda", "smtpd", "submitd", "imapd")

# A stand-in daemon: detaches, writes <run_dir>/<name>.pid, exits on TERM.
FAKE_DAEMON_C = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t stop;
static void onterm(int s) { (void)s; stop = 1; }
int main(int argc, char **argv) {
	char path[4096]; const char *name = strrchr(argv[0], '/');
	FILE *f;
	name = name ? name + 1 : argv[0];
	if (argc != 3 || strcmp(argv[1], "-c") != 0) return 64;
	if (getenv("SEALMAIL_FAKE_FAIL") && strstr(getenv("SEALMAIL_FAKE_FAIL"), name)) return 1;
	if (fork() != 0) return 0;
	setsid();	/* and let go of the caller's output, as daemon(3) does */
	freopen("/dev/null", "r", stdin);
	freopen("/dev/null", "w", stdout);
	freopen("/dev/null", "w", stderr);
	snprintf(path, sizeof(path), "%s/%s.pid", getenv("SEALMAIL_FAKE_RUN_DIR"), name);
	signal(SIGTERM, onterm);
	if ((f = fopen(path, "w")) == NULL) return 1;
	fprintf(f, "%ld\n", (long)getpid()); fclose(f);
	while (!stop) pause();
	unlink(path);
	return 0;
}
"""


def alive(pid):
    """A process that exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def pam_wrapper_lib():
    libs = glob.glob("/usr/lib/*/libpam_wrapper.so*") + \
        glob.glob("/usr/lib/libpam_wrapper.so*")
    return sorted(libs)[0] if libs else None


def pam_module(name):
    mods = glob.glob("/usr/lib/*/security/%s" % name) + \
        glob.glob("/lib/*/security/%s" % name)
    return mods[0] if mods else None


@unittest.skipUnless(os.path.exists(CTL), "sealmailctl not built in " + BUILDDIR)
@unittest.skipUnless(os.geteuid() == 0, "sealmailctl manages root-only files")
class SealmailctlTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="smctl-", dir="/tmp")
        # As installed: mail_root belongs to the mail user, who can reach it.
        os.chmod(self.dir, 0o755)
        vmail = pwd.getpwnam("vmail")
        os.mkdir(os.path.join(self.dir, "mail"), 0o700)
        os.chown(os.path.join(self.dir, "mail"), vmail.pw_uid, vmail.pw_gid)
        self.conf = os.path.join(self.dir, "sealmail.conf")
        self.write_conf()

    def tearDown(self):
        if os.environ.get("SEALMAIL_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("[global]\nprefix = %s\nrun_dir = run\ndb_dir = db\n"
                    "mail_root = mail\npasswd_db = db/passwd\n"
                    "[submitd]\nmax_rcpt_per_day = 120\n%s" % (self.dir, extra))
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)

    def ctl(self, *args, input=None, env=None):
        e = dict(os.environ)
        e.pop("SEALMAIL_CONF", None)
        e.update(env or {})
        return subprocess.run([CTL, "-c", self.conf] + list(args),
                              input=input, capture_output=True, text=True,
                              env=e, timeout=60)

    def ok(self, *args, input=None):
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, 0, "%s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def show(self, addr):
        out = self.ok("user", "show", addr)
        return dict(line.split("=", 1) for line in out.splitlines())

    def state(self):
        """Everything sealmailctl can show, and the password file."""
        s = {"domains": self.ok("domain", "list"), "users": self.ok("user", "list")}
        for u in s["users"].split():
            s[u] = self.show(u)
            s[u + " aliases"] = self.ok("user", "alias", "list", u)
            s[u].pop("rcpt_24h_next_expiry", None)
        pw = os.path.join(self.dir, "db", "passwd.db")
        if os.path.exists(pw):
            with open(pw, "rb") as f:
                s["passwd"] = hashlib.sha256(f.read()).hexdigest()
            s["passwd_mtime"] = os.stat(pw).st_mtime_ns
        return s

    def refused(self, *args, input=None, want_exit=1, want_err=None):
        """The command fails with a message on stderr and changes nothing."""
        before = self.state()
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, want_exit,
                         "%s: exit %d, stderr %r" % (" ".join(args), r.returncode, r.stderr))
        self.assertTrue(r.stderr.strip(), "no error message for " + " ".join(args))
        if want_err:
            self.assertIn(want_err, r.stderr)
        self.assertEqual(self.state(), before, "state changed by " + " ".join(args))
        return r

    def populate(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "alice@example.test")
        self.ok("user", "add", "bob@example.test")

    # -- configuration and usage ------------------------------------------

    def test_check_config_good_and_bad(self):
        out = self.ok("check-config")
        self.assertIn("ok", out)
        self.assertIn("global.db_dir=%s/db" % self.dir, self.ok("check-config", "-v"))
        self.write_conf("no_such_key = 1\n")
        r = self.ctl("check-config")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no_such_key", r.stderr)
        self.assertIn(self.conf, r.stderr)

    def test_config_from_environment(self):
        e = dict(os.environ, SEALMAIL_CONF=self.conf)
        r = subprocess.run([CTL, "check-config"], capture_output=True, text=True, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.conf, r.stdout)

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["user"], ["user", "add"],
                     ["user", "add", "a@b.test", "extra"], ["domain", "list", "x"],
                     ["user", "set", "a@example.test"], ["user", "alias"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage:", r.stderr)
            self.assertEqual(r.stdout, "")

    # -- domains ------------------------------------------------------------

    def test_domains(self):
        self.ok("domain", "add", "Example.TEST")
        self.ok("domain", "add", "a.test")
        self.assertEqual(self.ok("domain", "list"), "a.test\nexample.test\n")
        self.refused("domain", "add", "example.test", want_err="already exists")
        self.refused("domain", "add", "bad_domain.test", want_err="bad_domain")
        self.refused("domain", "add", "-x.test")
        self.refused("domain", "del", "nowhere.test", want_err="no domain")
        self.ok("domain", "del", "a.test")
        self.assertEqual(self.ok("domain", "list"), "example.test\n")

    def test_domain_with_users_cannot_be_deleted(self):
        self.populate()
        self.refused("domain", "del", "example.test", want_err="2 user")
        self.ok("user", "del", "alice@example.test")
        self.ok("user", "del", "bob@example.test")
        self.ok("domain", "del", "example.test")
        self.assertEqual(self.ok("domain", "list"), "")

    # -- users --------------------------------------------------------------

    def test_user_add_show_defaults(self):
        self.populate()
        self.assertEqual(self.ok("user", "list"),
                         "alice@example.test\nbob@example.test\n")
        self.assertEqual(self.ok("user", "list", "example.test"),
                         "alice@example.test\nbob@example.test\n")
        s = self.show("alice@example.test")
        want = {"address": "alice@example.test", "max_rcpt_per_msg": "50",
                "max_rcpt_per_day": "120",  # from [submitd] in the config
                "privileged": "no", "unsafe_mailbox": "yes",
                "strip_attachments": "yes", "strip_html": "yes",
                "unsafe_subject_tag": "", "quota_bytes": "0", "locked": "no",
                "lock_reason": "", "rcpt_24h": "0", "password": "unset",
                "aliases": "", "sender_aliases": "",
                "maildir": os.path.join(self.dir, "mail", "example.test",
                                        "alice", "Maildir")}
        for k, v in want.items():
            self.assertEqual(s.get(k), v, k)
        self.assertRegex(s["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_user_add_refusals(self):
        self.populate()
        cases = [
            ("carol@unknown.test", "no domain unknown.test"),
            ("alice@example.test", "already exists"),
            ("carol", "no '@'"),
            ("ca rol@example.test", "not allowed"),
            ("a..b@example.test", "two dots"),
            (".carol@example.test", "dot"),
            ("car/ol@example.test", "'/'"),
            ("x" * 65 + "@example.test", "64"),
            ('"quoted"@example.test', "quoted"),
            ("carol@[127.0.0.1]", "literal"),
        ]
        for addr, why in cases:
            with self.subTest(addr=addr):
                self.refused("user", "add", addr, want_err=why)
        self.assertEqual(self.ok("user", "list"),
                         "alice@example.test\nbob@example.test\n")

    def test_user_list_unknown_domain(self):
        self.populate()
        self.refused("user", "list", "nowhere.test", want_err="no domain")

    def test_user_del(self):
        self.populate()
        self.ok("user", "passwd", "bob@example.test", input="pw-bob\n")
        self.ok("user", "alias", "add", "bob@example.test", "b@example.test")
        self.ok("user", "del", "bob@example.test")
        self.assertEqual(self.ok("user", "list"), "alice@example.test\n")
        self.refused("user", "del", "bob@example.test", want_err="no user")
        self.refused("user", "show", "bob@example.test", want_err="no user")
        # its alias went with it and may now be a user of its own
        self.ok("user", "add", "b@example.test")

    def test_user_set(self):
        self.populate()
        self.ok("user", "set", "alice@example.test", "max_rcpt_per_msg=7",
                "privileged=yes", "unsafe_mailbox=no", "strip_attachments=no",
                "strip_html=no", "unsafe_subject_tag=[UNSAFE]", "quota_bytes=1G",
                "max_rcpt_per_day=1000")
        s = self.show("alice@example.test")
        self.assertEqual((s["max_rcpt_per_msg"], s["privileged"], s["unsafe_mailbox"],
                          s["strip_attachments"], s["strip_html"],
                          s["unsafe_subject_tag"], s["quota_bytes"],
                          s["max_rcpt_per_day"]),
                         ("7", "yes", "no", "no", "no", "[UNSAFE]",
                          str(1 << 30), "1000"))
        bad = [["colour=blue"], ["max_rcpt_per_msg=lots"], ["max_rcpt_per_msg=-1"],
               ["privileged=perhaps"], ["quota_bytes=5X"], ["locked=no"],
               ["max_rcpt_per_day"], ["unsafe_subject_tag=" + "x" * 65],
               # one good assignment with a bad one: neither is applied
               ["max_rcpt_per_msg=9", "strip_html=maybe"]]
        for assigns in bad:
            with self.subTest(assigns=assigns):
                self.refused("user", "set", "alice@example.test", *assigns)
        self.refused("user", "set", "nobody@example.test", "privileged=no",
                     want_err="no user")

    def test_lock_and_unlock(self):
        self.populate()
        self.ok("user", "lock", "alice@example.test", "stolen", "password")
        s = self.show("alice@example.test")
        self.assertEqual((s["locked"], s["lock_reason"]), ("yes", "stolen password"))
        self.assertTrue(s["locked_at"])
        self.ok("user", "unlock", "alice@example.test")
        s = self.show("alice@example.test")
        self.assertEqual((s["locked"], s["lock_reason"], s["locked_at"]), ("no", "", ""))
        self.refused("user", "unlock", "nobody@example.test", want_err="no user")

    # -- aliases ------------------------------------------------------------

    def test_aliases(self):
        self.populate()
        self.ok("user", "alias", "add", "alice@example.test", "postmaster@example.test",
                "sender=yes")
        self.ok("user", "alias", "add", "alice@example.test", "Info@Example.test")
        self.assertEqual(self.ok("user", "alias", "list", "alice@example.test"),
                         "alias=Info@example.test sender=no\n"
                         "alias=postmaster@example.test sender=yes\n")
        s = self.show("alice@example.test")
        self.assertEqual(s["aliases"], "Info@example.test,postmaster@example.test")
        self.assertEqual(s["sender_aliases"], "postmaster@example.test")
        self.refused("user", "alias", "add", "bob@example.test",
                     "postmaster@example.test", want_err="already exists")
        self.refused("user", "alias", "add", "bob@example.test", "alice@example.test",
                     want_err="is a user")
        self.refused("user", "alias", "add", "bob@example.test", "x@other.test",
                     want_err="no domain")
        self.refused("user", "alias", "add", "nobody@example.test", "y@example.test",
                     want_err="no user")
        self.refused("user", "alias", "add", "bob@example.test", "y@example.test",
                     "sender=maybe")
        self.refused("user", "alias", "add", "bob@example.test", "bad alias@example.test")
        self.refused("user", "add", "postmaster@example.test", want_err="alias")
        self.refused("user", "show", "postmaster@example.test",
                     want_err="is an alias of alice@example.test")
        self.refused("user", "alias", "del", "bob@example.test",
                     "postmaster@example.test", want_err="not an alias")
        self.ok("user", "alias", "del", "alice@example.test", "postmaster@example.test")
        self.assertEqual(self.ok("user", "alias", "list", "alice@example.test"),
                         "alias=Info@example.test sender=no\n")

    # -- passwords and PAM ----------------------------------------------------

    def pam_auth(self, user, password):
        lib, mod = pam_wrapper_lib(), pam_module("pam_userdb.so")
        if not (lib and mod and os.path.exists(PAM_CLIENT)):
            self.skipTest("pam_wrapper, pam_userdb or test-passwd missing")
        svc = os.path.join(self.dir, "pam")
        os.makedirs(svc, exist_ok=True)
        with open(os.path.join(svc, "sealmail"), "w") as f:
            f.write("auth required %s db=%s crypt=crypt\n"
                    % (mod, os.path.join(self.dir, "db", "passwd")))
            f.write("account required %s\n" % pam_module("pam_permit.so"))
        env = dict(os.environ, LD_PRELOAD=lib, PAM_WRAPPER="1",
                   PAM_WRAPPER_SERVICE_DIR=svc)
        # a sanitizer build of the client must accept the preload first,
        # and pam_wrapper must not dlopen libpam with RTLD_DEEPBIND
        env["UID_WRAPPER_DISABLE_DEEPBIND"] = "1"
        env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
        env["ASAN_OPTIONS"] = ":".join(
            x for x in (os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if x)
        r = subprocess.run([PAM_CLIENT, "pam-auth", "sealmail", user],
                           input=password + "\n", capture_output=True,
                           text=True, env=env, timeout=30)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return r.returncode == 0

    def test_passwd_through_pam(self):
        self.populate()
        self.ok("user", "passwd", "alice@example.test", input="demo-password\n")
        self.assertEqual(self.show("alice@example.test")["password"], "set")
        self.assertEqual(os.stat(os.path.join(self.dir, "db", "passwd.db")).st_mode
                         & 0o777, 0o600)
        self.assertTrue(self.pam_auth("alice@example.test", "demo-password"))
        self.assertFalse(self.pam_auth("alice@example.test", "demo-passwor"))
        self.assertFalse(self.pam_auth("bob@example.test", "demo-password"))
        # a new password replaces the old one
        self.ok("user", "passwd", "alice@example.test", input="second one\r\n")
        self.assertTrue(self.pam_auth("alice@example.test", "second one"))
        self.assertFalse(self.pam_auth("alice@example.test", "demo-password"))
        # deleting the user removes the password
        self.ok("user", "del", "alice@example.test")
        self.assertFalse(self.pam_auth("alice@example.test", "second one"))

    def test_passwd_refusals(self):
        self.populate()
        self.ok("user", "passwd", "bob@example.test", input="pw-bob\n")
        self.refused("user", "passwd", "nobody@example.test", input="x\n",
                     want_err="no user")
        self.refused("user", "passwd", "bob@example.test", input="",
                     want_err="empty")
        self.refused("user", "passwd", "bob@example.test", input="\n",
                     want_err="empty")
        self.refused("user", "passwd", "bob@example.test", input="x" * 600 + "\n")
        self.refused("user", "passwd", "bob@example.test", input="a\x01b\n",
                     want_err="control")
        self.refused("user", "passwd", "bad address", input="pw\n")

    def run_on_tty(self, args, lines, interrupt=False):
        """Run sealmailctl on a pseudo-terminal, answering its prompts."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(CTL, [CTL, "-c", self.conf] + list(args))
        out = b""

        def read():
            if not select.select([fd], [], [], 20)[0]:
                os.kill(pid, signal.SIGKILL)
                raise TimeoutError("sealmailctl is stuck; output %r" % out)
            return os.read(fd, 1024)
        try:
            for line in lines + ([None] if interrupt else []):
                while not out.rstrip().endswith(b":"):
                    chunk = read()
                    if not chunk:
                        break
                    out += chunk
                out = b""
                if line is None:
                    os.kill(pid, signal.SIGINT)
                else:
                    os.write(fd, line.encode() + b"\n")
            while True:
                try:
                    chunk = read()
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    def test_passwd_prompts_twice_without_echo_on_a_terminal(self):
        self.populate()
        code, out = self.run_on_tty(["user", "passwd", "alice@example.test"],
                                    ["tty-secret", "tty-secret"])
        self.assertEqual(code, 0, out)
        self.assertNotIn("tty-secret", out)
        self.assertEqual(self.show("alice@example.test")["password"], "set")
        before = self.state()
        code, out = self.run_on_tty(["user", "passwd", "alice@example.test"],
                                    ["one", "two"])
        self.assertEqual(code, 1)
        self.assertIn("differ", out)
        self.assertEqual(self.state(), before)
        if self.pam_auth("alice@example.test", "tty-secret") is not True:
            self.fail("the password typed on the terminal does not work")

    def test_interrupted_prompt_changes_nothing(self):
        self.populate()
        before = self.state()
        code, out = self.run_on_tty(["user", "passwd", "bob@example.test"], [],
                                    interrupt=True)
        self.assertEqual(code, 128 + signal.SIGINT, out)
        self.assertEqual(self.state(), before)

    def test_unsafe_folder_exists_from_user_add(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "alice@example.test")
        unsafe = os.path.join(self.dir, "mail", "example.test", "alice",
                              "Maildir", ".Unsafe")
        vmail = pwd.getpwnam("vmail").pw_uid
        for sub in ("tmp", "new", "cur", "maildirfolder"):
            self.assertEqual(os.stat(os.path.join(unsafe, sub)).st_uid,
                             vmail, sub)
        # Off: nothing is made; switched back on: the folder is back.
        shutil.rmtree(unsafe)
        self.ok("user", "set", "alice@example.test", "unsafe_mailbox=no")
        self.assertFalse(os.path.exists(unsafe))
        self.ok("user", "set", "alice@example.test", "unsafe_mailbox=yes")
        self.assertTrue(os.path.isdir(os.path.join(unsafe, "new")))
        # Made without following a link planted in the tree.
        shutil.rmtree(unsafe)
        os.symlink("/tmp", unsafe)
        r = self.ctl("user", "set", "alice@example.test", "unsafe_mailbox=yes")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("Unsafe folder", r.stderr)
        self.assertFalse(os.path.exists("/tmp/maildirfolder"))

    # -- start, stop, status ------------------------------------------------

    def fake_daemons(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            self.skipTest("no C compiler for the stand-in daemons")
        libexec = os.path.join(self.dir, "libexec")
        os.makedirs(libexec)
        src = os.path.join(self.dir, "fake.c")
        with open(src, "w") as f:
            f.write(FAKE_DAEMON_C)
        subprocess.run([cc, "-o", os.path.join(libexec, "fake"), src], check=True)
        for d in DAEMONS:
            shutil.copy(os.path.join(libexec, "fake"), os.path.join(libexec, d))
        return {"SEALMAIL_LIBEXECDIR": libexec,
                "SEALMAIL_FAKE_RUN_DIR": os.path.join(self.dir, "run")}

    def pids(self):
        out = {}
        for d in DAEMONS:
            try:
                with open(os.path.join(self.dir, "run", d + ".pid")) as f:
                    out[d] = int(f.read())
            except OSError:
                pass
        return out

    def test_start_status_stop(self):
        env = self.fake_daemons()
        try:
            r = self.ctl("status", env=env)
            self.assertEqual(r.returncode, 3)
            self.assertEqual(r.stdout.split("\n")[0], "keystore state=stopped")
            r = self.ctl("start", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            pids = self.pids()
            self.assertEqual(sorted(pids), sorted(DAEMONS))
            self.assertEqual([l.split()[0] for l in r.stdout.splitlines()], list(DAEMONS))
            r = self.ctl("status", env=env)
            self.assertEqual(r.returncode, 0)
            for d in DAEMONS:
                self.assertIn("%s state=running pid=%d" % (d, pids[d]), r.stdout)
            r = self.ctl("start", "smtpd", env=env)
            self.assertEqual(r.returncode, 0)
            self.assertIn("already", r.stdout)
            r = self.ctl("stop", "imapd", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.ctl("status", env=env)
            self.assertEqual(r.returncode, 3)
            self.assertIn("imapd state=stopped", r.stdout)
            self.assertIn("smtpd state=running", r.stdout)
            r = self.ctl("stop", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            for pid in pids.values():
                self.assertFalse(alive(pid), "pid %d survived stop" % pid)
            self.assertEqual(self.ctl("status", env=env).returncode, 3)
            self.assertEqual(self.ctl("start", "nosuchd", env=env).returncode, 2)
        finally:
            for pid in self.pids().values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def test_start_reports_a_failing_daemon(self):
        env = self.fake_daemons()
        env["SEALMAIL_FAKE_FAIL"] = "submitd"
        try:
            r = self.ctl("start", env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("submitd", r.stderr)
            self.assertIn("imapd state=running", r.stdout)
        finally:
            self.ctl("stop", env=env)

    def test_stale_pidfile_kills_nothing(self):
        env = self.fake_daemons()
        other = subprocess.Popen(["sleep", "30"])
        try:
            with open(os.path.join(self.dir, "run", "smtpd.pid"), "w") as f:
                f.write("%d\n" % other.pid)
            r = self.ctl("status", "smtpd", env=env)
            self.assertEqual(r.returncode, 3)
            self.assertIn("stale", r.stdout)
            r = self.ctl("stop", "smtpd", env=env)
            self.assertEqual(r.returncode, 0)
            time.sleep(0.2)
            self.assertIsNone(other.poll(), "stop killed an unrelated process")
        finally:
            other.kill()
            other.wait()


if __name__ == "__main__":
    unittest.main()
