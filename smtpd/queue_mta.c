/*
 * queue_mta.c - smtpd.queue's side of the transmitters (smtpd.mta): the
 * channels to them, the request for a message's remote recipients, and
 * their answers, which land in the envelope as a delivery process's do
 * (queue.c's q_finish turns them into done, retry with backoff, or a
 * DSN; a recipient still remote at the end of queue_lifetime expires
 * with a DSN).
 *
 * Scheduling: a transmitter takes one message at a time.  Each
 * destination domain has a concurrency limit that starts at one
 * transmitter, grows while its servers answer and shrinks when they do
 * not (queue_dest.c); a destination where a whole cohort of attempts
 * reached no server is dead for retry_min: the recipients for it are
 * deferred here, untried, with the reason (no connection for each
 * message).  A message goes preferably to a transmitter whose last
 * message went to the same domain, whose connection it may still hold
 * (mta_session.c keeps it MTA_IDLE seconds).  Recipients are grouped by
 * domain in the request, each group one SMTP transaction; the first
 * domain's limit decides when the request can go.
 *
 * A transmitter parses what any host on the Internet says: what it
 * reports is checked here (index, status, mta_text_valid) before it is
 * written to an envelope or a DSN.  One that reports anything malformed
 * has its channel shut: what it held is retried, and the parent is
 * asked to restart that transmitter (IPC_PARENT_MTA_RESTART), which
 * hands over a channel to the new one as after a crash (logged).
 *
 * Runs in smtpd.queue (queue_user, chrooted to queue_dir).
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "mta.h"
#include "queue.h"
#include "smtpd.h"
#include "xmalloc.h"

/* what one domain's recipients of the request at hand said */
struct mtafb {
	char			 domain[256];
	enum q_dest_fb		 fb;
	char			 why[256];
};

struct mtach {
	enum q_peer		 kind;		/* QP_MTA, first */
	struct ipc_conn		*conn;
	int			 slot;
	int			 busy;		/* 0 or 1 */
	int			 bad;		/* said something malformed */
	char			 domain[256];	/* of the last message */
	struct mtafb		*fb;		/* per domain of the request */
	int			 nfb;
};

static struct mtach	*mta[Q_MTA_N];
static struct q_dests	 dests = { NULL, Q_MTA_N, 300 };

int
q_mta_any(void)
{
	int	 i;

	for (i = 0; i < Q_MTA_N; i++)
		if (mta[i] != NULL && !mta[i]->bad && mta[i]->busy == 0)
			return 1;
	return 0;
}

/* How many transmitters work for domain now. */
static int
dest_busy(const char *domain)
{
	int	 i, n = 0;

	for (i = 0; i < Q_MTA_N; i++)
		n += mta[i] != NULL && mta[i]->busy &&
		    strcasecmp(mta[i]->domain, domain) == 0;
	return n;
}

/* An idle transmitter for domain, the one that went there last first. */
static struct mtach *
pick(const char *domain)
{
	struct mtach	*best = NULL;
	int		 i;

	if (dest_busy(domain) >= q_dest_limit(&dests, domain, time(NULL)))
		return NULL;
	for (i = 0; i < Q_MTA_N; i++) {
		if (mta[i] == NULL || mta[i]->bad || mta[i]->busy)
			continue;
		if (strcasecmp(mta[i]->domain, domain) == 0)
			return mta[i];
		if (best == NULL)
			best = mta[i];
	}
	return best;
}

/*
 * The remote recipients' indexes grouped by domain (a stable insertion
 * sort, no allocation beyond idx); how many.
 */
static int
group(const struct q_envelope *e, int *idx, const int *dead)
{
	int	 i, j, k, n = 0;

	for (i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].state != Q_RS_REMOTE || dead[i])
			continue;
		for (j = n; j > 0 && strcasecmp(mta_domain(
		    e->rcpt[idx[j - 1]].addr), mta_domain(e->rcpt[i].addr)) >
		    0; j--)
			;
		for (k = n; k > j; k--)
			idx[k] = idx[k - 1];
		idx[j] = i;
		n++;
	}
	return n;
}

/*
 * The recipients for dead destinations are deferred without a
 * connection (dead[i] set, their last reply says why); how many.
 */
static int
defer_dead(const struct qent *qe, int *dead)
{
	struct q_envelope	*e = qe->env;
	struct q_rcpt		*r;
	const char		*why, *dom;
	char			 note[512], when[32];
	time_t			 until, now = time(NULL);
	struct tm		 tm;
	int			 i, n = 0;

	for (i = 0; i < e->nrcpt; i++) {
		r = &e->rcpt[i];
		dom = mta_domain(r->addr);
		if (r->state != Q_RS_REMOTE ||
		    (why = q_dest_dead(&dests, dom, now, &until)) == NULL)
			continue;
		gmtime_r(&until, &tm);
		strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
		/* why is the text of a result: "451 4.4.1 ..." */
		snprintf(note, sizeof(note), "451 4.4.1 destination %s is "
		    "dead, not tried before %s; last failure: %.300s", dom,
		    when, strlen(why) > 4 ? why + 4 : why);
		free(r->last);
		r->last = xstrdup(note);
		log_info("id=%s rcpt=<%s> remote class=%s status=deferred "
		    "dest=%s dead: not tried", qe->id, r->addr,
		    q_class_name(e->class), dom);
		dead[i] = 1;
		n++;
	}
	return n;
}

/* The request's domains, for their feedback (queue_dest.c). */
static void
fb_start(struct mtach *ch, const struct q_envelope *e, const int *idx,
    int n)
{
	const char	*d;
	int		 i;

	free(ch->fb);
	ch->fb = xcalloc((size_t)n, sizeof(*ch->fb));
	ch->nfb = 0;
	for (i = 0; i < n; i++) {
		d = mta_domain(e->rcpt[idx[i]].addr);
		if (ch->nfb > 0 &&
		    strcasecmp(ch->fb[ch->nfb - 1].domain, d) == 0)
			continue;
		snprintf(ch->fb[ch->nfb++].domain, sizeof(ch->fb[0].domain),
		    "%s", d);
	}
}

/* One recipient's result: a server answered (wins), or none did. */
static void
fb_add(struct mtach *ch, const char *addr, const char *text)
{
	enum q_dest_fb	 fb = q_dest_outcome(text);
	int		 i;

	for (i = 0; i < ch->nfb; i++)
		if (strcasecmp(ch->fb[i].domain, mta_domain(addr)) == 0)
			break;
	if (i == ch->nfb || fb == Q_DEST_NONE || ch->fb[i].fb == Q_DEST_OK)
		return;
	ch->fb[i].fb = fb;
	snprintf(ch->fb[i].why, sizeof(ch->fb[i].why), "%s", text);
}

/* The request ended: each domain's servers answered, or did not. */
static void
fb_end(struct mtach *ch)
{
	int	 i;

	for (i = 0; i < ch->nfb; i++)
		q_dest_feedback(&dests, ch->fb[i].domain, ch->fb[i].fb,
		    ch->fb[i].why, time(NULL));
	free(ch->fb);
	ch->fb = NULL;
	ch->nfb = 0;
}

/*
 * Could a transmitter take mail for domain now?  Lets the queue leave a
 * waiting message unread until one can, instead of reading its envelope
 * on every run.
 */
int
q_mta_can(const char *domain)
{
	return pick(domain) != NULL;
}

/*
 * Send qe's remote recipients to a transmitter, under qe->req.  0 (sent,
 * or every one was for a dead destination: deferred), or -1 when none
 * can take them now (they wait for the next attempt).
 */
int
q_mta_send(struct qent *qe, const struct sm_config *cfg)
{
	struct q_envelope	*e = qe->env;
	struct ipc_msg		*m;
	struct mtach		*ch;
	char			 path[64];
	int			*idx, *dead, n, i, fd, ndead;

	dests.dead_time = cfg->retry_min;
	idx = xcalloc((size_t)e->nrcpt, sizeof(*idx));
	dead = xcalloc((size_t)e->nrcpt, sizeof(*dead));
	ndead = defer_dead(qe, dead);
	n = group(e, idx, dead);
	free(dead);
	if (n == 0 && ndead > 0) {
		free(idx);
		return 0;
	}
	if (n == 0) {
		free(idx);
		return -1;
	}
	if ((ch = pick(mta_domain(e->rcpt[idx[0]].addr))) == NULL) {
		/* q_run passes it over until q_mta_can says otherwise */
		snprintf(qe->waitdom, sizeof(qe->waitdom), "%s",
		    mta_domain(e->rcpt[idx[0]].addr));
		free(idx);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/message", qe->id);
	if ((fd = openat(q_fd, path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("id=%s message", qe->id);
		free(idx);
		return -1;
	}
	m = ipc_msg_new(IPC_MTA_MESSAGE, qe->req);
	ipc_add_str(m, e->id);
	ipc_add_str(m, e->from);
	ipc_add_u32(m, e->requiretls ? Q_MSG_REQUIRETLS : 0);
	ipc_add_u32(m, (uint32_t)n);
	for (i = 0; i < n; i++) {
		ipc_add_u32(m, (uint32_t)idx[i]);
		ipc_add_str(m, e->rcpt[idx[i]].addr);
	}
	ipc_msg_setfd(m, fd);
	snprintf(ch->domain, sizeof(ch->domain), "%s",
	    mta_domain(e->rcpt[idx[0]].addr));
	fb_start(ch, e, idx, n);
	free(idx);
	ch->busy = 1;
	qe->mch = ch;
	ipc_send(ch->conn, m);
	q_ninflight++;
	return 0;
}

/*
 * A transmitter said something malformed: no more of it.  The parent
 * replaces it; the new one's channel comes as after a crash.
 */
void
q_mta_bad(struct mtach *ch, const char *what)
{
	struct ipc_msg	*m;

	if (ch->bad)
		return;
	log_warnx("transmitter slot=%d sent a malformed %s; its channel is "
	    "closed, its messages will be retried, and it is restarted",
	    ch->slot, what);
	ch->bad = 1;
	/* not freed inside its own dispatch: the EOF will come */
	shutdown(ipc_conn_fd(ch->conn), SHUT_RDWR);
	m = ipc_msg_new(IPC_PARENT_MTA_RESTART, 0);
	ipc_add_u32(m, (uint32_t)ch->slot);
	ipc_send(q_parent, m);
}

/* IPC_QUEUE_DELIVERED from a transmitter: one recipient's outcome. */
void
q_mta_delivered(struct mtach *ch, struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*text;
	uint32_t	 idx, status;
	struct q_rcpt	*r;

	if (ch->bad)
		return;
	if (ipc_get_u32(m, &idx) == -1 || ipc_get_u32(m, &status) == -1 ||
	    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1 ||
	    (qe = q_find_req(m->id)) == NULL || qe->mch != ch ||
	    idx >= (uint32_t)qe->env->nrcpt ||
	    qe->env->rcpt[idx].state != Q_RS_REMOTE ||
	    status > Q_DLV_PERMFAIL ||
	    !mta_text_valid(text) || mta_status(atoi(text)) != (int)status) {
		q_mta_bad(ch, "IPC_QUEUE_DELIVERED");
		return;
	}
	r = &qe->env->rcpt[idx];
	fb_add(ch, r->addr, text);
	free(r->last);
	r->last = xstrdup(text);
	if (status == Q_DLV_OK)
		r->state = Q_RS_DONE;
	else if (status == Q_DLV_PERMFAIL)
		r->state = Q_RS_FAILED;
	log_info("id=%s rcpt=<%s> remote class=%s status=%s %s", qe->id,
	    r->addr, q_class_name(qe->env->class), status == Q_DLV_OK ?
	    "sent" : status == Q_DLV_PERMFAIL ? "bounced" : "deferred", text);
}

static void
mta_release(struct mtach *ch, struct qent *qe)
{
	q_ninflight--;
	ch->busy = 0;
	qe->mch = NULL;
	if (qe->dch == NULL)
		q_finish(qe);
}

/* IPC_QUEUE_DELIVERY_DONE from a transmitter. */
void
q_mta_done(struct mtach *ch, struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*id;

	if (ch->bad)
		return;
	if (ipc_get_str(m, &id) == -1 || ipc_get_end(m) == -1 ||
	    (qe = q_find_req(m->id)) == NULL || qe->mch != ch) {
		q_mta_bad(ch, "IPC_QUEUE_DELIVERY_DONE");
		return;
	}
	fb_end(ch);
	mta_release(ch, qe);
	q_schedule();
}

/*
 * A transmitter's channel closed (it died, was replaced, or was shut
 * here): its message is retried, with what it did report kept.
 */
static void
mta_closed(struct ipc_conn *c, void *arg)
{
	struct mtach	*ch = arg;
	struct qent	*qe, *next;
	int		 i;

	for (qe = q_entries; qe != NULL; qe = next) {
		next = qe->next;
		if (qe->mch != ch)
			continue;
		for (i = 0; i < qe->env->nrcpt; i++)
			if (qe->env->rcpt[i].state == Q_RS_REMOTE) {
				free(qe->env->rcpt[i].last);
				qe->env->rcpt[i].last = xstrdup("451 4.3.0 "
				    "transmitter lost");
			}
		log_info("id=%s transmitter lost; will retry", qe->id);
		mta_release(ch, qe);
	}
	fb_end(ch);
	log_info("transmitter slot=%d channel closed", ch->slot);
	if (mta[ch->slot] == ch)
		mta[ch->slot] = NULL;
	ipc_conn_free(c);
	free(ch);
	q_schedule();
}

/* IPC_QUEUE_MTA: a channel to the transmitter in slot. */
void
q_mta_new(uint32_t slot, int fd)
{
	struct mtach	*ch;

	ch = xcalloc(1, sizeof(*ch));
	ch->slot = (int)slot;
	ch->kind = QP_MTA;
	ch->conn = ipc_conn_new(q_base, fd, queue_dispatch, mta_closed, ch);
	mta[slot] = ch;
	log_info("transmitter slot=%u channel ready", slot);
	q_schedule();
}
