"""demo.py - the demo instance of README: ./sealmail.sh demo | stop.

    demo.py start DIR   create a fresh instance in DIR on the demo ports
                        (an existing one is wiped, and says so), start
                        every daemon, send alice -> bob, read it back
    demo.py restart DIR restart the daemons of the existing instance in
                        DIR in place: users, mail and queue are kept
    demo.py stop DIR    stop the daemons of the instance in DIR
    demo.py exchange DIR
                        two ISPs: isp-a.test and isp-b.test in DIR/isp-a
                        and DIR/isp-b (wiped first), a private NSD serving
                        their MX, A and DKIM records, one private CA;
                        alice@isp-a.test writes to bob@isp-b.test and the
                        message is followed through submission, signing,
                        the transmitter (TLS, tls_policy = verify), the
                        verification at isp-b and bob's INBOX over IMAP.
                        Everything is stopped at the end; the two
                        instances' logs stay in DIR.
"""

import imaplib
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

from fixtures import role_pids
from harness import DAEMONS, Instance, binary, wait_for

PORTS = {"smtp": 2525, "submission": 5870, "submissions": 4650,
         "imap": 1430, "imaps": 9930, "keyserver": 4025}
PASSWORD = "demo-password"
ALICE = "alice@example.test"
BOB = "bob@example.test"


def say(msg):
    print("demo: " + msg, flush=True)


def gone(pid):
    """Exited (a zombie its parent has not reaped yet counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def stop(prefix):
    stopped = 0
    for name in DAEMONS:
        pidfile = os.path.join(prefix, "run", name + ".pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
        try:
            wait_for(lambda: gone(pid), 10)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
        stopped += 1
        say("stopped %s (pid %d)" % (name, pid))
    if not stopped:
        say("nothing running in %s" % prefix)


def submit(inst, port, user, msg):
    """user submits msg on port over STARTTLS + AUTH PLAIN."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.starttls(context=inst.client_tls_context())
        c.login(user, PASSWORD)
        c.send_message(msg)


def read_inbox(inst, port, user, timeout=30):
    """The last message of user's INBOX over IMAP (STARTTLS), once there
    is one."""
    def arrived():
        with imaplib.IMAP4("127.0.0.1", port) as m:
            m.starttls(ssl_context=inst.client_tls_context())
            m.login(user, PASSWORD)
            typ, data = m.select("INBOX")
            if int(data[0]) == 0:
                return None
            typ, data = m.fetch(data[0].decode(), "(BODY.PEEK[])")
            return data[0][1].decode(errors="replace")
    return wait_for(arrived, timeout, "the message in %s's INBOX" % user)


def send_and_read(inst):
    """alice submits to bob over STARTTLS + AUTH; bob reads it over IMAP."""
    msg = EmailMessage()
    msg["From"] = ALICE
    msg["To"] = BOB
    msg["Subject"] = "Hello from the Sealmail demo"
    msg.set_content("Hi Bob,\n\nthis message went through submission, the"
                    " queue and mda into your INBOX.\n\nAlice\n")
    say("alice submits a message to bob on port %d (STARTTLS, AUTH PLAIN)"
        % PORTS["submission"])
    submit(inst, PORTS["submission"], ALICE, msg)
    say("bob logs in over IMAP on port %d (STARTTLS)" % PORTS["imap"])
    text = read_inbox(inst, PORTS["imap"], BOB)
    say("bob's INBOX holds:")
    for line in text.splitlines():
        print("    | " + line)
    show_signatures(inst, text)
    reply = EmailMessage()
    reply["From"] = ALICE
    reply["To"] = BOB
    reply["Subject"] = "Re: Hello from the Sealmail demo"
    reply["In-Reply-To"] = first_message_id(text)
    reply["References"] = reply["In-Reply-To"]
    reply.set_content("P.S. this one answers the first.\n")
    time.sleep(1)   # a later arrival, so newest-first puts it first
    say("alice follows up on her own message")
    submit(inst, PORTS["submission"], ALICE, reply)
    show_client_view(inst)


def first_message_id(text):
    for f in header_fields(text, "Message-ID"):
        return " ".join(x.strip() for x in f).split(":", 1)[1].strip()
    return None


# What a mail client asks of imapd once bob's mail is in (issue 16):
# the folder sorted and threaded, the quota, the mod-sequences it
# resynchronises with.
CLIENT_VIEW = ("ENABLE QRESYNC",
               "SELECT INBOX",
               "UID SORT (REVERSE ARRIVAL) UTF-8 ALL",
               "UID THREAD REFERENCES UTF-8 ALL",
               "FETCH 1:* (UID FLAGS MODSEQ ENVELOPE)",
               "GETQUOTAROOT INBOX",
               "STATUS Unsafe (MESSAGES UNSEEN SIZE HIGHESTMODSEQ)")


def show_client_view(inst):
    def two():
        with imaplib.IMAP4("127.0.0.1", PORTS["imap"]) as m:
            m.starttls(ssl_context=inst.client_tls_context())
            m.login(BOB, PASSWORD)
            return int(m.select("INBOX", readonly=True)[1][0]) >= 2
    wait_for(two, 30, "the follow-up in bob's INBOX")
    say("bob's mail client asks imapd:")
    with imaplib.IMAP4("127.0.0.1", PORTS["imap"]) as m:
        m.starttls(ssl_context=inst.client_tls_context())
        m.login(BOB, PASSWORD)
        for line in CLIENT_VIEW:
            tag = m._new_tag()
            print("    C: %s %s" % (tag.decode(), line))
            m.send(tag + b" " + line.encode() + b"\r\n")
            while True:
                got = m._get_line()
                print("    S: " + got.decode(errors="replace")[:110])
                if got.startswith(tag + b" "):
                    break


def header_fields(text, name):
    """The header fields of a message named name, each a list of its
    lines (the folded ones too)."""
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    fields, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur.append(line)
        else:
            cur = [line] if line.lower().startswith(name.lower() + ":") \
                else None
            if cur is not None:
                fields.append(cur)
    return fields


def show_signatures(inst, text):
    """The DKIM-Signature fields the queue added with alice's keys, the
    verdict it found when it checked them before delivery, and the TXT
    records that make them verifiable anywhere."""
    fields = header_fields(text, "DKIM-Signature")
    say("signed in the queue with alice's keys (%d DKIM-Signature "
        "field%s):" % (len(fields), "" if len(fields) == 1 else "s"))
    for f in fields:
        for line in f:
            print("    | " + line)
    results = header_fields(text, "Authentication-Results")
    say("verified in the queue against those keys before delivery "
        "(Authentication-Results):")
    for f in results:
        for line in f:
            print("    | " + line)
    if not any("dkim=pass" in " ".join(f) for f in results):
        say("WARNING: no dkim=pass in bob's copy")
    say("what to publish in DNS for them (sealmailctl keys dns):")
    for line in inst.ctl("keys", "dns").stdout.splitlines():
        print("    " + line)


# (daemon, role) killed by the demo to show the root parent replacing it.
HEAL_ROLES = (("keystore", "keystore.server"), ("smtpd", "smtpd.receiver"),
              ("submitd", "submitd.smtp"), ("submitd", "submitd.header"),
              ("imapd", "imapd.prelogin"),
              ("mda", "mda.lmtp"))


def show_healing(inst, running):
    """Kill one role of each daemon with SIGKILL; its parent restarts it."""
    for daemon, role in HEAL_ROLES:
        if daemon not in running:
            continue
        parent = inst.pid(daemon)
        before = role_pids(parent, role)   # mda runs several mda.lmtp
        if not before:
            continue
        old = before[0]
        t0 = time.time()
        os.kill(old, signal.SIGKILL)
        def replaced():
            if gone(parent):
                raise RuntimeError(daemon + " stopped")
            now = role_pids(parent, role)
            new = [p for p in now if p not in before]
            return new[0] if new and len(now) == len(before) else None
        try:
            new = wait_for(replaced, 10, role)
            say("killed %-15s pid %-6d -> restarted as pid %d in %d ms"
                % (role, old, new, (time.time() - t0) * 1000))
        except TimeoutError:
            say("killed %-15s pid %-6d -> not restarted" % (role, old))
        except RuntimeError:
            say("killed %-15s pid %-6d -> %s stopped" % (role, old, daemon))


def show_burst(inst, n=200, sessions=10):
    """n messages to bob over port 25 from several sessions at once: how
    long until every one is acknowledged and until every one is in his
    Maildir, and which mda.lmtp process delivered how many."""
    from concurrent.futures import ThreadPoolExecutor
    say("a burst: %d messages to bob on port %d over %d sessions at once"
        % (n, PORTS["smtp"], sessions))
    folder = "Unsafe"       # port 25 mail without a signature of ours
    before = len(inst.messages(BOB, folder))
    body = "burst line of about fifty characters, repeated.\r\n" * 100

    def session(k):
        with smtplib.SMTP("127.0.0.1", PORTS["smtp"], timeout=60) as s:
            for i in range(k, n, sessions):
                s.sendmail("sender@example.net", [BOB],
                           "From: sender@example.net\r\nTo: %s\r\n"
                           "Subject: burst %d\r\n\r\n%s" % (BOB, i, body))
    t0 = time.time()
    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(session, range(sessions)))
    acked = time.time() - t0
    wait_for(lambda: len(inst.messages(BOB, folder)) >= before + n, 120,
             "the burst in bob's Maildir")
    done = time.time() - t0
    say("every 250 (message fsynced in the queue) after %.2f s; all %d in "
        "bob's %s after %.2f s (%.0f messages a second, on this machine)"
        % (acked, n, folder, done, n / done))
    per = {}
    for line in inst.log("mda").splitlines():
        if line.startswith("mda.lmtp[") and " folder=%s " % folder in line \
                and "Subject" not in line:
            pid = line[len("mda.lmtp["):line.index("]")]
            per[pid] = per.get(pid, 0) + 1
    say("deliveries per mda.lmtp process ([mda] lmtp_processes, their "
        "fsyncs overlap): %s" % ", ".join(
            "pid %s: %d" % kv for kv in sorted(per.items())))


def show_lda(inst, n=20):
    """The command-line delivery another MTA runs per message (for
    instance as Postfix's mailbox_command): n deliveries to bob, their
    median time, and the libraries it loads (no TLS: it starts faster)."""
    say("command-line delivery: mda -d %s, %d times, as another MTA's "
        "local delivery would run it" % (BOB, n))
    before = len(inst.messages(BOB))
    times = []
    for i in range(n):
        msg = ("From: %s\nTo: %s\nSubject: local delivery %d\n\nhello\n"
               % (ALICE, BOB, i)).encode()
        t0 = time.monotonic()
        r = subprocess.run([binary("mda"), "-c", inst.conf, "-d", BOB,
                            "-s", "safe", "-f", ALICE], input=msg,
                           capture_output=True, env=inst.env(), timeout=60)
        times.append(time.monotonic() - t0)
        if r.returncode != 0:
            say("mda -d failed (exit %d): %s" % (r.returncode,
                                                 r.stderr.decode().strip()))
            return
    times.sort()
    libs = subprocess.run(["ldd", binary("mda")], capture_output=True,
                          text=True, timeout=30).stdout.split()
    say("%d delivered to bob's INBOX (%d before), %.1f ms each (median, "
        "fsynced); mda loads %s" % (
            len(inst.messages(BOB)) - before, before,
            times[n // 2] * 1000,
            ", ".join(sorted(w.split(".so")[0] for w in libs
                             if ".so" in w and "/" not in w
                             and not w.startswith("linux-vdso")))))


def start(prefix):
    prefix = os.path.abspath(prefix)
    if os.path.isdir(prefix):
        stop(prefix)
        say("wiping the previous demo instance in %s (users, mail, queue);"
            " ./sealmail.sh start restarts it in place instead" % prefix)
        shutil.rmtree(prefix)
    say("creating the instance in %s" % prefix)
    inst = Instance(prefix=prefix, ports=PORTS)
    for addr in (ALICE, BOB, "postmaster@example.test"):
        inst.add_user(addr, PASSWORD)
    inst.ctl("user", "set", BOB, "quota_bytes=52428800")
    say("domain example.test; users alice, bob (quota 50 MB), postmaster "
        "(password %s)" % PASSWORD)
    running = [d for d in DAEMONS if inst.built(d)]
    inst.start(*running, detach=True)
    for d in running:
        say("started %-8s pid %d" % (d, inst.pid(d)))
    say("self-healing: each root parent replaces a role that dies")
    show_healing(inst, running)
    if all(inst.built(d) for d in ("submitd", "smtpd", "mda", "imapd")):
        send_and_read(inst)
        show_burst(inst)
        show_lda(inst)
    else:
        say("not every daemon is built yet; skipping the message round trip")
    print("""
Sealmail is running on 127.0.0.1 (config: %(conf)s):
  SMTP        2525      swaks --server 127.0.0.1:2525 --to bob@example.test
  submission  5870 (STARTTLS), 4650 (TLS)
              swaks --server 127.0.0.1:5870 -tls --auth-user alice@example.test \\
                    --auth-password demo-password --to bob@example.test
  IMAP        1430 (STARTTLS), 9930 (TLS), user bob@example.test
              curl --cacert %(ca)s 'imaps://127.0.0.1:9930/INBOX' \\
                   -u bob@example.test:demo-password
  key server  4025      printf 'KEY alice@example.test\\r\\nQUIT\\r\\n' | nc 127.0.0.1 4025
  admin       SEALMAIL_CONF=%(conf)s build/sealmailctl/sealmailctl user list
  logs        %(logs)s/
Stop it with ./sealmail.sh stop
""" % {"conf": inst.conf, "ca": inst.path("etc", "ca.pem"),
       "logs": inst.path("log")})
    # The daemons keep running: forget them without stopping.
    inst.procs.clear()


def restart(prefix):
    prefix = os.path.abspath(prefix)
    if not os.path.exists(os.path.join(prefix, "sealmail.conf")):
        say("no demo instance in %s: run ./sealmail.sh demo first" % prefix)
        return 1
    stop(prefix)
    inst = Instance(prefix=prefix, reuse=True)
    running = [d for d in DAEMONS if inst.built(d)]
    inst.start(*running, detach=True)
    for d in running:
        say("started %-8s pid %d" % (d, inst.pid(d)))
    n = len(inst.messages(BOB))
    say("kept the instance in %s: bob's INBOX holds %d message%s"
        % (prefix, n, "" if n == 1 else "s"))
    inst.procs.clear()
    return 0


def exchange(prefix):
    """The two-ISP walk-through (demo_exchange.py)."""
    from demo_exchange import run
    return run(os.path.abspath(prefix))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "restart", "stop",
                                                 "exchange"):
        print(__doc__.strip(), file=sys.stderr)
        return 64
    if sys.argv[1] == "start":
        start(sys.argv[2])
    elif sys.argv[1] == "restart":
        return restart(sys.argv[2])
    elif sys.argv[1] == "exchange":
        return exchange(sys.argv[2])
    else:
        stop(os.path.abspath(sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
