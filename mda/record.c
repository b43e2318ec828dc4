/*
 * record.c - delivery records: each message smtpd hands over with
 * "XSEAL ID=<queue id>" is stored at most once per user, however often
 * smtpd retries it.
 *
 * Runs as [global] mail_user, in mda.lmtp (record, check, complete) and
 * mda.purge (expire).  smtpd retries a message whose 250 it never saw
 * (mda.lmtp or smtpd.delivery killed, a connection lost) under the same
 * queue ID; the record lets mda answer 250 again without a second copy.
 *
 * Layout: <mail_root>/<domain>/<local>/delivered/, beside the user's
 * Maildir (the same file system, so a rename moves a message between
 * them), reached like every Maildir without following links
 * (common/maildir):
 *
 *	<id>		the record: one line "Maildir/new/<name>" or
 *			"Maildir/.Unsafe/new/<name>", where the message goes
 *	<id>.msg	the message, complete and fsynced, while it is not
 *			yet in the Maildir
 *	tmp.<uniq>	being written
 *
 * A delivery (rec_store):
 *	1. write the message (Return-Path, Delivered-To, content) to
 *	   <id>.msg, fsync it;
 *	2. write the record to tmp.<uniq>.rec, fsync; rename it to <id>;
 *	   fsync the directory, which makes both names durable;
 *	3. rename <id>.msg into the Maildir's new/ under the name the
 *	   record gives, fsync new/ and the directory;
 *	4. answer 250.
 * The rename in 3 is the delivery: <id>.msg disappears at the instant
 * the message appears in the Maildir, and it was durably there before
 * (the fsync in 2), so its absence beside a record means 3 happened.
 * The record's own rename is what makes it whole: <id> never holds a
 * partial line.  So on a retry (rec_check):
 *
 *	no <id>, no <id>.msg	never got past 1: deliver afresh
 *	<id>.msg alone		crashed in 1 or 2: the record never
 *				existed (or its name was not yet durable);
 *				remove <id>.msg and deliver afresh
 *	<id> and <id>.msg	crashed before or during 3: complete it
 *				(rename <id>.msg as the record says), 250
 *	<id> alone		3 happened: the message is (or was: its user
 *				may since have read, moved or deleted it) in
 *				the Maildir; 250, nothing written
 *
 * Five fsyncs in all: the message, the record and delivered/ before
 * the rename in 3, new/ and delivered/ after it; and two renames.  Over
 * a plain Maildir delivery (message, rename, new/), a record costs its
 * own file and two fsyncs of delivered/.
 *
 * Every state a crash can leave is one of these four, so no crash makes
 * mda answer 250 for a message that never reached the Maildir (the
 * record exists without <id>.msg only after the rename), nor store one
 * twice (a second copy is only written when no record exists, and then
 * no copy was ever renamed into the Maildir).  Because the pending
 * message lives here and not in the Maildir's tmp/, no Maildir reader's
 * clean-up of old tmp/ files can take it away between crash and retry.
 *
 * Several mda.lmtp processes deliver at once (mda.c), so one queue ID
 * could reach two of them for one user: smtpd gave up waiting on one
 * connection and retried on another while the first still writes.  The
 * steps above assume one writer per ID, so a delivery holds rec_lock()
 * from its check to its end: a lock (fcntl, on the open file
 * description, released when it is closed or its process dies) on one
 * byte of delivered/lock chosen by the ID, so deliveries of other IDs,
 * to the same user too, seldom wait for each other.
 *
 * The purge (rec_purge, from mda.purge) removes records older than
 * [mda] delivery_record_days, far beyond smtpd's queue_lifetime, so no
 * retry can still come for them: first the record, then any message
 * still pending beside it (the other order would leave "<id> alone" for
 * an undelivered message), and tmp files and lone <id>.msg older than a
 * day.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "mda.h"

#define REC_DIR		"delivered"
#define REC_LOCK	"lock"
#define REC_LINE_MAX	(MD_NAME_MAX + 32)
#define REC_STALE_AGE	(24 * 60 * 60)	/* tmp files, lone messages */

/*
 * The records' directory below the user's directory ufd, made if need
 * be: what rec_lock, rec_check and rec_store take.  -1 with errno set.
 */
int
rec_open(int ufd)
{
	return md_dir_step(ufd, REC_DIR, 1);
}

/*
 * Hold the delivery of id in the records' directory rfd against every
 * other process delivering it (see the header comment); it ends when the
 * descriptor returned is closed.  -1 with errno set: the delivery must
 * not go on.
 */
int
rec_lock(int rfd, const char *id)
{
	struct flock	 fl;
	uint32_t	 h = 2166136261u;	/* FNV-1a */
	int		 lfd, saved;

	if ((lfd = openat(rfd, REC_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = h & 0x7fffffff;
	fl.l_len = 1;
	while (fcntl(lfd, F_OFD_SETLKW, &fl) == -1)
		if (errno != EINTR) {
			saved = errno;
			close(lfd);
			errno = saved;
			return -1;
		}
	return lfd;
}

/*
 * A Maildir file name we could have made: no '/', no leading dot (the
 * backslash is md_uniq's escape of a '/' or ':' in the host name).
 */
static int
rec_name_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n < MD_NAME_MAX && s[0] != '.' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.,=_-\\") == n;
}

/*
 * Read and check the record id below rfd: is the message for the
 * Unsafe folder (*unsafe_r) and its name in new/.  0, or -1.
 */
static int
rec_read(int rfd, const char *id, int *unsafe_r, char *name, size_t len)
{
	char		 line[REC_LINE_MAX + 1];
	const char	*p;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(rfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0 || line[n - 1] != '\n')
		return -1;
	line[n - 1] = '\0';
	if (strncmp(line, "Maildir/new/", 12) == 0) {
		*unsafe_r = 0;
		p = line + 12;
	} else if (strncmp(line, "Maildir/.Unsafe/new/", 20) == 0) {
		*unsafe_r = 1;
		p = line + 20;
	} else
		return -1;
	if (!rec_name_ok(p) || strlen(p) >= len)
		return -1;
	snprintf(name, len, "%s", p);
	return 0;
}

/* Move <id>.msg into the folder's new/ as name; fsync both. */
static int
rec_commit(int rfd, const char *msg, const struct md_folder *f,
    const char *name)
{
	if (renameat(rfd, msg, f->new, name) == -1)
		return -1;
	if (fsync(f->new) == -1 || fsync(rfd) == -1)
		return -1;
	return 0;
}

/*
 * Has the message id already been delivered to the user whose directory
 * is ufd (records in rfd)?  0: no record, deliver it (a message left by
 * a delivery that crashed before its record was written is removed).
 * 1: yes, or it is now, having been completed; *unsafe_r says in which
 * folder.  -1: the record cannot be read or completed (the caller
 * answers 4xx).
 */
int
rec_check(int ufd, int rfd, const char *id, int *unsafe_r)
{
	struct md_folder f;
	struct stat	 st;
	char		 msg[MDA_QID_LEN + 8], name[MD_NAME_MAX];
	int		 rv = -1;

	snprintf(msg, sizeof(msg), "%s.msg", id);
	if (fstatat(rfd, id, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			return -1;
		/* a crash in step 1 or 2: start over */
		if (unlinkat(rfd, msg, 0) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	if (!S_ISREG(st.st_mode) ||
	    rec_read(rfd, id, unsafe_r, name, sizeof(name)) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (fstatat(rfd, msg, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 1 : -1;	/* 1: delivered before */
	if (md_mailbox_open(ufd, *unsafe_r ? MD_UNSAFE : NULL, &f) == -1)
		return -1;
	if (rec_commit(rfd, msg, &f, name) == 0) {
		log_info("id=%s completed an interrupted delivery file=%s",
		    id, name);
		rv = 1;
	}
	md_folder_close(&f);
	return rv;
}

/*
 * Write the record id (where the message goes): its file fsynced and
 * renamed into place; the directory is the caller's to fsync.
 */
static int
rec_write(int rfd, const char *id, const char *tmp, int unsafe,
    const char *name)
{
	struct buf	 line;
	struct md_src	 src = { &line, NULL, 0, -1, 0 };
	off_t		 size;
	int		 rv = -1;

	buf_init(&line, 0);
	buf_printf(&line, "Maildir/%snew/%s\n", unsafe ? MD_UNSAFE "/" : "",
	    name);
	if (md_write(rfd, tmp, &src, &size) == -1)
		goto out;
	if (renameat(rfd, tmp, rfd, id) == -1) {
		unlinkat(rfd, tmp, 0);
		goto out;
	}
	rv = 0;
out:
	buf_free(&line);
	return rv;
}

/*
 * Back to "no record" for an undelivered id, the record first (see the
 * header comment); errno is kept.  -1.
 */
static int
rec_undo(int rfd, const char *id, const char *msg)
{
	int	 saved = errno;

	if (unlinkat(rfd, id, 0) == 0)
		unlinkat(rfd, msg, 0);
	errno = saved;
	return -1;
}

/*
 * Deliver prefix + content into folder f, recording it under id in the
 * records' directory rfd (steps 1 to 3 of the header comment).  The
 * final Maildir name in name.  0, or -1 with errno set: nothing was
 * delivered, and a retry starts over or completes.
 */
int
rec_store(int rfd, const char *id, const struct md_folder *f, int unsafe,
    const struct buf *prefix, int content, const char *hostname, char *name,
    size_t namelen)
{
	struct md_src src = { prefix, NULL, 0, content, 0 };
	char	 uniq[MD_NAME_MAX], tmp[MD_NAME_MAX + 8];
	char	 msg[MDA_QID_LEN + 8];
	off_t	 size;
	int	 saved;

	snprintf(msg, sizeof(msg), "%s.msg", id);
	md_uniq(uniq, sizeof(uniq), hostname);
	/* 1: the message, complete, as <id>.msg (rec_check removed any) */
	if (md_write(rfd, msg, &src, &size) == -1)
		return -1;
	/* 2: the record, then both names durable */
	snprintf(name, namelen, "%s,S=%lld", uniq, (long long)size);
	snprintf(tmp, sizeof(tmp), "tmp.%s.rec", uniq);
	if (rec_write(rfd, id, tmp, unsafe, name) == -1)
		goto fail_msg;
	if (fsync(rfd) == -1)
		return rec_undo(rfd, id, msg);	/* names not known durable */
	/* 3: the delivery */
	if (renameat(rfd, msg, f->new, name) == -1)
		return rec_undo(rfd, id, msg);	/* not delivered */
	/*
	 * Delivered.  If it cannot be made durable the caller answers 4xx,
	 * and the record stays: the retry is answered from it, or, should
	 * the rename be lost after all, completes it.
	 */
	if (fsync(f->new) == -1 || fsync(rfd) == -1)
		return -1;
	return 0;
fail_msg:
	saved = errno;
	unlinkat(rfd, msg, 0);
	errno = saved;
	return -1;
}

/*
 * A crash's leftover below rfd that no record refers to: a tmp file, or
 * an <id>.msg without its <id>.
 */
static int
rec_leftover(int rfd, const char *name)
{
	char	 id[MDA_QID_LEN + 1];

	if (strncmp(name, "tmp.", 4) == 0)
		return 1;
	if (strlen(name) != MDA_QID_LEN + 4 ||
	    strcmp(name + MDA_QID_LEN, ".msg") != 0)
		return 0;
	snprintf(id, sizeof(id), "%.*s", MDA_QID_LEN, name);
	return faccessat(rfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT;
}

/* Expire the records of one user's directory; -1 on any failure. */
static int
rec_purge_user(int ufd, time_t cutoff, time_t stale, size_t *removed)
{
	struct dirent	*de;
	struct stat	 st;
	char		 msg[MDA_QID_LEN + 8];
	DIR		*d;
	int		 rfd, rv = 0;

	if ((rfd = md_dir_step(ufd, REC_DIR, 0)) == -1)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
		    errno == EPERM ? 0 : -1;
	if ((d = fdopendir(rfd)) == NULL) {
		close(rfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(rfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || S_ISDIR(st.st_mode))
			continue;
		if (q_id_valid(de->d_name)) {
			if (st.st_mtime >= cutoff)
				continue;
			/* the record first, then what it points at */
			if (unlinkat(rfd, de->d_name, 0) == -1) {
				rv = -1;
				continue;
			}
			snprintf(msg, sizeof(msg), "%s.msg", de->d_name);
			unlinkat(rfd, msg, 0);
			(*removed)++;
		} else if (st.st_mtime < stale &&
		    rec_leftover(rfd, de->d_name) &&
		    unlinkat(rfd, de->d_name, 0) == -1 && errno != ENOENT)
			rv = -1;
	}
	if (fsync(rfd) == -1)
		rv = -1;
	closedir(d);
	return rv;
}

/* Each user directory of one domain directory. */
static int
rec_purge_domain(int dfd, time_t cutoff, time_t stale, size_t *removed)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, ufd, rv = 0;

	if ((fd = dup(dfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((ufd = md_dir_step(dfd, de->d_name, 0)) == -1)
			continue;	/* a file, a link: not a user */
		if (rec_purge_user(ufd, cutoff, stale, removed) == -1)
			rv = -1;
		close(ufd);
	}
	closedir(d);
	return rv;
}

/*
 * Remove the records older than days days below every user directory of
 * mail_root, and the leftovers of crashed deliveries.  The number of
 * records removed in *removed_r.  0, or -1 if anything failed (logged).
 */
int
rec_purge(const char *mail_root, int days, time_t now, size_t *removed_r)
{
	struct dirent	*de;
	DIR		*d;
	time_t		 cutoff, stale;
	int		 top, dfd, rv = 0;

	*removed_r = 0;
	cutoff = now - (time_t)days * 24 * 60 * 60;
	stale = now - REC_STALE_AGE;
	if ((top = open(mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("delivery record purge: %s", mail_root);
		return -1;
	}
	if ((d = fdopendir(top)) == NULL) {
		log_warn("delivery record purge: %s", mail_root);
		close(top);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((dfd = md_dir_step(top, de->d_name, 0)) == -1)
			continue;
		if (rec_purge_domain(dfd, cutoff, stale, removed_r) == -1)
			rv = -1;
		close(dfd);
	}
	closedir(d);
	if (rv == -1)
		log_warnx("delivery record purge: %s: some records could not "
		    "be removed", mail_root);
	return rv;
}
