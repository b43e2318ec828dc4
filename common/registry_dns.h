/*
 * registry_dns.h - DNS registry zones ([smtpd] registry_zones): lists of
 * trusted transmitters published in DNS and queried like a DNS
 * allowlist, asynchronously on common/dns (the receiver's resolver).
 *
 * For each zone, an A query of
 *	<reversed-ip>.<zone>	the client's IPv4 octets in reverse order
 *				("1.2.0.192.reg.test" for 192.0.2.1), or its
 *				IPv6 address as 32 nibbles in reverse order,
 *				as DNSBLs do (RFC 5782 section 2.4)
 *	<name>.<zone>		each name given (HELO name, MAIL FROM
 *				domain, DKIM d=: the caller chooses)
 * A name is listed when the answer has an A record in 127.0.0.0/8; an
 * answer outside it is ignored and logged (as Spamhaus advises for
 * DNSBLs: such an answer means a zone that went away or answers
 * everything, not a listing).  NXDOMAIN and NODATA are "not listed";
 * SERVFAIL, a timeout or a bogus answer are a temperror.
 *
 *	q = registry_dns_start(dns, cfg->smtpd_registry_zones, &ip, names,
 *	    n, done, arg);
 *	...
 *	done(const struct registry_dns_result *r, void *arg): r->status,
 *	    r->by ("ip"/"name"), r->zone, r->name
 *	registry_dns_cancel(q);	(only while done has not run)
 *
 * All queries start at once; the callback runs once, from the event
 * loop, when the last is answered (each is bounded by the resolver's
 * timeout).  The first listing in the order zones, then the IP before
 * the names in the order given, wins; otherwise a temperror if any
 * query had one, else none.
 *
 * Callers: smtpd.receiver (unprivileged, chrooted; it only sends
 * queries and reads answers through common/dns's bounded parser).
 */
#ifndef SM_REGISTRY_DNS_H
#define SM_REGISTRY_DNS_H

#include <stddef.h>

struct dns_ctx;
struct dns_addr;
struct registry_dns;

#define REGISTRY_DNS_ZONES_MAX	8
#define REGISTRY_DNS_NAMES_MAX	4

enum registry_dns_status {
	REGDNS_NONE,		/* not listed in any zone */
	REGDNS_LISTED,
	REGDNS_TEMPERROR	/* some zone could not be asked */
};

struct registry_dns_result {
	enum registry_dns_status status;
	const char	*by;	/* LISTED: "ip" or "name" */
	const char	*zone;	/* LISTED: the zone; TEMPERROR: one that
				   failed */
	const char	*name;	/* LISTED by "name": which name */
	char		 code[16];	/* LISTED: the A record, "127.0.0.2" */
};

typedef void	(*registry_dns_cb)(const struct registry_dns_result *,
		    void *);

/*
 * Start the lookups for ip (NULL: none) and names[0..n) (n at most
 * REGISTRY_DNS_NAMES_MAX; names that are not valid domain names are
 * skipped) in zones (the config value: names separated by spaces or
 * commas; NULL or "": none).  NULL when there is nothing to ask: not
 * listed, and no callback comes.
 */
struct registry_dns *registry_dns_start(struct dns_ctx *, const char *zones,
		    const struct dns_addr *ip, const char *const *names,
		    size_t n, registry_dns_cb, void *);
/* Stop a lookup whose callback has not run; it never will. */
void		 registry_dns_cancel(struct registry_dns *);

/* "<reversed-ip>.<zone>" into out.  0, or -1 when out is too small. */
int		 registry_dns_ip_name(const struct dns_addr *, const char *,
		    char *, size_t);
/* "<name>.<zone>" into out.  0, or -1 when out is too small. */
int		 registry_dns_name_name(const char *, const char *, char *,
		    size_t);
/*
 * Split a registry_zones value (NULL: none) into zone[] (pointing into
 * *zbuf_r, which the caller frees, even on failure): the number of
 * zones, or -1 as registry_dns_zones_check().
 */
int		 registry_dns_zones(const char *, char **zbuf_r,
		    const char *zone[REGISTRY_DNS_ZONES_MAX]);
/*
 * Check a registry_zones value: the number of zones (0 for ""), or -1
 * when a zone is not a domain name or there are more than
 * REGISTRY_DNS_ZONES_MAX.
 */
int		 registry_dns_zones_check(const char *);

#endif
