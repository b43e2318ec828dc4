/*
 * spf_macro.c - the SPF record parser and the macro language
 * (RFC 7208 sections 4.6, 5, 6 and 7), used by spf.c and fuzzed by
 * tests/fuzz/fuzz-spf.c.  Everything here reads text from DNS, i.e.
 * from anyone: every index is checked against the length given, the
 * number of terms is capped and nothing is written past a struct buf.
 * No I/O, no privilege.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "spf.h"
#include "xmalloc.h"

#define SPF_DELIMS	".-+,/_="

int
spf_is_record(const char *s, size_t len)
{
	if (len < 6 || strncasecmp(s, "v=spf1", 6) != 0)
		return (0);
	return (len == 6 || s[6] == ' ');
}

/* One %{...} or %x at s[0] == '%'; its length, or 0 when invalid. */
static size_t
macro_len(const char *s, int exp)
{
	size_t	 i;
	int	 c;

	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return (2);
	if (s[1] != '{')
		return (0);
	c = tolower((unsigned char)s[2]);
	if (c == '\0' || strchr("slodiphv", c) == NULL) {
		if (!exp || c == '\0' || strchr("crt", c) == NULL)
			return (0);
	}
	i = 3;
	if (s[i] == '0')
		return (0);
	while (isdigit((unsigned char)s[i]))
		i++;
	if (s[i] == 'r' || s[i] == 'R')
		i++;
	while (s[i] != '\0' && strchr(SPF_DELIMS, s[i]) != NULL)
		i++;
	return (s[i] == '}' ? i + 1 : 0);
}

int
spf_macro_check(const char *s, int exp)
{
	size_t	 n;

	while (*s != '\0') {
		if (*s == '%') {
			if ((n = macro_len(s, exp)) == 0)
				return (-1);
			s += n;
			continue;
		}
		if ((unsigned char)*s > 0x7e || (*s < 0x21 && !(exp &&
		    *s == ' ')))
			return (-1);
		s++;
	}
	return (0);
}

static int
toplabel_ok(const char *l, size_t n)
{
	size_t	 i;
	int	 alpha = 0, dash = 0;

	if (n == 0 || l[0] == '-' || l[n - 1] == '-')
		return (0);
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)l[i]))
			alpha = 1;
		else if (l[i] == '-')
			dash = 1;
		else if (!isdigit((unsigned char)l[i]))
			return (0);
	}
	return (alpha || dash);
}

int
spf_domain_spec_ok(const char *s)
{
	size_t	 n = strlen(s), i, e;
	int	 last;

	if (n == 0 || spf_macro_check(s, 0) == -1)
		return (0);
	/* ends with a macro-expand? */
	for (i = 0, last = 0; i < n; ) {
		if (s[i] == '%') {
			i += macro_len(s + i, 0);
			last = 1;
		} else {
			i++;
			last = 0;
		}
	}
	if (last)
		return (1);
	e = n;
	if (s[e - 1] == '.')
		e--;
	for (i = e; i > 0; i--)
		if (s[i - 1] == '.')
			break;
	if (i == 0)
		return (0);
	return (toplabel_ok(s + i, e - i));
}

/* "/N" at s, N without leading zero, <= max; chars used or 0. */
static size_t
cidr_len(const char *s, int max, int *out)
{
	size_t	 i = 1;
	int	 v = 0;

	if (s[0] != '/' || !isdigit((unsigned char)s[1]))
		return (0);
	if (s[1] == '0' && isdigit((unsigned char)s[2]))
		return (0);
	while (isdigit((unsigned char)s[i]) && i < 5)
		v = v * 10 + (s[i++] - '0');
	if (isdigit((unsigned char)s[i]) || v > max)
		return (0);
	*out = v;
	return (i);
}

/*
 * Cut a dual cidr ("/24", "//64", "/24//64") off the end of arg;
 * -1 when one is there but invalid.
 */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return (0);
	while (isdigit((unsigned char)*s))
		s++;
	return (*s == '\0');
}

/*
 * Cut a dual cidr ("/24", "//64", "/24//64") off the end of arg: a
 * slash followed by digits to the end.  -1 when one is there but out of
 * range or with a leading zero; any other slash is part of the name.
 */
static int
cut_cidr(char *arg, struct spf_term *t)
{
	char	*p;
	size_t	 n;

	t->cidr4 = 32;
	t->cidr6 = 128;
	if ((p = strrchr(arg, '/')) != NULL && all_digits(p + 1) &&
	    p > arg && p[-1] == '/') {
		n = cidr_len(p, 128, &t->cidr6);
		if (n == 0)
			return (-1);
		*--p = '\0';
	}
	if ((p = strrchr(arg, '/')) != NULL && all_digits(p + 1)) {
		n = cidr_len(p, 32, &t->cidr4);
		if (n == 0)
			return (-1);
		*p = '\0';
	}
	return (0);
}

static const struct {
	const char	*name;
	enum spf_kind	 kind;
	int		 arg;	/* 0 none, 1 optional, 2 required */
} mechs[] = {
	{ "all", SPF_M_ALL, 0 },
	{ "include", SPF_M_INCLUDE, 2 },
	{ "a", SPF_M_A, 1 },
	{ "mx", SPF_M_MX, 1 },
	{ "ptr", SPF_M_PTR, 1 },
	{ "ip4", SPF_M_IP4, 2 },
	{ "ip6", SPF_M_IP6, 2 },
	{ "exists", SPF_M_EXISTS, 2 },
};

static int
parse_ip(char *arg, struct spf_term *t)
{
	char	*slash;
	int	 max = t->kind == SPF_M_IP4 ? 32 : 128, len = max;

	if ((slash = strchr(arg, '/')) != NULL) {
		if (cidr_len(slash, max, &len) != strlen(slash))
			return (-1);
		*slash = '\0';
	}
	t->net.af = t->kind == SPF_M_IP4 ? AF_INET : AF_INET6;
	if (inet_pton(t->net.af, arg, &t->net.u) != 1)
		return (-1);
	t->cidr4 = t->cidr6 = len;
	return (0);
}

static int
parse_mech(char *w, struct spf_term *t, char *err, size_t errlen)
{
	char	*arg = NULL;
	size_t	 i, n;

	t->qual = SPF_PASS;
	switch (*w) {
	case '+': w++; break;
	case '-': t->qual = SPF_FAIL; w++; break;
	case '~': t->qual = SPF_SOFTFAIL; w++; break;
	case '?': t->qual = SPF_NEUTRAL; w++; break;
	}
	n = strcspn(w, ":/");
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == n &&
		    strncasecmp(w, mechs[i].name, n) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0])) {
		snprintf(err, errlen, "unknown mechanism");
		return (-1);
	}
	t->kind = mechs[i].kind;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (w[n] == ':')
		arg = w + n + 1;
	else if (w[n] == '/') {
		if (t->kind != SPF_M_A && t->kind != SPF_M_MX)
			goto bad;
		if (cut_cidr(w + n, t) == -1)
			goto bad;
		return (0);
	}
	if ((arg == NULL && mechs[i].arg == 2) || (arg != NULL &&
	    mechs[i].arg == 0))
		goto bad;
	if (arg == NULL)
		return (0);
	if (t->kind == SPF_M_IP4 || t->kind == SPF_M_IP6)
		return (parse_ip(arg, t) == -1 ? (snprintf(err, errlen,
		    "bad address"), -1) : 0);
	if ((t->kind == SPF_M_A || t->kind == SPF_M_MX) &&
	    cut_cidr(arg, t) == -1)
		goto bad;
	if (!spf_domain_spec_ok(arg))
		goto bad;
	t->spec = arg;
	return (0);
bad:
	snprintf(err, errlen, "bad %s", mechs[i].name);
	return (-1);
}

static int
is_name(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return (0);
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) ==
		    NULL)
			return (0);
	return (1);
}

/* A modifier at w (name=value): 1 when it is one, 0 not, -1 bad. */
static int
parse_mod(struct spf_record *r, char *w, struct spf_term *t, char *err,
    size_t errlen)
{
	char	*eq;
	int	*slot;

	if ((eq = strchr(w, '=')) == NULL || !is_name(w, eq - w))
		return (0);
	*eq = '\0';
	if (strcasecmp(w, "redirect") == 0) {
		t->kind = SPF_MOD_REDIRECT;
		slot = &r->redirect;
	} else if (strcasecmp(w, "exp") == 0) {
		t->kind = SPF_MOD_EXP;
		slot = &r->exp;
	} else {
		/* unknown modifiers are ignored, but must be well formed */
		if (spf_macro_check(eq + 1, 0) == -1) {
			snprintf(err, errlen, "bad modifier %s", w);
			return (-1);
		}
		return (2);
	}
	if (*slot != -1) {
		snprintf(err, errlen, "%s given twice", w);
		return (-1);
	}
	if (!spf_domain_spec_ok(eq + 1)) {
		snprintf(err, errlen, "bad %s", w);
		return (-1);
	}
	t->spec = eq + 1;
	*slot = r->nterm;
	return (1);
}

int
spf_record_parse(const char *rec, size_t len, struct spf_record *r,
    char *err, size_t errlen)
{
	char	*w, *next;
	size_t	 i;
	int	 m;

	memset(r, 0, sizeof(*r));
	r->redirect = r->exp = -1;
	snprintf(err, errlen, "syntax error");
	for (i = 0; i < len; i++)
		if ((unsigned char)rec[i] > 0x7e || (rec[i] < 0x20))
			return (-1);
	if (!spf_is_record(rec, len))
		return (-1);
	r->text = xstrndup(rec, len);
	for (w = r->text + 6; *w != '\0'; w = next) {
		while (*w == ' ')
			w++;
		if (*w == '\0')
			break;
		next = w + strcspn(w, " ");
		if (*next != '\0')
			*next++ = '\0';
		if (r->nterm == SPF_MAX_TERMS) {
			snprintf(err, errlen, "too many terms");
			return (-1);
		}
		memset(&r->term[r->nterm], 0, sizeof(r->term[0]));
		if ((m = parse_mod(r, w, &r->term[r->nterm], err, errlen))
		    == -1)
			return (-1);
		if (m == 2)
			continue;
		if (m == 0 && parse_mech(w, &r->term[r->nterm], err,
		    errlen) == -1)
			return (-1);
		r->nterm++;
	}
	return (0);
}

void
spf_record_free(struct spf_record *r)
{
	free(r->text);
	r->text = NULL;
}

static void
ip_text(const struct dns_addr *ip, int dotted, struct buf *b)
{
	char	 a[INET6_ADDRSTRLEN];
	int	 i;

	if (ip->af == AF_INET6 && dotted) {
		for (i = 0; i < 16; i++)
			buf_printf(b, "%s%X.%X", i ? "." : "",
			    ip->u.v6.s6_addr[i] >> 4,
			    ip->u.v6.s6_addr[i] & 15);
		return;
	}
	inet_ntop(ip->af, &ip->u, a, sizeof(a));
	buf_addstr(b, a);
}

static void
macro_value(int c, const struct spf_macro_env *e, struct buf *b)
{
	const char *v = NULL;

	switch (c) {
	case 's': v = e->s; break;
	case 'l': v = e->l; break;
	case 'o': v = e->o; break;
	case 'd': v = e->d; break;
	case 'h': v = e->h; break;
	case 'p': v = e->p; break;
	case 'r': v = e->r; break;
	case 'i': ip_text(e->ip, 1, b); return;
	case 'c': ip_text(e->ip, 0, b); return;
	case 'v': v = e->ip->af == AF_INET ? "in-addr" : "ip6"; break;
	case 't': buf_printf(b, "%lld", (long long)e->t); return;
	}
	buf_addstr(b, v != NULL ? v : "unknown");
}

/* Apply digits, reverse and delimiters to val; append to out. */
static void
transform(const char *val, size_t keep, int rev, const char *delim,
    size_t ndelim, int upper, struct buf *out)
{
	const char *part[128];
	size_t	 plen[128], n = 0, i, start, k;
	const char *p = val;
	char	 set[sizeof(SPF_DELIMS)];

	memset(set, 0, sizeof(set));
	for (i = 0; i < ndelim; i++)
		set[strchr(SPF_DELIMS, delim[i]) - SPF_DELIMS] = delim[i];
	if (ndelim == 0)
		set[0] = '.';
	for (i = k = 0; i < sizeof(set); i++)
		if (set[i] != '\0')
			set[k++] = set[i];
	set[k] = '\0';
	for (;;) {
		k = strcspn(p, set);
		if (n < 128) {
			part[n] = p;
			plen[n++] = k;
		} else {
			/* keep the last ones */
			memmove(part, part + 1, 127 * sizeof(part[0]));
			memmove(plen, plen + 1, 127 * sizeof(plen[0]));
			part[127] = p;
			plen[127] = k;
		}
		if (p[k] == '\0')
			break;
		p += k + 1;
	}
	if (rev)
		for (i = 0; i < n / 2; i++) {
			const char *tp = part[i];
			size_t	 tl = plen[i];

			part[i] = part[n - 1 - i];
			plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = tp;
			plen[n - 1 - i] = tl;
		}
	start = (keep > 0 && keep < n) ? n - keep : 0;
	for (i = start; i < n; i++) {
		if (i > start)
			buf_addc(out, '.');
		for (k = 0; k < plen[i]; k++) {
			unsigned char c = part[i][k];

			if (upper && !isalnum(c) && strchr("-._~", c) == NULL)
				buf_printf(out, "%%%02X", c);
			else
				buf_addc(out, c);
		}
	}
}

int
spf_macro_expand(const char *s, int exp, const struct spf_macro_env *e,
    struct buf *out)
{
	struct buf val;
	size_t	 n, i, keep, start = out->len, dot;
	int	 c;

	if (spf_macro_check(s, exp) == -1)
		return (-1);
	buf_init(&val, SPF_BUF_MAX);
	while (*s != '\0') {
		if (*s != '%') {
			buf_addc(out, *s++);
			continue;
		}
		n = macro_len(s, exp);
		if (s[1] != '{') {
			buf_addstr(out, s[1] == '%' ? "%" : s[1] == '_' ?
			    " " : "%20");
			s += 2;
			continue;
		}
		c = s[2];
		i = 3;
		keep = 0;
		while (isdigit((unsigned char)s[i])) {
			if (keep < 1000)
				keep = keep * 10 + (s[i] - '0');
			i++;
		}
		buf_reset(&val);
		macro_value(tolower(c), e, &val);
		transform(buf_cstr(&val), keep, s[i] == 'r' || s[i] == 'R',
		    s + i + (s[i] == 'r' || s[i] == 'R'),
		    n - 1 - i - (s[i] == 'r' || s[i] == 'R'),
		    isupper(c), out);
		s += n;
	}
	buf_free(&val);
	if (exp)
		return (0);
	/* RFC 7208 7.3: drop labels on the left until it fits */
	while (out->len - start > 253) {
		const char *b = buf_cstr(out) + start;

		dot = strcspn(b, ".");
		if (b[dot] == '\0') {
			buf_truncate(out, start);
			break;
		}
		memmove(out->data + start, out->data + start + dot + 1,
		    out->len - start - dot - 1);
		buf_truncate(out, out->len - dot - 1);
	}
	return (0);
}
