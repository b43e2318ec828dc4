/*
 * notify.h - what submitd's parent remembers of recent submissions, and
 * the notice to the postmaster when an account is locked for crossing
 * its daily recipient limit.
 *
 *	notify_history_add(user, client, nrcpt, now);	(each message)
 *	notify_lockout(cfg, base, udb, user, client, n, used, limit, now);
 *
 * The notice goes through smtpd's queue like any message (queue.c) and
 * is delivered into the mailbox [global] postmaster names.
 */
#ifndef SM_SUBMIT_NOTIFY_H
#define SM_SUBMIT_NOTIFY_H

#include <time.h>

struct buf;
struct event_base;
struct sm_config;
struct userdb;

void	 notify_history_add(const char *, const char *, unsigned int,
	    time_t);
void	 notify_lockout_text(struct buf *, const struct sm_config *,
	    const char *, const char *, const char *, unsigned int,
	    unsigned int, unsigned int, time_t);
void	 notify_lockout(const struct sm_config *, struct event_base *,
	    struct userdb *, const char *, const char *, unsigned int,
	    unsigned int, unsigned int, time_t);

#endif
