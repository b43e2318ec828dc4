/*
 * ks_lookup_parse.c - the key server client's line parser: one line a
 * key server sent (its CRLF removed), one meaning (ks_lookup.h).
 *
 * Called by the client (ks_lookup.c) in smtpd.receiver on lines from any
 * host on the Internet that an MX record names, and by the fuzz target.
 * Pure functions: no I/O, no allocation but the caller's buf, every
 * field bounded; anything that is not exactly a line of the protocol is
 * KSL_BAD, and the client then treats the server as having no key.
 *
 * Strictness: one space between fields, no trailing space; a host is a
 * domain name of letters, digits, '-' and '.' or an IPv4 address, or an
 * IPv6 address in brackets; a selector is a domain name's labels (RFC
 * 6376 section 3.1); an algorithm is one common/dkim verifies; a key is
 * non-empty base64 (the padding only at the end), whose decoding is left
 * to common/dkim's key record parser, which takes the record apart with
 * the same rules as one from DNS.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ks_lookup.h"

/* The next space-separated field of line[*pos..len): its length. */
static size_t
field(const char *line, size_t len, size_t *pos, const char **f)
{
	size_t	 start = *pos, end;

	*f = line + start;
	for (end = start; end < len && line[end] != ' '; end++)
		;
	*pos = end < len ? end + 1 : end;
	return end - start;
}

static int
is_host(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > KS_LOOKUP_HOST_MAX)
		return 0;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return 0;
		for (i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return 0;
		return 1;
	}
	if (s[0] == '.' || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int
is_selector(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > DKIM_SELECTOR_MAX || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int
is_base64(const char *s, size_t n)
{
	size_t	 i, pad = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '/'))
			return 0;
	}
	return pad <= 2;
}

static enum dkim_alg
alg_of(const char *s, size_t n)
{
	if (n == 10 && memcmp(s, "rsa-sha256", 10) == 0)
		return DKIM_ALG_RSA_SHA256;
	if (n == 14 && memcmp(s, "ed25519-sha256", 14) == 0)
		return DKIM_ALG_ED25519_SHA256;
	return DKIM_ALG_NONE;
}

static int
no_nul(const char *line, size_t len)
{
	return len <= KS_LOOKUP_LINE_MAX && memchr(line, '\0', len) == NULL;
}

/* "-FW host:port", the last ':' ending the host ("[v6]:port" too). */
static void
parse_forward(const char *line, size_t len, struct ks_line *l)
{
	const char	*hp = line + 4, *colon;
	size_t		 n = len - 4, hlen, i;
	long		 port = 0;

	if ((colon = memrchr(hp, ':', n)) == NULL)
		return;
	hlen = (size_t)(colon - hp);
	if (!is_host(hp, hlen) || (hp[0] != '[' && memchr(hp, ':', hlen)))
		return;
	if (colon + 1 == hp + n || n - hlen - 1 > 5)
		return;
	for (i = hlen + 1; i < n; i++) {
		if (!isdigit((unsigned char)hp[i]))
			return;
		port = port * 10 + (hp[i] - '0');
	}
	if (port < 1 || port > 65535)
		return;
	memcpy(l->host, hp, hlen);
	l->host[hlen] = '\0';
	l->port = (int)port;
	l->kind = KSL_FORWARD;
}

void
ks_lookup_parse_greeting(const char *line, size_t len, struct ks_line *l)
{
	const char	*f;
	size_t		 pos = 4, n;

	memset(l, 0, sizeof(*l));
	l->kind = KSL_BAD;
	if (!no_nul(line, len) || len < 4)
		return;
	if (memcmp(line, "-FW ", 4) == 0) {
		parse_forward(line, len, l);
		return;
	}
	if (memcmp(line, "+OK ", 4) != 0)
		return;
	n = field(line, len, &pos, &f);
	if (!is_host(f, n))
		return;
	memcpy(l->host, f, n);
	l->host[n] = '\0';
	n = field(line, len, &pos, &f);
	if (n == 8 && memcmp(f, "keystore", 8) == 0 && pos == len &&
	    line[len - 1] != ' ')
		l->kind = KSL_GREETING;
}

void
ks_lookup_parse_answer(const char *line, size_t len, struct ks_line *l)
{
	const char	*f;
	size_t		 pos = 4, n, i;

	memset(l, 0, sizeof(*l));
	l->kind = KSL_BAD;
	if (!no_nul(line, len))
		return;
	if (len == 1 && line[0] == '.') {
		l->kind = KSL_END;
		return;
	}
	if (len >= 4 && memcmp(line, "-ERR", 4) == 0 &&
	    (len == 4 || line[4] == ' ')) {
		l->kind = KSL_ERR;
		return;
	}
	if (len < 4 || memcmp(line, "+OK ", 4) != 0)
		return;
	n = field(line, len, &pos, &f);
	if (!is_selector(f, n))
		return;
	for (i = 0; i < n; i++)
		l->selector[i] = (char)tolower((unsigned char)f[i]);
	l->selector[n] = '\0';
	n = field(line, len, &pos, &f);
	if ((l->alg = alg_of(f, n)) == DKIM_ALG_NONE)
		return;
	n = field(line, len, &pos, &f);
	if (pos != len || line[len - 1] == ' ')
		return;
	if (n == 7 && memcmp(f, "revoked", 7) == 0) {
		l->kind = KSL_REVOKED;
		return;
	}
	if (!is_base64(f, n))
		return;
	l->key_off = (size_t)(f - line);
	l->key_len = n;
	l->kind = KSL_KEY;
}

int
ks_lookup_record(const struct ks_line *l, const char *line, struct buf *out)
{
	const char	*k;

	if (l->kind != KSL_KEY && l->kind != KSL_REVOKED)
		return -1;
	k = l->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa";
	if (buf_printf(out, "v=DKIM1; k=%s; p=", k) == -1)
		return -1;
	if (l->kind == KSL_KEY && buf_add(out, line + l->key_off,
	    l->key_len) == -1)
		return -1;
	return 0;
}
