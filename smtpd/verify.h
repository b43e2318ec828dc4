/*
 * verify.h - DKIM verification of one whole message in the event loop:
 * every signature (up to DKIM_MAX_SIGS), keys from DNS and, when DNS
 * has none, from the key server at the signing domain's MX host; then
 * the class and the message rewritten with our Authentication-Results
 * on top and the forged ones removed (verify.c, authres.c).
 *
 *	v = verify_start(&env, fd, off, done, arg);
 *	...
 *	done(v, arg):	verify_class(v), verify_summary(v, &b),
 *			verify_rewrite(v, fd, off, &newfd)
 *	verify_free(v);		(at any time: pending lookups are dropped)
 *
 * The callback runs once, from the event loop, never from inside
 * verify_start(); the whole verification ends within env.timeout_ms
 * (keys still missing then are a temperror).  fd holds the message
 * from offset off on (what came before, e.g. our Received field, is
 * neither verified nor read as header but is kept by verify_rewrite).
 *
 * Callers: smtpd.receiver (unprivileged, chrooted); meant for the
 * queue's locally submitted mail too.
 */
#ifndef SM_VERIFY_H
#define SM_VERIFY_H

#include <sys/types.h>

struct buf;
struct dns_ctx;
struct event_base;
struct verify;

#define VERIFY_HEADER_MAX	(1024 * 1024)	/* header section, bytes */
#define VERIFY_TIMEOUT_MS	15000

struct verify_env {
	struct event_base	*base;
	struct dns_ctx		*dns;		/* NULL: keys temperror */
	const char		*authserv_id;	/* our host name */
	int			 keyserver_port;	/* 0: none */
	int			 timeout_ms;	/* the whole verification */
};

typedef void	(*verify_cb)(struct verify *, void *);

struct verify	*verify_start(const struct verify_env *, int, off_t,
		    verify_cb, void *);
void		 verify_free(struct verify *);
/* The message could not be read, or its header is over the limit. */
const char	*verify_error(const struct verify *);
int		 verify_class(const struct verify *);
/* "from=<a@b> dkim=pass/example.org ..." for the log line. */
void		 verify_summary(const struct verify *, struct buf *);
/* The message again, in a new memfd (offset 0): 0 or -1. */
int		 verify_rewrite(const struct verify *, int, off_t, int *);

#endif
