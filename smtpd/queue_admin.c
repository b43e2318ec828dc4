/*
 * queue_admin.c - "sealmailctl queue list|show|delete|flush": reads and
 * edits smtpd's queue directory directly; see queue_admin.h.
 *
 * Runs inside sealmailctl, as root, on a directory that smtpd.queue owns.
 * A listing reads each envelope once (a message being committed is not in
 * queue/ yet, so it is never half-seen).  delete removes the files and
 * the directory; a running queue notices when its next attempt finds the
 * envelope gone.  flush sends SIGUSR1 to smtpd, whose parent passes it to
 * the queue, which makes every message due at once.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"
#include "queue_admin.h"

static int
open_queue(const char *queue_dir, char *err, size_t errlen)
{
	char	 path[4096];
	int	 fd;

	snprintf(path, sizeof(path), "%s/queue", queue_dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

static void
summary(int qfd, const struct q_envelope *e, FILE *out)
{
	struct stat	 st;
	char		 path[64];
	int		 i, pending = 0, remote = 0;

	for (i = 0; i < e->nrcpt; i++) {
		pending += e->rcpt[i].state == Q_RS_PENDING;
		remote += e->rcpt[i].state == Q_RS_REMOTE;
	}
	snprintf(path, sizeof(path), "%s/message", e->id);
	if (fstatat(qfd, path, &st, 0) == -1)
		st.st_size = -1;
	fprintf(out, "id=%s created=%lld size=%lld class=%s source=%s "
	    "from=<%s> rcpts=%d pending=%d remote=%d attempts=%d next=%lld\n",
	    e->id, (long long)e->created, (long long)st.st_size,
	    q_class_name(e->class), e->source, e->from, e->nrcpt, pending,
	    remote, e->attempts, (long long)e->next);
}

int
q_admin_list(const char *queue_dir, FILE *out, char *err, size_t errlen)
{
	struct q_envelope	 e;
	struct dirent		*de;
	DIR			*d;
	char			 path[300];
	int			 qfd, fd;

	if ((qfd = open_queue(queue_dir, err, errlen)) == -1)
		return -1;
	if ((fd = dup(qfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "opendir: %s", strerror(errno));
		close(qfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!q_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/envelope", de->d_name);
		if (q_env_read(qfd, path, &e) == -1)
			continue;	/* just delivered, or being deleted */
		summary(qfd, &e, out);
		q_env_free(&e);
	}
	closedir(d);
	close(qfd);
	return 0;
}

int
q_admin_show(const char *queue_dir, const char *id, FILE *out, char *err,
    size_t errlen)
{
	struct q_envelope	 e;
	char			 path[64], b[4096];
	ssize_t			 n;
	int			 qfd, fd, i, bol = 1, done = 0;

	if (!q_id_valid(id)) {
		snprintf(err, errlen, "%s: not a queue ID", id);
		return -1;
	}
	if ((qfd = open_queue(queue_dir, err, errlen)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/envelope", id);
	if (q_env_read(qfd, path, &e) == -1) {
		snprintf(err, errlen, "%s: no such message in the queue", id);
		close(qfd);
		return -1;
	}
	summary(qfd, &e, out);
	fprintf(out, "helo=%s peer=%s\n", e.helo, e.peer);
	for (i = 0; i < e.nrcpt; i++)
		fprintf(out, "rcpt=<%s> user=%s state=%s last=\"%s\"\n",
		    e.rcpt[i].addr, e.rcpt[i].user[0] ? e.rcpt[i].user : "-",
		    q_state_name(e.rcpt[i].state),
		    e.rcpt[i].last ? e.rcpt[i].last : "");
	q_env_free(&e);
	/* the header section, as text */
	snprintf(path, sizeof(path), "%s/message", id);
	if ((fd = openat(qfd, path, O_RDONLY | O_CLOEXEC)) != -1) {
		fprintf(out, "headers:\n");
		while (!done && (n = read(fd, b, sizeof(b))) > 0)
			for (i = 0; i < n && !done; i++) {
				if (b[i] == '\r')
					continue;
				if (b[i] == '\n' && bol)
					done = 1;
				else
					fputc(b[i], out);
				bol = b[i] == '\n';
			}
		close(fd);
	}
	close(qfd);
	return 0;
}

int
q_admin_delete(const char *queue_dir, const char *id, char *err,
    size_t errlen)
{
	static const char *const files[] = {
		"envelope", "envelope.tmp", "message"
	};
	char	 path[64];
	size_t	 i;
	int	 qfd;

	if (!q_id_valid(id)) {
		snprintf(err, errlen, "%s: not a queue ID", id);
		return -1;
	}
	if ((qfd = open_queue(queue_dir, err, errlen)) == -1)
		return -1;
	if (faccessat(qfd, id, F_OK, 0) == -1) {
		snprintf(err, errlen, "%s: no such message in the queue", id);
		close(qfd);
		return -1;
	}
	/* the envelope first: without it the queue no longer tries */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", id, files[i]);
		if (unlinkat(qfd, path, 0) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(qfd);
			return -1;
		}
	}
	if (unlinkat(qfd, id, AT_REMOVEDIR) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "rmdir %s: %s", id, strerror(errno));
		close(qfd);
		return -1;
	}
	fsync(qfd);
	close(qfd);
	return 0;
}

int
q_admin_flush(const char *run_dir, char *err, size_t errlen)
{
	char	 path[4096], b[32];
	ssize_t	 n;
	long	 pid;
	int	 fd;

	snprintf(path, sizeof(path), "%s/smtpd.pid", run_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "smtpd is not running (%s: %s)", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	pid = n > 0 ? (b[n] = '\0', strtol(b, NULL, 10)) : 0;
	if (pid <= 1 || kill((pid_t)pid, SIGUSR1) == -1) {
		snprintf(err, errlen, "smtpd is not running (pid %ld)", pid);
		return -1;
	}
	return 0;
}
