/*
 * test-mime.c - the MIME parser, header decoding and codecs.
 *
 * The corpus in tests/corpus/mime/ holds messages in the shapes real
 * clients write them and malformed ones; each is parsed whole and in small
 * chunks, and the two part trees must agree to the byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "test.h"

#ifndef SM_TOP_SRCDIR
#define SM_TOP_SRCDIR "."
#endif

static char *
slurp(const char *name, size_t *len)
{
	char	 path[1024];
	FILE	*f;
	char	*data;
	long	 n;

	snprintf(path, sizeof(path), "%s/tests/corpus/mime/%s",
	    SM_TOP_SRCDIR, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	*len = fread(data, 1, (size_t)n, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

static struct mime_parser *
parse_chunked(const char *s, size_t n, size_t step,
    const struct mime_limits *lim)
{
	struct mime_parser *p = mime_parser_new(lim, NULL, NULL);
	size_t	 i;

	if (step == 0)
		step = n ? n : 1;
	for (i = 0; i < n; i += step)
		mime_parser_feed(p, s + i, n - i < step ? n - i : step);
	mime_parser_finish(p);
	return p;
}

/* "type/sub@depth ..." of every part, and offsets, to compare trees. */
static void
tree_str(struct mime_parser *p, struct buf *b, int offsets)
{
	struct mime_part *q;
	unsigned int	 i;

	for (i = 0; i < mime_parser_nparts(p); i++) {
		q = mime_parser_part(p, i);
		buf_printf(b, "%s%s/%s@%u", i ? " " : "", q->type, q->subtype,
		    q->depth);
		if (offsets)
			buf_printf(b, "[%llu,%llu,%llu,%llu,%llu,%x]",
			    (unsigned long long)q->hdr_start,
			    (unsigned long long)q->body_start,
			    (unsigned long long)q->body_end,
			    (unsigned long long)q->body_lines,
			    (unsigned long long)q->decoded_size, q->flags);
	}
}

static const struct corpus_case {
	const char	*file;
	const char	*tree;
	unsigned int	 flags_set;	/* must all be reported */
	unsigned int	 flags_clear;	/* must not be reported */
	const char	*filename;	/* of the last part with one */
} corpus[] = {
	{ "outlook-html-attachment.eml", "multipart/mixed@0 "
	  "multipart/alternative@1 text/plain@2 text/html@2 application/"
	  "vnd.openxmlformats-officedocument.wordprocessingml.document@1",
	  0, ~0u, "Bericht f\xc3\xbcr Q3.docx" },
	{ "gmail-related-inline-image.eml", "multipart/mixed@0 "
	  "multipart/related@1 multipart/alternative@2 text/plain@3 "
	  "text/html@3 image/jpeg@2 application/pdf@1", 0, ~0u, "route.pdf" },
	{ "applemail-inline-pdf.eml", "multipart/mixed@0 text/plain@1 "
	  "application/pdf@1 text/plain@1", 0, ~0u,
	  "Vertrag M\xc3\xbcller.pdf" },
	{ "thunderbird-attachments.eml", "multipart/mixed@0 text/plain@1 "
	  "text/plain@1 application/zip@1", 0, ~0u,
	  "archive with a very long file name that gets split.zip" },
	{ "digest.eml", "multipart/mixed@0 text/plain@1 multipart/digest@1 "
	  "message/rfc822@2 text/plain@3 message/rfc822@2 multipart/mixed@3 "
	  "text/plain@4 application/octet-stream@4 text/plain@1", 0, ~0u,
	  "patch.bin" },
	{ "forwarded-rfc822.eml", "multipart/mixed@0 text/plain@1 "
	  "message/rfc822@1 multipart/mixed@2 text/html@3 application/pdf@3",
	  0, ~0u, "invoice-42.pdf" },
	{ "calendar-invite.eml", "multipart/mixed@0 multipart/alternative@1 "
	  "text/plain@2 text/html@2 text/calendar@2 application/ics@1",
	  0, ~0u, "invite.ics" },
	{ "smime-signed.eml", "multipart/signed@0 text/plain@1 "
	  "application/pkcs7-signature@1", 0, ~0u, "smime.p7s" },
	{ "pgp-signed.eml", "multipart/signed@0 text/plain@1 "
	  "application/pgp-signature@1", 0, ~0u, "signature.asc" },
	{ "html-only.eml", "text/html@0", 0, ~0u, NULL },
	{ "plain-simple.eml", "text/plain@0", 0, ~0u, NULL },
	{ "bare-lf.eml", "multipart/mixed@0 text/plain@1 image/png@1",
	  MIME_F_BARE_LF, MIME_F_STRUCTURE, "a.png" },
	{ "malformed-no-final-boundary.eml", "multipart/mixed@0 "
	  "text/plain@1 application/octet-stream@1", MIME_F_NO_END_BOUNDARY,
	  MIME_F_STRUCTURE, "evil.exe" },
	{ "malformed-boundary-reuse.eml", "multipart/mixed@0 text/plain@1 "
	  "multipart/mixed@1 text/html@1 application/octet-stream@1",
	  MIME_F_BOUNDARY_REUSE, 0, "x.bin" },
	{ "malformed-base64-garbage.eml", "multipart/mixed@0 text/plain@1 "
	  "text/plain@1 application/octet-stream@1 application/x-thing@1",
	  MIME_F_BAD_ENCODING, MIME_F_STRUCTURE, NULL },
	{ "malformed-8bit-headers.eml", "multipart/mixed@0 text/plain@1 "
	  "application/pdf@1", MIME_F_HDR_8BIT, MIME_F_STRUCTURE,
	  "\xc3\x9c" "bersicht.pdf" },
	{ "malformed-no-boundary-param.eml", "multipart/mixed@0",
	  MIME_F_NO_BOUNDARY, MIME_F_STRUCTURE, NULL },
	{ "malformed-huge-header.eml", "text/plain@0", MIME_F_HDR_TOO_LONG,
	  0, NULL },
	{ "uuencode-in-text.eml", "text/plain@0", 0, ~0u, NULL },
};

static void
test_corpus_trees(void)
{
	struct mime_limits lim;
	struct mime_parser *p, *p1, *p7;
	struct mime_part *q;
	struct buf	 t, t1, t7;
	const char	*fn;
	char		*data;
	size_t		 i, len;
	unsigned int	 j, fl;

	test_begin("corpus messages parse to the expected part trees, "
	    "whole or fed byte by byte");
	mime_limits_default(&lim);
	lim.max_header = 64 * 1024;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		data = slurp(corpus[i].file, &len);
		test_assert(data != NULL);
		if (data == NULL)
			continue;
		buf_init(&t, 0);
		buf_init(&t1, 0);
		buf_init(&t7, 0);
		p = parse_chunked(data, len, 0, &lim);
		p1 = parse_chunked(data, len, 1, &lim);
		p7 = parse_chunked(data, len, 7, &lim);
		tree_str(p, &t, 0);
		if (strcmp(buf_cstr(&t), corpus[i].tree) != 0)
			printf("  %s:\n", corpus[i].file);
		test_assert_str(buf_cstr(&t), corpus[i].tree);
		buf_reset(&t);
		tree_str(p, &t, 1);
		tree_str(p1, &t1, 1);
		tree_str(p7, &t7, 1);
		test_assert_str(buf_cstr(&t1), buf_cstr(&t));
		test_assert_str(buf_cstr(&t7), buf_cstr(&t));
		fl = mime_parser_flags(p);
		test_assert((fl & corpus[i].flags_set) == corpus[i].flags_set);
		if (corpus[i].flags_clear != ~0u)
			test_assert((fl & corpus[i].flags_clear) == 0);
		else
			test_assert((fl & (MIME_F_STRUCTURE |
			    MIME_F_NO_END_BOUNDARY | MIME_F_BAD_TYPE |
			    MIME_F_BAD_ENCODING | MIME_F_HDR_BAD_LINE)) == 0);
		for (fn = NULL, j = 0; j < mime_parser_nparts(p); j++) {
			q = mime_parser_part(p, j);
			if (q->filename != NULL)
				fn = q->filename;
			/* offsets are ordered and inside the message */
			test_assert(q->hdr_start <= q->body_start);
			test_assert(q->body_start <= q->body_end);
			test_assert(q->body_end <= len);
			if (q->parent != NULL) {
				test_assert(q->hdr_start >=
				    q->parent->body_start);
				test_assert(q->body_end <= q->parent->body_end);
			}
		}
		if (corpus[i].filename != NULL)
			test_assert_str(fn, corpus[i].filename);
		mime_parser_free(p);
		mime_parser_free(p1);
		mime_parser_free(p7);
		buf_free(&t);
		buf_free(&t1);
		buf_free(&t7);
		free(data);
	}
	test_end();
}

static void
test_offsets_and_lines(void)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n"	/* 0..43 */
	    "\r\n"						/* 43..45 */
	    "preamble\r\n"					/* 45..55 */
	    "--b\r\n"						/* 55..60 */
	    "Content-Type: text/plain\r\n"			/* 60..86 */
	    "\r\n"						/* 86..88 */
	    "line one\r\n"					/* 88..98 */
	    "line two\r\n"					/* 98..108 */
	    "--b\r\n"						/* 108..113 */
	    "\r\n"						/* 113..115 */
	    "no header\r\n"					/* 115..126 */
	    "--b--\r\n"						/* 126..133 */
	    "epilogue\r\n";
	struct mime_parser *p;
	struct mime_part *r, *a, *b;

	test_begin("part offsets exclude the CRLF before a boundary and "
	    "lines are counted");
	p = parse_chunked(msg, sizeof(msg) - 1, 0, NULL);
	r = mime_parser_root(p);
	test_assert(mime_parser_nparts(p) == 3);
	test_assert(r->kind == MIME_KIND_MULTIPART);
	test_assert(r->body_start == 45 && r->body_end == sizeof(msg) - 1);
	test_assert_str(r->boundary, "b");
	a = r->children;
	b = a != NULL ? a->next : NULL;
	test_assert(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		test_assert(a->hdr_start == 60 && a->body_start == 88);
		test_assert(a->body_end == 106);
		test_assert(a->body_lines == 2);
		test_assert(a->decoded_size == 18);
		test_assert(b->hdr_start == 113 && b->body_start == 115);
		test_assert(b->body_end == 124 && b->body_lines == 1);
		test_assert(mime_part_is(b, "text", "plain"));
		test_assert(b->type_explicit == 0);
	}
	test_assert(mime_parser_flags(p) == 0);
	mime_parser_free(p);
	test_end();
}

static void
test_message_rfc822_child(void)
{
	static const char msg[] =
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
	    "<p>x</p>\r\n";
	struct mime_parser *p;
	struct mime_part *r, *c;

	test_begin("message/rfc822 has the attached message as its child, "
	    "starting at its body");
	p = parse_chunked(msg, sizeof(msg) - 1, 3, NULL);
	r = mime_parser_root(p);
	c = r->children;
	test_assert(r->kind == MIME_KIND_MESSAGE && c != NULL);
	if (c != NULL) {
		test_assert(c->hdr_start == r->body_start);
		test_assert(mime_part_is(c, "text", "html"));
		test_assert_str(c->charset, "utf-8");
		test_assert(c->body_end == sizeof(msg) - 1);
		test_assert(r->body_lines == 4);
	}
	mime_parser_free(p);
	test_end();
}

static void
test_imap_sections(void)
{
	/* in parse order; the multipart of a message has no number */
	static const char *const want[] = { "", "1", "2", "2.1", "2.2",
	    "2.2", "2.2.1", "2.2.2", "3", "3.1" };
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
	    "--a\r\n\r\none\r\n"
	    "--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
	    "--b\r\n\r\ntwo\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Content-Type: multipart/mixed; boundary=c\r\n\r\n"
	    "--c\r\n\r\nthree\r\n--c\r\n\r\nfour\r\n--c--\r\n"
	    "--b--\r\n"
	    "--a\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n"
	    "five\r\n--a--\r\n";
	struct mime_parser *p;
	struct buf	 b;
	unsigned int	 i;

	test_begin("IMAP section numbers of parts, through attached "
	    "messages");
	p = parse_chunked(msg, sizeof(msg) - 1, 0, NULL);
	buf_init(&b, 0);
	test_assert(mime_parser_nparts(p) == 10);
	for (i = 0; i < mime_parser_nparts(p) && i < 10; i++) {
		buf_reset(&b);
		mime_part_section(mime_parser_part(p, i), &b);
		test_assert_str(buf_cstr(&b), want[i]);
	}
	buf_free(&b);
	mime_parser_free(p);
	test_end();
}

struct hdr_seen {
	struct buf	 names;
	int		 nbody;
	int		 nbegin, nend;
};

static void
cb_header(struct mime_part *q, const char *n, size_t nl, const char *v,
    size_t vl, void *arg)
{
	struct hdr_seen *s = arg;

	buf_printf(&s->names, "%u:%.*s=%.*s;", q->index, (int)nl, n, (int)vl,
	    v);
}

static void
cb_body(struct mime_part *q, const char *d, size_t n, void *arg)
{
	((struct hdr_seen *)arg)->nbody += (int)n;
}

static void
cb_begin(struct mime_part *q, void *arg)
{
	((struct hdr_seen *)arg)->nbegin++;
}

static void
cb_end(struct mime_part *q, void *arg)
{
	((struct hdr_seen *)arg)->nend++;
}

static void
test_callbacks(void)
{
	static const char msg[] =
	    "Subject: a\r\n b\r\nX-Y: z\r\nContent-Type: multipart/mixed; "
	    "boundary=\"q\"\r\n\r\n--q\r\nX-P: 1\r\n\r\nbody\r\n--q--\r\n";
	struct mime_callbacks cb = { cb_header, cb_begin, cb_body, cb_end };
	struct hdr_seen	 s;
	struct mime_parser *p;

	test_begin("callbacks see every header field (folded), raw body "
	    "bytes and each part's begin and end");
	memset(&s, 0, sizeof(s));
	buf_init(&s.names, 0);
	p = mime_parser_new(NULL, &cb, &s);
	mime_parser_feed(p, msg, sizeof(msg) - 1);
	mime_parser_finish(p);
	test_assert_str(buf_cstr(&s.names), "0:Subject=a\r\n b;0:X-Y=z;"
	    "0:Content-Type=multipart/mixed; boundary=\"q\";1:X-P=1;");
	test_assert(s.nbody == 4);
	test_assert(s.nbegin == 2 && s.nend == 2);
	mime_parser_free(p);
	buf_free(&s.names);
	test_end();
}

static const struct { const char *in, *out; } rfc2047[] = {
	{ "=?iso-8859-1?q?J=FCrgen?=", "J\xc3\xbcrgen" },
	{ "=?UTF-8?B?SXZhbiDQn9C10YLRgNC+0LI=?= <i@x>",
	  "Ivan \xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2 <i@x>" },
	{ "=?UTF-8?Q?Hello?= =?UTF-8?Q?_world?=", "Hello world" },
	{ "=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab" },
	{ "x =?utf-8?q?y?= z", "x y z" },
	/* a character split between two words */
	{ "=?utf-8?b?4oI=?= =?utf-8?b?rA==?=", "\xe2\x82\xac" },
	{ "=?windows-1252?q?=80_5?=", "\xe2\x82\xac 5" },
	{ "=?utf-8*en?q?lang?=", "lang" },
	{ "=?bogus", "=?bogus" },
	{ "=?utf-8?x?nope?=", "=?utf-8?x?nope?=" },
	{ "plain \xff text", "plain \xef\xbf\xbd text" },
	{ "folded\r\n\tline", "folded\tline" },
	{ "=?utf-8?q?=ZZ?=", "=ZZ" },
	{ "=?iso-8859-2?q?=B1?=", "\xc4\x85" },
	/* charsets outside the list are read as UTF-8, never via iconv */
	{ "=?ibm037?q?=C1?=", "\xef\xbf\xbd" },
	{ "=?utf-7?q?+AGE-?=", "+AGE-" },
};

static void
test_header_decode(void)
{
	struct buf	 b;
	size_t		 i;

	test_begin("RFC 2047 encoded words decode to UTF-8");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(rfc2047) / sizeof(rfc2047[0]); i++) {
		buf_reset(&b);
		mime_header_decode(rfc2047[i].in, strlen(rfc2047[i].in), &b);
		test_assert_str(buf_cstr(&b), rfc2047[i].out);
	}
	buf_free(&b);
	test_end();
}

static const struct {
	const char	*ct;
	int		 ret;
	const char	*type;
	const char	*param;		/* name to look up */
	const char	*value;
} ctypes[] = {
	{ "Text/HTML; Charset=\"UTF-8\"", 0, "text/html", "charset", "UTF-8" },
	{ "text/plain (comment) ; charset = us-ascii (x)", 0, "text/plain",
	  "charset", "us-ascii" },
	{ "application/x; name*=utf-8''M%C3%BCller.pdf", 0, "application/x",
	  "name", "M\xc3\xbcller.pdf" },
	{ "application/x; name*0=\"a b\"; name*1=\"c\"; name*2*=%41", 0,
	  "application/x", "name", "a bcA" },
	{ "application/x; name*1=\"later\"; name*0*=iso-8859-1'de'%FC", 0,
	  "application/x", "name", "\xc3\xbclater" },
	{ "application/x; name=\"=?utf-8?q?caf=C3=A9.txt?=\"", 0,
	  "application/x", "name", "caf\xc3\xa9.txt" },
	{ "application/x; name=plain; name*=utf-8''ext", MIME_PARAMS_DUP,
	  "application/x", "name", "ext" },
	{ "text/plain; charset=us-ascii; charset=utf-8", MIME_PARAMS_DUP,
	  "text/plain", "charset", "us-ascii" },
	{ "multipart/mixed; boundary=a; BOUNDARY=b", MIME_PARAMS_DUP,
	  "multipart/mixed", "boundary", "a" },
	{ "application/x; name*0=a; name*0=b; name*1=c", MIME_PARAMS_DUP,
	  "application/x", "name", "ac" },
	{ "application/x; name*0=a; name=b", MIME_PARAMS_DUP,
	  "application/x", "name", "a" },
	{ "application/x; name=file name.pdf", MIME_PARAMS_BAD, "application/x", "name",
	  "file name.pdf" },
	{ "application/x; junk; a=b", 1, "application/x", "a", "b" },
	{ "text/plain; charset=\"unterminated", 1, "text/plain", "charset",
	  "unterminated" },
	{ "text", -1, NULL, NULL, NULL },
	{ "/plain", -1, NULL, NULL, NULL },
	{ "", -1, NULL, NULL, NULL },
	{ "multipart/mixed; boundary=\"--==x\\\"y\"", 0, "multipart/mixed",
	  "boundary", "--==x\"y" },
};

static void
test_content_type(void)
{
	struct mime_param *p;
	char		*t, *s, full[128];
	size_t		 i, n;
	int		 r;

	test_begin("Content-Type with comments, quoting and RFC 2231 "
	    "continuations and charsets");
	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		r = mime_parse_content_type(ctypes[i].ct, strlen(ctypes[i].ct),
		    &t, &s, &p, &n);
		test_assert(r == ctypes[i].ret);
		if (r == -1)
			continue;
		snprintf(full, sizeof(full), "%s/%s", t, s);
		test_assert_str(full, ctypes[i].type);
		test_assert_str(mime_param_get(p, n, ctypes[i].param),
		    ctypes[i].value);
		free(t);
		free(s);
		mime_params_free(p, n);
	}
	test_end();
}

static const struct {
	enum mime_encoding enc;
	const char	*in;
	const char	*out;
	int		 errors;
} decodes[] = {
	{ MIME_ENC_BASE64, "SGVsbG8=", "Hello", 0 },
	{ MIME_ENC_BASE64, "SGVs\r\nbG8g\r\nd29y\r\nbGQ=", "Hello world", 0 },
	{ MIME_ENC_BASE64, "SGVsbA", "Hell", 1 },
	{ MIME_ENC_BASE64, "SG!Vs*bG8=", "Hello", 2 },
	{ MIME_ENC_BASE64, "QQ==QQ==", "AA", 1 },
	{ MIME_ENC_BASE64, "Q", "", 1 },
	{ MIME_ENC_QP, "a=3Db=\r\nc", "a=bc", 0 },
	{ MIME_ENC_QP, "trail   \r\nx", "trail\r\nx", 0 },
	{ MIME_ENC_QP, "soft=  \r\nx", "softx", 0 },
	{ MIME_ENC_QP, "bad=ZZ=4", "bad=ZZ=4", 2 },
	{ MIME_ENC_QP, "lf\nonly=\nx", "lf\r\nonlyx", 0 },
	{ MIME_ENC_QP, "low=c3=a9", "low\xc3\xa9", 0 },
	{ MIME_ENC_7BIT, "as is=", "as is=", 0 },
};

static void
test_decoders(void)
{
	struct mime_decoder d;
	struct buf	 b;
	size_t		 i, j, n;

	test_begin("base64 and quoted-printable decode in any chunking and "
	    "count errors");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(decodes) / sizeof(decodes[0]); i++) {
		for (n = 1; n <= 3; n++) {
			buf_reset(&b);
			mime_decoder_init(&d, decodes[i].enc);
			for (j = 0; j < strlen(decodes[i].in); j += n)
				mime_decode(&d, decodes[i].in + j,
				    strlen(decodes[i].in + j) < n ?
				    strlen(decodes[i].in + j) : n, &b);
			mime_decode_finish(&d, &b);
			test_assert_str(buf_cstr(&b), decodes[i].out);
			test_assert((int)d.errors == decodes[i].errors);
		}
	}
	buf_free(&b);
	test_end();
}

static void
test_encoders_roundtrip(void)
{
	struct mime_encoder e;
	struct mime_decoder d;
	struct buf	 in, enc, dec;
	size_t		 i, j, k, col;
	int		 ok = 1, pass;
	enum mime_encoding encs[] = { MIME_ENC_BASE64, MIME_ENC_QP };

	test_begin("encoders write lines of at most 76 characters that "
	    "decode to the input");
	buf_init(&in, 0);
	buf_init(&enc, 0);
	buf_init(&dec, 0);
	srand(7);
	for (pass = 0; pass < 200; pass++) {
		buf_reset(&in);
		for (i = 0; i < (size_t)(rand() % 600); i++) {
			int	 r = rand() % 10;

			/* text with CRLF line ends: QP must keep them */
			if (r == 0)
				buf_add(&in, "\r\n", 2);
			else if (r == 1)
				buf_addc(&in, ' ');
			else if (r == 2 && (r = rand() % 256) != '\n' &&
			    r != '\r')
				buf_addc(&in, r); /* no lone LF: CRLF */
			else
				buf_addc(&in, "-.=aZ\t"[rand() % 6]);
		}
		for (k = 0; k < 2; k++) {
			buf_reset(&enc);
			buf_reset(&dec);
			mime_encoder_init(&e, encs[k]);
			for (j = 0; j < in.len; j += 5)
				mime_encode(&e, in.data + j, in.len - j < 5 ?
				    in.len - j : 5, &enc);
			mime_encode_finish(&e, &enc);
			for (col = 0, j = 0; j < enc.len; j++) {
				if (enc.data[j] == '\n')
					col = 0;
				else if (enc.data[j] != '\r' && ++col > 76)
					ok = 0;
				if ((unsigned char)enc.data[j] >= 0x80)
					ok = 0;
			}
			/* no boundary can be formed by encoded text */
			if (strstr(buf_cstr(&enc), "=_") != NULL ||
			    strstr(buf_cstr(&enc), "\n-") != NULL)
				ok = 0;
			mime_decoder_init(&d, encs[k]);
			mime_decode(&d, enc.data, enc.len, &dec);
			mime_decode_finish(&d, &dec);
			if (dec.len != in.len || memcmp(dec.data, in.data,
			    in.len) != 0 || d.errors != 0)
				ok = 0;
		}
	}
	test_assert(ok);
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
	test_end();
}

static void
test_header_next(void)
{
	static const char h[] =
	    "From: a\r\n"
	    "not a field\r\n"
	    "Subject : folded\r\n\tmore\r\n"
	    " \r\n"
	    "X: \r\n"
	    "\r\n"
	    "Body: no\r\n";
	struct mime_field f;
	size_t	 pos = 0;
	int	 r;

	test_begin("header fields: folding, obsolete space before colon, "
	    "lines that are not fields");
	test_assert(mime_header_next(h, sizeof(h) - 1, &pos, &f) == 1);
	test_assert(mime_field_is(&f, "from") && f.valuelen == 1);
	test_assert(mime_header_next(h, sizeof(h) - 1, &pos, &f) == -1);
	r = mime_header_next(h, sizeof(h) - 1, &pos, &f);
	test_assert(r == 1 && mime_field_is(&f, "subject"));
	test_assert(f.valuelen == strlen("folded\r\n\tmore\r\n "));
	test_assert(mime_header_next(h, sizeof(h) - 1, &pos, &f) == 1);
	test_assert(mime_field_is(&f, "x") && f.valuelen == 0);
	test_assert(mime_header_next(h, sizeof(h) - 1, &pos, &f) == 0);
	test_end();
}

static void
test_limits(void)
{
	struct mime_limits lim = { 5, 10, 100 };
	struct mime_parser *p;
	struct buf	 m;
	int		 i;

	test_begin("depth, part count and header size are capped and "
	    "reported");
	buf_init(&m, 0);
	buf_addstr(&m, "Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (i = 1; i < 100; i++)
		buf_printf(&m, "--b%d\r\nContent-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n", i - 1, i);
	p = parse_chunked(m.data, m.len, 0, &lim);
	test_assert(mime_parser_nparts(p) == 6);
	test_assert(mime_parser_flags(p) & MIME_F_DEPTH);
	test_assert(mime_parser_part(p, 5)->kind == MIME_KIND_LEAF);
	mime_parser_free(p);

	buf_reset(&m);
	buf_addstr(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (i = 0; i < 50; i++)
		buf_printf(&m, "--b\r\n\r\npart %d\r\n", i);
	buf_addstr(&m, "--b--\r\n");
	p = parse_chunked(m.data, m.len, 0, &lim);
	test_assert(mime_parser_nparts(p) == 10);
	test_assert(mime_parser_flags(p) & MIME_F_TOO_MANY_PARTS);
	mime_parser_free(p);

	buf_reset(&m);
	for (i = 0; i < 20; i++)
		buf_printf(&m, "X-Long-%d: some value\r\n", i);
	buf_addstr(&m, "Content-Type: application/pdf\r\n\r\nbody\r\n");
	p = parse_chunked(m.data, m.len, 0, &lim);
	test_assert(mime_parser_flags(p) & MIME_F_HDR_TOO_LONG);
	test_assert(mime_parser_root(p)->body_start == m.len - 6);
	mime_parser_free(p);
	buf_free(&m);
	test_end();
}

static void
test_garbage_never_crashes(void)
{
	struct mime_parser *p;
	char	 junk[4096];
	size_t	 i;
	int	 pass;
	static const char *frag[] = { "--b\r\n", "--b--\r\n", "\r\n", "\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n",
	    "Content-Type: message/rfc822\r\n", "=?utf-8?b?", "?=",
	    "Content-Transfer-Encoding: base64\r\n", "\0", "\r", " x" };

	test_begin("random fragments of MIME parse without failure");
	srand(11);
	for (pass = 0; pass < 300; pass++) {
		size_t	 n = 0;

		while (n < sizeof(junk) - 64) {
			const char *f = frag[rand() % 12];
			size_t	 fl = strlen(f) ? strlen(f) : 1;

			memcpy(junk + n, f, fl);
			n += fl;
		}
		p = parse_chunked(junk, n, 1 + (size_t)(rand() % 50), NULL);
		for (i = 0; i < mime_parser_nparts(p); i++)
			test_assert(mime_parser_part(p, (unsigned)i)->body_end
			    <= n);
		mime_parser_free(p);
	}
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_corpus_trees,
		test_offsets_and_lines,
		test_message_rfc822_child,
		test_imap_sections,
		test_callbacks,
		test_header_decode,
		test_content_type,
		test_decoders,
		test_encoders_roundtrip,
		test_header_next,
		test_limits,
		test_garbage_never_crashes,
		NULL
	};

	return test_run(tests);
}
