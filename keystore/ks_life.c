/*
 * ks_life.c - what changes keys in the key database: keys made (ensure),
 * rotated, revoked, and the sweep that revokes retiring keys past their
 * deadline and deletes revoked ones past [keystore] revoked_publish.
 *
 * Runs as root only (the keystore's parent, sealmailctl).  Key pairs are
 * generated outside any transaction (an RSA key takes a while) and then
 * written in one that reads again, with write locks, what it is about to
 * change, so two processes making keys for the same owner at once leave
 * one active key per algorithm, not two.  A revoked key's record is
 * rewritten without its sealed private key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ks_db.h"
#include "ks_db_int.h"
#include "log.h"
#include "xmalloc.h"

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
	ok = dkim_pkey_public(pk, &pub) == 0 && pub.len <= sizeof(n->rec.pub) &&
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
