/*
 * test-registry.c - the registry of trusted transmitters: name and note
 * validation, add/del/list with expiry, matching a name or a parent
 * domain, the IPC_PARENT_REGISTRY request and answer (registry.db in a
 * throwaway environment), and the DNS registry zones' query names
 * (registry_dns.h).  The cases are tables.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dns.h"
#include "ipc.h"
#include "log.h"
#include "registry.h"
#include "registry_dns.h"
#include "test.h"

static char		 tmpdir[] = "/tmp/sm-test-registry.XXXXXX";
static struct db_env	*env;
static struct registry	*reg;
static char		 err[256];

#define T0	1800000000	/* "now" of the tables */
#define DAY	86400

static void
test_name_syntax(void)
{
	static const struct {
		const char	*name;
		const char	*canon;	/* NULL: refused */
		const char	*why;	/* substring of the error */
	} cases[] = {
		{ "isp-a.test", "isp-a.test", NULL },
		{ "MX.ISP-A.Test", "mx.isp-a.test", NULL },
		{ "xn--bcher-kva.test", "xn--bcher-kva.test", NULL },
		{ "test", NULL, "top-level" },
		{ "", NULL, "empty" },
		{ "bad_name.test", NULL, NULL },
		{ "b\xc3\xbc" "cher.test", NULL, NULL },
		{ "[192.0.2.1]", NULL, NULL },
		{ "a..test", NULL, NULL },
		{ "-a.test", NULL, NULL },
		{ "isp-a.test.", NULL, NULL },
		{ "a b.test", NULL, NULL },
	};
	char	 out[REGISTRY_NAME_MAX + 1];
	size_t	 i;
	int	 r;

	test_begin("name: ASCII domain grammar, two labels, lowercased");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		r = registry_name_canon(cases[i].name, out, sizeof(out), err,
		    sizeof(err));
		if (cases[i].canon != NULL) {
			test_assert(r == 0);
			test_assert_str(out, cases[i].canon);
		} else {
			if (r != -1 || err[0] == '\0')
				printf("  case %zu: %s\n", i, cases[i].name);
			test_assert(r == -1 && err[0] != '\0');
			if (cases[i].why != NULL)
				test_assert(strstr(err, cases[i].why) != NULL);
		}
	}
	test_end();
}

static void
test_note_syntax(void)
{
	static const struct {
		const char	*note;
		int		 ok;
	} cases[] = {
		{ NULL, 1 },
		{ "", 1 },
		{ "partner ISP, contract 42", 1 },
		{ "Stra\xc3\x9f" "e \xe2\x82\xac", 1 },
		{ "tab\there", 0 },
		{ "new\nline", 0 },
		{ "esc\x1b[31m", 0 },
		{ "del\x7f", 0 },
		{ "c1 \xc2\x85 next line", 0 },
		{ "bad \xc3 utf8", 0 },
		{ "overlong \xc0\xaf", 0 },
	};
	char	 big[REGISTRY_NOTE_MAX + 2];
	size_t	 i;

	test_begin("note: UTF-8 text without controls, bounded");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((registry_note_check(cases[i].note, err, sizeof(err)) ==
		    0) != cases[i].ok)
			printf("  case %zu\n", i);
		test_assert((registry_note_check(cases[i].note, err,
		    sizeof(err)) == 0) == cases[i].ok);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	test_assert(registry_note_check(big, err, sizeof(err)) == -1);
	big[sizeof(big) - 2] = '\0';
	test_assert(registry_note_check(big, err, sizeof(err)) == 0);
	test_end();
}

enum op { ADD, DEL, MATCH };

struct step {
	enum op		 op;
	const char	*name;
	const char	*note;
	time_t		 expires;
	time_t		 now;
	int		 res;
	const char	*matched;	/* MATCH: the entry's name */
};

static void
run_steps(const struct step *s, size_t n)
{
	struct registry_entry	 e;
	size_t			 i;
	int			 r = -1;

	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		switch (s[i].op) {
		case ADD:
			r = registry_add(reg, s[i].name, s[i].note,
			    s[i].expires, s[i].now, err, sizeof(err));
			break;
		case DEL:
			r = registry_del(reg, s[i].name, err, sizeof(err));
			break;
		case MATCH:
			r = registry_match_at(reg, s[i].name, s[i].now, &e);
			break;
		}
		if (r != s[i].res)
			printf("  step %zu (%s): %d, want %d (%s)\n", i,
			    s[i].name, r, s[i].res, err);
		test_assert(r == s[i].res);
		if (s[i].op == MATCH && s[i].matched != NULL) {
			test_assert_str(e.name, s[i].matched);
			if (s[i].note != NULL)
				test_assert_str(e.note, s[i].note);
		}
	}
}

static void
test_add_del_match(void)
{
	static const struct step steps[] = {
		{ ADD, "isp-a.test", "partner", 0, T0, REG_OK, NULL },
		{ ADD, "ISP-A.test", NULL, 0, T0, REG_EXISTS, NULL },
		{ ADD, "mx.isp-b.test", NULL, T0 + DAY, T0, REG_OK, NULL },
		{ ADD, "bad_name.test", NULL, 0, T0, REG_INVALID, NULL },
		{ ADD, "past.test", NULL, T0 - 1, T0, REG_INVALID, NULL },
		{ ADD, "now.test", NULL, T0, T0, REG_INVALID, NULL },
		{ ADD, "ctl.test", "a\nb", 0, T0, REG_INVALID, NULL },
		/* the name itself, a host under a listed domain, deeper */
		{ MATCH, "isp-a.test", "partner", 0, T0, REG_OK,
		    "isp-a.test" },
		{ MATCH, "MX.isp-a.test", "partner", 0, T0, REG_OK,
		    "isp-a.test" },
		{ MATCH, "a.b.c.isp-a.test", NULL, 0, T0, REG_OK,
		    "isp-a.test" },
		{ MATCH, "mx.isp-a.test.", NULL, 0, T0, REG_OK,
		    "isp-a.test" },
		/* a listed host does not cover its parent or siblings */
		{ MATCH, "mx.isp-b.test", "", 0, T0, REG_OK, "mx.isp-b.test" },
		{ MATCH, "isp-b.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		{ MATCH, "mx2.isp-b.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		/* a suffix that is not a label boundary is no parent */
		{ MATCH, "evilisp-a.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		{ MATCH, "isp-a.test.evil.test", NULL, 0, T0, REG_NOTFOUND,
		    NULL },
		{ MATCH, "test", NULL, 0, T0, REG_INVALID, NULL },
		{ MATCH, "x_y.isp-a.test", NULL, 0, T0, REG_INVALID, NULL },
		/* expiry: valid until the second it names */
		{ MATCH, "mx.isp-b.test", NULL, 0, T0 + DAY - 1, REG_OK,
		    "mx.isp-b.test" },
		{ MATCH, "mx.isp-b.test", NULL, 0, T0 + DAY, REG_NOTFOUND,
		    NULL },
		/* an expired entry is replaced by add, never duplicated */
		{ ADD, "mx.isp-b.test", "renewed", 0, T0 + DAY, REG_OK, NULL },
		{ MATCH, "mx.isp-b.test", "renewed", 0, T0 + 5 * DAY, REG_OK,
		    "mx.isp-b.test" },
		{ DEL, "mx.isp-b.test", NULL, 0, T0, REG_OK, NULL },
		{ DEL, "mx.isp-b.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		{ DEL, "nowhere.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		{ DEL, "bad_name.test", NULL, 0, T0, REG_INVALID, NULL },
		{ MATCH, "mx.isp-b.test", NULL, 0, T0, REG_NOTFOUND, NULL },
		/* the nearest listed parent that has not expired wins */
		{ ADD, "sub.isp-a.test", "sub", T0 + DAY, T0, REG_OK, NULL },
		{ MATCH, "mx.sub.isp-a.test", "sub", 0, T0, REG_OK,
		    "sub.isp-a.test" },
		{ MATCH, "mx.sub.isp-a.test", "partner", 0, T0 + DAY, REG_OK,
		    "isp-a.test" },
		{ DEL, "sub.isp-a.test", NULL, 0, T0, REG_OK, NULL },
	};

	test_begin("add/del/match: parents cover hosts, expiry, duplicates");
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
	test_end();
}

static void
test_list(void)
{
	struct registry_entry	*l;
	size_t			 n;

	test_begin("list: sorted, expired entries kept and recognisable");
	test_assert(registry_add(reg, "zz.test", NULL, T0 + 10, T0, err,
	    sizeof(err)) == REG_OK);
	test_assert(registry_add(reg, "aa.test", "first", 0, T0, err,
	    sizeof(err)) == REG_OK);
	test_assert(registry_list(reg, &l, &n) == REG_OK);
	test_assert(n == 3);
	if (n == 3) {
		test_assert_str(l[0].name, "aa.test");
		test_assert_str(l[0].note, "first");
		test_assert(l[0].created == T0 && l[0].expires == 0);
		test_assert_str(l[1].name, "isp-a.test");
		test_assert_str(l[2].name, "zz.test");
		test_assert(!registry_expired(&l[2], T0 + 9));
		test_assert(registry_expired(&l[2], T0 + 10));
		test_assert(!registry_expired(&l[0], T0 + 100 * DAY));
	}
	free(l);
	test_end();
}

/* IPC: the parent's answer to a request, and what makes it garbage. */
static struct ipc_msg *
raw_request(const void *data, size_t len)
{
	struct ipc_msg	*m = ipc_msg_new(IPC_PARENT_REGISTRY, 7);

	ipc_add_data(m, data, len);
	return m;
}

static void
test_ipc(void)
{
	static const struct {
		const char	*names[REGISTRY_ASK_MAX];
		size_t		 n;
		uint32_t	 status, index;
		const char	*name, *note;
	} asks[] = {
		{ { "mx.isp-a.test" }, 1, REGISTRY_ANS_LISTED, 0,
		    "isp-a.test", "partner" },
		{ { "nobody.test", "bad name", "a.b.aa.test" }, 3,
		    REGISTRY_ANS_LISTED, 2, "aa.test", "first" },
		{ { "nobody.test", "[192.0.2.1]", "x", "y.test" }, 4,
		    REGISTRY_ANS_NONE, 0, "", "" },
	};
	static const struct {
		const char	*data;
		size_t		 len;
	} garbage[] = {
		{ "", 0 },
		{ "a.test", 6 },			/* no NUL */
		{ "a.test\0\0", 8 },			/* empty name */
		{ "\0", 1 },
		{ "a\0b\0c\0d\0e\0", 10 },		/* five names */
	};
	struct ipc_msg	*q, *a;
	const char	*name, *note;
	uint32_t	 status, index;
	size_t		 i;

	test_begin("ipc: registry request answered, garbage refused");
	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		q = registry_ipc_request(9, asks[i].names, asks[i].n);
		a = registry_ipc_answer(reg, q);
		test_assert(a != NULL);
		if (a == NULL) {
			ipc_msg_free(q);
			continue;
		}
		test_assert(a->id == 9);
		test_assert(registry_ipc_result(a, &status, &index, &name,
		    &note) == 0);
		test_assert(status == asks[i].status);
		test_assert(index == asks[i].index);
		test_assert_str(name, asks[i].name);
		test_assert_str(note, asks[i].note);
		ipc_msg_free(q);
		ipc_msg_free(a);
	}
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		q = raw_request(garbage[i].data, garbage[i].len);
		a = registry_ipc_answer(reg, q);
		if (a != NULL)
			printf("  garbage %zu answered\n", i);
		test_assert(a == NULL);
		ipc_msg_free(q);
	}
	/* a string field instead of data, a trailing field, an fd */
	q = ipc_msg_new(IPC_PARENT_REGISTRY, 1);
	ipc_add_str(q, "a.test");
	test_assert(registry_ipc_answer(reg, q) == NULL);
	ipc_msg_free(q);
	q = raw_request("a.test", 7);
	ipc_add_u32(q, 1);
	test_assert(registry_ipc_answer(reg, q) == NULL);
	ipc_msg_free(q);
	q = raw_request("a.test", 7);
	q->fd = dup(0);
	test_assert(registry_ipc_answer(reg, q) == NULL);
	ipc_msg_free(q);
	test_end();
}

/* The DNS registry zones' query names (registry_dns.h). */
static void
test_dns_names(void)
{
	static const struct {
		const char	*ip;
		const char	*zone;
		const char	*want;
	} cases[] = {
		{ "192.0.2.1", "reg.test", "1.2.0.192.reg.test" },
		{ "127.0.0.2", "allow.example.test",
		    "2.0.0.127.allow.example.test" },
		{ "10.20.30.40", "z.test", "40.30.20.10.z.test" },
		{ "2001:db8::1", "reg.test",
		    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.reg.test" },
		{ "::ffff:192.0.2.1", "reg.test",
		    "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0."
		    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.reg.test" },
		{ "fe80::abcd:12", "r.test",
		    "2.1.0.0.d.c.b.a.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.r.test" },
	};
	struct dns_addr	 a;
	char		 out[DNS_NAME_TEXT_MAX];
	size_t		 i;

	test_begin("dns names: reversed IPv4 octets, IPv6 nibbles, zone");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0, sizeof(a));
		if (inet_pton(AF_INET, cases[i].ip, &a.u.v4) == 1)
			a.af = AF_INET;
		else {
			test_assert(inet_pton(AF_INET6, cases[i].ip,
			    &a.u.v6) == 1);
			a.af = AF_INET6;
		}
		test_assert(registry_dns_ip_name(&a, cases[i].zone, out,
		    sizeof(out)) == 0);
		test_assert_str(out, cases[i].want);
	}
	/* too small a buffer, or no room for the zone */
	memset(&a, 0, sizeof(a));
	a.af = AF_INET;
	test_assert(registry_dns_ip_name(&a, "reg.test", out, 10) == -1);
	test_assert(registry_dns_name_name("isp-a.test", "reg.test", out,
	    sizeof(out)) == 0);
	test_assert_str(out, "isp-a.test.reg.test");
	test_assert(registry_dns_name_name("isp-a.test", "reg.test", out,
	    12) == -1);
	test_end();
}

static void
test_zones_syntax(void)
{
	static const struct {
		const char	*zones;
		int		 n;	/* -1: refused */
	} cases[] = {
		{ "", 0 },
		{ "reg.test", 1 },
		{ "reg.test  allow.example.test\tx.test", 3 },
		{ "reg.test,allow.test", 2 },
		{ "bad_zone.test", -1 },
		{ "[127.0.0.1]", -1 },
		{ "a.test b.test c.test d.test e.test f.test g.test h.test "
		    "i.test", -1 },
	};
	size_t	 i;

	test_begin("zones: names separated by spaces or commas, at most 8");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_assert(registry_dns_zones_check(cases[i].zones) ==
		    cases[i].n);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_name_syntax,
		test_note_syntax,
		test_add_del_match,
		test_list,
		test_ipc,
		test_dns_names,
		test_zones_syntax,
		NULL
	};
	int	 r;

	log_init("test-registry", 1, LOG_LVL_ERR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if ((env = db_env_open(tmpdir)) == NULL ||
	    (reg = registry_open(env)) == NULL) {
		fprintf(stderr, "cannot open the database\n");
		return 1;
	}
	r = test_run(tests);
	registry_close(reg);
	db_env_close(env);
	test_rmtree(tmpdir);
	return r;
}
