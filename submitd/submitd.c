/*
 * submitd.c - the submission daemon (RFC 6409, RFC 8314): entry, process
 * setup, privilege drop.
 *
 * Processes:
 *   submitd		root parent: reads the config, loads the TLS key,
 *			binds [submitd] listen (STARTTLS, 587) and
 *			listen_tls (implicit TLS, 465), forks the SMTP role,
 *			then opens the user database and answers the role's
 *			questions (parent.c): PAM, sender identity, limits,
 *			the daily quota and lockout, the Received header,
 *			and the hand-off to smtpd's queue (queue.c).
 *   submitd.smtp	[global] user, chrooted to [global] empty_dir: every
 *			byte from the network is parsed here (session.c,
 *			with auth.c and header.c).  It holds the TLS context
 *			(it must terminate TLS) but no database, no PAM and
 *			no way to the queue: the author of a message is
 *			whoever the parent saw authenticate.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
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
#include "submitd.h"
#include "tls.h"

static struct sm_config cfg;
static struct daemon_opts opts = { .name = "submitd" };
static pid_t	 smtp_pid;

/*
 * SIGHUP: the parent's settings ([global] postmaster, [submitd]
 * auth_fail_max and auth_fail_window, [smtpd] queue_socket) change at
 * once; what the chrooted child was started with (listeners, hostname,
 * certificates, session limits) and the PAM service need a restart.
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
	if (pid == smtp_pid && !daemon_stopping()) {
		log_warnx("submitd.smtp exited (status %d); stopping", status);
		daemon_stop();
	}
}

static void
child_closed(struct ipc_conn *c, void *arg)
{
	if (!daemon_stopping()) {
		log_warnx("submitd.smtp closed its channel; stopping");
		daemon_stop();
	}
}

static int
bind_all(const struct cfg_listen *l, int implicit, int *fds, int *impl,
    int n)
{
	int	 i;

	for (i = 0; i < l->n; i++) {
		if (n == CFG_LISTEN_MAX * 2)
			fatalx("too many listen addresses");
		if ((fds[n] = net_listen(l->addr[i], 128)) == -1)
			fatal("listen %s", l->addr[i]);
		impl[n++] = implicit;
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct ipc_conn *conn;
	struct priv_user unpriv;
	SSL_CTX	*ctx;
	char	 err[512];
	int	 fds[CFG_LISTEN_MAX * 2], impl[CFG_LISTEN_MAX * 2];
	int	 n = 0, i, fd;

	daemon_getopt(argc, argv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root())
		fatalx("must be started as root");
	priv_lookup_x(cfg.user, &unpriv);
	if ((ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("TLS: %s", err);
	n = bind_all(&cfg.submitd_listen, 0, fds, impl, n);
	n = bind_all(&cfg.submitd_listen_tls, 1, fds, impl, n);
	if (n == 0)
		fatalx("[submitd] listen and listen_tls are both empty");
	daemon_detach(&opts);

	if ((smtp_pid = priv_fork("submitd.smtp", &fd)) == 0) {
		priv_drop(&unpriv, cfg.empty_dir);
		session_main(&cfg, ctx, fds, impl, n, fd);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	SSL_CTX_free(ctx);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base, parent_reload, child_exit, NULL);
	conn = ipc_conn_new(base, fd, parent_dispatch, child_closed, NULL);
	parent_init(&cfg, base, conn);
	daemon_pidfile(&cfg, "submitd");
	log_info("started listen=%d", n);
	event_base_dispatch(base);

	kill(smtp_pid, SIGTERM);
	waitpid(smtp_pid, NULL, 0);
	ipc_conn_free(conn);
	parent_shutdown();
	daemon_pidfile_remove();
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return 0;
}
