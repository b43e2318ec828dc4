/*
 * dmarc_record.c - the DMARC record parser (RFC 7489 6.3, 6.4, 6.6.3).
 *
 * Records come from anyone's DNS: the parser reads at most
 * DMARC_RECORD_MAX bytes of what it is given, copies nothing longer
 * than its fixed fields and is fuzzed by tests/fuzz/fuzz-dmarc.c.
 * Called by dmarc.c and the tests; no privilege, no I/O.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

struct span {
	const char	*p;
	size_t		 n;
};

static int
is_wsp(char c)
{
	return (c == ' ' || c == '\t');
}

static struct span
trim(const char *p, size_t n)
{
	struct span s;

	while (n > 0 && is_wsp(*p)) {
		p++;
		n--;
	}
	while (n > 0 && is_wsp(p[n - 1]))
		n--;
	s.p = p;
	s.n = n;
	return (s);
}

static int
span_is(struct span s, const char *word)
{
	return (s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0);
}

static enum dmarc_policy
policy(struct span v)
{
	if (span_is(v, "none"))
		return (DMARC_P_NONE);
	if (span_is(v, "quarantine"))
		return (DMARC_P_QUARANTINE);
	if (span_is(v, "reject"))
		return (DMARC_P_REJECT);
	return (DMARC_P_UNSET);
}

/* A decimal number of 1..digits digits, at most max: it or -1. */
static long
number(struct span v, size_t digits, long max)
{
	long	 x = 0;
	size_t	 i;

	if (v.n == 0 || v.n > digits)
		return (-1);
	for (i = 0; i < v.n; i++) {
		if (!isdigit((unsigned char)v.p[i]))
			return (-1);
		x = x * 10 + (v.p[i] - '0');
	}
	return (x <= max ? x : -1);
}

/* A list of words joined by ':', each one of ok (NULL: any keyword). */
static int
colon_list(struct span v, const char *const *ok, const char *want,
    int *has)
{
	struct span w;
	const char *p = v.p, *end = v.p + v.n, *c;
	size_t	 i;
	int	 good;

	*has = 0;
	if (v.n == 0)
		return (-1);
	for (;;) {
		c = memchr(p, ':', end - p);
		w = trim(p, (c != NULL ? c : end) - p);
		if (w.n == 0)
			return (-1);
		good = ok == NULL;
		for (i = 0; ok != NULL && ok[i] != NULL; i++)
			good |= span_is(w, ok[i]);
		for (i = 0; i < w.n; i++)
			if (!isalnum((unsigned char)w.p[i]))
				good = 0;
		if (!good)
			return (-1);
		if (want != NULL && span_is(w, want))
			*has = 1;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return (0);
}

/* Whether u is a URI (scheme ":" URI characters) with an optional
   "!" size suffix (RFC 7489 6.4). */
static int
uri_ok(struct span u)
{
	const char *bang;
	size_t	 i, n = u.n;

	bang = NULL;
	for (i = u.n; i > 0; i--)
		if (u.p[i - 1] == '!') {
			bang = u.p + i - 1;
			break;
		}
	if (bang != NULL) {
		const char *q = bang + 1, *end = u.p + u.n;

		if (q < end && strchr("kmgtKMGT", end[-1]) != NULL)
			end--;
		if (q == end)
			return (0);
		for (; q < end; q++)
			if (!isdigit((unsigned char)*q))
				return (0);
		n = bang - u.p;
	}
	if (n == 0 || !isalpha((unsigned char)u.p[0]))
		return (0);
	for (i = 1; i < n && u.p[i] != ':'; i++)
		if (!isalnum((unsigned char)u.p[i]) &&
		    strchr("+-.", u.p[i]) == NULL)
			return (0);
	if (i >= n - 1)
		return (0);		/* no ':' or nothing after it */
	for (i++; i < n; i++) {
		if (u.p[i] == '%') {
			if (i + 2 >= n ||
			    !isxdigit((unsigned char)u.p[i + 1]) ||
			    !isxdigit((unsigned char)u.p[i + 2]))
				return (0);
			i += 2;
			continue;
		}
		if (!isalnum((unsigned char)u.p[i]) &&
		    strchr("-._~:/?#[]@!$&'()*+=", u.p[i]) == NULL)
			return (0);
	}
	return (1);
}

/* Keep the valid URIs of a comma-separated list: how many. */
static size_t
uri_list(struct span v, char out[][256])
{
	struct span u;
	const char *p = v.p, *end = v.p + v.n, *c;
	size_t	 n = 0;

	while (n < DMARC_URI_MAX) {
		c = memchr(p, ',', end - p);
		u = trim(p, (c != NULL ? c : end) - p);
		if (u.n < 256 && uri_ok(u)) {
			memcpy(out[n], u.p, u.n);
			out[n++][u.n] = '\0';
		}
		if (c == NULL)
			break;
		p = c + 1;
	}
	return (n);
}

static void
problem(char *err, size_t errlen, const char *what, struct span tag)
{
	if (errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "bad %s%.*s", what,
		    (int)(tag.n > 16 ? 16 : tag.n), tag.p);
}

/* One tag=value after v=DMARC1; p_bad and sp_bad note bad policies. */
static void
tag(struct dmarc_record *r, struct span t, struct span v, int *p_bad,
    int *sp_bad, char *err, size_t errlen)
{
	static const char *const fo_ok[] = { "0", "1", "d", "s", NULL };
	long	 x;
	int	 has;

	if (span_is(t, "p")) {
		if ((r->p = policy(v)) == DMARC_P_UNSET)
			*p_bad = 1;
	} else if (span_is(t, "sp")) {
		if ((r->sp = policy(v)) == DMARC_P_UNSET)
			*sp_bad = 1;
	} else if (span_is(t, "pct")) {
		if ((x = number(v, 3, 100)) >= 0)
			r->pct = x;
		else
			problem(err, errlen, "value of ", t);
	} else if (span_is(t, "adkim") || span_is(t, "aspf")) {
		int *strict = t.n == 5 ? &r->adkim_strict : &r->aspf_strict;

		if (span_is(v, "s") || span_is(v, "r"))
			*strict = span_is(v, "s");
		else
			problem(err, errlen, "value of ", t);
	} else if (span_is(t, "ri")) {
		if ((x = number(v, 10, 4294967295L)) >= 0)
			r->ri = x;
		else
			problem(err, errlen, "value of ", t);
	} else if (span_is(t, "fo")) {
		if (v.n < sizeof(r->fo) && colon_list(v, fo_ok, NULL,
		    &has) == 0) {
			memcpy(r->fo, v.p, v.n);
			r->fo[v.n] = '\0';
		} else
			problem(err, errlen, "value of ", t);
	} else if (span_is(t, "rf")) {
		if (colon_list(v, NULL, "afrf", &has) == 0)
			r->rf_afrf = has;
		else
			problem(err, errlen, "value of ", t);
	} else if (span_is(t, "rua"))
		r->nrua = uri_list(v, r->rua);
	else if (span_is(t, "ruf"))
		r->nruf = uri_list(v, r->ruf);
	/* unknown tags are ignored (6.3) */
}

static int
tag_name_ok(struct span t)
{
	size_t	 i;

	if (t.n == 0 || !isalpha((unsigned char)t.p[0]))
		return (0);
	for (i = 1; i < t.n; i++)
		if (!isalnum((unsigned char)t.p[i]) && t.p[i] != '_')
			return (0);
	return (1);
}

enum dmarc_parse
dmarc_record_parse(const char *rec, size_t len, struct dmarc_record *r,
    char *err, size_t errlen)
{
	const char *p, *end, *semi, *eq;
	struct span part, t, v;
	int	 first = 1, p_bad = 0, sp_bad = 0, seen_p = 0, more;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->ri = 86400;
	r->fo[0] = '0';
	r->rf_afrf = 1;
	if (errlen > 0)
		err[0] = '\0';
	if (len > DMARC_RECORD_MAX) {
		snprintf(err, errlen, "record too long");
		return (DMARC_REC_NOT);
	}
	p = rec;
	end = rec + len;
	for (more = 1; more;) {
		semi = memchr(p, ';', end - p);
		part = trim(p, (semi != NULL ? semi : end) - p);
		if ((more = semi != NULL))
			p = semi + 1;
		eq = memchr(part.p, '=', part.n);
		if (part.n == 0 && !first)
			continue;
		t = trim(part.p, eq != NULL ? (size_t)(eq - part.p) : part.n);
		v = eq != NULL ? trim(eq + 1, part.p + part.n - eq - 1) :
		    trim(part.p, 0);
		if (first) {
			/* exactly "v=DMARC1", case as written (6.4) */
			if (eq == NULL || t.n != 1 || t.p[0] != 'v' ||
			    v.n != 6 || memcmp(v.p, "DMARC1", 6) != 0) {
				snprintf(err, errlen, "not v=DMARC1");
				return (DMARC_REC_NOT);
			}
			first = 0;
			continue;
		}
		if (eq == NULL || !tag_name_ok(t)) {
			problem(err, errlen, "tag ", t);
			continue;
		}
		if (span_is(t, "p")) {
			if (seen_p++)
				continue;	/* the first one counts */
		}
		tag(r, t, v, &p_bad, &sp_bad, err, errlen);
	}
	if (r->p == DMARC_P_UNSET || p_bad || sp_bad) {
		if (errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "%s", r->p == DMARC_P_UNSET &&
			    !p_bad ? "no p tag" : "bad p or sp");
		if (r->nrua == 0)
			return (DMARC_REC_INVALID);
		r->p = DMARC_P_NONE;	/* act as p=none (6.6.3) */
		r->sp = DMARC_P_UNSET;
	}
	return (DMARC_REC_OK);
}
