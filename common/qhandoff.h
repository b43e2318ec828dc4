/*
 * qhandoff.h - the queue hand-off: how a message enters smtpd's queue,
 * for every program that hands one over (smtpd.receiver, submitd's root
 * parent) and for the queue that takes it (smtpd.queue).  It holds the
 * message's vocabulary too: the queue ID, which is also the tracking ID
 * an administrator greps for from submission to the Maildir file, the
 * class and the recipient flags.
 *
 *	-> IPC_QUEUE_MESSAGE	str id ("" lets the queue choose), str from
 *				("" for <>), u32 class (Q_CLASS_*), str helo,
 *				str peer, str author ("" none: see below),
 *				u32 flags (Q_MSG_*), u32 nrcpt, nrcpt x { str address,
 *				str user ("" if remote), u32 flags
 *				(Q_RCPT_*) }; fd: the complete message
 *				(CRLF lines, any offset)
 *	<- IPC_OK		str id: on disk and fsynced, the message is
 *				the queue's; now the client may say 250
 *	<- IPC_ERR		u32 SMTP code (451/452/553/554), str text
 *				(enhanced code first): not queued
 *
 * Building:
 *	struct q_handoff h = { .id = id, .from = from, .class = Q_CLASS_SAFE,
 *	    .helo = helo, .peer = peer, .nrcpt = n, .rcpt = rcpts };
 *	ipc_send(conn, q_handoff_msg(&h, req, memfd));
 * Reading (the queue):
 *	if (q_handoff_read(m, &h, &code, err, sizeof(err)) == -1)
 *		answer IPC_ERR code err;
 *	... q_handoff_free(&h);
 * The answer, on the client's side:
 *	switch (q_handoff_answer(m, &id, &code, &text)) { 1, 0 or -1 }
 *
 * q_handoff_read() checks every field as if the sender were hostile (the
 * receiver parses network input and may have been taken over): every
 * address must be one (q_addr_valid: smtpd.delivery later writes them
 * into MAIL and RCPT), HELO and peer must not be able to end a record,
 * there is an fd, and nothing follows the last field.  What a sender may
 * claim (the class, remote recipients) is the queue's policy, not this
 * module's.
 *
 * The author is whose keys sign the message before it leaves the queue
 * (the keystore's owner): the authenticated login of a submission (an
 * address, d= its domain, i= the address), or a domain for the mail the
 * system writes (q_system_owner), or "" for mail that is not ours to
 * sign (what the receiver takes in on port 25).  Only submitd's parent
 * may name one: the queue refuses a receiver's (q_env_of_handoff).
 */
#ifndef SM_QHANDOFF_H
#define SM_QHANDOFF_H

#include <stddef.h>
#include <stdint.h>

struct ipc_msg;

#define Q_ID_LEN	16	/* lowercase hex digits */
#define Q_MAX_RCPT	1000	/* per message */
#define Q_AUTHOR_MAX	254	/* the keystore's owner: address or domain */

#define Q_CLASS_UNSAFE	0	/* unknown is unsafe */
#define Q_CLASS_SAFE	1

#define Q_RCPT_LOCAL	0x01	/* user names the local mailbox */

#define Q_MSG_REQUIRETLS 0x01	/* RFC 8689: only over verified TLS */

/* what an address in the envelope is (q_addr_valid) */
enum q_addr_kind {
	Q_ADDR_FROM,		/* envelope sender, "" for <> */
	Q_ADDR_RCPT,		/* recipient as the client gave it */
	Q_ADDR_USER		/* the local user it resolved to */
};

struct q_handoff_rcpt {
	const char	*addr;		/* as the client gave it */
	const char	*user;		/* local user, "" if remote */
	uint32_t	 flags;		/* Q_RCPT_* */
};

struct q_handoff {
	const char		*id;	/* Q_ID_LEN hex, or "" */
	const char		*from;
	uint32_t		 class;	/* Q_CLASS_* */
	const char		*helo;
	const char		*peer;
	uint32_t		 nrcpt;
	struct q_handoff_rcpt	*rcpt;
	const char		*author;	/* "" or NULL: none */
	uint32_t		 flags;		/* Q_MSG_* */
};

/* the queue ID, which is the tracking ID (Q_ID_LEN + 1 bytes) */
void	 q_id_new(char *);
int	 q_id_valid(const char *);
const char *q_class_name(int);

/* what the queue accepts as an address, a HELO name or a peer */
int	 q_addr_valid(const char *, enum q_addr_kind);
int	 q_addr_safe(const char *);
/* an author: "", an address (Q_ADDR_USER) or a domain */
int	 q_author_valid(const char *);
/* the owner whose keys sign system mail: the postmaster's domain */
const char *q_system_owner(const char *, const char *);

struct ipc_msg *q_handoff_msg(const struct q_handoff *, uint32_t, int);
int	 q_handoff_read(struct ipc_msg *, struct q_handoff *, int *, char *,
	    size_t);
void	 q_handoff_free(struct q_handoff *);

struct ipc_msg *q_handoff_ok(uint32_t, const char *);
struct ipc_msg *q_handoff_err(uint32_t, int, const char *);
int	 q_handoff_answer(struct ipc_msg *, const char **, int *,
	    const char **);

#endif
