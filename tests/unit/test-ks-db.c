/*
 * test-ks-db.c - the keystore's key database (keystore/ks_db.c) and its
 * cryptography (keystore/ks_key.c): the passphrase file, keys made,
 * rotated, revoked and swept, and private keys that are never on disk in
 * the clear.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dkim.h"
#include "ks_db.h"
#include "log.h"
#include "test.h"

static char	 tmpdir[] = "/tmp/sm-test-ks-db.XXXXXX";
static struct sm_config cfg;

static void
load_cfg(const char *extra)
{
	char	 text[1024], err[256];

	snprintf(text, sizeof(text), "[global]\nprefix = %s\n"
	    "hostname = mx.example.test\n[keystore]\n%s", tmpdir, extra);
	config_free(&cfg);
	if (config_parse_mem("t.conf", text, strlen(text), &cfg, err,
	    sizeof(err)) == -1) {
		printf("config: %s\n", err);
		exit(1);
	}
}

static struct ks_db *
open_db(void)
{
	struct ks_db	*k;
	char		 err[512];

	if ((k = ks_db_open(&cfg, NULL, err, sizeof(err))) == NULL)
		printf("  ks_db_open: %s\n", err);
	return k;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
wipe_instance(void)
{
	char	 path[512];

	snprintf(path, sizeof(path), "%s/var", tmpdir);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(path, sizeof(path), "%s/etc", tmpdir);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct ks_keyrec *
find(struct ks_keyrec *l, size_t n, enum dkim_alg alg, enum ks_state st)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (l[i].alg == alg && l[i].state == st)
			return &l[i];
	return NULL;
}

static void
test_ks_first_open_makes_a_private_passphrase(void)
{
	struct ks_db	*k;
	struct stat	 st;
	int		 created = 0;
	char		 err[512];

	test_begin("ks_db: the first open makes a 0600 passphrase and the "
	    "key derivation file");
	wipe_instance();
	load_cfg("");
	k = ks_db_open(&cfg, &created, err, sizeof(err));
	test_assert(k != NULL);
	test_assert(created == 1);
	test_assert(stat(cfg.keystore_passphrase_file, &st) == 0);
	test_assert((st.st_mode & 0777) == 0600);
	test_assert(st.st_uid == geteuid());
	ks_db_close(k);
	created = 1;
	k = ks_db_open(&cfg, &created, err, sizeof(err));
	test_assert(k != NULL && created == 0);
	ks_db_close(k);
	test_end();
}

static void
test_ks_insecure_passphrase_refused(void)
{
	char	 err[512];

	test_begin("ks_db: a passphrase file others can read is refused and "
	    "the message says how to fix it");
	wipe_instance();
	load_cfg("");
	ks_db_close(open_db());
	chmod(cfg.keystore_passphrase_file, 0644);
	test_assert(ks_db_open(&cfg, NULL, err, sizeof(err)) == NULL);
	test_assert(strstr(err, "mode 0644") != NULL);
	test_assert(strstr(err, "chmod 600") != NULL);
	chmod(cfg.keystore_passphrase_file, 0640);
	test_assert(ks_db_open(&cfg, NULL, err, sizeof(err)) == NULL);
	chmod(cfg.keystore_passphrase_file, 0600);
	ks_db_close(open_db());
	test_end();
}

static void
write_file(const char *path, const char *text)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	close(fd);
}

static void
test_ks_wrong_or_missing_passphrase_refused(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l;
	char		 err[512], saved[256];
	size_t		 n;
	ssize_t		 len;
	int		 fd, made;

	test_begin("ks_db: a wrong passphrase is refused and a lost one is "
	    "not replaced; the keys survive both");
	wipe_instance();
	load_cfg("");
	k = open_db();
	test_assert(k != NULL && ks_db_ensure(k, "a@example.test", 1000,
	    &made) == 0 && made == 2);
	ks_db_close(k);
	fd = open(cfg.keystore_passphrase_file, O_RDONLY);
	len = read(fd, saved, sizeof(saved) - 1);
	close(fd);
	saved[len > 0 ? len : 0] = '\0';

	write_file(cfg.keystore_passphrase_file, "not-the-passphrase-at-all\n");
	test_assert(ks_db_open(&cfg, NULL, err, sizeof(err)) == NULL);
	test_assert(strstr(err, "does not open the key database") != NULL);

	unlink(cfg.keystore_passphrase_file);
	test_assert(ks_db_open(&cfg, NULL, err, sizeof(err)) == NULL);
	test_assert(access(cfg.keystore_passphrase_file, F_OK) == -1);

	write_file(cfg.keystore_passphrase_file, saved);
	k = open_db();
	test_assert(k != NULL);
	test_assert(k != NULL && ks_db_keys(k, "a@example.test", &l, &n) == 0 &&
	    n == 2);
	free(l);
	ks_db_close(k);
	test_end();
}

static void
test_ks_ensure_makes_one_active_key_per_algorithm(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l, *rsa, *ed;
	size_t		 n, i;
	int		 made;

	test_begin("ks_db: ensure makes one RSA-2048 and one Ed25519 key with "
	    "random selectors, once");
	wipe_instance();
	load_cfg("");
	k = open_db();
	test_assert(ks_db_ensure(k, "alice@example.test", 1000, &made) == 0);
	test_assert(made == 2);
	test_assert(ks_db_ensure(k, "alice@example.test", 1001, &made) == 0);
	test_assert(made == 0);
	test_assert(ks_db_keys(k, "alice@example.test", &l, &n) == 0 &&
	    n == 2);
	rsa = find(l, n, DKIM_ALG_RSA_SHA256, KS_ACTIVE);
	ed = find(l, n, DKIM_ALG_ED25519_SHA256, KS_ACTIVE);
	test_assert(rsa != NULL && ed != NULL);
	test_assert(rsa != NULL && rsa->bits == 2048 && rsa->created == 1000);
	test_assert(ed != NULL && ed->bits == 256 && ed->publen == 32);
	for (i = 0; i < n; i++) {
		test_assert(strlen(l[i].selector) == KS_SELECTOR_LEN);
		test_assert(l[i].selector[0] == 's');
		test_assert(ks_selector_valid(l[i].selector));
		test_assert(strstr(l[i].selector, "alice") == NULL);
	}
	test_assert(strcmp(l[0].selector, l[1].selector) != 0);
	free(l);
	test_assert(ks_db_keys(k, "nobody@example.test", &l, &n) == 0 &&
	    n == 0);
	ks_db_close(k);
	test_end();
}

/* Whether any file in dir holds the bytes p[0..n). */
static int
dir_holds(const char *dir, const void *p, size_t n)
{
	struct dirent	*de;
	struct buf	 b;
	char		 path[1024], chunk[65536];
	ssize_t		 r;
	DIR		*d;
	int		 fd, found = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		buf_init(&b, 0);
		while ((r = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&b, chunk, (size_t)r);
		close(fd);
		found = b.len >= n && memmem(b.data, b.len, p, n) != NULL;
		buf_free(&b);
	}
	closedir(d);
	return found;
}

static void
test_ks_private_keys_never_on_disk_in_clear(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l, r;
	struct buf	 sealed, der;
	EVP_PKEY	*pk;
	size_t		 n, i;
	int		 made;

	char		 pass[256];
	ssize_t		 plen;
	int		 fd;

	test_begin("ks_db: no file of the environment (database, log, "
	    "region files) holds a private key or the passphrase in the clear");
	wipe_instance();
	load_cfg("");
	k = open_db();
	fd = open(cfg.keystore_passphrase_file, O_RDONLY);
	plen = read(fd, pass, sizeof(pass));
	close(fd);
	test_assert(plen > 16);
	/* Berkeley DB keeps its password in __db.001: never ours */
	test_assert(dir_holds(cfg.keystore_db_dir, pass, 16) == 0);
	test_assert(ks_db_ensure(k, "bob@example.test", 1000, &made) == 0);
	test_assert(ks_db_keys(k, "bob@example.test", &l, &n) == 0 && n == 2);
	db_env_checkpoint(k->env);
	buf_init(&sealed, 0);
	for (i = 0; i < n; i++) {
		test_assert(ks_db_get(k, l[i].selector, &r, &sealed) == 0);
		test_assert(sealed.len > 0);
		pk = ks_db_private(k, &r, &sealed);
		test_assert(pk != NULL);
		buf_init(&der, 0);
		test_assert(pk != NULL && ks_key_pkcs8(pk, &der) == 0);
		/* the whole DER, and its last 32 bytes (private material) */
		test_assert(dir_holds(cfg.keystore_db_dir, der.data,
		    der.len) == 0);
		test_assert(der.len > 32 && dir_holds(cfg.keystore_db_dir,
		    der.data + der.len - 32, 32) == 0);
		/* the public key is no secret: the test can see it */
		test_assert(i > 0 || dir_holds(cfg.keystore_db_dir, "k:", 2)
		    == 1);
		buf_wipe(&der);
		EVP_PKEY_free(pk);
	}
	buf_free(&sealed);
	free(l);
	ks_db_close(k);
	test_end();
}

static void
test_ks_private_key_matches_public_and_signs(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l, r;
	struct dkim_key	 key;
	struct buf	 sealed, pub, rec;
	uint8_t		 dg[DKIM_DIGEST_LEN], sig[DKIM_SIGBYTES_MAX];
	size_t		 n, i, siglen;
	const char	*why;
	EVP_PKEY	*pk;
	int		 made;

	test_begin("ks_db: a stored key opens, matches its published record "
	    "and signs a digest");
	wipe_instance();
	load_cfg("");
	k = open_db();
	test_assert(ks_db_ensure(k, "example.test", 1000, &made) == 0 &&
	    made == 2);
	test_assert(ks_db_keys(k, "example.test", &l, &n) == 0 && n == 2);
	memset(dg, 7, sizeof(dg));
	buf_init(&sealed, 0);
	for (i = 0; i < n; i++) {
		test_assert(ks_db_get(k, l[i].selector, &r, &sealed) == 0);
		pk = ks_db_private(k, &r, &sealed);
		buf_init(&pub, 0);
		test_assert(pk != NULL && dkim_pkey_public(pk, &pub) == 0);
		test_assert(pub.len == r.publen &&
		    memcmp(pub.data, r.pub, pub.len) == 0);
		siglen = sizeof(sig);
		test_assert(dkim_digest_sign(pk, r.alg, dg, sig, &siglen) == 0);
		buf_init(&rec, 0);
		ks_keyrec_dns(&r, &rec);
		test_assert(dkim_key_parse(rec.data, rec.len, &key, &why) ==
		    DKIM_P_OK);
		test_assert(!key.revoked);
		dkim_key_clear(&key);
		/* sealed for another selector: does not open */
		snprintf(r.selector, sizeof(r.selector), "sother");
		test_assert(ks_db_private(k, &r, &sealed) == NULL);
		buf_free(&rec);
		buf_free(&pub);
		EVP_PKEY_free(pk);
	}
	buf_free(&sealed);
	free(l);
	ks_db_close(k);
	test_end();
}

static void
test_ks_rotate_retire_revoke_delete(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l, *old, r;
	struct buf	 sealed;
	char		 oldsel[KS_SELECTOR_MAX + 1];
	size_t		 n;
	int		 made, rev, del;

	test_begin("ks_db: rotate retires the old keys for rotate_grace, the "
	    "sweep revokes them, then deletes them after revoked_publish");
	wipe_instance();
	load_cfg("rotate_grace = 1h\nrevoked_publish = 1d\n");
	k = open_db();
	test_assert(ks_db_ensure(k, "carol@example.test", 1000, &made) == 0);
	test_assert(ks_db_keys(k, "carol@example.test", &l, &n) == 0);
	snprintf(oldsel, sizeof(oldsel), "%s",
	    find(l, n, DKIM_ALG_RSA_SHA256, KS_ACTIVE)->selector);
	free(l);
	test_assert(ks_db_rotate(k, "carol@example.test", 2000) == 0);
	test_assert(ks_db_keys(k, "carol@example.test", &l, &n) == 0 &&
	    n == 4);
	old = find(l, n, DKIM_ALG_RSA_SHA256, KS_RETIRING);
	test_assert(old != NULL && strcmp(old->selector, oldsel) == 0);
	test_assert(old != NULL && old->retire_at == 2000 + 3600);
	test_assert(find(l, n, DKIM_ALG_ED25519_SHA256, KS_RETIRING) != NULL);
	test_assert(find(l, n, DKIM_ALG_RSA_SHA256, KS_ACTIVE) != NULL);
	test_assert(strcmp(find(l, n, DKIM_ALG_RSA_SHA256,
	    KS_ACTIVE)->selector, oldsel) != 0);
	free(l);
	/* a retiring key still opens (it signs what was hashed before) */
	buf_init(&sealed, 0);
	test_assert(ks_db_get(k, oldsel, &r, &sealed) == 0 && sealed.len > 0);

	test_assert(ks_db_sweep(k, 2000 + 3599, &rev, &del) == 0);
	test_assert(rev == 0 && del == 0);
	test_assert(ks_db_sweep(k, 2000 + 3600, &rev, &del) == 0);
	test_assert(rev == 2 && del == 0);
	test_assert(ks_db_get(k, oldsel, &r, &sealed) == 0);
	test_assert(r.state == KS_REVOKED && r.revoked_at == 5600);
	test_assert(sealed.len == 0);
	test_assert(ks_db_private(k, &r, &sealed) == NULL);

	test_assert(ks_db_sweep(k, 5600 + 86400, &rev, &del) == 0);
	test_assert(rev == 0 && del == 2);
	test_assert(ks_db_get(k, oldsel, &r, &sealed) == KS_NOTFOUND);
	test_assert(ks_db_keys(k, "carol@example.test", &l, &n) == 0 &&
	    n == 2);
	test_assert(find(l, n, DKIM_ALG_RSA_SHA256, KS_ACTIVE) != NULL);
	free(l);
	buf_free(&sealed);
	ks_db_close(k);
	test_end();
}

static void
test_ks_revoke_one_or_all(void)
{
	struct ks_db	*k;
	struct ks_keyrec *l, r;
	struct buf	 sealed, rec;
	char		 sel[KS_SELECTOR_MAX + 1];
	size_t		 n, i;
	int		 made, cnt;

	test_begin("ks_db: revoke drops the private key, publishes an empty "
	    "p=, and refuses a selector of another owner");
	wipe_instance();
	load_cfg("");
	k = open_db();
	test_assert(ks_db_ensure(k, "dave@example.test", 1000, &made) == 0);
	test_assert(ks_db_ensure(k, "erin@example.test", 1000, &made) == 0);
	test_assert(ks_db_keys(k, "erin@example.test", &l, &n) == 0);
	snprintf(sel, sizeof(sel), "%s", l[0].selector);
	free(l);
	test_assert(ks_db_revoke(k, "dave@example.test", sel, 1500, &cnt) ==
	    KS_NOTFOUND);
	test_assert(ks_db_revoke(k, "erin@example.test", sel, 1500, &cnt) ==
	    0 && cnt == 1);
	test_assert(ks_db_revoke(k, "erin@example.test", sel, 1600, &cnt) ==
	    0 && cnt == 0);
	buf_init(&sealed, 0);
	test_assert(ks_db_get(k, sel, &r, &sealed) == 0);
	test_assert(r.state == KS_REVOKED && r.revoked_at == 1500 &&
	    sealed.len == 0);
	buf_init(&rec, 0);
	ks_keyrec_dns(&r, &rec);
	test_assert_str(buf_cstr(&rec), "v=DKIM1; k=rsa; p=");
	buf_free(&rec);

	test_assert(ks_db_revoke(k, "dave@example.test", NULL, 1700, &cnt) ==
	    0 && cnt == 2);
	test_assert(ks_db_keys(k, "dave@example.test", &l, &n) == 0 &&
	    n == 2);
	for (i = 0; i < n; i++)
		test_assert(l[i].state == KS_REVOKED);
	free(l);
	/* ensure replaces what is missing, leaving the revoked ones */
	test_assert(ks_db_ensure(k, "dave@example.test", 1800, &made) == 0 &&
	    made == 2);
	test_assert(ks_db_keys(k, "dave@example.test", &l, &n) == 0 &&
	    n == 4);
	free(l);
	buf_free(&sealed);
	ks_db_close(k);
	test_end();
}

static void
test_ks_owner_canon(void)
{
	char	 out[KS_OWNER_MAX + 1], err[256];

	test_begin("ks_key: owners are addresses or domains, domain "
	    "lowercased; selectors are DNS labels");
	test_assert(ks_owner_canon("Alice@Example.TEST", out, sizeof(out),
	    err, sizeof(err)) == 0);
	test_assert_str(out, "Alice@example.test");
	test_assert_str(ks_owner_domain(out), "example.test");
	test_assert(ks_owner_canon("Example.Test", out, sizeof(out), err,
	    sizeof(err)) == 0);
	test_assert_str(out, "example.test");
	test_assert_str(ks_owner_domain(out), "example.test");
	test_assert(ks_owner_canon("a b@example.test", out, sizeof(out), err,
	    sizeof(err)) == -1);
	test_assert(ks_owner_canon("exa mple.test", out, sizeof(out), err,
	    sizeof(err)) == -1);
	test_assert(ks_owner_canon("", out, sizeof(out), err,
	    sizeof(err)) == -1);
	test_assert(ks_selector_valid("sabcdefgh2345"));
	test_assert(!ks_selector_valid(""));
	test_assert(!ks_selector_valid("Sabc"));
	test_assert(!ks_selector_valid("a.b"));
	test_assert(!ks_selector_valid("-a"));
	test_assert(!ks_selector_valid("a12345678901234567890123456789012"
	    "3456789012345678901234567890123"));
	test_end();
}

static void
test_ks_forward_config(void)
{
	struct sm_config c;
	char	 err[256];
	const char *good = "[keystore]\nforward = keys.example.org:4025\n";
	const char *bad = "[keystore]\nforward = keys.example.org\n";

	test_begin("config: [keystore] forward takes host:port and the new "
	    "keystore keys have their defaults");
	test_assert(config_parse_mem("t.conf", good, strlen(good), &c, err,
	    sizeof(err)) == 0);
	test_assert_str(c.keystore_forward, "keys.example.org:4025");
	test_assert_str(c.keystore_db_dir, "/var/lib/sealmail/keys");
	test_assert_str(c.keystore_passphrase_file,
	    "/etc/sealmail/keystore.passphrase");
	test_assert(c.keystore_rotate_grace == 7 * 86400);
	test_assert(c.keystore_revoked_publish == 30 * 86400);
	config_free(&c);
	test_assert(config_parse_mem("t.conf", bad, strlen(bad), &c, err,
	    sizeof(err)) == -1);
	test_assert(strstr(err, "t.conf:2: forward: expected host:port") !=
	    NULL);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ks_owner_canon,
		test_ks_forward_config,
		test_ks_first_open_makes_a_private_passphrase,
		test_ks_insecure_passphrase_refused,
		test_ks_wrong_or_missing_passphrase_refused,
		test_ks_ensure_makes_one_active_key_per_algorithm,
		test_ks_private_keys_never_on_disk_in_clear,
		test_ks_private_key_matches_public_and_signs,
		test_ks_rotate_retire_revoke_delete,
		test_ks_revoke_one_or_all,
		NULL
	};
	int	 r;

	log_init("test-ks-db", 1, LOG_LVL_WARN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = test_run(tests);
	config_free(&cfg);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
