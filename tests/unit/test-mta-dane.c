/*
 * test-mta-dane.c - smtpd.mta's DANE decisions (smtpd/mta_dane.c): which
 * TLSA records are usable (RFC 7672 3.1, hostile lengths refused), what
 * a TLSA answer means for its host (secure, insecure, bogus, failed),
 * and what the dane and dane-only policies ask of an address whose MX
 * set or addresses are not DNSSEC-secure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mta.h"
#include "test.h"

static unsigned char	 spki[512], cert[1024];
static size_t		 spki_len, cert_len;

/* A real SubjectPublicKeyInfo and certificate, DER, for matching type 0. */
static void
make_der(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	unsigned char	*p;

	if (k == NULL || x == NULL || X509_set_pubkey(x, k) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_sign(x, k, EVP_sha256()) == 0)
		abort();
	p = spki;
	spki_len = (size_t)i2d_PUBKEY(k, &p);
	p = cert;
	cert_len = (size_t)i2d_X509(x, &p);
	if (spki_len > sizeof(spki) || cert_len > sizeof(cert))
		abort();
	X509_free(x);
	EVP_PKEY_free(k);
}

static const struct {
	uint8_t		 usage, selector, mtype;
	size_t		 len;		/* 0: the DER of the selector */
	int		 extra;		/* 1: a byte after the DER, 2: the
					   DER with its key's point spoilt */
	int		 usable;
	const char	*what;
} tlsa_cases[] = {
	{ 3, 1, 1, 32, 0, 1, "DANE-EE SPKI SHA-256" },
	{ 3, 0, 1, 32, 0, 1, "DANE-EE certificate SHA-256" },
	{ 2, 0, 2, 64, 0, 1, "DANE-TA certificate SHA-512" },
	{ 2, 1, 2, 64, 0, 1, "DANE-TA SPKI SHA-512" },
	{ 3, 1, 0, 0, 0, 1, "DANE-EE full SPKI" },
	{ 2, 0, 0, 0, 0, 1, "DANE-TA full certificate" },
	{ 0, 1, 1, 32, 0, 0, "PKIX-TA is ignored (RFC 7672 3.1.3)" },
	{ 1, 1, 1, 32, 0, 0, "PKIX-EE is ignored" },
	{ 4, 1, 1, 32, 0, 0, "an unknown usage" },
	{ 3, 2, 1, 32, 0, 0, "an unknown selector" },
	{ 3, 1, 3, 32, 0, 0, "an unknown matching type" },
	{ 3, 1, 1, 31, 0, 0, "SHA-256 one byte short" },
	{ 3, 1, 1, 33, 0, 0, "SHA-256 one byte long" },
	{ 3, 1, 1, 64, 0, 0, "SHA-512 length for SHA-256" },
	{ 3, 1, 2, 32, 0, 0, "SHA-256 length for SHA-512" },
	{ 3, 1, 2, 0, 0, 0, "matching type 2 without data" },
	{ 3, 1, 0, 0, 1, 0, "a full SPKI with a byte after it" },
	{ 3, 0, 0, 0, 1, 0, "a full certificate with a byte after it" },
	{ 3, 1, 0, 40, 0, 0, "a full SPKI that is not DER" },
	{ 3, 0, 0, 0, 0, 1, "DANE-EE full certificate" },
	{ 2, 0, 0, 0, 2, 0, "a certificate whose key does not parse" },
	{ 3, 1, 0, 0, 2, 0, "a public key that does not parse" },
};

/*
 * The EC point of the key (0x04, X, Y: the last 65 bytes of a P-256
 * SubjectPublicKeyInfo) gets a format byte no curve has; DER stays whole.
 */
static void
spoil_key(unsigned char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i + spki_len <= len; i++)
		if (memcmp(buf + i, spki, spki_len) == 0) {
			buf[i + spki_len - 65] = 0x09;
			return;
		}
	abort();
}

static void
fill(struct dns_tlsa *t, unsigned char *buf, size_t i)
{
	const unsigned char	*der = tlsa_cases[i].selector ? spki : cert;
	size_t			 dlen = tlsa_cases[i].selector ? spki_len :
				    cert_len;

	t->usage = tlsa_cases[i].usage;
	t->selector = tlsa_cases[i].selector;
	t->mtype = tlsa_cases[i].mtype;
	t->data = buf;
	if (tlsa_cases[i].mtype == 0 && tlsa_cases[i].len == 0) {
		memcpy(buf, der, dlen);
		t->len = dlen;
		if (tlsa_cases[i].extra == 1)
			buf[t->len++] = 0;
		if (tlsa_cases[i].extra == 2)
			spoil_key(buf, t->len);
	} else {
		memset(buf, 0xa5, tlsa_cases[i].len);
		t->len = tlsa_cases[i].len;
	}
}

static void
test_usable(void)
{
	struct dns_tlsa	 t;
	unsigned char	 buf[2048];
	size_t		 i;

	make_der();
	for (i = 0; i < sizeof(tlsa_cases) / sizeof(tlsa_cases[0]); i++) {
		test_begin(tlsa_cases[i].what);
		fill(&t, buf, i);
		test_assert(mta_tlsa_usable(&t) == tlsa_cases[i].usable);
		test_end();
	}
}

static void
answer(struct dns_result *r, struct dns_rr *rr, size_t n, enum dns_status st,
    enum dns_sec sec)
{
	memset(r, 0, sizeof(*r));
	r->status = st;
	r->sec = sec;
	r->rr = rr;
	r->nrr = n;
}

static struct dns_rr *
tlsa(struct dns_rr *rr, uint8_t usage, size_t len)
{
	static unsigned char	 digest[64];

	memset(rr, 0, sizeof(*rr));
	rr->type = DNS_T_TLSA;
	rr->u.tlsa.usage = usage;
	rr->u.tlsa.selector = 1;
	rr->u.tlsa.mtype = len == 64 ? 2 : 1;
	rr->u.tlsa.data = digest;
	rr->u.tlsa.len = len;
	return rr;
}

static void
test_result(void)
{
	struct dns_result	 r;
	struct dns_rr		 rr[MTA_TLSA_MAX + 2];
	struct mta_dane		*d = calloc(1, sizeof(*d));
	size_t			 i;

	test_begin("secure usable TLSA: authenticate with the usable ones");
	tlsa(&rr[0], 3, 32);
	tlsa(&rr[1], 1, 32);
	tlsa(&rr[2], 2, 64);
	answer(&r, rr, 3, DNS_OK, DNS_SEC_SECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_AUTH);
	test_assert(d->n == 2);
	test_assert(d->rec[0].usage == 3 && d->rec[1].usage == 2);
	test_assert(d->rec[1].len == 64);
	test_end();

	test_begin("secure TLSA with no usable record: encrypt, unverified");
	tlsa(&rr[0], 0, 32);
	tlsa(&rr[1], 3, 31);
	answer(&r, rr, 2, DNS_OK, DNS_SEC_SECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_ENCRYPT);
	test_assert(d->n == 0);
	test_end();

	test_begin("insecure TLSA records are not used");
	tlsa(&rr[0], 3, 32);
	answer(&r, rr, 1, DNS_OK, DNS_SEC_INSECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_NONE);
	test_end();

	test_begin("no TLSA, secure or not: no DANE");
	answer(&r, NULL, 0, DNS_NXDOMAIN, DNS_SEC_SECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_NONE);
	answer(&r, NULL, 0, DNS_NODATA, DNS_SEC_INSECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_NONE);
	test_end();

	test_begin("bogus, SERVFAIL or timeout: the host is not used");
	answer(&r, NULL, 0, DNS_BOGUS, DNS_SEC_BOGUS);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_DEFER);
	test_assert(strstr(d->why, "bogus") != NULL);
	answer(&r, NULL, 0, DNS_TEMPFAIL, DNS_SEC_INSECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_DEFER);
	answer(&r, NULL, 0, DNS_TIMEOUT, DNS_SEC_INSECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_DEFER);
	test_end();

	test_begin("at most MTA_TLSA_MAX records are kept");
	for (i = 0; i < MTA_TLSA_MAX + 2; i++)
		tlsa(&rr[i], 3, 32);
	answer(&r, rr, MTA_TLSA_MAX + 2, DNS_OK, DNS_SEC_SECURE);
	mta_dane_result(&r, d);
	test_assert(d->state == MTA_DANE_AUTH);
	test_assert(d->n == MTA_TLSA_MAX);
	test_end();
	free(d);
}

/* The cases decided before any TLSA lookup. */
static void
test_host(void)
{
	struct mta_route	*rt = calloc(1, sizeof(*rt));
	struct mta_dane		*d = calloc(1, sizeof(*d));

	rt->n = 1;
	snprintf(rt->a[0].host, sizeof(rt->a[0].host), "mx.b.test");

	test_begin("may, encrypt and verify ask nothing of DANE");
	rt->mx_secure = rt->a[0].secure = 1;
	mta_dane_host(MTA_TLS_VERIFY, rt, 0, d);
	test_assert(d->state == MTA_DANE_NONE);
	test_end();

	test_begin("insecure MX: dane acts as may, dane-only defers");
	rt->mx_secure = 0;
	mta_dane_host(MTA_TLS_DANE, rt, 0, d);
	test_assert(d->state == MTA_DANE_NONE);
	test_assert(strstr(d->why, "MX") != NULL);
	mta_dane_host(MTA_TLS_DANE_ONLY, rt, 0, d);
	test_assert(d->state == MTA_DANE_DEFER);
	test_assert(strstr(d->why, "dane-only") != NULL);
	test_end();

	test_begin("secure MX, insecure address: no TLSA lookup");
	rt->mx_secure = 1;
	rt->a[0].secure = 0;
	mta_dane_host(MTA_TLS_DANE, rt, 0, d);
	test_assert(d->state == MTA_DANE_NONE);
	mta_dane_host(MTA_TLS_DANE_ONLY, rt, 0, d);
	test_assert(d->state == MTA_DANE_DEFER);
	test_end();

	test_begin("a next hop (relayhost, transport) has no DANE");
	rt->nexthop = 1;
	rt->a[0].secure = 1;
	mta_dane_host(MTA_TLS_DANE, rt, 0, d);
	test_assert(d->state == MTA_DANE_NONE);
	test_assert_str(d->host, "mx.b.test");
	mta_dane_host(MTA_TLS_DANE_ONLY, rt, 0, d);
	test_assert(d->state == MTA_DANE_DEFER);
	test_end();
	free(rt);
	free(d);
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_usable, test_result, test_host, NULL
	};

	return test_run(tests);
}
