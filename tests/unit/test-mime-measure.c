/*
 * test-mime-measure.c - the decoded size of base64 and quoted-printable
 * bodies counted from the encoded bytes (common/mime_measure.c).
 *
 * Each case gives the size and the number of faults expected; both are
 * also checked against decoding the same input with mime_decode, in
 * every chunking from one byte up, so the removal notice of the stripper
 * says what it said when the parser decoded to measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "test.h"

static const struct {
	enum mime_encoding enc;
	const char	*in;
	uint64_t	 size;
	unsigned long	 errors;
} cases[] = {
	/* base64, well-formed */
	{ MIME_ENC_BASE64, "", 0, 0 },
	{ MIME_ENC_BASE64, "SGVsbG8h", 6, 0 },
	{ MIME_ENC_BASE64, "SGVsbG8=", 5, 0 },
	{ MIME_ENC_BASE64, "SGVsbA==", 4, 0 },
	{ MIME_ENC_BASE64, "SGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", 11, 0 },
	{ MIME_ENC_BASE64, "SGVs\nbG8=\n", 5, 0 },
	{ MIME_ENC_BASE64, " S G V s\tb A = = ", 4, 0 },
	{ MIME_ENC_BASE64, "SGVsbA=\r\n=", 4, 0 },
	/* base64, malformed: junk skipped, odd endings */
	{ MIME_ENC_BASE64, "SGVsbA", 4, 1 },		/* no padding */
	{ MIME_ENC_BASE64, "SGVsbG8", 5, 1 },
	{ MIME_ENC_BASE64, "Q", 0, 1 },			/* lone char */
	{ MIME_ENC_BASE64, "SGVsbG8hQ", 6, 1 },
	{ MIME_ENC_BASE64, "SG!Vs*bG8=", 5, 2 },	/* junk */
	{ MIME_ENC_BASE64, "SGVs\x80\xff" "bG8=", 5, 2 },
	{ MIME_ENC_BASE64, "QQ==QQ==", 2, 1 },		/* glued */
	{ MIME_ENC_BASE64, "QQ===", 1, 0 },		/* extra '=' */
	{ MIME_ENC_BASE64, "=QQ==", 1, 1 },		/* '=' first */
	{ MIME_ENC_BASE64, "Q=Q=", 1, 1 },
	{ MIME_ENC_BASE64, "SGVsbA=", 4, 0 },		/* short pad */
	/* quoted-printable, well-formed */
	{ MIME_ENC_QP, "", 0, 0 },
	{ MIME_ENC_QP, "plain text", 10, 0 },
	{ MIME_ENC_QP, "a=3Db", 3, 0 },
	{ MIME_ENC_QP, "line one\r\nline two\r\n", 20, 0 },
	{ MIME_ENC_QP, "soft=\r\nbreak", 9, 0 },
	{ MIME_ENC_QP, "soft=  \r\nx", 5, 0 },
	{ MIME_ENC_QP, "lf\nonly=\nx", 9, 0 },		/* LF counts 2 */
	{ MIME_ENC_QP, "trail   \r\nx", 8, 0 },	/* trailing ws gone */
	{ MIME_ENC_QP, "in between\tok\r\n", 15, 0 },
	{ MIME_ENC_QP, "low=c3=a9", 5, 0 },
	{ MIME_ENC_QP, "end=", 3, 0 },
	/* quoted-printable, malformed */
	{ MIME_ENC_QP, "bad=ZZ=4", 8, 2 },
	{ MIME_ENC_QP, "bad=4Z", 6, 1 },
	{ MIME_ENC_QP, "eq=\rx", 3, 1 },
	{ MIME_ENC_QP, "ws= x", 4, 1 },
	{ MIME_ENC_QP, "bare\rcr", 7, 0 },
	{ MIME_ENC_QP, "ends\r", 5, 0 },
	/* other encodings are their own size */
	{ MIME_ENC_7BIT, "as is=\r\n", 8, 0 },
	{ MIME_ENC_8BIT, "\xc3\xa9", 2, 0 },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* Measure s in chunks of step; the faults in *errors. */
static uint64_t
measure(enum mime_encoding enc, const char *s, size_t len, size_t step,
    unsigned long *errors)
{
	struct mime_decoder d;
	uint64_t	 n = 0;
	size_t		 i, k;

	mime_decoder_init(&d, enc);
	for (i = 0; i < len; i += k) {
		k = len - i < step ? len - i : step;
		n += mime_measure(&d, s + i, k);
	}
	n += mime_measure_finish(&d);
	*errors = d.errors;
	return n;
}

/* Decode s in chunks of step: the size, the faults in *errors. */
static uint64_t
decode(enum mime_encoding enc, const char *s, size_t len, size_t step,
    unsigned long *errors)
{
	struct mime_decoder d;
	struct buf	 b;
	uint64_t	 n;
	size_t		 i, k;

	buf_init(&b, 0);
	mime_decoder_init(&d, enc);
	for (i = 0; i < len; i += k) {
		k = len - i < step ? len - i : step;
		mime_decode(&d, s + i, k, &b);
	}
	mime_decode_finish(&d, &b);
	n = b.len;
	*errors = d.errors;
	buf_free(&b);
	return n;
}

static void
test_sizes(void)
{
	unsigned long	 e, de;
	size_t		 i, step, len;

	test_begin("the size and faults counted from the encoding are the "
	    "expected ones in any chunking");
	for (i = 0; i < NCASES; i++) {
		len = strlen(cases[i].in);
		for (step = 1; step <= len + 1; step++) {
			if (measure(cases[i].enc, cases[i].in, len, step, &e) !=
			    cases[i].size || e != cases[i].errors) {
				fprintf(stderr, "case %zu step %zu\n", i, step);
				test_assert(0);
			}
		}
		test_assert(decode(cases[i].enc, cases[i].in, len, 1, &de) ==
		    cases[i].size && de == cases[i].errors);
	}
	test_end();
}

static void
test_agrees_with_decoding(void)
{
	static const char alpha[] = "AZaz09+/= \t\r\n=!\x80QP3Dc";
	char		 s[200];
	unsigned long	 e, de;
	unsigned int	 seed = 1;
	size_t		 i, j, len, step;
	int		 enc;

	test_begin("on arbitrary input the counted size and faults are "
	    "those of decoding");
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(s);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			s[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		enc = (i & 1) ? MIME_ENC_QP : MIME_ENC_BASE64;
		step = i % 13 + 1;
		if (measure(enc, s, len, step, &e) !=
		    decode(enc, s, len, step, &de) || e != de) {
			fprintf(stderr, "input %zu differs\n", i);
			test_assert(0);
			break;
		}
	}
	test_end();
}

/* The parser's decoded_size of a base64 attachment and a qp part. */
static void
test_parser_decoded_size(void)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9 soft=\r\nbreak\r\n"
	    "--b\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "SGVsbG8g\r\nd29ybGQ=\r\n"
	    "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "SGVsbA\r\n"
	    "--b--\r\n";
	struct mime_parser *p;
	struct mime_part *q;

	test_begin("the parser reports decoded sizes without decoding");
	p = mime_parser_new(NULL, NULL, NULL);
	mime_parser_feed(p, msg, sizeof(msg) - 1);
	mime_parser_finish(p);
	test_assert(mime_parser_nparts(p) == 4);
	q = mime_parser_part(p, 1);
	test_assert(q->decoded_size == 15);	/* "caf\xc3\xa9 softbreak" */
	test_assert((q->flags & MIME_F_BAD_ENCODING) == 0);
	q = mime_parser_part(p, 2);
	test_assert(q->decoded_size == 11);
	test_assert((q->flags & MIME_F_BAD_ENCODING) == 0);
	q = mime_parser_part(p, 3);
	test_assert(q->decoded_size == 4);
	test_assert((q->flags & MIME_F_BAD_ENCODING) != 0);
	mime_parser_free(p);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_sizes,
		test_agrees_with_decoding,
		test_parser_decoded_size,
		NULL
	};

	return test_run(tests);
}
