/*
 * passwd.c - maintenance of the pam_userdb password file; see passwd.h.
 *
 * Runs in sealmailctl as root.  The file is rewritten whole and renamed
 * into place so that pam_userdb, which opens it afresh for every
 * authentication, never reads a half-written database; writers are
 * serialized by flock(2) on a separate lock file.  Programs linking this
 * file need -lcrypt.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <crypt.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"
#include "xmalloc.h"

#define PASSWD_SALT_BYTES	16
#define PASSWD_USER_MAX		320

static int
pw_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pw_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
passwd_hash(const char *password, char *out, size_t outlen)
{
	struct crypt_data	*cd;
	unsigned char		 rnd[PASSWD_SALT_BYTES];
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			 ret = -1;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_err("passwd_hash: getrandom");
		return -1;
	}
	if (crypt_gensalt_rn("$y$", 0, (const char *)rnd, sizeof(rnd), salt,
	    sizeof(salt)) == NULL) {
		log_err("passwd_hash: crypt_gensalt_rn");
		explicit_bzero(rnd, sizeof(rnd));
		return -1;
	}
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_rn(password, salt, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*')
		log_err("passwd_hash: crypt_rn");
	else if (strlen(h) >= outlen || strlen(h) >= PASSWD_HASH_MAX)
		log_warnx("passwd_hash: hash too long");
	else {
		memcpy(out, h, strlen(h) + 1);
		ret = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	explicit_bzero(rnd, sizeof(rnd));
	free(cd);
	return ret;
}

static int
pw_check_user(const char *user, char *err, size_t errlen)
{
	size_t	 i, len = strlen(user);

	if (len == 0 || len > PASSWD_USER_MAX)
		return pw_err(err, errlen, "bad login name length");
	for (i = 0; i < len; i++)
		if ((unsigned char)user[i] <= ' ' || user[i] == 0x7f)
			return pw_err(err, errlen,
			    "login name has a space or control character");
	return 0;
}

static int
pw_check_password(const char *pw, char *err, size_t errlen)
{
	size_t	 i, len = strlen(pw);

	if (len == 0)
		return pw_err(err, errlen, "empty password");
	if (len > PASSWD_MAX)
		return pw_err(err, errlen, "password longer than %d bytes",
		    PASSWD_MAX);
	for (i = 0; i < len; i++)
		if (((unsigned char)pw[i] < ' ' && pw[i] != '\t') ||
		    pw[i] == 0x7f)
			return pw_err(err, errlen,
			    "password has a control character");
	return 0;
}

static void
pw_dbt(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)(uintptr_t)p;
	d->size = (u_int32_t)len;
}

/* Open "<path>.db" read-only; 0, 1 if it does not exist, -1 on error. */
static int
pw_open_ro(const char *path, DB **dbp)
{
	DB	*db;
	char	*file;
	int	 ret;

	*dbp = NULL;
	file = xasprintf("%s.db", path);
	if (access(file, F_OK) == -1 && errno == ENOENT) {
		free(file);
		return 1;
	}
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		log_warnx("passwd: db_create: %s", db_strerror(ret));
		free(file);
		return -1;
	}
	if ((ret = db->open(db, NULL, file, NULL, DB_HASH, DB_RDONLY, 0)) !=
	    0) {
		log_warnx("passwd: %s: %s", file, db_strerror(ret));
		db->close(db, 0);
		free(file);
		return -1;
	}
	free(file);
	*dbp = db;
	return 0;
}

/* Copy every record of old except user into new; *found_r if user was. */
static int
pw_copy(DB *old, DB *new, const char *user, int *found_r)
{
	DBC	*c;
	DBT	 k, v;
	size_t	 ulen = strlen(user);
	int	 ret;

	if ((ret = old->cursor(old, NULL, &c, 0)) != 0)
		return ret;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = c->get(c, &k, &v, DB_NEXT)) == 0) {
		if (k.size == ulen && memcmp(k.data, user, ulen) == 0) {
			*found_r = 1;
			continue;
		}
		if ((ret = new->put(new, NULL, &k, &v, 0)) != 0)
			break;
	}
	c->close(c);
	return ret == DB_NOTFOUND ? 0 : ret;
}

static int
pw_fsync_path(const char *path)
{
	int	 fd, ret;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/*
 * Rewrite "<path>.db" without user, then with user -> hash unless hash
 * is NULL.  Must hold the lock.  0 or -1 with err.
 */
static int
pw_rewrite(const char *path, const char *user, const char *hash,
    int *found_r, char *err, size_t errlen)
{
	DB	*old = NULL, *new = NULL;
	DBT	 k, v;
	char	*file, *tmp, *dir, *slash;
	int	 ret, r = -1;

	*found_r = 0;
	file = xasprintf("%s.db", path);
	tmp = xasprintf("%s.db.tmp", path);
	(void)unlink(tmp);
	if (pw_open_ro(path, &old) == -1) {
		pw_err(err, errlen, "cannot read %s", file);
		goto out;
	}
	if ((ret = db_create(&new, NULL, 0)) != 0 ||
	    (ret = new->open(new, NULL, tmp, NULL, DB_HASH,
	    DB_CREATE | DB_EXCL, 0600)) != 0) {
		pw_err(err, errlen, "%s: %s", tmp, db_strerror(ret));
		goto out;
	}
	if (old != NULL && (ret = pw_copy(old, new, user, found_r)) != 0) {
		pw_err(err, errlen, "copying %s: %s", file, db_strerror(ret));
		goto out;
	}
	if (hash != NULL) {
		/* pam_userdb: key and value without a terminating NUL. */
		pw_dbt(&k, user, strlen(user));
		pw_dbt(&v, hash, strlen(hash));
		if ((ret = new->put(new, NULL, &k, &v, 0)) != 0) {
			pw_err(err, errlen, "%s: %s", tmp, db_strerror(ret));
			goto out;
		}
	}
	ret = new->close(new, 0);
	new = NULL;
	if (ret != 0) {
		pw_err(err, errlen, "%s: %s", tmp, db_strerror(ret));
		goto out;
	}
	if (chmod(tmp, 0600) == -1 || pw_fsync_path(tmp) == -1 ||
	    rename(tmp, file) == -1) {
		pw_err(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	dir = xstrdup(file);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		(void)pw_fsync_path(slash == dir ? "/" : dir);
	}
	free(dir);
	r = 0;
out:
	if (new != NULL)
		new->close(new, 0);
	if (old != NULL)
		old->close(old, 0);
	if (r == -1)
		(void)unlink(tmp);
	free(file);
	free(tmp);
	return r;
}

static int
pw_lock(const char *path, char *err, size_t errlen)
{
	char	*lock;
	int	 fd;

	lock = xasprintf("%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 || flock(fd, LOCK_EX) == -1) {
		pw_err(err, errlen, "%s: %s", lock, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(lock);
	return fd;
}

int
passwd_set(const char *path, const char *user, const char *password,
    char *err, size_t errlen)
{
	char	 hash[PASSWD_HASH_MAX];
	int	 fd, found, r;

	if (pw_check_user(user, err, errlen) == -1 ||
	    pw_check_password(password, err, errlen) == -1)
		return -1;
	if (passwd_hash(password, hash, sizeof(hash)) == -1)
		return pw_err(err, errlen, "cannot hash the password");
	if ((fd = pw_lock(path, err, errlen)) == -1) {
		explicit_bzero(hash, sizeof(hash));
		return -1;
	}
	r = pw_rewrite(path, user, hash, &found, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	close(fd);
	return r;
}

int
passwd_del(const char *path, const char *user, char *err, size_t errlen)
{
	int	 fd, found, r;

	if (pw_check_user(user, err, errlen) == -1)
		return -1;
	if ((r = passwd_exists(path, user)) != 1)
		return r == 0 ? 1 : pw_err(err, errlen, "cannot read %s.db",
		    path);
	if ((fd = pw_lock(path, err, errlen)) == -1)
		return -1;
	r = pw_rewrite(path, user, NULL, &found, err, errlen);
	close(fd);
	if (r == 0 && !found)
		r = 1;
	return r;
}

/* Fetch the stored hash of user (allocated) or NULL; *ret_r -1 on error. */
static char *
pw_fetch(const char *path, const char *user, int *ret_r)
{
	DB	*db;
	DBT	 k, v;
	char	*hash = NULL;
	int	 ret;

	*ret_r = 0;
	if ((ret = pw_open_ro(path, &db)) != 0) {
		*ret_r = ret == 1 ? 0 : -1;
		return NULL;
	}
	pw_dbt(&k, user, strlen(user));
	memset(&v, 0, sizeof(v));
	ret = db->get(db, NULL, &k, &v, 0);
	if (ret == 0)
		hash = xstrndup(v.data, v.size);
	else if (ret != DB_NOTFOUND) {
		log_warnx("passwd: %s: %s", user, db_strerror(ret));
		*ret_r = -1;
	}
	db->close(db, 0);
	return hash;
}

int
passwd_exists(const char *path, const char *user)
{
	char	*hash;
	int	 ret;

	if ((hash = pw_fetch(path, user, &ret)) == NULL)
		return ret;
	freezero_str(hash);
	return 1;
}

int
passwd_check(const char *path, const char *user, const char *password)
{
	struct crypt_data	*cd;
	const char		*h;
	char			*hash;
	size_t			 i, len;
	unsigned char		 diff = 0;
	int			 ret;

	if ((hash = pw_fetch(path, user, &ret)) == NULL)
		return ret;
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_rn(password, hash, cd, sizeof(*cd));
	len = strlen(hash);
	if (h == NULL || strlen(h) != len)
		ret = 0;
	else {
		for (i = 0; i < len; i++)
			diff |= (unsigned char)(h[i] ^ hash[i]);
		ret = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	freezero_str(hash);
	return ret;
}
