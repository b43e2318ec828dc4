/*
 * queue.h - what the two files of smtpd.queue share: queue.c (scheduling,
 * delivery, bounces, peers) and queue_store.c (commit, intake, recovery).
 * Nothing outside smtpd.queue includes it.
 */
#ifndef SM_QUEUE_H
#define SM_QUEUE_H

#include <stddef.h>
#include <time.h>

struct event_base;
struct ipc_conn;
struct ipc_msg;
struct q_envelope;
struct qent;
struct sm_config;

/* who talks to the queue (the first member of each peer's conn arg) */
enum q_peer {
	QP_PARENT,		/* smtpd's root parent */
	QP_RECEIVER,		/* smtpd.receiver: a struct qclient */
	QP_CLIENT,		/* queue_socket (submitd): a struct qclient */
	QP_DELIVERY		/* smtpd.delivery: a struct dlvch */
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

extern int		 q_inc_fd, q_fd;	/* incoming/, queue/ */

/* queue.c */
struct qent *qent_add(const char *, time_t);
void	 q_schedule(void);

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
