/*
 * verify.h - verification of one whole message in the event loop:
 * every DKIM signature (up to DKIM_MAX_SIGS), keys from DNS and, when
 * DNS has none, from the key server at the signing domain's MX host;
 * SPF for the MAIL FROM and HELO identities (common/spf.h) at the same
 * time; then DMARC (common/dmarc.h) on those results; then the verdict
 * of the site's policy (verdict.h) and the message rewritten with our
 * Authentication-Results on top and the forged ones removed (verify.c,
 * verdict.c, authres.c).
 *
 *	v = verify_start(&env, fd, off, done, arg);
 *	...
 *	done(v, arg):	verify_verdict(v), verify_why(v), verify_summary(),
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
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "dns.h"
#include "verdict.h"

struct buf;
struct dmarc_psl;
struct event_base;
struct ipc_conn;
struct verify;

#define VERIFY_HEADER_MAX	(1024 * 1024)	/* header section, bytes */
#define VERIFY_TIMEOUT_MS	15000

struct verify_env {
	struct event_base	*base;
	struct dns_ctx		*dns;		/* NULL: keys temperror */
	const char		*authserv_id;	/* our host name */
	int			 keyserver_port;	/* 0: none */
	int			 timeout_ms;	/* the whole verification */
	const struct dmarc_psl	*psl;		/* NULL: no DMARC */
	const struct verdict_policy *policy;
	struct dns_addr		 client;	/* the SMTP client, for SPF */
	int			 client_known;
	const char		*helo;
	const char		*mail_from;	/* "" for <> */
	struct verdict_tls	 tls;		/* the session's */
	struct ipc_conn		*parent;	/* asks the registry; NULL: no */
	const char		*registry_zones;	/* NULL: none */
	/* the callback (smtpd/callback.h); callback_port 0: never */
	int			 callback_port;
	SSL_CTX			*callback_ctx;
	const char		*sessid;	/* MAIL's SESSID=, or NULL */
	const struct sockaddr_storage *peer, *local;
	int			*callback_cache;	/* the session's */
};

typedef void	(*verify_cb)(struct verify *, void *);

struct verify	*verify_start(const struct verify_env *, int, off_t,
		    verify_cb, void *);
void		 verify_free(struct verify *);
/* The message could not be read, or its header is over the limit. */
const char	*verify_error(const struct verify *);
enum verdict_class verify_verdict(const struct verify *);
/* Why the message is not safe ("" when it is). */
const char	*verify_why(const struct verify *);
/* "from=<a@b> dkim=pass/example.org spf=pass ..." for the log line. */
void		 verify_summary(const struct verify *, struct buf *);
/* The message again, in a new memfd (offset 0): 0 or -1. */
int		 verify_rewrite(const struct verify *, int, off_t, int *);

#endif
