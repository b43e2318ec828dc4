/*
 * index.c - the per-folder IMAP index in Berkeley DB; see index.h.
 *
 * Keys: the one-byte key "M" holds the folder's meta record; every
 * message is under its UID as four big-endian bytes, so a cursor walks
 * messages in UID order.  Values are db_rec records (common/db.h).
 *
 * Writes are not made durable one by one: the index can be rebuilt from
 * the Maildir, the messages cannot, so only a message's file and its
 * directory entry are fsynced before a client is told it is stored.
 * What must hold after a crash is that a UID is never given to a second
 * message under the same UIDVALIDITY.  So the first write after the
 * file was last made whole puts the one-byte key "D" (dirty) and syncs
 * it to disk before anything else can reach the file; index_sync()
 * writes everything and then removes "D".  A file found with "D" may
 * miss records that were given out (the process ended without its last
 * index_sync(): killed, or the machine went down) and is rebuilt by
 * mailbox.c with a new UIDVALIDITY, as a lost index is.
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory).  The file is only ever written by that process, but it sits
 * in a directory the user's mail tools could touch, so records are decoded
 * defensively: a record that does not decode is dropped and the message is
 * picked up again by the next rescan.
 */
#include <sys/types.h>

#include <db.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "index.h"
#include "log.h"
#include "xmalloc.h"

#define IDX_VERSION	1

enum {
	T_UIDVALIDITY = 1, T_UIDNEXT, T_HIGHESTMODSEQ, T_EXPUNGED_FLOOR,
	T_EXP_HI = 5, T_EXP_MODSEQ, T_RECENTUID, T_SYNCED_NEW, T_SYNCED_CUR,
	T_UID = 10, T_FLAGS, T_MODSEQ, T_SIZE, T_DATE, T_BASE, T_KEYWORDS,
	T_OLD_ENVELOPE, T_OLD_BODYSTRUCTURE, T_OLD_BODY	/* ignored */
};

struct mbox_index {
	DB	*db;
	int	 dirty;		/* "D" on disk, writes not synced */
};

static const DBT dirty_key = { .data = (void *)"D", .size = 1 };

/* Before the first write since the file was last whole: "D", synced. */
static int
index_dirty(struct mbox_index *ix)
{
	DBT	 key = dirty_key, val;
	int	 rc;

	if (ix->dirty)
		return 0;
	memset(&val, 0, sizeof(val));
	val.data = (void *)"1";
	val.size = 1;
	if ((rc = ix->db->put(ix->db, NULL, &key, &val, 0)) != 0 ||
	    (rc = ix->db->sync(ix->db, 0)) != 0) {
		log_warnx("index: %s", db_strerror(rc));
		return -1;
	}
	ix->dirty = 1;
	return 0;
}

/* Did the file's last writer end without index_sync()? */
int
index_unclean(struct mbox_index *ix)
{
	DBT	 key = dirty_key, val;

	memset(&val, 0, sizeof(val));
	return ix->db->get(ix->db, NULL, &key, &val, 0) == 0;
}

/* Every write since the last index_sync() on disk, and the file whole. */
int
index_sync(struct mbox_index *ix)
{
	DBT	 key = dirty_key;

	if (!ix->dirty)
		return 0;
	if (ix->db->sync(ix->db, 0) != 0 ||
	    ix->db->del(ix->db, NULL, &key, 0) != 0 ||
	    ix->db->sync(ix->db, 0) != 0)
		return -1;
	ix->dirty = 0;
	return 0;
}

int
index_is_dirty(const struct mbox_index *ix)
{
	return ix->dirty;
}

struct mbox_index *
index_open(const char *path, char *err, size_t errlen)
{
	struct mbox_index	*ix;
	DB			*db;
	int			 rc;

	if ((rc = db_create(&db, NULL, 0)) != 0) {
		snprintf(err, errlen, "db_create: %s", db_strerror(rc));
		return NULL;
	}
	rc = db->open(db, NULL, path, NULL, DB_BTREE, DB_CREATE, 0600);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, db_strerror(rc));
		db->close(db, 0);
		return NULL;
	}
	ix = xcalloc(1, sizeof(*ix));
	ix->db = db;
	return ix;
}

void
index_close(struct mbox_index *ix)
{
	if (ix == NULL)
		return;
	index_sync(ix);
	ix->db->close(ix->db, 0);
	free(ix);
}

static int
put(struct mbox_index *ix, const void *k, size_t klen, const struct buf *v)
{
	DBT	 key, val;
	int	 rc;

	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)k;
	key.size = (u_int32_t)klen;
	val.data = v->data;
	val.size = (u_int32_t)v->len;
	if (index_dirty(ix) == -1)
		return -1;
	if ((rc = ix->db->put(ix->db, NULL, &key, &val, 0)) != 0) {
		log_warnx("index_put: %s", db_strerror(rc));
		return -1;
	}
	return 0;
}

int
index_get_meta(struct mbox_index *ix, struct index_meta *m)
{
	struct db_rec_reader	 r;
	DBT			 key, val;
	const void		*v;
	size_t			 len;
	uint64_t		 x, floor;
	uint8_t			 tag;

	memset(m, 0, sizeof(*m));
	floor = 0;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)"M";
	key.size = 1;
	if (ix->db->get(ix->db, NULL, &key, &val, 0) != 0)
		return -1;
	if (db_rec_open(&r, val.data, val.size) == -1 ||
	    r.version != IDX_VERSION)
		return -1;
	while (db_rec_next(&r, &tag, &v, &len) == 1) {
		if (db_rec_int(v, len, &x) == -1)
			continue;
		if (tag == T_UIDVALIDITY)
			m->uidvalidity = (uint32_t)x;
		else if (tag == T_UIDNEXT)
			m->uidnext = (uint32_t)x;
		else if (tag == T_HIGHESTMODSEQ)
			m->highestmodseq = x;
		else if (tag == T_EXPUNGED_FLOOR)
			floor = x + 1;
		else if (tag == T_RECENTUID)
			m->recentuid = (uint32_t)x;
		else if (tag == T_SYNCED_NEW)
			m->synced_new = x;
		else if (tag == T_SYNCED_CUR)
			m->synced_cur = x;
	}
	/* an index from before expunges were kept knows none of them */
	m->expunged_floor = floor > 0 ? floor - 1 : m->highestmodseq;
	/* an index written before \Recent was kept: nothing is recent */
	if (m->recentuid == 0 || m->recentuid > m->uidnext)
		m->recentuid = m->uidnext;
	return m->uidvalidity != 0 && m->uidnext != 0 ? 0 : -1;
}

int
index_put_meta(struct mbox_index *ix, const struct index_meta *m)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b, 0);
	db_rec_begin(&b, IDX_VERSION);
	db_rec_u32(&b, T_UIDVALIDITY, m->uidvalidity);
	db_rec_u32(&b, T_UIDNEXT, m->uidnext);
	db_rec_u64(&b, T_HIGHESTMODSEQ, m->highestmodseq);
	db_rec_u64(&b, T_EXPUNGED_FLOOR, m->expunged_floor);
	db_rec_u32(&b, T_RECENTUID, m->recentuid);
	db_rec_u64(&b, T_SYNCED_NEW, m->synced_new);
	db_rec_u64(&b, T_SYNCED_CUR, m->synced_cur);
	rc = put(ix, "M", 1, &b);
	buf_free(&b);
	return rc;
}

static void
uidkey(uint32_t uid, unsigned char k[4])
{
	k[0] = (unsigned char)(uid >> 24);
	k[1] = (unsigned char)(uid >> 16);
	k[2] = (unsigned char)(uid >> 8);
	k[3] = (unsigned char)uid;
}

struct imsg *
imsg_new(void)
{
	return xcalloc(1, sizeof(struct imsg));
}

void
imsg_free(struct imsg *m)
{
	if (m == NULL)
		return;
	free(m->base);
	free(m->fname);
	free(m->keywords);
	free(m->hdr);
	free(m);
}

static void
rec_optstr(struct buf *b, uint8_t tag, const char *s)
{
	if (s != NULL)
		db_rec_str(b, tag, s);
}

void
imsg_encode(const struct imsg *m, struct buf *b)
{
	db_rec_begin(b, IDX_VERSION);
	db_rec_u32(b, T_UID, m->uid);
	db_rec_u32(b, T_FLAGS, m->flags);
	db_rec_u64(b, T_MODSEQ, m->modseq);
	db_rec_u64(b, T_SIZE, m->size);
	db_rec_u64(b, T_DATE, (uint64_t)m->internaldate);
	db_rec_str(b, T_BASE, m->base);
	rec_optstr(b, T_KEYWORDS, m->keywords);
}

static char *
dupfield(const void *v, size_t len)
{
	if (memchr(v, '\0', len) != NULL)
		return NULL;
	return xstrndup(v, len);
}

/* Decode into m (fields it owns are replaced).  -1 if unusable. */
int
imsg_decode(const void *data, size_t size, struct imsg *m)
{
	struct db_rec_reader	 r;
	const void		*v;
	size_t			 len;
	uint64_t		 x;
	uint8_t			 tag;
	char			**sp;

	if (db_rec_open(&r, data, size) == -1 || r.version != IDX_VERSION)
		return -1;
	while (db_rec_next(&r, &tag, &v, &len) == 1) {
		sp = NULL;
		switch (tag) {
		case T_BASE:
			sp = &m->base;
			break;
		case T_KEYWORDS:
			sp = &m->keywords;
			break;
		case T_OLD_ENVELOPE:
		case T_OLD_BODYSTRUCTURE:
		case T_OLD_BODY:
			continue;
		default:
			if (db_rec_int(v, len, &x) == -1)
				continue;
			if (tag == T_UID)
				m->uid = (uint32_t)x;
			else if (tag == T_FLAGS)
				m->flags = (uint32_t)x & IMSG_SYSFLAGS;
			else if (tag == T_MODSEQ)
				m->modseq = x;
			else if (tag == T_SIZE)
				m->size = x;
			else if (tag == T_DATE)
				m->internaldate = (int64_t)x;
			continue;
		}
		free(*sp);
		*sp = dupfield(v, len);
	}
	if (m->uid == 0 || m->base == NULL || strchr(m->base, '/') != NULL)
		return -1;
	return 0;
}

int
index_put(struct mbox_index *ix, const struct imsg *m)
{
	unsigned char	 k[4];
	struct buf	 b;
	int		 rc;

	uidkey(m->uid, k);
	buf_init(&b, 0);
	imsg_encode(m, &b);
	rc = put(ix, k, sizeof(k), &b);
	buf_free(&b);
	return rc;
}

int
index_del(struct mbox_index *ix, uint32_t uid)
{
	static const char kinds[] = IDX_CACHE_KINDS;
	unsigned char	 k[5];
	DBT		 key;
	size_t		 i;
	int		 rc;

	if (index_dirty(ix) == -1)
		return -1;
	uidkey(uid, k);
	memset(&key, 0, sizeof(key));
	key.data = k;
	key.size = 4;
	rc = ix->db->del(ix->db, NULL, &key, 0) == 0 ? 0 : -1;
	key.size = 5;
	for (i = 0; i < sizeof(kinds); i++) {
		k[4] = (unsigned char)kinds[i];
		ix->db->del(ix->db, NULL, &key, 0);
	}
	return rc;
}

int
index_get_cache(struct mbox_index *ix, uint32_t uid, int kind,
    struct buf *out)
{
	unsigned char	 k[5];
	DBT		 key, val;

	uidkey(uid, k);
	k[4] = (unsigned char)kind;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = k;
	key.size = sizeof(k);
	if (ix->db->get(ix->db, NULL, &key, &val, 0) != 0 || val.size == 0 ||
	    memchr(val.data, '\0', val.size) != NULL)
		return -1;
	buf_reset(out);
	return buf_add(out, val.data, val.size);
}

int
index_put_cache(struct mbox_index *ix, uint32_t uid, int kind,
    const char *s)
{
	unsigned char	 k[5];
	struct buf	 v;
	int		 rc;

	uidkey(uid, k);
	k[4] = (unsigned char)kind;
	buf_init(&v, 0);
	buf_addstr(&v, s);
	rc = put(ix, k, sizeof(k), &v);
	buf_free(&v);
	return rc;
}

/*
 * Call fn for every message record in UID order; fn owns the imsg it is
 * given.  Records that do not decode are deleted.
 */
int
index_load(struct mbox_index *ix, int (*fn)(struct imsg *, void *),
    void *arg)
{
	DBC		*c;
	DBT		 key, val;
	struct imsg	*m;
	int		 rc;

	if (ix->db->cursor(ix->db, NULL, &c, 0) != 0)
		return -1;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	while ((rc = c->get(c, &key, &val, DB_NEXT)) == 0) {
		if (key.size != 4)
			continue;
		m = imsg_new();
		if (imsg_decode(val.data, val.size, m) == -1) {
			imsg_free(m);
			if (index_dirty(ix) == 0)
				c->del(c, 0);
			continue;
		}
		if (fn(m, arg) == -1)
			break;
	}
	c->close(c);
	return rc == 0 || rc == DB_NOTFOUND ? 0 : -1;
}

/*
 * Expunged UID ranges: key "EXP" and the range's first UID as four
 * big-endian bytes (seven bytes, a length no other key has), value the
 * last UID and the modseq of the range.
 */
#define EXP_PREFIX	"EXP"
#define EXP_KEYLEN	7

static void
expkey(uint32_t lo, unsigned char k[EXP_KEYLEN])
{
	memcpy(k, EXP_PREFIX, 3);
	uidkey(lo, k + 3);
}

int
index_put_expunged(struct mbox_index *ix, const struct mbox_expunged *e)
{
	unsigned char	 k[EXP_KEYLEN];
	struct buf	 b;
	int		 rc;

	expkey(e->lo, k);
	buf_init(&b, 0);
	db_rec_begin(&b, IDX_VERSION);
	db_rec_u32(&b, T_EXP_HI, e->hi);
	db_rec_u64(&b, T_EXP_MODSEQ, e->modseq);
	rc = put(ix, k, sizeof(k), &b);
	buf_free(&b);
	return rc;
}

int
index_del_expunged(struct mbox_index *ix, uint32_t lo)
{
	unsigned char	 k[EXP_KEYLEN];
	DBT		 key;

	if (index_dirty(ix) == -1)
		return -1;
	expkey(lo, k);
	memset(&key, 0, sizeof(key));
	key.data = k;
	key.size = sizeof(k);
	return ix->db->del(ix->db, NULL, &key, 0) == 0 ? 0 : -1;
}

static int
exp_decode(const DBT *key, const DBT *val, struct mbox_expunged *e)
{
	struct db_rec_reader	 r;
	const unsigned char	*k = key->data;
	const void		*v;
	size_t			 len;
	uint64_t		 x;
	uint8_t			 tag;

	if (key->size != EXP_KEYLEN || memcmp(k, EXP_PREFIX, 3) != 0 ||
	    db_rec_open(&r, val->data, val->size) == -1 ||
	    r.version != IDX_VERSION)
		return -1;
	memset(e, 0, sizeof(*e));
	e->lo = (uint32_t)k[3] << 24 | (uint32_t)k[4] << 16 |
	    (uint32_t)k[5] << 8 | k[6];
	while (db_rec_next(&r, &tag, &v, &len) == 1) {
		if (db_rec_int(v, len, &x) == -1)
			continue;
		if (tag == T_EXP_HI)
			e->hi = (uint32_t)x;
		else if (tag == T_EXP_MODSEQ)
			e->modseq = x;
	}
	return e->lo != 0 && e->hi >= e->lo && e->modseq != 0 ? 0 : -1;
}

/* Call fn for every expunged range, in the order of their first UID. */
int
index_load_expunged(struct mbox_index *ix,
    void (*fn)(const struct mbox_expunged *, void *), void *arg)
{
	struct mbox_expunged	 e;
	unsigned char		 k[EXP_KEYLEN];
	DBC			*c;
	DBT			 key, val;
	int			 rc;
	u_int32_t		 op = DB_SET_RANGE;

	if (ix->db->cursor(ix->db, NULL, &c, 0) != 0)
		return -1;
	expkey(0, k);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = k;
	key.size = sizeof(k);
	while ((rc = c->get(c, &key, &val, op)) == 0) {
		op = DB_NEXT;
		if (key.size < 3 || memcmp(key.data, EXP_PREFIX, 3) != 0)
			break;
		if (exp_decode(&key, &val, &e) == 0)
			fn(&e, arg);
	}
	c->close(c);
	return rc == 0 || rc == DB_NOTFOUND ? 0 : -1;
}
