/*
 * db.h - the Berkeley DB 5.3 environment under [global] db_dir.
 *
 * One place decides how Sealmail uses Berkeley DB: a transactional
 * environment (locking, logging, memory pool, transactions), recovered on
 * open, with a registry of the processes that use it (DB_REGISTER) so
 * several root processes may have it open at once and the next opener
 * recovers after one of them dies.  Lock conflicts run the deadlock
 * detector (DB_LOCK_DEFAULT); a transaction that loses is retried by
 * db_txn_run().  Log files that are no longer needed are removed
 * automatically.
 *
 * Who calls it: only root processes (the privileged parents of the
 * daemons, and sealmailctl) open the environment; unprivileged children
 * ask their parent over common/ipc.  Open the environment in the process
 * that uses it, after daemon(3) and the role forks.  (If a handle does
 * cross fork(), the child's first db_txn_run() abandons it and opens its
 * own, and db_close()/db_env_close() in a child leave the parent's
 * handles alone; this costs a recovery when the parent has exited.)
 * Handles are not shared
 * between threads (no DB_THREAD): every Sealmail process is single
 * threaded.  DB_REGISTER allows one open environment handle per process:
 * open it once and give the struct db_env to every module that needs it.
 *
 * Recovery by another process: when a process dies with the environment
 * open, the next one to open it runs recovery, which leaves the handles
 * of every other running process unusable (DB_RUNRECOVERY).  db_txn_run()
 * notices that, opens the environment again and replaces each database
 * handle in the variable db_open() stored it in, then retries.  So keep a
 * DB * only where db_open() put it (a struct field, not a copy).
 *
 * Every function logs its failures (naming the function) and returns -1,
 * so callers only have to decide what a failure means for them.
 *
 * Records stored in these databases are encoded field by field with the
 * db_rec_* helpers below, never as raw structs:
 *
 *	record  = version:u8 *field
 *	field   = tag:u8 length:u32be value[length]
 *
 * Integers are stored big-endian in 1, 4 or 8 bytes (the length says
 * which); strings are stored without a terminating NUL.  A reader skips
 * tags it does not know and uses defaults for tags that are missing, so
 * fields can be added without a new version; the version byte changes
 * only when the meaning of an existing tag changes.
 *
 * Including: this header shares its name with Berkeley DB's <db.h>, which
 * it pulls in with #include_next.  Outside common/ write #include "db.h";
 * inside common/ write #include <db.h> (a quoted include from a file in
 * the same directory would bypass the search path and hide Berkeley's
 * header).  Either way you get both.
 */
#ifndef SM_DB_H
#define SM_DB_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include_next <db.h>

#include "buf.h"

struct db_env {
	DB_ENV	*env;
	char	*dir;
	pid_t	 pid;	/* the process that opened env */
	char	*passwd;	/* DB_ENCRYPT passphrase, NULL: none */
};

/* Retries of a transaction that lost a deadlock before giving up. */
#define DB_TXN_RETRIES	16

/*
 * Open (creating if needed: parents 0755, the directory 0700, files
 * 0600) and, if a user died with it open, recover the environment in
 * directory dir.  Returns NULL on failure (logged).
 */
struct db_env	*db_env_open(const char *dir);

/*
 * The same for an environment encrypted with DB_ENCRYPT_AES under
 * passphrase (kept, wiped at close, for a reopen): the log and every
 * database opened in it with db_open() are encrypted.  Berkeley DB's
 * region files (__db.*) are not: the memory pool in them holds pages in
 * the clear, so a caller with secrets seals them itself as well.  A
 * wrong passphrase is not reliably reported by Berkeley DB (it may
 * panic in recovery instead): check it before calling this.
 */
struct db_env	*db_env_open_encrypted(const char *dir,
		    const char *passphrase);

/* Checkpoint and close the environment; NULL is allowed. */
void		 db_env_close(struct db_env *);

/*
 * Write a checkpoint (and let old log files be removed).  Long-running
 * parents call this now and then, e.g. once a minute.  0 or -1.
 */
int		 db_env_checkpoint(struct db_env *);

/*
 * Open (creating if needed) the btree database "<name>.db" in the
 * environment, transactionally, and store it in *dbp, which must stay
 * valid until db_close() (the handle may be replaced there, see above).
 * flags are extra DB->set_flags() flags (0 or DB_DUP/DB_DUPSORT).  0 or
 * -1.
 */
int		 db_open(struct db_env *, const char *name, uint32_t flags,
		    DB **dbp);

/* Close a database handle opened by db_open(); NULL is allowed. */
void		 db_close(DB *);

/*
 * Run fn(txn, arg) in a transaction.  fn returns 0 to commit, or a
 * Berkeley DB error or other nonzero value to abort.  When fn (or the
 * commit) returns DB_LOCK_DEADLOCK or DB_LOCK_NOTGRANTED the transaction
 * is aborted and fn is called again, up to DB_TXN_RETRIES times, so fn
 * must not have side effects outside the database (or must reset them at
 * its start).  DB_RUNRECOVERY makes it reopen the environment once (fatal
 * if that fails) and call fn again.  Returns 0 after a commit, otherwise what fn returned (or
 * the Berkeley DB error of begin/commit, logged with what, the caller's
 * function name).  Values fn wants to hand back after a commit go
 * through arg.
 */
int		 db_txn_run(struct db_env *, const char *what,
		    int (*fn)(DB_TXN *, void *), void *arg);

/*
 * Inside a transaction: read key into *val (replacing its contents;
 * unlimited buffer).  Returns 0, DB_NOTFOUND or another Berkeley DB
 * error (DB_LOCK_DEADLOCK must be handed back to db_txn_run).  The read
 * takes a write lock (DB_RMW) when rmw is nonzero, which avoids
 * deadlocks in read-modify-write transactions.
 */
int		 db_get(DB *, DB_TXN *, const char *key, struct buf *val,
		    int rmw);

/* Inside a transaction: store val under key.  0 or a Berkeley DB error. */
int		 db_put(DB *, DB_TXN *, const char *key, const void *val,
		    size_t len);

/* Inside a transaction: store only if key is new.  DB_KEYEXIST if not. */
int		 db_put_new(DB *, DB_TXN *, const char *key, const void *val,
		    size_t len);

/* Inside a transaction: delete key.  0, DB_NOTFOUND or an error. */
int		 db_del(DB *, DB_TXN *, const char *key);

/*
 * Inside a transaction: call fn(key, val, vlen, arg) for every record in
 * key order.  Keys are NUL-terminated strings.  fn returns 0 to go on,
 * or nonzero to stop; that value is returned.  A Berkeley DB error is
 * returned as is.
 */
int		 db_foreach(DB *, DB_TXN *, int (*fn)(const char *key,
		    const void *val, size_t vlen, void *arg), void *arg);

/* Record encoding (see the comment at the top). */
void		 db_rec_begin(struct buf *, uint8_t version);
void		 db_rec_u8(struct buf *, uint8_t tag, uint8_t);
void		 db_rec_u32(struct buf *, uint8_t tag, uint32_t);
void		 db_rec_u64(struct buf *, uint8_t tag, uint64_t);
void		 db_rec_str(struct buf *, uint8_t tag, const char *);
void		 db_rec_bytes(struct buf *, uint8_t tag, const void *, size_t);

/* A reader over an encoded record. */
struct db_rec_reader {
	const unsigned char *p;
	size_t	 left;
	uint8_t	 version;
};

/*
 * Start reading; fails (-1) on an empty record.  The version is in
 * r->version for the caller to check.
 */
int		 db_rec_open(struct db_rec_reader *, const void *, size_t);

/*
 * Next field: 1 with *tag, *val and *len set, 0 at the end, -1 when the
 * record is truncated.
 */
int		 db_rec_next(struct db_rec_reader *, uint8_t *tag,
		    const void **val, size_t *len);

/* Decode an integer field of length 1, 4 or 8; -1 on another length. */
int		 db_rec_int(const void *, size_t, uint64_t *);

#endif
