/*
 * test-queue-dest.c - smtpd.queue's per-destination bookkeeping
 * (smtpd/queue_dest.c): concurrency that starts at one and grows with
 * successes, shrinks with failures, a destination dead after a whole
 * cohort failed and alive again after its rest, and which transmitter
 * results count as reaching a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "test.h"

#define T0	1000000

static const char *const CONNFAIL =
    "451 4.4.1 connect to mx.example.org[192.0.2.1]: Connection refused";

static void
test_outcome(void)
{
	static const struct {
		const char	*text;
		enum q_dest_fb	 fb;
	} t[] = {
		{ "250 2.0.0 ok (host mx[192.0.2.1] said)", Q_DEST_OK },
		{ "550 5.1.1 no such user (host mx said)", Q_DEST_OK },
		{ "450 4.2.0 mailbox busy", Q_DEST_OK },
		{ "554 5.6.3 mx does not accept 8-bit mail", Q_DEST_OK },
		{ "451 4.4.1 connect to mx: Connection refused", Q_DEST_FAIL },
		{ "451 4.7.5 TLS is required, but mx did not offer STARTTLS",
		    Q_DEST_FAIL },
		{ "451 4.3.0 not attempted", Q_DEST_NONE },
		{ "451 4.3.0 transmitter lost", Q_DEST_NONE },
		{ "451 4.4.2 lost connection with mx", Q_DEST_NONE },
		{ "451 4.4.3 MX lookup for x: SERVFAIL", Q_DEST_NONE },
		{ "554 5.4.6 mail for x loops back to myself", Q_DEST_NONE },
		{ "556 5.1.10 the domain accepts no mail", Q_DEST_NONE },
		{ "", Q_DEST_NONE },
		{ "xyz", Q_DEST_NONE },
	};
	size_t	 i;

	test_begin("which results say a server answered, which that none did");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (q_dest_outcome(t[i].text) != t[i].fb) {
			printf("  %s\n", t[i].text);
			test_assert(q_dest_outcome(t[i].text) == t[i].fb);
		}
	test_assert(q_dest_outcome(NULL) == Q_DEST_NONE);
	test_end();
}

static void
test_grow_and_shrink(void)
{
	struct q_dests	 ds = { NULL, 4, 300 };
	int		 i;

	test_begin("a new destination starts at one transmitter");
	test_assert(q_dest_limit(&ds, "example.org", T0) == 1);
	test_end();

	test_begin("the limit grows by one after a cohort of successes, "
	    "up to the maximum");
	q_dest_feedback(&ds, "example.org", Q_DEST_OK, "", T0);
	test_assert(q_dest_limit(&ds, "EXAMPLE.org", T0) == 2);
	q_dest_feedback(&ds, "example.org", Q_DEST_OK, "", T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) == 2);
	q_dest_feedback(&ds, "example.org", Q_DEST_OK, "", T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) == 3);
	for (i = 0; i < 20; i++)
		q_dest_feedback(&ds, "example.org", Q_DEST_OK, "", T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) == 4);
	test_assert(q_dest_limit(&ds, "other.test", T0) == 1);
	test_end();

	test_begin("a failure shrinks the limit; fewer than a cohort of "
	    "failures leave it alive");
	q_dest_feedback(&ds, "example.org", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) == 3);
	q_dest_feedback(&ds, "example.org", Q_DEST_FAIL, CONNFAIL, T0);
	q_dest_feedback(&ds, "example.org", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) == 1);
	test_end();

	test_begin("a success in between ends the run of failures");
	q_dest_feedback(&ds, "example.org", Q_DEST_OK, "", T0);
	q_dest_feedback(&ds, "example.org", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_limit(&ds, "example.org", T0) > 0);
	q_dest_free(&ds);
	test_end();
}

static void
test_dead(void)
{
	struct q_dests	 ds = { NULL, 4, 300 };
	const char	*why;
	time_t		 until = 0;

	test_begin("one failed attempt at a cohort of one kills a new "
	    "destination, with its reason and until when");
	test_assert(q_dest_dead(&ds, "dead.test", T0, &until) == NULL);
	q_dest_feedback(&ds, "dead.test", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_limit(&ds, "dead.test", T0 + 1) == 0);
	why = q_dest_dead(&ds, "dead.test", T0 + 1, &until);
	test_assert(why != NULL && strstr(why, "Connection refused") != NULL);
	test_assert(until == T0 + 300);
	test_end();

	test_begin("the rest of the cohort failing does not extend it");
	q_dest_feedback(&ds, "dead.test", Q_DEST_FAIL, CONNFAIL, T0 + 100);
	test_assert(q_dest_dead(&ds, "dead.test", T0 + 1, &until) != NULL &&
	    until == T0 + 300);
	test_end();

	test_begin("after its rest a dead destination gets one attempt");
	test_assert(q_dest_dead(&ds, "dead.test", T0 + 300, &until) == NULL);
	test_assert(q_dest_limit(&ds, "dead.test", T0 + 300) == 1);
	q_dest_feedback(&ds, "dead.test", Q_DEST_FAIL, CONNFAIL, T0 + 301);
	test_assert(q_dest_dead(&ds, "dead.test", T0 + 302, &until) != NULL &&
	    until == T0 + 601);
	test_end();

	test_begin("a success (a late attempt that got through) revives it");
	q_dest_feedback(&ds, "dead.test", Q_DEST_OK, "", T0 + 303);
	test_assert(q_dest_dead(&ds, "dead.test", T0 + 304, &until) == NULL);
	test_assert(q_dest_limit(&ds, "dead.test", T0 + 304) >= 1);
	test_end();

	test_begin("at a limit of three it takes three failures in a row");
	q_dest_feedback(&ds, "big.test", Q_DEST_OK, "", T0);
	q_dest_feedback(&ds, "big.test", Q_DEST_OK, "", T0);
	q_dest_feedback(&ds, "big.test", Q_DEST_OK, "", T0);
	test_assert(q_dest_limit(&ds, "big.test", T0) == 3);
	q_dest_feedback(&ds, "big.test", Q_DEST_FAIL, CONNFAIL, T0);
	q_dest_feedback(&ds, "big.test", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_dead(&ds, "big.test", T0, &until) == NULL);
	q_dest_feedback(&ds, "big.test", Q_DEST_FAIL, CONNFAIL, T0);
	test_assert(q_dest_dead(&ds, "big.test", T0, &until) != NULL);
	test_end();

	test_begin("results that say nothing of the servers change nothing");
	q_dest_feedback(&ds, "quiet.test", Q_DEST_NONE, "", T0);
	test_assert(q_dest_limit(&ds, "quiet.test", T0) == 1);
	test_assert(q_dest_dead(&ds, "quiet.test", T0, &until) == NULL);
	q_dest_free(&ds);
	test_end();
}

static void
test_bounded(void)
{
	struct q_dests	 ds = { NULL, 4, 300 };
	char		 d[64];
	time_t		 until;
	int		 i;

	test_begin("at most Q_DEST_TRACK destinations are remembered, the "
	    "dead ones kept");
	q_dest_feedback(&ds, "dead.test", Q_DEST_FAIL, CONNFAIL, T0);
	for (i = 0; i < Q_DEST_TRACK + 50; i++) {
		snprintf(d, sizeof(d), "d%d.test", i);
		q_dest_feedback(&ds, d, Q_DEST_OK, "", T0);
	}
	test_assert(q_dest_dead(&ds, "dead.test", T0, &until) != NULL);
	test_assert(q_dest_limit(&ds, "d0.test", T0) == 1);
	test_assert(q_dest_limit(&ds, "d1049.test", T0) == 2);
	q_dest_free(&ds);
	test_end();
}

int
main(void)
{
	static void (*t[])(void) = { test_outcome, test_grow_and_shrink,
	    test_dead, test_bounded, NULL };

	return test_run(t);
}
