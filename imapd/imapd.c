/*
 * imapd.c - the IMAP server: entry point and the per-user process.
 *
 * Process design (docs/architecture.md, "Privilege separation"):
 *
 *   parent (root, parent.c)
 *	reads the config, loads the TLS key, binds [imapd] listen (STARTTLS)
 *	and listen_tls (implicit TLS), forks the pre-login process, checks
 *	passwords with PAM (service [submitd] pam_service), and forks one
 *	user process per user on that user's first login.
 *   prelogin ([global] user, chrooted to empty_dir, prelogin.c)
 *	accepts every connection, does TLS, serves the commands allowed
 *	before login, and sends credentials to the parent together with one
 *	end of a fresh socketpair.  After a successful login it stays a
 *	plaintext relay between the TLS connection and that socketpair.
 *   user ([global] mail_user, chrooted to <mail_root>/<domain>/<local>,
 *	this file)
 *	receives the other end of the socketpair from the parent and serves
 *	every session of that user (client.c, cmd-*.c).
 *
 * Why the pre-login process keeps the TLS connection and relays: the TLS
 * session state (keys, sequence numbers) cannot be handed to another
 * process with OpenSSL, and the alternative -- giving each user process
 * the server's private key so it can run TLS itself -- would put the key
 * in a process that parses mail.  With the relay, the private key stays
 * in the parent and the pre-login process (which holds the TLS context
 * but no mail), and a user process holds one user's mail and nothing
 * else.  The cost is one extra copy of the bytes, and one process that
 * every connection passes through (all of them event-driven).
 *
 * One process per user means every session of a user shares the same
 * open folders (mailbox.c): flag changes and expunges by one session are
 * seen by the others at once, and the per-folder index has exactly one
 * writer, so it needs no locking.  A user process with no session for
 * IMAP_USER_LINGER seconds asks the parent whether it may leave; the
 * parent agrees only when no connection is in flight to it, and from then
 * on starts a new process for that user's next login
 * (IPC_PARENT_USER_EXIT).
 *
 * imapd -T maildir -l host:port is a test mode with none of this: one
 * unprivileged process serving PREAUTH sessions on one Maildir.  It
 * exists for the unit-level protocol tests and for profiling; it refuses
 * to run as root.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "xmalloc.h"

size_t	 imap_max_literal = 64 * 1024 * 1024;
size_t	 imap_max_command = 64 * 1024 * 1024;

void	 imapd_parent(struct sm_config *, const struct daemon_opts *);

/* Start a logged-in session on fd and greet it with the tagged OK. */
static void
user_session(struct event_base *base, int fd, const char *user,
    const char *tag, const char *peer)
{
	struct bufferevent	*bev;
	struct client		*c;

	if (net_nonblock(fd) == -1) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	c = client_new(base, bev, user, peer, NULL, NULL);
	log_info("id=%s user=%s peer=%s session start", c->id, user, peer);
	if (tag != NULL)
		client_printf(c, "%s OK [CAPABILITY %s] Logged in\r\n", tag,
		    IMAP_CAPS_AUTH);
	else
		client_printf(c, "* PREAUTH [CAPABILITY %s] Sealmail ready\r\n",
		    IMAP_CAPS_AUTH);
}

static char		*user_name;
static uint32_t		 sessions_received;
static int		 exit_asked;
static time_t		 idle_since;
static long		 linger = IMAP_USER_LINGER;

/*
 * With no session for linger seconds, ask the parent whether we may go.
 * It agrees only if it has sent us exactly the sessions we received, so
 * no connection can be in flight to a process that is leaving; from its
 * "yes" on, the next login of this user gets a new process.
 */
static void
linger_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_conn	*conn = arg;
	struct ipc_msg	*m;
	time_t		 now = time(NULL);

	if (client_count() > 0 || exit_asked) {
		idle_since = 0;
		return;
	}
	if (idle_since == 0) {
		idle_since = now;
		return;
	}
	if (now - idle_since < linger)
		return;
	m = ipc_msg_new(IPC_PARENT_USER_EXIT, 0);
	ipc_add_u32(m, sessions_received);
	ipc_send(conn, m);
	exit_asked = 1;
}

static void
user_dispatch(struct ipc_conn *conn, struct ipc_msg *m, void *arg)
{
	struct event_base	*base = arg;
	const char		*user, *tag, *peer, *text;
	uint64_t		 quota;
	int			 fd;

	if (m->type == IPC_OK || m->type == IPC_ERR) {
		if (!exit_asked || ipc_get_str(m, &text) == -1 ||
		    ipc_get_end(m) == -1)
			fatalx("user: unexpected reply from parent");
		exit_asked = 0;
		idle_since = 0;
		if (m->type == IPC_OK && client_count() == 0) {
			log_debug("user=%s idle, exiting", user_name);
			exit(0);
		}
		return;
	}
	if (m->type != IPC_USER_CLIENT)
		fatalx("user: unexpected IPC message %u", m->type);
	sessions_received++;
	if (ipc_get_str(m, &user) == -1 || ipc_get_str(m, &tag) == -1 ||
	    ipc_get_str(m, &peer) == -1 || ipc_get_u64(m, &quota) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("user: bad IPC_USER_CLIENT");
	if (strcmp(user, user_name) != 0)
		fatalx("user: session for %s sent to %s", user, user_name);
	if ((fd = ipc_msg_takefd(m)) == -1)
		fatalx("user: IPC_USER_CLIENT without fd");
	imap_quota_bytes = quota;	/* the newest login's (quota.c) */
	user_session(base, fd, user, tag, peer);
}

static void
user_closed(struct ipc_conn *conn, void *arg)
{
	log_debug("parent went away");
	exit(0);
}

static void
index_tick(evutil_socket_t fd, short ev, void *arg)
{
	mbox_checkpoint();
}

static void
user_term(evutil_socket_t fd, short ev, void *arg)
{
	exit(0);
}

static void
user_atexit(void)
{
	mbox_checkpoint();
	mbox_release_idle();
}

/*
 * Folder indexes are written out a second after they change and when
 * the process ends, on SIGTERM too (the parent's, or its death's), so a
 * restart does not find them unclean and rebuild them (index.h).
 */
static void
user_index_sync(struct event_base *base)
{
	static struct event	*tick, *term;
	struct timeval		 tv = { 1, 0 };

	atexit(user_atexit);
	tick = event_new(base, -1, EV_PERSIST, index_tick, NULL);
	term = evsignal_new(base, SIGTERM, user_term, NULL);
	if (tick == NULL || term == NULL || event_add(tick, &tv) == -1 ||
	    event_add(term, NULL) == -1)
		fatalx("user: events");
}

/*
 * The user process: already chrooted and running as mail_user (the
 * parent's priv_fork child calls this after priv_drop).
 */
void	 imapd_user_main(int, const char *);

void
imapd_user_main(int fd, const char *user)
{
	struct event_base	*base;

	struct ipc_conn		*conn;
	struct event		*ev;
	struct timeval		 tv;
	const char		*e;

	user_name = xstrdup(user);
	if ((e = getenv("SEALMAIL_IMAPD_LINGER")) != NULL && atol(e) > 0)
		linger = atol(e);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	signal(SIGPIPE, SIG_IGN);
	mbox_set_root("/Maildir");
	mbox_ensure_defaults();
	user_index_sync(base);
	conn = ipc_conn_new(base, fd, user_dispatch, user_closed, base);
	tv.tv_sec = linger > 2 ? linger / 2 : 1;
	tv.tv_usec = 0;
	ev = event_new(base, -1, EV_PERSIST, linger_tick, conn);
	event_add(ev, &tv);
	event_base_dispatch(base);
	exit(0);
}

static void
test_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct event_base	*base = arg;
	char			 peer[64];
	int			 fd, one = 1;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	net_peer_str(fd, peer, sizeof(peer));
	user_session(base, fd, "test", NULL, peer);
}

static void __attribute__((noreturn))
test_mode(const char *maildir, const char *listen_addr)
{
	struct event_base	*base;
	struct event		*ev;
	int			 lfd;

	if (geteuid() == 0)
		fatalx("test mode (-T) does not run as root");
	log_init("imapd.test", 1, LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = net_listen(listen_addr, 128)) == -1)
		fatal("listen %s", listen_addr);
	printf("port=%d\n", net_local_port(lfd));
	fflush(stdout);
	mbox_set_root(maildir);
	mbox_ensure_defaults();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	user_index_sync(base);
	ev = event_new(base, lfd, EV_READ | EV_PERSIST, test_accept, base);
	event_add(ev, NULL);
	event_base_dispatch(base);
	exit(0);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: imapd [-dv] [-c config]\n"
	    "       imapd -T maildir -l host:port\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	struct daemon_opts	 o;
	struct sm_config	 cfg;
	const char		*test_dir = NULL;
	const char		*test_listen = "127.0.0.1:0";
	int			 ch;

	memset(&o, 0, sizeof(o));
	o.name = "imapd";
	o.config = config_default_path();
	while ((ch = getopt(argc, argv, "c:dvT:l:")) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'd':
			o.foreground = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'T':
			test_dir = optarg;
			break;
		case 'l':
			test_listen = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (test_dir != NULL)
		test_mode(test_dir, test_listen);
	memset(&cfg, 0, sizeof(cfg));
	daemon_load_config(&o, &cfg);
	if (cfg.imapd_max_literal > 0)
		imap_max_literal = cfg.imapd_max_literal;
	if (cfg.imapd_max_command > 0)
		imap_max_command = cfg.imapd_max_command;
	if (imap_max_command < imap_max_literal)
		imap_max_command = imap_max_literal;
	imapd_parent(&cfg, &o);
	return 0;
}
