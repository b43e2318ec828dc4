/*
 * ipc.h - typed, length-prefixed messages with file-descriptor passing,
 * over socketpairs between the processes of one program (and over the
 * few unix sockets between programs, e.g. submitd -> smtpd's queue).
 *
 * A message is a header (type, id, payload length) and a payload built
 * and read field by field: every field carries a one-byte tag, so a
 * reader that expects a string where the writer put a number gets an
 * error, not garbage.  Never send raw structs.
 *
 *	m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, req);
 *	ipc_add_str(m, rcpt);
 *	ipc_send(conn, m);		(takes ownership of m)
 *
 *	static void
 *	receiver_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
 *	{
 *		switch (m->type) {
 *		case IPC_OK:
 *			if (ipc_get_str(m, &user) == -1 ||
 *			    ipc_get_end(m) == -1)
 *				fatalx("receiver: bad IPC_OK");
 *			...
 *			break;
 *		default:
 *			fatalx("receiver: unexpected message %u", m->type);
 *		}
 *	}
 *
 * Types are named after the role that receives them, IPC_<ROLE>_<VERB>,
 * and grouped by it in the one enum below; IPC_OK and IPC_ERR are the
 * answers to whoever asked (same id as the request).  Each process reads
 * what it is sent in one dispatch function, a switch on the type (a root
 * parent: one for each kind of child, which it restarts on its own).
 * What the default does depends on who the peer is:
 *
 *	a trusted internal peer		fatal: this process is broken or
 *	(the parent, a sibling role)	lied to, and is restarted
 *	an unprivileged child, read	that child is ended and restarted
 *	by its root parent		(respawn), never the parent
 *	another program (a socket	that connection is ended
 *	client, e.g. on queue_socket)
 *
 * The side that holds privileges treats every message as hostile: it
 * checks every field and ends the peer on the first bad one.  The
 * decoder (ipc_decode) is a parser of outside input and has a fuzz
 * target.
 */
#ifndef SM_IPC_H
#define SM_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_HDR_LEN	12
#define IPC_MAX_PAYLOAD	(256 * 1024)
#define IPC_FD_PENDING	(-2)	/* decoded: an fd travels with it */

enum ipc_type {
	IPC_NONE = 0,

	/* answers, to whoever asked (the id of the request) */
	IPC_OK = 1,		/* fields as the request defines */
	IPC_ERR,		/* u32 code, str text (as a rule) */

	/* to a root parent, from one of its unprivileged children */
	IPC_PARENT_AUTH = 100,	/* submitd, imapd: str user, str password */
	IPC_PARENT_LOOKUP_RCPT,	/* smtpd, submitd, mda: str address */
	IPC_PARENT_HELLO,	/* submitd roles: str role, first, once */
	IPC_PARENT_SENDER_OK,	/* submitd: str address (MAIL FROM) */
	IPC_PARENT_SUBMIT,	/* submitd: envelope + fd of the message */
	IPC_PARENT_SESSION_START,	/* submitd: fd of the client socket */
	IPC_PARENT_SESSION_END,	/* submitd: the session ended */
	IPC_PARENT_USER_EXIT,	/* imapd.user idle: u32 sessions received */
	IPC_PARENT_KEYSTORE,	/* smtpd.queue: a connection to the keystore */
	IPC_PARENT_MTA_RESTART,	/* smtpd.queue: u32 slot of a bad transmitter */
	IPC_PARENT_REGISTRY,	/* smtpd.receiver: data names (registry.h) */
	IPC_PARENT_CBK_OPEN,	/* smtpd.mta: str session ID, str address */
	IPC_PARENT_CBK_CLOSE,	/* smtpd.mta: str session ID */

	/* to smtpd.queue */
	IPC_QUEUE_MESSAGE = 200,	/* common/qhandoff.h; fd: the message */
	IPC_QUEUE_DELIVERED,	/* u32 rcpt index, u32 status, str text */
	IPC_QUEUE_DELIVERY_DONE,	/* str id: every rcpt answered */
	IPC_QUEUE_RECEIVER,	/* fd: channel to a (new) receiver */
	IPC_QUEUE_DELIVERY,	/* u32 slot, fd: to a delivery process */
	IPC_QUEUE_KEYSTORE,	/* u32 errno (0: fd is to the keystore) */
	IPC_QUEUE_MTA,		/* u32 slot, fd: to a transmitter */

	/* to smtpd.delivery */
	IPC_DELIVERY_MESSAGE = 300,	/* envelope + fd (smtpd.h) */
	IPC_DELIVERY_QUEUE,	/* fd: channel to a (new) queue */

	/* to imapd.user */
	IPC_USER_CLIENT = 400,	/* str user, str tag, str peer, u64 quota
				 * bytes; fd of a logged-in client */

	/* keystore (the signing protocol: common/ks_client.h) */
	IPC_KS_SIGN = 500,	/* str owner, str alg, str selector, data
				 * digest -> IPC_KS_SIGNATURE / IPC_ERR */
	IPC_KS_PUBKEY,		/* str address -> IPC_KS_PUBKEYS / IPC_ERR */
	IPC_KS_GETKEYS,		/* str owner -> IPC_KS_KEYS / IPC_ERR */
	IPC_KS_KEYS,		/* str domain, u32 n, n x (str alg, str sel,
				 * str record) */
	IPC_KS_SIGNATURE,	/* str domain, str selector, data signature */
	IPC_KS_PUBKEYS,		/* u32 n, n x (str sel, str alg, str key) */

	/* to submitd.header */
	IPC_HEADER_SCAN = 600,	/* fd of a message -> IPC_OK(facts)/ERR */

	/* to smtpd.receiver */
	IPC_RECEIVER_QUEUE = 700,	/* fd: channel to a (new) queue */
	IPC_RECEIVER_REGISTRY,	/* the answer to IPC_PARENT_REGISTRY */
	IPC_RECEIVER_CBK_OPEN,	/* u32 mta slot, str session ID, str address */
	IPC_RECEIVER_CBK_CLOSE,	/* u32 mta slot, str session ID */
	IPC_RECEIVER_CBK_DROP,	/* u32 mta slot: it died, its IDs go */

	/* to smtpd.mta */
	IPC_MTA_MESSAGE = 800,	/* envelope + fd (smtpd.h) */
	IPC_MTA_QUEUE,		/* fd: channel to a (new) queue */

	IPC_TYPE_MAX
};

struct ipc_msg {
	uint32_t	 type;
	uint32_t	 id;
	int		 fd;		/* -1: none */
	struct buf	 data;		/* payload */
	size_t		 rpos;		/* read position */
};

struct ipc_conn;
typedef void	(*ipc_dispatch_fn)(struct ipc_conn *, struct ipc_msg *,
		    void *);
typedef void	(*ipc_closed_fn)(struct ipc_conn *, void *);

struct event_base;

/* building and reading */
struct ipc_msg *ipc_msg_new(uint32_t, uint32_t);
void	 ipc_msg_free(struct ipc_msg *);
void	 ipc_msg_setfd(struct ipc_msg *, int);
int	 ipc_msg_takefd(struct ipc_msg *);
void	 ipc_add_u32(struct ipc_msg *, uint32_t);
void	 ipc_add_u64(struct ipc_msg *, uint64_t);
void	 ipc_add_str(struct ipc_msg *, const char *);
void	 ipc_add_data(struct ipc_msg *, const void *, size_t);
int	 ipc_get_u32(struct ipc_msg *, uint32_t *);
int	 ipc_get_u64(struct ipc_msg *, uint64_t *);
int	 ipc_get_str(struct ipc_msg *, const char **);
int	 ipc_get_data(struct ipc_msg *, const void **, size_t *);
int	 ipc_get_end(struct ipc_msg *);

/* wire format: decode one message from bytes (for streams and fuzzing) */
enum ipc_decode_result { IPC_DECODE_MORE, IPC_DECODE_DONE, IPC_DECODE_ERROR };
enum ipc_decode_result ipc_decode(const uint8_t *, size_t, struct ipc_msg **,
	    size_t *);
void	 ipc_encode(const struct ipc_msg *, struct buf *);

/* event-driven connection over a connected unix socket */
struct ipc_conn *ipc_conn_new(struct event_base *, int, ipc_dispatch_fn,
	    ipc_closed_fn, void *);
void	 ipc_conn_free(struct ipc_conn *);
void	 ipc_send(struct ipc_conn *, struct ipc_msg *);
int	 ipc_conn_fd(const struct ipc_conn *);
uint32_t ipc_conn_peer_uid(const struct ipc_conn *);

/* blocking use, for short-lived tools and simple request/response */
int	 ipc_send_sync(int, struct ipc_msg *);
void	 ipc_sync_lost(int *, const char *);
void	 ipc_send_sync_or_drop(int *, struct ipc_msg *, const char *);
int	 ipc_recv_sync(int, struct ipc_msg **);

#endif
