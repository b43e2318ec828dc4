/*
 * test-mta-sts.c - smtpd/mta_sts.c, MTA-STS (RFC 8461) as smtpd.mta
 * reads it: the _mta-sts TXT record, the policy, the HTTP response that
 * carries it, and the match of MX hosts against the policy's patterns;
 * and mta_tls_sts (smtpd/mta_policy.c), how a policy combines with the
 * domain's TLS setting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta.h"
#include "test.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*rec;
	int		 want;
	const char	*id;
} txts[] = {
	{ "v=STSv1; id=20160831085700Z;", 1, "20160831085700Z" },
	{ "v=STSv1; id=abc", 1, "abc" },
	{ "v=STSv1;id=abc;", 1, "abc" },
	{ "v=STSv1 ;  id=abc  ; ", 1, "abc" },
	{ "v=STSv1; ext=x-y; id=ABC123", 1, "ABC123" },
	{ "v=STSv1; id=0123456789abcdef0123456789abcdef", 1,
	    "0123456789abcdef0123456789abcdef" },
	/* not MTA-STS records: ignored */
	{ "v=spf1 -all", 0, NULL },
	{ "v=STSv10; id=a", 0, NULL },
	{ "v=stsv1; id=a", 0, NULL },
	{ " v=STSv1; id=a", 0, NULL },
	{ "", 0, NULL },
	/* MTA-STS records that break the grammar */
	{ "v=STSv1", -1, NULL },
	{ "v=STSv1;", -1, NULL },
	{ "v=STSv1; id=", -1, NULL },
	{ "v=STSv1; id=a-b", -1, NULL },
	{ "v=STSv1; id=a; id=b", -1, NULL },
	{ "v=STSv1; id=0123456789abcdef0123456789abcdef0", -1, NULL },
	{ "v=STSv1 id=a", -1, NULL },
	{ "v=STSv1; ID=a", -1, NULL },
	{ "v=STSv1; =a; id=b", -1, NULL },
	{ "v=STSv1; id=a;; ", -1, NULL },
	{ "v=STSv1; id=a\001", -1, NULL },
};

static void
test_txt(void)
{
	char	 id[MTA_STS_ID_MAX + 1];
	size_t	 i;
	int	 r;

	test_begin("the _mta-sts TXT record: v=STSv1 and exactly one id");
	for (i = 0; i < LEN(txts); i++) {
		r = mta_sts_txt(txts[i].rec, strlen(txts[i].rec), id,
		    sizeof(id));
		if (r != txts[i].want)
			printf("  \"%s\": %d, not %d\n", txts[i].rec, r,
			    txts[i].want);
		test_assert(r == txts[i].want);
		if (r == 1)
			test_assert_str(id, txts[i].id);
	}
	test_end();

	test_begin("a TXT record with a NUL byte after the id is refused");
	test_assert(mta_sts_txt("v=STSv1; id=a\0b", 15, id, sizeof(id)) ==
	    -1);
	test_end();
}

static const struct {
	const char	*text;
	int		 ok;
	enum mta_sts_mode mode;
	long		 max_age;
	size_t		 nmx;
	const char	*mx0;
} policies[] = {
	{ "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	  "mx: *.example.net\r\nmx: backupmx.example.com\r\n"
	  "max_age: 604800\r\n", 1, MTA_STS_ENFORCE, 604800, 3,
	  "mail.example.com" },
	{ "version: STSv1\nmode: testing\nmx: MX.Example.COM.\nmax_age: 0",
	  1, MTA_STS_TESTING, 0, 1, "mx.example.com" },
	{ "version:STSv1\nmode:none\nmax_age:31557600\n\n", 1,
	  MTA_STS_NONE, 31557600, 0, NULL },
	{ "version: STSv1  \nmode: enforce\t\nmx: a.b\nmax_age: 1\n"
	  "x-future: anything goes here\n", 1, MTA_STS_ENFORCE, 1, 1,
	  "a.b" },
	/* refused */
	{ "", 0, 0, 0, 0, NULL },
	{ "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmax_age: 1\n", 0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: testing\nmax_age: 1\n", 0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\n", 0, 0, 0, 0, NULL },
	{ "mode: enforce\nmx: a.b\nmax_age: 1\n", 0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", 0,
	  0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 00000000001\n",
	  0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\nmax_age: 2\n",
	  0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmode: none\nmx: a.b\nmax_age: 1\n",
	  0, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *.*.b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a*.b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", 0, 0, 0, 0,
	  NULL },
	{ "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n", 0, 0, 0, 0,
	  NULL },
	{ "version: STSv1\nmode: enforce\nmx: a_b.c\nmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", 0, 0, 0, 0,
	  NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\njunk\n", 0,
	  0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\rmax_age: 1\n", 0, 0, 0,
	  0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: \xc3\xa9.b\nmax_age: 1\n", 0,
	  0, 0, 0, NULL },
	{ "<html><body>Moved</body></html>\n", 0, 0, 0, 0, NULL },
};

static void
test_policy(void)
{
	struct mta_sts	 p;
	char		 why[256];
	size_t		 i;
	int		 r;

	test_begin("policies: version, mode, max_age, mx patterns, strictly");
	for (i = 0; i < LEN(policies); i++) {
		why[0] = '\0';
		r = mta_sts_parse(policies[i].text, strlen(policies[i].text),
		    &p, why, sizeof(why)) == 0;
		if (r != policies[i].ok)
			printf("  policy %zu: %s (%s)\n", i, r ? "taken" :
			    "refused", why);
		test_assert(r == policies[i].ok);
		if (!r) {
			test_assert(p.nmx == 0 && why[0] != '\0');
			continue;
		}
		test_assert(p.mode == policies[i].mode);
		test_assert(p.max_age == policies[i].max_age);
		test_assert(p.nmx == policies[i].nmx);
		if (policies[i].mx0 != NULL)
			test_assert_str(p.mx[0], policies[i].mx0);
		mta_sts_free(&p);
	}
	test_end();
}

static void
test_policy_limits(void)
{
	struct buf	 b;
	struct mta_sts	 p;
	char		 why[256];
	int		 i;

	test_begin("a policy with more mx lines than MTA_STS_MX_MAX is refused");
	buf_init(&b, 0);
	buf_addstr(&b, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	for (i = 0; i < MTA_STS_MX_MAX; i++)
		buf_printf(&b, "mx: mx%d.example.org\n", i);
	test_assert(mta_sts_parse(b.data, b.len, &p, why, sizeof(why)) == 0);
	test_assert(p.nmx == MTA_STS_MX_MAX);
	mta_sts_free(&p);
	buf_addstr(&b, "mx: one-more.example.org\n");
	test_assert(mta_sts_parse(b.data, b.len, &p, why, sizeof(why)) == -1);
	test_end();

	test_begin("a policy over 64 KB is refused, a NUL byte too");
	buf_reset(&b);
	buf_addstr(&b, "version: STSv1\nmode: none\nmax_age: 1\n");
	while (b.len <= MTA_STS_BODY_MAX)
		buf_addstr(&b, "x-pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	test_assert(mta_sts_parse(b.data, b.len, &p, why, sizeof(why)) == -1);
	test_assert(mta_sts_parse("version: STSv1\nmode: none\nmax_age: 1\0",
	    37, &p, why, sizeof(why)) == -1);
	buf_free(&b);
	test_end();
}

static const struct {
	const char	*pattern;
	const char	*host;
	int		 match;
} matches[] = {
	{ "mail.example.com", "mail.example.com", 1 },
	{ "mail.example.com", "MAIL.Example.Com", 1 },
	{ "mail.example.com", "mail.example.com.", 1 },
	{ "mail.example.com", "mail.example.co", 0 },
	{ "mail.example.com", "xmail.example.com", 0 },
	{ "mail.example.com", "a.mail.example.com", 0 },
	{ "*.example.net", "mx1.example.net", 1 },
	{ "*.example.net", "MX1.EXAMPLE.NET", 1 },
	{ "*.example.net", "a.b.example.net", 0 },
	{ "*.example.net", "example.net", 0 },
	{ "*.example.net", ".example.net", 0 },
	{ "*.example.net", "mx1.example.net.evil", 0 },
	{ "*.example.net", "mx1.xexample.net", 0 },
	{ "example.net", "example.net", 1 },
	{ "*.b.example.net", "a\\.b.example.net", 0 },
	{ "a.b.example.net", "a\\.b.example.net", 0 },
};

static void
test_match(void)
{
	const char	*two = "version: STSv1\nmode: enforce\n"
	    "mx: mx.example.org\nmx: *.backup.example.org\nmax_age: 60\n";
	struct mta_sts	 p;
	size_t		 i;
	char		 why[128];
	int		 r;

	test_begin("mx patterns: exact names and *. for one label");
	for (i = 0; i < LEN(matches); i++) {
		r = mta_sts_match(matches[i].pattern, matches[i].host);
		if (r != matches[i].match)
			printf("  %s vs %s: %d\n", matches[i].pattern,
			    matches[i].host, r);
		test_assert(r == matches[i].match);
	}
	test_end();

	test_begin("an MX host is the policy's when one pattern matches");
	test_assert(mta_sts_parse(two, strlen(two), &p, why, sizeof(why)) ==
	    0);
	test_assert(mta_sts_mx_ok(&p, "mx.example.org"));
	test_assert(mta_sts_mx_ok(&p, "b1.backup.example.org"));
	test_assert(!mta_sts_mx_ok(&p, "evil.example.org"));
	test_assert(!mta_sts_mx_ok(&p, "example.org"));
	mta_sts_free(&p);
	test_end();
}

#define OK200	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
#define BODY	"version: STSv1\r\nmode: none\r\nmax_age: 1\r\n"

static const struct {
	const char	*resp;
	int		 eof;
	enum mta_http	 want;
	const char	*body;
} https[] = {
	{ OK200 "Content-Length: 40\r\n\r\n" BODY, 0, MTA_HTTP_DONE, BODY },
	{ OK200 "Content-Length: 40\r\n\r\n" BODY "trailing", 0,
	  MTA_HTTP_DONE, BODY },
	{ OK200 "\r\n" BODY, 1, MTA_HTTP_DONE, BODY },
	{ OK200 "\r\n" BODY, 0, MTA_HTTP_MORE, NULL },
	{ "HTTP/1.0 200 OK\r\ncontent-type: TEXT/PLAIN; charset=utf-8\r\n"
	  "\r\nx", 1, MTA_HTTP_DONE, "x" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: "
	  "text/plain\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n", 0,
	  MTA_HTTP_DONE, "hello world" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: "
	  "text/plain\r\n\r\n5\r\nhel", 0, MTA_HTTP_MORE, NULL },
	{ OK200 "Content-Length: 40\r\n\r\nversion", 0, MTA_HTTP_MORE, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/pl", 0, MTA_HTTP_MORE, NULL },
	/* errors */
	{ OK200 "Content-Length: 40\r\n\r\nversion", 1, MTA_HTTP_ERROR,
	  NULL },
	{ "HTTP/1.1 301 Moved Permanently\r\nLocation: https://evil/\r\n"
	  "Content-Type: text/plain\r\n\r\n", 0, MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n", 0,
	  MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 2000 OK\r\nContent-Type: text/plain\r\n\r\n", 0,
	  MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx", 1,
	  MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/plainx\r\n\r\nx", 1,
	  MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 200 OK\r\n\r\nx", 1, MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: "
	  "text/html\r\n\r\nx", 1, MTA_HTTP_ERROR, NULL },
	{ OK200 "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 0,
	  MTA_HTTP_ERROR, NULL },
	{ OK200 "Content-Length: -1\r\n\r\nx", 0, MTA_HTTP_ERROR, NULL },
	{ OK200 "Content-Length: 65537\r\n\r\nx", 0, MTA_HTTP_ERROR, NULL },
	{ OK200 "Transfer-Encoding: gzip\r\n\r\nx", 1, MTA_HTTP_ERROR,
	  NULL },
	{ OK200 "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
	  "1\r\nx\r\n0\r\n\r\n", 0, MTA_HTTP_ERROR, NULL },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\nz\r\n", 0, MTA_HTTP_ERROR,
	  NULL },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\n1\r\nxyz", 0,
	  MTA_HTTP_ERROR, NULL },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\n10001\r\n", 0,
	  MTA_HTTP_ERROR, NULL },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n", 1,
	  MTA_HTTP_ERROR, NULL },
	{ "SMTP/1.1 200 OK\r\n\r\n", 0, MTA_HTTP_ERROR, NULL },
	{ "HTTP/1.1 200 OK", 1, MTA_HTTP_ERROR, NULL },
};

static void
test_http(void)
{
	struct buf	 body, big;
	char		 why[256];
	size_t		 i;
	enum mta_http	 r;

	test_begin("HTTP responses: 200, text/plain, by length, chunked or "
	    "to the end");
	buf_init(&body, MTA_STS_BODY_MAX);
	for (i = 0; i < LEN(https); i++) {
		why[0] = '\0';
		r = mta_sts_http(https[i].resp, strlen(https[i].resp),
		    https[i].eof, &body, why, sizeof(why));
		if (r != https[i].want)
			printf("  response %zu: %d, not %d (%s)\n", i, r,
			    https[i].want, why);
		test_assert(r == https[i].want);
		if (r == MTA_HTTP_DONE)
			test_assert(body.len == strlen(https[i].body) &&
			    memcmp(body.data, https[i].body, body.len) == 0);
		if (r == MTA_HTTP_ERROR)
			test_assert(why[0] != '\0');
	}
	test_end();

	test_begin("a redirect is a failure that names its status");
	test_assert(mta_sts_http(https[10].resp, strlen(https[10].resp), 0,
	    &body, why, sizeof(why)) == MTA_HTTP_ERROR);
	test_assert(strstr(why, "301") != NULL);
	test_end();

	test_begin("a body over 64 KB up to the end, or a head over 8 KB, "
	    "is refused");
	buf_init(&big, 0);
	buf_addstr(&big, OK200 "\r\n");
	while (big.len < MTA_STS_BODY_MAX + 200)
		buf_addstr(&big, "x-pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	test_assert(mta_sts_http(big.data, big.len, 0, &body, why,
	    sizeof(why)) == MTA_HTTP_ERROR);
	buf_reset(&big);
	buf_addstr(&big, OK200);
	while (big.len < MTA_STS_HEAD_MAX + 10)
		buf_addstr(&big, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	test_assert(mta_sts_http(big.data, big.len, 0, &body, why,
	    sizeof(why)) == MTA_HTTP_ERROR);
	buf_free(&big);
	buf_free(&body);
	test_end();
}

static void
test_combine(void)
{
	struct mta_sts	 p;

	memset(&p, 0, sizeof(p));
	test_begin("enforce raises may and encrypt to verify");
	p.mode = MTA_STS_ENFORCE;
	test_assert(mta_tls_sts(MTA_TLS_MAY, &p) == MTA_TLS_VERIFY);
	test_assert(mta_tls_sts(MTA_TLS_ENCRYPT, &p) == MTA_TLS_VERIFY);
	test_assert(mta_tls_sts(MTA_TLS_VERIFY, &p) == MTA_TLS_VERIFY);
	test_end();

	test_begin("testing, none or no policy leave the setting as it is");
	p.mode = MTA_STS_TESTING;
	test_assert(mta_tls_sts(MTA_TLS_MAY, &p) == MTA_TLS_MAY);
	test_assert(mta_tls_sts(MTA_TLS_ENCRYPT, &p) == MTA_TLS_ENCRYPT);
	p.mode = MTA_STS_NONE;
	test_assert(mta_tls_sts(MTA_TLS_MAY, &p) == MTA_TLS_MAY);
	test_assert(mta_tls_sts(MTA_TLS_ENCRYPT, NULL) == MTA_TLS_ENCRYPT);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_txt, test_policy, test_policy_limits, test_match,
		test_http, test_combine, NULL
	};

	return test_run(tests);
}
