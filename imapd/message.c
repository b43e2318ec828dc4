/*
 * message.c - what imapd does to the messages of an open folder: flags
 * (a STORE renames the file), EXPUNGE, APPEND, COPY (MOVE is a COPY and
 * an EXPUNGE), and reading a message with CRLF line ends; see mailbox.h.
 *
 * Line ends: a file is read as it was written when its first line ends
 * in CRLF (APPEND stores what the client sent, so a literal8's binary
 * part comes back byte for byte); a file with LF line ends (the Maildir
 * convention of other tools) has every bare LF sent as CRLF.
 *
 * Files are written the Maildir way by common/maildir: into tmp/,
 * fsynced, renamed into cur/ with their flags, cur/ fsynced.  They are
 * reached from the folder's descriptors without following links.  A file
 * that went away (another Maildir user expunged or renamed it) makes the
 * call fail and forces a rescan (mailbox.c).  Each file stored or
 * expunged is one line in the Maildir's maildirsize, so mda's quota check
 * stays right without counting the Maildir (common/maildirsize.c).
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory).
 */
#include <sys/stat.h>
#include <sys/types.h>

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
#include "maildir.h"
#include "mailbox.h"
#include "xmalloc.h"

#define HDR_CACHE_MAX	(4UL * 1024 * 1024)
#define HDR_INDEX_MAX	(64 * 1024)

static ssize_t
keyword_find(const struct mbox *mb, const char *k, size_t len)
{
	size_t	 i;

	for (i = 0; i < mb->nkw; i++)
		if (strncasecmp(mb->kw[i], k, len) == 0 &&
		    mb->kw[i][len] == '\0')
			return (ssize_t)i;
	return -1;
}

/*
 * Note the keywords of list (space separated, may be NULL) as in use in
 * mb: what sessions are told in FLAGS.  A keyword is one however it is
 * spelt (RFC 3501 compares them without case); canon, if given, gets the
 * list spelt as mb first knew each.  With limit, a list that would take
 * mb past MBOX_KEYWORDS_MAX adds nothing and gives -1.
 */
int
mbox_keywords_add(struct mbox *mb, const char *list, struct buf *canon,
    int limit)
{
	const char	*s, *e;
	size_t		 len, nnew = 0;
	ssize_t		 i;
	int		 pass;

	if (canon != NULL)
		buf_reset(canon);
	for (pass = limit ? 0 : 1; pass < 2; pass++) {
		for (s = list; s != NULL && *s != '\0'; s = e) {
			while (*s == ' ')
				s++;
			for (e = s; *e != '\0' && *e != ' '; e++)
				;
			if ((len = (size_t)(e - s)) == 0)
				continue;
			i = keyword_find(mb, s, len);
			if (pass == 0) {
				nnew += i == -1;
				continue;
			}
			if (i == -1) {
				mb->kw = xreallocarray(mb->kw, mb->nkw + 1,
				    sizeof(*mb->kw));
				mb->kw[mb->nkw] = xstrndup(s, len);
				i = (ssize_t)mb->nkw++;
			}
			if (canon != NULL)
				buf_printf(canon, "%s%s", canon->len ?
				    " " : "", mb->kw[i]);
		}
		if (pass == 0 && mb->nkw + nnew > MBOX_KEYWORDS_MAX)
			return -1;
	}
	if (canon != NULL)
		buf_add(canon, "", 0);
	return 0;
}

/* Set the flags of m (system flags go to the file name). */
int
mbox_store(struct mbox *mb, struct imsg *m, uint32_t flags,
    const char *keywords)
{
	char	*nf;
	int	 kwchanged, insync;

	flags &= IMSG_SYSFLAGS;
	kwchanged = (keywords == NULL) != (m->keywords == NULL) ||
	    (keywords != NULL && strcmp(keywords, m->keywords) != 0);
	if (flags != m->flags) {
		nf = mbox_cur_name(m->base, flags);
		insync = mbox_own_begin(mb);
		if (renameat(mb->md.cur, mbox_msg_file(m), mb->md.cur,
		    nf + 4) == -1) {
			free(nf);
			mb->force_scan = 1;
			return -1;
		}
		mbox_own_end(mb, insync);
		free(m->fname);
		m->fname = nf;
		m->flags = flags;
	} else if (!kwchanged)
		return 0;
	if (kwchanged) {
		mbox_keywords_add(mb, keywords, NULL, 0);
		free(m->keywords);
		m->keywords = keywords != NULL && *keywords != '\0' ?
		    xstrdup(keywords) : NULL;
	}
	m->modseq = ++mb->meta.highestmodseq;
	index_put(mb->ix, m);
	index_put_meta(mb->ix, &mb->meta);
	return 0;
}

/* The size of the regular file name in dir, or -1. */
static off_t
file_size(int dir, const char *name)
{
	struct stat	 st;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/*
 * Count messages of bytes more (or fewer) in the user's Maildir++
 * maildirsize, which mda reads for the quota at delivery: the file
 * stays right without a recount (common/maildirsize.c).
 */
static void
quota_note(struct mbox *mb, int64_t bytes, int64_t count)
{
	if (md_quota_add(mbox_root_fd(), bytes, count) == -1)
		log_warn("maildirsize %s", mb->name);
}

int
mbox_expunge_msg(struct mbox *mb, uint32_t uid)
{
	size_t		 i = mbox_uid_pos(mb, uid);
	struct imsg	*m;
	off_t		 size;
	int		 insync;

	if (i >= mb->n || mb->msgs[i]->uid != uid)
		return -1;
	m = mb->msgs[i];
	size = file_size(mb->md.cur, mbox_msg_file(m));
	insync = mbox_own_begin(mb);
	if (unlinkat(mb->md.cur, mbox_msg_file(m), 0) == -1) {
		if (errno != ENOENT)
			log_warn("unlink %s/%s", mb->name, m->fname);
	} else {
		mbox_own_end(mb, insync);
		if (size >= 0)
			quota_note(mb, -size, -1);
	}
	index_del(mb->ix, uid);
	memmove(&mb->msgs[i], &mb->msgs[i + 1],
	    (mb->n - i - 1) * sizeof(*mb->msgs));
	mb->n--;
	mb->hdr_bytes -= m->hdrlen;
	imsg_free(m);
	mb->meta.highestmodseq++;
	mbox_expunged_add(mb, uid, mb->meta.highestmodseq);
	index_put_meta(mb->ix, &mb->meta);
	return 0;
}

/* Register a file just placed in cur/ (its name there) as the next UID. */
static struct imsg *
add_new(struct mbox *mb, const char *name, uint32_t flags, uint64_t size,
    int64_t date)
{
	struct imsg	*m = imsg_new();

	m->uid = mb->meta.uidnext++;
	m->base = xstrndup(name, md_base_len(name));
	m->fname = mbox_cur_name(m->base, flags);
	m->flags = flags;
	m->size = size;
	m->internaldate = date;
	m->modseq = ++mb->meta.highestmodseq;
	index_put(mb->ix, m);
	mbox_msgs_append(mb, m);
	mbox_meta_save(mb);
	return m;
}

/*
 * Write data into cur/ with flags, dated date (INTERNALDATE), the
 * Maildir way; its name in name.
 */
static int
deliver(struct mbox *mb, const void *data, size_t len, uint32_t flags,
    int64_t date, char *name, size_t namelen)
{
	struct md_src	 src = { NULL, data, len, -1, (time_t)date };
	int		 insync = mbox_own_begin(mb);

	if (md_store_cur(&mb->md, &src, flags, NULL, name, namelen) == -1)
		return -1;
	mbox_own_end(mb, insync);
	return 0;
}

int
mbox_append(struct mbox *mb, const void *data, size_t len, uint32_t flags,
    const char *keywords, int64_t date, uint32_t *uid_r)
{
	const char	*s = data;
	struct imsg	*m;
	char		 name[MD_NAME_MAX];
	uint64_t	 size = len;
	size_t		 i;

	/* as read_crlf() will send it: LF files get CRLF */
	for (i = 0; i < len && s[i] != '\n'; i++)
		;
	if (i < len && (i == 0 || s[i - 1] != '\r'))
		for (; i < len; i++)
			if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
				size++;
	flags &= IMSG_SYSFLAGS;
	if (deliver(mb, data, len, flags, date, name, sizeof(name)) == -1)
		return -1;
	quota_note(mb, (int64_t)len, 1);
	m = add_new(mb, name, flags, size, date);
	if (keywords != NULL && *keywords != '\0') {
		mbox_keywords_add(mb, keywords, NULL, 0);
		m->keywords = xstrdup(keywords);
		index_put(mb->ix, m);
	}
	*uid_r = m->uid;
	return 0;
}

static void
copy_caches(struct mbox *src, uint32_t suid, struct mbox *dst, uint32_t duid)
{
	static const char kinds[] = IDX_CACHE_KINDS;
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
	struct buf	 kw;
	char		 name[MD_NAME_MAX];
	off_t		 fsize;

	int		 insync = mbox_own_begin(dst);

	/* a hard link costs nothing; fall back to copying the bytes */
	if (md_link_cur(&src->md, mbox_msg_file(sm), &dst->md, sm->flags,
	    NULL, name, sizeof(name)) == 0)
		mbox_own_end(dst, insync);
	else if (mbox_read(src, sm, &data) == -1 ||
	    deliver(dst, data->data, data->len, sm->flags, sm->internaldate,
	    name, sizeof(name)) == -1)
		return -1;
	if ((fsize = file_size(dst->md.cur, name)) >= 0)
		quota_note(dst, fsize, 1);
	m = add_new(dst, name, sm->flags, sm->size, sm->internaldate);
	if (sm->keywords != NULL) {
		buf_init(&kw, 0);
		mbox_keywords_add(dst, sm->keywords, &kw, 0);
		m->keywords = kw.len > 0 ? xstrdup(buf_cstr(&kw)) : NULL;
		buf_free(&kw);
	}
	index_put(dst->ix, m);
	copy_caches(src, sm->uid, dst, m->uid);
	*uid_r = m->uid;
	return 0;
}

/*
 * Read the file of m into out, every bare LF made CRLF if its first line
 * ends in LF (see the top of this file).  With header_only, stop after
 * the empty line that ends the header.
 */
static int
read_crlf(struct mbox *mb, const struct imsg *m, struct buf *out,
    int header_only)
{
	char	 b[16384];
	ssize_t	 n, i, s;
	int	 fd, prev = 0, eol = 1, done = 0, conv = -1;

	if ((fd = mbox_msg_open(mb, m)) == -1) {
		mb->force_scan = 1;
		return -1;
	}
	while (!done && (n = read(fd, b, sizeof(b))) > 0) {
		for (i = s = 0; i < n; i++) {
			if (b[i] == '\n') {
				if (conv == -1)
					conv = prev != '\r';
				if (prev != '\r' && conv == 1) {
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
	mb->cache.max = MBOX_MSG_MAX;
	if (read_crlf(mb, m, &mb->cache, 0) == -1)
		return -1;
	mb->cache_uid = m->uid;
	*out = &mb->cache;
	return 0;
}

/*
 * Only the header of m (through its empty line), CRLF, into out.  Headers
 * are kept in memory up to HDR_CACHE_MAX bytes per folder, as SEARCH
 * and header FETCHes come back to them, and in the index (up to
 * HDR_INDEX_MAX bytes each, without NUL), for the next process and the
 * messages beyond the memory's share; a Maildir file never changes.
 */
int
mbox_read_header(struct mbox *mb, struct imsg *m, struct buf *out)
{
	buf_reset(out);
	out->max = MBOX_MSG_MAX;
	if (m->hdr != NULL)
		return buf_add(out, m->hdr, m->hdrlen);
	if (mb->cache_uid == m->uid && mb->cache.data != NULL) {
		const char *e = buf_memmem(&mb->cache, 0, "\r\n\r\n", 4);
		size_t len = e != NULL ? (size_t)(e - mb->cache.data) + 4 :
		    mb->cache.len;
		if (buf_add(out, mb->cache.data, len) == -1)
			return -1;
	} else if (index_get_cache(mb->ix, m->uid, IDX_CACHE_HEADER, out) ==
	    -1) {
		if (read_crlf(mb, m, out, 1) == -1)
			return -1;
		if (out->len <= HDR_INDEX_MAX && out->len > 0 &&
		    memchr(out->data, '\0', out->len) == NULL)
			index_put_cache(mb->ix, m->uid, IDX_CACHE_HEADER,
			    buf_cstr(out));
	}
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

