/*
 * fuzz-smtp.c - libFuzzer target for the SMTP command parser
 * (common/smtp_parse.c): every input is one command line.  Checks that
 * the parser never reads or writes out of bounds and that an accepted
 * command's pointers stay inside its own storage.
 *
 *	clang -fsanitize=fuzzer,address,undefined -I common -D_GNU_SOURCE \
 *	    tests/fuzz/fuzz-smtp.c common/smtp_parse.c -o fuzz-smtp
 *	./fuzz-smtp tests/fuzz/corpus/smtp
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
#ifdef FUZZ_SMTP_SESSION
static void	fz_session(const uint8_t *, size_t);
#endif

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

#ifdef FUZZ_SMTP_SESSION
	fz_session(data, size);
#endif
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

#ifdef FUZZ_SMTP_SESSION
/*
 * The session engine too (common/smtp.c): the input is everything a
 * client sends, written whole into a socketpair; the engine answers with
 * hooks that accept or refuse at once.  Built by hand, since it links the
 * engine and TLS code:
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -DFUZZ_SMTP_SESSION -DSM_SYSCONFDIR=\"/etc\" -Icommon \
 *	    tests/fuzz/fuzz-smtp.c common/smtp_parse.c common/log.c \
 *	    common/xmalloc.c common/buf.c common/net.c common/config.c \
 *	    -o fuzz-smtp-session $(pkg-config --libs libevent_openssl \
 *	    libevent openssl)
 *	./fuzz-smtp-session -max_len=8192 tests/fuzz/corpus/smtp/session
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "smtp.c"
#include "smtp_cmd.c"
#include "smtp_data.c"
#include "tls.c"

static int	 fz_done, fz_fd = -1;

static void
fz_rcpt(struct smtp_session *s, const char *r, const struct smtp_cmd *c,
    void *a)
{
	if (strncmp(r, "nobody", 6) == 0)
		smtp_reply(s, 550, "5.1.1 Unknown");
	else
		smtp_reply(s, 250, "2.1.5 Ok");
}

static int
fz_data_begin(struct smtp_session *s, void *a)
{
	fz_fd = memfd_create("fz", MFD_CLOEXEC);
	return fz_fd;
}

static void
fz_data_end(struct smtp_session *s, size_t n, void *a)
{
	smtp_reply(s, 250, "2.0.0 Ok: queued as FUZZ");
}

static void
fz_reset(struct smtp_session *s, void *a)
{
	if (fz_fd != -1)
		close(fz_fd);
	fz_fd = -1;
}

static void
fz_close(struct smtp_session *s, void *a)
{
	fz_done = 1;
}

static void
fz_auth_line(struct smtp_session *s, const char *line, void *a)
{
	if (line[0] == '*')
		smtp_reply(s, 501, "5.7.0 Cancelled");
	else if (strlen(line) % 2)
		smtp_challenge(s, "again", fz_auth_line);
	else
		smtp_reply(s, 235, "2.7.0 Ok");
}

static int
fz_command(struct smtp_session *s, const struct smtp_cmd *c, void *a)
{
	if (c->verb != SMTP_CMD_AUTH)
		return -1;
	smtp_challenge(s, "", fz_auth_line);
	return 0;
}

static const struct smtp_hooks fz_hooks = {
	.rcpt = fz_rcpt,
	.data_begin = fz_data_begin,
	.data_end = fz_data_end,
	.txn_reset = fz_reset,
	.close = fz_close,
	.command = fz_command,
};

static struct smtp_params fz_params = {
	.hostname = "mx.fuzz",
	.max_message_size = 4096,
	.max_rcpt = 5,
	.max_errors = 20,
	.max_commands = 500,
	.timeout_cmd = 2,
	.timeout_data = 2,
	.text_line_max = 200,
};

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, LOG_LVL_ERR);
	return 0;
}

static void
fz_session(const uint8_t *data, size_t size)
{
	struct event_base	*base;
	char			 sink[65536];
	size_t			 off = 0;
	ssize_t			 n;
	int			 sv[2], i, shut = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	base = event_base_new();
	fz_done = 0;
	smtp_session_new(base, sv[0], &fz_params, &fz_hooks, NULL);
	for (i = 0; i < 100000 && !fz_done; i++) {
		if (off < size) {
			n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
		}
		if (off == size && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = 1;
		}
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	if (!fz_done)
		abort();	/* the session must end on EOF */
	close(sv[1]);
	event_base_free(base);
}
#endif
