/*
 * mta_dane.c - smtpd.mta: DANE for SMTP (RFC 7672, with RFC 6698 and
 * RFC 7671), the "dane" and "dane-only" TLS policies.  Called by
 * mta_session.c for each address of a route (mta_dane_host) and, when
 * the host has usable TLSA records, on the new SSL before the STARTTLS
 * handshake (mta_dane_ssl, through common/smtp_client.c's hook); the
 * decisions that need only a DNS answer (mta_tlsa_usable,
 * mta_dane_result) are unit tested in test-mta-dane.c and fuzzed by
 * fuzz-tlsa.c.
 *
 *	MX set and host addresses from secure answers? else: no DANE
 *	TLSA at _25._tcp.<host> (a CNAME's target first, RFC 7672 2.2.3):
 *	  secure, some record usable	TLS, the peer matches a record
 *	  secure, none usable		TLS, unauthenticated ("encrypt")
 *	  insecure, none, or no lookup	"dane" as "may"; "dane-only" defers
 *	  bogus, SERVFAIL, timeout	this host is not used (never plain)
 *
 * Usable: DANE-TA(2) or DANE-EE(3) (PKIX-TA(0) and PKIX-EE(1) are
 * ignored, RFC 7672 3.1.3), selector 0 or 1, matching type 0 (a DER
 * certificate with a public key, or a public key, that parses to its
 * last byte), 1 (32 bytes
 * of SHA-256) or 2 (64 bytes of SHA-512).  OpenSSL's DANE code does the
 * matching: DANE-EE with no name check, DANE-TA with the MX host as the
 * reference name (RFC 7672 3.2.2).  Without [global] dns_trust_anchor
 * every answer is insecure, so "dane" is "may" and "dane-only" defers.
 *
 * Runs in smtpd.mta ([global] user, chrooted, no key).  TLSA records
 * come from any zone on the Internet: each one is checked here before
 * anything of it reaches OpenSSL, and only MTA_TLSA_MAX are kept.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "log.h"
#include "mta.h"

static struct event_base *base;
static struct dns_ctx	*dns;

void
mta_dane_init(struct event_base *b, struct dns_ctx *d, SSL_CTX *ctx)
{
	base = b;
	dns = d;
	if (SSL_CTX_dane_enable(ctx) <= 0)
		fatalx("mta: OpenSSL has no DANE");
}

/* A DER certificate (selector 0) or SubjectPublicKeyInfo (1), whole. */
static int
der_valid(uint8_t selector, const unsigned char *p, size_t len)
{
	const unsigned char	*q = p;
	X509			*x;
	EVP_PKEY		*k;
	int			 ok;

	if (len == 0 || len > MTA_TLSA_DATA_MAX)
		return 0;
	if (selector == 0) {
		/* OpenSSL's DANE takes a certificate only with its key */
		x = d2i_X509(NULL, &q, (long)len);
		ok = x != NULL && q == p + len && X509_get0_pubkey(x) != NULL;
		X509_free(x);
	} else {
		k = d2i_PUBKEY(NULL, &q, (long)len);
		ok = k != NULL && q == p + len;
		EVP_PKEY_free(k);
	}
	return ok;
}

/* Whether a TLSA record is one RFC 7672 lets us use. */
int
mta_tlsa_usable(const struct dns_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return 0;
	if (t->selector > 1)
		return 0;
	switch (t->mtype) {
	case 0:
		return der_valid(t->selector, t->data, t->len);
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return 0;
	}
}

/* What a TLSA answer means for its host (d->host is left as it is). */
void
mta_dane_result(const struct dns_result *r, struct mta_dane *d)
{
	const struct dns_tlsa	*t;
	size_t			 i;

	d->n = 0;
	d->why[0] = '\0';
	switch (r->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		d->state = MTA_DANE_NONE;
		snprintf(d->why, sizeof(d->why), "no TLSA records");
		return;
	default:
		d->state = MTA_DANE_DEFER;
		snprintf(d->why, sizeof(d->why), "TLSA lookup: %s",
		    dns_status_str(r->status));
		return;
	}
	if (r->sec != DNS_SEC_SECURE) {
		d->state = r->sec == DNS_SEC_BOGUS ? MTA_DANE_DEFER :
		    MTA_DANE_NONE;
		snprintf(d->why, sizeof(d->why), "TLSA records are %s",
		    dns_sec_str(r->sec));
		return;
	}
	for (i = 0; i < r->nrr && d->n < MTA_TLSA_MAX; i++) {
		if (r->rr[i].type != DNS_T_TLSA)
			continue;
		t = &r->rr[i].u.tlsa;
		if (!mta_tlsa_usable(t))
			continue;
		d->rec[d->n].usage = t->usage;
		d->rec[d->n].selector = t->selector;
		d->rec[d->n].mtype = t->mtype;
		d->rec[d->n].len = t->len;
		memcpy(d->rec[d->n].data, t->data, t->len);
		d->n++;
	}
	d->state = d->n > 0 ? MTA_DANE_AUTH : MTA_DANE_ENCRYPT;
	if (d->n == 0)
		snprintf(d->why, sizeof(d->why), "no usable TLSA records");
}

/* one TLSA lookup, answered before it returns */
struct lookup {
	int			 done;
	struct mta_dane		*d;
};

static void
got(const struct dns_result *r, void *arg)
{
	struct lookup	*l = arg;

	l->done = 1;
	mta_dane_result(r, l->d);
}

static void
tlsa_lookup(const char *host, struct mta_dane *d)
{
	struct lookup	 l = { 0, d };
	char		 name[DNS_NAME_TEXT_MAX + 16];

	snprintf(name, sizeof(name), "_25._tcp.%s", host);
	if (dns_query(dns, name, DNS_T_TLSA, got, &l) == NULL) {
		d->state = MTA_DANE_DEFER;
		snprintf(d->why, sizeof(d->why), "no TLSA lookup for %.200s",
		    host);
		return;
	}
	while (!l.done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			fatalx("mta: event loop");
}

/*
 * What DANE asks of the route's address i under policy: d->state, and
 * d->why when it is MTA_DANE_NONE or MTA_DANE_DEFER.
 */
void
mta_dane_host(enum mta_tls policy, const struct mta_route *rt, size_t i,
    struct mta_dane *d)
{
	const struct mta_addr	*a = &rt->a[i];

	d->state = MTA_DANE_NONE;
	d->n = 0;
	d->why[0] = d->alias[0] = '\0';
	snprintf(d->host, sizeof(d->host), "%s", a->host);
	if (policy != MTA_TLS_DANE && policy != MTA_TLS_DANE_ONLY)
		return;
	if (rt->nexthop)
		snprintf(d->why, sizeof(d->why), "a next hop, not an MX host");
	else if (!rt->mx_secure)
		snprintf(d->why, sizeof(d->why), "the MX answer is insecure");
	else if (!a->secure)
		snprintf(d->why, sizeof(d->why), "the address answer is "
		    "insecure");
	else if (a->canon[0] != '\0') {
		/* secure CNAME: TLSA of the target, else of the MX name */
		snprintf(d->alias, sizeof(d->alias), "%s", a->canon);
		tlsa_lookup(a->canon, d);
		if (d->state == MTA_DANE_NONE)
			tlsa_lookup(a->host, d);
		else {
			snprintf(d->host, sizeof(d->host), "%s", a->canon);
			snprintf(d->alias, sizeof(d->alias), "%s", a->host);
		}
	} else
		tlsa_lookup(a->host, d);
	if (d->state == MTA_DANE_NONE && policy == MTA_TLS_DANE_ONLY) {
		d->state = MTA_DANE_DEFER;
		snprintf(d->why + strlen(d->why), sizeof(d->why) -
		    strlen(d->why), " (dane-only: no DANE, no delivery)");
	}
}

/*
 * smtp_client_starttls's hook: DANE on the new SSL, the TLSA base domain
 * and, for a CNAME, the other name as the names a DANE-TA certificate
 * may carry (RFC 7672 3.2.2).  0, or -1 when OpenSSL takes none of the
 * records.
 */
int
mta_dane_ssl(SSL *ssl, void *arg)
{
	const struct mta_dane	*d = arg;
	size_t			 i;
	int			 n = 0;

	if (SSL_dane_enable(ssl, d->host) <= 0)
		return -1;
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	if (d->alias[0] != '\0' && SSL_add1_host(ssl, d->alias) != 1)
		return -1;
	for (i = 0; i < d->n; i++)
		if (SSL_dane_tlsa_add(ssl, d->rec[i].usage,
		    d->rec[i].selector, d->rec[i].mtype, d->rec[i].data,
		    d->rec[i].len) > 0)
			n++;
	return n > 0 ? 0 : -1;
}

/* After the handshake: which kind of record the peer matched, or NULL. */
const char *
mta_dane_verified(SSL *ssl)
{
	uint8_t			 usage, selector, mtype;
	unsigned const char	*data;
	size_t			 len;

	if (SSL_get_verify_result(ssl) != X509_V_OK ||
	    SSL_get0_dane_authority(ssl, NULL, NULL) < 0 ||
	    SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data,
	    &len) < 0)
		return NULL;
	return usage == 3 ? "dane-ee" : usage == 2 ? "dane-ta" : NULL;
}
