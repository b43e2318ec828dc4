/*
 * queue_store.c - the queue's disk: committing messages (writer threads,
 * one fsync of queue/ per batch, the acknowledgement only after it),
 * taking messages in (the hand-off, common/qhandoff.c, and the queue's
 * policy on what each client may claim), and recovery at start.  Part of
 * smtpd.queue (queue_user, chrooted to queue_dir); see queue.c for the
 * layout of the directory and the rest of the role.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "queue.h"
#include "smtpd.h"
#include "xmalloc.h"

#define Q_WRITERS	4

int		 q_inc_fd = -1, q_fd = -1;

/* ------------------------------------------------------------------ */
/* disk */

int
q_fsync_dir(int dirfd, const char *path)
{
	int	 fd, r;

	if ((fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * Remove a message.  The envelope goes first: an entry without one is
 * no longer a message (recovery finishes the removal), whereas an
 * envelope without its message would be retried for nothing.
 */
void
q_rm_entry(int dirfd, const char *id)
{
	static const char *const files[] = {
		"envelope", "envelope.tmp", "message", "message.signed"
	};
	char	 path[64];
	size_t	 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", id, files[i]);
		if (unlinkat(dirfd, path, 0) == -1 && errno != ENOENT)
			log_warn("unlink %s", path);
	}
	if (unlinkat(dirfd, id, AT_REMOVEDIR) == -1 && errno != ENOENT)
		log_warn("rmdir %s", id);
}

/*
 * Write message and envelope under incoming/ and make them durable; the
 * commit (rename into queue/, fsync of queue/) is the caller's.  e->id is
 * set (chosen here if empty or taken).  Runs in the writer threads: no
 * logging, no shared state but the two directory descriptors.
 */
static int
q_stage(struct q_envelope *e, int msgfd, char *err, size_t errlen)
{
	char	 path[64];
	int	 fd, dfd = -1, tries;

	for (tries = 0; ; tries++) {
		if (tries > 0 || !q_id_valid(e->id))
			q_id_new(e->id);
		if (faccessat(q_fd, e->id, F_OK, 0) == 0)
			continue;
		if (mkdirat(q_inc_fd, e->id, 0700) == 0)
			break;
		if (errno != EEXIST || tries > 5) {
			snprintf(err, errlen, "mkdir: %s", strerror(errno));
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/message", e->id);
	if ((fd = openat(q_inc_fd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "open message: %s", strerror(errno));
		goto fail;
	}
	if (io_copy_fd(msgfd, fd) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "write message: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	close(fd);
	if ((dfd = openat(q_inc_fd, e->id, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || q_env_write(dfd, "envelope", e) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "write envelope: %s", strerror(errno));
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (dfd != -1)
		close(dfd);
	q_rm_entry(q_inc_fd, e->id);
	return -1;
}

/* Stage and commit one message at once (bounces). */
int
q_store(struct q_envelope *e, int msgfd, char *err, size_t errlen)
{
	if (q_stage(e, msgfd, err, errlen) == -1)
		return -1;
	if (renameat(q_inc_fd, e->id, q_fd, e->id) == -1 ||
	    q_fsync_dir(q_fd, ".") == -1) {
		snprintf(err, errlen, "commit: %s", strerror(errno));
		q_rm_entry(q_inc_fd, e->id);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/*
 * Writer threads.  Committing costs three fsyncs of the message's own
 * files and one of queue/; done one after another in this process they
 * would bound throughput by the disk's latency.  So the per-message part
 * runs in Q_WRITERS threads (the file system batches their journal
 * commits), and the main thread renames every finished message into
 * queue/ and fsyncs queue/ once per batch before it acknowledges any.
 */
struct qjob {
	struct qjob		*next;
	struct q_envelope	 env;
	int			 msgfd;
	int			 failed;
	char			 err[256];
	struct qclient		*client;
	uint32_t		 req;
};

static pthread_mutex_t	 job_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 job_cv = PTHREAD_COND_INITIALIZER;
static struct qjob	*job_todo, **job_todo_tail = &job_todo;
static struct qjob	*job_done;
static int		 job_pipe[2];

static void *
q_writer(void *arg)
{
	struct qjob	*j;
	char		 c = 0;

	for (;;) {
		pthread_mutex_lock(&job_mtx);
		while (job_todo == NULL)
			pthread_cond_wait(&job_cv, &job_mtx);
		j = job_todo;
		if ((job_todo = j->next) == NULL)
			job_todo_tail = &job_todo;
		pthread_mutex_unlock(&job_mtx);

		j->failed = q_stage(&j->env, j->msgfd, j->err,
		    sizeof(j->err)) == -1;
		close(j->msgfd);
		j->msgfd = -1;

		pthread_mutex_lock(&job_mtx);
		j->next = job_done;
		job_done = j;
		pthread_mutex_unlock(&job_mtx);
		while (write(job_pipe[1], &c, 1) == -1 && errno == EINTR)
			;
	}
	return NULL;
}

static void
q_job_submit(struct qjob *j)
{
	pthread_mutex_lock(&job_mtx);
	j->next = NULL;
	*job_todo_tail = j;
	job_todo_tail = &j->next;
	pthread_cond_signal(&job_cv);
	pthread_mutex_unlock(&job_mtx);
}

int
q_env_save(struct q_envelope *e)
{
	int	 dfd, r;

	if ((dfd = openat(q_fd, e->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	r = q_env_write(dfd, "envelope", e);
	if (r == 0)
		r = fsync(dfd);
	close(dfd);
	return r;
}

/* ------------------------------------------------------------------ */
/* taking messages in */

void
q_take(struct ipc_conn *c, struct ipc_msg *m, struct qclient *client)
{
	struct q_handoff	 h;
	struct q_envelope	 e;
	struct qjob		*j;
	const char		*why;
	char			 err[256];
	int			 code, trusted = client->trusted, r;

	if (q_handoff_read(m, &h, &code, err, sizeof(err)) == -1)
		goto refuse;
	r = q_env_of_handoff(&h, trusted, &e, &why);
	q_handoff_free(&h);
	if (r == -1) {
		code = 554;
		snprintf(err, sizeof(err), "5.7.1 Not allowed: %s", why);
		goto refuse;
	}
	j = xcalloc(1, sizeof(*j));
	j->env = e;
	j->msgfd = ipc_msg_takefd(m);
	j->client = client;
	j->req = m->id;
	client->njobs++;
	q_job_submit(j);
	return;
refuse:
	log_warnx("%s: refused message: %d %s",
	    trusted ? "queue_socket" : "receiver", code, err);
	ipc_send(c, q_handoff_err(m->id, code, err));
}

static void
q_job_reply(struct qjob *j)
{
	struct q_envelope	*e = &j->env;
	struct ipc_conn		*c;
	int			 i;

	c = j->client->gone ? NULL : j->client->conn;
	if (j->failed) {
		log_warnx("id=%s not queued: %s", e->id, j->err);
		if (c != NULL)
			ipc_send(c, q_handoff_err(j->req, 451,
			    "4.3.0 Error: queue write failed"));
		return;
	}
	for (i = 0; i < e->nrcpt; i++)
		log_info("id=%s from=<%s> rcpt=<%s> user=%s class=%s "
		    "source=%s queued", e->id, e->from, e->rcpt[i].addr,
		    e->rcpt[i].user[0] ? e->rcpt[i].user : "-",
		    q_class_name(e->class), e->source);
	if (c != NULL)
		ipc_send(c, q_handoff_ok(j->req, e->id));
	qent_add(e->id, e->next);
}

/*
 * Messages the writers have made durable: rename them into queue/, make
 * the renames durable with one fsync, then (only then) acknowledge.
 */
static void
q_jobs_done(int fd, short ev, void *arg)
{
	struct qjob	*list, *j, *next;
	char		 b[512];
	int		 dirty = 0;

	while (read(job_pipe[0], b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&job_mtx);
	list = job_done;
	job_done = NULL;
	pthread_mutex_unlock(&job_mtx);
	for (j = list; j != NULL; j = j->next) {
		if (j->failed)
			continue;
		if (j->client->gone) {
			/*
			 * Nobody to acknowledge (the receiver died, submitd
			 * hung up): no client saw a 250, so not ours to keep.
			 */
			q_rm_entry(q_inc_fd, j->env.id);
			j->failed = 1;
			snprintf(j->err, sizeof(j->err), "client went away");
		} else if (renameat2(q_inc_fd, j->env.id, q_fd, j->env.id,
		    RENAME_NOREPLACE) == -1) {
			snprintf(j->err, sizeof(j->err), "commit: %s",
			    strerror(errno));
			q_rm_entry(q_inc_fd, j->env.id);
			j->failed = 1;
		} else
			dirty = 1;
	}
	if (dirty && q_fsync_dir(q_fd, ".") == -1)
		fatal("fsync queue directory");
	for (j = list; j != NULL; j = next) {
		next = j->next;
		q_job_reply(j);
		if (--j->client->njobs == 0 && j->client->gone)
			free(j->client);
		q_env_free(&j->env);
		free(j);
	}
	q_schedule();
}

/* ------------------------------------------------------------------ */

void
q_recover(void)
{
	struct q_envelope	 e;
	struct dirent		*de;
	DIR			*d;
	char			 path[300];
	int			 fd, n = 0;

	if ((fd = dup(q_inc_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("opendir incoming");
	while ((de = readdir(d)) != NULL)
		if (q_id_valid(de->d_name)) {
			log_info("id=%s uncommitted, removed", de->d_name);
			q_rm_entry(q_inc_fd, de->d_name);
		}
	closedir(d);
	if ((fd = dup(q_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("opendir queue");
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!q_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/envelope", de->d_name);
		if (faccessat(q_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT) {
			/* its removal was cut short (q_rm_entry) */
			log_info("id=%s half removed, removed", de->d_name);
			q_rm_entry(q_fd, de->d_name);
			continue;
		}
		if (q_env_read(q_fd, path, &e) == -1) {
			log_warnx("id=%s unreadable envelope, left alone",
			    de->d_name);
			continue;
		}
		qent_add(e.id, e.next);
		q_env_free(&e);
		n++;
	}
	closedir(d);
	log_info("queue recovered messages=%d", n);
}

/* The writer threads and the completion pipe they signal. */
void
q_store_start(struct event_base *base)
{
	struct event	*ev;
	pthread_t	 tid;
	int		 i;

	if (pipe2(job_pipe, O_CLOEXEC) == -1 || net_nonblock(job_pipe[0]) == -1)
		fatal("pipe");
	ev = event_new(base, job_pipe[0], EV_READ | EV_PERSIST, q_jobs_done,
	    NULL);
	event_add(ev, NULL);
	for (i = 0; i < Q_WRITERS; i++)
		if ((errno = pthread_create(&tid, NULL, q_writer, NULL)) != 0)
			fatal("pthread_create");
}
