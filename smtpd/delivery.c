/*
 * delivery.c - smtpd.delivery: hands queued messages to mda over LMTP
 * (RFC 2033) on [mda] lmtp_socket and reports one status per recipient.
 *
 * Privileges: runs as [mda] trusted_user, the one uid (besides root) mda
 * lets give a message's class.  It is not chrooted because it connects
 * to the LMTP socket by path, but it holds no key, opens no file (the
 * queue passes each message as an open descriptor) and reads only mda's
 * replies (common/smtp_client.c bounds and checks them) and the queue's
 * requests.
 *
 * Each transaction (the agreed hand-off, see mda/lmtp.c) is a state
 * machine, one step a state (steps[] below), each saying which comes
 * next:
 *
 *	CHECK	every address again, where they are written
 *	OPEN	the kept connection, or LHLO <hostname> on a new one; mda
 *		must offer XSEAL
 *	XSEAL	XSEAL ID=<queue id> CLASS=SAFE|UNSAFE
 *	MAIL	MAIL FROM:<sender> [SMTPUTF8]
 *	RCPT	RCPT TO:<user>, for each recipient
 *	DATA	DATA, then our Authentication-Results field when the
 *		queue gave one, then the message (dot-stuffed, CRLF lines)
 *	REPLIES	one reply per accepted recipient, in RCPT order
 *	RSET	after a refusal, on a connection still in step
 *
 * The Authentication-Results field is what smtpd.queue's signer found
 * when it verified its own signatures of submitted mail (sign.c); it
 * goes on top of the message here, and so to local recipients only:
 * this process speaks to mda alone, and the message file the queue
 * hands to anything else never holds it.  It is checked again with
 * q_authres_valid() before it is written, like the addresses.
 *
 * The class travels in a command of its own, never as a MAIL parameter,
 * so no address can spell it; and every address is checked again with
 * q_addr_valid() before it is written.  The queue ID is the same on
 * every retry, so mda can tell a retry of a message it already stored.
 * An mda that does not offer XSEAL gets nothing: the message is deferred
 * (4xx) and stays queued.  A recipient that gets no answer (the
 * connection lost) is deferred too: a reply is either mda's or 4xx.
 *
 * One message at a time, blocking I/O with timeouts: the queue keeps
 * several requests in the socket and delivery is bounded by mda anyway.
 * When the queue goes away this process outlives it: it finishes the
 * transaction at hand, drops the dead queue's requests and waits for the
 * parent to hand over a channel to the next queue.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "smtp_client.h"
#include "smtpd.h"
#include "xmalloc.h"

#define LMTP_TIMEOUT	300
#define LMTP_LINE_MAX	2048

struct drcpt {
	uint32_t	 idx;
	const char	*user;
	int		 code;
	char		 text[LMTP_LINE_MAX];
};

/* one message's transaction */
struct dtxn {
	const char	*id;
	const char	*from;
	uint32_t	 class;
	const char	*authres;	/* our field, "" none */
	int		 utf8;		/* an address needs SMTPUTF8 */
	int		 msgfd;
	struct drcpt	*r;
	uint32_t	 n;
	uint32_t	 accepted;
	int		 reused;	/* on the connection kept from before */
	int		 lost;		/* the connection is out of step */
	char		 line[LMTP_LINE_MAX];
};

enum dstep {
	D_CHECK, D_OPEN, D_XSEAL, D_MAIL, D_RCPT, D_DATA, D_REPLIES, D_RSET,
	D_DONE
};

static struct sm_config	*cfg;
static struct smtp_client L = { .fd = -1 };

/* Every recipient (or every one mda accepted) gets code and text. */
static void
answer(struct dtxn *t, int only250, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
answer(struct dtxn *t, int only250, int code, const char *fmt, ...)
{
	struct drcpt	*r;
	va_list		 ap;
	char		 text[LMTP_LINE_MAX];
	uint32_t	 i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; i < t->n; i++) {
		r = &t->r[i];
		if (!only250 || r->code == 250) {
			r->code = code;
			snprintf(r->text, sizeof(r->text), "%s", text);
		}
	}
}

/* The connection broke mid-transaction: whatever mda did not answer. */
static enum dstep
lost(struct dtxn *t, int only250)
{
	t->lost = 1;
	answer(t, only250, 451, "451 4.4.2 connection to mda lost");
	return D_DONE;
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * The queue checked every address; checked again here, where they are
 * written, because an address that is not one could carry something
 * else into the command line.
 */
static enum dstep
step_check(struct dtxn *t)
{
	uint32_t	 i;

	t->utf8 = has_8bit(t->from);
	if (!q_addr_valid(t->from, Q_ADDR_FROM)) {
		log_warnx("id=%s from=<%s> is not an address; not delivered",
		    t->id, t->from);
		answer(t, 0, 553, "553 5.1.7 bad sender address");
		return D_DONE;
	}
	for (i = 0; i < t->n; i++) {
		t->utf8 |= has_8bit(t->r[i].user);
		if (!q_addr_valid(t->r[i].user, Q_ADDR_USER)) {
			log_warnx("id=%s user=<%s> is not an address; not "
			    "delivered", t->id, t->r[i].user);
			answer(t, 0, 553, "553 5.1.3 bad recipient address");
			return D_DONE;
		}
	}
	return D_OPEN;
}

/* The kept connection if mda has not closed it meanwhile, else anew. */
static enum dstep
step_open(struct dtxn *t)
{
	t->reused = !smtp_client_stale(&L);
	if (!t->reused) {
		smtp_client_close(&L);
		if (smtp_client_unix(&L, cfg->lmtp_socket, LMTP_TIMEOUT,
		    t->line, sizeof(t->line)) != 220 ||
		    smtp_client_hello(&L, "LHLO", cfg->hostname, t->line,
		    sizeof(t->line)) != 250) {
			log_warnx("id=%s lmtp=%s no greeting from mda", t->id,
			    cfg->lmtp_socket);
			t->lost = 1;
			answer(t, 0, 451, "451 4.4.1 mda not reachable");
			return D_DONE;
		}
	}
	if (!(L.caps & SMTP_CAP_XSEAL)) {
		/* never the old MAIL parameter: the class would be lost */
		log_warnx("id=%s lmtp=%s mda does not offer XSEAL; deferred",
		    t->id, cfg->lmtp_socket);
		t->lost = 1;
		answer(t, 0, 451, "451 4.3.5 mda does not offer XSEAL");
		return D_DONE;
	}
	return D_XSEAL;
}

static enum dstep
step_xseal(struct dtxn *t)
{
	int	 code;

	smtp_client_cmd(&L, "XSEAL ID=%s CLASS=%s", t->id,
	    t->class == Q_CLASS_SAFE ? "SAFE" : "UNSAFE");
	code = smtp_client_reply(&L, t->line, sizeof(t->line));
	if ((code == -1 || code == 421) && t->reused) {
		/* mda closed the kept connection: once more, anew */
		smtp_client_close(&L);
		return D_OPEN;
	}
	if (code == -1)
		return lost(t, 0);
	if (code != 250) {
		/* our uid is not trusted by mda: a setup error */
		log_warnx("id=%s mda refused XSEAL: %s", t->id, t->line);
		answer(t, 0, 451, "451 4.3.5 mda refused XSEAL: %s", t->line);
		return D_RSET;
	}
	return D_MAIL;
}

static enum dstep
step_mail(struct dtxn *t)
{
	int	 code;

	if (t->utf8 && !(L.caps & SMTP_CAP_SMTPUTF8)) {
		answer(t, 0, 553, "553 5.6.7 mda does not offer SMTPUTF8");
		return D_RSET;
	}
	smtp_client_cmd(&L, "MAIL FROM:<%s>%s", t->from,
	    t->utf8 ? " SMTPUTF8" : "");
	if ((code = smtp_client_reply(&L, t->line, sizeof(t->line))) == -1)
		return lost(t, 0);
	if (code != 250) {
		answer(t, 0, code, "%s", t->line);
		return D_RSET;
	}
	return D_RCPT;
}

static enum dstep
step_rcpt(struct dtxn *t)
{
	uint32_t	 i;

	for (i = 0; i < t->n; i++) {
		smtp_client_cmd(&L, "RCPT TO:<%s>", t->r[i].user);
		t->r[i].code = smtp_client_reply(&L, t->r[i].text,
		    sizeof(t->r[i].text));
		if (t->r[i].code == -1)
			return lost(t, 0);
		if (t->r[i].code == 250)
			t->accepted++;
	}
	return t->accepted > 0 ? D_DATA : D_RSET;
}

static enum dstep
step_data(struct dtxn *t)
{
	int	 code, state;

	smtp_client_cmd(&L, "DATA");
	if ((code = smtp_client_reply(&L, t->line, sizeof(t->line))) == -1)
		return lost(t, 1);
	if (code != 354) {
		answer(t, 1, code, "%s", t->line);
		return D_RSET;
	}
	if (t->authres[0] != '\0') {
		state = 0;
		smtp_client_encode(&L.out, t->authres, strlen(t->authres),
		    &state);
	}
	if (smtp_client_body(&L, t->msgfd) == -1)
		return lost(t, 1);
	return D_REPLIES;
}

/* RFC 2033 4.2: one reply per accepted recipient, in order */
static enum dstep
step_replies(struct dtxn *t)
{
	struct drcpt	*r;
	uint32_t	 i;

	for (i = 0; i < t->n; i++) {
		r = &t->r[i];
		if (r->code != 250)
			continue;
		if ((r->code = smtp_client_reply(&L, r->text,
		    sizeof(r->text))) == -1) {
			t->lost = 1;
			r->code = 451;
			snprintf(r->text, sizeof(r->text),
			    "451 4.4.2 connection to mda lost");
		}
	}
	return D_DONE;
}

static enum dstep
step_rset(struct dtxn *t)
{
	smtp_client_cmd(&L, "RSET");
	if (smtp_client_reply(&L, t->line, sizeof(t->line)) != 250)
		t->lost = 1;
	return D_DONE;
}

static enum dstep (*const steps[])(struct dtxn *) = {
	[D_CHECK] = step_check,
	[D_OPEN] = step_open,
	[D_XSEAL] = step_xseal,
	[D_MAIL] = step_mail,
	[D_RCPT] = step_rcpt,
	[D_DATA] = step_data,
	[D_REPLIES] = step_replies,
	[D_RSET] = step_rset,
};

/* ------------------------------------------------------------------ */
/* the queue */

/* Each recipient's outcome, then the end of the request. */
static void
report(int *qfd, uint32_t req, const struct dtxn *t)
{
	struct ipc_msg	*m;
	uint32_t	 i, st;
	int		 code;

	for (i = 0; i < t->n; i++) {
		code = t->r[i].code;
		st = code >= 200 && code < 300 ? Q_DLV_OK : code >= 500 &&
		    code < 600 ? Q_DLV_PERMFAIL : Q_DLV_TEMPFAIL;
		log_debug("id=%s user=%s lmtp=%s", t->id, t->r[i].user,
		    t->r[i].text);
		m = ipc_msg_new(IPC_QUEUE_DELIVERED, req);
		ipc_add_u32(m, t->r[i].idx);
		ipc_add_u32(m, st);
		ipc_add_str(m, t->r[i].text);
		ipc_send_sync_or_drop(qfd, m, "queue");
	}
	m = ipc_msg_new(IPC_QUEUE_DELIVERY_DONE, req);
	ipc_add_str(m, t->id);
	ipc_send_sync_or_drop(qfd, m, "queue");
}

/* IPC_DELIVERY_MESSAGE: one transaction with mda, then the report. */
static void
deliver(int *qfd, struct ipc_msg *m)
{
	struct dtxn	 t;
	enum dstep	 step;
	uint32_t	 i;

	memset(&t, 0, sizeof(t));
	if (ipc_get_str(m, &t.id) == -1 || ipc_get_str(m, &t.from) == -1 ||
	    ipc_get_u32(m, &t.class) == -1 ||
	    ipc_get_str(m, &t.authres) == -1 || ipc_get_u32(m, &t.n) == -1 ||
	    t.n == 0 || t.n > Q_MAX_RCPT || m->fd == -1 ||
	    !q_id_valid(t.id) ||
	    (t.authres[0] != '\0' && !q_authres_valid(t.authres)))
		fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	t.r = xcalloc(t.n, sizeof(*t.r));
	for (i = 0; i < t.n; i++)
		if (ipc_get_u32(m, &t.r[i].idx) == -1 ||
		    ipc_get_str(m, &t.r[i].user) == -1)
			fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	if (ipc_get_end(m) == -1)
		fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	t.msgfd = m->fd;
	answer(&t, 0, 451, "451 4.4.1 mda not reachable");
	for (step = D_CHECK; step != D_DONE; step = steps[step](&t))
		;
	if (t.lost)
		smtp_client_close(&L);
	report(qfd, m->id, &t);
	free(t.r);
}

/*
 * Everything smtpd.delivery is sent, from its two trusted peers: the
 * parent (a channel to a new queue, IPC_DELIVERY_QUEUE) and the queue
 * (messages).  Anything else is fatal.
 */
static void
delivery_dispatch(int from_parent, struct ipc_msg *m, int *qfd)
{
	switch (m->type) {
	case IPC_DELIVERY_QUEUE:
		if (!from_parent || ipc_get_end(m) == -1 || m->fd == -1)
			fatalx("delivery: bad IPC_DELIVERY_QUEUE");
		/* a new queue means the last one is dead */
		if (*qfd != -1)
			close(*qfd);
		*qfd = ipc_msg_takefd(m);
		log_debug("queue channel ready");
		break;
	case IPC_DELIVERY_MESSAGE:
		if (from_parent)
			fatalx("delivery: a message from the parent");
		deliver(qfd, m);
		break;
	default:
		fatalx("delivery: unexpected message %u from the %s", m->type,
		    from_parent ? "parent" : "queue");
	}
}

/*
 * pfd: the channel to the parent; qfd: to the queue, or -1 until the
 * parent hands one over (IPC_DELIVERY_QUEUE, when a queue starts).
 */
void
delivery_main(struct sm_config *c, int pfd, int qfd)
{
	struct pollfd	 pf[2];
	struct ipc_msg	*m;

	cfg = c;
	signal(SIGPIPE, SIG_IGN);
	log_info("delivery ready lmtp=%s", cfg->lmtp_socket);
	for (;;) {
		pf[0].fd = pfd;
		pf[0].events = POLLIN;
		pf[1].fd = qfd;		/* -1: ignored */
		pf[1].events = POLLIN;
		pf[0].revents = pf[1].revents = 0;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("delivery: poll");
		}
		if (pf[0].revents != 0) {
			/* the parent is gone: so are we */
			if (ipc_recv_sync(pfd, &m) == -1)
				_exit(0);
			delivery_dispatch(1, m, &qfd);
		} else if (pf[1].revents != 0) {
			if (ipc_recv_sync(qfd, &m) == -1) {
				ipc_sync_lost(&qfd, "queue");
				continue;
			}
			delivery_dispatch(0, m, &qfd);
		} else
			continue;
		ipc_msg_free(m);
	}
}
