/*
 * test-userdb.c - domains, users, settings, aliases, recipient lookup and
 * the rolling 24-hour send quota.  The database cases are tables of
 * steps (struct step, struct charge) run in order on one database.
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

/*
 * The database tests are tables of steps: one call each, its expected
 * result and, when set, a text the error (or the user a lookup finds)
 * must contain.  A failing step prints its row.
 */
enum step_op {
	DOM_ADD, DOM_DEL, DOM_EXISTS, USER_ADD, USER_DEL, USER_GET, USER_LOCK,
	USER_UNLOCK, ALIAS_ADD, ALIAS_ADD_SEND, ALIAS_DEL, LOOKUP, SENDER
};

static const char *const step_names[] = {
	"domain add", "domain del", "domain exists", "user add", "user del",
	"user get", "user lock", "user unlock", "alias add",
	"alias add (may send)", "alias del", "lookup", "sender allowed"
};

struct step {
	enum step_op	 op;
	const char	*a;	/* domain, user or recipient */
	const char	*b;	/* alias, sender or lock reason */
	int		 want;	/* a userdb_result, or 1/0 */
	const char	*says;	/* NULL, or a substring of err or the user */
};

static int
step_do(const struct step *st, char *out, size_t outlen)
{
	struct userdb_user	 u;

	out[0] = '\0';
	switch (st->op) {
	case DOM_ADD:
		return userdb_domain_add(udb, st->a, out, outlen);
	case DOM_DEL:
		return userdb_domain_del(udb, st->a, out, outlen);
	case DOM_EXISTS:
		return userdb_domain_exists(udb, st->a);
	case USER_ADD:
		return userdb_user_add(udb, st->a, NULL, out, outlen);
	case USER_DEL:
		return userdb_user_del(udb, st->a, out, outlen);
	case USER_GET:
		return userdb_user_get(udb, st->a, &u, out, outlen);
	case USER_LOCK:
		return userdb_user_lock(udb, st->a, st->b, out, outlen);
	case USER_UNLOCK:
		return userdb_user_unlock(udb, st->a, out, outlen);
	case ALIAS_ADD:
	case ALIAS_ADD_SEND:
		return userdb_alias_add(udb, st->a, st->b,
		    st->op == ALIAS_ADD_SEND, out, outlen);
	case ALIAS_DEL:
		return userdb_alias_del(udb, st->a, st->b, out, outlen);
	case LOOKUP:
		return userdb_lookup_rcpt(udb, st->a, out, outlen);
	case SENDER:
		return userdb_sender_allowed(udb, st->a, st->b);
	}
	return -100;
}

static void
steps_run(const struct step *steps, size_t n)
{
	char	 out[256];
	size_t	 i;
	int	 r;

	for (i = 0; i < n; i++) {
		r = step_do(&steps[i], out, sizeof(out));
		if (r == steps[i].want && (steps[i].says == NULL ||
		    strstr(out, steps[i].says) != NULL))
			continue;
		printf("  step %zu: %s %s %s: got %d \"%s\", want %d %s\n",
		    i, step_names[steps[i].op], steps[i].a,
		    steps[i].b != NULL ? steps[i].b : "", r, out,
		    steps[i].want, steps[i].says != NULL ? steps[i].says : "");
		test_assert(0);
	}
}

#define STEPS_RUN(t)	steps_run((t), sizeof(t) / sizeof((t)[0]))

/* list (n entries) is exactly want, a NULL-terminated array. */
static void
list_is(char **list, size_t n, const char *const *want)
{
	size_t	 i;

	for (i = 0; i < n && want[i] != NULL; i++)
		test_assert_str(list[i], want[i]);
	test_assert(i == n && want[i] == NULL);
	userdb_list_free(list, n);
}

static void
test_domains(void)
{
	static const struct step steps[] = {
		{ DOM_ADD, "Example.TEST", NULL, UDB_OK, NULL },
		{ DOM_ADD, "example.test", NULL, UDB_EXISTS, "already" },
		{ DOM_ADD, "bad_domain", NULL, UDB_INVALID, "bad_domain" },
		{ DOM_ADD, "b.test", NULL, UDB_OK, NULL },
		{ DOM_ADD, "zz.test", NULL, UDB_OK, NULL },
		{ DOM_EXISTS, "EXAMPLE.test", NULL, 1, NULL },
		{ DOM_EXISTS, "other.test", NULL, 0, NULL },
		{ DOM_EXISTS, "not a domain", NULL, 0, NULL },
		{ DOM_DEL, "zz.test", NULL, UDB_OK, NULL },
		{ DOM_DEL, "zz.test", NULL, UDB_NOTFOUND, "no domain zz.test" },
		{ DOM_DEL, "bad_domain", NULL, UDB_INVALID, "bad_domain" },
		{ DOM_ADD, "zz.test", NULL, UDB_OK, NULL },
	};
	static const char *const sorted[] = {
		"b.test", "example.test", "zz.test", NULL
	};
	char	**l;
	size_t	  n;

	test_begin("domain: add, duplicate, list sorted, exists, del");
	STEPS_RUN(steps);
	test_assert(userdb_domain_list(udb, &l, &n) == UDB_OK);
	list_is(l, n, sorted);
	test_assert(userdb_domain_del(udb, "zz.test", err, sizeof(err)) ==
	    UDB_OK);
	test_end();
}

static void
test_users(void)
{
	static const struct step add[] = {
		{ USER_ADD, "alice@Example.test", NULL, UDB_OK, NULL },
		{ USER_ADD, "bob@example.test", NULL, UDB_OK, NULL },
		{ USER_ADD, "carol@b.test", NULL, UDB_OK, NULL },
		{ USER_ADD, "alice@example.test", NULL, UDB_EXISTS,
		    "already exists" },
		{ USER_ADD, "dave@unknown.test", NULL, UDB_NOTFOUND,
		    "unknown.test" },
		{ USER_ADD, "da ve@example.test", NULL, UDB_INVALID, NULL },
		{ USER_GET, "nobody@example.test", NULL, UDB_NOTFOUND,
		    "no user nobody@example.test" },
		{ USER_GET, "a..b@example.test", NULL, UDB_INVALID, NULL },
	};
	static const struct step del[] = {
		{ DOM_DEL, "b.test", NULL, UDB_REFUSED, "1 user" },
		{ DOM_EXISTS, "b.test", NULL, 1, NULL },
		{ USER_DEL, "carol@b.test", NULL, UDB_OK, NULL },
		{ USER_DEL, "carol@b.test", NULL, UDB_NOTFOUND, "no user" },
		{ USER_DEL, "carol@", NULL, UDB_INVALID, NULL },
		{ DOM_DEL, "b.test", NULL, UDB_OK, NULL },
	};
	static const char *const of_example[] = {
		"alice@example.test", "bob@example.test", NULL
	};
	static const char *const all[] = {
		"alice@example.test", "bob@example.test", "carol@b.test", NULL
	};
	struct userdb_user	 u;
	char			**l;
	size_t			 n;

	test_begin("user: add with defaults, refusals, get, list, del");
	STEPS_RUN(add);
	test_assert(userdb_user_get(udb, "alice@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert_str(u.address, "alice@example.test");
	test_assert(u.max_rcpt_per_msg == 50 && u.max_rcpt_per_day == 300);
	test_assert(!u.privileged && u.unsafe_mailbox && u.strip_attachments &&
	    u.strip_html && u.quota_bytes == 0);
	test_assert(u.unsafe_subject_tag[0] == '\0' && !u.locked);
	test_assert(u.created > 0);

	test_assert(userdb_user_list(udb, "example.test", &l, &n, err,
	    sizeof(err)) == UDB_OK);
	list_is(l, n, of_example);
	test_assert(userdb_user_list(udb, NULL, &l, &n, err, sizeof(err)) ==
	    UDB_OK);
	list_is(l, n, all);
	test_assert(userdb_user_list(udb, "nope.test", &l, &n, err,
	    sizeof(err)) == UDB_NOTFOUND && l == NULL && n == 0);
	test_assert(userdb_user_list(udb, "bad_domain", &l, &n, err,
	    sizeof(err)) == UDB_INVALID);
	STEPS_RUN(del);
	test_end();
}

static void
test_settings(void)
{
	struct userdb_user	 u, before;
	struct buf		 b;
	char			*ok[] = { "max_rcpt_per_msg=10",
	    "privileged=YES", "strip_html=Off", "unsafe_subject_tag=[unsafe]",
	    "quota_bytes=2m" };
	static const char *bad[][2] = {
		{ "max_rcpt_per_msg=5", "nosuch=1" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_day=-1" },
		{ "max_rcpt_per_msg=5", "privileged=maybe" },
		{ "max_rcpt_per_msg=5", "quota_bytes=1T" },
		{ "max_rcpt_per_msg=5", "unsafe_subject_tag=a\nb" },
		{ "max_rcpt_per_msg=5", "noequals" },
		{ "max_rcpt_per_msg=5", "locked=no" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_msg=" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_msg=+5" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_msg=5k" },
		{ "max_rcpt_per_msg=5", "max_rcpt_per_msg=1000001" },
		{ "max_rcpt_per_msg=5", "quota_bytes=1kb" },
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
	static const struct step steps[] = {
		{ ALIAS_ADD_SEND, "alice@example.test",
		    "postmaster@example.test", UDB_OK, NULL },
		{ ALIAS_ADD, "alice@example.test", "info@Example.test", UDB_OK,
		    NULL },
		{ ALIAS_ADD, "bob@example.test", "info@example.test",
		    UDB_EXISTS, "alias info@example.test already exists" },
		{ ALIAS_ADD, "bob@example.test", "alice@example.test",
		    UDB_EXISTS, "is a user" },
		{ ALIAS_ADD, "bob@example.test", "x@other.test", UDB_NOTFOUND,
		    "no domain other.test" },
		{ ALIAS_ADD, "nobody@example.test", "y@example.test",
		    UDB_NOTFOUND, "no user nobody@example.test" },
		{ ALIAS_ADD, "bob@example.test", "a b@example.test",
		    UDB_INVALID, "a b@example.test: " },
		{ ALIAS_ADD, "bo b@example.test", "z@example.test",
		    UDB_INVALID, "bo b@example.test: " },
		{ USER_ADD, "info@example.test", NULL, UDB_EXISTS,
		    "is an alias" },

		/* recipients: users, aliases, the lowercased local part */
		{ LOOKUP, "alice@EXAMPLE.test", NULL, UDB_OK,
		    "alice@example.test" },
		{ LOOKUP, "Alice@example.test", NULL, UDB_OK,
		    "alice@example.test" },
		{ LOOKUP, "postmaster@example.test", NULL, UDB_OK,
		    "alice@example.test" },
		{ LOOKUP, "INFO@example.test", NULL, UDB_OK,
		    "alice@example.test" },
		{ LOOKUP, "nobody@example.test", NULL, UDB_NOTFOUND, NULL },
		{ LOOKUP, "alice@other.test", NULL, UDB_NOTFOUND, NULL },
		{ LOOKUP, "\"q u\"@example.test", NULL, UDB_NOTFOUND, NULL },
		{ LOOKUP, "a..b@example.test", NULL, UDB_INVALID, NULL },

		/* sender identities: oneself, and aliases granted may_send */
		{ SENDER, "alice@example.test", "alice@example.test", 1, NULL },
		{ SENDER, "alice@example.test", "alice@EXAMPLE.test", 1, NULL },
		{ SENDER, "alice@example.test", "postmaster@example.test", 1,
		    NULL },
		{ SENDER, "alice@example.test", "info@example.test", 0, NULL },
		{ SENDER, "bob@example.test", "postmaster@example.test", 0,
		    NULL },
		{ SENDER, "bob@example.test", "alice@example.test", 0, NULL },
		{ SENDER, "bob@example.test", "nobody@example.test", 0, NULL },
		{ SENDER, "alice@example.test", "a..b@example.test", 0, NULL },

		{ ALIAS_DEL, "bob@example.test", "info@example.test",
		    UDB_NOTFOUND, "is not an alias of bob@example.test" },
		{ ALIAS_DEL, "alice@example.test", "nope@example.test",
		    UDB_NOTFOUND, "is not an alias" },
		{ ALIAS_DEL, "alice@example.test", "info@example.test", UDB_OK,
		    NULL },
		{ LOOKUP, "info@example.test", NULL, UDB_NOTFOUND, NULL },
	};
	struct userdb_alias	*al;
	size_t			 n;

	test_begin("alias: add/del/list, recipient lookup, sender identity");
	STEPS_RUN(steps);
	test_assert(userdb_alias_add(udb, "alice@example.test",
	    "info@example.test", 0, err, sizeof(err)) == UDB_OK);
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
	test_assert(userdb_alias_list(udb, "bob@example.test", &al, &n, err,
	    sizeof(err)) == UDB_OK && n == 0);
	userdb_alias_list_free(al, n);
	test_assert(userdb_alias_list(udb, "nobody@example.test", &al, &n,
	    err, sizeof(err)) == UDB_NOTFOUND && al == NULL && n == 0);
	test_end();
}

/*
 * One charge of the send quota: recipients, seconds after t0, expected
 * result and the count in the window before it.
 */
struct charge {
	unsigned int	 n;
	time_t		 at;
	int		 want;
	unsigned int	 used;
};

static void
charges_run(const char *user, time_t t0, const struct charge *c, size_t n)
{
	unsigned int	 used, limit;
	size_t		 i;
	int		 r;

	for (i = 0; i < n; i++) {
		used = 9999;
		r = userdb_rcpt_charge(udb, user, c[i].n, t0 + c[i].at, &used,
		    &limit, err, sizeof(err));
		if (r == c[i].want && (r == UDB_LOCKED || used == c[i].used))
			continue;
		printf("  charge %zu: %u at +%lld: got %d used %u, want %d "
		    "used %u\n", i, c[i].n, (long long)c[i].at, r, used,
		    c[i].want, c[i].used);
		test_assert(0);
	}
}

static void
test_quota(void)
{
	static const struct charge first[] = {
		{ 4, 0, UDB_OK, 0 },
		{ 3, 10, UDB_OK, 4 },
		{ 3, 3600, UDB_OK, 7 },
	};
	/* the first two sends leave the window 24h after the second */
	static const struct charge later[] = {
		{ 7, 10 + USERDB_WINDOW, UDB_OK, 3 },
		/* now at 10: one more is refused and locks the account */
		{ 1, 20 + USERDB_WINDOW, UDB_REFUSED, 10 },
		{ 1, 3 * USERDB_WINDOW, UDB_LOCKED, 0 },
	};
	struct userdb_user	 u;
	char			*lim[] = { "max_rcpt_per_day=10" };
	unsigned int		 used, limit, count;
	time_t			 t0 = 1800000000, exp;

	test_begin("quota: rolling 24h window, refusal locks, unlock clears");
	test_assert(userdb_user_set(udb, "bob@example.test", lim, 1, err,
	    sizeof(err)) == UDB_OK);
	charges_run("bob@example.test", t0, first,
	    sizeof(first) / sizeof(first[0]));
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 0, t0 + 3600,
	    &used, &limit, err, sizeof(err)) == UDB_OK && used == 10 &&
	    limit == 10);
	test_assert(userdb_rcpt_count(udb, "bob@example.test", t0 + 3600,
	    &count, &exp) == UDB_OK);
	test_assert(count == 10 && exp == t0 + 10 + USERDB_WINDOW);
	test_assert(userdb_rcpt_count(udb, "bob@example.test",
	    t0 + 10 + USERDB_WINDOW, &count, &exp) == UDB_OK && count == 3);
	charges_run("bob@example.test", t0, later,
	    sizeof(later) / sizeof(later[0]));
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert(u.locked && u.locked_at == t0 + 20 + USERDB_WINDOW);
	test_assert(strstr(u.lock_reason, "daily recipient limit") != NULL);
	test_assert(userdb_user_unlock(udb, "bob@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK && !u.locked && u.lock_reason[0] == '\0');
	test_assert(userdb_rcpt_count(udb, "bob@example.test",
	    t0 + 30 + USERDB_WINDOW, &count, &exp) == UDB_OK && count == 0 &&
	    exp == 0);
	test_assert(userdb_rcpt_charge(udb, "nobody@example.test", 1, t0,
	    &used, &limit, err, sizeof(err)) == UDB_NOTFOUND);
	test_assert(userdb_rcpt_count(udb, "nobody@example.test", t0, &count,
	    &exp) == UDB_NOTFOUND);
	test_assert(userdb_rcpt_count(udb, "no body@example.test", t0,
	    &count, &exp) == UDB_INVALID);
	test_end();
}

static void
test_lock(void)
{
	static const struct step steps[] = {
		{ USER_LOCK, "bob@example.test", "abuse report", UDB_OK, NULL },
		{ USER_LOCK, "nobody@example.test", NULL, UDB_NOTFOUND,
		    "no user" },
		{ USER_UNLOCK, "nobody@example.test", NULL, UDB_NOTFOUND,
		    "no user" },
		{ USER_LOCK, "bad@", NULL, UDB_INVALID, NULL },
	};
	struct userdb_user	 u;
	unsigned int		 used, limit;

	test_begin("user lock: reason kept, charges refused until unlock");
	STEPS_RUN(steps);
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK && u.locked && u.locked_at > 0);
	test_assert_str(u.lock_reason, "abuse report");
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 1,
	    time(NULL), &used, &limit, err, sizeof(err)) == UDB_LOCKED);
	test_assert(strstr(err, "abuse report") != NULL);
	test_assert(userdb_user_lock(udb, "bob@example.test", NULL, err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_user_get(udb, "bob@example.test", &u, err,
	    sizeof(err)) == UDB_OK);
	test_assert_str(u.lock_reason, "locked by the administrator");
	test_assert(userdb_user_unlock(udb, "bob@example.test", err,
	    sizeof(err)) == UDB_OK);
	test_assert(userdb_rcpt_charge(udb, "bob@example.test", 1,
	    time(NULL), &used, &limit, err, sizeof(err)) == UDB_OK &&
	    used == 0);
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
	static const struct step steps[] = {
		{ DOM_DEL, "example.test", NULL, UDB_REFUSED,
		    "3 user(s) and 2 alias(es)" },
		{ USER_DEL, "alice@example.test", NULL, UDB_OK, NULL },
		{ LOOKUP, "postmaster@example.test", NULL, UDB_NOTFOUND,
		    NULL },
		{ LOOKUP, "info@example.test", NULL, UDB_NOTFOUND, NULL },
		{ DOM_DEL, "example.test", NULL, UDB_REFUSED, "2 user(s)" },
		{ USER_DEL, "bob@example.test", NULL, UDB_OK, NULL },
		{ USER_DEL, "eve@example.test", NULL, UDB_OK, NULL },
		{ DOM_DEL, "example.test", NULL, UDB_OK, NULL },
	};
	struct userdb_alias	*al;
	size_t			 n;

	test_begin("user del: removes the user's aliases and counters");
	STEPS_RUN(steps);
	test_assert(userdb_alias_list(udb, NULL, &al, &n, err,
	    sizeof(err)) == UDB_OK && n == 0);
	userdb_alias_list_free(al, n);
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
		test_lock,
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
