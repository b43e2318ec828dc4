/*
 * test-userdb.c - domains, users, settings, aliases, recipient lookup and
 * the rolling 24-hour send quota.
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
#include "userdb.h"
#include "test.h"

static char		 tmpdir[] = "/tmp/sm-test-userdb.XXXXXX";
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
test_addr_syntax(void)
{
	static const struct {
		const char	*addr;
		int		 flags;
		int		 ok;
		const char	*why;	/* substring of the error */
	} cases[] = {
		{ "alice@example.test", USERDB_ADDR_LOCAL, 1, NULL },
		{ "a.b+c_d-e@sub.example.test", USERDB_ADDR_LOCAL, 1, NULL },
		{ "Alice@EXAMPLE.test", USERDB_ADDR_LOCAL, 1, NULL },
		{ "x@localhost", USERDB_ADDR_LOCAL, 1, NULL },
		{ "!#$%&'*+=?^_`{|}~@example.test", 0, 1, NULL },
		{ "", 0, 0, "empty" },
		{ "alice", 0, 0, "no '@'" },
		{ "@example.test", 0, 0, "local part is empty" },
		{ "alice@", 0, 0, "domain is empty" },
		{ ".alice@example.test", 0, 0, "dot" },
		{ "alice.@example.test", 0, 0, "dot" },
		{ "a..b@example.test", 0, 0, "two dots" },
		{ "a b@example.test", 0, 0, "not allowed unquoted" },
		{ "a/b@example.test", USERDB_ADDR_LOCAL, 0, "'/'" },
		{ "a/b@example.test", 0, 1, NULL },
		{ "\"a b\"@example.test", 0, 1, NULL },
		{ "\"a b\"@example.test", USERDB_ADDR_LOCAL, 0, "quoted" },
		{ "\"a\\\"b\"@example.test", 0, 1, NULL },
		{ "\"ab@example.test", 0, 0, "not closed" },
		{ "alice@[192.0.2.1]", 0, 1, NULL },
		{ "alice@[IPv6:2001:db8::1]", 0, 1, NULL },
		{ "alice@[192.0.2.300]", 0, 0, "literal" },
		{ "alice@[192.0.2.1]", USERDB_ADDR_LOCAL, 0, "literal" },
		{ "alice@-example.test", 0, 0, "'-'" },
		{ "alice@example-.test", 0, 0, "'-'" },
		{ "alice@example..test", 0, 0, "empty label" },
		{ "alice@example.test.", 0, 0, "empty label" },
		{ "alice@exa_mple.test", 0, 0, "not allowed in a host name" },
		{ "alice@bücher.test", USERDB_ADDR_LOCAL, 0, "xn--" },
		{ "alice@bücher.test", 0, 0, "xn--" },
		/* an SMTPUTF8 path may carry U-labels (RFC 6531, addr.h) */
		{ "alice@bücher.test", USERDB_ADDR_UTF8, 1, NULL },
		{ "jörg@example.test", 0, 0, "non-ASCII" },
		{ "jörg@example.test", USERDB_ADDR_UTF8, 1, NULL },
		{ "j\xc3@example.test", USERDB_ADDR_UTF8, 0, "UTF-8" },
		{ "a\r\nb@example.test", 0, 0, "unquoted" },
	};
	size_t	 i;
	int	 r;

	test_begin("address: RFC 5321 syntax with clear reasons");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		r = userdb_addr_check(cases[i].addr, cases[i].flags, err,
		    sizeof(err));
		if ((r == 0) != cases[i].ok || (cases[i].why != NULL &&
		    strstr(err, cases[i].why) == NULL)) {
			printf("  case \"%s\": r=%d err=\"%s\"\n",
			    cases[i].addr, r, err);
			test_assert(0);
		}
	}
	test_end();
}

static void
test_addr_lengths(void)
{
	char	 a[400];

	test_begin("address: limits 64 local, 255 domain, 254 total");
	memset(a, 'a', 64);
	snprintf(a + 64, sizeof(a) - 64, "@example.test");
	test_assert(userdb_addr_check(a, 0, err, sizeof(err)) == 0);
	memset(a, 'a', 65);
	snprintf(a + 65, sizeof(a) - 65, "@example.test");
	test_assert(userdb_addr_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "64") != NULL);
	/* 64 + 1 + 189 = 254 octets: allowed */
	memset(a, 'a', 64);
	a[64] = '@';
	memset(a + 65, 'b', 189);
	a[65 + 189] = '\0';
	a[65 + 60] = '.';
	a[65 + 120] = '.';
	a[65 + 180] = '.';
	test_assert(userdb_addr_check(a, 0, err, sizeof(err)) == 0);
	a[65 + 189] = 'b';
	a[65 + 190] = '\0';
	test_assert(userdb_addr_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "254") != NULL);
	/* a 64-octet label is too long */
	memset(a, 'a', 3);
	a[3] = '@';
	memset(a + 4, 'b', 64);
	snprintf(a + 68, sizeof(a) - 68, ".test");
	test_assert(userdb_addr_check(a, 0, err, sizeof(err)) == -1);
	test_assert(strstr(err, "63") != NULL);
	test_end();
}

static void
test_canon_and_maildir(void)
{
	char	 out[USERDB_ADDR_MAX + 1];
	char	*p;

	test_begin("address: domain lowercased, Maildir path");
	test_assert(userdb_addr_canon("Alice@Example.TEST", out, sizeof(out),
	    err, sizeof(err)) == 0);
	test_assert_str(out, "Alice@example.test");
	test_assert(userdb_domain_canon("EXAMPLE.Test", out, sizeof(out), err,
	    sizeof(err)) == 0);
	test_assert_str(out, "example.test");
	p = userdb_maildir("/var/mail", "bob@Example.test");
	test_assert_str(p, "/var/mail/example.test/bob/Maildir");
	free(p);
	test_assert(userdb_maildir("/var/mail", "a/b@example.test") == NULL);
	test_assert(userdb_maildir("/var/mail", "\"..\"@example.test") ==
	    NULL);
	test_end();
}

static void
test_domains(void)
{
	char	**l;
	size_t	  n;

	test_begin("domain: add, duplicate, list sorted, exists, del");
	test_assert(userdb_domain_add(udb, "Example.TEST", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_domain_add(udb, "example.test", err,
	    sizeof(err)) == UDB_EXISTS);
	test_assert(userdb_domain_add(udb, "bad_domain", err,
	    sizeof(err)) == UDB_INVALID);
	test_assert(userdb_domain_add(udb, "b.test", err, sizeof(err)) ==
	    UDB_OK);
	test_assert(userdb_domain_add(udb, "zz.test", err, sizeof(err)) ==
	    UDB_OK);
	test_assert(userdb_domain_list(udb, &l, &n) == UDB_OK);
	test_assert(n == 3);
	if (n == 3) {
		test_assert_str(l[0], "b.test");
		test_assert_str(l[1], "example.test");
		test_assert_str(l[2], "zz.test");
	}
	userdb_list_free(l, n);
	test_assert(userdb_domain_exists(udb, "EXAMPLE.test") == 1);
	test_assert(userdb_domain_exists(udb, "other.test") == 0);
	test_assert(userdb_domain_del(udb, "zz.test", err, sizeof(err)) ==
	    UDB_OK);
	test_assert(userdb_domain_del(udb, "zz.test", err, sizeof(err)) ==
	    UDB_NOTFOUND);
	test_end();
}

static void
test_users(void)
{
	struct userdb_user	 u;
	char			**l;
	size_t			 n;

	test_begin("user: add with defaults, refusals, get, list, del");
	test_assert(userdb_user_add(udb, "alice@Example.test", NULL, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_add(udb, "bob@example.test", NULL, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_add(udb, "carol@b.test", NULL, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_add(udb, "alice@example.test", NULL, err,
	    sizeof(err)) == UDB_EXISTS);
	test_assert(userdb_user_add(udb, "dave@unknown.test", NULL, err,
	    sizeof(err)) == UDB_NOTFOUND);
	test_assert(strstr(err, "unknown.test") != NULL);
	test_assert(userdb_user_add(udb, "da ve@example.test", NULL, err,
	    sizeof(err)) == UDB_INVALID);
	test_assert(userdb_user_get(udb, "alice@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert_str(u.address, "alice@example.test");
	test_assert(u.max_rcpt_per_msg == 50 && u.max_rcpt_per_day == 300);
	test_assert(!u.privileged && u.unsafe_mailbox && u.strip_attachments &&
	    u.strip_html && u.quota_bytes == 0);
	test_assert(u.unsafe_subject_tag[0] == '\0' && !u.locked);
	test_assert(u.created > 0);
	test_assert(userdb_user_get(udb, "nobody@example.test", &u, err,
	    sizeof(err)) == UDB_NOTFOUND);

	test_assert(userdb_user_list(udb, "example.test", &l, &n, err,
	    sizeof(err)) == UDB_OK);
	test_assert(n == 2);
	if (n == 2) {
		test_assert_str(l[0], "alice@example.test");
		test_assert_str(l[1], "bob@example.test");
	}
	userdb_list_free(l, n);
	test_assert(userdb_user_list(udb, NULL, &l, &n, err, sizeof(err)) ==
	    UDB_OK && n == 3);
	userdb_list_free(l, n);
	test_assert(userdb_user_list(udb, "nope.test", &l, &n, err,
	    sizeof(err)) == UDB_NOTFOUND);

	test_assert(userdb_domain_del(udb, "b.test", err, sizeof(err)) ==
	    UDB_REFUSED);
	test_assert(strstr(err, "1 user") != NULL);
	test_assert(userdb_domain_exists(udb, "b.test") == 1);
	test_assert(userdb_user_del(udb, "carol@b.test", err, sizeof(err)) ==
	    UDB_OK);
	test_assert(userdb_user_del(udb, "carol@b.test", err, sizeof(err)) ==
	    UDB_NOTFOUND);
	test_assert(userdb_domain_del(udb, "b.test", err, sizeof(err)) ==
	    UDB_OK);
	test_end();
}

static void
test_settings(void)
{
	struct userdb_user	 u, before;
	struct buf		 b;
	char			*ok[] = { "max_rcpt_per_msg=10",
	    "privileged=yes", "strip_html=no", "unsafe_subject_tag=[unsafe]",
	    "quota_bytes=2M" };
	static const char *bad[][2] = {
		{ "max_rcpt_per_msg=5", "nosuch=1" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_day=-1" },
		{ "max_rcpt_per_msg=5", "privileged=maybe" },
		{ "max_rcpt_per_msg=5", "quota_bytes=1T" },
		{ "max_rcpt_per_msg=5", "unsafe_subject_tag=a\nb" },
		{ "max_rcpt_per_msg=5", "noequals" },
		{ "max_rcpt_per_msg=5", "locked=no" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_msg=" },
	};
	size_t	 i;

	test_begin("user set: validated, all or nothing, formatted back");
	buf_init(&b, 0);
	test_assert(userdb_user_set(udb, "alice@example.test", ok, 5, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_get(udb, "alice@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert(u.max_rcpt_per_msg == 10 && u.privileged &&
	    !u.strip_html && u.strip_attachments);
	test_assert_str(u.unsafe_subject_tag, "[unsafe]");
	test_assert(u.quota_bytes == 2 * 1024 * 1024);
	before = u;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (userdb_user_set(udb, "alice@example.test",
		    (char *const *)bad[i], 2, err, sizeof(err)) !=
		    UDB_INVALID || err[0] == '\0') {
			printf("  case %s: accepted\n", bad[i][1]);
			test_assert(0);
		}
	}
	test_assert(userdb_user_get(udb, "alice@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert(memcmp(&u, &before, sizeof(u)) == 0);
	test_assert(userdb_user_set(udb, "nobody@example.test", ok, 1, err,
	    sizeof(err)) == UDB_NOTFOUND);
	test_assert(userdb_setting_format(&u, "privileged", &b) == 0);
	test_assert(userdb_setting_format(&u, "quota_bytes", &b) == 0);
	test_assert(userdb_setting_format(&u, "unsafe_subject_tag", &b) == 0);
	test_assert_str(buf_cstr(&b), "yes2097152[unsafe]");
	test_assert(userdb_setting_format(&u, "nosuch", &b) == -1);
	test_assert_str(userdb_setting_keys()[0], "max_rcpt_per_msg");
	buf_free(&b);
	test_end();
}

static void
test_encoding(void)
{
	struct userdb_user	 u, v;
	struct buf		 b;

	test_begin("user record: encode/decode round trip, unknown tags skipped");
	buf_init(&b, 0);
	userdb_user_defaults(&u);
	snprintf(u.address, sizeof(u.address), "x@example.test");
	u.created = 1700000000;
	u.max_rcpt_per_day = 7;
	u.locked = 1;
	u.locked_at = 1700000100;
	snprintf(u.lock_reason, sizeof(u.lock_reason), "because");
	userdb_user_encode(&u, &b);
	db_rec_str(&b, 200, "a field from the future");
	test_assert(userdb_user_decode(b.data, b.len, &v) == 0);
	test_assert(memcmp(&u, &v, sizeof(u)) == 0);
	b.data[0] = 9;	/* unknown version */
	test_assert(userdb_user_decode(b.data, b.len, &v) == -1);
	b.data[0] = 1;
	test_assert(userdb_user_decode(b.data, b.len - 3, &v) == -1);
	buf_free(&b);
	test_end();
}

static void
test_aliases_and_lookup(void)
{
	struct userdb_alias	*al;
	size_t			 n;
	char			 user[USERDB_ADDR_MAX + 1];

	test_begin("alias: add/del/list, recipient lookup, sender identity");
	test_assert(userdb_alias_add(udb, "alice@example.test",
	    "postmaster@example.test", 1, err, sizeof(err)) == UDB_OK);
	test_assert(userdb_alias_add(udb, "alice@example.test",
	    "info@Example.test", 0, err, sizeof(err)) == UDB_OK);
	test_assert(userdb_alias_add(udb, "bob@example.test",
	    "info@example.test", 0, err, sizeof(err)) == UDB_EXISTS);
	test_assert(userdb_alias_add(udb, "bob@example.test",
	    "alice@example.test", 0, err, sizeof(err)) == UDB_EXISTS);
	test_assert(userdb_alias_add(udb, "bob@example.test",
	    "x@other.test", 0, err, sizeof(err)) == UDB_NOTFOUND);
	test_assert(userdb_alias_add(udb, "nobody@example.test",
	    "y@example.test", 0, err, sizeof(err)) == UDB_NOTFOUND);
	test_assert(userdb_user_add(udb, "info@example.test", NULL, err,
	    sizeof(err)) == UDB_EXISTS);

	test_assert(userdb_alias_list(udb, "alice@example.test", &al, &n, err,
	    sizeof(err)) == UDB_OK);
	test_assert(n == 2);
	if (n == 2) {
		test_assert_str(al[0].alias, "info@example.test");
		test_assert(al[0].may_send == 0);
		test_assert_str(al[1].alias, "postmaster@example.test");
		test_assert(al[1].may_send == 1);
		test_assert_str(al[1].user, "alice@example.test");
	}
	userdb_alias_list_free(al, n);

	test_assert(userdb_lookup_rcpt(udb, "alice@EXAMPLE.test", user,
	    sizeof(user)) == UDB_OK);
	test_assert_str(user, "alice@example.test");
	test_assert(userdb_lookup_rcpt(udb, "Alice@example.test", user,
	    sizeof(user)) == UDB_OK);
	test_assert_str(user, "alice@example.test");
	test_assert(userdb_lookup_rcpt(udb, "postmaster@example.test", user,
	    sizeof(user)) == UDB_OK);
	test_assert_str(user, "alice@example.test");
	test_assert(userdb_lookup_rcpt(udb, "nobody@example.test", user,
	    sizeof(user)) == UDB_NOTFOUND);
	test_assert(userdb_lookup_rcpt(udb, "alice@other.test", user,
	    sizeof(user)) == UDB_NOTFOUND);
	test_assert(userdb_lookup_rcpt(udb, "\"q u\"@example.test", user,
	    sizeof(user)) == UDB_NOTFOUND);
	test_assert(userdb_lookup_rcpt(udb, "a..b@example.test", user,
	    sizeof(user)) == UDB_INVALID);

	test_assert(userdb_sender_allowed(udb, "alice@example.test",
	    "alice@example.test") == 1);
	test_assert(userdb_sender_allowed(udb, "alice@example.test",
	    "postmaster@example.test") == 1);
	test_assert(userdb_sender_allowed(udb, "alice@example.test",
	    "info@example.test") == 0);
	test_assert(userdb_sender_allowed(udb, "bob@example.test",
	    "postmaster@example.test") == 0);
	test_assert(userdb_sender_allowed(udb, "bob@example.test",
	    "alice@example.test") == 0);

	test_assert(userdb_alias_del(udb, "bob@example.test",
	    "info@example.test", err, sizeof(err)) == UDB_NOTFOUND);
	test_assert(userdb_alias_del(udb, "alice@example.test",
	    "info@example.test", err, sizeof(err)) == UDB_OK);
	test_assert(userdb_lookup_rcpt(udb, "info@example.test", user,
	    sizeof(user)) == UDB_NOTFOUND);
	test_end();
}

static void
test_quota(void)
{
	struct userdb_user	 u;
	char			*lim[] = { "max_rcpt_per_day=10" };
	unsigned int		 used, limit, count;
	time_t			 t0 = 1800000000, exp;

	test_begin("quota: rolling 24h window, refusal locks, unlock clears");
	test_assert(userdb_user_set(udb, "bob@example.test", lim, 1, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 4, t0, &used,
	    &limit, err, sizeof(err)) == UDB_OK);
	test_assert(used == 0 && limit == 10);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 3, t0 + 10,
	    &used, &limit, err, sizeof(err)) == UDB_OK && used == 4);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 3,
	    t0 + 3600, &used, &limit, err, sizeof(err)) == UDB_OK &&
	    used == 7);
	test_assert(userdb_rcpt_count(udb, "bob@example.test", t0 + 3600,
	    &count, &exp) == UDB_OK);
	test_assert(count == 10 && exp == t0 + 10 + USERDB_WINDOW);
	/* the first two sends leave the window 24h after the second */
	test_assert(userdb_rcpt_count(udb, "bob@example.test",
	    t0 + 10 + USERDB_WINDOW, &count, &exp) == UDB_OK && count == 3);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 7,
	    t0 + 10 + USERDB_WINDOW, &used, &limit, err, sizeof(err)) ==
	    UDB_OK && used == 3);
	/* now at 10: one more is refused and locks the account */
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 1,
	    t0 + 20 + USERDB_WINDOW, &used, &limit, err, sizeof(err)) ==
	    UDB_REFUSED && used == 10);
	test_assert(strstr(err, "limit") != NULL);
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert(u.locked && u.locked_at == t0 + 20 + USERDB_WINDOW);
	test_assert(strstr(u.lock_reason, "daily recipient limit") != NULL);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 1,
	    t0 + 3 * USERDB_WINDOW, &used, &limit, err, sizeof(err)) ==
	    UDB_LOCKED);
	test_assert(userdb_user_unlock(udb, "bob@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK && !u.locked && u.lock_reason[0] == '\0');
	test_assert(userdb_rcpt_count(udb, "bob@example.test",
	    t0 + 30 + USERDB_WINDOW, &count, &exp) == UDB_OK && count == 0);
	test_assert(userdb_rcpt_charge(udb, "nobody@example.test", 1, t0,
	    &used, &limit, err, sizeof(err)) == UDB_NOTFOUND);
	test_end();
}

static void
test_quota_concurrent(void)
{
	struct userdb_user	 u;
	char			*lim[] = { "max_rcpt_per_day=100" };
	struct db_env		*e;
	struct userdb		*d;
	unsigned int		 count;
	time_t			 now = time(NULL), exp;
	pid_t			 pid[4];
	int			 i, j, st, refused = 0;

	test_begin("quota: concurrent sessions in 4 processes never exceed it");
	test_assert(userdb_user_add(udb, "eve@example.test", NULL, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_set(udb, "eve@example.test", lim, 1, err,
	    sizeof(err)) == UDB_OK);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) != 0)
			continue;
		if ((e = db_env_open(env->dir)) == NULL ||
		    (d = userdb_open(e)) == NULL)
			_exit(100);
		for (j = 0; j < 40; j++) {
			switch (userdb_rcpt_charge(d, "eve@example.test", 1,
			    now + j, NULL, NULL, NULL, 0)) {
			case UDB_OK:
				break;
			case UDB_REFUSED:
			case UDB_LOCKED:
				refused++;
				break;
			default:
				_exit(101);
			}
		}
		userdb_close(d);
		db_env_close(e);
		_exit(refused);
	}
	for (i = 0; i < 4; i++) {
		test_assert(waitpid(pid[i], &st, 0) == pid[i] &&
		    WIFEXITED(st) && WEXITSTATUS(st) <= 40);
		refused += WEXITSTATUS(st);
	}
	test_assert(refused == 60);
	test_assert(userdb_rcpt_count(udb, "eve@example.test", now + 40,
	    &count, &exp) == UDB_OK);
	test_assert(count == 100);
	test_assert(userdb_user_get(udb, "eve@example.test", &u, err,
	    sizeof(err)) == UDB_OK && u.locked);
	test_end();
}

static void
test_user_del_cascades(void)
{
	struct userdb_alias	*al;
	size_t			 n;
	char			 user[USERDB_ADDR_MAX + 1];

	test_begin("user del: removes the user's aliases and counters");
	test_assert(userdb_user_del(udb, "alice@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_lookup_rcpt(udb, "postmaster@example.test", user,
	    sizeof(user)) == UDB_NOTFOUND);
	test_assert(userdb_alias_list(udb, NULL, &al, &n, err,
	    sizeof(err)) == UDB_OK && n == 0);
	userdb_alias_list_free(al, n);
	test_assert(userdb_domain_del(udb, "example.test", err,
	    sizeof(err)) == UDB_REFUSED);
	test_assert(userdb_user_del(udb, "bob@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_del(udb, "eve@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_domain_del(udb, "example.test", err,
	    sizeof(err)) == UDB_OK);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_addr_syntax,
		test_addr_lengths,
		test_canon_and_maildir,
		test_domains,
		test_users,
		test_settings,
		test_encoding,
		test_aliases_and_lookup,
		test_quota,
		test_quota_concurrent,
		test_user_del_cascades,
		NULL
	};
	char	 dir[300];
	int	 r;

	log_init("test-userdb", 1, LOG_LVL_ERR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/db", tmpdir);
	if ((env = db_env_open(dir)) == NULL || (udb = userdb_open(env)) ==
	    NULL) {
		printf("cannot open the user database in %s\n", dir);
		return 1;
	}
	r = test_run(tests);
	userdb_close(udb);
	db_env_close(env);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
