/*
 * test-ks-proto.c - the key server's command parser.
 */
#include <string.h>

#include "ks_proto.h"
#include "test.h"

static const struct {
	const char	*line;
	enum ks_verb	 verb;
	const char	*address;
} cases[] = {
	{ "KEY alice@example.test", KS_CMD_KEY, "alice@example.test" },
	{ "key Alice@Example.TEST", KS_CMD_KEY, "Alice@example.test" },
	{ "KEY first.last+tag@mx-1.example.test", KS_CMD_KEY,
	    "first.last+tag@mx-1.example.test" },
	{ "QUIT", KS_CMD_QUIT, NULL },
	{ "quit", KS_CMD_QUIT, NULL },
	{ "QUIT now", KS_CMD_ERROR, NULL },
	{ "KEY", KS_CMD_ERROR, NULL },
	{ "KEY ", KS_CMD_ERROR, NULL },
	{ "KEY alice", KS_CMD_ERROR, NULL },
	{ "KEY @example.test", KS_CMD_ERROR, NULL },
	{ "KEY alice@", KS_CMD_ERROR, NULL },
	{ "KEY a..b@example.test", KS_CMD_ERROR, NULL },
	{ ".a@example.test", KS_CMD_ERROR, NULL },
	{ "KEY a@-example.test", KS_CMD_ERROR, NULL },
	{ "KEY a@example-.test", KS_CMD_ERROR, NULL },
	{ "KEY a@example..test", KS_CMD_ERROR, NULL },
	{ "KEY a b@example.test", KS_CMD_ERROR, NULL },
	{ "KEY <a@example.test>", KS_CMD_ERROR, NULL },
	{ "KEY a@example.test\r", KS_CMD_ERROR, NULL },
	/* common/addr's local user rule; the old check took the first */
	{ "KEY a@example.test-", KS_CMD_ERROR, NULL },
	{ "KEY a/b@example.test", KS_CMD_ERROR, NULL },
	{ "KEY \"a\"@example.test", KS_CMD_ERROR, NULL },
	{ "KEY a@[192.0.2.1]", KS_CMD_ERROR, NULL },
	{ "HELO", KS_CMD_ERROR, NULL },
	{ "", KS_CMD_ERROR, NULL },
};

static void
test_ks_parse_table(void)
{
	struct ks_cmd cmd;
	size_t	 i;

	test_begin("key server parser accepts KEY/QUIT and refuses the rest");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ks_parse_line(cases[i].line, strlen(cases[i].line), &cmd);
		if (cmd.verb != cases[i].verb) {
			printf("  case \"%s\": verb %d\n", cases[i].line,
			    cmd.verb);
			test_assert(0);
		}
		if (cases[i].address != NULL)
			test_assert_str(cmd.address, cases[i].address);
		if (cmd.verb == KS_CMD_ERROR)
			test_assert(cmd.error != NULL);
	}
	test_end();
}

static void
test_ks_parse_limits(void)
{
	struct ks_cmd cmd;
	char	 line[600];

	test_begin("key server parser enforces local-part and address length");
	memset(line, 'a', sizeof(line));
	memcpy(line, "KEY ", 4);
	memcpy(line + 4 + 65, "@example.test", 13);
	ks_parse_line(line, 4 + 65 + 13, &cmd);
	test_assert(cmd.verb == KS_CMD_ERROR);
	memcpy(line + 4 + 64, "@example.test", 13);
	ks_parse_line(line + 1, 3, &cmd);
	test_assert(cmd.verb == KS_CMD_ERROR);
	ks_parse_line(line, 4 + 64 + 13, &cmd);
	test_assert(cmd.verb == KS_CMD_KEY);
	ks_parse_line("KEY a@b\0c", 9, &cmd);
	test_assert(cmd.verb == KS_CMD_ERROR);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ks_parse_table,
		test_ks_parse_limits,
		NULL
	};

	return test_run(tests);
}
