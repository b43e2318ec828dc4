/*
 * submitd.h - what the files of submitd share: the roles' entry points
 * and the messages between them.
 *
 * Processes (see submitd.c):
 *   submitd		root parent: PAM, the user database (sender
 *			identity, limits, the daily quota and lockout),
 *			the Received header and the hand-off to smtpd's
 *			queue.
 *   submitd.smtp	[global] user, chrooted to empty_dir: the SMTP
 *			dialogue (common/smtp), SASL decoding (auth.c).
 *   submitd.header	[global] user, chrooted to empty_dir: reads the
 *			header of each message for the parent (header.c).
 *
 * Messages from submitd.smtp to the parent; the IPC id is the child's
 * session number and every answer carries it back.  The client's address
 * is never among them: the parent reads it from the socket itself.
 *
 *   IPC_PARENT_HELLO	str "smtp" (first, once the privileges are
 *			dropped)
 *   IPC_PARENT_SESSION_START  no fields; fd: a duplicate of the accepted
 *			client socket (the parent calls getpeername() on
 *			it and closes it).  No answer.  Sent before any
 *			other message of that session.
 *   IPC_PARENT_AUTH	str authzid, str authcid, str password
 *			-> IPC_OK (str user, u32 max_rcpt_per_msg)
 *			-> IPC_ERR (u32 SUBMIT_AUTH_*, str text)
 *   IPC_PARENT_SENDER_OK  str address (MAIL FROM)
 *   IPC_PARENT_LOOKUP_RCPT str address (RCPT TO)
 *			-> IPC_OK (u32 0, str "") or IPC_ERR (u32 smtp code,
 *			   str reply text "5.7.1 ...")
 *   IPC_PARENT_SUBMIT	str helo, str tls protocol, str tls cipher,
 *			str mail from, u32 flags (Q_MSG_*: REQUIRETLS),
 *			u32 nrcpt, nrcpt x str rcpt; fd: the
 *			message in a memfd made with MFD_ALLOW_SEALING (the
 *			parent seals it against writing before reading it)
 *			-> IPC_OK (u32 0, str queue id) or IPC_ERR (u32 smtp
 *			   code, str reply text)
 *   IPC_PARENT_SESSION_END no fields (no answer)
 *
 * Messages between the parent and submitd.header; the IPC id is the
 * parent's number for the message:
 *
 *   IPC_PARENT_HELLO	str "header" (first, once the privileges are
 *			dropped)
 *   IPC_HEADER_SCAN	no fields; fd: the sealed message
 *			-> IPC_OK (u32 enum hdr_result, u32 no_header,
 *			   u32 has_date, u32 has_msgid, u32 nfrom,
 *			   nfrom x str From: address, u32 has_sender,
 *			   str Sender: address, str Message-ID value
 *			   cleaned with trace_msgid_clean(), "" if none)
 *			-> IPC_ERR (u32 0, str why it could not read it)
 */
#ifndef SM_SUBMITD_H
#define SM_SUBMITD_H

#include <stdint.h>

struct sm_config;

/* IPC_ERR codes of an IPC_PARENT_AUTH answer */
#define SUBMIT_AUTH_FAIL	1	/* 535 5.7.8 */
#define SUBMIT_AUTH_REFUSED	2	/* 421 4.7.0: address barred */
#define SUBMIT_AUTH_TEMP	3	/* 454 4.7.0 */

/* Recipients of one message, whatever a user's setting: keeps the
 * envelope inside one IPC message. */
#define SUBMIT_RCPT_HARDMAX	500

/* The roles the parent keeps running. */
enum submitd_role {
	ROLE_SMTP,
	ROLE_HEADER,
	ROLE_N
};

/* session.c: the submitd.smtp role */
void	 session_main(const struct sm_config *, void *, const int *,
	    const int *, int, int) __attribute__((noreturn));

/* header_role.c: the submitd.header role */
void	 header_main(const struct sm_config *, int)
	    __attribute__((noreturn));

/* parent.c and message.c: the root parent's answers */
struct event_base;
void	 parent_init(const struct sm_config *, struct event_base *,
	    const int *, int);
void	 parent_smtp_attach(int);
void	 parent_header_attach(int);
void	 parent_reconfigure(void);
void	 parent_shutdown(void);

/* submitd.c: the roles' keeper, told by the parent's files */
void	 submitd_role_ready(enum submitd_role);
void	 submitd_role_lost(enum submitd_role);

#endif
