/*
 * trace.h - the submission trace: one record per message submitd
 * queued, so that an administrator answering an abuse report finds the
 * account that sent it (sealmailctl trace).
 *
 * Who calls it: submitd's root parent writes a record with
 * trace_charge(), which charges the user's send quota (common/userdb)
 * and records the message in the same transaction, so a message is
 * either charged and traceable or neither.  sealmailctl reads records
 * with trace_lookup().  Root processes only, like the rest of the user
 * database: trace.db lives in its environment (userdb_open() opens it).
 *
 * trace.db (btree), two kinds of keys:
 *	m:<tracking id>			the record (below)
 *	a:<time, 16 hex>:<tracking id>	empty: the age index
 * The age keys sort before the records and in time order, so the purge
 * (trace_purge(), run by every trace_charge()) reads only the oldest
 * entries and stops at the first one still kept: bounded work per
 * submission, at most TRACE_PURGE_MAX records.
 *
 * A record is a versioned field-by-field record (db.h): the tracking ID,
 * the authenticated user, the time it was queued, the recipient count,
 * the client's address, the envelope sender, the Message-ID (as the
 * header has it, or as submitd made it) and the size.
 *
 * The signature link: smtpd.queue's signer (smtpd/sign.c) writes the
 * tracking ID into every DKIM-Signature it makes as the tag
 * TRACE_DKIM_TAG, which verifiers ignore (RFC 6376 section 3.2) and the
 * signature covers; see sealmailctl/trace.c for how it is checked.
 */
#ifndef SM_TRACE_H
#define SM_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

struct buf;
struct userdb;

#define TRACE_ID_LEN		16	/* the queue ID: lowercase hex */
#define TRACE_MSGID_MAX		250	/* Message-ID kept, with <> */
#define TRACE_CLIENT_MAX	63	/* a numeric address */
#define TRACE_PURGE_MAX		32	/* records purged per write */
#define TRACE_DAYS_DEFAULT	90	/* [global] trace_days */
#define TRACE_DKIM_TAG		"sealmail_id"

struct trace_rec {
	char		 id[TRACE_ID_LEN + 1];
	char		 user[ADDR_MAX + 1];	/* authenticated */
	char		 from[ADDR_MAX + 1];	/* envelope; "": <> */
	char		 client[TRACE_CLIENT_MAX + 1];
	char		 msgid[TRACE_MSGID_MAX + 1];
	uint64_t	 time;			/* queued, seconds */
	uint32_t	 nrcpt;
	uint64_t	 size;			/* as submitted */
};

/* A tracking ID: exactly TRACE_ID_LEN lowercase hex digits.  1 or 0. */
int	 trace_id_valid(const char *);

/*
 * Copy a Message-ID field's value into out (TRACE_MSGID_MAX + 1 bytes):
 * unfolded, surrounding white space removed, anything but printable
 * ASCII dropped, cut at TRACE_MSGID_MAX.
 */
void	 trace_msgid_clean(const char *, size_t, char *);

/* The record encoding; decode: 0, or -1 when malformed. */
void	 trace_encode(const struct trace_rec *, struct buf *);
int	 trace_decode(const void *, size_t, struct trace_rec *);

/*
 * Charge the send quota of rec->user for rec->nrcpt recipients at
 * rec->time and, when it is accepted, record rec and purge records
 * older than keep_days ([global] trace_days; 0 keeps a record only
 * until the next submission), in one transaction.
 * Results as userdb_rcpt_charge() (userdb.h); on anything but UDB_OK
 * nothing is recorded.
 */
int	 trace_charge(struct userdb *, const struct trace_rec *,
	    unsigned int keep_days, unsigned int *used_r,
	    unsigned int *limit_r, char *err, size_t errlen);

/*
 * The record of tracking ID id: UDB_OK, UDB_NOTFOUND, UDB_INVALID (not
 * a tracking ID) or UDB_ERROR, with err.
 */
int	 trace_lookup(struct userdb *, const char *id, struct trace_rec *,
	    char *err, size_t errlen);

/*
 * Remove up to max records queued before cutoff, oldest first; *n_r the
 * number removed.  UDB_OK or UDB_ERROR.  trace_charge() does this.
 */
int	 trace_purge(struct userdb *, time_t cutoff, size_t max,
	    size_t *n_r);

#endif
