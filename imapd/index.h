/*
 * index.h - the per-folder IMAP index, a Berkeley DB btree kept in the
 * folder's own directory ("sealmail.index.db" next to cur/ new/ tmp/).
 *
 * It records what IMAP needs to be stable and what is costly to compute:
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ of the folder, the first UID that
 * is still \Recent (no session has selected the folder since it came), and
 * per UID the Maildir base name of the file, the flags and keywords, the
 * modseq of the last change, RFC822.SIZE, INTERNALDATE and the cached
 * ENVELOPE and BODYSTRUCTURE; and the UID ranges expunged lately with
 * their modseq.  The Maildir stays the truth for which messages exist and
 * their system flags; mailbox.c reconciles the two on every rescan.
 *
 * Only the user's own imapd process (vmail, chrooted to the user's mail
 * directory) opens it, and there is exactly one such process per user, so
 * the database needs no environment or locking: it is a cache that can be
 * rebuilt (with a new UIDVALIDITY) if it is lost or unreadable, or was
 * left unclean (index_unclean(): written since its last index_sync(), by
 * a process that did not end normally).  Writes are synced together by
 * index_sync() (mailbox.c calls it at most a second after a change and
 * when the folder is let go), not one by one.
 */
#ifndef SM_IMAP_INDEX_H
#define SM_IMAP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "maildir.h"

/* System flags, as bits: those of the Maildir info (common/maildir). */
#define IMSG_SEEN	MD_FLAG_SEEN
#define IMSG_ANSWERED	MD_FLAG_ANSWERED
#define IMSG_FLAGGED	MD_FLAG_FLAGGED
#define IMSG_DELETED	MD_FLAG_DELETED
#define IMSG_DRAFT	MD_FLAG_DRAFT
#define IMSG_PASSED	MD_FLAG_PASSED	/* Maildir "P", shown as $Forwarded */
#define IMSG_SYSFLAGS	MD_FLAGS_ALL

struct imsg {
	uint32_t	 uid;
	uint32_t	 flags;		/* IMSG_* */
	uint64_t	 modseq;
	uint64_t	 size;		/* with CRLF line ends */
	int64_t		 internaldate;
	char		*base;		/* unique part of the file name */
	char		*fname;		/* "cur/<base>:2,<flags>" or "new/.." */
	char		*keywords;	/* space separated, or NULL */
	char		*hdr;		/* header bytes kept in memory, or NULL */
	size_t		 hdrlen;
	int		 seen_on_disk;	/* scratch for the rescan */
};

struct index_meta {
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint64_t	 expunged_floor;	/* expunges to it forgotten */
	uint32_t	 recentuid;	/* first UID no session claimed */
	/*
	 * The mtimes (ns) of new/ and cur/ when a rescan last found them
	 * settled (older than the second before it), or 0: while both are
	 * still these, the messages here are the directory's, and a fresh
	 * open need not read it (mailbox.c).
	 */
	uint64_t	 synced_new;
	uint64_t	 synced_cur;
};

/*
 * UIDs lo..hi were expunged, the last of them at modseq (QRESYNC's
 * VANISHED (EARLIER)); see expunged.c.
 */
struct mbox_expunged {
	uint32_t	 lo;
	uint32_t	 hi;
	uint64_t	 modseq;
};

struct mbox_index;

struct mbox_index *index_open(const char *, char *, size_t);
void	 index_close(struct mbox_index *);
int	 index_get_meta(struct mbox_index *, struct index_meta *);
int	 index_put_meta(struct mbox_index *, const struct index_meta *);
int	 index_load(struct mbox_index *, int (*)(struct imsg *, void *),
	    void *);
int	 index_put(struct mbox_index *, const struct imsg *);
int	 index_del(struct mbox_index *, uint32_t);
int	 index_sync(struct mbox_index *);
int	 index_unclean(struct mbox_index *);
int	 index_is_dirty(const struct mbox_index *);
int	 index_put_expunged(struct mbox_index *, const struct mbox_expunged *);
int	 index_del_expunged(struct mbox_index *, uint32_t);
int	 index_load_expunged(struct mbox_index *,
	    void (*)(const struct mbox_expunged *, void *), void *);

/*
 * Cached ENVELOPE, BODY and BODYSTRUCTURE live in records of their own
 * (key: UID and one of these letters), read only when a FETCH asks, so a
 * folder's messages in memory stay small; so does the header block
 * (through its empty line, CRLF) that SEARCH and header FETCHes read,
 * so a large folder is searched from the index instead of its files.
 */
#define IDX_CACHE_ENVELOPE	'E'
#define IDX_CACHE_BODY		'B'
#define IDX_CACHE_BODYSTRUCTURE	'S'
#define IDX_CACHE_HEADER	'H'
#define IDX_CACHE_KINDS		{ IDX_CACHE_ENVELOPE, IDX_CACHE_BODY, \
				  IDX_CACHE_BODYSTRUCTURE, IDX_CACHE_HEADER }

int	 index_get_cache(struct mbox_index *, uint32_t, int, struct buf *);
int	 index_put_cache(struct mbox_index *, uint32_t, int, const char *);

struct imsg *imsg_new(void);
void	 imsg_free(struct imsg *);
void	 imsg_encode(const struct imsg *, struct buf *);
int	 imsg_decode(const void *, size_t, struct imsg *);

#endif
