/*
 * quarantine.h - the quarantine of stripped originals: list, release,
 * purge.
 *
 * When mda strips an unsafe message it keeps the unstripped original,
 * prefixed with Return-Path and Delivered-To, as a Maildir message in
 * <quarantine_dir>/<domain>/<local>/new/ (mda/deliver.c).  This module
 * is what reads that tree afterwards:
 *
 *	quar_list()	a user's quarantined originals: ID (the unique part
 *			of the Maildir file name, before ',' or ':'), the
 *			time it was quarantined, size, From and Subject
 *	quar_release()	deliver one original into the user's unsafe
 *			mailbox (.Unsafe) the Maildir way, with an
 *			X-Sealmail-Released header on top, then remove it
 *			from the quarantine
 *	quar_purge()	remove every quarantined file older than
 *			quarantine_days days, across all users (0: all)
 *
 * Who calls it: sealmailctl (quarantine list|release|purge) and the root
 * parent of mda (hourly purge).  Both run the functions in a child that
 * has dropped to [global] mail_user, which owns the whole tree.  The
 * files were written by a process that parsed network input, so every
 * directory below quarantine_dir and mail_root is opened with O_NOFOLLOW
 * relative to its parent, files are checked to be regular, and a header
 * is read only up to QUAR_HEADER_MAX bytes.  An ID is validated
 * (quar_id_valid()) before it is used, and it is only ever compared with
 * directory entries, never pasted into a path.
 */
#ifndef SM_QUARANTINE_H
#define SM_QUARANTINE_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#define QUAR_ID_MAX		200	/* longest ID accepted */
#define QUAR_HEADER_MAX		65536	/* header bytes read by quar_list */
#define QUAR_FIELD_MAX		200	/* From/Subject bytes kept (raw) */
#define QUAR_TMP_AGE		(36 * 60 * 60)	/* stale tmp/ files */

enum quar_result {
	QUAR_OK = 0,
	QUAR_INVALID,	/* malformed address or ID */
	QUAR_NOTFOUND,	/* no such ID in the user's quarantine */
	QUAR_ERROR	/* a system call failed (err says which) */
};

struct quar_entry {
	char		 id[QUAR_ID_MAX + 1];
	time_t		 date;		/* quarantined (mtime) */
	long long	 size;		/* bytes of the quarantined file */
	/*
	 * From's address (the part in <> if there is one) and Subject,
	 * unfolded, escaped to printable ASCII: '"' and '\' get a
	 * backslash, any other byte outside 0x20-0x7e is \xHH.
	 */
	char		*from;
	char		*subject;
};

/*
 * Where things are, and the mail user release runs as: what it creates
 * is that user's because the process is that user (a release refuses to
 * run as anyone else).  (uid_t)-1 and (gid_t)-1: whoever we are.
 */
struct quar_paths {
	const char	*quarantine_dir;
	const char	*mail_root;
	const char	*hostname;	/* for the Maildir unique name */
	uid_t		 uid;
	gid_t		 gid;
};

/*
 * 1 if id is a well-formed ID: 1..QUAR_ID_MAX bytes of [A-Za-z0-9._-],
 * not starting with '.', without "..".  0 otherwise.
 */
int	 quar_id_valid(const char *id);

/*
 * The quarantined originals of user (a canonical local address), sorted
 * by date, then ID.  A user with nothing quarantined has an empty list.
 * QUAR_OK, QUAR_INVALID, QUAR_ERROR, with err.
 */
int	 quar_list(const char *quarantine_dir, const char *user,
	    struct quar_entry **list_r, size_t *n_r, char *err,
	    size_t errlen);
void	 quar_list_free(struct quar_entry *, size_t);

/*
 * Release the original with this ID into <mail_root>/<domain>/<local>/
 * Maildir/.Unsafe/new (creating the folder with tmp/, new/, cur/ and
 * maildirfolder when missing), the file being
 * "X-Sealmail-Released: <RFC 5322 date of now> by the administrator"
 * and the original, byte for byte; then remove it from the quarantine.
 * The new file's name goes to name_r.  QUAR_INVALID, QUAR_NOTFOUND
 * (nothing changed), QUAR_ERROR.
 */
int	 quar_release(const struct quar_paths *, const char *user,
	    const char *id, time_t now, char *name_r, size_t namelen,
	    char *err, size_t errlen);

/*
 * Make the user's Unsafe folder (Maildir/.Unsafe with tmp/, new/, cur/
 * and maildirfolder, owned by qp->uid) if it does not exist yet, walking
 * down from mail_root without following links (common/maildir).  Called when a user is
 * created and when unsafe_mailbox is switched on, so IMAP clients see the
 * folder at setup.  QUAR_OK, QUAR_INVALID or QUAR_ERROR (err says why).
 */
int	 quar_unsafe_make(const struct quar_paths *, const char *user,
	    char *err, size_t errlen);

/*
 * Remove every file in new/ and cur/ of every user's quarantine whose
 * mtime is more than days days before now (days 0: every file), and
 * tmp/ files older than QUAR_TMP_AGE.  *removed_r counts the removed
 * files.  0, or -1 when something could not be read or removed (logged;
 * the rest is still purged).
 */
int	 quar_purge(const char *quarantine_dir, int days, time_t now,
	    size_t *removed_r);

#endif
