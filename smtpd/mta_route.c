/*
 * mta_route.c - smtpd.mta: the addresses to try for a destination
 * domain, in order.  A transport map entry or relayhost gives one host
 * and port (an address, "192.0.2.1" or "[192.0.2.1]", is taken as it
 * is);
 * otherwise the domain's MX hosts by preference (mta_mx_plan), or the
 * domain itself when it has no MX; a null MX (RFC 7505), a domain
 * that does not exist, or an MX list where we are the best host (RFC
 * 5321 5.1: the mail would loop) ends there with a permanent failure.
 * Hosts less preferred than we are are left out.  Each host's
 * IPv6 then IPv4 addresses follow in the order DNS gave them.
 * The route notes which answers were DNSSEC-secure (the MX set, each
 * address), which is what DANE (mta_dane.c) starts from.
 *
 * Lookups go through common/dns (libunbound in this process's event
 * loop, [global] resolver as the upstream); smtpd.mta handles one
 * message at a time, so mta_route() runs the loop until its answers
 * are in (mta_lookup does the same for any other lookup, the MTA-STS
 * ones of mta_sts_fetch.c).  Runs as [global] user, chrooted to empty_dir: the answers
 * are parsed by common/dns_parse.c and only names and addresses are
 * kept from them.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "mta.h"

static struct event_base *base;
static struct dns_ctx	*dns;

/* one lookup in flight */
struct lookup {
	int			 done;
	uint16_t		 type;
	enum dns_status		 status;
	enum dns_sec		 sec;
	const char		*domain;	/* for an MX lookup */
	const char		*self;		/* our host name */
	struct mta_hosts	*hosts;
	enum mta_plan		 plan;
	struct mta_route	*route;		/* for A/AAAA */
	const char		*host;
	int			 port;
};

void
mta_route_init(struct event_base *b, struct dns_ctx *d)
{
	base = b;
	dns = d;
}

static void
add_addr(struct mta_route *rt, const char *host, const struct dns_addr *a,
    int port, int secure, const char *canon)
{
	struct mta_addr		*m;
	struct sockaddr_in	*s4;
	struct sockaddr_in6	*s6;

	if (rt->n >= MTA_ADDRS_MAX)
		return;
	m = &rt->a[rt->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->host, sizeof(m->host), "%s", host);
	m->secure = secure;
	if (canon != NULL && !dns_name_eq(canon, host))
		snprintf(m->canon, sizeof(m->canon), "%s", canon);
	if (a->af == AF_INET) {
		s4 = (struct sockaddr_in *)&m->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr = a->u.v4;
		m->sslen = sizeof(*s4);
		inet_ntop(AF_INET, &a->u.v4, m->text, sizeof(m->text));
	} else {
		s6 = (struct sockaddr_in6 *)&m->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = a->u.v6;
		m->sslen = sizeof(*s6);
		inet_ntop(AF_INET6, &a->u.v6, m->text, sizeof(m->text));
	}
}

static void
got(const struct dns_result *r, void *arg)
{
	struct lookup	*l = arg;
	size_t		 i;

	l->done = 1;
	l->status = r->status;
	l->sec = r->sec;
	if (l->type == DNS_T_MX) {
		l->plan = mta_mx_self(r, l->self, mta_mx_plan(r, l->domain,
		    l->hosts), l->hosts);
		return;
	}
	for (i = 0; r->status == DNS_OK && i < r->nrr; i++)
		if (r->rr[i].type == l->type)
			add_addr(l->route, l->host, &r->rr[i].u.addr, l->port,
			    r->sec == DNS_SEC_SECURE, r->canon);
}

/* One query, answered before this returns; 0, or -1 for a bad name. */
static int
ask(const char *name, uint16_t type, struct lookup *l)
{
	l->done = 0;
	l->type = type;
	if (dns_query(dns, name, type, got, l) == NULL) {
		l->status = DNS_NXDOMAIN;
		l->plan = MTA_PLAN_NODOMAIN;
		return -1;
	}
	while (!l->done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			fatalx("mta: event loop");
	return 0;
}

/* host's addresses, IPv6 first; how the A lookup went. */
static enum dns_status
host_addrs(struct mta_route *rt, const char *host, int port)
{
	struct lookup	 l;
	struct dns_addr	 a;
	char		 lit[64];
	enum dns_status	 s6;
	size_t		 n;

	memset(&l, 0, sizeof(l));
	/* "[192.0.2.1]" or a bare address (next hops): no lookup */
	n = strlen(host);
	if (host[0] == '[' && n > 2 && n - 2 < sizeof(lit) &&
	    host[n - 1] == ']') {
		memcpy(lit, host + 1, n - 2);
		lit[n - 2] = '\0';
	} else
		snprintf(lit, sizeof(lit), "%s", host);
	memset(&a, 0, sizeof(a));
	a.af = strchr(lit, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(a.af, lit, &a.u) == 1) {
		add_addr(rt, lit, &a, port, 0, NULL);
		return DNS_OK;
	}
	if (host[0] == '[')
		return DNS_NXDOMAIN;
	l.route = rt;
	l.host = host;
	l.port = port;
	ask(host, DNS_T_AAAA, &l);
	s6 = l.status;
	ask(host, DNS_T_A, &l);
	return s6 == DNS_OK ? DNS_OK : l.status;
}

/* host's addresses into rt, for mta_sts_fetch.c's web server too. */
enum dns_status
mta_route_host(struct mta_route *rt, const char *host, int port)
{
	return host_addrs(rt, host, port);
}

struct wait {
	int	 done;
	dns_cb	 cb;
	void	*arg;
};

static void
waited(const struct dns_result *r, void *arg)
{
	struct wait	*w = arg;

	w->done = 1;
	w->cb(r, w->arg);
}

/* One query of any type, its callback run before this returns. */
void
mta_lookup(const char *name, uint16_t type, dns_cb cb, void *arg)
{
	struct wait		 w = { 0, cb, arg };
	struct dns_result	 r;

	if (dns_query(dns, name, type, waited, &w) == NULL) {
		memset(&r, 0, sizeof(r));
		r.status = DNS_NXDOMAIN;
		r.qtype = type;
		cb(&r, arg);
		return;
	}
	while (!w.done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			fatalx("mta: event loop");
}

static void
route_nexthop(const char *hp, struct mta_route *rt)
{
	char	 host[DNS_NAME_TEXT_MAX], name[DNS_NAME_TEXT_MAX + 2];
	int	 port;
	enum dns_status s;

	rt->nexthop = 1;
	if (mta_hostport(hp, host, sizeof(host), &port) == -1) {
		rt->plan = MTA_PLAN_TEMP;
		snprintf(rt->why, sizeof(rt->why), "bad next hop %s", hp);
		return;
	}
	/* mta_hostport took the brackets off a literal: put them back */
	if (hp[0] == '[')
		snprintf(name, sizeof(name), "[%s]", host);
	else
		snprintf(name, sizeof(name), "%s", host);
	s = host_addrs(rt, name, port);
	rt->plan = MTA_PLAN_MX;
	if (rt->n == 0)
		snprintf(rt->why, sizeof(rt->why), "next hop %s: %s", hp,
		    dns_status_str(s));
}

/*
 * Fill rt with what to try for domain (rt->plan says why when rt->n is
 * 0: MTA_PLAN_NULLMX and MTA_PLAN_NODOMAIN are for good, the rest for
 * now).
 */
void
mta_route(const struct mta_policy *p, const char *domain,
    struct mta_route *rt)
{
	struct mta_hosts h;
	struct lookup	 l;
	const char	*hp;
	enum dns_status	 last = DNS_NXDOMAIN;
	size_t		 i;

	memset(rt, 0, sizeof(*rt));
	if ((hp = mta_nexthop(p, domain)) != NULL) {
		route_nexthop(hp, rt);
		return;
	}
	memset(&l, 0, sizeof(l));
	memset(&h, 0, sizeof(h));
	l.domain = domain;
	l.self = p->myhost;
	l.hosts = &h;
	ask(domain, DNS_T_MX, &l);
	rt->plan = l.plan;
	rt->mx_secure = l.sec == DNS_SEC_SECURE;
	for (i = 0; i < h.n; i++)
		last = host_addrs(rt, h.name[i], p->port);
	if (rt->n == 0) {
		switch (rt->plan) {
		case MTA_PLAN_NULLMX:
			snprintf(rt->why, sizeof(rt->why), "the domain %s "
			    "accepts no mail (null MX)", domain);
			break;
		case MTA_PLAN_NODOMAIN:
			snprintf(rt->why, sizeof(rt->why), "the domain %s "
			    "does not exist", domain);
			break;
		case MTA_PLAN_LOOP:
			snprintf(rt->why, sizeof(rt->why), "mail for %s loops "
			    "back to myself (%s is its best MX host)", domain,
			    p->myhost);
			break;
		case MTA_PLAN_TEMP:
			snprintf(rt->why, sizeof(rt->why), "MX lookup for %s: "
			    "%s", domain, dns_status_str(l.status));
			break;
		default:
			snprintf(rt->why, sizeof(rt->why), "no address for "
			    "the mail hosts of %s (%s)", domain,
			    dns_status_str(last));
			/* a host that is not there is for now: DNS may heal */
			rt->plan = MTA_PLAN_TEMP;
			break;
		}
	}
	mta_hosts_free(&h);
}
