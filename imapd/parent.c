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
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "pam.h"
#include "privsep.h"
#include "tls.h"
#include "xmalloc.h"

#define ADDR_MAX	254

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

static struct sm_config	*pcfg;
static int		 pforeground;
static struct priv_user	 mail_pu;
static struct uproc	*uprocs;
static pid_t		 prelogin_pid;
static struct ipc_conn	*prelogin_conn;

/*
 * A user name fit to become "<domain>/<local>": local@domain, no '/',
 * no leading dot in either part, printable ASCII.  The domain is
 * lowercased in place.
 */
static int
addr_ok(char *a)
{
	char	*at, *p;

	if (strlen(a) > ADDR_MAX || (at = strrchr(a, '@')) == NULL ||
	    at == a || at[1] == '\0' || a[0] == '.' || at[1] == '.')
		return 0;
	for (p = a; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == '\\')
			return 0;
	if (strstr(a, "..") != NULL || strchr(a, '@') != at)
		return 0;
	for (p = at + 1; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return 0;
		*p = (char)tolower((unsigned char)*p);
	}
	return 1;
}

static int
mkdir_owned(const char *path, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0700) == -1) {
		if (errno == EEXIST)
			return 0;
		return -1;
	}
	return chown(path, uid, gid);
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

	if (m->type != IPC_IMAP_EXIT || ipc_get_u32(m, &n) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("parent: unexpected message %u from a user process",
		    m->type);
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
uproc_get(struct event_base *base, const char *user)
{
	struct uproc	*up;
	char		*local, *domain, *d1, *d2, *d3;
	pid_t		 pid;
	int		 fd, ok;

	for (up = uprocs; up != NULL; up = up->next)
		if (strcmp(up->user, user) == 0)
			return up;
	local = xstrdup(user);
	domain = strrchr(local, '@');
	*domain++ = '\0';
	d1 = xasprintf("%s/%s", pcfg->mail_root, domain);
	d2 = xasprintf("%s/%s", d1, local);
	d3 = xasprintf("%s/Maildir", d2);
	ok = mkdir_owned(d1, mail_pu.uid, mail_pu.gid) == 0 &&
	    mkdir_owned(d2, mail_pu.uid, mail_pu.gid) == 0 &&
	    mkdir_owned(d3, mail_pu.uid, mail_pu.gid) == 0;
	free(local);
	free(d1);
	free(d3);
	if (!ok) {
		log_warn("user=%s cannot create the mail directory", user);
		free(d2);
		return NULL;
	}
	if ((pid = priv_fork("imapd.user", &fd)) == 0) {
		/* nothing of the parent's but our own channel survives */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (fd != 3) {
			if (dup2(fd, 3) == -1)
				fatal("dup2");
			close(fd);
		}
		closefrom(4);
		/* the syslog socket went too: reconnect before the chroot */
		if (!pforeground) {
			closelog();
			openlog("sealmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
		}
		priv_drop(&mail_pu, d2);
		imapd_user_main(3, user);
		exit(0);
	}
	free(d2);
	up = xcalloc(1, sizeof(*up));
	up->user = xstrdup(user);
	up->pid = pid;
	up->conn = ipc_conn_new(base, fd, uproc_dispatch, uproc_closed, up);
	up->next = uprocs;
	uprocs = up;
	log_info("user=%s pid=%ld user process started", user, (long)pid);
	return up;
}

static void
reply(uint32_t type, uint32_t sid, const char *text)
{
	struct ipc_msg	*r = ipc_msg_new(type, sid);

	ipc_add_str(r, text);
	ipc_send(prelogin_conn, r);
}

static void
parent_auth(struct event_base *base, struct ipc_msg *m)
{
	struct ipc_msg	*fw;
	struct uproc	*up;
	const char	*user, *pass, *tag, *peer;
	char		 err[256], *u;
	int		 fd;

	if (ipc_get_str(m, &user) == -1 || ipc_get_str(m, &pass) == -1 ||
	    ipc_get_str(m, &tag) == -1 || ipc_get_str(m, &peer) == -1 ||
	    ipc_get_end(m) == -1 || (fd = ipc_msg_takefd(m)) == -1)
		fatalx("parent: malformed IPC_PARENT_AUTH");
	u = xstrdup(user);
	if (!addr_ok(u)) {
		log_info("auth user=%s peer=%s result=fail reason=bad-name",
		    "-", peer);
		reply(IPC_ERR, m->id, "Invalid user name");
		close(fd);
		goto out;
	}
	if (pam_check(pcfg->pam_service, u, pass, err, sizeof(err)) == -1) {
		log_info("auth user=%s peer=%s result=fail reason=\"%s\"", u,
		    peer, err);
		reply(IPC_ERR, m->id, "Authentication failed");
		close(fd);
		goto out;
	}
	if ((up = uproc_get(base, u)) == NULL) {
		reply(IPC_ERR, m->id, "Mailbox unavailable");
		close(fd);
		goto out;
	}
	log_info("auth user=%s peer=%s result=ok", u, peer);
	fw = ipc_msg_new(IPC_IMAP_CLIENT, m->id);
	ipc_add_str(fw, u);
	ipc_add_str(fw, tag);
	ipc_add_str(fw, peer);
	ipc_msg_setfd(fw, fd);
	ipc_send(up->conn, fw);
	up->sent++;
	reply(IPC_OK, m->id, u);
out:
	explicit_bzero((char *)pass, strlen(pass));
	free(u);
}

static void
parent_dispatch(struct ipc_conn *conn, struct ipc_msg *m, void *arg)
{
	switch (m->type) {
	case IPC_PARENT_AUTH:
		parent_auth(arg, m);
		break;
	default:
		fatalx("parent: unexpected message %u from prelogin",
		    m->type);
	}
}

static void
parent_closed(struct ipc_conn *conn, void *arg)
{
	if (!daemon_stopping())
		log_warnx("pre-login process went away; stopping");
	event_base_loopexit(arg, NULL);
}

static void
parent_child(pid_t pid, int status, void *arg)
{
	if (pid == prelogin_pid && !daemon_stopping()) {
		log_warnx("pre-login process %ld exited (status %d)",
		    (long)pid, status);
		event_base_loopexit(arg, NULL);
	}
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
	struct priv_user	 pu;
	struct event_base	*base;
	SSL_CTX			*ctx;
	char			 err[512];
	int			 plain[CFG_LISTEN_MAX], tls[CFG_LISTEN_MAX];
	int			 nplain, ntls, fd, i;
	struct uproc		*up;

	pcfg = cfg;
	pforeground = o->foreground;
	if (!priv_is_root())
		fatalx("imapd must be started as root");
	if (cfg->imapd_listen.n + cfg->imapd_listen_tls.n == 0)
		fatalx("imapd: nothing to listen on ([imapd] listen)");
	ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, NULL, err,
	    sizeof(err));
	if (ctx == NULL)
		fatalx("imapd: TLS: %s", err);
	priv_lookup_x(cfg->user, &pu);
	priv_lookup_x(cfg->mail_user, &mail_pu);
	nplain = bind_all(&cfg->imapd_listen, plain);
	ntls = bind_all(&cfg->imapd_listen_tls, tls);
	daemon_detach(o);
	daemon_pidfile(cfg, "imapd");
	if ((prelogin_pid = priv_fork("imapd.prelogin", &fd)) == 0) {
		priv_drop(&pu, cfg->empty_dir);
		imapd_prelogin_main(fd, ctx, plain, nplain, tls, ntls, cfg);
		exit(0);
	}
	/* the parent never speaks TLS: the key leaves its memory now */
	SSL_CTX_free(ctx);
	for (i = 0; i < nplain; i++)
		close(plain[i]);
	for (i = 0; i < ntls; i++)
		close(tls[i]);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base, NULL, parent_child, base);
	prelogin_conn = ipc_conn_new(base, fd, parent_dispatch, parent_closed,
	    base);
	log_info("started, pam_service=%s", cfg->pam_service);
	event_base_dispatch(base);
	for (up = uprocs; up != NULL; up = up->next)
		kill(up->pid, SIGTERM);
	kill(prelogin_pid, SIGTERM);
	daemon_pidfile_remove();
	log_info("stopped");
}
