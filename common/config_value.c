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

#include "addr.h"
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "xmalloc.h"

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

int
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
