/*
 * keystore.c - the keystore daemon: entry, process setup, privilege drop.
 *
 * Processes:
 *   keystore		root parent: reads the config, binds the key server's
 *			TCP port and the signing socket, opens the key
 *			database, forks the server role and supervises it.
 *   keystore.server	user [global] user, chrooted to empty_dir: parses
 *			every byte that comes from the network (the key
 *			server protocol, keyserver.c).  It holds no key
 *			material; public keys are asked of the parent over
 *			IPC, so a compromise of the parser yields nothing
 *			a KEY query would not.
 *
 * The parent keeps the listening sockets and restarts the server role when
 * it dies (common/respawn: backoff, and exit non-zero after a burst of
 * quick deaths).  A malformed request from the role ends the role, never
 * the parent.
 *
 * Signing on request (over [keystore] socket, for the peer uids named in
 * [keystore] clients) and key generation belong to the keystore issue;
 * this file is the skeleton every daemon shares, plus the public half of
 * the key server protocol of DESIGN.md.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "keystore.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "respawn.h"
#include "xmalloc.h"

static struct sm_config cfg;
static struct priv_user unpriv;
static struct event_base *base;
static int	 listen_fds[CFG_LISTEN_MAX], nlisten;
static struct respawn server;
static struct ipc_conn *server_ipc;

static void	 parent_dispatch(struct ipc_conn *, struct ipc_msg *, void *);

static void
server_closed(struct ipc_conn *c, void *arg)
{
	(void)arg;
	if (c != server_ipc) {		/* a dead role's, already replaced */
		ipc_conn_free(c);
		return;
	}
	ipc_conn_free(c);
	server_ipc = NULL;
	respawn_lost(&server);
}

static void
start_server(struct respawn *r, void *arg)
{
	int	 fd;

	(void)arg;
	if (server_ipc != NULL) {	/* the dead role's end */
		ipc_conn_free(server_ipc);
		server_ipc = NULL;
	}
	if ((r->pid = priv_fork("keystore.server", &fd)) == 0) {
		priv_drop(&unpriv, cfg.empty_dir);
		keyserver_main(&cfg, listen_fds, nlisten, fd);
		_exit(0);
	}
	server_ipc = ipc_conn_new(base, fd, parent_dispatch, server_closed,
	    NULL);
}

/* A request the role had no business sending: end the role. */
static void
server_misbehaved(const char *what)
{
	log_warnx("server role sent %s; restarting it", what);
	respawn_lost(&server);
}

/* The parent answers the server role's questions about public keys. */
static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct ipc_msg *r;
	const char *addr;

	(void)arg;
	switch (m->type) {
	case IPC_KS_PUBKEY:
		if (ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1) {
			server_misbehaved("a malformed IPC_KS_PUBKEY");
			return;
		}
		/* No key pairs exist until key generation lands. */
		r = ipc_msg_new(IPC_ERR, m->id);
		ipc_add_u32(r, 1);
		ipc_add_str(r, "no key for this address");
		ipc_send(c, r);
		break;
	default:
		server_misbehaved("an unexpected message type");
	}
}

static void
parent_reload(void *arg)
{
	daemon_reload_config(arg, &cfg);
}

static void
parent_child_exit(pid_t pid, int status, void *arg)
{
	(void)arg;
	(void)respawn_reap(&server, pid, status);
}

int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .name = "keystore" };
	int	 i;

	daemon_getopt(argc, argv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root())
		fatalx("must be started as root");
	priv_lookup_x(cfg.user, &unpriv);

	for (i = 0; i < cfg.keystore_listen.n; i++)
		if ((listen_fds[nlisten++] = net_listen(cfg.keystore_listen.addr[i],
		    128)) == -1)
			fatal("listen %s", cfg.keystore_listen.addr[i]);
	daemon_detach(&opts);

	base = event_base_new();
	daemon_signals(base, parent_reload, parent_child_exit, &opts);
	respawn_init(&server, base, "keystore.server", start_server, NULL);
	respawn_run(&server);
	daemon_pidfile(&cfg, "keystore");
	log_info("started listen=%d", nlisten);
	event_base_dispatch(base);

	respawn_stop(&server);
	if (server.pid > 0)
		waitpid(server.pid, NULL, 0);
	respawn_free(&server);
	if (server_ipc != NULL)
		ipc_conn_free(server_ipc);
	for (i = 0; i < nlisten; i++)
		close(listen_fds[i]);
	daemon_pidfile_remove();
	log_info("stopped");
	config_free(&cfg);
	event_base_free(base);
	return respawn_failed() ? 1 : 0;
}
