/*
 * test-smtp-parse.c - the SMTP command parser (common/smtp_parse.c),
 * table-driven: each line states the input, the verdict and, when it is
 * accepted, the verb, the path and the parameters expected.
 */
#include <stdio.h>
#include <string.h>

#include "smtp.h"
#include "test.h"

static const struct {
	const char		*line;
	enum smtp_parse_error	 err;
	enum smtp_verb		 verb;
	const char		*path;		/* NULL: do not check */
	const char		*param;		/* "KEY=VALUE" of the first */
} cases[] = {
	{ "EHLO mx.example.org", SMTP_PARSE_OK, SMTP_CMD_EHLO, NULL, NULL },
	{ "ehlo mx.example.org", SMTP_PARSE_OK, SMTP_CMD_EHLO, NULL, NULL },
	{ "HELO [192.0.2.1]", SMTP_PARSE_OK, SMTP_CMD_HELO, NULL, NULL },
	{ "EHLO", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO bad..name", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO a$b", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL, NULL },
	{ "MAIL FROM:<a@example.org>", SMTP_PARSE_OK, SMTP_CMD_MAIL,
	    "a@example.org", NULL },
	{ "MAIL FROM:<>", SMTP_PARSE_OK, SMTP_CMD_MAIL, "", NULL },
	{ "mail from: <a@example.org>", SMTP_PARSE_OK, SMTP_CMD_MAIL,
	    "a@example.org", NULL },
	{ "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME",
	    SMTP_PARSE_OK, SMTP_CMD_MAIL, "a@example.org", "SIZE=1000" },
	{ "MAIL FROM:<a@example.org> smtputf8", SMTP_PARSE_OK,
	    SMTP_CMD_MAIL, "a@example.org", "SMTPUTF8" },
	{ "MAIL FROM:<a@example.org> X-SEALMAIL-CLASS=safe", SMTP_PARSE_OK,
	    SMTP_CMD_MAIL, "a@example.org", "X-SEALMAIL-CLASS=safe" },
	/* a keyword given twice, in any case, is a syntax error (501) */
	{ "MAIL FROM:<a@example.org> X-SEALMAIL-CLASS=safe Z=> "
	    "X-SEALMAIL-CLASS=unsafe", SMTP_PARSE_SYNTAX, SMTP_CMD_MAIL, NULL,
	    NULL },
	{ "MAIL FROM:<a@example.org> BODY=8BITMIME body=7BIT",
	    SMTP_PARSE_SYNTAX, SMTP_CMD_MAIL, NULL, NULL },
	{ "MAIL FROM:<a@example.org> SMTPUTF8 SIZE=10 smtputf8",
	    SMTP_PARSE_SYNTAX, SMTP_CMD_MAIL, NULL, NULL },
	{ "RCPT TO:<b@example.org> NOTIFY=NEVER Notify=SUCCESS",
	    SMTP_PARSE_SYNTAX, SMTP_CMD_RCPT, NULL, NULL },
	{ "RCPT TO:<b@example.org> NOTIFY=NEVER ORCPT=rfc822;b@example.org",
	    SMTP_PARSE_OK, SMTP_CMD_RCPT, "b@example.org", "NOTIFY=NEVER" },
	{ "MAIL FROM:a@example.org", SMTP_PARSE_BADPATH, SMTP_CMD_MAIL, NULL,
	    NULL },
	{ "MAIL FROM:<a@example.org", SMTP_PARSE_BADPATH, SMTP_CMD_MAIL, NULL,
	    NULL },
	{ "MAIL FROM:<a@example.org>x", SMTP_PARSE_BADPATH, SMTP_CMD_MAIL,
	    NULL, NULL },
	{ "MAIL FROM:<a@@example.org>", SMTP_PARSE_BADPATH, SMTP_CMD_MAIL,
	    NULL, NULL },
	{ "MAIL FROM:<.a@example.org>", SMTP_PARSE_BADPATH, SMTP_CMD_MAIL,
	    NULL, NULL },
	{ "MAIL FROM:<a@example.org> =x", SMTP_PARSE_BADPARAM, SMTP_CMD_MAIL,
	    NULL, NULL },
	{ "MAIL FROM:<a@example.org> SIZE=", SMTP_PARSE_BADPARAM,
	    SMTP_CMD_MAIL, NULL, NULL },
	{ "MAIL FROM:<a@example.org> A B C D E F G H I J K L M N O P Q",
	    SMTP_PARSE_TOOMANYPARAM, SMTP_CMD_MAIL, NULL, NULL },
	{ "MAIL TO:<a@example.org>", SMTP_PARSE_SYNTAX, SMTP_CMD_MAIL, NULL,
	    NULL },
	{ "MAIL", SMTP_PARSE_SYNTAX, SMTP_CMD_MAIL, NULL, NULL },
	{ "MAIL FROM:<\"john doe\"@example.org>", SMTP_PARSE_OK,
	    SMTP_CMD_MAIL, "\"john doe\"@example.org", NULL },
	{ "MAIL FROM:<\"a>b\"@example.org>", SMTP_PARSE_OK, SMTP_CMD_MAIL,
	    "\"a>b\"@example.org", NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8", SMTP_PARSE_OK,
	    SMTP_CMD_MAIL, "j\xc3\xb6rg@example.org", "SMTPUTF8" },
	{ "RCPT TO:<@relay.example:b@example.org>", SMTP_PARSE_OK,
	    SMTP_CMD_RCPT, "b@example.org", NULL },
	{ "RCPT TO:<b@example.org>", SMTP_PARSE_OK, SMTP_CMD_RCPT,
	    "b@example.org", NULL },
	{ "RCPT TO:<Postmaster>", SMTP_PARSE_OK, SMTP_CMD_RCPT, "Postmaster",
	    NULL },
	{ "RCPT TO:<>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL, NULL },
	{ "RCPT TO:<b>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL, NULL },
	{ "RCPT TO:<b@[192.0.2.1]>", SMTP_PARSE_OK, SMTP_CMD_RCPT,
	    "b@[192.0.2.1]", NULL },
	{ "RCPT TO:<b@example.org> NOTIFY=NEVER", SMTP_PARSE_OK,
	    SMTP_CMD_RCPT, "b@example.org", "NOTIFY=NEVER" },
	/* the path as common/addr reads it: canonical, one rule (addr.h) */
	{ "MAIL FROM:<\"john\"@example.org>", SMTP_PARSE_OK, SMTP_CMD_MAIL,
	    "john@example.org", NULL },
	{ "RCPT TO:<\"b\\c\"@example.org>", SMTP_PARSE_OK, SMTP_CMD_RCPT,
	    "bc@example.org", NULL },
	{ "RCPT TO:<@r1.example,@r2.example:b@example.org>", SMTP_PARSE_OK,
	    SMTP_CMD_RCPT, "b@example.org", NULL },
	{ "RCPT TO:<@r_1.example:b@example.org>", SMTP_PARSE_BADPATH,
	    SMTP_CMD_RCPT, NULL, NULL },
	{ "RCPT TO:<b@exa_mple.org>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL,
	    NULL },
	{ "RCPT TO:<b@example.org.>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL,
	    NULL },
	{ "RCPT TO:<b@-example.org>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL,
	    NULL },
	{ "RCPT TO:<b\xff" "@example.org>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT,
	    NULL, NULL },
	{ "RCPT TO:<b@[example]>", SMTP_PARSE_BADPATH, SMTP_CMD_RCPT, NULL,
	    NULL },
	{ "RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", SMTP_PARSE_OK,
	    SMTP_CMD_RCPT, "j\xc3\xb6rg@b\xc3\xbc" "cher.example", NULL },
	{ "EHLO client.example", SMTP_PARSE_OK, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO [192.0.2.1]", SMTP_PARSE_OK, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO my_pc.example.", SMTP_PARSE_OK, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO [bogus]", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL, NULL },
	{ "EHLO -client.example", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL,
	    NULL },
	{ "EHLO cli\xff" "ent", SMTP_PARSE_SYNTAX, SMTP_CMD_EHLO, NULL, NULL },
	{ "DATA", SMTP_PARSE_OK, SMTP_CMD_DATA, NULL, NULL },
	{ "data  ", SMTP_PARSE_OK, SMTP_CMD_DATA, NULL, NULL },
	{ "DATA x", SMTP_PARSE_SYNTAX, SMTP_CMD_DATA, NULL, NULL },
	{ "BDAT 100", SMTP_PARSE_OK, SMTP_CMD_BDAT, NULL, NULL },
	{ "BDAT 0 LAST", SMTP_PARSE_OK, SMTP_CMD_BDAT, NULL, NULL },
	{ "BDAT -1", SMTP_PARSE_SYNTAX, SMTP_CMD_BDAT, NULL, NULL },
	{ "BDAT 12 FIRST", SMTP_PARSE_SYNTAX, SMTP_CMD_BDAT, NULL, NULL },
	{ "BDAT 9999999999999999999", SMTP_PARSE_SYNTAX, SMTP_CMD_BDAT, NULL,
	    NULL },
	{ "RSET", SMTP_PARSE_OK, SMTP_CMD_RSET, NULL, NULL },
	{ "NOOP anything", SMTP_PARSE_OK, SMTP_CMD_NOOP, NULL, NULL },
	{ "QUIT", SMTP_PARSE_OK, SMTP_CMD_QUIT, NULL, NULL },
	{ "STARTTLS", SMTP_PARSE_OK, SMTP_CMD_STARTTLS, NULL, NULL },
	{ "STARTTLS now", SMTP_PARSE_SYNTAX, SMTP_CMD_STARTTLS, NULL, NULL },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", SMTP_PARSE_OK, SMTP_CMD_AUTH,
	    NULL, NULL },
	{ "XCLIENT ADDR=1.2.3.4", SMTP_PARSE_OK, SMTP_CMD_UNKNOWN, NULL,
	    NULL },
	{ "", SMTP_PARSE_EMPTY, SMTP_CMD_UNKNOWN, NULL, NULL },
	{ "   ", SMTP_PARSE_EMPTY, SMTP_CMD_UNKNOWN, NULL, NULL },
	{ "MA\x01L FROM:<a@b.c>", SMTP_PARSE_BADCHAR, SMTP_CMD_UNKNOWN,
	    NULL, NULL },
	{ "\xc3\xa9HLO x", SMTP_PARSE_BADCHAR, SMTP_CMD_UNKNOWN, NULL, NULL },
};

static void
test_table(void)
{
	struct smtp_cmd	 cmd;
	char		 name[160], kv[300];
	size_t		 i;
	enum smtp_parse_error e;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "parse \"%.100s\"", cases[i].line);
		test_begin(name);
		e = smtp_cmd_parse(cases[i].line, strlen(cases[i].line), &cmd);
		test_assert(e == cases[i].err);
		if (e == SMTP_PARSE_OK || e == SMTP_PARSE_SYNTAX)
			test_assert(cmd.verb == cases[i].verb);
		if (e == SMTP_PARSE_OK && cases[i].path != NULL)
			test_assert_str(cmd.path, cases[i].path);
		if (e == SMTP_PARSE_OK && cases[i].param != NULL) {
			test_assert(cmd.nparams >= 1);
			if (cmd.nparams >= 1) {
				snprintf(kv, sizeof(kv), "%s%s%s",
				    cmd.params[0].key,
				    cmd.params[0].value ? "=" : "",
				    cmd.params[0].value ?
				    cmd.params[0].value : "");
				test_assert_str(kv, cases[i].param);
			}
		}
		test_end();
	}
}

static void
test_embedded_crlf_nul(void)
{
	struct smtp_cmd	 cmd;

	test_begin("parser refuses NUL, CR and LF inside a line");
	test_assert(smtp_cmd_parse("NOOP a\0b", 8, &cmd) ==
	    SMTP_PARSE_BADCHAR);
	test_assert(smtp_cmd_parse("NOOP a\rb", 8, &cmd) ==
	    SMTP_PARSE_BADCHAR);
	test_assert(smtp_cmd_parse("NOOP a\nb", 8, &cmd) ==
	    SMTP_PARSE_BADCHAR);
	test_end();
}

static void
test_limits(void)
{
	struct smtp_cmd	 cmd;
	char		 line[SMTP_CMD_LINE_MAX + 10], path[400];

	test_begin("parser enforces the line and path limits");
	memset(line, 'A', sizeof(line));
	test_assert(smtp_cmd_parse(line, SMTP_CMD_LINE_MAX + 1, &cmd) ==
	    SMTP_PARSE_TOOLONG);
	memset(path, 'a', sizeof(path));
	path[300] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>", path);
	test_assert(smtp_cmd_parse(line, strlen(line), &cmd) ==
	    SMTP_PARSE_BADPATH);
	path[65] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>", path);
	test_assert(smtp_cmd_parse(line, strlen(line), &cmd) ==
	    SMTP_PARSE_BADPATH);
	/* 254 octets of mailbox: the most a path of 256 can carry */
	path[64] = '\0';
	memset(path + 100, 'b', 189);
	path[100 + 189] = '\0';
	path[100 + 60] = path[100 + 120] = path[100 + 180] = '.';
	snprintf(line, sizeof(line), "RCPT TO:<%s@%s>", path, path + 100);
	test_assert(smtp_cmd_parse(line, strlen(line), &cmd) ==
	    SMTP_PARSE_OK);
	test_assert(strlen(cmd.path) == 254);
	snprintf(line, sizeof(line), "RCPT TO:<%s@%sb>", path, path + 100);
	test_assert(smtp_cmd_parse(line, strlen(line), &cmd) ==
	    SMTP_PARSE_BADPATH);
	test_end();
}

static void
test_bdat_fields(void)
{
	struct smtp_cmd	 cmd;

	test_begin("BDAT size and LAST are parsed");
	test_assert(smtp_cmd_parse("BDAT 4096 last", 14, &cmd) ==
	    SMTP_PARSE_OK);
	test_assert(cmd.chunk_size == 4096 && cmd.chunk_last == 1);
	test_assert(smtp_cmd_parse("BDAT 7", 6, &cmd) == SMTP_PARSE_OK);
	test_assert(cmd.chunk_size == 7 && cmd.chunk_last == 0);
	test_end();
}

static void
test_param_lookup(void)
{
	struct smtp_cmd	 cmd;
	const char	*l = "MAIL FROM:<a@b.example> size=10 SmtpUtf8";

	test_begin("parameters are upper-cased and looked up");
	test_assert(smtp_cmd_parse(l, strlen(l), &cmd) == SMTP_PARSE_OK);
	test_assert_str(smtp_cmd_param(&cmd, "SIZE"), "10");
	test_assert_str(smtp_cmd_param(&cmd, "SMTPUTF8"), "");
	test_assert(smtp_cmd_param(&cmd, "BODY") == NULL);
	test_assert(cmd.utf8path == 0);
	test_end();
}

static void
test_xtext(void)
{
	test_begin("xtext validation");
	test_assert(smtp_xtext_valid("a+2Bb"));
	test_assert(!smtp_xtext_valid("a+2"));
	test_assert(!smtp_xtext_valid("a=b"));
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_table,
		test_embedded_crlf_nul,
		test_limits,
		test_bdat_fields,
		test_param_lookup,
		test_xtext,
		NULL
	};

	return test_run(tests);
}
