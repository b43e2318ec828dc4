/*
 * sortkey.c - the keys SORT and THREAD compare (RFC 5256, RFC 5957):
 * the base subject (RFC 5256 2.1), strings casemapped the way Dovecot's
 * i;unicode-casemap does (titlecase, Latin-1 letters decomposed to base
 * letter and combining mark), the sent date of a Date field (RFC 5322
 * with its obsolete forms) and the first address of an address field.
 *
 * Called by cmd-sort.c and thread.c in the per-user imapd process.  The
 * input is header values of stored mail, written by anyone: every
 * function reads only within the length given, and output goes to a
 * struct buf.  Addresses are read by common/addr as ENVELOPE reads them.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "mime.h"
#include "sort.h"
#include "utf8.h"

#define SORTKEY_ADDR_ITEMS	64	/* only the first is used */

/* Combining marks of the Latin-1 letters U+00C0..U+00DE. */
static const char l1_base[] = "AAAAAA\0CEEEEIIII\0NOOOOO\0\0UUUUY\0";
static const uint16_t l1_mark[] = {
	0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0, 0x327,
	0x300, 0x301, 0x302, 0x308, 0x300, 0x301, 0x302, 0x308,
	0, 0x303, 0x300, 0x301, 0x302, 0x303, 0x308, 0,
	0, 0x300, 0x301, 0x302, 0x308, 0x301, 0
};

/* The uppercase (titlecase) of c outside Latin-1. */
static uint32_t
upper_cp(uint32_t c)
{
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x131)
			return 'I';
		if (c == 0x17f)
			return 'S';
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c : c - 1;
		if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x178)
			return c;
		return c & ~1U;
	}
	if ((c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) ||
	    (c >= 0x430 && c <= 0x44f))
		return c - 0x20;
	if (c == 0x3c2)
		return 0x3a3;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	return c;
}

/*
 * s as the form strings compare in: titlecase, Latin-1 letters
 * decomposed, invalid UTF-8 as U+FFFD.
 */
void
imap_casemap(const char *s, size_t len, struct buf *out)
{
	uint32_t	 c, mark;
	size_t		 i, n;

	for (i = 0; i < len; i += n) {
		if ((unsigned char)s[i] < 0x80) {
			buf_addc(out, toupper((unsigned char)s[i]));
			n = 1;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, &c)) == 0) {
			c = UTF8_REPLACEMENT;
			n = 1;
		}
		mark = 0;
		if (c == 0xb5)
			c = 0x39c;
		else if (c == 0xff) {
			c = 'Y';
			mark = 0x308;
		} else if (c >= 0xc0 && c <= 0xfe && c != 0xd7 && c != 0xdf &&
		    c != 0xf7) {
			c &= ~0x20U;
			if (l1_base[c - 0xc0] != '\0') {
				mark = l1_mark[c - 0xc0];
				c = (unsigned char)l1_base[c - 0xc0];
			}
		} else
			c = upper_cp(c);
		utf8_encode(out, c);
		if (mark != 0)
			utf8_encode(out, mark);
	}
}

/* One subj-blob "[...]" and the space after it at s[*p]. */
static int
skip_blob(const char *s, size_t len, size_t *p)
{
	size_t	 i = *p;

	if (i >= len || s[i] != '[')
		return 0;
	for (i++; i < len && s[i] != '[' && s[i] != ']'; i++)
		;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	if (i < len && s[i] == ' ')
		i++;
	*p = i;
	return 1;
}

/* subj-leader: *subj-blob subj-refwd, or one space (step 3). */
static int
skip_leader(const char *s, size_t len, size_t *p, int *reply)
{
	size_t	 i = *p;
	int	 r = 0;

	if (i < len && s[i] == ' ') {
		*p = ++i;
		r = 1;
	}
	while (i < len && s[i] == '[')
		if (!skip_blob(s, len, &i))
			return r;
	if (len - i >= 3 && memcmp(s + i, "FWD", 3) == 0)
		i += 3;
	else if (len - i >= 2 && (memcmp(s + i, "RE", 2) == 0 ||
	    memcmp(s + i, "FW", 2) == 0))
		i += 2;
	else
		return r;
	if (i < len && s[i] == ' ')
		i++;
	if (i < len && s[i] == '[' && !skip_blob(s, len, &i))
		return r;
	if (i >= len || s[i] != ':')
		return r;
	*p = i + 1;
	*reply = 1;
	return 1;
}

/* Step 4: a leading subj-blob, when something is left after it. */
static int
skip_blob_nonempty(const char *s, size_t len, size_t *p)
{
	size_t	 i = *p;

	if (skip_blob(s, len, &i) && i < len) {
		*p = i;
		return 1;
	}
	return 0;
}

/* Step 2: subj-trailer "(fwd)" / WSP at the end, repeatedly. */
static size_t
cut_trailers(const char *s, size_t start, size_t len, int *reply)
{
	while (len > start) {
		if (s[len - 1] == ' ')
			len--;
		else if (len - start >= 5 &&
		    memcmp(s + len - 5, "(FWD)", 5) == 0) {
			len -= 5;
			*reply = 1;
		} else
			break;
	}
	return len;
}

/* Step 1: decoded, casemapped, whitespace runs as one space. */
static void
subject_prepare(const char *v, size_t len, struct buf *out)
{
	struct buf	 dec, cm;
	size_t		 i;
	int		 sp = 0;

	buf_init(&dec, 0);
	buf_init(&cm, 0);
	mime_header_decode(v, len, &dec);
	imap_casemap(buf_cstr(&dec), dec.len, &cm);
	for (i = 0; i < cm.len; i++) {
		if (cm.data[i] == ' ' || cm.data[i] == '\t' ||
		    cm.data[i] == '\r' || cm.data[i] == '\n') {
			if (!sp)
				buf_addc(out, ' ');
			sp = 1;
		} else {
			buf_addc(out, cm.data[i]);
			sp = 0;
		}
	}
	buf_free(&dec);
	buf_free(&cm);
}

/*
 * The base subject (RFC 5256 2.1) of a Subject value (folded or not, with
 * encoded words), casemapped, appended to out.  1 if the subject was a
 * reply or forward ("Re:", "Fwd:", "(fwd)", "[fwd: ...]"), else 0.
 */
int
imap_base_subject(const char *v, size_t len, struct buf *out)
{
	struct buf	 b;
	size_t		 start = 0, end;
	int		 reply = 0, found;
	const char	*s;

	buf_init(&b, 0);
	subject_prepare(v, len, &b);
	s = buf_cstr(&b);
	end = b.len;
	for (;;) {
		end = cut_trailers(s, start, end, &reply);
		do {
			found = skip_leader(s, end, &start, &reply);
			found |= skip_blob_nonempty(s, end, &start);
		} while (found);
		/* step 6: "[fwd:" subject "]" */
		if (end - start >= 6 && memcmp(s + start, "[FWD:", 5) == 0 &&
		    s[end - 1] == ']') {
			start += 5;
			end--;
			reply = 1;
			continue;
		}
		break;
	}
	buf_add(out, s + start, end - start);
	buf_free(&b);
	return reply;
}

static const char *
skip_cfws(const char *s, const char *e)
{
	int	 depth;

	for (;;) {
		while (s < e && isspace((unsigned char)*s))
			s++;
		if (s >= e || *s != '(')
			return s;
		for (depth = 0; s < e; s++) {
			if (*s == '\\' && s + 1 < e)
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

/* A number of at most max digits at *sp; -1 if none. */
static int
date_num(const char **sp, const char *e, int max)
{
	const char	*s = *sp;
	int		 v = 0, n = 0;

	while (s < e && isdigit((unsigned char)*s) && n < max) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0)
		return -1;
	*sp = s;
	return v;
}

static const struct {
	const char	*name;
	int		 minutes;
} zones[] = {
	{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
	{ "EDT", -240 }, { "CST", -360 }, { "CDT", -300 }, { "MST", -420 },
	{ "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
};

/* The zone at s as minutes east of UTC; an unknown one is UTC. */
static int
date_zone(const char *s, const char *e)
{
	const char	*p;
	size_t		 i, n;
	int		 v, sign;

	if (s < e && (*s == '+' || *s == '-')) {
		sign = *s == '-' ? -1 : 1;
		p = s + 1;
		if (e - p < 4 || (v = date_num(&p, e, 4)) < 0 || p - s != 5)
			return 0;
		return sign * ((v / 100) * 60 + v % 100);
	}
	for (n = 0; s + n < e && isalpha((unsigned char)s[n]); n++)
		;
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == n &&
		    strncasecmp(s, zones[i].name, n) == 0)
			return zones[i].minutes;
	return 0;
}

/*
 * The Date field value v as seconds since the epoch (UTC): [day-of-week
 * ","] day month year hour ":" minute [":" second] zone, with comments
 * and two- or three-digit years (RFC 5322 4.3).  -1 if it is not one.
 */
int
imap_sent_date(const char *v, size_t len, int64_t *t_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	const char	*s = v, *e = v + len, *m, *p;
	struct tm	 tm;
	int		 day, year, hh, mm, ss = 0, mon;
	size_t		 i;

	s = skip_cfws(s, e);
	if (s < e && isalpha((unsigned char)*s)) {
		while (s < e && isalpha((unsigned char)*s))
			s++;
		s = skip_cfws(s, e);
		if (s >= e || *s != ',')
			return -1;
		s = skip_cfws(s + 1, e);
	}
	if ((day = date_num(&s, e, 2)) < 1 || day > 31)
		return -1;
	s = skip_cfws(s, e);
	if (e - s < 3)
		return -1;
	for (mon = -1, m = months, i = 0; i < 12; i++, m += 3)
		if (strncasecmp(s, m, 3) == 0)
			mon = (int)i;
	if (mon == -1)
		return -1;
	s = skip_cfws(s + 3, e);
	p = s;
	if ((year = date_num(&s, e, 4)) < 0)
		return -1;
	if (s - p == 3 || (s - p == 2 && year >= 50))
		year += 1900;
	else if (s - p < 3)
		year += 2000;
	s = skip_cfws(s, e);
	if ((hh = date_num(&s, e, 2)) < 0 || hh > 23 || s >= e || *s++ != ':' ||
	    (mm = date_num(&s, e, 2)) < 0 || mm > 59)
		return -1;
	if (s < e && *s == ':' && (s++, (ss = date_num(&s, e, 2)) < 0 ||
	    ss > 60))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t_r = (int64_t)timegm(&tm) -
	    (int64_t)date_zone(skip_cfws(s, e), e) * 60;
	return 0;
}

/*
 * The sort key of an address field (From, To, Cc): the addr-mailbox of
 * its first address (RFC 5256; a group's name when it starts with a
 * group, as ENVELOPE shows it), or with IMAP_ADDR_DISPLAY its display
 * name decoded, else its addr-spec (RFC 5957).  Casemapped; nothing when
 * the field has no address.
 */
void
imap_addr_key(const char *v, size_t len, int how, struct buf *out)
{
	struct addr_list	 l;
	const struct addr_item	*it;
	struct buf		 b;

	if (addr_list_parse(v, len, ADDR_LIST_LENIENT | ADDR_LIST_COMMENT_NAME,
	    SORTKEY_ADDR_ITEMS, &l, NULL, 0) == -1 || l.n == 0 ||
	    l.v[0].kind == ADDR_GROUP_END) {
		addr_list_free(&l);
		return;
	}
	it = &l.v[0];
	buf_init(&b, 0);
	if (it->kind == ADDR_GROUP || (how == IMAP_ADDR_DISPLAY &&
	    it->name != NULL && *it->name != '\0')) {
		if (it->name != NULL)
			addr_name_decode(it->name, &b);
	} else if (how == IMAP_ADDR_DISPLAY && it->local != NULL)
		addr_spec_format(it, &b);
	else if (it->local != NULL)
		buf_addstr(&b, it->local);
	imap_casemap(buf_cstr(&b), b.len, out);
	buf_free(&b);
	addr_list_free(&l);
}
