/*
 * dns.c - asynchronous lookups on libunbound inside the caller's
 * libevent loop; see dns.h for the interface and the upstream, DNSSEC
 * and timeout rules.
 *
 * Linked into every program that resolves names (in the daemons, the
 * unprivileged processes that verify and deliver mail).  libunbound
 * runs its resolver state machines on our event base
 * (ub_ctx_create_event) and calls dns_ub_done() with the answer packet,
 * which dns_parse() reads with its own bounds.  libunbound may answer
 * from inside ub_resolve_event() (a cache hit, a local zone), so the
 * caller's callback is always run later, from a zero timer: a caller
 * never sees its callback before dns_query() has returned.
 *
 * A query's one timer is first its timeout, then, once libunbound has
 * answered, the event that delivers the result.  Cancelling a query
 * that libunbound still holds uses ub_cancel(), after which libunbound
 * never calls back (an event context resolves in this process, so the
 * cancel takes effect at once); the lookup it was running may go on to
 * fill its cache, harmlessly.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "xmalloc.h"

#define DNS_NAME_MAX	253	/* characters, without the final dot */
#define DNS_C_IN	1

enum dns_state {
	DNS_WAITING,	/* libunbound holds the query */
	DNS_ANSWERED	/* the result waits on the zero timer */
};

struct dns_query {
	TAILQ_ENTRY(dns_query) entry;
	struct dns_ctx	*ctx;
	enum dns_state	 state;
	int		 async_id;
	uint16_t	 type;
	dns_cb		 cb;
	void		*arg;
	struct event	*timer;
	unsigned char	*packet;	/* our copy of libunbound's */
	struct dns_result res;
};

struct dns_ctx {
	struct event_base *base;
	struct ub_ctx	*ub;
	int		 timeout_ms;
	TAILQ_HEAD(, dns_query) queries;
};

static int
dns_ub_check(int r, const char *what)
{
	if (r != 0)
		log_warnx("dns: %s: %s", what, ub_strerror(r));
	return r == 0 ? 0 : -1;
}

/* Forward to each address of a "ADDR[@PORT] ..." setting. */
static int
dns_set_upstream(struct ub_ctx *ub, const char *resolver)
{
	char	*copy, *p, *tok;
	int	 r = 0;

	if (resolver == NULL || *resolver == '\0')
		return dns_ub_check(ub_ctx_resolvconf(ub, NULL),
		    "reading /etc/resolv.conf");
	if (!cfg_valid_resolver(resolver)) {
		log_warnx("dns: resolver \"%s\": expected ADDR[@PORT] ...",
		    resolver);
		return -1;
	}
	copy = xstrdup(resolver);
	for (p = copy; r == 0 && (tok = strsep(&p, " \t,")) != NULL;)
		if (*tok != '\0')
			r = dns_ub_check(ub_ctx_set_fwd(ub, tok), tok);
	free(copy);
	return r;
}

static int
dns_setup(struct ub_ctx *ub, const char *resolver, const char *ta)
{
	if (dns_ub_check(ub_ctx_set_option(ub, "do-not-query-localhost:",
	    "no"), "do-not-query-localhost") == -1 ||
	    dns_ub_check(ub_ctx_set_option(ub, "local-zone:",
	    "test. transparent"), "local-zone test.") == -1 ||
	    dns_set_upstream(ub, resolver) == -1)
		return -1;
	if (ta != NULL && dns_ub_check(ub_ctx_add_ta_file(ub, ta), ta) == -1)
		return -1;
	/*
	 * Adding a zone finalizes the context: the trust anchor is read
	 * and the modules set up now, before the caller chroots, instead
	 * of at the first query.  ".invalid" is a zone libunbound already
	 * answers with NXDOMAIN (RFC 6761), so nothing changes.
	 */
	return dns_ub_check(ub_ctx_zone_add(ub, "invalid.", "static"),
	    "finalizing the resolver");
}

struct dns_ctx *
dns_init(struct event_base *base, const char *resolver, const char *ta)
{
	struct dns_ctx *ctx;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->base = base;
	ctx->timeout_ms = DNS_TIMEOUT_DEFAULT;
	TAILQ_INIT(&ctx->queries);
	if ((ctx->ub = ub_ctx_create_event(base)) == NULL) {
		log_warnx("dns: cannot create the libunbound context");
		free(ctx);
		return NULL;
	}
	if (dns_setup(ctx->ub, resolver, ta) == -1) {
		ub_ctx_delete(ctx->ub);
		free(ctx);
		return NULL;
	}
	return ctx;
}

int
dns_zone_transparent(struct dns_ctx *ctx, const char *zone)
{
	return dns_ub_check(ub_ctx_zone_add(ctx->ub, zone, "transparent"),
	    zone);
}

/* Free a query that is out of the context's list. */
static void
dns_query_destroy(struct dns_query *q)
{
	event_free(q->timer);
	dns_result_clear(&q->res);
	free(q->packet);
	free(q);
}

void
dns_cancel(struct dns_query *q)
{
	if (q->state == DNS_WAITING)
		(void)ub_cancel(q->ctx->ub, q->async_id);
	TAILQ_REMOVE(&q->ctx->queries, q, entry);
	dns_query_destroy(q);
}

void
dns_free(struct dns_ctx *ctx)
{
	struct dns_query *q;

	if (ctx == NULL)
		return;
	/* cancelled first: deleting the context fails what it holds */
	while ((q = TAILQ_FIRST(&ctx->queries)) != NULL)
		dns_cancel(q);
	ub_ctx_delete(ctx->ub);
	free(ctx);
}

void
dns_set_timeout(struct dns_ctx *ctx, int ms)
{
	if (ms > 0)
		ctx->timeout_ms = ms;
}

/* Hand the result over on the next turn of the loop. */
static void
dns_answered(struct dns_query *q)
{
	struct timeval tv = { 0, 0 };

	q->state = DNS_ANSWERED;
	evtimer_del(q->timer);
	evtimer_add(q->timer, &tv);
}

/*
 * The timeout, or the delivery of an answer.  The query leaves the
 * list before the callback, which may free the whole context.
 */
static void
dns_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_query *q = arg;

	if (q->state == DNS_WAITING) {
		(void)ub_cancel(q->ctx->ub, q->async_id);
		q->res.status = DNS_TIMEOUT;
		log_info("dns name=%s type=%u status=timeout", q->res.qname,
		    q->type);
	}
	TAILQ_REMOVE(&q->ctx->queries, q, entry);
	q->cb(&q->res, q->arg);
	dns_query_destroy(q);
}

static enum dns_sec
dns_sec_of(int sec)
{
	return sec == 2 ? DNS_SEC_SECURE : sec == 1 ? DNS_SEC_BOGUS :
	    DNS_SEC_INSECURE;
}

/*
 * libunbound's answer.  rcode is nonzero (and packet NULL) when it has
 * no answer to give; otherwise the packet's own rcode tells NXDOMAIN,
 * which the callback's rcode does not.  A bogus answer keeps no
 * records: nothing in it may be used.
 */
static void
dns_ub_done(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int ratelimited)
{
	struct dns_query *q = arg;
	struct dns_result *res = &q->res;

	res->sec = dns_sec_of(sec);
	if (rcode != 0 || packet == NULL || len <= 0) {
		res->status = DNS_TEMPFAIL;
		res->rcode = rcode;
	} else {
		q->packet = xmalloc((size_t)len);
		memcpy(q->packet, packet, (size_t)len);
		res->packet = q->packet;
		res->packet_len = (size_t)len;
		if (res->sec == DNS_SEC_BOGUS)
			res->rcode = len >= 4 ? q->packet[3] & 0x0f : -1;
		else if (dns_parse(q->packet, res->packet_len, q->type,
		    res) == -1)
			log_warnx("dns name=%s type=%u malformed answer",
			    res->qname, q->type);
	}
	if (res->sec == DNS_SEC_BOGUS) {
		res->status = DNS_BOGUS;
		if (why_bogus != NULL)
			res->why_bogus = xstrdup(why_bogus);
		log_info("dns name=%s type=%u status=bogus why=\"%s\"",
		    res->qname, q->type, why_bogus ? why_bogus : "");
	}
	dns_answered(q);
}

/*
 * A name libunbound may be given: printable ASCII labels, where a byte
 * outside it (a space in a name an SPF macro built) is written \DDD as
 * in our own names, and counts as one octet; no other escape.
 */
static int
dns_valid_name(const char *name)
{
	size_t	 len = strlen(name), label = 0, octets = 0, i;
	int	 c;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)name[i];
		if (c == '\\') {
			if (i + 3 >= len || !isdigit((unsigned char)name[i + 1])
			    || !isdigit((unsigned char)name[i + 2]) ||
			    !isdigit((unsigned char)name[i + 3]) ||
			    (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10
			    + name[i + 3] - '0' > 255)
				return 0;
			i += 3;
		} else if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			octets++;
			continue;
		} else if (c <= 0x20 || c >= 0x7f)
			return 0;
		if (++label > 63 || ++octets > DNS_NAME_MAX)
			return 0;
	}
	return label > 0;
}

struct dns_query *
dns_query(struct dns_ctx *ctx, const char *name, uint16_t type, dns_cb cb,
    void *arg)
{
	struct dns_query *q;
	struct timeval tv;
	int	 r;

	if (!dns_valid_name(name))
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->ctx = ctx;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->res.qname = xstrdup(name);
	q->res.qtype = type;
	q->res.rcode = -1;
	if ((q->timer = evtimer_new(ctx->base, dns_timer, q)) == NULL)
		fatalx("dns: evtimer_new");
	TAILQ_INSERT_TAIL(&ctx->queries, q, entry);
	q->state = DNS_WAITING;
	tv.tv_sec = ctx->timeout_ms / 1000;
	tv.tv_usec = (ctx->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	r = ub_resolve_event(ctx->ub, name, type, DNS_C_IN, q, dns_ub_done,
	    &q->async_id);
	if (r != 0) {
		log_warnx("dns name=%s type=%u: %s", name, type,
		    ub_strerror(r));
		q->res.status = DNS_TEMPFAIL;
		dns_answered(q);
	}
	return q;
}
