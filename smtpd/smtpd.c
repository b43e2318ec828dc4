/*
 * smtpd.c - the smtpd entry point and its root parent.
 *
 * The parent starts as root, reads the config, binds [smtpd] listen and
 * queue_socket, makes queue_dir belong to queue_user, and starts the
 * roles (see smtpd.h): queue, receiver, Q_DELIVERY_N delivery processes
 * and Q_MTA_N transmitters, each dropping to its own user at once.
 * Then it opens the user database and serves the questions the
 * children may ask it: is this recipient ours, and (the receiver) is
 * this name in the registry of trusted transmitters?  It never reads a
 * byte from the network.
 *
 * Self-healing.  A role that dies is started again (common/respawn: the
 * first restart at once, then with a doubling backoff; after a burst of
 * deaths the parent gives up and exits non-zero, for systemd or the
 * administrator).  The parent keeps the listening sockets and
 * queue_socket open for the next instance of a role, and it makes the
 * channels between roles: a new socketpair for every start, one end
 * inherited by the new process (or, for a new queue's delivery
 * channels, passed to it) and the other passed to the running peer over
 * that peer's channel to the parent (IPC_QUEUE_RECEIVER,
 * IPC_QUEUE_DELIVERY, IPC_RECEIVER_QUEUE, IPC_DELIVERY_QUEUE: see
 * smtpd.h):
 *
 *	receiver dies	its SMTP sessions end; the queue drops what it was
 *			committing for it (no client saw a 250 for that)
 *			and gets the new receiver's channel.
 *	delivery or	the queue retries what the dead process held, like
 *	mta dies	a temporary failure (with the queue's backoff, so a
 *			message that kills its delivery process is not
 *			retried in a loop that would make smtpd give up),
 *			and gets the new process's channel.  A transmitter
 *			the queue cut off for a malformed report is killed
 *			and restarted on the queue's word
 *			(IPC_PARENT_MTA_RESTART).
 *	queue dies	the receiver answers 451 to every message it was
 *			waiting on, and to new ones, until it has a channel
 *			to the new queue; the delivery processes finish
 *			what they were doing and wait for theirs
 *			(IPC_DELIVERY_QUEUE).  The new queue recovers from
 *			disk (the disk is the truth: what was in flight is
 *			retried).
 *
 * Nothing the parent holds crosses into a role: each is forked with
 * every descriptor but its own closed (child_fds), and with the user
 * database closed around the fork (its shared regions must not be mapped
 * in a child).  A role that sends the parent anything but a well-formed
 * question it may ask is killed and restarted: the parent never exits on
 * a child's word.  SIGUSR1 is forwarded to the queue ("sealmailctl queue
 * flush").
 *
 * The callback (callback.h).  With [smtpd] callback_port the parent
 * binds the responder's sockets beside each listen address and hands
 * them to every receiver; it relays what each transmitter says of its
 * open session to the receiver (callback_parent.c), drops a dead
 * transmitter's, and tells a new receiver every open one.
 *
 * The keystore.  smtpd.queue signs what leaves through the keystore's
 * socket, which it cannot reach from its chroot; it asks the parent for
 * a connection (IPC_PARENT_KEYSTORE) whenever it has none: at its
 * first message to sign and again after the keystore restarted.  The
 * parent connects as queue_user (its effective uid, for the keystore's
 * SO_PEERCRED check against [keystore] clients: the connection is the
 * queue's, not root's) and passes the descriptor over.  It only
 * connects: it never reads from that socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "callback.h"
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "ipc.h"
#include "log.h"
#include "mta.h"
#include "net.h"
#include "privsep.h"
#include "registry.h"
#include "respawn.h"
#include "smtpd.h"
#include "tls.h"
#include "userdb.h"
#include "xmalloc.h"

/* the queue, the receiver, Q_DELIVERY_N delivery processes, Q_MTA_N mta */
enum {
	R_QUEUE, R_RECEIVER, R_DELIVERY, R_MTA = R_DELIVERY + Q_DELIVERY_N,
	R_MAX = R_MTA + Q_MTA_N
};

static const char *
role_name(int i)
{
	return i == R_RECEIVER ? "smtpd.receiver" : i == R_QUEUE ?
	    "smtpd.queue" : i >= R_MTA ? "smtpd.mta" : "smtpd.delivery";
}

static struct sm_config	 cfg;
static struct daemon_opts opts = { .name = "smtpd" };
static struct event_base *base;
static struct respawn	 roles[R_MAX];
static struct ipc_conn	*role_ipc[R_MAX];
static struct priv_user	 u_recv, u_queue, u_dlv;
static int		 lfds[CFG_LISTEN_MAX], nl, qsock = -1;
static struct db_env	*dbenv;
static struct userdb	*udb;
static struct registry	*reg;
static int		 cfds[CFG_LISTEN_MAX], ncf;	/* callback_port */

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

static void
lookup_reply_ok(struct ipc_conn *c, uint32_t id, uint32_t flags,
    const char *user)
{
	struct ipc_msg	*r;

	r = ipc_msg_new(IPC_OK, id);
	ipc_add_u32(r, flags);
	ipc_add_str(r, user);
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

/*
 * Is addr one of our users or aliases?  Answers with the SMTP verdict;
 * -1 for a malformed question.  receiver: asked by the receiver (port 25
 * policy applies).
 */
static int
lookup_rcpt(struct ipc_conn *c, struct ipc_msg *m, int receiver)
{
	const char	*addr, *at;
	char		 user[USERDB_ADDR_MAX + 1];
	int		 r;

	if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1)
		return -1;
	if (strlen(addr) > USERDB_ADDR_MAX) {
		lookup_reply(c, m->id, 550, "5.1.1 Recipient address "
		    "rejected: User unknown");
		return 0;
	}
	if (strchr(addr, '@') == NULL && strcasecmp(addr, "postmaster") == 0 &&
	    cfg.postmaster != NULL && cfg.postmaster[0] != '\0')
		addr = cfg.postmaster;
	if ((at = strrchr(addr, '@')) == NULL || at[1] == '[') {
		lookup_reply(c, m->id, 554, "5.7.1 Relay access denied");
		return 0;
	}
	switch (userdb_domain_exists(udb, at + 1)) {
	case 0:
		lookup_reply(c, m->id, 554, "5.7.1 Relay access denied");
		return 0;
	case 1:
		break;
	default:
		lookup_reply(c, m->id, 451, "4.3.0 Temporary lookup failure");
		return 0;
	}
	r = userdb_lookup_rcpt(udb, addr, user, sizeof(user));
	if (r == UDB_OK)
		/*
		 * A user who opted out of the unsafe mailbox: the receiver
		 * refuses the message after DATA if it does not verify, so
		 * the sender's own server tells the sender (docs/mail-flow.md,
		 * "Receiving").
		 */
		lookup_reply_ok(c, m->id, receiver && !takes_unsafe(user) ?
		    LOOKUP_SAFE_ONLY : 0, user);
	else if (r == UDB_NOTFOUND || r == UDB_INVALID)
		lookup_reply(c, m->id, 550, "5.1.1 Recipient address "
		    "rejected: User unknown");
	else
		lookup_reply(c, m->id, 451, "4.3.0 Temporary lookup failure");
	return 0;
}

/*
 * Is a name the receiver saw (HELO, MAIL FROM domain, DKIM d=) or a
 * parent domain of it in the registry of trusted transmitters?  -1 for
 * a malformed question (the receiver is restarted); a name that is not
 * a domain name is only not listed (common/registry_ipc.c).
 */
static int
registry_question(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ipc_msg	*r;

	if ((r = registry_ipc_answer(reg, m)) == NULL)
		return -1;
	ipc_send(c, r);
	return 0;
}

/*
 * A connection to the keystore's socket made as queue_user: the
 * keystore reads the peer's credentials as they were at connect().  The
 * socket is non-blocking, so a keystore that does not accept cannot
 * stall the parent.  -1 with errno.
 */
static int
keystore_connect(void)
{
	struct sockaddr_un sun;
	int	 fd, r, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cfg.keystore_socket) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, cfg.keystore_socket,
	    strlen(cfg.keystore_socket));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (setegid(u_queue.gid) == -1 || seteuid(u_queue.uid) == -1)
		fatal("keystore: seteuid %s", u_queue.name);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	if (seteuid(0) == -1 || setegid(0) == -1)
		fatal("keystore: seteuid root");
	if (r == -1) {
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* IPC_PARENT_KEYSTORE from the queue: -1 for a malformed question. */
static int
keystore_for_queue(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ipc_msg	*r;
	int		 fd;

	if (ipc_get_end(m) == -1)
		return -1;
	r = ipc_msg_new(IPC_QUEUE_KEYSTORE, m->id);
	if ((fd = keystore_connect()) == -1) {
		log_warn("keystore: connect %s for the queue",
		    cfg.keystore_socket);
		ipc_add_u32(r, errno != 0 ? (uint32_t)errno : EIO);
	} else {
		ipc_add_u32(r, 0);
		ipc_msg_setfd(r, fd);
	}
	ipc_send(c, r);
	return 0;
}

static int
role_of(const struct respawn *r)
{
	return (int)(r - roles);
}

/* Is role i running with a channel to the parent? */
static int
role_up(int i)
{
	return roles[i].pid > 0 && role_ipc[i] != NULL;
}

/*
 * The queue cut a transmitter off (it reported something malformed):
 * it is killed, and restarted like one that died, with a new channel.
 */
static int
mta_restart(struct ipc_msg *m)
{
	uint32_t	 slot;

	if (ipc_get_u32(m, &slot) == -1 || ipc_get_end(m) == -1 ||
	    slot >= Q_MTA_N)
		return -1;
	log_warnx("role=%s pid=%ld cut off by the queue; restarting it",
	    roles[R_MTA + slot].name, (long)roles[R_MTA + slot].pid);
	respawn_lost(&roles[R_MTA + slot]);
	return 0;
}

/* The callback's news for the receiver (callback_parent.c). */
static void
to_receiver(struct ipc_msg *m)
{
	if (role_up(R_RECEIVER))
		ipc_send(role_ipc[R_RECEIVER], m);
	else
		ipc_msg_free(m);
}

static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct respawn	*r = arg;
	int		 i = role_of(r);

	if (c != role_ipc[i])
		return;		/* a dead instance's last words */
	if (m->type == IPC_PARENT_LOOKUP_RCPT && i <= R_RECEIVER &&
	    lookup_rcpt(c, m, i == R_RECEIVER) == 0)
		return;
	if (m->type == IPC_PARENT_REGISTRY && i == R_RECEIVER &&
	    registry_question(c, m) == 0)
		return;
	if (m->type == IPC_PARENT_KEYSTORE && i == R_QUEUE &&
	    keystore_for_queue(c, m) == 0)
		return;
	if (m->type == IPC_PARENT_MTA_RESTART && i == R_QUEUE &&
	    mta_restart(m) == 0)
		return;
	if ((m->type == IPC_PARENT_CBK_OPEN ||
	    m->type == IPC_PARENT_CBK_CLOSE) && i >= R_MTA &&
	    cbk_parent_from_mta(&cfg, (uint32_t)(i - R_MTA), m) == 0)
		return;
	/* a child that asks anything else is not ours any more */
	log_warnx("role=%s pid=%ld sent a message it may not (type %u); "
	    "restarting it", r->name, (long)r->pid, m->type);
	respawn_lost(r);
}

/* The parent's channel to a role: closed when the role died. */
static void
role_closed(struct ipc_conn *c, void *arg)
{
	struct respawn	*r = arg;
	int		 i = role_of(r);

	ipc_conn_free(c);
	if (c != role_ipc[i])
		return;
	role_ipc[i] = NULL;
	if (i >= R_MTA)
		cbk_parent_mta_gone((uint32_t)(i - R_MTA));
	respawn_lost(r);	/* its restart follows from the reaping */
}

static void
drop_role_ipc(int i)
{
	ipc_conn_free(role_ipc[i]);
	role_ipc[i] = NULL;
}

/* Hand role i one end of a new channel to a peer (fd passing). */
static void
pass_channel(int i, uint32_t type, int slot, int fd)
{
	struct ipc_msg	*m;

	if (!role_up(i)) {
		close(fd);
		return;
	}
	m = ipc_msg_new(type, 0);
	if (slot >= 0)
		ipc_add_u32(m, (uint32_t)slot);
	ipc_msg_setfd(m, fd);
	ipc_send(role_ipc[i], m);
}

static void
channel_pair(int sp[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
}

static void
db_up(void)
{
	if (dbenv != NULL)
		return;
	if ((dbenv = db_env_open(cfg.db_dir)) == NULL ||
	    (udb = userdb_open(dbenv)) == NULL ||
	    (reg = registry_open(dbenv)) == NULL)
		fatalx("cannot open the user database in %s", cfg.db_dir);
}

/* Close the user database (before a fork); was it open? */
static int
db_down(void)
{
	if (dbenv == NULL)
		return 0;
	registry_close(reg);
	reg = NULL;
	userdb_close(udb);
	udb = NULL;
	db_env_close(dbenv);
	dbenv = NULL;
	return 1;
}

/*
 * In a role just forked: nothing of the parent's survives but stdio, the
 * role's channel to the parent (renumbered to 3) and keep[0..n-1]
 * (renumbered to 4, 5, ...; -1 stays -1).  The parent's signal handlers
 * would write to its event loop: defaults until the role sets its own.
 */
static void
child_fds(int *pfd, int *keep, int n)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	int		 hi[1 + 2 * CFG_LISTEN_MAX + 1];
	size_t		 k;
	int		 i;

	if (n > 2 * CFG_LISTEN_MAX + 1)
		fatalx("child_fds: %d descriptors", n);
	for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		signal(sigs[k], SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	/* the syslog socket goes too: reconnect before any chroot */
	if (!opts.foreground)
		closelog();
	/* copies above every target first, so no move clobbers a source */
	if ((hi[0] = fcntl(*pfd, F_DUPFD_CLOEXEC, 4 + n)) == -1)
		fatal("child_fds");
	for (i = 0; i < n; i++)
		if (keep[i] != -1 &&
		    (hi[1 + i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 4 + n)) == -1)
			fatal("child_fds");
	if (dup3(hi[0], 3, O_CLOEXEC) == -1)
		fatal("child_fds");
	*pfd = 3;
	for (i = 0; i < n; i++)
		if (keep[i] != -1) {
			if (dup3(hi[1 + i], 4 + i, O_CLOEXEC) == -1)
				fatal("child_fds");
			keep[i] = 4 + i;
		}
	closefrom(4 + n);
	if (!opts.foreground)
		openlog("sealmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* Fork role i; in the child only its channel and keep[] remain. */
static pid_t
role_fork(int i, int *pfd, int *keep, int n)
{
	pid_t	 pid;
	int	 had_db = db_down();

	if ((pid = priv_fork(role_name(i), pfd)) == 0) {
		child_fds(pfd, keep, n);
		return 0;
	}
	if (had_db)
		db_up();
	role_ipc[i] = ipc_conn_new(base, *pfd, parent_dispatch, role_closed,
	    &roles[i]);
	return pid;
}

static SSL_CTX	*load_tls(void);

/* The queue, with a channel to the receiver if one runs. */
static void
start_queue(struct respawn *r, void *arg)
{
	int	 pfd, rq[2] = { -1, -1 }, qd[2], keep[2], d;

	drop_role_ipc(R_QUEUE);
	if (role_up(R_RECEIVER))
		channel_pair(rq);
	keep[0] = qsock;
	keep[1] = rq[1];
	if ((r->pid = role_fork(R_QUEUE, &pfd, keep, 2)) == 0) {
		priv_drop(&u_queue, cfg.queue_dir);
		queue_main(&cfg, pfd, keep[1], keep[0]);
	}
	if (rq[1] != -1) {
		close(rq[1]);
		pass_channel(R_RECEIVER, IPC_RECEIVER_QUEUE, -1, rq[0]);
	}
	/* delivery processes and transmitters outlive a queue: new channels */
	for (d = 0; d < Q_DELIVERY_N; d++)
		if (role_up(R_DELIVERY + d)) {
			channel_pair(qd);
			pass_channel(R_QUEUE, IPC_QUEUE_DELIVERY, d, qd[0]);
			pass_channel(R_DELIVERY + d, IPC_DELIVERY_QUEUE, -1,
			    qd[1]);
		}
	for (d = 0; d < Q_MTA_N; d++)
		if (role_up(R_MTA + d)) {
			channel_pair(qd);
			pass_channel(R_QUEUE, IPC_QUEUE_MTA, d, qd[0]);
			pass_channel(R_MTA + d, IPC_MTA_QUEUE, -1, qd[1]);
		}
}

/*
 * The receiver, on the listening sockets the parent keeps (port 25 and
 * the callback responder's), with a TLS context made for it (the parent
 * frees its copy at once), a channel to the queue if one runs and the
 * transmitters' open sessions (the callback).
 */
static void
start_receiver(struct respawn *r, void *arg)
{
	SSL_CTX	*tls;
	int	 pfd, rq[2] = { -1, -1 }, keep[1 + 2 * CFG_LISTEN_MAX], i;

	drop_role_ipc(R_RECEIVER);
	if (role_up(R_QUEUE))
		channel_pair(rq);
	tls = load_tls();
	keep[0] = rq[0];
	for (i = 0; i < nl; i++)
		keep[1 + i] = lfds[i];
	for (i = 0; i < ncf; i++)
		keep[1 + nl + i] = cfds[i];
	if ((r->pid = role_fork(R_RECEIVER, &pfd, keep, 1 + nl + ncf)) == 0) {
		receiver_init(&cfg);
		priv_drop(&u_recv, cfg.empty_dir);
		cbk_resp_listen(keep + 1 + nl, ncf);
		receiver_main(&cfg, keep + 1, nl, pfd, keep[0], tls);
	}
	cbk_parent_replay();
	if (tls != NULL)
		SSL_CTX_free(tls);
	if (rq[0] != -1) {
		close(rq[0]);
		pass_channel(R_QUEUE, IPC_QUEUE_RECEIVER, -1, rq[1]);
	}
}

/* Delivery process d, with a channel to the queue if one runs. */
static void
start_delivery(struct respawn *r, void *arg)
{
	int	 i = role_of(r), d = i - R_DELIVERY, pfd, qd[2] = { -1, -1 };

	drop_role_ipc(i);
	if (role_up(R_QUEUE))
		channel_pair(qd);
	if ((r->pid = role_fork(i, &pfd, &qd[1], 1)) == 0) {
		priv_drop(&u_dlv, NULL);
		delivery_main(&cfg, pfd, qd[1]);
	}
	if (qd[1] != -1) {
		close(qd[1]);
		pass_channel(R_QUEUE, IPC_QUEUE_DELIVERY, d, qd[0]);
	}
}

/*
 * Transmitter d, with a channel to the queue if one runs: its DNS and
 * TLS contexts are made as root (resolv.conf, tls_ca), then it drops to
 * [global] user in empty_dir like the receiver.
 */
static void
start_mta(struct respawn *r, void *arg)
{
	int	 i = role_of(r), d = i - R_MTA, pfd, qd[2] = { -1, -1 };

	drop_role_ipc(i);
	cbk_parent_mta_gone((uint32_t)d);	/* the last one's are gone */
	if (role_up(R_QUEUE))
		channel_pair(qd);
	if ((r->pid = role_fork(i, &pfd, &qd[1], 1)) == 0) {
		mta_init(&cfg);
		priv_drop(&u_recv, cfg.empty_dir);
		mta_main(&cfg, pfd, qd[1]);
	}
	if (qd[1] != -1) {
		close(qd[1]);
		pass_channel(R_QUEUE, IPC_QUEUE_MTA, d, qd[0]);
	}
}

static void
child_exit(pid_t pid, int status, void *arg)
{
	int	 i;

	for (i = 0; i < R_MAX; i++)
		if (respawn_reap(&roles[i], pid, status))
			return;
}

static void
reload(void *arg)
{
	log_info("reload: smtpd takes new settings at restart");
}

static void
flush_cb(int sig, short ev, void *arg)
{
	if (roles[R_QUEUE].pid > 0)
		kill(roles[R_QUEUE].pid, SIGUSR1);
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
	if ((ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key,
	    cfg.tls_client_ca, err, sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	return ctx;
}

int
main(int argc, char **argv)
{
	struct event	*usr1;
	struct mta_policy policy;
	SSL_CTX		*tls;
	char		 err[512];
	int		 i;

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
	ncf = cbk_parent_listen(&cfg, cfds);
	cbk_parent_init(to_receiver);
	/* a bad key is refused at start, not at the receiver's restart */
	if ((tls = load_tls()) != NULL)
		SSL_CTX_free(tls);
	/* and a bad transmitter setting, not at the first remote message */
	if (mta_policy_load(&policy, &cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	mta_policy_free(&policy);
	daemon_detach(&opts);

	base = event_base_new();
	daemon_signals(base, reload, child_exit, &opts);
	usr1 = evsignal_new(base, SIGUSR1, flush_cb, NULL);
	evsignal_add(usr1, NULL);
	for (i = 0; i < R_MAX; i++)
		respawn_init(&roles[i], base, role_name(i), i == R_QUEUE ?
		    start_queue : i == R_RECEIVER ? start_receiver :
		    i >= R_MTA ? start_mta : start_delivery, NULL);
	/* in enum order: the queue first, for the others to connect to */
	for (i = 0; i < R_MAX; i++)
		respawn_run(&roles[i]);
	/* only now: Berkeley DB handles must not cross a fork */
	db_up();
	daemon_pidfile(&cfg, "smtpd");
	log_info("started listen=%d queue_socket=%s", nl, cfg.queue_socket);
	event_base_dispatch(base);

	for (i = 0; i < R_MAX; i++)
		respawn_stop(&roles[i]);
	for (i = 0; i < R_MAX; i++)
		if (roles[i].pid > 0)
			waitpid(roles[i].pid, NULL, 0);
	for (i = 0; i < R_MAX; i++) {
		respawn_free(&roles[i]);
		drop_role_ipc(i);
	}
	event_free(usr1);
	db_down();
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	for (i = 0; i < ncf; i++)
		close(cfds[i]);
	close(qsock);
	unlink(cfg.queue_socket);
	daemon_pidfile_remove();
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return respawn_failed() ? 1 : 0;
}
