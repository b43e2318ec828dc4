/*
 * mailbox.c - Maildir++ access for imapd; see mailbox.h.
 *
 * Concurrency: the mda and other Maildir tools write new files with the
 * tmp/ -> new/ rename, and may rename or remove files in cur/.  This code
 * never assumes a file is still where it was: every rename or open that
 * fails with ENOENT forces a rescan, and a message whose file has gone is
 * treated as expunged by someone else.  Directory mtimes decide when to
 * rescan; a change within the last two seconds keeps the folder "dirty"
 * because mtime granularity could hide a second change in the same tick.
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory); every name from a client passes mbox_name_valid() first.
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
#include "log.h"
#include "mailbox.h"
#include "xmalloc.h"

#define INDEX_FILE	"sealmail.index.db"
#define MSG_MAX		(256UL * 1024 * 1024)
#define HDR_CACHE_MAX	(4UL * 1024 * 1024)

static char		*mbox_rootdir;
static struct mbox	*mbox_open_list;
static unsigned		 mbox_counter;

void
mbox_set_root(const char *root)
{
	free(mbox_rootdir);
	mbox_rootdir = xstrdup(root);
}

const char *
mbox_root(void)
{
	return mbox_rootdir;
}

char *
mbox_path(const char *name)
{
	char	*p, *q;

	if (strcmp(name, "INBOX") == 0)
		return xstrdup(mbox_rootdir);
	p = xasprintf("%s/.%s", mbox_rootdir, name);
	for (q = p + strlen(mbox_rootdir) + 2; *q != '\0'; q++)
		if (*q == '/')
			*q = '.';
	return p;
}

int
mbox_make_maildir(const char *dir, int folder)
{
	static const char *sub[] = { "cur", "new", "tmp" };
	char	*p;
	size_t	 i;
	int	 fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	for (i = 0; i < 3; i++) {
		p = xasprintf("%s/%s", dir, sub[i]);
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			free(p);
			return -1;
		}
		free(p);
	}
	if (folder) {
		p = xasprintf("%s/maildirfolder", dir);
		if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) != -1)
			close(fd);
		free(p);
	}
	return 0;
}

/* Maildir info flags, in the ASCII order the spec requires. */
static const struct {
	char		 c;
	uint32_t	 bit;
} flagchars[] = {
	{ 'D', IMSG_DRAFT }, { 'F', IMSG_FLAGGED }, { 'P', IMSG_PASSED },
	{ 'R', IMSG_ANSWERED }, { 'S', IMSG_SEEN }, { 'T', IMSG_DELETED },
};

static uint32_t
info_flags(const char *info)
{
	uint32_t	 f = 0;
	size_t		 i;

	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return 0;
	for (info += 3; *info != '\0'; info++)
		for (i = 0; i < sizeof(flagchars) / sizeof(flagchars[0]); i++)
			if (*info == flagchars[i].c)
				f |= flagchars[i].bit;
	return f;
}

static char *
cur_name(const char *base, uint32_t flags)
{
	char	 fl[8];
	size_t	 i, n = 0;

	for (i = 0; i < sizeof(flagchars) / sizeof(flagchars[0]); i++)
		if (flags & flagchars[i].bit)
			fl[n++] = flagchars[i].c;
	fl[n] = '\0';
	return xasprintf("cur/%s:2,%s", base, fl);
}

/* Bytes the message has once every bare LF is sent as CRLF. */
static int
file_size_crlf(const char *path, uint64_t *size_r)
{
	char	 b[16384];
	ssize_t	 n, i;
	uint64_t size = 0;
	int	 fd, prev = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return -1;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		for (i = 0; i < n; i++) {
			if (b[i] == '\n' && prev != '\r')
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

static void
msgs_append(struct mbox *mb, struct imsg *m)
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
	msgs_append(mb, m);
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

static void
meta_save(struct mbox *mb)
{
	index_put_meta(mb->ix, &mb->meta);
	index_sync(mb->ix);
}

struct mbox *
mbox_open(const char *name, char *err, size_t errlen)
{
	struct mbox	*mb;
	char		*ipath;

	for (mb = mbox_open_list; mb != NULL; mb = mb->next)
		if (strcmp(mb->name, name) == 0) {
			mb->refs++;
			mbox_sync(mb);
			return mb;
		}
	if (strcmp(name, "INBOX") == 0)
		mbox_make_maildir(mbox_rootdir, 0);
	if (!mbox_exists(name)) {
		snprintf(err, errlen, "[NONEXISTENT] No such mailbox");
		return NULL;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->name = xstrdup(name);
	mb->dir = mbox_path(name);
	ipath = xasprintf("%s/%s", mb->dir, INDEX_FILE);
	mb->ix = index_open(ipath, err, errlen);
	if (mb->ix == NULL) {
		/* an unreadable index is rebuilt: it is only a cache */
		log_warnx("index %s unusable (%s), rebuilding", ipath, err);
		unlink(ipath);
		mb->ix = index_open(ipath, err, errlen);
	}
	if (mb->ix != NULL && index_get_meta(mb->ix, &mb->meta) == -1) {
		/* no meta record: start afresh, without stale UID records */
		index_close(mb->ix);
		unlink(ipath);
		mb->ix = index_open(ipath, err, errlen);
		memset(&mb->meta, 0, sizeof(mb->meta));
	}
	free(ipath);
	if (mb->ix == NULL) {
		free(mb->dir);
		free(mb->name);
		free(mb);
		snprintf(err, errlen, "[SERVERBUG] Cannot open the index");
		return NULL;
	}
	if (mb->meta.uidvalidity == 0) {
		mb->meta.uidvalidity = (uint32_t)time(NULL);
		mb->meta.uidnext = 1;
		mb->meta.highestmodseq = 1;
		meta_save(mb);
	} else
		index_load(mb->ix, load_cb, mb);
	buf_init(&mb->cache, 0);
	mb->force_scan = 1;
	mb->refs = 1;
	mb->next = mbox_open_list;
	mbox_open_list = mb;
	mbox_sync(mb);
	return mb;
}

/* Is name (or, with children, anything below it) open in this process? */
int
mbox_is_open(const char *name, int children)
{
	struct mbox	*mb;
	size_t		 len = strlen(name);

	for (mb = mbox_open_list; mb != NULL; mb = mb->next)
		if (strcmp(mb->name, name) == 0 || (children &&
		    strncmp(mb->name, name, len) == 0 && mb->name[len] == '/'))
			return 1;
	return 0;
}

void
mbox_close(struct mbox *mb)
{
	struct mbox	**pp;
	size_t		 i;

	if (mb == NULL || --mb->refs > 0)
		return;
	for (pp = &mbox_open_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == mb) {
			*pp = mb->next;
			break;
		}
	for (i = 0; i < mb->n; i++)
		imsg_free(mb->msgs[i]);
	free(mb->msgs);
	index_close(mb->ix);
	buf_free(&mb->cache);
	free(mb->dir);
	free(mb->name);
	free(mb);
}

/* A file found on disk that the index does not know yet. */
struct found {
	char		*base;
	char		*fname;
	uint32_t	 flags;
	struct timespec	 mtime;
	int		 recent;
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
    uint32_t flags, const struct stat *st, int recent)
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
	f->recent = recent;
}

static void
scan_dir(struct mbox *mb, struct scan *sc, const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct imsg	*m;
	char		*path, *base, *fname, *from, *colon, bb[256];
	uint32_t	 flags;
	size_t		 bl;
	int		 isnew = strcmp(sub, "new") == 0;

	path = xasprintf("%s/%s", mb->dir, sub);
	d = opendir(path);
	free(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '/') != NULL)
			continue;
		/* the common case, a known file under its known name, is
		 * settled without allocating */
		bl = strcspn(de->d_name, ":");
		if (!isnew && bl < sizeof(bb)) {
			memcpy(bb, de->d_name, bl);
			bb[bl] = '\0';
			if ((m = scan_lookup(sc, bb)) != NULL &&
			    m->fname != NULL &&
			    strncmp(m->fname, "cur/", 4) == 0 &&
			    strcmp(m->fname + 4, de->d_name) == 0) {
				m->seen_on_disk = 1;
				continue;
			}
		}
		base = xstrdup(de->d_name);
		colon = strchr(base, ':');
		flags = info_flags(colon);
		if (colon != NULL)
			*colon = '\0';
		fname = isnew ? cur_name(base, flags) :
		    xasprintf("cur/%s", de->d_name);
		if (isnew) {
			from = xasprintf("%s/new/%s", mb->dir, de->d_name);
			path = xasprintf("%s/%s", mb->dir, fname);
			if (rename(from, path) == -1) {
				/* someone else moved it: a later scan sees */
				free(from);
				free(path);
				goto next;
			}
			free(from);
		} else
			path = xasprintf("%s/%s", mb->dir, fname);
		/* a known file needs no stat: only new ones are measured */
		if ((m = scan_lookup(sc, base)) != NULL)
			scan_known(mb, m, fname, flags);
		else if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			scan_found(sc, base, fname, flags, &st, isnew);
		free(path);
next:
		free(fname);
		free(base);
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
	char		*path;

	m = imsg_new();
	path = xasprintf("%s/%s", mb->dir, f->fname);
	if (file_size_crlf(path, &m->size) == -1) {
		free(path);
		imsg_free(m);
		return;
	}
	free(path);
	m->uid = mb->meta.uidnext++;
	m->base = f->base;
	m->fname = f->fname;
	f->base = f->fname = NULL;
	m->flags = f->flags;
	m->internaldate = (int64_t)f->mtime.tv_sec;
	m->modseq = ++mb->meta.highestmodseq;
	m->recent = f->recent;
	index_put(mb->ix, m);
	msgs_append(mb, m);
}

static int
dir_mtime(const char *dir, const char *sub, struct timespec *ts)
{
	struct stat	 st;
	char		*p;
	int		 r;

	p = xasprintf("%s/%s", dir, sub);
	r = stat(p, &st);
	free(p);
	if (r == -1)
		return -1;
	*ts = st.st_mtim;
	return 0;
}

static int
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void
rescan(struct mbox *mb)
{
	struct scan	 sc;
	size_t		 i, j;
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
	scan_dir(mb, &sc, "cur");
	scan_dir(mb, &sc, "new");
	free(sc.bybase);

	/* files that vanished were expunged by another Maildir user */
	for (i = j = 0; i < mb->n; i++) {
		if (mb->msgs[i]->seen_on_disk) {
			mb->msgs[j++] = mb->msgs[i];
			continue;
		}
		index_del(mb->ix, mb->msgs[i]->uid);
		mb->hdr_bytes -= mb->msgs[i]->hdrlen;
		imsg_free(mb->msgs[i]);
		changed = 1;
	}
	mb->n = j;
	if (changed)
		mb->meta.highestmodseq++;
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
	/* UIDs were handed out or taken back: that must survive a crash */
	if (changed)
		meta_save(mb);
	else if (mb->meta.highestmodseq != before)
		index_put_meta(mb->ix, &mb->meta);
}

int
mbox_sync(struct mbox *mb)
{
	struct timespec	 tn, tc;
	time_t		 now = time(NULL);

	if (dir_mtime(mb->dir, "new", &tn) == -1 ||
	    dir_mtime(mb->dir, "cur", &tc) == -1)
		return -1;
	if (!mb->force_scan && ts_eq(&tn, &mb->mt_new) &&
	    ts_eq(&tc, &mb->mt_cur))
		return 0;
	rescan(mb);
	/* our own renames changed the mtimes: take them after the scan */
	dir_mtime(mb->dir, "new", &mb->mt_new);
	dir_mtime(mb->dir, "cur", &mb->mt_cur);
	mb->force_scan = mb->mt_new.tv_sec >= now - 1 ||
	    mb->mt_cur.tv_sec >= now - 1;
	return 0;
}

/* Set the flags of m (system flags go to the file name). */
int
mbox_store(struct mbox *mb, struct imsg *m, uint32_t flags,
    const char *keywords)
{
	char	*nf, *from, *to;
	int	 kwchanged;

	flags &= IMSG_SYSFLAGS;
	kwchanged = (keywords == NULL) != (m->keywords == NULL) ||
	    (keywords != NULL && strcmp(keywords, m->keywords) != 0);
	if (flags != m->flags) {
		nf = cur_name(m->base, flags);
		from = xasprintf("%s/%s", mb->dir, m->fname);
		to = xasprintf("%s/%s", mb->dir, nf);
		if (rename(from, to) == -1) {
			free(from);
			free(to);
			free(nf);
			mb->force_scan = 1;
			return -1;
		}
		free(from);
		free(to);
		free(m->fname);
		m->fname = nf;
		m->flags = flags;
	} else if (!kwchanged)
		return 0;
	if (kwchanged) {
		free(m->keywords);
		m->keywords = keywords != NULL && *keywords != '\0' ?
		    xstrdup(keywords) : NULL;
	}
	m->modseq = ++mb->meta.highestmodseq;
	index_put(mb->ix, m);
	index_put_meta(mb->ix, &mb->meta);
	return 0;
}

int
mbox_expunge_msg(struct mbox *mb, uint32_t uid)
{
	size_t		 i = mbox_uid_pos(mb, uid);
	struct imsg	*m;
	char		*path;

	if (i >= mb->n || mb->msgs[i]->uid != uid)
		return -1;
	m = mb->msgs[i];
	path = xasprintf("%s/%s", mb->dir, m->fname);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
	free(path);
	index_del(mb->ix, uid);
	memmove(&mb->msgs[i], &mb->msgs[i + 1],
	    (mb->n - i - 1) * sizeof(*mb->msgs));
	mb->n--;
	mb->hdr_bytes -= m->hdrlen;
	imsg_free(m);
	mb->meta.highestmodseq++;
	index_put_meta(mb->ix, &mb->meta);
	return 0;
}

static char *
unique_base(void)
{
	struct timespec	 ts;
	char		 host[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' may not appear in a Maildir name */
	for (char *p = host; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return xasprintf("%lld.M%ldP%dQ%u.%s", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000, (int)getpid(), ++mbox_counter, host);
}

/* Register a file just placed in cur/ as the next UID. */
static struct imsg *
add_new(struct mbox *mb, char *base, uint32_t flags, uint64_t size,
    int64_t date)
{
	struct imsg	*m = imsg_new();

	m->uid = mb->meta.uidnext++;
	m->base = base;
	m->fname = cur_name(base, flags);
	m->flags = flags;
	m->size = size;
	m->internaldate = date;
	m->modseq = ++mb->meta.highestmodseq;
	index_put(mb->ix, m);
	msgs_append(mb, m);
	meta_save(mb);
	return m;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write data to tmp/, fsync, rename into cur/ with flags. */
static int
deliver(struct mbox *mb, const void *data, size_t len, uint32_t flags,
    int64_t date, char **base_r)
{
	struct timespec	 tv[2];
	char		*base, *tmp, *fname, *dst;
	int		 fd, r = -1;

	base = unique_base();
	tmp = xasprintf("%s/tmp/%s", mb->dir, base);
	fname = cur_name(base, flags);
	dst = xasprintf("%s/%s", mb->dir, fname);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd == -1)
		goto out;
	tv[0].tv_sec = tv[1].tv_sec = (time_t)date;
	tv[0].tv_nsec = tv[1].tv_nsec = 0;
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1 ||
	    futimens(fd, tv) == -1) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, dst) == -1) {
		unlink(tmp);
		goto out;
	}
	*base_r = base;
	base = NULL;
	r = 0;
out:
	free(base);
	free(tmp);
	free(fname);
	free(dst);
	return r;
}

int
mbox_append(struct mbox *mb, const void *data, size_t len, uint32_t flags,
    const char *keywords, int64_t date, uint32_t *uid_r)
{
	const char	*s = data;
	struct imsg	*m;
	char		*base;
	uint64_t	 size = len;
	size_t		 i;

	mbox_sync(mb);
	for (i = 0; i < len; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			size++;
	flags &= IMSG_SYSFLAGS;
	if (deliver(mb, data, len, flags, date, &base) == -1)
		return -1;
	m = add_new(mb, base, flags, size, date);
	if (keywords != NULL && *keywords != '\0') {
		m->keywords = xstrdup(keywords);
		index_put(mb->ix, m);
	}
	*uid_r = m->uid;
	return 0;
}

static void
copy_caches(struct mbox *src, uint32_t suid, struct mbox *dst, uint32_t duid)
{
	static const char kinds[] = { IDX_CACHE_ENVELOPE, IDX_CACHE_BODY,
	    IDX_CACHE_BODYSTRUCTURE };
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(kinds); i++)
		if (index_get_cache(src->ix, suid, kinds[i], &b) == 0)
			index_put_cache(dst->ix, duid, kinds[i], buf_cstr(&b));
	buf_free(&b);
}

int
mbox_copy(struct mbox *src, const struct imsg *sm, struct mbox *dst,
    uint32_t *uid_r)
{
	const struct buf *data;
	struct imsg	*m;
	char		*from, *to, *base, *fname;

	/* a hard link costs nothing; fall back to copying the bytes */
	base = unique_base();
	fname = cur_name(base, sm->flags);
	from = xasprintf("%s/%s", src->dir, sm->fname);
	to = xasprintf("%s/%s", dst->dir, fname);
	free(fname);
	if (link(from, to) == -1) {
		free(base);
		base = NULL;
		if (mbox_read(src, sm, &data) == -1 ||
		    deliver(dst, data->data, data->len, sm->flags,
		    sm->internaldate, &base) == -1) {
			free(from);
			free(to);
			return -1;
		}
	}
	free(from);
	free(to);
	m = add_new(dst, base, sm->flags, sm->size, sm->internaldate);
	if (sm->keywords != NULL)
		m->keywords = xstrdup(sm->keywords);
	index_put(dst->ix, m);
	copy_caches(src, sm->uid, dst, m->uid);
	*uid_r = m->uid;
	return 0;
}

/*
 * Read the file of m into out with every bare LF made CRLF.  With
 * header_only, stop after the empty line that ends the header.
 */
static int
read_crlf(struct mbox *mb, const struct imsg *m, struct buf *out,
    int header_only)
{
	char	 b[16384];
	char	*path;
	ssize_t	 n, i, s;
	int	 fd, prev = 0, eol = 1, done = 0;

	path = xasprintf("%s/%s", mb->dir, m->fname);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	free(path);
	if (fd == -1) {
		mb->force_scan = 1;
		return -1;
	}
	while (!done && (n = read(fd, b, sizeof(b))) > 0) {
		for (i = s = 0; i < n; i++) {
			if (b[i] == '\n') {
				if (prev != '\r') {
					if (buf_add(out, b + s,
					    (size_t)(i - s)) == -1 ||
					    buf_add(out, "\r", 1) == -1)
						goto fail;
					s = i;
				}
				if (header_only && eol) {
					i++;
					done = 1;
					break;
				}
				eol = 1;
			} else if (b[i] != '\r')
				eol = 0;
			prev = (unsigned char)b[i];
		}
		if (buf_add(out, b + s, (size_t)(i - s)) == -1)
			goto fail;
	}
	if (!done && n == -1)
		goto fail;
	close(fd);
	if (out->data == NULL)
		buf_add(out, "", 0);
	return 0;
fail:
	close(fd);
	buf_reset(out);
	return -1;
}

/* The message with every line ending CRLF, cached for the next call. */
int
mbox_read(struct mbox *mb, const struct imsg *m, const struct buf **out)
{
	if (mb->cache_uid == m->uid && mb->cache.data != NULL) {
		*out = &mb->cache;
		return 0;
	}
	mb->cache_uid = 0;
	buf_reset(&mb->cache);
	mb->cache.max = MSG_MAX;
	if (read_crlf(mb, m, &mb->cache, 0) == -1)
		return -1;
	mb->cache_uid = m->uid;
	*out = &mb->cache;
	return 0;
}

/*
 * Only the header of m (through its empty line), CRLF, into out.  Headers
 * are kept in memory up to HDR_CACHE_MAX bytes per folder, as SEARCH
 * and header FETCHes come back to them; a Maildir file never changes.
 */
int
mbox_read_header(struct mbox *mb, struct imsg *m, struct buf *out)
{
	buf_reset(out);
	out->max = MSG_MAX;
	if (m->hdr != NULL)
		return buf_add(out, m->hdr, m->hdrlen);
	if (mb->cache_uid == m->uid && mb->cache.data != NULL) {
		const char *e = buf_memmem(&mb->cache, 0, "\r\n\r\n", 4);
		size_t len = e != NULL ? (size_t)(e - mb->cache.data) + 4 :
		    mb->cache.len;
		if (buf_add(out, mb->cache.data, len) == -1)
			return -1;
	} else if (read_crlf(mb, m, out, 1) == -1)
		return -1;
	if (mb->hdr_bytes + out->len <= HDR_CACHE_MAX) {
		m->hdr = xmalloc(out->len + 1);
		memcpy(m->hdr, out->data, out->len);
		m->hdrlen = out->len;
		mb->hdr_bytes += out->len;
	}
	return 0;
}

/* ENVELOPE, BODY or BODYSTRUCTURE of m from the index; -1 if not there. */
int
mbox_cache_get(struct mbox *mb, const struct imsg *m, int kind,
    struct buf *out)
{
	return index_get_cache(mb->ix, m->uid, kind, out);
}

void
mbox_cache_put(struct mbox *mb, const struct imsg *m, int kind,
    const char *s)
{
	index_put_cache(mb->ix, m->uid, kind, s);
}

