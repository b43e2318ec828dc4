/*
 * parent.c - submitd's root parent: every decision of submission.
 *
 * Runs as root, because PAM modules may need it and because only root
 * processes open the user database.  It reads no network input: its only
 * peer is the submitd.smtp child, whose every request is checked as if
 * hostile (a malformed one ends the daemon), and smtpd's queue socket.
 *
 * What it decides, for the session number the child names:
 *   AUTH	the password through PAM ([submitd] pam_service), the user in
 *		the user database; failures slowed down and counted per
 *		client address and per user (authfail.c): [submitd]
 *		auth_fail_max failures of an address within
 *		auth_fail_window bar that address for the window.  The
 *		hash runs on a worker thread (pamworker.c).
 *   MAIL	the authenticated user (remembered here, never taken from
 *		the child) may use the address, and is not locked.
 *   RCPT	a local recipient exists.
 *   DATA	again the sender, the header's From:/Sender: addresses the
 *		child found, the per-message limit, then the transactional
 *		daily quota (crossing it locks the account and notifies the
 *		postmaster); then the Received header with the tracking ID
 *		and the hand-off to the queue (queue.c).  The child hears
 *		"queued" only after the queue committed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authfail.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "header.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "pamworker.h"
#include "queue.h"
#include "stamp.h"
#include "submitd.h"
#include "userdb.h"
#include "xmalloc.h"

struct psess {
	struct psess	*next;
	uint32_t	 id;
	char		 client[64];
	char		 user[USERDB_ADDR_MAX + 1];	/* "": no AUTH */
	int		 busy;		/* a message is being queued */
};

struct delayed {
	struct event	*ev;
	struct ipc_msg	*m;
};

struct submit_job {
	uint32_t	 sid;
	char		 id[STAMP_ID_LEN + 1];
	char		 user[USERDB_ADDR_MAX + 1];
	char		 from[USERDB_ADDR_MAX + 1];
	char		 client[64];
	uint32_t	 nrcpt;
	char		**rcpt;
	char		**ruser;
	uint64_t	 size;
};

static const struct sm_config *cfg;
static struct event_base *base;
static struct ipc_conn *child;
static struct db_env *env;
static struct userdb *udb;
static struct psess *psessions;
static int	 npsessions;
static struct authfail fails;
static struct event *checkpoint_ev;

/* ------------------------------------------------------------------ */
/* sessions and answers */

static struct psess *
psess_find(uint32_t id)
{
	struct psess *ps;

	for (ps = psessions; ps != NULL; ps = ps->next)
		if (ps->id == id)
			return ps;
	return NULL;
}

static struct psess *
psess_get(uint32_t id, const char *client)
{
	struct psess *ps;

	if ((ps = psess_find(id)) == NULL) {
		/* the child has at most max_sessions sessions at a time */
		if (++npsessions > 2 * cfg->submitd_max_sessions + 16)
			fatalx("the child claims %d sessions", npsessions);
		ps = xcalloc(1, sizeof(*ps));
		ps->id = id;
		ps->next = psessions;
		psessions = ps;
	}
	snprintf(ps->client, sizeof(ps->client), "%s", client);
	return ps;
}

static void
psess_end(uint32_t id)
{
	struct psess **pp, *ps;

	for (pp = &psessions; (ps = *pp) != NULL; pp = &ps->next)
		if (ps->id == id) {
			*pp = ps->next;
			free(ps);
			npsessions--;
			return;
		}
}

static void
answer_ok(uint32_t id, const char *text)
{
	struct ipc_msg *m = ipc_msg_new(IPC_OK, id);

	ipc_add_u32(m, 0);
	ipc_add_str(m, text);
	ipc_send(child, m);
}

static void
answer_err(uint32_t id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
answer_err(uint32_t id, int code, const char *fmt, ...)
{
	struct ipc_msg *m = ipc_msg_new(IPC_ERR, id);
	char	 text[400];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ipc_add_u32(m, (uint32_t)code);
	ipc_add_str(m, text);
	ipc_send(child, m);
}

static const char *
postmaster(void)
{
	return cfg->postmaster != NULL && cfg->postmaster[0] != '\0' ?
	    cfg->postmaster : "the postmaster";
}

/* ------------------------------------------------------------------ */
/* failed logins */

static void
delayed_send(evutil_socket_t fd, short ev, void *arg)
{
	struct delayed *d = arg;

	ipc_send(child, d->m);
	event_free(d->ev);
	free(d);
}

static void
auth_failed(const char *client, uint32_t id, const char *user,
    const char *reason)
{
	struct authfail_result res;
	struct delayed *d;
	struct timeval tv;
	char	 clean[USERDB_ADDR_MAX + 1];
	int	 ms;

	stamp_clean(user, clean, sizeof(clean));
	ms = authfail_record(&fails, client, clean, time(NULL), &res);
	log_info("auth client=%s user=%s result=fail reason=\"%s\" "
	    "failures_client=%d failures_user=%d", client, clean, reason,
	    res.addr_count, res.user_count);
	if (res.barred_now)
		log_warnx("client=%s barred for %lds after %d failed logins",
		    client, cfg->auth_fail_window, res.addr_count);
	/* slow down guessing: the answer waits, the event loop does not */
	d = xcalloc(1, sizeof(*d));
	d->m = ipc_msg_new(IPC_ERR, id);
	ipc_add_u32(d->m, SUBMIT_AUTH_FAIL);
	ipc_add_str(d->m, "Authentication credentials invalid");
	if ((d->ev = evtimer_new(base, delayed_send, d)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ev, &tv);
}

static void
auth_answer_err(uint32_t id, uint32_t code, const char *text)
{
	struct ipc_msg *m = ipc_msg_new(IPC_ERR, id);

	ipc_add_u32(m, code);
	ipc_add_str(m, text);
	ipc_send(child, m);
}

static void
p_auth(struct ipc_msg *m)
{
	struct pam_job	*j;
	struct psess	*ps;
	const char	*client, *authzid, *authcid, *pw;
	char		 user[USERDB_ADDR_MAX + 1];
	char		 zid[USERDB_ADDR_MAX + 1];
	char		 err[256];
	time_t		 now = time(NULL), left;

	if (ipc_get_str(m, &client) == -1 || ipc_get_str(m, &authzid) == -1 ||
	    ipc_get_str(m, &authcid) == -1 || ipc_get_str(m, &pw) == -1 ||
	    ipc_get_end(m) == -1 || strlen(client) >= sizeof(ps->client))
		fatalx("bad IPC_PARENT_AUTH from the child");
	ps = psess_get(m->id, client);
	if (authfail_barred(&fails, ps->client, now, &left)) {
		log_info("auth client=%s refused: barred for %llds more",
		    ps->client, (long long)left);
		auth_answer_err(m->id, SUBMIT_AUTH_REFUSED, "Too many failed "
		    "authentications from your address, try again later");
		return;
	}
	if (ps->user[0] != '\0') {
		auth_answer_err(m->id, SUBMIT_AUTH_FAIL, "Already "
		    "authenticated");
		return;
	}
	if (userdb_addr_canon(authcid, user, sizeof(user), err,
	    sizeof(err)) == -1) {
		auth_failed(ps->client, m->id, authcid, "malformed user name");
		return;
	}
	if (authzid[0] != '\0' && (userdb_addr_canon(authzid, zid,
	    sizeof(zid), NULL, 0) == -1 || strcmp(zid, user) != 0)) {
		auth_failed(ps->client, m->id, user,
		    "authorization identity differs");
		return;
	}
	/* the hash is slow: off the event loop, answered in auth_pam_done */
	j = xcalloc(1, sizeof(*j));
	j->sid = m->id;
	snprintf(j->client, sizeof(j->client), "%s", ps->client);
	j->user = xstrdup(user);
	j->password = xstrdup(pw);
	pamw_submit(j);
}

static void
auth_pam_done(struct pam_job *j)
{
	struct userdb_user u;
	struct psess	*ps;
	struct ipc_msg	*r;
	char		 err[256];
	int		 ret;

	if (!j->ok) {
		auth_failed(j->client, j->sid, j->user, j->err);
		goto out;
	}
	if ((ps = psess_find(j->sid)) == NULL)
		goto out;	/* the client left meanwhile */
	ret = userdb_user_get(udb, j->user, &u, err, sizeof(err));
	if (ret == UDB_NOTFOUND) {
		auth_failed(j->client, j->sid, j->user,
		    "not in the user database");
		goto out;
	}
	if (ret != UDB_OK) {
		auth_answer_err(j->sid, SUBMIT_AUTH_TEMP, "Temporary "
		    "authentication failure");
		goto out;
	}
	authfail_success(&fails, j->user, time(NULL));
	snprintf(ps->user, sizeof(ps->user), "%s", j->user);
	log_info("auth client=%s user=%s result=ok%s", ps->client, j->user,
	    u.locked ? " locked=yes" : "");
	r = ipc_msg_new(IPC_OK, j->sid);
	ipc_add_str(r, j->user);
	ipc_add_u32(r, u.max_rcpt_per_msg);
	ipc_send(child, r);
out:
	pamw_job_free(j);
}

/* ------------------------------------------------------------------ */
/* sender identity and recipients */

/* 0 if user may send as addr now; else an SMTP code and text. */
static int
sender_check(const char *user, const char *addr, const char *what,
    int *code_r, char *text, size_t textlen)
{
	struct userdb_user u;
	int	 ret;

	if ((ret = userdb_user_get(udb, user, &u, NULL, 0)) != UDB_OK) {
		*code_r = ret == UDB_NOTFOUND ? 550 : 451;
		snprintf(text, textlen, ret == UDB_NOTFOUND ?
		    "5.7.1 No such user any more" :
		    "4.3.0 Temporary failure, try again later");
		return -1;
	}
	if (u.locked) {
		*code_r = 550;
		snprintf(text, textlen, "5.7.1 Account %s is locked (%s); "
		    "contact %s", user, u.lock_reason[0] != '\0' ?
		    u.lock_reason : "by the administrator", postmaster());
		return -1;
	}
	switch (userdb_sender_allowed(udb, user, addr)) {
	case 1:
		return 0;
	case 0:
		*code_r = 550;
		snprintf(text, textlen, "5.7.1 %s <%s> is not an address of "
		    "%s", what, addr, user);
		return -1;
	default:
		*code_r = 451;
		snprintf(text, textlen, "4.3.0 Temporary failure, try again "
		    "later");
		return -1;
	}
}

static struct psess *
authed_session(struct ipc_msg *m)
{
	struct psess *ps;

	if ((ps = psess_find(m->id)) == NULL || ps->user[0] == '\0') {
		answer_err(m->id, 530, "5.7.0 Authentication required");
		return NULL;
	}
	return ps;
}

static void
p_sender_ok(struct ipc_msg *m)
{
	struct psess *ps;
	const char *addr;
	char	 text[400];
	int	 code;

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1)
		fatalx("bad IPC_PARENT_SENDER_OK from the child");
	if ((ps = authed_session(m)) == NULL)
		return;
	if (sender_check(ps->user, addr, "Sender", &code, text,
	    sizeof(text)) == -1) {
		log_info("user=%s client=%s from=<%s> refused: %s", ps->user,
		    ps->client, addr, text);
		answer_err(m->id, code, "%s", text);
		return;
	}
	answer_ok(m->id, "");
}

/*
 * Where does rcpt deliver: 0 with the local user in user_r (or "" for a
 * remote recipient), or -1 with an SMTP code and text.
 */
static int
rcpt_resolve(const char *rcpt, char *user_r, size_t len, int *code_r,
    char *text, size_t textlen)
{
	const char *at;
	char	 dom[USERDB_DOMAIN_MAX + 1];
	int	 ret;

	user_r[0] = '\0';
	ret = userdb_lookup_rcpt(udb, rcpt, user_r, len);
	if (ret == UDB_OK)
		return 0;
	if (ret == UDB_ERROR) {
		*code_r = 451;
		snprintf(text, textlen, "4.3.0 Temporary failure, try again "
		    "later");
		return -1;
	}
	user_r[0] = '\0';
	if ((at = strrchr(rcpt, '@')) != NULL &&
	    userdb_domain_canon(at + 1, dom, sizeof(dom), NULL, 0) == 0 &&
	    userdb_domain_exists(udb, dom) == 1) {
		*code_r = 550;
		snprintf(text, textlen, "5.1.1 <%s>: no such user here", rcpt);
		return -1;
	}
	return 0;	/* another domain: the transmitter's */
}

static void
p_lookup_rcpt(struct ipc_msg *m)
{
	struct psess *ps;
	const char *addr;
	char	 user[USERDB_ADDR_MAX + 1], text[400];
	int	 code;

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1)
		fatalx("bad IPC_PARENT_LOOKUP_RCPT from the child");
	if ((ps = authed_session(m)) == NULL)
		return;
	if (rcpt_resolve(addr, user, sizeof(user), &code, text,
	    sizeof(text)) == -1) {
		answer_err(m->id, code, "%s", text);
		return;
	}
	answer_ok(m->id, "");
}

/* ------------------------------------------------------------------ */
/* the message */

static void
job_free(struct submit_job *j)
{
	uint32_t i;

	for (i = 0; i < j->nrcpt; i++) {
		free(j->rcpt[i]);
		free(j->ruser[i]);
	}
	free(j->rcpt);
	free(j->ruser);
	free(j);
}

static void
submit_done(void *arg, int ok, const char *text)
{
	struct submit_job *j = arg;
	struct psess *ps = psess_find(j->sid);
	uint32_t i;

	if (ps != NULL)
		ps->busy = 0;
	if (ok) {
		/* the one line that names the author of the message */
		log_info("id=%s user=%s from=<%s> nrcpt=%u size=%llu "
		    "client=%s queued", j->id, j->user, j->from, j->nrcpt,
		    (unsigned long long)j->size, j->client);
		for (i = 0; i < j->nrcpt; i++)
			log_debug("id=%s rcpt=<%s> %s", j->id, j->rcpt[i],
			    j->ruser[i] != NULL ? "local" : "remote");
		if (ps != NULL)
			answer_ok(j->sid, j->id);
	} else {
		log_warnx("id=%s user=%s not queued: %s", j->id, j->user,
		    text);
		if (ps != NULL)
			answer_err(j->sid, 451, "4.3.0 The queue did not "
			    "take the message, try again later");
	}
	job_free(j);
}

struct submit_req {
	const char	*helo, *proto, *cipher, *from;
	uint32_t	 nrcpt;
	const char	*rcpt[SUBMIT_RCPT_HARDMAX];
	uint32_t	 no_header, has_date, has_msgid, nfrom;
	const char	*hfrom[HDR_FROM_MAX];
	const char	*hsender;
	uint64_t	 size;
};

static void
submit_parse(struct ipc_msg *m, struct submit_req *q)
{
	uint32_t i;

	if (ipc_get_str(m, &q->helo) == -1 ||
	    ipc_get_str(m, &q->proto) == -1 ||
	    ipc_get_str(m, &q->cipher) == -1 ||
	    ipc_get_str(m, &q->from) == -1 ||
	    ipc_get_u32(m, &q->nrcpt) == -1 ||
	    q->nrcpt > SUBMIT_RCPT_HARDMAX)
		fatalx("bad IPC_PARENT_SUBMIT from the child");
	for (i = 0; i < q->nrcpt; i++)
		if (ipc_get_str(m, &q->rcpt[i]) == -1)
			fatalx("bad IPC_PARENT_SUBMIT from the child");
	if (ipc_get_u32(m, &q->no_header) == -1 ||
	    ipc_get_u32(m, &q->has_date) == -1 ||
	    ipc_get_u32(m, &q->has_msgid) == -1 ||
	    ipc_get_u32(m, &q->nfrom) == -1 || q->nfrom > HDR_FROM_MAX)
		fatalx("bad IPC_PARENT_SUBMIT from the child");
	for (i = 0; i < q->nfrom; i++)
		if (ipc_get_str(m, &q->hfrom[i]) == -1)
			fatalx("bad IPC_PARENT_SUBMIT from the child");
	if (ipc_get_str(m, &q->hsender) == -1 ||
	    ipc_get_u64(m, &q->size) == -1 || ipc_get_end(m) == -1 ||
	    m->fd < 0)
		fatalx("bad IPC_PARENT_SUBMIT from the child");
}

/* Everything but the quota: 0, or -1 with the answer given. */
static int
submit_policy(struct psess *ps, struct ipc_msg *m, struct submit_req *q,
    struct userdb_user *u, struct submit_job *j)
{
	char	 text[400], user[USERDB_ADDR_MAX + 1];
	uint32_t i, max;
	int	 code;

	if (sender_check(ps->user, q->from, "Sender", &code, text,
	    sizeof(text)) == -1)
		goto refuse;
	for (i = 0; i < q->nfrom; i++)
		if (sender_check(ps->user, q->hfrom[i], "From: address",
		    &code, text, sizeof(text)) == -1)
			goto refuse;
	if (q->hsender[0] != '\0' && sender_check(ps->user, q->hsender,
	    "Sender: address", &code, text, sizeof(text)) == -1)
		goto refuse;
	if (userdb_user_get(udb, ps->user, u, NULL, 0) != UDB_OK) {
		code = 451;
		snprintf(text, sizeof(text), "4.3.0 Temporary failure");
		goto refuse;
	}
	max = u->max_rcpt_per_msg < SUBMIT_RCPT_HARDMAX ?
	    u->max_rcpt_per_msg : SUBMIT_RCPT_HARDMAX;
	if (q->nrcpt == 0 || q->nrcpt > max) {
		code = 550;
		snprintf(text, sizeof(text), "5.5.3 Too many recipients (at "
		    "most %u)", max);
		goto refuse;
	}
	j->rcpt = xcalloc(q->nrcpt, sizeof(*j->rcpt));
	j->ruser = xcalloc(q->nrcpt, sizeof(*j->ruser));
	for (i = 0; i < q->nrcpt; i++) {
		if (rcpt_resolve(q->rcpt[i], user, sizeof(user), &code, text,
		    sizeof(text)) == -1)
			goto refuse;
		j->rcpt[j->nrcpt] = xstrdup(q->rcpt[i]);
		j->ruser[j->nrcpt++] = user[0] != '\0' ? xstrdup(user) : NULL;
	}
	return 0;
refuse:
	log_info("user=%s client=%s message refused: %s", ps->user,
	    ps->client, text);
	answer_err(m->id, code, "%s", text);
	return -1;
}

/* The daily quota: 0, or -1 with the answer given (and maybe a lock). */
static int
submit_charge(struct psess *ps, struct ipc_msg *m, struct submit_job *j,
    time_t now)
{
	unsigned int used = 0, lim = 0;
	char	 err[256];
	int	 ret;

	ret = userdb_rcpt_charge(udb, ps->user, j->nrcpt, now, &used, &lim,
	    err, sizeof(err));
	switch (ret) {
	case UDB_OK:
		notify_history_add(ps->user, ps->client, j->nrcpt, now);
		return 0;
	case UDB_REFUSED:
		log_warnx("user=%s client=%s locked: %u recipients in 24h "
		    "plus %u would exceed %u", ps->user, ps->client, used,
		    j->nrcpt, lim);
		notify_lockout(cfg, base, udb, ps->user, ps->client, j->nrcpt,
		    used, lim, now);
		answer_err(m->id, 550, "5.7.1 Daily limit of %u recipients "
		    "exceeded; account locked, contact %s", lim, postmaster());
		return -1;
	case UDB_LOCKED:
		answer_err(m->id, 550, "5.7.1 Account %s is locked; contact "
		    "%s", ps->user, postmaster());
		return -1;
	default:
		answer_err(m->id, 451, "4.3.0 Temporary failure, try again "
		    "later");
		return -1;
	}
}

static void
p_submit(struct ipc_msg *m)
{
	struct submit_req q;
	struct submit_job *j;
	struct userdb_user u;
	struct stamp_info si;
	struct queue_envelope qe;
	struct psess	*ps;
	struct stat	 st;
	struct buf	 prefix;
	char		 date[64], helo[256];
	time_t		 now = time(NULL);
	int		 qfd, msgfd;

	memset(&q, 0, sizeof(q));
	submit_parse(m, &q);
	if ((ps = authed_session(m)) == NULL)
		return;
	if (ps->busy)
		fatalx("two messages at once in session %u", m->id);
	if (fstat(m->fd, &st) == -1)
		fatal("fstat of the child's message");
	if (cfg->max_message_size != 0 &&
	    (uint64_t)st.st_size > cfg->max_message_size) {
		answer_err(m->id, 552, "5.3.4 Message size exceeds fixed "
		    "limit");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sid = m->id;
	j->size = (uint64_t)st.st_size;
	snprintf(j->user, sizeof(j->user), "%s", ps->user);
	snprintf(j->from, sizeof(j->from), "%s", q.from);
	snprintf(j->client, sizeof(j->client), "%s", ps->client);
	if (submit_policy(ps, m, &q, &u, j) == -1) {
		job_free(j);
		return;
	}
	/* no charge for a message the queue could not take anyway */
	if ((qfd = queue_connect(cfg->queue_socket)) == -1) {
		answer_err(m->id, 451, "4.3.0 Queue unavailable, try again "
		    "later");
		job_free(j);
		return;
	}
	if (submit_charge(ps, m, j, now) == -1) {
		close(qfd);
		job_free(j);
		return;
	}

	stamp_new_id(j->id);
	memset(&si, 0, sizeof(si));
	si.id = j->id;
	si.hostname = cfg->hostname;
	si.helo = q.helo;
	si.client = ps->client;
	si.tls_proto = q.proto;
	si.tls_cipher = q.cipher;
	si.user = u.privileged ? NULL : ps->user;
	si.now = now;
	buf_init(&prefix, 0);
	stamp_received(&prefix, &si);
	if (!q.has_msgid)
		stamp_message_id(&prefix, j->id, cfg->hostname);
	if (!q.has_date) {
		stamp_date(date, sizeof(date), now);
		buf_printf(&prefix, "Date: %s\r\n", date);
	}
	if (q.nfrom == 0)
		buf_printf(&prefix, "From: <%s>\r\n", q.from);
	msgfd = stamp_message(&prefix, m->fd, (int)q.no_header);
	buf_free(&prefix);
	if (msgfd == -1) {
		close(qfd);
		answer_err(m->id, 451, "4.3.0 Cannot store the message");
		job_free(j);
		return;
	}
	memset(&qe, 0, sizeof(qe));
	qe.id = j->id;
	qe.from = j->from;
	qe.helo = stamp_clean(q.helo, helo, sizeof(helo));
	qe.peer = ps->client;
	qe.nrcpt = j->nrcpt;
	qe.rcpt = j->rcpt;
	qe.user = j->ruser;
	ps->busy = 1;
	queue_handoff(base, qfd, &qe, msgfd, submit_done, j);
}

/* ------------------------------------------------------------------ */

void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	const char *client;

	switch (m->type) {
	case IPC_PARENT_AUTH:
		p_auth(m);
		break;
	case IPC_PARENT_SENDER_OK:
		p_sender_ok(m);
		break;
	case IPC_PARENT_LOOKUP_RCPT:
		p_lookup_rcpt(m);
		break;
	case IPC_PARENT_SUBMIT:
		p_submit(m);
		break;
	case IPC_PARENT_SESSION_END:
		if (ipc_get_str(m, &client) == -1 || ipc_get_end(m) == -1)
			fatalx("bad IPC_PARENT_SESSION_END from the child");
		psess_end(m->id);
		break;
	default:
		fatalx("unexpected message type %u from the child", m->type);
	}
}

static void
checkpoint(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 60, 0 };

	db_env_checkpoint(env);
	evtimer_add(checkpoint_ev, &tv);
}

void
parent_init(const struct sm_config *c, struct event_base *b,
    struct ipc_conn *conn)
{
	cfg = c;
	base = b;
	child = conn;
	if ((env = db_env_open(cfg->db_dir)) == NULL)
		fatalx("cannot open the database environment %s", cfg->db_dir);
	if ((udb = userdb_open(env)) == NULL)
		fatalx("cannot open the user database");
	authfail_init(&fails, cfg->auth_fail_max, cfg->auth_fail_window);
	pamw_init(base, cfg->pam_service, auth_pam_done);
	checkpoint_ev = evtimer_new(base, checkpoint, NULL);
	checkpoint(-1, 0, NULL);
}

/* The config was reloaded (cfg points at the same, refilled struct). */
void
parent_reconfigure(void)
{
	fails.max = cfg->auth_fail_max;
	fails.window = cfg->auth_fail_window > 0 ? cfg->auth_fail_window : 1;
}

void
parent_shutdown(void)
{
	struct psess *ps;

	while ((ps = psessions) != NULL) {
		psessions = ps->next;
		free(ps);
	}
	if (checkpoint_ev != NULL)
		event_free(checkpoint_ev);
	userdb_close(udb);
	db_env_close(env);
}
