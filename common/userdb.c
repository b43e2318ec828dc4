/*
 * userdb.c - the core of the user database: result names, addresses,
 * opening, the transaction helpers, domains and users; see userdb.h for
 * the data model and the record layouts, userdb_int.h for the other
 * userdb*.c files (settings, aliases, the send quota).
 *
 * Runs in root processes only (privileged parents, sealmailctl): the
 * environment is mode 0700.  Every change is one transaction of
 * common/db, so concurrent sessions in different processes see each
 * other's changes whole or not at all, and a refused change leaves the
 * database as it was.  Addresses are validated here even when the caller
 * already did, because they become keys and Maildir paths.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include "addr.h"
#include "log.h"
#include "userdb.h"
#include "userdb_int.h"
#include "xmalloc.h"

int
udb_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *
userdb_strerror(int r)
{
	static const char *names[] = {
		"ok", "invalid", "not found", "exists", "refused", "locked",
		"database error"
	};

	if (r < 0 || (size_t)r >= sizeof(names) / sizeof(names[0]))
		return "unknown error";
	return names[r];
}

/*
 * Addresses: the grammar is common/addr's (addr.h says the rules); these
 * keep userdb's names and its keys (a local address, domain lowercased).
 */

int
userdb_addr_check(const char *addr, int flags, char *err, size_t errlen)
{
	return addr_check(addr, flags, err, errlen);
}

void
udb_lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = *s - 'A' + 'a';
}

int
userdb_addr_canon(const char *addr, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if (addr_canon(addr, ADDR_LOCAL, out, outlen, err, errlen) == -1)
		return -1;
	addr_domain_lower(out);
	return 0;
}

int
userdb_domain_canon(const char *domain, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if (addr_domain_check(domain, ADDR_LOCAL, err, errlen) == -1)
		return -1;
	if (strlen(domain) >= outlen)
		return udb_seterr(err, errlen, -1, "domain is too long");
	memcpy(out, domain, strlen(domain) + 1);
	udb_lower_ascii(out);
	return 0;
}

char *
userdb_maildir(const char *mail_root, const char *addr)
{
	char	 canon[USERDB_ADDR_MAX + 1], *at;

	if (userdb_addr_canon(addr, canon, sizeof(canon), NULL, 0) == -1)
		return NULL;
	at = strrchr(canon, '@');
	*at = '\0';
	return xasprintf("%s/%s/%s/Maildir", mail_root, at + 1, canon);
}

const char *
udb_addr_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* Opening. */

struct userdb *
userdb_open(struct db_env *env)
{
	struct userdb	*u;

	u = xcalloc(1, sizeof(*u));
	u->env = env;
	if (db_open(env, "domains", 0, &u->domains) == -1 ||
	    db_open(env, "users", 0, &u->users) == -1 ||
	    db_open(env, "aliases", 0, &u->aliases) == -1 ||
	    db_open(env, "sendlog", 0, &u->sendlog) == -1 ||
	    db_open(env, "trace", 0, &u->trace) == -1) {
		userdb_close(u);
		return NULL;
	}
	return u;
}

void
userdb_close(struct userdb *u)
{
	if (u == NULL)
		return;
	db_close(u->trace);
	db_close(u->sendlog);
	db_close(u->aliases);
	db_close(u->users);
	db_close(u->domains);
	free(u);
}

/* Operations: one change or query, one transaction. */

void
udb_op_init(struct udb_op *op, struct userdb *u, char *err, size_t errlen)
{
	memset(op, 0, sizeof(*op));
	op->u = u;
	op->err = err;
	op->errlen = errlen;
	buf_init(&op->val, 0);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

int
udb_op_addr(struct udb_op *op, struct userdb *u, const char *addr,
    char *err, size_t errlen)
{
	udb_op_init(op, u, err, errlen);
	if (userdb_addr_canon(addr, op->addr, sizeof(op->addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	return UDB_OK;
}

/* udb_op_init() with domain canonicalised into op->addr. */
static int
op_domain(struct udb_op *op, struct userdb *u, const char *domain,
    char *err, size_t errlen)
{
	char	 e[160];

	udb_op_init(op, u, err, errlen);
	if (userdb_domain_canon(domain, op->addr, sizeof(op->addr), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", domain,
		    e);
	return UDB_OK;
}

int
udb_op_run(struct udb_op *op, const char *what, int (*fn)(DB_TXN *, void *))
{
	int	 ret;

	op->res = UDB_OK;
	ret = db_txn_run(op->u->env, what, fn, op);
	buf_free(&op->val);
	if (ret == 0 || ret == UDB_ABORT)
		return op->res;
	return udb_seterr(op->err, op->errlen, UDB_ERROR,
	    "database error: %s", db_strerror(ret));
}

int
udb_need(struct udb_op *op, DB_TXN *txn, DB *db, const char *what,
    const char *key)
{
	int	 ret;

	ret = db_get(db, txn, key, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no %s %s", what, key);
	return ret;
}

int
udb_user_need(struct udb_op *op, DB_TXN *txn, struct userdb_user *u,
    int rmw)
{
	int	 ret;

	ret = db_get(op->u->users, txn, op->addr, &op->val, rmw);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
		return ret;
	if (userdb_user_decode(op->val.data, op->val.len, u) == -1) {
		log_warnx("userdb: user %s: malformed record", op->addr);
		return EINVAL;
	}
	snprintf(u->address, sizeof(u->address), "%s", op->addr);
	return 0;
}

int
udb_user_write(struct udb_op *op, DB_TXN *txn, const struct userdb_user *u)
{
	userdb_user_encode(u, &op->val);
	return db_put(op->u->users, txn, u->address, op->val.data,
	    op->val.len);
}

/* Domains. */

static int
tx_domain_add(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	db_rec_begin(&op->val, REC_V1);
	db_rec_u64(&op->val, DOM_CREATED, (uint64_t)time(NULL));
	ret = db_put_new(op->u->domains, txn, op->addr, op->val.data,
	    op->val.len);
	if (ret == DB_KEYEXIST)
		return REFUSE(op, UDB_EXISTS, "domain %s already exists",
		    op->addr);
	return ret;
}

int
userdb_domain_add(struct userdb *u, const char *domain, char *err,
    size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = op_domain(&op, u, domain, err, errlen)) != UDB_OK)
		return r;
	return udb_op_run(&op, "userdb_domain_add", tx_domain_add);
}

static int
count_in_domain(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op	*op = arg;

	(void)val;
	(void)len;
	if (strcmp(udb_addr_domain(key), op->addr) == 0)
		op->count++;
	return 0;
}

static int
tx_domain_del(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	unsigned int	 users;
	int		 ret;

	if ((ret = db_get(op->u->domains, txn, op->addr, &op->val, 1)) != 0) {
		if (ret == DB_NOTFOUND)
			return REFUSE(op, UDB_NOTFOUND, "no domain %s",
			    op->addr);
		return ret;
	}
	op->count = 0;
	if ((ret = db_foreach(op->u->users, txn, count_in_domain, op)) != 0)
		return ret;
	users = op->count;
	if ((ret = db_foreach(op->u->aliases, txn, count_in_domain, op)) != 0)
		return ret;
	if (op->count > 0)
		return REFUSE(op, UDB_REFUSED, "domain %s still has %u user(s) "
		    "and %u alias(es); delete them first", op->addr, users,
		    op->count - users);
	return db_del(op->u->domains, txn, op->addr);
}

int
userdb_domain_del(struct userdb *u, const char *domain, char *err,
    size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = op_domain(&op, u, domain, err, errlen)) != UDB_OK)
		return r;
	return udb_op_run(&op, "userdb_domain_del", tx_domain_del);
}

static int
tx_domain_exists(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;

	return udb_need(op, txn, op->u->domains, "domain", op->addr);
}

int
userdb_domain_exists(struct userdb *u, const char *domain)
{
	struct udb_op	 op;
	int		 r;

	udb_op_init(&op, u, NULL, 0);
	if (userdb_domain_canon(domain, op.addr, sizeof(op.addr), NULL,
	    0) == -1)
		return 0;
	r = udb_op_run(&op, "userdb_domain_exists", tx_domain_exists);
	return r == UDB_OK ? 1 : r == UDB_NOTFOUND ? 0 : -1;
}

void
userdb_list_free(char **list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int
collect_key(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op	*op = arg;

	(void)val;
	(void)len;
	if (op->addr[0] != '\0' && strcmp(udb_addr_domain(key), op->addr) != 0)
		return 0;
	op->list = xreallocarray(op->list, op->nlist + 1, sizeof(char *));
	op->list[op->nlist++] = xstrdup(key);
	return 0;
}

static void
list_reset(struct udb_op *op)
{
	userdb_list_free(op->list, op->nlist);
	op->list = NULL;
	op->nlist = 0;
}

/* Run a listing transaction; the list is handed over only on UDB_OK. */
static int
list_run(struct udb_op *op, const char *what, int (*fn)(DB_TXN *, void *),
    char ***list_r, size_t *n_r)
{
	int	 r;

	r = udb_op_run(op, what, fn);
	if (r != UDB_OK)
		list_reset(op);
	*list_r = op->list;
	*n_r = op->nlist;
	return r;
}

static int
tx_domain_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;

	list_reset(op);
	return db_foreach(op->u->domains, txn, collect_key, op);
}

int
userdb_domain_list(struct userdb *u, char ***list_r, size_t *n_r)
{
	struct udb_op	 op;

	udb_op_init(&op, u, NULL, 0);
	return list_run(&op, "userdb_domain_list", tx_domain_list, list_r,
	    n_r);
}

/* Users. */

static int
tx_user_add(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	const char	*domain = udb_addr_domain(op->addr);
	int		 ret;

	ret = db_get(op->u->domains, txn, domain, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no domain %s (add it with "
		    "domain add)", domain);
	if (ret != 0)
		return ret;
	ret = db_get(op->u->aliases, txn, op->addr, &op->val, 0);
	if (ret == 0)
		return REFUSE(op, UDB_EXISTS, "%s is an alias", op->addr);
	if (ret != DB_NOTFOUND)
		return ret;
	userdb_user_encode(op->user, &op->val);
	ret = db_put_new(op->u->users, txn, op->addr, op->val.data,
	    op->val.len);
	if (ret == DB_KEYEXIST)
		return REFUSE(op, UDB_EXISTS, "user %s already exists",
		    op->addr);
	return ret;
}

int
userdb_user_add(struct userdb *u, const char *addr,
    const struct userdb_user *tmpl, char *err, size_t errlen)
{
	struct userdb_user	 nu;
	struct udb_op		 op;
	int			 r;

	if ((r = udb_op_addr(&op, u, addr, err, errlen)) != UDB_OK)
		return r;
	if (tmpl != NULL)
		nu = *tmpl;
	else
		userdb_user_defaults(&nu);
	snprintf(nu.address, sizeof(nu.address), "%s", op.addr);
	nu.created = time(NULL);
	nu.locked = 0;
	nu.locked_at = 0;
	nu.lock_reason[0] = '\0';
	op.user = &nu;
	return udb_op_run(&op, "userdb_user_add", tx_user_add);
}

static int
tx_user_del(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	size_t		 i;
	int		 ret;

	udb_alias_reset(op);
	ret = db_del(op->u->users, txn, op->addr);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
		return ret;
	if ((ret = udb_alias_collect(txn, op)) != 0)
		return ret;
	for (i = 0; i < op->nlist; i++)
		if ((ret = db_del(op->u->aliases, txn,
		    op->alist[i].alias)) != 0)
			return ret;
	ret = db_del(op->u->sendlog, txn, op->addr);
	return ret == DB_NOTFOUND ? 0 : ret;
}

int
userdb_user_del(struct userdb *u, const char *addr, char *err,
    size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = udb_op_addr(&op, u, addr, err, errlen)) != UDB_OK)
		return r;
	r = udb_op_run(&op, "userdb_user_del", tx_user_del);
	udb_alias_reset(&op);
	return r;
}

static int
tx_user_get(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;

	return udb_user_need(op, txn, op->user, 0);
}

int
userdb_user_get(struct userdb *u, const char *addr, struct userdb_user *u_r,
    char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = udb_op_addr(&op, u, addr, err, errlen)) != UDB_OK)
		return r;
	op.user = u_r;
	return udb_op_run(&op, "userdb_user_get", tx_user_get);
}

static int
tx_user_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	list_reset(op);
	if (op->addr[0] != '\0' && (ret = udb_need(op, txn, op->u->domains,
	    "domain", op->addr)) != 0)
		return ret;
	return db_foreach(op->u->users, txn, collect_key, op);
}

int
userdb_user_list(struct userdb *u, const char *domain, char ***list_r,
    size_t *n_r, char *err, size_t errlen)
{
	struct udb_op	 op;

	udb_op_init(&op, u, err, errlen);
	if (domain != NULL && userdb_domain_canon(domain, op.addr,
	    sizeof(op.addr), err, errlen) == -1)
		return UDB_INVALID;
	return list_run(&op, "userdb_user_list", tx_user_list, list_r, n_r);
}

static int
tx_user_lock(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	int			 ret;

	if ((ret = udb_user_need(op, txn, &nu, 1)) != 0)
		return ret;
	nu.locked = op->flag;
	nu.locked_at = op->flag ? time(NULL) : 0;
	snprintf(nu.lock_reason, sizeof(nu.lock_reason), "%s",
	    op->flag ? op->str : "");
	if ((ret = udb_user_write(op, txn, &nu)) != 0)
		return ret;
	if (op->flag)
		return 0;
	ret = db_del(op->u->sendlog, txn, op->addr);
	return ret == DB_NOTFOUND ? 0 : ret;
}

static int
user_lockstate(struct userdb *u, const char *addr, int lock,
    const char *reason, char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = udb_op_addr(&op, u, addr, err, errlen)) != UDB_OK)
		return r;
	op.flag = lock;
	op.str = reason != NULL ? reason : "locked by the administrator";
	return udb_op_run(&op, lock ? "userdb_user_lock" :
	    "userdb_user_unlock", tx_user_lock);
}

int
userdb_user_lock(struct userdb *u, const char *addr, const char *reason,
    char *err, size_t errlen)
{
	return user_lockstate(u, addr, 1, reason, err, errlen);
}

int
userdb_user_unlock(struct userdb *u, const char *addr, char *err,
    size_t errlen)
{
	return user_lockstate(u, addr, 0, NULL, err, errlen);
}
