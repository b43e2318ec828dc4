/*
 * queue.c - submitd's hand-off of a finished message to smtpd's queue.
 *
 * Runs in the root parent (the child is chrooted and cannot reach the
 * socket).  One connection per message to [smtpd] queue_socket, one
 * request, one answer, in the queue hand-off's format
 * (common/qhandoff.h): the message is safe (the author authenticated),
 * its author is the login whose keys sign it (or the system's domain for
 * a notice submitd writes itself), its ID is the tracking ID submitd
 * chose and wrote into the Received header, and each recipient is local
 * (with the user it delivers to) or remote.
 *
 * The client's 250 waits for the queue's IPC_OK; anything else (an
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
#include "qhandoff.h"
#include "queue.h"
#include "xmalloc.h"

#define QUEUE_TIMEOUT	120	/* seconds for the queue to commit */

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

static void
job_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct queue_job *j = arg;
	const char *id, *text;
	int	 code;

	switch (q_handoff_answer(m, &id, &code, &text)) {
	case 1:
		job_finish(j, 1, id);
		break;
	case 0:
		log_warnx("queue: refused: %d %s", code, text);
		job_finish(j, 0, text);
		break;
	default:
		/* another program: its connection ends, not submitd */
		log_warnx("queue: malformed answer (type %u)", m->type);
		job_finish(j, 0, "malformed answer from the queue");
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
	struct q_handoff h;
	uint32_t i;

	j->done = done;
	j->arg = arg;
	j->conn = ipc_conn_new(base, qfd, job_dispatch, job_closed, j);
	j->timer = evtimer_new(base, job_timeout, j);
	j->reaper = event_new(base, -1, 0, job_free_cb, j);
	if (j->timer == NULL || j->reaper == NULL)
		fatalx("queue_handoff: event_new");
	evtimer_add(j->timer, &tv);

	memset(&h, 0, sizeof(h));
	h.id = env->id;
	h.from = env->from;
	h.class = Q_CLASS_SAFE;
	h.helo = env->helo;
	h.peer = env->peer;
	h.author = env->author;
	h.flags = env->flags;
	h.nrcpt = env->nrcpt;
	h.rcpt = xcalloc(env->nrcpt, sizeof(*h.rcpt));
	for (i = 0; i < env->nrcpt; i++) {
		h.rcpt[i].addr = env->rcpt[i];
		h.rcpt[i].user = env->user[i] != NULL ? env->user[i] : "";
		h.rcpt[i].flags = env->user[i] != NULL ? Q_RCPT_LOCAL : 0;
	}
	ipc_send(j->conn, q_handoff_msg(&h, 0, msgfd));
	free(h.rcpt);
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
