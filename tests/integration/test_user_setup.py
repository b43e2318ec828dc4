"""test_user_setup.py - what a mail client sees the moment an account is
made, before any mail arrives: INBOX and the Unsafe folder (\\Junk), so
the client can subscribe to both at setup."""

import imaplib
import unittest

from harness import Instance

PASSWORD = "setup-pw"


class UserSetupTest(unittest.TestCase):
    def test_new_user_lists_unsafe_as_junk_before_any_mail(self):
        with Instance() as inst:
            inst.add_user("carol@example.test", PASSWORD)
            inst.start("imapd")
            with imaplib.IMAP4("127.0.0.1", inst.port("imap")) as m:
                m.starttls(ssl_context=inst.client_tls_context())
                m.login("carol@example.test", PASSWORD)
                typ, data = m.list()
                self.assertEqual(typ, "OK")
                lines = [d.decode() for d in data]
                unsafe = [l for l in lines if l.endswith('"Unsafe"')
                          or l.endswith(" Unsafe")]
                self.assertEqual(len(unsafe), 1, lines)
                self.assertIn("\\Junk", unsafe[0])
                typ, data = m.select("Unsafe")
                self.assertEqual((typ, data[0]), ("OK", b"0"))


if __name__ == "__main__":
    unittest.main()
