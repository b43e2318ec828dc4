/*
 * test-passwd.c - the pam_userdb password file, checked directly and
 * through real PAM (pam_userdb.so under pam_wrapper).
 *
 * Besides the unit tests, this program is the tiny PAM client of the
 * integration tests:
 *
 *	test-passwd pam-auth SERVICE USER < password
 *
 * runs pam_authenticate and pam_acct_mgmt for USER with the password read
 * from standard input, and exits 0 on success, 1 when PAM refuses, 2 on
 * any other error.  Run it with LD_PRELOAD=libpam_wrapper.so,
 * PAM_WRAPPER=1 and PAM_WRAPPER_SERVICE_DIR=<directory holding SERVICE>.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <db.h>
#include <ftw.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"
#include "test.h"

static char	 tmpdir[] = "/tmp/sm-test-passwd.XXXXXX";
static char	 pwpath[256];
static char	 err[256];

static const char *pam_module_dirs[] = {
	"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
	"/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security",
	"/lib/security", "/usr/lib/security", "/lib64/security", NULL
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* pam-auth mode */

static int
pam_conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct pam_response	*r;
	int			 i;

	if ((r = calloc(n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(arg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int
pam_auth_main(const char *service, const char *user)
{
	struct pam_conv	 conv;
	pam_handle_t	*ph;
	char		 pw[PASSWD_MAX + 2];
	int		 ret;

	if (fgets(pw, sizeof(pw), stdin) == NULL)
		return 2;
	pw[strcspn(pw, "\r\n")] = '\0';
	conv.conv = pam_conv_fn;
	conv.appdata_ptr = pw;
	if (pam_start(service, user, &conv, &ph) != PAM_SUCCESS)
		return 2;
	ret = pam_authenticate(ph, 0);
	if (ret == PAM_SUCCESS)
		ret = pam_acct_mgmt(ph, 0);
	if (ret != PAM_SUCCESS)
		fprintf(stderr, "pam: %s\n", pam_strerror(ph, ret));
	pam_end(ph, ret);
	explicit_bzero(pw, sizeof(pw));
	return ret == PAM_SUCCESS ? 0 :
	    ret == PAM_AUTH_ERR || ret == PAM_USER_UNKNOWN ? 1 : 2;
}

/* unit tests */

static void
test_hash_format(void)
{
	char	 h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];

	test_begin("hash: yescrypt with a fresh salt each time");
	test_assert(passwd_hash("secret", h1, sizeof(h1)) == 0);
	test_assert(passwd_hash("secret", h2, sizeof(h2)) == 0);
	test_assert(strncmp(h1, "$y$", 3) == 0);
	test_assert(strcmp(h1, h2) != 0);
	test_assert(passwd_hash("secret", h1, 10) == -1);
	test_end();
}

static void
test_set_check_del(void)
{
	struct stat	 st;
	char		 file[300];

	test_begin("file: set, replace, check, delete; others are kept");
	snprintf(file, sizeof(file), "%s.db", pwpath);
	test_assert(passwd_exists(pwpath, "alice@example.test") == 0);
	test_assert(passwd_del(pwpath, "alice@example.test", err,
	    sizeof(err)) == 1);
	test_assert(passwd_set(pwpath, "alice@example.test", "pw-one", err,
	    sizeof(err)) == 0);
	test_assert(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(passwd_set(pwpath, "bob@example.test", "pw-bob", err,
	    sizeof(err)) == 0);
	test_assert(passwd_check(pwpath, "alice@example.test", "pw-one") == 1);
	test_assert(passwd_check(pwpath, "alice@example.test", "pw-two") == 0);
	test_assert(passwd_check(pwpath, "carol@example.test", "pw-one") == 0);
	test_assert(passwd_set(pwpath, "alice@example.test", "pw-two", err,
	    sizeof(err)) == 0);
	test_assert(passwd_check(pwpath, "alice@example.test", "pw-one") == 0);
	test_assert(passwd_check(pwpath, "alice@example.test", "pw-two") == 1);
	test_assert(passwd_check(pwpath, "bob@example.test", "pw-bob") == 1);
	test_assert(passwd_del(pwpath, "alice@example.test", err,
	    sizeof(err)) == 0);
	test_assert(passwd_exists(pwpath, "alice@example.test") == 0);
	test_assert(passwd_exists(pwpath, "bob@example.test") == 1);
	test_assert(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_end();
}

static void
test_refusals(void)
{
	static const struct {
		const char	*user, *pw;
	} cases[] = {
		{ "", "x" },
		{ "a b@example.test", "x" },
		{ "a\n@example.test", "x" },
		{ "alice@example.test", "" },
		{ "alice@example.test", "line\nbreak" },
		{ "alice@example.test", "nul\001" },
	};
	char	 longpw[PASSWD_MAX + 2];
	size_t	 i;

	test_begin("file: bad login names and passwords change nothing");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		test_assert(passwd_set(pwpath, cases[i].user, cases[i].pw, err,
		    sizeof(err)) == -1);
		test_assert(err[0] != '\0');
	}
	memset(longpw, 'x', PASSWD_MAX + 1);
	longpw[PASSWD_MAX + 1] = '\0';
	test_assert(passwd_set(pwpath, "alice@example.test", longpw, err,
	    sizeof(err)) == -1);
	longpw[PASSWD_MAX] = '\0';
	test_assert(passwd_set(pwpath, "long@example.test", longpw, err,
	    sizeof(err)) == 0);
	test_assert(passwd_check(pwpath, "long@example.test", longpw) == 1);
	test_assert(passwd_exists(pwpath, "alice@example.test") == 0);
	test_end();
}

static void
test_layout_for_pam_userdb(void)
{
	DB	*db;
	DBT	 k, v;
	DBTYPE	 type;
	char	 file[300];
	int	 nrec = 0, ok = 1;
	DBC	*c;

	test_begin("file: DB_HASH, keys and values without a NUL");
	snprintf(file, sizeof(file), "%s.db", pwpath);
	test_assert(db_create(&db, NULL, 0) == 0);
	test_assert(db->open(db, NULL, file, NULL, DB_UNKNOWN, DB_RDONLY,
	    0) == 0);
	test_assert(db->get_type(db, &type) == 0 && type == DB_HASH);
	test_assert(db->cursor(db, NULL, &c, 0) == 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while (c->get(c, &k, &v, DB_NEXT) == 0) {
		nrec++;
		if (memchr(k.data, '\0', k.size) != NULL ||
		    memchr(v.data, '\0', v.size) != NULL ||
		    v.size < 13 || memcmp(v.data, "$y$", 3) != 0)
			ok = 0;
	}
	c->close(c);
	db->close(db, 0);
	test_assert(ok && nrec == 2);
	test_end();
}

static const char *
find_pam_module(const char *name)
{
	static char	 path[256];
	size_t		 i;

	for (i = 0; pam_module_dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", pam_module_dirs[i], name);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

static int
have_pam_wrapper(void)
{
	static const char *dirs[] = { "/usr/lib/x86_64-linux-gnu",
	    "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", NULL };
	char	 path[256];
	size_t	 i;

	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/libpam_wrapper.so", dirs[i]);
		if (access(path, R_OK) == 0)
			return 1;
	}
	return 0;
}

/* Run ourselves in pam-auth mode under pam_wrapper; its exit code. */
static int
run_pam(const char *svcdir, const char *user, const char *password)
{
	const char	*asan;
	char		 opts[512];
	int		 fds[2], st;
	pid_t		 pid;

	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		/*
		 * Under ASan: the preloaded pam_wrapper comes first, and it
		 * must not dlopen libpam with RTLD_DEEPBIND (pam_wrapper
		 * 1.1.4 reads that switch under uid_wrapper's name).
		 */
		asan = getenv("ASAN_OPTIONS");
		snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
		    asan != NULL ? asan : "", asan != NULL ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
		setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1);
		setenv("LD_PRELOAD", "libpam_wrapper.so", 1);
		setenv("PAM_WRAPPER", "1", 1);
		setenv("PAM_WRAPPER_SERVICE_DIR", svcdir, 1);
		execl("/proc/self/exe", "test-passwd", "pam-auth",
		    "sealmail-test", user, (char *)NULL);
		_exit(3);
	}
	close(fds[0]);
	(void)!write(fds[1], password, strlen(password));
	(void)!write(fds[1], "\n", 1);
	close(fds[1]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_real_pam_userdb(void)
{
	const char	*mod;
	char		 svcdir[300], svc[400];
	FILE		*f;

	test_begin("pam: pam_userdb crypt=crypt accepts our file");
	mod = find_pam_module("pam_userdb.so");
	if (mod == NULL || !have_pam_wrapper()) {
		printf("  skipped: pam_userdb.so or libpam_wrapper.so missing "
		    "(apt-get install libpam-modules libpam-wrapper)\n");
		test_end();
		return;
	}
	snprintf(svcdir, sizeof(svcdir), "%s/pam.d", tmpdir);
	test_assert(mkdir(svcdir, 0700) == 0);
	snprintf(svc, sizeof(svc), "%s/sealmail-test", svcdir);
	test_assert((f = fopen(svc, "w")) != NULL);
	if (f == NULL) {
		test_end();
		return;
	}
	fprintf(f, "auth required %s db=%s crypt=crypt\n", mod, pwpath);
	fprintf(f, "account required %s db=%s crypt=crypt\n", mod, pwpath);
	fclose(f);
	snprintf(svc, sizeof(svc), "%s/other", svcdir);
	if ((f = fopen(svc, "w")) != NULL) {
		fprintf(f, "auth required pam_deny.so\n");
		fclose(f);
	}
	test_assert(passwd_set(pwpath, "pam@example.test", "correct horse",
	    err, sizeof(err)) == 0);
	test_assert(run_pam(svcdir, "pam@example.test", "correct horse") == 0);
	test_assert(run_pam(svcdir, "pam@example.test", "wrong horse") == 1);
	test_assert(run_pam(svcdir, "pam@example.test", "correct hors") == 1);
	test_assert(run_pam(svcdir, "nobody@example.test",
	    "correct horse") == 1);
	test_assert(run_pam(svcdir, "bob@example.test", "pw-bob") == 0);
	test_assert(passwd_del(pwpath, "pam@example.test", err,
	    sizeof(err)) == 0);
	test_assert(run_pam(svcdir, "pam@example.test", "correct horse") == 1);
	test_end();
}

int
main(int argc, char *argv[])
{
	static void (*const tests[])(void) = {
		test_hash_format,
		test_set_check_del,
		test_refusals,
		test_layout_for_pam_userdb,
		test_real_pam_userdb,
		NULL
	};
	int	 r;

	if (argc == 4 && strcmp(argv[1], "pam-auth") == 0)
		return pam_auth_main(argv[2], argv[3]);
	log_init("test-passwd", 1, LOG_LVL_ERR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(pwpath, sizeof(pwpath), "%s/passwd", tmpdir);
	r = test_run(tests);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
