/*
 * test-dns-ctx.c - the resolver context (common/dns.c) without a DNS
 * server: the [global] resolver setting, refused names, an answer
 * libunbound gives at once (localhost) still reaching the caller from
 * the loop, a silent upstream timing out within the bound, cancelling,
 * and freeing the context from a callback or with queries pending.
 * The silent upstream is a UDP socket and a TCP listener on loopback
 * that never answer.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "test.h"

static struct event_base *base;
static int	 ncalled;
static struct dns_result last;
static char	 last_addr[64];

static void
got(const struct dns_result *r, void *arg)
{
	ncalled++;
	last.status = r->status;
	last.sec = r->sec;
	last.nrr = r->nrr;
	last_addr[0] = '\0';
	if (r->nrr > 0 && r->rr[0].type == DNS_T_A)
		inet_ntop(AF_INET, &r->rr[0].u.addr.u.v4, last_addr,
		    sizeof(last_addr));
}

static void
stop(evutil_socket_t fd, short ev, void *arg)
{
	*(int *)arg = 1;
}

/* Run the loop until *flag or ms have passed; milliseconds taken. */
static long
run_until(int *flag, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 }, t0, t1;
	struct event *guard;
	int	 expired = 0;

	gettimeofday(&t0, NULL);
	guard = evtimer_new(base, stop, &expired);
	evtimer_add(guard, &tv);
	while (!expired && (flag == NULL || !*flag))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	gettimeofday(&t1, NULL);
	return (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_usec - t0.tv_usec) / 1000;
}

/*
 * A loopback upstream that never answers: a UDP socket nobody reads
 * and a TCP listener nobody accepts on, same port.  "127.0.0.1@PORT".
 */
static int	 silent_fd[2] = { -1, -1 };

static void
silent_upstream(char *spec, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int	 port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	silent_fd[0] = socket(AF_INET, SOCK_DGRAM, 0);
	bind(silent_fd[0], (struct sockaddr *)&sin, sizeof(sin));
	getsockname(silent_fd[0], (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	silent_fd[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(silent_fd[1], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(silent_fd[1], 1) == -1)
		test_fail(__FILE__, __LINE__, "binding the silent upstream");
	snprintf(spec, len, "127.0.0.1@%d", port);
}

static void
silent_close(void)
{
	close(silent_fd[0]);
	close(silent_fd[1]);
}

static const struct {
	const char	*s;
	int		 ok;
} resolvers[] = {
	{ "127.0.0.1", 1 },
	{ "127.0.0.1@5353", 1 },
	{ "::1@53", 1 },
	{ "192.0.2.1 192.0.2.2@54,2001:db8::1", 1 },
	{ "", 0 },
	{ "dns.example.org", 0 },
	{ "127.0.0.1@", 0 },
	{ "127.0.0.1@0", 0 },
	{ "127.0.0.1@65536", 0 },
	{ "127.0.0.1@-1", 0 },
	{ "127.0.0.1@53x", 0 },
	{ "127.0.0.1:53", 0 },
	{ "[::1]:53", 0 },
	{ "1.2.3", 0 },
	{ "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 "
	    "9.9.9.9", 0 },
};

static void
test_resolver_syntax(void)
{
	size_t	 i;

	test_begin("resolver: addresses with optional ports, nothing else");
	for (i = 0; i < sizeof(resolvers) / sizeof(resolvers[0]); i++)
		if (cfg_valid_resolver(resolvers[i].s) != resolvers[i].ok) {
			printf("  \"%s\"\n", resolvers[i].s);
			test_assert(0);
		}
	test_end();
}

static void
test_resolver_config(void)
{
	static const char good[] = "[global]\nresolver = 127.0.0.1@5353\n";
	static const char empty[] = "[global]\nresolver =\n";
	static const char bad[] = "[global]\n\nresolver = dns.example.org\n";
	struct sm_config c;
	char	 err[256];

	test_begin("[global] resolver: empty is the system's, bad names "
	    "its line");
	test_assert(config_parse_mem("t.conf", good, sizeof(good) - 1, &c,
	    err, sizeof(err)) == 0);
	test_assert_str(c.resolver, "127.0.0.1@5353");
	config_free(&c);
	test_assert(config_parse_mem("t.conf", empty, sizeof(empty) - 1, &c,
	    err, sizeof(err)) == 0);
	test_assert(c.resolver == NULL);
	config_free(&c);
	test_assert(config_parse_mem("t.conf", "", 0, &c, err,
	    sizeof(err)) == 0);
	test_assert(c.resolver == NULL);
	config_free(&c);
	test_assert(config_parse_mem("t.conf", bad, sizeof(bad) - 1, &c,
	    err, sizeof(err)) == -1);
	test_assert(strstr(err, "t.conf:3: resolver:") != NULL);
	test_end();
}

static void
test_init_refuses(void)
{
	struct dns_ctx *ctx;

	test_begin("dns_init refuses a bad resolver or trust anchor");
	test_assert(dns_init(base, "dns.example.org", NULL) == NULL);
	test_assert(dns_init(base, "127.0.0.1@53", "/nonexistent/ta") ==
	    NULL);
	ctx = dns_init(base, "127.0.0.1@53 ::1", NULL);
	test_assert(ctx != NULL);
	dns_free(ctx);
	test_end();
}

static void
test_bad_names(void)
{
	static const char *bad[] = {
		"", ".", "a..b", ".a", "a b", "a\\.b", "a\x01.b",
		"a\\03.b", "a\\256.b", "a\\",
		"\xc3\xa9.test",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",	/* label of 64 */
		NULL
	};
	char	 longname[300];
	struct dns_ctx *ctx;
	int	 i;

	test_begin("names that are not domain names are refused at once");
	ctx = dns_init(base, "127.0.0.1@53", NULL);
	ncalled = 0;
	for (i = 0; bad[i] != NULL; i++)
		if (dns_query(ctx, bad[i], DNS_T_A, got, NULL) != NULL) {
			printf("  \"%s\"\n", bad[i]);
			test_assert(0);
		}
	memset(longname, 'a', sizeof(longname));
	for (i = 63; i < 254; i += 64)
		longname[i] = '.';
	longname[254] = '\0';
	test_assert(dns_query(ctx, longname, DNS_T_A, got, NULL) == NULL);
	run_until(NULL, 50);
	test_assert(ncalled == 0);
	dns_free(ctx);
	test_end();
}

static void
test_escaped_byte_is_a_name(void)
{
	struct dns_ctx *ctx;

	/* a space written \032, as an SPF macro (%_) can make one */
	test_begin("a byte written \\DDD in a name is asked for");
	ctx = dns_init(base, "127.0.0.1@53", NULL);
	dns_set_timeout(ctx, 50);
	ncalled = 0;
	test_assert(dns_query(ctx, "a\\032b.test", DNS_T_A, got, NULL) !=
	    NULL);
	run_until(NULL, 300);
	test_assert(ncalled == 1);
	dns_free(ctx);
	test_end();
}

static void
test_immediate_answer(void)
{
	struct dns_ctx *ctx;
	char	 spec[64];

	test_begin("an answer libunbound has at once comes from the loop");
	silent_upstream(spec, sizeof(spec));
	ctx = dns_init(base, spec, NULL);
	ncalled = 0;
	test_assert(dns_query(ctx, "localhost", DNS_T_A, got, NULL) != NULL);
	test_assert(ncalled == 0);
	run_until(&ncalled, 2000);
	test_assert(ncalled == 1);
	test_assert(last.status == DNS_OK && last.sec == DNS_SEC_INSECURE);
	test_assert_str(last_addr, "127.0.0.1");
	dns_free(ctx);
	silent_close();
	test_end();
}

static void
test_timeout(void)
{
	struct dns_ctx *ctx;
	char	 spec[64];
	long	 ms;

	test_begin("a silent upstream times out within the bound");
	silent_upstream(spec, sizeof(spec));
	ctx = dns_init(base, spec, NULL);
	dns_set_timeout(ctx, 300);
	ncalled = 0;
	test_assert(dns_query(ctx, "mx.example.test", DNS_T_A, got, NULL) !=
	    NULL);
	ms = run_until(&ncalled, 5000);
	test_assert(ncalled == 1 && last.status == DNS_TIMEOUT);
	/* libevent's cached clock may run the timer a little early */
	if (ms < 150 || ms >= 2000) {
		printf("  %ld ms\n", ms);
		test_assert(0);
	}
	dns_free(ctx);
	silent_close();
	test_end();
}

static void
test_cancel(void)
{
	struct dns_ctx *ctx;
	struct dns_query *q;
	char	 spec[64];

	test_begin("a cancelled query never calls back");
	silent_upstream(spec, sizeof(spec));
	ctx = dns_init(base, spec, NULL);
	dns_set_timeout(ctx, 100);
	ncalled = 0;
	q = dns_query(ctx, "mx.example.test", DNS_T_A, got, NULL);
	dns_cancel(q);
	q = dns_query(ctx, "localhost", DNS_T_A, got, NULL);
	dns_cancel(q);		/* answered, not yet delivered */
	run_until(NULL, 400);
	test_assert(ncalled == 0);
	dns_free(ctx);
	silent_close();
	test_end();
}

static struct dns_ctx *free_me;

static void
got_and_free(const struct dns_result *r, void *arg)
{
	ncalled++;
	dns_free(free_me);
	free_me = NULL;
}

static void
test_free_from_callback(void)
{
	char	 spec[64];

	test_begin("a callback may free the context, pending queries too");
	silent_upstream(spec, sizeof(spec));
	free_me = dns_init(base, spec, NULL);
	ncalled = 0;
	dns_query(free_me, "mx.example.test", DNS_T_A, got, NULL);
	dns_query(free_me, "localhost", DNS_T_A, got_and_free, NULL);
	dns_query(free_me, "mx2.example.test", DNS_T_TXT, got, NULL);
	run_until(NULL, 300);
	test_assert(ncalled == 1 && free_me == NULL);
	silent_close();
	test_end();
}

static void
test_free_pending(void)
{
	struct dns_ctx *ctx;
	char	 spec[64];

	test_begin("dns_free with queries pending calls none back");
	silent_upstream(spec, sizeof(spec));
	ctx = dns_init(base, spec, NULL);
	ncalled = 0;
	dns_query(ctx, "mx.example.test", DNS_T_A, got, NULL);
	dns_query(ctx, "localhost", DNS_T_A, got, NULL);
	run_until(NULL, 50);
	dns_query(ctx, "localhost", DNS_T_AAAA, got, NULL);
	ncalled = 0;
	dns_free(ctx);
	run_until(NULL, 100);
	test_assert(ncalled == 0);
	silent_close();
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_resolver_syntax,
		test_resolver_config,
		test_init_refuses,
		test_bad_names,
		test_escaped_byte_is_a_name,
		test_immediate_answer,
		test_timeout,
		test_cancel,
		test_free_from_callback,
		test_free_pending,
		NULL
	};
	int	 r;

	log_init("test-dns-ctx", 1, LOG_LVL_ERR);
	base = event_base_new();
	r = test_run(tests);
	event_base_free(base);
	return r;
}
