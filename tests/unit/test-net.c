/*
 * test-net.c - listening sockets, peer credentials, address keys (IPv6
 * by /64), the session table: limits, stress and eviction.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "test.h"

/* a clock the tests move by hand */
static uint64_t	 fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static void
test_net_listen_connect(void)
{
	char	 addr[64], spec[64];
	int	 l, c, a, port;
	uid_t	 uid;
	pid_t	 pid;

	test_begin("net listens on loopback port 0 and reports the peer");
	l = net_listen("127.0.0.1:0", 8);
	test_assert(l >= 0);
	port = net_local_port(l);
	test_assert(port > 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c = net_connect(spec);
	test_assert(c >= 0);
	usleep(10000);
	a = accept(l, NULL, NULL);
	test_assert(a >= 0);
	test_assert(net_peer_str(a, addr, sizeof(addr)) == 0);
	test_assert_str(addr, "127.0.0.1");
	test_assert(net_listen("localhost:25", 8) == -1);	/* numeric only */
	close(a);
	close(c);
	close(l);
	(void)uid;
	(void)pid;
	test_end();
}

static void
test_net_unix_peercred(void)
{
	char	 path[] = "/tmp/sm-test-net-XXXXXX";
	char	 sock[128];
	int	 l, c, a;
	uid_t	 uid;
	pid_t	 pid;

	test_begin("net unix socket reports the peer's uid and pid");
	test_assert(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	l = net_unix_listen(sock, 0600, (uid_t)-1, (gid_t)-1);
	test_assert(l >= 0);
	c = net_unix_connect(sock);
	test_assert(c >= 0);
	usleep(10000);
	a = accept(l, NULL, NULL);
	test_assert(a >= 0);
	test_assert(net_peercred(a, &uid, &pid) == 0);
	test_assert(uid == getuid() && pid == getpid());
	close(a);
	close(c);
	close(l);
	unlink(sock);
	rmdir(path);
	test_end();
}

static void
test_net_limit(void)
{
	struct net_limit *l;

	test_begin("net_limit counts sessions per address and in total");
	l = net_limit_new(3, 2);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == -1);
	test_assert(net_limit_enter(l, "192.0.2.2") == 0);
	test_assert(net_limit_enter(l, "192.0.2.3") == -1);	/* total */
	net_limit_leave(l, "192.0.2.1");
	test_assert(net_limit_enter(l, "192.0.2.3") == 0);
	net_limit_free(l);
	test_end();
}

static void
test_net_addr_key(void)
{
	static const struct {
		const char	*addr, *key;
	} cases[] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "192.0.2.2", "192.0.2.2" },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2::1", "2001:db8:1:2::/64" },
		{ "2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "2001:db8:1:3::1", "2001:db8:1:3::/64" },
		{ "::1", "::/64" },
		{ "fe80::1", "fe80::/64" },
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "local", "local" },
	};
	char	 key[NET_ADDR_KEY_MAX];
	size_t	 i;

	test_begin("address keys: IPv4 exact, IPv6 by /64, mapped as IPv4");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_assert(net_addr_key(cases[i].addr, key, sizeof(key)) ==
		    0);
		test_assert_str(key, cases[i].key);
	}
	test_assert(net_addr_key("2001:db8:1:2::1", key, 8) == -1);
	test_end();
}

static void
test_net_limit_ipv6_by_64(void)
{
	struct net_limit *l;

	test_begin("net_limit counts an IPv6 /64 as one address");
	l = net_limit_new(10, 2);
	test_assert(net_limit_enter(l, "2001:db8:1:2::1") == 0);
	test_assert(net_limit_enter(l, "2001:db8:1:2:0:0:0:ffff") == 0);
	test_assert(net_limit_enter(l, "2001:db8:1:2:aaaa::1") == -1);
	test_assert(net_limit_enter(l, "2001:db8:1:3::1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.2") == 0);
	/* any address of the /64 gives its place back */
	net_limit_leave(l, "2001:db8:1:2::1");
	test_assert(net_limit_enter(l, "2001:db8:1:2::5") == 0);
	test_assert(net_limit_enter(l, "2001:db8:1:2::6") == -1);
	test_assert(net_limit_count(l) == 6);
	net_limit_free(l);
	test_end();
}

static void
test_net_limit_many_addresses(void)
{
	struct net_limit *l;
	char	 a[64];
	int	 i, ok = 1;

	test_begin("net_limit keeps counts of thousands of addresses");
	l = net_limit_new(5000, 1);
	for (i = 0; i < 4000; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		ok &= net_limit_enter(l, a) == 0;
		ok &= net_limit_enter(l, a) == -1;
	}
	for (i = 0; i < 4000; i += 3) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		net_limit_leave(l, a);
	}
	for (i = 0; i < 4000; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		ok &= net_limit_enter(l, a) == (i % 3 == 0 ? 0 : -1);
	}
	test_assert(ok);
	test_assert(net_limit_count(l) == 4000);
	net_limit_free(l);
	test_end();
}

static int	 evicted[8];

static void
evict_cb(void *arg)
{
	evicted[(int)(intptr_t)arg]++;
}

static void
test_net_slot_eviction(void)
{
	struct net_limit *l;
	struct net_slot	*a, *b, *c, *d, *e, *f, *g, *h;

	test_begin("full table evicts the session that did the least");
	memset(evicted, 0, sizeof(evicted));
	net_set_clock(fake_clock);
	fake_now = 100000;
	l = net_limit_new(3, 3);
	a = net_slot_enter(l, "192.0.2.1");
	b = net_slot_enter(l, "192.0.2.2");
	c = net_slot_enter(l, "192.0.2.3");
	test_assert(a != NULL && b != NULL && c != NULL);
	net_slot_set_evict(a, evict_cb, (void *)1);
	net_slot_set_evict(b, evict_cb, (void *)2);
	net_slot_set_evict(c, evict_cb, (void *)3);
	fake_now += 100;
	net_slot_progress(b);		/* b completed a command */
	net_slot_busy(c, 1);		/* c waits for the server */
	/* a never completed a command: it goes */
	fake_now += 400;
	d = net_slot_enter(l, "192.0.2.4");
	test_assert(d != NULL && evicted[1] == 1);
	test_assert(evicted[2] == 0 && evicted[3] == 0);
	test_assert(net_limit_count(l) == 3);
	net_slot_leave(a);		/* its session ends later */
	test_assert(net_limit_count(l) == 3);
	/* one that did nothing goes before one that did, however fresh */
	net_slot_set_evict(d, evict_cb, (void *)4);
	fake_now += 100;
	e = net_slot_enter(l, "192.0.2.5");
	test_assert(e != NULL && evicted[4] == 1 && evicted[2] == 0);
	net_slot_leave(d);
	net_slot_set_evict(e, evict_cb, (void *)5);
	fake_now += 100;
	f = net_slot_enter(l, "192.0.2.6");
	test_assert(f != NULL && evicted[5] == 1 && evicted[2] == 0);
	net_slot_leave(e);
	/* of two that did something, the one idle longest */
	net_slot_set_evict(f, evict_cb, (void *)6);
	fake_now += 100;
	net_slot_progress(f);
	fake_now += 100;
	g = net_slot_enter(l, "192.0.2.7");
	test_assert(g != NULL && evicted[2] == 1 && evicted[6] == 0);
	net_slot_leave(b);
	/* nobody evictable (busy, or no callback): refused */
	net_slot_set_evict(f, NULL, NULL);
	test_assert(net_slot_enter(l, "192.0.2.8") == NULL);
	test_assert(evicted[3] == 0 && evicted[6] == 0);
	/* the server answered c: it may go now */
	net_slot_busy(c, 0);
	h = net_slot_enter(l, "192.0.2.8");
	test_assert(h != NULL && evicted[3] == 1);
	net_slot_leave(c);
	test_assert(net_limit_count(l) == 3);
	net_slot_leave(f);
	net_slot_leave(g);
	net_slot_leave(h);
	test_assert(net_limit_count(l) == 0);
	net_limit_free(l);
	net_set_clock(NULL);
	test_end();
}

static void
test_net_slot_per_address_not_evicted(void)
{
	struct net_limit *l;
	struct net_slot	*a, *b;

	test_begin("an address at its limit is refused, nobody is evicted");
	memset(evicted, 0, sizeof(evicted));
	net_set_clock(fake_clock);
	fake_now = 100000;
	l = net_limit_new(2, 1);
	a = net_slot_enter(l, "2001:db8::1");
	b = net_slot_enter(l, "192.0.2.1");
	net_slot_set_evict(a, evict_cb, (void *)1);
	net_slot_set_evict(b, evict_cb, (void *)2);
	fake_now += 10000;
	test_assert(net_slot_enter(l, "2001:db8::2") == NULL);
	test_assert(net_slot_enter(l, "192.0.2.1") == NULL);
	test_assert(evicted[1] == 0 && evicted[2] == 0);
	net_slot_leave(a);
	net_slot_leave(b);
	test_assert(net_limit_count(l) == 0);
	net_limit_free(l);
	net_set_clock(NULL);
	test_end();
}

static void
test_net_slot_stress(void)
{
	struct net_limit *l;
	struct net_slot	*s[10];
	char	 a[32];
	int	 i;

	test_begin("stress begins above the high-water mark, ends 10 below");
	l = net_limit_new(10, 10);
	net_limit_set_stress(l, 80);
	for (i = 0; i < 8; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i);
		s[i] = net_slot_enter(l, a);
	}
	test_assert(!net_slot_stressed(s[0]));
	s[8] = net_slot_enter(l, "192.0.2.8");
	test_assert(net_slot_stressed(s[0]) && net_limit_stressed(l));
	net_slot_leave(s[8]);
	net_slot_leave(s[7]);
	test_assert(net_limit_stressed(l));
	net_slot_leave(s[6]);
	test_assert(!net_limit_stressed(l));
	for (i = 0; i < 6; i++)
		net_slot_leave(s[i]);
	net_limit_set_stress(l, 0);
	for (i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i);
		s[i] = net_slot_enter(l, a);
	}
	test_assert(!net_limit_stressed(l));
	for (i = 0; i < 10; i++)
		net_slot_leave(s[i]);
	net_limit_free(l);
	test_end();
}

static void
test_net_session_budget(void)
{
	struct rlimit	 rl, saved;

	test_begin("session budget raises RLIMIT_NOFILE up to the hard limit");
	test_assert(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	rl = saved;
	rl.rlim_cur = 256;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1200 + NET_FD_RESERVE)
		rl.rlim_max = saved.rlim_max;
	test_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max >= 1200 + NET_FD_RESERVE) {
		test_assert(net_session_budget(600, 2) == 600);
		test_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
		test_assert(rl.rlim_cur >= 1200 + NET_FD_RESERVE);
	}
	/* beyond the hard limit: as many as fit */
	rl.rlim_cur = rl.rlim_max = 1000;
	if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 1000) {
		test_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0);
		test_assert(net_session_budget(5000, 2) ==
		    (1000 - NET_FD_RESERVE) / 2);
	}
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_net_listen_connect,
		test_net_unix_peercred,
		test_net_limit,
		test_net_addr_key,
		test_net_limit_ipv6_by_64,
		test_net_limit_many_addresses,
		test_net_slot_eviction,
		test_net_slot_per_address_not_evicted,
		test_net_slot_stress,
		test_net_session_budget,	/* lowers the hard limit */
		NULL
	};

	return test_run(tests);
}
