/*
 * test-submit-header.c - submitd's header scan (submitd/header.c): the
 * From:/Sender: addresses the parent judges, and the strictness that
 * keeps a later reader from seeing another author.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "header.h"
#include "test.h"

struct list_case {
	const char	*value;
	int		 n;		/* -1: refused */
	const char	*a0, *a1;
};

static const struct list_case list_cases[] = {
	{ " alice@example.test", 1, "alice@example.test", NULL },
	{ " <alice@example.test>", 1, "alice@example.test", NULL },
	{ " Alice <alice@example.test>", 1, "alice@example.test", NULL },
	{ " \"Bob, <bob@evil>\" <alice@example.test>", 1,
	    "alice@example.test", NULL },
	{ " alice@example.test (Alice <bob@evil>)", 1, "alice@example.test",
	    NULL },
	{ " (c (nested) c) alice@example.test", 1, "alice@example.test",
	    NULL },
	{ " a@x.test, B <b@y.test>", 2, "a@x.test", "b@y.test" },
	{ " Alice\r\n <alice@example.test>", 1, "alice@example.test", NULL },
	{ " <@relay.test:alice@example.test>", 1, "alice@example.test", NULL },
	{ " \"al ice\"@example.test", 1, "\"al ice\"@example.test", NULL },
	{ " team: a@x.test, b@y.test;", 2, "a@x.test", "b@y.test" },
	{ " undisclosed-recipients:;", 0, NULL, NULL },
	{ " a@x.test,, b@y.test", 2, "a@x.test", "b@y.test" },
	{ " =?utf-8?q?B=C3=B6b?= <bob@example.test>", 1, "bob@example.test",
	    NULL },
	/* refused */
	{ " <>", -1, NULL, NULL },
	{ " Alice", -1, NULL, NULL },
	{ " <alice@example.test> <bob@evil>", -1, NULL, NULL },
	{ " <alice@example.test> trailing", -1, NULL, NULL },
	{ " <alice@example.test", -1, NULL, NULL },
	{ " \"unterminated <alice@example.test>", -1, NULL, NULL },
	{ " (unterminated alice@example.test", -1, NULL, NULL },
	{ " alice@", -1, NULL, NULL },
	{ " @example.test", -1, NULL, NULL },
	{ " team: a@x.test", -1, NULL, NULL },
	{ " a@x.test; b@y.test", -1, NULL, NULL },
	{ " a@x.test>", -1, NULL, NULL },
	/* read by common/addr: the canonical addr-spec, comments anywhere */
	{ " \"alice\"@example.test", 1, "alice@example.test", NULL },
	{ " <alice (c)@ (c) example.test>", 1, "alice@example.test", NULL },
	{ " alice (c) . smith @ example (c) . test", 1,
	    "alice.smith@example.test", NULL },
	{ " J\xc3\xb6rg <j\xc3\xb6rg@example.test>", 1,
	    "j\xc3\xb6rg@example.test", NULL },
	{ " Mary <@node.test:mary@example.net>, , jdoe@test  . example", 2,
	    "mary@example.net", "jdoe@test.example" },
	/* the old scanner read each of these as some other address */
	{ " john doe@example.test", -1, NULL, NULL },
	{ " <alice@example.test evil>", -1, NULL, NULL },
	{ " a@b@example.test", -1, NULL, NULL },
	{ " alice.@example.test", -1, NULL, NULL },
	{ " alice@example.test.", -1, NULL, NULL },
	{ " alice@exa_mple.test", -1, NULL, NULL },
	{ " alice@[example]", -1, NULL, NULL },
	{ " \"a\x01\"@example.test", -1, NULL, NULL },
};

static void
test_address_lists(void)
{
	char	 addrs[HDR_FROM_MAX][HDR_ADDR_MAX + 1];
	size_t	 i;
	int	 n;

	test_begin("address lists: mailboxes, comments, quotes, groups");
	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];

		n = hdr_addr_list(c->value, strlen(c->value), addrs,
		    HDR_FROM_MAX);
		if (n != c->n)
			printf("  \"%s\": got %d want %d\n", c->value, n, c->n);
		test_assert(n == c->n);
		if (n >= 1 && c->a0 != NULL)
			test_assert_str(addrs[0], c->a0);
		if (n >= 2 && c->a1 != NULL)
			test_assert_str(addrs[1], c->a1);
	}
	test_end();
}

static void
test_address_list_limits(void)
{
	char	 addrs[2][HDR_ADDR_MAX + 1], v[1024];
	int	 n;

	test_begin("address lists: more mailboxes than room, too long");
	n = hdr_addr_list("a@x, b@x, c@x", 13, addrs, 2);
	test_assert(n == -1);
	memset(v, 'a', sizeof(v));
	v[0] = ' ';
	v[600] = '@';
	v[sizeof(v) - 1] = 'x';
	test_assert(hdr_addr_list(v, sizeof(v), addrs, 2) == -1);
	test_end();
}

static enum hdr_result
scan(const char *msg, struct hdr_info *hi)
{
	return hdr_scan(msg, strlen(msg), 1, hi);
}

static void
test_scan_finds_fields(void)
{
	struct hdr_info hi;
	const char *m = "Received: x\r\nfrom: Alice <alice@example.test>\r\n"
	    "Sender:\r\n sales@example.test\r\nDATE: today\r\n"
	    "Message-Id: <1@x>\r\nSubject: hi\r\n\r\nFrom: body@evil\r\n";

	test_begin("scan: From, Sender, Date, Message-ID, case-insensitive");
	test_assert(scan(m, &hi) == HDR_OK);
	test_assert(hi.nfrom == 1);
	test_assert_str(hi.from[0], "alice@example.test");
	test_assert(hi.has_sender);
	test_assert_str(hi.sender, "sales@example.test");
	test_assert(hi.has_date && hi.has_msgid && !hi.no_header);
	test_assert(hi.header_len == (size_t)(strstr(m, "From: body") - m));
	test_end();

	test_begin("scan: the Message-ID's value, unfolded, for the trace");
	test_assert_str(hi.msgid, "<1@x>");
	test_assert(scan("Message-ID:\r\n  <2@x.test>  \r\n\r\n", &hi) ==
	    HDR_OK);
	test_assert_str(hi.msgid, "<2@x.test>");
	test_assert(scan("Subject: x\r\n\r\n", &hi) == HDR_OK);
	test_assert_str(hi.msgid, "");
	test_end();
}

static void
test_scan_missing_fields_and_no_header(void)
{
	struct hdr_info hi;

	test_begin("scan: missing fields, empty header, body only");
	test_assert(scan("Subject: x\r\n\r\nbody\r\n", &hi) == HDR_OK);
	test_assert(!hi.has_from && !hi.has_date && !hi.has_msgid);
	test_assert(scan("\r\nbody\r\n", &hi) == HDR_OK);
	test_assert(hi.header_len == 2 && !hi.no_header);
	test_assert(scan("just a body line\r\n", &hi) == HDR_OK);
	test_assert(hi.no_header && hi.header_len == 0);
	test_assert(scan("Subject: only a header\r\n", &hi) == HDR_OK);
	test_assert(hi.header_len == 24);
	test_assert(scan("", &hi) == HDR_OK);
	test_end();
}

static void
test_scan_refuses_what_could_hide_an_author(void)
{
	struct hdr_info hi;

	test_begin("scan: second From, non-field line, unreadable From");
	test_assert(scan("From: a@x.test\r\nFrom: b@y.test\r\n\r\n", &hi) ==
	    HDR_ERR_DUP);
	test_assert(scan("Date: 1\r\nDate: 2\r\n\r\n", &hi) == HDR_ERR_DUP);
	test_assert(scan("Subject: x\r\nnot a field\r\nFrom: b@y\r\n\r\n",
	    &hi) == HDR_ERR_SYNTAX);
	test_assert(scan("Subject: x\r\nFrom : b@y\r\n\r\n", &hi) ==
	    HDR_ERR_SYNTAX);
	test_assert(scan("From: nobody\r\n\r\n", &hi) == HDR_ERR_ADDR);
	test_assert(scan("From: undisclosed:;\r\n\r\n", &hi) == HDR_ERR_ADDR);
	test_assert(scan("Sender: a@x, b@y\r\n\r\n", &hi) == HDR_ERR_ADDR);
	test_end();
}

static void
test_scan_incomplete_and_too_big(void)
{
	struct hdr_info hi;
	const char *m = "Subject: x\r\nFrom: a@x.test\r\n";

	test_begin("scan: a header that does not end in the scanned bytes");
	test_assert(hdr_scan(m, strlen(m), 0, &hi) == HDR_ERR_TOOBIG);
	test_assert(hdr_scan(m, strlen(m), 1, &hi) == HDR_OK);
	test_assert(hi.nfrom == 1);
	test_end();
}

static void
test_scan_fd(void)
{
	struct hdr_info hi;
	const char *m = "From: Alice <alice@example.test>\r\n\r\nbody\r\n";
	FILE	*f;

	test_begin("scan_fd: the start of a message file, short file refused");
	test_assert((f = tmpfile()) != NULL);
	test_assert(fwrite(m, 1, strlen(m), f) == strlen(m) && fflush(f) == 0);
	test_assert(hdr_scan_fd(fileno(f), strlen(m), &hi) == HDR_OK);
	test_assert(hi.nfrom == 1 && hi.header_len == strlen(m) - 6);
	test_assert_str(hi.from[0], "alice@example.test");
	/* a size it does not have: refused, never a partial scan */
	errno = 0;
	test_assert(hdr_scan_fd(fileno(f), strlen(m) + 1, &hi) == -1);
	test_assert(errno == EIO);
	fclose(f);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_address_lists,
		test_address_list_limits,
		test_scan_finds_fields,
		test_scan_missing_fields_and_no_header,
		test_scan_refuses_what_could_hide_an_author,
		test_scan_incomplete_and_too_big,
		test_scan_fd,
		NULL
	};

	return test_run(tests);
}
