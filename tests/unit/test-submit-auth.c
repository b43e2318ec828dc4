/*
 * test-submit-auth.c - SASL PLAIN and LOGIN decoding (submitd/auth.c).
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "test.h"

static void
b64(const void *p, size_t n, char *out, size_t outlen)
{
	if (sasl_base64_encode(p, n, out, outlen) == -1)
		out[0] = '\0';
}

static void
test_base64_round_trip_for_every_length(void)
{
	unsigned char in[64], out[64];
	char	 enc[128];
	size_t	 n, i, got;

	test_begin("base64 encodes and decodes back for lengths 0..63");
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n < sizeof(in); n++) {
		b64(in, n, enc, sizeof(enc));
		test_assert(sasl_base64_decode(enc, out, sizeof(out), &got) ==
		    SASL_OK);
		test_assert(got == n && memcmp(in, out, n) == 0);
	}
	test_end();
}

static void
test_base64_is_strict(void)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Z===", "=Zg=", "Zm9v YmFy", "Zm9v\r\n", "Zm9v!",
		"Zg=a", "Zm=v", NULL
	};
	unsigned char out[16];
	size_t	 got, i;

	test_begin("base64 refuses missing padding, white space, bad chars");
	for (i = 0; bad[i] != NULL; i++)
		test_assert(sasl_base64_decode(bad[i], out, sizeof(out),
		    &got) == SASL_ERR_BASE64);
	test_assert(sasl_base64_decode("Zm9vYmFy", out, 5, &got) ==
	    SASL_ERR_TOOLONG);
	test_assert(sasl_base64_decode("Zm9vYg==", out, sizeof(out), &got) ==
	    SASL_OK && got == 4 && memcmp(out, "foob", 4) == 0);
	test_end();
}

/* A refused response leaves no decoded byte of it behind. */
static void
test_base64_failure_leaves_nothing(void)
{
	static const char *const bad[] = {
		"c2VjcmV0cGFzc3dvcmQ!",		/* bad last character */
		"c2VjcmV0cGFzc3dvcmQ=Zg==",	/* padding inside */
		"c2VjcmV0cGFzc3dvcmRzZWNyZXRwYXNzd29yZA==",	/* too long */
	};
	unsigned char out[16];
	size_t	 i, j, got;
	int	 clean;

	test_begin("base64: a refused input leaves the output buffer wiped");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0, sizeof(out));
		test_assert(sasl_base64_decode(bad[i], out, sizeof(out),
		    &got) != SASL_OK && got == 0);
		for (clean = 1, j = 0; j < sizeof(out); j++)
			if (out[j] != 0)
				clean = 0;
		test_assert(clean);
	}
	test_end();
}

static void
test_mech_parse(void)
{
	enum sasl_mech m;
	const char *ir;

	test_begin("AUTH argument: mechanism and initial response");
	test_assert(sasl_mech_parse("PLAIN", &m, &ir) == SASL_OK &&
	    m == SASL_MECH_PLAIN && ir == NULL);
	test_assert(sasl_mech_parse("login", &m, &ir) == SASL_OK &&
	    m == SASL_MECH_LOGIN && ir == NULL);
	test_assert(sasl_mech_parse("PLAIN AGEAYg==", &m, &ir) == SASL_OK &&
	    strcmp(ir, "AGEAYg==") == 0);
	test_assert(sasl_mech_parse("PLAIN =", &m, &ir) == SASL_OK &&
	    strcmp(ir, "") == 0);
	test_assert(sasl_mech_parse("CRAM-MD5", &m, &ir) == SASL_ERR_MECH);
	test_assert(sasl_mech_parse("PLAINX", &m, &ir) == SASL_ERR_MECH);
	test_assert(sasl_mech_parse("", &m, &ir) == SASL_ERR_SYNTAX);
	test_assert(sasl_mech_parse(NULL, &m, &ir) == SASL_ERR_SYNTAX);
	test_assert(sasl_mech_parse("PLAIN a b", &m, &ir) == SASL_ERR_SYNTAX);
	test_assert(sasl_mech_parse("PLAIN ", &m, &ir) == SASL_ERR_SYNTAX);
	test_end();
}

struct plain_case {
	const char	*name;
	const char	*raw;
	size_t		 len;
	enum sasl_result want;
	const char	*authzid, *authcid, *password;
};

#define RAW(s)	s, sizeof(s) - 1

static const struct plain_case plain_cases[] = {
	{ "plain", RAW("\0alice@example.test\0secret"), SASL_OK,
	    "", "alice@example.test", "secret" },
	{ "with authzid", RAW("alice\0alice\0pw"), SASL_OK,
	    "alice", "alice", "pw" },
	{ "utf-8 password", RAW("\0u\0p\xc3\xa4ss w\x01rd"), SASL_OK,
	    "", "u", "p\xc3\xa4ss w\x01rd" },
	{ "one NUL", RAW("alice\0secret"), SASL_ERR_FORMAT, NULL, NULL, NULL },
	{ "no NUL", RAW("alicesecret"), SASL_ERR_FORMAT, NULL, NULL, NULL },
	{ "three NULs", RAW("\0a\0b\0c"), SASL_ERR_FORMAT, NULL, NULL, NULL },
	{ "empty authcid", RAW("\0\0pw"), SASL_ERR_FORMAT, NULL, NULL, NULL },
	{ "empty password", RAW("\0a\0"), SASL_ERR_FORMAT, NULL, NULL, NULL },
	{ "control char in authcid", RAW("\0a\nb\0pw"), SASL_ERR_FORMAT,
	    NULL, NULL, NULL },
	{ "control char in authzid", RAW("x\ty\0a\0pw"), SASL_ERR_FORMAT,
	    NULL, NULL, NULL },
	{ "empty", RAW(""), SASL_ERR_FORMAT, NULL, NULL, NULL },
};

static void
test_plain_cases(void)
{
	struct sasl_creds cr;
	char	 enc[2048];
	size_t	 i;
	enum sasl_result r;

	test_begin("PLAIN responses: the good ones decode, the rest refused");
	for (i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		const struct plain_case *c = &plain_cases[i];

		b64(c->raw, c->len, enc, sizeof(enc));
		r = sasl_plain_decode(enc, &cr);
		if (r != c->want)
			printf("  case \"%s\": got %d want %d\n", c->name, r,
			    c->want);
		test_assert(r == c->want);
		if (c->want != SASL_OK) {
			test_assert(cr.password[0] == '\0' &&
			    cr.authcid[0] == '\0');
			continue;
		}
		test_assert_str(cr.authzid, c->authzid);
		test_assert_str(cr.authcid, c->authcid);
		test_assert_str(cr.password, c->password);
	}
	test_assert(sasl_plain_decode("*", &cr) == SASL_CANCEL);
	test_assert(sasl_plain_decode("not base64!", &cr) == SASL_ERR_BASE64);
	test_end();
}

static void
test_plain_limits(void)
{
	struct sasl_creds cr;
	char	 raw[2048], enc[4096];
	size_t	 n;

	test_begin("PLAIN: identities and password at and past their limits");
	/* authcid of SASL_ID_MAX octets and password of SASL_PASS_MAX */
	raw[0] = '\0';
	memset(raw + 1, 'a', SASL_ID_MAX);
	raw[1 + SASL_ID_MAX] = '\0';
	memset(raw + 2 + SASL_ID_MAX, 'p', SASL_PASS_MAX);
	n = 2 + SASL_ID_MAX + SASL_PASS_MAX;
	b64(raw, n, enc, sizeof(enc));
	test_assert(sasl_plain_decode(enc, &cr) == SASL_OK);
	test_assert(strlen(cr.authcid) == SASL_ID_MAX);
	test_assert(strlen(cr.password) == SASL_PASS_MAX);
	/* one more octet of password */
	raw[n] = 'p';
	b64(raw, n + 1, enc, sizeof(enc));
	test_assert(sasl_plain_decode(enc, &cr) == SASL_ERR_TOOLONG);
	/* far too long overall */
	memset(raw, 'x', sizeof(raw));
	b64(raw, sizeof(raw), enc, sizeof(enc));
	test_assert(sasl_plain_decode(enc, &cr) == SASL_ERR_TOOLONG);
	test_end();
}

static void
test_login_steps(void)
{
	char	 out[SASL_ID_MAX + 1], pw[SASL_PASS_MAX + 1], enc[64];

	test_begin("LOGIN: user name and password steps");
	b64("alice@example.test", 18, enc, sizeof(enc));
	test_assert(sasl_login_decode(enc, out, sizeof(out), 1) == SASL_OK);
	test_assert_str(out, "alice@example.test");
	b64("pa\tss", 5, enc, sizeof(enc));
	test_assert(sasl_login_decode(enc, pw, sizeof(pw), 0) == SASL_OK);
	test_assert_str(pw, "pa\tss");
	test_assert(sasl_login_decode(enc, out, sizeof(out), 1) ==
	    SASL_ERR_FORMAT);
	b64("a\0b", 3, enc, sizeof(enc));
	test_assert(sasl_login_decode(enc, pw, sizeof(pw), 0) ==
	    SASL_ERR_FORMAT);
	test_assert(sasl_login_decode("", pw, sizeof(pw), 0) ==
	    SASL_ERR_FORMAT);
	test_assert(sasl_login_decode("*", pw, sizeof(pw), 0) == SASL_CANCEL);
	test_assert(sasl_login_decode("YWJj", out, 3, 1) == SASL_ERR_TOOLONG);
	test_end();
}

static void
test_replies(void)
{
	int	 code;

	test_begin("reply codes for each failure (RFC 4954)");
	test_assert(strncmp(sasl_result_reply(SASL_ERR_MECH, &code), "5.5.4",
	    5) == 0 && code == 504);
	test_assert(strncmp(sasl_result_reply(SASL_CANCEL, &code), "5.0.0",
	    5) == 0 && code == 501);
	test_assert(sasl_result_reply(SASL_ERR_BASE64, &code) != NULL &&
	    code == 501);
	test_assert(sasl_result_reply(SASL_ERR_TOOLONG, &code) != NULL &&
	    code == 500);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_base64_round_trip_for_every_length,
		test_base64_is_strict,
		test_base64_failure_leaves_nothing,
		test_mech_parse,
		test_plain_cases,
		test_plain_limits,
		test_login_steps,
		test_replies,
		NULL
	};

	return test_run(tests);
}
