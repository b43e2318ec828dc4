"""harness.py - throwaway Sealmail instances for integration tests.

An Instance is a complete installation in a temporary directory: its own
sealmail.conf on free loopback ports, a private CA and server certificate
made with openssl, PAM through pam_wrapper (so nothing under /etc is read
or written: the `sealmail` PAM service lives in the instance), users made
with the real sealmailctl, and real daemons started from the build tree
and stopped by pid.

    from harness import Instance
    with Instance() as inst:
        inst.add_user("bob@example.test", "pw")
        inst.start("smtpd", "mda")
        smtplib.SMTP("127.0.0.1", inst.port("smtp"))

Environment: SEALMAIL_BUILDDIR (default ../../build), SEALMAIL_KEEP=1 keeps
the directory after the test for post-mortems.
"""

import glob
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

SRCDIR = os.environ.get(
    "SEALMAIL_SRCDIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("SEALMAIL_BUILDDIR", os.path.join(SRCDIR, "build"))
DAEMONS = ("keystore", "mda", "smtpd", "submitd", "imapd")
DOMAIN = "example.test"


def sanitized():
    """Whether BUILDDIR is the ASan/UBSan build (memory figures differ)."""
    try:
        with open(os.path.join(BUILDDIR, "config.status")) as f:
            return "--enable-sanitizers" in f.read()
    except OSError:
        return False


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


_given = set()


def _port_range():
    """Where free_port() picks: SEALMAIL_PORTS="LOW-HIGH" when set (two
    suites running side by side each get their own half), else from
    10000 to the bottom of the kernel's ephemeral range."""
    spec = os.environ.get("SEALMAIL_PORTS", "")
    if spec:
        low, high = spec.split("-")
        return int(low), int(high)
    return 10000, _ephemeral_low()


def free_port(udp=False):
    """A port for a daemon to listen on later (with udp, free for UDP as
    well, as NSD needs).  Taken at random below the kernel's ephemeral
    range, so that no outgoing connection of any test (whose source port
    the kernel picks from that range) can take it in the meantime, and
    never the same twice in this process; checked free now.  Without
    room below the range: a port the kernel picks."""
    low, high = _port_range()
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else \
        (socket.SOCK_STREAM,)
    for _ in range(200):
        if high - low < 1000:
            break
        port = random.randrange(low, high)
        if port in _given or not all(_bindable(port, k) for k in kinds):
            continue
        _given.add(port)
        return port
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if all(_bindable(port, k) for k in kinds):
            return port
    raise RuntimeError("no free loopback port")


def _bindable(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def binary(name):
    sub = "sealmailctl" if name == "sealmailctl" else name
    return os.path.join(BUILDDIR, sub, name)


def pam_wrapper_lib():
    libs = glob.glob("/usr/lib/*/libpam_wrapper.so*") + \
        glob.glob("/usr/lib/libpam_wrapper.so*")
    if not libs:
        raise RuntimeError("libpam_wrapper.so not found: apt-get install libpam-wrapper")
    return sorted(libs)[0]


def pam_module(name):
    mods = glob.glob("/usr/lib/*/security/%s" % name) + \
        glob.glob("/lib/*/security/%s" % name)
    if not mods:
        raise RuntimeError("PAM module %s not found" % name)
    return mods[0]


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise TimeoutError("timed out waiting for %s" % what)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Instance:
    """One Sealmail installation in a temporary directory."""

    PORTS = ("smtp", "submission", "submissions", "imap", "imaps", "keyserver")

    def __init__(self, prefix=None, ports=None, extra_conf=None,
                 reuse=False, keystore=True):
        """reuse=True opens the existing instance in prefix (its config,
        CA, users and mail) instead of making a new one.  keystore=True
        starts the keystore with smtpd when it is not running: smtpd's
        queue signs submitted mail and bounces through it, and holds
        them until it can (keystore=False for a test that runs its own,
        or none)."""
        self.auto_keystore = keystore
        if prefix is None:
            prefix = tempfile.mkdtemp(prefix="smt-", dir="/tmp")
        self.prefix = prefix
        os.makedirs(prefix, exist_ok=True)
        os.chmod(prefix, 0o755)
        self.ports = ports or {p: free_port() for p in self.PORTS}
        self.hosts = {}     # port name -> the address it listens on
        self.procs = {}
        self.conf = os.path.join(prefix, "sealmail.conf")
        self.users = {u: pwd.getpwnam(u) for u in ("sealmail", "sealmailq", "vmail")}
        if reuse:
            if not os.path.exists(self.conf):
                raise RuntimeError("no instance in %s" % prefix)
            self.ports = ports or self._ports_of_conf()
            return
        self._make_dirs()
        self._make_ca()
        self._write_conf(extra_conf or {})
        self._write_pam()

    # -- layout ---------------------------------------------------------

    def _ports_of_conf(self):
        """The ports an existing instance's sealmail.conf listens on."""
        where = {("smtpd", "listen"): "smtp",
                 ("submitd", "listen"): "submission",
                 ("submitd", "listen_tls"): "submissions",
                 ("imapd", "listen"): "imap", ("imapd", "listen_tls"): "imaps",
                 ("keystore", "listen"): "keyserver"}
        ports, sec = {}, None
        with open(self.conf) as f:
            for line in f:
                line = line.strip()
                if line.startswith("["):
                    sec = line.strip("[]")
                elif "=" in line:
                    k, v = (x.strip() for x in line.split("=", 1))
                    if (sec, k) in where:
                        ports[where[(sec, k)]] = int(v.rsplit(":", 1)[1])
        return ports

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def port(self, name):
        return self.ports[name]

    def _mkdir(self, rel, mode, owner="root"):
        p = self.path(rel)
        os.makedirs(p, exist_ok=True)
        if owner != "root":
            u = self.users[owner]
            os.chown(p, u.pw_uid, u.pw_gid)
        os.chmod(p, mode)
        return p

    def _make_dirs(self):
        self._mkdir("etc", 0o755)
        self._mkdir("empty", 0o755)
        self._mkdir("run", 0o755)
        self._mkdir("db", 0o700)
        self._mkdir("queue", 0o700, "sealmailq")
        self._mkdir("mail", 0o700, "vmail")
        self._mkdir("quarantine", 0o700, "vmail")
        self._mkdir("pam", 0o755)
        # Logs name users and addresses: root's only.
        self._mkdir("log", 0o700)

    def _openssl(self, *args):
        subprocess.run(("openssl",) + args, check=True, cwd=self.path("etc"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _make_ca(self):
        """A private CA and a server certificate for mx.example.test."""
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                      "-subj", "/CN=Sealmail Test CA", "-keyout", "ca.key",
                      "-out", "ca.pem")
        self._openssl("req", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-subj",
                      "/CN=mx.example.test", "-keyout", "key.pem", "-out",
                      "server.csr")
        with open(self.path("etc", "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:mx.example.test,DNS:localhost,"
                    "IP:127.0.0.1\n")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                      "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                      "-extfile", "ext.cnf", "-out", "cert.pem")
        os.chmod(self.path("etc", "key.pem"), 0o600)

    def _write_conf(self, extra):
        p = self.ports
        sections = {
            "global": {
                "prefix": self.prefix,
                "hostname": "mx.example.test",
                "empty_dir": "empty",
                "run_dir": "run",
                "db_dir": "db",
                "queue_dir": "queue",
                "mail_root": "mail",
                "quarantine_dir": "quarantine",
                "passwd_db": "db/passwd",
                "tls_cert": "etc/cert.pem",
                "tls_key": "etc/key.pem",
                "tls_ca": "etc/ca.pem",
                "postmaster": "postmaster@" + DOMAIN,
                "log_level": "debug",
            },
            "smtpd": {
                "listen": "127.0.0.1:%d" % p["smtp"],
                "queue_socket": "run/queue.sock",
                "retry_min": "1s",
                "retry_max": "2s",
            },
            "submitd": {
                "listen": "127.0.0.1:%d" % p["submission"],
                "listen_tls": "127.0.0.1:%d" % p["submissions"],
            },
            "imapd": {
                "listen": "127.0.0.1:%d" % p["imap"],
                "listen_tls": "127.0.0.1:%d" % p["imaps"],
            },
            "mda": {"lmtp_socket": "run/lmtp.sock"},
            "keystore": {
                "socket": "run/keystore.sock",
                "listen": "127.0.0.1:%d" % p["keyserver"],
                "db_dir": "keys",
                "passphrase_file": "etc/keystore.passphrase",
            },
        }
        for sec, kv in extra.items():
            sections.setdefault(sec, {}).update(kv)
        with open(self.conf, "w") as f:
            for sec, kv in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")

    def _write_pam(self):
        """The `sealmail` PAM service, read through pam_wrapper."""
        with open(self.path("pam", "sealmail"), "w") as f:
            f.write("auth required %s db=%s crypt=crypt\n"
                    % (pam_module("pam_userdb.so"), self.path("db", "passwd")))
            f.write("account required %s\n" % pam_module("pam_permit.so"))

    def env(self, pam=False):
        e = dict(os.environ)
        e["SEALMAIL_CONF"] = self.conf
        e.setdefault("ASAN_OPTIONS", "detect_leaks=0:verify_asan_link_order=0")
        if pam:
            e["PAM_WRAPPER"] = "1"
            e["PAM_WRAPPER_SERVICE_DIR"] = self.path("pam")
            e["LD_PRELOAD"] = pam_wrapper_lib()
            # libpam under RTLD_DEEPBIND is refused by ASan; pam_wrapper
            # 1.1.4 reads the switch under uid_wrapper's name.
            e["UID_WRAPPER_DISABLE_DEEPBIND"] = "1"
            e["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
        return e

    # -- administration -------------------------------------------------

    def ctl(self, *args, input=None, check=True):
        r = subprocess.run([binary("sealmailctl"), "-c", self.conf] + list(args),
                           input=input, capture_output=True, text=True,
                           env=self.env(), timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("sealmailctl %s: exit %d: %s"
                               % (" ".join(args), r.returncode, r.stderr))
        return r

    def add_domain(self, domain=DOMAIN):
        self.ctl("domain", "add", domain)

    def add_user(self, address, password=None):
        domain = address.rsplit("@", 1)[1]
        if domain not in self.ctl("domain", "list").stdout.split():
            self.add_domain(domain)
        self.ctl("user", "add", address)
        if password is not None:
            self.ctl("user", "passwd", address, input=password + "\n")

    def maildir(self, address, folder=""):
        local, domain = address.split("@", 1)
        base = self.path("mail", domain, local, "Maildir")
        return os.path.join(base, "." + folder) if folder else base

    def messages(self, address, folder=""):
        """Paths of the messages in new/ and cur/ of a Maildir folder."""
        d = self.maildir(address, folder)
        out = []
        for sub in ("new", "cur"):
            try:
                out += [os.path.join(d, sub, n) for n in
                        sorted(os.listdir(os.path.join(d, sub)))]
            except FileNotFoundError:
                pass
        return out

    # -- daemons --------------------------------------------------------

    def start(self, *names, wait=True, detach=False):
        """Start daemons in the foreground (-d), logging to log/NAME.log.
        detach=True puts them in their own session so they outlive us."""
        if "smtpd" in names and self.auto_keystore and \
                not self.running("keystore") and "keystore" not in names:
            names = ("keystore",) + tuple(names)
        for name in names:
            if name == "keystore" and self.auto_keystore and \
                    self.running(name):
                continue        # started with smtpd already
            logf = os.fdopen(os.open(self.path("log", name + ".log"),
                                     os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                     0o600), "ab")
            pam = name in ("submitd", "imapd")
            # mda's -d names an LDA recipient; its foreground flag is -F
            fg = "-F" if name == "mda" else "-d"
            proc = subprocess.Popen([binary(name), fg, "-c", self.conf],
                                    stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    env=self.env(pam=pam),
                                    start_new_session=detach)
            logf.close()
            self.procs[name] = proc
            if wait:
                self.wait_ready(name)

    def running(self, name):
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def pidfile(self, name):
        return self.path("run", name + ".pid")

    def wait_ready(self, name):
        """Ready: its pidfile names it and its listeners accept."""
        proc = self.procs[name]
        missing = ["its pidfile"]

        def ready():
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s"
                                   % (name, proc.returncode, self.log(name)))
            try:
                with open(self.pidfile(name)) as f:
                    if int(f.read().strip()) != proc.pid:
                        return False
            except (OSError, ValueError):
                return False
            missing[:] = [p for p in self.listens(name)
                          if not port_open(self.ports[p],
                                           self.hosts.get(p, "127.0.0.1"))]
            return not missing
        # a loaded machine running the sanitizer build takes its time;
        # when it does not come up, say what was missing and what it logged
        try:
            wait_for(ready, 60, "%s to start" % name)
        except TimeoutError:
            raise TimeoutError("timed out waiting for %s to start (no %s); "
                               "its log:\n%s" % (name, ", ".join(missing),
                                                  self.log(name))) from None

    def listens(self, name):
        return {"smtpd": ("smtp",), "submitd": ("submission", "submissions"),
                "imapd": ("imap", "imaps"), "keystore": ("keyserver",),
                "mda": ()}[name]

    def log(self, name):
        try:
            with open(self.path("log", name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def pid(self, name):
        return self.procs[name].pid

    def exposed_binary(self, name):
        """A copy of a program that a process of another uid can run.

        The checkout may live where only root can enter (a clone in /root,
        any 0700 directory), so a program run as vmail or as Postfix's
        user is copied into the instance (0755 all the way down) first."""
        dst = self.path("libexec", name)
        if not os.path.exists(dst):
            os.makedirs(self.path("libexec"), mode=0o755, exist_ok=True)
            shutil.copy(binary(name), dst)
            os.chmod(dst, 0o755)
        return dst

    def built(self, name):
        return os.path.exists(binary(name))

    def close(self):
        self.stop_all()
        if os.environ.get("SEALMAIL_KEEP") != "1":
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- clients --------------------------------------------------------

    def client_tls_context(self):
        ctx = ssl.create_default_context(cafile=self.path("etc", "ca.pem"))
        ctx.check_hostname = False
        return ctx


def descendants(pid):
    """Every process below pid, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def proc_info(pid):
    """(comm, real/effective/saved uids, root directory) of a process."""
    with open("/proc/%d/comm" % pid) as f:
        comm = f.read().strip()
    uids = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uids = [int(x) for x in line.split()[1:4]]
    root = os.readlink("/proc/%d/root" % pid)
    return comm, uids, root
