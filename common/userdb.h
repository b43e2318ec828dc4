/*
 * userdb.h - domains, users, per-user settings, aliases and the send
 * quota, kept in the Berkeley DB environment of common/db.
 *
 * Who calls it: root processes only (the privileged parents of submitd,
 * smtpd, mda and imapd, and sealmailctl), because only they open the
 * environment.  An unprivileged child asks its parent over common/ipc; a
 * user record crosses the socket encoded with userdb_user_encode(), never
 * as a raw struct.
 *
 * Addresses: a user is "local@domain".  The domain is lowercased; the
 * local part is kept as given, and userdb_lookup_rcpt() falls back to the
 * lowercased local part when the exact one is unknown.  Addresses of
 * users and aliases must pass userdb_addr_check(..., USERDB_ADDR_LOCAL),
 * which is common/addr's local user rule (addr.h): an ASCII RFC 5321
 * dot-string local part without '/' (it becomes a directory name), a
 * domain name in ASCII (no address literal), local part <= 64, domain
 * <= 255, address <= 254 octets.
 *
 * Databases in the environment (btree, one file each; every value is a
 * versioned field-by-field record, see db.h):
 *	domains.db	domain -> { created }
 *	users.db	address -> user record (struct userdb_user)
 *	aliases.db	alias address -> { user address, may_send }
 *	sendlog.db	user address -> recipients sent in the last 24 hours:
 *			(time of the last send, count) entries, sends less
 *			than a minute apart sharing one; an entry counts
 *			until 24 hours after its time (so never too little)
 *			and is pruned on the next charge after that
 *	trace.db	one record per submitted message, written with
 *			its charge (common/trace.h)
 *
 * Results: functions that can be refused return an enum userdb_result and
 * write a one-line human explanation into err (err may be NULL).  UDB_ERROR
 * means the database itself failed; that is logged too.
 */
#ifndef SM_USERDB_H
#define SM_USERDB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include <db.h>

#define USERDB_LOCAL_MAX	ADDR_LOCAL_MAX
#define USERDB_DOMAIN_MAX	ADDR_DOMAIN_MAX
#define USERDB_ADDR_MAX		ADDR_MAX
#define USERDB_TAG_MAX		64	/* unsafe_subject_tag */
#define USERDB_REASON_MAX	200	/* lock reason */
#define USERDB_WINDOW		(24 * 60 * 60)	/* send quota window */

/* Built-in defaults of the per-user settings. */
#define USERDB_DEF_MAX_RCPT_PER_MSG	50
#define USERDB_DEF_MAX_RCPT_PER_DAY	300

enum userdb_result {
	UDB_OK = 0,
	UDB_INVALID,	/* malformed address, key or value */
	UDB_NOTFOUND,	/* no such domain, user or alias */
	UDB_EXISTS,	/* already there */
	UDB_REFUSED,	/* e.g. domain not empty, quota exceeded */
	UDB_LOCKED,	/* the account is locked */
	UDB_ERROR	/* the database failed (logged) */
};

/* Flags of userdb_addr_check(): those of addr_check(). */
#define USERDB_ADDR_LOCAL	ADDR_LOCAL	/* a user/alias of ours */
#define USERDB_ADDR_UTF8	ADDR_UTF8	/* allow UTF-8 (SMTPUTF8) */

struct userdb_user {
	char		 address[USERDB_ADDR_MAX + 1];
	time_t		 created;
	/* settings (keys of userdb_user_set()) */
	unsigned int	 max_rcpt_per_msg;
	unsigned int	 max_rcpt_per_day;
	int		 privileged;
	int		 unsafe_mailbox;
	int		 strip_attachments;
	int		 strip_html;
	char		 unsafe_subject_tag[USERDB_TAG_MAX + 1];
	uint64_t	 quota_bytes;	/* 0: no quota */
	/* lock state */
	int		 locked;
	time_t		 locked_at;
	char		 lock_reason[USERDB_REASON_MAX + 1];
};

struct userdb_alias {
	char	*alias;
	char	*user;
	int	 may_send;	/* the user may send as the alias */
};

struct userdb;

/* Name of a result ("ok", "invalid", "not found", ...). */
const char	*userdb_strerror(int);

/*
 * Validate addr (no angle brackets): addr_check().  Returns 0, or -1
 * with the reason in err ("local part is longer than 64 octets", ...).
 */
int		 userdb_addr_check(const char *addr, int flags, char *err,
		    size_t errlen);

/*
 * Validate addr as a local user/alias address and write its canonical
 * form (domain lowercased) into out (at least USERDB_ADDR_MAX + 1
 * bytes).  0 or -1 with err.
 */
int		 userdb_addr_canon(const char *addr, char *out, size_t outlen,
		    char *err, size_t errlen);

/* Validate a domain name and lowercase it into out.  0 or -1 with err. */
int		 userdb_domain_canon(const char *domain, char *out,
		    size_t outlen, char *err, size_t errlen);

/*
 * "<mail_root>/<domain>/<local>/Maildir" for a canonical address
 * (allocated), or NULL if addr is not a valid local address.
 */
char		*userdb_maildir(const char *mail_root, const char *addr);

/*
 * Open the user databases in an open environment (which must outlive the
 * userdb handle).  NULL on failure (logged).
 */
struct userdb	*userdb_open(struct db_env *);
void		 userdb_close(struct userdb *);

/* Domains. */
int		 userdb_domain_add(struct userdb *, const char *domain,
		    char *err, size_t errlen);
/* Refused (UDB_REFUSED) while users or aliases of the domain exist. */
int		 userdb_domain_del(struct userdb *, const char *domain,
		    char *err, size_t errlen);
/* 1 if the domain is ours, 0 if not, -1 on error. */
int		 userdb_domain_exists(struct userdb *, const char *domain);
/* All domains, sorted; free with userdb_list_free().  UDB_OK/UDB_ERROR. */
int		 userdb_domain_list(struct userdb *, char ***list_r,
		    size_t *n_r);
void		 userdb_list_free(char **, size_t);

/* Built-in defaults (USERDB_DEF_*, yes/no as documented); address empty. */
void		 userdb_user_defaults(struct userdb_user *);

/*
 * Add a user in an existing domain with the settings of tmpl (its
 * address, created and lock fields are ignored), or the built-in defaults
 * when tmpl is NULL.  UDB_INVALID, UDB_NOTFOUND (domain), UDB_EXISTS
 * (user or alias with that address).
 */
int		 userdb_user_add(struct userdb *, const char *addr,
		    const struct userdb_user *tmpl, char *err, size_t errlen);

/* Delete a user with its aliases and send counters.  UDB_NOTFOUND. */
int		 userdb_user_del(struct userdb *, const char *addr, char *err,
		    size_t errlen);

/* Read a user (exact canonical address).  UDB_NOTFOUND. */
int		 userdb_user_get(struct userdb *, const char *addr,
		    struct userdb_user *u_r, char *err, size_t errlen);

/* Users (of one domain, or all when domain is NULL), sorted. */
int		 userdb_user_list(struct userdb *, const char *domain,
		    char ***list_r, size_t *n_r, char *err, size_t errlen);

/*
 * Apply "key=value" assignments (settings keys only) atomically: either
 * all are valid and stored, or nothing changes (UDB_INVALID with err).
 */
int		 userdb_user_set(struct userdb *, const char *addr,
		    char *const *assign, size_t n, char *err, size_t errlen);

/*
 * Apply one setting to a struct without touching the database: used by
 * userdb_user_set() and by callers that build a template.  0 or -1 with
 * err (unknown key, bad value).
 */
int		 userdb_setting_apply(struct userdb_user *, const char *key,
		    const char *value, char *err, size_t errlen);

/* The setting keys in display order, NULL-terminated. */
const char *const *userdb_setting_keys(void);

/* Format one setting's value ("yes", "50", ...) into out.  0 or -1. */
int		 userdb_setting_format(const struct userdb_user *,
		    const char *key, struct buf *out);

/* Lock an account with a reason (e.g. by an administrator). */
int		 userdb_user_lock(struct userdb *, const char *addr,
		    const char *reason, char *err, size_t errlen);

/* Unlock an account and clear its send counters.  UDB_NOTFOUND. */
int		 userdb_user_unlock(struct userdb *, const char *addr,
		    char *err, size_t errlen);

/*
 * Find the user a recipient address delivers to: a user address or an
 * alias.  Writes the canonical user address into user_r (at least
 * USERDB_ADDR_MAX + 1 bytes).  UDB_OK, UDB_NOTFOUND (unknown, or a
 * domain that is not ours), UDB_INVALID (malformed).
 */
int		 userdb_lookup_rcpt(struct userdb *, const char *rcpt,
		    char *user_r, size_t len);

/*
 * May user send with envelope/header sender `from`?  1 when from is the
 * user's own address or an alias granted with may_send, 0 if not, -1 on
 * error.
 */
int		 userdb_sender_allowed(struct userdb *, const char *user,
		    const char *from);

/*
 * Aliases.  alias must be a new address in one of our domains (not a user,
 * not another alias); user must exist.  may_send grants the alias as a
 * sender identity of the user.
 */
int		 userdb_alias_add(struct userdb *, const char *user,
		    const char *alias, int may_send, char *err, size_t errlen);
/* Delete alias of user; UDB_NOTFOUND if it is not that user's alias. */
int		 userdb_alias_del(struct userdb *, const char *user,
		    const char *alias, char *err, size_t errlen);
/* The aliases of user (of everybody when user is NULL), sorted. */
int		 userdb_alias_list(struct userdb *, const char *user,
		    struct userdb_alias **list_r, size_t *n_r, char *err,
		    size_t errlen);
void		 userdb_alias_list_free(struct userdb_alias *, size_t);

/*
 * The send quota.  Atomically (one transaction, safe against concurrent
 * sessions in other processes): if the user is locked, UDB_LOCKED and
 * nothing is recorded; if the recipients of the last USERDB_WINDOW
 * seconds before now plus n stay within max_rcpt_per_day, record n at
 * now and return UDB_OK; otherwise record nothing, lock the account
 * (reason "daily recipient limit exceeded") and return UDB_REFUSED -- the
 * caller then refuses the message and notifies the postmaster.  *used_r
 * (may be NULL) gets the count in the window before this call, *limit_r
 * (may be NULL) the user's max_rcpt_per_day.  Old entries are pruned.
 */
int		 userdb_rcpt_charge(struct userdb *, const char *user,
		    unsigned int n, time_t now, unsigned int *used_r,
		    unsigned int *limit_r, char *err, size_t errlen);

/*
 * Recipients recorded for user in the window ending at now, and the
 * time the oldest of them leaves the window (0 if none).  UDB_NOTFOUND.
 */
int		 userdb_rcpt_count(struct userdb *, const char *user,
		    time_t now, unsigned int *count_r, time_t *expires_r);

/*
 * The user record encoding (version 1, field by field, see db.h), for
 * storage and for IPC.  decode: 0, or -1 on a malformed record; fields
 * that are missing keep the built-in defaults.
 */
void		 userdb_user_encode(const struct userdb_user *, struct buf *);
int		 userdb_user_decode(const void *, size_t, struct userdb_user *);

#endif
