/*
 * userdb_alias.c - where a recipient address delivers (a user or an
 * alias of one), which sender identities a user may use, and the aliases
 * themselves.  Part of common/userdb (userdb.h; userdb_int.h says how
 * the files divide).  Root processes only, like the rest of userdb.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include "log.h"
#include "userdb.h"
#include "userdb_int.h"
#include "xmalloc.h"

/*
 * Decode an alias record into its user (USERDB_ADDR_MAX + 1 bytes) and
 * may_send flag: 0, or -1 when it is malformed or names no user.
 */
static int
alias_decode(const void *val, size_t len, char *user, int *may_send)
{
	struct db_rec_reader	 r;
	const void		*p;
	size_t			 plen;
	uint8_t			 tag;
	uint64_t		 v;
	int			 ret;

	user[0] = '\0';
	*may_send = 0;
	if (db_rec_open(&r, val, len) == -1 || r.version != REC_V1)
		return -1;
	while ((ret = db_rec_next(&r, &tag, &p, &plen)) == 1) {
		if (tag == AL_USER && udb_rec_strcpy(user,
		    USERDB_ADDR_MAX + 1, p, plen) == -1)
			return -1;
		if (tag == AL_MAY_SEND && db_rec_int(p, plen, &v) == 0)
			*may_send = v != 0;
	}
	return ret == -1 || user[0] == '\0' ? -1 : 0;
}

/* Reads alias: 0 with its user in op->addr2 and op->flag, or an error. */
static int
alias_read(struct udb_op *op, DB_TXN *txn, const char *alias, int rmw)
{
	int	 ret;

	if ((ret = db_get(op->u->aliases, txn, alias, &op->val, rmw)) != 0)
		return ret;
	if (alias_decode(op->val.data, op->val.len, op->addr2,
	    &op->flag) == -1) {
		log_warnx("userdb: alias %s: malformed record", alias);
		return EINVAL;
	}
	return 0;
}

/* Recipient lookup and sender identities. */

static int
lookup_one(struct udb_op *op, DB_TXN *txn, const char *addr)
{
	int	 ret;

	ret = db_get(op->u->users, txn, addr, &op->val, 0);
	if (ret == 0) {
		snprintf(op->addr2, sizeof(op->addr2), "%s", addr);
		return 0;
	}
	if (ret != DB_NOTFOUND)
		return ret;
	return alias_read(op, txn, addr, 0);
}

static int
tx_lookup_rcpt(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	char		 lower[USERDB_ADDR_MAX + 1];
	int		 ret;

	ret = lookup_one(op, txn, op->addr);
	if (ret == DB_NOTFOUND) {
		snprintf(lower, sizeof(lower), "%s", op->addr);
		udb_lower_ascii(lower);
		if (strcmp(lower, op->addr) != 0)
			ret = lookup_one(op, txn, lower);
	}
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no such user");
	return ret;
}

int
userdb_lookup_rcpt(struct userdb *u, const char *rcpt, char *user_r,
    size_t len)
{
	struct udb_op	 op;
	int		 r;

	udb_op_init(&op, u, NULL, 0);
	if (userdb_addr_check(rcpt, USERDB_ADDR_UTF8, NULL, 0) == -1)
		return UDB_INVALID;
	if (userdb_addr_canon(rcpt, op.addr, sizeof(op.addr), NULL, 0) == -1)
		return UDB_NOTFOUND;
	r = udb_op_run(&op, "userdb_lookup_rcpt", tx_lookup_rcpt);
	if (r == UDB_OK && snprintf(user_r, len, "%s", op.addr2) >= (int)len)
		return UDB_ERROR;
	return r;
}

static int
tx_sender_allowed(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	op->count = 0;
	ret = alias_read(op, txn, op->str, 0);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	op->count = op->flag && strcmp(op->addr2, op->addr) == 0;
	return 0;
}

int
userdb_sender_allowed(struct userdb *u, const char *user, const char *from)
{
	struct udb_op	 op;
	char		 canon[USERDB_ADDR_MAX + 1];

	udb_op_init(&op, u, NULL, 0);
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), NULL, 0) == -1 ||
	    userdb_addr_canon(from, canon, sizeof(canon), NULL, 0) == -1)
		return 0;
	if (strcmp(op.addr, canon) == 0)
		return 1;
	op.str = canon;
	if (udb_op_run(&op, "userdb_sender_allowed", tx_sender_allowed) !=
	    UDB_OK)
		return -1;
	return op.count ? 1 : 0;
}

/* Aliases. */

static int
tx_alias_add(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	if ((ret = udb_need(op, txn, op->u->domains, "domain",
	    udb_addr_domain(op->str))) != 0 ||
	    (ret = udb_need(op, txn, op->u->users, "user", op->addr)) != 0)
		return ret;
	ret = db_get(op->u->users, txn, op->str, &op->val, 0);
	if (ret == 0)
		return REFUSE(op, UDB_EXISTS, "%s is a user", op->str);
	if (ret != DB_NOTFOUND)
		return ret;
	db_rec_begin(&op->val, REC_V1);
	db_rec_str(&op->val, AL_USER, op->addr);
	db_rec_u8(&op->val, AL_MAY_SEND, op->flag != 0);
	db_rec_u64(&op->val, AL_CREATED, (uint64_t)time(NULL));
	ret = db_put_new(op->u->aliases, txn, op->str, op->val.data,
	    op->val.len);
	if (ret == DB_KEYEXIST)
		return REFUSE(op, UDB_EXISTS, "alias %s already exists",
		    op->str);
	return ret;
}

/*
 * Run fn on alias of user, both addresses validated and canonicalised:
 * op->addr is the user, op->str the alias, op->flag may_send.
 */
static int
alias_run(struct userdb *u, const char *user, const char *alias,
    int may_send, const char *what, int (*fn)(DB_TXN *, void *), char *err,
    size_t errlen)
{
	struct udb_op	 op;
	char		 canon[USERDB_ADDR_MAX + 1], e[160];

	udb_op_init(&op, u, err, errlen);
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", user, e);
	if (userdb_addr_canon(alias, canon, sizeof(canon), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", alias,
		    e);
	op.str = canon;
	op.flag = may_send;
	return udb_op_run(&op, what, fn);
}

int
userdb_alias_add(struct userdb *u, const char *user, const char *alias,
    int may_send, char *err, size_t errlen)
{
	return alias_run(u, user, alias, may_send, "userdb_alias_add",
	    tx_alias_add, err, errlen);
}

static int
tx_alias_del(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	ret = alias_read(op, txn, op->str, 1);
	if (ret == 0 && strcmp(op->addr2, op->addr) != 0)
		ret = DB_NOTFOUND;
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "%s is not an alias of %s",
		    op->str, op->addr);
	if (ret != 0)
		return ret;
	return db_del(op->u->aliases, txn, op->str);
}

int
userdb_alias_del(struct userdb *u, const char *user, const char *alias,
    char *err, size_t errlen)
{
	return alias_run(u, user, alias, 0, "userdb_alias_del", tx_alias_del,
	    err, errlen);
}

/* A db_foreach() callback: the aliases of op->addr (of all if empty). */
static int
collect_aliases_of(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op	*op = arg;
	char		 user[USERDB_ADDR_MAX + 1];
	int		 may_send;

	if (alias_decode(val, len, user, &may_send) == -1 ||
	    (op->addr[0] != '\0' && strcmp(user, op->addr) != 0))
		return 0;
	op->alist = xreallocarray(op->alist, op->nlist + 1, sizeof(*op->alist));
	op->alist[op->nlist].alias = xstrdup(key);
	op->alist[op->nlist].user = xstrdup(user);
	op->alist[op->nlist].may_send = may_send;
	op->nlist++;
	return 0;
}

int
udb_alias_collect(DB_TXN *txn, struct udb_op *op)
{
	return db_foreach(op->u->aliases, txn, collect_aliases_of, op);
}

void
udb_alias_reset(struct udb_op *op)
{
	userdb_alias_list_free(op->alist, op->nlist);
	op->alist = NULL;
	op->nlist = 0;
}

static int
tx_alias_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	udb_alias_reset(op);
	if (op->addr[0] != '\0' && (ret = udb_need(op, txn, op->u->users,
	    "user", op->addr)) != 0)
		return ret;
	return udb_alias_collect(txn, op);
}

int
userdb_alias_list(struct userdb *u, const char *user,
    struct userdb_alias **list_r, size_t *n_r, char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	udb_op_init(&op, u, err, errlen);
	if (user != NULL && userdb_addr_canon(user, op.addr, sizeof(op.addr),
	    err, errlen) == -1)
		return UDB_INVALID;
	r = udb_op_run(&op, "userdb_alias_list", tx_alias_list);
	if (r != UDB_OK)
		udb_alias_reset(&op);
	*list_r = op.alist;
	*n_r = op.nlist;
	return r;
}

void
userdb_alias_list_free(struct userdb_alias *l, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(l[i].alias);
		free(l[i].user);
	}
	free(l);
}
