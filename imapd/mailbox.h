/*
 * mailbox.h - Maildir++ folders of one user and the messages in them.
 *
 * The user's Maildir is the root (mbox_set_root(): "/Maildir" inside the
 * per-user chroot).  INBOX is the Maildir itself; folder "A/B" is the
 * directory ".A.B" ("/" is the IMAP hierarchy separator, "." the on-disk
 * one, so "." is not allowed in a name).  The unsafe mailbox is ".Unsafe".
 * System flags live in the ":2," info suffix of each file name (D F P R S
 * T); everything else in the folder's index (index.h).
 *
 * An open folder (struct mbox) is shared by every session of the process
 * that selects it: one process serves all connections of one user, so
 * sessions see each other's changes through the same in-memory state.
 * It lists the keywords its messages use (kw, spelt as first given),
 * which sessions announce in FLAGS (flags.c).
 * mbox_sync() notices what other Maildir writers did (the mda dropping
 * files into new/, mbsync or mutt renaming or removing files in cur/) by
 * the directories' modification times and rescans.
 *
 * Runs in the per-user imapd process as vmail inside the user's mail
 * directory; names come from the client and are checked by
 * mbox_name_valid() before they become paths.  Every folder is reached
 * from the Maildir's descriptor without following links, and written the
 * Maildir way, through common/maildir.
 *
 *	mailbox.c	the root, opening folders, noticing changes (rescan)
 *	message.c	what is done to messages: flags, expunge, APPEND,
 *			COPY, reading them
 *	folders.c	folders as a whole: LIST, CREATE, DELETE, RENAME,
 *			subscriptions
 *	expunged.c	the UIDs expunged lately, for QRESYNC
 */
#ifndef SM_IMAP_MAILBOX_H
#define SM_IMAP_MAILBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "index.h"
#include "maildir.h"

struct mbox {
	char			*name;
	struct md_folder	 md;		/* the folder, tmp/ new/ cur/ */
	int			 refs;
	struct mbox_index	*ix;
	struct index_meta	 meta;
	struct imsg		**msgs;		/* sorted by UID */
	size_t			 n;
	size_t			 cap;
	struct timespec		 mt_new;
	struct timespec		 mt_cur;
	int			 force_scan;
	uint32_t		 cache_uid;
	size_t			 hdr_bytes;	/* kept in imsg.hdr */
	struct buf		 cache;
	struct mbox_expunged	*exp;		/* oldest first (expunged.c) */
	size_t			 nexp;
	char			**kw;		/* keywords in use */
	size_t			 nkw;
	struct mbox		*next;
};

struct uid_range {
	uint32_t	 lo;
	uint32_t	 hi;
};

void	 mbox_set_root(const char *);
int	 mbox_root_fd(void);
char	*mbox_dirname(const char *);
int	 mbox_make_maildir(const char *);
int	 mbox_is_open(const char *, int);
int	 mbox_name_valid(const char *);
char	*mbox_name_norm(const char *);
int	 mbox_exists(const char *);
const char *mbox_special_use(const char *);
const char *mbox_use_attr(const char *);
int	 mbox_set_special_use(const char *, const char *);

struct mbox *mbox_open(const char *, char *, size_t);
struct mbox *mbox_get(const char *, char *, size_t);
void	 mbox_close(struct mbox *);
void	 mbox_release_idle(void);
void	 mbox_checkpoint(void);
int	 mbox_sync(struct mbox *);
int	 mbox_synced(struct mbox *);
int	 mbox_own_begin(struct mbox *);
void	 mbox_own_end(struct mbox *, int);
struct imsg *mbox_find_uid(const struct mbox *, uint32_t);
size_t	 mbox_uid_pos(const struct mbox *, uint32_t);
int	 mbox_store(struct mbox *, struct imsg *, uint32_t, const char *);
int	 mbox_expunge_msg(struct mbox *, uint32_t);
int	 mbox_append(struct mbox *, const void *, size_t, uint32_t,
	    const char *, int64_t, uint32_t *);
int	 mbox_copy(struct mbox *, const struct imsg *, struct mbox *,
	    uint32_t *);
int	 mbox_keywords_add(struct mbox *, const char *, struct buf *, int);
int	 mbox_read(struct mbox *, const struct imsg *, const struct buf **);
int	 mbox_read_header(struct mbox *, struct imsg *, struct buf *);
int	 mbox_cache_get(struct mbox *, const struct imsg *, int,
	    struct buf *);
void	 mbox_cache_put(struct mbox *, const struct imsg *, int,
	    const char *);

int	 mbox_list(int (*)(const char *, void *), void *);
int	 mbox_create(const char *, char *, size_t);
int	 mbox_delete(const char *, char *, size_t);
int	 mbox_rename(const char *, const char *, char *, size_t);
void	 mbox_ensure_defaults(void);

int	 mbox_subscribed(const char *);
char	**mbox_subscriptions(size_t *);
int	 mbox_subscribe(const char *, int);

/* expunged.c: expunged UIDs remembered for QRESYNC */
void	 mbox_expunged_load(struct mbox *);
void	 mbox_expunged_free(struct mbox *);
void	 mbox_expunged_add(struct mbox *, uint32_t, uint64_t);
size_t	 mbox_vanished(const struct mbox *, uint64_t,
	    const struct uid_range *, size_t, struct uid_range **);
size_t	 uid_ranges_norm(struct uid_range *, size_t);

/* Between mailbox.c and message.c. */
#define MBOX_MSG_MAX	(256UL * 1024 * 1024)
#define MBOX_KEYWORDS_MAX 1000	/* a client may define in one folder */
void	 mbox_msgs_append(struct mbox *, struct imsg *);
void	 mbox_meta_save(struct mbox *);
char	*mbox_cur_name(const char *, uint32_t);
const char *mbox_msg_file(const struct imsg *);
int	 mbox_msg_open(struct mbox *, const struct imsg *);

#endif
