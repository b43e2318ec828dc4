/*
 * submitd.c - the submission daemon (RFC 6409, RFC 8314): entry, process
 * setup, privilege drop, and the keeping of its roles.
 *
 * Processes:
 *   submitd		root parent: reads the config, checks the TLS key,
 *			binds [submitd] listen (STARTTLS, 587) and
 *			listen_tls (implicit TLS, 465), starts the two roles,
 *			then opens the user database and answers their
 *			questions (parent.c, message.c): PAM, sender
 *			identity, limits, the daily quota and lockout, the
 *			Received header, and the hand-off to smtpd's queue
 *			(queue.c).  It parses no network input.
 *   submitd.smtp	[global] user, chrooted to [global] empty_dir: every
 *			byte from the network arrives here (session.c, with
 *			auth.c).  It holds the TLS context (it must
 *			terminate TLS) but no database, no PAM and no way to
 *			the queue: the author of a message is whoever the
 *			parent saw authenticate, the client's address is
 *			what the parent reads from the socket.
 *   submitd.header	[global] user, chrooted to [global] empty_dir: reads
 *			the header of each message the parent passes it
 *			(header_role.c, header.c) and reports its From: and
 *			Sender: addresses, on which the parent decides.  It
 *			has no socket to the network.
 *
 * Each role is forked and then executes this program again ("submitd -X
 * ROLE", its channel to the parent on descriptor 3, submitd.smtp's
 * listening sockets from descriptor 4 on, every other descriptor
 * closed), so it starts from a fresh image: nothing of the parent's
 * memory (the database cache, other sessions, passwords in flight), no
 * database region mapped, no descriptor but its own.  As root it reads
 * the config and, for submitd.smtp, builds the TLS context from the key
 * files; then it drops to [global] user in the chroot and says
 * IPC_PARENT_HELLO.  "-X" is for submitd's own use only.
 *
 * Self-healing: the parent keeps the listening sockets and restarts a
 * role that dies (common/respawn: at once after a single death, then
 * with a doubling backoff; RESPAWN_BURST deaths within RESPAWN_WINDOW
 * seconds stop the daemon with a non-zero exit for the service manager).
 * A role that sends a malformed or unexpected message is killed and
 * restarted the same way; the parent never exits because of a role.
 * The sessions of a dead submitd.smtp end with it; what happens to a
 * message on its way is in message.c.  A restarted role reads the config
 * file as it is then (hostname, session limits, certificates), on the
 * sockets bound at start.  The pidfile is written once both roles first
 * said IPC_PARENT_HELLO.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "respawn.h"
#include "submitd.h"
#include "tls.h"

#define LISTEN_MAX	(CFG_LISTEN_MAX * 2)

static struct sm_config cfg;
static struct daemon_opts opts = { .name = "submitd" };
static char	*config_path;		/* absolute, for the roles */
static int	 lfds[LISTEN_MAX], limpl[LISTEN_MAX], nlisten;
static struct respawn roles[ROLE_N];
static int	 ready[ROLE_N], started;

static const char *const role_names[ROLE_N] = {
	[ROLE_SMTP] = "submitd.smtp",
	[ROLE_HEADER] = "submitd.header",
};

/*
 * SIGHUP: the parent's settings ([global] postmaster, [submitd]
 * auth_fail_max and auth_fail_window, [smtpd] queue_socket) change at
 * once; the roles read theirs when they (re)start; listeners and the PAM
 * service need a restart of the daemon.
 */
static void
parent_reload(void *arg)
{
	if (daemon_reload_config(&opts, &cfg) == 0)
		parent_reconfigure();
}

static void
child_exit(pid_t pid, int status, void *arg)
{
	int	 i;

	for (i = 0; i < ROLE_N; i++)
		if (respawn_reap(&roles[i], pid, status))
			return;
}

void
submitd_role_ready(enum submitd_role r)
{
	int	 i;

	ready[r] = 1;
	if (started)
		return;
	for (i = 0; i < ROLE_N; i++)
		if (!ready[i])
			return;
	started = 1;
	daemon_pidfile(&cfg, "submitd");
	log_info("started listen=%d", nlisten);
}

/* The role broke its protocol or its channel closed: make sure it is gone. */
void
submitd_role_lost(enum submitd_role r)
{
	respawn_lost(&roles[r]);
}

static void
start_smtp(struct respawn *r, void *arg)
{
	char	 spec[8 + LISTEN_MAX];
	int	 fd, i;

	/* "smtp:" and one letter a listener: p STARTTLS, t TLS (made before
	 * the fork: the child of a threaded parent only execs) */
	snprintf(spec, sizeof(spec), "smtp:");
	for (i = 0; i < nlisten; i++)
		spec[5 + i] = limpl[i] ? 't' : 'p';
	spec[5 + nlisten] = '\0';
	if ((r->pid = priv_fork(role_names[ROLE_SMTP], &fd)) == 0)
		daemon_role_exec(&opts, config_path, spec, fd, lfds,
		    nlisten);
	ready[ROLE_SMTP] = 0;
	parent_smtp_attach(fd);
}

static void
start_header(struct respawn *r, void *arg)
{
	int	 fd;

	if ((r->pid = priv_fork(role_names[ROLE_HEADER], &fd)) == 0)
		daemon_role_exec(&opts, config_path, "header", fd, NULL,
		    0);
	ready[ROLE_HEADER] = 0;
	parent_header_attach(fd);
}

static int
bind_all(const struct cfg_listen *l, int implicit, int n)
{
	int	 i;

	for (i = 0; i < l->n; i++) {
		if (n == LISTEN_MAX)
			fatalx("too many listen addresses");
		if ((lfds[n] = net_listen(l->addr[i], 128)) == -1)
			fatal("listen %s", l->addr[i]);
		limpl[n++] = implicit;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* the roles, after "submitd -X ROLE" */

static int
is_socket(int fd, int listening)
{
	struct stat st;
	socklen_t sl = sizeof(int);
	int	 v;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	return !listening || (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v,
	    &sl) == 0 && v);
}

static void __attribute__((noreturn))
role_main(int argc, char **argv)
{
	struct priv_user unpriv;
	const char *spec = argv[2];
	SSL_CTX	*ctx;
	char	*nargv[8], err[512];
	int	 fds[LISTEN_MAX], impl[LISTEN_MAX], i, n = 0, nargc = 0;

	nargv[nargc++] = argv[0];
	for (i = 3; i < argc && nargc < 7; i++)
		nargv[nargc++] = argv[i];
	nargv[nargc] = NULL;
	daemon_getopt(nargc, nargv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root() || !is_socket(ROLE_IPC_FD, 0))
		fatalx("-X is how submitd starts its own roles");
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	priv_lookup_x(cfg.user, &unpriv);
	if (strcmp(spec, "header") == 0) {
		log_setrole(role_names[ROLE_HEADER]);
		prctl(PR_SET_NAME, role_names[ROLE_HEADER], 0, 0, 0);
		priv_drop(&unpriv, cfg.empty_dir);
		header_main(&cfg, ROLE_IPC_FD);
	}
	if (strncmp(spec, "smtp:", 5) != 0)
		fatalx("unknown role %s", spec);
	log_setrole(role_names[ROLE_SMTP]);
	prctl(PR_SET_NAME, role_names[ROLE_SMTP], 0, 0, 0);
	for (spec += 5; *spec != '\0'; spec++, n++) {
		if (n == LISTEN_MAX || (*spec != 'p' && *spec != 't') ||
		    !is_socket(ROLE_LISTEN_FD + n, 1))
			fatalx("bad listener %d for submitd.smtp", n);
		fds[n] = ROLE_LISTEN_FD + n;
		impl[n] = *spec == 't';
	}
	if ((ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	priv_drop(&unpriv, cfg.empty_dir);
	session_main(&cfg, ctx, fds, impl, n, ROLE_IPC_FD);
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct priv_user unpriv;
	SSL_CTX	*ctx;
	char	 err[512];
	int	 i;

	if (argc > 2 && strcmp(argv[1], "-X") == 0)
		role_main(argc, argv);
	daemon_getopt(argc, argv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root())
		fatalx("must be started as root");
	if ((config_path = realpath(opts.config, NULL)) == NULL)
		fatal("%s", opts.config);
	priv_lookup_x(cfg.user, &unpriv);
	/* refuse a bad key now, not at the role's start */
	if ((ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	SSL_CTX_free(ctx);
	nlisten = bind_all(&cfg.submitd_listen, 0, 0);
	nlisten = bind_all(&cfg.submitd_listen_tls, 1, nlisten);
	if (nlisten == 0)
		fatalx("[submitd] listen and listen_tls are both empty");
	daemon_detach(&opts);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base, parent_reload, child_exit, NULL);
	parent_init(&cfg, base, lfds, nlisten);
	respawn_init(&roles[ROLE_SMTP], base, role_names[ROLE_SMTP],
	    start_smtp, NULL);
	respawn_init(&roles[ROLE_HEADER], base, role_names[ROLE_HEADER],
	    start_header, NULL);
	for (i = 0; i < ROLE_N; i++)
		respawn_run(&roles[i]);
	event_base_dispatch(base);

	for (i = 0; i < ROLE_N; i++)
		respawn_stop(&roles[i]);
	for (i = 0; i < ROLE_N; i++) {
		if (roles[i].pid > 0)
			waitpid(roles[i].pid, NULL, 0);
		respawn_free(&roles[i]);
	}
	parent_shutdown();
	for (i = 0; i < nlisten; i++)
		close(lfds[i]);
	if (started)
		daemon_pidfile_remove();
	log_info("stopped");
	free(config_path);
	config_free(&cfg);
	event_base_free(base);
	return respawn_failed() ? 1 : 0;
}
