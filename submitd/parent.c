/*
 * parent.c - submitd's root parent: the sessions of submitd.smtp and the
 * decisions of AUTH, MAIL and RCPT (message.c has DATA).
 *
 * Runs as root, because PAM modules may need it and because only root
 * processes open the user database.  It reads no network input: its
 * peers are the submitd.smtp and submitd.header roles, whose every
 * message is checked as if hostile, and smtpd's queue socket.  A
 * malformed or unexpected message from a role ends that role (it is
 * killed and submitd.c starts a new one), never this process.
 *
 * What it knows of each session it learns itself: at the start of a
 * session submitd.smtp passes a duplicate of the accepted socket
 * (IPC_PARENT_SESSION_START); the parent checks that it is a TCP
 * connection to one of submitd's own listeners, reads the client's
 * address with getpeername(), closes it, and keeps the address under the
 * session number.  Every later request names only the session number.
 * The address keys the failed-login lockout, and goes into the log, the
 * Received header and the postmaster's lockout notice.  (A subverted
 * submitd.smtp holds the listening sockets, so it could connect to them
 * itself and present a loopback address; it cannot present anybody
 * else's.)
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
 *   DATA	message.c.
 *
 * When submitd.smtp dies, its channel closes: every session of it is
 * forgotten (a message being submitted for one is cancelled, see
 * message.c), and answers still due to it (a PAM check, a delayed
 * failure) are dropped, since the next submitd.smtp numbers its sessions
 * from 1 again (smtp_gen tells the two apart).
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authfail.h"
#include "config.h"
#include "db.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "pamworker.h"
#include "parent.h"
#include "peer.h"
#include "stamp.h"
#include "submitd.h"
#include "userdb.h"
#include "xmalloc.h"

struct delayed {
	struct event	*ev;
	struct ipc_msg	*m;
	unsigned	 gen;
};

const struct sm_config	*parent_cfg;
struct event_base	*parent_base;
struct userdb		*parent_udb;

static struct db_env	*env;
static struct psess	*psessions;
static int		 npsessions;
static struct authfail	 fails;
static struct event	*checkpoint_ev;

/* the current submitd.smtp */
static struct ipc_conn	*smtp;		/* its channel; NULL: none */
static int		 smtp_hello;	/* it said IPC_PARENT_HELLO */
static int		 smtp_bad;	/* it misbehaved: being killed */
static unsigned		 smtp_gen;	/* which one it is */

/* what the client sockets must be connected to */
static struct peer_listeners listeners;

/* ------------------------------------------------------------------ */
/* sessions and answers */

struct psess *
psess_find(uint32_t id)
{
	struct psess *ps;

	for (ps = psessions; ps != NULL; ps = ps->next)
		if (ps->id == id)
			return ps;
	return NULL;
}

static void
psess_free(struct psess *ps)
{
	if (ps->job != NULL)
		msg_cancel(ps->job);
	explicit_bzero(ps, sizeof(*ps));
	free(ps);
	npsessions--;
}

static void
psess_end(struct psess *ps)
{
	struct psess **pp;

	for (pp = &psessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ps) {
			*pp = ps->next;
			break;
		}
	psess_free(ps);
}

/* The sessions of a submitd.smtp that is gone. */
static void
psess_drop_all(void)
{
	struct psess *ps;
	int	 n = 0;

	while ((ps = psessions) != NULL) {
		psessions = ps->next;
		psess_free(ps);
		n++;
	}
	if (n > 0)
		log_warnx("submitd.smtp gone: %d sessions ended with it", n);
}

static void
answer_send(struct ipc_msg *m)
{
	if (smtp == NULL || smtp_bad) {
		ipc_msg_free(m);
		return;
	}
	ipc_send(smtp, m);
}

void
parent_answer_ok(uint32_t id, const char *text)
{
	struct ipc_msg *m = ipc_msg_new(IPC_OK, id);

	ipc_add_u32(m, 0);
	ipc_add_str(m, text);
	answer_send(m);
}

void
parent_answer_err(uint32_t id, int code, const char *fmt, ...)
{
	struct ipc_msg *m = ipc_msg_new(IPC_ERR, id);
	char	 text[400];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ipc_add_u32(m, (uint32_t)code);
	ipc_add_str(m, text);
	answer_send(m);
}

const char *
parent_postmaster(void)
{
	return parent_cfg->postmaster != NULL &&
	    parent_cfg->postmaster[0] != '\0' ?
	    parent_cfg->postmaster : "the postmaster";
}

/*
 * submitd.smtp broke the protocol: it is killed (its channel then closes
 * and smtp_closed() forgets its sessions), and nothing more it already
 * sent is read.
 */
void
parent_smtp_misbehaved(const char *what)
{
	if (smtp_bad)
		return;
	log_warnx("submitd.smtp sent %s; restarting it", what);
	smtp_bad = 1;
	submitd_role_lost(ROLE_SMTP);
}

/* ------------------------------------------------------------------ */
/* the client's address, from the socket */

static void
p_session_start(struct ipc_msg *m)
{
	struct psess *ps;
	const char *why;
	char	 client[64];
	int	 fd;

	if (ipc_get_end(m) == -1 || m->fd < 0) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_SESSION_START");
		return;
	}
	if (psess_find(m->id) != NULL) {
		parent_smtp_misbehaved("a session number twice");
		return;
	}
	/* the child has at most max_sessions sessions at a time */
	if (npsessions >= 2 * parent_cfg->submitd_max_sessions + 16) {
		parent_smtp_misbehaved("more sessions than it may have");
		return;
	}
	fd = ipc_msg_takefd(m);
	if (peer_client(&listeners, fd, client, sizeof(client), &why) == -1) {
		close(fd);
		parent_smtp_misbehaved(why);
		return;
	}
	close(fd);
	ps = xcalloc(1, sizeof(*ps));
	ps->id = m->id;
	snprintf(ps->client, sizeof(ps->client), "%s", client);
	ps->next = psessions;
	psessions = ps;
	npsessions++;
	log_debug("session=%u client=%s started", ps->id,
	    client[0] != '\0' ? client : "gone");
}

/* The session a request names; an unknown one ends the child. */
static struct psess *
session_of(struct ipc_msg *m, const char *what)
{
	struct psess *ps;
	char	 text[80];

	if ((ps = psess_find(m->id)) == NULL) {
		snprintf(text, sizeof(text), "%s for an unknown session",
		    what);
		parent_smtp_misbehaved(text);
	}
	return ps;
}

/* ------------------------------------------------------------------ */
/* failed logins */

static void
delayed_send(evutil_socket_t fd, short ev, void *arg)
{
	struct delayed *d = arg;

	if (d->gen == smtp_gen)
		answer_send(d->m);
	else
		ipc_msg_free(d->m);
	event_free(d->ev);
	free(d);
}

/*
 * A failed login of session id of the gen'th submitd.smtp: counted, and
 * answered after a delay (if that child is still the current one).
 */
static void
auth_failed(const char *client, uint32_t id, unsigned gen, const char *user,
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
		    client, parent_cfg->auth_fail_window, res.addr_count);
	/* slow down guessing: the answer waits, the event loop does not */
	d = xcalloc(1, sizeof(*d));
	d->gen = gen;
	d->m = ipc_msg_new(IPC_ERR, id);
	ipc_add_u32(d->m, SUBMIT_AUTH_FAIL);
	ipc_add_str(d->m, "Authentication credentials invalid");
	if ((d->ev = evtimer_new(parent_base, delayed_send, d)) == NULL)
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
	answer_send(m);
}

static void
p_auth(struct ipc_msg *m)
{
	struct pam_job	*j;
	struct psess	*ps;
	const char	*authzid, *authcid, *pw;
	char		 user[USERDB_ADDR_MAX + 1];
	char		 zid[USERDB_ADDR_MAX + 1];
	char		 err[256];
	time_t		 now = time(NULL), left;

	if (ipc_get_str(m, &authzid) == -1 || ipc_get_str(m, &authcid) == -1 ||
	    ipc_get_str(m, &pw) == -1 || ipc_get_end(m) == -1) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_AUTH");
		return;
	}
	if ((ps = session_of(m, "AUTH")) == NULL)
		return;
	if (ps->client[0] == '\0') {
		auth_answer_err(m->id, SUBMIT_AUTH_TEMP, "Temporary "
		    "authentication failure");
		return;
	}
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
		auth_failed(ps->client, m->id, smtp_gen, authcid,
		    "malformed user name");
		return;
	}
	if (authzid[0] != '\0' && (userdb_addr_canon(authzid, zid,
	    sizeof(zid), NULL, 0) == -1 || strcmp(zid, user) != 0)) {
		auth_failed(ps->client, m->id, smtp_gen, user,
		    "authorization identity differs");
		return;
	}
	/* the hash is slow: off the event loop, answered in auth_pam_done */
	j = xcalloc(1, sizeof(*j));
	j->sid = m->id;
	j->arg = (void *)(uintptr_t)smtp_gen;
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
	unsigned	 gen = (unsigned)(uintptr_t)j->arg;
	int		 ret;

	if (!j->ok) {
		/* counted even when the client left meanwhile */
		auth_failed(j->client, j->sid, gen, j->user, j->err);
		goto out;
	}
	if (gen != smtp_gen || (ps = psess_find(j->sid)) == NULL)
		goto out;	/* the client left meanwhile */
	ret = userdb_user_get(parent_udb, j->user, &u, err, sizeof(err));
	if (ret == UDB_NOTFOUND) {
		auth_failed(j->client, j->sid, gen, j->user,
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
	answer_send(r);
out:
	pamw_job_free(j);
}

/* ------------------------------------------------------------------ */
/* sender identity and recipients */

/* 0 if user may send as addr now; else an SMTP code and text. */
int
parent_sender_check(const char *user, const char *addr, const char *what,
    int *code_r, char *text, size_t textlen)
{
	struct userdb_user u;
	int	 ret;

	if ((ret = userdb_user_get(parent_udb, user, &u, NULL, 0)) !=
	    UDB_OK) {
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
		    u.lock_reason : "by the administrator",
		    parent_postmaster());
		return -1;
	}
	switch (userdb_sender_allowed(parent_udb, user, addr)) {
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

/* The session of a request that needs a logged-in user, or NULL. */
static struct psess *
authed_session(struct ipc_msg *m, const char *what)
{
	struct psess *ps;

	if ((ps = session_of(m, what)) == NULL)
		return NULL;
	if (ps->user[0] == '\0') {
		parent_answer_err(m->id, 530, "5.7.0 Authentication required");
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

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_SENDER_OK");
		return;
	}
	if ((ps = authed_session(m, "MAIL")) == NULL)
		return;
	if (parent_sender_check(ps->user, addr, "Sender", &code, text,
	    sizeof(text)) == -1) {
		log_info("user=%s client=%s from=<%s> refused: %s", ps->user,
		    ps->client, addr, text);
		parent_answer_err(m->id, code, "%s", text);
		return;
	}
	parent_answer_ok(m->id, "");
}

/*
 * Where does rcpt deliver: 0 with the local user in user_r (or "" for a
 * remote recipient), or -1 with an SMTP code and text.
 */
int
parent_rcpt_resolve(const char *rcpt, char *user_r, size_t len,
    int *code_r, char *text, size_t textlen)
{
	const char *at;
	char	 dom[USERDB_DOMAIN_MAX + 1];
	int	 ret;

	user_r[0] = '\0';
	ret = userdb_lookup_rcpt(parent_udb, rcpt, user_r, len);
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
	    userdb_domain_exists(parent_udb, dom) == 1) {
		*code_r = 550;
		snprintf(text, textlen, "5.1.1 <%s>: no such user here", rcpt);
		return -1;
	}
	return 0;	/* another domain: the transmitter's */
}

static void
p_lookup_rcpt(struct ipc_msg *m)
{
	const char *addr;
	char	 user[USERDB_ADDR_MAX + 1], text[400];
	int	 code;

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_LOOKUP_RCPT");
		return;
	}
	if (authed_session(m, "RCPT") == NULL)
		return;
	if (parent_rcpt_resolve(addr, user, sizeof(user), &code, text,
	    sizeof(text)) == -1) {
		parent_answer_err(m->id, code, "%s", text);
		return;
	}
	parent_answer_ok(m->id, "");
}

static void
p_submit(struct ipc_msg *m)
{
	struct psess *ps;

	if ((ps = authed_session(m, "DATA")) == NULL)
		return;
	msg_submit(ps, m);
}

static void
p_session_end(struct ipc_msg *m)
{
	struct psess *ps;

	if (ipc_get_end(m) == -1) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_SESSION_END");
		return;
	}
	if ((ps = session_of(m, "SESSION_END")) == NULL)
		return;
	psess_end(ps);
}

static void
p_hello(struct ipc_msg *m)
{
	const char *role;

	if (ipc_get_str(m, &role) == -1 || ipc_get_end(m) == -1 ||
	    strcmp(role, "smtp") != 0) {
		parent_smtp_misbehaved("a malformed IPC_PARENT_HELLO");
		return;
	}
	smtp_hello = 1;
	submitd_role_ready(ROLE_SMTP);
}

/* ------------------------------------------------------------------ */

static void
smtp_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	if (c != smtp || smtp_bad)
		return;		/* a dead or condemned child's leftovers */
	if (!smtp_hello) {
		if (m->type == IPC_PARENT_HELLO)
			p_hello(m);
		else
			parent_smtp_misbehaved("a request before "
			    "IPC_PARENT_HELLO");
		return;
	}
	switch (m->type) {
	case IPC_PARENT_SESSION_START:
		p_session_start(m);
		break;
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
		p_session_end(m);
		break;
	default:
		parent_smtp_misbehaved("an unexpected message type");
		break;
	}
}

/* A submitd.smtp is gone: its sessions with it. */
static void
smtp_forget(void)
{
	ipc_conn_free(smtp);
	smtp = NULL;
	psess_drop_all();
}

static void
smtp_closed(struct ipc_conn *c, void *arg)
{
	if (c != smtp) {
		ipc_conn_free(c);
		return;
	}
	smtp_forget();
	submitd_role_lost(ROLE_SMTP);
}

/* A new submitd.smtp was forked; fd is the parent's end of its channel. */
void
parent_smtp_attach(int fd)
{
	if (smtp != NULL)		/* the dead one's end, not yet closed */
		smtp_forget();
	smtp_gen++;
	smtp_hello = 0;
	smtp_bad = 0;
	smtp = ipc_conn_new(parent_base, fd, smtp_dispatch, smtp_closed, NULL);
}

static void
checkpoint(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 60, 0 };

	db_env_checkpoint(env);
	evtimer_add(checkpoint_ev, &tv);
}

/*
 * lfds are submitd's listening sockets: a client socket must have been
 * accepted on one of them.
 */
void
parent_init(const struct sm_config *c, struct event_base *b,
    const int *lfds, int n)
{
	int	 i;

	parent_cfg = c;
	parent_base = b;
	for (i = 0; i < n; i++)
		if (peer_listeners_add(&listeners, lfds[i]) == -1)
			fatal("getsockname of a listener");
	if ((env = db_env_open(parent_cfg->db_dir)) == NULL)
		fatalx("cannot open the database environment %s",
		    parent_cfg->db_dir);
	if ((parent_udb = userdb_open(env)) == NULL)
		fatalx("cannot open the user database");
	authfail_init(&fails, parent_cfg->auth_fail_max,
	    parent_cfg->auth_fail_window);
	pamw_init(parent_base, parent_cfg->pam_service,
	    parent_cfg->pam_workers, auth_pam_done);
	checkpoint_ev = evtimer_new(parent_base, checkpoint, NULL);
	checkpoint(-1, 0, NULL);
}

/* The config was reloaded (cfg points at the same, refilled struct). */
void
parent_reconfigure(void)
{
	fails.max = parent_cfg->auth_fail_max;
	fails.window = parent_cfg->auth_fail_window > 0 ?
	    parent_cfg->auth_fail_window : 1;
}

void
parent_shutdown(void)
{
	struct psess *ps;

	while ((ps = psessions) != NULL) {
		psessions = ps->next;
		psess_free(ps);
	}
	msg_shutdown();
	if (smtp != NULL)
		ipc_conn_free(smtp);
	smtp = NULL;
	if (checkpoint_ev != NULL)
		event_free(checkpoint_ev);
	userdb_close(parent_udb);
	db_env_close(env);
}
