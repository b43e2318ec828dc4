/*
 * mailbox.c - Maildir++ folders for imapd: the root, opening and closing
 * folders, and the rescan that reconciles a folder with its index; see
 * mailbox.h.  What is done to the messages themselves is in message.c.
 *
 * Concurrency: the mda and other Maildir tools write new files with the
 * tmp/ -> new/ rename, and may rename or remove files in cur/.  This code
 * never assumes a file is still where it was: every rename or open that
 * fails with ENOENT forces a rescan, and a message whose file has gone is
 * treated as expunged by someone else.  Directory mtimes decide when to
 * rescan; a change within the last two seconds keeps the folder "dirty"
 * because mtime granularity could hide a second change in the same tick.
 * Our own changes to cur/ move its mtime without a rescan when the folder
 * was in step just before (rescan.c, mbox_own_begin).
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory); every name from a client passes mbox_name_valid() first.
 * Only the root ("/Maildir") is opened by path; each folder and its
 * tmp/, new/ and cur/ are reached from its descriptor without following
 * links and must be ours (common/maildir), and are held open while the
 * folder is.  The index, a Berkeley DB file, is opened by its path.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "index.h"
#include "io.h"
#include "log.h"
#include "maildir.h"
#include "mailbox.h"
#include "xmalloc.h"

#define INDEX_FILE	"sealmail.index.db"
#define UIDV_FILE	"sealmail.uidvalidity"
#define UIDV_TMP	"sealmail.uidvalidity.tmp"

static char		*mbox_rootdir;
static int		 mbox_rootfd = -1;
static struct mbox	*mbox_open_list;


void
mbox_set_root(const char *root)
{
	/* folders kept loaded belong to the old root */
	mbox_release_idle();
	free(mbox_rootdir);
	mbox_rootdir = xstrdup(root);
	if (mbox_rootfd != -1)
		close(mbox_rootfd);
	mbox_rootfd = -1;
}

/*
 * The descriptor of the user's Maildir, made if missing: the one path
 * opened (its last component never followed); it must be ours.  -1 with
 * errno set when it cannot be had.
 */
int
mbox_root_fd(void)
{
	if (mbox_rootfd == -1)
		mbox_rootfd = md_dir_step(AT_FDCWD, mbox_rootdir, 1);
	return mbox_rootfd;
}

/* The directory of folder name below the root (".A.B"); NULL: INBOX. */
char *
mbox_dirname(const char *name)
{
	char	*p, *q;

	if (strcmp(name, "INBOX") == 0)
		return NULL;
	p = xasprintf(".%s", name);
	for (q = p + 1; *q != '\0'; q++)
		if (*q == '/')
			*q = '.';
	return p;
}

/* Make folder name (INBOX: the Maildir) a Maildir, if it is not yet. */
int
mbox_make_maildir(const char *name)
{
	struct md_folder f;
	char	*dir;
	int	 rv;

	if (mbox_root_fd() == -1)
		return -1;
	dir = mbox_dirname(name);
	rv = md_folder_open(mbox_rootfd, dir, 1, &f);
	free(dir);
	if (rv == 0)
		md_folder_close(&f);
	return rv;
}

/* The name in cur/ of a message with base name base and flags. */
char *
mbox_cur_name(const char *base, uint32_t flags)
{
	char	 info[MD_INFO_MAX];

	md_info_format(flags, info, sizeof(info));
	return xasprintf("cur/%s%s", base, info);
}

/* m's file name in cur/ (its fname is always "cur/<name>"). */
const char *
mbox_msg_file(const struct imsg *m)
{
	return m->fname + 4;
}

/* m's file, opened for reading without following a link; or -1. */
int
mbox_msg_open(struct mbox *mb, const struct imsg *m)
{
	return openat(mb->md.cur, mbox_msg_file(m), O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
}

void
mbox_msgs_append(struct mbox *mb, struct imsg *m)
{
	if (mb->n == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 64;
		mb->msgs = xreallocarray(mb->msgs, mb->cap, sizeof(*mb->msgs));
	}
	mb->msgs[mb->n++] = m;
}

static int
load_cb(struct imsg *m, void *arg)
{
	struct mbox	*mb = arg;

	if (mb->n > 0 && mb->msgs[mb->n - 1]->uid >= m->uid) {
		imsg_free(m);
		return 0;
	}
	/*
	 * Where a settled rescan left it (the index keeps no file name): in
	 * cur/ under its base and flags, in the order the Maildir spec
	 * gives them (a fresh open that trusts the index, mbox_synced(),
	 * reads no directory).  A file that is not there fails to open,
	 * which forces a rescan.
	 */
	if (m->fname == NULL && m->base != NULL)
		m->fname = mbox_cur_name(m->base, m->flags & IMSG_SYSFLAGS);
	mbox_msgs_append(mb, m);
	mbox_keywords_add(mb, m->keywords, NULL, 0);
	return 0;
}

size_t
mbox_uid_pos(const struct mbox *mb, uint32_t uid)
{
	size_t	 lo = 0, hi = mb->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mb->msgs[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct imsg *
mbox_find_uid(const struct mbox *mb, uint32_t uid)
{
	size_t	 i = mbox_uid_pos(mb, uid);

	return i < mb->n && mb->msgs[i]->uid == uid ? mb->msgs[i] : NULL;
}

void
mbox_meta_save(struct mbox *mb)
{
	index_put_meta(mb->ix, &mb->meta);
}

/*
 * Every loaded folder's index written out and marked whole (index.h):
 * called a second after changes and when the process ends, so a crash
 * costs a rebuild only for what changed in the last second.
 */
void
mbox_checkpoint(void)
{
	struct mbox	*mb;

	for (mb = mbox_open_list; mb != NULL; mb = mb->next)
		if (index_is_dirty(mb->ix) && index_sync(mb->ix) == -1)
			log_warnx("index of %s: cannot sync", mb->name);
}

/*
 * The index of the open folder mb, rebuilt (it is only a cache) when it
 * is unreadable or has lost its meta record.  0, or -1 with err.
 */
static int
index_attach(struct mbox *mb, const char *dir, char *err, size_t errlen)
{
	char	*ipath;

	ipath = dir != NULL ? xasprintf("%s/%s/%s", mbox_rootdir, dir,
	    INDEX_FILE) : xasprintf("%s/%s", mbox_rootdir, INDEX_FILE);
	mb->ix = index_open(ipath, err, errlen);
	if (mb->ix == NULL) {
		log_warnx("index %s unusable (%s), rebuilding", ipath, err);
		unlinkat(mb->md.dir, INDEX_FILE, 0);
		mb->ix = index_open(ipath, err, errlen);
	}
	if (mb->ix != NULL && index_unclean(mb->ix))
		log_warnx("index %s was not synced when its writer ended, "
		    "rebuilding", ipath);
	if (mb->ix != NULL && (index_unclean(mb->ix) ||
	    index_get_meta(mb->ix, &mb->meta) == -1)) {
		/*
		 * No meta record, or records given out may be missing: start
		 * afresh, without stale UID records, and a new UIDVALIDITY
		 */
		index_close(mb->ix);
		unlinkat(mb->md.dir, INDEX_FILE, 0);
		mb->ix = index_open(ipath, err, errlen);
		memset(&mb->meta, 0, sizeof(mb->meta));
	}
	free(ipath);
	return mb->ix != NULL ? 0 : -1;
}

/*
 * The UIDVALIDITY of a folder whose index is made afresh (created, or
 * deleted and created again, or its index lost): never one this user's
 * folders had before, so a client cannot mistake the new folder's UIDs
 * for the old one's.  The last value handed out is kept in the Maildir
 * root, which outlives every folder; the clock is the floor, so values
 * stay distinct even if that file is lost.
 */
static uint32_t
uidvalidity_next(void)
{
	static uint32_t	 last;
	char		 b[16];
	ssize_t		 n;
	uint32_t	 v, kept = 0;
	int		 fd;

	if ((fd = openat(mbox_root_fd(), UIDV_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if ((n = read(fd, b, sizeof(b) - 1)) > 0) {
			b[n] = '\0';
			kept = (uint32_t)strtoul(b, NULL, 10);
		}
		close(fd);
	}
	if (kept > last)
		last = kept;
	v = (uint32_t)time(NULL);
	if (v <= last && last != UINT32_MAX)
		v = last + 1;
	last = v;
	n = snprintf(b, sizeof(b), "%u\n", v);
	if ((fd = openat(mbox_root_fd(), UIDV_TMP, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		log_warn("%s", UIDV_TMP);
		return v;
	}
	if (io_write_all(fd, b, (size_t)n) == -1)
		log_warn("%s", UIDV_TMP);
	else if (renameat(mbox_root_fd(), UIDV_TMP, mbox_root_fd(),
	    UIDV_FILE) == -1)
		log_warn("%s", UIDV_FILE);
	close(fd);
	return v;
}

/*
 * Is the folder held as mb still the one its name leads to?  A folder
 * kept while no session used it may have been deleted or renamed since
 * by another Maildir tool; a message stored through the old descriptors
 * would be lost.
 */
static int
mbox_still_there(const struct mbox *mb)
{
	struct stat	 a, b;
	char		*dir = mbox_dirname(mb->name);
	int		 rv;

	rv = fstat(mb->md.dir, &a) == 0 && (dir == NULL ? fstat(mbox_rootfd,
	    &b) : fstatat(mbox_rootfd, dir, &b, AT_SYMLINK_NOFOLLOW)) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	free(dir);
	return rv;
}

static void
mbox_free(struct mbox *mb)
{
	struct mbox	**pp;
	size_t		 i;

	for (pp = &mbox_open_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == mb) {
			*pp = mb->next;
			break;
		}
	for (i = 0; i < mb->n; i++)
		imsg_free(mb->msgs[i]);
	free(mb->msgs);
	mbox_expunged_free(mb);
	index_close(mb->ix);
	for (i = 0; i < mb->nkw; i++)
		free(mb->kw[i]);
	free(mb->kw);
	buf_free(&mb->cache);
	md_folder_close(&mb->md);
	free(mb->name);
	free(mb);
}

/*
 * Folder name as it is loaded in this process, without looking at the
 * directory for changes (mbox_sync() does); a folder kept idle that is
 * no longer there is let go.  NULL: not loaded.
 */
static struct mbox *
mbox_loaded(const char *name)
{
	struct mbox	*mb;

	for (mb = mbox_open_list; mb != NULL; mb = mb->next)
		if (strcmp(mb->name, name) == 0)
			break;
	if (mb != NULL && mb->refs == 0 && !mbox_still_there(mb)) {
		mbox_free(mb);
		mb = NULL;
	}
	return mb;
}

/*
 * Folder name, opened (one more reference if it is loaded already) but
 * not compared with the directory: for APPEND, whose new message takes
 * the next UID whatever other writers did meanwhile.  NULL with err.
 */
struct mbox *
mbox_get(const char *name, char *err, size_t errlen)
{
	struct mbox	*mb;
	char		*dir;

	if ((mb = mbox_loaded(name)) != NULL) {
		mb->refs++;
		return mb;
	}
	if (strcmp(name, "INBOX") == 0)
		mbox_make_maildir(name);
	if (!mbox_exists(name)) {
		snprintf(err, errlen, "[NONEXISTENT] No such mailbox");
		return NULL;
	}
	mb = xcalloc(1, sizeof(*mb));
	dir = mbox_dirname(name);
	if (md_folder_open(mbox_root_fd(), dir, 1, &mb->md) == -1) {
		log_warn("mailbox %s", name);
		snprintf(err, errlen, "[SERVERBUG] Cannot open the mailbox");
		free(dir);
		free(mb);
		return NULL;
	}
	if (index_attach(mb, dir, err, errlen) == -1) {
		md_folder_close(&mb->md);
		free(dir);
		free(mb);
		snprintf(err, errlen, "[SERVERBUG] Cannot open the index");
		return NULL;
	}
	free(dir);
	mb->name = xstrdup(name);
	if (mb->meta.uidvalidity == 0) {
		mb->meta.uidvalidity = uidvalidity_next();
		mb->meta.uidnext = 1;
		mb->meta.recentuid = 1;
		mb->meta.highestmodseq = 1;
		mbox_meta_save(mb);
	} else {
		index_load(mb->ix, load_cb, mb);
		mbox_expunged_load(mb);
	}
	buf_init(&mb->cache, 0);
	mb->force_scan = !mbox_synced(mb);
	mb->refs = 1;
	mb->next = mbox_open_list;
	mbox_open_list = mb;
	mbox_sync(mb);
	return mb;
}

/* Folder name, open and brought up to date with its directory. */
struct mbox *
mbox_open(const char *name, char *err, size_t errlen)
{
	struct mbox	*mb;

	if ((mb = mbox_loaded(name)) != NULL) {
		mb->refs++;
		mbox_sync(mb);
		return mb;
	}
	return mbox_get(name, err, errlen);
}

/*
 * Is name (or, with children, anything below it) open in this process?
 * Folders kept idle are let go here: they must not outlive a DELETE or
 * RENAME.
 */
int
mbox_is_open(const char *name, int children)
{
	struct mbox	*mb, *next;
	size_t		 len = strlen(name);
	int		 open = 0;

	for (mb = mbox_open_list; mb != NULL; mb = next) {
		next = mb->next;
		if (strcmp(mb->name, name) != 0 && !(children &&
		    strncmp(mb->name, name, len) == 0 && mb->name[len] == '/'))
			continue;
		if (mb->refs == 0)
			mbox_free(mb);
		else
			open = 1;
	}
	return open;
}

/*
 * One reference fewer.  The last folder no session holds stays loaded
 * (one at most), so an APPEND to a folder that is not selected, or a
 * client going back to the folder it had selected, does not reload its
 * index and rescan its directory each time.
 */
void
mbox_close(struct mbox *mb)
{
	struct mbox	*o, *next;

	if (mb == NULL || --mb->refs > 0)
		return;
	for (o = mbox_open_list; o != NULL; o = next) {
		next = o->next;
		if (o != mb && o->refs == 0)
			mbox_free(o);
	}
}

/* Let go of the folders no session holds (the process is leaving). */
void
mbox_release_idle(void)
{
	struct mbox	*o, *next;

	for (o = mbox_open_list; o != NULL; o = next) {
		next = o->next;
		if (o->refs == 0)
			mbox_free(o);
	}
}
