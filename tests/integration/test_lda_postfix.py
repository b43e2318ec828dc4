"""mda as Postfix's mailbox_command, with a real Postfix (the LDA issue).

A private Postfix instance (postfix_instance.py: its own config, queue
and data directories in /tmp, smtpd on a free loopback port) delivers
example.test to UNIX accounts through local(8), whose mailbox_command is
the LDA of a throwaway Sealmail instance:

    mailbox_command = BUILD/mda/mda -c CONF -d "${USER}@example.test"
                      -f "${SENDER}"

local(8) runs the command as the recipient's UNIX user, so the test
makes throwaway UNIX accounts: one whose name is also a Sealmail user,
one that Sealmail does not know.  Not being root, the LDA relays to the
running mda over its LMTP socket, where it cannot claim safe: mail sent
to Postfix by SMTP lands in the Sealmail user's .Unsafe.  For the other
account the LDA exits 67 (EX_NOUSER), which Postfix turns into a 5.1.1
"user unknown" bounce; that bounce comes back through the LDA to the
sender, a Sealmail user.  The stored message carries exactly one
Return-Path and one Delivered-To, the LDA's: those Postfix and the
sender put in are left out.

Skipped when postfix is not installed or the test is not root.
"""

import email
import email.policy
import os
import smtplib
import subprocess
import unittest
import uuid

from harness import Instance, binary, free_port, wait_for
from postfix_instance import PostfixInstance, missing

DOMAIN = "example.test"
# Unique per run: UNIX accounts are machine-wide.
SUFFIX = "%05d" % (os.getpid() % 100000)
LOCAL = "pfxu" + SUFFIX     # a UNIX account and a Sealmail user
GHOST = "pfxg" + SUFFIX     # a UNIX account Sealmail does not know
USER = "%s@%s" % (LOCAL, DOMAIN)
GHOST_ADDR = "%s@%s" % (GHOST, DOMAIN)


def message(sender, rcpt, token):
    return ("From: %s\r\nTo: %s\r\nSubject: postfix lda %s\r\n"
            "Message-ID: <%s@remote.test>\r\n\r\n"
            "Hello through Postfix.\r\n.a line that starts with a dot\r\n"
            "token %s\r\n" % (sender, rcpt, token, token, token)).encode()


def text_of(raw):
    """The decoded text/plain parts of a stored message, LF line ends."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = []
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            out.append(part.get_content())
    return "\n".join(out).replace("\r\n", "\n")


class LdaPostfixTest(unittest.TestCase):

    inst = None
    pf = None
    accounts = []

    @classmethod
    def setUpClass(cls):
        why = missing()
        if why is None and not os.path.exists(binary("mda")):
            why = "mda is not built (%s)" % binary("mda")
        if why is not None:
            raise unittest.SkipTest(why)
        try:
            cls._setup()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def _setup(cls):
        cls.inst = Instance()
        cls.inst.add_user(USER)
        cls.inst.start("mda")
        # The LDA runs as the recipient: it must read the configuration.
        os.chmod(cls.inst.conf, 0o644)
        cls.port = free_port()
        # Postfix runs the command as the recipient: it gets a copy it can
        # reach wherever the checkout lives.
        cls.lda = cls.inst.exposed_binary("mda")
        cls.pf = PostfixInstance(cls.port, {
            "mailbox_command": '%s -c %s -d "${USER}@%s" -f "${SENDER}"'
                               % (cls.lda, cls.inst.conf, DOMAIN),
        })
        home = os.path.join(cls.pf.dir, "home")
        os.makedirs(home)
        os.chmod(home, 0o755)
        for name in (LOCAL, GHOST):
            subprocess.run(["useradd", "-m", "-d", os.path.join(home, name),
                            "-s", "/usr/sbin/nologin", "-U", name],
                           check=True, capture_output=True, timeout=60)
            cls.accounts.append(name)
        cls.pf.start()

    @classmethod
    def _cleanup(cls):
        if cls.pf is not None:
            cls.pf.stop()
        for name in cls.accounts:
            subprocess.run(["userdel", name], capture_output=True,
                           timeout=60)
        cls.accounts = []
        if cls.pf is not None:
            cls.pf.close()
            cls.pf = None
        if cls.inst is not None:
            cls.inst.close()
            cls.inst = None

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()

    def send(self, sender, rcpt, msg):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            s.ehlo("client.remote.test")
            refused = s.sendmail(sender, [rcpt], msg)
        self.assertEqual(refused, {})

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def find(self, folder, token, timeout=60):
        """The Unsafe/INBOX message of USER containing token."""
        def found():
            for p in self.inst.messages(USER, folder):
                if token.encode() in self.read(p):
                    return p
            return None
        try:
            return wait_for(found, timeout, "%s in %s" % (token, folder))
        except TimeoutError:
            self.fail("no message with %s in %s's %s\n--- maillog:\n%s"
                      "\n--- mda log:\n%s" % (token, USER, folder or "INBOX",
                                              self.pf.log()[-3000:],
                                              self.inst.log("mda")[-2000:]))

    def test_smtp_to_postfix_lands_in_sealmail_unsafe(self):
        token = uuid.uuid4().hex
        self.send("alice@remote.test", USER,
                  message("alice@remote.test", USER, token))
        path = self.find("Unsafe", token)
        data = self.read(path)
        # The envelope sender travelled with -f "${SENDER}".
        self.assertIn(b"Return-Path: <alice@remote.test>", data)
        self.assertIn(b"Delivered-To: " + USER.encode(), data)
        self.assertIn(("Subject: postfix lda %s" % token).encode(), data)
        # Dot-stuffing undone once: one leading dot survives, not two.
        body = text_of(data)
        self.assertIn("\n.a line that starts with a dot\n", body)
        self.assertNotIn("..a line", body)
        # An unprivileged caller cannot put anything in INBOX.
        for p in self.inst.messages(USER):
            self.assertNotIn(token.encode(), self.read(p))
        self.assertEqual(os.stat(path).st_uid,
                         self.inst.users["vmail"].pw_uid)
        line = self.pf.wait_log(r"to=<%s>.*status=sent" % USER, 30)
        self.assertIn("relay=local", line)
        self.assertIn("delivered to command: %s" % self.lda, line)

    def test_delivered_message_has_one_return_path_and_one_delivered_to(self):
        # Postfix puts its own Delivered-To (and may put a Return-Path) on
        # top, and the sender wrote both: the stored message has exactly
        # one of each, the LDA's own.
        token = uuid.uuid4().hex
        msg = (b"Return-Path: <forged@evil.test>\r\n"
               b"Delivered-To: someone@elsewhere.test\r\n" +
               message("alice@remote.test", USER, token))
        self.send("alice@remote.test", USER, msg)
        data = self.read(self.find("Unsafe", token))
        header = data.replace(b"\r\n", b"\n").split(b"\n\n")[0]
        fields = [l for l in header.split(b"\n") if not l[:1].isspace()]

        def named(name):
            return [l for l in fields
                    if l.lower().startswith(name.lower() + b":")]
        self.assertEqual(named(b"Return-Path"),
                         [b"Return-Path: <alice@remote.test>"])
        self.assertEqual(named(b"Delivered-To"),
                         [b"Delivered-To: " + USER.encode()])

    def test_unknown_sealmail_user_bounces_user_unknown(self):
        token = uuid.uuid4().hex
        # From USER, so the bounce comes back through the LDA.
        self.send(USER, GHOST_ADDR, message(USER, GHOST_ADDR, token))
        line = self.pf.wait_log(r"to=<%s>.*status=(bounced|deferred|sent)"
                                % GHOST_ADDR, 60)
        self.assertIn("status=bounced", line)
        self.assertIn("relay=local", line)
        # EX_NOUSER (67) from the LDA: Postfix's "user unknown", 5.1.1,
        # with the LDA's own reply as the command output.
        self.assertIn("dsn=5.1.1", line)
        self.assertIn("user unknown", line)
        self.assertIn("no such user here", line)
        # Nothing was stored for anyone but the bounce.
        bounce = self.read(self.find("Unsafe", token))
        self.assertIn(b"Return-Path: <>", bounce)
        # Its delivery-status part is stripped (bounces are unsafe mail
        # too); the human-readable report keeps the LDA's reason.
        report = " ".join(text_of(bounce).split())
        self.assertIn("<%s>: user unknown. Command output: 550 5.1.1 <%s> "
                      "no such user here" % (GHOST_ADDR, GHOST_ADDR), report)
        self.assertFalse(os.path.exists(os.path.join(
            self.inst.path("mail", DOMAIN, GHOST))))


if __name__ == "__main__":
    unittest.main()
