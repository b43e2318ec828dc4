/*
 * strip.c - stripping of unsafe mail; see strip.h.
 *
 * Two passes over the input.  The first runs the MIME parser and keeps
 * only the part tree (offsets and Content-* facts).  Then every part is
 * given a fate (keep, convert HTML, pass as base64, remove, drop), and the
 * second pass writes the new message, rereading header and body bytes by
 * offset, decoding and re-encoding them through bounded chunks.  Nothing of
 * the sender's MIME structure is copied: boundaries, Content-* fields and
 * transfer encodings are all Sealmail's own, so a part the parser did not
 * see cannot reach the reader.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "html.h"
#include "log.h"
#include "mime.h"
#include "strip.h"
#include "xmalloc.h"

#define STRIP_CHUNK	65536
#define STRIP_LIST_MAX	200	/* removed parts named in the notice */

enum fate {
	F_NONE = 0,
	F_KEEP,		/* text, re-encoded */
	F_CONVERT,	/* text/html -> text/plain */
	F_PASS,		/* kept attachment, re-encoded as base64 */
	F_REMOVE,	/* removed and named in the notice */
	F_DROP		/* not written, not named (container, alternative) */
};

struct strip_ctx {
	const struct strip_opts	*o;
	struct strip_result	*res;
	struct mime_limits	 lim;
	struct mime_parser	*mp;
	unsigned char		*fate;

	const char		*mem;	/* input in memory, or */
	size_t			 memlen;
	int			 infd;	/* a seekable descriptor */

	struct buf		*out;	/* output to a buf, or */
	int			 outfd;	/* to a descriptor through obuf */
	struct buf		 obuf;
	int			 err;

	unsigned int		 nbound;
	uint64_t		 size;	/* of the input */
	struct buf		 chunk, dec, conv, enc, uuout;
	int			 dry;	/* counting pass: nothing written */
	unsigned int		 uufound;	/* encoded files in text */
	struct buf		 uunames;	/* their notice lines */
};

/* ---------------------------------------------------------------------
 * Input and output
 */

static int
src_read(struct strip_ctx *c, uint64_t off, size_t n, struct buf *dst)
{
	ssize_t	 r;
	size_t	 got = 0;

	buf_reset(dst);
	if (c->mem != NULL) {
		if (off > c->memlen)
			return 0;
		if (n > c->memlen - off)
			n = c->memlen - (size_t)off;
		buf_add(dst, c->mem + off, n);
		return 0;
	}
	if (buf_add(dst, NULL, 0) == -1)
		return -1;
	while (got < n) {
		char	 tmp[STRIP_CHUNK];
		size_t	 want = n - got < sizeof(tmp) ? n - got : sizeof(tmp);

		r = pread(c->infd, tmp, want, (off_t)(off + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			c->err = 1;
			return -1;
		}
		if (r == 0)
			break;
		buf_add(dst, tmp, (size_t)r);
		got += (size_t)r;
	}
	return 0;
}

static void
sink_flush(struct strip_ctx *c)
{
	size_t	 done = 0;
	ssize_t	 r;

	while (done < c->obuf.len) {
		r = write(c->outfd, c->obuf.data + done, c->obuf.len - done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->err = 1;
			break;
		}
		done += (size_t)r;
	}
	buf_reset(&c->obuf);
}

static void
out_add(struct strip_ctx *c, const void *p, size_t n)
{
	if (c->err || c->dry)
		return;
	if (c->out != NULL) {
		if (buf_add(c->out, p, n) == -1)
			c->err = 1;
		return;
	}
	buf_add(&c->obuf, p, n);
	if (c->obuf.len >= STRIP_CHUNK)
		sink_flush(c);
}

static void
out_str(struct strip_ctx *c, const char *s)
{
	out_add(c, s, strlen(s));
}

static void
out_buf(struct strip_ctx *c, struct buf *b)
{
	out_add(c, b->data, b->len);
	buf_reset(b);
}

/* ---------------------------------------------------------------------
 * Fates
 */

/*
 * The ambiguity class: q or a part above it has Content-* facts that
 * readers may take differently (MIME_F_AMBIGUOUS: a second Content-Type,
 * -Transfer-Encoding or -Disposition, a parameter such as boundary,
 * charset or name given twice, malformed parameters).  What such a part
 * is, or where it ends, depends on the reader, so nothing in it is
 * provably readable text: it is removed, whatever our own reading says.
 */
static int
is_ambiguous(const struct mime_part *q)
{
	for (; q != NULL; q = q->parent)
		if (q->flags & MIME_F_AMBIGUOUS)
			return 1;
	return 0;
}

static int
is_readable_text(const struct mime_part *q)
{
	return q->kind == MIME_KIND_LEAF && mime_part_is(q, "text", NULL) &&
	    (strcmp(q->subtype, "plain") == 0 ||
	    strcmp(q->subtype, "html") == 0) && q->enc != MIME_ENC_UNKNOWN &&
	    (q->flags & MIME_F_STRUCTURE) == 0 && !is_ambiguous(q);
}

/*
 * Shown in the text by every reader: no disposition or "inline", and no
 * file name in any form (filename or name, in either field), because a
 * reader that sees a name offers the part as a file whatever its
 * disposition says.
 */
static int
is_inline(const struct mime_part *q)
{
	return (q->disposition == NULL ||
	    strcmp(q->disposition, "inline") == 0) && q->filename == NULL;
}

/* Everything below q goes, nothing of it named but attachments. */
static void
drop_subtree(struct strip_ctx *c, struct mime_part *q)
{
	struct mime_part *k;

	if (q->kind == MIME_KIND_LEAF) {
		if (c->fate[q->index] != F_REMOVE)
			c->fate[q->index] = is_readable_text(q) ? F_DROP :
			    F_REMOVE;
		return;
	}
	c->fate[q->index] = F_DROP;
	for (k = q->children; k != NULL; k = k->next)
		drop_subtree(c, k);
}

/* One alternative to keep: plain text first, else the richest. */
static void
choose_alternative(struct strip_ctx *c, struct mime_part *q)
{
	struct mime_part *k, *chosen = NULL, *readable = NULL, *other = NULL;

	for (k = q->children; k != NULL && chosen == NULL; k = k->next)
		if (is_readable_text(k) && strcmp(k->subtype, "plain") == 0 &&
		    c->fate[k->index] == F_KEEP)
			chosen = k;
	/* else the richest readable one, an attachment only as last resort */
	for (k = q->children; k != NULL; k = k->next)
		if (c->fate[k->index] == F_CONVERT ||
		    (c->fate[k->index] == F_KEEP && (is_readable_text(k) ||
		    k->kind != MIME_KIND_LEAF)))
			readable = k;
		else if (c->fate[k->index] == F_PASS)
			other = k;
	if (chosen == NULL)
		chosen = readable != NULL ? readable : other;
	for (k = q->children; k != NULL; k = k->next)
		if (k != chosen)
			drop_subtree(c, k);
}

/* Decide the fate of q and below; returns 1 if anything is kept. */
static int
decide(struct strip_ctx *c, struct mime_part *q)
{
	const struct strip_opts *o = c->o;
	struct mime_part *k;
	int		 any = 0, html;

	if (q->kind == MIME_KIND_LEAF) {
		html = mime_part_is(q, "text", "html");
		if (is_ambiguous(q))
			c->fate[q->index] = F_REMOVE;
		else if (is_readable_text(q) && (is_inline(q) ||
		    !o->strip_attachments))
			c->fate[q->index] = html && o->strip_html ?
			    F_CONVERT : F_KEEP;
		else if (!o->strip_attachments)
			c->fate[q->index] = html && o->strip_html &&
			    is_readable_text(q) ? F_CONVERT : F_PASS;
		else
			c->fate[q->index] = F_REMOVE;
		return c->fate[q->index] != F_REMOVE;
	}
	for (k = q->children; k != NULL; k = k->next)
		any |= decide(c, k);
	if (q->kind == MIME_KIND_MESSAGE) {
		c->fate[q->index] = F_KEEP;
		return 1;
	}
	if (o->strip_html && strcmp(q->subtype, "alternative") == 0)
		choose_alternative(c, q);
	c->fate[q->index] = any ? F_KEEP : F_DROP;
	return any;
}

/* Structure untrusted: keep only readable inline text, flat. */
static void
decide_degraded(struct strip_ctx *c)
{
	struct mime_part *q, *a;
	unsigned int	 i, n = mime_parser_nparts(c->mp);
	int		 ok;

	for (i = 0; i < n; i++) {
		q = mime_parser_part(c->mp, i);
		if (q->kind != MIME_KIND_LEAF) {
			c->fate[i] = F_DROP;
			continue;
		}
		ok = is_readable_text(q) && is_inline(q);
		for (a = q->parent; a != NULL && ok; a = a->parent)
			if (a->flags & MIME_F_HDR_TOO_LONG)
				ok = 0;
		c->fate[i] = !ok ? F_REMOVE : mime_part_is(q, "text", "html") ?
		    F_CONVERT : F_KEEP;
	}
}

/* ---------------------------------------------------------------------
 * Files encoded inside text: uuencode, "begin-base64" and yEnc blocks
 * are shown as attachments by some readers, so they go like attachments.
 * A line filter over the decoded text; a begin line is held until the
 * next line shows it really starts an encoded block.
 */

#define UU_LINE_MAX	1024

enum { UU_TEXT, UU_HELD, UU_IN };

struct uu {
	struct strip_ctx *c;
	int		 state;
	int		 kind;		/* 'u'uencode, 'b'ase64, 'y'Enc */
	int		 midline;	/* line continues a longer one */
	struct buf	 line;
	struct buf	 held;
	char		 name[128];
};

static int
uu_octal_mode(const char **p)
{
	const char	*s = *p;
	int		 n = 0;

	while (*s >= '0' && *s <= '7') {
		s++;
		n++;
	}
	if (n < 3 || n > 4 || *s != ' ')
		return 0;
	*p = s + 1;
	return 1;
}

/* A line that opens an encoded file: its kind, or 0. */
static int
uu_begin(const char *t, char *name, size_t namelen)
{
	const char	*p;
	int		 kind = 0;

	if (strncmp(t, "begin ", 6) == 0) {
		p = t + 6;
		kind = 'u';
	} else if (strncmp(t, "begin-base64 ", 13) == 0) {
		p = t + 13;
		kind = 'b';
	} else if (strncmp(t, "=ybegin ", 8) == 0 &&
	    (p = strstr(t, " name=")) != NULL) {
		snprintf(name, namelen, "%s", p + 6);
		return 'y';
	} else
		return 0;
	if (!uu_octal_mode(&p) || *p == '\0')
		return 0;
	snprintf(name, namelen, "%s", p);
	return kind;
}

/* Does t look like a line of the encoding kind? */
static int
uu_body_line(int kind, const char *t)
{
	size_t	 len = strlen(t), want, i;

	if (kind == 'y')
		return len > 0;
	if (kind == 'b') {
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)t[i]) &&
			    strchr("+/=", t[i]) == NULL)
				return 0;
		return len > 0;
	}
	if (len < 1 || t[0] < 0x20 || t[0] > 0x60)
		return 0;
	for (i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x60)
			return 0;
	want = 1 + ((size_t)((t[0] - 0x20) & 0x3f) + 2) / 3 * 4;
	return len >= want && len <= want + 2;
}

static int
uu_end(int kind, const char *t)
{
	if (kind == 'y')
		return strncmp(t, "=yend", 5) == 0;
	if (kind == 'b')
		return strcmp(t, "====") == 0;
	return strcmp(t, "end") == 0;
}

/* An encoded file was cut out: count it, say so in the text. */
static void
uu_removed(struct uu *u, struct buf *out)
{
	struct strip_ctx *c = u->c;
	struct buf	 name;
	size_t		 i;

	buf_init(&name, 0);
	mime_to_utf8("utf-8", u->name, strlen(u->name), &name);
	for (i = 0; i < name.len; i++)
		if ((unsigned char)name.data[i] < 32 || name.data[i] == 0x7f)
			name.data[i] = '?';
	buf_printf(out, "[encoded file \"%s\" removed by Sealmail]\r\n",
	    buf_cstr(&name));
	if (c->dry) {
		c->uufound++;
		if (c->uufound <= STRIP_LIST_MAX)
			buf_printf(&c->uunames, "  - \"%s\" (%s in the text)\n",
			    buf_cstr(&name), u->kind == 'y' ? "yEnc" :
			    u->kind == 'b' ? "base64" : "uuencoded");
	}
	buf_free(&name);
}

static void
uu_line(struct uu *u, struct buf *out)
{
	char	 t[UU_LINE_MAX + 1];
	size_t	 n = u->line.len;
	int	 sol = !u->midline, kind;

	u->midline = n > 0 && u->line.data[n - 1] != '\n';
	while (n > 0 && (u->line.data[n - 1] == '\n' ||
	    u->line.data[n - 1] == '\r' || u->line.data[n - 1] == ' ' ||
	    u->line.data[n - 1] == '\t'))
		n--;
	memcpy(t, u->line.data, n);
	t[n] = '\0';
	if (memchr(t, '\0', n) != NULL)
		sol = 0;
	switch (u->state) {
	case UU_TEXT:
		if (sol && (kind = uu_begin(t, u->name, sizeof(u->name)))) {
			u->kind = kind;
			buf_reset(&u->held);
			buf_add(&u->held, u->line.data, u->line.len);
			u->state = UU_HELD;
		} else
			buf_add(out, u->line.data, u->line.len);
		break;
	case UU_HELD:
		if (sol && uu_body_line(u->kind, t)) {
			u->state = UU_IN;
		} else {
			buf_add(out, u->held.data, u->held.len);
			buf_add(out, u->line.data, u->line.len);
			u->state = UU_TEXT;
		}
		break;
	case UU_IN:
		if (sol && uu_end(u->kind, t)) {
			uu_removed(u, out);
			u->state = UU_TEXT;
		}
		break;
	}
	buf_reset(&u->line);
}

static void
uu_feed(struct uu *u, const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		buf_addc(&u->line, s[i]);
		if (s[i] == '\n' || u->line.len == UU_LINE_MAX)
			uu_line(u, out);
	}
}

static void
uu_finish(struct uu *u, struct buf *out)
{
	if (u->line.len > 0)
		uu_line(u, out);
	if (u->state == UU_HELD)
		buf_add(out, u->held.data, u->held.len);
	else if (u->state == UU_IN)
		uu_removed(u, out);	/* never ended: all of it goes */
	u->state = UU_TEXT;
	buf_free(&u->line);
	buf_free(&u->held);
}

/* ---------------------------------------------------------------------
 * Writing
 */

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

/* Text after decoding and conversion: through the filter, if any. */
static void
body_text(struct strip_ctx *c, struct uu *u, struct mime_encoder *e,
    struct buf *text)
{
	if (u != NULL) {
		uu_feed(u, text->data, text->len, &c->uuout);
		mime_encode(e, c->uuout.data, c->uuout.len, &c->enc);
		buf_reset(&c->uuout);
	} else
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
		if (src_read(c, off, n, &c->chunk) == -1)
			return;
		mime_decode(&d, c->chunk.data, c->chunk.len, &c->dec);
		if (h != NULL) {
			html_conv_feed(h, c->dec.data, c->dec.len, &c->conv);
			buf_reset(&c->dec);
			body_text(c, u, &e, &c->conv);
		} else
			body_text(c, u, &e, &c->dec);
		out_buf(c, &c->enc);
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
		uu_finish(u, &c->uuout);
		mime_encode(&e, c->uuout.data, c->uuout.len, &c->enc);
		buf_reset(&c->uuout);
	}
	mime_encode_finish(&e, &c->enc);
	out_buf(c, &c->enc);
}

static void
write_text_leaf(struct strip_ctx *c, struct mime_part *q, int convert)
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
		    is_inline(q) ? "inline" : "attachment");
	buf_addstr(&hdr, "\r\n");
	out_buf(c, &hdr);
	buf_free(&hdr);
	if (convert || strcmp(q->subtype, "plain") == 0) {
		memset(&u, 0, sizeof(u));
		u.c = c;
		buf_init(&u.line, 0);
		buf_init(&u.held, 0);
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
	buf_printf(&hdr, "Content-Disposition: %s", is_inline(q) ? "inline" :
	    "attachment");
	if (q->filename != NULL)
		write_param(c, &hdr, "filename", q->filename);
	buf_addstr(&hdr, "\r\n");
	if (q->id != NULL && strlen(q->id) < 200 && strspn(q->id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "<>@.-_+=$") == strlen(q->id))
		buf_printf(&hdr, "Content-ID: %s\r\n", q->id);
	buf_addstr(&hdr, "\r\n");
	out_buf(c, &hdr);
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

/* Valid UTF-8 (RFC 6532 headers) is kept as written at the top. */
static int
utf8_ok(const char *s, size_t n)
{
	struct buf	 u;
	int		 ok;

	buf_init(&u, 0);
	mime_to_utf8("utf-8", s, n, &u);
	ok = u.len == n && memcmp(u.data, s, n) == 0;
	buf_free(&u);
	return ok;
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
	if (src_read(c, q->hdr_start, (size_t)len, &h) == -1)
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
		} else if (eight && (!top || !utf8_ok(f.value, f.valuelen)))
			write_field_2047(&fb, &f);
		else
			write_field_raw(&fb, h.data, f.start, f.end, NULL);
		/* what is written stays under the limit too (RFC 2047 grows) */
		if (total + fb.len > budget)
			break;
		total += fb.len;
		out_buf(c, &fb);
	}
	if (tag != NULL && !subject) {
		out_str(c, "Subject: ");
		out_str(c, tag);
		out_str(c, "\r\n");
	}
done:
	buf_free(&h);
	buf_free(&pre);
	buf_free(&fb);
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
		out_str(c, "Content-Type: text/plain; "
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
	out_str(c, "Content-Type: multipart/");
	out_str(c, sub);
	out_str(c, "; boundary=\"");
	out_str(c, b);
	out_str(c, "\"\r\n\r\n");
	for (k = q->children; k != NULL; k = k->next) {
		if (!written(c, k))
			continue;
		out_str(c, "--");
		out_str(c, b);
		out_str(c, "\r\n");
		write_entity(c, k);
		out_str(c, "\r\n");
	}
	out_str(c, "--");
	out_str(c, b);
	out_str(c, "--\r\n");
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
		out_str(c, "Content-Type: message/rfc822\r\n");
		out_str(c, "Content-Transfer-Encoding: 7bit\r\n");
		if (q->disposition != NULL)
			out_str(c, "Content-Disposition: inline\r\n");
		out_str(c, "\r\n");
		write_fields(c, q->children, 0);
		out_str(c, "MIME-Version: 1.0\r\n");
		write_entity(c, q->children);
		break;
	case MIME_KIND_LEAF:
		if (c->fate[q->index] == F_PASS)
			write_pass_leaf(c, q);
		else if (c->fate[q->index] == F_KEEP ||
		    c->fate[q->index] == F_CONVERT)
			write_text_leaf(c, q, c->fate[q->index] == F_CONVERT);
		else	/* removed: the attached message keeps its header */
			out_str(c, "Content-Type: text/plain; "
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
			mime_to_utf8("utf-8", q->filename,
			    strnlen(q->filename, 120), &name);
		for (j = 0; j < name.len; j++)
			if ((unsigned char)name.data[j] < 32 ||
			    name.data[j] == 0x7f)
				name.data[j] = '?';
		buf_printf(&t, "  - %s%s%s (%.64s/%.64s, %llu bytes%s)\n",
		    name.len > 0 ? "\"" : "", name.len > 0 ? name.data :
		    "unnamed part", name.len > 0 ? "\"" : "", q->type,
		    q->subtype, (unsigned long long)q->decoded_size,
		    is_ambiguous(q) ? ", ambiguous structure" : "");
	}
	if (listed <= STRIP_LIST_MAX)
		buf_add(&t, c->uunames.data, c->uunames.len);
	if (c->res->degraded)
		buf_addstr(&t, "\nThe structure of this message could not be "
		    "read safely; only its\nreadable text was kept.\n");
	out_str(c, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-Disposition: inline\r\n"
	    "Content-Description: Sealmail notice\r\n\r\n");
	mime_encoder_init(&e, MIME_ENC_QP);
	mime_encode(&e, t.data, t.len, &c->enc);
	mime_encode_finish(&e, &c->enc);
	out_buf(c, &c->enc);
	buf_free(&t);
	buf_free(&name);
}

static void
write_message(struct strip_ctx *c)
{
	struct mime_part *root = mime_parser_root(c->mp), *q, *k;
	unsigned int	 i, n = mime_parser_nparts(c->mp);
	char		 b[64], num[32];
	int		 flat;

	write_fields(c, root, 1);
	snprintf(num, sizeof(num), "%u", c->res->nremoved);
	out_str(c, "MIME-Version: 1.0\r\nX-Sealmail-Stripped: ");
	out_str(c, num);
	out_str(c, "\r\n");
	if (c->res->nremoved == 0 && !c->res->degraded) {
		write_entity(c, root);
		out_str(c, "\r\n");
		return;
	}
	new_boundary(c, b, sizeof(b));
	out_str(c, "Content-Type: multipart/mixed; boundary=\"");
	out_str(c, b);
	out_str(c, "\"\r\n\r\n");
	if (!c->res->degraded) {
		/* a mixed message takes the notice as its last part */
		flat = root->kind == MIME_KIND_MULTIPART &&
		    strcmp(root->subtype, "alternative") != 0 &&
		    strcmp(root->subtype, "related") != 0;
		for (k = flat ? root->children : root; k != NULL;
		    k = flat ? k->next : NULL) {
			if (!written(c, k))
				continue;
			out_str(c, "--");
			out_str(c, b);
			out_str(c, "\r\n");
			write_entity(c, k);
			out_str(c, "\r\n");
		}
	} else {
		for (i = 0; i < n; i++) {
			q = mime_parser_part(c->mp, i);
			if (!written(c, q))
				continue;
			out_str(c, "--");
			out_str(c, b);
			out_str(c, "\r\n");
			write_text_leaf(c, q, c->fate[i] == F_CONVERT);
			out_str(c, "\r\n");
		}
	}
	out_str(c, "--");
	out_str(c, b);
	out_str(c, "\r\n");
	write_notice(c);
	out_str(c, "\r\n--");
	out_str(c, b);
	out_str(c, "--\r\n");
}

/* ---------------------------------------------------------------------
 * Entry points
 */

static int
strip_run(struct strip_ctx *c, uint64_t size)
{
	unsigned int	 i, n;
	uint64_t	 off;
	int		 r;

	c->size = size;
	c->mp = mime_parser_new(&c->lim, NULL, NULL);
	for (off = 0; off < size && !c->err; off += c->chunk.len) {
		if (src_read(c, off, STRIP_CHUNK, &c->chunk) == -1 ||
		    c->chunk.len == 0)
			break;
		mime_parser_feed(c->mp, c->chunk.data, c->chunk.len);
	}
	c->res->mime_flags = mime_parser_finish(c->mp);
	n = mime_parser_nparts(c->mp);
	c->fate = xcalloc(n, 1);
	/* a multipart without parts has nothing MIME can read */
	c->res->degraded = (c->res->mime_flags & (MIME_F_STRUCTURE |
	    MIME_F_NO_PARTS)) != 0;
	if (c->res->degraded)
		decide_degraded(c);
	else
		decide(c, mime_parser_root(c->mp));
	for (i = 0; i < n; i++)
		if (c->fate[i] == F_REMOVE &&
		    mime_parser_part(c->mp, i)->kind == MIME_KIND_LEAF)
			c->res->nremoved++;
	/* a counting pass over the text finds the files encoded in it */
	c->dry = 1;
	for (i = 0; i < n && !c->err; i++)
		if (c->fate[i] == F_KEEP || c->fate[i] == F_CONVERT)
			write_text_leaf(c, mime_parser_part(c->mp, i),
			    c->fate[i] == F_CONVERT);
	c->dry = 0;
	c->res->nremoved += c->uufound;
	if (!c->err)
		write_message(c);
	if (c->out == NULL && !c->err)
		sink_flush(c);
	r = c->err ? -1 : 0;
	free(c->fate);
	mime_parser_free(c->mp);
	buf_free(&c->chunk);
	buf_free(&c->dec);
	buf_free(&c->conv);
	buf_free(&c->enc);
	buf_free(&c->obuf);
	buf_free(&c->uuout);
	buf_free(&c->uunames);
	return r;
}

static void
ctx_init(struct strip_ctx *c, const struct strip_opts *o,
    struct strip_result *res)
{
	memset(c, 0, sizeof(*c));
	memset(res, 0, sizeof(*res));
	c->o = o;
	c->res = res;
	if (o->limits != NULL)
		c->lim = *o->limits;
	else
		mime_limits_default(&c->lim);
	c->infd = c->outfd = -1;
	buf_init(&c->chunk, 0);
	buf_init(&c->dec, 0);
	buf_init(&c->conv, 0);
	buf_init(&c->enc, 0);
	buf_init(&c->obuf, 0);
	buf_init(&c->uuout, 0);
	buf_init(&c->uunames, 0);
}

/* Strip a message held in memory; the result is appended to out. */
int
strip_mem(const struct strip_opts *o, const void *msg, size_t len,
    struct buf *out, struct strip_result *res)
{
	struct strip_ctx c;

	ctx_init(&c, o, res);
	c.mem = msg != NULL ? msg : "";
	c.memlen = len;
	c.out = out;
	return strip_run(&c, len);
}

/* Copy a non-seekable input to an unlinked temporary file. */
static int
spool(int fd)
{
	char		 path[512], tmp[STRIP_CHUNK];
	const char	*dir = getenv("TMPDIR");
	ssize_t		 r, w, done;
	int		 t;

	snprintf(path, sizeof(path), "%s/sealmail-strip.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	if ((t = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (done = 0; done < r; done += w)
			if ((w = write(t, tmp + done, (size_t)(r - done))) <= 0)
				goto fail;
	}
	if (r == 0)
		return t;
fail:
	close(t);
	return -1;
}

/* Strip a message read from infd (any kind) and write it to outfd. */
int
strip_fd(const struct strip_opts *o, int infd, int outfd,
    struct strip_result *res)
{
	struct strip_ctx c;
	struct stat	 st;
	int		 tmp = -1, r;

	ctx_init(&c, o, res);
	if (fstat(infd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		if ((tmp = spool(infd)) == -1)
			return -1;
		if (fstat(tmp, &st) == -1) {
			close(tmp);
			return -1;
		}
		infd = tmp;
	}
	c.infd = infd;
	c.outfd = outfd;
	r = strip_run(&c, (uint64_t)st.st_size);
	if (tmp != -1)
		close(tmp);
	return r;
}
