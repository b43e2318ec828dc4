/*
 * service.c - sealmailctl start, stop, restart and status.
 *
 * start runs each daemon binary with "-c FILE" and waits until the
 * daemon's pidfile <run_dir>/<daemon>.pid names a live process.  The
 * binary is looked for, in order, in $SEALMAIL_LIBEXECDIR, next to this
 * sealmailctl when it runs from a build tree (build/sealmailctl/sealmailctl
 * finds build/smtpd/smtpd), and in the installed libexec directory; only a
 * regular executable file counts (a build tree's directory build/smtpd is
 * not a daemon).  In each directory both <dir>/<daemon> and
 * <dir>/<daemon>/<daemon> are tried.
 *
 * A daemon does not inherit the administrator's environment: it is started
 * with PATH, LANG=C and the few variables of env_keep[] (the time zone,
 * and the hooks the test harness and sanitizer builds need), so a stray
 * variable in root's shell cannot change how a daemon behaves.
 *
 * status reads the pidfiles; stop sends SIGTERM and waits for the process
 * to go; restart is stop then start.  A pidfile is trusted only when
 * /proc/<pid>/exe is the daemon's binary, so a stale pidfile naming a
 * recycled pid never gets another process killed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "xmalloc.h"

#ifndef SM_LIBEXECDIR
#define SM_LIBEXECDIR	"/usr/local/libexec/sealmail"
#endif

#define START_WAIT_MS	15000
#define STOP_WAIT_MS	15000

/* In start order; stop goes backwards. */
static const char *daemons[] = {
	"keystore", "mda", "smtpd", "submitd", "imapd"
};
#define NDAEMONS	(sizeof(daemons) / sizeof(daemons[0]))

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Variables a daemon keeps from sealmailctl's environment (prefixes). */
static const char *env_keep[] = {
	"TZ=",
	"SEALMAIL_",		/* the project's own knobs */
	"PAM_WRAPPER",		/* pam_wrapper, in tests: PAM_WRAPPER* */
	"LD_PRELOAD=",		/* ... which is preloaded */
	"UID_WRAPPER_DISABLE_DEEPBIND=",
	"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=",
};
#define NENV_KEEP	(sizeof(env_keep) / sizeof(env_keep[0]))
#define DAEMON_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"

extern char **environ;

/* The environment a daemon starts with; see the comment at the top. */
static char **
daemon_env(void)
{
	char	**env, **e;
	size_t	  n = 0, i;

	for (e = environ; *e != NULL; e++)
		n++;
	env = xcalloc(n + 3, sizeof(*env));
	n = 0;
	env[n++] = (char *)DAEMON_PATH;
	env[n++] = (char *)"LANG=C";
	for (e = environ; *e != NULL; e++)
		for (i = 0; i < NENV_KEEP; i++)
			if (strncmp(*e, env_keep[i], strlen(env_keep[i])) == 0) {
				env[n++] = *e;
				break;
			}
	env[n] = NULL;
	return env;
}

static int
is_executable_file(const char *p)
{
	struct stat	 st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(p, X_OK) == 0;
}

static char *
binary_in(const char *dir, const char *name)
{
	char	*p;

	p = xasprintf("%s/%s", dir, name);
	if (is_executable_file(p))
		return p;
	free(p);
	p = xasprintf("%s/%s/%s", dir, name, name);
	if (is_executable_file(p))
		return p;
	free(p);
	return NULL;
}

/*
 * The directory above this program's own when it runs from a build tree
 * (.../build/sealmailctl/sealmailctl), else NULL.
 */
static char *
build_tree_dir(void)
{
	char	 exe[4096], *slash;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if ((slash = strrchr(exe, '/')) == NULL ||
	    strcmp(slash + 1, "sealmailctl") != 0)
		return NULL;
	*slash = '\0';
	return xstrdup(exe);
}

static char *
daemon_binary(const char *name)
{
	const char	*dir = getenv("SEALMAIL_LIBEXECDIR");
	char		*p = NULL, *build;

	if (dir != NULL && *dir != '\0')
		return binary_in(dir, name);
	if ((build = build_tree_dir()) != NULL) {
		p = binary_in(build, name);
		free(build);
	}
	if (p == NULL)
		p = binary_in(SM_LIBEXECDIR, name);
	return p;
}

/* A process that exists and is not a zombie waiting for its parent. */
static int
pid_alive(pid_t pid)
{
	char	 path[64], buf[256], *rp;
	int	 fd;
	ssize_t	 n;

	if (kill(pid, 0) == -1 && errno != EPERM)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	if ((rp = strrchr(buf, ')')) != NULL && rp[1] == ' ' && rp[2] == 'Z')
		return 0;
	return 1;
}

/* Is pid running the daemon `name` (by its executable's file name)? */
static int
pid_is(pid_t pid, const char *name)
{
	char	 path[64], exe[4096];
	ssize_t	 n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) == -1)
		return errno == ENOENT ? 0 : 1;	/* no /proc: trust it */
	exe[n] = '\0';
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	return strcmp(basename(exe), name) == 0;
}

/*
 * The daemon's pid from its pidfile when that process runs the daemon;
 * 0 if not running, with *stale set when a pidfile was left behind.
 */
static pid_t
daemon_pid(struct ctl *c, const char *name, int *stale)
{
	char	*path, buf[32];
	ssize_t	 n;
	long	 pid;
	int	 fd;

	*stale = 0;
	path = xasprintf("%s/%s.pid", c->cfg.run_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		*stale = 1;
		return 0;
	}
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || !pid_alive((pid_t)pid) || !pid_is((pid_t)pid, name)) {
		*stale = 1;
		return 0;
	}
	return (pid_t)pid;
}

/* Check names against the daemon list; all daemons when none given. */
static int
select_daemons(struct ctl *c, int argc, char **argv, int sel[NDAEMONS])
{
	size_t	 i;
	int	 j, found;

	for (i = 0; i < NDAEMONS; i++)
		sel[i] = argc == 0;
	for (j = 0; j < argc; j++) {
		found = 0;
		for (i = 0; i < NDAEMONS; i++)
			if (strcmp(argv[j], daemons[i]) == 0)
				sel[i] = found = 1;
		if (!found)
			return ctl_err(c, "unknown daemon '%s' (want keystore, "
			    "mda, smtpd, submitd or imapd)", argv[j]);
	}
	return CTL_OK;
}

static int
start_one(struct ctl *c, const char *name)
{
	char	*bin;
	pid_t	 child, pid;
	int	 fd, st, stale, waited, exited = 0;

	if ((pid = daemon_pid(c, name, &stale)) != 0) {
		printf("%s state=running pid=%ld (already)\n", name, (long)pid);
		return CTL_OK;
	}
	if ((bin = daemon_binary(name)) == NULL)
		return ctl_err(c, "%s: no executable in $SEALMAIL_LIBEXECDIR, "
		    "the build tree or %s", name, SM_LIBEXECDIR);
	if ((child = fork()) == -1) {
		free(bin);
		return ctl_err(c, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		/* stdout is ours (maybe a pipe); stderr shows early errors */
		if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1)
			(void)dup2(fd, STDOUT_FILENO);
		execle(bin, name, "-c", c->conf_path, (char *)NULL,
		    daemon_env());
		fprintf(stderr, "sealmailctl: exec %s: %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	free(bin);
	for (waited = 0; waited < START_WAIT_MS; waited += 50) {
		if (!exited && waitpid(child, &st, WNOHANG) == child) {
			exited = 1;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				return ctl_err(c, "%s failed to start (exit "
				    "status %d); see its log", name,
				    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		}
		if ((pid = daemon_pid(c, name, &stale)) != 0) {
			printf("%s state=running pid=%ld\n", name, (long)pid);
			return CTL_OK;
		}
		sleep_ms(50);
	}
	return ctl_err(c, "%s did not write %s/%s.pid within %d seconds",
	    name, c->cfg.run_dir, name, START_WAIT_MS / 1000);
}

int
ctl_start(struct ctl *c, int argc, char **argv)
{
	size_t	 i;
	int	 sel[NDAEMONS], r = CTL_OK;

	if (select_daemons(c, argc, argv, sel) != CTL_OK)
		return CTL_USAGE;
	/* Daemons inherit our stdout; keep earlier lines out of theirs. */
	fflush(stdout);
	for (i = 0; i < NDAEMONS; i++) {
		if (sel[i] && start_one(c, daemons[i]) != CTL_OK)
			r = CTL_FAIL;
		fflush(stdout);
	}
	return r;
}

static int
stop_one(struct ctl *c, const char *name)
{
	pid_t	 pid;
	int	 stale, waited;

	if ((pid = daemon_pid(c, name, &stale)) == 0) {
		printf("%s state=stopped%s\n", name,
		    stale ? " (stale pidfile)" : "");
		return CTL_OK;
	}
	if (kill(pid, SIGTERM) == -1 && errno != ESRCH)
		return ctl_err(c, "%s: kill %ld: %s", name, (long)pid,
		    strerror(errno));
	for (waited = 0; waited < STOP_WAIT_MS; waited += 50) {
		if (!pid_alive(pid)) {
			printf("%s state=stopped pid=%ld\n", name, (long)pid);
			return CTL_OK;
		}
		sleep_ms(50);
	}
	return ctl_err(c, "%s (pid %ld) still running %d seconds after "
	    "SIGTERM", name, (long)pid, STOP_WAIT_MS / 1000);
}

int
ctl_stop(struct ctl *c, int argc, char **argv)
{
	size_t	 i;
	int	 sel[NDAEMONS], r = CTL_OK;

	if (select_daemons(c, argc, argv, sel) != CTL_OK)
		return CTL_USAGE;
	for (i = NDAEMONS; i-- > 0; )
		if (sel[i] && stop_one(c, daemons[i]) != CTL_OK)
			r = CTL_FAIL;
	return r;
}

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	size_t	 i;
	pid_t	 pid;
	int	 sel[NDAEMONS], stale, r = CTL_OK;

	if (select_daemons(c, argc, argv, sel) != CTL_OK)
		return CTL_USAGE;
	for (i = 0; i < NDAEMONS; i++) {
		if (!sel[i])
			continue;
		if ((pid = daemon_pid(c, daemons[i], &stale)) != 0)
			printf("%s state=running pid=%ld\n", daemons[i],
			    (long)pid);
		else {
			printf("%s state=stopped%s\n", daemons[i],
			    stale ? " (stale pidfile)" : "");
			r = CTL_NOTRUNNING;
		}
	}
	return r;
}

int
ctl_restart(struct ctl *c, int argc, char **argv)
{
	if (ctl_stop(c, argc, argv) != CTL_OK)
		return CTL_FAIL;
	return ctl_start(c, argc, argv);
}
