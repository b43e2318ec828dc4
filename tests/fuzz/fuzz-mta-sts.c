/*
 * fuzz-mta-sts.c - libFuzzer target for what smtpd.mta reads from a
 * domain's MTA-STS publication (smtpd/mta_sts.c): the _mta-sts TXT
 * record (mta_sts_txt), the HTTPS server's response (mta_sts_http, fed
 * whole and in two pieces) and the policy in its body (mta_sts_parse,
 * also on the raw input).  Checks the promises the transmitter relies
 * on: an id of letters and digits within MTA_STS_ID_MAX, a body within
 * MTA_STS_BODY_MAX, a policy within its limits whose every pattern is
 * a lower-case host name (with an optional "*.") that matches a host
 * of its own form, and "enforce" or "testing" never without an mx.
 *
 *	./sealmail.sh fuzz, or by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon -Ismtpd tests/fuzz/fuzz-mta-sts.c smtpd/mta_sts.c \
 *	    common/log.c common/xmalloc.c common/buf.c -o fuzz-mta-sts
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_policy(const char *s, size_t n)
{
	struct mta_sts	 p;
	char		 why[256], host[300];
	size_t		 i, j;

	if (mta_sts_parse(s, n, &p, why, sizeof(why)) == -1) {
		if (p.nmx != 0 || strlen(why) >= sizeof(why))
			abort();
		return;
	}
	if (p.nmx > MTA_STS_MX_MAX || p.max_age < 0 ||
	    p.max_age > MTA_STS_AGE_MAX || (p.mode != MTA_STS_NONE &&
	    p.nmx == 0))
		abort();
	for (i = 0; i < p.nmx; i++) {
		for (j = 0; p.mx[i][j] != '\0'; j++)
			if (isupper((unsigned char)p.mx[i][j]) ||
			    !(isalnum((unsigned char)p.mx[i][j]) ||
			    strchr("-.*", p.mx[i][j]) != NULL))
				abort();
		/* "*.x" matches "a.x"; "x" matches "X" */
		if (p.mx[i][0] == '*')
			snprintf(host, sizeof(host), "a%s", p.mx[i] + 1);
		else
			snprintf(host, sizeof(host), "%s", p.mx[i]);
		host[0] = (char)toupper((unsigned char)host[0]);
		if (!mta_sts_match(p.mx[i], host) || !mta_sts_mx_ok(&p, host))
			abort();
		if (p.mx[i][0] == '*' && mta_sts_match(p.mx[i], p.mx[i] + 2))
			abort();
	}
	mta_sts_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	struct buf	 body;
	char		 id[MTA_STS_ID_MAX + 1], why[256];
	size_t		 i;
	enum mta_http	 st;

	if (mta_sts_txt(s, size, id, sizeof(id)) == 1) {
		if (id[0] == '\0' || strlen(id) > MTA_STS_ID_MAX)
			abort();
		for (i = 0; id[i] != '\0'; i++)
			if (!isalnum((unsigned char)id[i]))
				abort();
	}
	check_policy(s, size);
	buf_init(&body, MTA_STS_BODY_MAX);
	/* a first piece, then all of it: the verdicts must agree */
	st = mta_sts_http(s, size / 2, 0, &body, why, sizeof(why));
	if (st == MTA_HTTP_DONE && body.len > MTA_STS_BODY_MAX)
		abort();
	st = mta_sts_http(s, size, 1, &body, why, sizeof(why));
	if (st == MTA_HTTP_MORE)
		abort();
	if (st == MTA_HTTP_DONE) {
		if (body.len > MTA_STS_BODY_MAX)
			abort();
		check_policy(body.data, body.len);
	}
	buf_free(&body);
	return 0;
}
