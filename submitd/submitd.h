/*
 * submitd.h - what the files of submitd share: the two roles' entry
 * points and the messages between them.
 *
 * Processes (see submitd.c):
 *   submitd		root parent: PAM, the user database (sender
 *			identity, limits, the daily quota and lockout),
 *			the Received header and the hand-off to smtpd's
 *			queue.
 *   submitd.smtp	[global] user, chrooted to empty_dir: the SMTP
 *			dialogue (common/smtp), SASL decoding (auth.c) and
 *			the header scan (header.c).
 *
 * Messages from submitd.smtp to the parent; the IPC id is the child's
 * session number and every answer carries it back:
 *
 *   IPC_PARENT_AUTH	str client, str authzid, str authcid, str password
 *			-> IPC_OK (str user, u32 max_rcpt_per_msg)
 *			-> IPC_ERR (u32 SUBMIT_AUTH_*, str text)
 *   IPC_PARENT_SENDER_OK  str address (MAIL FROM)
 *   IPC_PARENT_LOOKUP_RCPT str address (RCPT TO)
 *			-> IPC_OK (u32 0, str "") or IPC_ERR (u32 smtp code,
 *			   str reply text "5.7.1 ...")
 *   IPC_PARENT_SUBMIT	str helo, str tls protocol, str tls cipher,
 *			str mail from, u32 nrcpt, nrcpt x str rcpt,
 *			u32 no_header, u32 has_date, u32 has_msgid,
 *			u32 nfrom, nfrom x str from, str sender ("": none),
 *			u64 size, and the message as an fd
 *			-> IPC_OK (u32 0, str queue id) or IPC_ERR (u32 smtp
 *			   code, str reply text)
 *   IPC_PARENT_SESSION_END str client (no answer)
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

/* session.c: the submitd.smtp role */
void	 session_main(const struct sm_config *, void *, const int *,
	    const int *, int, int) __attribute__((noreturn));

/* parent.c: the root parent's answers */
struct event_base;
struct ipc_conn;
struct ipc_msg;
void	 parent_init(const struct sm_config *, struct event_base *,
	    struct ipc_conn *);
void	 parent_dispatch(struct ipc_conn *, struct ipc_msg *, void *);
void	 parent_reconfigure(void);
void	 parent_shutdown(void);

#endif
