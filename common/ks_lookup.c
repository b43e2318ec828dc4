/*
 * ks_lookup.c - the key server's client (see ks_lookup.h): MX of the
 * signing domain, the host's address, TCP to the key server, one KEY.
 *
 * Runs in smtpd.receiver (unprivileged, chrooted, no file system): it
 * needs sockets only.  Everything it reads comes from hosts an attacker
 * may control (the MX of any domain): lines are bounded, so are the key
 * lines of an answer, and the whole lookup has one deadline, after which
 * the answer is a temporary failure whatever the server is doing.  A
 * server that says anything the protocol does not have is taken to have
 * no key (the signature is then a permerror, never a pass).
 *
 * What a failure means: no MX (or a null MX), no address, a connection
 * refused or reset, -ERR, no line for the selector: the domain publishes
 * no such key (DKIM_KEYQ_NONE).  A DNS answer that is not one
 * (SERVFAIL, timeout, bogus) or the deadline: DKIM_KEYQ_TEMPFAIL.
 * Only the most preferred MX host is asked, over IPv4; a -FW greeting
 * is followed once.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dns.h"
#include "ks_lookup.h"
#include "log.h"
#include "xmalloc.h"

enum ksl_state { KS_MX, KS_ADDR, KS_GREETING, KS_ANSWER, KS_DONE };

struct ks_lookup {
	struct event_base	*base;
	struct dns_ctx		*dns;
	struct ks_lookup_params	 p;
	char			*domain, *address, *selector;
	ks_lookup_cb		 cb;
	void			*arg;
	enum ksl_state		 state;
	struct dns_query	*q;
	struct bufferevent	*bev;
	struct event		*deadline;
	struct event		*later;		/* a result decided at start */
	int			 port;
	int			 forwarded;
	int			 nlines;
	enum dkim_keyq		 result;
	struct buf		 record;
};

static void	ksl_got_addr(const struct dns_result *, void *);

static void
ksl_close(struct ks_lookup *k)
{
	if (k->q != NULL)
		dns_cancel(k->q);
	k->q = NULL;
	if (k->bev != NULL)
		bufferevent_free(k->bev);
	k->bev = NULL;
}

static void
ksl_free(struct ks_lookup *k)
{
	ksl_close(k);
	event_free(k->deadline);
	event_free(k->later);
	buf_free(&k->record);
	free(k->domain);
	free(k->address);
	free(k->selector);
	free(k);
}

/* The lookup is over: the callback, then nothing of it is left. */
static void
ksl_finish(struct ks_lookup *k, enum dkim_keyq r, const char *why)
{
	log_debug("keyserver domain=%s selector=%s result=%s (%s)",
	    k->domain, k->selector, r == DKIM_KEYQ_FOUND ? "found" :
	    r == DKIM_KEYQ_NONE ? "none" : "tempfail", why);
	k->state = KS_DONE;
	ksl_close(k);
	k->cb(r, k->record.data ? k->record.data : "", k->record.len, k->arg);
	ksl_free(k);
}

static void
ksl_later(evutil_socket_t fd, short ev, void *arg)
{
	struct ks_lookup	*k = arg;

	(void)fd;
	(void)ev;
	ksl_finish(k, k->result, "decided at start");
}

static void
ksl_deadline(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	ksl_finish(arg, DKIM_KEYQ_TEMPFAIL, "timeout");
}

static int
ksl_send(struct ks_lookup *k, const char *line)
{
	return evbuffer_add_printf(bufferevent_get_output(k->bev), "%s\r\n",
	    line) == -1 ? -1 : 0;
}

static void	ksl_connect(struct ks_lookup *, const char *);

/*
 * One line of the greeting or of the answer; 1: stop reading this
 * connection (the lookup is over, or goes on over another).
 */
static int
ksl_line(struct ks_lookup *k, const char *line, size_t len)
{
	struct ks_line	 l;
	char		 cmd[16 + 320];

	if (k->state == KS_GREETING) {
		ks_lookup_parse_greeting(line, len, &l);
		if (l.kind == KSL_FORWARD && !k->forwarded) {
			k->forwarded = 1;
			k->port = l.port;
			bufferevent_free(k->bev);
			k->bev = NULL;
			ksl_connect(k, l.host);
			return 1;	/* the old connection is gone */
		}
		if (l.kind != KSL_GREETING) {
			ksl_finish(k, DKIM_KEYQ_NONE, "bad greeting");
			return 1;
		}
		(void)snprintf(cmd, sizeof(cmd), "KEY %s", k->address);
		(void)ksl_send(k, cmd);
		k->state = KS_ANSWER;
		return 0;
	}
	ks_lookup_parse_answer(line, len, &l);
	switch (l.kind) {
	case KSL_KEY:
	case KSL_REVOKED:
		if (++k->nlines > KS_LOOKUP_LINES_MAX) {
			ksl_finish(k, DKIM_KEYQ_NONE, "too many keys");
			return 1;
		}
		if (k->record.len == 0 && strcmp(l.selector, k->selector) == 0)
			(void)ks_lookup_record(&l, line, &k->record);
		return 0;
	case KSL_END:
		(void)ksl_send(k, "QUIT");
		ksl_finish(k, k->record.len > 0 ? DKIM_KEYQ_FOUND :
		    DKIM_KEYQ_NONE, "answer");
		return 1;
	case KSL_ERR:
		ksl_finish(k, DKIM_KEYQ_NONE, "-ERR");
		return 1;
	default:
		ksl_finish(k, DKIM_KEYQ_NONE, "bad answer line");
		return 1;
	}
}

static void
ksl_read(struct bufferevent *bev, void *arg)
{
	struct ks_lookup	*k = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;
	int			 over;

	for (;;) {
		if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) ==
		    NULL) {
			if (evbuffer_get_length(in) > KS_LOOKUP_LINE_MAX)
				ksl_finish(k, DKIM_KEYQ_NONE, "line too long");
			return;
		}
		over = ksl_line(k, line, len);
		free(line);
		if (over)
			return;
	}
}

static void
ksl_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	ksl_finish(arg, DKIM_KEYQ_NONE, (what & BEV_EVENT_EOF) ?
	    "connection closed" : "connection failed");
}

/* Connect to an address, or finish when it cannot be one. */
static void
ksl_dial(struct ks_lookup *k, const struct sockaddr *sa, socklen_t salen)
{
	k->state = KS_GREETING;
	/* deferred callbacks: none runs from inside a call of ours */
	k->bev = bufferevent_socket_new(k->base, -1, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (k->bev == NULL) {
		ksl_finish(k, DKIM_KEYQ_TEMPFAIL, "bufferevent");
		return;
	}
	bufferevent_setcb(k->bev, ksl_read, NULL, ksl_event, k);
	bufferevent_setwatermark(k->bev, EV_READ, 0, KS_LOOKUP_LINE_MAX * 4);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(k->bev, (struct sockaddr *)sa,
	    (int)salen) == -1)
		ksl_finish(k, DKIM_KEYQ_NONE, "connect");
}

/* host: an address literal (dialled now) or a name (its A record). */
static void
ksl_connect(struct ks_lookup *k, const char *host)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 lit[64];
	size_t			 n = strlen(host);

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)k->port);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)k->port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		ksl_dial(k, (struct sockaddr *)&sin, sizeof(sin));
		return;
	}
	if (host[0] == '[' && n - 2 < sizeof(lit)) {
		memcpy(lit, host + 1, n - 2);
		lit[n - 2] = '\0';
		if (inet_pton(AF_INET6, lit, &sin6.sin6_addr) == 1)
			ksl_dial(k, (struct sockaddr *)&sin6, sizeof(sin6));
		else
			ksl_finish(k, DKIM_KEYQ_NONE, "bad address literal");
		return;
	}
	k->state = KS_ADDR;
	if ((k->q = dns_query(k->dns, host, DNS_T_A, ksl_got_addr, k)) == NULL)
		ksl_finish(k, DKIM_KEYQ_NONE, "bad host name");
}

static void
ksl_got_addr(const struct dns_result *r, void *arg)
{
	struct ks_lookup	*k = arg;
	struct sockaddr_in	 sin;

	k->q = NULL;
	if (r->status == DNS_NXDOMAIN || r->status == DNS_NODATA) {
		ksl_finish(k, DKIM_KEYQ_NONE, "no address");
		return;
	}
	if (r->status != DNS_OK) {
		ksl_finish(k, DKIM_KEYQ_TEMPFAIL, dns_status_str(r->status));
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)k->port);
	sin.sin_addr = r->rr[0].u.addr.u.v4;
	ksl_dial(k, (struct sockaddr *)&sin, sizeof(sin));
}

static void
ksl_got_mx(const struct dns_result *r, void *arg)
{
	struct ks_lookup	*k = arg;
	char			*host;

	k->q = NULL;
	if (r->status == DNS_NXDOMAIN || r->status == DNS_NODATA) {
		ksl_finish(k, DKIM_KEYQ_NONE, "no MX");
		return;
	}
	if (r->status != DNS_OK) {
		ksl_finish(k, DKIM_KEYQ_TEMPFAIL, dns_status_str(r->status));
		return;
	}
	if (strcmp(r->rr[0].u.mx.host, ".") == 0) {
		ksl_finish(k, DKIM_KEYQ_NONE, "null MX");
		return;
	}
	/* the result is freed when this returns */
	host = xstrdup(r->rr[0].u.mx.host);
	ksl_connect(k, host);
	free(host);
}

struct ks_lookup *
ks_lookup_start(struct event_base *base, struct dns_ctx *dns,
    const struct ks_lookup_params *p, ks_lookup_cb cb, void *arg)
{
	struct ks_lookup	*k = xcalloc(1, sizeof(*k));
	struct timeval		 tv;

	k->base = base;
	k->dns = dns;
	k->p = *p;
	k->domain = xstrdup(p->domain);
	k->address = xstrdup(p->address);
	k->selector = xstrdup(p->selector);
	k->cb = cb;
	k->arg = arg;
	k->port = p->port;
	buf_init(&k->record, DKIM_KEYREC_MAX);
	if ((k->deadline = evtimer_new(base, ksl_deadline, k)) == NULL ||
	    (k->later = evtimer_new(base, ksl_later, k)) == NULL)
		fatalx("ks_lookup: evtimer_new");
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	evtimer_add(k->deadline, &tv);
	k->state = KS_MX;
	if (dns == NULL || strlen(p->address) > 300 ||
	    (k->q = dns_query(dns, p->domain, DNS_T_MX, ksl_got_mx, k)) ==
	    NULL) {
		/* never from inside this call: the caller is not ready */
		k->result = dns == NULL ? DKIM_KEYQ_TEMPFAIL : DKIM_KEYQ_NONE;
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(k->later, &tv);
	}
	return k;
}

void
ks_lookup_cancel(struct ks_lookup *k)
{
	if (k != NULL)
		ksl_free(k);
}
