/*
 * test-addr.c - the address grammar (common/addr.c, common/addr_list.c):
 * RFC 5321 mailboxes and paths in each context, RFC 5322 address lists
 * with the hard cases (the RFC 5322 Appendix A examples, comments inside
 * the local part and the domain, groups, routes, SMTPUTF8), the
 * canonical form and its round trip, and every case where the earlier
 * copies of the grammar disagreed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "test.h"

#define U	ADDR_UTF8
#define L	ADDR_LOCAL

struct mbox_case {
	const char	*addr;
	int		 flags;
	const char	*canon;		/* NULL: refused */
	const char	*why;		/* substring of the reason */
};

static int
run_mbox_cases(const struct mbox_case *c, size_t n)
{
	char	 out[ADDR_MAX + 1], err[256];
	size_t	 i;
	int	 r, ok = 1;

	for (i = 0; i < n; i++) {
		err[0] = out[0] = '\0';
		r = addr_canon(c[i].addr, c[i].flags, out, sizeof(out), err,
		    sizeof(err));
		if (r != addr_check(c[i].addr, c[i].flags, NULL, 0) ||
		    (c[i].canon != NULL ? r != 0 || strcmp(out,
		    c[i].canon) != 0 : r != -1 || (c[i].why != NULL &&
		    strstr(err, c[i].why) == NULL))) {
			printf("  \"%s\" flags %d: r=%d out=\"%s\" "
			    "err=\"%s\"\n", c[i].addr, c[i].flags, r, out, err);
			ok = 0;
		}
	}
	return ok;
}

static const struct mbox_case mbox_cases[] = {
	{ "alice@example.test", 0, "alice@example.test", NULL },
	{ "Alice@Example.TEST", L, "Alice@Example.TEST", NULL },
	{ "a.b+c_d-e@sub.example.test", L, "a.b+c_d-e@sub.example.test",
	    NULL },
	{ "!#$%&'*+=?^_`{|}~@example.test", 0,
	    "!#$%&'*+=?^_`{|}~@example.test", NULL },
	{ "x@localhost", L, "x@localhost", NULL },
	{ "a/b@example.test", 0, "a/b@example.test", NULL },
	{ "a/b@example.test", L, NULL, "'/'" },
	/* quoted local parts: quotes only where a dot-string cannot do */
	{ "\"john doe\"@example.org", 0, "\"john doe\"@example.org", NULL },
	{ "\"john\"@example.org", 0, "john@example.org", NULL },
	{ "\"j.d\"@example.org", 0, "j.d@example.org", NULL },
	{ "\"a..b\"@example.org", 0, "\"a..b\"@example.org", NULL },
	{ "\"a\\\"b\"@example.org", 0, "\"a\\\"b\"@example.org", NULL },
	{ "\"a\\b\"@example.org", 0, "ab@example.org", NULL },
	{ "\"a\\\\b\"@example.org", 0, "\"a\\\\b\"@example.org", NULL },
	{ "\"a@b\"@example.org", 0, "\"a@b\"@example.org", NULL },
	{ "\"\"@example.org", 0, "\"\"@example.org", NULL },
	{ "\"a b\"@example.test", L, NULL, "quoted" },
	{ "\"bob\"@example.test", L, NULL, "quoted" },
	{ "\"ab@example.test", 0, NULL, "not closed" },
	{ "\"a\\\x01\"@example.test", 0, NULL, "backslash" },
	{ "\"a\x01\"@example.test", 0, NULL, "control" },
	{ "\"a\"b@example.test", 0, NULL, "'@'" },
	/* missing pieces, dots, characters */
	{ "", 0, NULL, "empty" },
	{ "alice", 0, NULL, "no '@'" },
	{ "@example.test", 0, NULL, "local part is empty" },
	{ "alice@", 0, NULL, "domain is empty" },
	{ ".alice@example.test", 0, NULL, "dot" },
	{ "alice.@example.test", 0, NULL, "dot" },
	{ "a..b@example.test", 0, NULL, "two dots" },
	{ "a b@example.test", 0, NULL, "not allowed unquoted" },
	{ "a\r\nb@example.test", 0, NULL, "unquoted" },
	{ "a@b@example.test", 0, NULL, "'@'" },
	{ "<a@example.test>", 0, NULL, "'<'" },
	/* domains and literals */
	{ "alice@[192.0.2.1]", 0, "alice@[192.0.2.1]", NULL },
	{ "alice@[IPv6:2001:db8::1]", 0, "alice@[IPv6:2001:db8::1]", NULL },
	{ "alice@[ipv6:2001:db8::1]", 0, "alice@[ipv6:2001:db8::1]", NULL },
	{ "alice@[192.0.2.300]", 0, NULL, "literal" },
	{ "alice@[2001:db8::1]", 0, NULL, "literal" },
	{ "alice@[192.0.2.1]", L, NULL, "literal" },
	{ "alice@-example.test", 0, NULL, "'-'" },
	{ "alice@example..test", 0, NULL, "empty label" },
	{ "alice@.example.test", 0, NULL, "empty label" },
	{ "alice@exa mple.test", 0, NULL, "not allowed in a host name" },
	/* SMTPUTF8 */
	{ "j\xc3\xb6rg@example.test", 0, NULL, "non-ASCII" },
	{ "j\xc3\xb6rg@example.test", U, "j\xc3\xb6rg@example.test", NULL },
	{ "j\xc3\xb6rg@example.test", L | U, NULL, "non-ASCII" },
	{ "\"j\xc3\xb6rg\"@example.test", U, "j\xc3\xb6rg@example.test",
	    NULL },
	{ "\"j \xc3\xb6\"@example.test", U, "\"j \xc3\xb6\"@example.test",
	    NULL },
	{ "\"j\\\xc3\xb6\"@example.test", U, NULL, "backslash" },
	{ "j\xc3@example.test", U, NULL, "UTF-8" },
	{ "\xe5\x90\x8d\xe5\x89\x8d@\xe4\xbe\x8b\xe3\x81\x88.test", U,
	    "\xe5\x90\x8d\xe5\x89\x8d@\xe4\xbe\x8b\xe3\x81\x88.test", NULL },
	{ "alice@b\xc3\xbc" "cher.test", 0, NULL, "xn--" },
	{ "alice@b\xc3\xbc" "cher.test", L | U, NULL, "xn--" },
	{ "alice@xn--bcher-kva.test", L, "alice@xn--bcher-kva.test", NULL },
};

static void
test_mailbox_table(void)
{
	test_begin("mailbox: RFC 5321 syntax, canonical form, reasons");
	test_assert(run_mbox_cases(mbox_cases, sizeof(mbox_cases) /
	    sizeof(mbox_cases[0])));
	test_end();
}

/*
 * Where the copies disagreed before this module: "smtp" is the old
 * smtp_addr_valid()/smtp_domain_valid() of common/smtp_parse.c (also the
 * queue's and mda's check), "userdb" the old userdb_addr_check().
 */
static const struct mbox_case disagreements[] = {
	/* smtp took "_" in a domain; userdb did not; RFC 5321 does not */
	{ "alice@exa_mple.test", U, NULL, "not allowed in a host name" },
	/* smtp took a trailing dot; userdb did not; RFC 5321 does not */
	{ "alice@example.test.", U, NULL, "empty label" },
	/* smtp took labels beginning or ending with "-" */
	{ "alice@example-.test", U, NULL, "'-'" },
	/* smtp took any 8-bit byte; only well-formed UTF-8 is UTF-8 */
	{ "\xff@example.test", U, NULL, "UTF-8" },
	{ "a\xc0\xaf@example.test", U, NULL, "UTF-8" },	/* overlong */
	{ "a\xed\xa0\x80@example.test", U, NULL, "UTF-8" },	/* surrogate */
	{ "a\xf4\x90\x80\x80@example.test", U, NULL, "UTF-8" },
	{ "alice@ex\xff.test", U, NULL, "UTF-8" },
	{ "\"a\xff\"@example.test", U, NULL, "UTF-8" },
	/* smtp took an escaped 8-bit byte in a quoted local part */
	{ "\"a\\\xc3\xb6\"@example.test", U, NULL, "backslash" },
	/* smtp took any letters, digits, ".", ":" and "-" as a literal */
	{ "alice@[example]", U, NULL, "literal" },
	{ "alice@[1:2:3]", U, NULL, "literal" },
	{ "alice@[IPv6:zz::1]", U, NULL, "literal" },
	/* userdb refused U-labels even for an SMTPUTF8 path (RFC 6531) */
	{ "alice@b\xc3\xbc" "cher.test", U, "alice@b\xc3\xbc" "cher.test",
	    NULL },
};

static void
test_disagreements(void)
{
	test_begin("mailbox: one rule where smtp_parse and userdb differed");
	test_assert(run_mbox_cases(disagreements, sizeof(disagreements) /
	    sizeof(disagreements[0])));
	test_end();
}

static void
test_lengths(void)
{
	char	 a[600], err[256];

	test_begin("mailbox: 64 local, 63 label, 255 domain, 254 in all");
	memset(a, 'a', 64);
	snprintf(a + 64, sizeof(a) - 64, "@example.test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == 0);
	memset(a, 'a', 65);
	snprintf(a + 65, sizeof(a) - 65, "@example.test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "64") != NULL);
	/* quoting counts: 62 octets of value are 64 with the quotes */
	a[0] = '"';
	memset(a + 1, ' ', 62);
	snprintf(a + 63, sizeof(a) - 63, "\"@example.test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == 0);
	a[63] = ' ';
	snprintf(a + 64, sizeof(a) - 64, "\"@example.test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == -1);
	/* 64 + 1 + 189 = 254 octets: allowed; 255 (the queue took up to
	 * 256 before): refused */
	memset(a, 'a', 64);
	a[64] = '@';
	memset(a + 65, 'b', 189);
	a[65 + 189] = '\0';
	a[65 + 60] = a[65 + 120] = a[65 + 180] = '.';
	test_assert(addr_check(a, U, err, sizeof(err)) == 0);
	a[65 + 189] = 'b';
	a[65 + 190] = '\0';
	test_assert(addr_check(a, U, err, sizeof(err)) == -1);
	test_assert(strstr(err, "254") != NULL);
	/* a 63-octet label is fine, 64 is not */
	memcpy(a, "a@", 2);
	memset(a + 2, 'b', 63);
	snprintf(a + 65, sizeof(a) - 65, ".test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == 0);
	memset(a + 2, 'b', 64);
	snprintf(a + 66, sizeof(a) - 66, ".test");
	test_assert(addr_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "63") != NULL);
	/* a 256-octet domain */
	memset(a, 'b', 256);
	a[256] = '\0';
	a[60] = a[120] = a[180] = a[240] = '.';
	test_assert(addr_domain_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "255") != NULL);
	a[255] = '\0';
	test_assert(addr_domain_check(a, 0, err, sizeof(err)) == 0);
	test_end();
}

static void
test_domain_and_lower(void)
{
	char	 a[] = "Al.Ice@Ex-Ample.TEST";
	char	 q[] = "\"A@B\"@EXAMPLE.Test";

	test_begin("domain: host names, literals, U-labels, lowercasing");
	test_assert(addr_domain_check("example.test", 0, NULL, 0) == 0);
	test_assert(addr_domain_check("[192.0.2.1]", 0, NULL, 0) == 0);
	test_assert(addr_domain_check("[192.0.2.1]", L, NULL, 0) == -1);
	test_assert(addr_domain_check("b\xc3\xbc" "cher.test", U, NULL,
	    0) == 0);
	test_assert(addr_domain_check("b\xc3\xbc" "cher.test", 0, NULL,
	    0) == -1);
	test_assert(addr_domain_check("exa_mple.test", U, NULL, 0) == -1);
	test_assert(addr_domain_check("", 0, NULL, 0) == -1);
	addr_domain_lower(a);
	test_assert_str(a, "Al.Ice@ex-ample.test");
	addr_domain_lower(q);
	test_assert_str(q, "\"A@B\"@example.test");
	test_end();
}

static const struct {
	const char	*s;
	int		 ok;
	const char	*mbox;		/* the Mailbox delimited */
	size_t		 len;		/* bytes of the path */
} path_cases[] = {
	{ "<a@example.test>", 1, "a@example.test", 16 },
	{ "<>", 1, "", 2 },
	{ "<a@example.test> SIZE=10", 1, "a@example.test", 16 },
	{ "<\"a>b\"@example.test>", 1, "\"a>b\"@example.test", 20 },
	{ "<\"a\\\">\"@example.test>", 1, "\"a\\\">\"@example.test", 21 },
	{ "<@relay.test:a@example.test>", 1, "a@example.test", 28 },
	{ "<@r1.test,@r2.test:a@example.test>", 1, "a@example.test", 34 },
	{ "<Postmaster>", 1, "Postmaster", 12 },
	{ "<@relay.test:>", 0, NULL, 0 },
	{ "<@relay.test>", 0, NULL, 0 },
	{ "<@re_lay.test:a@example.test>", 0, NULL, 0 },
	{ "<@[192.0.2.1]:a@example.test>", 0, NULL, 0 },
	{ "<@relay.test,x:a@example.test>", 0, NULL, 0 },
	{ "<a@example.test", 0, NULL, 0 },
	{ "a@example.test>", 0, NULL, 0 },
	{ "<\"a>@example.test", 0, NULL, 0 },
};

static void
test_paths(void)
{
	struct addr_path ap;
	char	 longp[400];
	size_t	 i;
	int	 r;

	test_begin("path: <>, routes checked and dropped, quoted '>'");
	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		r = addr_path_scan(path_cases[i].s, U, &ap);
		if ((r == 0) != path_cases[i].ok || (r == 0 &&
		    (ap.len != path_cases[i].len || ap.mboxlen !=
		    strlen(path_cases[i].mbox) || memcmp(path_cases[i].s +
		    ap.mbox, path_cases[i].mbox, ap.mboxlen) != 0))) {
			printf("  \"%s\": r=%d len=%zu\n", path_cases[i].s, r,
			    ap.len);
			test_assert(0);
		}
	}
	/* a path is at most 256 octets with its brackets */
	longp[0] = '<';
	memset(longp + 1, 'a', 254);
	longp[255] = '>';
	longp[256] = '\0';
	test_assert(addr_path_scan(longp, 0, &ap) == 0 && ap.len == 256);
	memset(longp + 1, 'a', 255);
	longp[256] = '>';
	longp[257] = '\0';
	test_assert(addr_path_scan(longp, 0, &ap) == -1);
	test_end();
}

/* ----------------------------------------------------------------------
 * RFC 5322 lists.
 */

#define LN	ADDR_LIST_LENIENT
#define CN	ADDR_LIST_COMMENT_NAME

struct list_case {
	const char	*v;
	int		 flags;
	const char	*canon;		/* NULL: refused */
	int		 nmbox;
};

static const struct list_case list_cases[] = {
	/* RFC 5322 A.1.1, A.1.2, A.1.3 */
	{ "John Doe <jdoe@machine.example>", 0,
	    "John Doe <jdoe@machine.example>", 1 },
	{ "\"Joe Q. Public\" <john.q.public@example.com>", 0,
	    "\"Joe Q. Public\" <john.q.public@example.com>", 1 },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0,
	    "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	    3 },
	{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example."
	    "net>", 0, "boss@nil.test, \"Giant; \\\"Big\\\" Box\" "
	    "<sysservices@example.net>", 2 },
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    0, "A Group:Ed Jones <c@a.test>, joe@where.test, "
	    "John <jdoe@one.test>;", 3 },
	{ "Undisclosed recipients:;", 0, "Undisclosed recipients:;", 0 },
	/* A.5: white space, comments */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    0, "Pete <pete@silly.test>", 1 },
	{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)"
	    "public.example>,\r\n         joe@example.org,\r\n  John "
	    "<jdoe@one.test> (my dear friend); (the end of the group)", 0,
	    "A Group:Chris Jones <c@public.example>, joe@example.org, "
	    "John <jdoe@one.test>;", 3 },
	{ "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
	    0, "Hidden recipients:;", 0 },
	/* A.6.1, A.6.3: obsolete syntax */
	{ "Joe Q. Public <john.q.public@example.com>", 0,
	    "\"Joe Q. Public\" <john.q.public@example.com>", 1 },
	{ "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    0, "Mary Smith <@node.test:mary@example.net>, jdoe@test.example",
	    2 },
	{ "John Doe <jdoe@machine(comment).  example>", 0,
	    "John Doe <jdoe@machine.example>", 1 },
	{ "Mary Smith\r\n  \r\n <mary@example.net>", 0,
	    "Mary Smith <mary@example.net>", 1 },
	/* comments inside the local part and the domain */
	{ "<user (c)@ (c) domain>", 0, "user@domain", 1 },
	{ "user (c) . name (c) @ (c) example (c) . (c) test", 0,
	    "user.name@example.test", 1 },
	{ "(c (nested) c) alice@example.test", 0, "alice@example.test", 1 },
	{ "alice@example.test (Alice <bob@evil>)", 0, "alice@example.test",
	    1 },
	/* quoted strings, obs-local-part */
	{ "\"al ice\"@example.test", 0, "\"al ice\"@example.test", 1 },
	{ "\"alice\"@example.test", 0, "alice@example.test", 1 },
	{ "\"a\".b@example.test", 0, "a.b@example.test", 1 },
	{ "\"a b\".c@example.test", 0, "\"a b.c\"@example.test", 1 },
	{ "\"Bob, <bob@evil>\" <alice@example.test>", 0,
	    "\"Bob, <bob@evil>\" <alice@example.test>", 1 },
	{ "\"\" <a@example.test>", 0, "a@example.test", 1 },
	/* groups, routes, literals */
	{ "g:;", 0, "g:;", 0 },
	{ "g: (nobody) ;", 0, "g:;", 0 },
	{ "a@x.test, g:;, b@y.test", 0, "a@x.test, g:;, b@y.test", 2 },
	{ "team: a@x.test, , b@y.test;", 0, "team:a@x.test, b@y.test;", 2 },
	{ "<@a.test,@b.test:u@d.test>", 0, "<@a.test,@b.test:u@d.test>", 1 },
	{ "<,@a.test,,@b.test:u@d.test>", 0, "<@a.test,@b.test:u@d.test>",
	    1 },
	{ "a@[ 192.0.2.1 ]", 0, "a@[192.0.2.1]", 1 },
	{ "a@x.test,, b@y.test", 0, "a@x.test, b@y.test", 2 },
	/* SMTPUTF8 (RFC 6532) */
	{ "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.test>", 0,
	    "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.test>", 1 },
	{ "=?utf-8?q?B=C3=B6b?= <bob@example.test>", 0,
	    "=?utf-8?q?B=C3=B6b?= <bob@example.test>", 1 },
	/* a trailing comment as the name, only when asked */
	{ "user@domain (Real Name)", CN, "Real Name <user@domain>", 1 },
	{ "user@domain (Real Name)", 0, "user@domain", 1 },
	{ "user@domain ( )", CN, "user@domain", 1 },
	{ "Al <user@domain> (Real Name)", CN, "Al <user@domain>", 1 },
	{ "user@domain (a \"b\" \\c)", CN, "\"a \\\"b\\\" c\" <user@domain>",
	    1 },
	/* refused */
	{ "Alice", 0, NULL, 0 },
	{ "<>", 0, NULL, 0 },
	{ "<a@example.test> <b@evil>", 0, NULL, 0 },
	{ "<a@example.test> trailing", 0, NULL, 0 },
	{ "<a@example.test", 0, NULL, 0 },
	{ "\"unterminated <a@example.test>", 0, NULL, 0 },
	{ "(unterminated a@example.test", 0, NULL, 0 },
	{ "a@", 0, NULL, 0 },
	{ "@example.test", 0, NULL, 0 },
	{ "a@example.", 0, NULL, 0 },
	{ "team: a@x.test", 0, NULL, 0 },
	{ "a@x.test; b@y.test", 0, NULL, 0 },
	{ "a@x.test>", 0, NULL, 0 },
	{ "a b@example.test", 0, NULL, 0 },
	{ ".a@example.test", 0, NULL, 0 },
	{ "a..b@example.test", 0, NULL, 0 },
	{ "a.@example.test", 0, NULL, 0 },
	{ "g: h: a@b;;", 0, NULL, 0 },
	{ ". <a@example.test>", 0, NULL, 0 },
	{ ":;", 0, NULL, 0 },
	{ "<@:a@example.test>", 0, NULL, 0 },
	{ "a@[1.2.3.4", 0, NULL, 0 },
	{ "a]@example.test", 0, NULL, 0 },
	/* lenient: what can be read */
	{ "Alice", LN, "Alice", 1 },
	{ "undisclosed-recipients", LN, "undisclosed-recipients", 1 },
	{ "a@", LN, "a", 1 },
	{ "a@x.test, <bad, b@y.test", LN, "a@x.test, b@y.test", 2 },
	{ "a@x.test; b@y.test", LN, "a@x.test, b@y.test", 2 },
	{ "team: a@x.test", LN, "team:a@x.test;", 1 },
	{ "\"unterminated <a@example.test>", LN, "", 0 },
	{ "((((((nested comment", LN, "", 0 },
	{ ",,,", LN, "", 0 },
	{ "<a@x.test> junk, b@y.test", LN, "a@x.test, b@y.test", 2 },
	{ "<foo>", LN, "foo", 1 },
	{ "g: a@x.test, h: b@y.test;, c@z.test", LN,
	    "g:a@x.test;, c@z.test", 2 },
	{ ":;", LN, ":;", 0 },
};

static int
list_roundtrip(const char *canon, int flags, const struct addr_list *l)
{
	struct addr_list l2;
	struct buf	 b;
	size_t		 i;
	int		 ok;

	if (addr_list_parse(canon, strlen(canon), flags, 100, &l2, NULL,
	    0) == -1)
		return 0;
	ok = l2.n == l->n;
	for (i = 0; ok && i < l->n; i++) {
#define SAME(f)	((l->v[i].f == NULL) == (l2.v[i].f == NULL) && \
    (l->v[i].f == NULL || strcmp(l->v[i].f, l2.v[i].f) == 0))
		ok = l->v[i].kind == l2.v[i].kind && SAME(name) &&
		    SAME(route) && SAME(local) && SAME(domain);
#undef SAME
	}
	buf_init(&b, 0);
	addr_list_format(&l2, &b);
	ok = ok && strcmp(buf_cstr(&b), canon) == 0;
	buf_free(&b);
	addr_list_free(&l2);
	return ok;
}

static void
test_list_table(void)
{
	struct addr_list l;
	struct buf	 b;
	char		 err[128];
	size_t		 i;
	int		 r;

	test_begin("list: RFC 5322 and Appendix A, canonical round trip");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];

		err[0] = '\0';
		r = addr_list_parse(c->v, strlen(c->v), c->flags, 100, &l, err,
		    sizeof(err));
		buf_reset(&b);
		if (r == 0)
			addr_list_format(&l, &b);
		if (c->canon == NULL ? r != -1 || err[0] == '\0' || l.n != 0 :
		    r != 0 || strcmp(buf_cstr(&b), c->canon) != 0 ||
		    addr_list_mailboxes(&l) != (size_t)c->nmbox ||
		    !list_roundtrip(c->canon, c->flags, &l)) {
			printf("  \"%s\": r=%d got \"%s\" err=\"%s\"\n", c->v,
			    r, buf_cstr(&b), err);
			test_assert(0);
		}
		addr_list_free(&l);
	}
	buf_free(&b);
	test_end();
}

static void
test_list_items(void)
{
	struct addr_list l;
	struct buf	 b;
	const char	*v;

	test_begin("list: names, routes, groups as items; encoded names");
	v = "=?utf-8?q?B=C3=B6b?= <@r1.test,@r2.test:bob@example.test>, "
	    "g:;, \"a b\"@[192.0.2.1]";
	test_assert(addr_list_parse(v, strlen(v), 0, 10, &l, NULL, 0) == 0);
	test_assert(l.n == 4);
	test_assert(l.v[0].kind == ADDR_MAILBOX);
	test_assert_str(l.v[0].name, "=?utf-8?q?B=C3=B6b?=");
	test_assert_str(l.v[0].route, "@r1.test,@r2.test");
	test_assert_str(l.v[0].local, "bob");
	test_assert_str(l.v[0].domain, "example.test");
	test_assert(l.v[1].kind == ADDR_GROUP);
	test_assert_str(l.v[1].name, "g");
	test_assert(l.v[2].kind == ADDR_GROUP_END);
	test_assert(l.v[3].name == NULL && l.v[3].route == NULL);
	test_assert_str(l.v[3].local, "a b");
	test_assert_str(l.v[3].domain, "[192.0.2.1]");
	buf_init(&b, 0);
	addr_name_decode(l.v[0].name, &b);
	test_assert_str(buf_cstr(&b), "B\xc3\xb6" "b");
	buf_reset(&b);
	addr_spec_format(&l.v[3], &b);
	test_assert_str(buf_cstr(&b), "\"a b\"@[192.0.2.1]");
	buf_free(&b);
	addr_list_free(&l);
	test_end();
}

static void
test_list_limits(void)
{
	struct addr_list l;
	char		 v[] = "a@x, b@x, c@x";

	test_begin("list: at most max items, NUL refused");
	test_assert(addr_list_parse(v, strlen(v), 0, 3, &l, NULL, 0) == 0);
	test_assert(l.n == 3);
	addr_list_free(&l);
	test_assert(addr_list_parse(v, strlen(v), 0, 2, &l, NULL, 0) == -1);
	test_assert(l.n == 0 && l.v == NULL);
	test_assert(addr_list_parse(v, strlen(v), LN, 2, &l, NULL, 0) == -1);
	test_assert(addr_list_parse("g:;", 3, 0, 1, &l, NULL, 0) == -1);
	test_assert(addr_list_parse("a@x\0y", 5, 0, 10, &l, NULL, 0) == -1);
	test_end();
}

static const struct {
	const char	*v;
	int		 ok;
} header_cases[] = {
	{ "alice@example.test", 1 },
	{ "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.test>", 1 },
	{ "a@[192.0.2.1]", 1 },
	{ "<@relay.test:a@example.test>", 1 },
	{ "\"a b\"@example.test", 1 },
	{ "a@exa_mple.test", 0 },
	{ "a@[example]", 0 },
	{ "\"a\x01\"@example.test", 0 },
	{ "\"a\tb\"@example.test", 0 },
	{ "j\xff@example.test", 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.test", 0 },
	{ "a@localhost", 1 },
	{ "a@-x.test", 0 },
};

static void
test_header_check(void)
{
	struct addr_list l;
	char		 err[128];
	size_t		 i;
	int		 r;

	test_begin("header address: what RFC 5321 can carry, UTF-8 allowed");
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		r = addr_list_parse(header_cases[i].v,
		    strlen(header_cases[i].v), 0, 10, &l, NULL, 0);
		if (r == 0)
			r = l.n == 1 ? addr_header_check(&l.v[0], err,
			    sizeof(err)) : -1;
		if ((r == 0) != header_cases[i].ok) {
			printf("  \"%s\": r=%d\n", header_cases[i].v, r);
			test_assert(0);
		}
		addr_list_free(&l);
	}
	test_assert(addr_list_parse("Alice", 5, LN, 10, &l, NULL, 0) == 0);
	test_assert(addr_header_check(&l.v[0], err, sizeof(err)) == -1);
	addr_list_free(&l);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_mailbox_table,
		test_disagreements,
		test_lengths,
		test_domain_and_lower,
		test_paths,
		test_list_table,
		test_list_items,
		test_list_limits,
		test_header_check,
		NULL
	};

	return test_run(tests);
}
