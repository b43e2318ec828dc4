/*
 * message.c - submitd's root parent from DATA to the queue: the message
 * a session of submitd.smtp hands over (IPC_PARENT_SUBMIT), the reading
 * of its header by the submitd.header role, the decision, the Received
 * header and the hand-off to smtpd's queue (queue.c).
 *
 * Runs as root in the parent and parses nothing that came from the
 * network (docs/architecture.md, rule 1): the message's header is read by
 * submitd.header, unprivileged and chrooted, which answers with the
 * header's facts (its From: and Sender: addresses, whether Date: and
 * Message-ID: are there).  submitd.smtp reports no header facts at all,
 * so a subverted session process cannot pass off a forged From: as the
 * user's own.  The message arrives as a memfd, which the parent seals
 * against writing (F_SEAL_WRITE and the size seals) before anybody reads
 * it: the child keeps no way to change it between the header role's
 * reading, the decision and the copy that goes to the queue.
 *
 * The way of one message (struct msg_job):
 *   1. checked here: session authenticated, size limit, the memfd sealed;
 *   2. waiting for, then at, submitd.header (IPC_HEADER_SCAN with a
 *	duplicate of the memfd): its answer, or 451 when the role dies or
 *	does not answer within HDR_TIMEOUT seconds (it is then killed);
 *	messages that arrive while no header role runs wait for the next;
 *   3. decided: MAIL FROM, the header's From:/Sender: addresses, the
 *	per-message limit and the recipients against the user database,
 *	then the transactional daily quota (crossing it locks the account
 *	and notifies the postmaster);
 *   4. stamped (Received with the tracking ID, and Message-ID, Date and
 *	From when missing) and handed to the queue; the child hears
 *	"queued" only after the queue committed.
 *
 * A session that ends (the client left, or submitd.smtp died) while its
 * message is on the way cancels it: in steps 1 to 3 nothing was queued
 * and nothing is.  In step 4 the hand-off is abandoned: the parent shuts
 * its side of the queue connection and smtpd's queue, which only commits
 * (fsync, rename) for a client that is still there, drops the message if
 * it had not committed it yet.  If it had (the commit and the session's
 * end crossed), the message stays queued and is delivered once; the
 * client never saw the 250, and the log says so with the tracking ID
 * ("queued, but the session ended before it was told"): a client that
 * sends it again makes a second copy, the duplicate RFC 5321 6.1 allows
 * when a connection is lost after the final dot.  No message is ever
 * half queued: the queue's commit is a rename.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "header.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "parent.h"
#include "queue.h"
#include "stamp.h"
#include "submitd.h"
#include "trace.h"
#include "userdb.h"
#include "xmalloc.h"

#define HDR_TIMEOUT	30	/* seconds for submitd.header to answer */

enum job_state {
	J_HEADER_WAIT,		/* no header role to ask yet */
	J_HEADER_SENT,		/* asked; its answer is due */
	J_QUEUE			/* at the queue */
};

/* What submitd.header found. */
struct hdr_facts {
	uint32_t	 result;	/* enum hdr_result */
	uint32_t	 no_header, has_date, has_msgid, nfrom, has_sender;
	const char	*from[HDR_FROM_MAX];
	const char	*sender;
	char		 msgid[TRACE_MSGID_MAX + 1];	/* "" none */
};

struct msg_job {
	struct msg_job	*next;		/* in hjobs (states J_HEADER_*) */
	enum job_state	 state;
	uint32_t	 no;		/* the header role's IPC id */
	struct psess	*ps;		/* NULL: the session ended */
	uint32_t	 sid;
	int		 msgfd;		/* sealed */
	uint64_t	 size;
	struct event	*timer;

	/* the envelope, as the session gave it */
	char		*helo, *proto, *cipher, *from;
	uint32_t	 flags;		/* Q_MSG_* */
	uint32_t	 nrcpt;
	char		**rcpt;
	char		**ruser;	/* local user of each, or NULL */

	/* decided */
	char		 id[Q_ID_LEN + 1];
	char		 user[USERDB_ADDR_MAX + 1];
	char		 client[64];
	char		 msgid[512];	/* ours is <id.rand@hostname> */
	struct queue_job *q;
};

static struct ipc_conn	*hdr;		/* submitd.header; NULL: none */
static int		 hdr_hello;
static int		 hdr_bad;
static struct msg_job	*hjobs;		/* waiting for or at the header role */
static uint32_t		 next_no = 1;

static void	 hdr_misbehaved(const char *);

/* ------------------------------------------------------------------ */
/* jobs */

static void
job_free(struct msg_job *j)
{
	uint32_t i;

	for (i = 0; i < j->nrcpt; i++) {
		free(j->rcpt[i]);
		if (j->ruser != NULL)
			free(j->ruser[i]);
	}
	free(j->rcpt);
	free(j->ruser);
	free(j->helo);
	free(j->proto);
	free(j->cipher);
	free(j->from);
	if (j->msgfd != -1)
		close(j->msgfd);
	if (j->timer != NULL)
		event_free(j->timer);
	free(j);
}

static void
hjobs_unlink(struct msg_job *j)
{
	struct msg_job **pp;

	for (pp = &hjobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

/* The job's session gets its answer; the job is over for it. */
static void
job_answer_err(struct msg_job *j, int code, const char *text)
{
	if (j->ps != NULL) {
		log_info("user=%s client=%s message refused: %s",
		    j->ps->user, j->ps->client, text);
		j->ps->job = NULL;
		parent_answer_err(j->sid, code, "%s", text);
		j->ps = NULL;
	}
}

/* The session ended: see the comment at the top. */
void
msg_cancel(struct msg_job *j)
{
	j->ps = NULL;
	if (j->state == J_QUEUE) {
		log_info("id=%s user=%s the session ended while the queue "
		    "took the message: abandoning the hand-off", j->id,
		    j->user);
		queue_abandon(j->q);	/* submit_done() follows */
		return;
	}
	hjobs_unlink(j);
	job_free(j);
}

/* ------------------------------------------------------------------ */
/* 1. what the session hands over */

static int
envelope_parse(struct ipc_msg *m, struct msg_job *j)
{
	const char *helo, *proto, *cipher, *from, *r;
	uint32_t i, n;

	if (ipc_get_str(m, &helo) == -1 || ipc_get_str(m, &proto) == -1 ||
	    ipc_get_str(m, &cipher) == -1 || ipc_get_str(m, &from) == -1 ||
	    ipc_get_u32(m, &j->flags) == -1 ||
	    (j->flags & ~Q_MSG_REQUIRETLS) != 0 ||
	    ipc_get_u32(m, &n) == -1 || n > SUBMIT_RCPT_HARDMAX)
		return -1;
	j->helo = xstrdup(helo);
	j->proto = xstrdup(proto);
	j->cipher = xstrdup(cipher);
	j->from = xstrdup(from);
	j->rcpt = xcalloc(n == 0 ? 1 : n, sizeof(*j->rcpt));
	for (i = 0; i < n; i++) {
		if (ipc_get_str(m, &r) == -1)
			return -1;
		j->rcpt[j->nrcpt++] = xstrdup(r);
	}
	if (ipc_get_end(m) == -1 || m->fd < 0)
		return -1;
	return 0;
}

static void	 hdr_ask(struct msg_job *);

void
msg_submit(struct psess *ps, struct ipc_msg *m)
{
	struct msg_job *j;
	struct stat	 st;

	j = xcalloc(1, sizeof(*j));
	j->msgfd = -1;
	if (envelope_parse(m, j) == -1) {
		job_free(j);
		parent_smtp_misbehaved("a malformed IPC_PARENT_SUBMIT");
		return;
	}
	if (ps->job != NULL) {
		job_free(j);
		parent_smtp_misbehaved("a second message in one session");
		return;
	}
	j->msgfd = ipc_msg_takefd(m);
	j->sid = m->id;
	snprintf(j->user, sizeof(j->user), "%s", ps->user);
	snprintf(j->client, sizeof(j->client), "%s", ps->client);
	/* from here on, nobody can change what we read */
	if (fcntl(j->msgfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1 || fstat(j->msgfd, &st) == -1 ||
	    !S_ISREG(st.st_mode)) {
		log_warn("user=%s session=%u: cannot seal the message",
		    ps->user, j->sid);
		parent_answer_err(j->sid, 451, "4.3.0 Cannot store the "
		    "message, try again later");
		job_free(j);
		return;
	}
	j->size = (uint64_t)st.st_size;
	if (parent_cfg->max_message_size != 0 &&
	    j->size > parent_cfg->max_message_size) {
		parent_answer_err(j->sid, 552, "5.3.4 Message size exceeds "
		    "fixed limit");
		job_free(j);
		return;
	}
	j->ps = ps;
	ps->job = j;
	hdr_ask(j);
}

/* ------------------------------------------------------------------ */
/* 3. the decision, and 4. the queue */

/* Everything but the quota: 0, or -1 with the answer given. */
static int
submit_policy(struct msg_job *j, const struct hdr_facts *f,
    struct userdb_user *u)
{
	char	 text[400], user[USERDB_ADDR_MAX + 1];
	uint32_t i, max;
	int	 code;

	if (f->result != HDR_OK) {
		snprintf(text, sizeof(text), "5.6.0 Message refused: %s",
		    hdr_result_str((enum hdr_result)f->result));
		job_answer_err(j, 550, text);
		return -1;
	}
	if (parent_sender_check(j->user, j->from, "Sender", &code, text,
	    sizeof(text)) == -1)
		goto refuse;
	for (i = 0; i < f->nfrom; i++)
		if (parent_sender_check(j->user, f->from[i], "From: address",
		    &code, text, sizeof(text)) == -1)
			goto refuse;
	if (f->has_sender && parent_sender_check(j->user, f->sender,
	    "Sender: address", &code, text, sizeof(text)) == -1)
		goto refuse;
	if (userdb_user_get(parent_udb, j->user, u, NULL, 0) != UDB_OK) {
		code = 451;
		snprintf(text, sizeof(text), "4.3.0 Temporary failure");
		goto refuse;
	}
	max = u->max_rcpt_per_msg < SUBMIT_RCPT_HARDMAX ?
	    u->max_rcpt_per_msg : SUBMIT_RCPT_HARDMAX;
	if (j->nrcpt == 0 || j->nrcpt > max) {
		code = 550;
		snprintf(text, sizeof(text), "5.5.3 Too many recipients (at "
		    "most %u)", max);
		goto refuse;
	}
	j->ruser = xcalloc(j->nrcpt, sizeof(*j->ruser));
	for (i = 0; i < j->nrcpt; i++) {
		if (parent_rcpt_resolve(j->rcpt[i], user, sizeof(user), &code,
		    text, sizeof(text)) == -1)
			goto refuse;
		j->ruser[i] = user[0] != '\0' ? xstrdup(user) : NULL;
	}
	return 0;
refuse:
	job_answer_err(j, code, text);
	return -1;
}

/*
 * The daily quota, charged together with the message's trace record
 * (common/trace.h), in one transaction: 0, or -1 with the answer given
 * (and maybe a lock).
 */
static int
submit_charge(struct msg_job *j, time_t now)
{
	struct trace_rec tr;
	unsigned int used = 0, lim = 0;
	char	 err[256], text[400];
	int	 ret;

	memset(&tr, 0, sizeof(tr));
	snprintf(tr.id, sizeof(tr.id), "%s", j->id);
	snprintf(tr.user, sizeof(tr.user), "%s", j->user);
	snprintf(tr.from, sizeof(tr.from), "%s", j->from);
	snprintf(tr.client, sizeof(tr.client), "%s", j->client);
	trace_msgid_clean(j->msgid, strlen(j->msgid), tr.msgid);
	tr.time = (uint64_t)now;
	tr.nrcpt = j->nrcpt;
	tr.size = j->size;
	ret = trace_charge(parent_udb, &tr, (unsigned int)
	    parent_cfg->trace_days, &used, &lim, err, sizeof(err));
	switch (ret) {
	case UDB_OK:
		notify_history_add(j->user, j->client, j->nrcpt, now);
		return 0;
	case UDB_REFUSED:
		log_warnx("user=%s client=%s locked: %u recipients in 24h "
		    "plus %u would exceed %u", j->user, j->client, used,
		    j->nrcpt, lim);
		notify_lockout(parent_cfg, parent_base, parent_udb, j->user,
		    j->client, j->nrcpt, used, lim, now);
		snprintf(text, sizeof(text), "5.7.1 Daily limit of %u "
		    "recipients exceeded; account locked, contact %s", lim,
		    parent_postmaster());
		job_answer_err(j, 550, text);
		return -1;
	case UDB_LOCKED:
		snprintf(text, sizeof(text), "5.7.1 Account %s is locked; "
		    "contact %s", j->user, parent_postmaster());
		job_answer_err(j, 550, text);
		return -1;
	default:
		job_answer_err(j, 451, "4.3.0 Temporary failure, try again "
		    "later");
		return -1;
	}
}

static void
submit_done(void *arg, int ok, const char *text)
{
	struct msg_job *j = arg;
	uint32_t i;

	if (ok) {
		/* the one line that names the author of the message */
		log_info("id=%s user=%s from=<%s> nrcpt=%u size=%llu "
		    "client=%s queued", j->id, j->user, j->from, j->nrcpt,
		    (unsigned long long)j->size, j->client);
		for (i = 0; i < j->nrcpt; i++)
			log_debug("id=%s rcpt=<%s> %s", j->id, j->rcpt[i],
			    j->ruser[i] != NULL ? "local" : "remote");
		if (j->ps == NULL)
			log_warnx("id=%s user=%s queued, but the session "
			    "ended before it was told: a client that sends "
			    "it again makes a second copy", j->id, j->user);
	} else if (j->ps == NULL)
		log_info("id=%s user=%s not queued: the session ended "
		    "before the queue committed it (%s)", j->id, j->user,
		    text);
	else
		log_warnx("id=%s user=%s not queued: %s", j->id, j->user,
		    text);
	if (j->ps != NULL) {
		j->ps->job = NULL;
		if (ok)
			parent_answer_ok(j->sid, j->id);
		else
			parent_answer_err(j->sid, 451, "4.3.0 The queue did "
			    "not take the message, try again later");
	}
	job_free(j);
}

static void
submit_queue(struct msg_job *j, const struct hdr_facts *f,
    const struct userdb_user *u, int qfd, time_t now)
{
	struct stamp_info si;
	struct queue_envelope qe;
	struct buf	 prefix;
	char		 date[64], helo[256];
	int		 msgfd;

	memset(&si, 0, sizeof(si));
	si.id = j->id;
	si.hostname = parent_cfg->hostname;
	si.helo = j->helo;
	si.client = j->client;
	si.tls_proto = j->proto;
	si.tls_cipher = j->cipher;
	si.user = u->privileged ? NULL : j->user;
	si.now = now;
	buf_init(&prefix, 0);
	stamp_received(&prefix, &si);
	if (!f->has_msgid)
		buf_printf(&prefix, "Message-ID: %s\r\n", j->msgid);
	if (!f->has_date) {
		stamp_date(date, sizeof(date), now);
		buf_printf(&prefix, "Date: %s\r\n", date);
	}
	if (f->nfrom == 0)
		buf_printf(&prefix, "From: <%s>\r\n", j->from);
	msgfd = stamp_message(&prefix, j->msgfd, (int)f->no_header);
	buf_free(&prefix);
	if (msgfd == -1) {
		close(qfd);
		job_answer_err(j, 451, "4.3.0 Cannot store the message");
		job_free(j);
		return;
	}
	memset(&qe, 0, sizeof(qe));
	qe.id = j->id;
	qe.from = j->from;
	qe.helo = stamp_clean(j->helo, helo, sizeof(helo));
	qe.peer = j->client;
	qe.nrcpt = j->nrcpt;
	qe.rcpt = j->rcpt;
	qe.user = j->ruser;
	qe.author = j->user;	/* the login: its keys sign the message */
	qe.flags = j->flags;
	j->state = J_QUEUE;
	j->q = queue_handoff(parent_base, qfd, &qe, msgfd, submit_done, j);
}

static void
submit_decide(struct msg_job *j, const struct hdr_facts *f)
{
	struct userdb_user u;
	time_t	 now = time(NULL);
	int	 qfd;

	if (submit_policy(j, f, &u) == -1) {
		job_free(j);
		return;
	}
	/* no charge for a message the queue could not take anyway */
	if ((qfd = queue_connect(parent_cfg->queue_socket)) == -1) {
		job_answer_err(j, 451, "4.3.0 Queue unavailable, try again "
		    "later");
		job_free(j);
		return;
	}
	/* the tracking ID and Message-ID go into the trace record */
	q_id_new(j->id);
	if (f->has_msgid)
		snprintf(j->msgid, sizeof(j->msgid), "%s", f->msgid);
	else
		stamp_msgid_make(j->msgid, sizeof(j->msgid), j->id,
		    parent_cfg->hostname);
	if (submit_charge(j, now) == -1) {
		close(qfd);
		job_free(j);
		return;
	}
	submit_queue(j, f, &u, qfd, now);
}

/* ------------------------------------------------------------------ */
/* 2. submitd.header */

static void
hdr_timeout(evutil_socket_t fd, short ev, void *arg)
{
	hdr_misbehaved("no answer in time");
}

static void
hdr_send(struct msg_job *j)
{
	struct timeval	 tv = { HDR_TIMEOUT, 0 };
	struct ipc_msg	*m;
	int		 fd;

	if ((fd = dup(j->msgfd)) == -1) {
		log_warn("dup");
		hjobs_unlink(j);
		job_answer_err(j, 451, "4.3.0 Temporary failure, try again "
		    "later");
		job_free(j);
		return;
	}
	m = ipc_msg_new(IPC_HEADER_SCAN, j->no);
	ipc_msg_setfd(m, fd);
	ipc_send(hdr, m);
	j->state = J_HEADER_SENT;
	if (j->timer == NULL &&
	    (j->timer = evtimer_new(parent_base, hdr_timeout, j)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(j->timer, &tv);
}

static void
hdr_ask(struct msg_job *j)
{
	struct msg_job **pp;

	j->no = next_no++;
	if (next_no == 0)
		next_no = 1;
	j->state = J_HEADER_WAIT;
	for (pp = &hjobs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	if (hdr != NULL && hdr_hello && !hdr_bad)
		hdr_send(j);
}

/* The header role's answer: 0 with the facts, or -1 if malformed. */
static int
hdr_facts_parse(struct ipc_msg *m, struct hdr_facts *f)
{
	const char *msgid;
	uint32_t i;

	memset(f, 0, sizeof(*f));
	if (ipc_get_u32(m, &f->result) == -1 || f->result > HDR_ERR_ADDR ||
	    ipc_get_u32(m, &f->no_header) == -1 ||
	    ipc_get_u32(m, &f->has_date) == -1 ||
	    ipc_get_u32(m, &f->has_msgid) == -1 ||
	    ipc_get_u32(m, &f->nfrom) == -1 || f->nfrom > HDR_FROM_MAX)
		return -1;
	/* each address as header.c reports them: canonical, addr_check() */
	for (i = 0; i < f->nfrom; i++)
		if (ipc_get_str(m, &f->from[i]) == -1 ||
		    addr_check(f->from[i], ADDR_UTF8, NULL, 0) == -1)
			return -1;
	if (ipc_get_u32(m, &f->has_sender) == -1 ||
	    ipc_get_str(m, &f->sender) == -1 || (f->sender[0] != '\0' &&
	    addr_check(f->sender, ADDR_UTF8, NULL, 0) == -1) ||
	    ipc_get_str(m, &msgid) == -1 || ipc_get_end(m) == -1)
		return -1;
	/* cleaned by the role already; again, it goes into a record */
	trace_msgid_clean(msgid, strlen(msgid), f->msgid);
	return 0;
}

static void
hdr_answer(struct ipc_msg *m)
{
	struct hdr_facts f;
	struct msg_job	*j;
	const char	*why;
	uint32_t	 code;

	for (j = hjobs; j != NULL; j = j->next)
		if (j->no == m->id && j->state == J_HEADER_SENT)
			break;
	if (j == NULL)
		return;		/* for a message whose session ended */
	if (m->type == IPC_ERR) {
		if (ipc_get_u32(m, &code) == -1 ||
		    ipc_get_str(m, &why) == -1 || ipc_get_end(m) == -1) {
			hdr_misbehaved("a malformed IPC_ERR");
			return;
		}
		log_warnx("user=%s: submitd.header could not read the "
		    "message: %s", j->user, why);
		hjobs_unlink(j);
		job_answer_err(j, 451, "4.3.0 Cannot read the message, try "
		    "again later");
		job_free(j);
		return;
	}
	if (hdr_facts_parse(m, &f) == -1) {
		hdr_misbehaved("malformed header facts");
		return;
	}
	hjobs_unlink(j);
	evtimer_del(j->timer);
	submit_decide(j, &f);
}

static void
hdr_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct msg_job	*j, *next;
	const char	*role;

	if (c != hdr || hdr_bad)
		return;
	if (!hdr_hello) {
		if (m->type != IPC_PARENT_HELLO ||
		    ipc_get_str(m, &role) == -1 ||
		    ipc_get_end(m) == -1 || strcmp(role, "header") != 0) {
			hdr_misbehaved("no IPC_PARENT_HELLO");
			return;
		}
		hdr_hello = 1;
		submitd_role_ready(ROLE_HEADER);
		for (j = hjobs; j != NULL; j = next) {
			next = j->next;
			if (j->state == J_HEADER_WAIT)
				hdr_send(j);
		}
		return;
	}
	if (m->type != IPC_OK && m->type != IPC_ERR) {
		hdr_misbehaved("an unexpected message type");
		return;
	}
	hdr_answer(m);
}

/* The header role is gone: the messages it had fail, the others wait. */
static void
hdr_forget(void)
{
	struct msg_job *j, *next;

	ipc_conn_free(hdr);
	hdr = NULL;
	for (j = hjobs; j != NULL; j = next) {
		next = j->next;
		if (j->state != J_HEADER_SENT)
			continue;
		hjobs_unlink(j);
		job_answer_err(j, 451, "4.3.0 Temporary failure, try again "
		    "later");
		job_free(j);
	}
}

static void
hdr_closed(struct ipc_conn *c, void *arg)
{
	if (c != hdr) {
		ipc_conn_free(c);
		return;
	}
	hdr_forget();
	submitd_role_lost(ROLE_HEADER);
}

static void
hdr_misbehaved(const char *what)
{
	if (hdr_bad)
		return;
	log_warnx("submitd.header sent %s; restarting it", what);
	hdr_bad = 1;
	submitd_role_lost(ROLE_HEADER);
}

/* A new submitd.header was forked; fd is the parent's end. */
void
parent_header_attach(int fd)
{
	if (hdr != NULL)
		hdr_forget();
	hdr_hello = 0;
	hdr_bad = 0;
	hdr = ipc_conn_new(parent_base, fd, hdr_dispatch, hdr_closed, NULL);
}

void
msg_shutdown(void)
{
	struct msg_job *j;

	while ((j = hjobs) != NULL) {
		hjobs = j->next;
		job_free(j);
	}
	if (hdr != NULL)
		ipc_conn_free(hdr);
	hdr = NULL;
}
