/*
 * registry_dns_name.c - the names the DNS registry zones are asked for,
 * and the registry_zones value (see registry_dns.h).  No resolver here:
 * the config check (common/config_value.c) and the fuzz target use it
 * without common/dns.
 *
 * Pure functions on bounded buffers; runs wherever the config is read
 * (root) and in smtpd.receiver (unprivileged, chrooted).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dns.h"
#include "registry_dns.h"
#include "xmalloc.h"

int
registry_dns_ip_name(const struct dns_addr *a, const char *zone, char *out,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b;
	size_t	 off = 0, i;
	int	 n;

	if (len == 0)
		return -1;
	out[0] = '\0';
	if (a->af == AF_INET) {
		b = (const unsigned char *)&a->u.v4;
		n = snprintf(out, len, "%u.%u.%u.%u.%s", b[3], b[2], b[1],
		    b[0], zone);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (a->af != AF_INET6 || len < 64 + 1)
		return -1;
	b = a->u.v6.s6_addr;
	for (i = 16; i-- > 0;) {
		out[off++] = hex[b[i] & 0xf];
		out[off++] = '.';
		out[off++] = hex[b[i] >> 4];
		out[off++] = '.';
	}
	n = snprintf(out + off, len - off, "%s", zone);
	return n < 0 || (size_t)n >= len - off ? -1 : 0;
}

int
registry_dns_name_name(const char *name, const char *zone, char *out,
    size_t len)
{
	int	 n;

	n = snprintf(out, len, "%s.%s", name, zone);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
registry_dns_zones(const char *zones, char **zbuf_r,
    const char *zone[REGISTRY_DNS_ZONES_MAX])
{
	char	*copy, *p, *tok;
	int	 n = 0;

	*zbuf_r = copy = xstrdup(zones != NULL ? zones : "");
	for (p = copy; (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (n == REGISTRY_DNS_ZONES_MAX ||
		    addr_domain_check(tok, ADDR_LOCAL, NULL, 0) == -1)
			return -1;
		zone[n++] = tok;
	}
	return n;
}

int
registry_dns_zones_check(const char *zones)
{
	const char	*zone[REGISTRY_DNS_ZONES_MAX];
	char		*zbuf;
	int		 n;

	n = registry_dns_zones(zones, &zbuf, zone);
	free(zbuf);
	return n;
}
