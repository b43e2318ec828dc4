/*
 * registry.c - registry.db, the registry of trusted transmitters: names,
 * notes, expiry, and the match of a name or its parent domains (see
 * registry.h for the data model).
 *
 * Runs in root processes only (smtpd's parent, sealmailctl): the
 * environment is mode 0700.  Every change and every match is one
 * transaction of common/db, so a concurrent sealmailctl and smtpd see
 * each other's changes whole or not at all.  Names and notes are
 * validated here even when the caller already did, because names become
 * keys and notes are printed and logged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include "addr.h"
#include "buf.h"
#include "log.h"
#include "registry.h"
#include "utf8.h"
#include "xmalloc.h"

struct registry {
	struct db_env	*env;
	DB		*db;
};

#define RG_V1		1
#define RG_CREATED	1	/* u64 */
#define RG_EXPIRES	2	/* u64, 0: never */
#define RG_NOTE		3	/* str */

/* One change or query: arguments in, results out (a txn callback's). */
struct rg_op {
	struct registry		*r;
	int			 res;
	char			*err;
	size_t			 errlen;
	char			 name[REGISTRY_NAME_MAX + 1];
	const char		*note;
	time_t			 expires;
	time_t			 now;
	struct registry_entry	*entry;
	struct registry_entry	*list;
	size_t			 nlist;
	struct buf		 val;
};

/* A txn callback returns this after it put a refusal into op->res. */
#define RG_ABORT	(-1)

static int
rg_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
rg_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

#define REFUSE(op, code, ...)						\
	((op)->res = (code),						\
	 rg_seterr((op)->err, (op)->errlen, RG_ABORT, __VA_ARGS__))

const char *
registry_strerror(int r)
{
	static const char *names[] = {
		"ok", "invalid", "not found", "exists", "database error"
	};

	if (r < 0 || (size_t)r >= sizeof(names) / sizeof(names[0]))
		return "unknown error";
	return names[r];
}

int
registry_name_canon(const char *name, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char	 e[160];
	size_t	 i, n = strlen(name);

	if (addr_domain_check(name, ADDR_LOCAL, e, sizeof(e)) == -1)
		return rg_seterr(err, errlen, -1, "%s", e);
	if (n > REGISTRY_NAME_MAX || n >= outlen)
		return rg_seterr(err, errlen, -1, "name is too long");
	if (strchr(name, '.') == NULL)
		return rg_seterr(err, errlen, -1, "a top-level name would "
		    "cover every host under it; give a domain or host name");
	for (i = 0; i <= n; i++)
		out[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i];
	return 0;
}

int
registry_note_check(const char *note, char *err, size_t errlen)
{
	const unsigned char *p;
	size_t	 n;

	if (note == NULL)
		return 0;
	n = strlen(note);
	if (n > REGISTRY_NOTE_MAX)
		return rg_seterr(err, errlen, -1, "note is longer than %d "
		    "bytes", REGISTRY_NOTE_MAX);
	if (!utf8_valid(note, n, 0, UTF8_NO_CTL))
		return rg_seterr(err, errlen, -1, "note is not UTF-8 text "
		    "(no control characters)");
	/* C1 controls (U+0080-U+009F, 0xc2 0x80-0x9f) and tabs as well */
	for (p = (const unsigned char *)note; *p != '\0'; p++)
		if (*p == '\t' || (p[0] == 0xc2 && p[1] >= 0x80 &&
		    p[1] <= 0x9f))
			return rg_seterr(err, errlen, -1, "note is not UTF-8 "
			    "text (no control characters)");
	return 0;
}

int
registry_expired(const struct registry_entry *e, time_t now)
{
	return e->expires != 0 && e->expires <= now;
}

struct registry *
registry_open(struct db_env *env)
{
	struct registry	*r;

	r = xcalloc(1, sizeof(*r));
	r->env = env;
	if (db_open(env, "registry", 0, &r->db) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

void
registry_close(struct registry *r)
{
	if (r == NULL)
		return;
	db_close(r->db);
	free(r);
}

/* The record. */

static void
entry_encode(const struct registry_entry *e, struct buf *b)
{
	db_rec_begin(b, RG_V1);
	db_rec_u64(b, RG_CREATED, (uint64_t)e->created);
	db_rec_u64(b, RG_EXPIRES, (uint64_t)e->expires);
	if (e->note[0] != '\0')
		db_rec_str(b, RG_NOTE, e->note);
}

static int
entry_decode(const char *name, const void *val, size_t len,
    struct registry_entry *e)
{
	struct db_rec_reader	 rd;
	const void		*v;
	uint64_t		 n;
	uint8_t			 tag;
	size_t			 vlen;
	int			 r;

	memset(e, 0, sizeof(*e));
	if (strlen(name) > REGISTRY_NAME_MAX ||
	    db_rec_open(&rd, val, len) == -1 || rd.version != RG_V1)
		return -1;
	memcpy(e->name, name, strlen(name) + 1);
	while ((r = db_rec_next(&rd, &tag, &v, &vlen)) == 1) {
		switch (tag) {
		case RG_CREATED:
		case RG_EXPIRES:
			if (db_rec_int(v, vlen, &n) == -1 || n > INT64_MAX)
				return -1;
			*(tag == RG_CREATED ? &e->created : &e->expires) =
			    (time_t)n;
			break;
		case RG_NOTE:
			if (vlen > REGISTRY_NOTE_MAX ||
			    memchr(v, '\0', vlen) != NULL)
				return -1;
			memcpy(e->note, v, vlen);
			e->note[vlen] = '\0';
			break;
		}
	}
	return r;
}

/* Read name; DB_NOTFOUND, 0 with e, EINVAL for a bad record, or an error. */
static int
entry_get(struct rg_op *op, DB_TXN *txn, const char *name, int rmw,
    struct registry_entry *e)
{
	int	 ret;

	if ((ret = db_get(op->r->db, txn, name, &op->val, rmw)) != 0)
		return ret;
	if (entry_decode(name, op->val.data, op->val.len, e) == -1) {
		log_warnx("registry: %s: malformed record", name);
		return EINVAL;
	}
	return 0;
}

/* Operations: one transaction each. */

static int
op_init(struct rg_op *op, struct registry *r, const char *name, char *err,
    size_t errlen)
{
	char	 e[200];

	memset(op, 0, sizeof(*op));
	op->r = r;
	op->err = err;
	op->errlen = errlen;
	buf_init(&op->val, 0);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name != NULL && registry_name_canon(name, op->name,
	    sizeof(op->name), e, sizeof(e)) == -1)
		return rg_seterr(err, errlen, REG_INVALID, "%s: %s", name, e);
	return REG_OK;
}

static int
op_run(struct rg_op *op, const char *what, int (*fn)(DB_TXN *, void *))
{
	int	 ret;

	op->res = REG_OK;
	ret = db_txn_run(op->r->env, what, fn, op);
	buf_free(&op->val);
	if (ret == 0 || ret == RG_ABORT)
		return op->res;
	return rg_seterr(op->err, op->errlen, REG_ERROR,
	    "database error: %s", db_strerror(ret));
}

static int
tx_add(DB_TXN *txn, void *arg)
{
	struct rg_op		*op = arg;
	struct registry_entry	 e;
	int			 ret;

	ret = entry_get(op, txn, op->name, 1, &e);
	if (ret == 0 && !registry_expired(&e, op->now))
		return REFUSE(op, REG_EXISTS, "%s is already listed; del it "
		    "first to change it", op->name);
	if (ret != 0 && ret != DB_NOTFOUND && ret != EINVAL)
		return ret;
	memset(&e, 0, sizeof(e));
	e.created = op->now;
	e.expires = op->expires;
	if (op->note != NULL)
		snprintf(e.note, sizeof(e.note), "%s", op->note);
	entry_encode(&e, &op->val);
	return db_put(op->r->db, txn, op->name, op->val.data, op->val.len);
}

int
registry_add(struct registry *r, const char *name, const char *note,
    time_t expires, time_t now, char *err, size_t errlen)
{
	struct rg_op	 op;
	char		 e[200];
	int		 res;

	if ((res = op_init(&op, r, name, err, errlen)) != REG_OK)
		return res;
	if (registry_note_check(note, e, sizeof(e)) == -1)
		return rg_seterr(err, errlen, REG_INVALID, "%s", e);
	if (expires < 0 || (expires != 0 && expires <= now))
		return rg_seterr(err, errlen, REG_INVALID, "the expiry time "
		    "has already passed");
	op.note = note;
	op.expires = expires;
	op.now = now;
	return op_run(&op, "registry_add", tx_add);
}

static int
tx_del(DB_TXN *txn, void *arg)
{
	struct rg_op	*op = arg;
	int		 ret;

	if ((ret = db_del(op->r->db, txn, op->name)) == DB_NOTFOUND)
		return REFUSE(op, REG_NOTFOUND, "%s is not listed", op->name);
	return ret;
}

int
registry_del(struct registry *r, const char *name, char *err, size_t errlen)
{
	struct rg_op	 op;
	int		 res;

	if ((res = op_init(&op, r, name, err, errlen)) != REG_OK)
		return res;
	return op_run(&op, "registry_del", tx_del);
}

static int
collect(const char *key, const void *val, size_t len, void *arg)
{
	struct rg_op		*op = arg;
	struct registry_entry	 e;

	if (entry_decode(key, val, len, &e) == -1) {
		log_warnx("registry: %s: malformed record", key);
		return EINVAL;
	}
	op->list = xreallocarray(op->list, op->nlist + 1, sizeof(e));
	op->list[op->nlist++] = e;
	return 0;
}

static int
tx_list(DB_TXN *txn, void *arg)
{
	struct rg_op	*op = arg;

	free(op->list);
	op->list = NULL;
	op->nlist = 0;
	return db_foreach(op->r->db, txn, collect, op);
}

int
registry_list(struct registry *r, struct registry_entry **list_r,
    size_t *n_r)
{
	struct rg_op	 op;
	int		 res;

	op_init(&op, r, NULL, NULL, 0);
	if ((res = op_run(&op, "registry_list", tx_list)) != REG_OK) {
		free(op.list);
		op.list = NULL;
		op.nlist = 0;
	}
	*list_r = op.list;
	*n_r = op.nlist;
	return res;
}

/*
 * The name, then each parent down to two labels: the first listed and
 * unexpired one.
 */
static int
tx_match(DB_TXN *txn, void *arg)
{
	struct rg_op	*op = arg;
	const char	*p;
	int		 ret;

	for (p = op->name; strchr(p, '.') != NULL; p = strchr(p, '.') + 1) {
		ret = entry_get(op, txn, p, 0, op->entry);
		if (ret == 0 && !registry_expired(op->entry, op->now))
			return 0;
		if (ret != 0 && ret != DB_NOTFOUND)
			return ret;
	}
	return REFUSE(op, REG_NOTFOUND, "%s is not listed", op->name);
}

int
registry_match_at(struct registry *r, const char *name, time_t now,
    struct registry_entry *e_r)
{
	struct rg_op	 op;
	char		 copy[REGISTRY_NAME_MAX + 2];
	size_t		 n = strlen(name);
	int		 res;

	if (n > 1 && n <= REGISTRY_NAME_MAX + 1 && name[n - 1] == '.') {
		memcpy(copy, name, n - 1);
		copy[n - 1] = '\0';
		name = copy;
	}
	if ((res = op_init(&op, r, name, NULL, 0)) != REG_OK)
		return res;
	op.now = now;
	op.entry = e_r;
	return op_run(&op, "registry_match", tx_match);
}

int
registry_match(struct registry *r, const char *name,
    struct registry_entry *e_r)
{
	return registry_match_at(r, name, time(NULL), e_r);
}
