/*
 * queue.c - submitd's hand-off of a finished message to smtpd's queue.
 *
 * Runs in the root parent (the child is chrooted and cannot reach the
 * socket).  One connection per message to [smtpd] queue_socket, one
 * request, one answer, in the format smtpd/smtpd.h defines:
 *
 *	-> IPC_QUEUE_MESSAGE	str id (the tracking ID submitd chose and
 *				wrote into the Received header: 16 lowercase
 *				hex digits), str from ("" for <>),
 *				u32 class (1: safe), str helo, str peer,
 *				u32 nrcpt, nrcpt x { str address, str user
 *				(the local user it delivers to, "" if
 *				remote), u32 flags (1: local) },
 *				fd: the complete message (CRLF lines, any
 *				offset)
 *	<- IPC_QUEUE_COMMITTED	str id	(on disk and fsync'd: the
 *				message is the queue's)
 *	<- IPC_ERR		u32 SMTP code, str text	(not queued)
 *
 * The client's 250 waits for IPC_QUEUE_COMMITTED; anything else (an
 * error, the queue closing the connection, QUEUE_TIMEOUT seconds of
 * silence) is a temporary failure for the client.
 *
 * queue_abandon() is for a message whose session ended meanwhile: it
 * shuts our side of the connection.  smtpd's queue commits only for a
 * client that is still connected, so the message is dropped unless it
 * was already committed; either way the answer (or the end of the
 * connection) still comes to done.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "queue.h"
#include "xmalloc.h"

#define QUEUE_TIMEOUT	120	/* seconds for the queue to commit */

/* smtpd.h: Q_CLASS_SAFE and Q_RCPT_LOCAL */
#define QUEUE_CLASS_SAFE	1
#define QUEUE_RCPT_LOCAL	0x01

struct queue_job {
	struct ipc_conn	*conn;
	struct event	*timer;
	struct event	*reaper;
	queue_done_fn	 done;
	void		*arg;
	int		 finished;
};

int
queue_connect(const char *path)
{
	int	 fd;

	if ((fd = net_unix_connect(path)) == -1)
		log_warn("queue: connect %s", path);
	return fd;
}

static void
job_free_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue_job *j = arg;

	ipc_conn_free(j->conn);
	event_free(j->timer);
	event_free(j->reaper);
	free(j);
}

/*
 * Report once, then free the job from the event loop: we may be inside
 * the connection's own dispatch, which must not see it freed.
 */
static void
job_finish(struct queue_job *j, int ok, const char *text)
{
	if (j->finished)
		return;
	j->finished = 1;
	event_del(j->timer);
	j->done(j->arg, ok, text);
	event_active(j->reaper, EV_TIMEOUT, 1);
}

static int
queue_id_ok(const char *id)
{
	size_t	 n = strlen(id);

	if (n == 0 || n > 64)
		return 0;
	for (; *id != '\0'; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'a' &&
		    *id <= 'z') || (*id >= 'A' && *id <= 'Z') || *id == '.' ||
		    *id == '-' || *id == '_'))
			return 0;
	return 1;
}

static void
job_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct queue_job *j = arg;
	const char *id, *text;
	uint32_t code;

	switch (m->type) {
	case IPC_QUEUE_COMMITTED:
		if (ipc_get_str(m, &id) == -1 || ipc_get_end(m) == -1 ||
		    !queue_id_ok(id)) {
			log_warnx("queue: malformed IPC_QUEUE_COMMITTED");
			job_finish(j, 0, "malformed answer from the queue");
			return;
		}
		job_finish(j, 1, id);
		return;
	case IPC_ERR:
		if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1)
			text = "malformed error from the queue";
		log_warnx("queue: refused: %s", text);
		job_finish(j, 0, text);
		return;
	default:
		log_warnx("queue: unexpected message type %u", m->type);
		job_finish(j, 0, "unexpected answer from the queue");
	}
}

static void
job_closed(struct ipc_conn *c, void *arg)
{
	job_finish(arg, 0, "the queue closed the connection");
}

static void
job_timeout(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("queue: no answer in %d seconds", QUEUE_TIMEOUT);
	job_finish(arg, 0, "the queue did not answer");
}

struct queue_job *
queue_handoff(struct event_base *base, int qfd,
    const struct queue_envelope *env, int msgfd, queue_done_fn done,
    void *arg)
{
	struct queue_job *j = xcalloc(1, sizeof(*j));
	struct timeval tv = { QUEUE_TIMEOUT, 0 };
	struct ipc_msg *m;
	uint32_t i;

	j->done = done;
	j->arg = arg;
	j->conn = ipc_conn_new(base, qfd, job_dispatch, job_closed, j);
	j->timer = evtimer_new(base, job_timeout, j);
	j->reaper = event_new(base, -1, 0, job_free_cb, j);
	if (j->timer == NULL || j->reaper == NULL)
		fatalx("queue_handoff: event_new");
	evtimer_add(j->timer, &tv);

	m = ipc_msg_new(IPC_QUEUE_MESSAGE, 0);
	ipc_add_str(m, env->id);
	ipc_add_str(m, env->from);
	ipc_add_u32(m, QUEUE_CLASS_SAFE);
	ipc_add_str(m, env->helo);
	ipc_add_str(m, env->peer);
	ipc_add_u32(m, env->nrcpt);
	for (i = 0; i < env->nrcpt; i++) {
		ipc_add_str(m, env->rcpt[i]);
		ipc_add_str(m, env->user[i] != NULL ? env->user[i] : "");
		ipc_add_u32(m, env->user[i] != NULL ? QUEUE_RCPT_LOCAL : 0);
	}
	ipc_msg_setfd(m, msgfd);
	ipc_send(j->conn, m);
	return j;
}

/* Nobody waits for the answer any more; see the comment at the top. */
void
queue_abandon(struct queue_job *j)
{
	if (j->finished)
		return;
	if (shutdown(ipc_conn_fd(j->conn), SHUT_WR) == -1)
		log_warn("queue: shutdown");
}
