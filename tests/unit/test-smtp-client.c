/*
 * test-smtp-client.c - the client side of SMTP/LMTP (common/smtp_client.c)
 * that smtpd.delivery and mda's LDA speak to mda with: the message
 * encoder (a table; also fed in every split), reading replies from a
 * scripted server over a socketpair (a table), capabilities, and the
 * check of a kept connection.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "smtp_client.h"
#include "test.h"

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

int
main(void)
{
	static void (*const tests[])(void) = {
		test_encoder,
		test_replies,
		test_long_reply,
		test_pipelined_and_stale,
		NULL
	};

	log_init("test-smtp-client", 1, LOG_LVL_ERR);
	return test_run(tests);
}
