/*
 * queue.c - smtpd.queue: the mail queue.  Commits messages to disk before
 * anyone says 250, hands them to the delivery role, retries temporary
 * failures with backoff and bounces permanent ones (dsn.c).
 *
 * Privileges: runs as [global] queue_user, chrooted to queue_dir, which
 * it owns; it parses no network input.  Its inputs are the receiver
 * (it verifies and classifies port 25 mail, and may queue only local
 * recipients: it may have been taken over), submitd's privileged
 * parent on queue_socket (root only, by SO_PEERCRED), the delivery
 * processes and the parent.  Every address is checked (q_addr_valid).
 *
 * The channels to the receiver and the delivery processes come from the
 * parent, again whenever one of them restarts (IPC_QUEUE_RECEIVER,
 * IPC_QUEUE_DELIVERY); a channel that closes ends what was pending on
 * it: the receiver's uncommitted messages are dropped (no 250 was
 * said), a delivery process's messages are retried.  This process may
 * itself be killed at any point and restarted: everything it acked is
 * on disk.
 *
 * Layout (inside the chroot):
 *	/incoming/<id>/{message,envelope}	being written; removed at start
 *	/queue/<id>/{message,envelope}		committed
 * A message is committed by fsync of both files and of the directory,
 * rename of incoming/<id> to queue/<id> and fsync of queue/.  Only then
 * is the sender told.  At start every queue/<id> is scheduled again.
 *
 * The disk is the truth: the in-memory list holds only IDs and times;
 * the envelope is read for each attempt and rewritten after it, so an
 * administrator's "sealmailctl queue delete" is noticed at the next try.
 *
 * A message with an author (submitted mail, bounces, notices) is signed
 * before anything else happens to it (sign.c): an attempt first settles
 * what a kill may have left of an earlier signing, then signs it if the
 * envelope does not say "signed yes" yet, and delivers only a signed
 * message.  A keystore that cannot sign now defers the attempt like a
 * temporary failure (q_defer); one that refuses for good bounces it.
 *
 * This file schedules, delivers and bounces; queue_store.c commits,
 * takes messages in and recovers at start; sign.c signs (shared state:
 * queue.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "queue.h"
#include "smtpd.h"
#include "xmalloc.h"

#define Q_INFLIGHT_MAX	(2 * Q_DELIVERY_N + Q_MTA_N)

static struct sm_config	*cfg;
struct event_base	*q_base;
struct ipc_conn		*q_parent;
static struct qclient	*receiver;	/* the receiver's channel */
static struct dlvch	*dlv[Q_DELIVERY_N];
static struct qclient	*clients;
struct qent		*q_entries;
static struct event	*run_ev;
int			 q_ninflight;
uint32_t		 q_next_req = 1;

struct qent *
qent_add(const char *id, time_t when)
{
	struct qent	*qe = xcalloc(1, sizeof(*qe));

	memcpy(qe->id, id, sizeof(qe->id));
	qe->next_try = when;
	qe->next = q_entries;
	q_entries = qe;
	return qe;
}

static void
qent_remove(struct qent *qe)
{
	struct qent	**pp;

	for (pp = &q_entries; *pp != NULL; pp = &(*pp)->next)
		if (*pp == qe) {
			*pp = qe->next;
			break;
		}
	if (qe->env != NULL) {
		q_env_free(qe->env);
		free(qe->env);
	}
	free(qe);
}

/* ------------------------------------------------------------------ */
/* bounces */

static int
dsn_queue(struct qent *qe, const char *user)
{
	struct q_envelope	 d;
	char			 err[256], path[64];
	int			 mfd, ofd, r;

	snprintf(path, sizeof(path), "%s/message", qe->id);
	if ((ofd = openat(q_fd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((mfd = memfd_create("dsn", MFD_CLOEXEC)) == -1) {
		close(ofd);
		return -1;
	}
	q_env_init(&d);
	free(d.source);
	d.source = xstrdup("dsn");
	/*
	 * The report quotes the original's headers and goes to the address
	 * the original claimed: a bounce of unsafe mail is no safer than the
	 * mail (a forged local sender would otherwise get attacker-chosen
	 * headers in the safe mailbox).
	 */
	d.class = qe->env->class;
	free(d.author);
	d.author = xstrdup(q_system_owner(cfg->postmaster, cfg->hostname));
	d.created = d.next = time(NULL);
	q_id_new(d.id);
	q_env_add_rcpt(&d, qe->env->from, user,
	    *user ? Q_RS_PENDING : Q_RS_REMOTE);
	r = q_dsn_write(mfd, cfg, qe->env, ofd, d.id);
	close(ofd);
	if (r == 0)
		r = q_store(&d, mfd, err, sizeof(err));
	close(mfd);
	if (r == 0) {
		log_info("id=%s dsn=%s to=<%s> class=%s queued", qe->id,
		    d.id, qe->env->from, q_class_name(d.class));
		qent_add(d.id, d.next);
	}
	q_env_free(&d);
	return r;
}

static void
bounce_answer(struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*text;
	uint32_t	 code;
	int		 i;

	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("queue: bad lookup answer");
	for (qe = q_entries; qe != NULL; qe = qe->next)
		if (qe->bounce_wait && qe->req == m->id)
			break;
	if (qe == NULL)
		return;
	qe->bounce_wait = 0;
	if (dsn_queue(qe, m->type == IPC_OK ? text : "") == -1) {
		log_warnx("id=%s cannot queue the DSN; will retry", qe->id);
		qe->next_try = time(NULL) + 60;
		q_env_free(qe->env);
		free(qe->env);
		qe->env = NULL;
		qe->inflight = 0;
		return;
	}
	for (i = 0; i < qe->env->nrcpt; i++)
		if (qe->env->rcpt[i].state == Q_RS_FAILED)
			qe->env->rcpt[i].state = Q_RS_BOUNCED;
	q_finish(qe);
}

/* ------------------------------------------------------------------ */
/* delivery */

struct qent *
q_find_req(uint32_t req)
{
	struct qent	*qe;

	for (qe = q_entries; qe != NULL; qe = qe->next)
		if (qe->inflight && qe->req == req)
			return qe;
	return NULL;
}

/*
 * After an attempt (or at expiry): bounce what failed, drop the entry
 * when nothing is left, else save the new state and schedule a retry.
 */
void
q_finish(struct qent *qe)
{
	struct q_envelope	*e = qe->env;
	struct ipc_msg		*m;
	int			 i, pending = 0, failed = 0, remote = 0;

	for (i = 0; i < e->nrcpt; i++) {
		pending += e->rcpt[i].state == Q_RS_PENDING;
		failed += e->rcpt[i].state == Q_RS_FAILED;
		remote += e->rcpt[i].state == Q_RS_REMOTE;
	}
	if ((failed > 0 || q_dsn_delay_due(e, cfg, time(NULL))) &&
	    e->from[0] != '\0' && strcmp(e->source, "dsn") != 0) {
		/* a DSN: is the sender one of ours?  The parent knows. */
		qe->req = q_next_req++;
		qe->bounce_wait = 1;
		m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, qe->req);
		ipc_add_str(m, e->from);
		ipc_send(q_parent, m);
		return;
	}
	if (failed > 0)
		log_info("id=%s from=<%s> failed, no DSN to the null sender",
		    e->id, e->from);
	if (pending == 0 && remote == 0) {
		/* no fsync: a removal lost to a crash means a repeat */
		log_info("id=%s removed from the queue", e->id);
		q_rm_entry(q_fd, e->id);
		qent_remove(qe);
		return;
	}
	/* local or remote, what is left is tried again after a backoff */
	e->attempts++;
	e->next = time(NULL) + q_backoff(e->attempts, cfg->retry_min,
	    cfg->retry_max);
	if (q_env_save(e) == -1)
		log_warn("id=%s envelope update", e->id);
	qe->next_try = e->next;
	qe->inflight = 0;
	q_env_free(e);
	free(e);
	qe->env = NULL;
}

static void
q_expire(struct q_envelope *e)
{
	int	 i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING ||
		    e->rcpt[i].state == Q_RS_REMOTE) {
			e->rcpt[i].state = Q_RS_FAILED;
			free(e->rcpt[i].last);
			e->rcpt[i].last = xstrdup("4.4.7 Message expired in "
			    "the queue");
			log_info("id=%s rcpt=<%s> expired", e->id,
			    e->rcpt[i].addr);
		}
}

static int	 dlv_any(void);

/* Give the entry back to the schedule (its envelope is read again). */
static void
q_release(struct qent *qe, time_t when)
{
	q_env_free(qe->env);
	free(qe->env);
	qe->env = NULL;
	qe->inflight = 0;
	qe->next_try = when;
}

/*
 * Not now (the message could not be signed): what is still to be done
 * waits for the next attempt, on the queue's schedule, with the reason
 * noted for "sealmailctl queue show".
 */
static void
q_defer(struct qent *qe, const char *why)
{
	struct q_envelope	*e = qe->env;
	char			 note[256];
	int			 i;

	snprintf(note, sizeof(note), "451 4.7.0 Not signed yet: %s", why);
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING ||
		    e->rcpt[i].state == Q_RS_REMOTE) {
			free(e->rcpt[i].last);
			e->rcpt[i].last = xstrdup(note);
		}
	e->attempts++;
	e->next = time(NULL) + q_backoff(e->attempts, cfg->retry_min,
	    cfg->retry_max);
	if (q_env_save(e) == -1)
		log_warn("id=%s envelope update", e->id);
	q_release(qe, e->next);
}

/*
 * Hand a (signed, or not ours to sign) message on: its local recipients
 * to a delivery process, its remote ones to a transmitter (queue_mta.c),
 * both under one request id.  The attempt ends (q_finish) when both
 * have answered.  Remote recipients no transmitter can take now wait.
 */
static void
q_send(struct qent *qe)
{
	struct q_envelope	*e = qe->env;
	struct ipc_msg		*m;
	char			 path[64];
	int			 fd = -1, i, n = 0, nr = 0;

	for (i = 0; i < e->nrcpt; i++) {
		n += e->rcpt[i].state == Q_RS_PENDING;
		nr += e->rcpt[i].state == Q_RS_REMOTE;
	}
	if (n > 0 && !dlv_any()) {
		/* signed meanwhile, and nobody to take it now: soon */
		q_release(qe, time(NULL) + 1);
		return;
	}
	qe->req = q_next_req++;
	if (nr > 0 && q_mta_send(qe, cfg) == -1 && n == 0) {
		/* its domain's transmitters busy (waitdom): due once one is */
		q_release(qe, time(NULL) + (qe->waitdom[0] == '\0'));
		return;
	}
	snprintf(path, sizeof(path), "%s/message", qe->id);
	if (n > 0 && (fd = openat(q_fd, path, O_RDONLY | O_CLOEXEC)) == -1)
		log_warn("id=%s message", qe->id);
	if (n == 0 || fd == -1) {
		if (qe->mch == NULL)
			q_finish(qe);
		return;
	}
	m = ipc_msg_new(IPC_DELIVERY_MESSAGE, qe->req);
	ipc_add_str(m, e->id);
	ipc_add_str(m, e->from);
	ipc_add_u32(m, (uint32_t)e->class);
	ipc_add_str(m, e->authres);	/* local recipients only: sign.c */
	ipc_add_u32(m, (uint32_t)n);
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING) {
			ipc_add_u32(m, (uint32_t)i);
			ipc_add_str(m, e->rcpt[i].user);
		}
	ipc_msg_setfd(m, fd);
	/* the least busy delivery process */
	for (i = 0, qe->dch = NULL; i < Q_DELIVERY_N; i++)
		if (dlv[i] != NULL && (qe->dch == NULL ||
		    dlv[i]->busy < qe->dch->busy))
			qe->dch = dlv[i];
	if (qe->dch == NULL)
		log_panic("queue: no delivery process for id=%s", qe->id);
	qe->dch->busy++;
	ipc_send(qe->dch->conn, m);
	q_ninflight++;
}

/* sign.c's verdict on a message of q_attempt's. */
static void
q_signed(void *arg, enum q_sign_result r, const char *why)
{
	struct qent		*qe = arg;
	struct q_envelope	*e = qe->env;
	char			 note[256];
	int			 i;

	if (r == Q_SIGN_OK && q_sign_commit(e) == -1) {
		r = Q_SIGN_DEFER;
		why = "cannot write the envelope";
	}
	switch (r) {
	case Q_SIGN_OK:
		q_send(qe);
		break;
	case Q_SIGN_DEFER:
		log_warnx("id=%s author=<%s> not signed, deferred: %s", e->id,
		    e->author, why);
		q_defer(qe, why);
		break;
	case Q_SIGN_FAIL:
		/* never unsigned: the author hears of it (a DSN) now */
		log_warnx("id=%s author=<%s> CANNOT BE SIGNED: %s; returned "
		    "to the sender, not sent", e->id, e->author, why);
		snprintf(note, sizeof(note), "550 5.7.0 Message could not be "
		    "signed (%s); not sent", why);
		for (i = 0; i < e->nrcpt; i++)
			if (e->rcpt[i].state == Q_RS_PENDING ||
			    e->rcpt[i].state == Q_RS_REMOTE) {
				e->rcpt[i].state = Q_RS_FAILED;
				free(e->rcpt[i].last);
				e->rcpt[i].last = xstrdup(note);
			}
		q_finish(qe);
		break;
	}
}

static void
q_attempt(struct qent *qe)
{
	struct q_envelope	*e;
	char			 path[64];
	int			 i, todo;

	e = xcalloc(1, sizeof(*e));
	snprintf(path, sizeof(path), "%s/envelope", qe->id);
	if (q_env_read(q_fd, path, e) == -1) {
		log_info("id=%s gone from the queue", qe->id);
		free(e);
		qent_remove(qe);
		return;
	}
	qe->env = e;
	qe->inflight = 1;
	if (time(NULL) - e->created > cfg->queue_lifetime)
		q_expire(e);
	q_sign_settle(e);
	for (i = 0, todo = 0; i < e->nrcpt; i++)
		todo += e->rcpt[i].state == Q_RS_PENDING ||
		    e->rcpt[i].state == Q_RS_REMOTE;
	if (e->author[0] == '\0' || e->is_signed || todo == 0) {
		q_send(qe);
		return;
	}
	if (q_sign_busy() >= Q_SIGN_MAX) {
		q_release(qe, qe->next_try);
		return;
	}
	q_sign_start(e->id, e->author, q_signed, qe);
}

static int
dlv_any(void)
{
	int	 i;

	for (i = 0; i < Q_DELIVERY_N; i++)
		if (dlv[i] != NULL)
			return 1;
	return 0;
}

/* IPC_QUEUE_DELIVERED: one recipient's outcome. */
static void
dlv_delivered(struct dlvch *dch, struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*text;
	uint32_t	 idx, status;
	struct q_rcpt	*r;

	if (ipc_get_u32(m, &idx) == -1 || ipc_get_u32(m, &status) == -1 ||
	    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1 ||
	    (qe = q_find_req(m->id)) == NULL || qe->dch != dch ||
	    idx >= (uint32_t)qe->env->nrcpt)
		fatalx("queue: bad IPC_QUEUE_DELIVERED");
	r = &qe->env->rcpt[idx];
	free(r->last);
	r->last = xstrdup(text);
	if (status == Q_DLV_OK)
		r->state = Q_RS_DONE;
	else if (status == Q_DLV_PERMFAIL)
		r->state = Q_RS_FAILED;
	log_info("id=%s rcpt=<%s> user=%s class=%s status=%s %s",
	    qe->id, r->addr, r->user, q_class_name(qe->env->class),
	    status == Q_DLV_OK ? "sent" : status == Q_DLV_PERMFAIL ?
	    "bounced" : "deferred", text);
}

/* IPC_QUEUE_DELIVERY_DONE: every recipient of the request answered. */
static void
dlv_done(struct dlvch *dch, struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*id;

	if (ipc_get_str(m, &id) == -1 || ipc_get_end(m) == -1 ||
	    (qe = q_find_req(m->id)) == NULL || qe->dch != dch)
		fatalx("queue: bad IPC_QUEUE_DELIVERY_DONE");
	q_ninflight--;
	dch->busy--;
	qe->dch = NULL;
	if (qe->mch == NULL)
		q_finish(qe);
	q_schedule();
}

/*
 * A delivery process died (or was replaced): what it held goes back to
 * the queue as a temporary failure, with what it did report kept (a
 * recipient it said was delivered is done).  The retry backs off like
 * any other: a message that kills its delivery process must not do so
 * in a loop that makes the parent give up on smtpd.
 */
static void
dch_closed(struct ipc_conn *c, void *arg)
{
	struct dlvch	*dch = arg;
	struct qent	*qe, *next;
	int		 i, n = 0;

	for (qe = q_entries; qe != NULL; qe = next) {
		next = qe->next;
		if (qe->dch != dch)
			continue;
		qe->dch = NULL;
		q_ninflight--;
		n++;
		for (i = 0; i < qe->env->nrcpt; i++)
			if (qe->env->rcpt[i].state == Q_RS_PENDING) {
				free(qe->env->rcpt[i].last);
				qe->env->rcpt[i].last = xstrdup("451 4.3.0 "
				    "delivery process lost");
			}
		log_info("id=%s delivery process lost; will retry", qe->id);
		if (qe->mch == NULL)
			q_finish(qe);
	}
	log_info("delivery slot=%d channel closed, %d message(s) back in "
	    "the queue", dch->slot, n);
	if (dlv[dch->slot] == dch)
		dlv[dch->slot] = NULL;
	ipc_conn_free(c);
	free(dch);
	q_schedule();
}

static void
dch_new(uint32_t slot, int fd)
{
	struct dlvch	*dch;

	/*
	 * A process in this slot before is dead (the parent starts one only
	 * after reaping the last): its channel stays open until its last
	 * words are read and it closes, then dch_closed requeues the rest.
	 */
	dch = xcalloc(1, sizeof(*dch));
	dch->slot = (int)slot;
	dch->kind = QP_DELIVERY;
	dch->conn = ipc_conn_new(q_base, fd, queue_dispatch, dch_closed, dch);
	dlv[slot] = dch;
	log_debug("delivery slot=%u channel ready", slot);
	q_schedule();
}

static void
q_run(int fd, short ev, void *arg)
{
	struct qent	*qe, *next;
	time_t		 now = time(NULL);
	struct timeval	 tv = { 1, 0 };

	for (qe = q_entries; qe != NULL && q_ninflight < Q_INFLIGHT_MAX &&
	    (dlv_any() || q_mta_any()); qe = next) {
		next = qe->next;
		if (qe->inflight || qe->next_try > now ||
		    (qe->waitdom[0] != '\0' && !q_mta_can(qe->waitdom)))
			continue;
		qe->waitdom[0] = '\0';
		q_attempt(qe);
	}
	evtimer_add(run_ev, &tv);
}

void
q_schedule(void)
{
	event_active(run_ev, EV_TIMEOUT, 1);
}

static void
q_flush(int sig, short ev, void *arg)
{
	struct qent	*qe;

	log_info("flush: every message is due now");
	for (qe = q_entries; qe != NULL; qe = qe->next)
		if (!qe->inflight)
			qe->next_try = 0;
	q_schedule();
}

/* ------------------------------------------------------------------ */
/* peers */

/* A client's channel closed: its messages not yet committed are dropped. */
static void
client_gone(struct qclient *qc)
{
	struct qclient	**pp;

	for (pp = &clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == qc) {
			*pp = qc->next;
			break;
		}
	if (qc == receiver)
		receiver = NULL;
	ipc_conn_free(qc->conn);
	qc->conn = NULL;
	qc->gone = 1;
	if (qc->njobs == 0)
		free(qc);
}

static void
client_closed(struct ipc_conn *c, void *arg)
{
	struct qclient	*qc = arg;

	if (qc == receiver)
		log_info("receiver channel closed");
	client_gone(qc);
}

static void
receiver_new(int fd)
{
	/* the last receiver is dead: nobody can see a 250 from it now */
	if (receiver != NULL)
		client_gone(receiver);
	receiver = xcalloc(1, sizeof(*receiver));
	receiver->kind = QP_RECEIVER;
	receiver->conn = ipc_conn_new(q_base, fd, queue_dispatch, client_closed,
	    receiver);
	log_debug("receiver channel ready");
}

static void
peer_closed(struct ipc_conn *c, void *arg)
{
	fatalx("queue: %s went away", (const char *)arg);
}

static const char *const q_peer_names[] = {
	"parent", "receiver", "queue_socket", "delivery", "transmitter"
};

/* The parent's channels to a receiver or delivery process that started. */
static void
parent_channel(struct ipc_msg *m)
{
	uint32_t	 slot;

	if (m->type == IPC_QUEUE_RECEIVER) {
		if (ipc_get_end(m) == -1 || m->fd == -1)
			fatalx("queue: bad IPC_QUEUE_RECEIVER");
		receiver_new(ipc_msg_takefd(m));
		return;
	}
	if (ipc_get_u32(m, &slot) == -1 || ipc_get_end(m) == -1 ||
	    slot >= (m->type == IPC_QUEUE_MTA ? Q_MTA_N : Q_DELIVERY_N) ||
	    m->fd == -1)
		fatalx("queue: bad IPC_QUEUE_DELIVERY/MTA");
	if (m->type == IPC_QUEUE_MTA)
		q_mta_new(slot, ipc_msg_takefd(m));
	else
		dch_new(slot, ipc_msg_takefd(m));
}

/*
 * Everything the queue is sent, by each peer only what it may send.
 * The parent, the receiver and the delivery processes are the queue's
 * own (a message out of place is fatal: something is broken); a client
 * on queue_socket is another program, and only its connection ends.
 */
void
queue_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	enum q_peer	 peer = c == q_parent ? QP_PARENT :
			    *(enum q_peer *)arg;

	switch (m->type) {
	case IPC_QUEUE_MESSAGE:
		if (peer != QP_RECEIVER && peer != QP_CLIENT)
			break;
		q_take(c, m, arg);
		return;
	case IPC_QUEUE_DELIVERED:
	case IPC_QUEUE_DELIVERY_DONE:
		if (peer == QP_MTA) {
			if (m->type == IPC_QUEUE_DELIVERED)
				q_mta_delivered(arg, m);
			else
				q_mta_done(arg, m);
			return;
		}
		if (peer != QP_DELIVERY)
			break;
		if (m->type == IPC_QUEUE_DELIVERED)
			dlv_delivered(arg, m);
		else
			dlv_done(arg, m);
		return;
	case IPC_OK:
	case IPC_ERR:
		if (peer != QP_PARENT)
			break;
		bounce_answer(m);
		return;
	case IPC_QUEUE_RECEIVER:
	case IPC_QUEUE_DELIVERY:
	case IPC_QUEUE_MTA:
		if (peer != QP_PARENT)
			break;
		parent_channel(m);
		return;
	case IPC_QUEUE_KEYSTORE:
		if (peer != QP_PARENT)
			break;
		q_sign_keystore(m);
		return;
	}
	if (peer == QP_MTA)	/* it talks to the Internet: not fatal */
		q_mta_bad(arg, "message type");
	else if (peer != QP_CLIENT)
		fatalx("queue: unexpected message %u from the %s", m->type,
		    q_peer_names[peer]);
	else {
		log_warnx("queue_socket: unexpected message %u", m->type);
		/* not freed here, inside its own dispatch: EOF will come */
		shutdown(ipc_conn_fd(c), SHUT_RDWR);
	}
}

static void
client_accept(int lfd, short ev, void *arg)
{
	struct qclient	*qc;
	uid_t		 uid;
	pid_t		 pid;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	/* submitd's root parent is the one client (the socket is 0600) */
	if (net_peercred(fd, &uid, &pid) == -1 || uid != 0) {
		log_warnx("queue_socket: refused peer uid %u pid %ld",
		    (unsigned)uid, (long)pid);
		close(fd);
		return;
	}
	qc = xcalloc(1, sizeof(*qc));
	qc->kind = QP_CLIENT;
	qc->trusted = 1;
	qc->conn = ipc_conn_new(q_base, fd, queue_dispatch, client_closed, qc);
	qc->next = clients;
	clients = qc;
}

void
queue_main(struct sm_config *c, int parent_fd, int recv_fd, int qsock_fd)
{
	struct event	*ev, *usr1;

	cfg = c;
	q_base = event_base_new();
	daemon_child_signals(q_base);
	if ((mkdir("/incoming", 0700) == -1 && errno != EEXIST) ||
	    (mkdir("/queue", 0700) == -1 && errno != EEXIST))
		fatal("queue directories");
	if ((q_inc_fd = open("/incoming", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (q_fd = open("/queue", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("open queue directories");
	q_recover();
	q_parent = ipc_conn_new(q_base, parent_fd, queue_dispatch,
	    peer_closed, "parent");
	q_sign_init(q_base, cfg, q_parent);
	/* the delivery processes' channels come from the parent */
	if (recv_fd != -1)
		receiver_new(recv_fd);
	if (qsock_fd != -1) {
		ev = event_new(q_base, qsock_fd, EV_READ | EV_PERSIST,
		    client_accept, NULL);
		event_add(ev, NULL);
	}
	q_store_start(q_base);
	usr1 = evsignal_new(q_base, SIGUSR1, q_flush, NULL);
	evsignal_add(usr1, NULL);
	run_ev = evtimer_new(q_base, q_run, NULL);
	q_schedule();
	log_info("queue ready");
	event_base_dispatch(q_base);
	_exit(0);
}
