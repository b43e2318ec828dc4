/*
 * test-authfail.c - counting failed logins (common/authfail.c):
 * slow-down, barring an address (an IPv6 /64), windows, and users never
 * barred.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfail.h"
#include "test.h"

static struct authfail af;

static void
test_delay_grows_and_is_capped(void)
{
	struct authfail_result r;
	int	 ms, i;

	test_begin("each failure waits longer, up to the cap");
	authfail_init(&af, 0, 600);
	test_assert(authfail_record(&af, "192.0.2.1", "a@x", 1000, &r) ==
	    AUTHFAIL_STEP_MS);
	test_assert(r.addr_count == 1 && r.user_count == 1);
	test_assert(authfail_record(&af, "192.0.2.1", "a@x", 1001, &r) ==
	    2 * AUTHFAIL_STEP_MS);
	for (i = 0, ms = 0; i < 50; i++)
		ms = authfail_record(&af, "192.0.2.1", "a@x", 1002, &r);
	test_assert(ms == AUTHFAIL_DELAY_MAX_MS);
	/* max 0: never barred */
	test_assert(!authfail_barred(&af, "192.0.2.1", 1003, NULL));
	test_end();
}

static void
test_address_barred_at_max_for_a_window(void)
{
	struct authfail_result r;
	time_t	 left;

	test_begin("max failures within the window bar the address");
	authfail_init(&af, 3, 60);
	authfail_record(&af, "192.0.2.1", "a@x", 100, &r);
	authfail_record(&af, "192.0.2.1", "b@x", 110, &r);
	test_assert(!r.barred_now);
	test_assert(!authfail_barred(&af, "192.0.2.1", 111, NULL));
	authfail_record(&af, "192.0.2.1", "c@x", 120, &r);
	test_assert(r.barred_now && r.addr_count == 3 && r.user_count == 1);
	test_assert(authfail_barred(&af, "192.0.2.1", 121, &left));
	test_assert(left == 59);
	test_assert(!authfail_barred(&af, "192.0.2.2", 121, NULL));
	/* over after a window */
	test_assert(authfail_barred(&af, "192.0.2.1", 179, NULL));
	test_assert(!authfail_barred(&af, "192.0.2.1", 180, NULL));
	test_end();
}

static void
test_failures_outside_the_window_do_not_add_up(void)
{
	struct authfail_result r;

	test_begin("failures spread wider than the window never bar");
	authfail_init(&af, 3, 60);
	authfail_record(&af, "192.0.2.9", "a@x", 0, &r);
	authfail_record(&af, "192.0.2.9", "a@x", 30, &r);
	authfail_record(&af, "192.0.2.9", "a@x", 61, &r);
	test_assert(r.addr_count == 1 && !r.barred_now);
	test_assert(!authfail_barred(&af, "192.0.2.9", 62, NULL));
	test_end();
}

static void
test_users_are_counted_never_barred(void)
{
	struct authfail_result r;
	char	 addr[32];
	int	 i;

	test_begin("a user attacked from many addresses is slowed, not "
	    "barred");
	authfail_init(&af, 3, 60);
	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		authfail_record(&af, addr, "victim@x", 10, &r);
		test_assert(!r.barred_now);
	}
	test_assert(r.user_count == 10);
	test_assert(authfail_record(&af, "198.51.100.99", "victim@x", 11,
	    &r) == AUTHFAIL_DELAY_MAX_MS);
	/* a good login forgets the user's failures, not the address's */
	authfail_success(&af, "victim@x", 12);
	authfail_record(&af, "198.51.100.99", "victim@x", 13, &r);
	test_assert(r.user_count == 1 && r.addr_count == 2);
	test_end();
}

static void
test_table_full_reuses_the_oldest(void)
{
	struct authfail_result r;
	char	 addr[32];
	int	 i;

	test_begin("a full table makes room by forgetting the oldest");
	authfail_init(&af, 2, 600);
	authfail_record(&af, "203.0.113.1", "a@x", 1, &r);
	authfail_record(&af, "203.0.113.1", "a@x", 2, &r);
	test_assert(authfail_barred(&af, "203.0.113.1", 3, NULL));
	for (i = 0; i < AUTHFAIL_SLOTS; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		authfail_record(&af, addr, "b@x", 10 + i, &r);
	}
	test_assert(!authfail_barred(&af, "203.0.113.1", 10 + i, NULL));
	test_end();
}

static void
test_ipv6_counted_by_64(void)
{
	struct authfail_result r;

	test_begin("IPv6 failures count per /64, IPv4 per address");
	authfail_init(&af, 3, 60);
	authfail_record(&af, "2001:db8:5:6::1", "a@x", 100, &r);
	authfail_record(&af, "2001:db8:5:6::2", "a@x", 101, &r);
	authfail_record(&af, "2001:db8:5:6:ffff:1:2:3", "a@x", 102, &r);
	test_assert(r.addr_count == 3 && r.barred_now);
	test_assert(authfail_barred(&af, "2001:db8:5:6::99", 103, NULL));
	test_assert(authfail_barred(&af, "2001:db8:5:6::1", 103, NULL));
	test_assert(!authfail_barred(&af, "2001:db8:5:7::1", 103, NULL));
	authfail_record(&af, "192.0.2.1", "b@x", 104, &r);
	authfail_record(&af, "192.0.2.2", "b@x", 104, &r);
	authfail_record(&af, "192.0.2.3", "b@x", 104, &r);
	test_assert(r.addr_count == 1 && !r.barred_now);
	test_assert(!authfail_barred(&af, "192.0.2.1", 105, NULL));
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_delay_grows_and_is_capped,
		test_address_barred_at_max_for_a_window,
		test_failures_outside_the_window_do_not_add_up,
		test_users_are_counted_never_barred,
		test_table_full_reuses_the_oldest,
		test_ipv6_counted_by_64,
		NULL
	};

	return test_run(tests);
}
