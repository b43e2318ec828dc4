/*
 * userdb.c - domains, users, settings, aliases and the send quota; see
 * userdb.h for the data model and the record layouts.
 *
 * Runs in root processes only (privileged parents, sealmailctl): the
 * environment is mode 0700.  Every change is one transaction of
 * common/db, so concurrent sessions in different processes see each
 * other's changes whole or not at all, and a refused change leaves the
 * database as it was.  Addresses are validated here even when the caller
 * already did, because they become keys and Maildir paths.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <db.h>
#include "addr.h"
#include "log.h"
#include "userdb.h"
#include "xmalloc.h"

struct userdb {
	struct db_env	*env;
	DB		*domains;
	DB		*users;
	DB		*aliases;
	DB		*sendlog;
};

/* Record versions and tags (see userdb.h and db.h). */
#define REC_V1		1

#define DOM_CREATED	1

enum user_tag {
	U_CREATED = 1, U_MAX_MSG, U_MAX_DAY, U_PRIVILEGED, U_UNSAFE_MBOX,
	U_STRIP_ATT, U_STRIP_HTML, U_SUBJECT_TAG, U_QUOTA, U_LOCKED,
	U_LOCKED_AT, U_LOCK_REASON, U_ADDRESS
};

#define AL_USER		1
#define AL_MAY_SEND	2
#define AL_CREATED	3

#define SL_ENTRY	1	/* u64be time of last send, u32be count */
#define SL_MERGE	60	/* sends this close share one entry */

/* A txn callback returns this after it put a refusal into op->res. */
#define UDB_ABORT	(-1)

struct udb_op {
	struct userdb		*u;
	int			 res;
	char			*err;
	size_t			 errlen;
	char			 addr[USERDB_ADDR_MAX + 1];
	char			 addr2[USERDB_ADDR_MAX + 1];
	const char		*str;
	int			 flag;
	unsigned int		 n;
	time_t			 now;
	struct userdb_user	*user;
	char *const		*assign;
	char			**list;
	size_t			 nlist;
	struct userdb_alias	*alist;
	unsigned int		 count;
	time_t			 expires;
	unsigned int		 limit;
	struct buf		 val;
};

static int
udb_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
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

#define REFUSE(op, code, ...)						\
	((op)->res = (code),						\
	 udb_seterr((op)->err, (op)->errlen, UDB_ABORT, __VA_ARGS__))

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

static void
lower_ascii(char *s)
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
	lower_ascii(out);
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

static const char *
addr_domain(const char *addr)
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
	    db_open(env, "sendlog", 0, &u->sendlog) == -1) {
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
	db_close(u->sendlog);
	db_close(u->aliases);
	db_close(u->users);
	db_close(u->domains);
	free(u);
}

static void
op_init(struct udb_op *op, struct userdb *u, char *err, size_t errlen)
{
	memset(op, 0, sizeof(*op));
	op->u = u;
	op->err = err;
	op->errlen = errlen;
	buf_init(&op->val, 0);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

static int
op_run(struct udb_op *op, const char *what, int (*fn)(DB_TXN *, void *))
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

/* User record encoding. */

void
userdb_user_defaults(struct userdb_user *u)
{
	memset(u, 0, sizeof(*u));
	u->max_rcpt_per_msg = USERDB_DEF_MAX_RCPT_PER_MSG;
	u->max_rcpt_per_day = USERDB_DEF_MAX_RCPT_PER_DAY;
	u->privileged = 0;
	u->unsafe_mailbox = 1;
	u->strip_attachments = 1;
	u->strip_html = 1;
}

void
userdb_user_encode(const struct userdb_user *u, struct buf *b)
{
	db_rec_begin(b, REC_V1);
	db_rec_str(b, U_ADDRESS, u->address);
	db_rec_u64(b, U_CREATED, (uint64_t)u->created);
	db_rec_u32(b, U_MAX_MSG, u->max_rcpt_per_msg);
	db_rec_u32(b, U_MAX_DAY, u->max_rcpt_per_day);
	db_rec_u8(b, U_PRIVILEGED, u->privileged != 0);
	db_rec_u8(b, U_UNSAFE_MBOX, u->unsafe_mailbox != 0);
	db_rec_u8(b, U_STRIP_ATT, u->strip_attachments != 0);
	db_rec_u8(b, U_STRIP_HTML, u->strip_html != 0);
	db_rec_str(b, U_SUBJECT_TAG, u->unsafe_subject_tag);
	db_rec_u64(b, U_QUOTA, u->quota_bytes);
	db_rec_u8(b, U_LOCKED, u->locked != 0);
	db_rec_u64(b, U_LOCKED_AT, (uint64_t)u->locked_at);
	db_rec_str(b, U_LOCK_REASON, u->lock_reason);
}

static int
rec_strcpy(char *dst, size_t dstlen, const void *p, size_t len)
{
	if (len >= dstlen || memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

static int
user_decode_field(struct userdb_user *u, uint8_t tag, const void *p,
    size_t len)
{
	uint64_t	 v = 0;

	switch (tag) {
	case U_ADDRESS:
		return rec_strcpy(u->address, sizeof(u->address), p, len);
	case U_SUBJECT_TAG:
		return rec_strcpy(u->unsafe_subject_tag,
		    sizeof(u->unsafe_subject_tag), p, len);
	case U_LOCK_REASON:
		return rec_strcpy(u->lock_reason, sizeof(u->lock_reason), p,
		    len);
	case U_CREATED: case U_MAX_MSG: case U_MAX_DAY: case U_PRIVILEGED:
	case U_UNSAFE_MBOX: case U_STRIP_ATT: case U_STRIP_HTML: case U_QUOTA:
	case U_LOCKED: case U_LOCKED_AT:
		if (db_rec_int(p, len, &v) == -1)
			return -1;
		break;
	default:
		return 0;	/* a newer field: skip */
	}
	switch (tag) {
	case U_CREATED:		u->created = (time_t)v; break;
	case U_MAX_MSG:		u->max_rcpt_per_msg = (unsigned int)v; break;
	case U_MAX_DAY:		u->max_rcpt_per_day = (unsigned int)v; break;
	case U_PRIVILEGED:	u->privileged = v != 0; break;
	case U_UNSAFE_MBOX:	u->unsafe_mailbox = v != 0; break;
	case U_STRIP_ATT:	u->strip_attachments = v != 0; break;
	case U_STRIP_HTML:	u->strip_html = v != 0; break;
	case U_QUOTA:		u->quota_bytes = v; break;
	case U_LOCKED:		u->locked = v != 0; break;
	case U_LOCKED_AT:	u->locked_at = (time_t)v; break;
	}
	return 0;
}

int
userdb_user_decode(const void *p, size_t len, struct userdb_user *u)
{
	struct db_rec_reader	 r;
	const void		*val;
	size_t			 vlen;
	uint8_t			 tag;
	int			 ret;

	userdb_user_defaults(u);
	if (db_rec_open(&r, p, len) == -1 || r.version != REC_V1)
		return -1;
	while ((ret = db_rec_next(&r, &tag, &val, &vlen)) == 1)
		if (user_decode_field(u, tag, val, vlen) == -1)
			return -1;
	return ret;
}

/* Reads a user inside a transaction: 0, DB_NOTFOUND or an error. */
static int
user_read(struct udb_op *op, DB_TXN *txn, const char *addr,
    struct userdb_user *u, int rmw)
{
	int	 ret;

	if ((ret = db_get(op->u->users, txn, addr, &op->val, rmw)) != 0)
		return ret;
	if (userdb_user_decode(op->val.data, op->val.len, u) == -1) {
		log_warnx("userdb: user %s: malformed record", addr);
		return EINVAL;
	}
	snprintf(u->address, sizeof(u->address), "%s", addr);
	return 0;
}

static int
user_write(struct udb_op *op, DB_TXN *txn, const struct userdb_user *u)
{
	userdb_user_encode(u, &op->val);
	return db_put(op->u->users, txn, u->address, op->val.data,
	    op->val.len);
}

/* Settings. */

enum set_type { SET_UINT, SET_U64, SET_BOOL, SET_TAG };

static const struct setting {
	const char	*key;
	enum set_type	 type;
	size_t		 off;
	uint64_t	 max;
} settings[] = {
	{ "max_rcpt_per_msg", SET_UINT,
	    offsetof(struct userdb_user, max_rcpt_per_msg), 1000000 },
	{ "max_rcpt_per_day", SET_UINT,
	    offsetof(struct userdb_user, max_rcpt_per_day), 10000000 },
	{ "privileged", SET_BOOL, offsetof(struct userdb_user, privileged), 1 },
	{ "unsafe_mailbox", SET_BOOL,
	    offsetof(struct userdb_user, unsafe_mailbox), 1 },
	{ "strip_attachments", SET_BOOL,
	    offsetof(struct userdb_user, strip_attachments), 1 },
	{ "strip_html", SET_BOOL, offsetof(struct userdb_user, strip_html), 1 },
	{ "unsafe_subject_tag", SET_TAG,
	    offsetof(struct userdb_user, unsafe_subject_tag), USERDB_TAG_MAX },
	{ "quota_bytes", SET_U64, offsetof(struct userdb_user, quota_bytes),
	    UINT64_MAX / 2 },
};
#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

const char *const *
userdb_setting_keys(void)
{
	static const char	*keys[NSETTINGS + 1];
	size_t			 i;

	for (i = 0; i < NSETTINGS; i++)
		keys[i] = settings[i].key;
	keys[NSETTINGS] = NULL;
	return keys;
}

static const struct setting *
setting_find(const char *key)
{
	size_t	 i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

static int
parse_number(const char *v, int suffixes, uint64_t max, uint64_t *n)
{
	uint64_t	 mult = 1, x = 0;
	const char	*p;

	if (!isdigit((unsigned char)*v))
		return -1;
	for (p = v; isdigit((unsigned char)*p); p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0' && suffixes && p[1] == '\0') {
		switch (*p) {
		case 'k': case 'K': mult = 1024; break;
		case 'm': case 'M': mult = 1024 * 1024; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
		default: return -1;
		}
		p++;
	}
	if (*p != '\0' || x > max / mult)
		return -1;
	*n = x * mult;
	return 0;
}

static int
parse_yesno(const char *v, int *b)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *b = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *b = 0, 0;
	}
	return -1;
}

int
userdb_setting_apply(struct userdb_user *u, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct setting	*s;
	char			*field;
	uint64_t		 n;
	size_t			 i;
	int			 b;

	if ((s = setting_find(key)) == NULL)
		return udb_seterr(err, errlen, -1, "unknown setting '%s'",
		    key);
	field = (char *)u + s->off;
	switch (s->type) {
	case SET_UINT:
	case SET_U64:
		if (parse_number(value, s->type == SET_U64, s->max, &n) == -1)
			return udb_seterr(err, errlen, -1, "%s: '%s' is not a "
			    "number from 0 to %llu%s", key, value,
			    (unsigned long long)s->max,
			    s->type == SET_U64 ? " (suffix K, M or G)" : "");
		if (s->type == SET_UINT)
			*(unsigned int *)(void *)field = (unsigned int)n;
		else
			*(uint64_t *)(void *)field = n;
		return 0;
	case SET_BOOL:
		if (parse_yesno(value, &b) == -1)
			return udb_seterr(err, errlen, -1,
			    "%s: '%s' is not yes or no", key, value);
		*(int *)(void *)field = b;
		return 0;
	case SET_TAG:
		if (strlen(value) > s->max)
			return udb_seterr(err, errlen, -1,
			    "%s: longer than %llu characters", key,
			    (unsigned long long)s->max);
		for (i = 0; value[i] != '\0'; i++)
			if (value[i] < 32 || value[i] > 126)
				return udb_seterr(err, errlen, -1, "%s: only "
				    "printable ASCII is allowed", key);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	return -1;
}

int
userdb_setting_format(const struct userdb_user *u, const char *key,
    struct buf *out)
{
	const struct setting	*s;
	const char		*field;

	if ((s = setting_find(key)) == NULL)
		return -1;
	field = (const char *)u + s->off;
	switch (s->type) {
	case SET_UINT:
		return buf_printf(out, "%u",
		    *(const unsigned int *)(const void *)field);
	case SET_U64:
		return buf_printf(out, "%llu", (unsigned long long)
		    *(const uint64_t *)(const void *)field);
	case SET_BOOL:
		return buf_addstr(out,
		    *(const int *)(const void *)field ? "yes" : "no");
	case SET_TAG:
		return buf_addstr(out, field);
	}
	return -1;
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
	char		 e[160];

	op_init(&op, u, err, errlen);
	if (userdb_domain_canon(domain, op.addr, sizeof(op.addr), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", domain,
		    e);
	return op_run(&op, "userdb_domain_add", tx_domain_add);
}

static int
count_in_domain(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op	*op = arg;

	(void)val;
	(void)len;
	if (strcmp(addr_domain(key), op->addr) == 0)
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
	char		 e[160];

	op_init(&op, u, err, errlen);
	if (userdb_domain_canon(domain, op.addr, sizeof(op.addr), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", domain,
		    e);
	return op_run(&op, "userdb_domain_del", tx_domain_del);
}

static int
tx_domain_exists(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	ret = db_get(op->u->domains, txn, op->addr, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no domain %s", op->addr);
	return ret;
}

int
userdb_domain_exists(struct userdb *u, const char *domain)
{
	struct udb_op	 op;
	int		 r;

	op_init(&op, u, NULL, 0);
	if (userdb_domain_canon(domain, op.addr, sizeof(op.addr), NULL,
	    0) == -1)
		return 0;
	r = op_run(&op, "userdb_domain_exists", tx_domain_exists);
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
	if (op->addr[0] != '\0' && strcmp(addr_domain(key), op->addr) != 0)
		return 0;
	op->list = xreallocarray(op->list, op->nlist + 1, sizeof(char *));
	op->list[op->nlist++] = xstrdup(key);
	return 0;
}

static int
tx_domain_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;

	userdb_list_free(op->list, op->nlist);
	op->list = NULL;
	op->nlist = 0;
	return db_foreach(op->u->domains, txn, collect_key, op);
}

int
userdb_domain_list(struct userdb *u, char ***list_r, size_t *n_r)
{
	struct udb_op	 op;
	int		 r;

	op_init(&op, u, NULL, 0);
	r = op_run(&op, "userdb_domain_list", tx_domain_list);
	if (r != UDB_OK) {
		userdb_list_free(op.list, op.nlist);
		*list_r = NULL;
		*n_r = 0;
		return r;
	}
	*list_r = op.list;
	*n_r = op.nlist;
	return UDB_OK;
}

/* Users. */

static int
tx_user_add(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	ret = db_get(op->u->domains, txn, addr_domain(op->addr), &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no domain %s (add it with "
		    "domain add)", addr_domain(op->addr));
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

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(addr, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
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
	return op_run(&op, "userdb_user_add", tx_user_add);
}

static int
collect_aliases_of(const char *key, const void *val, size_t len, void *arg)
{
	struct udb_op		*op = arg;
	struct db_rec_reader	 r;
	const void		*p, *user = NULL;
	size_t			 plen, ulen = 0;
	uint8_t			 tag;
	uint64_t		 v;
	int			 may_send = 0;

	if (db_rec_open(&r, val, len) == -1)
		return 0;
	while (db_rec_next(&r, &tag, &p, &plen) == 1) {
		if (tag == AL_USER) {
			user = p;
			ulen = plen;
		} else if (tag == AL_MAY_SEND && db_rec_int(p, plen, &v) == 0)
			may_send = v != 0;
	}
	if (user == NULL || (op->addr[0] != '\0' &&
	    (ulen != strlen(op->addr) || memcmp(user, op->addr, ulen) != 0)))
		return 0;
	op->alist = xreallocarray(op->alist, op->nlist + 1, sizeof(*op->alist));
	op->alist[op->nlist].alias = xstrdup(key);
	op->alist[op->nlist].user = xstrndup(user, ulen);
	op->alist[op->nlist].may_send = may_send;
	op->nlist++;
	return 0;
}

static void
alist_reset(struct udb_op *op)
{
	userdb_alias_list_free(op->alist, op->nlist);
	op->alist = NULL;
	op->nlist = 0;
}

static int
tx_user_del(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	size_t		 i;
	int		 ret;

	alist_reset(op);
	ret = db_del(op->u->users, txn, op->addr);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
		return ret;
	if ((ret = db_foreach(op->u->aliases, txn, collect_aliases_of,
	    op)) != 0)
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

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(addr, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	r = op_run(&op, "userdb_user_del", tx_user_del);
	alist_reset(&op);
	return r;
}

static int
tx_user_get(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	ret = user_read(op, txn, op->addr, op->user, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	return ret;
}

int
userdb_user_get(struct userdb *u, const char *addr, struct userdb_user *u_r,
    char *err, size_t errlen)
{
	struct udb_op	 op;

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(addr, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	op.user = u_r;
	return op_run(&op, "userdb_user_get", tx_user_get);
}

static int
tx_user_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	userdb_list_free(op->list, op->nlist);
	op->list = NULL;
	op->nlist = 0;
	if (op->addr[0] != '\0') {
		ret = db_get(op->u->domains, txn, op->addr, &op->val, 0);
		if (ret == DB_NOTFOUND)
			return REFUSE(op, UDB_NOTFOUND, "no domain %s",
			    op->addr);
		if (ret != 0)
			return ret;
	}
	return db_foreach(op->u->users, txn, collect_key, op);
}

int
userdb_user_list(struct userdb *u, const char *domain, char ***list_r,
    size_t *n_r, char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	op_init(&op, u, err, errlen);
	if (domain != NULL && userdb_domain_canon(domain, op.addr,
	    sizeof(op.addr), err, errlen) == -1)
		return UDB_INVALID;
	r = op_run(&op, "userdb_user_list", tx_user_list);
	if (r != UDB_OK) {
		userdb_list_free(op.list, op.nlist);
		op.list = NULL;
		op.nlist = 0;
	}
	*list_r = op.list;
	*n_r = op.nlist;
	return r;
}

static int
tx_user_set(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	char			 key[64];
	const char		*eq;
	size_t			 i;
	int			 ret;

	ret = user_read(op, txn, op->addr, &nu, 1);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
		return ret;
	for (i = 0; i < op->n; i++) {
		eq = strchr(op->assign[i], '=');
		if (eq == NULL || (size_t)(eq - op->assign[i]) >= sizeof(key))
			return REFUSE(op, UDB_INVALID, "'%s' is not "
			    "KEY=VALUE", op->assign[i]);
		memcpy(key, op->assign[i], eq - op->assign[i]);
		key[eq - op->assign[i]] = '\0';
		if (userdb_setting_apply(&nu, key, eq + 1, op->err,
		    op->errlen) == -1) {
			op->res = UDB_INVALID;
			return UDB_ABORT;
		}
	}
	return user_write(op, txn, &nu);
}

int
userdb_user_set(struct userdb *u, const char *addr, char *const *assign,
    size_t n, char *err, size_t errlen)
{
	struct udb_op	 op;

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(addr, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	op.assign = assign;
	op.n = (unsigned int)n;
	return op_run(&op, "userdb_user_set", tx_user_set);
}

static int
tx_user_lock(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	int			 ret;

	ret = user_read(op, txn, op->addr, &nu, 1);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
		return ret;
	nu.locked = op->flag;
	nu.locked_at = op->flag ? time(NULL) : 0;
	snprintf(nu.lock_reason, sizeof(nu.lock_reason), "%s",
	    op->flag ? op->str : "");
	if ((ret = user_write(op, txn, &nu)) != 0)
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

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(addr, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	op.flag = lock;
	op.str = reason != NULL ? reason : "locked by the administrator";
	return op_run(&op, lock ? "userdb_user_lock" : "userdb_user_unlock",
	    tx_user_lock);
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

/* Recipient lookup and sender identities. */

/* Reads alias op->addr2: 0 with op->addr (user) and op->flag, or error. */
static int
alias_read(struct udb_op *op, DB_TXN *txn, const char *alias, int rmw)
{
	struct db_rec_reader	 r;
	const void		*p;
	size_t			 plen;
	uint8_t			 tag;
	uint64_t		 v;
	int			 ret;

	if ((ret = db_get(op->u->aliases, txn, alias, &op->val, rmw)) != 0)
		return ret;
	op->addr2[0] = '\0';
	op->flag = 0;
	if (db_rec_open(&r, op->val.data, op->val.len) == -1 ||
	    r.version != REC_V1)
		goto bad;
	while ((ret = db_rec_next(&r, &tag, &p, &plen)) == 1) {
		if (tag == AL_USER && rec_strcpy(op->addr2, sizeof(op->addr2),
		    p, plen) == -1)
			goto bad;
		if (tag == AL_MAY_SEND && db_rec_int(p, plen, &v) == 0)
			op->flag = v != 0;
	}
	if (ret == -1 || op->addr2[0] == '\0')
		goto bad;
	return 0;
bad:
	log_warnx("userdb: alias %s: malformed record", alias);
	return EINVAL;
}

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
		lower_ascii(lower);
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

	op_init(&op, u, NULL, 0);
	if (userdb_addr_check(rcpt, USERDB_ADDR_UTF8, NULL, 0) == -1)
		return UDB_INVALID;
	if (userdb_addr_canon(rcpt, op.addr, sizeof(op.addr), NULL, 0) == -1)
		return UDB_NOTFOUND;
	r = op_run(&op, "userdb_lookup_rcpt", tx_lookup_rcpt);
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

	op_init(&op, u, NULL, 0);
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), NULL, 0) == -1 ||
	    userdb_addr_canon(from, canon, sizeof(canon), NULL, 0) == -1)
		return 0;
	if (strcmp(op.addr, canon) == 0)
		return 1;
	op.str = canon;
	if (op_run(&op, "userdb_sender_allowed", tx_sender_allowed) != UDB_OK)
		return -1;
	return op.count ? 1 : 0;
}

/* Aliases. */

static int
tx_alias_add(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	ret = db_get(op->u->domains, txn, addr_domain(op->str), &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no domain %s",
		    addr_domain(op->str));
	if (ret != 0)
		return ret;
	ret = db_get(op->u->users, txn, op->addr, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
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
 * Set up an operation on alias of user: both addresses validated and
 * canonicalised (the alias into canon, USERDB_ADDR_MAX + 1 bytes).
 */
static int
alias_op_init(struct udb_op *op, struct userdb *u, const char *user,
    const char *alias, char *canon, char *err, size_t errlen)
{
	char	 e[160];

	op_init(op, u, err, errlen);
	if (userdb_addr_canon(user, op->addr, sizeof(op->addr), e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", user, e);
	if (userdb_addr_canon(alias, canon, USERDB_ADDR_MAX + 1, e,
	    sizeof(e)) == -1)
		return udb_seterr(err, errlen, UDB_INVALID, "%s: %s", alias,
		    e);
	op->str = canon;
	return UDB_OK;
}

int
userdb_alias_add(struct userdb *u, const char *user, const char *alias,
    int may_send, char *err, size_t errlen)
{
	struct udb_op	 op;
	char		 canon[USERDB_ADDR_MAX + 1];
	int		 r;

	if ((r = alias_op_init(&op, u, user, alias, canon, err,
	    errlen)) != UDB_OK)
		return r;
	op.flag = may_send;
	return op_run(&op, "userdb_alias_add", tx_alias_add);
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
	struct udb_op	 op;
	char		 canon[USERDB_ADDR_MAX + 1];
	int		 r;

	if ((r = alias_op_init(&op, u, user, alias, canon, err,
	    errlen)) != UDB_OK)
		return r;
	return op_run(&op, "userdb_alias_del", tx_alias_del);
}

static int
tx_alias_list(DB_TXN *txn, void *arg)
{
	struct udb_op	*op = arg;
	int		 ret;

	alist_reset(op);
	if (op->addr[0] != '\0') {
		ret = db_get(op->u->users, txn, op->addr, &op->val, 0);
		if (ret == DB_NOTFOUND)
			return REFUSE(op, UDB_NOTFOUND, "no user %s",
			    op->addr);
		if (ret != 0)
			return ret;
	}
	return db_foreach(op->u->aliases, txn, collect_aliases_of, op);
}

int
userdb_alias_list(struct userdb *u, const char *user,
    struct userdb_alias **list_r, size_t *n_r, char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	op_init(&op, u, err, errlen);
	if (user != NULL && userdb_addr_canon(user, op.addr, sizeof(op.addr),
	    err, errlen) == -1)
		return UDB_INVALID;
	r = op_run(&op, "userdb_alias_list", tx_alias_list);
	if (r != UDB_OK)
		alist_reset(&op);
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

/* The send quota. */

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

static int
tx_rcpt_charge(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	struct sl_entry		*e;
	size_t			 n;
	int			 ret;

	op->count = 0;
	op->limit = 0;
	ret = user_read(op, txn, op->addr, &nu, 1);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
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
		return user_write(op, txn, &nu);	/* commit the lock */
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

	op_init(&op, u, err, errlen);
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), err,
	    errlen) == -1)
		return UDB_INVALID;
	op.n = n;
	op.now = now;
	r = op_run(&op, "userdb_rcpt_charge", tx_rcpt_charge);
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

	ret = db_get(op->u->users, txn, op->addr, &op->val, 0);
	if (ret == DB_NOTFOUND)
		return REFUSE(op, UDB_NOTFOUND, "no user %s", op->addr);
	if (ret != 0)
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

	op_init(&op, u, NULL, 0);
	*count_r = 0;
	*expires_r = 0;
	if (userdb_addr_canon(user, op.addr, sizeof(op.addr), NULL, 0) == -1)
		return UDB_INVALID;
	op.now = now;
	r = op_run(&op, "userdb_rcpt_count", tx_rcpt_count);
	if (r == UDB_OK) {
		*count_r = op.count;
		*expires_r = op.expires;
	}
	return r;
}
