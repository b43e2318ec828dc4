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
 *				only process that parses SMTP (receiver.c);
 *				also the callback responder
 *				(callback_resp.c).
 *	smtpd.queue		[global] queue_user, chrooted to queue_dir:
 *				owns the queue (queue.c, queue_store.c,
 *				dsn.c; common/qenv.c the envelope file)
 *				and accepts submitd's mail on queue_socket;
 *				signs what leaves through the keystore
 *				(sign.c).
 *	smtpd.delivery		[mda] trusted_user, Q_DELIVERY_N of them:
 *				each speaks LMTP to mda over [mda]
 *				lmtp_socket, one message at a time
 *				(delivery.c); the queue feeds the least busy.
 *	smtpd.mta		[global] user, chrooted to empty_dir,
 *				Q_MTA_N of them: the transmitter, sends
 *				mail for other domains by SMTP to their MX
 *				hosts (mta*.c), one message at a time; the
 *				queue's side is queue_mta.c.
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
 *   queue -> parent
 *	IPC_PARENT_KEYSTORE	(nothing): a connection to [keystore] socket
 *	  <- IPC_QUEUE_KEYSTORE	u32 errno; fd: the connection, made as
 *				queue_user, when errno is 0 (sign.c)
 *	IPC_PARENT_MTA_RESTART	u32 slot: the queue cut that transmitter
 *				off (queue_mta.c); it is killed and
 *				restarted, its channel handed over anew
 *
 *   receiver/queue -> parent
 *	IPC_PARENT_LOOKUP_RCPT	str address
 *	  <- IPC_OK		u32 flags (LOOKUP_SAFE_ONLY: the user keeps
 *				no unsafe mailbox; told the receiver only),
 *				str user (canonical local user)
 *	  <- IPC_ERR		u32 SMTP code (550 5.1.1 unknown, 554 5.7.1
 *				relay, 451 lookup failure), str text
 *				(enhanced code first)
 *
 *   receiver -> parent
 *	IPC_PARENT_REGISTRY	data: 1 to 4 names, each NUL-terminated
 *				(smtpd/registry_ask.c); anything else
 *				restarts the receiver
 *	  <- IPC_RECEIVER_REGISTRY u32 status (REGISTRY_ANS_*), u32 index of
 *				the name covered, str listed name, str note
 *				(common/registry.h)
 *
 *   receiver -> queue, and submitd -> queue over queue_socket (root only)
 *	IPC_QUEUE_MESSAGE	the queue hand-off, common/qhandoff.h
 *	  <- IPC_OK		str id: on disk, fsynced; now say 250
 *	  <- IPC_ERR		u32 SMTP code (451/452/553/554), str text
 *
 *   queue -> delivery
 *	IPC_DELIVERY_MESSAGE	str id, str from, u32 class, str authres
 *				(our Authentication-Results field for
 *				submitted mail, "" none: sign.c), u32 n,
 *				n x { u32 index, str user }, fd: message
 *	  <- IPC_QUEUE_DELIVERED u32 index, u32 status (Q_DLV_*), str text
 *				(one per recipient, message id = request id)
 *	  <- IPC_QUEUE_DELIVERY_DONE str id
 *
 *   queue -> mta
 *	IPC_MTA_MESSAGE		str id, str from, u32 flags (Q_MSG_*), u32 n,
 *				n x { u32 index, str address } grouped by
 *				domain, fd: message
 *	  <- IPC_QUEUE_DELIVERED u32 index, u32 status (Q_DLV_*), str text
 *				"NNN X.Y.Z remote text (where)", checked by
 *				the queue (mta_text_valid)
 *	  <- IPC_QUEUE_DELIVERY_DONE str id
 *
 *   mta -> parent -> receiver: the callback (callback.h, callback_parent.c)
 *	IPC_PARENT_CBK_OPEN	str session ID, str address: before the first
 *				MAIL of a session to a receiver that offered
 *				SEALMAIL-CALLBACK
 *	IPC_PARENT_CBK_CLOSE	str session ID: that session closed
 *	IPC_RECEIVER_CBK_OPEN	u32 mta slot, str session ID, str address
 *	IPC_RECEIVER_CBK_CLOSE	u32 mta slot, str session ID
 *	IPC_RECEIVER_CBK_DROP	u32 mta slot: it died or restarts
 *
 *   parent -> roles: a channel to a peer that (re)started (message id 0)
 *	IPC_QUEUE_RECEIVER	fd: to the receiver (the last one is dead)
 *	IPC_QUEUE_DELIVERY	u32 slot (0..Q_DELIVERY_N-1), fd: to that
 *				delivery process (any earlier one in the
 *				slot is dead: what it held is retried once
 *				its channel closes)
 *	IPC_QUEUE_MTA		u32 slot (0..Q_MTA_N-1), fd: to that
 *				transmitter, as IPC_QUEUE_DELIVERY
 *	IPC_RECEIVER_QUEUE	fd: to a new queue
 *	IPC_DELIVERY_QUEUE	fd: a delivery process's, to a new queue
 *	IPC_MTA_QUEUE		fd: a transmitter's, to a new queue
 */
#ifndef SM_SMTPD_H
#define SM_SMTPD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "qenv.h"
#include "qhandoff.h"

struct sm_config;

/* smtpd.delivery's answer per recipient (IPC_QUEUE_DELIVERED) */
#define Q_DLV_OK	0
#define Q_DLV_TEMPFAIL	1
#define Q_DLV_PERMFAIL	2

/* IPC_OK flags of a recipient lookup */
#define LOOKUP_SAFE_ONLY	0x01	/* refuse unsafe mail for this user */

#define Q_DELIVERY_N	4	/* delivery processes (LMTP connections) */
#define Q_MTA_N		4	/* transmitters (SMTP connections out) */

/* dsn.c */
#define DSN_HEADERS_MAX	(8 * 1024)	/* of the original, returned */
int	 q_dsn_write(int, const struct sm_config *, struct q_envelope *,
	    int, const char *);
int	 q_dsn_delay_due(const struct q_envelope *, const struct sm_config *,
	    time_t);

/* roles */
void	 receiver_init(struct sm_config *);
void	 receiver_main(struct sm_config *, int *, int, int, int, SSL_CTX *);

/* receiver_facts.c */
struct dns_addr;
struct sockaddr_storage;
struct smtp_session;
struct verdict_tls;
void	 received_header(int, struct smtp_session *, const char *,
	    const char *, const char *, const char *);
/* Received fields in the header section of the message in fd. */
int	 count_hops(int);
/* The client's address as SPF sees it: 0, or -1 for another family. */
int	 client_addr(const struct sockaddr_storage *, struct dns_addr *);
void	 tls_facts(struct smtp_session *, struct verdict_tls *);
void	 queue_main(struct sm_config *, int, int, int);
void	 delivery_main(struct sm_config *, int, int);
void	 mta_init(struct sm_config *);
void	 mta_main(struct sm_config *, int, int);

#endif
