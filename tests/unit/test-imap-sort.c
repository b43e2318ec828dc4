/*
 * test-imap-sort.c - the keys SORT and THREAD compare (imapd/sortkey.c):
 * base subjects (RFC 5256 2.1, including the cases imaptest's
 * sort-subject checks), casemapping, sent dates with zones and obsolete
 * forms, and the first-address keys of SORT and SORT=DISPLAY.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "../../imapd/sort.h"
#include "test.h"

static const struct {
	const char	*subject;
	const char	*base;
	int		 reply;
} subjects[] = {
	{ "a", "A", 0 },
	{ "Re: hello", "HELLO", 1 },
	{ "RE:hello", "HELLO", 1 },
	{ "Fwd: Re: fw: hello", "HELLO", 1 },
	{ "re [x]: hello", "HELLO", 1 },
	{ "[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "B", 1 },
	{ "Re: [FWD: c]", "C", 1 },
	{ "re: [fwd: [fwd: re: [fwd: babylon]]]", "BABYLON", 1 },
	{ "[xyz]", "[XYZ]", 0 },
	{ "[xyz] [abc]", "[ABC]", 0 },
	{ "[list] topic", "TOPIC", 0 },
	{ "b (a)", "B (A)", 0 },
	{ "Ad: Re: Ad: Re: Ad: x", "AD: RE: AD: RE: AD: X", 0 },
	{ "=?iso-8859-1?q?_?=", "", 0 },
	{ "=?iso-8859-1?q?RE:_C?=", "C", 1 },
	{ "=?us-ascii?b?UmU6IGM=?=", "C", 1 },
	{ "Re: =?utf-8?q?b?=", "B", 1 },
	{ "  many\t  spaces\r\n folded  ", "MANY SPACES FOLDED", 0 },
	{ "", "", 0 },
	{ "Re:", "", 1 },
	{ "(fwd)", "", 1 },
	{ "[fwd: x", "[FWD: X", 0 },
	{ "=?utf-8?q?caf=C3=A9?=", "CAFE\xcc\x81", 0 },
	{ "=?utf-8?q?=C3=BC=C3=9F?=", "U\xcc\x88\xc3\x9f", 0 },
	{ "=?utf-8?q?=CE=B1=D0=B1?=", "\xce\x91\xd0\x91", 0 },
};

static void
test_base_subject(void)
{
	struct buf	 b;
	size_t		 i;
	int		 r;

	test_begin("base subject: prefixes, blobs, trailers, [fwd:], "
	    "encoded words, case");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		buf_reset(&b);
		r = imap_base_subject(subjects[i].subject,
		    strlen(subjects[i].subject), &b);
		test_assert_str(buf_cstr(&b), subjects[i].base);
		if (r != subjects[i].reply)
			printf("  reply %d for \"%s\"\n", r,
			    subjects[i].subject);
		test_assert(r == subjects[i].reply);
	}
	buf_free(&b);
	test_end();
}

static void
test_casemap_invalid_utf8(void)
{
	struct buf	 b;

	test_begin("casemap: invalid UTF-8 becomes U+FFFD, nothing is read "
	    "past the length");
	buf_init(&b, 0);
	imap_casemap("a\xff" "b\xc3", 4, &b);
	test_assert_str(buf_cstr(&b), "A\xef\xbf\xbd" "B\xef\xbf\xbd");
	buf_reset(&b);
	imap_casemap("xyz", 2, &b);
	test_assert_str(buf_cstr(&b), "XY");
	buf_free(&b);
	test_end();
}

static const struct {
	const char	*date;
	int64_t		 t;		/* -1: not a date */
} dates[] = {
	{ "Fri, 22 Feb 2008 00:00:00 +0200", 1203631200 },
	{ "22 Feb 2008 00:00:00 +0200", 1203631200 },
	{ "Fri, 22 Feb 2008 00:00 +0200", 1203631200 },
	{ "Thu, 21 Feb 2008 22:00:00 GMT", 1203631200 },
	{ "Thu, 21 Feb 2008 17:00:00 EST", 1203631200 },
	{ "Thu, 21 Feb 2008 22:00:00 (comment) +0000 (UTC)", 1203631200 },
	{ " (c) Thu , 21 Feb 08 22:00:00 -0000", 1203631200 },
	{ "Thu, 21 Feb 108 22:00:00 +0000", 1203631200 },
	{ "Sat, 1 Jan 99 00:00:00 +0000", 915148800 },
	{ "Thu, 21 Feb 2008 22:00:00", 1203631200 },
	{ "Thu, 21 Feb 2008 22:00:00 +0130", 1203631200 - 5400 },
	{ "not a date", -1 },
	{ "Thu, 32 Feb 2008 22:00:00 +0000", -1 },
	{ "Thu, 21 Foo 2008 22:00:00 +0000", -1 },
	{ "Thu, 21 Feb 2008 25:00:00 +0000", -1 },
	{ "Thu, 21 Feb 2008", -1 },
	{ "", -1 },
};

static void
test_sent_date(void)
{
	size_t	 i;
	int64_t	 t;
	int	 r;

	test_begin("sent date: zones, comments, obsolete years, errors");
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		t = -1;
		r = imap_sent_date(dates[i].date, strlen(dates[i].date), &t);
		if ((dates[i].t == -1) != (r == -1) ||
		    (r == 0 && t != dates[i].t))
			printf("  \"%s\": %d %lld\n", dates[i].date, r,
			    (long long)t);
		test_assert((dates[i].t == -1) == (r == -1));
		test_assert(r == -1 || t == dates[i].t);
	}
	test_end();
}

static const struct {
	const char	*value;
	int		 how;
	const char	*key;
} addrs[] = {
	{ "user2@domain2.org", IMAP_ADDR_MAILBOX, "USER2" },
	{ "foo bar <user2@domain2.org>", IMAP_ADDR_MAILBOX, "USER2" },
	{ "user2: blah@domain1.org;", IMAP_ADDR_MAILBOX, "USER2" },
	{ "<@route:Ann@a.example>, b@b", IMAP_ADDR_MAILBOX, "ANN" },
	{ "", IMAP_ADDR_MAILBOX, "" },
	{ "foo bar <a@b.c>", IMAP_ADDR_DISPLAY, "FOO BAR" },
	{ "b@c.d", IMAP_ADDR_DISPLAY, "B@C.D" },
	{ "d", IMAP_ADDR_DISPLAY, "D" },
	{ "b@c.d (Real Name)", IMAP_ADDR_DISPLAY, "REAL NAME" },
	{ "=?iso-8859-1?q?foo_aar?= <e@f.g>", IMAP_ADDR_DISPLAY, "FOO AAR" },
	{ "a: xx@xx.org, yy@yy.org;", IMAP_ADDR_DISPLAY, "A" },
	{ "empty:;", IMAP_ADDR_DISPLAY, "EMPTY" },
	{ "\"\" <q@r>", IMAP_ADDR_DISPLAY, "Q@R" },
};

static void
test_addr_key(void)
{
	struct buf	 b;
	size_t		 i;

	test_begin("address keys: first addr-mailbox, display name or "
	    "addr-spec, groups");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		buf_reset(&b);
		imap_addr_key(addrs[i].value, strlen(addrs[i].value),
		    addrs[i].how, &b);
		test_assert_str(buf_cstr(&b), addrs[i].key);
	}
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_base_subject,
		test_casemap_invalid_utf8,
		test_sent_date,
		test_addr_key,
		NULL
	};

	return test_run(tests);
}
