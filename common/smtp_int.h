/*
 * smtp_int.h - the session engine's own state, shared by its three files
 * and by nobody else: smtp.c (session life, I/O, replies), smtp_cmd.c
 * (the commands, the transaction and the facts about them) and
 * smtp_data.c (message content).  Callers use smtp.h only.
 */
#ifndef SM_SMTP_INT_H
#define SM_SMTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <netdb.h>

#include "smtp.h"

struct bufferevent;
struct evbuffer;
struct event;

#define SMTP_INPUT_HIWAT	(256 * 1024)
/* a client that does not read its replies is not read either */
#define SMTP_OUTPUT_HIWAT	(64 * 1024)
#define SMTP_OUTPUT_LOWAT	(16 * 1024)
#define SMTP_CHUNK		16384
#define SMTP_WRITE_TIMEOUT	300	/* seconds, when timeout_cmd is 0 */
#define SMTP_CLOSE_LINGER	10	/* seconds for the last reply */
#define SMTP_PEER_MAX		64	/* a numeric address and zone */

enum smtp_pending {
	PEND_NONE,
	PEND_HELO,
	PEND_MAIL,
	PEND_RCPT,
	PEND_DATAEND,
	PEND_CMD,		/* a caller's command (AUTH) */
	PEND_LINE		/* smtp_challenge: waiting for the client */
};

enum smtp_mode {
	MODE_GREETING,		/* nothing may be read yet */
	MODE_CMD,
	MODE_DATA,
	MODE_BDAT,
	MODE_SKIPLINE		/* discarding the rest of a too long line */
};

/* what the session waits for, and so which deadline runs */
enum smtp_wait {
	WAIT_GREETING,		/* the first command, from connect */
	WAIT_CMD,		/* a command line */
	WAIT_DATA,		/* message content */
	WAIT_SERVER		/* a hook's answer: no deadline */
};

/* content_feed() states */
enum content_state {
	CS_BOL,			/* at the start of a line (after CRLF) */
	CS_LINE,
	CS_CR,			/* CR seen */
	CS_DOT,			/* "." at the start of a line */
	CS_DOTCR		/* ".\r" at the start of a line */
};

#define CERR_SIZE	0x01
#define CERR_BARE	0x02
#define CERR_LINE	0x04
#define CERR_IO		0x08

struct smtp_session {
	uint64_t		 id;
	struct event_base	*base;
	struct bufferevent	*bev;
	struct event		*greet_ev;
	struct event		*resume_ev;
	struct event		*deadline_ev;
	struct net_slot		*slot;		/* the caller's, or NULL */
	const struct smtp_params *p;
	const struct smtp_hooks	*h;
	void			*arg;

	char			 peer[SMTP_PEER_MAX];	/* numeric */
	char			 helo[SMTP_DOMAIN_MAX + 1];
	int			 esmtp;
	int			 tls;
	int			 starttls_pending;

	enum smtp_phase		 phase;
	enum smtp_pending	 pending;
	enum smtp_mode		 mode;
	int			 closing;
	int			 in_process;
	int			 freed_guard;
	int			 dead;		/* free when unwound */
	int			 tls_cb_set;
	int			 linger;	/* closing, output pending */
	int			 errors;
	int			 ncommands;

	/* deadlines: smtp_wait_next() */
	enum smtp_wait		 wait;
	uint64_t		 start_ms;	/* the session began */
	uint64_t		 wait_ms;	/* the current wait began */
	uint64_t		 wait_bytes;	/* content bytes in this wait */
	uint64_t		 touch_bytes;	/* not yet reported to slot */

	/* the transaction */
	int			 in_txn;	/* txn_reset hook due */
	char			 from[SMTP_PATH_MAX + 1];
	int			 nrcpt;
	int			 replies_due;	/* LMTP: after the content */
	int			 smtputf8;
	int			 body8bit;
	int			 requiretls;	/* MAIL ... REQUIRETLS */
	char			 sessid[SMTP_SESSID_LEN + 1]; /* or "" */
	int			 used_bdat;
	int			 datafd;
	size_t			 msgsize;
	size_t			 discarded;	/* over the limit, dropped */
	size_t			 linelen;
	enum content_state	 cstate;
	int			 cerr;
	uint64_t		 chunk_left;
	int			 chunk_last;
	int			 chunk_refuse;	/* bytes to discard, reply */
	const char		*chunk_refuse_text;
	int			 chunk_refuse_code;

	void			(*line_cb)(struct smtp_session *,
				    const char *, void *);
	struct smtp_cmd		*cmd;	/* from the first command on */
};

/* smtp.c */
void	 smtp_put_line(struct smtp_session *, const char *);
void	 smtp_reply_fixed(struct smtp_session *, int, const char *);
void	 smtp_reply_content(struct smtp_session *, int, const char *);
void	 smtp_set_timeout(struct smtp_session *, int);
void	 smtp_wait_next(struct smtp_session *);
void	 smtp_content_bytes(struct smtp_session *, size_t);

/* smtp_cmd.c */
void	 smtp_cmd_line(struct smtp_session *, const char *, size_t);
void	 smtp_txn_reset(struct smtp_session *);

/* smtp_data.c */
int	 smtp_data_process(struct smtp_session *, struct evbuffer *);
int	 smtp_bdat_process(struct smtp_session *, struct evbuffer *);

#endif
