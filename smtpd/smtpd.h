/*
 * smtpd.h - the roles of smtpd and what they say to each other.
 *
 * Processes (all forked by the root parent in smtpd.c):
 *
 *	smtpd (root)		binds [smtpd] listen and queue_socket and
 *				keeps them for every instance of a role,
 *				opens the user database, answers recipient
 *				lookups, restarts roles and wires them up.
 *	smtpd.receiver		[global] user, chrooted to empty_dir: the
 *				only process that parses SMTP (receiver.c).
 *	smtpd.queue		[global] queue_user, chrooted to queue_dir:
 *				owns the queue (queue.c, envelope.c, dsn.c)
 *				and accepts submitd's mail on queue_socket.
 *	smtpd.delivery		[mda] trusted_user, Q_DELIVERY_N of them:
 *				each speaks LMTP to mda over [mda]
 *				lmtp_socket, one message at a time
 *				(delivery.c); the queue feeds the least busy.
 *
 * A role that dies is restarted by the parent (common/respawn, with
 * backoff; after a burst of deaths smtpd gives up and exits non-zero).
 * The channels between roles are socketpairs the parent makes at each
 * start and hands over with the messages at the end of the list below:
 * a new receiver or delivery process is wired to the running queue, a
 * new queue to the running receiver and delivery processes.  The queue
 * on disk is the truth and is recovered by every new queue; what a dead
 * delivery process held is retried; a message the receiver had handed
 * to a queue that died gets 451, never 250.  See smtpd.c.
 *
 * IPC (common/ipc), every message built field by field:
 *
 *   receiver/queue -> parent
 *	IPC_PARENT_LOOKUP_RCPT	str address
 *	  <- IPC_OK		u32 0, str user (canonical local user)
 *	  <- IPC_ERR		u32 SMTP code (550 5.1.1 unknown, 554 5.7.1
 *				relay, 550 5.7.1 no unsafe mailbox (asked by
 *				the receiver only), 451 lookup failure),
 *				str text (enhanced code first)
 *
 *   receiver -> queue, and submitd -> queue over queue_socket (root only)
 *	IPC_QUEUE_MESSAGE	str id ("" lets the queue choose), str from,
 *				u32 class (Q_CLASS_*), str helo, str peer,
 *				u32 nrcpt, nrcpt x { str address, str user
 *				("" if remote), u32 flags (Q_RCPT_LOCAL) },
 *				fd: the complete message (any offset); every
 *				address must pass q_addr_valid()
 *	  <- IPC_QUEUE_COMMITTED str id: on disk, fsynced; now say 250
 *	  <- IPC_ERR		u32 SMTP code (451/452/553/554), str text
 *
 *   queue -> delivery
 *	IPC_MDA_DELIVER		str id, str from, u32 class, u32 n,
 *				n x { u32 index, str user }, fd: message
 *	  <- IPC_QUEUE_DELIVERED u32 index, u32 status (Q_DLV_*), str text
 *				(one per recipient, message id = request id)
 *	  <- IPC_QUEUE_DELIVERY_DONE str id
 *
 *   parent -> roles: a channel to a peer that (re)started (message id 0)
 *	IPC_QUEUE_RECEIVER	fd: to the receiver (the last one is dead)
 *	IPC_QUEUE_DELIVERY	u32 slot (0..Q_DELIVERY_N-1), fd: to that
 *				delivery process (any earlier one in the
 *				slot is dead: what it held is retried once
 *				its channel closes)
 *	IPC_RECEIVER_QUEUE	fd: to a new queue
 *	IPC_MDA_QUEUE		fd: a delivery process's, to a new queue
 */
#ifndef SM_SMTPD_H
#define SM_SMTPD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

struct sm_config;

#define Q_CLASS_UNSAFE	0
#define Q_CLASS_SAFE	1

#define Q_RCPT_LOCAL	0x01

#define Q_DLV_OK	0
#define Q_DLV_TEMPFAIL	1
#define Q_DLV_PERMFAIL	2

#define Q_ID_LEN	16	/* hex digits */
#define Q_DELIVERY_N	4	/* delivery processes (LMTP connections) */
#define Q_MAX_RCPT	1000

/* what an address in the envelope is (q_addr_valid) */
enum q_addr_kind {
	Q_ADDR_FROM,		/* envelope sender, "" for <> */
	Q_ADDR_RCPT,		/* recipient as the client gave it */
	Q_ADDR_USER		/* the local user it resolved to */
};

/* recipient states in the envelope */
enum q_rcpt_state {
	Q_RS_PENDING = 0,	/* local, not yet delivered */
	Q_RS_DONE,		/* delivered */
	Q_RS_FAILED,		/* permanent failure, not yet bounced */
	Q_RS_BOUNCED,		/* failed and the DSN is queued */
	Q_RS_REMOTE		/* for the transmitter (not written yet) */
};

struct q_rcpt {
	char			*addr;		/* as the client gave it */
	char			*user;		/* local user, or "" */
	enum q_rcpt_state	 state;
	char			*last;		/* last reply, for DSN */
};

struct q_envelope {
	char		 id[Q_ID_LEN + 1];
	time_t		 created;
	int		 class;
	char		*source;	/* "smtp", "submit", "dsn" */
	char		*helo;
	char		*peer;
	char		*from;
	int		 attempts;
	time_t		 next;		/* next attempt */
	struct q_rcpt	*rcpt;
	int		 nrcpt;
};

/* envelope.c: the on-disk envelope, "key value" lines (see there) */
void	 q_env_init(struct q_envelope *);
void	 q_env_free(struct q_envelope *);
void	 q_env_add_rcpt(struct q_envelope *, const char *, const char *,
	    enum q_rcpt_state);
int	 q_env_format(const struct q_envelope *, char **, size_t *);
int	 q_env_parse(const char *, size_t, struct q_envelope *, char *,
	    size_t);
int	 q_env_read(int, const char *, struct q_envelope *);
int	 q_env_write(int, const char *, const struct q_envelope *);
int	 q_id_valid(const char *);
void	 q_id_new(char *);
const char *q_class_name(int);
const char *q_state_name(enum q_rcpt_state);
int	 q_addr_safe(const char *);
int	 q_addr_valid(const char *, enum q_addr_kind);
time_t	 q_backoff(int, long, long);

/* dsn.c */
#define DSN_HEADERS_MAX	(8 * 1024)	/* of the original, returned */
int	 q_dsn_write(int, const struct sm_config *, const struct q_envelope *,
	    int, const char *);

/* roles */
void	 receiver_main(struct sm_config *, int *, int, int, int, SSL_CTX *);
void	 queue_main(struct sm_config *, int, int, int);
void	 delivery_main(struct sm_config *, int, int);

#endif
