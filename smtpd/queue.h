/*
 * queue.h - what the files of smtpd.queue share: queue.c (scheduling,
 * delivery, bounces, peers), queue_mta.c (the transmitters' side),
 * queue_store.c (commit, intake, recovery) and sign.c.
 * Nothing outside smtpd.queue includes it.
 */
#ifndef SM_QUEUE_H
#define SM_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qhandoff.h"

struct event_base;
struct ipc_conn;
struct ipc_msg;
struct mtach;
struct q_envelope;
struct qent;
struct sm_config;

/* who talks to the queue (the first member of each peer's conn arg) */
enum q_peer {
	QP_PARENT,		/* smtpd's root parent */
	QP_RECEIVER,		/* smtpd.receiver: a struct qclient */
	QP_CLIENT,		/* queue_socket (submitd): a struct qclient */
	QP_DELIVERY,		/* smtpd.delivery: a struct dlvch */
	QP_MTA			/* smtpd.mta: a struct mtach */
};

/* who sends IPC_QUEUE_MESSAGE: the receiver, or submitd's parent */
struct qclient {
	enum q_peer		 kind;		/* first */
	struct qclient		*next;
	struct ipc_conn		*conn;
	int			 trusted;	/* queue_socket (root) */
	int			 njobs;		/* messages being written */
	int			 gone;		/* closed, free at njobs 0 */
};

/*
 * A channel to a delivery process.  The parent hands over a new one for
 * slot when a process starts (IPC_QUEUE_DELIVERY); one that closes takes
 * the requests it held back to the queue (dch_closed).
 */
struct dlvch {
	enum q_peer		 kind;		/* QP_DELIVERY, first */
	struct ipc_conn		*conn;
	int			 slot;
	int			 busy;		/* requests outstanding */
};

struct qent {
	struct qent		*next;
	char			 id[Q_ID_LEN + 1];
	time_t			 next_try;
	int			 inflight;
	uint32_t		 req;		/* delivery or lookup request */
	struct dlvch		*dch;		/* at a delivery process */
	struct mtach		*mch;		/* at a transmitter */
	struct q_envelope	*env;		/* while in flight */
	int			 bounce_wait;	/* sender lookup outstanding */
	char			 waitdom[256];	/* due, but no transmitter
						   could take this domain */
};

extern int		 q_inc_fd, q_fd;	/* incoming/, queue/ */
extern struct event_base *q_base;
extern struct ipc_conn	*q_parent;
extern struct qent	*q_entries;
extern int		 q_ninflight;	/* requests out */
extern uint32_t		 q_next_req;

/* queue.c */
struct qent *qent_add(const char *, time_t);
struct qent *q_find_req(uint32_t);
void	 q_finish(struct qent *);
void	 q_schedule(void);
void	 queue_dispatch(struct ipc_conn *, struct ipc_msg *, void *);

/* queue_mta.c: the transmitters' side */
void	 q_mta_new(uint32_t, int);
int	 q_mta_any(void);
int	 q_mta_can(const char *);
int	 q_mta_send(struct qent *, const struct sm_config *);
void	 q_mta_delivered(struct mtach *, struct ipc_msg *);
void	 q_mta_done(struct mtach *, struct ipc_msg *);
void	 q_mta_bad(struct mtach *, const char *);

/* queue_dest.c: per-destination concurrency and dead destinations */
#define Q_DEST_TRACK	1000	/* destinations remembered */
enum q_dest_fb {
	Q_DEST_NONE,		/* says nothing of the servers */
	Q_DEST_OK,		/* a server answered */
	Q_DEST_FAIL		/* no server answered, or none did TLS */
};
struct q_dest;
struct q_dests {
	struct q_dest	*head;
	int		 max;		/* the highest limit */
	long		 dead_time;	/* seconds a dead one rests */
};
enum q_dest_fb q_dest_outcome(const char *);
int	 q_dest_limit(struct q_dests *, const char *, time_t);
const char *q_dest_dead(struct q_dests *, const char *, time_t, time_t *);
void	 q_dest_feedback(struct q_dests *, const char *, enum q_dest_fb,
	    const char *, time_t);
void	 q_dest_free(struct q_dests *);

/* queue_store.c */
int	 q_fsync_dir(int, const char *);
void	 q_rm_entry(int, const char *);
int	 q_store(struct q_envelope *, int, char *, size_t);
int	 q_env_save(struct q_envelope *);
void	 q_take(struct ipc_conn *, struct ipc_msg *, struct qclient *);
void	 q_recover(void);
void	 q_store_start(struct event_base *);

/* sign.c */
#define Q_SIGN_MAX	64	/* messages being signed at once */
enum q_sign_result {
	Q_SIGN_OK = 0,		/* message.signed written: q_sign_commit */
	Q_SIGN_DEFER,		/* not now: keep it, unsigned, and retry */
	Q_SIGN_FAIL		/* never: bounce it to the author */
};
typedef void	(*q_sign_fn)(void *, enum q_sign_result, const char *);
void	 q_sign_init(struct event_base *, const struct sm_config *,
	    struct ipc_conn *);
void	 q_sign_start(const char *, const char *, q_sign_fn, void *);
void	 q_sign_keystore(struct ipc_msg *);
size_t	 q_sign_busy(void);
int	 q_sign_commit(struct q_envelope *);
void	 q_sign_settle(const struct q_envelope *);

#endif
