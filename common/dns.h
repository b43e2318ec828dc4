/*
 * dns.h - asynchronous DNS lookups inside a program's libevent loop, on
 * libunbound (ub_ctx_create_event / ub_resolve_event), for DKIM key
 * records, SPF, DMARC, MX and TLSA (DANE) lookups.  A lookup never
 * blocks the loop; its answer is validated with DNSSEC when a trust
 * anchor is given, and parsed by our own bounded wire parser
 * (dns_parse.c) from the packet libunbound hands back.
 *
 * Use:
 *
 *	struct dns_ctx *dns = dns_init(base, cfg->resolver, ta_file);
 *	q = dns_query(dns, "sel._domainkey.example.org", DNS_T_TXT,
 *	    got_key, sess);
 *	...
 *	static void
 *	got_key(const struct dns_result *r, void *arg)
 *	{
 *		if (r->status == DNS_OK)
 *			... r->rr[i].u.txt.data, r->rr[i].u.txt.len ...
 *	}
 *	...
 *	dns_cancel(q);		(only while the callback has not run)
 *	dns_free(dns);		(before event_base_free)
 *
 * The callback runs exactly once per query that was not cancelled,
 * always from the event loop and never from inside dns_query(), so a
 * caller may start, cancel or free anything from it (dns_free too).
 * The result and everything it points to belong to the module and are
 * freed when the callback returns: copy what must outlive it.  The
 * handle is invalid once the callback has started.
 *
 * The upstream (the [global] resolver setting):
 *   NULL or ""		the nameservers of /etc/resolv.conf
 *			(ub_ctx_resolvconf), read by dns_init();
 *   "ADDR[@PORT] ..."	one or more IPv4/IPv6 addresses, each with an
 *			optional port, separated by spaces or commas
 *			(ub_ctx_set_fwd).
 * Either way libunbound only forwards (it does not iterate from the
 * root) and keeps its own cache.  Loopback upstreams are allowed
 * ("do-not-query-localhost: no"), since a local caching resolver is the
 * usual setup.  libunbound answers a few special-use names itself from
 * built-in local zones (RFC 6761): "test." is one, answered NXDOMAIN,
 * so it is made "transparent" (local-zone: "test. transparent"; the
 * "nodefault" type does not lift it in libunbound 1.17): names under
 * .test go to the upstream like any other, which is what lets the tests
 * serve example.test from a private NSD.  localhost, invalid and the
 * other defaults stay as libunbound has them: among them the reverse
 * zones of private and documentation addresses (RFC 6303: 10/8,
 * 192.168/16, 192.0.2/24, ...), whose PTR lookups are answered NXDOMAIN
 * without asking the upstream.
 *
 * DNSSEC: with a trust anchor file (zone-file syntax, DS or DNSKEY
 * records, e.g. /usr/share/dns/root.key, ub_ctx_add_ta_file) answers
 * are validated and carry DNS_SEC_SECURE, DNS_SEC_INSECURE (provably
 * unsigned, or outside every anchor) or DNS_SEC_BOGUS (status
 * DNS_BOGUS, no records).  Without one every answer is
 * DNS_SEC_INSECURE.
 *
 * Timeouts: each query is given up after dns_set_timeout() milliseconds
 * (DNS_TIMEOUT_DEFAULT) with status DNS_TIMEOUT, whatever libunbound is
 * still trying.
 *
 * Privileges: dns_init() reads /etc/resolv.conf and the trust anchor
 * file and finishes libunbound's setup at once, so the process may
 * chroot and drop privileges right after it; lookups then need only UDP
 * and TCP sockets.  A context belongs to one process and one event
 * base: make it after fork(), in the process that uses it.
 */
#ifndef SM_DNS_H
#define SM_DNS_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_ctx;
struct dns_query;

/* RR types, host order */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_TLSA	52

#define DNS_TIMEOUT_DEFAULT	10000	/* milliseconds */
#define DNS_NAME_TEXT_MAX	1024	/* longest name in text, escaped */
#define DNS_CNAME_MAX		16	/* CNAME links followed */

enum dns_status {
	DNS_OK,		/* records of the type asked (rr, nrr > 0) */
	DNS_NXDOMAIN,	/* the name (the end of its CNAME chain) does
			   not exist */
	DNS_NODATA,	/* the name exists, with no record of this type */
	DNS_TEMPFAIL,	/* SERVFAIL or another error rcode, upstream
			   unreachable, a malformed answer: try later */
	DNS_TIMEOUT,	/* no answer within the timeout: try later */
	DNS_BOGUS	/* DNSSEC validation failed: no usable answer */
};

enum dns_sec {
	DNS_SEC_INSECURE,	/* not validated (unsigned, no anchor, or no
				   answer at all) */
	DNS_SEC_SECURE,		/* validated from a trust anchor */
	DNS_SEC_BOGUS		/* signatures that do not validate */
};

/* One character-string of a TXT record, inside dns_txt.data. */
struct dns_span {
	size_t		 off;
	size_t		 len;
};

/*
 * TXT: the character-strings joined with nothing between them, as
 * RFC 7208 section 3.3 (SPF) and RFC 6376 section 3.6.2.2 (DKIM) read
 * a record; NUL-terminated for convenience, but it may hold NUL bytes
 * of its own, so len is the length.  str[] gives each string apart.
 */
struct dns_txt {
	char		*data;
	size_t		 len;
	size_t		 nstr;
	struct dns_span	*str;
};

struct dns_mx {
	uint16_t	 pref;
	char		*host;	/* "." for a null MX (RFC 7505) */
};

struct dns_addr {
	int		 af;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
	} u;
};

struct dns_tlsa {
	uint8_t		 usage;
	uint8_t		 selector;
	uint8_t		 mtype;
	unsigned char	*data;	/* certificate association data */
	size_t		 len;
};

struct dns_raw {
	unsigned char	*data;	/* rdata, unparsed */
	size_t		 len;
};

struct dns_rr {
	uint16_t	 type;
	uint32_t	 ttl;
	union {
		struct dns_addr	 addr;	/* A, AAAA */
		struct dns_mx	 mx;	/* MX */
		struct dns_txt	 txt;	/* TXT */
		struct dns_tlsa	 tlsa;	/* TLSA */
		char		*name;	/* PTR, CNAME, NS */
		struct dns_raw	 raw;	/* any other type */
	} u;
};

/*
 * Names are in presentation form without the final dot ("." for the
 * root): bytes outside printable ASCII as \DDD, and '.', '\\' and '"'
 * inside a label with a backslash, so a name can never smuggle a dot or
 * a control character into a log line or a comparison.
 */
struct dns_result {
	enum dns_status	 status;
	enum dns_sec	 sec;
	/* the answer's rcode; libunbound's (2) when it had no answer; -1
	   after a timeout */
	int		 rcode;
	uint16_t	 qtype;
	char		*qname;	/* as asked */
	/* the end of the CNAME chain; NULL without a parsed answer
	   (timeout, tempfail without a packet, bogus) */
	char		*canon;
	size_t		 ncname;	/* CNAME links followed */
	/* the records of qtype at canon; MX sorted by preference, ties in
	   the order received */
	size_t		 nrr;
	struct dns_rr	*rr;
	char		*why_bogus;	/* libunbound's reason or NULL */
	/* the answer as received, for tools; NULL without one */
	const unsigned char *packet;
	size_t		 packet_len;
};

typedef void	(*dns_cb)(const struct dns_result *, void *);

/*
 * Make a context on base.  resolver and trust_anchor as described at
 * the top; NULL on a bad resolver setting, an unreadable resolv.conf
 * or trust anchor, or a libunbound failure (each logged).
 */
struct dns_ctx	*dns_init(struct event_base *, const char *,
		    const char *);
/* Cancel every pending query (no callback runs) and free the context. */
void		 dns_free(struct dns_ctx *);
/*
 * Send names under zone to the upstream although libunbound answers
 * them itself by default (the RFC 6303 reverse zones of private and
 * documentation addresses): for tests that serve such PTR records.
 * 0, or -1 (logged).
 */
int		 dns_zone_transparent(struct dns_ctx *, const char *);
/* Milliseconds before a query is given up (> 0). */
void		 dns_set_timeout(struct dns_ctx *, int);

/*
 * Look up name (text, with or without the final dot) for type, class
 * IN.  Returns the handle, or NULL, with no callback to come, when name
 * is not a valid domain name (empty label, label over 63 octets, name
 * over 253 octets, a byte outside printable ASCII or a backslash other
 * than a \\DDD escape).  Every other failure, a libunbound
 * one too, comes through the callback as DNS_TEMPFAIL.
 */
struct dns_query *dns_query(struct dns_ctx *, const char *, uint16_t, dns_cb,
		    void *);
/* Forget a query whose callback has not run yet; it never will. */
void		 dns_cancel(struct dns_query *);

/*
 * The parser, on its own (dns_parse.c).  Fill res (zeroed by the
 * caller, or cleared) from the answer packet pkt[0..len) to a question
 * of type qtype: rcode, canon, ncname, the records, and a status from
 * the rcode and the records (OK, NXDOMAIN, NODATA or TEMPFAIL).
 * Returns 0, or -1 for a malformed packet (status DNS_TEMPFAIL, no
 * records).  sec and why_bogus are left to the caller.
 */
int		 dns_parse(const unsigned char *, size_t, uint16_t,
		    struct dns_result *);
/* Free everything a result holds and zero it. */
void		 dns_result_clear(struct dns_result *);

/* Whether two names in our text form are equal, ASCII case ignored. */
int		 dns_name_eq(const char *, const char *);
/*
 * The name to look up for PTR of an address: "4.3.2.1.in-addr.arpa" or
 * the 32 nibbles under ip6.arpa.  0, or -1 when out is too small.
 */
int		 dns_ptr_name(const struct dns_addr *, char *, size_t);

/* "ok", "nxdomain", ...; "secure", ...; "MX" or NULL; 15 for "MX" or -1 */
const char	*dns_status_str(enum dns_status);
const char	*dns_sec_str(enum dns_sec);
const char	*dns_type_str(uint16_t);
int		 dns_type_parse(const char *);

#endif
