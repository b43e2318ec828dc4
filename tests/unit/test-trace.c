/*
 * test-trace.c - the submission trace (common/trace.h): the record
 * encoding, the Message-ID cleaning, the record written with the quota
 * charge (and not when the charge is refused), the lookup, and the
 * bounded purge by age.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "trace.h"
#include "userdb.h"
#include "test.h"

#define T0	1700000000ULL	/* a fixed "now" */
#define DAY	86400ULL

static char		 tmpdir[] = "/tmp/sm-test-trace.XXXXXX";
static struct db_env	*env;
static struct userdb	*udb;
static char		 err[256];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
rec_fill(struct trace_rec *r, unsigned int n, uint64_t t, uint32_t nrcpt)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%016x", n);
	snprintf(r->user, sizeof(r->user), "alice@example.test");
	snprintf(r->from, sizeof(r->from), "alice@example.test");
	snprintf(r->client, sizeof(r->client), "192.0.2.7");
	snprintf(r->msgid, sizeof(r->msgid), "<m%u@example.test>", n);
	r->time = t;
	r->nrcpt = nrcpt;
	r->size = 1234;
}

static void
test_id_syntax(void)
{
	static const struct {
		const char	*id;
		int		 ok;
	} cases[] = {
		{ "0123456789abcdef", 1 },
		{ "0123456789ABCDEF", 0 },
		{ "0123456789abcde", 0 },
		{ "0123456789abcdef0", 0 },
		{ "0123456789abcdeg", 0 },
		{ "", 0 },
		{ "../../etc/passwd", 0 },
	};
	size_t	 i;

	test_begin("a tracking ID is 16 lowercase hex digits, nothing else");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_assert(trace_id_valid(cases[i].id) == cases[i].ok);
	test_end();
}

static void
test_msgid_clean(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ " <a@b>\r\n", "<a@b>" },
		{ "\r\n <a@b>", "<a@b>" },
		{ "<a@b>\r\n\t(comment)", "<a@b> (comment)" },
		{ "<a\x01\x7f@b>", "<a@b>" },
		{ "<caf\xc3\xa9@b>", "<caf@b>" },
		{ "", "" },
	};
	char	 out[TRACE_MSGID_MAX + 1], big[1000];
	size_t	 i;

	test_begin("a Message-ID is kept unfolded, printable, bounded");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		trace_msgid_clean(cases[i].in, strlen(cases[i].in), out);
		test_assert_str(out, cases[i].out);
	}
	memset(big, 'x', sizeof(big));
	trace_msgid_clean(big, sizeof(big), out);
	test_assert(strlen(out) == TRACE_MSGID_MAX);
	test_end();
}

static void
test_encoding(void)
{
	struct trace_rec a, b;
	struct buf	 e;
	char		 longc[TRACE_CLIENT_MAX + 2];

	test_begin("a record decodes to what was encoded");
	buf_init(&e, 0);
	rec_fill(&a, 42, T0, 7);
	trace_encode(&a, &e);
	test_assert(trace_decode(e.data, e.len, &b) == 0);
	test_assert(memcmp(&a, &b, sizeof(a)) == 0);
	test_end();

	test_begin("a field of a later version is skipped");
	db_rec_str(&e, 200, "from the future");
	test_assert(trace_decode(e.data, e.len, &b) == 0);
	test_assert_str(b.user, "alice@example.test");
	test_end();

	test_begin("a truncated, versionless or ID-less record is refused");
	trace_encode(&a, &e);
	test_assert(trace_decode(e.data, e.len - 1, &b) == -1);
	test_assert(trace_decode(e.data, 0, &b) == -1);
	((unsigned char *)e.data)[0] = 2;
	test_assert(trace_decode(e.data, e.len, &b) == -1);
	snprintf(a.id, sizeof(a.id), "not-an-id");
	trace_encode(&a, &e);
	test_assert(trace_decode(e.data, e.len, &b) == -1);
	test_end();

	test_begin("a string field with a NUL or too long is refused");
	rec_fill(&a, 42, T0, 7);
	db_rec_begin(&e, 1);
	db_rec_str(&e, 1, a.id);
	db_rec_str(&e, 2, a.user);
	db_rec_bytes(&e, 5, "<a\0b>", 5);
	test_assert(trace_decode(e.data, e.len, &b) == -1);
	db_rec_begin(&e, 1);
	db_rec_str(&e, 1, a.id);
	db_rec_str(&e, 2, a.user);
	memset(longc, '1', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	db_rec_str(&e, 4, longc);
	test_assert(trace_decode(e.data, e.len, &b) == -1);
	buf_free(&e);
	test_end();
}

static void
test_charge_records(void)
{
	struct trace_rec a, b;
	unsigned int	 used, lim;

	test_begin("an accepted charge records the message");
	rec_fill(&a, 1, T0, 3);
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_OK);
	test_assert(used == 0 && lim == 10);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) == UDB_OK);
	test_assert(memcmp(&a, &b, sizeof(a)) == 0);
	test_end();

	test_begin("the charge of a traced message counts in the quota");
	rec_fill(&a, 2, T0 + 1, 2);
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_OK);
	test_assert(used == 3);
	test_end();

	test_begin("a tracking ID is recorded once");
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_EXISTS);
	test_assert(strstr(err, "already recorded") != NULL);
	test_end();

	test_begin("a refused charge records nothing (and locks)");
	rec_fill(&a, 3, T0 + 2, 6);
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_REFUSED);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	rec_fill(&a, 4, T0 + 3, 1);
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_LOCKED);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	test_assert(userdb_user_unlock(udb, "alice@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_end();

	test_begin("a charge for an unknown user records nothing");
	rec_fill(&a, 5, T0 + 4, 1);
	snprintf(a.user, sizeof(a.user), "nobody@example.test");
	test_assert(trace_charge(udb, &a, 90, &used, &lim, err,
	    sizeof(err)) == UDB_NOTFOUND);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	test_end();

	test_begin("looking up an unknown or malformed ID says so");
	test_assert(trace_lookup(udb, "ffffffffffffffff", &b, err,
	    sizeof(err)) == UDB_NOTFOUND);
	test_assert(strstr(err, "ffffffffffffffff") != NULL);
	test_assert(trace_lookup(udb, "FFFF", &b, err, sizeof(err)) ==
	    UDB_INVALID);
	test_end();
}

static void
test_purge(void)
{
	struct trace_rec a, b, c;
	unsigned int	 i, used, lim;
	size_t		 n;

	test_assert(userdb_user_unlock(udb, "alice@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_begin("the purge removes what is older than the cutoff");
	/* what test_charge_records left: two records, at T0 and T0 + 1 */
	test_assert(trace_purge(udb, (time_t)(T0 + 5 * DAY), 100, &n) ==
	    UDB_OK);
	test_assert(n == 2);
	test_end();

	/* 40 messages a day apart, from T0 + 10 days */
	for (i = 0; i < 40; i++) {
		rec_fill(&a, 100 + i, T0 + (10 + i) * DAY, 1);
		if (trace_charge(udb, &a, 1000, &used, &lim, err,
		    sizeof(err)) != UDB_OK)
			printf("  charge %u: %s\n", i, err);
	}

	test_begin("the purge removes the oldest first, at most max");
	test_assert(trace_purge(udb, (time_t)(T0 + 20 * DAY), 4, &n) ==
	    UDB_OK);
	test_assert(n == 4);
	rec_fill(&a, 103, 0, 0);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	rec_fill(&a, 104, 0, 0);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) == UDB_OK);
	test_end();

	test_begin("the purge keeps what is younger than the cutoff");
	test_assert(trace_purge(udb, (time_t)(T0 + 20 * DAY), 100, &n) ==
	    UDB_OK);
	test_assert(n == 6);	/* 104..109 */
	rec_fill(&a, 109, 0, 0);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	rec_fill(&a, 110, 0, 0);
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) == UDB_OK);
	test_assert(trace_purge(udb, (time_t)(T0 + 20 * DAY), 100, &n) ==
	    UDB_OK && n == 0);
	test_end();

	test_begin("a write purges records past trace_days, a bounded few");
	/* 30 left (110..139, days 20..49); a write at day 51, 1 day kept */
	rec_fill(&a, 999, T0 + 51 * DAY, 1);
	test_assert(trace_charge(udb, &a, 1, &used, &lim, err,
	    sizeof(err)) == UDB_OK);
	for (i = 110; i < 140; i++) {
		rec_fill(&b, i, 0, 0);
		test_assert(trace_lookup(udb, b.id, &c, err, sizeof(err)) ==
		    UDB_NOTFOUND);
	}
	test_assert(trace_lookup(udb, a.id, &b, err, sizeof(err)) == UDB_OK);
	test_end();

	test_begin("a write purges at most TRACE_PURGE_MAX records");
	for (i = 0; i < TRACE_PURGE_MAX + 5; i++) {
		rec_fill(&a, 2000 + i, T0 + 200 * DAY + i, 0);
		test_assert(trace_charge(udb, &a, 1000, &used, &lim, err,
		    sizeof(err)) == UDB_OK);
	}
	rec_fill(&a, 5000, T0 + 300 * DAY, 0);
	test_assert(trace_charge(udb, &a, 1, &used, &lim, err,
	    sizeof(err)) == UDB_OK);
	/* 999 (day 51) and then 2000.. are the oldest */
	rec_fill(&b, 2000 + TRACE_PURGE_MAX - 2, 0, 0);
	test_assert(trace_lookup(udb, b.id, &c, err, sizeof(err)) ==
	    UDB_NOTFOUND);
	rec_fill(&b, 2000 + TRACE_PURGE_MAX - 1, 0, 0);
	test_assert(trace_lookup(udb, b.id, &c, err, sizeof(err)) == UDB_OK);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_id_syntax,
		test_msgid_clean,
		test_encoding,
		test_charge_records,
		test_purge,
		NULL
	};
	char	 dir[300];
	int	 r;

	log_init("test-trace", 1, LOG_LVL_ERR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/db", tmpdir);
	if ((env = db_env_open(dir)) == NULL || (udb = userdb_open(env)) ==
	    NULL || userdb_domain_add(udb, "example.test", err,
	    sizeof(err)) != UDB_OK || userdb_user_add(udb,
	    "alice@example.test", NULL, err, sizeof(err)) != UDB_OK ||
	    userdb_user_set(udb, "alice@example.test",
	    (char *[]){ "max_rcpt_per_day=10" }, 1, err, sizeof(err)) !=
	    UDB_OK) {
		printf("cannot set up the user database in %s: %s\n", dir,
		    err);
		return 1;
	}
	r = test_run(tests);
	userdb_close(udb);
	db_env_close(env);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
