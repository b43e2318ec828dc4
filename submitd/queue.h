/*
 * queue.h - submitd's hand-off of a message to smtpd's queue (the
 * format: common/qhandoff.h).  Used by the root parent only.
 *
 *	if ((qfd = queue_connect(cfg->queue_socket)) == -1) answer 451;
 *	qj = queue_handoff(base, qfd, &env, msgfd, done, arg);
 *	done(arg, 1, "queue id") or done(arg, 0, "why not"), exactly once;
 *	queue_abandon(qj) before that: the client is gone (done follows).
 */
#ifndef SM_SUBMIT_QUEUE_H
#define SM_SUBMIT_QUEUE_H

#include <stdint.h>

#include "qhandoff.h"		/* Q_ID_LEN, q_id_new() */

struct event_base;
struct queue_job;

typedef void	(*queue_done_fn)(void *, int, const char *);

struct queue_envelope {
	const char	 *id;		/* a queue ID (q_id_new) */
	const char	 *from;		/* "" for <> */
	const char	 *helo;
	const char	 *peer;
	uint32_t	  nrcpt;
	char *const	 *rcpt;		/* as the client gave them */
	char *const	 *user;		/* local user; NULL: remote */
	const char	 *author;	/* whose keys sign it (qhandoff.h) */
	uint32_t	  flags;	/* Q_MSG_* */
};

int	 queue_connect(const char *);
struct queue_job *queue_handoff(struct event_base *, int,
	    const struct queue_envelope *, int, queue_done_fn, void *);
void	 queue_abandon(struct queue_job *);

#endif
