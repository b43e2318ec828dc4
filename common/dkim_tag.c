/*
 * dkim_tag.c - the tag=value list of RFC 6376 section 3.2, which both the
 * DKIM-Signature field and the key record are written in, and the small
 * decoders their values need: the DKIM-quoted-printable of i=, domain
 * names, decimal numbers (base64 is common/base64 with BASE64_WSP).
 *
 * Strict on purpose: a tag-list that does not follow the grammar (an empty
 * tag-spec, a byte outside the value alphabet, a tag given twice, a name
 * that is not ALPHA *ALNUMPUNC) is refused whole, as section 3.2 says.
 * Called on hostile input (message headers, DNS answers) by dkim_sig.c and
 * dkim_key.c; no allocation, every size bounded.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dkim_int.h"

int
dkim_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* tval-char: any printable character but ';'. */
static int
tval_char(int c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

static int
alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
digit(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * FWS = [*WSP CRLF] 1*WSP: a line break counts only when whitespace
 * follows it.  A bare LF is taken for CRLF (a message read from a file).
 */
static size_t
fws_skip(const char *s, size_t n, size_t p)
{
	for (;;) {
		if (p < n && dkim_is_wsp((unsigned char)s[p]))
			p++;
		else if (p + 2 < n && s[p] == '\r' && s[p + 1] == '\n' &&
		    dkim_is_wsp((unsigned char)s[p + 2]))
			p += 3;
		else if (p + 1 < n && s[p] == '\n' &&
		    dkim_is_wsp((unsigned char)s[p + 1]))
			p += 2;
		else
			return p;
	}
}

/* tag-value: tval *( 1*(WSP / FWS) tval ), maybe empty. */
static void
value_scan(const char *s, size_t n, size_t *p, size_t *vend)
{
	size_t	 q;

	*vend = *p;
	for (;;) {
		while (*p < n && tval_char((unsigned char)s[*p]))
			(*p)++;
		*vend = *p;
		q = fws_skip(s, n, *p);
		if (q < n && q > *p && tval_char((unsigned char)s[q])) {
			*p = q;
			continue;
		}
		*p = q;
		return;
	}
}

static enum dkim_perr
tag_name(const char *s, size_t n, size_t *p, struct dkim_tag *t,
    const char **why)
{
	size_t	 start = *p;

	if (*p >= n || !alpha((unsigned char)s[*p])) {
		*why = "tag-list: a tag name must start with a letter";
		return DKIM_P_SYNTAX;
	}
	while (*p < n && (alpha((unsigned char)s[*p]) ||
	    digit((unsigned char)s[*p]) || s[*p] == '_'))
		(*p)++;
	if (*p - start > DKIM_TAGNAME_MAX) {
		*why = "tag-list: tag name too long";
		return DKIM_P_TOO_LONG;
	}
	t->name = s + start;
	t->nlen = *p - start;
	return DKIM_P_OK;
}

static enum dkim_perr
tag_spec(const char *s, size_t n, size_t *p, struct dkim_tag *t,
    const char **why)
{
	enum dkim_perr	 e;
	size_t		 vend;

	if ((e = tag_name(s, n, p, t, why)) != DKIM_P_OK)
		return e;
	*p = fws_skip(s, n, *p);
	if (*p >= n || s[*p] != '=') {
		*why = "tag-list: '=' expected after a tag name";
		return DKIM_P_SYNTAX;
	}
	t->raw_start = ++(*p);
	*p = fws_skip(s, n, *p);
	t->val = s + *p;
	value_scan(s, n, p, &vend);
	t->vlen = (s + vend) - t->val;
	t->raw_end = *p;
	if (*p < n && s[*p] != ';') {
		*why = "tag-list: a character not allowed in a tag value";
		return DKIM_P_SYNTAX;
	}
	return DKIM_P_OK;
}

static int
tag_seen(const struct dkim_taglist *tl, const struct dkim_tag *t)
{
	size_t	 i;

	for (i = 0; i < tl->n; i++)
		if (tl->tag[i].nlen == t->nlen &&
		    memcmp(tl->tag[i].name, t->name, t->nlen) == 0)
			return 1;
	return 0;
}

/*
 * tag-list = tag-spec *( ";" tag-spec ) [ ";" ].  Whitespace after the
 * final ';' is allowed (key records are often published that way); an
 * empty tag-spec anywhere else is not.
 */
enum dkim_perr
dkim_taglist_parse(const char *s, size_t n, struct dkim_taglist *tl,
    const char **why)
{
	struct dkim_tag	 t;
	enum dkim_perr	 e;
	size_t		 p = 0;

	tl->n = 0;
	for (;;) {
		p = fws_skip(s, n, p);
		if (p == n && tl->n > 0)
			return DKIM_P_OK;
		if ((e = tag_spec(s, n, &p, &t, why)) != DKIM_P_OK)
			return e;
		if (tag_seen(tl, &t)) {
			*why = "tag-list: a tag is given twice";
			return DKIM_P_DUPLICATE;
		}
		if (tl->n == DKIM_TAGS_MAX) {
			*why = "tag-list: too many tags";
			return DKIM_P_TOO_LONG;
		}
		tl->tag[tl->n++] = t;
		if (p == n)
			return DKIM_P_OK;
		p++;	/* the ';' */
	}
}

const struct dkim_tag *
dkim_tag_get(const struct dkim_taglist *tl, const char *name)
{
	size_t	 i;

	for (i = 0; i < tl->n; i++)
		if (dkim_tag_is(&tl->tag[i], name))
			return &tl->tag[i];
	return NULL;
}

int
dkim_sig_tag_value(const char *s, size_t n, const char *name, char *out,
    size_t outlen)
{
	struct dkim_taglist	 tl;
	const struct dkim_tag	*t;
	const char		*why;

	if (dkim_taglist_parse(s, n, &tl, &why) != DKIM_P_OK ||
	    (t = dkim_tag_get(&tl, name)) == NULL || t->vlen >= outlen ||
	    memchr(t->val, '\0', t->vlen) != NULL)
		return -1;
	memcpy(out, t->val, t->vlen);
	out[t->vlen] = '\0';
	return 0;
}

/* Tag names and most values compare case-sensitively (section 3.2). */
int
dkim_tag_is(const struct dkim_tag *t, const char *s)
{
	return t->nlen == strlen(s) && memcmp(t->name, s, t->nlen) == 0;
}

/*
 * A colon-separated list with FWS around the colons; no element may be
 * empty or hold whitespace.  Returns the count, -1 on bad syntax, -2 when
 * there are more than max elements.
 */
int
dkim_list_split(const char *s, size_t n, const char **item, size_t *len,
    size_t max)
{
	size_t	 p = 0, start, count = 0;

	for (;;) {
		p = fws_skip(s, n, p);
		start = p;
		while (p < n && s[p] != ':' && tval_char((unsigned char)s[p]))
			p++;
		if (p == start)
			return -1;
		if (count == max)
			return -2;
		item[count] = s + start;
		len[count++] = p - start;
		p = fws_skip(s, n, p);
		if (p == n)
			return (int)count;
		if (s[p] != ':')
			return -1;
		p++;
	}
}

static int
fws_char(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
hexval(int c)
{
	if (digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * DKIM-quoted-printable (section 2.11): "=XX" is a byte, whitespace is
 * ignored, any other byte must be a dkim-safe-char.  Writes at most max
 * bytes and a NUL; -1 on bad input or overflow.
 */
int
dkim_qp_decode(const char *s, size_t n, char *out, size_t max,
    size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (fws_char(c))
			continue;
		if (c == '=') {
			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (!tval_char(c))
			return -1;
		if (o >= max)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/*
 * A domain name as d= and s= take it: dot-separated labels of letters,
 * digits and hyphens, 1 to 63 long, not starting or ending with a hyphen;
 * underscore too when under is set (selectors, where DNS allows it).
 */
int
dkim_domain_valid(const char *s, size_t n, int under)
{
	size_t	 i, lab = 0;
	int	 c;

	if (n == 0 || n > DKIM_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		c = i < n ? (unsigned char)s[i] : '.';
		if (c == '.') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!alpha(c) && !digit(c) && c != '-' && !(under && c == '_'))
			return 0;
		if (lab == 0 && c == '-')
			return 0;
		lab++;
	}
	return 1;
}

/* 1 to maxdig decimal digits, saturating at UINT64_MAX. */
int
dkim_decimal(const char *s, size_t n, size_t maxdig, uint64_t *v)
{
	size_t	 i;

	if (n == 0 || n > maxdig)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (!digit((unsigned char)s[i]))
			return -1;
		if (*v > (UINT64_MAX - 9) / 10)
			*v = UINT64_MAX;
		else
			*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/* sub is dom or a subdomain of it, ignoring case. */
int
dkim_domain_within(const char *sub, const char *dom)
{
	size_t	 ls = strlen(sub), ld = strlen(dom);

	if (ls == ld)
		return strcasecmp(sub, dom) == 0;
	return ls > ld && sub[ls - ld - 1] == '.' &&
	    strcasecmp(sub + ls - ld, dom) == 0;
}
