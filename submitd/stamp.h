/*
 * stamp.h - the header fields submitd adds to a submitted message
 * (Received with the tracking ID and, for ordinary users, the
 * authenticated user; Message-ID, Date and From when missing) and the
 * copy of the message behind them into a new memfd.
 *
 * Called by the root parent.  Everything that came from the client (the
 * HELO name, the TLS facts the child reports) is cleaned with
 * stamp_clean() before it is written into a header.
 */
#ifndef SM_SUBMIT_STAMP_H
#define SM_SUBMIT_STAMP_H

#include <stddef.h>
#include <time.h>

struct buf;

struct stamp_info {
	const char	*id;		/* tracking ID = queue ID (q_id_new) */
	const char	*hostname;	/* ours */
	const char	*helo;		/* the client's, untrusted */
	const char	*client;	/* numeric address */
	const char	*tls_proto;	/* untrusted, may be "" */
	const char	*tls_cipher;	/* untrusted, may be "" */
	const char	*user;		/* NULL: leave the user out */
	time_t		 now;
};

const char *stamp_clean(const char *, char *, size_t);
void	 stamp_date(char *, size_t, time_t);
void	 stamp_received(struct buf *, const struct stamp_info *);
void	 stamp_message_id(struct buf *, const char *, const char *);
/* The value stamp_message_id() writes: "<id.random@hostname>". */
void	 stamp_msgid_make(char *, size_t, const char *, const char *);

/*
 * A new memfd holding prefix, then (when body_only: an empty line, the
 * message had no header) the whole of src.  -1 on failure (logged).
 */
int	 stamp_message(const struct buf *, int, int);

/* A new memfd holding b.  -1 on failure (logged). */
int	 stamp_memfd(const struct buf *);

#endif
