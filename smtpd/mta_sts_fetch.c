/*
 * mta_sts_fetch.c - smtpd.mta's MTA-STS (RFC 8461) policies: the
 * _mta-sts.<domain> TXT lookup, the fetch of
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, and a cache of the
 * policies fetched, per domain, for their max_age.  mta_session.c calls
 * mta_sts_get() once per destination domain of a message (never for a
 * relayhost or transport next hop) and mta_sts_cert_ok() to judge a
 * certificate under "testing"; mta_sts.c parses what comes back.
 *
 *	TXT "v=STSv1; id=..." (exactly one such record, RFC 8461 3.1)
 *	a cached, unexpired policy with the same id: used as it is
 *	else fetch: HTTP/1.1 GET over TLS, the certificate chains to
 *	    [global] tls_ca (the context "verify" uses) and names
 *	    mta-sts.<domain>; 200 only (no redirect is followed),
 *	    text/plain, at most MTA_STS_BODY_MAX bytes, MTA_STS_TIMEOUT
 *	    seconds for it all; the port is [smtpd] mta_sts_port (443)
 *	a failed lookup or fetch keeps an unexpired cached policy
 *	    (RFC 8461 3.3, 5.1), else the domain has none
 *
 * The cache lives in this process's memory: each transmitter has its
 * own, and a restart forgets it (a policy is then fetched again at the
 * domain's next message).
 *
 * Runs in smtpd.mta ([global] user, chrooted to empty_dir, no key): the
 * web server's name is resolved through common/dns (mta_lookup and
 * mta_route_host, mta_route.c), the trust anchors were loaded before
 * the privilege drop, and the fetch blocks the process for at most
 * MTA_STS_TIMEOUT seconds, which one message at a time allows.  What
 * the server sends is read into a buffer of bounded size and handed
 * to mta_sts.c's parsers as hostile input.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "mta.h"
#include "xmalloc.h"

#define STS_CACHE_MAX	1000	/* domains remembered */
#define STS_IN_MAX	(MTA_STS_HEAD_MAX + 2 * MTA_STS_BODY_MAX)

struct entry {
	char		 domain[DNS_NAME_TEXT_MAX];
	struct mta_sts	 p;
};

static SSL_CTX		*ctx;
static int		 port = 443;
static struct entry	*cache[STS_CACHE_MAX];
static size_t		 ncache;

void
mta_sts_init(SSL_CTX *c, int p)
{
	ctx = c;
	port = p;
}

/* ------------------------------------------------------------------ */
/* the cache */

static void
cache_drop(size_t i)
{
	mta_sts_free(&cache[i]->p);
	free(cache[i]);
	cache[i] = cache[--ncache];
}

/* The unexpired policy of domain, or NULL (an expired one is dropped). */
static struct entry *
cache_find(const char *domain, time_t now)
{
	size_t	 i;

	for (i = 0; i < ncache; i++) {
		if (!dns_name_eq(cache[i]->domain, domain))
			continue;
		if (cache[i]->p.expires > now)
			return cache[i];
		cache_drop(i);
		return NULL;
	}
	return NULL;
}

/* p (taken over) as domain's policy, in place of the one before. */
static struct entry *
cache_put(const char *domain, struct mta_sts *p, time_t now)
{
	struct entry	*e;
	size_t		 i, old = 0;

	for (i = 0; i < ncache; i++)
		if (dns_name_eq(cache[i]->domain, domain) ||
		    cache[i]->p.expires <= now) {
			cache_drop(i);
			i--;
		}
	if (ncache == STS_CACHE_MAX) {
		for (i = 1; i < ncache; i++)
			if (cache[i]->p.expires < cache[old]->p.expires)
				old = i;
		cache_drop(old);
	}
	e = xcalloc(1, sizeof(*e));
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	e->p = *p;
	e->p.expires = now + p->max_age;
	cache[ncache++] = e;
	return e;
}

/* ------------------------------------------------------------------ */
/* the TXT record */

struct txt {
	size_t		 n;		/* records that start "v=STSv1" */
	int		 bad;
	enum dns_status	 status;
	char		 id[MTA_STS_ID_MAX + 1];
};

static void
got_txt(const struct dns_result *r, void *arg)
{
	struct txt	*t = arg;
	size_t		 i;
	int		 k;

	t->status = r->status;
	for (i = 0; r->status == DNS_OK && i < r->nrr; i++) {
		if (r->rr[i].type != DNS_T_TXT)
			continue;
		k = mta_sts_txt(r->rr[i].u.txt.data, r->rr[i].u.txt.len,
		    t->id, sizeof(t->id));
		t->n += k != 0;
		t->bad |= k == -1;
	}
}

/* ------------------------------------------------------------------ */
/* the fetch */

static int
left(time_t deadline)
{
	time_t	 now = time(NULL);

	return now >= deadline ? 0 : (int)(deadline - now);
}

static void
timeouts(int fd, time_t deadline)
{
	struct timeval	 tv = { left(deadline), 0 };

	if (tv.tv_sec == 0)
		tv.tv_usec = 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void
tls_why(SSL *ssl, char *why, size_t whylen, const char *what)
{
	long		 v = SSL_get_verify_result(ssl);
	const char	*r;

	if (v != X509_V_OK) {
		snprintf(why, whylen, "certificate: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	r = ERR_reason_error_string(ERR_peek_last_error());
	snprintf(why, whylen, "%s: %s", what, r != NULL ? r :
	    errno == EAGAIN ? "timed out" : "failed");
}

/*
 * A TCP end without TLS close_notify: many web servers close so, and a
 * body cut short this way still fails its Content-Length or chunking.
 */
static int
eof_unclean(int e)
{
	if (e == SSL_ERROR_SYSCALL)
		return ERR_peek_error() == 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
	if (e == SSL_ERROR_SSL)
		return ERR_GET_REASON(ERR_peek_error()) ==
		    SSL_R_UNEXPECTED_EOF_WHILE_READING;
#endif
	return 0;
}

/* Read the response into in until mta_sts_http is done with it. */
static enum mta_http
response(SSL *ssl, int fd, time_t deadline, struct buf *in, struct buf *body,
    char *why, size_t whylen)
{
	char		 b[16384];
	enum mta_http	 st = MTA_HTTP_MORE;
	int		 n, e;

	while (st == MTA_HTTP_MORE) {
		if (left(deadline) == 0) {
			snprintf(why, whylen, "timed out after %d seconds",
			    MTA_STS_TIMEOUT);
			return MTA_HTTP_ERROR;
		}
		timeouts(fd, deadline);
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_read(ssl, b, sizeof(b))) <= 0) {
			e = SSL_get_error(ssl, n);
			/* the end, with or without close_notify */
			if (e != SSL_ERROR_ZERO_RETURN && !eof_unclean(e)) {
				tls_why(ssl, why, whylen, "read");
				return MTA_HTTP_ERROR;
			}
			return mta_sts_http(in->data, in->len, 1, body, why,
			    whylen);
		}
		if (buf_add(in, b, (size_t)n) == -1) {
			snprintf(why, whylen, "response over %d bytes",
			    STS_IN_MAX);
			return MTA_HTTP_ERROR;
		}
		st = mta_sts_http(in->data, in->len, 0, body, why, whylen);
	}
	return st;
}

/* One address of the web server: 0 with the policy text in body. */
static int
fetch_one(const struct mta_addr *a, const char *host, time_t deadline,
    struct buf *body, char *why, size_t whylen)
{
	struct buf	 req, in;
	SSL		*ssl = NULL;
	int		 fd, r = -1;

	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	buf_init(&req, 0);
	buf_init(&in, STS_IN_MAX);
	timeouts(fd, deadline);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->sslen) == -1) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		goto done;
	}
	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1) {
		snprintf(why, whylen, "TLS setup failed");
		goto done;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (SSL_connect(ssl) != 1) {
		tls_why(ssl, why, whylen, "TLS");
		goto done;
	}
	if (port == 443)
		buf_printf(&req, "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
		    "Host: %s\r\n", host);
	else
		buf_printf(&req, "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
		    "Host: %s:%d\r\n", host, port);
	buf_addstr(&req, "User-Agent: Sealmail\r\nAccept: text/plain\r\n"
	    "Connection: close\r\n\r\n");
	if (SSL_write(ssl, req.data, (int)req.len) != (int)req.len) {
		tls_why(ssl, why, whylen, "write");
		goto done;
	}
	if (response(ssl, fd, deadline, &in, body, why, whylen) ==
	    MTA_HTTP_DONE)
		r = 0;
done:
	SSL_free(ssl);
	close(fd);
	buf_free(&req);
	buf_free(&in);
	return r;
}

/* domain's policy from its web server: 0 with p, or -1 with why. */
static int
fetch(const char *domain, struct mta_sts *p, char *why, size_t whylen)
{
	struct mta_route	*rt;
	struct buf		 body;
	char			 host[DNS_NAME_TEXT_MAX], w[256] = "";
	time_t			 deadline = time(NULL) + MTA_STS_TIMEOUT;
	size_t			 i;
	int			 r = -1;

	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	rt = xcalloc(1, sizeof(*rt));
	buf_init(&body, MTA_STS_BODY_MAX);
	if (mta_route_host(rt, host, port) != DNS_OK && rt->n == 0)
		snprintf(w, sizeof(w), "no address");
	for (i = 0; i < rt->n && r == -1 && left(deadline) > 0; i++)
		r = fetch_one(&rt->a[i], host, deadline, &body, w, sizeof(w));
	if (r == 0 && mta_sts_parse(body.data, body.len, p, w, sizeof(w)) ==
	    -1)
		r = -1;
	if (r == -1)
		snprintf(why, whylen, "https://%.200s[%s]:%d: %.250s", host, i > 0 ?
		    rt->a[i - 1].text : "none", port, w);
	buf_free(&body);
	free(rt);
	return r;
}

/* ------------------------------------------------------------------ */

/*
 * The MTA-STS policy of domain (looked up, fetched or cached as the top
 * of this file says), or NULL when it has none.  id: the message's, for
 * the log.  The policy is valid until the next call.
 */
const struct mta_sts *
mta_sts_get(const char *domain, const char *id)
{
	struct txt	 t;
	struct entry	*e;
	struct mta_sts	 p;
	char		 name[DNS_NAME_TEXT_MAX + 16], why[512];
	time_t		 now = time(NULL);

	e = cache_find(domain, now);
	memset(&t, 0, sizeof(t));
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	mta_lookup(name, DNS_T_TXT, got_txt, &t);
	if (t.n != 1 || t.bad) {
		if (t.n > 0 || (e != NULL && t.status != DNS_OK))
			log_info("id=%s mta-sts domain=%s record=%s%s", id,
			    domain, t.n > 1 ? "several" : t.n == 1 ?
			    "malformed" : dns_status_str(t.status),
			    e != NULL ? " cached=yes" : "");
		return e != NULL ? &e->p : NULL;
	}
	if (e != NULL && strcmp(e->p.id, t.id) == 0)
		return &e->p;
	if (fetch(domain, &p, why, sizeof(why)) == -1) {
		log_info("id=%s mta-sts domain=%s fetch failed: %s; %s", id,
		    domain, why, e != NULL ? "the cached policy stays" :
		    "no policy");
		return e != NULL ? &e->p : NULL;
	}
	snprintf(p.id, sizeof(p.id), "%s", t.id);
	e = cache_put(domain, &p, now);
	log_info("id=%s mta-sts domain=%s policy id=%s mode=%s max_age=%ld "
	    "mx=%zu", id, domain, e->p.id, mta_sts_mode_name(e->p.mode),
	    e->p.max_age, e->p.nmx);
	return &e->p;
}

/*
 * Would host's certificate on ssl pass "verify" (chain to the trust
 * anchors, name host)?  For "testing", whose handshake does not ask.
 * 1, or 0 with why.
 */
int
mta_sts_cert_ok(SSL *ssl, const char *host, char *why, size_t whylen)
{
	X509	*x;
	long	 v;
	int	 ok;

	if ((x = SSL_get_peer_certificate(ssl)) == NULL) {
		snprintf(why, whylen, "no certificate");
		return 0;
	}
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, whylen, "certificate: %s",
		    X509_verify_cert_error_string(v));
		ok = 0;
	} else if (!(ok = X509_check_host(x, host, 0, 0, NULL) == 1))
		snprintf(why, whylen, "certificate does not name %.200s",
		    host);
	X509_free(x);
	return ok;
}
