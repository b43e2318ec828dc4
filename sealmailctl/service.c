/*
 * service.c - sealmailctl start, stop and status.
 *
 * start runs each daemon binary with "-c FILE" from $SEALMAIL_LIBEXECDIR,
 * else the installed libexec directory (in a build tree a daemon lives in
 * <dir>/<daemon>/<daemon>, which is tried second), and waits until the
 * daemon's pidfile <run_dir>/<daemon>.pid names a live process.  status
 * reads the pidfiles; stop sends SIGTERM and waits for the process to go.
 * A pidfile is trusted only when /proc/<pid>/exe is the daemon's binary,
 * so a stale pidfile naming a recycled pid never gets another process
 * killed.
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

static char *
daemon_binary(const char *name)
{
	const char	*dir = getenv("SEALMAIL_LIBEXECDIR");
	char		*p;

	if (dir == NULL || *dir == '\0')
		dir = SM_LIBEXECDIR;
	p = xasprintf("%s/%s", dir, name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	p = xasprintf("%s/%s/%s", dir, name, name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
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
		return ctl_err(c, "%s: no executable in $SEALMAIL_LIBEXECDIR "
		    "or %s", name, SM_LIBEXECDIR);
	if ((child = fork()) == -1) {
		free(bin);
		return ctl_err(c, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		/* stdout is ours (maybe a pipe); stderr shows early errors */
		if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1)
			(void)dup2(fd, STDOUT_FILENO);
		execl(bin, name, "-c", c->conf_path, (char *)NULL);
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
