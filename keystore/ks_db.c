/*
 * ks_db.c - the key database: opening it, its records, reading them; see
 * ks_db.h.  What changes keys (made, rotated, revoked, swept) is in
 * ks_life.c.
 *
 * Runs as root only (the keystore's parent, sealmailctl).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "ks_db.h"
#include "ks_db_int.h"
#include "log.h"
#include "userdb.h"
#include "xmalloc.h"

#define KS_REC_VERSION	1

/* Fields of a key record (db.h's record encoding). */
enum {
	T_OWNER = 1, T_ALG, T_STATE, T_BITS, T_CREATED, T_RETIRE_AT,
	T_REVOKED_AT, T_PUB, T_SEALED
};

const enum dkim_alg ks_algs[KS_NALGS] = {
	DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256
};

const char *
ks_state_name(enum ks_state s)
{
	switch (s) {
	case KS_ACTIVE:
		return "active";
	case KS_RETIRING:
		return "retiring";
	case KS_REVOKED:
		return "revoked";
	}
	return "unknown";
}

static int
ks_exists(const char *dir, const char *name)
{
	struct stat	 st;
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

struct ks_db *
ks_db_open(const struct sm_config *cfg, int *created_r, char *err,
    size_t errlen)
{
	struct ks_db	*k;
	char		*pass, dbpass[KS_DBPASS_LEN + 1];
	int		 fresh, made;

	/* A new installation gets a passphrase; an existing key database
	 * whose passphrase is gone must not get a new one. */
	fresh = !ks_exists(cfg->keystore_db_dir, "keys.db") &&
	    !ks_exists(cfg->keystore_db_dir, KS_KDF_FILE);
	if ((pass = ks_passphrase_read(cfg->keystore_passphrase_file, fresh,
	    &made, err, errlen)) == NULL)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->rotate_grace = cfg->keystore_rotate_grace;
	k->revoked_publish = cfg->keystore_revoked_publish;
	/* The passphrase is checked before Berkeley DB runs; it gets a
	 * password of its own, derived (see ks_key.h). */
	if (ks_kdf_keys(cfg->keystore_db_dir, pass, fresh, k->sealkey, dbpass,
	    err, errlen) == -1)
		goto fail;
	if ((k->env = db_env_open_encrypted(cfg->keystore_db_dir,
	    dbpass)) == NULL) {
		snprintf(err, errlen, "cannot open the key database in %s",
		    cfg->keystore_db_dir);
		goto fail;
	}
	if (db_open(k->env, "keys", 0, &k->db) == -1) {
		snprintf(err, errlen, "cannot open %s/keys.db",
		    cfg->keystore_db_dir);
		goto fail;
	}
	freezero_str(pass);
	explicit_bzero(dbpass, sizeof(dbpass));
	if (created_r != NULL)
		*created_r = made;
	return k;
fail:
	freezero_str(pass);
	explicit_bzero(dbpass, sizeof(dbpass));
	ks_db_close(k);
	return NULL;
}

void
ks_db_close(struct ks_db *k)
{
	if (k == NULL)
		return;
	db_close(k->db);
	db_env_close(k->env);
	explicit_bzero(k->sealkey, sizeof(k->sealkey));
	free(k);
}

/* Records. */

static void
ks_rec_encode(const struct ks_keyrec *r, const struct buf *sealed,
    struct buf *out)
{
	db_rec_begin(out, KS_REC_VERSION);
	db_rec_str(out, T_OWNER, r->owner);
	db_rec_u8(out, T_ALG, (uint8_t)r->alg);
	db_rec_u8(out, T_STATE, (uint8_t)r->state);
	db_rec_u32(out, T_BITS, r->bits);
	db_rec_u64(out, T_CREATED, r->created);
	db_rec_u64(out, T_RETIRE_AT, r->retire_at);
	db_rec_u64(out, T_REVOKED_AT, r->revoked_at);
	db_rec_bytes(out, T_PUB, r->pub, r->publen);
	if (sealed != NULL && sealed->len > 0 && r->state != KS_REVOKED)
		db_rec_bytes(out, T_SEALED, sealed->data, sealed->len);
}

/* Decode; -1 on a record that does not make sense (logged). */
int
ks_rec_decode(const char *selector, const void *p, size_t len,
    struct ks_keyrec *r, struct buf *sealed)
{
	struct db_rec_reader rd;
	const void	*v;
	uint64_t	 n;
	size_t		 vlen;
	uint8_t		 tag;
	int		 st;

	memset(r, 0, sizeof(*r));
	if (sealed != NULL)
		buf_reset(sealed);
	snprintf(r->selector, sizeof(r->selector), "%s", selector);
	if (db_rec_open(&rd, p, len) == -1 || rd.version != KS_REC_VERSION)
		goto bad;
	while ((st = db_rec_next(&rd, &tag, &v, &vlen)) == 1) {
		switch (tag) {
		case T_OWNER:
			if (vlen > KS_OWNER_MAX)
				goto bad;
			memcpy(r->owner, v, vlen);
			r->owner[vlen] = '\0';
			break;
		case T_PUB:
			if (vlen > sizeof(r->pub))
				goto bad;
			memcpy(r->pub, v, vlen);
			r->publen = vlen;
			break;
		case T_SEALED:
			if (sealed != NULL)
				(void)buf_add(sealed, v, vlen);
			break;
		default:
			if (tag > T_SEALED)
				break;		/* a later version's field */
			if (db_rec_int(v, vlen, &n) == -1)
				goto bad;
			if (tag == T_ALG)
				r->alg = (enum dkim_alg)n;
			else if (tag == T_STATE)
				r->state = (enum ks_state)n;
			else if (tag == T_BITS)
				r->bits = (unsigned int)n;
			else if (tag == T_CREATED)
				r->created = n;
			else if (tag == T_RETIRE_AT)
				r->retire_at = n;
			else if (tag == T_REVOKED_AT)
				r->revoked_at = n;
		}
	}
	if (st == -1 || r->owner[0] == '\0' ||
	    (r->alg != DKIM_ALG_RSA_SHA256 &&
	    r->alg != DKIM_ALG_ED25519_SHA256) ||
	    r->state < KS_ACTIVE || r->state > KS_REVOKED)
		goto bad;
	return 0;
bad:
	log_warnx("ks_db: key %s: damaged record", selector);
	return -1;
}

/* The owner list: a record of selector strings. */
static int
ks_list_decode(const struct buf *b, char (*sel)[KS_SELECTOR_MAX + 1],
    size_t *n)
{
	struct db_rec_reader rd;
	const void	*v;
	size_t		 vlen;
	uint8_t		 tag;
	int		 st;

	*n = 0;
	if (db_rec_open(&rd, b->data, b->len) == -1)
		return -1;
	while ((st = db_rec_next(&rd, &tag, &v, &vlen)) == 1) {
		if (tag != 1 || vlen == 0 || vlen > KS_SELECTOR_MAX ||
		    *n == KS_KEYS_PER_OWNER)
			return -1;
		memcpy(sel[*n], v, vlen);
		sel[(*n)++][vlen] = '\0';
	}
	return st;
}

static void
ks_list_encode(char (*sel)[KS_SELECTOR_MAX + 1], size_t n, struct buf *b)
{
	size_t	 i;

	db_rec_begin(b, KS_REC_VERSION);
	for (i = 0; i < n; i++)
		db_rec_str(b, 1, sel[i]);
}

static char *
ks_okey(const char *owner)
{
	return xasprintf("o:%s", owner);
}

char *
ks_kkey(const char *selector)
{
	return xasprintf("k:%s", selector);
}

/* Read one key record inside txn. */
int
ks_get_txn(struct ks_db *k, DB_TXN *txn, const char *selector, int rmw,
    struct ks_keyrec *r, struct buf *sealed)
{
	struct buf	 b;
	char		*key = ks_kkey(selector);
	int		 ret;

	buf_init(&b, 0);
	ret = db_get(k->db, txn, key, &b, rmw);
	free(key);
	if (ret == 0 && ks_rec_decode(selector, b.data, b.len, r, sealed) ==
	    -1)
		ret = EINVAL;
	buf_wipe(&b);
	return ret;
}

int
ks_put_txn(struct ks_db *k, DB_TXN *txn, const struct ks_keyrec *r,
    const struct buf *sealed, int fresh)
{
	struct buf	 b;
	char		*key = ks_kkey(r->selector);
	int		 ret;

	buf_init(&b, 0);
	ks_rec_encode(r, sealed, &b);
	ret = fresh ? db_put_new(k->db, txn, key, b.data, b.len) :
	    db_put(k->db, txn, key, b.data, b.len);
	free(key);
	buf_wipe(&b);
	return ret;
}

int
ks_owned_txn(struct ks_db *k, DB_TXN *txn, const char *owner, int rmw,
    struct ks_owned *o)
{
	struct buf	 b;
	char		*key = ks_okey(owner);
	size_t		 i;
	int		 ret;

	o->n = 0;
	buf_init(&b, 0);
	ret = db_get(k->db, txn, key, &b, rmw);
	free(key);
	if (ret == DB_NOTFOUND)
		ret = 0;
	else if (ret == 0 && ks_list_decode(&b, o->sel, &o->n) == -1) {
		log_warnx("ks_db: owner %s: damaged key list", owner);
		ret = EINVAL;
	}
	buf_free(&b);
	for (i = 0; ret == 0 && i < o->n; i++)
		ret = ks_get_txn(k, txn, o->sel[i], rmw, &o->rec[i], NULL);
	return ret;
}

int
ks_owned_put(struct ks_db *k, DB_TXN *txn, const char *owner,
    struct ks_owned *o)
{
	struct buf	 b;
	char		*key = ks_okey(owner);
	int		 ret;

	if (o->n == 0)
		ret = db_del(k->db, txn, key);
	else {
		buf_init(&b, 0);
		ks_list_encode(o->sel, o->n, &b);
		ret = db_put(k->db, txn, key, b.data, b.len);
		buf_free(&b);
	}
	free(key);
	return ret;
}

/* Reading. */

struct ks_get_arg {
	struct ks_db	*k;
	const char	*selector;
	struct ks_keyrec *r;
	struct buf	*sealed;
};

static int
ks_get_fn(DB_TXN *txn, void *arg)
{
	struct ks_get_arg *a = arg;

	return ks_get_txn(a->k, txn, a->selector, 0, a->r, a->sealed);
}

int
ks_db_get(struct ks_db *k, const char *selector, struct ks_keyrec *r,
    struct buf *sealed)
{
	struct ks_get_arg a = { k, selector, r, sealed };
	int	 ret;

	ret = db_txn_run(k->env, "ks_db_get", ks_get_fn, &a);
	if (ret == DB_NOTFOUND)
		return KS_NOTFOUND;
	return ret == 0 ? 0 : -1;
}

int
ks_db_version(struct ks_db *k, uint64_t *v)
{
	DB_LOG_STAT	*st;

	if (k->env->pid != getpid() ||
	    k->env->env->log_stat(k->env->env, &st, 0) != 0)
		return -1;
	*v = (uint64_t)st->st_cur_file << 32 | st->st_cur_offset;
	free(st);
	return 0;
}

struct ks_keys_arg {
	struct ks_db	*k;
	const char	*owner;
	struct ks_owned	*o;
};

static int
ks_keys_fn(DB_TXN *txn, void *arg)
{
	struct ks_keys_arg *a = arg;

	return ks_owned_txn(a->k, txn, a->owner, 0, a->o);
}

int
ks_db_keys(struct ks_db *k, const char *owner, struct ks_keyrec **list,
    size_t *n)
{
	struct ks_owned	*o = xcalloc(1, sizeof(*o));
	struct ks_keys_arg a = { k, owner, o };

	*list = NULL;
	*n = 0;
	if (db_txn_run(k->env, "ks_db_keys", ks_keys_fn, &a) != 0) {
		free(o);
		return -1;
	}
	if (o->n > 0) {
		*list = xreallocarray(NULL, o->n, sizeof(**list));
		memcpy(*list, o->rec, o->n * sizeof(**list));
		*n = o->n;
	}
	free(o);
	return 0;
}

struct ks_owners_arg {
	struct ks_db	*k;
	char		**l;
	size_t		  n;
};

static int
ks_owners_each(const char *key, const void *v, size_t vlen, void *arg)
{
	struct ks_owners_arg *a = arg;

	(void)v;
	(void)vlen;
	if (strncmp(key, "o:", 2) != 0)
		return 0;
	a->l = xreallocarray(a->l, a->n + 1, sizeof(*a->l));
	a->l[a->n++] = xstrdup(key + 2);
	return 0;
}

static int
ks_owners_fn(DB_TXN *txn, void *arg)
{
	struct ks_owners_arg *a = arg;

	userdb_list_free(a->l, a->n);
	a->l = NULL;
	a->n = 0;
	return db_foreach(a->k->db, txn, ks_owners_each, a);
}

int
ks_db_owners(struct ks_db *k, char ***list, size_t *n)
{
	struct ks_owners_arg a = { k, NULL, 0 };

	if (db_txn_run(k->env, "ks_db_owners", ks_owners_fn, &a) != 0) {
		userdb_list_free(a.l, a.n);
		return -1;
	}
	*list = a.l;
	*n = a.n;
	return 0;
}

EVP_PKEY *
ks_db_private(struct ks_db *k, const struct ks_keyrec *r,
    const struct buf *sealed)
{
	struct buf	 der;
	EVP_PKEY	*pk = NULL;

	if (r->state == KS_REVOKED || sealed->len == 0)
		return NULL;
	buf_init(&der, 0);
	if (ks_unseal(k->sealkey, r->selector, r->owner, r->alg, sealed->data,
	    sealed->len, &der) == 0)
		pk = ks_key_from_pkcs8(der.data, der.len);
	buf_wipe(&der);
	if (pk != NULL && dkim_pkey_alg(pk) != r->alg) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL)
		log_warnx("ks_db: key %s of %s does not open", r->selector,
		    r->owner);
	return pk;
}

enum ks_state
ks_keyrec_state(const struct ks_keyrec *r, uint64_t now)
{
	if (r->state == KS_RETIRING && r->retire_at <= now)
		return KS_REVOKED;
	return r->state;
}

void
ks_keyrec_dns(const struct ks_keyrec *r, struct buf *out)
{
	(void)buf_printf(out, "v=DKIM1; k=%s; p=",
	    r->alg == DKIM_ALG_RSA_SHA256 ? "rsa" : "ed25519");
	if (r->state != KS_REVOKED)
		ks_b64(r->pub, r->publen, out);
}
