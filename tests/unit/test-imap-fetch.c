/*
 * test-imap-fetch.c - ENVELOPE, BODYSTRUCTURE and section lookup
 * (imapd/bodystructure.c) and IMAP string output (imapd/strings.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "../../imapd/imapd.h"
#include "test.h"

size_t	 imap_max_literal = 1024;
size_t	 imap_max_command = 1024;

static char *
envelope(const char *hdr)
{
	struct buf	 b;

	buf_init(&b, 0);
	imap_envelope(hdr, strlen(hdr), &b);
	return buf_steal(&b);
}

static const struct {
	const char	*hdr;
	const char	*want;
} envcases[] = {
	{ "From: Alice <alice@example.test>\r\nSubject: hi\r\n\r\n",
	  "(NIL \"hi\" ((\"Alice\" NIL \"alice\" \"example.test\")) "
	  "((\"Alice\" NIL \"alice\" \"example.test\")) "
	  "((\"Alice\" NIL \"alice\" \"example.test\")) NIL NIL NIL NIL NIL)" },
	/* a trailing comment is the display name (RFC 3501, imaptest) */
	{ "To: \"Doe, John\" <j@x.test>, b@y.test (Bob)\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((\"Doe, John\" NIL \"j\" \"x.test\")"
	  "(\"Bob\" NIL \"b\" \"y.test\")) NIL NIL NIL NIL)" },
	{ "To: undisclosed-recipients:;\r\nCc: team: a@x.test, b@x.test;\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)"
	  "(NIL NIL NIL NIL)) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.test\")"
	  "(NIL NIL \"b\" \"x.test\")(NIL NIL NIL NIL)) NIL NIL NIL)" },
	{ "Subject: =?utf-8?q?caf=C3=A9?=\r\n folded\r\nMessage-ID: <a@b>\r\n\r\n",
	  "(NIL \"=?utf-8?q?caf=C3=A9?= folded\" NIL NIL NIL NIL NIL NIL NIL "
	  "\"<a@b>\")" },
	/* a source route goes into the adl field */
	{ "From: <@route.test:u@h.test>\r\n\r\n",
	  "(NIL NIL ((NIL \"@route.test\" \"u\" \"h.test\")) "
	  "((NIL \"@route.test\" \"u\" \"h.test\")) "
	  "((NIL \"@route.test\" \"u\" \"h.test\")) NIL NIL NIL NIL NIL)" },
	{ "To: A <@r1.test,@r2.test:u@h.test>\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((\"A\" \"@r1.test,@r2.test\" \"u\" "
	  "\"h.test\")) NIL NIL NIL NIL)" },
	/* comments inside the local part and the domain are not in it */
	{ "To: <user (c)@ (c) domain.test>, x (y) . z @ w (v) . test\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((NIL NIL \"user\" \"domain.test\")"
	  "(NIL NIL \"x.z\" \"w.test\")) NIL NIL NIL NIL)" },
	/* empty groups, between mailboxes */
	{ "Cc: a@x.test, group:;, b@y.test\r\n\r\n",
	  "(NIL NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"x.test\")"
	  "(NIL NIL \"group\" NIL)(NIL NIL NIL NIL)"
	  "(NIL NIL \"b\" \"y.test\")) NIL NIL NIL)" },
	/* quoting removed; what cannot be read is shown as well as can be */
	{ "To: \"al ice\"@x.test, Joe Q. Public <j@[192.0.2.1]>\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((NIL NIL \"al ice\" \"x.test\")"
	  "(\"Joe Q. Public\" NIL \"j\" \"[192.0.2.1]\")) NIL NIL NIL NIL)" },
	{ "To: Alice, <bad, b@y.test\r\n\r\n",
	  "(NIL NIL NIL NIL NIL ((NIL NIL \"Alice\" \"missing-domain\")"
	  "(NIL NIL \"b\" \"y.test\")) NIL NIL NIL NIL)" },
	/* empty fields are empty strings (and no trouble to read) */
	{ "Subject:\r\nFrom: a@x.test\r\nIn-Reply-To: \r\n\r\n",
	  "(NIL \"\" ((NIL NIL \"a\" \"x.test\")) ((NIL NIL \"a\" \"x.test\")) "
	  "((NIL NIL \"a\" \"x.test\")) NIL NIL NIL \"\" NIL)" },
	{ "From: \"unterminated <x@y>\r\n\r\n", NULL },
	{ "From: ((((((nested comment\r\nTo: ,,,\r\n\r\n", NULL },
};

static void
test_envelope_table(void)
{
	size_t	 i;
	char	*got;

	test_begin("fetch: ENVELOPE addresses, groups, quoting, routes");
	for (i = 0; i < sizeof(envcases) / sizeof(envcases[0]); i++) {
		got = envelope(envcases[i].hdr);
		if (envcases[i].want != NULL)
			test_assert_str(got, envcases[i].want);
		else
			test_assert(got != NULL && got[0] == '(');
		free(got);
	}
	test_end();
}

static const char multi[] =
    "From: a@x.test\r\n"
    "Content-Type: multipart/mixed; boundary=\"B\"\r\n"
    "\r\n"
    "--B\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "hello\r\n"
    "--B\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--B--\r\n";

static void
test_bodystructure_multipart(void)
{
	struct mime_parser	*mp;
	struct mime_part	*p;
	struct buf		 b;
	uint32_t		 nums[2];

	test_begin("fetch: BODYSTRUCTURE of multipart with message/rfc822, "
	    "and part lookup");
	mp = imap_mime_parse(multi, sizeof(multi) - 1);
	buf_init(&b, 0);
	imap_bodystructure(mp, multi, 0, &b);
	test_assert_str(buf_cstr(&b),
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 5 1)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 28 "
	    "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 1) 3)"
	    " \"MIXED\")");
	nums[0] = 1;
	p = imap_part_find(mp, nums, 1);
	test_assert(p != NULL && strncmp(multi + p->body_start, "hello", 5) == 0);
	nums[0] = 2;
	nums[1] = 1;
	p = imap_part_find(mp, nums, 2);
	test_assert(p != NULL && strncmp(multi + p->body_start, "inner body",
	    10) == 0);
	nums[0] = 3;
	test_assert(imap_part_find(mp, nums, 1) == NULL);
	nums[0] = 1;
	nums[1] = 2;
	test_assert(imap_part_find(mp, nums, 2) == NULL);
	buf_free(&b);
	mime_parser_free(mp);
	test_end();
}

static void
test_strings_quote_or_literal(void)
{
	struct buf	 b;

	test_begin("strings: quoted with escapes, literal for CR/LF/8-bit");
	buf_init(&b, 0);
	buf_add_string(&b, "a\"b\\c", 5);
	test_assert_str(buf_cstr(&b), "\"a\\\"b\\\\c\"");
	buf_reset(&b);
	buf_add_string(&b, "x\r\ny", 4);
	test_assert_str(buf_cstr(&b), "{4}\r\nx\r\ny");
	buf_reset(&b);
	buf_add_nstring(&b, NULL);
	test_assert_str(buf_cstr(&b), "NIL");
	buf_reset(&b);
	buf_add_string(&b, "caf\xc3\xa9", 5);
	test_assert_str(buf_cstr(&b), "{5}\r\ncaf\xc3\xa9");
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_envelope_table,
		test_bodystructure_multipart,
		test_strings_quote_or_literal,
		NULL
	};

	return test_run(tests);
}
