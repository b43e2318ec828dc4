/*
 * qenv.h - the queue's envelope file: what to deliver to whom, and how
 * far delivery got (the format is in qenv.c).  Written and read by
 * smtpd.queue (queue_user, in its chroot), read by the administrator's
 * view of the queue (qadmin.c, in sealmailctl, as root), which is why it
 * lives here and not in smtpd/.
 *
 *	q_env_init(&e); ... q_env_add_rcpt(&e, addr, user, Q_RS_PENDING);
 *	q_env_write(dirfd, "envelope", &e);	(atomic: tmp, fsync, rename)
 *	q_env_read(dirfd, "envelope", &e);	(strict: -1 on any bad line)
 *	q_env_free(&e);
 */
#ifndef SM_QENV_H
#define SM_QENV_H

#include <stddef.h>
#include <time.h>

#include "qhandoff.h"

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
	int		 class;		/* Q_CLASS_* */
	char		*source;	/* "smtp", "submit", "dsn" */
	char		*helo;
	char		*peer;
	char		*from;
	int		 attempts;
	time_t		 next;		/* next attempt */
	char		*author;	/* whose keys sign it, "" none */
	int		 is_signed;	/* message holds its signatures */
	int		 requiretls;	/* RFC 8689, asked at submission */
	int		 delay_warned;	/* the delay notice went out */
	char		*authres;	/* our Authentication-Results field
					 * for local recipients, "" none */
	struct q_rcpt	*rcpt;
	int		 nrcpt;
};

void	 q_env_init(struct q_envelope *);
void	 q_env_free(struct q_envelope *);
void	 q_env_add_rcpt(struct q_envelope *, const char *, const char *,
	    enum q_rcpt_state);
int	 q_env_format(const struct q_envelope *, char **, size_t *);
int	 q_env_parse(const char *, size_t, struct q_envelope *, char *,
	    size_t);
int	 q_env_read(int, const char *, struct q_envelope *);
int	 q_env_write(int, const char *, const struct q_envelope *);
int	 q_env_of_handoff(const struct q_handoff *, int, struct q_envelope *,
	    const char **);
const char *q_state_name(enum q_rcpt_state);
/* An Authentication-Results field as sign.c writes it (see qenv.c). */
int	 q_authres_valid(const char *);
time_t	 q_backoff(int, long, long);

#endif
