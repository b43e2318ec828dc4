/*
 * test-config.c - sealmail.conf parsing: defaults, paths against prefix,
 * and errors that name file, line and key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static int
parse(const char *text, struct sm_config *c, char *err, size_t errlen)
{
	return config_parse_mem("t.conf", text, strlen(text), c, err, errlen);
}

static void
test_config_defaults_and_prefix(void)
{
	struct sm_config c;
	char	 err[256];

	test_begin("config applies defaults and resolves paths against prefix");
	test_assert(parse("[global]\nqueue_dir = q\nprefix = /srv/sm\n"
	    "hostname = mx.example.test\n", &c, err, sizeof(err)) == 0);
	test_assert_str(c.queue_dir, "/srv/sm/q");
	test_assert_str(c.db_dir, "/srv/sm/var/lib/sealmail/db");
	test_assert_str(c.hostname, "mx.example.test");
	test_assert_str(c.user, "sealmail");
	test_assert(c.max_message_size == 25 * 1024 * 1024);
	test_assert(c.queue_lifetime == 5 * 86400);
	test_assert(c.default_max_rcpt_per_msg == 50);
	test_assert(c.default_max_rcpt_per_day == 300);
	test_assert(c.smtpd_listen.n == 1);
	test_assert_str(c.smtpd_listen.addr[0], "0.0.0.0:25");
	test_assert(c.lmtp_max_sessions == 64);
	test_assert(c.delivery_record_days == 10);
	test_assert(c.smtpd_registry_zones == NULL);
	test_assert(c.trace_days == 90);
	config_free(&c);
	test_end();
}

static void
test_config_values(void)
{
	struct sm_config c;
	char	 err[256];

	test_begin("config parses sizes, durations, listen lists, comments");
	test_assert(parse("# comment\n[global]\n  prefix=/x  \n"
	    "[smtpd]\r\nlisten = 127.0.0.1:2525 [::1]:2525\n"
	    "max_message_size = 10M\nretry_min = 90s\n"
	    "registry_zones = reg.test, allow.example.test\n"
	    "; another comment\n[submitd]\nlisten =\n", &c, err,
	    sizeof(err)) == 0);
	test_assert(c.smtpd_listen.n == 2);
	test_assert_str(c.smtpd_listen.addr[1], "[::1]:2525");
	test_assert(c.max_message_size == 10 * 1024 * 1024);
	test_assert(c.retry_min == 90);
	test_assert_str(c.smtpd_registry_zones,
	    "reg.test, allow.example.test");
	test_assert(c.submitd_listen.n == 0);
	test_assert_str(c.verdict_mode, "soft");
	test_assert(c.verdict_require == NULL);
	config_free(&c);
	test_assert(parse("[smtpd]\nverdict_mode = HardLine\n"
	    "verdict_require = tls,SPF  callback\n", &c, err,
	    sizeof(err)) == 0);
	test_assert_str(c.verdict_mode, "hardline");
	test_assert_str(c.verdict_require, "tls spf callback");
	config_free(&c);
	test_end();
}

static void
test_config_session_limits(void)
{
	struct sm_config c;
	char	 err[256];

	test_begin("config: session deadlines and stress, defaults and "
	    "values");
	test_assert(parse("[global]\n", &c, err, sizeof(err)) == 0);
	test_assert(c.smtpd_max_sessions == 2000);
	test_assert(c.submitd_max_sessions == 2000);
	test_assert(c.imapd_max_sessions == 2000);
	test_assert(c.smtpd_limits.greeting_timeout == 60);
	test_assert(c.smtpd_limits.command_timeout == 300);
	test_assert(c.smtpd_limits.data_timeout == 300);
	test_assert(c.smtpd_limits.data_min_rate == 16 * 1024);
	test_assert(c.smtpd_limits.session_timeout == 3600);
	test_assert(c.smtpd_limits.stress_threshold == 80);
	test_assert(c.smtpd_limits.stress_timeout == 10);
	test_assert(c.submitd_limits.command_timeout == 300);
	test_assert(c.submitd_limits.stress_timeout == 10);
	test_assert(c.imapd_login_timeout == 60);
	test_assert(c.imapd_limits.stress_threshold == 80);
	test_assert(c.imapd_limits.stress_timeout == 10);
	config_free(&c);
	test_assert(parse("[smtpd]\ncommand_timeout = 2m\n"
	    "stress_threshold = 0\ndata_min_rate = 1M\n[submitd]\n"
	    "session_timeout = 2h\nstress_timeout = 5s\n[imapd]\n"
	    "login_timeout = 30s\nstress_threshold = 100\n", &c, err,
	    sizeof(err)) == 0);
	test_assert(c.smtpd_limits.command_timeout == 120);
	test_assert(c.smtpd_limits.stress_threshold == 0);
	test_assert(c.smtpd_limits.data_min_rate == 1024 * 1024);
	test_assert(c.submitd_limits.session_timeout == 7200);
	test_assert(c.submitd_limits.stress_timeout == 5);
	test_assert(c.submitd_limits.command_timeout == 300);
	test_assert(c.imapd_login_timeout == 30);
	test_assert(c.imapd_limits.stress_threshold == 100);
	config_free(&c);
	test_end();
}

static const struct {
	const char	*text;
	const char	*err;
} bad_cases[] = {
	{ "[global]\nbogus = 1\n", "t.conf:2: bogus: unknown key" },
	{ "[nosuch]\n", "t.conf:1: nosuch: unknown section" },
	{ "prefix = /x\n", "t.conf:1: prefix: key outside a section" },
	{ "[global]\n\nprefix\n", "t.conf:3: expected key = value" },
	{ "[smtpd]\nmax_sessions = -1\n", "t.conf:2: max_sessions: expected" },
	{ "[smtpd]\nmax_message_size = 10X\n",
	    "t.conf:2: max_message_size: expected a size" },
	{ "[smtpd]\nqueue_lifetime = forever\n",
	    "t.conf:2: queue_lifetime: expected a duration" },
	{ "[smtpd]\nlisten = localhost\n", "t.conf:2: listen: expected host" },
	{ "[smtpd]\nlisten = 1.2.3.4:70000\n", "t.conf:2: listen: expected" },
	{ "[global]\nuser = ro ot\n", "t.conf:2: user: not a valid user" },
	{ "[global]\npostmaster = nobody\n", "t.conf:2: postmaster: not a" },
	/* common/addr's mailbox rule (the old check took these) */
	{ "[global]\npostmaster = a@b@example.test\n",
	    "t.conf:2: postmaster: not a" },
	{ "[global]\npostmaster = ops@example.test.\n",
	    "t.conf:2: postmaster: not a" },
	{ "[global]\npostmaster = .ops@example.test\n",
	    "t.conf:2: postmaster: not a" },
	{ "[global]\nlog_level = loud\n", "t.conf:2: log_level: expected" },
	{ "[smtpd]\nverdict_mode = strict\n",
	    "t.conf:2: verdict_mode: expected one of: soft hardline" },
	{ "[smtpd]\nverdict_mode = soft hardline\n",
	    "t.conf:2: verdict_mode: expected one of" },
	{ "[smtpd]\n\nverdict_require = tls dnssec\n",
	    "t.conf:3: verdict_require: expected any of: tls spf registry "
	    "callback" },
	{ "[global]\n\ntrace_days = 90d\n", "t.conf:3: trace_days: expected" },
	{ "[global]\ntrace_days = -1\n", "t.conf:2: trace_days: expected" },
	{ "[global]\nprefix = /a\nprefix = /b\n", "t.conf:3: prefix: set twice" },
	{ "[global]\nprefix = rel\n", "t.conf:0: prefix: must be an absolute" },
	{ "[global\n", "t.conf:1: malformed section header" },
	{ "[global]\nprefix =\n", "t.conf:2: prefix: empty value" },
	{ "[smtpd]\nmax_message_size = 99999999999999999999G\n",
	    "t.conf:2: max_message_size: expected a size" },
	{ "[smtpd]\nstress_threshold = 101\n",
	    "t.conf:2: stress_threshold: expected a percentage" },
	{ "[imapd]\nstress_threshold = -5\n",
	    "t.conf:2: stress_threshold: expected a percentage" },
	{ "[submitd]\ncommand_timeout = soon\n",
	    "t.conf:2: command_timeout: expected a duration" },
	{ "[smtpd]\ndata_min_rate = fast\n",
	    "t.conf:2: data_min_rate: expected a size" },
	{ "[imapd]\ncommand_timeout = 5m\n",
	    "t.conf:2: command_timeout: unknown key" },
	{ "[smtpd]\nmax_sessions = +5\n", "t.conf:2: max_sessions: expected" },
	{ "[smtpd]\nmax_rcpt = 2147483648\n", "t.conf:2: max_rcpt: expected" },
	{ "[keystore]\nforward = nohost\n", "t.conf:2: forward: expected" },
	{ "[global]\nresolver = 127.0.0.1@0\n",
	    "t.conf:2: resolver: expected" },
	{ "[smtpd]\nmta_sts_port = 0\n",
	    "t.conf:2: mta_sts_port: expected a port number" },
	{ "[smtpd]\nmta_sts_port = 65536\n",
	    "t.conf:2: mta_sts_port: expected a port number" },
	{ "[smtpd]\nmta_sts_port = https\n",
	    "t.conf:2: mta_sts_port: expected a port number" },
	{ "[smtpd]\nregistry_zones = reg.test bad_zone.test\n",
	    "t.conf:2: registry_zones: expected up to 8 domain names" },
	{ "[smtpd]\nregistry_zones = [127.0.0.1]\n",
	    "t.conf:2: registry_zones: expected" },
	{ "[smtpd]\nregistry_zones = a.t b.t c.t d.t e.t f.t g.t h.t i.t\n",
	    "t.conf:2: registry_zones: expected" },
	{ "[smtpd]\ncallback_port = 65536\n",
	    "t.conf:2: callback_port: expected 0 (off) or a port number" },
	{ "[smtpd]\ncallback_port = -1\n",
	    "t.conf:2: callback_port: expected 0 (off) or a port number" },
	{ "[smtpd]\ncallback_port = yes\n",
	    "t.conf:2: callback_port: expected 0 (off) or a port number" },
};

static void
test_config_errors_name_file_line_key(void)
{
	struct sm_config c;
	char	 err[256];
	size_t	 i;

	test_begin("config errors name file, line and key");
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		test_assert(parse(bad_cases[i].text, &c, err,
		    sizeof(err)) == -1);
		if (strncmp(err, bad_cases[i].err,
		    strlen(bad_cases[i].err)) != 0) {
			printf("  case %zu: got \"%s\", want \"%s...\"\n", i,
			    err, bad_cases[i].err);
			test_assert(0);
		}
	}
	test_end();
}

/*
 * The value parsers, which userdb's per-user settings share: one reading
 * of a number, a size and a yes/no everywhere.
 */
static void
test_config_value_parsers(void)
{
	static const struct {
		int		 kind;	/* 'u' uint, 'b' bytes, 'y' bool */
		const char	*s;
		uint64_t	 max;
		int		 ok;
		uint64_t	 want;
	} cases[] = {
		{ 'u', "0", 10, 1, 0 },
		{ 'u', "007", 10, 1, 7 },
		{ 'u', "10", 10, 1, 10 },
		{ 'u', "11", 10, 0, 0 },
		{ 'u', "", 10, 0, 0 },
		{ 'u', "+5", 10, 0, 0 },
		{ 'u', "-0", 10, 0, 0 },
		{ 'u', " 5", 10, 0, 0 },
		{ 'u', "5k", 100000, 0, 0 },
		{ 'u', "99999999999999999999", UINT64_MAX, 0, 0 },
		{ 'b', "64k", UINT64_MAX, 1, 65536 },
		{ 'b', "64K", UINT64_MAX, 1, 65536 },
		{ 'b', "25M", UINT64_MAX, 1, 25 << 20 },
		{ 'b', "25m", UINT64_MAX, 1, 25 << 20 },
		{ 'b', "1g", UINT64_MAX, 1, 1 << 30 },
		{ 'b', "2G", UINT64_MAX, 1, 2ULL << 30 },
		{ 'b', "1T", UINT64_MAX, 0, 0 },
		{ 'b', "1kb", UINT64_MAX, 0, 0 },
		{ 'b', "k", UINT64_MAX, 0, 0 },
		{ 'b', "1024", 1024, 1, 1024 },
		{ 'b', "2k", 1024, 0, 0 },
		{ 'b', "17179869184G", UINT64_MAX, 0, 0 },
		{ 'y', "yes", 0, 1, 1 },
		{ 'y', "YES", 0, 1, 1 },
		{ 'y', "True", 0, 1, 1 },
		{ 'y', "on", 0, 1, 1 },
		{ 'y', "1", 0, 1, 1 },
		{ 'y', "no", 0, 1, 0 },
		{ 'y', "Off", 0, 1, 0 },
		{ 'y', "FALSE", 0, 1, 0 },
		{ 'y', "0", 0, 1, 0 },
		{ 'y', "maybe", 0, 0, 0 },
		{ 'y', "", 0, 0, 0 },
		{ 'y', "yes ", 0, 0, 0 },
	};
	uint64_t n;
	size_t	 i;
	int	 b, r;

	test_begin("config: numbers, sizes and yes/no read one way");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 12345;
		switch (cases[i].kind) {
		case 'u':
			r = cfg_parse_uint(cases[i].s, cases[i].max, &n);
			break;
		case 'b':
			r = cfg_parse_bytes(cases[i].s, cases[i].max, &n);
			break;
		default:
			r = cfg_parse_bool(cases[i].s, &b);
			n = (uint64_t)b;
			break;
		}
		if ((r == 0) != cases[i].ok || (r == 0 && n != cases[i].want)) {
			printf("  case %c \"%s\": r=%d n=%llu\n", cases[i].kind,
			    cases[i].s, r, (unsigned long long)n);
			test_assert(0);
		}
	}
	test_end();
}

/* check-config -v: every key once, values as a file would write them. */
static void
test_config_dump(void)
{
	struct sm_config c;
	char	 err[256], out[16384];
	ssize_t	 n;
	int	 fd[2];

	test_begin("config dump: section.key=value for every key");
	test_assert(parse("[global]\nprefix = /p\nhostname = h.test\n"
	    "[smtpd]\nlisten = 127.0.0.1:25 [::1]:25\nmax_message_size = 2m\n"
	    "retry_min = 1h\n", &c, err, sizeof(err)) == 0);
	test_assert(pipe(fd) == 0);
	config_dump(&c, fd[1]);
	close(fd[1]);
	n = read(fd[0], out, sizeof(out) - 1);
	close(fd[0]);
	out[n > 0 ? n : 0] = '\0';
	test_assert(strstr(out, "global.prefix=/p\n") != NULL);
	test_assert(strstr(out, "global.queue_dir=/p/var/spool/sealmail/"
	    "queue\n") != NULL);
	test_assert(strstr(out, "global.tls_cert=\n") != NULL);
	test_assert(strstr(out, "global.postmaster=\n") != NULL);
	test_assert(strstr(out, "smtpd.listen=127.0.0.1:25 [::1]:25\n") !=
	    NULL);
	test_assert(strstr(out, "smtpd.max_message_size=2097152\n") != NULL);
	test_assert(strstr(out, "smtpd.retry_min=3600\n") != NULL);
	test_assert(strstr(out, "smtpd.stress_threshold=80\n") != NULL);
	test_assert(strstr(out, "global.log_level=") != NULL);
	config_free(&c);
	test_end();
}

static void
test_config_load_missing_file(void)
{
	struct sm_config c;
	char	 err[256];

	test_begin("config_load names a file it cannot open");
	test_assert(config_load("/nonexistent/sm.conf", &c, err,
	    sizeof(err)) == -1);
	test_assert(strstr(err, "/nonexistent/sm.conf") != NULL);
	test_end();
}

/* The shipped sample must parse and match the built-in defaults. */
static void
test_config_sample_file_parses(void)
{
	struct sm_config c, d;
	char	 err[256];
	const char *src = getenv("srcdir");
	char	 path[1024];

	test_begin("config: etc/sealmail.conf parses and equals the defaults");
	snprintf(path, sizeof(path), "%s/etc/sealmail.conf",
	    src != NULL ? src : "..");
	test_assert(config_load(path, &c, err, sizeof(err)) == 0);
	if (c.path == NULL) {
		printf("  %s\n", err);
		test_end();
		return;
	}
	test_assert(parse("[global]\n", &d, err, sizeof(err)) == 0);
	test_assert_str(c.queue_dir, d.queue_dir);
	test_assert(c.max_message_size == d.max_message_size);
	test_assert(c.retry_max == d.retry_max);
	test_assert(c.imapd_max_literal == d.imapd_max_literal);
	test_assert(c.lmtp_max_sessions == d.lmtp_max_sessions);
	test_assert(c.delivery_record_days == d.delivery_record_days);
	test_assert(c.smtpd_max_sessions == d.smtpd_max_sessions);
	test_assert(c.submitd_max_sessions == d.submitd_max_sessions);
	test_assert(memcmp(&c.smtpd_limits, &d.smtpd_limits,
	    sizeof(c.smtpd_limits)) == 0);
	test_assert(memcmp(&c.submitd_limits, &d.submitd_limits,
	    sizeof(c.submitd_limits)) == 0);
	test_assert(c.imapd_login_timeout == d.imapd_login_timeout);
	test_assert(c.imapd_limits.stress_threshold ==
	    d.imapd_limits.stress_threshold);
	test_assert_str(c.submitd_listen_tls.addr[0],
	    d.submitd_listen_tls.addr[0]);
	config_free(&c);
	config_free(&d);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_config_defaults_and_prefix,
		test_config_values,
		test_config_session_limits,
		test_config_errors_name_file_line_key,
		test_config_value_parsers,
		test_config_dump,
		test_config_load_missing_file,
		test_config_sample_file_parses,
		NULL
	};

	return test_run(tests);
}
