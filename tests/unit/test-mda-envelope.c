/*
 * test-mda-envelope.c - what mda accepts of an envelope (mda/envelope.c):
 * XSEAL's arguments, the address check, and the LDA's filter of
 * Return-Path and Delivered-To, fed whole and a byte at a time.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mda.h"
#include "test.h"

#define QID	"0123456789abcdef"

static const struct {
	const char	*arg;
	int		 ok;
	enum mda_class	 class;
} xseal_cases[] = {
	{ "ID=" QID " CLASS=SAFE", 1, MDA_SAFE },
	{ "CLASS=unsafe ID=" QID, 1, MDA_UNSAFE },
	{ "id=" QID "  class=Safe", 1, MDA_SAFE },
	{ "ID=" QID, 0, 0 },
	{ "CLASS=SAFE", 0, 0 },
	{ "", 0, 0 },
	{ "ID=" QID " CLASS=SAFE CLASS=UNSAFE", 0, 0 },
	{ "ID=" QID " ID=" QID " CLASS=SAFE", 0, 0 },
	{ "ID=" QID " CLASS=SAFE X=1", 0, 0 },
	{ "ID=" QID " CLASS=SAFE extra", 0, 0 },
	{ "ID=0123456789ABCDEF CLASS=SAFE", 0, 0 },
	{ "ID=0123456789abcde CLASS=SAFE", 0, 0 },
	{ "ID=0123456789abcdef0 CLASS=SAFE", 0, 0 },
	{ "ID=../../etc/passw CLASS=SAFE", 0, 0 },
	{ "ID=" QID " CLASS=MAYBE", 0, 0 },
	{ "ID=" QID " CLASS=", 0, 0 },
	{ "ID=" QID " CLASS=SAFE=1", 0, 0 },
};

static void
test_xseal(void)
{
	enum mda_class	 class;
	char		 id[MDA_QID_LEN + 1], name[160];
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(xseal_cases) / sizeof(xseal_cases[0]); i++) {
		snprintf(name, sizeof(name), "XSEAL \"%s\" is %s",
		    xseal_cases[i].arg, xseal_cases[i].ok ? "taken" :
		    "refused");
		test_begin(name);
		memset(id, 0, sizeof(id));
		class = (enum mda_class)-1;
		r = mda_xseal_parse(xseal_cases[i].arg, id, &class);
		test_assert(r == (xseal_cases[i].ok ? 0 : -1));
		if (xseal_cases[i].ok && r == 0) {
			test_assert_str(id, QID);
			test_assert(class == xseal_cases[i].class);
		}
		test_end();
	}
}

static void
test_addr(void)
{
	char	 a[300];

	test_begin("addresses: mailboxes of at most 254 bytes only");
	test_assert(mda_addr_ok("bob@example.test", 0));
	test_assert(mda_addr_ok("\"a b\"@example.test", 0));
	test_assert(!mda_addr_ok("postmaster", 0));
	test_assert(!mda_addr_ok("a@example.test> X-SEALMAIL-CLASS=safe", 0));
	test_assert(!mda_addr_ok("a@b\r\nX: y", 0));
	test_assert(!mda_addr_ok("j\xc3\xb6rg@example.test", 0));
	test_assert(mda_addr_ok("j\xc3\xb6rg@example.test", 1));
	/* 64 + "@" + 189 = 254 is fine; one more is not */
	memset(a, 'a', 64);
	a[64] = '@';
	memset(a + 65, 'b', 189);
	memcpy(a + 65 + 60, ".", 1);
	memcpy(a + 65 + 120, ".", 1);
	memcpy(a + 65 + 180, ".", 1);
	a[254] = '\0';
	test_assert(mda_addr_ok(a, 0));
	a[254] = 'c';
	a[255] = '\0';
	test_assert(!mda_addr_ok(a, 0));
	test_assert(q_id_valid(QID));
	test_assert(!q_id_valid("0123456789abcdeg"));
	test_end();
}

static void
test_addr_one_grammar(void)
{
	test_begin("addresses: common/addr's rule, where smtp_parse erred");
	test_assert(!mda_addr_ok("bob@exa_mple.test", 1));
	test_assert(!mda_addr_ok("bob@example.test.", 1));
	test_assert(!mda_addr_ok("bob@-example.test", 1));
	test_assert(!mda_addr_ok("b\xff" "b@example.test", 1));
	test_assert(!mda_addr_ok("bob@[example]", 1));
	test_assert(mda_addr_ok("bob@[192.0.2.1]", 0));
	test_assert(mda_addr_ok("j\xc3\xb6rg@b\xc3\xbc" "cher.test", 1));
	test_assert(!mda_addr_ok("bob@b\xc3\xbc" "cher.test", 0));
	test_end();
}

static const struct {
	const char	*name;
	const char	*in;
	const char	*out;
} hf_cases[] = {
	{ "Return-Path and Delivered-To go, others stay",
	  "Return-Path: <x@evil.test>\r\nDelivered-To: other@example.test\r\n"
	  "From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n",
	  "From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n" },
	{ "any case, space before the colon, folded values, LF ends",
	  "return-path  : <x@evil.test>\n  <y@evil.test>\nDELIVERED-TO:\n"
	  "\tbob@example.test\nX-Delivered-To: kept\nSubject: s\n\nb\n",
	  "X-Delivered-To: kept\nSubject: s\n\nb\n" },
	{ "the body is never touched",
	  "Subject: s\r\n\r\nReturn-Path: <in body>\r\nDelivered-To: body\r\n",
	  "Subject: s\r\n\r\nReturn-Path: <in body>\r\n"
	  "Delivered-To: body\r\n" },
	{ "several of each, anywhere in the header",
	  "Delivered-To: a@example.test\r\nReceived: x\r\n"
	  "Return-Path: <a@b>\r\nDelivered-To: b@example.test\r\n"
	  "Return-Path: <c@d>\r\nTo: t\r\n\r\n",
	  "Received: x\r\nTo: t\r\n\r\n" },
	{ "names that only start alike stay",
	  "Return-Paths: 1\r\nDelivered-Tox: 2\r\nReturn-Path-X: 3\r\n\r\n",
	  "Return-Paths: 1\r\nDelivered-Tox: 2\r\nReturn-Path-X: 3\r\n\r\n" },
	{ "a message without a body, cut in a field name",
	  "Subject: s\r\nReturn-Pa",
	  "Subject: s\r\nReturn-Pa" },
};

static void
test_hdrfilter(void)
{
	struct mda_hdrfilter h;
	struct buf	 out;
	char		 name[160];
	size_t		 i, j, n;

	for (i = 0; i < sizeof(hf_cases) / sizeof(hf_cases[0]); i++) {
		snprintf(name, sizeof(name), "LDA header filter: %s",
		    hf_cases[i].name);
		test_begin(name);
		n = strlen(hf_cases[i].in);
		buf_init(&out, 0);
		mda_hdrfilter_init(&h);
		mda_hdrfilter_feed(&h, hf_cases[i].in, n, &out);
		mda_hdrfilter_end(&h, &out);
		test_assert_str(buf_cstr(&out), hf_cases[i].out);
		/* the same, a byte at a time */
		buf_reset(&out);
		mda_hdrfilter_init(&h);
		for (j = 0; j < n; j++)
			mda_hdrfilter_feed(&h, hf_cases[i].in + j, 1, &out);
		mda_hdrfilter_end(&h, &out);
		test_assert_str(buf_cstr(&out), hf_cases[i].out);
		buf_free(&out);
		test_end();
	}
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_xseal,
		test_addr,
		test_addr_one_grammar,
		test_hdrfilter,
		NULL
	};

	return test_run(tests);
}
