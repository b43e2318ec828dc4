/*
 * strings.c - IMAP strings in responses: quoted when that is safe, a
 * literal when the text has CR, LF, NUL or 8-bit bytes or is long, NIL
 * for a missing nstring.  Used by the session and the ENVELOPE and
 * BODYSTRUCTURE writers; no privileges, no input of its own.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"

/* An IMAP string: quoted when that is possible, else a literal. */
void
buf_add_string(struct buf *b, const char *s, size_t len)
{
	size_t	 i;
	int	 lit = len > 1024;

	for (i = 0; i < len && !lit; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ||
		    (unsigned char)s[i] >= 0x80)
			lit = 1;
	if (lit) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_add(b, s, len);
		return;
	}
	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

void
buf_add_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_addstr(b, "NIL");
	else
		buf_add_string(b, s, strlen(s));
}

/*
 * Mailbox names: on disk and towards IMAP4rev1 clients they are in
 * modified UTF-7 (RFC 3501 5.1.3); an IMAP4rev2 session speaks UTF-8.
 */
static const char mb64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static void
mutf7_flush(struct buf *out, const uint16_t *u, size_t n)
{
	uint32_t	 acc = 0;
	int		 bits = 0;
	size_t		 i;

	buf_addc(out, '&');
	for (i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			buf_addc(out, mb64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		buf_addc(out, mb64[(acc << (6 - bits)) & 0x3f]);
	buf_addc(out, '-');
}

/* Next code point of UTF-8 text; -1 if the text is not UTF-8. */
static long
utf8_next(const unsigned char **sp)
{
	const unsigned char	*s = *sp;
	long			 c;
	int			 n, i;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 1;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 2;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 3;
		c = s[0] & 0x07;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
	    (n == 3 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*sp = s + n + 1;
	return c;
}

int
imap_utf8_to_mutf7(const char *in, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	uint16_t		 u[256];
	size_t			 n = 0;
	long			 c;

	buf_reset(out);
	while (*s != '\0') {
		if ((c = utf8_next(&s)) == -1)
			return -1;
		if (c >= 0x20 && c <= 0x7e) {
			if (n > 0) {
				mutf7_flush(out, u, n);
				n = 0;
			}
			if (c == '&')
				buf_addstr(out, "&-");
			else
				buf_addc(out, (int)c);
			continue;
		}
		if (n + 2 > sizeof(u) / sizeof(u[0])) {
			mutf7_flush(out, u, n);
			n = 0;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			u[n++] = (uint16_t)(0xd800 + (c >> 10));
			u[n++] = (uint16_t)(0xdc00 + (c & 0x3ff));
		} else
			u[n++] = (uint16_t)c;
	}
	if (n > 0)
		mutf7_flush(out, u, n);
	buf_add(out, "", 0);
	return 0;
}

static void
utf8_put(struct buf *out, uint32_t c)
{
	if (c < 0x80)
		buf_addc(out, (int)c);
	else if (c < 0x800) {
		buf_addc(out, (int)(0xc0 | (c >> 6)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_addc(out, (int)(0xe0 | (c >> 12)));
		buf_addc(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	} else {
		buf_addc(out, (int)(0xf0 | (c >> 18)));
		buf_addc(out, (int)(0x80 | ((c >> 12) & 0x3f)));
		buf_addc(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	}
}

int
imap_mutf7_to_utf8(const char *in, struct buf *out)
{
	const char	*s = in, *p;
	uint32_t	 acc, hi;
	int		 bits;

	buf_reset(out);
	while (*s != '\0') {
		if (*s != '&') {
			buf_addc(out, *s++);
			continue;
		}
		if (*++s == '-') {
			buf_addc(out, '&');
			s++;
			continue;
		}
		acc = 0;
		bits = 0;
		hi = 0;
		for (; *s != '-'; s++) {
			if (*s == '\0' || (p = strchr(mb64, *s)) == NULL)
				return -1;
			acc = (acc << 6) | (uint32_t)(p - mb64);
			bits += 6;
			if (bits < 16)
				continue;
			bits -= 16;
			uint32_t u = (acc >> bits) & 0xffff;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (hi != 0)
					return -1;
				hi = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				if (hi == 0)
					return -1;
				utf8_put(out, 0x10000 + ((hi - 0xd800) << 10) +
				    (u - 0xdc00));
				hi = 0;
			} else {
				if (hi != 0)
					return -1;
				utf8_put(out, u);
			}
		}
		if (hi != 0 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
			return -1;
		s++;
	}
	buf_add(out, "", 0);
	return 0;
}
