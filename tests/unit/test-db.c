/*
 * test-db.c - the Berkeley DB environment helper and the record encoding.
 */
#include <sys/wait.h>

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "test.h"

static char	 tmpdir[] = "/tmp/sm-test-db.XXXXXX";

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static char *
envdir(const char *name)
{
	static char	 path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

struct kv {
	DB		**db;	/* where db_open put it: it may be reopened */
	const char	*key;
	const char	*val;
	struct buf	*out;
	int		 calls;
	int		 fail_first;
};

static int
tx_put(DB_TXN *txn, void *arg)
{
	struct kv	*kv = arg;

	kv->calls++;
	if (kv->fail_first && kv->calls == 1)
		return DB_LOCK_DEADLOCK;
	return db_put(*kv->db, txn, kv->key, kv->val, strlen(kv->val));
}

static int
tx_put_then_fail(DB_TXN *txn, void *arg)
{
	int	 ret;

	if ((ret = tx_put(txn, arg)) != 0)
		return ret;
	return 12345;
}

static int
tx_get(DB_TXN *txn, void *arg)
{
	struct kv	*kv = arg;

	return db_get(*kv->db, txn, kv->key, kv->out, 0);
}

static int
get_str(struct db_env *e, DB **db, const char *key, struct buf *out)
{
	struct kv	 kv = { db, key, NULL, out, 0, 0 };

	return db_txn_run(e, "get_str", tx_get, &kv);
}

static int
put_str(struct db_env *e, DB **db, const char *key, const char *val)
{
	struct kv	 kv = { db, key, val, NULL, 0, 0 };

	return db_txn_run(e, "put_str", tx_put, &kv);
}

static void
test_env_open_creates_and_persists(void)
{
	struct db_env	*e;
	DB		*db;
	struct buf	 b;

	test_begin("env: open creates the directory, data survives a reopen");
	buf_init(&b, 0);
	e = db_env_open(envdir("persist"));
	test_assert(e != NULL);
	test_assert(db_open(e, "things", 0, &db) == 0);
	test_assert(put_str(e, &db, "k1", "v1") == 0);
	db_close(db);
	db_env_close(e);

	e = db_env_open(envdir("persist"));
	test_assert(e != NULL);
	test_assert(db_open(e, "things", 0, &db) == 0);
	test_assert(get_str(e, &db, "k1", &b) == 0);
	test_assert_str(buf_cstr(&b), "v1");
	test_assert(get_str(e, &db, "nope", &b) == DB_NOTFOUND);
	test_assert(access(envdir("persist/things.db"), F_OK) == 0);
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	test_end();
}

static void
test_txn_abort_and_retry(void)
{
	struct db_env	*e;
	DB		*db;
	struct buf	 b;
	struct kv	 kv = { NULL, "a", "1", NULL, 0, 1 };

	test_begin("txn: deadlock is retried, other failures abort");
	buf_init(&b, 0);
	e = db_env_open(envdir("txn"));
	test_assert(e != NULL && db_open(e, "t", 0, &db) == 0);
	kv.db = &db;
	test_assert(db_txn_run(e, "test", tx_put, &kv) == 0);
	test_assert(kv.calls == 2);
	test_assert(get_str(e, &db, "a", &b) == 0);
	test_assert_str(buf_cstr(&b), "1");

	kv.key = "b";
	kv.calls = 0;
	kv.fail_first = 0;
	test_assert(db_txn_run(e, "test", tx_put_then_fail, &kv) == 12345);
	test_assert(get_str(e, &db, "b", &b) == DB_NOTFOUND);
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	test_end();
}

static int
collect(const char *key, const void *val, size_t len, void *arg)
{
	struct buf	*b = arg;

	buf_printf(b, "%s=%.*s;", key, (int)len, (const char *)val);
	return 0;
}

static int
tx_foreach(DB_TXN *txn, void *arg)
{
	struct kv	*kv = arg;

	buf_reset(kv->out);
	return db_foreach(*kv->db, txn, collect, kv->out);
}

static int
tx_put_new_dup(DB_TXN *txn, void *arg)
{
	struct kv	*kv = arg;

	return db_put_new(*kv->db, txn, kv->key, "x", 1);
}

static int
tx_del(DB_TXN *txn, void *arg)
{
	struct kv	*kv = arg;

	return db_del(*kv->db, txn, kv->key);
}

static void
test_foreach_put_new_del(void)
{
	struct db_env	*e;
	DB		*db;
	struct buf	 b;
	struct kv	 kv = { NULL, "b", NULL, NULL, 0, 0 };

	test_begin("db: foreach in key order, put_new refuses, del");
	buf_init(&b, 0);
	kv.out = &b;
	e = db_env_open(envdir("iter"));
	test_assert(e != NULL && db_open(e, "t", 0, &db) == 0);
	kv.db = &db;
	test_assert(put_str(e, &db, "c", "3") == 0);
	test_assert(put_str(e, &db, "a", "1") == 0);
	test_assert(put_str(e, &db, "b", "2") == 0);
	test_assert(db_txn_run(e, "t", tx_foreach, &kv) == 0);
	test_assert_str(buf_cstr(&b), "a=1;b=2;c=3;");
	test_assert(db_txn_run(e, "t", tx_put_new_dup, &kv) == DB_KEYEXIST);
	test_assert(db_txn_run(e, "t", tx_del, &kv) == 0);
	test_assert(db_txn_run(e, "t", tx_del, &kv) == DB_NOTFOUND);
	test_assert(db_txn_run(e, "t", tx_foreach, &kv) == 0);
	test_assert_str(buf_cstr(&b), "a=1;c=3;");
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	test_end();
}

struct counter {
	DB	*db;
	struct buf b;
};

static int
tx_incr(DB_TXN *txn, void *arg)
{
	struct counter	*c = arg;
	char		 num[32];
	long		 n = 0;
	int		 ret;

	ret = db_get(c->db, txn, "n", &c->b, 1);
	if (ret == 0)
		n = strtol(buf_cstr(&c->b), NULL, 10);
	else if (ret != DB_NOTFOUND)
		return ret;
	snprintf(num, sizeof(num), "%ld", n + 1);
	return db_put(c->db, txn, "n", num, strlen(num));
}

static void
test_concurrent_processes(void)
{
	struct db_env	*e;
	struct counter	 c;
	pid_t		 pid[4];
	int		 i, j, status, ok = 1;

	test_begin("env: four processes increment one counter, none is lost");
	e = db_env_open(envdir("conc"));
	test_assert(e != NULL);
	db_env_close(e);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			buf_init(&c.b, 0);
			if ((e = db_env_open(envdir("conc"))) == NULL ||
			    db_open(e, "cnt", 0, &c.db) == -1)
				_exit(2);
			for (j = 0; j < 100; j++)
				if (db_txn_run(e, "incr", tx_incr, &c) != 0)
					_exit(3);
			db_close(c.db);
			db_env_close(e);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		if (waitpid(pid[i], &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			ok = 0;
	}
	test_assert(ok);
	buf_init(&c.b, 0);
	e = db_env_open(envdir("conc"));
	test_assert(e != NULL && db_open(e, "cnt", 0, &c.db) == 0);
	test_assert(get_str(e, &c.db, "n", &c.b) == 0);
	test_assert_str(buf_cstr(&c.b), "400");
	db_close(c.db);
	db_env_close(e);
	buf_free(&c.b);
	test_end();
}

static void
test_recovery_after_crash(void)
{
	struct db_env	*e;
	DB		*db;
	DB_TXN		*txn;
	struct buf	 b;
	pid_t		 pid;
	int		 status;

	test_begin("env: a process dying mid-transaction is recovered");
	buf_init(&b, 0);
	e = db_env_open(envdir("crash"));
	test_assert(e != NULL && db_open(e, "t", 0, &db) == 0);
	test_assert(put_str(e, &db, "kept", "yes") == 0);
	db_close(db);
	db_env_close(e);
	if ((pid = fork()) == 0) {
		if ((e = db_env_open(envdir("crash"))) == NULL ||
		    db_open(e, "t", 0, &db) == -1 ||
		    e->env->txn_begin(e->env, NULL, &txn, 0) != 0 ||
		    db_put(db, txn, "lost", "1", 1) != 0)
			_exit(2);
		_exit(0);	/* no commit, no close */
	}
	test_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	e = db_env_open(envdir("crash"));
	test_assert(e != NULL && db_open(e, "t", 0, &db) == 0);
	test_assert(get_str(e, &db, "kept", &b) == 0);
	test_assert(get_str(e, &db, "lost", &b) == DB_NOTFOUND);
	test_assert(put_str(e, &db, "after", "1") == 0);
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	test_end();
}

/*
 * Runs in a child process: Berkeley DB does not free what a panicked
 * environment held, which a leak checker would otherwise report.
 */
static int
reopen_scenario(void)
{
	struct db_env	*e, *e2;
	DB		*db;
	struct buf	 b;
	pid_t		 pid;
	int		 status;

	buf_init(&b, 0);
	if ((e = db_env_open(envdir("foreign"))) == NULL ||
	    db_open(e, "t", 0, &db) == -1 || put_str(e, &db, "before", "1"))
		return 10;
	/* another process dies with the environment open ... */
	if ((pid = fork()) == 0) {
		if (db_env_open(envdir("foreign")) == NULL)
			_exit(2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		return 11;
	/* ... so the next opener recovers, which panics our handles */
	if ((pid = fork()) == 0) {
		if ((e2 = db_env_open(envdir("foreign"))) == NULL)
			_exit(2);
		db_env_close(e2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		return 12;
	/* db_txn_run reopens the environment and db's handle */
	if (put_str(e, &db, "after", "2") != 0)
		return 13;
	if (get_str(e, &db, "before", &b) != 0 ||
	    strcmp(buf_cstr(&b), "1") != 0)
		return 14;
	if (get_str(e, &db, "after", &b) != 0)
		return 15;
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	return 0;
}

static void
test_reopen_after_foreign_recovery(void)
{
	pid_t	 pid;
	int	 status;

	test_begin("env: a long-running user survives recovery by another");
	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(reopen_scenario());
	test_assert(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("  scenario failed: status %d\n", status);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_end();
}

/* daemon(3) after opening: the parent exits, the child goes on. */
static int
fork_daemon_scenario(void)
{
	struct db_env	*e, *e2;
	DB		*db;
	struct buf	 b;
	pid_t		 pid;
	int		 status;

	buf_init(&b, 0);
	if ((e = db_env_open(envdir("daemon"))) == NULL ||
	    db_open(e, "t", 0, &db) == -1 || put_str(e, &db, "a", "1"))
		return 20;
	if ((pid = fork()) != 0)
		_exit(pid == -1 ? 21 : 0);	/* the parent of daemon(3) */
	if (put_str(e, &db, "b", "2") != 0)	/* takes the handle over */
		return 22;
	if ((pid = fork()) == 0) {
		if ((e2 = db_env_open(envdir("daemon"))) == NULL)
			_exit(2);
		db_env_close(e2);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		return 23;
	/*
	 * If our parent had not quite exited when we took over, that
	 * opener recovered the environment; either way we go on.
	 */
	if (put_str(e, &db, "c", "3") != 0)
		return 24;
	if (get_str(e, &db, "a", &b) != 0 || get_str(e, &db, "b", &b) != 0)
		return 25;
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	return 0;
}

/* A forked child uses the environment while its parent goes on too. */
static int
fork_child_scenario(void)
{
	struct db_env	*e;
	DB		*db;
	struct buf	 b;
	pid_t		 pid;
	int		 status;

	buf_init(&b, 0);
	if ((e = db_env_open(envdir("child"))) == NULL ||
	    db_open(e, "t", 0, &db) == -1 || put_str(e, &db, "p1", "1"))
		return 30;
	if ((pid = fork()) == 0) {
		if (put_str(e, &db, "c", "1") != 0)
			_exit(1);
		db_close(db);
		db_env_close(e);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		return 31;
	/* a child that only closes what it inherited harms nothing */
	if ((pid = fork()) == 0) {
		db_close(db);
		db_env_close(e);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		return 34;
	if (put_str(e, &db, "p2", "1") != 0 || get_str(e, &db, "c", &b) != 0)
		return 32;
	db_close(db);
	db_env_close(e);
	if ((e = db_env_open(envdir("child"))) == NULL ||
	    db_open(e, "t", 0, &db) == -1 || get_str(e, &db, "p2", &b) != 0)
		return 33;
	db_close(db);
	db_env_close(e);
	buf_free(&b);
	return 0;
}

static int
run_in_child(int (*fn)(void))
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The daemon scenario ends in a grandchild: its result comes by pipe. */
static int
run_daemon_scenario(void)
{
	unsigned char	 code = 255;
	pid_t		 pid;
	int		 fds[2], status;

	fflush(stdout);
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		close(fds[0]);
		code = (unsigned char)fork_daemon_scenario();
		(void)!write(fds[1], &code, 1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &code, 1) != 1)
		code = 254;
	close(fds[0]);
	(void)waitpid(pid, &status, 0);
	return code;
}

static void
test_handles_that_cross_fork(void)
{
	int	 r;

	test_begin("env: a handle opened before fork is taken over safely");
	r = run_in_child(fork_child_scenario);
	if (r != 0)
		printf("  child scenario: %d\n", r);
	test_assert(r == 0);
	r = run_daemon_scenario();
	if (r != 0)
		printf("  daemon scenario: %d\n", r);
	test_assert(r == 0);
	test_end();
}

static void
test_rec_roundtrip(void)
{
	struct db_rec_reader	 r;
	struct buf		 b;
	const void		*v;
	size_t			 len;
	uint64_t		 x;
	uint8_t			 tag;

	test_begin("rec: fields come back in order with their values");
	buf_init(&b, 0);
	db_rec_begin(&b, 7);
	db_rec_u8(&b, 1, 200);
	db_rec_u32(&b, 2, 0xdeadbeef);
	db_rec_u64(&b, 3, 0x0102030405060708ULL);
	db_rec_str(&b, 4, "hello");
	db_rec_str(&b, 5, "");
	test_assert(db_rec_open(&r, b.data, b.len) == 0);
	test_assert(r.version == 7);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 1 && tag == 1);
	test_assert(db_rec_int(v, len, &x) == 0 && x == 200);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 1 && tag == 2);
	test_assert(db_rec_int(v, len, &x) == 0 && x == 0xdeadbeef);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 1 && tag == 3);
	test_assert(db_rec_int(v, len, &x) == 0 &&
	    x == 0x0102030405060708ULL);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 1 && tag == 4);
	test_assert(len == 5 && memcmp(v, "hello", 5) == 0);
	test_assert(db_rec_int(v, len, &x) == -1);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 1 && tag == 5);
	test_assert(len == 0);
	test_assert(db_rec_next(&r, &tag, &v, &len) == 0);
	buf_free(&b);
	test_end();
}

static void
test_rec_malformed(void)
{
	static const struct {
		const char	*name;
		const char	*data;
		size_t		 len;
		int		 open, next;
	} cases[] = {
		{ "empty", "", 0, -1, 0 },
		{ "version only", "\1", 1, 0, 0 },
		{ "short header", "\1\2\0\0", 4, 0, -1 },
		{ "length past end", "\1\2\0\0\0\5abc", 9, 0, -1 },
		{ "length huge", "\1\2\xff\xff\xff\xff", 6, 0, -1 },
	};
	struct db_rec_reader	 r;
	const void		*v;
	size_t			 i, len;
	uint8_t			 tag;

	test_begin("rec: truncated or overlong records are rejected");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (db_rec_open(&r, cases[i].data, cases[i].len) !=
		    cases[i].open) {
			printf("  case %s: open\n", cases[i].name);
			test_assert(0);
			continue;
		}
		if (cases[i].open == 0 &&
		    db_rec_next(&r, &tag, &v, &len) != cases[i].next) {
			printf("  case %s: next\n", cases[i].name);
			test_assert(0);
		}
	}
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_env_open_creates_and_persists,
		test_txn_abort_and_retry,
		test_foreach_put_new_del,
		test_concurrent_processes,
		test_recovery_after_crash,
		test_reopen_after_foreign_recovery,
		test_handles_that_cross_fork,
		test_rec_roundtrip,
		test_rec_malformed,
		NULL
	};
	int	 r;

	log_init("test-db", 1, LOG_LVL_WARN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = test_run(tests);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
