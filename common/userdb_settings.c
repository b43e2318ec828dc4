/*
 * userdb_settings.c - the user record: its encoding (for users.db and for
 * IPC), the built-in defaults, and the table of the settings an
 * administrator sets with "sealmailctl user set" (userdb_user_set()).
 * Part of common/userdb (userdb.h; userdb_int.h says how the files
 * divide).  Root processes only, like the rest of userdb.
 *
 * A new per-user setting is a field in struct userdb_user, a tag in
 * userdb_int.h with its lines in the encoder and decoder, and a row in
 * settings[].
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>
#include "config.h"
#include "userdb.h"
#include "userdb_int.h"

/* The user record. */

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

int
udb_rec_strcpy(char *dst, size_t dstlen, const void *p, size_t len)
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
		return udb_rec_strcpy(u->address, sizeof(u->address), p, len);
	case U_SUBJECT_TAG:
		return udb_rec_strcpy(u->unsafe_subject_tag,
		    sizeof(u->unsafe_subject_tag), p, len);
	case U_LOCK_REASON:
		return udb_rec_strcpy(u->lock_reason, sizeof(u->lock_reason), p,
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
		if ((s->type == SET_U64 ? cfg_parse_bytes(value, s->max, &n) :
		    cfg_parse_uint(value, s->max, &n)) == -1)
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
		if (cfg_parse_bool(value, &b) == -1)
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

/* Assignments. */

static int
tx_user_set(DB_TXN *txn, void *arg)
{
	struct udb_op		*op = arg;
	struct userdb_user	 nu;
	char			 key[64];
	const char		*eq;
	size_t			 i;
	int			 ret;

	if ((ret = udb_user_need(op, txn, &nu, 1)) != 0)
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
	return udb_user_write(op, txn, &nu);
}

int
userdb_user_set(struct userdb *u, const char *addr, char *const *assign,
    size_t n, char *err, size_t errlen)
{
	struct udb_op	 op;
	int		 r;

	if ((r = udb_op_addr(&op, u, addr, err, errlen)) != UDB_OK)
		return r;
	op.assign = assign;
	op.n = (unsigned int)n;
	return udb_op_run(&op, "userdb_user_set", tx_user_set);
}
