/*
 * fuzz-session.c - libFuzzer target for the SMTP session engine
 * (common/smtp.c, smtp_cmd.c, smtp_data.c) in both its modes: the first
 * byte of the input picks SMTP ('S' or anything else), LMTP with the
 * per-recipient replies given at once ('L') or later from the event
 * loop ('l'); the rest is everything a client sends, written into a
 * socketpair as fast as the engine reads it.  The hooks accept or refuse
 * at once (AUTH in SMTP, mda's XSEAL in LMTP, recipients named nobody
 * refused).  Checks that the engine never touches memory it should not,
 * that every line it writes is a reply (a code, then " " or "-"), and
 * that the session ends when the client's input does.
 *
 *	./sealmail.sh fuzz, or by hand (see fuzz_sources in sealmail.sh):
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -DSM_SYSCONFDIR=\"/etc\" -Icommon tests/fuzz/fuzz-session.c \
 *	    common/smtp_parse.c common/log.c common/xmalloc.c common/buf.c \
 *	    common/net.c common/config*.c -o fuzz-session \
 *	    $(pkg-config --libs libevent_openssl libevent openssl)
 *	./fuzz-session -max_len=8192 tests/fuzz/corpus/session
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "smtp.c"
#include "smtp_cmd.c"
#include "smtp_data.c"
#include "tls.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static struct {
	int			 done;
	int			 fd;
	int			 later;
	int			 sealed;
	struct smtp_session	*waiting;
	struct event		*ev;
} fz = { .fd = -1 };

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
	fz.fd = memfd_create("fz", MFD_CLOEXEC);
	return fz.fd;
}

static void
fz_answer(struct smtp_session *s)
{
	int	 i, n = s->p->lmtp ? smtp_rcpt_count(s) : 1;

	for (i = 0; i < n; i++)
		smtp_reply(s, i % 3 == 1 ? 452 : 250, "2.0.0 Ok: %d", i);
}

static void
fz_answer_later(int fd, short ev, void *arg)
{
	struct smtp_session	*s = fz.waiting;

	fz.waiting = NULL;
	if (s != NULL)
		fz_answer(s);
}

static void
fz_data_end(struct smtp_session *s, size_t n, void *a)
{
	if (!fz.later) {
		fz_answer(s);
		return;
	}
	fz.waiting = s;
	event_active(fz.ev, EV_TIMEOUT, 1);
}

static void
fz_reset(struct smtp_session *s, void *a)
{
	if (fz.fd != -1)
		close(fz.fd);
	fz.fd = -1;
	fz.sealed = 0;
}

static void
fz_close(struct smtp_session *s, void *a)
{
	fz.waiting = NULL;
	fz.done = 1;
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
	if (c->verb == SMTP_CMD_AUTH) {
		smtp_challenge(s, "", fz_auth_line);
		return 0;
	}
	if (strcmp(c->verbstr, "XSEAL") != 0)
		return -1;
	if (smtp_phase(s) != SMTP_PHASE_HELO || fz.sealed)
		smtp_reply(s, 503, "5.5.1 XSEAL only once, before MAIL");
	else {
		fz.sealed = 1;
		smtp_txn_open(s);
		smtp_reply(s, 250, "2.0.0 OK");
	}
	return 0;
}

static void
fz_keywords(struct smtp_session *s, void (*add)(struct smtp_session *,
    const char *), void *arg)
{
	add(s, s->p->lmtp ? "XSEAL" : "AUTH PLAIN");
}

static const struct smtp_hooks fz_hooks = {
	.ehlo_keywords = fz_keywords,
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, LOG_LVL_ERR);
	return 0;
}

/* Every line the engine wrote is a reply: "NNN " or "NNN-" and text. */
static void
check_replies(const char *out, size_t len)
{
	size_t	 i = 0;

	while (i < len) {
		if (len - i < 4 || out[i] < '2' || out[i] > '5' ||
		    out[i + 1] < '0' || out[i + 1] > '9' ||
		    out[i + 2] < '0' || out[i + 2] > '9' ||
		    (out[i + 3] != ' ' && out[i + 3] != '-'))
			abort();
		while (i < len && out[i] != '\n')
			i++;
		i++;
	}
}

/* What the engine wrote so far, after olen bytes; full: read, not kept. */
static size_t
drain(int fd, char *out, size_t outlen, size_t olen)
{
	char	 sink[4096];
	ssize_t	 n;

	for (;;) {
		if (olen < outlen)
			n = read(fd, out + olen, outlen - olen);
		else
			n = read(fd, sink, sizeof(sink));
		if (n <= 0)
			return olen;
		if (olen < outlen)
			olen += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_base	*base;
	static char		 out[1 << 20];
	size_t			 off = 0, olen = 0;
	ssize_t			 n;
	int			 sv[2], i, shut = 0;

	if (size == 0)
		return 0;
	fz_params.lmtp = data[0] == 'L' || data[0] == 'l';
	fz.later = data[0] == 'l';
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	base = event_base_new();
	fz.ev = event_new(base, -1, 0, fz_answer_later, NULL);
	fz.done = fz.sealed = 0;
	smtp_session_new(base, sv[0], &fz_params, &fz_hooks, NULL);
	for (i = 0; i < 100000 && !fz.done; i++) {
		if (off < size) {
			n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
		}
		if (off == size && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = 1;
		}
		olen = drain(sv[1], out, sizeof(out), olen);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	if (!fz.done)
		abort();	/* the session must end on EOF */
	if ((olen = drain(sv[1], out, sizeof(out), olen)) < sizeof(out))
		check_replies(out, olen);
	close(sv[1]);
	event_free(fz.ev);
	event_base_free(base);
	return 0;
}
