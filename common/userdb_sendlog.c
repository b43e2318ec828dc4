/*
 * userdb_sendlog.c - the send quota: how many recipients each user sent
 * to in the last USERDB_WINDOW seconds (sendlog.db, layout in userdb.h),
 * charged and checked in one transaction, so that sessions in several
 * processes cannot together go over a user's max_rcpt_per_day.  Part of
 * common/userdb (userdb.h; userdb_int.h says how the files divide).
 * Root processes only, like the rest of userdb.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <db.h>
#include "log.h"
#include "userdb.h"
#include "userdb_int.h"
#include "xmalloc.h"

struct sl_entry {
	uint64_t	 t;
	uint32_t	 n;
};

/* Decode the entries that are still in the window ending at now. */
static int
sendlog_decode(const struct buf *b, time_t now, struct sl_entry **e_r,
    size_t *n_r)
{
	struct db_rec_reader	 r;
	const unsigned char	*p;
	const void		*v;
	size_t			 len, n = 0;
	uint8_t			 tag;
	uint64_t		 t, c;
	int			 ret;

	*e_r = NULL;
	*n_r = 0;
	if (db_rec_open(&r, b->data, b->len) == -1 || r.version != REC_V1)
		return -1;
	while ((ret = db_rec_next(&r, &tag, &v, &len)) == 1) {
		if (tag != SL_ENTRY)
			continue;
		if (len != 12)
			goto bad;
		p = v;
		(void)db_rec_int(p, 8, &t);
		(void)db_rec_int(p + 8, 4, &c);
		if ((int64_t)t + USERDB_WINDOW <= (int64_t)now)
			continue;
		*e_r = xreallocarray(*e_r, n + 1, sizeof(**e_r));
		(*e_r)[n].t = t;
		(*e_r)[n].n = (uint32_t)c;
		n++;
	}
	if (ret == -1)
		goto bad;
	*n_r = n;
	return 0;
bad:
	free(*e_r);
	*e_r = NULL;
	return -1;
}

static void
sendlog_encode(struct buf *b, const struct sl_entry *e, size_t n)
{
	unsigned char	 p[12];
	size_t		 i, j;

	db_rec_begin(b, REC_V1);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 8; j++)
			p[j] = (unsigned char)(e[i].t >> (56 - 8 * j));
		for (j = 0; j < 4; j++)
			p[8 + j] = (unsigned char)(e[i].n >> (24 - 8 * j));
		db_rec_bytes(b, SL_ENTRY, p, sizeof(p));
	}
}

/* Reads the live entries of op->addr: 0 or a DB error. */
static int
sendlog_read(struct udb_op *op, DB_TXN *txn, int rmw, struct sl_entry **e,
    size_t *n)
{
	size_t	 i;
	int	 ret;

	*e = NULL;
	*n = 0;
	op->count = 0;
	op->expires = 0;
	ret = db_get(op->u->sendlog, txn, op->addr, &op->val, rmw);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	if (sendlog_decode(&op->val, op->now, e, n) == -1) {
		/* Unknown is unsafe: an unreadable log counts as full. */
		log_warnx("userdb: send log of %s: malformed record", op->addr);
		op->count = UINT32_MAX;
		return 0;
	}
	for (i = 0; i < *n; i++) {
		op->count += (*e)[i].n;
		if (op->expires == 0 ||
		    (time_t)(*e)[i].t + USERDB_WINDOW < op->expires)
			op->expires = (time_t)(*e)[i].t + USERDB_WINDOW;
	}
	return 0;
}

int
udb_rcpt_charge_tx(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	struct sl_entry		*e;
	size_t			 n;
	int			 ret;

	op->count = 0;
	op->limit = 0;
	if ((ret = udb_user_need(op, txn, &nu, 1)) != 0)
		return ret;
	op->limit = nu.max_rcpt_per_day;
	if (nu.locked)
		return REFUSE(op, UDB_LOCKED, "account %s is locked: %s",
		    op->addr, nu.lock_reason);
	if ((ret = sendlog_read(op, txn, 1, &e, &n)) != 0)
		return ret;
	if ((uint64_t)op->count + op->n > nu.max_rcpt_per_day) {
		free(e);
		nu.locked = 1;
		nu.locked_at = op->now;
		snprintf(nu.lock_reason, sizeof(nu.lock_reason),
		    "daily recipient limit exceeded: %u sent in 24h + %u > %u",
		    op->count, op->n, nu.max_rcpt_per_day);
		udb_seterr(op->err, op->errlen, 0, "%s", nu.lock_reason);
		op->res = UDB_REFUSED;
		return udb_user_write(op, txn, &nu);	/* commit the lock */
	}
	if (op->n > 0) {
		if (n > 0 && (int64_t)op->now - (int64_t)e[n - 1].t <
		    SL_MERGE && op->now >= (time_t)e[n - 1].t) {
			e[n - 1].t = op->now;
			e[n - 1].n += op->n;
		} else {
			e = xreallocarray(e, n + 1, sizeof(*e));
			e[n].t = (uint64_t)op->now;
			e[n].n = op->n;
			n++;
		}
	}
	sendlog_encode(&op->val, e, n);
	free(e);
	return db_put(op->u->sendlog, txn, op->addr, op->val.data,
	    op->val.len);
}

int
userdb_rcpt_charge(struct userdb *u, const char *user, unsigned int n,
    time_t now, unsigned int *used_r, unsigned int *limit_r, char *err,
    size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = udb_op_addr(&op, u, user, err, errlen)) != UDB_OK)
		return r;
	op.n = n;
	op.now = now;
	r = udb_op_run(&op, "userdb_rcpt_charge", udb_rcpt_charge_tx);
	if (used_r != NULL)
		*used_r = op.count;
	if (limit_r != NULL)
		*limit_r = op.limit;
	if (r == UDB_REFUSED)
		log_warnx("userdb: user=%s locked: %s", op.addr,
		    err != NULL ? err : "daily recipient limit exceeded");
	return r;
}

static int
tx_rcpt_count(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	struct sl_entry	*e;
	size_t		 n;
	int		 ret;

	if ((ret = udb_need(op, txn, op->u->users, "user", op->addr)) != 0)
		return ret;
	if ((ret = sendlog_read(op, txn, 0, &e, &n)) != 0)
		return ret;
	free(e);
	return 0;
}

int
userdb_rcpt_count(struct userdb *u, const char *user, time_t now,
    unsigned int *count_r, time_t *expires_r)
{
	struct udb_op	 op;
	int		 r;

	udb_op_init(&op, u, NULL, 0);
	*count_r = 0;
	*expires_r = 0;
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), NULL, 0) == -1)
		return UDB_INVALID;
	op.now = now;
	r = udb_op_run(&op, "userdb_rcpt_count", tx_rcpt_count);
	if (r == UDB_OK) {
		*count_r = op.count;
		*expires_r = op.expires;
	}
	return r;
}
