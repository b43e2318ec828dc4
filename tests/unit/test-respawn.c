/*
 * test-respawn.c - the restart policy of common/respawn: a real forked
 * child is reaped and started again, quick deaths back off, and a burst
 * of them gives up (the parent then exits non-zero).
 */
#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "respawn.h"
#include "test.h"

static int	 starts;

static void
start_sleeper(struct respawn *r, void *arg)
{
	starts++;
	if ((r->pid = fork()) == 0) {
		pause();
		_exit(0);
	}
}

static void
test_first_death_restarts_at_once(void)
{
	struct respawn	 r;

	test_begin("respawn: the first death in the window restarts at once");
	memset(&r, 0, sizeof(r));
	test_assert(respawn_next_delay_ms(&r, 1000) == 0);
	r.deaths[0] = 1000;
	r.ndeaths = 1;
	test_assert(respawn_next_delay_ms(&r, 1001) == 0);
	test_end();
}

static void
test_quick_deaths_back_off(void)
{
	struct respawn	 r;

	test_begin("respawn: quick deaths back off, doubling from 100 ms");
	memset(&r, 0, sizeof(r));
	r.deaths[0] = r.deaths[1] = 1000;
	r.ndeaths = 2;
	test_assert(respawn_next_delay_ms(&r, 1001) == RESPAWN_DELAY_MIN_MS);
	r.deaths[2] = 1000;
	r.ndeaths = 3;
	test_assert(respawn_next_delay_ms(&r, 1001) ==
	    2 * RESPAWN_DELAY_MIN_MS);
	test_end();
}

static void
test_old_deaths_are_forgotten(void)
{
	struct respawn	 r;

	test_begin("respawn: deaths older than the window do not count");
	memset(&r, 0, sizeof(r));
	r.deaths[0] = r.deaths[1] = r.deaths[2] = r.deaths[3] = 1000;
	r.ndeaths = 4;
	test_assert(respawn_next_delay_ms(&r, 1000 + RESPAWN_WINDOW) == 0);
	test_end();
}

static void
test_burst_gives_up(void)
{
	struct respawn	 r;
	unsigned	 i;

	test_begin("respawn: RESPAWN_BURST deaths in the window give up");
	memset(&r, 0, sizeof(r));
	for (i = 0; i < RESPAWN_BURST; i++)
		r.deaths[i] = 1000;
	r.ndeaths = RESPAWN_BURST;
	test_assert(respawn_next_delay_ms(&r, 1001) == ~0u);
	test_end();
}

static void
stop_loop(int fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

static void
test_killed_child_is_restarted(void)
{
	struct event_base *base;
	struct event	*t;
	struct respawn	 r;
	struct timeval	 tv = { 0, 300000 };
	pid_t		 first;
	int		 status;

	test_begin("respawn: a killed role is reaped and started again");
	base = event_base_new();
	starts = 0;
	respawn_init(&r, base, "test.sleeper", start_sleeper, NULL);
	respawn_run(&r);
	first = r.pid;
	test_assert(first > 0 && starts == 1);
	kill(first, SIGKILL);
	test_assert(waitpid(first, &status, 0) == first);
	test_assert(respawn_reap(&r, first + 100000, status) == 0);
	test_assert(respawn_reap(&r, first, status) == 1);
	test_assert(r.pid == 0);
	t = evtimer_new(base, stop_loop, base);
	evtimer_add(t, &tv);
	event_base_dispatch(base);
	test_assert(starts == 2 && r.pid > 0 && r.pid != first);
	test_assert(r.restarts == 1 && !respawn_failed());
	respawn_stop(&r);
	waitpid(r.pid, NULL, 0);
	respawn_free(&r);
	event_free(t);
	event_base_free(base);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_first_death_restarts_at_once,
		test_quick_deaths_back_off,
		test_old_deaths_are_forgotten,
		test_burst_gives_up,
		test_killed_child_is_restarted,
		NULL
	};

	log_init("test-respawn", 1, 0);
	return test_run(tests);
}
