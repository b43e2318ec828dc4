/*
 * test-ks-lookup.c - the key server client's line parser
 * (common/ks_lookup_parse.c): greetings, answer lines, and the key
 * record a key line stands for.
 */
#include <string.h>

#include "ks_lookup.h"
#include "test.h"

static const struct {
	const char		*line;
	enum ks_line_kind	 kind;
	const char		*host;
	int			 port;
} greetings[] = {
	{ "+OK mx.example.test keystore", KSL_GREETING, "mx.example.test", 0 },
	{ "+OK 127.0.0.1 keystore", KSL_GREETING, "127.0.0.1", 0 },
	{ "-FW keys.example.test:4025", KSL_FORWARD, "keys.example.test",
	    4025 },
	{ "-FW 192.0.2.7:1", KSL_FORWARD, "192.0.2.7", 1 },
	{ "-FW [2001:db8::1]:65535", KSL_FORWARD, "[2001:db8::1]", 65535 },
	{ "-FW 2001:db8::1:4025", KSL_BAD, NULL, 0 },	/* v6 without [] */
	{ "-FW keys.example.test:0", KSL_BAD, NULL, 0 },
	{ "-FW keys.example.test:65536", KSL_BAD, NULL, 0 },
	{ "-FW keys.example.test:", KSL_BAD, NULL, 0 },
	{ "-FW keys.example.test", KSL_BAD, NULL, 0 },
	{ "-FW :4025", KSL_BAD, NULL, 0 },
	{ "-FW keys example:4025", KSL_BAD, NULL, 0 },
	{ "-FW keys..example:4025", KSL_BAD, NULL, 0 },
	{ "-FW keys.example.test:40x5", KSL_BAD, NULL, 0 },
	{ "+OK mx.example.test keystore ", KSL_BAD, NULL, 0 },
	{ "+OK mx.example.test keystore extra", KSL_BAD, NULL, 0 },
	{ "+OK mx.example.test", KSL_BAD, NULL, 0 },
	{ "+OK  keystore", KSL_BAD, NULL, 0 },
	{ "+OK mx_1.example keystore", KSL_BAD, NULL, 0 },
	{ "+ok mx.example.test keystore", KSL_BAD, NULL, 0 },
	{ "-ERR too many connections", KSL_BAD, NULL, 0 },
	{ "", KSL_BAD, NULL, 0 },
};

static void
test_greetings(void)
{
	struct ks_line	 l;
	size_t		 i;

	test_begin("greetings: +OK host keystore, -FW host:port, else bad");
	for (i = 0; i < sizeof(greetings) / sizeof(greetings[0]); i++) {
		ks_lookup_parse_greeting(greetings[i].line,
		    strlen(greetings[i].line), &l);
		if (l.kind != greetings[i].kind)
			printf("  %s: kind %d\n", greetings[i].line, l.kind);
		test_assert(l.kind == greetings[i].kind);
		if (greetings[i].host != NULL)
			test_assert_str(l.host, greetings[i].host);
		if (greetings[i].kind == KSL_FORWARD)
			test_assert(l.port == greetings[i].port);
	}
	test_end();
}

#define ED_KEY	"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static const struct {
	const char		*line;
	enum ks_line_kind	 kind;
	const char		*selector;
	enum dkim_alg		 alg;
	const char		*key;
} answers[] = {
	{ "+OK sabcdefghijkl ed25519-sha256 " ED_KEY, KSL_KEY,
	    "sabcdefghijkl", DKIM_ALG_ED25519_SHA256, ED_KEY },
	{ "+OK Brisbane rsa-sha256 MIIBIjANBg", KSL_KEY, "brisbane",
	    DKIM_ALG_RSA_SHA256, "MIIBIjANBg" },
	{ "+OK s1.sub rsa-sha256 revoked", KSL_REVOKED, "s1.sub",
	    DKIM_ALG_RSA_SHA256, NULL },
	{ ".", KSL_END, NULL, DKIM_ALG_NONE, NULL },
	{ "-ERR no key for this address", KSL_ERR, NULL, DKIM_ALG_NONE, NULL },
	{ "-ERR", KSL_ERR, NULL, DKIM_ALG_NONE, NULL },
	{ "-ERRx", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "..", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha1 MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 ", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 MIIB ", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 MIIB extra", KSL_BAD, NULL, DKIM_ALG_NONE,
	    NULL },
	{ "+OK sel rsa-sha256 MI;B", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 MI=B", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 MIB===", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel rsa-sha256 p=MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK s..x rsa-sha256 MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK .s rsa-sha256 MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK s_x rsa-sha256 MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK sel  rsa-sha256 MIIB", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
	{ "+OK mx.example.test keystore", KSL_BAD, NULL, DKIM_ALG_NONE,
	    NULL },
	{ "", KSL_BAD, NULL, DKIM_ALG_NONE, NULL },
};

static void
test_answers(void)
{
	struct ks_line	 l;
	size_t		 i;
	const char	*line;

	test_begin("answer lines: keys, revoked, end, -ERR, else bad");
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		line = answers[i].line;
		ks_lookup_parse_answer(line, strlen(line), &l);
		if (l.kind != answers[i].kind)
			printf("  %s: kind %d\n", line, l.kind);
		test_assert(l.kind == answers[i].kind);
		if (answers[i].selector != NULL) {
			test_assert_str(l.selector, answers[i].selector);
			test_assert(l.alg == answers[i].alg);
		}
		if (answers[i].key != NULL)
			test_assert(l.key_len == strlen(answers[i].key) &&
			    memcmp(line + l.key_off, answers[i].key,
			    l.key_len) == 0);
	}
	test_end();
}

static void
test_nul_and_length_are_bad(void)
{
	struct ks_line	 l;
	char		 big[KS_LOOKUP_LINE_MAX + 40];

	test_begin("a NUL byte or a line over the limit is bad");
	ks_lookup_parse_answer("+OK s rsa-sha256 AB\0CD", 22, &l);
	test_assert(l.kind == KSL_BAD);
	ks_lookup_parse_greeting("+OK h\0 keystore", 15, &l);
	test_assert(l.kind == KSL_BAD);
	memset(big, 'A', sizeof(big));
	memcpy(big, "+OK s rsa-sha256 ", 17);
	ks_lookup_parse_answer(big, sizeof(big), &l);
	test_assert(l.kind == KSL_BAD);
	ks_lookup_parse_answer(big, KS_LOOKUP_LINE_MAX, &l);
	test_assert(l.kind == KSL_KEY);
	test_end();
}

static void
test_records(void)
{
	struct ks_line	 l;
	struct buf	 b;
	const char	*ed = "+OK s ed25519-sha256 " ED_KEY;
	const char	*rv = "+OK s rsa-sha256 revoked";

	test_begin("a key line is the DNS record it stands for");
	buf_init(&b, 0);
	ks_lookup_parse_answer(ed, strlen(ed), &l);
	test_assert(ks_lookup_record(&l, ed, &b) == 0);
	test_assert_str(buf_cstr(&b), "v=DKIM1; k=ed25519; p=" ED_KEY);
	buf_reset(&b);
	ks_lookup_parse_answer(rv, strlen(rv), &l);
	test_assert(ks_lookup_record(&l, rv, &b) == 0);
	test_assert_str(buf_cstr(&b), "v=DKIM1; k=rsa; p=");
	buf_reset(&b);
	ks_lookup_parse_answer(".", 1, &l);
	test_assert(ks_lookup_record(&l, ".", &b) == -1);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_greetings,
		test_answers,
		test_nul_and_length_are_bad,
		test_records,
		NULL
	};

	return test_run(tests);
}
