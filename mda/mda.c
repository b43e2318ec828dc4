/*
 * mda.c - the mail delivery agent: entry, the LMTP server's privileged
 * parent, and recipient lookups.
 *
 * Two modes:
 *   mda [-Fv] [-c FILE]
 *	the LMTP server for smtpd.  The root parent opens the user
 *	database, binds [mda] lmtp_socket and forks mda.lmtp, which runs
 *	as [global] mail_user, parses LMTP and writes Maildirs.  The
 *	parent answers only recipient lookups over IPC; it never sees a
 *	message.  At start and hourly it forks mda.purge, which drops to
 *	mail_user and removes quarantined originals older than [mda]
 *	quarantine_days (common/quarantine).
 *   mda -d user@domain [-s safe|unsafe] [-f sender] [-c FILE]
 *	the LDA for other MTAs (Postfix's mailbox_command): the message
 *	on stdin, a sysexits status (lda.c).
 *
 * The classification travels as the LMTP MAIL FROM parameter
 * X-SEALMAIL-CLASS; lmtp.c honours it only from root or the uid of
 * [mda] trusted_user, and anything else is unsafe.
 *
 * Unlike the other daemons, -d names the LDA's recipient (the
 * interface MTAs expect of an LDA); the server's foreground flag is -F.
 */
#include <sys/types.h>
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
#include "userdb.h"
#include "xmalloc.h"

static struct sm_config cfg;
static struct db_env *env;
static struct userdb *udb;
static pid_t	 lmtp_pid;
static pid_t	 purge_pid;		/* the running mda.purge, or 0 */
static struct priv_user purge_user;

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
	const char *at;
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
	if (res != UDB_OK ||
	    (maildir = userdb_maildir(c->mail_root, r->user)) == NULL) {
		st->code = 451;
		snprintf(st->text, sizeof(st->text),
		    "451 4.3.0 user database unavailable");
		return -1;
	}
	snprintf(r->maildir, sizeof(r->maildir), "%s", maildir);
	free(maildir);
	at = strrchr(r->user, '@');
	snprintf(r->quarantine, sizeof(r->quarantine), "%s/%s/%.*s",
	    c->quarantine_dir, at + 1, (int)(at - r->user), r->user);
	r->unsafe_mailbox = u.unsafe_mailbox;
	r->strip_attachments = u.strip_attachments;
	r->strip_html = u.strip_html;
	snprintf(r->subject_tag, sizeof(r->subject_tag), "%s",
	    u.unsafe_subject_tag);
	r->quota_bytes = u.quota_bytes;
	return 0;
}

/* IPC_PARENT_LOOKUP_RCPT: str rcpt -> IPC_OK (the mda_rcpt) | IPC_ERR */
static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct mda_rcpt r;
	struct mda_status st;
	struct ipc_msg *a;
	const char *rcpt;

	if (m->type != IPC_PARENT_LOOKUP_RCPT || ipc_get_str(m, &rcpt) == -1 ||
	    ipc_get_end(m) == -1 || strlen(rcpt) > 255)
		fatalx("parent: bad message type %u from mda.lmtp", m->type);
	if (mda_lookup(&cfg, udb, rcpt, &r, &st) == -1) {
		a = ipc_msg_new(IPC_ERR, m->id);
		ipc_add_u32(a, (uint32_t)st.code);
		ipc_add_str(a, st.text);
	} else {
		a = ipc_msg_new(IPC_OK, m->id);
		ipc_add_str(a, r.user);
		ipc_add_str(a, r.maildir);
		ipc_add_str(a, r.quarantine);
		ipc_add_u32(a, (uint32_t)r.unsafe_mailbox);
		ipc_add_u32(a, (uint32_t)r.strip_attachments);
		ipc_add_u32(a, (uint32_t)r.strip_html);
		ipc_add_str(a, r.subject_tag);
		ipc_add_u64(a, r.quota_bytes);
	}
	ipc_send(c, a);
}

/*
 * The quarantine purge: originals older than [mda] quarantine_days go.
 * It runs in a child as mail_user, which owns the tree that mda.lmtp
 * wrote from network input, so root never walks it.  Returns the
 * child's pid, or -1.
 */
static pid_t
purge_fork(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t	 i, removed;
	pid_t	 pid;
	int	 r;

	if ((pid = fork()) == -1)
		log_warn("fork mda.purge");
	if (pid != 0)
		return pid;
	/* The parent's libevent signal handlers are not ours. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	log_setrole("mda.purge");
	prctl(PR_SET_NAME, "mda.purge", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	priv_drop(&purge_user, NULL);
	r = quar_purge(cfg.quarantine_dir, cfg.quarantine_days, time(NULL),
	    &removed);
	log_info("quarantine purged dir=%s days=%d removed=%zu",
	    cfg.quarantine_dir, cfg.quarantine_days, removed);
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
	if (pid == purge_pid) {
		purge_pid = 0;
		purge_status(status);
		return;
	}
	if (pid == lmtp_pid && !daemon_stopping()) {
		log_warnx("mda.lmtp exited (status %d); stopping", status);
		daemon_stop();
	}
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
	struct event_base *base;
	struct event *purge_ev;
	struct priv_user mailu, trusted;
	struct ipc_conn *child;
	pid_t	 pid;
	int	 lfd, fd, status;

	if (!priv_is_root())
		fatalx("the LMTP server must be started as root");
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
	purge_user = mailu;
	if ((pid = purge_fork()) != -1) {
		while (waitpid(pid, &status, 0) == -1)
			if (errno != EINTR)
				fatal("waitpid mda.purge");
		purge_status(status);
	}
	/* After daemon(3), whose fork the environment handle must not cross. */
	if ((env = db_env_open(cfg.db_dir)) == NULL ||
	    (udb = userdb_open(env)) == NULL)
		fatalx("cannot open the user database in %s", cfg.db_dir);

	if ((lmtp_pid = priv_fork("mda.lmtp", &fd)) == 0) {
		/*
		 * Not chrooted: the role writes every Maildir under
		 * mail_root and the quarantine; it holds no database.
		 */
		priv_drop(&mailu, NULL);
		lmtp_main(&cfg, lfd, fd, trusted.uid);
	}
	close(lfd);

	base = event_base_new();
	daemon_signals(base, parent_reload, parent_child_exit, opts);
	child = ipc_conn_new(base, fd, parent_dispatch, NULL, NULL);
	daemon_pidfile(&cfg, "mda");
	log_info("started lmtp=%s", cfg.lmtp_socket);
	if ((purge_ev = event_new(base, -1, EV_PERSIST, parent_purge,
	    NULL)) == NULL || event_add(purge_ev, &hourly) == -1)
		fatalx("cannot set the quarantine purge timer");
	event_base_dispatch(base);

	event_free(purge_ev);
	if (purge_pid != 0)
		kill(purge_pid, SIGTERM);
	kill(lmtp_pid, SIGTERM);
	waitpid(lmtp_pid, NULL, 0);
	unlink(cfg.lmtp_socket);
	ipc_conn_free(child);
	daemon_pidfile_remove();
	userdb_close(udb);
	db_env_close(env);
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return 0;
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
