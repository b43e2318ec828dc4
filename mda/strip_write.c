/*
 * strip_write.c - writing the stripped message: the top header as it came
 * (8-bit fields that are not UTF-8 made RFC 2047 words), then Sealmail's
 * own MIME structure with new boundaries, each kept part decoded and
 * re-encoded (text as quoted-printable through the HTML converter and the
 * encoded-file filter, passed attachments as base64), and the notice.
 * Called by strip.c in the mda as the mail user; bounded chunks only.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "html.h"
#include "mime.h"
#include "strip.h"
#include "strip_int.h"
#include "utf8.h"

static int
is_token_str(const char *s, size_t max)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 ||
		    strchr("()<>@,;:\\\"/[]?=", *s) != NULL || n >= max)
			return 0;
	return n > 0;
}

/* ";\r\n\tname=value", quoted, or RFC 2231 encoded if not ASCII. */
static void
write_param(struct strip_ctx *c, struct buf *b, const char *name,
    const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *v = (const unsigned char *)value;
	size_t	 i;
	int	 ascii = 1;

	if (!is_token_str(name, 64))
		return;
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < 32 || v[i] >= 127)
			ascii = 0;
	if (ascii && i <= 200) {
		buf_printf(b, ";\r\n\t%s=\"", name);
		for (i = 0; v[i] != '\0'; i++) {
			if (v[i] == '"' || v[i] == '\\')
				buf_addc(b, '\\');
			buf_addc(b, v[i]);
		}
		buf_addc(b, '"');
		return;
	}
	buf_printf(b, ";\r\n\t%s*=utf-8''", name);
	for (i = 0; v[i] != '\0' && i < 200; i++) {
		if (isalnum(v[i]) || strchr("!#$&+-.^_`|~", v[i]) != NULL)
			buf_addc(b, v[i]);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[v[i] >> 4]);
			buf_addc(b, hex[v[i] & 15]);
		}
	}
}

static void
new_boundary(struct strip_ctx *c, char *b, size_t n)
{
	/* "=_" never occurs in quoted-printable or base64 output */
	snprintf(b, n, "=_sealmail_%u_%lx", c->nbound++,
	    (unsigned long)(c->size & 0xffffff) ^ 0x5ea1UL);
}

/*
 * Text after decoding and conversion: through the filter, if any, then
 * encoded (not in the counting pass, which writes nothing).
 */
static void
body_text(struct strip_ctx *c, struct uu *u, struct mime_encoder *e,
    struct buf *text)
{
	if (u != NULL) {
		strip_uu_feed(u, text->data, text->len, &c->uuout);
		if (!c->dry)
			mime_encode(e, c->uuout.data, c->uuout.len, &c->enc);
		buf_reset(&c->uuout);
	} else if (!c->dry)
		mime_encode(e, text->data, text->len, &c->enc);
	buf_reset(text);
}

/*
 * Decode a leaf body and write it re-encoded; h converts HTML, u cuts
 * encoded files out of text.
 */
static void
write_body(struct strip_ctx *c, struct mime_part *q, enum mime_encoding enc,
    struct html_conv *h, struct uu *u)
{
	struct mime_decoder d;
	struct mime_encoder e;
	uint64_t	 off;
	size_t		 n;

	mime_decoder_init(&d, q->enc == MIME_ENC_UNKNOWN ? MIME_ENC_BINARY :
	    q->enc);
	mime_encoder_init(&e, enc);
	for (off = q->body_start; off < q->body_end && !c->err; off += n) {
		n = q->body_end - off > STRIP_CHUNK ? STRIP_CHUNK :
		    (size_t)(q->body_end - off);
		if (strip_src_read(c, off, n, &c->chunk) == -1)
			return;
		mime_decode(&d, c->chunk.data, c->chunk.len, &c->dec);
		if (h != NULL) {
			html_conv_feed(h, c->dec.data, c->dec.len, &c->conv);
			buf_reset(&c->dec);
			body_text(c, u, &e, &c->conv);
		} else
			body_text(c, u, &e, &c->dec);
		strip_out_buf(c, &c->enc);
	}
	mime_decode_finish(&d, &c->dec);
	if (h != NULL) {
		html_conv_feed(h, c->dec.data, c->dec.len, &c->conv);
		html_conv_finish(h, &c->conv);
		buf_reset(&c->dec);
		body_text(c, u, &e, &c->conv);
	} else
		body_text(c, u, &e, &c->dec);
	if (u != NULL) {
		strip_uu_finish(u, &c->uuout);
		mime_encode(&e, c->uuout.data, c->uuout.len, &c->enc);
		buf_reset(&c->uuout);
	}
	mime_encode_finish(&e, &c->enc);
	strip_out_buf(c, &c->enc);
}

void
strip_write_text_leaf(struct strip_ctx *c, struct mime_part *q, int convert)
{
	struct html_conv *h = NULL;
	struct uu	 u;
	struct buf	 hdr;
	const char	*cs = q->charset, *v;
	enum html_out	 mode;

	buf_init(&hdr, 0);
	if (convert) {
		mode = html_out_for_charset(cs);
		if (mode == HTML_OUT_UTF8)
			cs = "utf-8";
		h = html_conv_new(mode);
		if (!c->dry)
			c->res->nconverted++;
	}
	buf_printf(&hdr, "Content-Type: text/%s", convert ? "plain" :
	    q->subtype);
	if (cs != NULL && is_token_str(cs, 40))
		buf_printf(&hdr, "; charset=%s", cs);
	if (!convert && (v = mime_param_get(q->params, q->nparams,
	    "format")) != NULL && strcasecmp(v, "flowed") == 0) {
		buf_addstr(&hdr, "; format=flowed");
		if ((v = mime_param_get(q->params, q->nparams, "delsp")) !=
		    NULL && strcasecmp(v, "yes") == 0)
			buf_addstr(&hdr, "; delsp=yes");
	}
	buf_addstr(&hdr, "\r\nContent-Transfer-Encoding: quoted-printable\r\n");
	if (q->disposition != NULL)
		buf_printf(&hdr, "Content-Disposition: %s\r\n",
		    strip_is_inline(q) ? "inline" : "attachment");
	buf_addstr(&hdr, "\r\n");
	strip_out_buf(c, &hdr);
	buf_free(&hdr);
	if (convert || strcmp(q->subtype, "plain") == 0) {
		strip_uu_init(&u, c);
		write_body(c, q, MIME_ENC_QP, h, &u);
	} else
		write_body(c, q, MIME_ENC_QP, h, NULL);
	html_conv_free(h);
}

static void
write_pass_leaf(struct strip_ctx *c, struct mime_part *q)
{
	struct buf	 hdr;
	size_t		 i;

	buf_init(&hdr, 0);
	/* a container type on a leaf would make the reader look inside */
	if (is_token_str(q->type, 64) && is_token_str(q->subtype, 64) &&
	    strcmp(q->type, "multipart") != 0 &&
	    strcmp(q->type, "message") != 0)
		buf_printf(&hdr, "Content-Type: %s/%s", q->type, q->subtype);
	else
		buf_addstr(&hdr, "Content-Type: application/octet-stream");
	for (i = 0; i < q->nparams; i++)
		if (strcmp(q->params[i].name, "boundary") != 0)
			write_param(c, &hdr, q->params[i].name,
			    q->params[i].value);
	buf_addstr(&hdr, "\r\nContent-Transfer-Encoding: base64\r\n");
	buf_printf(&hdr, "Content-Disposition: %s", strip_is_inline(q) ?
	    "inline" : "attachment");
	if (q->filename != NULL)
		write_param(c, &hdr, "filename", q->filename);
	buf_addstr(&hdr, "\r\n");
	if (q->id != NULL && strlen(q->id) < 200 && strspn(q->id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "<>@.-_+=$") == strlen(q->id))
		buf_printf(&hdr, "Content-ID: %s\r\n", q->id);
	buf_addstr(&hdr, "\r\n");
	strip_out_buf(c, &hdr);
	buf_free(&hdr);
	write_body(c, q, MIME_ENC_BASE64, NULL, NULL);
}

/* A header value with 8-bit bytes, rewritten as RFC 2047 words. */
static void
write_field_2047(struct buf *b, const struct mime_field *f)
{
	struct buf	 u;
	struct mime_encoder e;
	size_t		 i, n;

	buf_init(&u, 0);
	mime_header_decode(f->value, f->valuelen, &u);
	buf_add(b, f->name, f->namelen);
	buf_addc(b, ':');
	for (i = 0; i < u.len; i += n) {
		/* 45 bytes a word, cut at a character boundary */
		n = u.len - i > 45 ? 45 : u.len - i;
		while (i + n < u.len && n > 1 &&
		    ((unsigned char)u.data[i + n] & 0xc0) == 0x80)
			n--;
		buf_addstr(b, i == 0 ? " =?utf-8?b?" : "\r\n =?utf-8?b?");
		mime_encoder_init(&e, MIME_ENC_BASE64);
		mime_encode(&e, u.data + i, n, b);
		mime_encode_finish(&e, b);
		buf_addstr(b, "?=");
	}
	buf_addstr(b, "\r\n");
	buf_free(&u);
}

/* One field as written, line ends made CRLF, NUL and lone CR dropped. */
static void
write_field_raw(struct buf *b, const char *h, size_t start, size_t end,
    const char *prefix)
{
	size_t		 i;

	if (prefix != NULL)
		buf_addstr(b, prefix);
	for (i = start; i < end; i++) {
		if (h[i] == '\n')
			buf_add(b, "\r\n", 2);
		else if (h[i] != '\r' && h[i] != '\0')
			buf_addc(b, h[i]);
	}
	if (b->len < 2 || b->data[b->len - 1] != '\n')
		buf_add(b, "\r\n", 2);
}

static int
field_dropped(const struct mime_field *f)
{
	return (f->namelen >= 8 && strncasecmp(f->name, "content-", 8) == 0) ||
	    mime_field_is(f, "mime-version") ||
	    mime_field_is(f, "x-sealmail-stripped");
}

/*
 * The non-MIME fields of the message whose header is q's.  The top one is
 * copied as written (it reached the MTA that way); an attached message's
 * fields are made 7-bit.
 */
static void
write_fields(struct strip_ctx *c, struct mime_part *q, int top)
{
	struct mime_field f;
	struct buf	 h, pre;
	size_t		 pos = 0, i;
	uint64_t	 len = q->body_start - q->hdr_start;
	const char	*tag = top ? c->o->subject_tag : NULL;
	size_t		 budget, total = 0;
	struct buf	 fb;
	int		 r, eight, subject = 0, truncated;

	if (tag != NULL && *tag == '\0')
		tag = NULL;
	buf_init(&h, 0);
	buf_init(&pre, 0);
	buf_init(&fb, 0);
	if (len > c->lim.max_header)
		len = c->lim.max_header;
	if (strip_src_read(c, q->hdr_start, (size_t)len, &h) == -1)
		goto done;
	truncated = len < q->body_start - q->hdr_start;
	budget = c->lim.max_header > 2048 ? c->lim.max_header - 2048 : 0;
	while ((r = mime_header_next(h.data, h.len, &pos, &f)) != 0) {
		if (r == -1 || field_dropped(&f))
			continue;
		/* the header is kept under the limit it was read with */
		if (truncated && f.end == h.len)
			break;
		for (eight = 0, i = 0; i < f.valuelen; i++)
			if ((unsigned char)f.value[i] >= 0x80)
				eight = 1;
		if (tag != NULL && mime_field_is(&f, "subject") && !subject) {
			subject = 1;
			buf_reset(&pre);
			buf_printf(&pre, "Subject: %s ", tag);
			if (f.valuelen >= strlen(tag) &&
			    strncmp(f.value, tag, strlen(tag)) == 0)
				buf_reset(&pre);
			write_field_raw(&fb, h.data, f.value - h.data, f.end,
			    pre.len > 0 ? pre.data : "Subject: ");
		} else if (eight && (!top ||
		    !utf8_valid(f.value, f.valuelen, 0, UTF8_NO_NUL)))
			write_field_2047(&fb, &f);
		else
			write_field_raw(&fb, h.data, f.start, f.end, NULL);
		/* what is written stays under the limit too (RFC 2047 grows) */
		if (total + fb.len > budget)
			break;
		total += fb.len;
		strip_out_buf(c, &fb);
	}
	if (tag != NULL && !subject) {
		strip_out_str(c, "Subject: ");
		strip_out_str(c, tag);
		strip_out_str(c, "\r\n");
	}
done:
	buf_free(&h);
	buf_free(&pre);
	buf_free(&fb);
}

/* A delimiter line: "--boundary", or "--boundary--" to close. */
static void
write_delim(struct strip_ctx *c, const char *b, int close)
{
	strip_out_str(c, "--");
	strip_out_str(c, b);
	strip_out_str(c, close ? "--\r\n" : "\r\n");
}

static void write_entity(struct strip_ctx *, struct mime_part *);

static int
written(struct strip_ctx *c, const struct mime_part *q)
{
	int	 f = c->fate[q->index];

	return f == F_KEEP || f == F_CONVERT || f == F_PASS;
}

static void
write_multipart(struct strip_ctx *c, struct mime_part *q)
{
	struct mime_part *k, *only = NULL;
	char		 b[64];
	const char	*sub = "mixed";
	unsigned int	 n = 0;

	for (k = q->children; k != NULL; k = k->next)
		if (written(c, k)) {
			only = k;
			n++;
		}
	if (n == 0) {
		strip_out_str(c, "Content-Type: text/plain; "
		    "charset=us-ascii\r\n\r\n");
		return;
	}
	if (n == 1) {
		write_entity(c, only);
		return;
	}
	if (strcmp(q->subtype, "alternative") == 0 ||
	    strcmp(q->subtype, "related") == 0)
		sub = q->subtype;
	new_boundary(c, b, sizeof(b));
	strip_out_str(c, "Content-Type: multipart/");
	strip_out_str(c, sub);
	strip_out_str(c, "; boundary=\"");
	strip_out_str(c, b);
	strip_out_str(c, "\"\r\n\r\n");
	for (k = q->children; k != NULL; k = k->next) {
		if (!written(c, k))
			continue;
		write_delim(c, b, 0);
		write_entity(c, k);
		strip_out_str(c, "\r\n");
	}
	write_delim(c, b, 1);
}

/* Content-* fields, empty line and body of q, as Sealmail writes them. */
static void
write_entity(struct strip_ctx *c, struct mime_part *q)
{
	switch (q->kind) {
	case MIME_KIND_MULTIPART:
		write_multipart(c, q);
		break;
	case MIME_KIND_MESSAGE:
		strip_out_str(c, "Content-Type: message/rfc822\r\n");
		strip_out_str(c, "Content-Transfer-Encoding: 7bit\r\n");
		if (q->disposition != NULL)
			strip_out_str(c, "Content-Disposition: inline\r\n");
		strip_out_str(c, "\r\n");
		write_fields(c, q->children, 0);
		strip_out_str(c, "MIME-Version: 1.0\r\n");
		write_entity(c, q->children);
		break;
	case MIME_KIND_LEAF:
		if (c->fate[q->index] == F_PASS)
			write_pass_leaf(c, q);
		else if (c->fate[q->index] == F_KEEP ||
		    c->fate[q->index] == F_CONVERT)
			strip_write_text_leaf(c, q,
			    c->fate[q->index] == F_CONVERT);
		else	/* removed: the attached message keeps its header */
			strip_out_str(c, "Content-Type: text/plain; "
			    "charset=us-ascii\r\n\r\n");
		break;
	}
}

/* The notice: one line per removed part. */
static void
write_notice(struct strip_ctx *c)
{
	struct mime_encoder e;
	struct mime_part *q;
	struct buf	 t, name;
	unsigned int	 i, n = mime_parser_nparts(c->mp), listed = 0;
	size_t		 j;

	buf_init(&t, 0);
	buf_init(&name, 0);
	buf_printf(&t, "Sealmail removed %u part%s of this message because "
	    "its sender could\nnot be verified:\n\n", c->res->nremoved,
	    c->res->nremoved == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		q = mime_parser_part(c->mp, i);
		if (c->fate[i] != F_REMOVE || q->kind != MIME_KIND_LEAF)
			continue;
		if (listed++ == STRIP_LIST_MAX) {
			buf_printf(&t, "  ... and %u more\n",
			    c->res->nremoved - STRIP_LIST_MAX);
			break;
		}
		buf_reset(&name);
		if (q->filename != NULL)
			(void)utf8_sanitize(q->filename,
			    strnlen(q->filename, 120), &name);
		for (j = 0; j < name.len; j++)
			if ((unsigned char)name.data[j] < 32 ||
			    name.data[j] == 0x7f)
				name.data[j] = '?';
		buf_printf(&t, "  - %s%s%s (%.64s/%.64s, %llu bytes%s)\n",
		    name.len > 0 ? "\"" : "", name.len > 0 ? name.data :
		    "unnamed part", name.len > 0 ? "\"" : "", q->type,
		    q->subtype, (unsigned long long)q->decoded_size,
		    strip_is_ambiguous(q) ? ", ambiguous structure" : "");
	}
	if (listed <= STRIP_LIST_MAX)
		buf_add(&t, c->uunames.data, c->uunames.len);
	if (c->res->degraded)
		buf_addstr(&t, "\nThe structure of this message could not be "
		    "read safely; only its\nreadable text was kept.\n");
	strip_out_str(c, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-Disposition: inline\r\n"
	    "Content-Description: Sealmail notice\r\n\r\n");
	mime_encoder_init(&e, MIME_ENC_QP);
	mime_encode(&e, t.data, t.len, &c->enc);
	mime_encode_finish(&e, &c->enc);
	strip_out_buf(c, &c->enc);
	buf_free(&t);
	buf_free(&name);
}

void
strip_write_message(struct strip_ctx *c)
{
	struct mime_part *root = mime_parser_root(c->mp), *q, *k;
	unsigned int	 i, n = mime_parser_nparts(c->mp);
	char		 b[64], num[32];
	int		 flat;

	write_fields(c, root, 1);
	snprintf(num, sizeof(num), "%u", c->res->nremoved);
	strip_out_str(c, "MIME-Version: 1.0\r\nX-Sealmail-Stripped: ");
	strip_out_str(c, num);
	strip_out_str(c, "\r\n");
	if (c->res->nremoved == 0 && !c->res->degraded) {
		write_entity(c, root);
		strip_out_str(c, "\r\n");
		return;
	}
	new_boundary(c, b, sizeof(b));
	strip_out_str(c, "Content-Type: multipart/mixed; boundary=\"");
	strip_out_str(c, b);
	strip_out_str(c, "\"\r\n\r\n");
	if (!c->res->degraded) {
		/* a mixed message takes the notice as its last part */
		flat = root->kind == MIME_KIND_MULTIPART &&
		    strcmp(root->subtype, "alternative") != 0 &&
		    strcmp(root->subtype, "related") != 0;
		for (k = flat ? root->children : root; k != NULL;
		    k = flat ? k->next : NULL) {
			if (!written(c, k))
				continue;
			write_delim(c, b, 0);
			write_entity(c, k);
			strip_out_str(c, "\r\n");
		}
	} else {
		for (i = 0; i < n; i++) {
			q = mime_parser_part(c->mp, i);
			if (!written(c, q))
				continue;
			write_delim(c, b, 0);
			strip_write_text_leaf(c, q, c->fate[i] == F_CONVERT);
			strip_out_str(c, "\r\n");
		}
	}
	write_delim(c, b, 0);
	write_notice(c);
	strip_out_str(c, "\r\n");
	write_delim(c, b, 1);
}
