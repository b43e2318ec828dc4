/*
 * keystore.c - the keystore daemon: entry, process setup, privilege drop.
 *
 * Processes:
 *   keystore		root parent: reads the config, checks the passphrase
 *			file (root's, mode 0600, or it refuses to start) and
 *			opens the key database (ks_db.c) before anything
 *			else, binds the key server's TCP port and the
 *			signing socket [keystore] socket, starts the server
 *			role and answers its requests (parent.c): it alone
 *			holds key material, makes keys, signs digests with
 *			common/dkim's dkim_digest_sign(), and sweeps expired
 *			keys.  It reads no byte from a socket other than
 *			the server role's channel, whose messages it checks
 *			as hostile.
 *   keystore.server	[global] user, chrooted to [global] empty_dir: every
 *			byte from a client arrives here (server.c): the
 *			signing socket's clients, after their uid was found
 *			in [keystore] clients (signer.c), and the TCP key
 *			server (keyserver.c).  It validates each request and
 *			forwards it; it never holds a key, the passphrase or
 *			the database.
 *
 * The server role is forked and then executes this program again
 * ("keystore -X server", its channel on descriptor 3, the listening
 * sockets from descriptor 4 on, every other descriptor closed), so it
 * starts from a fresh image: none of the parent's memory (opened keys,
 * the passphrase, the database cache) and no database region is ever in
 * it, however often it is restarted.  "-X" is for the keystore's own use.
 *
 * The parent keeps the listening sockets and restarts the server role when
 * it dies (common/respawn: backoff, and exit non-zero after a burst of
 * quick deaths).  A malformed request from the role ends the role, never
 * the parent.  SIGHUP rereads the config: rotate_grace and
 * revoked_publish apply at once, the role's settings ([keystore] clients,
 * forward, [global] hostname) when it restarts; listeners, the database
 * and the passphrase need a restart of the daemon.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "keystore.h"
#include "ks_db.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "respawn.h"
#include "xmalloc.h"


static struct sm_config cfg;
static struct daemon_opts opts = { .name = "keystore" };
static char	*config_path;		/* absolute, for the role */
static struct priv_user unpriv;
static struct event_base *base;
static int	 listen_fds[CFG_LISTEN_MAX + 1], nlisten;
static struct respawn server;
static struct ipc_conn *server_ipc;
static struct ks_db *kdb;

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
	if ((r->pid = priv_fork("keystore.server", &fd)) == 0)
		daemon_role_exec(&opts, config_path, "server", fd,
		    listen_fds, nlisten);
	server_ipc = ipc_conn_new(base, fd, parent_dispatch, server_closed,
	    NULL);
}

/* The role's requests; one it had no business sending ends the role. */
static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	(void)arg;
	if (c != server_ipc)
		return;
	if (parent_request(c, m) == -1) {
		log_warnx("server role sent a malformed or unexpected "
		    "message (type %u); restarting it", m->type);
		respawn_lost(&server);
	}
}

static void
parent_reload(void *arg)
{
	(void)arg;
	if (daemon_reload_config(&opts, &cfg) == 0 && kdb != NULL) {
		kdb->rotate_grace = cfg.keystore_rotate_grace;
		kdb->revoked_publish = cfg.keystore_revoked_publish;
	}
}

static void
parent_child_exit(pid_t pid, int status, void *arg)
{
	(void)arg;
	(void)respawn_reap(&server, pid, status);
}

/* Refuse to start with a message on stderr (before detaching). */
static void __attribute__((noreturn))
refuse(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "keystore: %s\n", msg);
	log_warnx("%s", msg);
	exit(1);
}

static struct ks_db *
open_keys(void)
{
	struct ks_db	*k;
	char		 err[1024];
	int		 created;

	if ((k = ks_db_open(&cfg, &created, err, sizeof(err))) == NULL)
		refuse("refusing to start: %s", err);
	if (created)
		log_info("made the key database in %s and its passphrase %s",
		    cfg.keystore_db_dir, cfg.keystore_passphrase_file);
	return k;
}

/* The signing socket first (listen_fds[0]), then the key server's. */
static void
bind_all(void)
{
	int	 i, fd;

	nlisten = 1;
	for (i = 0; i < cfg.keystore_listen.n; i++)
		if ((listen_fds[nlisten++] = net_listen(
		    cfg.keystore_listen.addr[i], 128)) == -1)
			refuse("listen %s: %s", cfg.keystore_listen.addr[i],
			    strerror(errno));
	/* a live socket is another keystore's: leave it alone */
	if ((fd = net_unix_connect(cfg.keystore_socket)) != -1) {
		close(fd);
		refuse("%s: another keystore is serving it",
		    cfg.keystore_socket);
	}
	/* any uid may connect: keystore.server lets only [keystore]
	 * clients in (SO_PEERCRED) and logs the others */
	if ((listen_fds[0] = net_unix_listen(cfg.keystore_socket, 0666,
	    (uid_t)-1, (gid_t)-1)) == -1)
		refuse("listen %s: %s", cfg.keystore_socket, strerror(errno));
}

int
main(int argc, char **argv)
{
	char	 abs[PATH_MAX], err[512];
	uid_t	 uids[KS_CLIENTS_MAX];
	size_t	 nuids;
	int	 i;

	if (argc > 2 && strcmp(argv[1], "-X") == 0)
		server_main(argc, argv);
	daemon_getopt(argc, argv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root())
		fatalx("must be started as root");
	priv_lookup_x(cfg.user, &unpriv);
	if (ks_clients_parse(cfg.keystore_clients, uids, &nuids, err,
	    sizeof(err)) == -1)
		refuse("%s: [keystore] clients: %s", opts.config, err);
	if (realpath(opts.config, abs) == NULL)
		fatal("%s", opts.config);
	config_path = xstrdup(abs);

	/* the passphrase is read, and checked, before anything else */
	kdb = open_keys();
	bind_all();
	if (!opts.foreground) {
		/* opened again by the process that stays */
		ks_db_close(kdb);
		kdb = NULL;
	}
	daemon_detach(&opts);
	if (kdb == NULL)
		kdb = open_keys();

	base = event_base_new();
	daemon_signals(base, parent_reload, parent_child_exit, NULL);
	parent_init(base, &cfg, kdb);
	respawn_init(&server, base, "keystore.server", start_server, NULL);
	respawn_run(&server);
	daemon_pidfile(&cfg, "keystore");
	log_info("started listen=%d socket=%s", nlisten - 1,
	    cfg.keystore_socket);
	event_base_dispatch(base);

	respawn_stop(&server);
	if (server.pid > 0)
		waitpid(server.pid, NULL, 0);
	respawn_free(&server);
	if (server_ipc != NULL)
		ipc_conn_free(server_ipc);
	for (i = 0; i < nlisten; i++)
		close(listen_fds[i]);
	unlink(cfg.keystore_socket);
	parent_fini();
	ks_db_close(kdb);
	daemon_pidfile_remove();
	log_info("stopped");
	config_free(&cfg);
	free(config_path);
	event_base_free(base);
	return respawn_failed() ? 1 : 0;
}
