/*
 * ks_key.c - key pairs, selectors, the passphrase and sealing; see
 * ks_key.h.
 *
 * Runs as root in the keystore's parent and in sealmailctl.  Every buffer
 * that held private key material or the passphrase is wiped before it is
 * freed (buf_wipe, explicit_bzero, OPENSSL_clear_free).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ks_key.h"
#include "log.h"
#include "userdb.h"
#include "xmalloc.h"

#define KS_GCM_NONCE	12
#define KS_GCM_TAG	16
#define KS_SALT_LEN	16
#define KS_KDF_MAGIC	"sealmail-keystore-kdf"

void
ks_selector_new(char out[KS_SELECTOR_LEN + 1])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t v = 0;
	uint8_t	 r[8];
	size_t	 i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("ks_selector_new: no randomness");
	for (i = 0; i < sizeof(r); i++)
		v = v << 8 | r[i];
	out[0] = 's';
	for (i = 1; i < KS_SELECTOR_LEN; i++, v >>= 5)
		out[i] = b32[v & 31];
	out[KS_SELECTOR_LEN] = '\0';
}

EVP_PKEY *
ks_key_generate(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)KS_RSA_BITS);
	case DKIM_ALG_ED25519_SHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default:
		return NULL;
	}
}

int
ks_key_pkcs8(EVP_PKEY *pk, struct buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char	*der = NULL;
	int		 len;

	if ((p8 = EVP_PKEY2PKCS8(pk)) == NULL)
		return -1;
	len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (len <= 0)
		return -1;
	(void)buf_add(out, der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);
	return 0;
}

EVP_PKEY *
ks_key_from_pkcs8(const void *der, size_t len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *p = der;
	EVP_PKEY	*pk;

	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL)
		return NULL;
	pk = p == (const unsigned char *)der + len ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);
	return pk;
}

/* "sealmail-keystore-v1" NUL selector NUL owner NUL algorithm */
static void
ks_aad(const char *selector, const char *owner, enum dkim_alg alg,
    struct buf *aad)
{
	buf_init(aad, 0);
	(void)buf_add(aad, "sealmail-keystore-v1", 21);
	(void)buf_add(aad, selector, strlen(selector) + 1);
	(void)buf_add(aad, owner, strlen(owner) + 1);
	(void)buf_addstr(aad, ks_alg_name(alg));
}

/* One AES-256-GCM pass; enc 1 seals, 0 opens (and checks the tag). */
static int
ks_gcm(int enc, const uint8_t *key, const uint8_t *nonce,
    const struct buf *aad, const uint8_t *in, size_t n, uint8_t *out,
    uint8_t *tag)
{
	EVP_CIPHER_CTX	*ctx;
	int		 len, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, KS_GCM_NONCE,
	    NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)aad->data,
	    (int)aad->len) == 1 &&
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KS_GCM_TAG,
	    tag) == 1) &&
	    EVP_CipherFinal_ex(ctx, out + len, &len) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    KS_GCM_TAG, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* out = nonce | ciphertext | tag */
int
ks_seal(const uint8_t key[KS_SEALKEY_LEN], const char *selector,
    const char *owner, enum dkim_alg alg, const void *plain, size_t n,
    struct buf *out)
{
	struct buf	 aad;
	uint8_t		*p;
	int		 r;

	if (n > 65536)
		return -1;
	p = xmalloc(KS_GCM_NONCE + n + KS_GCM_TAG);
	if (RAND_bytes(p, KS_GCM_NONCE) != 1) {
		free(p);
		return -1;
	}
	ks_aad(selector, owner, alg, &aad);
	r = ks_gcm(1, key, p, &aad, plain, n, p + KS_GCM_NONCE,
	    p + KS_GCM_NONCE + n);
	buf_free(&aad);
	if (r == 0)
		(void)buf_add(out, p, KS_GCM_NONCE + n + KS_GCM_TAG);
	free(p);
	return r;
}

int
ks_unseal(const uint8_t key[KS_SEALKEY_LEN], const char *selector,
    const char *owner, enum dkim_alg alg, const void *sealed, size_t n,
    struct buf *out)
{
	const uint8_t	*s = sealed;
	struct buf	 aad;
	uint8_t		*p, tag[KS_GCM_TAG];
	size_t		 clen;
	int		 r;

	if (n < KS_GCM_NONCE + KS_GCM_TAG)
		return -1;
	clen = n - KS_GCM_NONCE - KS_GCM_TAG;
	p = xmalloc(clen + 16);
	memcpy(tag, s + n - KS_GCM_TAG, sizeof(tag));
	ks_aad(selector, owner, alg, &aad);
	r = ks_gcm(0, key, s, &aad, s + KS_GCM_NONCE, clen, p, tag);
	buf_free(&aad);
	if (r == 0)
		(void)buf_add(out, p, clen);
	explicit_bzero(p, clen + 16);
	free(p);
	return r;
}

void
ks_b64(const void *p, size_t n, struct buf *out)
{
	unsigned char	*enc;
	int		 len;

	enc = xmalloc(4 * ((n + 2) / 3) + 1);
	len = EVP_EncodeBlock(enc, p, (int)n);
	(void)buf_add(out, enc, (size_t)len);
	free(enc);
}

static char *
ks_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
ks_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

/* Make the directories above path (0755), as db.c does for db_dir. */
static void
ks_mkparents(const char *path)
{
	char	*p, *s;

	p = xstrdup(path);
	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
	free(p);
}

/* Write a new random passphrase to path, which must not exist yet. */
static int
ks_passphrase_create(const char *path, char *err, size_t errlen)
{
	struct buf	 b;
	uint8_t		 r[32];
	int		 fd, ok;

	ks_mkparents(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		ks_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (RAND_bytes(r, sizeof(r)) != 1) {
		close(fd);
		unlink(path);
		ks_seterr(err, errlen, "%s: no randomness", path);
		return -1;
	}
	buf_init(&b, 0);
	ks_b64(r, sizeof(r), &b);
	(void)buf_addc(&b, '\n');
	explicit_bzero(r, sizeof(r));
	ok = write(fd, b.data, b.len) == (ssize_t)b.len && fsync(fd) == 0;
	buf_wipe(&b);
	if (close(fd) == -1 || !ok) {
		ks_seterr(err, errlen, "%s: writing: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

char *
ks_passphrase_read(const char *path, int create, int *created_r, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		 b[KS_PASSPHRASE_MAX + 2], *nl, *pass;
	ssize_t		 n;
	int		 fd;

	if (created_r != NULL)
		*created_r = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		if (ks_passphrase_create(path, err, errlen) == -1)
			return NULL;
		if (created_r != NULL)
			*created_r = 1;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		return ks_seterr(err, errlen, "passphrase file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ks_seterr(err, errlen, "passphrase file %s: not a "
		    "regular file", path);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return ks_seterr(err, errlen, "passphrase file %s is owned by "
		    "uid %u with mode %04o: other users could read the "
		    "keystore's passphrase; it must be root's and mode 0600 "
		    "(chown root %s; chmod 600 %s)", path,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path,
		    path);
	}
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n < 0)
		return ks_seterr(err, errlen, "passphrase file %s: %s", path,
		    strerror(errno));
	b[n] = '\0';
	if ((nl = strchr(b, '\n')) != NULL)
		*nl = '\0';
	else if (n == (ssize_t)sizeof(b) - 1)
		n = -1;
	if ((nl = strchr(b, '\r')) != NULL)
		*nl = '\0';
	if (n == -1 || strlen(b) < KS_PASSPHRASE_MIN ||
	    strlen(b) > KS_PASSPHRASE_MAX) {
		explicit_bzero(b, sizeof(b));
		return ks_seterr(err, errlen, "passphrase file %s: the first "
		    "line must hold %d to %d characters", path,
		    KS_PASSPHRASE_MIN, KS_PASSPHRASE_MAX);
	}
	pass = xstrdup(b);
	explicit_bzero(b, sizeof(b));
	return pass;
}

static void
ks_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
ks_unhex(const char *s, uint8_t *p, size_t n)
{
	unsigned int	 v;
	size_t		 i;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    strchr("0123456789abcdef", s[2 * i]) == NULL ||
		    strchr("0123456789abcdef", s[2 * i + 1]) == NULL)
			return -1;
		p[i] = (uint8_t)v;
	}
	return 0;
}

/* master = PBKDF2(pass, salt, iter); then HMAC(master, label) for the
 * sealing key, the check value and Berkeley DB's password. */
static int
ks_derive(const char *pass, const uint8_t *salt, unsigned long iter,
    uint8_t seal[KS_SEALKEY_LEN], uint8_t check[32], uint8_t dbkey[32])
{
	uint8_t		 master[32];
	unsigned int	 n = 32;
	int		 ok;

	ok = PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, KS_SALT_LEN,
	    (int)iter, EVP_sha256(), sizeof(master), master) == 1 &&
	    HMAC(EVP_sha256(), master, sizeof(master),
	    (const uint8_t *)"sealmail keystore seal", 22, seal, &n) != NULL &&
	    HMAC(EVP_sha256(), master, sizeof(master),
	    (const uint8_t *)"sealmail keystore check", 23, check, &n) !=
	    NULL &&
	    HMAC(EVP_sha256(), master, sizeof(master),
	    (const uint8_t *)"sealmail keystore bdb", 21, dbkey, &n) != NULL;
	explicit_bzero(master, sizeof(master));
	return ok ? 0 : -1;
}

static int
ks_kdf_create(const char *path, const char *pass, uint8_t *key,
    uint8_t *dbkey, char *err, size_t errlen)
{
	uint8_t		 salt[KS_SALT_LEN], check[32];
	char		 hsalt[2 * KS_SALT_LEN + 1], hcheck[65], line[256];
	int		 fd, n, ok;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    ks_derive(pass, salt, KS_KDF_ITERATIONS, key, check, dbkey) == -1) {
		ks_seterr(err, errlen, "%s: key derivation failed", path);
		return -1;
	}
	ks_hex(salt, sizeof(salt), hsalt);
	ks_hex(check, sizeof(check), hcheck);
	n = snprintf(line, sizeof(line), "%s 1 pbkdf2-sha256 %d %s %s\n",
	    KS_KDF_MAGIC, KS_KDF_ITERATIONS, hsalt, hcheck);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		ks_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	if (close(fd) == -1 || !ok) {
		ks_seterr(err, errlen, "%s: writing: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int
ks_kdf_read(const char *dir, const char *pass, int create, uint8_t *key,
    uint8_t *dbkey, char *err, size_t errlen)
{
	uint8_t		 salt[KS_SALT_LEN], check[32], want[32];
	char		 path[4096], line[512], magic[32], alg[32];
	char		 hsalt[128], hcheck[128];
	unsigned long	 iter;
	unsigned int	 version;
	FILE		*fp;
	int		 fd, same;

	snprintf(path, sizeof(path), "%s/%s", dir, KS_KDF_FILE);
	ks_mkparents(path);
	(void)mkdir(dir, 0700);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create)
		return ks_kdf_create(path, pass, key, dbkey, err, errlen);
	if (fd == -1 || (fp = fdopen(fd, "r")) == NULL) {
		ks_seterr(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "%31s %u %31s %lu %127s %127s", magic, &version, alg,
	    &iter, hsalt, hcheck) != 6 || strcmp(magic, KS_KDF_MAGIC) != 0 ||
	    version != 1 || strcmp(alg, "pbkdf2-sha256") != 0 ||
	    iter < 1000 || iter > 100000000 ||
	    ks_unhex(hsalt, salt, sizeof(salt)) == -1 ||
	    ks_unhex(hcheck, want, sizeof(want)) == -1) {
		fclose(fp);
		ks_seterr(err, errlen, "%s: not a keystore key derivation "
		    "file", path);
		return -1;
	}
	fclose(fp);
	if (ks_derive(pass, salt, iter, key, check, dbkey) == -1) {
		ks_seterr(err, errlen, "%s: key derivation failed", path);
		return -1;
	}
	same = CRYPTO_memcmp(check, want, sizeof(check)) == 0;
	explicit_bzero(check, sizeof(check));
	if (!same) {
		ks_seterr(err, errlen, "the passphrase does not open the key "
		    "database in %s (wrong passphrase file?)", dir);
		return -1;
	}
	return 0;
}

int
ks_kdf_keys(const char *dir, const char *pass, int create,
    uint8_t key[KS_SEALKEY_LEN], char dbpass[KS_DBPASS_LEN + 1], char *err,
    size_t errlen)
{
	uint8_t	 dbkey[32];
	int	 r;

	r = ks_kdf_read(dir, pass, create, key, dbkey, err, errlen);
	if (r == 0)
		ks_hex(dbkey, sizeof(dbkey), dbpass);
	else
		explicit_bzero(key, KS_SEALKEY_LEN);
	explicit_bzero(dbkey, sizeof(dbkey));
	return r;
}
