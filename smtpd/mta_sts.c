/*
 * mta_sts.c - MTA-STS (RFC 8461) for smtpd.mta, the parts that need
 * nothing but their arguments: the _mta-sts TXT record (mta_sts_txt),
 * the HTTP response that carries a policy (mta_sts_http), the policy
 * itself (mta_sts_parse) and whether an MX host matches one of its
 * patterns (mta_sts_match, mta_sts_mx_ok).  mta_sts_fetch.c looks the
 * record up, fetches the policy over HTTPS and caches it; mta_session.c
 * applies it.  Unit tested in test-mta-sts.c, fuzzed by
 * fuzz-mta-sts.c.
 *
 * Everything here reads what a remote DNS zone or web server says and
 * runs in smtpd.mta ([global] user, chrooted, no key): input is taken
 * as hostile, by length (it may hold NUL bytes), bounded
 * (MTA_STS_BODY_MAX, MTA_STS_HEAD_MAX, MTA_STS_MX_MAX), and refused as
 * a whole at the first thing that does not follow the grammar.  A
 * refused policy is as good as none (RFC 8461 3.3), which is the safe
 * side of a parser's mistakes: it never adds an MX host.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mta.h"
#include "xmalloc.h"

#define WSP(c)		((c) == ' ' || (c) == '\t')

static const char *const sts_modes[] = {
	[MTA_STS_NONE] = "none",
	[MTA_STS_TESTING] = "testing",
	[MTA_STS_ENFORCE] = "enforce",
};

const char *
mta_sts_mode_name(enum mta_sts_mode m)
{
	return sts_modes[m];
}

/* ------------------------------------------------------------------ */
/* the TXT record (RFC 8461 3.1) */

/* s[0..n) begins with "v=STSv1" and a delimiter (or nothing after). */
static int
txt_is_sts(const char *s, size_t n)
{
	if (n < 7 || memcmp(s, "v=STSv1", 7) != 0)
		return 0;
	return n == 7 || WSP(s[7]) || s[7] == ';';
}

/*
 * One TXT record at _mta-sts.<domain>: 0 when it is not an MTA-STS
 * record (it does not start with "v=STSv1", and is to be ignored), 1
 * with its id in id (at most MTA_STS_ID_MAX letters and digits), -1
 * when it starts like one but breaks the grammar:
 *
 *	v=STSv1 *WSP ";" *WSP field *( *WSP ";" *WSP field ) [ *WSP ";" ]
 *	field = "id=" 1*32(ALPHA / DIGIT) / ext-name "=" ext-value
 */
int
mta_sts_txt(const char *s, size_t n, char *id, size_t idlen)
{
	size_t	 i = 7, k, v, nid = 0;

	if (!txt_is_sts(s, n))
		return 0;
	id[0] = '\0';
	for (;;) {
		while (i < n && WSP(s[i]))
			i++;
		if (i == n)
			break;
		if (s[i++] != ';')
			return -1;
		while (i < n && WSP(s[i]))
			i++;
		if (i == n)
			break;
		/* name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
		for (k = i; i < n && (isalnum((unsigned char)s[i]) ||
		    (i > k && (s[i] == '_' || s[i] == '-' || s[i] == '.')));
		    i++)
			;
		if (i == k || i - k > 32 || i == n || s[i++] != '=')
			return -1;
		/* value = 1*(%x21-3A / %x3C / %x3E-7E) */
		for (v = i; i < n && s[i] > 0x20 && s[i] < 0x7f &&
		    s[i] != ';' && s[i] != '='; i++)
			;
		if (i == v)
			return -1;
		if (v - k == 3 && memcmp(s + k, "id=", 3) == 0) {
			if (nid++ > 0 || i - v > MTA_STS_ID_MAX ||
			    i - v >= idlen)
				return -1;
			for (k = v; k < i; k++)
				if (!isalnum((unsigned char)s[k]))
					return -1;
			memcpy(id, s + v, i - v);
			id[i - v] = '\0';
		}
	}
	return nid == 1 ? 1 : -1;
}

/* ------------------------------------------------------------------ */
/* the policy (RFC 8461 3.2) */

void
mta_sts_free(struct mta_sts *p)
{
	size_t	 i;

	for (i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	memset(p, 0, sizeof(*p));
}

/*
 * An mx value: ["*."] a host name of letters, digits and hyphens, each
 * label 1 to 63 octets, at most 253 in all, one final dot allowed and
 * dropped.  The pattern in lower case, or NULL.
 */
static char *
mx_pattern(const char *s, size_t n)
{
	char	*p;
	size_t	 i, lab = 0, w = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= 2 && s[0] == '*' && s[1] == '.')
		w = 2;
	if (n <= w || n > 253)
		return NULL;
	for (i = w; i < n; i++) {
		if (s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return NULL;
			lab = 0;
		} else if (isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && lab > 0)) {
			if (++lab > 63)
				return NULL;
		} else
			return NULL;
	}
	if (lab == 0 || s[n - 1] == '-')
		return NULL;
	p = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		p[i] = (char)tolower((unsigned char)s[i]);
	p[n] = '\0';
	return p;
}

/* max_age: 1*10DIGIT, at most MTA_STS_AGE_MAX; -1 when not. */
static long
max_age(const char *s, size_t n)
{
	long	 v = 0;
	size_t	 i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= MTA_STS_AGE_MAX ? v : -1;
}

/* One "key: value" line; 0 or -1 with why. */
static int
policy_field(struct mta_sts *p, const char *key, size_t kl, const char *val,
    size_t vl, unsigned *seen, char *why, size_t whylen)
{
	size_t	 m;

#define KEY(k)	(kl == sizeof(k) - 1 && memcmp(key, k, kl) == 0)
	if (KEY("version")) {
		if ((*seen & 1) || vl != 5 || memcmp(val, "STSv1", 5) != 0)
			goto bad;
		*seen |= 1;
	} else if (KEY("mode")) {
		if (*seen & 2)
			goto bad;
		for (m = 0; m < sizeof(sts_modes) / sizeof(sts_modes[0]); m++)
			if (strlen(sts_modes[m]) == vl &&
			    memcmp(val, sts_modes[m], vl) == 0)
				break;
		if (m == sizeof(sts_modes) / sizeof(sts_modes[0]))
			goto bad;
		p->mode = (enum mta_sts_mode)m;
		*seen |= 2;
	} else if (KEY("max_age")) {
		if ((*seen & 4) || (p->max_age = max_age(val, vl)) < 0)
			goto bad;
		*seen |= 4;
	} else if (KEY("mx")) {
		if (p->nmx >= MTA_STS_MX_MAX)
			goto bad;
		if ((p->mx[p->nmx] = mx_pattern(val, vl)) == NULL)
			goto bad;
		p->nmx++;
	}
	/* any other key is an extension, ignored */
	return 0;
#undef KEY
bad:
	snprintf(why, whylen, "bad or repeated \"%.*s\" field", (int)kl, key);
	return -1;
}

/*
 * Split one line "key:" *WSP value *WSP; key = 1*(ALPHA / DIGIT / "_" /
 * "-" / "."), value printable ASCII and spaces.  0 or -1.
 */
static int
policy_line(const char *s, size_t n, size_t *kl, const char **val,
    size_t *vl)
{
	size_t	 i;

	for (i = 0; i < n && (isalnum((unsigned char)s[i]) ||
	    s[i] == '_' || s[i] == '-' || s[i] == '.'); i++)
		;
	if (i == 0 || i > 32 || i == n || s[i] != ':')
		return -1;
	*kl = i++;
	while (i < n && WSP(s[i]))
		i++;
	while (n > i && WSP(s[n - 1]))
		n--;
	if (i == n)
		return -1;
	*val = s + i;
	*vl = n - i;
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return -1;
	return 0;
}

/*
 * The policy s[0..n): lines ending in LF or CRLF (the last one may have
 * no end; empty lines are let by), version STSv1, a mode, a max_age and,
 * unless the mode is "none", one or more mx patterns.  0 with p filled
 * (free it with mta_sts_free), or -1 with why and p empty.
 */
int
mta_sts_parse(const char *s, size_t n, struct mta_sts *p, char *why,
    size_t whylen)
{
	const char	*val;
	size_t		 i = 0, e, kl, vl, line = 0;
	unsigned	 seen = 0;

	memset(p, 0, sizeof(*p));
	if (n > MTA_STS_BODY_MAX) {
		snprintf(why, whylen, "policy over %d bytes",
		    MTA_STS_BODY_MAX);
		return -1;
	}
	while (i < n) {
		line++;
		for (e = i; e < n && s[e] != '\n'; e++)
			;
		kl = e;
		if (kl > i && s[kl - 1] == '\r')
			kl--;
		if (kl > i) {
			if (policy_line(s + i, kl - i, &kl, &val, &vl) == -1) {
				snprintf(why, whylen, "line %zu is not "
				    "\"key: value\"", line);
				goto bad;
			}
			if (policy_field(p, s + i, kl, val, vl, &seen, why,
			    whylen) == -1)
				goto bad;
		}
		i = e + 1;
	}
	if ((seen & 7) != 7) {
		snprintf(why, whylen, "no %s field", !(seen & 1) ? "version" :
		    !(seen & 2) ? "mode" : "max_age");
		goto bad;
	}
	if (p->nmx == 0 && p->mode != MTA_STS_NONE) {
		snprintf(why, whylen, "no mx field");
		goto bad;
	}
	return 0;
bad:
	mta_sts_free(p);
	return -1;
}

/* ------------------------------------------------------------------ */
/* the match (RFC 8461 4.1) */

/*
 * Does host (a name in common/dns's text form, no final dot) match
 * pattern ("mx.example.org", or "*.example.org": exactly one label, of
 * any content but a dot, in front of example.org)?  ASCII case ignored.
 */
int
mta_sts_match(const char *pattern, const char *host)
{
	const char	*dot;
	size_t		 hl = strlen(host);

	/* an escaped dot or byte ("a\\.b") is in no host name we match */
	if (strchr(host, '\\') != NULL)
		return 0;
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pattern[0] == '*' && pattern[1] == '.') {
		if ((dot = memchr(host, '.', hl)) == NULL || dot == host)
			return 0;
		hl -= (size_t)(dot + 1 - host);
		host = dot + 1;
		pattern += 2;
	}
	return strlen(pattern) == hl && strncasecmp(pattern, host, hl) == 0;
}

/* Is host one of the policy's MX hosts? */
int
mta_sts_mx_ok(const struct mta_sts *p, const char *host)
{
	size_t	 i;

	for (i = 0; i < p->nmx; i++)
		if (mta_sts_match(p->mx[i], host))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the HTTP response (RFC 9112), as mta_sts_fetch.c reads it */

/* A header line "name:" OWS value OWS is name; value into val. */
static int
header_is(const char *s, size_t n, const char *name, const char **val,
    size_t *vl)
{
	size_t	 nl = strlen(name);

	if (n <= nl || strncasecmp(s, name, nl) != 0 || s[nl] != ':')
		return 0;
	s += nl + 1;
	n -= nl + 1;
	while (n > 0 && WSP(*s)) {
		s++;
		n--;
	}
	while (n > 0 && WSP(s[n - 1]))
		n--;
	*val = s;
	*vl = n;
	return 1;
}

/* "text/plain", alone or with parameters (RFC 8461 3.3). */
static int
text_plain(const char *v, size_t n)
{
	if (n < 10 || strncasecmp(v, "text/plain", 10) != 0)
		return 0;
	v += 10;
	n -= 10;
	while (n > 0 && WSP(*v)) {
		v++;
		n--;
	}
	return n == 0 || *v == ';';
}

/* A decimal number of at most 9 digits; -1 when not. */
static long
decimal(const char *s, size_t n, int hex)
{
	long	 v = 0;
	size_t	 i;
	int	 d;

	if (n == 0 || n > (hex ? 7 : 9))
		return -1;
	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			d = s[i] - '0';
		else if (hex && isxdigit((unsigned char)s[i]))
			d = tolower((unsigned char)s[i]) - 'a' + 10;
		else
			return -1;
		v = v * (hex ? 16 : 10) + d;
	}
	return v;
}

/* The body of a chunked response, from b[0..n); as mta_sts_http. */
static enum mta_http
dechunk(const char *b, size_t n, struct buf *body, char *why, size_t whylen)
{
	const char	*eol;
	size_t		 i = 0, sl;
	long		 sz;

	for (;;) {
		if ((eol = memmem(b + i, n - i, "\r\n", 2)) == NULL)
			return n - i > 64 ? MTA_HTTP_ERROR : MTA_HTTP_MORE;
		/* the size, and chunk extensions after ';' (ignored) */
		for (sl = 0; b + i + sl < eol && isxdigit((unsigned char)
		    b[i + sl]); sl++)
			;
		if ((sz = decimal(b + i, sl, 1)) < 0 || (b + i + sl < eol &&
		    b[i + sl] != ';')) {
			snprintf(why, whylen, "bad chunk size");
			return MTA_HTTP_ERROR;
		}
		i = (size_t)(eol - b) + 2;
		if (sz == 0)
			/* trailers are not read: the body is complete */
			return MTA_HTTP_DONE;
		if (body->len + (size_t)sz > MTA_STS_BODY_MAX) {
			snprintf(why, whylen, "policy over %d bytes",
			    MTA_STS_BODY_MAX);
			return MTA_HTTP_ERROR;
		}
		if (n - i < (size_t)sz + 2)
			return MTA_HTTP_MORE;
		if (memcmp(b + i + sz, "\r\n", 2) != 0) {
			snprintf(why, whylen, "bad chunk end");
			return MTA_HTTP_ERROR;
		}
		buf_add(body, b + i, (size_t)sz);
		i += (size_t)sz + 2;
	}
}

/* The header lines of r[0..hl): status checked, then the fields. */
static int
http_head(const char *r, size_t hl, int *chunked, long *clen, char *why,
    size_t whylen)
{
	const char	*e, *v;
	size_t		 vl, i;
	int		 ctype = 0;

	if (hl < 12 || (memcmp(r, "HTTP/1.1 ", 9) != 0 &&
	    memcmp(r, "HTTP/1.0 ", 9) != 0)) {
		snprintf(why, whylen, "not an HTTP/1 response");
		return -1;
	}
	if (!isdigit((unsigned char)r[9]) || !isdigit((unsigned char)r[10]) ||
	    !isdigit((unsigned char)r[11]) || (r[12] != ' ' && r[12] != '\r')) {
		snprintf(why, whylen, "bad HTTP status line");
		return -1;
	}
	if (memcmp(r + 9, "200", 3) != 0) {
		/* a redirect too: RFC 8461 3.3 says not to follow it */
		snprintf(why, whylen, "HTTP status %.3s, not 200", r + 9);
		return -1;
	}
	*chunked = 0;
	*clen = -1;
	for (i = (size_t)((const char *)memmem(r, hl, "\r\n", 2) - r) + 2;
	    i < hl; i = (size_t)(e - r) + 2) {
		e = memmem(r + i, hl - i, "\r\n", 2);
		if (header_is(r + i, (size_t)(e - r) - i, "Content-Type", &v,
		    &vl))
			ctype |= text_plain(v, vl) ? 1 : 2;
		else if (header_is(r + i, (size_t)(e - r) - i,
		    "Transfer-Encoding", &v, &vl)) {
			if (vl != 7 || strncasecmp(v, "chunked", 7) != 0 ||
			    *chunked) {
				snprintf(why, whylen, "transfer encoding "
				    "not chunked");
				return -1;
			}
			*chunked = 1;
		} else if (header_is(r + i, (size_t)(e - r) - i,
		    "Content-Length", &v, &vl)) {
			if (*clen >= 0 || (*clen = decimal(v, vl, 0)) < 0) {
				snprintf(why, whylen, "bad Content-Length");
				return -1;
			}
		}
	}
	if (*chunked && *clen >= 0) {
		snprintf(why, whylen, "both chunked and Content-Length");
		return -1;
	}
	if (ctype != 1) {
		snprintf(why, whylen, "Content-Type is not text/plain");
		return -1;
	}
	return 0;
}

/*
 * What a web server sent so far, r[0..n) (eof: all it will send): a 200
 * response with Content-Type text/plain and a body of at most
 * MTA_STS_BODY_MAX bytes, by Content-Length, chunked or up to eof.
 * MTA_HTTP_DONE with the body in body (reset first), MTA_HTTP_MORE to
 * read on, or MTA_HTTP_ERROR with why.  No redirect is followed (a 3xx
 * is an error, RFC 8461 3.3).
 */
enum mta_http
mta_sts_http(const char *r, size_t n, int eof, struct buf *body, char *why,
    size_t whylen)
{
	const char	*end;
	size_t		 hl;
	long		 clen;
	int		 chunked;
	enum mta_http	 st;

	buf_reset(body);
	if ((end = memmem(r, n, "\r\n\r\n", 4)) == NULL) {
		if (n > MTA_STS_HEAD_MAX || eof) {
			snprintf(why, whylen, eof ? "response cut short" :
			    "response head over %d bytes", MTA_STS_HEAD_MAX);
			return MTA_HTTP_ERROR;
		}
		return MTA_HTTP_MORE;
	}
	hl = (size_t)(end - r) + 2;
	if (hl > MTA_STS_HEAD_MAX) {
		snprintf(why, whylen, "response head over %d bytes",
		    MTA_STS_HEAD_MAX);
		return MTA_HTTP_ERROR;
	}
	if (http_head(r, hl, &chunked, &clen, why, whylen) == -1)
		return MTA_HTTP_ERROR;
	r += hl + 2;
	n -= hl + 2;
	if (chunked) {
		st = dechunk(r, n, body, why, whylen);
		if (st == MTA_HTTP_MORE && eof) {
			snprintf(why, whylen, "response cut short");
			st = MTA_HTTP_ERROR;
		}
		return st;
	}
	if (clen > MTA_STS_BODY_MAX || (clen < 0 && n > MTA_STS_BODY_MAX)) {
		snprintf(why, whylen, "policy over %d bytes",
		    MTA_STS_BODY_MAX);
		return MTA_HTTP_ERROR;
	}
	if (clen >= 0 && n >= (size_t)clen) {
		buf_add(body, r, (size_t)clen);
		return MTA_HTTP_DONE;
	}
	if (!eof)
		return MTA_HTTP_MORE;
	if (clen >= 0) {
		snprintf(why, whylen, "response cut short");
		return MTA_HTTP_ERROR;
	}
	buf_add(body, r, n);
	return MTA_HTTP_DONE;
}
