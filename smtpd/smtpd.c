/*
 * smtpd.c - the smtpd entry point and its root parent.
 *
 * The parent starts as root, reads the config, binds [smtpd] listen and
 * queue_socket, builds the TLS context from the key, makes queue_dir
 * belong to queue_user, and forks the roles (see smtpd.h): receiver,
 * queue and delivery, each dropping to its own user at once.  Only then
 * does it open the user database (Berkeley DB handles must not cross a
 * fork) and serve the one question the children may ask it: is this
 * recipient ours?  It never reads a byte from the network.
 *
 * If a role dies the parent stops the others and exits non-zero: the
 * queue is durable and recovered at the next start, and a supervisor
 * (systemd, sealmailctl start) restarts smtpd.  SIGUSR1 is forwarded to
 * the queue ("sealmailctl queue flush").
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "smtpd.h"
#include "tls.h"
#include "userdb.h"
#include "xmalloc.h"

/* the receiver, the queue, then Q_DELIVERY_N delivery processes */
enum { R_RECEIVER, R_QUEUE, R_DELIVERY, R_MAX = R_DELIVERY + Q_DELIVERY_N };

static const char *
role_name(int i)
{
	return i == R_RECEIVER ? "smtpd.receiver" : i == R_QUEUE ?
	    "smtpd.queue" : "smtpd.delivery";
}

static struct sm_config	 cfg;
static struct daemon_opts opts = { .name = "smtpd" };
static pid_t		 pids[R_MAX];
static struct ipc_conn	*role_ipc[R_MAX];
static struct db_env	*dbenv;
static struct userdb	*udb;
static int		 role_failed;

static void
lookup_reply(struct ipc_conn *c, uint32_t id, uint32_t code,
    const char *text)
{
	struct ipc_msg	*r;

	r = ipc_msg_new(code == 0 ? IPC_OK : IPC_ERR, id);
	ipc_add_u32(r, code);
	ipc_add_str(r, text);
	ipc_send(c, r);
}

/* Does the user keep an unsafe mailbox?  On a lookup error: yes. */
static int
takes_unsafe(const char *user)
{
	struct userdb_user	 u;

	if (userdb_user_get(udb, user, &u, NULL, 0) != UDB_OK)
		return 1;
	return u.unsafe_mailbox;
}

/* Is addr one of our users or aliases?  Answers with the SMTP verdict. */
static void
lookup_rcpt(struct ipc_conn *c, struct ipc_msg *m)
{
	const char	*addr, *at;
	char		 user[USERDB_ADDR_MAX + 1];
	int		 r;

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1)
		fatalx("parent: bad IPC_PARENT_LOOKUP_RCPT");
	if (strlen(addr) > USERDB_ADDR_MAX) {
		lookup_reply(c, m->id, 550, "5.1.1 Recipient address "
		    "rejected: User unknown");
		return;
	}
	if (strchr(addr, '@') == NULL && strcasecmp(addr, "postmaster") == 0 &&
	    cfg.postmaster != NULL && cfg.postmaster[0] != '\0')
		addr = cfg.postmaster;
	if ((at = strrchr(addr, '@')) == NULL || at[1] == '[') {
		lookup_reply(c, m->id, 554, "5.7.1 Relay access denied");
		return;
	}
	switch (userdb_domain_exists(udb, at + 1)) {
	case 0:
		lookup_reply(c, m->id, 554, "5.7.1 Relay access denied");
		return;
	case 1:
		break;
	default:
		lookup_reply(c, m->id, 451, "4.3.0 Temporary lookup failure");
		return;
	}
	r = userdb_lookup_rcpt(udb, addr, user, sizeof(user));
	if (r == UDB_OK && c == role_ipc[R_RECEIVER] && !takes_unsafe(user))
		/*
		 * Port 25 mail is unsafe (nothing verifies it yet), and this
		 * user opted out of the unsafe mailbox: refuse now, so the
		 * sender's own server tells the sender (DESIGN.md).
		 */
		lookup_reply(c, m->id, 550, "5.7.1 Recipient accepts only "
		    "verified mail");
	else if (r == UDB_OK)
		lookup_reply(c, m->id, 0, user);
	else if (r == UDB_NOTFOUND || r == UDB_INVALID)
		lookup_reply(c, m->id, 550, "5.1.1 Recipient address "
		    "rejected: User unknown");
	else
		lookup_reply(c, m->id, 451, "4.3.0 Temporary lookup failure");
}

static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	switch (m->type) {
	case IPC_PARENT_LOOKUP_RCPT:
		lookup_rcpt(c, m);
		break;
	default:
		/* a child that asks anything else is not ours any more */
		log_warnx("%s sent unexpected message %u; stopping",
		    (const char *)arg, m->type);
		daemon_stop();
	}
}

static void
role_closed(struct ipc_conn *c, void *arg)
{
	if (!daemon_stopping()) {
		log_warnx("%s closed its channel; stopping",
		    (const char *)arg);
		role_failed = 1;
		daemon_stop();
	}
}

static void
child_exit(pid_t pid, int status, void *arg)
{
	int	 i;

	for (i = 0; i < R_MAX; i++)
		if (pids[i] == pid) {
			pids[i] = 0;
			if (!daemon_stopping()) {
				log_warnx("%s exited (status %d); stopping",
				    role_name(i), status);
				role_failed = 1;
				daemon_stop();
			}
		}
}

static void
reload(void *arg)
{
	log_info("reload: smtpd takes new settings at restart");
}

static void
flush_cb(int sig, short ev, void *arg)
{
	if (pids[R_QUEUE] > 0)
		kill(pids[R_QUEUE], SIGUSR1);
}

static void
prepare_dirs(const struct priv_user *q)
{
	struct stat	 st;

	if (mkdir(cfg.queue_dir, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", cfg.queue_dir);
	if (chown(cfg.queue_dir, q->uid, q->gid) == -1 ||
	    chmod(cfg.queue_dir, 0700) == -1)
		fatal("chown %s", cfg.queue_dir);
	if (mkdir(cfg.empty_dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", cfg.empty_dir);
	if (stat(cfg.empty_dir, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0)
		fatalx("%s must belong to root and not be writable by others",
		    cfg.empty_dir);
}

static SSL_CTX *
load_tls(void)
{
	SSL_CTX	*ctx;
	char	 err[512];

	if (cfg.tls_cert == NULL || cfg.tls_key == NULL) {
		log_warnx("no tls_cert/tls_key: STARTTLS not offered");
		return NULL;
	}
	if ((ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	return ctx;
}

int
main(int argc, char **argv)
{
	struct priv_user u_recv, u_queue, u_dlv;
	struct event_base *base;
	struct event	*usr1;
	SSL_CTX		*tls;
	int		 lfds[CFG_LISTEN_MAX], nl = 0, qsock, i;
	int		 rq[2], qd[Q_DELIVERY_N][2], qfds[Q_DELIVERY_N];
	int		 pfd[R_MAX], d, k;

	daemon_getopt(argc, argv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root())
		fatalx("must be started as root");
	if (cfg.hostname == NULL)
		fatalx("[global] hostname is not set");
	priv_lookup_x(cfg.user, &u_recv);
	priv_lookup_x(cfg.queue_user, &u_queue);
	priv_lookup_x(cfg.lmtp_trusted_user, &u_dlv);
	prepare_dirs(&u_queue);

	for (i = 0; i < cfg.smtpd_listen.n; i++)
		if ((lfds[nl++] = net_listen(cfg.smtpd_listen.addr[i], 128)) ==
		    -1)
			fatal("listen %s", cfg.smtpd_listen.addr[i]);
	if ((qsock = net_unix_listen(cfg.queue_socket, 0600, 0, 0)) == -1)
		fatal("listen %s", cfg.queue_socket);
	tls = load_tls();
	daemon_detach(&opts);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rq) == -1)
		fatal("socketpair");
	for (d = 0; d < Q_DELIVERY_N; d++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    qd[d]) == -1)
			fatal("socketpair");
		qfds[d] = qd[d][0];
	}

	if ((pids[R_RECEIVER] = priv_fork(role_name(R_RECEIVER),
	    &pfd[R_RECEIVER])) == 0) {
		close(rq[1]);
		for (d = 0; d < Q_DELIVERY_N; d++) {
			close(qd[d][0]);
			close(qd[d][1]);
		}
		close(qsock);
		priv_drop(&u_recv, cfg.empty_dir);
		receiver_main(&cfg, lfds, nl, pfd[R_RECEIVER], rq[0], tls);
	}
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	if (tls != NULL)
		SSL_CTX_free(tls);
	close(rq[0]);
	if ((pids[R_QUEUE] = priv_fork(role_name(R_QUEUE),
	    &pfd[R_QUEUE])) == 0) {
		close(pfd[R_RECEIVER]);
		for (d = 0; d < Q_DELIVERY_N; d++)
			close(qd[d][1]);
		priv_drop(&u_queue, cfg.queue_dir);
		queue_main(&cfg, pfd[R_QUEUE], rq[1], qfds, Q_DELIVERY_N,
		    qsock);
	}
	close(rq[1]);
	for (d = 0; d < Q_DELIVERY_N; d++)
		close(qd[d][0]);
	close(qsock);
	for (d = 0; d < Q_DELIVERY_N; d++) {
		i = R_DELIVERY + d;
		if ((pids[i] = priv_fork(role_name(i), &pfd[i])) == 0) {
			for (k = 0; k < i; k++)
				close(pfd[k]);
			/* the earlier ones are closed (and their numbers
			 * maybe reused): only the later ones are open */
			for (k = d + 1; k < Q_DELIVERY_N; k++)
				close(qd[k][1]);
			priv_drop(&u_dlv, NULL);
			delivery_main(&cfg, qd[d][1]);
		}
		close(qd[d][1]);
	}

	if ((dbenv = db_env_open(cfg.db_dir)) == NULL ||
	    (udb = userdb_open(dbenv)) == NULL)
		fatalx("cannot open the user database in %s", cfg.db_dir);
	base = event_base_new();
	daemon_signals(base, reload, child_exit, &opts);
	usr1 = evsignal_new(base, SIGUSR1, flush_cb, NULL);
	evsignal_add(usr1, NULL);
	for (i = 0; i < R_MAX; i++)
		role_ipc[i] = ipc_conn_new(base, pfd[i], parent_dispatch,
		    role_closed, (void *)role_name(i));
	daemon_pidfile(&cfg, "smtpd");
	log_info("started listen=%d queue_socket=%s", nl, cfg.queue_socket);
	event_base_dispatch(base);

	for (i = 0; i < R_MAX; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (i = 0; i < R_MAX; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	for (i = 0; i < R_MAX; i++)
		ipc_conn_free(role_ipc[i]);
	event_free(usr1);
	userdb_close(udb);
	db_env_close(dbenv);
	unlink(cfg.queue_socket);
	daemon_pidfile_remove();
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return role_failed ? 1 : 0;
}
