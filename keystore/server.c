/*
 * server.c - keystore.server: its entry after the parent re-executed the
 * keystore as "keystore -X server", and its channel to the parent.
 *
 * Starts as root only long enough to read the config and resolve the
 * user names of [keystore] clients, then drops to [global] user chrooted
 * to [global] empty_dir before it reads a byte from any client.  Its
 * descriptors: 3 the channel to the parent, from 4 on the listening
 * sockets it was handed (the AF_UNIX one is the signing socket, the
 * others the key server's), nothing else.
 *
 * The two services (signer.c, keyserver.c) ask the parent through
 * server_ask(): the message gets an id of ours, the parent's answer goes
 * to the callback with the caller's cookie.  A service whose client left
 * calls server_forget() and late answers are dropped.  The parent is
 * trusted: a malformed answer or a closed channel ends this process (the
 * parent starts another).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "keystore.h"
#include "log.h"
#include "privsep.h"
#include "xmalloc.h"


struct pending {
	uint32_t	 id;		/* 0: free */
	ks_answer_fn	 fn;		/* NULL: forgotten */
	void		*arg;
	uint32_t	 cookie;
};

static struct sm_config cfg;
static struct daemon_opts opts = { .name = "keystore" };
static struct ipc_conn *parent;
static struct pending pending[KS_PENDING_MAX];
static size_t	 npending;
static uint32_t	 next_id = 1;

int
ks_clients_parse(const char *list, uid_t *uids, size_t *n, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	char		*copy, *p, *tok;
	int		 r = 0;

	*n = 0;
	copy = xstrdup(list != NULL ? list : "");
	for (p = copy; r == 0 && (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (*n == KS_CLIENTS_MAX) {
			snprintf(err, errlen, "more than %d users",
			    KS_CLIENTS_MAX);
			r = -1;
		} else if ((pw = getpwnam(tok)) == NULL) {
			snprintf(err, errlen, "no such user \"%s\"", tok);
			r = -1;
		} else
			uids[(*n)++] = pw->pw_uid;
	}
	free(copy);
	return r;
}

int
server_ask(struct ipc_msg *m, ks_answer_fn fn, void *arg, uint32_t cookie)
{
	struct pending	*p;

	if (npending == KS_PENDING_MAX) {
		ipc_msg_free(m);
		return -1;
	}
	/* ids go up; a slot is the id modulo the table, skipping busy ones */
	for (;;) {
		if (next_id == 0)
			next_id = 1;
		p = &pending[next_id % KS_PENDING_MAX];
		if (p->id == 0)
			break;
		next_id++;
	}
	p->id = next_id++;
	p->fn = fn;
	p->arg = arg;
	p->cookie = cookie;
	npending++;
	m->id = p->id;
	ipc_send(parent, m);
	return 0;
}

void
server_forget(void *arg)
{
	size_t	 i;

	for (i = 0; i < KS_PENDING_MAX; i++)
		if (pending[i].id != 0 && pending[i].arg == arg)
			pending[i].fn = NULL;
}

static void
server_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct pending	*p = &pending[m->id % KS_PENDING_MAX];
	ks_answer_fn	 fn;

	(void)c;
	(void)arg;
	if (m->id == 0 || p->id != m->id)
		fatalx("answer %u from the parent matches no request", m->id);
	fn = p->fn;
	p->id = 0;
	npending--;
	if (fn != NULL)
		fn(m, p->arg, p->cookie);
}

static void
server_parent_closed(struct ipc_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	fatalx("the parent closed the channel");
}

static int
is_socket(int fd, int *family, int *listening)
{
	struct sockaddr_storage ss;
	socklen_t	 sl = sizeof(ss), il = sizeof(int);
	struct stat	 st;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, listening, &il) == -1)
		return 0;
	*family = ss.ss_family;
	return 1;
}

void
server_main(int argc, char **argv)
{
	struct priv_user unpriv;
	struct event_base *base;
	uid_t	 uids[KS_CLIENTS_MAX];
	size_t	 nuids;
	char	*nargv[8], err[512];
	int	 tcp[CFG_LISTEN_MAX], ntcp = 0, signfd = -1, fd, fam, lis;
	int	 i, nargc = 0;

	nargv[nargc++] = argv[0];
	for (i = 3; i < argc && nargc < 7; i++)
		nargv[nargc++] = argv[i];
	nargv[nargc] = NULL;
	daemon_getopt(nargc, nargv, &opts);
	daemon_load_config(&opts, &cfg);
	if (!priv_is_root() || strcmp(argv[2], "server") != 0 ||
	    !is_socket(ROLE_IPC_FD, &fam, &lis) || lis)
		fatalx("-X is how the keystore starts its own role");
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	log_setrole("keystore.server");
	prctl(PR_SET_NAME, "keystore.server", 0, 0, 0);
	for (fd = ROLE_LISTEN_FD; is_socket(fd, &fam, &lis); fd++) {
		if (!lis)
			fatalx("descriptor %d is not a listening socket", fd);
		if (fam == AF_UNIX)
			signfd = fd;
		else if (ntcp < CFG_LISTEN_MAX)
			tcp[ntcp++] = fd;
	}
	if (signfd == -1)
		fatalx("no signing socket was handed over");
	if (ks_clients_parse(cfg.keystore_clients, uids, &nuids, err,
	    sizeof(err)) == -1)
		fatalx("[keystore] clients: %s", err);
	priv_lookup_x(cfg.user, &unpriv);
	priv_drop(&unpriv, cfg.empty_dir);

	base = event_base_new();
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ROLE_IPC_FD, server_dispatch,
	    server_parent_closed, NULL);
	signer_init(base, signfd, uids, nuids);
	keyserver_init(base, &cfg, tcp, ntcp);
	event_base_dispatch(base);
	exit(0);
}
