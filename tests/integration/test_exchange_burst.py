"""test_exchange_burst.py - a burst of mail from isp-a.test to one
destination, isp-b.test (test_exchange.py's two ISPs), is relayed as
fast as the transmitters finish, not paced by the queue's clock.

Today smtpd.queue gives a destination at most Q_MTA_DEST_MAX (2)
transmitters; a message that finds both busy is put back with
q_release(qe, time(NULL) + 1) (smtpd/queue.c, q_send) and waits for the
next whole second even when a transmitter frees up at once: under a
backlog one destination gets about two messages a second, whatever the
network and the far end allow (bench/relay measured 2.4 msg/s, and 25 msg/s
with that message retried as soon as a transmitter is free).  Hence the
expectedFailure: drop it with the fix (an unexpected success fails the
run).
"""

import smtplib
import time
import unittest

from harness import wait_for
from test_exchange import ALICE, BOB, Exchange
from test_submitd import PASSWORD, login

N = 40


class BurstExchangeTest(Exchange):

    @unittest.expectedFailure
    def test_a_burst_to_one_domain_is_not_paced_at_two_a_second(self):
        t0 = time.time()
        s = smtplib.SMTP("127.0.0.1", self.a.port("submission"), timeout=30)
        s.ehlo("client.test")
        s.starttls(context=self.a.client_tls_context())
        s.ehlo("client.test")
        login(s, ALICE, PASSWORD)
        for i in range(N):
            s.sendmail(ALICE, [BOB], "From: <%s>\r\nTo: <%s>\r\n"
                       "Subject: burst %d\r\n\r\nHello.\r\n"
                       % (ALICE, BOB, i))
        s.quit()
        sent = time.time() - t0
        wait_for(lambda: len(self.b.messages(BOB)) >= N, 60,
                 "%d messages in bob's INBOX" % N)
        took = time.time() - t0
        # two transmitters at a few tens of milliseconds a message keep
        # up with the submissions (30 in 1.7 s with the retry at once, on
        # 2 shared cores); waiting for the clock's next second, 30 took
        # 7.7 s, and it grows by about a second for every two more
        self.assertLess(took, N / 8,
                        "%d messages: submitted in %.1f s, all in bob's "
                        "INBOX after %.1f s" % (N, sent, took))


if __name__ == "__main__":
    unittest.main()
