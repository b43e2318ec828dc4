/*
 * config_value.c - the value types of sealmail.conf: each one's parser
 * and check, and cfg_set(), which stores a checked value into struct
 * sm_config.  The parsers are public (config.h) for the programs that
 * read the same kinds of value elsewhere.  Runs wherever a
 * configuration is loaded (root, before any privilege drop).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "registry_dns.h"
#include "xmalloc.h"

/* yes, true, on, 1 or no, false, off, 0, in any case. */
int
cfg_parse_bool(const char *s, int *v)
{
	static const char *const words[] = {
		"no", "yes", "false", "true", "off", "on", "0", "1"
	};
	size_t	 i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0) {
			*v = i % 2;
			return 0;
		}
	return -1;
}

/*
 * Decimal digits with an optional one-letter unit from units (its
 * multiplier at the same place in mult), at most max.
 */
static int
cfg_parse_scaled(const char *s, const char *units, const uint64_t *mult,
    uint64_t max, uint64_t *v)
{
	unsigned long long n;
	const char *u;
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units, *end)) == NULL ||
		    n > max / mult[u - units])
			return -1;
		n *= mult[u - units];
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

int
cfg_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	return cfg_parse_scaled(s, "", NULL, max, v);
}

int
cfg_parse_bytes(const char *s, uint64_t max, uint64_t *v)
{
	static const uint64_t mult[] = {
		1024, 1024, 1048576, 1048576, 1073741824, 1073741824
	};

	return cfg_parse_scaled(s, "kKmMgG", mult, max, v);
}

int
cfg_parse_size(const char *s, size_t *v)
{
	uint64_t n;

	if (cfg_parse_bytes(s, SIZE_MAX / 2, &n) == -1)
		return -1;
	*v = (size_t)n;
	return 0;
}

int
cfg_parse_duration(const char *s, long *v)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400, 604800 };
	uint64_t n;

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

void
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

/* Why a value of each type was refused. */
static const char *const cfg_why[] = {
	[CFG_STR] = "empty value",
	[CFG_PATH] = "empty value",
	[CFG_USER] = "not a valid user name",
	[CFG_INT] = "expected a non-negative integer",
	[CFG_PERCENT] = "expected a percentage from 0 to 100",
	[CFG_SIZE] = "expected a size such as 4096, 64k, 25M or 1G",
	[CFG_DURATION] = "expected a duration such as 30s, 5m, 4h or 5d",
	[CFG_BOOL] = "expected yes or no",
	[CFG_LOGLEVEL] = "expected err, warn, info or debug",
	[CFG_ADDR] = "not a mail address (local@domain)",
	[CFG_RESOLVER] = "expected ADDR[@PORT], e.g. 127.0.0.1@53",
	[CFG_HOSTPORT] = "expected host:port, e.g. mx.example.org:4025",
	[CFG_PORT] = "expected a port number from 1 to 65535",
	[CFG_ZONES] = "expected up to 8 domain names separated by spaces",
	[CFG_PORT_OFF] = "expected 0 (off) or a port number from 1 to 65535",
};

/* Is the n bytes at w one of the words of list ("a b c"), any case? */
static int
cfg_word_in(const char *w, size_t n, const char *list)
{
	size_t	 l;

	while (*list != '\0') {
		l = strcspn(list, " ");
		if (l == n && strncasecmp(w, list, n) == 0)
			return 1;
		list += l;
		list += strspn(list, " ");
	}
	return 0;
}

/*
 * CFG_WORD: exactly one of k->words; CFG_WORDS: any of them, separated
 * by spaces or commas, or none (unset).  Stored lowercased, one space
 * apart.
 */
static int
cfg_set_words(char **field, const struct cfg_key *k, const char *v,
    const char **why)
{
	static char	 msg[160];
	struct buf	 b;
	size_t		 n, count = 0;

	buf_init(&b, 0);
	for (;;) {
		v += strspn(v, " \t,");
		if ((n = strcspn(v, " \t,")) == 0)
			break;
		if (!cfg_word_in(v, n, cfg_key_words(k)))
			goto bad;
		if (count++ > 0)
			(void)buf_addc(&b, ' ');
		(void)buf_add(&b, v, n);
		v += n;
	}
	if (k->type == CFG_WORD && count != 1)
		goto bad;
	for (n = 0; n < b.len; n++)
		b.data[n] = (char)tolower((unsigned char)b.data[n]);
	free(*field);
	*field = count == 0 ? NULL : xstrdup(buf_cstr(&b));
	buf_free(&b);
	return 0;
bad:
	buf_free(&b);
	snprintf(msg, sizeof(msg), "expected %s%s", k->type == CFG_WORD ?
	    "one of: " : "any of: ", cfg_key_words(k));
	*why = msg;
	return -1;
}

/*
 * The text types: checked, then stored as a copy; an empty value unsets
 * (NULL) where the type allows one, except an address, where "" is the
 * value (none).
 */
static int
cfg_set_text(char **field, const struct cfg_key *k, const char *v)
{
	int	 empty = *v == '\0', ok;

	switch (k->type) {
	case CFG_USER:
		ok = cfg_valid_user(v);
		break;
	case CFG_ADDR:
		ok = cfg_valid_addr(v);
		empty = 0;
		break;
	case CFG_RESOLVER:
		ok = empty || cfg_valid_resolver(v);
		break;
	case CFG_HOSTPORT:
		ok = empty || cfg_valid_hostport(v);
		break;
	case CFG_ZONES:
		ok = registry_dns_zones_check(v) >= 0;
		empty = registry_dns_zones_check(v) == 0;
		break;
	default:	/* CFG_STR, CFG_PATH: empty only without a default */
		ok = !empty || k->def == NULL;
		break;
	}
	if (!ok)
		return -1;
	free(*field);
	*field = empty ? NULL : xstrdup(v);
	return 0;
}

int
cfg_set(struct sm_config *c, const struct cfg_key *k, const char *v,
    const char **why)
{
	void	*field = (char *)c + k->off;
	uint64_t n;
	int	 r;

	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
	case CFG_USER:
	case CFG_ADDR:
	case CFG_RESOLVER:
	case CFG_HOSTPORT:
	case CFG_ZONES:
		r = cfg_set_text((char **)field, k, v);
		break;
	case CFG_INT:
	case CFG_PERCENT:
		r = cfg_parse_uint(v, k->type == CFG_INT ? INT_MAX : 100, &n);
		if (r == 0)
			*(int *)field = (int)n;
		break;
	case CFG_PORT:
	case CFG_PORT_OFF:
		r = cfg_parse_uint(v, 65535, &n);
		if (r == 0 && n == 0 && k->type == CFG_PORT)
			r = -1;
		if (r == 0)
			*(int *)field = (int)n;
		break;
	case CFG_SIZE:
		r = cfg_parse_size(v, (size_t *)field);
		break;
	case CFG_DURATION:
		r = cfg_parse_duration(v, (long *)field);
		break;
	case CFG_BOOL:
		r = cfg_parse_bool(v, (int *)field);
		break;
	case CFG_LOGLEVEL:
		r = (*(int *)field = log_level_parse(v)) == -1 ? -1 : 0;
		break;
	case CFG_LISTEN:
		return cfg_set_listen((struct cfg_listen *)field, v, why);
	case CFG_WORD:
	case CFG_WORDS:
		return cfg_set_words((char **)field, k, v, why);
	default:
		log_panic("cfg_set: type %d", k->type);
	}
	if (r == -1)
		*why = cfg_why[k->type];
	return r;
}
