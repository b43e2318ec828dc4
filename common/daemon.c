/*
 * daemon.c - the start-up and signal handling every daemon shares; see
 * daemon.h.  Runs in privileged parents (and, for signals, in children).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "io.h"
#include "log.h"
#include "xmalloc.h"

static char	*pidfile_path;
static int	 stopping;
static struct event_base *sig_base;
static void	(*reload_cb)(void *);
static void	(*child_cb)(pid_t, int, void *);
static void	*sig_arg;

static void __attribute__((noreturn))
daemon_usage(const char *name)
{
	fprintf(stderr, "usage: %s [-dv] [-c config]\n", name);
	exit(64);
}

void
daemon_getopt(int argc, char **argv, struct daemon_opts *o)
{
	int	 ch;

	o->config = config_default_path();
	o->foreground = 0;
	o->verbose = 0;
	while ((ch = getopt(argc, argv, "c:dv")) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			daemon_usage(o->name);
		}
	}
	if (optind != argc)
		daemon_usage(o->name);
}

/*
 * Load the config; a bad one is fatal with the message naming file, line
 * and key.  Sets up logging as the config asks.
 */
void
daemon_load_config(const struct daemon_opts *o, struct sm_config *c)
{
	char	 err[512];

	log_init(o->name, 1, LOG_LVL_INFO);
	if (config_load(o->config, c, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_init(o->name, o->foreground, o->verbose ? LOG_LVL_DEBUG :
	    c->log_level);
}

/*
 * SIGHUP: read the config again.  A bad file is logged (file, line, key)
 * and the running config stays; a good one replaces it.  What a daemon
 * can apply without a restart (log level, limits) it takes from the new
 * struct; listening addresses and users need a restart.
 */
int
daemon_reload_config(const struct daemon_opts *o, struct sm_config *c)
{
	struct sm_config n;
	char	 err[512];

	if (config_load(o->config, &n, err, sizeof(err)) == -1) {
		log_warnx("reload refused: %s; keeping the running config",
		    err);
		return -1;
	}
	config_free(c);
	*c = n;
	log_setlevel(o->verbose ? LOG_LVL_DEBUG : c->log_level);
	log_info("reloaded %s", o->config);
	return 0;
}

void
daemon_detach(const struct daemon_opts *o)
{
	if (o->foreground)
		return;
	if (daemon(0, 0) == -1)
		fatal("daemon");
}

/* Write <run_dir>/<name>.pid, refusing to run twice. */
void
daemon_pidfile(const struct sm_config *c, const char *name)
{
	struct buf b;
	char	 old[32];
	ssize_t	 n;
	long	 pid;
	int	 fd;

	pidfile_path = xasprintf("%s/%s.pid", c->run_dir, name);
	if ((fd = open(pidfile_path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, old, sizeof(old) - 1);
		close(fd);
		if (n > 0) {
			old[n] = '\0';
			pid = strtol(old, NULL, 10);
			if (pid > 1 && kill((pid_t)pid, 0) == 0 &&
			    pid != (long)getpid())
				fatalx("%s already running as pid %ld",
				    name, pid);
		}
	}
	buf_init(&b, 0);
	buf_printf(&b, "%ld\n", (long)getpid());
	fd = open(pidfile_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (fd == -1 || io_write_all(fd, b.data, b.len) == -1)
		fatal("pidfile %s", pidfile_path);
	close(fd);
	buf_free(&b);
}

void
daemon_pidfile_remove(void)
{
	if (pidfile_path != NULL)
		unlink(pidfile_path);
}

static void
daemon_on_signal(evutil_socket_t sig, short ev, void *arg)
{
	pid_t	 pid;
	int	 status;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("stopping on signal %d", (int)sig);
		stopping = 1;
		event_base_loopexit(sig_base, NULL);
		break;
	case SIGHUP:
		if (reload_cb != NULL) {
			log_info("reloading");
			reload_cb(sig_arg);
		}
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (child_cb != NULL)
				child_cb(pid, status, sig_arg);
		break;
	}
}

/*
 * A parent's signals: TERM/INT end the event loop, HUP calls reload,
 * CHLD reaps and reports each child to child (NULL: ignore).
 */
void
daemon_signals(struct event_base *base, void (*reload)(void *),
    void (*child)(pid_t, int, void *), void *arg)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct event *ev;
	size_t	 i;

	sig_base = base;
	reload_cb = reload;
	child_cb = child;
	sig_arg = arg;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(base, sigs[i], daemon_on_signal, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("evsignal_add %d", sigs[i]);
	}
}

/* A child's signals: TERM/INT end its loop; HUP is the parent's. */
void
daemon_child_signals(struct event_base *base)
{
	daemon_signals(base, NULL, NULL, NULL);
	signal(SIGHUP, SIG_IGN);
}

void
daemon_stop(void)
{
	stopping = 1;
	if (sig_base != NULL)
		event_base_loopexit(sig_base, NULL);
}

int
daemon_stopping(void)
{
	return stopping;
}

/*
 * In a freshly forked child: put the channel ipcfd on ROLE_IPC_FD and the
 * n listeners fds after it, close every other descriptor, and execute this
 * program again as "NAME -X ROLE -c CONFIG" (CONFIG absolute: the parent
 * may have changed directory), with the parent's -d and -v.  The role
 * reads its config as root and drops at once; a fresh image keeps nothing
 * of the parent's memory (keys, passwords, the user database).
 */
void
daemon_role_exec(const struct daemon_opts *o, const char *config,
    const char *role, int ipcfd, const int *fds, int n)
{
	char	*argv[9];
	int	 hi[ROLE_FDS_MAX], i, argc = 0;

	if (n + 1 > ROLE_FDS_MAX)
		fatalx("%s.%s: %d listeners", o->name, role, n);
	/* out of the way first, so no dup2 below overwrites a source */
	for (i = 0; i <= n; i++)
		if ((hi[i] = fcntl(i == 0 ? ipcfd : fds[i - 1],
		    F_DUPFD_CLOEXEC, ROLE_FDS_MAX + ROLE_IPC_FD)) == -1)
			fatal("%s.%s: dup", o->name, role);
	for (i = 0; i <= n; i++)
		if (dup2(hi[i], ROLE_IPC_FD + i) == -1)
			fatal("%s.%s: dup2", o->name, role);
	if (close_range(ROLE_IPC_FD + n + 1, ~0U, 0) == -1)
		fatal("%s.%s: close_range", o->name, role);
	argv[argc++] = (char *)o->name;
	argv[argc++] = (char *)"-X";
	argv[argc++] = (char *)role;
	argv[argc++] = (char *)"-c";
	argv[argc++] = (char *)config;
	if (o->foreground)
		argv[argc++] = (char *)"-d";
	if (o->verbose)
		argv[argc++] = (char *)"-v";
	argv[argc] = NULL;
	execv("/proc/self/exe", argv);
	fatal("%s.%s: exec", o->name, role);
}
