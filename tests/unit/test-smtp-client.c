/*
 * test-smtp-client.c - the client side of SMTP/LMTP (common/smtp_client.c)
 * that smtpd.delivery and mda's LDA speak to mda with: the message
 * encoder (a table; also fed in every split), reading replies from a
 * scripted server over a socketpair (a table), capabilities, the
 * check of a kept connection, and BDAT (CHUNKING) chunks and replies.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "smtp_client.h"
#include "test.h"
#include "xmalloc.h"

static const struct {
	const char	*in;
	const char	*out;
} encodings[] = {
	{ "", ".\r\n" },
	{ "a\r\n", "a\r\n.\r\n" },
	{ "a", "a\r\n.\r\n" },
	{ "a\nb\n", "a\r\nb\r\n.\r\n" },
	{ "a\rb", "a\r\nb\r\n.\r\n" },
	{ "a\r", "a\r\n.\r\n" },
	{ "a\r\r\n", "a\r\n\r\n.\r\n" },
	{ ".x\r\n", "..x\r\n.\r\n" },
	{ "a\r\n.\r\n", "a\r\n..\r\n.\r\n" },
	{ "a\n.\n", "a\r\n..\r\n.\r\n" },
	{ "x\r.\r", "x\r\n..\r\n.\r\n" },
	{ "\r\n\r\n..\r\n", "\r\n\r\n...\r\n.\r\n" },
	{ "a.b\r\n .c\r\n", "a.b\r\n .c\r\n.\r\n" },
};

static void
test_encoder(void)
{
	struct buf	 b;
	size_t		 i, cut, n;
	int		 st, ok = 1;

	test_begin("the message: dot-stuffed, every line end a CRLF, in any "
	    "pieces");
	buf_init(&b, 0);
	for (i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		n = strlen(encodings[i].in);
		for (cut = 0; cut <= n; cut++) {
			buf_reset(&b);
			st = 0;
			smtp_client_encode(&b, encodings[i].in, cut, &st);
			smtp_client_encode(&b, encodings[i].in + cut, n - cut,
			    &st);
			smtp_client_encode_end(&b, &st);
			if (b.len != strlen(encodings[i].out) ||
			    memcmp(b.data, encodings[i].out, b.len) != 0) {
				printf("  case %zu cut %zu\n", i, cut);
				ok = 0;
			}
		}
	}
	buf_free(&b);
	test_assert(ok);
	test_end();
}

/* A client on one end of a socketpair; the "server" wrote script. */
static int
scripted(struct smtp_client *c, const char *script, size_t len)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
	memset(c, 0, sizeof(*c));
	buf_init(&c->in, SMTP_CLIENT_IN_MAX);
	buf_init(&c->out, 0);
	c->fd = sv[0];
	if (write(sv[1], script, len) != (ssize_t)len)
		fatal("write");
	shutdown(sv[1], SHUT_WR);
	return sv[1];
}

static const struct {
	const char	*script;
	int		 code;
	const char	*last;
	int		 caps;
} replies[] = {
	{ "220 mda ready\r\n", 220, "220 mda ready", 0 },
	{ "250-mda\r\n250-XSEAL\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n", 250,
	    "250 SMTPUTF8", SMTP_CAP_XSEAL | SMTP_CAP_PIPELINING |
	    SMTP_CAP_SMTPUTF8 },
	{ "250-mda\r\n250-xseal now\r\n250 XSEALS\r\n", 250, "250 XSEALS",
	    SMTP_CAP_XSEAL },
	{ "250\r\n", 250, "250", 0 },
	{ "250 ok\n", 250, "250 ok", 0 },
	{ "451 4.3.0 busy\r\n", 451, "451 4.3.0 busy", 0 },
	{ "250-a\r\n251 b\r\n", -1, NULL, 0 },
	{ "abc\r\n", -1, NULL, 0 },
	{ "25\r\n", -1, NULL, 0 },
	{ "250x\r\n", -1, NULL, 0 },
	{ "600 no\r\n", -1, NULL, 0 },
	{ "199 no\r\n", -1, NULL, 0 },
	{ "250 no line end", -1, NULL, 0 },
	{ "", -1, NULL, 0 },
};

static void
test_replies(void)
{
	struct smtp_client c;
	char		 line[64];
	size_t		 i;
	int		 peer, code, ok = 1;

	test_begin("replies: codes, multi-line, capabilities, and what is "
	    "not a reply");
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		peer = scripted(&c, replies[i].script,
		    strlen(replies[i].script));
		code = smtp_client_hello(&c, "LHLO", "client.test", line,
		    sizeof(line));
		if (code != replies[i].code || (code != -1 &&
		    (strcmp(line, replies[i].last) != 0 ||
		    c.caps != replies[i].caps))) {
			printf("  case %zu: code %d caps %#x\n", i, code,
			    c.caps);
			ok = 0;
		}
		smtp_client_close(&c);
		close(peer);
	}
	test_assert(ok);
	test_end();
}

static void
test_long_reply(void)
{
	struct smtp_client c;
	static char	 s[SMTP_CLIENT_IN_MAX + 100];
	char		 line[16];
	int		 peer;

	test_begin("a reply line beyond SMTP_CLIENT_IN_MAX ends the "
	    "conversation");
	memset(s, 'x', sizeof(s));
	memcpy(s, "250 ", 4);
	s[sizeof(s) - 2] = '\r';
	s[sizeof(s) - 1] = '\n';
	peer = scripted(&c, s, sizeof(s));
	test_assert(smtp_client_reply(&c, line, sizeof(line)) == -1);
	smtp_client_close(&c);
	close(peer);

	/* a long one that fits is truncated for the caller, not refused */
	s[2000 - 2] = '\r';
	s[2000 - 1] = '\n';
	peer = scripted(&c, s, 2000);
	test_assert(smtp_client_reply(&c, line, sizeof(line)) == 250);
	test_assert(strlen(line) == sizeof(line) - 1);
	smtp_client_close(&c);
	close(peer);
	test_end();
}

static void
test_pipelined_and_stale(void)
{
	struct smtp_client c;
	char		 line[64], b[256];
	ssize_t		 n;
	int		 sv[2];

	test_begin("commands go out with the next read; a kept connection "
	    "that spoke is stale");
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(&c, 0, sizeof(c));
	buf_init(&c.in, SMTP_CLIENT_IN_MAX);
	buf_init(&c.out, 0);
	c.fd = sv[0];
	test_assert(!smtp_client_stale(&c));
	smtp_client_cmd(&c, "MAIL FROM:<%s>", "a@b.test");
	smtp_client_cmd(&c, "RCPT TO:<%s>", "c@d.test");
	test_assert(write(sv[1], "250 a\r\n250 b\r\n", 14) == 14);
	test_assert(smtp_client_reply(&c, line, sizeof(line)) == 250);
	test_assert_str(line, "250 a");
	n = read(sv[1], b, sizeof(b) - 1);
	b[n > 0 ? n : 0] = '\0';
	test_assert_str(b, "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n");
	/* the second reply is read already: unread input is stale too */
	test_assert(smtp_client_stale(&c));
	test_assert(smtp_client_reply(&c, line, sizeof(line)) == 250);
	test_assert(!smtp_client_stale(&c));
	test_assert(write(sv[1], "421 4.4.2 timeout\r\n", 19) == 19);
	test_assert(smtp_client_stale(&c));
	smtp_client_close(&c);
	test_assert(smtp_client_stale(&c));
	close(sv[1]);
	test_end();
}

/*
 * The client sends msg with smtp_client_bdat to a server that has
 * written replies; a child collects what the client sent into *sent
 * (malloc'd), since it may be more than a socketpair holds.
 */
static int
bdat_run(const char *msg, size_t len, const char *script, int caps,
    char *line, size_t linelen, char **sent, size_t *sentlen)
{
	struct smtp_client c;
	FILE		*msgf, *out;
	char		 b[65536];
	ssize_t		 n;
	pid_t		 pid;
	int		 peer, code;

	msgf = tmpfile();
	out = tmpfile();
	if (msgf == NULL || out == NULL ||
	    fwrite(msg, 1, len, msgf) != len || fflush(msgf) != 0)
		fatal("tmpfile");
	peer = scripted(&c, script, strlen(script));
	c.caps = caps;
	if ((pid = fork()) == 0) {
		close(c.fd);
		while ((n = read(peer, b, sizeof(b))) > 0)
			if (fwrite(b, 1, (size_t)n, out) != (size_t)n)
				_exit(1);
		_exit(fflush(out) != 0);
	}
	code = smtp_client_bdat(&c, fileno(msgf), line, linelen);
	smtp_client_close(&c);
	close(peer);
	waitpid(pid, NULL, 0);
	*sentlen = (size_t)ftell(out);
	*sent = xmalloc(*sentlen + 1);
	rewind(out);
	if (fread(*sent, 1, *sentlen, out) != *sentlen)
		fatal("fread");
	(*sent)[*sentlen] = '\0';
	fclose(msgf);
	fclose(out);
	return code;
}

/*
 * Walk "BDAT n[ LAST]" CRLF and n bytes, to the end: the number of
 * chunks, the first one's size and the total; -1 when it is not that,
 * or LAST is not on the last chunk only.
 */
static int
bdat_chunks(const char *p, size_t len, size_t *first, size_t *total)
{
	const char	*e = p + len;
	char		*end;
	unsigned long	 n;
	int		 k = 0, last = 0;

	*total = 0;
	while (p < e) {
		if (last || strncmp(p, "BDAT ", 5) != 0)
			return -1;
		n = strtoul(p + 5, &end, 10);
		if (strncmp(end, " LAST\r\n", 7) == 0) {
			last = 1;
			end += 7;
		} else if (strncmp(end, "\r\n", 2) == 0)
			end += 2;
		else
			return -1;
		if (k++ == 0)
			*first = n;
		if ((size_t)(e - end) < n)
			return -1;
		*total += n;
		p = end + n;
	}
	return k;
}

static void
test_bdat(void)
{
	char	 line[64], *sent, *big;
	size_t	 len, i, n = 300000, first, total;
	int	 code;

	test_begin("BDAT: line ends made CRLF, no dot-stuffing, LAST on the "
	    "last chunk");
	code = bdat_run("a\n.b\r\n.", 7, "250 2.0.0 queued\r\n",
	    SMTP_CAP_PIPELINING, line, sizeof(line), &sent, &len);
	test_assert(code == 250);
	test_assert_str(line, "250 2.0.0 queued");
	test_assert_str(sent, "BDAT 10 LAST\r\na\r\n.b\r\n.\r\n");
	free(sent);
	test_end();

	test_begin("BDAT: a large message in pipelined chunks, each sized "
	    "exactly");
	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = i % 100 == 99 ? '\n' : i % 100 == 0 ? '.' : 'x';
	code = bdat_run(big, n, "250 a\r\n250 b\r\n", SMTP_CAP_PIPELINING,
	    line, sizeof(line), &sent, &len);
	test_assert(code == 250);
	test_assert_str(line, "250 b");
	/* 3000 lines of 101 bytes once CRLF, in two chunks */
	test_assert(bdat_chunks(sent, len, &first, &total) == 2);
	test_assert(first >= 256 * 1024 && first < total);
	test_assert(total == 303000);
	test_assert(strstr(sent, "..") == NULL);
	free(sent);
	test_end();

	test_begin("BDAT: without PIPELINING a refused chunk ends it; its "
	    "reply decides");
	code = bdat_run(big, n, "552 5.3.4 too big\r\n", 0, line,
	    sizeof(line), &sent, &len);
	test_assert(code == 552);
	test_assert_str(line, "552 5.3.4 too big");
	test_assert(strstr(sent, "LAST") == NULL);
	test_assert(bdat_chunks(sent, len, &first, &total) == 1);
	free(sent);

	/* pipelined: the first refusal decides, later replies are read */
	code = bdat_run(big, n, "451 4.3.0 disk\r\n554 5.5.1 no\r\n",
	    SMTP_CAP_PIPELINING, line, sizeof(line), &sent, &len);
	test_assert(code == 451);
	test_assert_str(line, "451 4.3.0 disk");
	free(sent);
	test_assert(bdat_run("a", 1, "", 0, line, sizeof(line), &sent,
	    &len) == -1);
	free(sent);
	free(big);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_encoder,
		test_replies,
		test_long_reply,
		test_pipelined_and_stale,
		test_bdat,
		NULL
	};

	log_init("test-smtp-client", 1, LOG_LVL_ERR);
	return test_run(tests);
}
