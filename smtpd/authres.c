/*
 * authres.c - the receiver's reading of a message header and its
 * Authentication-Results field (see authres.h).
 *
 * Runs in smtpd.receiver, unprivileged and chrooted, on a header from
 * the network: every function is bounded by its input and allocates
 * only through common/addr and buf.  Lines end in LF, with or without
 * the CR before it (the receiver stores CRLF; a bare LF is read as a
 * line end, as common/dkim reads it).
 *
 * Forged results (RFC 8601 section 5): a field claiming our authserv-id
 * that came with the message would be taken for our own by the reader's
 * client; ar_claims_id() finds them for verify.c to drop.  The id is the
 * first token of the value after any comments and folding, a token or a
 * quoted string, compared without regard to ASCII case.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "authres.h"
#include "qhandoff.h"

/* The end of the line at p (after its LF), or n. */
static size_t
line_end(const char *h, size_t n, size_t p)
{
	const char	*lf = memchr(h + p, '\n', n - p);

	return lf == NULL ? n : (size_t)(lf - h) + 1;
}

static int
empty_line(const char *h, size_t n, size_t p)
{
	return h[p] == '\n' || (h[p] == '\r' && p + 1 < n && h[p + 1] == '\n');
}

size_t
ar_header_len(const char *h, size_t n, int *complete)
{
	size_t	 p = 0;

	*complete = 0;
	while (p < n) {
		if (empty_line(h, n, p)) {
			*complete = 1;
			return line_end(h, n, p);
		}
		p = line_end(h, n, p);
	}
	return n;
}

int
ar_next_field(const char *h, size_t n, size_t *pos, struct ar_field *f)
{
	size_t	 p = *pos, e;
	const char *colon;

	if (p >= n || empty_line(h, n, p))
		return 0;
	f->off = p;
	e = line_end(h, n, p);
	while (e < n && (h[e] == ' ' || h[e] == '\t'))
		e = line_end(h, n, e);
	f->len = e - p;
	colon = memchr(h + p, ':', f->len);
	f->value = colon == NULL ? e : (size_t)(colon - h) + 1;
	*pos = e;
	return 1;
}

int
ar_field_is(const char *h, const struct ar_field *f, const char *name)
{
	size_t	 nl = strlen(name), i;

	if (f->value - f->off < nl + 1 ||
	    strncasecmp(h + f->off, name, nl) != 0)
		return 0;
	for (i = f->off + nl; i < f->value - 1; i++)
		if (h[i] != ' ' && h[i] != '\t')
			return 0;
	return h[f->value - 1] == ':';
}

/* Past folding white space and comments (nested, with quoted-pairs). */
static size_t
skip_cfws(const char *v, size_t n, size_t p)
{
	int	 depth = 0;

	while (p < n) {
		if (depth > 0 && v[p] == '\\' && p + 1 < n)
			p += 2;
		else if (v[p] == '(') {
			depth++;
			p++;
		} else if (depth > 0 && v[p] == ')') {
			depth--;
			p++;
		} else if (depth > 0 || v[p] == ' ' || v[p] == '\t' ||
		    v[p] == '\r' || v[p] == '\n')
			p++;
		else
			break;
	}
	return p;
}

int
ar_claims_id(const char *v, size_t n, const char *id)
{
	char	 tok[256];
	size_t	 p = skip_cfws(v, n, 0), t = 0;

	if (p < n && v[p] == '"') {
		for (p++; p < n && v[p] != '"'; p++) {
			if (v[p] == '\\' && p + 1 < n)
				p++;
			if (t + 1 >= sizeof(tok))
				return 0;
			tok[t++] = v[p];
		}
		if (p >= n)
			return 0;
	} else
		for (; p < n && strchr(" \t\r\n;(\"", v[p]) == NULL; p++) {
			if (t + 1 >= sizeof(tok))
				return 0;
			tok[t++] = v[p];
		}
	tok[t] = '\0';
	return t > 0 && strcasecmp(tok, id) == 0;
}

int
ar_field_claims_id(const char *h, const struct ar_field *f, const char *id)
{
	return ar_field_is(h, f, "Authentication-Results") &&
	    ar_claims_id(h + f->value, f->off + f->len - f->value, id);
}

/* The value of a field without its final line end. */
static size_t
value_len(const char *h, const struct ar_field *f)
{
	size_t	 e = f->off + f->len;

	if (e > f->value && h[e - 1] == '\n')
		e--;
	if (e > f->value && h[e - 1] == '\r')
		e--;
	return e - f->value;
}

/*
 * An address in text other than from: a run of characters between
 * spaces, quotes, brackets and parentheses with an '@' and a dot after
 * it.  0 with it in out, or -1.
 */
static int
other_address(const char *text, size_t len, const char *from, char *out,
    size_t outlen)
{
	static const char sep[] = " \t\r\n\"'<>()[],;:";
	const char	*p = text, *end = text + len, *w, *at;
	size_t		 n;

	while (p < end) {
		while (p < end && strchr(sep, *p) != NULL)
			p++;
		for (w = p; p < end && strchr(sep, *p) == NULL; p++)
			;
		n = (size_t)(p - w);
		if ((at = memchr(w, '@', n)) == NULL || at == w ||
		    memchr(at, '.', (size_t)(p - at)) == NULL)
			continue;
		if (n == strlen(from) && strncasecmp(w, from, n) == 0)
			continue;
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, w, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/*
 * The one From field and its one mailbox: from (canonical, domain
 * lowercased) and, when claim is not NULL, whether the field as written
 * or its decoded display name names another address (into claim).
 * -1 when there is no single mailbox.
 */
static int
author(const char *h, size_t n, char *from, int *claims, char *claim,
    size_t claimlen)
{
	struct ar_field	 f, one = { 0, 0, 0 };
	struct addr_list l;
	struct buf	 b, name;
	size_t		 pos = 0;
	int		 count = 0, r = -1;

	from[0] = '\0';
	*claims = 0;
	while (ar_next_field(h, n, &pos, &f))
		if (ar_field_is(h, &f, "From")) {
			one = f;
			count++;
		}
	if (count != 1)
		return -1;
	if (addr_list_parse(h + one.value, value_len(h, &one), 0, 8, &l,
	    NULL, 0) == -1)
		return -1;
	buf_init(&b, AR_FROM_MAX + 1);
	buf_init(&name, 0);
	if (l.n == 1 && l.v[0].kind == ADDR_MAILBOX &&
	    addr_header_check(&l.v[0], NULL, 0) == 0) {
		addr_spec_format(&l.v[0], &b);
		if (b.len > 0 && b.len <= AR_FROM_MAX) {
			memcpy(from, b.data, b.len);
			from[b.len] = '\0';
			addr_domain_lower(from);
			r = 0;
		}
	}
	if (r == 0 && claim != NULL) {
		/* the field as written (name, comment), then the name shown */
		if (other_address(h + one.value, value_len(h, &one), from,
		    claim, claimlen) == 0)
			*claims = 1;
		else if (l.v[0].name != NULL) {
			addr_name_decode(l.v[0].name, &name);
			*claims = other_address(buf_cstr(&name), name.len, from,
			    claim, claimlen) == 0;
		}
	}
	buf_free(&name);
	buf_free(&b);
	addr_list_free(&l);
	return r;
}

int
ar_from(const char *h, size_t n, char *from)
{
	int	 claims;

	return author(h, n, from, &claims, NULL, 0);
}

int
ar_from_claims(const char *h, size_t n, char *from, char *claim,
    size_t claimlen)
{
	int	 claims;

	claim[0] = '\0';
	if (author(h, n, from, &claims, claim, claimlen) == -1)
		return -1;
	if (!claims)
		claim[0] = '\0';
	return 0;
}

int
ar_aligned(const char *d, const char *dom)
{
	size_t	 dl = strlen(d), fl = strlen(dom);

	if (dl == 0 || fl < dl)
		return 0;
	if (strcasecmp(dom + fl - dl, d) != 0)
		return 0;
	return fl == dl || dom[fl - dl - 1] == '.';
}

static const char *
domain_of(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at == NULL ? "" : at + 1;
}

int
ar_keyserver_address(const char *identity, const char *d, const char *from,
    char *out)
{
	const char	*a = NULL;

	if (identity[0] != '\0' && identity[0] != '@')
		a = identity;
	else if (from[0] != '\0' && ar_aligned(d, domain_of(from)))
		a = from;
	if (a == NULL || strlen(a) > AR_FROM_MAX ||
	    addr_check(a, ADDR_LOCAL, NULL, 0) == -1)
		return -1;
	memcpy(out, a, strlen(a) + 1);
	return 0;
}

void
ar_format(const char *id, const struct dkim_result *r, size_t n,
    const char *auth, struct buf *out)
{
	size_t	 i;

	(void)buf_printf(out, "Authentication-Results: %s;", id);
	if (n == 0)
		(void)buf_addstr(out, "\r\n\tdkim=none");
	for (i = 0; i < n; i++) {
		(void)buf_addstr(out, i == 0 ? "\r\n\t" : ";\r\n\t");
		dkim_result_format(&r[i], out);
	}
	if (auth != NULL)
		(void)buf_printf(out, ";\r\n\tauth=pass smtp.auth=%s", auth);
	(void)buf_addstr(out, "\r\n");
}
