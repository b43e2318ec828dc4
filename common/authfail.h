/*
 * authfail.h - failed logins, counted per client address and per user
 * within a window ([submitd] and [imapd] auth_fail_max/auth_fail_window);
 * the root parents of submitd and imapd each keep one table.
 *
 *	authfail_init(&af, cfg->auth_fail_max, cfg->auth_fail_window);
 *	if (authfail_barred(&af, client, now, &left)) refuse;
 *	delay_ms = authfail_record(&af, client, user, now, &r);
 *	authfail_success(&af, user, now);
 *
 * Addresses are counted as net_addr_key() groups them: an IPv6 client by
 * its /64, so walking through the addresses of one LAN gains nothing.
 * An address with max failures inside one window is barred for a window
 * from the failure that reached max.  Users are counted (for the log and
 * the delay) but never barred: that would let anybody lock anybody out.
 * The tables are fixed-size; the least recently failed entry makes room.
 * Used by the root parent; pure bookkeeping, no I/O.
 */
#ifndef SM_AUTHFAIL_H
#define SM_AUTHFAIL_H

#include <time.h>

#define AUTHFAIL_SLOTS		1024
#define AUTHFAIL_KEY_MAX	255
#define AUTHFAIL_STEP_MS	500	/* more delay per recent failure */
#define AUTHFAIL_DELAY_MAX_MS	5000

struct authfail_rec {
	char	 key[AUTHFAIL_KEY_MAX + 1];
	time_t	 first;		/* start of the counting window */
	time_t	 last;
	int	 count;
	time_t	 barred_until;
};

struct authfail {
	int			 max;	/* 0: never bar */
	long			 window;
	struct authfail_rec	 addr[AUTHFAIL_SLOTS];
	struct authfail_rec	 user[AUTHFAIL_SLOTS];
};

struct authfail_result {
	int	 addr_count;	/* of the address, in the window */
	int	 user_count;	/* of the user */
	int	 barred_now;	/* this failure barred the address */
};

void	 authfail_init(struct authfail *, int, long);
int	 authfail_barred(struct authfail *, const char *, time_t, time_t *);
int	 authfail_record(struct authfail *, const char *, const char *,
	    time_t, struct authfail_result *);
void	 authfail_success(struct authfail *, const char *, time_t);

#endif
