/*
 * fuzz-mime.c - libFuzzer target for the MIME parser (common/mime.c) and
 * the stripping of unsafe mail (mda/strip*.c, mda/html.c).
 *
 * The first input byte chooses the chunk size the message is fed in and
 * the strip options; the rest is the message.  Besides not crashing:
 * chunking must not change the part tree, every offset must lie inside the
 * message, and a stripped result must reparse with a structure Sealmail
 * wrote (no structural flags, 7-bit bodies) and have nothing left to strip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "strip.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
cb_header(struct mime_part *q, const char *n, size_t nl, const char *v,
    size_t vl, void *arg)
{
	struct buf	*b = arg;

	buf_reset(b);
	mime_header_decode(v, vl, b);
}

static struct mime_parser *
parse(const char *s, size_t n, size_t step, struct buf *scratch)
{
	struct mime_callbacks cb = { cb_header, NULL, NULL, NULL };
	struct mime_limits lim = { 12, 200, 8192 };
	struct mime_parser *p;
	size_t	 i;

	p = mime_parser_new(&lim, &cb, scratch);
	for (i = 0; i < n; i += step)
		mime_parser_feed(p, s + i, n - i < step ? n - i : step);
	mime_parser_finish(p);
	return p;
}

static void
check_same(struct mime_parser *a, struct mime_parser *b, size_t len)
{
	struct mime_part *x, *y;
	unsigned int	 i;

	if (mime_parser_nparts(a) != mime_parser_nparts(b) ||
	    mime_parser_flags(a) != mime_parser_flags(b))
		__builtin_trap();
	for (i = 0; i < mime_parser_nparts(a); i++) {
		x = mime_parser_part(a, i);
		y = mime_parser_part(b, i);
		if (x->hdr_start != y->hdr_start ||
		    x->body_start != y->body_start ||
		    x->body_end != y->body_end ||
		    x->body_lines != y->body_lines ||
		    x->decoded_size != y->decoded_size ||
		    strcmp(x->type, y->type) != 0 ||
		    x->hdr_start > x->body_start ||
		    x->body_start > x->body_end || x->body_end > len)
			__builtin_trap();
	}
}

static int
eight_bit(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* A stripped message: Sealmail's own structure, 7-bit bodies. */
static void
check_stripped(const struct buf *out)
{
	struct mime_parser *p;
	struct mime_part *q;
	unsigned int	 i;

	p = mime_parser_new(NULL, NULL, NULL);
	mime_parser_feed(p, out->data, out->len);
	mime_parser_finish(p);
	if (mime_parser_flags(p) & (MIME_F_STRUCTURE | MIME_F_NO_END_BOUNDARY |
	    MIME_F_BAD_TYPE | MIME_F_NO_BOUNDARY | MIME_F_BARE_LF))
		__builtin_trap();
	for (i = 0; i < mime_parser_nparts(p); i++) {
		q = mime_parser_part(p, i);
		if (q->kind == MIME_KIND_LEAF && q->enc != MIME_ENC_QP &&
		    q->enc != MIME_ENC_BASE64 &&
		    eight_bit(out->data + q->body_start,
		    q->body_end - q->body_start))
			__builtin_trap();
		if (q->flags & MIME_F_BAD_ENCODING)
			__builtin_trap();
	}
	mime_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct mime_limits lim = { 12, 200, 8192 };
	struct strip_result res;
	struct mime_parser *whole, *chunked;
	struct buf	 scratch, out, again;
	const char	*msg;
	size_t		 n, step;

	if (len < 1)
		return 0;
	step = 1 + (data[0] & 0x1f);
	o.strip_attachments = (data[0] & 0x20) == 0;
	o.strip_html = (data[0] & 0x40) == 0;
	o.subject_tag = (data[0] & 0x80) ? "[unsafe]" : NULL;
	o.limits = &lim;
	msg = (const char *)data + 1;
	n = len - 1;

	buf_init(&scratch, 0);
	whole = parse(msg, n, n ? n : 1, &scratch);
	chunked = parse(msg, n, step, &scratch);
	check_same(whole, chunked, n);
	mime_parser_free(whole);
	mime_parser_free(chunked);
	buf_free(&scratch);

	buf_init(&out, 0);
	buf_init(&again, 0);
	if (strip_mem(&o, msg, n, &out, &res) != 0)
		__builtin_trap();
	check_stripped(&out);
	/* stripping is idempotent in what it removes */
	o.subject_tag = NULL;
	if (o.strip_attachments) {
		if (strip_mem(&o, out.data, out.len, &again, &res) != 0 ||
		    res.nremoved != 0 || res.degraded)
			__builtin_trap();
	}
	buf_free(&out);
	buf_free(&again);
	return 0;
}
