/*
 * callback_check.c - the callback verifier (callback.h): asks the host
 * an SMTP client connected from whether the session ID it offered
 * (SESSID=) belongs to a session open from it to us.
 *
 * Called from the receiver's verdict (smtpd/verify.c) in smtpd.receiver
 * ([global] user, chrooted) and from tests/tools/cbkcheck.  It connects
 * only to the address it is given, the SMTP client's own (the API takes
 * a socket address, never a name: a receiver that connected wherever a
 * client's HELO pointed would be a reflector), on [smtpd] callback_port,
 * and reads exactly one answer of five octets.  With a local address
 * (cbk_check_start_from) it connects from the address the client
 * reached, so a multi-homed receiver asks from the address the sender
 * knows it by.
 *
 * TLS: always, from the first byte, but the certificate is not required
 * to verify: the ID is the secret (256 random bits that only the sender
 * and this receiver have seen, over the SMTP session), and the answer
 * is worth something only to the receiver the ID was offered to.  When
 * the context has trust anchors ([global] tls_ca) and the responder's
 * certificate chains to them, CBK_F_CERT says so, for the verdict.
 *
 * Results: YES is CBK_PASS, "NO " is CBK_FAIL; everything else is
 * CBK_UNKNOWN and never a refusal: no connection, a timeout, a TLS
 * failure, a malformed or short answer, and more than CBK_CHECK_RATE
 * callbacks a minute to one address (then it does not even connect).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/x509.h>

#include "callback.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "xmalloc.h"

struct cbk_check {
	struct event_base	*base;
	struct bufferevent	*bev;	/* TCP, then the TLS filter on it */
	SSL_CTX			*ctx;
	int			 tls;	/* bev is the TLS filter */
	struct event		*timer;	/* the deadline; at once for a
					   result known before connecting */
	cbk_done_fn		 cb;
	void			*arg;
	char			 id[CBK_ID_LEN + 1];
	enum cbk_result		 result;
	int			 flags;
	const char		*why;
};

static struct cbk_rate	 rates[CBK_RATE_SLOTS];

const char *
cbk_result_name(enum cbk_result r)
{
	return r == CBK_PASS ? "pass" : r == CBK_FAIL ? "fail" : "unknown";
}

static void
check_free(struct cbk_check *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);	/* and the SSL, the socket */
	event_free(c->timer);
	explicit_bzero(c->id, sizeof(c->id));
	free(c);
}

static void
finish(struct cbk_check *c, enum cbk_result r, const char *why)
{
	cbk_done_fn	 cb = c->cb;
	void		*arg = c->arg;
	int		 flags = c->flags;

	check_free(c);
	cb(r, flags, why, arg);
}

/* The result is known already: it is given from the event loop. */
static void
finish_later(struct cbk_check *c, enum cbk_result r, const char *why)
{
	struct timeval	 now = { 0, 0 };

	c->result = r;
	c->why = why;
	evtimer_add(c->timer, &now);
}

static void
check_timer(int fd, short ev, void *arg)
{
	struct cbk_check *c = arg;

	if (c->why != NULL)
		finish(c, c->result, c->why);
	else
		finish(c, CBK_UNKNOWN, "timeout");
}

static void
check_read(struct bufferevent *bev, void *arg)
{
	struct cbk_check *c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		 a[CBK_ANSWER_LEN];

	if (evbuffer_get_length(in) < CBK_ANSWER_LEN)
		return;
	evbuffer_remove(in, a, sizeof(a));
	if (evbuffer_get_length(in) > 0)
		finish(c, CBK_UNKNOWN, "answer too long");
	else if (memcmp(a, CBK_YES, CBK_ANSWER_LEN) == 0)
		finish(c, CBK_PASS, "yes");
	else if (memcmp(a, CBK_NO, CBK_ANSWER_LEN) == 0)
		finish(c, CBK_FAIL, "no");
	else
		finish(c, CBK_UNKNOWN, "malformed answer");
}

/* The responder's certificate chains to our trust anchors. */
static int
cert_chains(SSL *ssl)
{
	X509	*x;
	int	 ok;

	if ((x = SSL_get1_peer_certificate(ssl)) == NULL)
		return 0;
	ok = SSL_get_verify_result(ssl) == X509_V_OK;
	X509_free(x);
	return ok;
}

static void
check_event(struct bufferevent *bev, short what, void *arg)
{
	struct cbk_check *c = arg;
	char		 line[CBK_LINE_MAX];

	if ((what & BEV_EVENT_CONNECTED) && !c->tls) {
		/* TCP is up: TLS from the first byte */
		if ((bev = tls_starttls(c->bev, c->ctx, 0, NULL)) == NULL) {
			finish(c, CBK_UNKNOWN, "TLS failed");
			return;
		}
		c->bev = bev;
		c->tls = 1;
		bufferevent_setcb(bev, check_read, NULL, check_event, c);
		bufferevent_setwatermark(bev, EV_READ, 0, 64);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		/* the handshake is done: ask */
		if (cert_chains(bufferevent_openssl_get_ssl(bev)))
			c->flags |= CBK_F_CERT;
		snprintf(line, sizeof(line), "CHECK %s\r\n", c->id);
		bufferevent_write(bev, line, strlen(line));
		explicit_bzero(line, sizeof(line));
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_EOF)
		finish(c, CBK_UNKNOWN, "closed before the answer");
	else if (what & BEV_EVENT_ERROR)
		finish(c, CBK_UNKNOWN, c->tls ? "TLS failed" :
		    "no connection");
}

static socklen_t
sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

/* A socket from local (port 0), connecting to peer:port on bev. */
static int
check_connect(struct cbk_check *c, const struct sockaddr *peer,
    const struct sockaddr *local, int port)
{
	struct sockaddr_storage ss, ls;
	int		 fd;

	memcpy(&ss, peer, sa_len(peer));
	if (peer->sa_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	if ((fd = socket(peer->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (local != NULL) {
		memcpy(&ls, local, sa_len(local));
		if (local->sa_family == AF_INET6)
			((struct sockaddr_in6 *)&ls)->sin6_port = 0;
		else
			((struct sockaddr_in *)&ls)->sin_port = 0;
		if (local->sa_family != peer->sa_family ||
		    bind(fd, (struct sockaddr *)&ls, sa_len(local)) == -1) {
			close(fd);
			return -1;
		}
	}
	if ((c->bev = bufferevent_socket_new(c->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(c->bev, NULL, NULL, check_event, c);
	return bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    sa_len(peer));
}

/*
 * Ask peer (the SMTP client's address; its port is ignored) on port
 * whether id is a session open from it to us, connecting from local
 * (NULL: the system's choice); cb gets the result within timeout_ms.
 */
struct cbk_check *
cbk_check_start_from(struct event_base *base, SSL_CTX *ctx,
    const struct sockaddr *peer, const struct sockaddr *local, int port,
    const char *id, int timeout_ms, cbk_done_fn cb, void *arg)
{
	struct cbk_check *c = xcalloc(1, sizeof(*c));
	struct timeval	 tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char		 addr[CBK_ADDR_MAX];

	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->timer = evtimer_new(base, check_timer, c);
	if (ctx == NULL || port <= 0 || port > 65535 || id == NULL ||
	    !smtp_sessid_valid(id) || (peer->sa_family != AF_INET &&
	    peer->sa_family != AF_INET6)) {
		finish_later(c, CBK_UNKNOWN, "cannot ask");
		return c;
	}
	memcpy(c->id, id, sizeof(c->id));
	net_addr_str(peer, addr, sizeof(addr));
	if (!cbk_rate_ok(rates, addr, CBK_CHECK_RATE, time(NULL))) {
		finish_later(c, CBK_UNKNOWN, "rate limited");
		return c;
	}
	c->ctx = ctx;
	if (check_connect(c, peer, local, port) == -1) {
		finish_later(c, CBK_UNKNOWN, "no connection");
		return c;
	}
	evtimer_add(c->timer, &tv);
	return c;
}

struct cbk_check *
cbk_check_start(struct event_base *base, SSL_CTX *ctx,
    const struct sockaddr *peer, int port, const char *id, int timeout_ms,
    cbk_done_fn cb, void *arg)
{
	return cbk_check_start_from(base, ctx, peer, NULL, port, id,
	    timeout_ms, cb, arg);
}

/* No answer is wanted any more: cb is not called. */
void
cbk_check_cancel(struct cbk_check *c)
{
	if (c != NULL)
		check_free(c);
}
