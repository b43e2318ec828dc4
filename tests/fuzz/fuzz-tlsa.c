/*
 * fuzz-tlsa.c - libFuzzer target for what smtpd.mta makes of a TLSA
 * answer (smtpd/mta_dane.c: mta_tlsa_usable, mta_dane_result, then
 * mta_dane_ssl handing the kept records to OpenSSL's DANE code), on top
 * of the DNS answer parser (common/dns_parse.c).  The first input byte
 * says how the answer validated (byte % 3: secure, insecure, bogus), the
 * rest is the answer packet to a TLSA question.  Beyond memory safety it
 * checks: at most MTA_TLSA_MAX records are kept; each kept one has usage
 * 2 or 3, selector 0 or 1, and the length its matching type needs (32,
 * 64, or a whole DER object); records are only used from a secure
 * answer; a kept set is accepted by OpenSSL.
 *
 *	./sealmail.sh fuzz 600		(builds it as fuzz_build does:)
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon -Ismtpd tests/fuzz/fuzz-tlsa.c smtpd/mta_dane.c \
 *	    common/dns.c common/dns_parse.c common/log.c common/xmalloc.c \
 *	    common/buf.c -lunbound -levent -lssl -lcrypto -o fuzz-tlsa
 *	./fuzz-tlsa tests/fuzz/corpus/tlsa
 *
 * The seeds (tests/fuzz/tlsa-seeds.py) are answers with usable and
 * unusable records of each kind, full certificates and keys, wrong
 * lengths, cut records and more records than are kept.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static SSL_CTX	*ctx;

static void
check_kept(const struct mta_dane *d)
{
	const struct mta_tlsa	*t;
	size_t			 i;

	if (d->n > MTA_TLSA_MAX)
		abort();
	for (i = 0; i < d->n; i++) {
		t = &d->rec[i];
		if ((t->usage != 2 && t->usage != 3) || t->selector > 1)
			abort();
		if ((t->mtype == 1 && t->len != 32) ||
		    (t->mtype == 2 && t->len != 64) ||
		    (t->mtype == 0 && (t->len == 0 ||
		    t->len > MTA_TLSA_DATA_MAX)) || t->mtype > 2)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mta_dane	 d;
	struct dns_result	 r;
	SSL			*ssl;

	if (ctx == NULL) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			abort();
		mta_dane_init(NULL, NULL, ctx);
	}
	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	dns_parse(data + 1, size - 1, DNS_T_TLSA, &r);
	r.sec = data[0] % 3 == 0 ? DNS_SEC_SECURE : data[0] % 3 == 1 ?
	    DNS_SEC_INSECURE : DNS_SEC_BOGUS;
	memset(&d, 0, sizeof(d));
	memcpy(d.host, "mx.example.test", sizeof("mx.example.test"));
	mta_dane_result(&r, &d);
	check_kept(&d);
	if ((d.state == MTA_DANE_AUTH || d.state == MTA_DANE_ENCRYPT) &&
	    (r.status != DNS_OK || r.sec != DNS_SEC_SECURE))
		abort();
	if ((d.state == MTA_DANE_AUTH) != (d.n > 0))
		abort();
	if (d.state == MTA_DANE_AUTH) {
		if ((ssl = SSL_new(ctx)) == NULL)
			abort();
		if (mta_dane_ssl(ssl, &d) != 0)
			abort();
		SSL_free(ssl);
	}
	dns_result_clear(&r);
	return 0;
}
