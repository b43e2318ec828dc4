/*
 * qadmin.c - "sealmailctl queue list|show|delete|flush": reads and edits
 * smtpd's queue directory directly; see qadmin.h.
 *
 * Runs inside sealmailctl, as root, on a directory that smtpd.queue owns.
 * A listing reads each envelope once (a message being committed is not in
 * queue/ yet, so it is never half-seen).  delete removes the files and
 * the directory; a running queue notices when its next attempt finds the
 * envelope gone.  flush sends SIGUSR1 to smtpd, whose parent passes it to
 * the queue, which makes every message due at once.
 *
 * The queue directory is written by smtpd.queue (the queue user), so
 * nothing in it is trusted by this root process: no link is followed
 * (each message directory and file is opened O_NOFOLLOW below the queue
 * descriptor), and every byte that came from a peer (envelope addresses,
 * HELO, replies, the header section) is printed escaped to printable
 * ASCII, as the quarantine listing does.
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

#include "buf.h"
#include "qadmin.h"
#include "qenv.h"

#define SHOW_HEADER_MAX	(256 * 1024)	/* of the header section shown */
#define NOFOLLOW_DIR	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* fprintf's "%s" for a string from the queue: escaped, see above. */
static const char *
esc(struct buf *b, const char *s)
{
	buf_reset(b);
	buf_add_escaped(b, s, strlen(s));
	return buf_cstr(b);
}

/* A message's directory below the queue, never through a link. */
static int
open_msgdir(int qfd, const char *id)
{
	return openat(qfd, id, NOFOLLOW_DIR);
}

static int
open_queue(const char *queue_dir, char *err, size_t errlen)
{
	char	 path[4096];
	int	 fd;

	snprintf(path, sizeof(path), "%s/queue", queue_dir);
	if ((fd = open(path, NOFOLLOW_DIR)) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

static void
summary(int mfd, const struct q_envelope *e, FILE *out)
{
	struct stat	 st;
	struct buf	 b1, b2;
	int		 i, pending = 0, remote = 0;

	for (i = 0; i < e->nrcpt; i++) {
		pending += e->rcpt[i].state == Q_RS_PENDING;
		remote += e->rcpt[i].state == Q_RS_REMOTE;
	}
	if (fstatat(mfd, "message", &st, AT_SYMLINK_NOFOLLOW) == -1)
		st.st_size = -1;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	fprintf(out, "id=%s created=%lld size=%lld class=%s source=%s "
	    "from=<%s> rcpts=%d pending=%d remote=%d attempts=%d next=%lld\n",
	    e->id, (long long)e->created, (long long)st.st_size,
	    q_class_name(e->class), esc(&b1, e->source), esc(&b2, e->from),
	    e->nrcpt, pending, remote, e->attempts, (long long)e->next);
	buf_free(&b1);
	buf_free(&b2);
}

int
q_admin_list(const char *queue_dir, FILE *out, char *err, size_t errlen)
{
	struct q_envelope	 e;
	struct dirent		*de;
	DIR			*d;
	int			 qfd, fd, mfd;

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
		if ((mfd = open_msgdir(qfd, de->d_name)) == -1)
			continue;	/* just delivered, or not a directory */
		if (q_env_read(mfd, "envelope", &e) == -1) {
			close(mfd);
			continue;	/* just delivered, or being deleted */
		}
		summary(mfd, &e, out);
		q_env_free(&e);
		close(mfd);
	}
	closedir(d);
	close(qfd);
	return 0;
}

/* The header section of the message in mfd, one escaped line each. */
static void
show_header(int mfd, FILE *out)
{
	struct buf	 line;
	char		 b[4096];
	ssize_t		 n;
	size_t		 total = 0;
	int		 fd, i, done = 0;

	if ((fd = openat(mfd, "message", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	fprintf(out, "headers:\n");
	buf_init(&line, 0);
	while (!done && total < SHOW_HEADER_MAX &&
	    (n = read(fd, b, sizeof(b))) > 0) {
		total += (size_t)n;
		for (i = 0; i < n && !done; i++) {
			if (b[i] == '\r' && i + 1 < n && b[i + 1] == '\n')
				continue;
			if (b[i] != '\n') {
				buf_add_escaped(&line, &b[i], 1);
				continue;
			}
			if (line.len == 0)
				done = 1;
			else
				fprintf(out, "%s\n", buf_cstr(&line));
			buf_reset(&line);
		}
	}
	if (line.len > 0)
		fprintf(out, "%s\n", buf_cstr(&line));
	buf_free(&line);
	close(fd);
}

int
q_admin_show(const char *queue_dir, const char *id, FILE *out, char *err,
    size_t errlen)
{
	struct q_envelope	 e;
	struct buf		 b1, b2, b3;
	int			 qfd, mfd, i;

	if (!q_id_valid(id)) {
		snprintf(err, errlen, "%s: not a queue ID", id);
		return -1;
	}
	if ((qfd = open_queue(queue_dir, err, errlen)) == -1)
		return -1;
	mfd = open_msgdir(qfd, id);
	close(qfd);
	if (mfd == -1 || q_env_read(mfd, "envelope", &e) == -1) {
		snprintf(err, errlen, "%s: no such message in the queue", id);
		if (mfd != -1)
			close(mfd);
		return -1;
	}
	summary(mfd, &e, out);
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	buf_init(&b3, 0);
	fprintf(out, "helo=%s peer=%s\n", esc(&b1, e.helo), esc(&b2, e.peer));
	for (i = 0; i < e.nrcpt; i++)
		fprintf(out, "rcpt=<%s> user=%s state=%s last=\"%s\"\n",
		    esc(&b1, e.rcpt[i].addr),
		    e.rcpt[i].user[0] ? esc(&b2, e.rcpt[i].user) : "-",
		    q_state_name(e.rcpt[i].state),
		    e.rcpt[i].last ? esc(&b3, e.rcpt[i].last) : "");
	buf_free(&b1);
	buf_free(&b2);
	buf_free(&b3);
	q_env_free(&e);
	show_header(mfd, out);
	close(mfd);
	return 0;
}

int
q_admin_delete(const char *queue_dir, const char *id, char *err,
    size_t errlen)
{
	static const char *const files[] = {
		"envelope", "envelope.tmp", "message"
	};
	size_t	 i;
	int	 qfd, mfd;

	if (!q_id_valid(id)) {
		snprintf(err, errlen, "%s: not a queue ID", id);
		return -1;
	}
	if ((qfd = open_queue(queue_dir, err, errlen)) == -1)
		return -1;
	if ((mfd = open_msgdir(qfd, id)) == -1) {
		snprintf(err, errlen, "%s: no such message in the queue", id);
		close(qfd);
		return -1;
	}
	/* the envelope first: without it the queue no longer tries */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (unlinkat(mfd, files[i], 0) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%s/%s: %s", id, files[i],
			    strerror(errno));
			close(mfd);
			close(qfd);
			return -1;
		}
	close(mfd);
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
