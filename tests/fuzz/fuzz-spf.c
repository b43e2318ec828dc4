/*
 * fuzz-spf.c - libFuzzer target for the SPF record parser and the macro
 * expander (common/spf_macro.c), which read TXT records from anyone's
 * DNS.  The first byte picks what the rest is: a record (even), a
 * domain-spec (1 mod 4) or an explain-string (3 mod 4).  Checks that a
 * parsed record's specs are valid domain-specs, that a valid string
 * expands and an expanded domain-spec fits in 253 characters.
 *
 *	./sealmail.sh fuzz	(builds it with the line in fuzz_sources)
 *	tests/fuzz/bin/fuzz-spf tests/fuzz/corpus/spf
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spf.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
record(const char *s, size_t n)
{
	struct spf_record r;
	char	 err[64];
	size_t	 i;

	if (spf_record_parse(s, n, &r, err, sizeof(err)) == 0) {
		for (i = 0; i < r.nterm; i++)
			if (r.term[i].spec != NULL &&
			    !spf_domain_spec_ok(r.term[i].spec))
				abort();
		if (r.nterm > SPF_MAX_TERMS)
			abort();
	}
	spf_record_free(&r);
}

static void
macro(const char *s, int exp, int v6)
{
	struct spf_macro_env env;
	struct dns_addr ip;
	struct buf b;
	int	 ok;

	memset(&env, 0, sizeof(env));
	memset(&ip, 0, sizeof(ip));
	ip.af = v6 ? AF_INET6 : AF_INET;
	memset(&ip.u, 0xab, v6 ? 16 : 4);
	env.s = "strong-bad@email.example.com";
	env.l = "strong-bad";
	env.o = env.d = "email.example.com";
	env.h = "mx.example.org";
	env.p = "mx.example.org";
	env.ip = &ip;
	env.t = 1;
	buf_init(&b, SPF_BUF_MAX);
	ok = spf_macro_check(s, exp) == 0;
	if ((spf_macro_expand(s, exp, &env, &b) == 0) != ok)
		abort();
	if (ok && !exp && b.len > 253)
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1 || size > 8192)
		return 0;
	s = xstrndup((const char *)data + 1, size - 1);
	if ((data[0] & 1) == 0)
		record((const char *)data + 1, size - 1);
	else
		macro(s, (data[0] & 2) != 0, (data[0] & 4) != 0);
	free(s);
	return 0;
}
