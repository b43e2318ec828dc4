/*
 * parent.c - the privileged parent of imapd (root).
 *
 * Binds the listening sockets, builds the TLS context, forks the
 * pre-login process (which inherits both and then drops privileges),
 * and then does only two things: check credentials the pre-login
 * process sends (PAM, service [submitd] pam_service), and hand each
 * authenticated connection to the process of that user, forking it
 * (chrooted to the user's mail directory, as [global] mail_user) on the
 * user's first login.
 *
 * Everything the pre-login process sends is treated as hostile: the user
 * name must be a plain address before it becomes a path, and a session
 * is handed over only after PAM accepted the password sent with it.  A
 * user process is forked with every other descriptor closed and the TLS
 * key already freed, so it holds nothing but its own user's mail.
 *
 * The mail tree belongs to [global] mail_user, so this root process never
 * resolves a path inside it: the user's directory is reached from a
 * descriptor of mail_root one component at a time (mkdirat, then openat
 * with O_NOFOLLOW|O_DIRECTORY), chowned through its descriptor, and the
 * user process chroots through that same descriptor (priv_drop_at).  A
 * link planted by a mail-user process is refused, not followed.
 *
 * PAM runs on the worker thread of common/pamworker, never on this event
 * loop; failed logins are counted per client address and per user
 * (common/authfail, [imapd] auth_fail_max and auth_fail_window), and an
 * address past the limit is refused for a window.  The address is the
 * pre-login process's word: it is the only process that sees the TCP
 * connection (TLS ends there).
 *
 * Self-healing: the pre-login process is restarted when it dies (common/
 * respawn, keeping the listening sockets; the TLS context is built again
 * from the key files for each start).  Its sessions end with it.  A user
 * process that dies ends only that user's sessions; the user's next login
 * starts a new one.  A malformed message from a child ends that child,
 * never this process.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "authfail.h"
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "maildir.h"
#include "net.h"
#include "pamworker.h"
#include "privsep.h"
#include "respawn.h"
#include "tls.h"
#include "userdb.h"
#include "xmalloc.h"

struct uproc {
	char		*user;
	pid_t		 pid;
	uint32_t	 sent;		/* sessions handed to it */
	struct ipc_conn	*conn;
	struct uproc	*next;
};

void	 imapd_parent(struct sm_config *, const struct daemon_opts *);
void	 imapd_user_main(int, const char *);
void	 imapd_prelogin_main(int, SSL_CTX *, const int *, int, const int *,
	    int, const struct sm_config *);

/* A login waiting for the PAM worker (pam_job.arg). */
struct pending {
	int		 fd;		/* the session's socketpair end */
	char		*tag;
	char		 peer[64];
	unsigned	 gen;		/* pre-login generation that sent it */
};

static struct sm_config	*pcfg;
static int		 pforeground;
static struct priv_user	 mail_pu, net_pu;
static struct uproc	*uprocs;
static struct event_base *pbase;
static struct respawn	 prelogin;
static struct ipc_conn	*prelogin_conn;
static unsigned		 prelogin_gen;
static int		 plain[CFG_LISTEN_MAX], tls[CFG_LISTEN_MAX];
static int		 nplain, ntls;
static int		 mail_root_fd = -1;
static struct authfail	 fails;
static struct db_env	*penv;
static struct userdb	*pudb;

/*
 * A user name fit to become "<domain>/<local>": a local user address by
 * common/addr's rule (addr.h: an ASCII dot-string local part without
 * '/', a domain name), as userdb and submitd's AUTH check it.  The
 * domain is lowercased in place.
 */
static int
addr_ok(char *a)
{
	if (addr_check(a, ADDR_LOCAL, NULL, 0) == -1)
		return 0;
	addr_domain_lower(a);
	return 1;
}

/*
 * The directory name below at, made (mode 0700, owned by the mail user)
 * if missing, opened without following a link; it must belong to the
 * mail user (common/maildir).  A descriptor, or -1 with errno set.
 */
static int
dir_step(int at, const char *name)
{
	return md_dir_step_as(at, name, 1, mail_pu.uid, mail_pu.gid);
}

/*
 * <mail_root>/<domain>/<local>, with Maildir inside, reached from the
 * mail_root descriptor; its descriptor or -1.
 */
static int
user_dir_open(const char *domain, const char *local)
{
	int	 dfd, ufd, mfd;

	if ((dfd = dir_step(mail_root_fd, domain)) == -1)
		return -1;
	ufd = dir_step(dfd, local);
	close(dfd);
	if (ufd == -1)
		return -1;
	if ((mfd = dir_step(ufd, "Maildir")) == -1) {
		close(ufd);
		return -1;
	}
	close(mfd);
	return ufd;
}

/*
 * The user database, for the quota a user process shows (RFC 9208): it
 * is opened when a login needs it and closed before every fork, so no
 * child starts with its files or regions.
 */
static void
parent_db_close(void)
{
	userdb_close(pudb);
	db_env_close(penv);
	pudb = NULL;
	penv = NULL;
}

/* user's quota_bytes; 0 (none) for a user it does not know or on error. */
static uint64_t
user_quota(const char *user)
{
	struct userdb_user u;
	char	 err[256];
	int	 r;

	if (pudb == NULL && ((penv = db_env_open(pcfg->db_dir)) == NULL ||
	    (pudb = userdb_open(penv)) == NULL)) {
		log_warnx("user=%s cannot open the user database in %s; no "
		    "quota this session", user, pcfg->db_dir);
		parent_db_close();
		return 0;
	}
	if ((r = userdb_user_get(pudb, user, &u, err, sizeof(err))) ==
	    UDB_OK)
		return u.quota_bytes;
	if (r != UDB_NOTFOUND)
		log_warnx("user=%s quota lookup: %s", user, err);
	return 0;
}

static void
uproc_unlist(struct uproc *up)
{
	struct uproc	**pp;

	for (pp = &uprocs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == up) {
			*pp = up->next;
			up->next = NULL;
			return;
		}
}

/*
 * An idle user process asks to leave.  Yes only if it received every
 * session we sent: then it leaves the table at once, so the user's next
 * login starts a new process and nothing is ever sent to this one again.
 */
static void
uproc_dispatch(struct ipc_conn *conn, struct ipc_msg *m, void *arg)
{
	struct uproc	*up = arg;
	struct ipc_msg	*r;
	uint32_t	 n;

	if (m->type != IPC_PARENT_USER_EXIT || ipc_get_u32(m, &n) == -1 ||
	    ipc_get_end(m) == -1) {
		log_warnx("user=%s pid=%ld sent an unexpected message %u; "
		    "ending it", up->user, (long)up->pid, m->type);
		kill(up->pid, SIGKILL);
		return;
	}
	if (n == up->sent) {
		uproc_unlist(up);
		r = ipc_msg_new(IPC_OK, 0);
		ipc_add_str(r, "bye");
	} else {
		r = ipc_msg_new(IPC_ERR, 0);
		ipc_add_str(r, "sessions in flight");
	}
	ipc_send(conn, r);
}

static void
uproc_closed(struct ipc_conn *conn, void *arg)
{
	struct uproc	*up = arg;

	uproc_unlist(up);
	log_info("user=%s pid=%ld user process ended", up->user,
	    (long)up->pid);
	ipc_conn_free(up->conn);
	free(up->user);
	free(up);
}

static struct uproc *
uproc_get(const char *user)
{
	struct uproc	*up;
	char		*local, *domain;
	pid_t		 pid;
	int		 fd, ufd;

	for (up = uprocs; up != NULL; up = up->next)
		if (strcmp(up->user, user) == 0)
			return up;
	local = xstrdup(user);
	domain = strrchr(local, '@');
	*domain++ = '\0';
	ufd = user_dir_open(domain, local);
	free(local);
	if (ufd == -1) {
		log_warn("user=%s cannot open the mail directory", user);
		return NULL;
	}
	parent_db_close();
	if ((pid = priv_fork("imapd.user", &fd)) == 0) {
		/* nothing of the parent's but our own channel survives */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (dup2(fd, 3) == -1 || dup2(ufd, 4) == -1)
			fatal("dup2");
		closefrom(5);
		/* the syslog socket went too: reconnect before the chroot */
		if (!pforeground) {
			closelog();
			openlog("sealmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
		}
		priv_drop_at(&mail_pu, 4);
		imapd_user_main(3, user);
		exit(0);
	}
	close(ufd);
	up = xcalloc(1, sizeof(*up));
	up->user = xstrdup(user);
	up->pid = pid;
	up->conn = ipc_conn_new(pbase, fd, uproc_dispatch, uproc_closed, up);
	up->next = uprocs;
	uprocs = up;
	log_info("user=%s pid=%ld user process started", user, (long)pid);
	return up;
}

static void
reply(uint32_t type, uint32_t sid, const char *text)
{
	struct ipc_msg	*r;

	if (prelogin_conn == NULL)
		return;
	r = ipc_msg_new(type, sid);
	ipc_add_str(r, text);
	ipc_send(prelogin_conn, r);
}

/* The answer to a failed login, after the delay authfail asks for. */
struct late_reply {
	uint32_t	 sid;
	unsigned	 gen;
	char		 text[128];
};

static void
late_reply_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct late_reply *lr = arg;

	(void)fd;
	(void)ev;
	if (lr->gen == prelogin_gen)
		reply(IPC_ERR, lr->sid, lr->text);
	free(lr);
}

static void
login_failed(uint32_t sid, const char *peer, const char *user,
    const char *reason)
{
	struct authfail_result	 res;
	struct late_reply	*lr;
	struct timeval		 tv;
	int			 ms;

	ms = authfail_record(&fails, peer, user, time(NULL), &res);
	log_info("auth user=%s peer=%s result=fail reason=\"%s\" "
	    "failures_peer=%d failures_user=%d", user, peer, reason,
	    res.addr_count, res.user_count);
	if (res.barred_now)
		log_warnx("peer=%s barred for %lds after %d failed logins",
		    peer, pcfg->imapd_auth_fail_window, res.addr_count);
	lr = xcalloc(1, sizeof(*lr));
	lr->sid = sid;
	lr->gen = prelogin_gen;
	snprintf(lr->text, sizeof(lr->text),
	    "[AUTHENTICATIONFAILED] Authentication failed");
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (event_base_once(pbase, -1, EV_TIMEOUT, late_reply_cb, lr,
	    &tv) == -1) {
		reply(IPC_ERR, sid, lr->text);
		free(lr);
	}
}

static void
pending_free(struct pending *p)
{
	if (p->fd != -1)
		close(p->fd);
	free(p->tag);
	free(p);
}

/*
 * A login from the pre-login process: user, password, tag, peer and the
 * session's socketpair end.  The password goes to the PAM worker (and is
 * wiped here); the answer comes in auth_done.
 */
static int
parent_auth(struct ipc_msg *m)
{
	struct pam_job	*j;
	struct pending	*p;
	const char	*user, *pass, *tag, *peer;
	char		*u;
	time_t		 left;
	int		 fd;

	if (ipc_get_str(m, &user) == -1 || ipc_get_str(m, &pass) == -1 ||
	    ipc_get_str(m, &tag) == -1 || ipc_get_str(m, &peer) == -1 ||
	    ipc_get_end(m) == -1 || (fd = ipc_msg_takefd(m)) == -1)
		return -1;
	u = xstrdup(user);
	if (authfail_barred(&fails, peer, time(NULL), &left)) {
		log_info("auth peer=%s refused: barred for %llds more", peer,
		    (long long)left);
		reply(IPC_ERR, m->id, "[UNAVAILABLE] Too many failed logins "
		    "from your address, try again later");
		close(fd);
	} else if (!addr_ok(u)) {
		login_failed(m->id, peer, "-", "bad-name");
		close(fd);
	} else {
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->tag = xstrdup(tag);
		snprintf(p->peer, sizeof(p->peer), "%s", peer);
		p->gen = prelogin_gen;
		j = xcalloc(1, sizeof(*j));
		j->sid = m->id;
		snprintf(j->client, sizeof(j->client), "%s", peer);
		j->user = xstrdup(u);
		j->password = xstrdup(pass);
		j->arg = p;
		pamw_submit(j);
	}
	explicit_bzero((char *)pass, strlen(pass));
	free(u);
	return 0;
}

/* The PAM worker's answer: hand the session over, or say no. */
static void
auth_done(struct pam_job *j)
{
	struct pending	*p = j->arg;
	struct ipc_msg	*fw;
	struct uproc	*up;
	uint64_t	 quota;

	if (p->gen != prelogin_gen)
		goto out;	/* that pre-login process and its client died */
	if (!j->ok) {
		login_failed(j->sid, p->peer, j->user, j->err);
		goto out;
	}
	authfail_success(&fails, j->user, time(NULL));
	quota = user_quota(j->user);
	if ((up = uproc_get(j->user)) == NULL) {
		reply(IPC_ERR, j->sid, "[UNAVAILABLE] Mailbox unavailable");
		goto out;
	}
	log_info("auth user=%s peer=%s result=ok", j->user, p->peer);
	fw = ipc_msg_new(IPC_USER_CLIENT, j->sid);
	ipc_add_str(fw, j->user);
	ipc_add_str(fw, p->tag);
	ipc_add_str(fw, p->peer);
	ipc_add_u64(fw, quota);
	ipc_msg_setfd(fw, p->fd);
	p->fd = -1;
	ipc_send(up->conn, fw);
	up->sent++;
	reply(IPC_OK, j->sid, j->user);
out:
	pending_free(p);
	j->arg = NULL;
	pamw_job_free(j);
}

/* The pre-login process broke the protocol: it is ended, and restarted. */
static void
prelogin_misbehaved(const char *what)
{
	log_warnx("pre-login process sent %s; restarting it", what);
	respawn_lost(&prelogin);
}

static void
parent_dispatch(struct ipc_conn *conn, struct ipc_msg *m, void *arg)
{
	(void)conn;
	(void)arg;
	switch (m->type) {
	case IPC_PARENT_AUTH:
		if (parent_auth(m) == -1)
			prelogin_misbehaved("a malformed IPC_PARENT_AUTH");
		break;
	default:
		prelogin_misbehaved("an unexpected message");
	}
}

static void
parent_closed(struct ipc_conn *conn, void *arg)
{
	(void)arg;
	ipc_conn_free(conn);
	if (conn != prelogin_conn)
		return;		/* a dead pre-login process's, replaced */
	prelogin_conn = NULL;
	respawn_lost(&prelogin);
}

static void
parent_child(pid_t pid, int status, void *arg)
{
	struct uproc	*up;

	(void)arg;
	if (respawn_reap(&prelogin, pid, status))
		return;
	for (up = uprocs; up != NULL; up = up->next)
		if (up->pid == pid && (WIFSIGNALED(status) ||
		    WEXITSTATUS(status) != 0))
			log_warnx("user=%s pid=%ld user process died (%s %d)",
			    up->user, (long)pid, WIFSIGNALED(status) ?
			    "signal" : "status", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
}

/*
 * Fork the pre-login process with a TLS context built for it alone (the
 * parent never speaks TLS: the key leaves this process's memory again at
 * once).
 */
static void
start_prelogin(struct respawn *r, void *arg)
{
	struct uproc	*up;
	SSL_CTX		*ctx;
	char		 err[512];
	int		 fd;

	(void)arg;
	ctx = tls_server_ctx(pcfg->tls_cert, pcfg->tls_key, NULL, err,
	    sizeof(err));
	if (ctx == NULL)
		fatalx("imapd: TLS: %s", err);
	if (prelogin_conn != NULL) {	/* the dead process's end */
		ipc_conn_free(prelogin_conn);
		prelogin_conn = NULL;
	}
	prelogin_gen++;
	parent_db_close();
	if ((r->pid = priv_fork("imapd.prelogin", &fd)) == 0) {
		/* nothing of the mail tree or the user processes */
		close(mail_root_fd);
		for (up = uprocs; up != NULL; up = up->next)
			close(ipc_conn_fd(up->conn));
		priv_drop(&net_pu, pcfg->empty_dir);
		imapd_prelogin_main(fd, ctx, plain, nplain, tls, ntls, pcfg);
		exit(0);
	}
	SSL_CTX_free(ctx);
	prelogin_conn = ipc_conn_new(pbase, fd, parent_dispatch, parent_closed,
	    NULL);
}

static int
bind_all(const struct cfg_listen *l, int *fds)
{
	int	 i;

	for (i = 0; i < l->n; i++)
		if ((fds[i] = net_listen(l->addr[i], 128)) == -1)
			fatal("imapd: cannot listen on %s", l->addr[i]);
	return l->n;
}

void
imapd_parent(struct sm_config *cfg, const struct daemon_opts *o)
{
	SSL_CTX		*ctx;
	char		 err[512];
	struct uproc	*up;
	int		 i;

	pcfg = cfg;
	pforeground = o->foreground;
	if (!priv_is_root())
		fatalx("imapd must be started as root");
	if (cfg->imapd_listen.n + cfg->imapd_listen_tls.n == 0)
		fatalx("imapd: nothing to listen on ([imapd] listen)");
	/* refuse a bad key at start, not at the first restart */
	if ((ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("imapd: TLS: %s", err);
	SSL_CTX_free(ctx);
	priv_lookup_x(cfg->user, &net_pu);
	priv_lookup_x(cfg->mail_user, &mail_pu);
	if ((mail_root_fd = open(cfg->mail_root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("imapd: mail_root %s", cfg->mail_root);
	nplain = bind_all(&cfg->imapd_listen, plain);
	ntls = bind_all(&cfg->imapd_listen_tls, tls);
	daemon_detach(o);
	daemon_pidfile(cfg, "imapd");
	if ((pbase = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(pbase, NULL, parent_child, NULL);
	authfail_init(&fails, cfg->imapd_auth_fail_max,
	    cfg->imapd_auth_fail_window);
	respawn_init(&prelogin, pbase, "imapd.prelogin", start_prelogin,
	    NULL);
	respawn_run(&prelogin);
	/* after the first fork: the worker thread is the parent's alone */
	pamw_init(pbase, cfg->pam_service, cfg->pam_workers, auth_done);
	log_info("started, pam_service=%s", cfg->pam_service);
	event_base_dispatch(pbase);
	for (up = uprocs; up != NULL; up = up->next)
		kill(up->pid, SIGTERM);
	respawn_stop(&prelogin);
	respawn_free(&prelogin);
	parent_db_close();
	for (i = 0; i < nplain; i++)
		close(plain[i]);
	for (i = 0; i < ntls; i++)
		close(tls[i]);
	daemon_pidfile_remove();
	log_info("stopped");
	if (respawn_failed())
		exit(1);
}
