/*
 * respawn.c - restarting a daemon's roles when they die; see respawn.h.
 *
 * Runs in the root parents (smtpd, submitd, imapd, mda, keystore).  It
 * never reads input: it only counts deaths, waits, and calls the role's
 * own start function, which forks and drops privileges as at start-up.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "respawn.h"

static int	 gave_up;

static void
respawn_timer_cb(int fd, short ev, void *arg)
{
	struct respawn	*r = arg;

	if (daemon_stopping() || r->pid != 0)
		return;
	r->restarts++;
	r->start(r, r->arg);
	log_info("role=%s restarted pid=%ld restarts=%u", r->name,
	    (long)r->pid, r->restarts);
}

void
respawn_init(struct respawn *r, struct event_base *base, const char *name,
    void (*start)(struct respawn *, void *), void *arg)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->start = start;
	r->arg = arg;
	if ((r->timer = evtimer_new(base, respawn_timer_cb, r)) == NULL)
		fatalx("evtimer_new");
}

/* Start the role now (at daemon start-up). */
void
respawn_run(struct respawn *r)
{
	r->start(r, r->arg);
}

/*
 * How long to wait before restarting a role that died at now: 0 after a
 * single death in the window, then doubling from RESPAWN_DELAY_MIN_MS with
 * each further quick death; UINT_MAX-like ~0u when the burst is used up.
 */
unsigned
respawn_next_delay_ms(const struct respawn *r, time_t now)
{
	unsigned	 i, recent = 0, d;

	for (i = 0; i < RESPAWN_BURST && i < r->ndeaths; i++)
		if (now - r->deaths[i] < RESPAWN_WINDOW)
			recent++;
	if (recent >= RESPAWN_BURST)
		return ~0u;
	if (recent <= 1)
		return 0;
	d = RESPAWN_DELAY_MIN_MS << (recent - 2);
	return d > RESPAWN_DELAY_MAX_MS ? RESPAWN_DELAY_MAX_MS : d;
}

static void
respawn_describe(int status, char *s, size_t sz)
{
	if (WIFSIGNALED(status))
		snprintf(s, sz, "signal=%d", WTERMSIG(status));
	else
		snprintf(s, sz, "status=%d", WEXITSTATUS(status));
}

/*
 * pid exited with status: if it was r's, schedule the restart (or give
 * up) and return 1; otherwise 0.
 */
int
respawn_reap(struct respawn *r, pid_t pid, int status)
{
	struct timeval	 tv;
	char		 how[32];
	unsigned	 delay;
	time_t		 now;

	if (r->pid == 0 || pid != r->pid)
		return 0;
	r->pid = 0;
	if (daemon_stopping())
		return 1;
	now = time(NULL);
	r->deaths[r->ndeaths++ % RESPAWN_BURST] = now;
	respawn_describe(status, how, sizeof(how));
	if ((delay = respawn_next_delay_ms(r, now)) == ~0u) {
		log_warnx("role=%s died %s, %d times in %ds; giving up",
		    r->name, how, RESPAWN_BURST, RESPAWN_WINDOW);
		gave_up = 1;
		daemon_stop();
		return 1;
	}
	log_warnx("role=%s pid=%ld died %s; restarting in %ums", r->name,
	    (long)pid, how, delay);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	return 1;
}

/* The role's channel closed: make sure the process is gone too. */
void
respawn_lost(struct respawn *r)
{
	if (r->pid > 0 && !daemon_stopping())
		kill(r->pid, SIGKILL);
}

/* Shutting down: no restart, and the role is asked to stop. */
void
respawn_stop(struct respawn *r)
{
	evtimer_del(r->timer);
	if (r->pid > 0)
		kill(r->pid, SIGTERM);
}

void
respawn_free(struct respawn *r)
{
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
}

/* Did a role die too often?  The parent then exits non-zero. */
int
respawn_failed(void)
{
	return gave_up;
}
