/*
 * mime.c - streaming MIME parser, header decoding and codecs; see mime.h.
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
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "mime.h"
#include "xmalloc.h"

#define MIME_LINE_MAX	1024	/* longer lines are never boundaries */
#define MIME_PARAM_MAX	32	/* parameters kept per field */
#define MIME_SECT_MAX	64	/* RFC 2231 sections per parameter */
#define MIME_VALUE_MAX	4096	/* bytes of one decoded parameter */

/* ---------------------------------------------------------------------
 * Character sets
 */

static void
utf8_put(struct buf *out, unsigned long cp)
{
	unsigned char	 s[4];

	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_addc(out, (int)cp);
	} else if (cp < 0x800) {
		s[0] = 0xc0 | (cp >> 6);
		s[1] = 0x80 | (cp & 0x3f);
		buf_add(out, s, 2);
	} else if (cp < 0x10000) {
		s[0] = 0xe0 | (cp >> 12);
		s[1] = 0x80 | ((cp >> 6) & 0x3f);
		s[2] = 0x80 | (cp & 0x3f);
		buf_add(out, s, 3);
	} else if (cp < 0x110000) {
		s[0] = 0xf0 | (cp >> 18);
		s[1] = 0x80 | ((cp >> 12) & 0x3f);
		s[2] = 0x80 | ((cp >> 6) & 0x3f);
		s[3] = 0x80 | (cp & 0x3f);
		buf_add(out, s, 4);
	} else
		utf8_put(out, 0xfffd);
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t
utf8_valid(const unsigned char *s, size_t n)
{
	unsigned long	 cp;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void
utf8_copy_valid(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t		 i, n;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_valid(s + i, len - i)) == 0) {
			utf8_put(out, 0xfffd);
			n = 1;
		} else if (s[i] != '\0')
			buf_add(out, s + i, n);
	}
}

/* Windows-1252 0x80-0x9f; 0 where undefined. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

static int
charset_is(const char *cs, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcasecmp(cs, *names) == 0)
			return 1;
	return 0;
}

static void
iconv_to_utf8(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	char	 tmp[1024], *ip = (char *)(uintptr_t)in, *op;
	size_t	 il = len, ol, r;

	while (il > 0) {
		op = tmp;
		ol = sizeof(tmp);
		r = iconv(cd, &ip, &il, &op, &ol);
		if (op > tmp)
			utf8_copy_valid(tmp, (size_t)(op - tmp), out);
		if (r == (size_t)-1 && errno != E2BIG) {
			/* EILSEQ or EINVAL: replace one byte, go on */
			utf8_put(out, 0xfffd);
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
}

/*
 * Convert len bytes in charset to UTF-8, appending to out.  Anything that
 * does not convert becomes U+FFFD; NUL bytes are dropped.  An unknown
 * charset is read as UTF-8.
 */
void
mime_to_utf8(const char *charset, const char *in, size_t len,
    struct buf *out)
{
	static const char *const latin1[] = { "iso-8859-1", "iso8859-1",
	    "latin1", "l1", "iso_8859-1", "iso-ir-100", "cp819", NULL };
	static const char *const cp1252[] = { "windows-1252", "cp1252",
	    "x-cp1252", NULL };
	const unsigned char *s = (const unsigned char *)in;
	char		 name[64];
	const char	*star;
	size_t		 i, n;
	iconv_t		 cd;

	if (charset == NULL)
		charset = "";
	/* RFC 2231 language suffix: charset*lang */
	n = (star = strchr(charset, '*')) != NULL ?
	    (size_t)(star - charset) : strlen(charset);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, charset, n);
	name[n] = '\0';

	if (charset_is(name, latin1) || charset_is(name, cp1252)) {
		int	 win = charset_is(name, cp1252);

		for (i = 0; i < len; i++) {
			if (s[i] == 0)
				continue;
			if (win && s[i] >= 0x80 && s[i] < 0xa0)
				utf8_put(out, cp1252_hi[s[i] - 0x80] ?
				    cp1252_hi[s[i] - 0x80] : 0xfffd);
			else
				utf8_put(out, s[i]);
		}
		return;
	}
	if (name[0] == '\0' || strcasecmp(name, "utf-8") == 0 ||
	    strcasecmp(name, "utf8") == 0 ||
	    strcasecmp(name, "us-ascii") == 0 ||
	    strcasecmp(name, "ascii") == 0) {
		utf8_copy_valid(in, len, out);
		return;
	}
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1) {
		utf8_copy_valid(in, len, out);
		return;
	}
	iconv_to_utf8(cd, in, len, out);
	iconv_close(cd);
}

/* ---------------------------------------------------------------------
 * Header fields
 */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next field of a header at *pos.  Returns 1 with *f set, 0 at the end
 * of the header, -1 for a line that is not a field (skipped, *pos past it).
 */
int
mime_header_next(const char *h, size_t len, size_t *pos, struct mime_field *f)
{
	size_t	 i = *pos, end, colon, nl;
	const char *p;

	if (i >= len)
		return 0;
	if (h[i] == '\n' || (h[i] == '\r' && i + 1 < len && h[i + 1] == '\n'))
		return 0;
	/* find the end of the field: an EOL not followed by WSP */
	end = i;
	for (;;) {
		p = memchr(h + end, '\n', len - end);
		if (p == NULL) {
			end = len;
			break;
		}
		nl = (size_t)(p - h);
		end = nl + 1;
		if (end >= len || !is_wsp((unsigned char)h[end]))
			break;
	}
	*pos = end;
	memset(f, 0, sizeof(*f));
	f->start = i;
	f->end = end;
	for (colon = i; colon < end; colon++) {
		unsigned char c = h[colon];

		if (c == ':' || c <= 32 || c >= 127)
			break;
	}
	f->namelen = colon - i;
	/* obsolete syntax: WSP between name and colon */
	while (colon < end && is_wsp((unsigned char)h[colon]))
		colon++;
	if (f->namelen == 0 || colon >= end || h[colon] != ':')
		return -1;
	f->name = h + i;
	colon++;
	while (colon < end && is_wsp((unsigned char)h[colon]))
		colon++;
	/* value without the final EOL */
	while (end > colon && (h[end - 1] == '\n' || h[end - 1] == '\r'))
		end--;
	f->value = h + colon;
	f->valuelen = end - colon;
	return 1;
}

int
mime_field_is(const struct mime_field *f, const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(f->name, name, f->namelen) == 0;
}

/* Remove the CR/LF of folds; the WSP after them stays. */
void
mime_unfold(const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			buf_addc(out, s[i]);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the text of one encoded word (RFC 2047 4.1, 4.2) into raw bytes.
 * Returns -1 if it is not valid.
 */
static int
ew_decode(int enc, const char *t, size_t n, struct buf *raw)
{
	struct mime_decoder d;
	size_t	 i;
	int	 h1, h2;

	if (enc == 'b' || enc == 'B') {
		mime_decoder_init(&d, MIME_ENC_BASE64);
		mime_decode(&d, t, n, raw);
		mime_decode_finish(&d, raw);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (t[i] == '_')
			buf_addc(raw, ' ');
		else if (t[i] == '=' && i + 2 < n &&
		    (h1 = hexval(t[i + 1])) >= 0 &&
		    (h2 = hexval(t[i + 2])) >= 0) {
			buf_addc(raw, h1 * 16 + h2);
			i += 2;
		} else
			buf_addc(raw, t[i]);
	}
	return 0;
}

/*
 * Is there an encoded word "=?cs?e?text?=" at s[0..n)?  Sets the pieces
 * and returns its length, or 0.
 */
static size_t
ew_find(const char *s, size_t n, char *cs, size_t cslen, int *enc,
    const char **text, size_t *textlen)
{
	size_t	 i, c0, q2, t0;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	c0 = 2;
	for (i = c0; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return 0;
	if (i == c0 || i >= n || i - c0 >= cslen)
		return 0;
	memcpy(cs, s + c0, i - c0);
	cs[i - c0] = '\0';
	q2 = i + 1;
	if (q2 + 2 >= n || s[q2 + 1] != '?')
		return 0;
	if (strchr("bBqQ", s[q2]) == NULL)
		return 0;
	*enc = s[q2];
	t0 = q2 + 2;
	for (i = t0; i + 1 < n; i++) {
		if (s[i] == '?' && s[i + 1] == '=') {
			*text = s + t0;
			*textlen = i - t0;
			return i + 2;
		}
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return 0;
	}
	return 0;
}

/*
 * Unfold a header value and decode RFC 2047 encoded words to UTF-8.
 * Whitespace between adjacent encoded words is dropped; adjacent words in
 * one charset are joined before conversion so a character split between
 * them survives.  Bare 8-bit text is read as UTF-8 (RFC 6532).
 */
void
mime_header_decode(const char *in, size_t inlen, struct buf *out)
{
	struct buf	 u, raw;
	char		 cs[64], pcs[64] = "";
	const char	*s, *text = NULL;
	size_t		 n, i, wl, textlen = 0, j;
	int		 enc = 0, prev_ew = 0;

	buf_init(&u, 0);
	buf_init(&raw, 0);
	mime_unfold(in, inlen, &u);
	s = u.data != NULL ? u.data : "";
	n = u.len;
	for (i = 0; i < n; ) {
		wl = ew_find(s + i, n - i, cs, sizeof(cs), &enc, &text,
		    &textlen);
		if (wl > 0) {
			if (!prev_ew || strcasecmp(cs, pcs) != 0) {
				if (raw.len > 0)
					mime_to_utf8(pcs, raw.data, raw.len,
					    out);
				buf_reset(&raw);
			}
			ew_decode(enc, text, textlen, &raw);
			snprintf(pcs, sizeof(pcs), "%s", cs);
			prev_ew = 1;
			i += wl;
			continue;
		}
		if (prev_ew && is_wsp((unsigned char)s[i])) {
			/* whitespace after a word: keep only if text follows */
			for (j = i; j < n && is_wsp((unsigned char)s[j]); j++)
				;
			if (j < n && ew_find(s + j, n - j, cs, sizeof(cs),
			    &enc, &text, &textlen) > 0) {
				i = j;
				continue;
			}
		}
		if (raw.len > 0) {
			mime_to_utf8(pcs, raw.data, raw.len, out);
			buf_reset(&raw);
		}
		prev_ew = 0;
		/* plain text up to the next "=?" */
		for (j = i + 1; j < n && !(s[j] == '=' && j + 1 < n &&
		    s[j + 1] == '?') && !is_wsp((unsigned char)s[j]); j++)
			;
		if (j < n && is_wsp((unsigned char)s[j]))
			j++;
		utf8_copy_valid(s + i, j - i, out);
		i = j;
	}
	if (raw.len > 0)
		mime_to_utf8(pcs, raw.data, raw.len, out);
	buf_free(&u);
	buf_free(&raw);
}

/* ---------------------------------------------------------------------
 * Structured fields: Content-Type and Content-Disposition (RFC 2045,
 * RFC 2183) with RFC 2231 parameters.
 */

struct lex {
	const char	*s;
	size_t		 n;
	size_t		 i;
};

static void
lex_cfws(struct lex *l)
{
	int	 depth;

	while (l->i < l->n) {
		unsigned char c = l->s[l->i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->i++;
			continue;
		}
		if (c != '(')
			break;
		depth = 0;
		for (; l->i < l->n; l->i++) {
			c = l->s[l->i];
			if (c == '\\' && l->i + 1 < l->n)
				l->i++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0) {
				l->i++;
				break;
			}
		}
	}
}

static int
is_tspecial(int c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int
is_token_char(int c)
{
	return c > 32 && c < 127 && !is_tspecial(c);
}

/* A token into b; 0 if there is none. */
static int
lex_token(struct lex *l, struct buf *b)
{
	size_t	 i0 = l->i;

	while (l->i < l->n && is_token_char((unsigned char)l->s[l->i]))
		l->i++;
	buf_add(b, l->s + i0, l->i - i0);
	return l->i > i0;
}

/* A quoted string (at '"') into b; -1 if unterminated (rest taken). */
static int
lex_quoted(struct lex *l, struct buf *b)
{
	l->i++;
	while (l->i < l->n) {
		char c = l->s[l->i++];

		if (c == '"')
			return 0;
		if (c == '\\' && l->i < l->n)
			c = l->s[l->i++];
		if (c != '\r' && c != '\n')
			buf_addc(b, c);
	}
	return -1;
}

static void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

struct rawparam {
	char	*name;		/* lowercase, as written (with '*') */
	char	*value;
	int	 quoted;
};

/* Parameters after the value; returns -1 if anything was malformed. */
static int
lex_params(struct lex *l, struct rawparam *rp, size_t *nrp)
{
	struct buf	 name, val;
	int		 bad = 0, quoted;
	size_t		 vstart, vend;

	buf_init(&name, 256);
	buf_init(&val, MIME_VALUE_MAX);
	*nrp = 0;
	for (;;) {
		lex_cfws(l);
		if (l->i >= l->n)
			break;
		if (l->s[l->i] != ';') {
			bad = 1;
			/* junk: skip to the next ';' */
			while (l->i < l->n && l->s[l->i] != ';')
				l->i++;
			continue;
		}
		l->i++;
		lex_cfws(l);
		if (l->i >= l->n)
			break;
		buf_reset(&name);
		buf_reset(&val);
		if (!lex_token(l, &name)) {
			bad = 1;
			continue;
		}
		lex_cfws(l);
		if (l->i >= l->n || l->s[l->i] != '=') {
			bad = 1;
			continue;
		}
		l->i++;
		lex_cfws(l);
		quoted = 0;
		if (l->i < l->n && l->s[l->i] == '"') {
			quoted = 1;
			if (lex_quoted(l, &val) == -1)
				bad = 1;
		} else {
			lex_token(l, &val);
			vstart = l->i;
			lex_cfws(l);
			if (l->i < l->n && l->s[l->i] != ';') {
				/* unquoted spaces: the value runs to ';' */
				for (vend = vstart; vend < l->n &&
				    l->s[vend] != ';'; vend++)
					;
				while (vend > vstart && isspace((unsigned char)
				    l->s[vend - 1]))
					vend--;
				bad = 1;
				buf_add(&val, l->s + vstart, vend - vstart);
				while (l->i < l->n && l->s[l->i] != ';')
					l->i++;
			}
		}
		if (*nrp >= MIME_PARAM_MAX) {
			bad = 1;
			continue;
		}
		rp[*nrp].name = xstrdup(buf_cstr(&name));
		str_lower(rp[*nrp].name);
		rp[*nrp].value = xstrndup(buf_cstr(&val), val.len);
		rp[*nrp].quoted = quoted;
		(*nrp)++;
	}
	buf_free(&name);
	buf_free(&val);
	return bad ? -1 : 0;
}

/* "%xx" decoding of an RFC 2231 extended value. */
static void
pct_decode(const char *s, struct buf *out)
{
	int	 h1, h2;

	for (; *s != '\0'; s++) {
		if (*s == '%' && (h1 = hexval(s[1])) >= 0 &&
		    (h2 = hexval(s[2])) >= 0) {
			buf_addc(out, h1 * 16 + h2);
			s += 2;
		} else
			buf_addc(out, *s);
	}
}

/*
 * Split an RFC 2231 name: "name", "name*", "name*N", "name*N*".  Returns
 * the base length; *sect is -1 without a section, *ext 1 if extended.
 */
static size_t
rfc2231_split(const char *name, int *sect, int *ext)
{
	const char	*st = strchr(name, '*');
	size_t		 base;
	char		*end;
	long		 v;

	*sect = -1;
	*ext = 0;
	if (st == NULL)
		return strlen(name);
	base = (size_t)(st - name);
	if (st[1] == '\0') {
		*ext = 1;
		return base;
	}
	if (!isdigit((unsigned char)st[1]))
		return strlen(name);
	v = strtol(st + 1, &end, 10);
	if (*end == '*' && end[1] == '\0')
		*ext = 1;
	else if (*end != '\0')
		return strlen(name);
	if (v < 0 || v >= MIME_SECT_MAX || (st[1] == '0' && st[2] != '*' &&
	    st[2] != '\0'))
		return strlen(name);
	*sect = (int)v;
	return base;
}

/*
 * Do readers disagree on the parameters?  A name given twice, one RFC 2231
 * section given twice, or one name in two forms (plain and extended, or
 * plain and sectioned): RFC 2231 says which form wins, but mail readers
 * differ, so the value a reader shows cannot be known.  1 if so.
 */
static int
params_ambiguous(struct rawparam *rp, size_t nrp)
{
	size_t	 i, j, bi, bj;
	int	 si, sj, ei, ej;

	for (i = 0; i < nrp; i++) {
		bi = rfc2231_split(rp[i].name, &si, &ei);
		for (j = i + 1; j < nrp; j++) {
			bj = rfc2231_split(rp[j].name, &sj, &ej);
			if (bi != bj || strncmp(rp[i].name, rp[j].name, bi) != 0)
				continue;
			if (si >= 0 && sj >= 0 && si != sj)
				continue;	/* continuation sections */
			return 1;
		}
	}
	return 0;
}

/* Join RFC 2231 sections and decode every value to UTF-8. */
static void
params_assemble(struct rawparam *rp, size_t nrp, struct mime_param **pp,
    size_t *np)
{
	struct mime_param *out;
	struct buf	 bytes, v;
	char		 charset[64];
	size_t		 i, j, base, bj, n = 0;
	int		 sect, ext, sj, ej, s, found;
	const char	*val, *q1, *q2;

	out = xcalloc(nrp + 1, sizeof(*out));
	buf_init(&bytes, MIME_VALUE_MAX);
	buf_init(&v, 0);
	for (i = 0; i < nrp; i++) {
		base = rfc2231_split(rp[i].name, &sect, &ext);
		/* only the first occurrence of a base name is assembled */
		for (j = 0; j < n; j++)
			if (strlen(out[j].name) == base &&
			    strncmp(out[j].name, rp[i].name, base) == 0)
				break;
		if (j < n)
			continue;
		buf_reset(&bytes);
		buf_reset(&v);
		charset[0] = '\0';
		if (sect == -1 && !ext) {
			/* a plain value; prefer an extended one if present */
			for (j = i + 1; j < nrp; j++) {
				bj = rfc2231_split(rp[j].name, &sj, &ej);
				if (bj == base && strncmp(rp[j].name,
				    rp[i].name, base) == 0 && (ej || sj >= 0))
					break;
			}
			if (j < nrp)
				continue;
			mime_header_decode(rp[i].value, strlen(rp[i].value),
			    &v);
		} else {
			for (s = sect == -1 ? -1 : 0; s < MIME_SECT_MAX; s++) {
				found = 0;
				for (j = i; j < nrp; j++) {
					bj = rfc2231_split(rp[j].name, &sj,
					    &ej);
					if (bj != base || strncmp(rp[j].name,
					    rp[i].name, base) != 0 || sj != s)
						continue;
					found = 1;
					val = rp[j].value;
					if (ej && s <= 0 && (q1 = strchr(val,
					    '\'')) != NULL && (q2 = strchr(q1 +
					    1, '\'')) != NULL) {
						snprintf(charset,
						    sizeof(charset), "%.*s",
						    (int)(q1 - val), val);
						val = q2 + 1;
					}
					if (ej)
						pct_decode(val, &bytes);
					else
						buf_addstr(&bytes, val);
					break;
				}
				if (!found || s == -1)
					break;
			}
			mime_to_utf8(charset, buf_cstr(&bytes), bytes.len,
			    &v);
		}
		out[n].name = xstrndup(rp[i].name, base);
		out[n].value = xstrdup(buf_cstr(&v));
		n++;
	}
	buf_free(&bytes);
	buf_free(&v);
	*pp = out;
	*np = n;
}

static void
rawparams_free(struct rawparam *rp, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rp[i].name);
		free(rp[i].value);
	}
}

void
mime_params_free(struct mime_param *p, size_t n)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

const char *
mime_param_get(const struct mime_param *p, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

/*
 * Content-Type value -> lowercase type and subtype and parameters.
 * Returns -1 if the type is not usable (nothing is returned then), else
 * the MIME_PARAMS_* bits: MIME_PARAMS_BAD if parameters were malformed,
 * MIME_PARAMS_DUP if a parameter was given more than once (see
 * params_ambiguous); 0 when all is well.
 */
int
mime_parse_content_type(const char *s, size_t n, char **type_r,
    char **subtype_r, struct mime_param **p_r, size_t *np_r)
{
	struct lex	 l = { s, n, 0 };
	struct buf	 t, st;
	struct rawparam	 rp[MIME_PARAM_MAX];
	size_t		 nrp;
	int		 r;

	buf_init(&t, 128);
	buf_init(&st, 128);
	lex_cfws(&l);
	if (!lex_token(&l, &t) || (lex_cfws(&l), l.i >= l.n) ||
	    l.s[l.i] != '/' || (l.i++, lex_cfws(&l), !lex_token(&l, &st))) {
		buf_free(&t);
		buf_free(&st);
		return -1;
	}
	r = lex_params(&l, rp, &nrp) == -1 ? MIME_PARAMS_BAD : 0;
	if (params_ambiguous(rp, nrp))
		r |= MIME_PARAMS_DUP;
	*type_r = xstrdup(buf_cstr(&t));
	*subtype_r = xstrdup(buf_cstr(&st));
	str_lower(*type_r);
	str_lower(*subtype_r);
	params_assemble(rp, nrp, p_r, np_r);
	rawparams_free(rp, nrp);
	buf_free(&t);
	buf_free(&st);
	return r;
}

/* Content-Disposition (RFC 2183); same returns as above. */
int
mime_parse_disposition(const char *s, size_t n, char **disp_r,
    struct mime_param **p_r, size_t *np_r)
{
	struct lex	 l = { s, n, 0 };
	struct buf	 d;
	struct rawparam	 rp[MIME_PARAM_MAX];
	size_t		 nrp;
	int		 r;

	buf_init(&d, 128);
	lex_cfws(&l);
	if (!lex_token(&l, &d)) {
		buf_free(&d);
		return -1;
	}
	r = lex_params(&l, rp, &nrp) == -1 ? MIME_PARAMS_BAD : 0;
	if (params_ambiguous(rp, nrp))
		r |= MIME_PARAMS_DUP;
	*disp_r = xstrdup(buf_cstr(&d));
	str_lower(*disp_r);
	params_assemble(rp, nrp, p_r, np_r);
	rawparams_free(rp, nrp);
	buf_free(&d);
	return r;
}

/* ---------------------------------------------------------------------
 * Codecs
 */

const char mime_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of one base64 character, or -1 (RFC 4648 alphabet). */
int
mime_b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum { QP_TEXT, QP_CR, QP_EQ, QP_EQ_HEX, QP_EQ_CR, QP_EQ_WS };

void
mime_decoder_init(struct mime_decoder *d, enum mime_encoding enc)
{
	memset(d, 0, sizeof(*d));
	d->enc = enc;
}

static void
b64_flush(struct mime_decoder *d, struct buf *out)
{
	unsigned char	 o[3];
	unsigned long	 v = 0;
	size_t		 i;

	for (i = 0; i < 4; i++)
		v = (v << 6) | (i < d->nhold ? d->hold[i] : 0);
	o[0] = (v >> 16) & 0xff;
	o[1] = (v >> 8) & 0xff;
	o[2] = v & 0xff;
	if (d->nhold >= 2)
		buf_add(out, o, d->nhold - 1);
	d->nhold = 0;
}

static void
b64_decode(struct mime_decoder *d, const unsigned char *s, size_t n,
    struct buf *out)
{
	size_t	 i;
	int	 v;

	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (d->nhold >= 2) {
				b64_flush(d, out);
				d->ended = 1;
			} else if (!(d->nhold == 0 && d->ended))
				d->errors++;
			continue;
		}
		if ((v = mime_b64_value(s[i])) < 0) {
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
			    s[i] != '\n')
				d->errors++;
			continue;
		}
		if (d->ended) {
			/* data after padding: concatenated encodings */
			d->errors++;
			d->ended = 0;
		}
		d->hold[d->nhold++] = (unsigned char)v;
		if (d->nhold == 4) {
			unsigned char o[3];

			o[0] = (d->hold[0] << 2) | (d->hold[1] >> 4);
			o[1] = (d->hold[1] << 4) | (d->hold[2] >> 2);
			o[2] = (d->hold[2] << 6) | d->hold[3];
			buf_add(out, o, 3);
			d->nhold = 0;
		}
	}
}

static void
qp_flush_ws(struct mime_decoder *d, struct buf *out)
{
	buf_add(out, d->ws, d->nws);
	d->nws = 0;
}

static void
qp_decode_byte(struct mime_decoder *d, unsigned char c, struct buf *out)
{
	int	 h;

again:
	switch (d->state) {
	case QP_TEXT:
		if (c == '=') {
			qp_flush_ws(d, out);
			d->state = QP_EQ;
		} else if (c == ' ' || c == '\t') {
			if (d->nws == sizeof(d->ws))
				qp_flush_ws(d, out);
			d->ws[d->nws++] = c;
		} else if (c == '\r') {
			d->state = QP_CR;
		} else if (c == '\n') {
			d->nws = 0;	/* trailing whitespace is dropped */
			buf_add(out, "\r\n", 2);
		} else {
			qp_flush_ws(d, out);
			buf_addc(out, c);
		}
		break;
	case QP_CR:
		d->state = QP_TEXT;
		if (c == '\n') {
			d->nws = 0;
			buf_add(out, "\r\n", 2);
			break;
		}
		qp_flush_ws(d, out);
		buf_addc(out, '\r');
		goto again;
	case QP_EQ:
		if ((h = hexval(c)) >= 0) {
			d->hold[0] = (unsigned char)h;
			d->hold[1] = c;
			d->state = QP_EQ_HEX;
		} else if (c == '\r')
			d->state = QP_EQ_CR;
		else if (c == '\n')
			d->state = QP_TEXT;
		else if (c == ' ' || c == '\t')
			d->state = QP_EQ_WS;
		else {
			d->errors++;
			buf_addc(out, '=');
			d->state = QP_TEXT;
			goto again;
		}
		break;
	case QP_EQ_HEX:
		d->state = QP_TEXT;
		if ((h = hexval(c)) >= 0) {
			buf_addc(out, d->hold[0] * 16 + h);
			break;
		}
		d->errors++;
		buf_addc(out, '=');
		buf_addc(out, d->hold[1]);
		goto again;
	case QP_EQ_CR:
		d->state = QP_TEXT;
		if (c == '\n')
			break;
		d->errors++;
		goto again;
	case QP_EQ_WS:
		if (c == ' ' || c == '\t')
			break;
		if (c == '\r') {
			d->state = QP_EQ_CR;
			break;
		}
		d->state = QP_TEXT;
		if (c == '\n')
			break;
		d->errors++;
		buf_addc(out, '=');
		goto again;
	}
}

/* Decode a chunk; errors are counted in d->errors, never fatal. */
void
mime_decode(struct mime_decoder *d, const void *in, size_t n,
    struct buf *out)
{
	const unsigned char *s = in;
	size_t	 i;

	switch (d->enc) {
	case MIME_ENC_BASE64:
		b64_decode(d, s, n, out);
		break;
	case MIME_ENC_QP:
		for (i = 0; i < n; i++)
			qp_decode_byte(d, s[i], out);
		break;
	default:
		buf_add(out, in, n);
		break;
	}
}

void
mime_decode_finish(struct mime_decoder *d, struct buf *out)
{
	if (d->enc == MIME_ENC_BASE64) {
		if (d->nhold == 1)
			d->errors++;
		else if (d->nhold > 1) {
			d->errors++;	/* missing padding */
			b64_flush(d, out);
		}
	} else if (d->enc == MIME_ENC_QP) {
		switch (d->state) {
		case QP_CR:
			buf_addc(out, '\r');
			break;
		case QP_EQ_HEX:
			d->errors++;
			buf_addc(out, '=');
			buf_addc(out, d->hold[1]);
			break;
		default:
			break;
		}
		d->nws = 0;
	}
	d->state = QP_TEXT;
	d->nhold = 0;
}

void
mime_encoder_init(struct mime_encoder *e, enum mime_encoding enc)
{
	memset(e, 0, sizeof(*e));
	e->enc = enc;
}

static void
qp_put(struct mime_encoder *e, unsigned char c, int literal,
    struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 len = literal ? 1 : 3;

	if (e->col + len > 75) {
		buf_add(out, "=\r\n", 3);
		e->col = 0;
	}
	if (literal)
		buf_addc(out, c);
	else {
		buf_addc(out, '=');
		buf_addc(out, hex[c >> 4]);
		buf_addc(out, hex[c & 15]);
	}
	e->col += len;
}

static void
qp_hard_break(struct mime_encoder *e, struct buf *out)
{
	if (e->pending_ws) {
		qp_put(e, (unsigned char)e->pending_ws, 0, out);
		e->pending_ws = 0;
	}
	buf_add(out, "\r\n", 2);
	e->col = 0;
}

static void
qp_encode_byte(struct mime_encoder *e, unsigned char c, struct buf *out)
{
	if (e->pending_cr) {
		e->pending_cr = 0;
		if (c == '\n') {
			qp_hard_break(e, out);
			return;
		}
		if (e->pending_ws) {
			qp_put(e, (unsigned char)e->pending_ws, 1, out);
			e->pending_ws = 0;
		}
		qp_put(e, '\r', 0, out);
	}
	if (c == '\r') {
		e->pending_cr = 1;
		return;
	}
	if (c == '\n') {
		qp_hard_break(e, out);
		return;
	}
	if (e->pending_ws) {
		qp_put(e, (unsigned char)e->pending_ws, 1, out);
		e->pending_ws = 0;
	}
	if (c == ' ' || c == '\t') {
		e->pending_ws = c;
		return;
	}
	/* '-' and '.' at a line start are encoded too: no boundary or
	 * SMTP dot can ever be formed by encoded text */
	qp_put(e, c, c >= 33 && c <= 126 && c != '=' &&
	    !(e->col == 0 && (c == '-' || c == '.')), out);
}

static void
b64_encode_quantum(struct mime_encoder *e, struct buf *out)
{
	unsigned char	*h = e->hold;
	char		 o[4];

	if (e->col >= 76) {
		buf_add(out, "\r\n", 2);
		e->col = 0;
	}
	o[0] = mime_b64_alphabet[h[0] >> 2];
	o[1] = mime_b64_alphabet[((h[0] & 3) << 4) | (e->nhold > 1 ? h[1] >> 4 : 0)];
	o[2] = e->nhold > 1 ? mime_b64_alphabet[((h[1] & 15) << 2) |
	    (e->nhold > 2 ? h[2] >> 6 : 0)] : '=';
	o[3] = e->nhold > 2 ? mime_b64_alphabet[h[2] & 63] : '=';
	buf_add(out, o, 4);
	e->col += 4;
	e->nhold = 0;
}

/* Encode a chunk: lines of at most 76 characters, CRLF between them. */
void
mime_encode(struct mime_encoder *e, const void *in, size_t n,
    struct buf *out)
{
	const unsigned char *s = in;
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (e->enc) {
		case MIME_ENC_BASE64:
			e->hold[e->nhold++] = s[i];
			if (e->nhold == 3)
				b64_encode_quantum(e, out);
			break;
		case MIME_ENC_QP:
			qp_encode_byte(e, s[i], out);
			break;
		default:
			buf_addc(out, s[i]);
			break;
		}
	}
}

/* Flush what is held; no final CRLF is added. */
void
mime_encode_finish(struct mime_encoder *e, struct buf *out)
{
	if (e->enc == MIME_ENC_BASE64) {
		if (e->nhold > 0)
			b64_encode_quantum(e, out);
	} else if (e->enc == MIME_ENC_QP) {
		if (e->pending_cr) {
			if (e->pending_ws) {
				qp_put(e, (unsigned char)e->pending_ws, 1,
				    out);
				e->pending_ws = 0;
			}
			qp_put(e, '\r', 0, out);
		}
		if (e->pending_ws)
			qp_put(e, (unsigned char)e->pending_ws, 0, out);
	}
	e->pending_cr = e->pending_ws = 0;
	e->nhold = 0;
	e->col = 0;
}

/* ---------------------------------------------------------------------
 * The parser
 */

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
	struct mime_decoder	 dec;		/* checks the leaf's encoding */
	struct buf		 scratch;
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
	buf_init(&p->scratch, 0);
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
	while (n > 0 && is_wsp((unsigned char)b.data[n - 1]))
		n--;
	buf_truncate(&b, n);
	s = buf_steal(&b);
	return s;
}

static enum mime_encoding
cte_parse(const char *v, size_t n, char **name_r)
{
	static const struct {
		const char		*name;
		enum mime_encoding	 enc;
	} tab[] = {
		{ "7bit", MIME_ENC_7BIT },
		{ "8bit", MIME_ENC_8BIT },
		{ "binary", MIME_ENC_BINARY },
		{ "quoted-printable", MIME_ENC_QP },
		{ "base64", MIME_ENC_BASE64 },
	};
	struct lex	 l = { v, n, 0 };
	struct buf	 t;
	size_t		 i;
	enum mime_encoding enc = MIME_ENC_UNKNOWN;

	buf_init(&t, 128);
	lex_cfws(&l);
	lex_token(&l, &t);
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(buf_cstr(&t), tab[i].name) == 0)
			enc = tab[i].enc;
	*name_r = xstrdup(buf_cstr(&t));
	str_lower(*name_r);
	buf_free(&t);
	return enc;
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
			q->enc = cte_parse(buf_cstr(&u), u.len, &q->enc_name);
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
		str_lower(q->charset);
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
	if (q->enc == MIME_ENC_BASE64 || q->enc == MIME_ENC_QP) {
		mime_decode(&p->dec, s, n, &p->scratch);
		p->dec_size += p->scratch.len;
		buf_reset(&p->scratch);
	} else {
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
			mime_decode_finish(&p->dec, &p->scratch);
			p->dec_size += p->scratch.len;
			buf_reset(&p->scratch);
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
	while (i < n && is_wsp((unsigned char)s[i]))
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
	buf_free(&p->scratch);
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
