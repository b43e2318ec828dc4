"""postfix_instance.py - a private Postfix instance for integration tests.

Everything lives in one temporary directory: its own config_directory
(etc/main.cf, etc/master.cf written here, nothing read from or written to
/etc/postfix), queue_directory, data_directory and maillog_file.  smtpd
listens on one free loopback port; no service is chrooted, so nothing
has to be copied into the queue.  Mail to other domains is deferred
(defer_transports = smtp) so nothing leaves the machine.

    pf = PostfixInstance(port, {"mailbox_command": "..."})
    pf.start()
    ... smtplib.SMTP("127.0.0.1", port) ...
    pf.wait_log("status=sent", 30)
    pf.close()

Needs the Debian postfix package (its postfix user and postdrop group)
and root.  missing() says why an instance cannot be made, or None.
"""

import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
DAEMON_DIR = "/usr/lib/postfix/sbin"

# service type private unpriv chroot wakeup maxproc command
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
"""


def missing():
    """Why a private Postfix cannot run here, or None."""
    if not os.path.exists(POSTFIX) or \
            not os.path.exists(os.path.join(DAEMON_DIR, "master")):
        return "postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or the postdrop group is missing"
    return None


class PostfixInstance:
    """One Postfix in a temporary directory, smtpd on 127.0.0.1:port."""

    def __init__(self, port, main_extra=None, prefix=None):
        self.port = port
        self.dir = prefix or tempfile.mkdtemp(prefix="pfx-lda-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        for d in (self.etc, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chmod(self.data, 0o700)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "command_directory": "/usr/sbin",
            "daemon_directory": DAEMON_DIR,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.example.test",
            "mydomain": "example.test",
            "myorigin": "$mydomain",
            "mydestination": "example.test, localhost",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_peername_lookup": "no",
            "smtpd_banner": "$myhostname ESMTP",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "relayhost": "",
            "defer_transports": "smtp",
            "maillog_file_prefixes": "/tmp, /var",
            "maillog_file": self.maillog,
            "smtputf8_enable": "no",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
        }
        main.update(main_extra or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="127.0.0.1:%d" % port))
        self.env = dict(os.environ, MAIL_CONFIG=self.etc)
        self.started = False

    def postfix(self, *args, check=True, timeout=60):
        r = subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                           env=self.env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("postfix %s: exit %d: %s%s\n%s"
                               % (" ".join(args), r.returncode, r.stdout,
                                  r.stderr, self.log()))
        return r

    def start(self, timeout=30):
        # "check" creates the queue's subdirectories with their owners
        self.postfix("check", check=False)
        self.postfix("start")
        self.started = True
        end = time.time() + timeout
        while time.time() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("postfix smtpd on port %d did not come up:\n%s"
                           % (self.port, self.log()))

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=20):
        """postfix stop, then wait (bounded) for the master to exit."""
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        try:
            self.postfix("stop", check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pid is None:
            return
        end = time.time() + timeout
        while time.time() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=60):
        """The first maillog line matching the regex pattern."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while time.time() < end:
            for line in self.log().splitlines():
                if rx.search(line):
                    return line
            time.sleep(0.1)
        raise TimeoutError("no maillog line matching %r in %ds:\n%s"
                           % (pattern, timeout, self.log()[-4000:]))

    def close(self):
        self.stop()
        if os.environ.get("SEALMAIL_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
