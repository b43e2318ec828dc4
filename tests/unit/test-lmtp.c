/*
 * test-lmtp.c - the session engine (common/smtp.c) in its LMTP mode
 * (RFC 2033), as mda's LMTP server runs it: LHLO, pipelining, one reply
 * per accepted recipient after DATA or BDAT LAST in RCPT order (also
 * when the hook answers later), bare LF refused for each recipient,
 * dot-stuffing, and an extension command (XSEAL) through the command
 * hook with the transaction state it opens.  Each case is a client
 * script written whole into a socketpair.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "smtp.h"
#include "test.h"
#include "smtp-testutil.h"

struct lrun {
	struct event_base	*base;
	int			 done;
	int			 fd;
	char			 msg[8192];
	int			 nmsg;
	int			 later;		/* answer data_end on a timer */
	int			 sealed;	/* XSEAL in this transaction */
	int			 ntxn_reset;
	char			 rcpt[8][64];	/* accepted, in order */
	int			 nrcpt;
	struct smtp_session	*waiting;
	struct event		*ev;
};

static struct lrun	 L;

static void
h_keywords(struct smtp_session *s, void (*add)(struct smtp_session *,
    const char *), void *arg)
{
	add(s, "XSEAL");
}

/* XSEAL, as mda gives it: after LHLO, before MAIL, once */
static int
h_command(struct smtp_session *s, const struct smtp_cmd *c, void *arg)
{
	if (strcmp(c->verbstr, "XSEAL") != 0)
		return -1;
	if (smtp_phase(s) == SMTP_PHASE_INIT)
		smtp_reply(s, 503, "5.5.1 LHLO first");
	else if (smtp_phase(s) != SMTP_PHASE_HELO || L.sealed)
		smtp_reply(s, 503, "5.5.1 XSEAL only once, before MAIL");
	else {
		L.sealed = 1;
		smtp_txn_open(s);
		smtp_reply(s, 250, "2.0.0 OK sealed=%s", c->arg);
	}
	return 0;
}

static void
h_rcpt(struct smtp_session *s, const char *rcpt, const struct smtp_cmd *c,
    void *arg)
{
	if (strncmp(rcpt, "nobody@", 7) == 0) {
		smtp_reply(s, 550, "5.1.1 Unknown user");
		return;
	}
	if (L.nrcpt < 8)
		snprintf(L.rcpt[L.nrcpt++], sizeof(L.rcpt[0]), "%s", rcpt);
	smtp_reply(s, 250, "2.1.5 Ok");
}

static int
h_data_begin(struct smtp_session *s, void *arg)
{
	L.fd = memfd_create("test-lmtp", 0);
	return L.fd;
}

/* One reply per recipient, each naming it; "full@" ones get 452. */
static void
answer_all(struct smtp_session *s)
{
	int	 i;

	for (i = 0; i < L.nrcpt; i++) {
		if (strncmp(L.rcpt[i], "full@", 5) == 0)
			smtp_reply(s, 452, "4.2.2 <%s> mailbox full",
			    L.rcpt[i]);
		else
			smtp_reply(s, 250, "2.0.0 <%s> delivered sealed=%d",
			    L.rcpt[i], L.sealed);
	}
}

static void
answer_later(int fd, short ev, void *arg)
{
	struct smtp_session	*s = L.waiting;

	L.waiting = NULL;
	answer_all(s);
}

static void
h_data_end(struct smtp_session *s, size_t size, void *arg)
{
	struct timeval	 tv = { 0, 20000 };
	ssize_t		 n;

	n = pread(L.fd, L.msg, sizeof(L.msg) - 1, 0);
	L.msg[n > 0 ? n : 0] = '\0';
	L.nmsg++;
	if (!L.later) {
		answer_all(s);
		return;
	}
	L.waiting = s;
	evtimer_add(L.ev, &tv);
}

static void
h_txn_reset(struct smtp_session *s, void *arg)
{
	L.ntxn_reset++;
	L.sealed = 0;
	L.nrcpt = 0;
	if (L.fd != -1)
		close(L.fd);
	L.fd = -1;
}

static void
h_close(struct smtp_session *s, void *arg)
{
	L.done = 1;
}

static const struct smtp_hooks hooks = {
	.ehlo_keywords = h_keywords,
	.command = h_command,
	.rcpt = h_rcpt,
	.data_begin = h_data_begin,
	.data_end = h_data_end,
	.txn_reset = h_txn_reset,
	.close = h_close,
};

static struct smtp_params params = {
	.hostname = "mda.test",
	.service = "LMTP Sealmail mda",
	.max_message_size = 2000,
	.max_rcpt = 8,
	.max_errors = 5,
	.timeout_cmd = 5,
	.timeout_data = 5,
	.lmtp = 1,
};

static char *
lrun(const char *script, int later)
{
	char	*out;

	memset(&L, 0, sizeof(L));
	L.fd = -1;
	L.later = later;
	L.base = event_base_new();
	L.ev = evtimer_new(L.base, answer_later, NULL);
	out = st_session(L.base, &params, &hooks, NULL, script,
	    strlen(script), 1, &L.done);
	event_free(L.ev);
	event_base_free(L.base);
	return out;
}

static void
test_lhlo(void)
{
	const char	*out;

	test_begin("LHLO is the greeting; HELO and EHLO are refused");
	out = lrun("HELO c.test\r\nEHLO c.test\r\nMAIL FROM:<a@c.test>\r\n"
	    "LHLO c.test\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 500 500 503 250 221");
	test_assert(strncmp(out, "220 mda.test LMTP Sealmail mda\r\n", 32) ==
	    0);
	test_assert(strstr(out, "500 5.5.1 Error: this is LMTP, say LHLO") !=
	    NULL);
	test_assert(strstr(out, "250-XSEAL\r\n") != NULL);
	test_assert(strstr(out, "250-PIPELINING\r\n") != NULL);
	test_assert(strstr(out, "250 CHUNKING\r\n") != NULL);
	test_assert(strstr(out, "STARTTLS") == NULL);
	test_end();
}

static void
test_lhlo_is_not_smtp(void)
{
	const char	*out;

	test_begin("in SMTP mode LHLO is an unknown command");
	params.lmtp = 0;
	out = lrun("LHLO c.test\r\nEHLO c.test\r\nQUIT\r\n", 0);
	params.lmtp = 1;
	test_assert_str(st_codes(out), "220 500 250 221");
	test_end();
}

static void
test_pipelined_replies_per_recipient(void)
{
	const char	*out, *a, *b, *c;

	test_begin("pipelined: one reply per accepted recipient, RCPT order");
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "RCPT TO:<nobody@mda.test>\r\nRCPT TO:<full@mda.test>\r\n"
	    "RCPT TO:<c@mda.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"
	    "NOOP\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out),
	    "220 250 250 250 550 250 250 354 250 452 250 250 221");
	a = strstr(out, "<b@mda.test> delivered");
	b = strstr(out, "452 4.2.2 <full@mda.test>");
	c = strstr(out, "<c@mda.test> delivered");
	test_assert(a != NULL && b != NULL && c != NULL && a < b && b < c);
	test_assert_str(L.msg, "Subject: x\r\n\r\nhi\r\n");
	test_end();
}

static void
test_later_replies_hold_the_session(void)
{
	const char	*out;

	test_begin("replies given later: the next command waits for all");
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "RCPT TO:<c@mda.test>\r\nDATA\r\nhi\r\n.\r\nRSET\r\nQUIT\r\n", 1);
	test_assert_str(st_codes(out), "220 250 250 250 250 354 250 250 250 "
	    "221");
	test_assert(L.nmsg == 1);
	test_end();
}

static void
test_recipient_failures_are_not_errors(void)
{
	const char	*out;

	test_begin("failed recipients after DATA do not count as errors");
	/* six 452s with max_errors 5: the session must go on */
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<full@a.test>\r\n"
	    "RCPT TO:<full@b.test>\r\nRCPT TO:<full@c.test>\r\n"
	    "RCPT TO:<full@d.test>\r\nRCPT TO:<full@e.test>\r\n"
	    "RCPT TO:<full@f.test>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n",
	    0);
	test_assert_str(st_codes(out), "220 250 250 250 250 250 250 250 250 "
	    "354 452 452 452 452 452 452 250 221");
	test_end();
}

static void
test_bare_lf_refused_per_recipient(void)
{
	const char	*out;

	test_begin("bare LF: the message is refused once per recipient");
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "RCPT TO:<c@mda.test>\r\nDATA\r\nline\n.\nMAIL FROM:<e@c.test>"
	    "\r\n.\r\nNOOP\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 250 250 250 250 354 550 550 250 "
	    "221");
	test_assert(strstr(out, "550 5.6.0") != NULL);
	test_assert(L.nmsg == 0);
	test_end();
}

static void
test_dot_stuffing(void)
{
	const char	*out;

	test_begin("dot-stuffing is undone; only CRLF.CRLF ends the message");
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "DATA\r\n..one\r\n...\r\n.x\r\nend\r\n.\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 250 250 250 354 250 221");
	test_assert_str(L.msg, ".one\r\n..\r\nx\r\nend\r\n");
	test_end();
}

static void
test_bdat(void)
{
	const char	*out;

	test_begin("BDAT: one reply per chunk, per recipient after LAST");
	out = lrun("LHLO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "RCPT TO:<full@mda.test>\r\nBDAT 6\r\nA: b\r\nBDAT 5 LAST\r\n"
	    "\r\nx\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 250 250 250 250 250 250 452 221");
	test_assert_str(L.msg, "A: b\r\n\r\nx\r\n");
	test_end();
}

static void
test_xseal_hook(void)
{
	const char	*out;

	test_begin("XSEAL: extension command in its place, ends with the "
	    "transaction");
	out = lrun("XSEAL ID=1 CLASS=SAFE\r\nLHLO c\r\n"
	    "XSEAL ID=1 CLASS=SAFE\r\nXSEAL ID=2 CLASS=SAFE\r\nRSET\r\n"
	    "XSEAL ID=3 CLASS=SAFE\r\nMAIL FROM:<a@c.test>\r\n"
	    "XSEAL ID=4 CLASS=SAFE\r\nRCPT TO:<b@mda.test>\r\nDATA\r\n"
	    "x\r\n.\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@mda.test>\r\n"
	    "DATA\r\ny\r\n.\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 503 250 250 503 250 250 250 503 "
	    "250 354 250 250 250 354 250 221");
	test_assert(strstr(out, "250 2.0.0 OK sealed=ID=3 CLASS=SAFE") !=
	    NULL);
	/* sealed for the first message, not for the second */
	test_assert(strstr(out, "delivered sealed=1") != NULL);
	test_assert(strstr(out, "delivered sealed=0") != NULL);
	/* RSET after XSEAL alone ended that transaction too */
	test_assert(L.ntxn_reset >= 3);
	test_end();
}

static void
test_no_auth_no_starttls(void)
{
	const char	*out;

	test_begin("LMTP has no AUTH and no STARTTLS");
	out = lrun("LHLO c\r\nAUTH PLAIN AGFAYg==\r\nSTARTTLS\r\n"
	    "MAIL FROM:<a@c.test> AUTH=<>\r\nQUIT\r\n", 0);
	test_assert_str(st_codes(out), "220 250 502 502 555 221");
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_lhlo,
		test_lhlo_is_not_smtp,
		test_pipelined_replies_per_recipient,
		test_later_replies_hold_the_session,
		test_recipient_failures_are_not_errors,
		test_bare_lf_refused_per_recipient,
		test_dot_stuffing,
		test_bdat,
		test_xseal_hook,
		test_no_auth_no_starttls,
		NULL
	};

	log_init("test-lmtp", 1, LOG_LVL_ERR);
	return test_run(tests);
}
