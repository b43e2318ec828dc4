/*
 * utf8.c - UTF-8 validation, modified UTF-7 and charset conversion; see
 * utf8.h.
 *
 * Charset conversion knows a fixed list of the charsets mail is written
 * in.  ISO-8859-1 and Windows-1252 are converted here; the others go
 * through iconv(3), but only under the names listed below: a charset name
 * comes from the sender, and handing any name to iconv_open() would let a
 * message pick any of glibc's converters, some of which have had memory
 * errors on bad input (IBM93x, ISO-2022-JP-3).  A charset outside the list
 * is read as UTF-8.  Runs on hostile input in unprivileged processes.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "utf8.h"

/* ---------------------------------------------------------------------
 * Validation
 */

/*
 * The valid sequence at s[0..n): its length, the code point in *cp_r (if
 * not NULL).  0 for an invalid or truncated sequence or n == 0.
 */
size_t
utf8_decode(const void *p, size_t n, uint32_t *cp_r)
{
	const unsigned char *s = p;
	uint32_t	 cp, min;
	size_t		 len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		len = 1;
		cp = s[0];
		min = 0;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > UTF8_CP_MAX || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp_r != NULL)
		*cp_r = cp;
	return len;
}

/*
 * The bytes of cp into s, which has room for four; returns how many.  A
 * surrogate or a value above U+10FFFF becomes U+FFFD.
 */
size_t
utf8_put(uint32_t cp, void *p)
{
	unsigned char	*s = p;

	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > UTF8_CP_MAX)
		cp = UTF8_REPLACEMENT;
	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = 0xc0 | (cp >> 6);
		s[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = 0xe0 | (cp >> 12);
		s[1] = 0x80 | ((cp >> 6) & 0x3f);
		s[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	s[0] = 0xf0 | (cp >> 18);
	s[1] = 0x80 | ((cp >> 12) & 0x3f);
	s[2] = 0x80 | ((cp >> 6) & 0x3f);
	s[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Append cp as utf8_put() writes it. */
int
utf8_encode(struct buf *out, uint32_t cp)
{
	unsigned char	 s[4];

	return buf_add(out, s, utf8_put(cp, s));
}

static int
is_ctl(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7f;
}

/*
 * Is s[0..n) valid UTF-8 of at most max bytes (0: any length), without
 * what flags forbid (UTF8_NO_NUL, UTF8_NO_CTL)?  1 if so, else 0.
 */
int
utf8_valid(const void *p, size_t n, size_t max, int flags)
{
	const unsigned char *s = p;
	uint32_t	 cp;
	size_t		 i, len;

	if (max > 0 && n > max)
		return 0;
	for (i = 0; i < n; i += len) {
		if ((len = utf8_decode(s + i, n - i, &cp)) == 0)
			return 0;
		if ((cp == 0 && (flags & (UTF8_NO_NUL | UTF8_NO_CTL))) ||
		    ((flags & UTF8_NO_CTL) && is_ctl(cp)))
			return 0;
	}
	return 1;
}

/*
 * Append s[0..n) with every invalid byte made U+FFFD and NUL bytes
 * dropped.  -1 (out unchanged) if out cannot take it all.
 */
int
utf8_sanitize(const void *p, size_t n, struct buf *out)
{
	const unsigned char *s = p;
	size_t		 i, len, start = out->len;
	int		 r = 0;

	for (i = 0; i < n && r == 0; i += len) {
		if ((len = utf8_decode(s + i, n - i, NULL)) == 0) {
			r = utf8_encode(out, UTF8_REPLACEMENT);
			len = 1;
		} else if (s[i] != '\0')
			r = buf_add(out, s + i, len);
	}
	if (r == -1)
		buf_truncate(out, start);
	return r;
}

/* ---------------------------------------------------------------------
 * Charsets
 */

enum cs_kind { CS_UTF8, CS_LATIN1, CS_CP1252, CS_ICONV };

/* Names are compared lowercase without '-', '_', '.' and spaces. */
static const struct charset {
	const char	*name;
	enum cs_kind	 kind;
	const char	*iconv;
} charsets[] = {
	{ "utf8", CS_UTF8, NULL },
	{ "usascii", CS_UTF8, NULL },
	{ "ascii", CS_UTF8, NULL },
	{ "iso88591", CS_LATIN1, NULL },
	{ "latin1", CS_LATIN1, NULL },
	{ "l1", CS_LATIN1, NULL },
	{ "isoir100", CS_LATIN1, NULL },
	{ "cp819", CS_LATIN1, NULL },
	{ "windows1252", CS_CP1252, NULL },
	{ "cp1252", CS_CP1252, NULL },
	{ "xcp1252", CS_CP1252, NULL },
	{ "iso88592", CS_ICONV, "ISO-8859-2" },
	{ "latin2", CS_ICONV, "ISO-8859-2" },
	{ "iso88593", CS_ICONV, "ISO-8859-3" },
	{ "iso88594", CS_ICONV, "ISO-8859-4" },
	{ "iso88595", CS_ICONV, "ISO-8859-5" },
	{ "iso88596", CS_ICONV, "ISO-8859-6" },
	{ "iso88597", CS_ICONV, "ISO-8859-7" },
	{ "iso88598", CS_ICONV, "ISO-8859-8" },
	{ "iso88598i", CS_ICONV, "ISO-8859-8" },
	{ "iso88599", CS_ICONV, "ISO-8859-9" },
	{ "iso885910", CS_ICONV, "ISO-8859-10" },
	{ "iso885911", CS_ICONV, "ISO-8859-11" },
	{ "iso885913", CS_ICONV, "ISO-8859-13" },
	{ "iso885914", CS_ICONV, "ISO-8859-14" },
	{ "iso885915", CS_ICONV, "ISO-8859-15" },
	{ "latin9", CS_ICONV, "ISO-8859-15" },
	{ "iso885916", CS_ICONV, "ISO-8859-16" },
	{ "windows1250", CS_ICONV, "CP1250" },
	{ "cp1250", CS_ICONV, "CP1250" },
	{ "windows1251", CS_ICONV, "CP1251" },
	{ "cp1251", CS_ICONV, "CP1251" },
	{ "windows1253", CS_ICONV, "CP1253" },
	{ "cp1253", CS_ICONV, "CP1253" },
	{ "windows1254", CS_ICONV, "CP1254" },
	{ "cp1254", CS_ICONV, "CP1254" },
	{ "windows1255", CS_ICONV, "CP1255" },
	{ "cp1255", CS_ICONV, "CP1255" },
	{ "windows1256", CS_ICONV, "CP1256" },
	{ "cp1256", CS_ICONV, "CP1256" },
	{ "windows1257", CS_ICONV, "CP1257" },
	{ "cp1257", CS_ICONV, "CP1257" },
	{ "windows1258", CS_ICONV, "CP1258" },
	{ "cp1258", CS_ICONV, "CP1258" },
	{ "windows874", CS_ICONV, "CP874" },
	{ "cp874", CS_ICONV, "CP874" },
	{ "tis620", CS_ICONV, "TIS-620" },
	{ "koi8r", CS_ICONV, "KOI8-R" },
	{ "koi8u", CS_ICONV, "KOI8-U" },
	{ "cp866", CS_ICONV, "CP866" },
	{ "ibm866", CS_ICONV, "CP866" },
	{ "iso2022jp", CS_ICONV, "ISO-2022-JP" },
	{ "shiftjis", CS_ICONV, "SHIFT_JIS" },
	{ "sjis", CS_ICONV, "SHIFT_JIS" },
	{ "xsjis", CS_ICONV, "SHIFT_JIS" },
	{ "cp932", CS_ICONV, "CP932" },
	{ "windows31j", CS_ICONV, "CP932" },
	{ "eucjp", CS_ICONV, "EUC-JP" },
	{ "gb2312", CS_ICONV, "GBK" },
	{ "gbk", CS_ICONV, "GBK" },
	{ "cp936", CS_ICONV, "GBK" },
	{ "gb18030", CS_ICONV, "GB18030" },
	{ "big5", CS_ICONV, "BIG5" },
	{ "big5hkscs", CS_ICONV, "BIG5-HKSCS" },
	{ "euckr", CS_ICONV, "EUC-KR" },
	{ "ksc56011987", CS_ICONV, "CP949" },
	{ "cp949", CS_ICONV, "CP949" },
	{ "utf16", CS_ICONV, "UTF-16" },
	{ "utf16be", CS_ICONV, "UTF-16BE" },
	{ "utf16le", CS_ICONV, "UTF-16LE" },
};

/* Windows-1252 0x80-0x9f; 0 where undefined. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

/* The entry for a charset name; a '*' ends it (RFC 2231 language). */
static const struct charset *
charset_find(const char *name)
{
	char		 key[32];
	size_t		 i, k = 0;

	if (name == NULL)
		return &charsets[0];
	for (; *name != '\0' && *name != '*'; name++) {
		if (strchr("-_. ", *name) != NULL)
			continue;
		if (k + 1 >= sizeof(key))
			return NULL;
		key[k++] = (*name >= 'A' && *name <= 'Z') ? *name + 32 : *name;
	}
	key[k] = '\0';
	if (k == 0)
		return &charsets[0];
	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		if (strcmp(key, charsets[i].name) == 0)
			return &charsets[i];
	return NULL;
}

/* Is name a charset utf8_from_charset() converts (not just reads)? */
int
utf8_charset_known(const char *name)
{
	return charset_find(name) != NULL;
}

/* One byte of ISO-8859-1 or Windows-1252. */
static int
latin_byte(int cp1252, unsigned char c, int flags, struct buf *out)
{
	uint32_t	 cp = c;

	if (cp1252 && c >= 0x80 && c < 0xa0) {
		cp = cp1252_hi[c - 0x80];
		if (cp == 0 && (flags & UTF8_REFUSE))
			return -1;
		if (cp == 0)
			cp = UTF8_REPLACEMENT;
	}
	return utf8_encode(out, cp);
}

/* UTF-8 in: copied if valid, else replaced or refused. */
static int
utf8_in(const unsigned char *s, size_t n, int flags, struct buf *out)
{
	if (flags & UTF8_REFUSE) {
		if (!utf8_valid(s, n, 0, UTF8_NO_NUL))
			return -1;
		return buf_add(out, s, n);
	}
	return utf8_sanitize(s, n, out);
}

static int
iconv_in(iconv_t cd, const unsigned char *in, size_t len, int flags,
    struct buf *out)
{
	char	 tmp[1024], *ip = (char *)(uintptr_t)in, *op;
	size_t	 il = len, ol, r;

	while (il > 0) {
		op = tmp;
		ol = sizeof(tmp);
		r = iconv(cd, &ip, &il, &op, &ol);
		if (op > tmp && utf8_in((unsigned char *)tmp,
		    (size_t)(op - tmp), flags, out) == -1)
			return -1;
		if (r == (size_t)-1 && errno != E2BIG) {
			/* EILSEQ or EINVAL: replace one byte, go on */
			if ((flags & UTF8_REFUSE) ||
			    utf8_encode(out, UTF8_REPLACEMENT) == -1)
				return -1;
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	return 0;
}

static int
convert(const struct charset *cs, const unsigned char *s, size_t n,
    int flags, struct buf *out)
{
	iconv_t		 cd;
	size_t		 i;
	int		 r;

	switch (cs->kind) {
	case CS_LATIN1:
	case CS_CP1252:
		for (i = 0; i < n; i++) {
			if (s[i] == 0 && (flags & UTF8_REFUSE))
				return -1;
			if (s[i] != 0 && latin_byte(cs->kind == CS_CP1252,
			    s[i], flags, out) == -1)
				return -1;
		}
		return 0;
	case CS_ICONV:
		if ((cd = iconv_open("UTF-8", cs->iconv)) == (iconv_t)-1)
			break;
		r = iconv_in(cd, s, n, flags, out);
		iconv_close(cd);
		return r;
	case CS_UTF8:
		break;
	}
	return utf8_in(s, n, flags, out);
}

/*
 * Convert n bytes of in, written in charset, to UTF-8 appended to out.
 * What does not convert becomes U+FFFD and NUL bytes are dropped, unless
 * flags has UTF8_REFUSE: then either, or a charset that is not known,
 * makes it return -1.  An unknown charset is otherwise read as UTF-8.
 * -1 also when out cannot take it all; on -1 out is as it was.
 */
int
utf8_from_charset(const char *charset, const void *in, size_t n, int flags,
    struct buf *out)
{
	const struct charset *cs = charset_find(charset);
	size_t		 start = out->len;

	if (cs == NULL && (flags & UTF8_REFUSE))
		return -1;
	if (convert(cs != NULL ? cs : &charsets[0], in, n, flags, out) == -1) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Modified UTF-7 (RFC 3501 5.1.3): printable ASCII stands for itself but
 * '&', written "&-"; anything else is UTF-16 in base64 with ',' for '/',
 * between '&' and '-'.  Strict both ways: one name has one spelling.
 */

static const char mb64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct mutf7 {
	struct buf	*out;
	uint32_t	 acc;
	int		 bits;
	int		 open;
	int		 err;
};

static void
mutf7_put(struct mutf7 *m, int c)
{
	if (buf_addc(m->out, c) == -1)
		m->err = 1;
}

static void
mutf7_unit(struct mutf7 *m, uint32_t u)
{
	if (!m->open) {
		mutf7_put(m, '&');
		m->open = 1;
		m->acc = 0;
		m->bits = 0;
	}
	m->acc = (m->acc << 16) | u;
	m->bits += 16;
	while (m->bits >= 6) {
		m->bits -= 6;
		mutf7_put(m, mb64[(m->acc >> m->bits) & 0x3f]);
	}
	m->acc &= (1U << m->bits) - 1;
}

static void
mutf7_close(struct mutf7 *m)
{
	if (!m->open)
		return;
	if (m->bits > 0)
		mutf7_put(m, mb64[(m->acc << (6 - m->bits)) & 0x3f]);
	mutf7_put(m, '-');
	m->open = 0;
}

/*
 * Append the modified UTF-7 form of the UTF-8 string in; each run of
 * characters that are not printable ASCII is one base64 section.  -1 (out
 * as it was) if in is not valid UTF-8 or out is full.
 */
int
utf8_to_mutf7(const char *in, struct buf *out)
{
	struct mutf7	 m;
	size_t		 n = strlen(in), i, len, start = out->len;
	uint32_t	 cp;

	memset(&m, 0, sizeof(m));
	m.out = out;
	for (i = 0; i < n && !m.err; i += len) {
		if ((len = utf8_decode(in + i, n - i, &cp)) == 0) {
			m.err = 1;
			break;
		}
		if (cp >= 0x20 && cp <= 0x7e) {
			mutf7_close(&m);
			mutf7_put(&m, (int)cp);
			if (cp == '&')
				mutf7_put(&m, '-');
		} else if (cp >= 0x10000) {
			mutf7_unit(&m, 0xd800 + ((cp - 0x10000) >> 10));
			mutf7_unit(&m, 0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else
			mutf7_unit(&m, cp);
	}
	mutf7_close(&m);
	if (m.err) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

/* One UTF-16 unit of a section; -1 if it breaks a rule. */
static int
mutf7_take(uint32_t u, uint32_t *hi, struct buf *out)
{
	if (*hi != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			return -1;	/* high surrogate alone */
		u = 0x10000 + ((*hi - 0xd800) << 10) + (u - 0xdc00);
		*hi = 0;
		return utf8_encode(out, u);
	}
	if (u >= 0xd800 && u <= 0xdbff) {
		*hi = u;
		return 0;
	}
	/* a low surrogate alone, NUL, or ASCII that stands for itself */
	if ((u >= 0xdc00 && u <= 0xdfff) || u == 0 || (u >= 0x20 && u <= 0x7e))
		return -1;
	return utf8_encode(out, u);
}

/* The base64 section at *sp (after '&') up to and past its '-'. */
static int
mutf7_section(const char **sp, struct buf *out)
{
	const char	*s = *sp, *p;
	uint32_t	 acc = 0, hi = 0;
	int		 bits = 0;

	for (; *s != '-'; s++) {
		if (*s == '\0' || (p = strchr(mb64, *s)) == NULL)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - mb64);
		if ((bits += 6) < 16)
			continue;
		bits -= 16;
		if (mutf7_take((acc >> bits) & 0xffff, &hi, out) == -1)
			return -1;
		acc &= (1U << bits) - 1;
	}
	/* a whole number of units, the spare bits zero */
	if (hi != 0 || bits >= 6 || acc != 0 || s == *sp)
		return -1;
	*sp = s + 1;
	return 0;
}

/*
 * Append the UTF-8 form of the modified UTF-7 string in.  -1 (out as it
 * was) for anything RFC 3501 does not allow or that has a shorter
 * spelling: bytes outside printable ASCII, a section that is unterminated,
 * has a character outside the alphabet, leaves bits over, encodes
 * printable ASCII or a lone surrogate, or follows another section.
 */
int
utf8_from_mutf7(const char *in, struct buf *out)
{
	const char	*s = in;
	size_t		 start = out->len;
	int		 r = 0;

	while (*s != '\0' && r == 0) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			r = -1;
		else if (*s != '&')
			r = buf_addc(out, *s++);
		else if (s[1] == '-') {
			r = buf_addc(out, '&');
			s += 2;
		} else {
			s++;
			if ((r = mutf7_section(&s, out)) == 0 &&
			    s[0] == '&' && s[1] != '-')
				r = -1;
		}
	}
	if (r == -1)
		buf_truncate(out, start);
	return r;
}
