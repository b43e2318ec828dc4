/*
 * mime_param.c - structured Content-* fields: Content-Type and
 * Content-Disposition (RFC 2045, RFC 2183) with their parameters, RFC 2231
 * sections and charsets included, and Content-Transfer-Encoding; see
 * mime.h.
 *
 * Every parameter value comes out as UTF-8 (common/utf8).  A parameter
 * list that readers could take differently (a name given twice, two forms
 * of one name, junk between parameters) is reported, never resolved
 * silently.  Called by the parser on hostile input; no privileges, and
 * memory bounded by MIME_PARAM_MAX parameters of MIME_VALUE_MAX bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "mime_int.h"
#include "utf8.h"
#include "xmalloc.h"

#define MIME_PARAM_MAX	32	/* parameters kept per field */
#define MIME_SECT_MAX	64	/* RFC 2231 sections per parameter */
#define MIME_VALUE_MAX	4096	/* bytes of one decoded parameter */

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

void
mime_str_lower(char *s)
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
		mime_str_lower(rp[*nrp].name);
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
		if (*s == '%' && (h1 = mime_hexval(s[1])) >= 0 &&
		    (h2 = mime_hexval(s[2])) >= 0) {
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
			if (bi != bj ||
			    strncmp(rp[i].name, rp[j].name, bi) != 0)
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
			(void)utf8_from_charset(charset, buf_cstr(&bytes),
			    bytes.len, 0, &v);
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
	mime_str_lower(*type_r);
	mime_str_lower(*subtype_r);
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
	mime_str_lower(*disp_r);
	params_assemble(rp, nrp, p_r, np_r);
	rawparams_free(rp, nrp);
	buf_free(&d);
	return r;
}


/* Content-Transfer-Encoding: the encoding and its lowercase name. */
enum mime_encoding
mime_cte_parse(const char *v, size_t n, char **name_r)
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
	mime_str_lower(*name_r);
	buf_free(&t);
	return enc;
}
