/*
 * ks_key.h - the keystore's cryptography: key pairs, selectors, the
 * passphrase file, and the sealing of private keys at rest.
 *
 * Used by the keystore's root parent and by sealmailctl (both root);
 * never linked into a process that parses network input.  Nothing here
 * touches the database: ks_db.c stores what these functions make.
 *
 * At rest a private key is protected twice, by two keys derived from the
 * passphrase (PBKDF2-HMAC-SHA256 with the salt and iteration count of
 * <db_dir>/keystore.kdf, then HMAC-SHA256 with a label for each): the
 * database and its log are encrypted by Berkeley DB (DB_ENCRYPT, AES)
 * under one, and the key itself (PKCS#8 DER) is sealed with AES-256-GCM
 * under the other.  The second layer is the one that counts: Berkeley DB
 * keeps its page cache, and its own password, in the clear in the region
 * files (__db.*) of the environment directory while it is in use.  The
 * GCM additional data binds a sealed key to its selector, owner and
 * algorithm, so a sealed blob moved to another record does not open.
 */
#ifndef SM_KS_KEY_H
#define SM_KS_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkim.h"
#include "ks_req.h"

#define KS_SEALKEY_LEN		32	/* AES-256 */
#define KS_PASSPHRASE_MIN	16
#define KS_PASSPHRASE_MAX	1024
#define KS_KDF_ITERATIONS	100000
#define KS_KDF_FILE		"keystore.kdf"
#define KS_RSA_BITS		2048
#define KS_PUB_MAX		1100	/* p= bytes: RSA SPKI up to 8192 */

/* A new random selector, "s" + 12 base32 (60 bits). */
void	 ks_selector_new(char [KS_SELECTOR_LEN + 1]);

/* A new key pair of the algorithm (RSA: KS_RSA_BITS). NULL on failure. */
EVP_PKEY *ks_key_generate(enum dkim_alg);
/* PKCS#8 DER of the private key, into a buffer the caller wipes. */
int	 ks_key_pkcs8(EVP_PKEY *, struct buf *);
EVP_PKEY *ks_key_from_pkcs8(const void *, size_t);

/* Seal or open a private key for (selector, owner, alg).  0 or -1. */
int	 ks_seal(const uint8_t [KS_SEALKEY_LEN], const char *, const char *,
	    enum dkim_alg, const void *, size_t, struct buf *);
int	 ks_unseal(const uint8_t [KS_SEALKEY_LEN], const char *, const char *,
	    enum dkim_alg, const void *, size_t, struct buf *);

/*
 * The passphrase: the first line of path, which must be a regular file of
 * our uid that no other user may read or write (mode 0600 or stricter).
 * When it does not exist and create is set, a random one is written
 * (mode 0600, its directory made 0755 if missing) and *created_r set.
 * Returns a string for freezero_str(), or NULL with err.
 */
char	*ks_passphrase_read(const char *, int, int *, char *, size_t);

/*
 * The keys derived from passphrase with <dir>/keystore.kdf (the salt, the
 * iteration count and a check value; with create set, a missing file is
 * made): the sealing key of private keys, and the password Berkeley DB
 * encrypts the database and its log with (64 hex digits).  They are
 * independent: Berkeley DB keeps its password in the clear in its region
 * file __db.001 while the environment is in use, which must not give
 * away the sealing key.  A passphrase that does not match the check is
 * refused here, before Berkeley DB ever runs.  0 or -1 with err.
 */
#define KS_DBPASS_LEN	64
int	 ks_kdf_keys(const char *, const char *, int, uint8_t [KS_SEALKEY_LEN],
	    char [KS_DBPASS_LEN + 1], char *, size_t);

/* Base64 (RFC 4648, padded) of n bytes, appended. */
void	 ks_b64(const void *, size_t, struct buf *);

#endif
