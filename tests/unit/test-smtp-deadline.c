/*
 * test-smtp-deadline.c - the session engine's deadlines (common/smtp.c,
 * see "Deadlines" in smtp.h): a script is written in part at once and
 * the rest dripped in slowly on a timer, and the test times when the
 * session ends; stress and eviction through a net_slot.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "net.h"
#include "smtp.h"
#include "test.h"
#include "smtp-testutil.h"

static struct {
	struct event_base	*base;
	int			 done;
	int			 fd;		/* message memfd */
	int			 nmsg;
	uint64_t		 closed_ms;
} R;

static int
h_data_begin(struct smtp_session *s, void *arg)
{
	R.fd = memfd_create("test-msg", 0);
	return R.fd;
}

static void
h_data_end(struct smtp_session *s, size_t size, void *arg)
{
	R.nmsg++;
	smtp_reply(s, 250, "2.0.0 Ok: queued as TEST%d", R.nmsg);
}

static void
h_txn_reset(struct smtp_session *s, void *arg)
{
	if (R.fd != -1)
		close(R.fd);
	R.fd = -1;
}

static void
h_close(struct smtp_session *s, void *arg)
{
	R.done = 1;
	R.closed_ms = net_now_ms();
}

/* every recipient is welcome (the engine's default answer) */
static const struct smtp_hooks hooks = {
	.data_begin = h_data_begin,
	.data_end = h_data_end,
	.txn_reset = h_txn_reset,
	.close = h_close,
};

struct drip {
	int		 fd;
	const char	*p;
	size_t		 len, off, step;
	struct timeval	 every;
	struct event	*ev;
};

static void
drip_cb(int fd, short ev, void *arg)
{
	struct drip	*d = arg;
	size_t		 n = d->len - d->off < d->step ? d->len - d->off :
			    d->step;

	if (R.done || n == 0 || write(d->fd, d->p + d->off, n) != (ssize_t)n)
		return;
	d->off += n;
	evtimer_add(d->ev, &d->every);
}

/*
 * Write head at once, then drip step bytes of drip every every_ms; run
 * until the session ends or max_ms.  Returns the session's length in ms
 * (-1: still open at max_ms) and every reply in out.
 */
static long
run_drip(const struct smtp_params *p, struct net_slot *slot,
    const char *head, const char *dripped, size_t step, int every_ms,
    int max_ms, char *out, size_t outlen)
{
	struct smtp_session	*s;
	struct drip		 d;
	uint64_t		 t0;
	size_t			 olen = 0;
	ssize_t			 n;
	int			 sv[2];
	long			 took;

	memset(&R, 0, sizeof(R));
	R.fd = -1;
	R.base = event_base_new();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (write(sv[1], head, strlen(head)) != (ssize_t)strlen(head))
		fatal("write");
	memset(&d, 0, sizeof(d));
	d.fd = sv[1];
	d.p = dripped;
	d.len = strlen(dripped);
	d.step = step;
	d.every.tv_sec = every_ms / 1000;
	d.every.tv_usec = (every_ms % 1000) * 1000;
	d.ev = evtimer_new(R.base, drip_cb, &d);
	evtimer_add(d.ev, &d.every);
	t0 = net_now_ms();
	s = smtp_session_new(R.base, sv[0], p, &hooks, NULL);
	if (slot != NULL)
		smtp_set_slot(s, slot);
	while (!R.done && net_now_ms() - t0 < (uint64_t)max_ms) {
		event_base_loop(R.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
		while ((n = read(sv[1], out + olen, outlen - 1 - olen)) > 0)
			olen += (size_t)n;
	}
	took = R.done ? (long)(R.closed_ms - t0) : -1;
	while ((n = read(sv[1], out + olen, outlen - 1 - olen)) > 0)
		olen += (size_t)n;
	out[olen] = '\0';
	if (!R.done) {
		close(sv[1]);
		sv[1] = -1;
		for (n = 0; n < 1000 && !R.done; n++)
			event_base_loop(R.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	if (sv[1] != -1)
		close(sv[1]);
	event_free(d.ev);
	event_base_free(R.base);
	return took;
}

static struct smtp_params dparams = {
	.hostname = "mx.test",
	.max_message_size = 100000,
	.max_rcpt = 3,
	.max_errors = 5,
	.text_line_max = 1000,
};

static void
test_command_deadline_not_restarted_by_bytes(void)
{
	static char	 out[8192];
	struct smtp_params p = dparams;
	long		 took;

	test_begin("a command line dripped a byte at a time misses its "
	    "deadline");
	p.timeout_cmd = 1;
	took = run_drip(&p, NULL, "EHLO c\r\n", "NOOP NOOP NOOP NOOP NOOP",
	    1, 100, 4000, out, sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert(strstr(out, "421 4.4.2") != NULL);
	/* a command that comes in time is answered */
	took = run_drip(&p, NULL, "EHLO c\r\n", "NOOP\r\nQUIT\r\n", 6, 300,
	    4000, out, sizeof(out));
	test_assert_str(st_codes(out), "220 250 250 221");
	test_end();
}

static void
test_greeting_deadline(void)
{
	static char	 out[8192];
	struct smtp_params p = dparams;
	long		 took;

	test_begin("the first command has greeting_timeout from connect");
	p.timeout_greeting = 1;
	p.timeout_cmd = 30;
	took = run_drip(&p, NULL, "", "EHLO slowly.example\r\n", 1, 100,
	    4000, out, sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert_str(st_codes(out), "220 421");
	test_end();
}

static void
test_session_deadline(void)
{
	static char	 out[16384];
	struct smtp_params p = dparams;
	long		 took;

	test_begin("a session of busy NOOPs ends at session_timeout");
	p.timeout_cmd = 30;
	p.timeout_session = 1;
	took = run_drip(&p, NULL, "EHLO c\r\n", "NOOP\r\nNOOP\r\nNOOP\r\n"
	    "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", 6,
	    200, 4000, out, sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert(strstr(out, "421 4.4.2") != NULL);
	test_end();
}

static void
test_data_deadline_follows_the_rate(void)
{
	static char	 out[8192], body[12000];
	struct smtp_params p = dparams;
	size_t		 i;
	long		 took;

	test_begin("content keeping data_min_rate is taken, a dribble is cut");
	p.timeout_cmd = 30;
	p.timeout_data = 1;
	p.data_min_rate = 1000;
	/* 11 KB in 2.2 s: over the 1 s base, within 1 s + size / rate */
	for (i = 0; i + 81 < sizeof(body) - 200; i += 82)
		snprintf(body + i, sizeof(body) - i, "%080zu\r\n", i);
	snprintf(body + i, sizeof(body) - i, ".\r\nQUIT\r\n");
	took = run_drip(&p, NULL, "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\n", body, 500, 100, 6000, out,
	    sizeof(out));
	test_assert_str(st_codes(out), "220 250 250 250 354 250 221");
	test_assert(took >= 2000);
	/* one byte per 100 ms: 10 B/s buys nothing past the base */
	took = run_drip(&p, NULL, "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\n", body, 1, 100, 4000, out,
	    sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert_str(st_codes(out), "220 250 250 250 354 421");
	test_assert(R.nmsg == 0);
	test_end();
}

static void
test_bdat_deadline(void)
{
	static char	 out[8192];
	struct smtp_params p = dparams;
	long		 took;

	test_begin("a BDAT chunk dripped a byte at a time misses its deadline");
	p.timeout_cmd = 30;
	p.timeout_data = 1;
	p.data_min_rate = 1000;
	took = run_drip(&p, NULL, "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nBDAT 100 LAST\r\n",
	    "Subject: slow\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1,
	    100, 4000, out, sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert(strstr(out, "421 4.4.2") != NULL);
	test_end();
}

static void
test_stress_shortens_waiting_sessions(void)
{
	static char	 out[8192];
	struct smtp_params p = dparams;
	struct net_limit *l;
	struct net_slot	*mine, *other;
	long		 took;

	test_begin("stress cuts a session already waiting to stress_timeout");
	p.timeout_greeting = 30;
	p.timeout_cmd = 30;
	p.timeout_stress = 1;
	l = net_limit_new(2, 2);
	net_limit_set_stress(l, 50);
	mine = net_slot_enter(l, "192.0.2.1");
	other = net_slot_enter(l, "192.0.2.2");		/* 2 of 2: stress */
	test_assert(net_limit_stressed(l));
	took = run_drip(&p, mine, "EHLO c\r\n", "", 1, 100, 4000, out,
	    sizeof(out));
	test_assert(took >= 900 && took < 2000);
	test_assert_str(st_codes(out), "220 250 421");
	net_slot_leave(mine);
	/* without stress the same session waits on */
	net_slot_leave(other);
	mine = net_slot_enter(l, "192.0.2.1");
	test_assert(!net_limit_stressed(l));
	took = run_drip(&p, mine, "EHLO c\r\n", "", 1, 100, 2500, out,
	    sizeof(out));
	test_assert(took == -1);
	net_slot_leave(mine);
	net_limit_free(l);
	test_end();
}

static uint64_t	 fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static void
test_eviction_closes_the_session(void)
{
	struct net_limit *l;
	struct net_slot	*mine, *next;
	char		 out[1024];
	ssize_t		 n;
	int		 sv[2], i;

	test_begin("an evicted session gets 421 4.7.0 and ends");
	memset(&R, 0, sizeof(R));
	R.fd = -1;
	R.base = event_base_new();
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	l = net_limit_new(1, 1);
	net_set_clock(fake_clock);
	fake_now = 1000000;
	mine = net_slot_enter(l, "192.0.2.1");
	smtp_set_slot(smtp_session_new(R.base, sv[0], &dparams, &hooks,
	    NULL), mine);
	for (i = 0; i < 20; i++)
		event_base_loop(R.base, EVLOOP_NONBLOCK);
	fake_now += 5000;
	next = net_slot_enter(l, "192.0.2.2");
	test_assert(next != NULL);
	for (i = 0; i < 200 && !R.done; i++)
		event_base_loop(R.base, EVLOOP_ONCE);
	test_assert(R.done);
	net_slot_leave(mine);
	n = read(sv[1], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	test_assert_str(st_codes(out), "220 421");
	test_assert(strstr(out, "421 4.7.0") != NULL);
	test_assert(net_limit_count(l) == 1);
	net_slot_leave(next);
	net_limit_free(l);
	net_set_clock(NULL);
	close(sv[1]);
	event_base_free(R.base);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_command_deadline_not_restarted_by_bytes,
		test_greeting_deadline,
		test_session_deadline,
		test_data_deadline_follows_the_rate,
		test_bdat_deadline,
		test_stress_shortens_waiting_sessions,
		test_eviction_closes_the_session,
		NULL
	};

	log_init("test-smtp-deadline", 1, LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);	/* as daemon_signals() does */
	return test_run(tests);
}
