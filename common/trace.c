/*
 * trace.c - the submission trace (trace.db, layout in trace.h): the
 * record of each message submitd queued, written in the transaction that
 * charges the author's send quota, read by sealmailctl trace, and purged
 * after [global] trace_days, a few of the oldest at each write.
 *
 * Runs in root processes only (submitd's parent, sealmailctl), like the
 * rest of common/userdb (userdb_int.h).  What a record holds was checked
 * or made by submitd's parent: the user it authenticated, the client
 * address it read from the socket, the envelope the session gave (the
 * sender it allowed), and a Message-ID that submitd.header reported
 * (cleaned again here, trace_msgid_clean()) or that it made itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include "buf.h"
#include "log.h"
#include "trace.h"
#include "userdb.h"
#include "userdb_int.h"
#include "xmalloc.h"

#define TR_V1		1

enum trace_tag {
	T_ID = 1, T_USER, T_FROM, T_CLIENT, T_MSGID, T_TIME, T_NRCPT, T_SIZE
};

#define KEY_REC		"m:"
#define KEY_AGE		"a:"
#define KEY_MAX		(2 + 16 + 1 + TRACE_ID_LEN + 1)

int
trace_id_valid(const char *id)
{
	size_t	 i;

	for (i = 0; i < TRACE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

void
trace_msgid_clean(const char *v, size_t len, char *out)
{
	size_t	 i, n = 0;

	for (i = 0; i < len && n < TRACE_MSGID_MAX; i++) {
		if (v[i] <= ' ' || v[i] >= 0x7f) {
			/* inner white space is kept as one space */
			if (n > 0 && out[n - 1] != ' ' && (v[i] == ' ' ||
			    v[i] == '\t'))
				out[n++] = ' ';
			continue;
		}
		out[n++] = v[i];
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

void
trace_encode(const struct trace_rec *r, struct buf *b)
{
	db_rec_begin(b, TR_V1);
	db_rec_str(b, T_ID, r->id);
	db_rec_str(b, T_USER, r->user);
	db_rec_str(b, T_FROM, r->from);
	db_rec_str(b, T_CLIENT, r->client);
	db_rec_str(b, T_MSGID, r->msgid);
	db_rec_u64(b, T_TIME, r->time);
	db_rec_u32(b, T_NRCPT, r->nrcpt);
	db_rec_u64(b, T_SIZE, r->size);
}

static int
field_one(struct trace_rec *r, uint8_t tag, const void *v, size_t len)
{
	uint64_t	 x;

	switch (tag) {
	case T_ID:
		return udb_rec_strcpy(r->id, sizeof(r->id), v, len);
	case T_USER:
		return udb_rec_strcpy(r->user, sizeof(r->user), v, len);
	case T_FROM:
		return udb_rec_strcpy(r->from, sizeof(r->from), v, len);
	case T_CLIENT:
		return udb_rec_strcpy(r->client, sizeof(r->client), v, len);
	case T_MSGID:
		return udb_rec_strcpy(r->msgid, sizeof(r->msgid), v, len);
	case T_TIME:
		return db_rec_int(v, len, &r->time);
	case T_NRCPT:
		if (db_rec_int(v, len, &x) == -1 || x > UINT32_MAX)
			return -1;
		r->nrcpt = (uint32_t)x;
		return 0;
	case T_SIZE:
		return db_rec_int(v, len, &r->size);
	default:
		return 0;	/* a later version's field */
	}
}

int
trace_decode(const void *p, size_t len, struct trace_rec *r)
{
	struct db_rec_reader	 rd;
	const void		*v;
	size_t			 vlen;
	uint8_t			 tag;
	int			 ret;

	memset(r, 0, sizeof(*r));
	if (db_rec_open(&rd, p, len) == -1 || rd.version != TR_V1)
		return -1;
	while ((ret = db_rec_next(&rd, &tag, &v, &vlen)) == 1)
		if (field_one(r, tag, v, vlen) == -1)
			return -1;
	if (ret == -1 || !trace_id_valid(r->id) || r->user[0] == '\0')
		return -1;
	return 0;
}

static void
key_rec(char *k, const char *id)
{
	snprintf(k, KEY_MAX, KEY_REC "%.*s", TRACE_ID_LEN, id);
}

static void
key_age(char *k, uint64_t t, const char *id)
{
	snprintf(k, KEY_MAX, KEY_AGE "%016llx:%.*s", (unsigned long long)t,
	    TRACE_ID_LEN, id);
}

/* The purge: collect the oldest age keys before op->cutoff. */
static int
purge_collect(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op	*op = arg;
	char		*end;
	unsigned long long t;

	(void)val;
	(void)len;
	if (strncmp(key, KEY_AGE, 2) != 0 || op->nlist >= op->purge_max)
		return 1;	/* past the age index, or enough */
	t = strtoull(key + 2, &end, 16);
	if (*end == ':' && (time_t)t >= op->cutoff)
		return 1;	/* the rest is younger */
	op->list = xreallocarray(op->list, op->nlist + 1, sizeof(char *));
	op->list[op->nlist++] = xstrdup(key);
	return 0;
}

static void
purge_reset(struct udb_op *op)
{
	userdb_list_free(op->list, op->nlist);
	op->list = NULL;
	op->nlist = 0;
}

static int
purge_tx(DB_TXN *txn, struct udb_op *op)
{
	const char	*id;
	char		 k[KEY_MAX];
	size_t		 i;
	int		 ret;

	purge_reset(op);
	op->purged = 0;
	if ((ret = db_foreach(op->u->trace, txn, purge_collect, op)) < 0)
		return ret;
	for (i = 0; i < op->nlist; i++) {
		if ((ret = db_del(op->u->trace, txn, op->list[i])) != 0 &&
		    ret != DB_NOTFOUND)
			return ret;
		/* a malformed age key has no record to go with it */
		if ((id = strrchr(op->list[i], ':')) != NULL &&
		    trace_id_valid(id + 1)) {
			key_rec(k, id + 1);
			ret = db_del(op->u->trace, txn, k);
			if (ret != 0 && ret != DB_NOTFOUND)
				return ret;
		}
		op->purged++;
	}
	return 0;
}

static int
tx_charge(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	char		 k[KEY_MAX];
	int		 ret;

	if ((ret = udb_rcpt_charge_tx(txn, op)) != 0 || op->res != UDB_OK)
		return ret;
	trace_encode(op->trace, &op->val);
	key_rec(k, op->trace->id);
	if ((ret = db_put_new(op->u->trace, txn, k, op->val.data,
	    op->val.len)) != 0) {
		if (ret == DB_KEYEXIST)
			return REFUSE(op, UDB_EXISTS, "tracking ID %s is "
			    "already recorded", op->trace->id);
		return ret;
	}
	key_age(k, op->trace->time, op->trace->id);
	if ((ret = db_put(op->u->trace, txn, k, "", 0)) != 0)
		return ret;
	return purge_tx(txn, op);
}

int
trace_charge(struct userdb *u, const struct trace_rec *r,
    unsigned int keep_days, unsigned int *used_r, unsigned int *limit_r,
    char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 res;

	if (!trace_id_valid(r->id))
		return udb_seterr(err, errlen, UDB_INVALID, "not a tracking "
		    "ID: %s", r->id);
	if ((res = udb_op_addr(&op, u, r->user, err, errlen)) != UDB_OK)
		return res;
	op.n = r->nrcpt;
	op.now = (time_t)r->time;
	op.trace = r;
	op.cutoff = (time_t)r->time - (time_t)keep_days * 86400;
	op.purge_max = TRACE_PURGE_MAX;
	res = udb_op_run(&op, "trace_charge", tx_charge);
	purge_reset(&op);
	if (used_r != NULL)
		*used_r = op.count;
	if (limit_r != NULL)
		*limit_r = op.limit;
	if (res == UDB_OK && op.purged > 0)
		log_info("trace: purged=%zu records older than %u days",
		    op.purged, keep_days);
	if (res == UDB_REFUSED)
		log_warnx("userdb: user=%s locked: %s", op.addr,
		    err != NULL ? err : "daily recipient limit exceeded");
	return res;
}

static int
tx_lookup(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	struct trace_rec *r = op->trace_r;
	char		 k[KEY_MAX];
	int		 ret;

	key_rec(k, op->addr);
	ret = db_get(op->u->trace, txn, k, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no message with tracking ID "
		    "%s is recorded (unknown, or older than the retention "
		    "period)", op->addr);
	if (ret != 0)
		return ret;
	if (trace_decode(op->val.data, op->val.len, r) == -1 ||
	    strcmp(r->id, op->addr) != 0)
		return REFUSE(op, UDB_ERROR, "the record of %s is malformed",
		    op->addr);
	return 0;
}

int
trace_lookup(struct userdb *u, const char *id, struct trace_rec *r,
    char *err, size_t errlen)
{
	struct udb_op	 op;

	udb_op_init(&op, u, err, errlen);
	memset(r, 0, sizeof(*r));
	if (!trace_id_valid(id))
		return udb_seterr(err, errlen, UDB_INVALID, "not a tracking "
		    "ID (%d lowercase hex digits)", TRACE_ID_LEN);
	snprintf(op.addr, sizeof(op.addr), "%s", id);
	op.trace_r = r;
	return udb_op_run(&op, "trace_lookup", tx_lookup);
}

static int
tx_purge(DB_TXN *txn, void *arg)
{
	return purge_tx(txn, arg);
}

int
trace_purge(struct userdb *u, time_t cutoff, size_t max, size_t *n_r)
{
	struct udb_op	 op;
	int		 res;

	udb_op_init(&op, u, NULL, 0);
	op.purge_max = max;
	op.cutoff = cutoff;
	res = udb_op_run(&op, "trace_purge", tx_purge);
	purge_reset(&op);
	*n_r = res == UDB_OK ? op.purged : 0;
	return res;
}
