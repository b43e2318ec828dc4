/*
 * queue.c - smtpd.queue: the mail queue.  Commits messages to disk before
 * anyone says 250, hands them to the delivery role, retries temporary
 * failures with backoff and bounces permanent ones (dsn.c).
 *
 * Privileges: runs as [global] queue_user, chrooted to queue_dir, which
 * it owns; it parses no network input.  Its inputs are the receiver
 * (untrusted: it may have been taken over, so its class is forced to
 * unsafe and it may queue only local recipients), submitd's privileged
 * parent on queue_socket (trusted after an SO_PEERCRED check), the
 * delivery role and the parent.
 *
 * Layout (inside the chroot):
 *	/incoming/<id>/{message,envelope}	being written; removed at start
 *	/queue/<id>/{message,envelope}		committed
 * A message is committed by fsync of both files and of the directory,
 * rename of incoming/<id> to queue/<id> and fsync of queue/.  Only then
 * is the sender told.  At start every queue/<id> is scheduled again.
 *
 * The disk is the truth: the in-memory list holds only IDs and times;
 * the envelope is read for each attempt and rewritten after it, so an
 * administrator's "sealmailctl queue delete" is noticed at the next try.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "smtpd.h"
#include "xmalloc.h"

#define Q_INFLIGHT_MAX	(2 * Q_DELIVERY_N)
#define Q_WRITERS	4

struct qent {
	struct qent		*next;
	char			 id[Q_ID_LEN + 1];
	time_t			 next_try;
	int			 inflight;
	uint32_t		 req;		/* delivery or lookup request */
	int			 dlv;		/* which delivery process */
	struct q_envelope	*env;		/* while in flight */
	int			 bounce_wait;	/* sender lookup outstanding */
};

struct qclient {
	struct qclient		*next;
	struct ipc_conn		*conn;
	int			 njobs;		/* messages being written */
	int			 gone;		/* closed, free at njobs 0 */
};

static struct sm_config	*cfg;
static struct event_base *base;
static struct ipc_conn	*parent_ipc, *recv_ipc;
static struct ipc_conn	*dlv_ipc[Q_DELIVERY_N];
static int		 dlv_busy[Q_DELIVERY_N], ndlv;
static struct qclient	*clients;
static struct qent	*entries;
static struct event	*run_ev;
static int		 inc_fd, q_fd;
static int		 ninflight;
static uint32_t		 next_req = 1;
static uid_t		 trusted_uid;

static void	q_schedule(void);
static void	q_finish(struct qent *);

/* ------------------------------------------------------------------ */
/* disk */

static int
fsync_dir(int dirfd, const char *path)
{
	int	 fd, r;

	if ((fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static void
rm_entry(int dirfd, const char *id)
{
	static const char *const files[] = {
		"message", "envelope", "envelope.tmp"
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

static int
copy_fd(int from, int to)
{
	char	 b[65536];
	ssize_t	 n, w;
	off_t	 off = 0;
	char	*p;

	while ((n = pread(from, b, sizeof(b), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		for (p = b; n > 0; p += w, n -= w)
			if ((w = write(to, p, (size_t)n)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return -1;
			}
	}
	return 0;
}

static struct qent *
qent_add(const char *id, time_t when)
{
	struct qent	*qe = xcalloc(1, sizeof(*qe));

	memcpy(qe->id, id, sizeof(qe->id));
	qe->next_try = when;
	qe->next = entries;
	entries = qe;
	return qe;
}

static void
qent_remove(struct qent *qe)
{
	struct qent	**pp;

	for (pp = &entries; *pp != NULL; pp = &(*pp)->next)
		if (*pp == qe) {
			*pp = qe->next;
			break;
		}
	if (qe->env != NULL) {
		q_env_free(qe->env);
		free(qe->env);
	}
	free(qe);
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
		if (mkdirat(inc_fd, e->id, 0700) == 0)
			break;
		if (errno != EEXIST || tries > 5) {
			snprintf(err, errlen, "mkdir: %s", strerror(errno));
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/message", e->id);
	if ((fd = openat(inc_fd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "open message: %s", strerror(errno));
		goto fail;
	}
	if (copy_fd(msgfd, fd) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "write message: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	close(fd);
	if ((dfd = openat(inc_fd, e->id, O_RDONLY | O_DIRECTORY |
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
	rm_entry(inc_fd, e->id);
	return -1;
}

/* Stage and commit one message at once (bounces). */
static int
q_store(struct q_envelope *e, int msgfd, char *err, size_t errlen)
{
	if (q_stage(e, msgfd, err, errlen) == -1)
		return -1;
	if (renameat(inc_fd, e->id, q_fd, e->id) == -1 ||
	    fsync_dir(q_fd, ".") == -1) {
		snprintf(err, errlen, "commit: %s", strerror(errno));
		rm_entry(inc_fd, e->id);
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
	struct qclient		*client;	/* NULL: the receiver */
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

static int
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

/*
 * Read an IPC_QUEUE_MESSAGE into e.  trusted: submitd's parent over
 * queue_socket; else the receiver, whose claims are narrowed.
 */
static int
q_msg_parse(struct ipc_msg *m, int trusted, struct q_envelope *e,
    int *code, char *err, size_t errlen)
{
	const char	*id, *from, *helo, *peer, *addr, *user;
	uint32_t	 class, n, flags, i;

	*code = 554;
	q_env_init(e);
	if (ipc_get_str(m, &id) == -1 || ipc_get_str(m, &from) == -1 ||
	    ipc_get_u32(m, &class) == -1 || ipc_get_str(m, &helo) == -1 ||
	    ipc_get_str(m, &peer) == -1 || ipc_get_u32(m, &n) == -1 ||
	    n == 0 || n > Q_MAX_RCPT)
		goto bad;
	if (!q_addr_safe(from) || !q_addr_safe(helo) || !q_addr_safe(peer))
		goto bad;
	if (q_id_valid(id))
		memcpy(e->id, id, Q_ID_LEN + 1);
	free(e->from);
	e->from = xstrdup(from);
	free(e->helo);
	e->helo = xstrdup(helo);
	free(e->peer);
	e->peer = xstrdup(peer);
	free(e->source);
	e->source = xstrdup(trusted ? "submit" : "smtp");
	/* port 25 mail is unsafe until the verifier exists */
	e->class = trusted && class == Q_CLASS_SAFE ? Q_CLASS_SAFE :
	    Q_CLASS_UNSAFE;
	for (i = 0; i < n; i++) {
		if (ipc_get_str(m, &addr) == -1 ||
		    ipc_get_str(m, &user) == -1 ||
		    ipc_get_u32(m, &flags) == -1 || !q_addr_safe(addr) ||
		    !q_addr_safe(user) || *addr == '\0' ||
		    strchr(user, ' ') != NULL)
			goto bad;
		if ((flags & Q_RCPT_LOCAL) && *user != '\0')
			q_env_add_rcpt(e, addr, user, Q_RS_PENDING);
		else if (trusted)
			q_env_add_rcpt(e, addr, "", Q_RS_REMOTE);
		else
			goto bad;	/* the receiver never relays */
	}
	if (ipc_get_end(m) == -1 || m->fd == -1)
		goto bad;
	e->created = time(NULL);
	e->next = e->created;
	return 0;
bad:
	snprintf(err, errlen, "5.5.0 Malformed request");
	q_env_free(e);
	return -1;
}

static void
q_take(struct ipc_conn *c, struct ipc_msg *m, struct qclient *client)
{
	struct q_envelope	 e;
	struct ipc_msg		*r;
	struct qjob		*j;
	char			 err[256];
	int			 code, trusted = client != NULL;

	if (q_msg_parse(m, trusted, &e, &code, err, sizeof(err)) == -1) {
		log_warnx("refused malformed message from %s",
		    trusted ? "queue_socket" : "receiver");
		r = ipc_msg_new(IPC_ERR, m->id);
		ipc_add_u32(r, (uint32_t)code);
		ipc_add_str(r, err);
		ipc_send(c, r);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->env = e;
	j->msgfd = ipc_msg_takefd(m);
	j->client = client;
	j->req = m->id;
	if (client != NULL)
		client->njobs++;
	q_job_submit(j);
}

static void
q_job_reply(struct qjob *j)
{
	struct q_envelope	*e = &j->env;
	struct ipc_msg		*r;
	struct ipc_conn		*c;
	int			 i;

	c = j->client != NULL ? j->client->conn : recv_ipc;
	if (j->failed) {
		log_warnx("id=%s not queued: %s", e->id, j->err);
		if (c == NULL)
			return;
		r = ipc_msg_new(IPC_ERR, j->req);
		ipc_add_u32(r, 451);
		ipc_add_str(r, "4.3.0 Error: queue write failed");
		ipc_send(c, r);
		return;
	}
	for (i = 0; i < e->nrcpt; i++)
		log_info("id=%s from=<%s> rcpt=<%s> user=%s class=%s "
		    "source=%s queued", e->id, e->from, e->rcpt[i].addr,
		    e->rcpt[i].user[0] ? e->rcpt[i].user : "-",
		    q_class_name(e->class), e->source);
	r = ipc_msg_new(IPC_QUEUE_COMMITTED, j->req);
	ipc_add_str(r, e->id);
	ipc_send(c, r);
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
		if (j->client != NULL && j->client->gone) {
			/* nobody to acknowledge: not ours to keep */
			rm_entry(inc_fd, j->env.id);
			j->failed = 1;
			snprintf(j->err, sizeof(j->err), "client went away");
		} else if (renameat2(inc_fd, j->env.id, q_fd, j->env.id,
		    RENAME_NOREPLACE) == -1) {
			snprintf(j->err, sizeof(j->err), "commit: %s",
			    strerror(errno));
			rm_entry(inc_fd, j->env.id);
			j->failed = 1;
		} else
			dirty = 1;
	}
	if (dirty && fsync_dir(q_fd, ".") == -1)
		fatal("fsync queue directory");
	for (j = list; j != NULL; j = next) {
		next = j->next;
		q_job_reply(j);
		if (j->client != NULL && --j->client->njobs == 0 &&
		    j->client->gone)
			free(j->client);
		q_env_free(&j->env);
		free(j);
	}
	q_schedule();
}

/* ------------------------------------------------------------------ */
/* bounces */

static int
dsn_queue(struct qent *qe, const char *user)
{
	struct q_envelope	 d;
	char			 err[256], path[64];
	int			 mfd, ofd, r;

	snprintf(path, sizeof(path), "%s/message", qe->id);
	if ((ofd = openat(q_fd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((mfd = memfd_create("dsn", MFD_CLOEXEC)) == -1) {
		close(ofd);
		return -1;
	}
	q_env_init(&d);
	free(d.source);
	d.source = xstrdup("dsn");
	d.class = Q_CLASS_SAFE;
	d.created = d.next = time(NULL);
	q_id_new(d.id);
	q_env_add_rcpt(&d, qe->env->from, user,
	    *user ? Q_RS_PENDING : Q_RS_REMOTE);
	r = q_dsn_write(mfd, cfg, qe->env, ofd, d.id);
	close(ofd);
	if (r == 0)
		r = q_store(&d, mfd, err, sizeof(err));
	close(mfd);
	if (r == 0) {
		log_info("id=%s dsn=%s to=<%s> queued", qe->id, d.id,
		    qe->env->from);
		qent_add(d.id, d.next);
	}
	q_env_free(&d);
	return r;
}

static void
bounce_answer(struct ipc_msg *m)
{
	struct qent	*qe;
	const char	*text;
	uint32_t	 code;
	int		 i;

	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("queue: bad lookup answer");
	for (qe = entries; qe != NULL; qe = qe->next)
		if (qe->bounce_wait && qe->req == m->id)
			break;
	if (qe == NULL)
		return;
	qe->bounce_wait = 0;
	if (dsn_queue(qe, m->type == IPC_OK ? text : "") == -1) {
		log_warnx("id=%s cannot queue the DSN; will retry", qe->id);
		qe->next_try = time(NULL) + 60;
		q_env_free(qe->env);
		free(qe->env);
		qe->env = NULL;
		qe->inflight = 0;
		return;
	}
	for (i = 0; i < qe->env->nrcpt; i++)
		if (qe->env->rcpt[i].state == Q_RS_FAILED)
			qe->env->rcpt[i].state = Q_RS_BOUNCED;
	q_finish(qe);
}

/* ------------------------------------------------------------------ */
/* delivery */

static struct qent *
find_req(uint32_t req)
{
	struct qent	*qe;

	for (qe = entries; qe != NULL; qe = qe->next)
		if (qe->inflight && qe->req == req)
			return qe;
	return NULL;
}

/*
 * After an attempt (or at expiry): bounce what failed, drop the entry
 * when nothing is left, else save the new state and schedule a retry.
 */
static void
q_finish(struct qent *qe)
{
	struct q_envelope	*e = qe->env;
	struct ipc_msg		*m;
	int			 i, pending = 0, failed = 0, remote = 0;

	for (i = 0; i < e->nrcpt; i++) {
		pending += e->rcpt[i].state == Q_RS_PENDING;
		failed += e->rcpt[i].state == Q_RS_FAILED;
		remote += e->rcpt[i].state == Q_RS_REMOTE;
	}
	if (failed > 0 && e->from[0] != '\0' &&
	    strcmp(e->source, "dsn") != 0) {
		/* is the sender one of ours?  The parent knows. */
		qe->req = next_req++;
		qe->bounce_wait = 1;
		m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, qe->req);
		ipc_add_str(m, e->from);
		ipc_send(parent_ipc, m);
		return;
	}
	if (failed > 0)
		log_info("id=%s from=<%s> failed, no DSN to the null sender",
		    e->id, e->from);
	if (pending == 0 && remote == 0) {
		/* no fsync: a removal lost to a crash means a repeat */
		log_info("id=%s removed from the queue", e->id);
		rm_entry(q_fd, e->id);
		qent_remove(qe);
		return;
	}
	if (pending > 0) {
		e->attempts++;
		e->next = time(NULL) + q_backoff(e->attempts, cfg->retry_min,
		    cfg->retry_max);
	} else
		e->next = e->created + cfg->queue_lifetime;
	if (q_env_save(e) == -1)
		log_warn("id=%s envelope update", e->id);
	qe->next_try = e->next;
	qe->inflight = 0;
	q_env_free(e);
	free(e);
	qe->env = NULL;
}

static void
q_expire(struct q_envelope *e)
{
	int	 i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING ||
		    e->rcpt[i].state == Q_RS_REMOTE) {
			e->rcpt[i].state = Q_RS_FAILED;
			free(e->rcpt[i].last);
			e->rcpt[i].last = xstrdup("4.4.7 Message expired in "
			    "the queue");
			log_info("id=%s rcpt=<%s> expired", e->id,
			    e->rcpt[i].addr);
		}
}

/*
 * THE TRANSMITTER HOOK.  Recipients in state Q_RS_REMOTE (submitted mail
 * to other domains, bounces to remote senders) wait here for the
 * transmitter role (smtpd.mta: sign through the keystore, MX lookup,
 * STARTTLS/DANE), which is a later issue.  It will be a fourth kind of
 * child beside delivery, fed IPC_MTA_DELIVER the way delivery is fed
 * IPC_MDA_DELIVER, answering IPC_QUEUE_DELIVERED per recipient; q_finish()
 * already turns those answers into done / retry / bounce.  Until then the
 * recipient stays queued and expires after queue_lifetime with a DSN.
 */
static void
q_transmit(struct q_envelope *e, int idx)
{
	log_debug("id=%s rcpt=<%s> waits for the transmitter", e->id,
	    e->rcpt[idx].addr);
}

static void
q_attempt(struct qent *qe)
{
	struct q_envelope	*e;
	struct ipc_msg		*m;
	char			 path[64];
	int			 fd, i, n = 0;

	e = xcalloc(1, sizeof(*e));
	snprintf(path, sizeof(path), "%s/envelope", qe->id);
	if (q_env_read(q_fd, path, e) == -1) {
		log_info("id=%s gone from the queue", qe->id);
		free(e);
		qent_remove(qe);
		return;
	}
	qe->env = e;
	qe->inflight = 1;
	if (time(NULL) - e->created > cfg->queue_lifetime)
		q_expire(e);
	for (i = 0; i < e->nrcpt; i++) {
		n += e->rcpt[i].state == Q_RS_PENDING;
		if (e->rcpt[i].state == Q_RS_REMOTE)
			q_transmit(e, i);
	}
	snprintf(path, sizeof(path), "%s/message", qe->id);
	if (n == 0 || (fd = openat(q_fd, path, O_RDONLY | O_CLOEXEC)) == -1) {
		q_finish(qe);
		return;
	}
	qe->req = next_req++;
	m = ipc_msg_new(IPC_MDA_DELIVER, qe->req);
	ipc_add_str(m, e->id);
	ipc_add_str(m, e->from);
	ipc_add_u32(m, (uint32_t)e->class);
	ipc_add_u32(m, (uint32_t)n);
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING) {
			ipc_add_u32(m, (uint32_t)i);
			ipc_add_str(m, e->rcpt[i].user);
		}
	ipc_msg_setfd(m, fd);
	/* the least busy delivery process */
	for (i = 1, qe->dlv = 0; i < ndlv; i++)
		if (dlv_busy[i] < dlv_busy[qe->dlv])
			qe->dlv = i;
	dlv_busy[qe->dlv]++;
	ipc_send(dlv_ipc[qe->dlv], m);
	ninflight++;
}

static void
dlv_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct qent	*qe;
	const char	*text, *id;
	uint32_t	 idx, status;
	struct q_rcpt	*r;

	switch (m->type) {
	case IPC_QUEUE_DELIVERED:
		if (ipc_get_u32(m, &idx) == -1 ||
		    ipc_get_u32(m, &status) == -1 ||
		    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1 ||
		    (qe = find_req(m->id)) == NULL ||
		    idx >= (uint32_t)qe->env->nrcpt)
			fatalx("queue: bad IPC_QUEUE_DELIVERED");
		r = &qe->env->rcpt[idx];
		free(r->last);
		r->last = xstrdup(text);
		if (status == Q_DLV_OK)
			r->state = Q_RS_DONE;
		else if (status == Q_DLV_PERMFAIL)
			r->state = Q_RS_FAILED;
		log_info("id=%s rcpt=<%s> user=%s class=%s status=%s %s",
		    qe->id, r->addr, r->user, q_class_name(qe->env->class),
		    status == Q_DLV_OK ? "sent" : status == Q_DLV_PERMFAIL ?
		    "bounced" : "deferred", text);
		break;
	case IPC_QUEUE_DELIVERY_DONE:
		if (ipc_get_str(m, &id) == -1 || ipc_get_end(m) == -1 ||
		    (qe = find_req(m->id)) == NULL)
			fatalx("queue: bad IPC_QUEUE_DELIVERY_DONE");
		ninflight--;
		dlv_busy[qe->dlv]--;
		q_finish(qe);
		q_schedule();
		break;
	default:
		fatalx("queue: unexpected message %u from delivery", m->type);
	}
}

static void
q_run(int fd, short ev, void *arg)
{
	struct qent	*qe, *next;
	time_t		 now = time(NULL);
	struct timeval	 tv = { 1, 0 };

	for (qe = entries; qe != NULL && ninflight < Q_INFLIGHT_MAX;
	    qe = next) {
		next = qe->next;
		if (!qe->inflight && qe->next_try <= now)
			q_attempt(qe);
	}
	evtimer_add(run_ev, &tv);
}

static void
q_schedule(void)
{
	event_active(run_ev, EV_TIMEOUT, 1);
}

static void
q_flush(int sig, short ev, void *arg)
{
	struct qent	*qe;

	log_info("flush: every message is due now");
	for (qe = entries; qe != NULL; qe = qe->next)
		if (!qe->inflight)
			qe->next_try = 0;
	q_schedule();
}

/* ------------------------------------------------------------------ */
/* peers */

static void
recv_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	if (m->type != IPC_QUEUE_MESSAGE)
		fatalx("queue: unexpected message %u from receiver", m->type);
	q_take(c, m, NULL);
}

static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	if (m->type != IPC_OK && m->type != IPC_ERR)
		fatalx("queue: unexpected message %u from parent", m->type);
	bounce_answer(m);
}

static void
peer_closed(struct ipc_conn *c, void *arg)
{
	fatalx("queue: %s went away", (const char *)arg);
}

static void
client_closed(struct ipc_conn *c, void *arg)
{
	struct qclient	*qc = arg, **pp;

	for (pp = &clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == qc) {
			*pp = qc->next;
			break;
		}
	ipc_conn_free(qc->conn);
	qc->conn = NULL;
	qc->gone = 1;
	if (qc->njobs == 0)
		free(qc);
}

static void
client_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	if (m->type != IPC_QUEUE_MESSAGE) {
		log_warnx("queue_socket: unexpected message %u", m->type);
		/* not freed here, inside its own dispatch: EOF will come */
		shutdown(ipc_conn_fd(c), SHUT_RDWR);
		return;
	}
	q_take(c, m, arg);
}

static void
client_accept(int lfd, short ev, void *arg)
{
	struct qclient	*qc;
	uid_t		 uid;
	pid_t		 pid;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	if (net_peercred(fd, &uid, &pid) == -1 ||
	    (uid != 0 && uid != trusted_uid)) {
		log_warnx("queue_socket: refused peer uid %u",
		    (unsigned)uid);
		close(fd);
		return;
	}
	qc = xcalloc(1, sizeof(*qc));
	qc->conn = ipc_conn_new(base, fd, client_dispatch, client_closed, qc);
	qc->next = clients;
	clients = qc;
}

/* ------------------------------------------------------------------ */

static void
q_recover(void)
{
	struct q_envelope	 e;
	struct dirent		*de;
	DIR			*d;
	char			 path[300];
	int			 fd, n = 0;

	if ((fd = dup(inc_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("opendir incoming");
	while ((de = readdir(d)) != NULL)
		if (q_id_valid(de->d_name)) {
			log_info("id=%s uncommitted, removed", de->d_name);
			rm_entry(inc_fd, de->d_name);
		}
	closedir(d);
	if ((fd = dup(q_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("opendir queue");
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!q_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/envelope", de->d_name);
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

void
queue_main(struct sm_config *c, int parent_fd, int recv_fd,
    const int *dlv_fds, int n_dlv, int qsock_fd, uid_t submit_uid)
{
	struct event	*ev, *usr1;
	pthread_t	 tid;
	int		 i;

	cfg = c;
	trusted_uid = submit_uid;
	base = event_base_new();
	daemon_child_signals(base);
	if ((mkdir("/incoming", 0700) == -1 && errno != EEXIST) ||
	    (mkdir("/queue", 0700) == -1 && errno != EEXIST))
		fatal("queue directories");
	if ((inc_fd = open("/incoming", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (q_fd = open("/queue", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("open queue directories");
	q_recover();
	parent_ipc = ipc_conn_new(base, parent_fd, parent_dispatch,
	    peer_closed, "parent");
	recv_ipc = ipc_conn_new(base, recv_fd, recv_dispatch, peer_closed,
	    "receiver");
	for (ndlv = 0; ndlv < n_dlv && ndlv < Q_DELIVERY_N; ndlv++)
		dlv_ipc[ndlv] = ipc_conn_new(base, dlv_fds[ndlv], dlv_dispatch,
		    peer_closed, "delivery");
	if (qsock_fd != -1) {
		ev = event_new(base, qsock_fd, EV_READ | EV_PERSIST,
		    client_accept, NULL);
		event_add(ev, NULL);
	}
	if (pipe2(job_pipe, O_CLOEXEC) == -1 || net_nonblock(job_pipe[0]) == -1)
		fatal("pipe");
	ev = event_new(base, job_pipe[0], EV_READ | EV_PERSIST, q_jobs_done,
	    NULL);
	event_add(ev, NULL);
	for (i = 0; i < Q_WRITERS; i++)
		if ((errno = pthread_create(&tid, NULL, q_writer, NULL)) != 0)
			fatal("pthread_create");
	usr1 = evsignal_new(base, SIGUSR1, q_flush, NULL);
	evsignal_add(usr1, NULL);
	run_ev = evtimer_new(base, q_run, NULL);
	q_schedule();
	log_info("queue ready");
	event_base_dispatch(base);
	_exit(0);
}
