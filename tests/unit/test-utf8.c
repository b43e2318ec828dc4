/*
 * test-utf8.c - common/utf8: RFC 3629 validation, modified UTF-7 for IMAP
 * mailbox names (RFC 3501 5.1.3) and charset conversion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"
#include "test.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*s;
	size_t		 n;		/* 0: strlen */
	int		 flags;
	size_t		 max;
	int		 valid;
} valid_cases[] = {
	{ "", 0, 0, 0, 1 },
	{ "plain ascii", 0, 0, 0, 1 },
	{ "caf\xc3\xa9", 0, 0, 0, 1 },
	{ "\xe2\x82\xac", 0, 0, 0, 1 },			/* U+20AC */
	{ "\xf0\x9f\x93\xa7", 0, 0, 0, 1 },		/* U+1F4E7 */
	/* overlong forms of '\0', '/', U+07FF, U+FFFF */
	{ "\xc0\x80", 0, 0, 0, 0 },
	{ "\xc0\xaf", 0, 0, 0, 0 },
	{ "\xc1\xbf", 0, 0, 0, 0 },
	{ "\xe0\x80\x80", 0, 0, 0, 0 },
	{ "\xe0\x9f\xbf", 0, 0, 0, 0 },
	{ "\xf0\x80\x80\x80", 0, 0, 0, 0 },
	{ "\xf0\x8f\xbf\xbf", 0, 0, 0, 0 },
	/* the shortest forms right above them are fine */
	{ "\xc2\x80", 0, 0, 0, 1 },
	{ "\xe0\xa0\x80", 0, 0, 0, 1 },
	{ "\xf0\x90\x80\x80", 0, 0, 0, 1 },
	/* UTF-16 surrogates, and their neighbours */
	{ "\xed\xa0\x80", 0, 0, 0, 0 },
	{ "\xed\xaf\xbf", 0, 0, 0, 0 },
	{ "\xed\xb0\x80", 0, 0, 0, 0 },
	{ "\xed\xbf\xbf", 0, 0, 0, 0 },
	{ "\xed\x9f\xbf", 0, 0, 0, 1 },			/* U+D7FF */
	{ "\xee\x80\x80", 0, 0, 0, 1 },			/* U+E000 */
	/* the largest code point and past it */
	{ "\xf4\x8f\xbf\xbf", 0, 0, 0, 1 },		/* U+10FFFF */
	{ "\xf4\x90\x80\x80", 0, 0, 0, 0 },		/* U+110000 */
	{ "\xf5\x80\x80\x80", 0, 0, 0, 0 },
	{ "\xf8\x88\x80\x80\x80", 0, 0, 0, 0 },
	{ "\xfe", 0, 0, 0, 0 },
	{ "\xff", 0, 0, 0, 0 },
	/* truncated sequences, at the end and before other bytes */
	{ "\xc3", 0, 0, 0, 0 },
	{ "\xe2\x82", 0, 0, 0, 0 },
	{ "\xf0\x9f\x93", 0, 0, 0, 0 },
	{ "a\xe2\x82", 0, 0, 0, 0 },
	{ "\xc3" "a", 0, 0, 0, 0 },
	{ "\xe2\x82" "a", 0, 0, 0, 0 },
	/* the length given is the limit: a sequence cut by it is invalid */
	{ "caf\xc3\xa9", 4, 0, 0, 0 },
	/* lone continuation bytes */
	{ "\x80", 0, 0, 0, 0 },
	{ "a\xbf" "b", 0, 0, 0, 0 },
	/* NUL and controls, as the flags want them */
	{ "a\0b", 3, 0, 0, 1 },
	{ "a\0b", 3, UTF8_NO_NUL, 0, 0 },
	{ "a\0b", 3, UTF8_NO_CTL, 0, 0 },
	{ "a\x01", 0, 0, 0, 1 },
	{ "a\x01", 0, UTF8_NO_NUL, 0, 1 },
	{ "a\x01", 0, UTF8_NO_CTL, 0, 0 },
	{ "a\x7f", 0, UTF8_NO_CTL, 0, 0 },
	{ "a\r\n", 0, UTF8_NO_CTL, 0, 0 },
	{ "a\tb", 0, UTF8_NO_CTL, 0, 1 },
	{ "\xc2\x85", 0, UTF8_NO_CTL, 0, 1 },		/* C1 stays */
	/* bounded length */
	{ "abc", 0, 0, 2, 0 },
	{ "abc", 0, 0, 3, 1 },
	{ "caf\xc3\xa9", 0, 0, 4, 0 },
};

static void
test_validation_table(void)
{
	size_t	 i, n;
	int	 v;

	test_begin("validation: overlongs, surrogates, past U+10FFFF and "
	    "truncated sequences are invalid; flags and bound apply");
	for (i = 0; i < LEN(valid_cases); i++) {
		n = valid_cases[i].n ? valid_cases[i].n :
		    strlen(valid_cases[i].s);
		v = utf8_valid(valid_cases[i].s, n, valid_cases[i].max,
		    valid_cases[i].flags);
		if (v != valid_cases[i].valid)
			printf("  case %zu\n", i);
		test_assert(v == valid_cases[i].valid);
	}
	test_end();
}

static const struct {
	const char	*s;
	size_t		 len;
	uint32_t	 cp;
} decode_cases[] = {
	{ "A", 1, 0x41 },
	{ "\xc2\x80", 2, 0x80 },
	{ "\xdf\xbf", 2, 0x7ff },
	{ "\xe0\xa0\x80", 3, 0x800 },
	{ "\xef\xbf\xbf", 3, 0xffff },
	{ "\xf0\x90\x80\x80", 4, 0x10000 },
	{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	{ "\xe2\x82\xac" "rest", 3, 0x20ac },
};

static void
test_decode_and_encode(void)
{
	struct buf	 b;
	uint32_t	 cp, got;
	size_t		 i;
	int		 bad = 0;

	test_begin("decode gives code point and length; encode writes the "
	    "shortest form, U+FFFD for a surrogate or past U+10FFFF");
	buf_init(&b, 0);
	for (i = 0; i < LEN(decode_cases); i++) {
		test_assert(utf8_decode(decode_cases[i].s,
		    strlen(decode_cases[i].s), &cp) == decode_cases[i].len);
		test_assert(cp == decode_cases[i].cp);
		buf_reset(&b);
		test_assert(utf8_encode(&b, cp) == 0);
		test_assert(b.len == decode_cases[i].len &&
		    memcmp(b.data, decode_cases[i].s, b.len) == 0);
	}
	test_assert(utf8_decode("", 0, &cp) == 0);
	for (cp = 0; cp <= UTF8_CP_MAX; cp += 7) {
		buf_reset(&b);
		utf8_encode(&b, cp);
		if (cp >= 0xd800 && cp <= 0xdfff)
			bad |= strcmp(buf_cstr(&b), "\xef\xbf\xbd") != 0;
		else
			bad |= utf8_decode(b.data, b.len, &got) != b.len ||
			    got != cp;
	}
	test_assert(!bad);
	buf_reset(&b);
	utf8_encode(&b, 0x110000);
	utf8_encode(&b, 0xdc00);
	test_assert_str(buf_cstr(&b), "\xef\xbf\xbd\xef\xbf\xbd");
	buf_free(&b);
	test_end();
}

static const struct {
	const char	*in;
	size_t		 n;
	const char	*out;
} sanitize_cases[] = {
	{ "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "a\xff" "b", 0, "a\xef\xbf\xbd" "b" },
	{ "\xc0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "end\xe2\x82", 0, "end\xef\xbf\xbd\xef\xbf\xbd" },
	{ "a\0b", 3, "ab" },
};

static void
test_sanitize(void)
{
	struct buf	 b;
	size_t		 i;

	test_begin("sanitize: each invalid byte becomes U+FFFD, NUL goes, "
	    "a full buffer is left as it was");
	buf_init(&b, 0);
	for (i = 0; i < LEN(sanitize_cases); i++) {
		buf_reset(&b);
		test_assert(utf8_sanitize(sanitize_cases[i].in,
		    sanitize_cases[i].n ? sanitize_cases[i].n :
		    strlen(sanitize_cases[i].in), &b) == 0);
		test_assert_str(buf_cstr(&b), sanitize_cases[i].out);
		test_assert(utf8_valid(b.data, b.len, 0, UTF8_NO_NUL));
	}
	buf_free(&b);
	buf_init(&b, 8);
	buf_addstr(&b, "ab");
	test_assert(utf8_sanitize("\xff\xff\xff", 3, &b) == -1);
	test_assert_str(buf_cstr(&b), "ab");
	buf_free(&b);
	test_end();
}

/* Names both ways: UTF-8 and its one modified UTF-7 spelling. */
static const struct {
	const char	*utf8;
	const char	*mutf7;
} mutf7_cases[] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "Caf\xc3\xa9", "Caf&AOk-" },
	{ "A&B", "A&-B" },
	{ "&", "&-" },
	{ "&&", "&-&-" },
	{ "\xc3\xa9&", "&AOk-&-" },
	{ "\xc3\xa9-", "&AOk--" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
	{ "\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail" },
	{ "\xe2\x98\xba", "&Jjo-" },
	{ "tab\there", "tab&AAk-here" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xf4\x8f\xbf\xbf", "&2,,f,w-" },
};

static void
test_mutf7_round_trips(void)
{
	struct buf	 b;
	size_t		 i;

	test_begin("modified UTF-7: names encode and decode back both ways");
	buf_init(&b, 0);
	for (i = 0; i < LEN(mutf7_cases); i++) {
		buf_reset(&b);
		test_assert(utf8_to_mutf7(mutf7_cases[i].utf8, &b) == 0);
		test_assert_str(buf_cstr(&b), mutf7_cases[i].mutf7);
		buf_reset(&b);
		test_assert(utf8_from_mutf7(mutf7_cases[i].mutf7, &b) == 0);
		test_assert_str(buf_cstr(&b), mutf7_cases[i].utf8);
	}
	test_assert(utf8_to_mutf7("bad\xc3", &b) == -1);
	test_assert(utf8_to_mutf7("\xed\xa0\x80", &b) == -1);
	test_assert(utf8_to_mutf7("\xc0\xaf", &b) == -1);
	buf_free(&b);
	test_end();
}

/* Spellings RFC 3501 does not allow, or not as the one for a name. */
static const char *const mutf7_bad[] = {
	"&AGE",		/* unterminated */
	"&AOk",
	"&",
	"a&",
	"&!-",		/* outside the alphabet */
	"&AO/-",	/* '/' is ',' in modified UTF-7 */
	"&AO=-",
	"&2D3-",	/* high surrogate alone */
	"&2D0AYQ-",	/* high surrogate, then not a low one */
	"&3AA-",	/* low surrogate alone */
	"&AOl-",	/* spare bits not zero */
	"&AOkA-",	/* a partial unit left */
	"&AA-",		/* less than one unit */
	"&AGE-",	/* 'a', which stands for itself */
	"&ACY-",	/* '&', which is "&-" */
	"&AAA-",	/* NUL */
	"&AOk-&AOk-",	/* two sections where one run is one section */
	"caf\xc3\xa9",	/* 8-bit bytes */
	"a\x01",	/* a control character written raw */
	"a\x7f",
};

static void
test_mutf7_malformed(void)
{
	struct buf	 b;
	size_t		 i;
	int		 r;

	test_begin("modified UTF-7: unterminated, bad base64, surrogates, "
	    "encoded ASCII or NUL, split runs and raw 8-bit are refused");
	buf_init(&b, 0);
	for (i = 0; i < LEN(mutf7_bad); i++) {
		buf_reset(&b);
		buf_addstr(&b, "kept");
		r = utf8_from_mutf7(mutf7_bad[i], &b);
		if (r != -1)
			printf("  accepted \"%s\"\n", mutf7_bad[i]);
		test_assert(r == -1);
		test_assert_str(buf_cstr(&b), "kept");
	}
	buf_free(&b);
	test_end();
}

/*
 * The imapd encoder this module replaced cut a run into sections of 256
 * UTF-16 units, a spelling its strict reading must refuse: a long run is
 * one section.
 */
static void
test_mutf7_long_run_is_one_section(void)
{
	struct buf	 u, m, back;
	int		 i;

	test_begin("modified UTF-7: a run of 300 non-ASCII characters is "
	    "one section and decodes back");
	buf_init(&u, 0);
	buf_init(&m, 0);
	buf_init(&back, 0);
	for (i = 0; i < 300; i++)
		buf_addstr(&u, "\xc3\xa9");
	test_assert(utf8_to_mutf7(buf_cstr(&u), &m) == 0);
	test_assert(strchr(buf_cstr(&m) + 1, '&') == NULL);
	test_assert(utf8_from_mutf7(buf_cstr(&m), &back) == 0);
	test_assert(back.len == u.len && memcmp(back.data, u.data,
	    u.len) == 0);
	buf_free(&u);
	buf_free(&m);
	buf_free(&back);
	test_end();
}

static const struct {
	const char	*charset;
	const char	*in;
	size_t		 n;		/* 0: strlen */
	int		 flags;
	int		 r;
	const char	*out;
} cs_cases[] = {
	{ "iso-8859-1", "caf\xe9", 0, 0, 0, "caf\xc3\xa9" },
	{ "ISO_8859-1", "caf\xe9", 0, 0, 0, "caf\xc3\xa9" },
	{ "latin1", "\xff", 0, 0, 0, "\xc3\xbf" },
	{ "iso-8859-1*fr", "\xe9", 0, 0, 0, "\xc3\xa9" },
	{ "windows-1252", "\x80 5", 0, 0, 0, "\xe2\x82\xac 5" },
	{ "windows-1252", "\x81", 0, 0, 0, "\xef\xbf\xbd" },
	{ "windows-1252", "\x81", 0, UTF8_REFUSE, -1, NULL },
	{ "iso-8859-2", "\xb1", 0, 0, 0, "\xc4\x85" },
	{ "ISO-8859-15", "\xa4", 0, 0, 0, "\xe2\x82\xac" },
	{ "koi8-r", "\xc1", 0, 0, 0, "\xd0\xb0" },
	{ "Shift_JIS", "\x82\xa0", 0, 0, 0, "\xe3\x81\x82" },
	{ "shift_jis", "a\x82", 0, 0, 0, "a\xef\xbf\xbd" },
	{ "shift_jis", "a\x82", 0, UTF8_REFUSE, -1, NULL },
	{ "iso-2022-jp", "\x1b$B$\"\x1b(B", 0, 0, 0, "\xe3\x81\x82" },
	{ "gb2312", "\xc4\xe3", 0, 0, 0, "\xe4\xbd\xa0" },
	{ "utf-8", "caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9" },
	{ "UTF8", "a\xff" "b", 0, 0, 0, "a\xef\xbf\xbd" "b" },
	{ "utf-8", "a\xff" "b", 0, UTF8_REFUSE, -1, NULL },
	{ "utf-8*en", "x", 0, 0, 0, "x" },
	{ "us-ascii", "caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9" },
	{ "", "caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9" },
	{ NULL, "caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9" },
	{ "latin1", "a\0b", 3, 0, 0, "ab" },
	{ "latin1", "a\0b", 3, UTF8_REFUSE, -1, NULL },
	{ "utf-8", "a\0b", 3, 0, 0, "ab" },
	/* outside the list: read as UTF-8, never handed to iconv */
	{ "x-unknown", "caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9" },
	{ "x-unknown", "caf\xc3\xa9", 0, UTF8_REFUSE, -1, NULL },
	{ "ibm037", "\xc1", 0, 0, 0, "\xef\xbf\xbd" },
	{ "utf-7", "+AGE-", 0, 0, 0, "+AGE-" },
	{ "iso-2022-jp-3", "a", 0, 0, 0, "a" },
	{ "a-charset-name-longer-than-anything-on-the-list", "a", 0, 0, 0,
	  "a" },
};

static void
test_charset_table(void)
{
	struct buf	 b;
	size_t		 i;
	int		 r;

	test_begin("charsets: the listed ones convert, the rest read as "
	    "UTF-8; bad input replaced or refused as asked");
	buf_init(&b, 0);
	for (i = 0; i < LEN(cs_cases); i++) {
		buf_reset(&b);
		buf_addstr(&b, ">");
		r = utf8_from_charset(cs_cases[i].charset, cs_cases[i].in,
		    cs_cases[i].n ? cs_cases[i].n : strlen(cs_cases[i].in),
		    cs_cases[i].flags, &b);
		if (r != cs_cases[i].r)
			printf("  case %zu: %d\n", i, r);
		test_assert(r == cs_cases[i].r);
		if (cs_cases[i].out == NULL)
			test_assert_str(buf_cstr(&b), ">");
		else
			test_assert_str(buf_cstr(&b) + 1, cs_cases[i].out);
	}
	test_assert(utf8_charset_known("ISO-8859-1"));
	test_assert(utf8_charset_known("windows-1251"));
	test_assert(!utf8_charset_known("ibm037"));
	test_assert(!utf8_charset_known("utf-7"));
	buf_free(&b);
	test_end();
}

static void
test_charset_output_is_bounded(void)
{
	struct buf	 b;

	test_begin("charsets: output past the buffer's maximum is refused "
	    "and the buffer left as it was");
	buf_init(&b, 6);
	buf_addstr(&b, "ab");
	test_assert(utf8_from_charset("iso-8859-1", "\xe9\xe9\xe9", 3, 0,
	    &b) == -1);
	test_assert_str(buf_cstr(&b), "ab");
	test_assert(utf8_from_charset("iso-8859-2", "\xb1\xb1\xb1", 3, 0,
	    &b) == -1);
	test_assert_str(buf_cstr(&b), "ab");
	test_assert(utf8_from_charset("iso-8859-1", "\xe9\xe9", 2, 0,
	    &b) == 0);
	test_assert_str(buf_cstr(&b), "ab\xc3\xa9\xc3\xa9");
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_validation_table,
		test_decode_and_encode,
		test_sanitize,
		test_mutf7_round_trips,
		test_mutf7_malformed,
		test_mutf7_long_run_is_one_section,
		test_charset_table,
		test_charset_output_is_bounded,
		NULL
	};

	return test_run(tests);
}
