/*
 * parent.h - what the root parent's two files share: parent.c (the
 * sessions of submitd.smtp, AUTH, MAIL and RCPT) and message.c (a
 * message from DATA to the queue, with the submitd.header role's reading
 * of its header).  Used by the root parent only.
 */
#ifndef SM_SUBMIT_PARENT_H
#define SM_SUBMIT_PARENT_H

#include <stddef.h>
#include <stdint.h>

#include "userdb.h"

struct event_base;
struct ipc_msg;
struct msg_job;
struct sm_config;
struct userdb;

/* One session of the current submitd.smtp, known from its SESSION_START. */
struct psess {
	struct psess	*next;
	uint32_t	 id;
	char		 client[64];	/* from getpeername(); "": gone */
	char		 user[USERDB_ADDR_MAX + 1];	/* "": no AUTH */
	struct msg_job	*job;		/* the message being submitted */
};

extern const struct sm_config	*parent_cfg;
extern struct event_base	*parent_base;
extern struct userdb		*parent_udb;

/* parent.c */
struct psess	*psess_find(uint32_t);
void		 parent_answer_ok(uint32_t, const char *);
void		 parent_answer_err(uint32_t, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 parent_smtp_misbehaved(const char *);
const char	*parent_postmaster(void);
int		 parent_sender_check(const char *, const char *, const char *,
		    int *, char *, size_t);
int		 parent_rcpt_resolve(const char *, char *, size_t, int *,
		    char *, size_t);

/* message.c */
void		 msg_submit(struct psess *, struct ipc_msg *);
void		 msg_cancel(struct msg_job *);
void		 msg_shutdown(void);

#endif
