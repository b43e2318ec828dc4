/*
 * ks_db.c - the key database; see ks_db.h.
 *
 * Runs as root only (the keystore's parent, sealmailctl).  Key pairs are
 * generated outside any transaction (an RSA key takes a while) and then
 * written in one that checks again what it is about to change, so two
 * processes making keys for the same owner at once leave one active key
 * per algorithm, not two.
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
#include "log.h"
#include "userdb.h"
#include "xmalloc.h"

#define KS_REC_VERSION	1

enum {
	T_OWNER = 1, T_ALG, T_STATE, T_BITS, T_CREATED, T_RETIRE_AT,
	T_REVOKED_AT, T_PUB, T_SEALED
};

static const enum dkim_alg ks_algs[] = {
	DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256
};
#define KS_NALGS	(sizeof(ks_algs) / sizeof(ks_algs[0]))

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
static int
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

static char *
ks_kkey(const char *selector)
{
	return xasprintf("k:%s", selector);
}

/* Read one key record inside txn. */
static int
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

static int
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

/* The owner's keys inside txn: records into *out (growing), count. */
struct ks_owned {
	char		 sel[KS_KEYS_PER_OWNER][KS_SELECTOR_MAX + 1];
	struct ks_keyrec rec[KS_KEYS_PER_OWNER];
	size_t		 n;
};

static int
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

static int
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

/* Making keys. */

struct ks_new {
	struct ks_keyrec rec;
	struct buf	 sealed;
};

static int
ks_new_make(struct ks_db *k, const char *owner, enum dkim_alg alg,
    uint64_t now, struct ks_new *n)
{
	struct buf	 pub, der;
	EVP_PKEY	*pk;
	int		 ok;

	memset(&n->rec, 0, sizeof(n->rec));
	buf_init(&n->sealed, 0);
	if ((pk = ks_key_generate(alg)) == NULL) {
		log_warnx("ks_db: %s: generating a %s key failed", owner,
		    ks_alg_name(alg));
		return -1;
	}
	ks_selector_new(n->rec.selector);
	snprintf(n->rec.owner, sizeof(n->rec.owner), "%s", owner);
	n->rec.alg = alg;
	n->rec.state = KS_ACTIVE;
	n->rec.bits = (unsigned int)EVP_PKEY_get_bits(pk);
	n->rec.created = now;
	buf_init(&pub, 0);
	buf_init(&der, 0);
	ok = ks_key_public(pk, &pub) == 0 && pub.len <= sizeof(n->rec.pub) &&
	    ks_key_pkcs8(pk, &der) == 0 &&
	    ks_seal(k->sealkey, n->rec.selector, owner, alg, der.data, der.len,
	    &n->sealed) == 0;
	if (ok) {
		memcpy(n->rec.pub, pub.data, pub.len);
		n->rec.publen = pub.len;
	} else
		log_warnx("ks_db: %s: sealing a new key failed", owner);
	buf_wipe(&der);
	buf_free(&pub);
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

static void
ks_new_free(struct ks_new *n, size_t count)
{
	size_t	 i;

	for (i = 0; i < count; i++)
		buf_free(&n[i].sealed);
}

static int
ks_has_active(const struct ks_owned *o, enum dkim_alg alg)
{
	size_t	 i;

	for (i = 0; i < o->n; i++)
		if (o->rec[i].alg == alg && o->rec[i].state == KS_ACTIVE)
			return 1;
	return 0;
}

struct ks_change {
	struct ks_db	*k;
	const char	*owner;
	const char	*selector;	/* NULL: every key of the owner */
	struct ks_new	*fresh;		/* keys to add where wanted */
	size_t		 nfresh;
	uint64_t	 now;
	int		 rotate;	/* active -> retiring, add all */
	int		 revoke;	/* -> revoked */
	int		 changed;	/* out: old keys changed */
	int		 added;		/* out: new keys stored */
	struct ks_owned	*o;
};

/* Rewrite a key's state from r, keeping its sealed key unless revoked. */
static int
ks_set_state(struct ks_db *k, DB_TXN *txn, const struct ks_keyrec *r)
{
	struct ks_keyrec cur;
	struct buf	 sealed;
	int		 ret;

	buf_init(&sealed, 0);
	ret = ks_get_txn(k, txn, r->selector, 1, &cur, &sealed);
	if (ret == 0) {
		cur.state = r->state;
		cur.retire_at = r->retire_at;
		cur.revoked_at = r->revoked_at;
		ret = ks_put_txn(k, txn, &cur, &sealed, 0);
	}
	buf_wipe(&sealed);
	return ret;
}

static int
ks_change_fn(DB_TXN *txn, void *arg)
{
	struct ks_change *c = arg;
	struct ks_keyrec *r;
	struct ks_new	*f;
	size_t		 i, nold;
	int		 ret, found = 0;

	c->changed = c->added = 0;
	if ((ret = ks_owned_txn(c->k, txn, c->owner, 1, c->o)) != 0)
		return ret;
	nold = c->o->n;
	for (i = 0; i < nold; i++) {
		r = &c->o->rec[i];
		if (c->selector != NULL && strcmp(r->selector, c->selector))
			continue;
		found = 1;
		if (c->rotate && r->state == KS_ACTIVE) {
			r->state = KS_RETIRING;
			r->retire_at = c->now + (uint64_t)c->k->rotate_grace;
		} else if (c->revoke && r->state != KS_REVOKED) {
			r->state = KS_REVOKED;
			r->revoked_at = c->now;
		} else
			continue;
		if ((ret = ks_set_state(c->k, txn, r)) != 0)
			return ret;
		c->changed++;
	}
	if (c->selector != NULL && !found)
		return DB_NOTFOUND;
	for (i = 0; i < c->nfresh; i++) {
		f = &c->fresh[i];
		if (!c->rotate && ks_has_active(c->o, f->rec.alg))
			continue;
		if (c->o->n == KS_KEYS_PER_OWNER)
			return KS_TOOMANY;
		if ((ret = ks_put_txn(c->k, txn, &f->rec, &f->sealed, 1)) != 0)
			return ret;
		memcpy(c->o->sel[c->o->n], f->rec.selector,
		    sizeof(c->o->sel[0]));
		c->o->rec[c->o->n++] = f->rec;
		c->added++;
	}
	if (c->added == 0)
		return 0;
	return ks_owned_put(c->k, txn, c->owner, c->o);
}

static int
ks_change(struct ks_change *c, const char *what)
{
	int	 ret;

	c->o = xcalloc(1, sizeof(*c->o));
	ret = db_txn_run(c->k->env, what, ks_change_fn, c);
	free(c->o);
	if (ret == DB_NOTFOUND)
		return KS_NOTFOUND;
	if (ret == KS_TOOMANY) {
		log_warnx("%s: %s has %d keys already", what, c->owner,
		    KS_KEYS_PER_OWNER);
		return KS_TOOMANY;
	}
	return ret == 0 ? 0 : -1;
}

/* New keys for the algorithms in want (all when want is NULL). */
static int
ks_make(struct ks_db *k, const char *owner, const int *want, uint64_t now,
    struct ks_new *fresh, size_t *n)
{
	size_t	 i;

	*n = 0;
	for (i = 0; i < KS_NALGS; i++) {
		if (want != NULL && !want[i])
			continue;
		if (ks_new_make(k, owner, ks_algs[i], now, &fresh[*n]) == -1) {
			ks_new_free(fresh, *n + 1);
			*n = 0;
			return -1;
		}
		(*n)++;
	}
	return 0;
}

int
ks_keys_complete(const struct ks_keyrec *l, size_t n)
{
	size_t	 i, j;
	int	 found;

	for (i = 0; i < KS_NALGS; i++) {
		for (j = 0, found = 0; j < n && !found; j++)
			found = l[j].alg == ks_algs[i] &&
			    l[j].state == KS_ACTIVE;
		if (!found)
			return 0;
	}
	return 1;
}

int
ks_db_ensure(struct ks_db *k, const char *owner, uint64_t now, int *made_r)
{
	struct ks_change c;
	struct ks_new	 fresh[KS_NALGS];
	struct ks_keyrec *l;
	size_t		 i, j, n;
	int		 want[KS_NALGS], need = 0, ret;

	*made_r = 0;
	if (ks_db_keys(k, owner, &l, &n) == -1)
		return -1;
	for (i = 0; i < KS_NALGS; i++) {
		want[i] = 1;
		for (j = 0; j < n; j++)
			if (l[j].alg == ks_algs[i] && l[j].state == KS_ACTIVE)
				want[i] = 0;
		need += want[i];
	}
	free(l);
	if (need == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.k = k;
	c.owner = owner;
	c.now = now;
	c.fresh = fresh;
	if (ks_make(k, owner, want, now, fresh, &c.nfresh) == -1)
		return -1;
	ret = ks_change(&c, "ks_db_ensure");
	ks_new_free(fresh, c.nfresh);
	if (ret == 0)
		*made_r = c.added;
	return ret;
}

int
ks_db_rotate(struct ks_db *k, const char *owner, uint64_t now)
{
	struct ks_change c;
	struct ks_new	 fresh[KS_NALGS];
	int		 ret;

	memset(&c, 0, sizeof(c));
	c.k = k;
	c.owner = owner;
	c.now = now;
	c.rotate = 1;
	c.fresh = fresh;
	if (ks_make(k, owner, NULL, now, fresh, &c.nfresh) == -1)
		return -1;
	ret = ks_change(&c, "ks_db_rotate");
	ks_new_free(fresh, c.nfresh);
	return ret;
}

int
ks_db_revoke(struct ks_db *k, const char *owner, const char *selector,
    uint64_t now, int *n_r)
{
	struct ks_change c;
	int		 ret;

	memset(&c, 0, sizeof(c));
	c.k = k;
	c.owner = owner;
	c.selector = selector;
	c.now = now;
	c.revoke = 1;
	ret = ks_change(&c, "ks_db_revoke");
	*n_r = ret == 0 ? c.changed : 0;
	return ret;
}

/* The sweep: find what is due (one read-only pass), then change each key
 * in a transaction of its own that checks again. */

struct ks_due {
	struct ks_db	*k;
	uint64_t	 now;
	char		(*sel)[KS_SELECTOR_MAX + 1];
	size_t		 n;
};

static int
ks_due(const struct ks_db *k, const struct ks_keyrec *r, uint64_t now)
{
	if (r->state == KS_RETIRING)
		return r->retire_at <= now;
	if (r->state == KS_REVOKED)
		return r->revoked_at + (uint64_t)k->revoked_publish <= now;
	return 0;
}

static int
ks_due_each(const char *key, const void *v, size_t vlen, void *arg)
{
	struct ks_due	*d = arg;
	struct ks_keyrec r;

	if (strncmp(key, "k:", 2) != 0 ||
	    ks_rec_decode(key + 2, v, vlen, &r, NULL) == -1 ||
	    !ks_due(d->k, &r, d->now))
		return 0;
	d->sel = xreallocarray(d->sel, d->n + 1, sizeof(*d->sel));
	snprintf(d->sel[d->n++], sizeof(d->sel[0]), "%s", r.selector);
	return 0;
}

static int
ks_due_fn(DB_TXN *txn, void *arg)
{
	struct ks_due	*d = arg;

	d->n = 0;
	return db_foreach(d->k->db, txn, ks_due_each, d);
}

struct ks_sweep_one {
	struct ks_db	*k;
	const char	*selector;
	uint64_t	 now;
	int		 revoked, deleted;
	struct ks_owned	 o;
};

static int
ks_sweep_fn(DB_TXN *txn, void *arg)
{
	struct ks_sweep_one *s = arg;
	struct ks_keyrec r;
	char		*key;
	size_t		 i;
	int		 ret;

	s->revoked = s->deleted = 0;
	if ((ret = ks_get_txn(s->k, txn, s->selector, 1, &r, NULL)) != 0)
		return ret == DB_NOTFOUND ? 0 : ret;
	if (!ks_due(s->k, &r, s->now))
		return 0;
	if (r.state == KS_RETIRING) {
		r.state = KS_REVOKED;
		r.revoked_at = r.retire_at;
		s->revoked = 1;
		return ks_put_txn(s->k, txn, &r, NULL, 0);
	}
	if ((ret = ks_owned_txn(s->k, txn, r.owner, 1, &s->o)) != 0)
		return ret;
	key = ks_kkey(r.selector);
	ret = db_del(s->k->db, txn, key);
	free(key);
	if (ret != 0)
		return ret;
	for (i = 0; i < s->o.n; i++)
		if (strcmp(s->o.sel[i], r.selector) == 0) {
			memmove(&s->o.sel[i], &s->o.sel[i + 1],
			    (s->o.n - i - 1) * sizeof(s->o.sel[0]));
			memmove(&s->o.rec[i], &s->o.rec[i + 1],
			    (s->o.n - i - 1) * sizeof(s->o.rec[0]));
			s->o.n--;
			break;
		}
	s->deleted = 1;
	return ks_owned_put(s->k, txn, r.owner, &s->o);
}

int
ks_db_sweep(struct ks_db *k, uint64_t now, int *revoked_r, int *deleted_r)
{
	struct ks_due	 d = { k, now, NULL, 0 };
	struct ks_sweep_one *s;
	size_t		 i;
	int		 ret = 0;

	*revoked_r = *deleted_r = 0;
	if (db_txn_run(k->env, "ks_db_sweep", ks_due_fn, &d) != 0) {
		free(d.sel);
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < d.n && ret == 0; i++) {
		s->k = k;
		s->selector = d.sel[i];
		s->now = now;
		if ((ret = db_txn_run(k->env, "ks_db_sweep", ks_sweep_fn,
		    s)) == 0) {
			*revoked_r += s->revoked;
			*deleted_r += s->deleted;
		}
	}
	free(s);
	free(d.sel);
	return ret == 0 ? 0 : -1;
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
