/*
 * addr.c - RFC 5321 mailboxes and paths: the validation of a mailbox in
 * each context, its canonical form, the domain rule and the delimiting
 * of a path.  The rules are written down in addr.h.
 *
 * Called on network input in the unprivileged SMTP and LMTP sessions
 * (through common/smtp_parse.c), and again at every boundary where an
 * address crosses to a more privileged process (the parents of submitd,
 * smtpd and mda, the queue, the delivery), so each of them reads an
 * address exactly as the others do.  Needs no privileges; never reads
 * past the string's NUL; allocates only a buf as long as the input.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "addr_int.h"
#include "buf.h"
#include "utf8.h"

int
addr_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
addr_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A byte for a message: itself if printable, else \xNN. */
static const char *
show(unsigned char c, char *b, size_t len)
{
	if (c > 32 && c < 127)
		snprintf(b, len, "%c", c);
	else
		snprintf(b, len, "\\x%02x", c);
	return b;
}

/* Is v[0..n) a dot-string (non-ASCII bytes counting as atext)? */
static int
is_dotstring(const char *v, size_t n)
{
	size_t	 i;

	if (n == 0 || v[0] == '.' || v[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (v[i] == '.' ? v[i + 1] == '.' :
		    !addr_atext((unsigned char)v[i]) &&
		    (unsigned char)v[i] < 0x80)
			return 0;
	}
	return 1;
}

void
addr_quote_write(const char *v, size_t n, struct buf *out)
{
	size_t	 i;

	buf_addc(out, '"');
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, v[i]);
	}
	buf_addc(out, '"');
}

void
addr_local_write(const char *v, size_t n, struct buf *out)
{
	if (is_dotstring(v, n))
		buf_add(out, v, n);
	else
		addr_quote_write(v, n, out);
}

/* The value of a local part: printable ASCII, or UTF-8 if allowed. */
static int
local_value_check(const char *v, size_t n, int flags, char *err,
    size_t errlen)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t	 i;
	int	 k;

	for (i = 0; i < n; i += (size_t)k) {
		k = 1;
		if (p[i] >= 0x80) {
			if (!(flags & ADDR_UTF8))
				return addr_err(err, errlen, "local part has a "
				    "non-ASCII character");
			if ((k = (int)utf8_decode(p + i, n - i, NULL)) == 0)
				return addr_err(err, errlen, "local part is "
				    "not valid UTF-8");
		} else if (p[i] < 32 || p[i] == 127)
			return addr_err(err, errlen, "local part has a "
			    "control character");
		else if (p[i] == '/' && (flags & ADDR_LOCAL))
			return addr_err(err, errlen, "local part of a mailbox "
			    "here may not contain '/'");
	}
	return 0;
}

static int
literal_check(const char *d, size_t n, char *err, size_t errlen)
{
	char		 tmp[64];
	unsigned char	 bin[16];
	int		 af = AF_INET;
	size_t		 skip = 1;

	if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return addr_err(err, errlen, "bad address literal");
	if (n > 6 && strncasecmp(d + 1, "IPv6:", 5) == 0) {
		af = AF_INET6;
		skip = 6;
	}
	memcpy(tmp, d + skip, n - skip - 1);
	tmp[n - skip - 1] = '\0';
	if (strlen(tmp) != n - skip - 1 || inet_pton(af, tmp, bin) != 1)
		return addr_err(err, errlen, "bad address literal");
	return 0;
}

/* One label's character at p (n left): its length, or -1 with err. */
static int
label_char(const unsigned char *p, size_t n, int flags, char *err,
    size_t errlen)
{
	char	 b[8];
	int	 k;

	if (is_alnum(*p) || *p == '-' || (*p == '_' && (flags & ADDR_HELO)))
		return 1;
	if (*p < 0x80)
		return addr_err(err, errlen, "domain has the character '%s' "
		    "not allowed in a host name", show(*p, b, sizeof(b)));
	if (!(flags & ADDR_UTF8))
		return addr_err(err, errlen, "domain has a non-ASCII "
		    "character (use its xn-- form)");
	if ((k = (int)utf8_decode(p, n, NULL)) == 0)
		return addr_err(err, errlen, "domain is not valid UTF-8");
	return k;
}

static int
domain_span_check(const char *d, size_t n, int flags, char *err,
    size_t errlen)
{
	const unsigned char *p = (const unsigned char *)d;
	size_t	 i, start = 0;
	int	 k;

	if (n == 0)
		return addr_err(err, errlen, "domain is empty");
	if (d[0] == '[') {
		if (flags & (ADDR_LOCAL | ADDR_NOLITERAL))
			return addr_err(err, errlen, "address literals are "
			    "not allowed here");
		return literal_check(d, n, err, errlen);
	}
	if (n > ADDR_DOMAIN_MAX)
		return addr_err(err, errlen, "domain is longer than %d octets",
		    ADDR_DOMAIN_MAX);
	for (i = 0; i <= n; i += (size_t)k) {
		k = 1;
		if (i < n && p[i] != '.') {
			if ((k = label_char(p + i, n - i, flags, err,
			    errlen)) == -1)
				return -1;
			continue;
		}
		if (i == start)
			return addr_err(err, errlen, "domain has an empty "
			    "label");
		if (i - start > ADDR_LABEL_MAX)
			return addr_err(err, errlen, "domain label is longer "
			    "than %d octets", ADDR_LABEL_MAX);
		if (p[start] == '-' || p[i - 1] == '-')
			return addr_err(err, errlen, "domain label begins or "
			    "ends with '-'");
		start = i + 1;
	}
	return 0;
}

int
addr_domain_check(const char *d, int flags, char *err, size_t errlen)
{
	size_t	 n = strlen(d);

	if (flags & ADDR_LOCAL)
		flags &= ~(ADDR_UTF8 | ADDR_HELO);
	if ((flags & ADDR_HELO) && n > 1 && d[n - 1] == '.' && d[0] != '[')
		n--;
	return domain_span_check(d, n, flags, err, errlen);
}

int
addr_mailbox_canon(const char *lv, size_t ln, const char *d, size_t dn,
    int flags, struct buf *out, char *err, size_t errlen)
{
	size_t	 start = out->len;

	flags &= ~ADDR_HELO;
	if (flags & ADDR_LOCAL)
		flags &= ~ADDR_UTF8;
	if (local_value_check(lv, ln, flags, err, errlen) == -1)
		return -1;
	addr_local_write(lv, ln, out);
	if (out->len - start > ADDR_LOCAL_MAX)
		return addr_err(err, errlen, "local part is longer than %d "
		    "octets", ADDR_LOCAL_MAX);
	if (domain_span_check(d, dn, flags, err, errlen) == -1)
		return -1;
	buf_addc(out, '@');
	buf_add(out, d, dn);
	if (out->len - start > ADDR_MAX)
		return addr_err(err, errlen, "address is longer than %d octets",
		    ADDR_MAX);
	return 0;
}

/* A quoted local part at a: its value into v; the end (at '@') or NULL. */
static const char *
quoted_take(const char *a, struct buf *v, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)a + 1;

	for (; *p != '"'; p++) {
		if (*p == '\0') {
			addr_err(err, errlen, "quoted local part is not "
			    "closed");
			return NULL;
		}
		if (*p == '\\') {
			if (p[1] < 32 || p[1] > 126) {
				addr_err(err, errlen, "bad backslash escape in "
				    "quoted local part");
				return NULL;
			}
			p++;
		}
		buf_addc(v, *p);
	}
	return (const char *)p + 1;
}

/* A dot-string local part at a: the end (at '@') or NULL with err. */
static const char *
dotstring_take(const char *a, int flags, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)a;
	char	 b[8];

	if (*p == '.')
		goto dot;
	for (; *p != '\0' && *p != '@'; p++) {
		if (*p == '.' && p[1] == '.') {
			addr_err(err, errlen, "local part has two dots in a "
			    "row");
			return NULL;
		}
		if (*p == '.' || *p >= 0x80)
			continue;
		if (*p == '/' && (flags & ADDR_LOCAL))
			continue;	/* local_value_check says why */
		if (!addr_atext(*p)) {
			addr_err(err, errlen, "local part has the character "
			    "'%s' not allowed unquoted", show(*p, b,
			    sizeof(b)));
			return NULL;
		}
	}
	if (p > (const unsigned char *)a && p[-1] == '.')
		goto dot;
	return (const char *)p;
dot:
	addr_err(err, errlen, "local part begins or ends with a dot");
	return NULL;
}

static int
canon_buf(const char *a, int flags, struct buf *out, char *err,
    size_t errlen)
{
	struct buf	 v;
	const char	*end;
	int		 r;

	if (*a == '\0')
		return addr_err(err, errlen, "address is empty");
	buf_init(&v, 0);
	if (*a == '"') {
		if (flags & ADDR_LOCAL)
			return addr_err(err, errlen, "quoted local parts are "
			    "not allowed here");
		end = quoted_take(a, &v, err, errlen);
	} else if ((end = dotstring_take(a, flags, err, errlen)) != NULL)
		buf_add(&v, a, (size_t)(end - a));
	r = -1;
	if (end == NULL)
		;
	else if (*end != '@')
		addr_err(err, errlen, *end == '\0' && *a != '"' ?
		    "address has no '@' (want local@domain)" :
		    "no '@' after the quoted local part");
	else if (end == a)
		addr_err(err, errlen, "local part is empty");
	else
		r = addr_mailbox_canon(v.data != NULL ? v.data : "", v.len,
		    end + 1, strlen(end + 1), flags, out, err, errlen);
	buf_free(&v);
	return r;
}

int
addr_check(const char *a, int flags, char *err, size_t errlen)
{
	struct buf	 out;
	int		 r;

	buf_init(&out, 0);
	r = canon_buf(a, flags, &out, err, errlen);
	buf_free(&out);
	return r;
}

int
addr_canon(const char *a, int flags, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct buf	 b;
	int		 r;

	buf_init(&b, 0);
	if ((r = canon_buf(a, flags, &b, err, errlen)) == 0 &&
	    b.len >= outlen)
		r = addr_err(err, errlen, "address is too long");
	if (r == 0)
		memcpy(out, b.data, b.len + 1);
	buf_free(&b);
	return r;
}

void
addr_domain_lower(char *a)
{
	char	*p;

	if ((p = strrchr(a, '@')) == NULL)
		return;
	for (; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* An RFC 5321 A-d-l at s ("@" Domain *("," "@" Domain) ":"): its end. */
static const char *
route_skip(const char *s, int flags)
{
	const char	*p = s;
	size_t		 n;

	for (;;) {
		if (*p != '@')
			return NULL;
		n = strcspn(p + 1, ",:>");
		if (domain_span_check(p + 1, n, flags | ADDR_NOLITERAL, NULL,
		    0) == -1)
			return NULL;
		p += 1 + n;
		if (*p == ':')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

int
addr_path_scan(const char *s, int flags, struct addr_path *ap)
{
	const char	*p = s + 1, *start;
	int		 inq = 0;

	memset(ap, 0, sizeof(*ap));
	if (*s != '<')
		return -1;
	if (*p == '@' && (p = route_skip(p, flags)) == NULL)
		return -1;
	for (start = p; *p != '\0'; p++) {
		if (inq && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			inq = !inq;
		else if (*p == '>' && !inq)
			break;
	}
	if (*p != '>' || (p == start && start != s + 1))
		return -1;	/* unclosed, or a route to nobody */
	ap->mbox = (size_t)(start - s);
	ap->mboxlen = (size_t)(p - start);
	ap->len = (size_t)(p + 1 - s);
	return ap->len <= ADDR_PATH_MAX ? 0 : -1;
}
