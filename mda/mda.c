/*
 * mda.c - the mail delivery agent: entry, the LMTP server's privileged
 * parent, and recipient lookups.
 *
 * Two modes:
 *   mda [-Fv] [-c FILE]
 *	the LMTP server for smtpd.  Processes:
 *	mda		root: binds [mda] lmtp_socket, owns the user
 *			database, answers recipient lookups over IPC
 *			(never sees a message) and supervises the others.
 *	mda.lmtp	[global] mail_user, not chrooted (it writes every
 *			Maildir under mail_root and the quarantine): parses
 *			LMTP from any local user and delivers (lmtp.c).
 *			[mda] lmtp_processes of them accept on the one
 *			socket, so deliveries overlap: each waits for its
 *			fsyncs while the others write, and the file system
 *			commits the waiting ones together.
 *	mda.purge	mail_user, at start and hourly: removes quarantined
 *			originals older than [mda] quarantine_days
 *			(common/quarantine) and delivery records older than
 *			[mda] delivery_record_days (record.c).
 *   mda -d user@domain [-s safe|unsafe] [-f sender] [-c FILE]
 *	the LDA for other MTAs (Postfix's mailbox_command): the message
 *	on stdin, a sysexits status (lda.c).
 *
 * No unprivileged process ever holds the user database: the parent
 * closes its Berkeley DB environment (regions unmapped, files closed)
 * before every fork and opens it again after, so a child, at start or
 * when restarted, is forked from a process without it.  A lookup that
 * finds the database closed (it could not be reopened) opens it again,
 * or answers 451.
 *
 * Self-healing: each mda.lmtp is restarted when it dies (common/respawn:
 * backoff, and the parent exits non-zero after a burst of quick deaths);
 * the listening socket stays open in the parent, so connections made
 * meanwhile wait in its backlog or go to another mda.lmtp.  Whatever an
 * mda.lmtp asks is checked as hostile: an address it should not have
 * sent gets an IPC_ERR answer, and a message that breaks the IPC
 * protocol ends that mda.lmtp (which is then restarted), never the
 * parent.
 *
 * The classification travels in the LMTP command XSEAL, which lmtp.c
 * honours only from root or the uid of [mda] trusted_user; without it a
 * message is unsafe.
 *
 * Unlike the other daemons, -d names the LDA's recipient (the
 * interface MTAs expect of an LDA); the server's foreground flag is -F.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "ipc.h"
#include "log.h"
#include "mda.h"
#include "net.h"
#include "privsep.h"
#include "quarantine.h"
#include "respawn.h"
#include "userdb.h"
#include "xmalloc.h"

static struct sm_config cfg;
static struct event_base *base;
static struct db_env *env;
static struct userdb *udb;
static struct priv_user mailu, trusted;
static int	 lfd = -1;		/* the LMTP socket, kept on restarts */

/* one mda.lmtp: its respawn state and the running one's channel */
struct lmtp_role {
	struct respawn	 r;
	struct ipc_conn	*ipc;
};
static struct lmtp_role lmtp_roles[MDA_LMTP_PROCESSES_MAX];
static int	 nlmtp;
static int	*lmtp_counts;	/* shared: each mda.lmtp's sessions */
static pid_t	 purge_pid;		/* the running mda.purge, or 0 */

#define PURGE_INTERVAL	(60 * 60)	/* the quarantine is purged hourly */

/*
 * Resolve rcpt (a user or an alias) to everything delivery needs.
 * Returns 0, or -1 with st set (550 unknown, 451 database trouble).
 */
int
mda_lookup(const struct sm_config *c, struct userdb *db, const char *rcpt,
    struct mda_rcpt *r, struct mda_status *st)
{
	struct userdb_user u;
	char	*maildir, err[256];
	int	 res;

	memset(r, 0, sizeof(*r));
	snprintf(r->rcpt, sizeof(r->rcpt), "%s", rcpt);
	res = userdb_lookup_rcpt(db, rcpt, r->user, sizeof(r->user));
	if (res == UDB_OK)
		res = userdb_user_get(db, r->user, &u, err, sizeof(err));
	if (res == UDB_NOTFOUND || res == UDB_INVALID) {
		st->code = 550;
		snprintf(st->text, sizeof(st->text),
		    "550 5.1.1 <%s> no such user here", rcpt);
		return -1;
	}
	/* the canonical name must be fit to be a directory name */
	if (res != UDB_OK ||
	    (maildir = userdb_maildir(c->mail_root, r->user)) == NULL) {
		st->code = 451;
		snprintf(st->text, sizeof(st->text),
		    "451 4.3.0 user database unavailable");
		return -1;
	}
	free(maildir);
	r->unsafe_mailbox = u.unsafe_mailbox;
	r->strip_attachments = u.strip_attachments;
	r->strip_html = u.strip_html;
	snprintf(r->subject_tag, sizeof(r->subject_tag), "%s",
	    u.unsafe_subject_tag);
	r->quota_bytes = u.quota_bytes;
	return 0;
}

/* The user database, opened if it is not (0), or -1 (logged). */
static int
parent_db_open(void)
{
	if (udb != NULL)
		return 0;
	if ((env = db_env_open(cfg.db_dir)) == NULL ||
	    (udb = userdb_open(env)) == NULL) {
		log_warnx("cannot open the user database in %s", cfg.db_dir);
		db_env_close(env);
		env = NULL;
		return -1;
	}
	return 0;
}

static void
parent_db_close(void)
{
	userdb_close(udb);
	db_env_close(env);
	udb = NULL;
	env = NULL;
}

/*
 * fork(), with the user database closed across it: the child starts
 * without its files or regions, whatever it becomes.
 */
static pid_t
parent_fork(const char *role, int *fd_r)
{
	pid_t	 pid;

	parent_db_close();
	if (fd_r != NULL)
		pid = priv_fork(role, fd_r);
	else if ((pid = fork()) == -1)
		log_warn("fork %s", role);
	if (pid != 0)
		(void)parent_db_open();
	return pid;
}

/* In a new child: the parent's libevent signal handlers are not ours. */
static void
child_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t	 i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

static void
lookup_answer(struct ipc_conn *c, uint32_t id, const char *rcpt)
{
	struct mda_rcpt r;
	struct mda_status st;
	struct ipc_msg *a;
	int	 res = -1;

	if (!mda_addr_ok(rcpt, 1)) {
		st.code = 501;
		snprintf(st.text, sizeof(st.text),
		    "501 5.1.3 bad recipient address syntax");
	} else if (parent_db_open() == -1) {
		st.code = 451;
		snprintf(st.text, sizeof(st.text),
		    "451 4.3.0 user database unavailable");
	} else
		res = mda_lookup(&cfg, udb, rcpt, &r, &st);
	if (res == -1) {
		a = ipc_msg_new(IPC_ERR, id);
		ipc_add_u32(a, (uint32_t)st.code);
		ipc_add_str(a, st.text);
	} else {
		a = ipc_msg_new(IPC_OK, id);
		ipc_add_str(a, r.user);
		ipc_add_u32(a, (uint32_t)r.unsafe_mailbox);
		ipc_add_u32(a, (uint32_t)r.strip_attachments);
		ipc_add_u32(a, (uint32_t)r.strip_html);
		ipc_add_str(a, r.subject_tag);
		ipc_add_u64(a, r.quota_bytes);
	}
	ipc_send(c, a);
}

/* IPC_PARENT_LOOKUP_RCPT: str rcpt -> IPC_OK (the mda_rcpt) | IPC_ERR */
static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	const char *rcpt;

	struct lmtp_role *lr = arg;

	if (c != lr->ipc)
		return;		/* a dead mda.lmtp's last words */
	if (m->type != IPC_PARENT_LOOKUP_RCPT || ipc_get_str(m, &rcpt) == -1 ||
	    ipc_get_end(m) == -1) {
		log_warnx("mda.lmtp sent a malformed message (type %u); "
		    "restarting it", m->type);
		respawn_lost(&lr->r);
		return;
	}
	lookup_answer(c, m->id, rcpt);
}

static void
lmtp_closed(struct ipc_conn *c, void *arg)
{
	struct lmtp_role *lr = arg;

	ipc_conn_free(c);
	if (c != lr->ipc)
		return;		/* a dead role's, already replaced */
	lr->ipc = NULL;
	respawn_lost(&lr->r);
}

/* The channels of every running mda.lmtp: a new child closes them. */
static void
close_lmtp_channels(void)
{
	int	 i;

	for (i = 0; i < nlmtp; i++)
		if (lmtp_roles[i].ipc != NULL)
			close(ipc_conn_fd(lmtp_roles[i].ipc));
}

/* Fork mda.lmtp (at start, and again whenever it died). */
static void
start_lmtp(struct respawn *r, void *arg)
{
	struct lmtp_role *lr = arg;
	int	 fd;

	if (lr->ipc != NULL) {		/* the dead role's end */
		ipc_conn_free(lr->ipc);
		lr->ipc = NULL;
	}
	if ((r->pid = parent_fork("mda.lmtp", &fd)) == 0) {
		child_signals();
		close_lmtp_channels();	/* its siblings' */
		/*
		 * Not chrooted: the role writes every Maildir under
		 * mail_root and the quarantine; it holds no database.
		 */
		priv_drop(&mailu, NULL);
		lmtp_main(&cfg, lfd, fd, trusted.uid, lmtp_counts, nlmtp,
		    (int)(lr - lmtp_roles));
	}
	lr->ipc = ipc_conn_new(base, fd, parent_dispatch, lmtp_closed, lr);
}

/*
 * The purge: quarantined originals older than [mda] quarantine_days and
 * delivery records older than [mda] delivery_record_days go.  It runs
 * in a child as mail_user, which owns the trees that mda.lmtp wrote from
 * network input, so root never walks them.  Returns the child's pid, or
 * -1.
 */
static pid_t
purge_fork(void)
{
	size_t	 removed, records;
	pid_t	 pid;
	int	 r;

	if ((pid = parent_fork("mda.purge", NULL)) != 0)
		return pid;
	child_signals();
	log_setrole("mda.purge");
	prctl(PR_SET_NAME, "mda.purge", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	/* nothing of the LMTP server */
	close(lfd);
	close_lmtp_channels();
	priv_drop(&mailu, NULL);
	r = quar_purge(cfg.quarantine_dir, cfg.quarantine_days, time(NULL),
	    &removed);
	log_info("quarantine purged dir=%s days=%d removed=%zu",
	    cfg.quarantine_dir, cfg.quarantine_days, removed);
	if (rec_purge(cfg.mail_root, cfg.delivery_record_days, time(NULL),
	    &records) == -1)
		r = -1;
	log_info("delivery records purged days=%d removed=%zu",
	    cfg.delivery_record_days, records);
	_exit(r == 0 ? 0 : 1);
}

static void
purge_status(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("mda.purge failed (%s %d)",
		    WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
}

/* The hourly timer: one purge at a time. */
static void
parent_purge(evutil_socket_t fd, short events, void *arg)
{
	pid_t	 pid;

	(void)fd;
	(void)events;
	(void)arg;
	if (purge_pid == 0 && (pid = purge_fork()) != -1)
		purge_pid = pid;
}

static void
parent_reload(void *arg)
{
	daemon_reload_config(arg, &cfg);
}

static void
parent_child_exit(pid_t pid, int status, void *arg)
{
	int	 i;

	(void)arg;
	if (pid == purge_pid) {
		purge_pid = 0;
		purge_status(status);
		return;
	}
	for (i = 0; i < nlmtp; i++)
		if (respawn_reap(&lmtp_roles[i].r, pid, status))
			return;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mda [-Fv] [-c config]\n"
	    "       mda -d user@domain [-s safe|unsafe] [-f sender] "
	    "[-c config]\n");
	exit(64);
}

static int
server_main(struct daemon_opts *opts)
{
	struct timeval hourly = { PURGE_INTERVAL, 0 };
	struct event *purge_ev;
	pid_t	 pid;
	int	 i, status;

	if (!priv_is_root())
		fatalx("the LMTP server must be started as root");
	if (cfg.lmtp_max_sessions < 1)
		fatalx("[mda] lmtp_max_sessions must be at least 1");
	if (cfg.lmtp_processes < 1 ||
	    cfg.lmtp_processes > MDA_LMTP_PROCESSES_MAX)
		fatalx("[mda] lmtp_processes must be 1 to %d",
		    MDA_LMTP_PROCESSES_MAX);
	nlmtp = cfg.lmtp_processes;
	/*
	 * The session cap is over all of them: each keeps its count in its
	 * slot of this page (a restarted one starts its slot at 0).
	 */
	if ((lmtp_counts = mmap(NULL, sizeof(int) * MDA_LMTP_PROCESSES_MAX,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) ==
	    MAP_FAILED)
		fatal("mmap");
	priv_lookup_x(cfg.mail_user, &mailu);
	priv_lookup_x(cfg.lmtp_trusted_user, &trusted);
	/*
	 * Anyone may connect (the LDA of an unprivileged MTA relays
	 * through here); only trusted peers may set the class.
	 */
	if ((lfd = net_unix_listen(cfg.lmtp_socket, 0666, (uid_t)-1,
	    (gid_t)-1)) == -1)
		fatal("listen %s", cfg.lmtp_socket);
	daemon_detach(opts);
	/*
	 * The first purge is waited for before anything else starts, so the
	 * running daemon's only children are its roles; later ones are
	 * hourly, from the event loop.
	 */
	if ((pid = purge_fork()) != -1) {
		while (waitpid(pid, &status, 0) == -1)
			if (errno != EINTR)
				fatal("waitpid mda.purge");
		purge_status(status);
	}

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base, parent_reload, parent_child_exit, opts);
	for (i = 0; i < nlmtp; i++)
		respawn_init(&lmtp_roles[i].r, base, "mda.lmtp", start_lmtp,
		    &lmtp_roles[i]);
	for (i = 0; i < nlmtp; i++)
		respawn_run(&lmtp_roles[i].r);
	/* After daemon(3) and the first fork: the parent's alone. */
	if (udb == NULL && parent_db_open() == -1)
		fatalx("cannot open the user database in %s", cfg.db_dir);
	daemon_pidfile(&cfg, "mda");
	log_info("started lmtp=%s processes=%d max_sessions=%d",
	    cfg.lmtp_socket, nlmtp, cfg.lmtp_max_sessions);
	if ((purge_ev = event_new(base, -1, EV_PERSIST, parent_purge,
	    NULL)) == NULL || event_add(purge_ev, &hourly) == -1)
		fatalx("cannot set the quarantine purge timer");
	event_base_dispatch(base);

	event_free(purge_ev);
	if (purge_pid != 0)
		kill(purge_pid, SIGTERM);
	for (i = 0; i < nlmtp; i++)
		respawn_stop(&lmtp_roles[i].r);
	for (i = 0; i < nlmtp; i++) {
		if (lmtp_roles[i].r.pid > 0)
			waitpid(lmtp_roles[i].r.pid, NULL, 0);
		respawn_free(&lmtp_roles[i].r);
		if (lmtp_roles[i].ipc != NULL)
			ipc_conn_free(lmtp_roles[i].ipc);
	}
	close(lfd);
	unlink(cfg.lmtp_socket);
	daemon_pidfile_remove();
	parent_db_close();
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return respawn_failed() ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .name = "mda" };
	const char *rcpt = NULL, *class = NULL, *sender = NULL;
	char	 err[512];
	int	 ch;

	opts.config = config_default_path();
	while ((ch = getopt(argc, argv, "c:Fvd:s:f:")) != -1) {
		switch (ch) {
		case 'c':
			opts.config = optarg;
			break;
		case 'F':
			opts.foreground = 1;
			break;
		case 'v':
			opts.verbose = 1;
			break;
		case 'd':
			rcpt = optarg;
			break;
		case 's':
			class = optarg;
			break;
		case 'f':
			sender = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || ((class != NULL || sender != NULL) &&
	    rcpt == NULL))
		usage();
	if (rcpt != NULL) {
		/* The LDA logs to stderr, where the calling MTA reads it. */
		log_init("mda.lda", 1, opts.verbose ? LOG_LVL_DEBUG :
		    LOG_LVL_INFO);
		if (config_load(opts.config, &cfg, err, sizeof(err)) == -1) {
			log_err("%s", err);
			return 75;
		}
		return lda_main(&cfg, rcpt, class, sender);
	}
	daemon_load_config(&opts, &cfg);
	return server_main(&opts);
}
