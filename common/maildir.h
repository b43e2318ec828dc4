/*
 * maildir.h - Maildir and Maildir++ folders, reached and written without
 * following links: the one implementation every writer of a mailbox uses.
 *
 * Who calls it: mda (delivery, delivery records, the quota walk), imapd's
 * per-user process (APPEND, COPY, MOVE, flag renames, CREATE) and its
 * root parent (the user directory), and the quarantine (sealmailctl and
 * mda's root parent: release into the Unsafe folder).
 *
 * The mail tree belongs to [global] mail_user, and processes running as
 * that user parse hostile input, so nothing in it is trusted: only a
 * configured top directory is opened by path; everything below is reached
 * from a directory descriptor one component at a time (mkdirat, then
 * openat with O_NOFOLLOW|O_DIRECTORY), a directory a writer uses must
 * belong to the expected owner, and files are created O_EXCL|O_NOFOLLOW.
 * A link in the way is an error (ELOOP or ENOTDIR), never followed.
 *
 * Layout (https://cr.yp.to/proto/maildir.html, and Courier's Maildir++):
 * a Maildir is a directory with tmp/, new/ and cur/; a Maildir++ folder
 * "A.B" is the directory ".A.B" inside it, marked by an empty
 * "maildirfolder" file.  A message is written in tmp/ under a unique
 * name, fsynced, renamed into new/ (or into cur/ with flags), and the
 * directory it went to is fsynced: a crash leaves either nothing visible
 * or the whole message.
 *
 * Names: "<sec>.M<usec>P<pid>Q<count>.<host>,S=<size>" (S= is the file's
 * size, as Maildir++ readers expect), in cur/ followed by the info
 * ":2,<flags>", the flag letters in ASCII order.
 */
#ifndef SM_MAILDIR_H
#define SM_MAILDIR_H

#include <sys/types.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

#define MD_NAME_MAX	256	/* a Maildir file name we make, with NUL */
#define MD_INFO_MAX	16	/* ":2," and the flag letters, with NUL */
#define MD_UNSAFE	".Unsafe"	/* the unsafe mailbox's folder */

/* The flags of the ":2," info, as bits (imapd's index keeps these). */
#define MD_FLAG_SEEN		0x01	/* S */
#define MD_FLAG_ANSWERED	0x02	/* R (replied) */
#define MD_FLAG_FLAGGED		0x04	/* F */
#define MD_FLAG_DELETED		0x08	/* T (trashed) */
#define MD_FLAG_DRAFT		0x10	/* D */
#define MD_FLAG_PASSED		0x20	/* P (forwarded) */
#define MD_FLAGS_ALL		0x3f

/* An open Maildir (or folder): itself, tmp/, new/ and cur/. */
struct md_folder {
	int		 dir;
	int		 tmp;
	int		 new;
	int		 cur;
};
#define MD_FOLDER_INIT	{ -1, -1, -1, -1 }

/*
 * What a message file is made of, in this order: prefix (may be NULL),
 * len bytes at data (may be 0), the whole of the file fd (-1: none; read
 * with pread, its offset left alone).  mtime, when not 0, becomes the
 * file's modification time (imapd's INTERNALDATE).
 */
struct md_src {
	const struct buf *prefix;
	const void	*data;
	size_t		 len;
	int		 fd;
	time_t		 mtime;
};

/* Directories. */
void	 md_close(int);
int	 md_dir_open(int, const char *);
DIR	*md_opendir(int);
int	 md_dir_step(int, const char *, int);
int	 md_dir_step_as(int, const char *, int, uid_t, gid_t);
int	 md_user_open(const char *, const char *, int);
int	 md_folder_open(int, const char *, int, struct md_folder *);
int	 md_mailbox_open(int, const char *, struct md_folder *);
void	 md_folder_close(struct md_folder *);

/* Names and flags. */
void	 md_uniq(char *, size_t, const char *);
size_t	 md_base_len(const char *);
uint32_t md_info_parse(const char *);
void	 md_info_format(uint32_t, char *, size_t);

/* Writing. */
int	 md_write(int, const char *, const struct md_src *, off_t *);
int	 md_tmp_write(const struct md_folder *, const struct md_src *,
	    const char *, char *, size_t, off_t *);
int	 md_commit(const struct md_folder *, const char *, off_t, int,
	    uint32_t, char *, size_t);
int	 md_store(const struct md_folder *, const struct md_src *,
	    const char *, char *, size_t);
int	 md_store_cur(const struct md_folder *, const struct md_src *,
	    uint32_t, const char *, char *, size_t);
int	 md_link_cur(const struct md_folder *, const char *,
	    const struct md_folder *, uint32_t, const char *, char *, size_t);

/* The quota walk. */
uint64_t md_usage(int);
void	 md_usage_count(int, int64_t *, int64_t *);

/* The Maildir++ quota file, maildirsize (maildirsize.c). */
struct md_quota {
	uint64_t	 limit_bytes;	/* the quota line's "<n>S", 0: none */
	uint64_t	 limit_count;	/* its "<n>C", 0: none */
	int64_t		 bytes;		/* the sum of the lines */
	int64_t		 count;
};

int	 md_quota_parse(const char *, size_t, struct md_quota *);
uint64_t md_quota_usage(int, uint64_t, uint64_t);
int	 md_quota_add(int, int64_t, int64_t);

#endif
