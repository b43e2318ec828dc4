/*
 * test-authres.c - smtpd/authres.c: header fields, the authserv-id of an
 * Authentication-Results field, the one From address, alignment, the
 * class, the key server's address and the field we write.
 */
#include <string.h>

#include "authres.h"
#include "qhandoff.h"
#include "test.h"

static void
test_fields_and_header_end(void)
{
	const char	*h = "From: a@b\r\nSubject: x\r\n\tfolded\r\n"
	    "X: y\n\r\nbody\r\n";
	struct ar_field	 f;
	size_t		 pos = 0, n = strlen(h);
	int		 complete;

	test_begin("fields with their folds; the header ends at the empty "
	    "line");
	test_assert(ar_header_len(h, n, &complete) == n - 6);
	test_assert(complete);
	test_assert(ar_next_field(h, n, &pos, &f) == 1);
	test_assert(f.off == 0 && f.len == 11 && f.value == 5);
	test_assert(ar_field_is(h, &f, "from"));
	test_assert(!ar_field_is(h, &f, "Fro"));
	test_assert(ar_next_field(h, n, &pos, &f) == 1);
	test_assert(f.len == strlen("Subject: x\r\n\tfolded\r\n"));
	test_assert(ar_next_field(h, n, &pos, &f) == 1);
	test_assert(f.len == 5);	/* a bare LF ends a line too */
	test_assert(ar_next_field(h, n, &pos, &f) == 0);
	test_assert(ar_header_len("A: b\r\n", 6, &complete) == 6);
	test_assert(!complete);
	test_end();
}

static void
test_field_name_with_space_before_colon(void)
{
	const char	*h = "Authentication-Results :x\r\n";
	struct ar_field	 f;
	size_t		 pos = 0;

	test_begin("a field name matches with white space before its colon");
	test_assert(ar_next_field(h, strlen(h), &pos, &f) == 1);
	test_assert(ar_field_is(h, &f, "Authentication-Results"));
	test_assert(!ar_field_is(h, &f, "Authentication-Result"));
	test_end();
}

static const struct {
	const char	*value;
	int		 ours;
} claims[] = {
	{ " mx.example.test; dkim=pass", 1 },
	{ " MX.Example.TEST; dkim=pass", 1 },
	{ "mx.example.test;dkim=pass", 1 },
	{ " mx.example.test 1; dkim=pass", 1 },
	{ " (a comment (nested)) mx.example.test; none", 1 },
	{ "\r\n\tmx.example.test;\r\n\tnone\r\n", 1 },
	{ " \"mx.example.test\"; none", 1 },
	{ " mx.example.test(comment); none", 1 },
	{ " mx.example.test", 1 },
	{ " other.example; dkim=pass header.d=mx.example.test", 0 },
	{ " mx.example.test.evil; none", 0 },
	{ " sub.mx.example.test; none", 0 },
	{ " example.test; none", 0 },
	{ " \"mx.example.test; none", 0 },
	{ " (unclosed mx.example.test; none", 0 },
	{ "", 0 },
	{ " ; none", 0 },
};

static void
test_authserv_id_claims(void)
{
	size_t	 i;

	test_begin("an Authentication-Results claims our id by its first "
	    "token only");
	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		if (ar_claims_id(claims[i].value, strlen(claims[i].value),
		    "mx.example.test") != claims[i].ours)
			printf("  [%s]\n", claims[i].value);
		test_assert(ar_claims_id(claims[i].value,
		    strlen(claims[i].value), "mx.example.test") ==
		    claims[i].ours);
	}
	test_end();
}

static const struct {
	const char	*header;
	const char	*from;		/* NULL: none */
} froms[] = {
	{ "From: alice@Example.ORG\r\n\r\n", "alice@example.org" },
	{ "From: Alice <alice@example.org>\r\nTo: b@c\r\n\r\n",
	    "alice@example.org" },
	{ "from:\r\n  \"A B\" <a.b@example.org> (c)\r\n\r\n",
	    "a.b@example.org" },
	{ "To: b@c\r\n\r\n", NULL },
	{ "From: a@example.org\r\nFrom: b@example.org\r\n\r\n", NULL },
	{ "From: a@example.org, b@example.net\r\n\r\n", NULL },
	{ "From: g: a@example.org;\r\n\r\n", NULL },
	{ "From: not an address\r\n\r\n", NULL },
	{ "From: a@[192.0.2.1]\r\n\r\n", "a@[192.0.2.1]" },
};

static void
test_one_from_address(void)
{
	char	 from[AR_FROM_MAX + 1];
	size_t	 i;
	int	 r;

	test_begin("exactly one From field with exactly one mailbox");
	for (i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		r = ar_from(froms[i].header, strlen(froms[i].header), from);
		if (froms[i].from == NULL) {
			test_assert(r == -1);
			test_assert(from[0] == '\0');
		} else {
			test_assert(r == 0);
			test_assert_str(from, froms[i].from);
		}
	}
	test_end();
}

static void
test_alignment(void)
{
	test_begin("d= equal to or a parent of the From domain is aligned");
	test_assert(ar_aligned("example.org", "example.org"));
	test_assert(ar_aligned("Example.ORG", "example.org"));
	test_assert(ar_aligned("example.org", "mail.example.org"));
	test_assert(!ar_aligned("mail.example.org", "example.org"));
	test_assert(!ar_aligned("ample.org", "example.org"));
	test_assert(!ar_aligned("example.org", "example.org.evil"));
	test_assert(!ar_aligned("", "example.org"));
	test_end();
}

static struct dkim_result
res(enum dkim_status st, const char *d)
{
	struct dkim_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	r.reason = "";
	(void)snprintf(r.domain, sizeof(r.domain), "%s", d);
	(void)snprintf(r.selector, sizeof(r.selector), "sel");
	(void)snprintf(r.identity, sizeof(r.identity), "@%s", d);
	r.alg = DKIM_ALG_RSA_SHA256;
	return r;
}

static const struct {
	const char	*header;
	int		 claims;
	const char	*claim;
} names[] = {
	{ "From: \"bob@example.test\" <m@evil.example>\r\n", 1,
	    "bob@example.test" },
	{ "From: m@evil.example (Bob <bob@example.test>)\r\n", 1,
	    "bob@example.test" },
	{ "From: =?utf-8?q?bob=40example=2Etest?= <m@evil.example>\r\n", 1,
	    "bob@example.test" },
	{ "From: \"M@Evil.Example\" <m@evil.example>\r\n", 0, "" },
	{ "From: Bob Smith <bob@example.test>\r\n", 0, "" },
	{ "From: \"Bob at home @ work\" <bob@example.test>\r\n", 0, "" },
	{ "From: bob@example.test\r\n", 0, "" },
};

static void
test_display_name_claims(void)
{
	char	 from[AR_FROM_MAX + 1], claim[AR_FROM_MAX + 1];
	size_t	 i;
	int	 r;

	test_begin("a display name that names another address is a claim");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		claim[0] = '\0';
		test_assert(ar_from(names[i].header, strlen(names[i].header),
		    from) == 0);
		test_assert(ar_from_claims(names[i].header,
		    strlen(names[i].header), from, claim, sizeof(claim)) == 0);
		r = claim[0] != '\0';
		if (r != names[i].claims)
			printf("  case %zu: %d\n", i, r);
		test_assert(r == names[i].claims);
		if (r)
			test_assert_str(claim, names[i].claim);
	}
	test_end();
}

static void
test_keyserver_address(void)
{
	char	 a[AR_FROM_MAX + 1];

	test_begin("the key server is asked for i=, else an aligned From");
	test_assert(ar_keyserver_address("bob@example.org", "example.org",
	    "alice@example.org", a) == 0);
	test_assert_str(a, "bob@example.org");
	test_assert(ar_keyserver_address("@example.org", "example.org",
	    "alice@mail.example.org", a) == 0);
	test_assert_str(a, "alice@mail.example.org");
	test_assert(ar_keyserver_address("@example.org", "example.org",
	    "alice@other.example", a) == -1);
	test_assert(ar_keyserver_address("@example.org", "example.org", "",
	    a) == -1);
	/* nothing that could end the KEY line or is not a user address */
	test_assert(ar_keyserver_address("a b@example.org", "example.org",
	    "", a) == -1);
	test_assert(ar_keyserver_address("a\r\nQUIT@example.org",
	    "example.org", "", a) == -1);
	test_end();
}

static void
test_format(void)
{
	struct dkim_result	 r[2];
	struct buf		 b;

	test_begin("Authentication-Results: our id, one result a line");
	buf_init(&b, 0);
	ar_format("mx.example.test", NULL, 0, NULL, &b);
	test_assert_str(buf_cstr(&b), "Authentication-Results: "
	    "mx.example.test;\r\n\tdkim=none\r\n");
	buf_reset(&b);
	r[0] = res(DKIM_PASS, "example.org");
	(void)snprintf(r[0].b_prefix, sizeof(r[0].b_prefix), "abcdEFGH");
	r[1] = res(DKIM_FAIL, "example.net");
	r[1].reason = "body hash mismatch";
	r[1].alg = DKIM_ALG_ED25519_SHA256;
	ar_format("mx.example.test", r, 2, NULL, &b);
	test_assert_str(buf_cstr(&b), "Authentication-Results: "
	    "mx.example.test;\r\n"
	    "\tdkim=pass header.d=example.org header.i=@example.org "
	    "header.s=sel header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
	    "\tdkim=fail (body hash mismatch) header.d=example.net "
	    "header.i=@example.net header.s=sel header.a=ed25519-sha256\r\n");
	/* what we write is never taken for a forgery of another host */
	test_assert(ar_claims_id(b.data + 23, b.len - 23, "mx.example.test"));
	buf_free(&b);
	test_end();
}

static void
test_format_auth(void)
{
	struct dkim_result	 r[2];
	struct buf		 b;

	test_begin("Authentication-Results of submitted mail: our own "
	    "signatures checked, then auth=pass with the author");
	buf_init(&b, 0);
	r[0] = res(DKIM_PASS, "example.test");
	r[1] = res(DKIM_PASS, "example.test");
	r[1].alg = DKIM_ALG_ED25519_SHA256;
	ar_format("mail.example.test", r, 2, "alice@example.test", &b);
	test_assert_str(buf_cstr(&b), "Authentication-Results: "
	    "mail.example.test;\r\n"
	    "\tdkim=pass header.d=example.test header.i=@example.test "
	    "header.s=sel header.a=rsa-sha256;\r\n"
	    "\tdkim=pass header.d=example.test header.i=@example.test "
	    "header.s=sel header.a=ed25519-sha256;\r\n"
	    "\tauth=pass smtp.auth=alice@example.test\r\n");
	buf_reset(&b);
	ar_format("mail.example.test", NULL, 0, "bob@example.test", &b);
	test_assert_str(buf_cstr(&b), "Authentication-Results: "
	    "mail.example.test;\r\n\tdkim=none;\r\n"
	    "\tauth=pass smtp.auth=bob@example.test\r\n");
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_fields_and_header_end,
		test_field_name_with_space_before_colon,
		test_authserv_id_claims,
		test_one_from_address,
		test_alignment,
		test_display_name_claims,
		test_keyserver_address,
		test_format,
		test_format_auth,
		NULL
	};

	return test_run(tests);
}
