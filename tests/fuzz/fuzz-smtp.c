/*
 * fuzz-smtp.c - libFuzzer target for the SMTP command parser
 * (common/smtp_parse.c): every input is one command line.  Checks that
 * the parser never reads or writes out of bounds and that an accepted
 * command's pointers stay inside its own storage.
 *
 *	clang -fsanitize=fuzzer,address,undefined -I common -D_GNU_SOURCE \
 *	    tests/fuzz/fuzz-smtp.c common/smtp_parse.c -o fuzz-smtp
 *	./fuzz-smtp tests/fuzz/corpus/smtp
 *
 * The session engine that runs the parser, in SMTP and LMTP mode, has a
 * target of its own: fuzz-session.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_inside(const struct smtp_cmd *cmd, const char *p)
{
	if (p == NULL)
		return;
	if (p < cmd->line || p > cmd->line + sizeof(cmd->line) - 1)
		abort();
	if (strlen(p) > (size_t)(cmd->line + sizeof(cmd->line) - 1 - p))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_cmd	 cmd;
	enum smtp_parse_error	 e;
	int			 i, code;

	e = smtp_cmd_parse((const char *)data, size, &cmd);
	if (smtp_parse_reply(e, &code) == NULL || code < 250 || code > 555)
		abort();
	if (e != SMTP_PARSE_OK)
		return 0;
	check_inside(&cmd, cmd.arg);
	check_inside(&cmd, cmd.path);
	if (cmd.nparams < 0 || cmd.nparams > SMTP_PARAM_MAX)
		abort();
	for (i = 0; i < cmd.nparams; i++) {
		check_inside(&cmd, cmd.params[i].key);
		check_inside(&cmd, cmd.params[i].value);
	}
	if (cmd.path != NULL && strlen(cmd.path) > SMTP_PATH_MAX)
		abort();
	if ((cmd.verb == SMTP_CMD_MAIL || cmd.verb == SMTP_CMD_RCPT) &&
	    cmd.path == NULL)
		abort();
	return 0;
}
