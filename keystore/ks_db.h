/*
 * ks_db.h - the key database: every key pair of every owner (a user's
 * address, or a domain for the mail the system writes), in the keystore's
 * own transactional Berkeley DB environment [keystore] db_dir, encrypted
 * under the passphrase of [keystore] passphrase_file (see ks_key.h).
 *
 * Who calls it: the keystore's root parent (signing, the key server's
 * answers, keys made on demand, the periodic sweep) and sealmailctl (key
 * management, keys made by "user add" and "domain add"), both root, at
 * the same time: every change is one transaction, so they never see each
 * other's half-done work.
 *
 * Records of the btree "keys":
 *
 *	"k:<selector>"	one key: owner, algorithm, state, bits, created,
 *			retire_at, revoked_at, the p= bytes of its public
 *			key and the sealed PKCS#8 private key (dropped when
 *			the key is revoked)
 *	"o:<owner>"	the owner's selectors, oldest first
 *
 * A key is active (signs; one per owner and algorithm), retiring (rotated
 * out: still published, still signs what a client hashed before the
 * rotation, revoked at retire_at, [keystore] rotate_grace after the
 * rotation) or revoked (signs nothing, published as revoked for
 * [keystore] revoked_publish, then deleted).  Selectors are random and
 * unique across owners: one never reveals whose key it is.
 */
#ifndef SM_KS_DB_H
#define SM_KS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ks_key.h"

struct sm_config;

#define KS_KEYS_PER_OWNER	32	/* records, whatever their state */

enum ks_state {
	KS_ACTIVE = 1,
	KS_RETIRING,
	KS_REVOKED
};

/* Results besides 0 (done) and -1 (failed, logged). */
#define KS_NOTFOUND	1
#define KS_TOOMANY	2

struct ks_keyrec {
	char		 selector[KS_SELECTOR_MAX + 1];
	char		 owner[KS_OWNER_MAX + 1];
	enum dkim_alg	 alg;
	enum ks_state	 state;
	unsigned int	 bits;
	uint64_t	 created;
	uint64_t	 retire_at;	/* retiring: revoked then */
	uint64_t	 revoked_at;	/* revoked: since then */
	uint8_t		 pub[KS_PUB_MAX];	/* the p= bytes */
	size_t		 publen;
};

struct ks_db {
	struct db_env	*env;
	DB		*db;
	uint8_t		 sealkey[KS_SEALKEY_LEN];
	long		 rotate_grace;
	long		 revoked_publish;
};

/*
 * Open (creating it, and the passphrase file, when neither the database
 * nor the passphrase exists yet; *created_r says so) or refuse with err:
 * an insecure or missing passphrase file, a wrong passphrase, a broken
 * environment.
 */
struct ks_db	*ks_db_open(const struct sm_config *, int *, char *, size_t);
void		 ks_db_close(struct ks_db *);

/* One key by selector; sealed (may be NULL) gets its sealed private key
 * (empty when revoked).  0, KS_NOTFOUND or -1. */
int		 ks_db_get(struct ks_db *, const char *, struct ks_keyrec *,
		    struct buf *);
/*
 * Where the environment's log ends: it moves with every transaction that
 * changed anything, in any process, so a record read when it was v is
 * still what the database holds while it is v.  0, or -1 (ask the
 * database).
 */
int		 ks_db_version(struct ks_db *, uint64_t *);
/* Every key of an owner, oldest first (free() the array).  0 (n may be
 * 0) or -1. */
int		 ks_db_keys(struct ks_db *, const char *, struct ks_keyrec **,
		    size_t *);
/* Every owner with keys, sorted (userdb_list_free).  0 or -1. */
int		 ks_db_owners(struct ks_db *, char ***, size_t *);

/* Whether the keys have one active key of each algorithm we sign with. */
int		 ks_keys_complete(const struct ks_keyrec *, size_t);
/* Make what is missing of one active key per algorithm; *made_r counts
 * the new keys.  0 or -1. */
int		 ks_db_ensure(struct ks_db *, const char *, uint64_t, int *);
/* New active keys; the old active ones become retiring.  0, KS_TOOMANY
 * or -1. */
int		 ks_db_rotate(struct ks_db *, const char *, uint64_t);
/* Revoke the owner's key selector, or (NULL) every key it has; *n_r
 * counts keys that were not revoked before.  0, KS_NOTFOUND (no such key
 * of this owner) or -1. */
int		 ks_db_revoke(struct ks_db *, const char *, const char *,
		    uint64_t, int *);
/* Retiring keys past retire_at become revoked; revoked keys past
 * revoked_publish are deleted.  0 or -1; counts in the pointers. */
int		 ks_db_sweep(struct ks_db *, uint64_t, int *, int *);

/* The private key of a record read with its sealed key; NULL when it is
 * revoked or does not open.  Every intermediate buffer is wiped. */
EVP_PKEY	*ks_db_private(struct ks_db *, const struct ks_keyrec *,
		    const struct buf *);

/* A key's state at time now: a retiring key past its deadline is revoked
 * even before the sweep has rewritten it. */
enum ks_state	 ks_keyrec_state(const struct ks_keyrec *, uint64_t);

/* "v=DKIM1; k=rsa; p=..." of a key (p= empty when revoked). */
void		 ks_keyrec_dns(const struct ks_keyrec *, struct buf *);
const char	*ks_state_name(enum ks_state);

#endif
