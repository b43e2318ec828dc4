/*
 * mime.c - the streaming MIME parser; see mime.h.  Header fields and
 * RFC 2047 are in mime_header.c, parameters and RFC 2231 in mime_param.c,
 * the transfer encodings in mime_codec.c; a leaf's decoded size is
 * counted from its encoded bytes by mime_measure.c, never by decoding.
 *
 * The parser works line by line.  Input is cut at LF; a line longer than
 * MIME_LINE_MAX is handed on in pieces (only a whole short line can be a
 * boundary, and a header piece goes straight into the bounded header
 * buffer).  The EOL of a body line is held back until the next line is
 * known not to be a boundary, because the CRLF before a boundary belongs to
 * the boundary.  Offsets, line counts and flags are all that is kept of a
 * body.  Runs on hostile input in unprivileged processes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "mime.h"
#include "mime_int.h"
#include "xmalloc.h"

#define MIME_LINE_MAX	1024	/* longer lines are never boundaries */

enum pstate {
	PS_HEADER,	/* collecting the header of cur */
	PS_LEAF,	/* in the body of the leaf cur */
	PS_MULTI	/* in the preamble or epilogue of multipart cur */
};

struct pinfo {
	struct mime_part *last;		/* last child */
	uint64_t	 lf0;		/* LFs before body_start */
	int		 closed;	/* multipart: close delimiter seen */
};

struct mime_parser {
	struct mime_limits	 lim;
	struct mime_callbacks	 cb;
	void			*arg;
	struct mime_part	**parts;
	struct pinfo		*info;
	unsigned int		 nparts;
	unsigned int		 capparts;
	struct mime_part	*cur;
	enum pstate		 state;
	unsigned int		 flags;
	int			 finished;

	uint64_t		 off;		/* offset of the next piece */
	uint64_t		 lf_total;	/* LFs before it */
	struct buf		 line;		/* partial line */
	int			 sol;		/* line buffer starts a line */
	uint64_t		 linelen;	/* bytes of the line so far */
	int			 line_content;	/* this line has content */
	int			 prev_content;	/* previous line had content */
	int			 last_eol;	/* input so far ends with LF */
	char			 pend[2];	/* EOL held back */
	size_t			 npend;

	struct buf		 hdr;		/* header of cur */
	struct mime_decoder	 dec;		/* measures the leaf's encoding */
	uint64_t		 dec_size;
};

void
mime_limits_default(struct mime_limits *l)
{
	l->max_depth = 32;
	l->max_parts = 1000;
	l->max_header = 256 * 1024;
}

struct mime_parser *
mime_parser_new(const struct mime_limits *lim,
    const struct mime_callbacks *cb, void *arg)
{
	struct mime_parser *p;

	p = xcalloc(1, sizeof(*p));
	if (lim != NULL)
		p->lim = *lim;
	else
		mime_limits_default(&p->lim);
	if (p->lim.max_parts == 0)
		p->lim.max_parts = 1;
	if (cb != NULL)
		p->cb = *cb;
	p->arg = arg;
	buf_init(&p->line, MIME_LINE_MAX);
	buf_init(&p->hdr, p->lim.max_header);
	p->sol = 1;
	p->last_eol = 1;
	p->cur = NULL;
	p->state = PS_HEADER;
	/* the message itself */
	p->capparts = 16;
	p->parts = xcalloc(p->capparts, sizeof(*p->parts));
	p->info = xcalloc(p->capparts, sizeof(*p->info));
	p->cur = p->parts[0] = xcalloc(1, sizeof(struct mime_part));
	p->nparts = 1;
	return p;
}

static struct mime_part *
part_new(struct mime_parser *p, struct mime_part *parent, uint64_t start)
{
	struct mime_part *q;
	struct pinfo	*pi;

	if (p->nparts >= p->lim.max_parts) {
		parent->flags |= MIME_F_TOO_MANY_PARTS;
		p->flags |= MIME_F_TOO_MANY_PARTS;
		return NULL;
	}
	if (p->nparts == p->capparts) {
		p->capparts *= 2;
		p->parts = xreallocarray(p->parts, p->capparts,
		    sizeof(*p->parts));
		p->info = xreallocarray(p->info, p->capparts,
		    sizeof(*p->info));
	}
	q = xcalloc(1, sizeof(*q));
	q->index = p->nparts;
	q->parent = parent;
	q->depth = parent->depth + 1;
	q->hdr_start = start;
	pi = &p->info[parent->index];
	if (pi->last == NULL)
		parent->children = q;
	else
		pi->last->next = q;
	pi->last = q;
	parent->nchildren++;
	memset(&p->info[q->index], 0, sizeof(struct pinfo));
	p->parts[p->nparts++] = q;
	return q;
}

static char *
unfolded_dup(const struct mime_field *f)
{
	struct buf	 b;
	char		*s;
	size_t		 n;

	buf_init(&b, 0);
	mime_unfold(f->value, f->valuelen, &b);
	n = b.len;
	while (n > 0 && mime_is_wsp((unsigned char)b.data[n - 1]))
		n--;
	buf_truncate(&b, n);
	s = buf_steal(&b);
	return s;
}

static void
set_once(struct mime_part *q, char **dst, const struct mime_field *f)
{
	if (*dst != NULL) {
		q->flags |= MIME_F_HDR_DUP;
		return;
	}
	*dst = unfolded_dup(f);
}

/* The MIME_PARAMS_* result of a parameter list, as flags of q. */
static void
param_flags(struct mime_part *q, int r)
{
	if (r & MIME_PARAMS_BAD)
		q->flags |= MIME_F_BAD_PARAM | MIME_F_AMBIGUOUS;
	if (r & MIME_PARAMS_DUP)
		q->flags |= MIME_F_AMBIGUOUS;
}

/* One header field of q: the Content-* facts. */
static void
header_field(struct mime_parser *p, struct mime_part *q,
    const struct mime_field *f, int *seen_ct)
{
	struct buf	 u;
	int		 r;

	if (p->cb.header != NULL)
		p->cb.header(q, f->name, f->namelen, f->value, f->valuelen,
		    p->arg);
	if (f->namelen < 8 || strncasecmp(f->name, "content-", 8) != 0)
		return;
	buf_init(&u, 0);
	mime_unfold(f->value, f->valuelen, &u);
	/*
	 * A second Content-Type, -Transfer-Encoding or -Disposition, or a
	 * parameter given twice: readers pick different ones (first, last,
	 * merged), so the part is ambiguous.  The first is what we read.
	 */
	if (mime_field_is(f, "content-type")) {
		if (*seen_ct) {
			q->flags |= MIME_F_HDR_DUP | MIME_F_AMBIGUOUS;
		} else {
			*seen_ct = 1;
			r = mime_parse_content_type(buf_cstr(&u), u.len,
			    &q->type, &q->subtype, &q->params, &q->nparams);
			if (r == -1)
				q->flags |= MIME_F_BAD_TYPE;
			else
				param_flags(q, r);
		}
	} else if (mime_field_is(f, "content-transfer-encoding")) {
		if (q->enc_name != NULL)
			q->flags |= MIME_F_HDR_DUP | MIME_F_AMBIGUOUS;
		else
			q->enc = mime_cte_parse(buf_cstr(&u), u.len,
			    &q->enc_name);
	} else if (mime_field_is(f, "content-disposition")) {
		if (q->disposition != NULL)
			q->flags |= MIME_F_HDR_DUP | MIME_F_AMBIGUOUS;
		else if ((r = mime_parse_disposition(buf_cstr(&u), u.len,
		    &q->disposition, &q->dparams, &q->ndparams)) == -1)
			q->flags |= MIME_F_BAD_PARAM | MIME_F_AMBIGUOUS;
		else
			param_flags(q, r);
	} else if (mime_field_is(f, "content-id"))
		set_once(q, &q->id, f);
	else if (mime_field_is(f, "content-description"))
		set_once(q, &q->description, f);
	else if (mime_field_is(f, "content-language"))
		set_once(q, &q->language, f);
	else if (mime_field_is(f, "content-location"))
		set_once(q, &q->location, f);
	else if (mime_field_is(f, "content-md5"))
		set_once(q, &q->md5, f);
	buf_free(&u);
}

static void
part_defaults(struct mime_part *q, int seen_ct)
{
	const char	*v;

	if (q->type != NULL) {
		q->type_explicit = 1;
	} else if (seen_ct) {
		/* present but unreadable: opaque, never guessed as text */
		q->type = xstrdup("application");
		q->subtype = xstrdup("octet-stream");
	} else if (q->parent != NULL && q->parent->kind ==
	    MIME_KIND_MULTIPART && strcmp(q->parent->subtype, "digest") == 0) {
		q->type = xstrdup("message");
		q->subtype = xstrdup("rfc822");
	} else {
		q->type = xstrdup("text");
		q->subtype = xstrdup("plain");
	}
	if ((v = mime_param_get(q->params, q->nparams, "charset")) != NULL) {
		q->charset = xstrdup(v);
		mime_str_lower(q->charset);
	}
	/*
	 * A file name wherever a reader might look for one: filename or name,
	 * in Content-Disposition or Content-Type (RFC 2231 sections and
	 * RFC 2047 words are decoded by now).  A part with one is a file.
	 */
	if ((v = mime_param_get(q->dparams, q->ndparams, "filename")) !=
	    NULL || (v = mime_param_get(q->params, q->nparams, "name")) !=
	    NULL || (v = mime_param_get(q->dparams, q->ndparams, "name")) !=
	    NULL || (v = mime_param_get(q->params, q->nparams, "filename")) !=
	    NULL)
		q->filename = xstrdup(v);
	if (q->enc == MIME_ENC_UNKNOWN)
		q->flags |= MIME_F_BAD_ENCODING;
}

static int
enc_is_identity(enum mime_encoding e)
{
	return e == MIME_ENC_7BIT || e == MIME_ENC_8BIT ||
	    e == MIME_ENC_BINARY;
}

/* Decide what q is once its header is read: leaf, multipart, message. */
static void
part_kind(struct mime_parser *p, struct mime_part *q)
{
	struct mime_part *a, *child;
	const char	*b;

	q->kind = MIME_KIND_LEAF;
	p->state = PS_LEAF;
	if (strcmp(q->type, "multipart") == 0) {
		b = mime_param_get(q->params, q->nparams, "boundary");
		if (b == NULL || *b == '\0' || strlen(b) > 200) {
			q->flags |= MIME_F_NO_BOUNDARY;
			return;
		}
		if (!enc_is_identity(q->enc)) {
			q->flags |= MIME_F_BAD_ENCODING;
			return;
		}
		if (q->depth >= p->lim.max_depth) {
			q->flags |= MIME_F_DEPTH;
			return;
		}
		for (a = q->parent; a != NULL; a = a->parent)
			if (a->boundary != NULL &&
			    strcmp(a->boundary, b) == 0) {
				q->flags |= MIME_F_BOUNDARY_REUSE;
				return;
			}
		q->boundary = xstrdup(b);
		q->kind = MIME_KIND_MULTIPART;
		p->state = PS_MULTI;
		return;
	}
	if (strcmp(q->type, "message") == 0 &&
	    (strcmp(q->subtype, "rfc822") == 0 ||
	    strcmp(q->subtype, "global") == 0) && enc_is_identity(q->enc)) {
		if (q->depth >= p->lim.max_depth) {
			q->flags |= MIME_F_DEPTH;
			return;
		}
		if ((child = part_new(p, q, q->body_start)) == NULL)
			return;
		q->kind = MIME_KIND_MESSAGE;
		p->cur = child;
		p->state = PS_HEADER;
	}
}

/* The header of cur ends; its body starts at off with lf LFs before. */
static void
end_header(struct mime_parser *p, uint64_t off, uint64_t lf, int unterm)
{
	struct mime_part *q = p->cur;
	struct mime_field f;
	size_t		 pos = 0;
	int		 r, seen_ct = 0;

	q->body_start = off;
	p->info[q->index].lf0 = lf;
	if (unterm)
		q->flags |= MIME_F_HDR_UNTERMINATED;
	while ((r = mime_header_next(p->hdr.data, p->hdr.len, &pos, &f)) != 0) {
		if (r == -1)
			q->flags |= MIME_F_HDR_BAD_LINE;
		else
			header_field(p, q, &f, &seen_ct);
	}
	buf_reset(&p->hdr);
	part_defaults(q, seen_ct);
	if (p->cb.part_begin != NULL)
		p->cb.part_begin(q, p->arg);
	part_kind(p, q);
	if (p->state == PS_LEAF) {
		mime_decoder_init(&p->dec, q->enc);
		p->dec_size = 0;
	}
}

static void
hdr_add(struct mime_parser *p, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80) {
			p->cur->flags |= MIME_F_HDR_8BIT;
			break;
		}
	if ((p->cur->flags & MIME_F_HDR_TOO_LONG) == 0 &&
	    buf_add(&p->hdr, s, n) == -1)
		p->cur->flags |= MIME_F_HDR_TOO_LONG;
}

static void
body_emit(struct mime_parser *p, const char *s, size_t n)
{
	struct mime_part *q = p->cur;
	size_t		 i;

	if (p->state != PS_LEAF || n == 0)
		return;
	if (p->cb.body != NULL)
		p->cb.body(q, s, n, p->arg);
	if (q->enc == MIME_ENC_BASE64 || q->enc == MIME_ENC_QP)
		p->dec_size += mime_measure(&p->dec, s, n);
	else {
		p->dec_size += n;
		if (q->enc == MIME_ENC_7BIT &&
		    (q->flags & MIME_F_8BIT_BODY) == 0)
			for (i = 0; i < n; i++)
				if ((unsigned char)s[i] >= 0x80) {
					q->flags |= MIME_F_8BIT_BODY;
					break;
				}
	}
}

/* Close q at end: set its end, lines and flags. */
static void
part_close(struct mime_parser *p, struct mime_part *q, uint64_t end,
    uint64_t lf, int partial)
{
	struct pinfo	*pi = &p->info[q->index];

	if (end < q->body_start)
		end = q->body_start;
	q->body_end = end;
	q->body_lines = (lf > pi->lf0 ? lf - pi->lf0 : 0) +
	    (end > q->body_start && partial ? 1 : 0);
	if (q == p->cur && p->state == PS_LEAF) {
		if (q->enc == MIME_ENC_BASE64 || q->enc == MIME_ENC_QP) {
			p->dec_size += mime_measure_finish(&p->dec);
			if (p->dec.errors > 0)
				q->flags |= MIME_F_BAD_ENCODING;
		}
		q->decoded_size = p->dec_size;
	}
	if (q->kind == MIME_KIND_MULTIPART) {
		if (!pi->closed)
			q->flags |= MIME_F_NO_END_BOUNDARY;
		if (q->nchildren == 0)
			q->flags |= MIME_F_NO_PARTS;
	}
	p->flags |= q->flags;
	if (p->cb.part_end != NULL)
		p->cb.part_end(q, p->arg);
}

/* Header still open when its part must end: end it where we are. */
static void
force_headers(struct mime_parser *p, uint64_t at, uint64_t lf)
{
	while (p->state == PS_HEADER)
		end_header(p, at, lf, 1);
}

/* Close every part from cur up to, not including, stop. */
static void
close_to(struct mime_parser *p, struct mime_part *stop, uint64_t end,
    uint64_t lf, int partial)
{
	while (p->cur != stop) {
		part_close(p, p->cur, end, lf, partial);
		p->cur = p->cur->parent;
		p->state = PS_MULTI;	/* ancestors are containers */
	}
}

static int
boundary_match(const char *s, size_t n, const char *b, int *close)
{
	size_t	 blen = strlen(b), i;

	if (n < 2 + blen || memcmp(s + 2, b, blen) != 0)
		return 0;
	i = 2 + blen;
	*close = 0;
	if (n - i >= 2 && s[i] == '-' && s[i + 1] == '-') {
		*close = 1;
		i += 2;
	}
	while (i < n && mime_is_wsp((unsigned char)s[i]))
		i++;
	return i == n;
}

/* A whole line s[0..n) (clen without EOL) at off: is it a boundary? */
static int
boundary_line(struct mime_parser *p, const char *s, size_t clen, size_t n)
{
	struct mime_part *a, *q;
	uint64_t	 end, lf;
	int		 close = 0;

	if (clen < 3 || s[0] != '-' || s[1] != '-')
		return 0;
	for (a = p->cur; a != NULL; a = a->parent)
		if (a->kind == MIME_KIND_MULTIPART &&
		    boundary_match(s, clen, a->boundary, &close))
			break;
	if (a == NULL)
		return 0;
	force_headers(p, p->off, p->lf_total);
	end = p->off - p->npend;
	lf = p->lf_total - (p->npend > 0 ? 1 : 0);
	close_to(p, a, end, lf, p->prev_content);
	p->npend = 0;
	p->state = PS_MULTI;
	if (p->info[a->index].closed)
		return 1;	/* a delimiter in the epilogue: ignored */
	if (close) {
		p->info[a->index].closed = 1;
		return 1;
	}
	if ((q = part_new(p, a, p->off + n)) == NULL) {
		p->info[a->index].closed = 1;
		return 1;
	}
	p->cur = q;
	p->state = PS_HEADER;
	buf_reset(&p->hdr);
	return 1;
}

/* A piece of a line: the whole line or a part of a long one. */
static void
piece(struct mime_parser *p, const char *s, size_t n, int sol, int eol)
{
	size_t	 clen = n, elen = 0;

	if (sol) {
		p->linelen = 0;
		p->line_content = 0;
	}
	if (eol) {
		clen = n - 1;
		if (clen > 0 && s[clen - 1] == '\r')
			clen--;
		else
			p->cur->flags |= MIME_F_BARE_LF;
		elen = n - clen;
	}
	if (memchr(s, '\0', n) != NULL)
		p->cur->flags |= MIME_F_NUL;
	p->linelen += n;
	if (p->linelen > 1000)
		p->cur->flags |= MIME_F_LONG_LINE;
	if (clen > 0)
		p->line_content = 1;

	if (sol && eol && boundary_line(p, s, clen, n))
		goto done;
	switch (p->state) {
	case PS_HEADER:
		if (sol && eol && clen == 0)
			end_header(p, p->off + n, p->lf_total + 1, 0);
		else
			hdr_add(p, s, n);
		break;
	case PS_LEAF:
	case PS_MULTI:
		if (p->npend > 0) {
			body_emit(p, p->pend, p->npend);
			p->npend = 0;
		}
		body_emit(p, s, clen);
		if (elen > 0) {
			memcpy(p->pend, s + clen, elen);
			p->npend = elen;
		}
		break;
	}
done:
	p->off += n;
	p->last_eol = eol;
	if (eol) {
		p->lf_total++;
		p->prev_content = p->line_content;
	}
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	const char	*s = data, *nl;
	size_t		 take, room;

	if (p->finished)
		return;
	while (len > 0) {
		nl = memchr(s, '\n', len);
		take = nl != NULL ? (size_t)(nl - s) + 1 : len;
		if (p->line.len == 0 && nl != NULL && take <= MIME_LINE_MAX) {
			/* a whole line in the input: no copy */
			piece(p, s, take, p->sol, 1);
			p->sol = 1;
		} else if (p->line.len + take > MIME_LINE_MAX) {
			room = MIME_LINE_MAX - p->line.len;
			buf_add(&p->line, s, room);
			piece(p, p->line.data, p->line.len, p->sol, 0);
			p->sol = 0;
			buf_reset(&p->line);
			take = room;
		} else {
			buf_add(&p->line, s, take);
			if (nl != NULL) {
				piece(p, p->line.data, p->line.len, p->sol, 1);
				p->sol = 1;
				buf_reset(&p->line);
			}
		}
		s += take;
		len -= take;
	}
}

/* End of input: close whatever is open.  Returns every flag seen. */
unsigned int
mime_parser_finish(struct mime_parser *p)
{
	if (p->finished)
		return p->flags;
	if (p->line.len > 0) {
		piece(p, p->line.data, p->line.len, p->sol, 0);
		buf_reset(&p->line);
	}
	force_headers(p, p->off, p->lf_total);
	if (p->npend > 0) {
		/* the last EOL of the message belongs to the body */
		body_emit(p, p->pend, p->npend);
		p->npend = 0;
	}
	close_to(p, NULL, p->off, p->lf_total, !p->last_eol);
	p->finished = 1;
	return p->flags;
}

struct mime_part *
mime_parser_root(struct mime_parser *p)
{
	return p->parts[0];
}

struct mime_part *
mime_parser_part(struct mime_parser *p, unsigned int i)
{
	return i < p->nparts ? p->parts[i] : NULL;
}

unsigned int
mime_parser_nparts(const struct mime_parser *p)
{
	return p->nparts;
}

unsigned int
mime_parser_flags(const struct mime_parser *p)
{
	return p->flags;
}

static void
part_free(struct mime_part *q)
{
	free(q->type);
	free(q->subtype);
	mime_params_free(q->params, q->nparams);
	free(q->charset);
	free(q->boundary);
	free(q->enc_name);
	free(q->disposition);
	mime_params_free(q->dparams, q->ndparams);
	free(q->filename);
	free(q->id);
	free(q->description);
	free(q->language);
	free(q->location);
	free(q->md5);
	free(q);
}

void
mime_parser_free(struct mime_parser *p)
{
	unsigned int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nparts; i++)
		part_free(p->parts[i]);
	free(p->parts);
	free(p->info);
	buf_free(&p->line);
	buf_free(&p->hdr);
	free(p);
}

int
mime_part_is(const struct mime_part *q, const char *type, const char *sub)
{
	return q->type != NULL && strcmp(q->type, type) == 0 &&
	    (sub == NULL || strcmp(q->subtype, sub) == 0);
}

/*
 * The IMAP section number of q (RFC 3501 6.4.5), "1.2.3": a multipart's
 * children are numbered from 1; the body of a message/rfc822 part is
 * numbered like a message: its multipart has no number of its own, a
 * single-part body is ".1".  The top multipart is "" and a single-part
 * message's body is "1".
 */
void
mime_part_section(const struct mime_part *q, struct buf *out)
{
	const struct mime_part *k, *p = q->parent;
	unsigned int	 n = 1;

	if (p == NULL) {
		if (q->kind != MIME_KIND_MULTIPART)
			buf_addc(out, '1');
		return;
	}
	if (p->kind == MIME_KIND_MESSAGE) {
		mime_part_section(p, out);
		if (q->kind != MIME_KIND_MULTIPART)
			buf_addstr(out, ".1");
		return;
	}
	for (k = p->children; k != NULL && k != q; k = k->next)
		n++;
	mime_part_section(p, out);
	if (out->len > 0)
		buf_addc(out, '.');
	buf_printf(out, "%u", n);
}

const char *
mime_encoding_name(enum mime_encoding e)
{
	static const char *names[] = { "7bit", "8bit", "binary",
	    "quoted-printable", "base64", "x-unknown" };

	return (unsigned int)e < 6 ? names[e] : "x-unknown";
}

/* "no-end-boundary,bare-lf" for diagnostics. */
void
mime_flags_str(unsigned int flags, struct buf *out)
{
	static const char *names[] = { "no-end-boundary", "no-boundary",
	    "boundary-reuse", "no-parts", "hdr-unterminated", "hdr-too-long",
	    "hdr-8bit", "hdr-bad-line", "hdr-dup", "bad-type",
	    "bad-encoding", "bad-param", "bare-lf", "nul", "long-line",
	    "depth", "too-many-parts", "8bit-body", "ambiguous" };
	size_t	 i;
	int	 first = 1;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & (1u << i)) {
			buf_printf(out, "%s%s", first ? "" : ",", names[i]);
			first = 0;
		}
}
