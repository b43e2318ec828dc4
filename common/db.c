/*
 * db.c - the Berkeley DB environment helper; see db.h.
 *
 * Runs in root processes only (privileged parents, sealmailctl).  The
 * environment directory and its files are created mode 0700/0600, so no
 * unprivileged process can read user data or corrupt the shared regions.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>
#include "log.h"
#include "xmalloc.h"

#define DB_ENV_FLAGS	(DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | \
			 DB_INIT_MPOOL | DB_INIT_TXN | DB_RECOVER | DB_REGISTER)

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	log_warnx("%s: %s", pfx != NULL ? pfx : "db", msg);
}

/*
 * Every database opened with db_open(), with where its handle lives, so
 * that db_env_reopen() can replace the handles in place.
 */
struct db_handle {
	struct db_env	*e;
	DB		**dbp;
	char		*name;
	uint32_t	 flags;
};
static struct db_handle	*db_handles;
static size_t		 db_nhandles;

static int
db_mkdirs(const char *dir)
{
	char	*p, *s;
	int	 r = 0;

	/* Parents as 0755 (they are shared), the environment itself 0700. */
	p = xstrdup(dir);
	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		r = -1;
	free(p);
	if (r == -1)
		log_err("db_env_open: mkdir %s", dir);
	return r;
}

static DB_ENV *
db_env_create_open(const char *dir, const char *passwd)
{
	DB_ENV	*env;
	int	 ret;

	if ((ret = db_env_create(&env, 0)) != 0) {
		log_warnx("db_env_open: db_env_create: %s", db_strerror(ret));
		return NULL;
	}
	env->set_errcall(env, db_errcall);
	env->set_errpfx(env, "db_env");
	if ((ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (ret = env->set_lg_max(env, 2 * 1024 * 1024)) != 0 ||
	    (ret = env->set_cachesize(env, 0, 4 * 1024 * 1024, 1)) != 0 ||
	    (passwd != NULL && (ret = env->set_encrypt(env, passwd,
	    DB_ENCRYPT_AES)) != 0)) {
		log_warnx("db_env_open: %s: configure: %s", dir,
		    db_strerror(ret));
		env->close(env, 0);
		return NULL;
	}
	if ((ret = env->open(env, dir, DB_ENV_FLAGS, 0600)) != 0) {
		log_warnx("db_env_open: %s: %s", dir, db_strerror(ret));
		env->close(env, 0);
		return NULL;
	}
	return env;
}

struct db_env *
db_env_open_encrypted(const char *dir, const char *passwd)
{
	struct db_env	*e;
	DB_ENV		*env;

	if (db_mkdirs(dir) == -1 ||
	    (env = db_env_create_open(dir, passwd)) == NULL)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	e->env = env;
	e->dir = xstrdup(dir);
	e->pid = getpid();
	e->passwd = passwd != NULL ? xstrdup(passwd) : NULL;
	return e;
}

struct db_env *
db_env_open(const char *dir)
{
	return db_env_open_encrypted(dir, NULL);
}

int
db_env_checkpoint(struct db_env *e)
{
	int	 ret;

	if ((ret = e->env->txn_checkpoint(e->env, 0, 0, 0)) != 0) {
		log_warnx("db_env_checkpoint: %s: %s", e->dir,
		    db_strerror(ret));
		return -1;
	}
	return 0;
}

static void
db_forget(size_t i)
{
	free(db_handles[i].name);
	db_handles[i] = db_handles[--db_nhandles];
}

void
db_env_close(struct db_env *e)
{
	size_t	 i;
	int	 ret;

	if (e == NULL)
		return;
	for (i = 0; i < db_nhandles; ) {
		if (db_handles[i].e != e) {
			i++;
			continue;
		}
		log_warnx("db_env_close: %s still open", db_handles[i].name);
		db_forget(i);
	}
	/* Inherited across fork: the parent may still use it; leave it. */
	if (e->pid == getpid()) {
		(void)db_env_checkpoint(e);
		if ((ret = e->env->close(e->env, 0)) != 0)
			log_warnx("db_env_close: %s: %s", e->dir,
			    db_strerror(ret));
	}
	free(e->dir);
	freezero_str(e->passwd);
	free(e);
}

static int
db_open_handle(struct db_env *e, const char *name, uint32_t flags, DB **dbp)
{
	DB	*db;
	char	*file;
	int	 ret;

	*dbp = NULL;
	if ((ret = db_create(&db, e->env, 0)) != 0) {
		log_warnx("db_open: %s: db_create: %s", name,
		    db_strerror(ret));
		return -1;
	}
	if (e->passwd != NULL)
		flags |= DB_ENCRYPT;
	if (flags != 0 && (ret = db->set_flags(db, flags)) != 0) {
		log_warnx("db_open: %s: set_flags: %s", name,
		    db_strerror(ret));
		db->close(db, 0);
		return -1;
	}
	file = xasprintf("%s.db", name);
	ret = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600);
	if (ret != 0) {
		log_warnx("db_open: %s/%s: %s", e->dir, file,
		    db_strerror(ret));
		free(file);
		db->close(db, 0);
		return -1;
	}
	free(file);
	*dbp = db;
	return 0;
}

int
db_open(struct db_env *e, const char *name, uint32_t flags, DB **dbp)
{
	struct db_handle	*h;

	if (db_open_handle(e, name, flags, dbp) == -1)
		return -1;
	db_handles = xreallocarray(db_handles, db_nhandles + 1,
	    sizeof(*db_handles));
	h = &db_handles[db_nhandles++];
	h->e = e;
	h->dbp = dbp;
	h->name = xstrdup(name);
	h->flags = flags;
	return 0;
}

/*
 * Open the environment again and put fresh database handles where the
 * old ones were, for two reasons:
 *
 * - another process recovered the environment (it found a user that had
 *   died with it open), which leaves our handles panicked: close them;
 * - the handles were inherited across fork() (e.g. opened before
 *   daemon(3)), so they are not registered under our pid and the next
 *   opener would recover the environment from under us: abandon them
 *   without closing, because closing would tear down state that a parent
 *   which is still running shares with us.
 *
 * Without its database the caller cannot go on: failure is fatal.
 */
static void
db_env_reopen(struct db_env *e, int inherited)
{
	size_t	 i;

	log_warnx("db: %s %s; reopening", e->dir, inherited ?
	    "was opened before fork by our parent" :
	    "was recovered by another process");
	if (!inherited) {
		/* Closing panicked handles repeats the panic: keep quiet. */
		e->env->set_errcall(e->env, NULL);
		for (i = 0; i < db_nhandles; i++)
			if (db_handles[i].e == e &&
			    *db_handles[i].dbp != NULL)
				(void)(*db_handles[i].dbp)->close(
				    *db_handles[i].dbp, 0);
		(void)e->env->close(e->env, 0);
	}
	for (i = 0; i < db_nhandles; i++)
		if (db_handles[i].e == e)
			*db_handles[i].dbp = NULL;
	if ((e->env = db_env_create_open(e->dir, e->passwd)) == NULL)
		fatalx("db: cannot reopen the environment %s", e->dir);
	e->pid = getpid();
	for (i = 0; i < db_nhandles; i++)
		if (db_handles[i].e == e && db_open_handle(e,
		    db_handles[i].name, db_handles[i].flags,
		    db_handles[i].dbp) == -1)
			fatalx("db: cannot reopen %s in %s", db_handles[i].name,
			    e->dir);
}

void
db_close(DB *db)
{
	size_t	 i;
	int	 ret, inherited = 0;

	if (db == NULL)
		return;
	for (i = 0; i < db_nhandles; i++)
		if (*db_handles[i].dbp == db) {
			inherited = db_handles[i].e->pid != getpid();
			db_forget(i);
			break;
		}
	/* Inherited across fork: the parent may still use it; leave it. */
	if (!inherited && (ret = db->close(db, 0)) != 0)
		log_warnx("db_close: %s", db_strerror(ret));
}

static int
db_retryable(int ret)
{
	return ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED;
}

int
db_txn_run(struct db_env *e, const char *what,
    int (*fn)(DB_TXN *, void *), void *arg)
{
	DB_TXN	*txn;
	int	 ret, try, reopened = 0;

	/*
	 * A handle that crossed fork() (e.g. opened before daemon(3)) is
	 * not registered under our pid: recovery by the next opener would
	 * pull it from under us.  Take it over properly first.
	 */
	if (e->pid != getpid())
		db_env_reopen(e, 1);
	for (try = 0; try < DB_TXN_RETRIES; try++) {
		ret = e->env->txn_begin(e->env, NULL, &txn, 0);
		if (ret == 0) {
			ret = fn(txn, arg);
			if (ret != 0)
				(void)txn->abort(txn);
			else
				ret = txn->commit(txn, 0);
			if (ret == 0)
				return 0;
		}
		if (ret == DB_RUNRECOVERY && !reopened) {
			db_env_reopen(e, 0);
			reopened = 1;
			continue;
		}
		if (!db_retryable(ret)) {
			/* Berkeley DB's failures; not fn's own codes */
			if (ret <= -30800 && ret >= -30999 &&
			    ret != DB_NOTFOUND && ret != DB_KEYEXIST)
				log_warnx("%s: %s", what, db_strerror(ret));
			return ret;
		}
		log_debug("%s: deadlock, retrying", what);
	}
	log_warnx("%s: still deadlocked after %d tries", what, DB_TXN_RETRIES);
	return DB_LOCK_DEADLOCK;
}

static void
db_key(DBT *k, const char *key)
{
	memset(k, 0, sizeof(*k));
	k->data = (void *)(uintptr_t)key;
	k->size = (u_int32_t)strlen(key);
}

int
db_get(DB *db, DB_TXN *txn, const char *key, struct buf *val, int rmw)
{
	DBT	 k, v;
	int	 ret;

	db_key(&k, key);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_MALLOC;
	ret = db->get(db, txn, &k, &v, rmw ? DB_RMW : 0);
	if (ret != 0) {
		if (ret != DB_NOTFOUND && !db_retryable(ret))
			log_warnx("db_get: %s: %s", key, db_strerror(ret));
		return ret;
	}
	buf_reset(val);
	if (buf_add(val, v.data, v.size) == -1) {
		free(v.data);
		log_warnx("db_get: %s: record too large", key);
		return EINVAL;
	}
	free(v.data);
	return 0;
}

static int
db_put_flags(DB *db, DB_TXN *txn, const char *key, const void *val,
    size_t len, u_int32_t flags)
{
	DBT	 k, v;
	int	 ret;

	db_key(&k, key);
	memset(&v, 0, sizeof(v));
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)len;
	ret = db->put(db, txn, &k, &v, flags);
	if (ret != 0 && ret != DB_KEYEXIST && !db_retryable(ret))
		log_warnx("db_put: %s: %s", key, db_strerror(ret));
	return ret;
}

int
db_put(DB *db, DB_TXN *txn, const char *key, const void *val, size_t len)
{
	return db_put_flags(db, txn, key, val, len, 0);
}

int
db_put_new(DB *db, DB_TXN *txn, const char *key, const void *val,
    size_t len)
{
	return db_put_flags(db, txn, key, val, len, DB_NOOVERWRITE);
}

int
db_del(DB *db, DB_TXN *txn, const char *key)
{
	DBT	 k;
	int	 ret;

	db_key(&k, key);
	ret = db->del(db, txn, &k, 0);
	if (ret != 0 && ret != DB_NOTFOUND && !db_retryable(ret))
		log_warnx("db_del: %s: %s", key, db_strerror(ret));
	return ret;
}

int
db_foreach(DB *db, DB_TXN *txn, int (*fn)(const char *, const void *,
    size_t, void *), void *arg)
{
	DBC	*c;
	DBT	 k, v;
	char	*key;
	int	 ret, cret;

	if ((ret = db->cursor(db, txn, &c, 0)) != 0) {
		if (!db_retryable(ret))
			log_warnx("db_foreach: cursor: %s", db_strerror(ret));
		return ret;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = c->get(c, &k, &v, DB_NEXT)) == 0) {
		key = xstrndup(k.data, k.size);
		ret = fn(key, v.data, v.size, arg);
		free(key);
		if (ret != 0)
			break;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	else if (ret != 0 && ret < 0 && !db_retryable(ret))
		log_warnx("db_foreach: %s", db_strerror(ret));
	if ((cret = c->close(c)) != 0 && ret == 0)
		ret = cret;
	return ret;
}

/* Record encoding. */

void
db_rec_begin(struct buf *b, uint8_t version)
{
	buf_reset(b);
	buf_addc(b, version);
}

void
db_rec_bytes(struct buf *b, uint8_t tag, const void *p, size_t len)
{
	unsigned char	 hdr[5];

	if (len > UINT32_MAX)
		log_panic("db_rec_bytes: field of %zu bytes", len);
	hdr[0] = tag;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	if (buf_add(b, hdr, sizeof(hdr)) == -1 || buf_add(b, p, len) == -1)
		log_panic("db_rec_bytes: buffer limit");
}

static void
db_rec_uint(struct buf *b, uint8_t tag, uint64_t v, size_t width)
{
	unsigned char	 be[8];
	size_t		 i;

	for (i = 0; i < width; i++)
		be[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
	db_rec_bytes(b, tag, be, width);
}

void
db_rec_u8(struct buf *b, uint8_t tag, uint8_t v)
{
	db_rec_uint(b, tag, v, 1);
}

void
db_rec_u32(struct buf *b, uint8_t tag, uint32_t v)
{
	db_rec_uint(b, tag, v, 4);
}

void
db_rec_u64(struct buf *b, uint8_t tag, uint64_t v)
{
	db_rec_uint(b, tag, v, 8);
}

void
db_rec_str(struct buf *b, uint8_t tag, const char *s)
{
	db_rec_bytes(b, tag, s, strlen(s));
}

int
db_rec_open(struct db_rec_reader *r, const void *p, size_t len)
{
	if (len < 1)
		return -1;
	r->p = p;
	r->version = r->p[0];
	r->p++;
	r->left = len - 1;
	return 0;
}

int
db_rec_next(struct db_rec_reader *r, uint8_t *tag, const void **val,
    size_t *len)
{
	size_t	 n;

	if (r->left == 0)
		return 0;
	if (r->left < 5)
		return -1;
	n = ((size_t)r->p[1] << 24) | ((size_t)r->p[2] << 16) |
	    ((size_t)r->p[3] << 8) | r->p[4];
	if (n > r->left - 5)
		return -1;
	*tag = r->p[0];
	*val = r->p + 5;
	*len = n;
	r->p += 5 + n;
	r->left -= 5 + n;
	return 1;
}

int
db_rec_int(const void *p, size_t len, uint64_t *v)
{
	const unsigned char	*u = p;
	size_t			 i;

	if (len != 1 && len != 4 && len != 8)
		return -1;
	*v = 0;
	for (i = 0; i < len; i++)
		*v = (*v << 8) | u[i];
	return 0;
}
