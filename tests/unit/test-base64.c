/*
 * test-base64.c - common/base64: RFC 4648 encoding and the one decoder in
 * each strictness its callers use (SASL, DKIM, IMAP AUTHENTICATE, MIME).
 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "test.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

#define STRICT	0
#define WSP	BASE64_WSP
#define PADOPT	BASE64_PAD_OPTIONAL
#define LENIENT	BASE64_LENIENT

static const struct {
	const char	*in;
	int		 flags;
	int		 r;
	const char	*out;		/* when r is BASE64_OK */
	unsigned long	 errors;	/* faults a lenient decoder counts */
} dec_cases[] = {
	/* RFC 4648 section 10 */
	{ "", STRICT, BASE64_OK, "", 0 },
	{ "Zg==", STRICT, BASE64_OK, "f", 0 },
	{ "Zm8=", STRICT, BASE64_OK, "fo", 0 },
	{ "Zm9v", STRICT, BASE64_OK, "foo", 0 },
	{ "Zm9vYg==", STRICT, BASE64_OK, "foob", 0 },
	{ "Zm9vYmE=", STRICT, BASE64_OK, "fooba", 0 },
	{ "Zm9vYmFy", STRICT, BASE64_OK, "foobar", 0 },
	/* strict: what SASL refuses */
	{ "Zg", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg=", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Z===", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "=Zg=", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg===", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg=a", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm=v", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg==Zg==", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v YmFy", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v\r\n", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v!", STRICT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v_-", STRICT, BASE64_ERR_BAD, NULL, 0 },	/* base64url */
	/* DKIM: folding white space anywhere, padding still strict */
	{ " Zm9v\r\n\tYmFy ", WSP, BASE64_OK, "foobar", 0 },
	{ "Zg= =", WSP, BASE64_OK, "f", 0 },
	{ "Zg", WSP, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg===", WSP, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v!YmFy", WSP, BASE64_ERR_BAD, NULL, 0 },
	/* IMAP AUTHENTICATE: the final padding may be missing, not more */
	{ "Zg", PADOPT, BASE64_OK, "f", 0 },
	{ "Zm8", PADOPT, BASE64_OK, "fo", 0 },
	{ "Zg=", PADOPT, BASE64_OK, "f", 0 },
	{ "Zg==", PADOPT, BASE64_OK, "f", 0 },
	{ "Z", PADOPT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9vY", PADOPT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg===", PADOPT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zg==Zg", PADOPT, BASE64_ERR_BAD, NULL, 0 },
	{ "Zm9v YmFy", PADOPT, BASE64_ERR_BAD, NULL, 0 },
	/* MIME (RFC 2045 6.8): faults are skipped and counted */
	{ "Zm9v\r\nYmFy\r\n", LENIENT, BASE64_OK, "foobar", 0 },
	{ "Zm9v!YmFy", LENIENT, BASE64_OK, "foobar", 1 },
	{ "Zg==Zg==", LENIENT, BASE64_OK, "ff", 1 },
	{ "Zg===", LENIENT, BASE64_OK, "f", 0 },
	{ "Zg", LENIENT, BASE64_OK, "f", 1 },
	{ "Z", LENIENT, BASE64_OK, "", 1 },
	{ "=Zg==", LENIENT, BASE64_OK, "f", 1 },
	{ "Z=g==", LENIENT, BASE64_OK, "f", 1 },
};

static void
test_decode_table(void)
{
	struct base64_dec d;
	unsigned char	 out[32], q[3];
	size_t		 i, j, n;
	int		 r;

	test_begin("decode: one state machine, strict for SASL, white space "
	    "for DKIM, padding optional for IMAP, lenient for MIME");
	for (i = 0; i < LEN(dec_cases); i++) {
		r = base64_decode(dec_cases[i].in, strlen(dec_cases[i].in),
		    out, sizeof(out), &n, dec_cases[i].flags);
		if (r != dec_cases[i].r)
			printf("  case %zu \"%s\": %d\n", i, dec_cases[i].in,
			    r);
		test_assert(r == dec_cases[i].r);
		if (dec_cases[i].out != NULL)
			test_assert(n == strlen(dec_cases[i].out) &&
			    memcmp(out, dec_cases[i].out, n) == 0);
		else
			test_assert(n == 0);
		if (!(dec_cases[i].flags & LENIENT))
			continue;
		base64_dec_init(&d, dec_cases[i].flags);
		for (j = 0; dec_cases[i].in[j] != '\0'; j++)
			(void)base64_dec_char(&d, dec_cases[i].in[j], q);
		(void)base64_dec_finish(&d, q);
		test_assert(d.errors == dec_cases[i].errors);
	}
	test_end();
}

static void
test_decode_bounded_and_wiped(void)
{
	unsigned char	 out[8];
	size_t		 n, i;
	int		 clean = 1;

	test_begin("decode: output past the maximum is refused and what was "
	    "decoded is wiped");
	memset(out, 0, sizeof(out));
	test_assert(base64_decode("c2VjcmV0cGFzc3dvcmQ=", 20, out, 8, &n,
	    STRICT) == BASE64_ERR_LONG && n == 0);
	for (i = 0; i < sizeof(out); i++)
		if (out[i] != 0)
			clean = 0;
	test_assert(clean);
	test_assert(base64_decode("c2VjcmV0!", 9, out, 8, &n, STRICT) ==
	    BASE64_ERR_BAD && n == 0);
	for (i = 0; i < sizeof(out); i++)
		if (out[i] != 0)
			clean = 0;
	test_assert(clean);
	test_assert(base64_decode("Zm9vYmFy", 8, out, 6, &n, STRICT) ==
	    BASE64_OK && n == 6);
	test_end();
}

static const struct {
	const char	*in;
	const char	*out;
} enc_cases[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	{ "\xfb\xff", "+/8=" },
};

static void
test_encode_table(void)
{
	struct buf	 b;
	char		 raw[16];
	size_t		 i, n;

	test_begin("encode: RFC 4648 test vectors, into a buf and raw");
	buf_init(&b, 0);
	for (i = 0; i < LEN(enc_cases); i++) {
		n = strlen(enc_cases[i].in);
		buf_reset(&b);
		test_assert(base64_encode(enc_cases[i].in, n, &b) == 0);
		test_assert_str(buf_cstr(&b), enc_cases[i].out);
		test_assert(BASE64_ENCODED_LEN(n) == strlen(enc_cases[i].out));
		base64_encode_raw(enc_cases[i].in, n, raw);
		test_assert(memcmp(raw, enc_cases[i].out,
		    BASE64_ENCODED_LEN(n)) == 0);
	}
	buf_free(&b);
	buf_init(&b, 6);
	buf_addstr(&b, "ab");
	test_assert(base64_encode("foo", 3, &b) == 0);
	test_assert(base64_encode("foo", 3, &b) == -1);
	test_assert_str(buf_cstr(&b), "abZm9v");
	buf_free(&b);
	test_end();
}

static void
test_round_trip_every_length_and_mode(void)
{
	static const int modes[] = { STRICT, WSP, PADOPT, LENIENT };
	unsigned char	 in[64], out[64];
	struct buf	 b;
	size_t		 n, m, i, got;
	int		 bad = 0;

	test_begin("encode then decode gives the bytes back, lengths 0..63, "
	    "every mode");
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	buf_init(&b, 0);
	for (n = 0; n < sizeof(in); n++) {
		buf_reset(&b);
		base64_encode(in, n, &b);
		for (m = 0; m < LEN(modes); m++)
			bad |= base64_decode(buf_cstr(&b), b.len, out,
			    sizeof(out), &got, modes[m]) != BASE64_OK ||
			    got != n || memcmp(in, out, n) != 0;
	}
	test_assert(!bad);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_decode_table,
		test_decode_bounded_and_wiped,
		test_encode_table,
		test_round_trip_every_length_and_mode,
		NULL
	};

	return test_run(tests);
}
