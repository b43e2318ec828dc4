/*
 * userdb_int.h - what the userdb*.c files share and no caller needs: the
 * handle, the record tags, and the operation that carries one change
 * through a common/db transaction.  The interface is userdb.h.
 *
 *	userdb.c		errors, addresses, opening, domains, users
 *	userdb_settings.c	the user record and its settings table
 *	userdb_alias.c		recipient lookup, sender identities, aliases
 *	userdb_sendlog.c	the send quota
 *	trace.c			the submission trace (trace.h)
 */
#ifndef SM_USERDB_INT_H
#define SM_USERDB_INT_H

#include <stddef.h>
#include <time.h>

#include <db.h>
#include "buf.h"
#include "db.h"
#include "userdb.h"

struct trace_rec;

struct userdb {
	struct db_env	*env;
	DB		*domains;
	DB		*users;
	DB		*aliases;
	DB		*sendlog;
	DB		*trace;		/* common/trace.h */
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

/* One change or query: its arguments in, its results out. */
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
	const struct trace_rec	*trace;	/* common/trace.c */
	struct trace_rec	*trace_r;
	time_t			 cutoff;
	size_t			 purge_max, purged;
};

/* Write a message into err (if any) and return code. */
int	 udb_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#define REFUSE(op, code, ...)						\
	((op)->res = (code),						\
	 udb_seterr((op)->err, (op)->errlen, UDB_ABORT, __VA_ARGS__))

void	 udb_op_init(struct udb_op *, struct userdb *, char *err,
	    size_t errlen);
/* udb_op_init() with addr canonicalised into op->addr: UDB_OK/INVALID. */
int	 udb_op_addr(struct udb_op *, struct userdb *, const char *addr,
	    char *err, size_t errlen);
/* Run fn in one transaction: op->res, or UDB_ERROR on a DB failure. */
int	 udb_op_run(struct udb_op *, const char *what,
	    int (*fn)(DB_TXN *, void *));

/* 0 if key is in db, else a refusal "no <what> <key>" or a DB error. */
int	 udb_need(struct udb_op *, DB_TXN *, DB *, const char *what,
	    const char *key);
/* Read user op->addr into u (refused when absent): 0 or an error. */
int	 udb_user_need(struct udb_op *, DB_TXN *, struct userdb_user *,
	    int rmw);
int	 udb_user_write(struct udb_op *, DB_TXN *, const struct userdb_user *);

/* Copy a record string field (no NUL inside) into dst: 0 or -1. */
int	 udb_rec_strcpy(char *dst, size_t dstlen, const void *, size_t);
/* The domain part of a canonical address ("" without '@'). */
const char *udb_addr_domain(const char *);
void	 udb_lower_ascii(char *);

/* The send quota's transaction (userdb_sendlog.c), for trace_charge(). */
int	 udb_rcpt_charge_tx(DB_TXN *, void *);

/* Append the aliases of op->addr (of all when empty) to op->alist. */
int	 udb_alias_collect(DB_TXN *, struct udb_op *);
void	 udb_alias_reset(struct udb_op *);

#endif
