/*
 * queue_dest.c - smtpd.queue: what it knows of each destination domain
 * its transmitters send to, after Postfix's qmgr (destination
 * concurrency feedback, "dead destination").
 *
 * A destination starts with one transmitter at a time.  Every attempt
 * that reached a server (whatever the server said) is positive feedback:
 * after as many of them as its limit, the limit grows by one, up to the
 * number of transmitters.  An attempt that reached no server (no host
 * answered, or none met the TLS policy: "4.4.1", "4.7.5" from
 * mta_session.c) is negative feedback: the limit shrinks by one.  When a
 * whole cohort of attempts failed in a row (as many as the limit was
 * when they began failing) the destination is dead for dead_time
 * seconds: its mail is deferred without a connection (q_dest_dead) and
 * the first attempt after that is again a cohort of one.  Every change
 * is logged ("dest=... concurrency=..." and "dest=... dead").
 *
 * Pure bookkeeping, no I/O but the log, so that test-queue-dest.c can
 * drive it with a clock of its own.  Runs in smtpd.queue (queue_user,
 * chrooted); the domains come from envelopes the queue checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "queue.h"
#include "xmalloc.h"

struct q_dest {
	struct q_dest	*next;
	char		 domain[256];
	int		 limit;		/* transmitters at once */
	int		 ok;		/* successes since it last grew */
	int		 fails;		/* failed attempts in a row */
	int		 cohort;	/* the limit when they began */
	time_t		 dead_until;	/* 0: alive */
	char		 why[256];	/* the last failure */
};

/* The status after "NNN " in a result text ("4.4.1"), or "". */
static void
status_of(const char *text, char *st, size_t len)
{
	size_t	 n;

	st[0] = '\0';
	if (strlen(text) < 9 || text[3] != ' ')
		return;
	n = strcspn(text + 4, " ");
	if (n < len) {
		memcpy(st, text + 4, n);
		st[n] = '\0';
	}
}

/*
 * What a transmitter's result text (mta_result_text: "NNN X.Y.Z ...")
 * says of the destination's servers: reached one, reached none, or
 * nothing (not attempted, DNS, a loop, a connection lost midway).
 */
enum q_dest_fb
q_dest_outcome(const char *text)
{
	static const char *const fail[] = { "4.4.1", "4.7.5" };
	static const char *const none[] = { "4.3.0", "4.4.2", "4.4.3",
	    "5.1.2", "5.1.3", "5.1.7", "5.1.10", "5.4.6" };
	char	 st[16];
	size_t	 i;

	if (text == NULL || text[0] < '2' || text[0] > '5')
		return Q_DEST_NONE;
	if (text[0] == '2')
		return Q_DEST_OK;
	status_of(text, st, sizeof(st));
	for (i = 0; i < sizeof(fail) / sizeof(fail[0]); i++)
		if (strcmp(st, fail[i]) == 0)
			return Q_DEST_FAIL;
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (strcmp(st, none[i]) == 0)
			return Q_DEST_NONE;
	return Q_DEST_OK;
}

/*
 * At Q_DEST_TRACK entries, the oldest one that is not dead goes: a
 * destination forgotten starts again at one transmitter, which is safe.
 */
static void
forget_one(struct q_dests *ds)
{
	struct q_dest	**pp, **victim = NULL, *d;
	int		  n = 0;

	for (pp = &ds->head; *pp != NULL; pp = &(*pp)->next, n++)
		if ((*pp)->dead_until == 0)
			victim = pp;
	if (n >= Q_DEST_TRACK && victim != NULL) {
		d = *victim;
		*victim = d->next;
		free(d);
	}
}

static struct q_dest *
find(struct q_dests *ds, const char *domain, int make)
{
	struct q_dest	*d;

	for (d = ds->head; d != NULL; d = d->next)
		if (strcasecmp(d->domain, domain) == 0)
			return d;
	if (!make)
		return NULL;
	forget_one(ds);
	d = xcalloc(1, sizeof(*d));
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	d->limit = 1;
	d->next = ds->head;
	ds->head = d;
	return d;
}

/* A dead destination whose time is up gets a cohort of one. */
static void
revive(struct q_dest *d, time_t now)
{
	if (d->dead_until == 0 || now < d->dead_until)
		return;
	log_info("dest=%s no longer dead: one attempt to see", d->domain);
	d->dead_until = 0;
	d->limit = 1;
	d->fails = 0;
	d->ok = 0;
}

/* How many transmitters domain may have at once; 0 while it is dead. */
int
q_dest_limit(struct q_dests *ds, const char *domain, time_t now)
{
	struct q_dest	*d;

	if ((d = find(ds, domain, 0)) == NULL)
		return 1;
	revive(d, now);
	return d->dead_until != 0 ? 0 : d->limit;
}

/*
 * Is domain dead now?  NULL, or why (its last failure) with until_r the
 * time of the next attempt.
 */
const char *
q_dest_dead(struct q_dests *ds, const char *domain, time_t now,
    time_t *until_r)
{
	struct q_dest	*d;

	if ((d = find(ds, domain, 0)) == NULL)
		return NULL;
	revive(d, now);
	if (d->dead_until == 0)
		return NULL;
	*until_r = d->dead_until;
	return d->why;
}

static void
success(struct q_dests *ds, struct q_dest *d)
{
	if (d->dead_until != 0)
		log_info("dest=%s answers again: no longer dead", d->domain);
	d->dead_until = 0;
	d->fails = 0;
	if (++d->ok >= d->limit && d->limit < ds->max) {
		d->limit++;
		d->ok = 0;
		log_info("dest=%s concurrency=%d (grew after successes)",
		    d->domain, d->limit);
	}
}

static void
failure(struct q_dests *ds, struct q_dest *d, const char *why, time_t now)
{
	if (d->dead_until != 0)
		return;		/* an attempt of the cohort that killed it */
	snprintf(d->why, sizeof(d->why), "%s", why);
	if (d->fails++ == 0)
		d->cohort = d->limit;
	d->ok = 0;
	if (d->fails >= d->cohort) {
		d->dead_until = now + ds->dead_time;
		d->limit = 1;
		log_info("dest=%s dead: %d attempt(s) in a row reached no "
		    "server; its mail is deferred untried for %lds (%s)",
		    d->domain, d->fails, ds->dead_time, why);
		return;
	}
	if (d->limit > 1) {
		d->limit--;
		log_info("dest=%s concurrency=%d (shrank after a failure: %s)",
		    d->domain, d->limit, why);
	}
}

/* One attempt's outcome for domain (why: its result text). */
void
q_dest_feedback(struct q_dests *ds, const char *domain, enum q_dest_fb fb,
    const char *why, time_t now)
{
	struct q_dest	*d;

	if (fb == Q_DEST_NONE)
		return;
	d = find(ds, domain, 1);
	if (fb == Q_DEST_OK)
		success(ds, d);
	else
		failure(ds, d, why, now);
}

void
q_dest_free(struct q_dests *ds)
{
	struct q_dest	*d;

	while ((d = ds->head) != NULL) {
		ds->head = d->next;
		free(d);
	}
}
