/*
 * rescan.c - reconciling a folder with its Maildir directory: the rescan
 * that finds files the index does not know, files gone (expunged by
 * someone else) and flags changed by other Maildir tools, and the
 * directory mtimes that say when one is needed (mbox_sync) and when a
 * folder just opened can trust its index without one (mbox_synced).  See
 * mailbox.c for the concurrency rules, and mailbox.h.
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory); reads only the folder's own new/ and cur/, reached from
 * descriptors mailbox.c opened without following links.
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

#include "index.h"
#include "log.h"
#include "maildir.h"
#include "mailbox.h"
#include "xmalloc.h"

/*
 * Bytes the message has as it is sent: a file written with LF line ends
 * (its first line's) has every bare LF sent as CRLF; one written with
 * CRLF is sent exactly (message.c, read_crlf).
 */
static int
file_size_crlf(int dfd, const char *name, uint64_t *size_r)
{
	char	 b[16384];
	ssize_t	 n, i;
	uint64_t size = 0;
	int	 fd, prev = 0, conv = -1;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		for (i = 0; i < n; i++) {
			if (b[i] == '\n' && conv == -1)
				conv = prev != '\r';
			if (b[i] == '\n' && prev != '\r' && conv == 1)
				size++;
			prev = (unsigned char)b[i];
		}
		size += (uint64_t)n;
	}
	close(fd);
	if (n == -1)
		return -1;
	*size_r = size;
	return 0;
}

/* A file found on disk that the index does not know yet. */
struct found {
	char		*base;
	char		*fname;
	uint32_t	 flags;
	struct timespec	 mtime;
};

struct scan {
	struct imsg	**bybase;	/* index messages sorted by base */
	size_t		 nbase;
	struct found	*found;
	size_t		 nfound;
	size_t		 capfound;
};

static int
cmp_base(const void *a, const void *b)
{
	return strcmp((*(struct imsg *const *)a)->base,
	    (*(struct imsg *const *)b)->base);
}

static struct imsg *
scan_lookup(struct scan *sc, const char *base)
{
	struct imsg	 key, *kp = &key, **r;

	key.base = (char *)base;
	r = bsearch(&kp, sc->bybase, sc->nbase, sizeof(*sc->bybase),
	    cmp_base);
	return r != NULL ? *r : NULL;
}

static void
scan_known(struct mbox *mb, struct imsg *m, const char *fname,
    uint32_t flags)
{
	int	 changed = 0;

	m->seen_on_disk = 1;
	if (m->fname == NULL || strcmp(m->fname, fname) != 0) {
		free(m->fname);
		m->fname = xstrdup(fname);
	}
	if ((m->flags & IMSG_SYSFLAGS) != flags) {
		m->flags = flags;
		changed = 1;
	}
	if (changed) {
		m->modseq = ++mb->meta.highestmodseq;
		index_put(mb->ix, m);
	}
}

static void
scan_found(struct scan *sc, const char *base, const char *fname,
    uint32_t flags, const struct stat *st)
{
	struct found	*f;

	if (sc->nfound == sc->capfound) {
		sc->capfound = sc->capfound ? sc->capfound * 2 : 16;
		sc->found = xreallocarray(sc->found, sc->capfound,
		    sizeof(*sc->found));
	}
	f = &sc->found[sc->nfound++];
	f->base = xstrdup(base);
	f->fname = xstrdup(fname);
	f->flags = flags;
	f->mtime = st->st_mtim;
}

/* The settled case: a known file under its known name in cur/. */
static int
scan_unchanged(struct scan *sc, const char *name)
{
	struct imsg	*m;
	char		 bb[256];
	size_t		 bl = md_base_len(name);

	if (bl >= sizeof(bb))
		return 0;
	memcpy(bb, name, bl);
	bb[bl] = '\0';
	if ((m = scan_lookup(sc, bb)) == NULL || m->fname == NULL ||
	    strncmp(m->fname, "cur/", 4) != 0 ||
	    strcmp(m->fname + 4, name) != 0)
		return 0;
	m->seen_on_disk = 1;
	return 1;
}

/*
 * One entry of new/ (moved into cur/ with its flags, as every Maildir
 * reader does) or of cur/: a known message's name and flags are taken
 * over, a new one is remembered for add_found.
 */
static void
scan_entry(struct mbox *mb, struct scan *sc, const char *name, int isnew)
{
	struct stat	 st;
	struct imsg	*m;
	char		*base, *fname;
	uint32_t	 flags;

	base = xstrndup(name, md_base_len(name));
	flags = md_info_parse(name);
	fname = isnew ? mbox_cur_name(base, flags) :
	    xasprintf("cur/%s", name);
	/* someone else moved it: a later scan sees */
	if (isnew && renameat(mb->md.new, name, mb->md.cur, fname + 4) == -1)
		goto out;
	/* a known file needs no stat: only new ones are measured */
	if ((m = scan_lookup(sc, base)) != NULL)
		scan_known(mb, m, fname, flags);
	else if (fstatat(mb->md.cur, fname + 4, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		scan_found(sc, base, fname, flags, &st);
out:
	free(fname);
	free(base);
}

static void
scan_dir(struct mbox *mb, struct scan *sc, int isnew)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = md_opendir(isnew ? mb->md.new : mb->md.cur)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '/') != NULL)
			continue;
		/* the common case is settled without allocating */
		if (!isnew && scan_unchanged(sc, de->d_name))
			continue;
		scan_entry(mb, sc, de->d_name, isnew);
	}
	closedir(d);
}

static int
cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->base, y->base);
}

static void
add_found(struct mbox *mb, struct found *f)
{
	struct imsg	*m;

	m = imsg_new();
	if (file_size_crlf(mb->md.cur, f->fname + 4, &m->size) == -1) {
		imsg_free(m);
		return;
	}
	m->uid = mb->meta.uidnext++;
	m->base = f->base;
	m->fname = f->fname;
	f->base = f->fname = NULL;
	m->flags = f->flags;
	m->internaldate = (int64_t)f->mtime.tv_sec;
	m->modseq = ++mb->meta.highestmodseq;
	index_put(mb->ix, m);
	mbox_msgs_append(mb, m);
}

/* The modification time of the directory open as fd. */
static int
dir_mtime(int fd, struct timespec *ts)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return -1;
	*ts = st.st_mtim;
	return 0;
}

static int
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static uint64_t
ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/*
 * Does the index just loaded match the directory, so opening the folder
 * need not read it?  Only when the mtimes of new/ and cur/ are those the
 * last settled rescan saw, and still older than the second before now
 * (a change in the same tick would not move them).  Sets mt_new and
 * mt_cur either way.
 */
int
mbox_synced(struct mbox *mb)
{
	time_t	 now = time(NULL);

	if (dir_mtime(mb->md.new, &mb->mt_new) == -1 ||
	    dir_mtime(mb->md.cur, &mb->mt_cur) == -1)
		return 0;
	return mb->meta.synced_new != 0 &&
	    mb->meta.synced_new == ts_ns(&mb->mt_new) &&
	    mb->meta.synced_cur == ts_ns(&mb->mt_cur) &&
	    mb->mt_new.tv_sec < now - 1 && mb->mt_cur.tv_sec < now - 1;
}

/*
 * A change of our own to cur/ (a flag rename, a file stored, linked or
 * expunged) between mbox_own_begin() and mbox_own_end(): when the folder
 * was in step with cur/ just before it (cur/'s mtime the one the last
 * sync took, no rescan pending), the mtime it leaves is ours, and the
 * next sync need not read cur/ for it.  Only this user's imapd process
 * writes cur/ (mda writes new/, where every change is still seen); a
 * change another program made to cur/ in the same clock tick as one of
 * ours, after the check, is seen with the next change after it.
 */
int
mbox_own_begin(struct mbox *mb)
{
	struct timespec	 t;

	return !mb->force_scan && dir_mtime(mb->md.cur, &t) == 0 &&
	    ts_eq(&t, &mb->mt_cur);
}

void
mbox_own_end(struct mbox *mb, int insync)
{
	if (insync && dir_mtime(mb->md.cur, &mb->mt_cur) == -1)
		mb->force_scan = 1;
}

static void
rescan(struct mbox *mb)
{
	struct scan	 sc;
	size_t		 i, j, ngone = 0;
	uint32_t	*gone = NULL;
	uint64_t	 before = mb->meta.highestmodseq;
	int		 changed = 0;

	memset(&sc, 0, sizeof(sc));
	sc.bybase = xreallocarray(NULL, mb->n + 1, sizeof(*sc.bybase));
	for (i = 0; i < mb->n; i++) {
		mb->msgs[i]->seen_on_disk = 0;
		sc.bybase[i] = mb->msgs[i];
	}
	sc.nbase = mb->n;
	if (sc.nbase > 1)
		qsort(sc.bybase, sc.nbase, sizeof(*sc.bybase), cmp_base);
	scan_dir(mb, &sc, 0);
	scan_dir(mb, &sc, 1);
	free(sc.bybase);

	/* files that vanished were expunged by another Maildir user */
	for (i = j = 0; i < mb->n; i++) {
		if (mb->msgs[i]->seen_on_disk) {
			mb->msgs[j++] = mb->msgs[i];
			continue;
		}
		index_del(mb->ix, mb->msgs[i]->uid);
		gone = xreallocarray(gone, ngone + 1, sizeof(*gone));
		gone[ngone++] = mb->msgs[i]->uid;
		mb->hdr_bytes -= mb->msgs[i]->hdrlen;
		imsg_free(mb->msgs[i]);
		changed = 1;
	}
	mb->n = j;
	if (changed)
		mb->meta.highestmodseq++;
	for (i = 0; i < ngone; i++)
		mbox_expunged_add(mb, gone[i], mb->meta.highestmodseq);
	free(gone);
	if (sc.nfound > 0)
		changed = 1;

	if (sc.nfound > 1)
		qsort(sc.found, sc.nfound, sizeof(*sc.found), cmp_found);
	for (i = 0; i < sc.nfound; i++) {
		add_found(mb, &sc.found[i]);
		free(sc.found[i].base);
		free(sc.found[i].fname);
	}
	free(sc.found);
	/* a crash before the next checkpoint rebuilds the index (index.h) */
	if (changed || mb->meta.highestmodseq != before)
		mbox_meta_save(mb);
}

int
mbox_sync(struct mbox *mb)
{
	struct timespec	 tn, tc;
	time_t		 now = time(NULL);

	if (dir_mtime(mb->md.new, &tn) == -1 ||
	    dir_mtime(mb->md.cur, &tc) == -1)
		return -1;
	if (!mb->force_scan && ts_eq(&tn, &mb->mt_new) &&
	    ts_eq(&tc, &mb->mt_cur))
		return 0;
	rescan(mb);
	/* our own renames changed the mtimes: take them after the scan */
	dir_mtime(mb->md.new, &mb->mt_new);
	dir_mtime(mb->md.cur, &mb->mt_cur);
	mb->force_scan = mb->mt_new.tv_sec >= now - 1 ||
	    mb->mt_cur.tv_sec >= now - 1;
	/* settled: what a later open of the index can trust it matches */
	if (!mb->force_scan && (mb->meta.synced_new != ts_ns(&mb->mt_new) ||
	    mb->meta.synced_cur != ts_ns(&mb->mt_cur))) {
		mb->meta.synced_new = ts_ns(&mb->mt_new);
		mb->meta.synced_cur = ts_ns(&mb->mt_cur);
		mbox_meta_save(mb);
	}
	return 0;
}
