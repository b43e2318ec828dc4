/*
 * test-spf.c - unit tests of the SPF record parser and macro expansion
 * (common/spf_macro.c): syntax accepted and refused, and the examples
 * of RFC 7208 section 7.4.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "spf.h"
#include "test.h"

static const struct {
	const char	*rec;
	int		 ok;
} records[] = {
	{ "v=spf1", 0 },
	{ "v=spf1 -all", 0 },
	{ "v=spf1 a/24//64 mx:example.org/30 ptr ip4:192.0.2.0/24 "
	    "ip6:2001:db8::/32 exists:%{i}.x.example ~all", 0 },
	{ "v=spf1 include:example.org redirect=x.example.org", 0 },
	{ "v=spf1 foo=%{l}x -all", 0 },
	{ "v=spf1 exists:%{i}.%{d}", 0 },	/* ends with a macro */
	{ "v=spf1 exists:x.y%%%_", 0 },
	{ "v=spf1 exists:x.y%%_", -1 },		/* "%_" is not one here */
	{ "v=spf1 foo:bar -all", -1 },		/* unknown mechanism */
	{ "v=spf1 ip4:192.0.2.0/33", -1 },
	{ "v=spf1 ip4:192.0.2.0/024", -1 },
	{ "v=spf1 ip6:2001:db8::/129", -1 },
	{ "v=spf1 a:example.com/", -1 },
	{ "v=spf1 a:111.222.33.44", -1 },	/* numeric top label */
	{ "v=spf1 include", -1 },
	{ "v=spf1 all:x.example", -1 },
	{ "v=spf1 redirect=a.example redirect=b.example", -1 },
	{ "v=spf1 exp=a.example exp=b.example", -1 },
	{ "v=spf1 exists:%{x}.example", -1 },	/* bad macro letter */
	{ "v=spf1 exists:%{c}.example", -1 },	/* c only in exp */
	{ "v=spf1 exists:%{i0}.example", -1 },
	{ "v=spf1 a:%", -1 },
	{ "v=spf1 -all\x80", -1 },
	{ "v=spf10", -1 },
};

static void
test_parse(void)
{
	struct spf_record r;
	char	 err[64];
	size_t	 i;

	test_begin("record parser accepts valid and refuses bad records");
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		int got = spf_record_parse(records[i].rec,
		    strlen(records[i].rec), &r, err, sizeof(err));

		if (got != records[i].ok)
			printf("  record %s: %d\n", records[i].rec, got);
		test_assert(got == records[i].ok);
		spf_record_free(&r);
	}
	test_end();
}

static const struct {
	const char	*in;
	const char	*out;
	int		 v6;
} macros[] = {
	{ "%{s}", "strong-bad@email.example.com", 0 },
	{ "%{o}", "email.example.com", 0 },
	{ "%{d}", "email.example.com", 0 },
	{ "%{d4}", "email.example.com", 0 },
	{ "%{d3}", "email.example.com", 0 },
	{ "%{d2}", "example.com", 0 },
	{ "%{d1}", "com", 0 },
	{ "%{dr}", "com.example.email", 0 },
	{ "%{d2r}", "example.email", 0 },
	{ "%{l}", "strong-bad", 0 },
	{ "%{l-}", "strong.bad", 0 },
	{ "%{lr}", "strong-bad", 0 },
	{ "%{lr-}", "bad.strong", 0 },
	{ "%{l1r-}", "strong", 0 },
	{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", 0 },
	{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", 0 },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", 0 },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com", 0 },
	{ "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net", 0 },
	{ "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com", 1 },
	{ "%%%_%-", "% %20", 0 },
	{ "%{L}", "strong-bad", 0 },
};

static void
test_expand(void)
{
	struct spf_macro_env env;
	struct dns_addr ip4, ip6;
	struct buf b;
	size_t	 i;

	test_begin("macros expand as in RFC 7208 section 7.4");
	ip4.af = AF_INET;
	inet_pton(AF_INET, "192.0.2.3", &ip4.u.v4);
	ip6.af = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::cb01", &ip6.u.v6);
	memset(&env, 0, sizeof(env));
	env.s = "strong-bad@email.example.com";
	env.l = "strong-bad";
	env.o = env.d = "email.example.com";
	buf_init(&b, 0);
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		env.ip = macros[i].v6 ? &ip6 : &ip4;
		buf_reset(&b);
		test_assert(spf_macro_expand(macros[i].in, 1, &env, &b) == 0);
		if (strcmp(buf_cstr(&b), macros[i].out) != 0)
			printf("  %s -> %s\n", macros[i].in, buf_cstr(&b));
		test_assert(strcmp(buf_cstr(&b), macros[i].out) == 0);
	}
	buf_reset(&b);
	test_assert(spf_macro_expand("%{d}%", 1, &env, &b) == -1);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = { test_parse, test_expand,
	    NULL };

	return (test_run(tests));
}
