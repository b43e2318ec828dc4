/*
 * test-smtp.c - the ESMTP session engine (common/smtp.c) driven over a
 * socketpair: a client script goes in whole (pipelined), the replies and
 * the stored message come out and are compared.  The deadlines:
 * test-smtp-deadline.c; LMTP mode: test-lmtp.c.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "net.h"
#include "smtp.h"
#include "test.h"
#include "smtp-testutil.h"

struct run {
	struct event_base	*base;
	int			 done;
	int			 fd;		/* message memfd */
	char			 msg[65536];
	size_t			 msglen;
	int			 nmsg;
	int			 ntxn_reset;
	int			 async_rcpt;
	struct smtp_session	*waiting;
	char			 waiting_rcpt[300];
	uint64_t		 closed_ms;
	char			 sessid[2][80];	/* per message, "-": none */
};

static struct run	 R;

static void
rcpt_later(int fd, short ev, void *arg)
{
	struct smtp_session	*s = R.waiting;

	R.waiting = NULL;
	if (strncmp(R.waiting_rcpt, "nobody@", 7) == 0)
		smtp_reply(s, 550, "5.1.1 Unknown user");
	else
		smtp_reply(s, 250, "2.1.5 Ok");
}

static void
h_rcpt(struct smtp_session *s, const char *rcpt, const struct smtp_cmd *c,
    void *arg)
{
	if (R.async_rcpt) {
		static struct event	*ev;

		if (ev == NULL)
			ev = evtimer_new(R.base, rcpt_later, NULL);
		R.waiting = s;
		snprintf(R.waiting_rcpt, sizeof(R.waiting_rcpt), "%s", rcpt);
		{
			struct timeval	 tv = { 0, 20000 };

			evtimer_add(ev, &tv);
		}
		return;
	}
	if (strncmp(rcpt, "nobody@", 7) == 0)
		smtp_reply(s, 550, "5.1.1 Unknown user");
	else
		smtp_reply(s, 250, "2.1.5 Ok");
}

static int
h_data_begin(struct smtp_session *s, void *arg)
{
	R.fd = memfd_create("test-msg", 0);
	return R.fd;
}

static void
h_data_end(struct smtp_session *s, size_t size, void *arg)
{
	ssize_t	 n;

	n = pread(R.fd, R.msg, sizeof(R.msg) - 1, 0);
	R.msglen = n > 0 ? (size_t)n : 0;
	R.msg[R.msglen] = '\0';
	if (R.nmsg < 2)
		snprintf(R.sessid[R.nmsg], sizeof(R.sessid[0]), "%s",
		    smtp_sessid(s) != NULL ? smtp_sessid(s) : "-");
	R.nmsg++;
	smtp_reply(s, 250, "2.0.0 Ok: queued as TEST%d", R.nmsg);
}

static void
h_txn_reset(struct smtp_session *s, void *arg)
{
	R.ntxn_reset++;
	if (R.fd != -1)
		close(R.fd);
	R.fd = -1;
}

static void
h_close(struct smtp_session *s, void *arg)
{
	R.done = 1;
	R.closed_ms = net_now_ms();
}

static void
h_ehlo_kw(struct smtp_session *s, void (*add)(struct smtp_session *,
    const char *), void *arg)
{
	add(s, "AUTH PLAIN");
}

static void
auth_line(struct smtp_session *s, const char *line, void *arg)
{
	if (strcmp(line, "c2VjcmV0") == 0)
		smtp_reply(s, 235, "2.7.0 Authentication successful");
	else
		smtp_reply(s, 535, "5.7.8 Authentication failed");
}

static int
h_command(struct smtp_session *s, const struct smtp_cmd *c, void *arg)
{
	if (c->verb != SMTP_CMD_AUTH)
		return -1;
	smtp_challenge(s, "", auth_line);
	return 0;
}

static const struct smtp_hooks hooks = {
	.rcpt = h_rcpt,
	.data_begin = h_data_begin,
	.data_end = h_data_end,
	.txn_reset = h_txn_reset,
	.close = h_close,
	.ehlo_keywords = h_ehlo_kw,
	.command = h_command,
};

static struct smtp_params params = {
	.hostname = "mx.test",
	.service = "ESMTP Sealmail",
	.max_message_size = 2000,
	.max_rcpt = 3,
	.max_errors = 5,
	.timeout_cmd = 5,
	.timeout_data = 5,
	.text_line_max = 1000,
};

/* Run one session on script; returns every reply line. */
static char *
run(const char *script, size_t len, int delay_ms, int async_rcpt)
{
	char	*out;

	memset(&R, 0, sizeof(R));
	R.fd = -1;
	R.async_rcpt = async_rcpt;
	R.base = event_base_new();
	params.greeting_delay_ms = delay_ms;
	out = st_session(R.base, &params, &hooks, NULL, script, len,
	    delay_ms == 0 || script[0] != '\0', &R.done);
	event_base_free(R.base);
	return out;
}

#define RUN(s)	run((s), sizeof(s) - 1, 0, 0)

static void
test_pipelined_transaction(void)
{
	const char	*out;

	test_begin("pipelined transaction, dot-unstuffed content, queue id");
	out = RUN("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n"
	    ".\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 250 250 354 250 221");
	test_assert(strstr(out, "250-PIPELINING\r\n") != NULL);
	test_assert(strstr(out, "250-AUTH PLAIN\r\n") != NULL);
	test_assert(strstr(out, "250 CHUNKING\r\n") != NULL);
	test_assert(strstr(out, "250 2.0.0 Ok: queued as TEST1") != NULL);
	test_assert_str(R.msg, "Subject: x\r\n\r\n.dot\r\n");
	test_end();
}

static void
test_async_rcpt_order(void)
{
	const char	*out;
	const char	 s[] = "EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<nobody@mx.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n"
	    "hi\r\n.\r\nQUIT\r\n";

	test_begin("asynchronous RCPT answers keep pipelined order");
	out = run(s, sizeof(s) - 1, 0, 1);
	test_assert_str(st_codes(out), "220 250 250 550 250 354 250 221");
	test_assert(R.nmsg == 1);
	test_end();
}

static void
test_bare_lf_refused(void)
{
	const char	*out;

	test_begin("bare LF in DATA: message refused, boundary only CRLF.CRLF");
	out = RUN("EHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mx.test>\r\n"
	    "DATA\r\nline\n.\nMAIL FROM:<evil@c.test>\r\n.\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 250 250 354 550 221");
	test_assert(strstr(out, "550 5.6.0") != NULL);
	test_assert(R.nmsg == 0);
	test_end();
}

static void
test_smuggling_patterns(void)
{
	static const char *const bodies[] = {
		"a\r\n\n.\r\nMAIL FROM:<e@x.test>\r\n",	/* LF.CRLF */
		"a\r\n.\nMAIL FROM:<e@x.test>\r\n",	/* CRLF.LF */
		"a\r\n\r.\r\nMAIL FROM:<e@x.test>\r\n",	/* CR.CRLF */
		"a\r\n.\rMAIL FROM:<e@x.test>\r\n",	/* CRLF.CR */
		"a\n\n.\n\nMAIL FROM:<e@x.test>\r\n",	/* LF.LF */
	};
	char		 s[512];
	const char	*out;
	size_t		 i;
	int		 ok = 1;

	test_begin("SMTP smuggling end-of-data variants are not boundaries");
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(s, sizeof(s), "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
		    "RCPT TO:<b@mx.test>\r\nDATA\r\n%s.\r\nQUIT\r\n",
		    bodies[i]);
		out = run(s, strlen(s), 0, 0);
		if (strcmp(st_codes(out), "220 250 250 250 354 550 221") != 0 ||
		    R.nmsg != 0) {
			printf("  variant %zu: %s\n", i, st_codes(out));
			ok = 0;
		}
	}
	test_assert(ok);
	test_end();
}

static void
test_bdat(void)
{
	const char	*out;

	test_begin("BDAT chunks are stored as sent");
	out = RUN("EHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mx.test>\r\n"
	    "BDAT 9\r\nA: b\r\n\r\n.BDAT 5 LAST\r\nx\r\n\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 250 250 250 250 221");
	test_assert_str(R.msg, "A: b\r\n\r\n.x\r\n\r\n");
	test_end();
}

static void
test_bdat_refused_still_read(void)
{
	const char	*out;

	test_begin("refused BDAT chunk is read and discarded");
	out = RUN("EHLO c\r\nBDAT 10 LAST\r\nQUIT\r\nQUITNOOP\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 503 250 221");
	test_end();
}

static void
test_size_limit(void)
{
	char		 s[6000];
	const char	*out;
	size_t		 n;
	int		 i;

	test_begin("SIZE parameter and content over the limit: 552 5.3.4");
	out = RUN("EHLO c\r\nMAIL FROM:<a@c.test> SIZE=999999\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 552 221");
	n = (size_t)snprintf(s, sizeof(s), "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\n");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%080d\r\n", i);
	n += (size_t)snprintf(s + n, sizeof(s) - n, ".\r\nQUIT\r\n");
	out = run(s, n, 0, 0);
	test_assert_str(st_codes(out), "220 250 250 250 354 552 221");
	test_assert(R.nmsg == 0);
	test_end();
}

static void
test_bdat_chunk_over_limit_hangs_up(void)
{
	const char	*out;

	test_begin("a BDAT chunk alone over the size limit: 552 and close");
	out = RUN("EHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mx.test>\r\n"
	    "BDAT 99999999999\r\nxxxx");
	test_assert_str(st_codes(out), "220 250 250 250 552");
	test_assert(R.ntxn_reset == 1);
	test_end();
}

static void
test_endless_data_hangs_up(void)
{
	static char	 s[16000];
	const char	*out;
	size_t		 n;

	test_begin("DATA far over the size limit: 552 and close, not read on");
	n = (size_t)snprintf(s, sizeof(s), "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\n");
	while (n + 82 < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%080d\r\n", 1);
	out = run(s, n, 0, 0);
	test_assert_str(st_codes(out), "220 250 250 250 354 552");
	test_assert(R.nmsg == 0 && R.ntxn_reset == 1);
	test_end();
}

static void
test_long_lines(void)
{
	char		 s[12000];
	const char	*out;
	size_t		 n;

	test_begin("overlong command line 500 5.5.6, content line 550 5.6.0");
	n = (size_t)snprintf(s, sizeof(s), "NOOP ");
	memset(s + n, 'x', 5000);
	n += 5000;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\nNOOP\r\nQUIT\r\n");
	out = run(s, n, 0, 0);
	test_assert_str(st_codes(out), "220 500 250 221");
	test_assert(strstr(out, "500 5.5.6") != NULL);
	n = (size_t)snprintf(s, sizeof(s), "EHLO c\r\nMAIL FROM:<a@c.test>\r\n"
	    "RCPT TO:<b@mx.test>\r\nDATA\r\n");
	memset(s + n, 'y', 1200);
	n += 1200;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n.\r\nQUIT\r\n");
	out = run(s, n, 0, 0);
	test_assert_str(st_codes(out), "220 250 250 250 354 550 221");
	test_end();
}

static void
test_sequence_errors(void)
{
	const char	*out;

	test_begin("commands out of sequence get 503 5.5.1");
	out = RUN("MAIL FROM:<a@c.test>\r\nEHLO c\r\nRCPT TO:<b@mx.test>\r\n"
	    "MAIL FROM:<a@c.test>\r\nMAIL FROM:<a@c.test>\r\n"
	    "DATA\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 503 250 503 250 503 554 221");
	test_end();
}

static void
test_error_limit(void)
{
	const char	*out;

	test_begin("too many errors end the session with 421");
	out = RUN("FOO\r\nBAR\r\nBAZ\r\nQUX\r\nQUUX\r\nNOOP\r\nNOOP\r\n");
	test_assert_str(st_codes(out), "220 500 500 500 500 500 421");
	test_end();
}

static void
test_bare_lf_command(void)
{
	const char	*out;

	test_begin("a command ended by a bare LF is refused");
	out = RUN("NOOP\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 500 221");
	test_end();
}

static void
test_utf8_needs_smtputf8(void)
{
	const char	*out;

	test_begin("non-ASCII address needs SMTPUTF8 (553 5.6.7)");
	out = RUN("EHLO c\r\nMAIL FROM:<j\xc3\xb6@c.test>\r\n"
	    "MAIL FROM:<j\xc3\xb6@c.test> SMTPUTF8\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 553 250 221");
	test_end();
}

#define SID	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static void
test_sessid_only_when_offered(void)
{
	const char	*out;

	test_begin("SESSID is refused as unknown (555 5.5.4) without the "
	    "callback, and no SEALMAIL-CALLBACK is offered");
	params.callback = 0;
	out = RUN("EHLO c\r\nMAIL FROM:<> SESSID=" SID "\r\nQUIT\r\n");
	test_assert(strstr(out, "SEALMAIL-CALLBACK") == NULL);
	test_assert_str(st_codes(out), "220 250 555 221");
	test_end();
}

static void
test_sessid_kept_on_the_transaction(void)
{
	const char	*out;

	test_begin("with the callback: EHLO offers SEALMAIL-CALLBACK, a "
	    "good SESSID stays with its transaction only, a bad one is 501");
	params.callback = 1;
	out = RUN("EHLO c\r\n"
	    "MAIL FROM:<> SESSID=" SID "A\r\n"		/* 65 digits */
	    "MAIL FROM:<> SESSID=" "0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\r\n"	/* upper case */
	    "MAIL FROM:<> SESSID=abc\r\n"
	    "MAIL FROM:<> SESSID\r\n"
	    "MAIL FROM:<> SESSID=" SID "\r\nRCPT TO:<a@m.test>\r\n"
	    "DATA\r\nSubject: 1\r\n\r\nx\r\n.\r\n"
	    "MAIL FROM:<>\r\nRCPT TO:<a@m.test>\r\n"
	    "DATA\r\nSubject: 2\r\n\r\nx\r\n.\r\nQUIT\r\n");
	params.callback = 0;
	test_assert(strstr(out, "250-SEALMAIL-CALLBACK\r\n") != NULL);
	test_assert_str(st_codes(out),
	    "220 250 501 501 501 501 250 250 354 250 250 250 354 250 221");
	test_assert(R.nmsg == 2);
	test_assert_str(R.sessid[0], SID);
	test_assert_str(R.sessid[1], "-");
	test_end();
}

static void
test_sessid_valid(void)
{
	test_begin("smtp_sessid_valid: exactly 64 lowercase hex digits");
	test_assert(smtp_sessid_valid(SID));
	test_assert(!smtp_sessid_valid(SID "0"));
	test_assert(!smtp_sessid_valid(SID + 1));
	test_assert(!smtp_sessid_valid(""));
	test_assert(!smtp_sessid_valid("g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"));
	test_end();
}

static struct sockaddr_storage	 sa_peer, sa_local;
static int			 sa_ok;

static void
h_helo_addrs(struct smtp_session *s, const char *name, int esmtp,
    void *arg)
{
	sa_ok = smtp_sockaddrs(s, &sa_peer, &sa_local) == 0;
	smtp_reply(s, 250, "2.0.0 Ok");
}

static const struct smtp_hooks addr_hooks = {
	.helo = h_helo_addrs,
	.close = h_close,
};

static void
test_sockaddrs_are_the_two_ends(void)
{
	struct sockaddr_in	 sin, cin;
	socklen_t		 len = sizeof(sin);
	const char		 script[] = "EHLO c\r\nQUIT\r\n";
	int			 l, c, a, i;

	test_begin("smtp_sockaddrs: the client's address and ours on TCP; "
	    "none on a unix socket");
	memset(&R, 0, sizeof(R));
	R.fd = -1;
	R.base = event_base_new();
	params.greeting_delay_ms = 0;
	sa_ok = -1;
	st_session(R.base, &params, &addr_hooks, NULL, script,
	    sizeof(script) - 1, 1, &R.done);
	test_assert(sa_ok == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	test_assert(bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	test_assert(listen(l, 1) == 0);
	test_assert(getsockname(l, (struct sockaddr *)&sin, &len) == 0);
	test_assert(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	len = sizeof(cin);
	test_assert(getsockname(c, (struct sockaddr *)&cin, &len) == 0);
	a = accept(l, NULL, NULL);
	test_assert(write(c, script, sizeof(script) - 1) ==
	    (ssize_t)sizeof(script) - 1);
	R.done = 0;
	smtp_session_new(R.base, a, &params, &addr_hooks, NULL);
	for (i = 0; i < 2000 && !R.done; i++)
		event_base_loop(R.base, EVLOOP_ONCE);
	test_assert(sa_ok == 1);
	test_assert(sa_peer.ss_family == AF_INET);
	test_assert(((struct sockaddr_in *)&sa_peer)->sin_port ==
	    cin.sin_port);
	test_assert(((struct sockaddr_in *)&sa_local)->sin_port ==
	    sin.sin_port);
	close(c);
	close(l);
	event_base_free(R.base);
	test_end();
}

static void
test_too_many_rcpt(void)
{
	const char	*out;

	test_begin("recipients beyond max_rcpt get 452 4.5.3");
	out = RUN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@m.test>\r\n"
	    "RCPT TO:<b@m.test>\r\nRCPT TO:<c@m.test>\r\n"
	    "RCPT TO:<d@m.test>\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 250 250 250 250 452 221");
	test_end();
}

static void
test_talk_before_greeting(void)
{
	const char	*out;
	const char	 s[] = "EHLO early\r\n";

	test_begin("client talking before the greeting is refused");
	out = run(s, sizeof(s) - 1, 100, 0);
	test_assert(strncmp(out, "554 5.5.1", 9) == 0);
	test_end();
}

static void
test_auth_hook(void)
{
	const char	*out;

	test_begin("AUTH through the command hook and a 334 challenge");
	out = RUN("EHLO c\r\nAUTH PLAIN\r\nc2VjcmV0\r\nAUTH PLAIN\r\nx\r\n"
	    "QUIT\r\n");
	test_assert_str(st_codes(out), "220 250 334 235 334 535 221");
	test_end();
}

static void
test_rset_and_txn_reset(void)
{
	const char	*out;

	test_begin("RSET ends the transaction and calls txn_reset");
	out = RUN("EHLO c\r\nMAIL FROM:<a@c.test>\r\nRSET\r\n"
	    "RCPT TO:<b@mx.test>\r\nQUIT\r\n");
	test_assert_str(st_codes(out), "220 250 250 250 503 221");
	test_assert(R.ntxn_reset == 1);
	test_end();
}

static void
test_unread_replies_stop_reading(void)
{
	struct event_base	*base;
	static char		 junk[1 << 18];
	size_t			 i, sent = 0;
	ssize_t			 n;
	int			 sv[2], rounds;

	test_begin("a client that reads no replies is not read either");
	for (i = 0; i + 6 <= sizeof(junk); i += 6)
		memcpy(junk + i, "NOOP\r\n", 6);
	memset(&R, 0, sizeof(R));
	R.fd = -1;
	base = R.base = event_base_new();
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	params.greeting_delay_ms = 0;
	params.max_commands = 0;
	params.timeout_cmd = 1;		/* it ends in a read timeout */
	smtp_session_new(base, sv[0], &params, &hooks, NULL);
	for (rounds = 0; rounds < 500; rounds++) {
		n = write(sv[1], junk + sent % sizeof(junk), sizeof(junk) -
		    sent % sizeof(junk));
		if (n > 0)
			sent += (size_t)n;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	/* bounded by the socket buffers and the engine's two watermarks */
	test_assert(sent < 4 * 1024 * 1024);
	close(sv[1]);
	for (rounds = 0; rounds < 1000 && !R.done; rounds++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	test_assert(R.done);
	event_base_free(base);
	params.timeout_cmd = 5;
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_pipelined_transaction,
		test_async_rcpt_order,
		test_bare_lf_refused,
		test_smuggling_patterns,
		test_bdat,
		test_bdat_refused_still_read,
		test_size_limit,
		test_bdat_chunk_over_limit_hangs_up,
		test_endless_data_hangs_up,
		test_long_lines,
		test_sequence_errors,
		test_error_limit,
		test_bare_lf_command,
		test_utf8_needs_smtputf8,
		test_sessid_only_when_offered,
		test_sessid_kept_on_the_transaction,
		test_sessid_valid,
		test_sockaddrs_are_the_two_ends,
		test_too_many_rcpt,
		test_talk_before_greeting,
		test_auth_hook,
		test_rset_and_txn_reset,
		test_unread_replies_stop_reading,
		NULL
	};

	log_init("test-smtp", 1, LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);	/* as daemon_signals() does */
	return test_run(tests);
}
