/*
 * passwd.h - the pam_userdb password file.
 *
 * Sealmail checks passwords only through PAM.  The shipped PAM service
 * uses pam_userdb with "db=<passwd_db> crypt=crypt", which reads the
 * Berkeley DB hash file "<passwd_db>.db" (outside the environment of
 * common/db): key = the login name (the user's address) and value = its
 * crypt(3) hash, both stored without a terminating NUL, because
 * pam_userdb looks the key up with strlen(user) and compares the hash
 * with the length of the stored value.
 *
 * Who calls it: sealmailctl (root).  A change rewrites the whole file
 * into "<passwd_db>.db.tmp" and renames it over the old one under an
 * exclusive lock on "<passwd_db>.lock", so a PAM module reading at the
 * same time sees either the old or the new file, never half of one.  The
 * file is mode 0600 (PAM runs in root parents).
 *
 * Hashes are yescrypt ("$y$", libcrypt's default on Debian 12) with a
 * salt from getrandom(2).  Passwords are wiped from memory after use.
 */
#ifndef SM_PASSWD_H
#define SM_PASSWD_H

#include <stddef.h>

#define PASSWD_MAX	511	/* longest password (libcrypt: 512 with NUL) */
#define PASSWD_HASH_MAX	256

/*
 * Hash password into out (at least PASSWD_HASH_MAX bytes) with a fresh
 * salt.  0 or -1 (logged).
 */
int	 passwd_hash(const char *password, char *out, size_t outlen);

/*
 * Set (add or replace) the hash of user in "<path>.db", creating the
 * file if needed.  The password must be 1..PASSWD_MAX bytes without
 * control characters other than tab.  0, or -1 with the reason in err.
 */
int	 passwd_set(const char *path, const char *user, const char *password,
	    char *err, size_t errlen);

/* Delete user from "<path>.db": 0, 1 when it was not there, -1 on error. */
int	 passwd_del(const char *path, const char *user, char *err,
	    size_t errlen);

/* 1 if user has a password in "<path>.db", 0 if not, -1 on error. */
int	 passwd_exists(const char *path, const char *user);

/*
 * Check password against the stored hash, as pam_userdb does: 1 match,
 * 0 no match or no such user, -1 on error.  For tests and diagnostics;
 * daemons authenticate through PAM.
 */
int	 passwd_check(const char *path, const char *user,
	    const char *password);

#endif
