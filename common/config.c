/*
 * config.c - the sealmail.conf parser; see config.h.
 *
 * The table cfg_keys[] is the whole schema: section, key, type, default,
 * and where the value lands in struct sm_config.  Adding a setting is one
 * line here and one field in config.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "xmalloc.h"

#define CFG_MAX_FILE	(1024 * 1024)
#define CFG_MAX_LINE	4096

enum cfg_type {
	CFG_STR,	/* any non-empty text */
	CFG_PATH,	/* resolved against prefix */
	CFG_USER,	/* a user name */
	CFG_INT,
	CFG_PERCENT,	/* an integer 0 to 100 */
	CFG_SIZE,	/* bytes, with k/M/G */
	CFG_DURATION,	/* seconds, with s/m/h/d */
	CFG_BOOL,
	CFG_LISTEN,	/* one or more host:port */
	CFG_LOGLEVEL,
	CFG_ADDR,	/* a mail address or empty */
	CFG_RESOLVER,	/* empty or "ADDR[@PORT] ..." (common/dns.h) */
	CFG_HOSTPORT	/* empty or "host:port" */
};

struct cfg_key {
	const char	*section;
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	const char	*def;		/* NULL: no default (unset) */
};

#define O(f)	offsetof(struct sm_config, f)

/*
 * Session deadlines as Postfix sets smtpd_timeout (300s, 10s under
 * stress); the first command comes at once from any MTA or MUA; content
 * at 16 KB/s is 25 MB in under half an hour.
 */
#define SESSION_LIMITS(sec, f)						\
	{ sec, "greeting_timeout", CFG_DURATION,			\
	    O(f.greeting_timeout), "1m" },				\
	{ sec, "command_timeout", CFG_DURATION,				\
	    O(f.command_timeout), "5m" },				\
	{ sec, "data_timeout", CFG_DURATION, O(f.data_timeout), "5m" },	\
	{ sec, "data_min_rate", CFG_SIZE, O(f.data_min_rate), "16k" },	\
	{ sec, "session_timeout", CFG_DURATION,				\
	    O(f.session_timeout), "1h" },				\
	{ sec, "stress_threshold", CFG_PERCENT,				\
	    O(f.stress_threshold), "80" },				\
	{ sec, "stress_timeout", CFG_DURATION, O(f.stress_timeout),	\
	    "10s" }

static const struct cfg_key cfg_keys[] = {
	{ "global", "prefix", CFG_STR, O(prefix), "/" },
	{ "global", "hostname", CFG_STR, O(hostname), NULL },
	{ "global", "user", CFG_USER, O(user), "sealmail" },
	{ "global", "queue_user", CFG_USER, O(queue_user), "sealmailq" },
	{ "global", "mail_user", CFG_USER, O(mail_user), "vmail" },
	{ "global", "empty_dir", CFG_PATH, O(empty_dir), "var/empty" },
	{ "global", "run_dir", CFG_PATH, O(run_dir), "run/sealmail" },
	{ "global", "db_dir", CFG_PATH, O(db_dir), "var/lib/sealmail/db" },
	{ "global", "queue_dir", CFG_PATH, O(queue_dir),
	    "var/spool/sealmail/queue" },
	{ "global", "mail_root", CFG_PATH, O(mail_root), "var/mail/sealmail" },
	{ "global", "quarantine_dir", CFG_PATH, O(quarantine_dir),
	    "var/spool/sealmail/quarantine" },
	{ "global", "passwd_db", CFG_PATH, O(passwd_db),
	    "var/lib/sealmail/db/passwd" },
	{ "global", "tls_cert", CFG_PATH, O(tls_cert), NULL },
	{ "global", "tls_key", CFG_PATH, O(tls_key), NULL },
	{ "global", "tls_ca", CFG_PATH, O(tls_ca), NULL },
	{ "global", "postmaster", CFG_ADDR, O(postmaster), "" },
	{ "global", "log_level", CFG_LOGLEVEL, O(log_level), "info" },
	{ "global", "resolver", CFG_RESOLVER, O(resolver), NULL },

	{ "smtpd", "listen", CFG_LISTEN, O(smtpd_listen), "0.0.0.0:25" },
	{ "smtpd", "queue_socket", CFG_PATH, O(queue_socket),
	    "run/sealmail/queue.sock" },
	{ "smtpd", "max_message_size", CFG_SIZE, O(max_message_size), "25M" },
	{ "smtpd", "max_sessions", CFG_INT, O(smtpd_max_sessions), "2000" },
	{ "smtpd", "max_sessions_per_ip", CFG_INT,
	    O(smtpd_max_sessions_per_ip), "20" },
	SESSION_LIMITS("smtpd", smtpd_limits),
	{ "smtpd", "max_rcpt", CFG_INT, O(smtpd_max_rcpt), "100" },
	{ "smtpd", "queue_lifetime", CFG_DURATION, O(queue_lifetime), "5d" },
	{ "smtpd", "retry_min", CFG_DURATION, O(retry_min), "5m" },
	{ "smtpd", "retry_max", CFG_DURATION, O(retry_max), "4h" },
	{ "smtpd", "sign_ed25519", CFG_BOOL, O(sign_ed25519), "yes" },
	{ "smtpd", "signature_ttl", CFG_DURATION, O(signature_ttl), "7d" },

	{ "submitd", "listen", CFG_LISTEN, O(submitd_listen), "0.0.0.0:587" },
	{ "submitd", "listen_tls", CFG_LISTEN, O(submitd_listen_tls),
	    "0.0.0.0:465" },
	{ "submitd", "pam_service", CFG_STR, O(pam_service), "sealmail" },
	{ "submitd", "max_sessions", CFG_INT, O(submitd_max_sessions),
	    "2000" },
	{ "submitd", "max_sessions_per_ip", CFG_INT,
	    O(submitd_max_sessions_per_ip), "10" },
	SESSION_LIMITS("submitd", submitd_limits),
	{ "submitd", "auth_fail_max", CFG_INT, O(auth_fail_max), "10" },
	{ "submitd", "auth_fail_window", CFG_DURATION, O(auth_fail_window),
	    "15m" },
	{ "submitd", "max_rcpt_per_msg", CFG_INT,
	    O(default_max_rcpt_per_msg), "50" },
	{ "submitd", "max_rcpt_per_day", CFG_INT,
	    O(default_max_rcpt_per_day), "300" },

	{ "imapd", "listen", CFG_LISTEN, O(imapd_listen), "0.0.0.0:143" },
	{ "imapd", "listen_tls", CFG_LISTEN, O(imapd_listen_tls),
	    "0.0.0.0:993" },
	{ "imapd", "max_sessions", CFG_INT, O(imapd_max_sessions), "2000" },
	{ "imapd", "max_sessions_per_ip", CFG_INT,
	    O(imapd_max_sessions_per_ip), "50" },
	{ "imapd", "login_timeout", CFG_DURATION, O(imapd_login_timeout),
	    "1m" },
	{ "imapd", "stress_threshold", CFG_PERCENT,
	    O(imapd_limits.stress_threshold), "80" },
	{ "imapd", "stress_timeout", CFG_DURATION,
	    O(imapd_limits.stress_timeout), "10s" },
	{ "imapd", "max_literal", CFG_SIZE, O(imapd_max_literal), "64M" },
	{ "imapd", "max_command", CFG_SIZE, O(imapd_max_command), "64M" },
	{ "imapd", "auth_fail_max", CFG_INT, O(imapd_auth_fail_max), "10" },
	{ "imapd", "auth_fail_window", CFG_DURATION,
	    O(imapd_auth_fail_window), "15m" },

	{ "mda", "lmtp_socket", CFG_PATH, O(lmtp_socket),
	    "run/sealmail/lmtp.sock" },
	{ "mda", "trusted_user", CFG_USER, O(lmtp_trusted_user), "sealmailq" },
	{ "mda", "quarantine_days", CFG_INT, O(quarantine_days), "14" },
	{ "mda", "lmtp_max_sessions", CFG_INT, O(lmtp_max_sessions), "64" },
	{ "mda", "delivery_record_days", CFG_INT, O(delivery_record_days),
	    "10" },

	{ "keystore", "socket", CFG_PATH, O(keystore_socket),
	    "run/sealmail/keystore.sock" },
	{ "keystore", "listen", CFG_LISTEN, O(keystore_listen),
	    "0.0.0.0:4025" },
	{ "keystore", "clients", CFG_STR, O(keystore_clients), "sealmailq" },
	{ "keystore", "db_dir", CFG_PATH, O(keystore_db_dir),
	    "var/lib/sealmail/keys" },
	{ "keystore", "passphrase_file", CFG_PATH,
	    O(keystore_passphrase_file), "etc/sealmail/keystore.passphrase" },
	{ "keystore", "rotate_grace", CFG_DURATION, O(keystore_rotate_grace),
	    "7d" },
	{ "keystore", "revoked_publish", CFG_DURATION,
	    O(keystore_revoked_publish), "30d" },
	{ "keystore", "forward", CFG_HOSTPORT, O(keystore_forward), NULL },
};

#undef SESSION_LIMITS
#undef O

#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const char *cfg_sections[] = {
	"global", "smtpd", "submitd", "imapd", "mda", "keystore"
};

const char *
config_default_path(void)
{
	const char *env = getenv("SEALMAIL_CONF");

	if (env != NULL && *env != '\0')
		return env;
	return SM_SYSCONFDIR "/sealmail/sealmail.conf";
}

int
cfg_parse_bool(const char *s, int *v)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*v = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

/* A decimal number with an optional unit suffix from units/mults. */
static int
cfg_parse_scaled(const char *s, const char *units, const unsigned long *mult,
    unsigned long long max, unsigned long long *v)
{
	unsigned long long n;
	const char *p, *u;
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	p = end;
	if (*p != '\0') {
		if (p[1] != '\0' || (u = strchr(units, *p)) == NULL)
			return -1;
		if (n > max / mult[u - units])
			return -1;
		n *= mult[u - units];
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

int
cfg_parse_size(const char *s, size_t *v)
{
	static const unsigned long mult[] = { 1024, 1024, 1048576, 1073741824 };
	unsigned long long n;

	if (cfg_parse_scaled(s, "kKMG", mult, SIZE_MAX / 2, &n) == -1)
		return -1;
	*v = (size_t)n;
	return 0;
}

int
cfg_parse_duration(const char *s, long *v)
{
	static const unsigned long mult[] = { 1, 60, 3600, 86400, 604800 };
	unsigned long long n;

	if (cfg_parse_scaled(s, "smhdw", mult, LONG_MAX / 2, &n) == -1)
		return -1;
	*v = (long)n;
	return 0;
}

/*
 * "host:port", "[v6addr]:port" or "*:port"; the host part is returned
 * without brackets.
 */
int
cfg_parse_listen_addr(const char *s, char **host_r, char **port_r)
{
	const char *colon, *end;
	char	*ep;
	long	 port;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
		if (end == s + 1)
			return -1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || colon == s)
			return -1;
		end = colon;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || port < 0 ||
	    port > 65535)
		return -1;
	if (host_r != NULL) {
		if (*s == '[')
			*host_r = xstrndup(s + 1, (size_t)(end - s - 1));
		else
			*host_r = xstrndup(s, (size_t)(end - s));
	}
	if (port_r != NULL)
		*port_r = xstrdup(colon + 1);
	return 0;
}

static int
cfg_valid_user(const char *s)
{
	size_t	 i;

	if (*s == '\0' || strlen(s) > 32 || *s == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return 0;
	return 1;
}

/* A mailbox by common/addr's path rule (UTF-8 allowed), or empty. */
static int
cfg_valid_addr(const char *s)
{
	return *s == '\0' || addr_check(s, ADDR_UTF8, NULL, 0) == 0;
}

/*
 * One or more "ADDR[@PORT]" separated by spaces or commas: IPv4 or IPv6
 * literals, a port from 1 to 65535 (libunbound's forwarder syntax).
 */
int
cfg_valid_resolver(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	char	*copy, *p, *tok, *at, *end;
	long	 port;
	int	 n = 0, ok = 1;

	copy = xstrdup(s);
	for (p = copy; ok && (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if ((at = strchr(tok, '@')) != NULL) {
			*at++ = '\0';
			errno = 0;
			port = strtol(at, &end, 10);
			ok = *at >= '0' && *at <= '9' && *end == '\0' &&
			    errno == 0 && port > 0 && port <= 65535;
		}
		ok = ok && (inet_pton(AF_INET, tok, a) == 1 ||
		    inet_pton(AF_INET6, tok, a) == 1) && ++n <= CFG_LISTEN_MAX;
	}
	free(copy);
	return ok && n > 0;
}

/* "host:port" with a host name or address ("[v6]:port"), port 1-65535. */
static int
cfg_valid_hostport(const char *s)
{
	char	*host, *port;
	size_t	 i;
	int	 ok;

	if (cfg_parse_listen_addr(s, &host, &port) == -1)
		return 0;
	ok = *host != '\0' && strcmp(port, "0") != 0;
	for (i = 0; ok && host[i] != '\0'; i++)
		ok = isalnum((unsigned char)host[i]) ||
		    strchr(s[0] == '[' ? ".-:" : ".-", host[i]) != NULL;
	free(host);
	free(port);
	return ok;
}

static void
cfg_listen_clear(struct cfg_listen *l)
{
	int	 i;

	for (i = 0; i < l->n; i++)
		free(l->addr[i]);
	l->n = 0;
}

static int
cfg_set_listen(struct cfg_listen *l, const char *v, const char **why)
{
	char	*copy, *p, *tok;

	cfg_listen_clear(l);
	copy = xstrdup(v);
	for (p = copy; (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (l->n == CFG_LISTEN_MAX) {
			*why = "too many addresses";
			goto bad;
		}
		if (cfg_parse_listen_addr(tok, NULL, NULL) == -1 ||
		    strcmp(strrchr(tok, ':'), ":0") == 0) {
			*why = "expected host:port, [ipv6]:port or *:port";
			goto bad;
		}
		l->addr[l->n++] = xstrdup(tok);
	}
	free(copy);
	return 0;
bad:
	free(copy);
	cfg_listen_clear(l);
	return -1;
}

/* Store v as the value of key k; *why says what is wrong on failure. */
static int
cfg_set(struct sm_config *c, const struct cfg_key *k, const char *v,
    const char **why)
{
	void	*field = (char *)c + k->off;
	long long n;
	char	*end;

	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
		if (*v == '\0' && k->def != NULL) {
			*why = "empty value";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = *v == '\0' ? NULL : xstrdup(v);
		return 0;
	case CFG_USER:
		if (!cfg_valid_user(v)) {
			*why = "not a valid user name";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case CFG_ADDR:
		if (!cfg_valid_addr(v)) {
			*why = "not a mail address (local@domain)";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case CFG_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 || n < 0 ||
		    n > INT_MAX) {
			*why = "expected a non-negative integer";
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case CFG_PERCENT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 || n < 0 ||
		    n > 100) {
			*why = "expected a percentage from 0 to 100";
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case CFG_SIZE:
		if (cfg_parse_size(v, (size_t *)field) == -1) {
			*why = "expected a size such as 4096, 64k, 25M or 1G";
			return -1;
		}
		return 0;
	case CFG_DURATION:
		if (cfg_parse_duration(v, (long *)field) == -1) {
			*why = "expected a duration such as 30s, 5m, 4h or 5d";
			return -1;
		}
		return 0;
	case CFG_BOOL:
		if (cfg_parse_bool(v, (int *)field) == -1) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case CFG_LOGLEVEL:
		if ((*(int *)field = log_level_parse(v)) == -1) {
			*why = "expected err, warn, info or debug";
			return -1;
		}
		return 0;
	case CFG_LISTEN:
		return cfg_set_listen((struct cfg_listen *)field, v, why);
	case CFG_RESOLVER:
		if (*v != '\0' && !cfg_valid_resolver(v)) {
			*why = "expected ADDR[@PORT], e.g. 127.0.0.1@53";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = *v == '\0' ? NULL : xstrdup(v);
		return 0;
	case CFG_HOSTPORT:
		if (*v != '\0' && !cfg_valid_hostport(v)) {
			*why = "expected host:port, e.g. mx.example.org:4025";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = *v == '\0' ? NULL : xstrdup(v);
		return 0;
	}
	log_panic("cfg_set: type %d", k->type);
}

static const struct cfg_key *
cfg_find(const char *section, const char *name)
{
	size_t	 i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

static int
cfg_known_section(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(cfg_sections) / sizeof(cfg_sections[0]); i++)
		if (strcmp(cfg_sections[i], s) == 0)
			return 1;
	return 0;
}

static char *
cfg_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
cfg_apply_defaults(struct sm_config *c)
{
	const char *why;
	size_t	 i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_keys[i].def != NULL &&
		    cfg_set(c, &cfg_keys[i], cfg_keys[i].def, &why) == -1)
			log_panic("default of %s.%s: %s", cfg_keys[i].section,
			    cfg_keys[i].name, why);
}

/* Make every CFG_PATH absolute against prefix. */
static void
cfg_resolve_paths(struct sm_config *c)
{
	char	**field, *p;
	size_t	 i;
	int	 slash;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].type != CFG_PATH)
			continue;
		field = (char **)((char *)c + cfg_keys[i].off);
		if (*field == NULL || **field == '/')
			continue;
		slash = c->prefix[strlen(c->prefix) - 1] == '/';
		p = xasprintf("%s%s%s", c->prefix, slash ? "" : "/", *field);
		free(*field);
		*field = p;
	}
}

static int
cfg_error(char *err, size_t errlen, const char *file, int line,
    const char *key, const char *why)
{
	if (key != NULL)
		snprintf(err, errlen, "%s:%d: %s: %s", file, line, key, why);
	else
		snprintf(err, errlen, "%s:%d: %s", file, line, why);
	return -1;
}

/* Parse one line; *section is updated by a section header. */
static int
cfg_line(struct sm_config *c, char *line, char *section, size_t seclen,
    unsigned char *seen, const char *file, int lineno, char *err,
    size_t errlen)
{
	const struct cfg_key *k;
	const char *why;
	char	*s, *eq, *key, *val, *close;

	s = cfg_trim(line);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL ||
		    *cfg_trim(close + 1) != '\0')
			return cfg_error(err, errlen, file, lineno, NULL,
			    "malformed section header");
		*close = '\0';
		s = cfg_trim(s + 1);
		if (!cfg_known_section(s))
			return cfg_error(err, errlen, file, lineno, s,
			    "unknown section");
		snprintf(section, seclen, "%s", s);
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return cfg_error(err, errlen, file, lineno, NULL,
		    "expected key = value");
	*eq = '\0';
	key = cfg_trim(s);
	val = cfg_trim(eq + 1);
	if (*section == '\0')
		return cfg_error(err, errlen, file, lineno, key,
		    "key outside a section");
	if ((k = cfg_find(section, key)) == NULL)
		return cfg_error(err, errlen, file, lineno, key,
		    "unknown key in this section");
	if (seen[k - cfg_keys])
		return cfg_error(err, errlen, file, lineno, key,
		    "set twice");
	seen[k - cfg_keys] = 1;
	if (cfg_set(c, k, val, &why) == -1)
		return cfg_error(err, errlen, file, lineno, key, why);
	return 0;
}

int
config_parse_mem(const char *file, const char *text, size_t len,
    struct sm_config *c, char *err, size_t errlen)
{
	unsigned char seen[CFG_NKEYS];
	char	 section[32] = "", line[CFG_MAX_LINE + 1];
	size_t	 pos = 0, n;
	const char *nl;
	int	 lineno = 0;

	memset(c, 0, sizeof(*c));
	memset(seen, 0, sizeof(seen));
	c->path = xstrdup(file);
	cfg_apply_defaults(c);
	while (pos < len) {
		lineno++;
		nl = memchr(text + pos, '\n', len - pos);
		n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
		if (n > CFG_MAX_LINE) {
			cfg_error(err, errlen, file, lineno, NULL,
			    "line too long");
			goto fail;
		}
		if (memchr(text + pos, '\0', n) != NULL) {
			cfg_error(err, errlen, file, lineno, NULL,
			    "NUL byte in line");
			goto fail;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (cfg_line(c, line, section, sizeof(section), seen, file,
		    lineno, err, errlen) == -1)
			goto fail;
	}
	if (c->prefix[0] != '/') {
		cfg_error(err, errlen, file, 0, "prefix",
		    "must be an absolute path");
		goto fail;
	}
	if (c->hostname == NULL) {
		char	 host[256];

		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->hostname = xstrdup(host);
	}
	cfg_resolve_paths(c);
	return 0;
fail:
	config_free(c);
	return -1;
}

int
config_load(const char *path, struct sm_config *c, char *err, size_t errlen)
{
	struct buf b;
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, CFG_MAX_FILE);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			snprintf(err, errlen, "%s: file too large", path);
			goto fail;
		}
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	r = config_parse_mem(path, b.data != NULL ? b.data : "", b.len, c,
	    err, errlen);
	buf_free(&b);
	return r;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

void
config_free(struct sm_config *c)
{
	size_t	 i;
	char	**field;

	for (i = 0; i < CFG_NKEYS; i++) {
		switch (cfg_keys[i].type) {
		case CFG_STR:
		case CFG_PATH:
		case CFG_USER:
		case CFG_ADDR:
		case CFG_RESOLVER:
		case CFG_HOSTPORT:
			field = (char **)((char *)c + cfg_keys[i].off);
			free(*field);
			*field = NULL;
			break;
		case CFG_LISTEN:
			cfg_listen_clear((struct cfg_listen *)
			    ((char *)c + cfg_keys[i].off));
			break;
		default:
			break;
		}
	}
	free(c->path);
	c->path = NULL;
}

/* Print every setting as section.key=value, for check-config -v. */
void
config_dump(const struct sm_config *c, int fd)
{
	const struct cfg_key *k;
	const void *field;
	struct buf b;
	size_t	 i;
	int	 j;

	buf_init(&b, 0);
	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		field = (const char *)c + k->off;
		buf_printf(&b, "%s.%s=", k->section, k->name);
		switch (k->type) {
		case CFG_STR:
		case CFG_PATH:
		case CFG_USER:
		case CFG_ADDR:
		case CFG_RESOLVER:
		case CFG_HOSTPORT:
			buf_addstr(&b, *(char *const *)field ?
			    *(char *const *)field : "");
			break;
		case CFG_INT:
		case CFG_PERCENT:
		case CFG_BOOL:
		case CFG_LOGLEVEL:
			buf_printf(&b, "%d", *(const int *)field);
			break;
		case CFG_SIZE:
			buf_printf(&b, "%zu", *(const size_t *)field);
			break;
		case CFG_DURATION:
			buf_printf(&b, "%ld", *(const long *)field);
			break;
		case CFG_LISTEN:
			for (j = 0; j < ((const struct cfg_listen *)field)->n;
			    j++)
				buf_printf(&b, "%s%s", j ? " " : "",
				    ((const struct cfg_listen *)field)->addr[j]);
			break;
		}
		buf_addc(&b, '\n');
	}
	if (io_write_all(fd, b.data, b.len) == -1)
		log_warn("config_dump");
	buf_free(&b);
}
