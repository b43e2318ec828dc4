/*
 * registry_dns.c - the DNS registry zones: the query names and the
 * asynchronous lookup of a client address and names in every zone (see
 * registry_dns.h).
 *
 * Runs in smtpd.receiver as [global] user, chrooted: it only builds
 * names and reads what common/dns parsed (bounded, in its own parser).
 * A zone's answer decides nothing but "listed or not": only an A record
 * in 127.0.0.0/8 counts, and anything else is logged and ignored, so a
 * zone that lapsed and now answers every name with a web server's
 * address cannot list the world.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dns.h"
#include "log.h"
#include "registry_dns.h"
#include "xmalloc.h"

#define RD_IP	(-1)	/* a query's name index for the client address */

struct rd_query {
	struct registry_dns	*rd;
	struct dns_query	*q;
	int			 zone;
	int			 name;		/* index, or RD_IP */
	enum registry_dns_status status;
	char			 code[16];
};

struct registry_dns {
	registry_dns_cb	 cb;
	void		*arg;
	char		*zbuf;		/* the zones, NUL-separated */
	const char	*zone[REGISTRY_DNS_ZONES_MAX];
	char		*name[REGISTRY_DNS_NAMES_MAX];
	struct rd_query	 q[REGISTRY_DNS_ZONES_MAX *
			    (REGISTRY_DNS_NAMES_MAX + 1)];
	int		 nq;
	int		 pending;
};

static void
rd_free(struct registry_dns *rd)
{
	int	 i;

	for (i = 0; i < REGISTRY_DNS_NAMES_MAX; i++)
		free(rd->name[i]);
	free(rd->zbuf);
	free(rd);
}

/* All answers are in: the first listing in query order, or the worst. */
static void
rd_finish(struct registry_dns *rd)
{
	struct registry_dns_result	 res;
	struct rd_query			*q;
	int				 i;

	memset(&res, 0, sizeof(res));
	res.status = REGDNS_NONE;
	for (i = 0; i < rd->nq; i++) {
		q = &rd->q[i];
		if (q->status == REGDNS_LISTED) {
			res.status = REGDNS_LISTED;
			res.by = q->name == RD_IP ? "ip" : "name";
			res.zone = rd->zone[q->zone];
			res.name = q->name == RD_IP ? NULL : rd->name[q->name];
			memcpy(res.code, q->code, sizeof(res.code));
			break;
		}
		if (q->status == REGDNS_TEMPERROR &&
		    res.status == REGDNS_NONE) {
			res.status = REGDNS_TEMPERROR;
			res.zone = rd->zone[q->zone];
		}
	}
	rd->cb(&res, rd->arg);
	rd_free(rd);
}

/* An A answer: listed by a record in 127.0.0.0/8, others logged. */
static void
rd_answer(struct rd_query *q, const struct dns_result *r)
{
	const struct dns_addr	*a;
	char			 s[INET_ADDRSTRLEN];
	size_t			 i;

	for (i = 0; i < r->nrr; i++) {
		a = &r->rr[i].u.addr;
		if (r->rr[i].type != DNS_T_A || a->af != AF_INET ||
		    inet_ntop(AF_INET, &a->u.v4, s, sizeof(s)) == NULL)
			continue;
		if ((ntohl(a->u.v4.s_addr) >> 24) == 127) {
			q->status = REGDNS_LISTED;
			memcpy(q->code, s, strlen(s) + 1);
			return;
		}
		log_warnx("registry zone=%s qname=%s answer=%s outside "
		    "127.0.0.0/8, ignored", q->rd->zone[q->zone], r->qname,
		    s);
	}
}

static void
rd_got(const struct dns_result *r, void *arg)
{
	struct rd_query		*q = arg;
	struct registry_dns	*rd = q->rd;

	q->q = NULL;
	switch (r->status) {
	case DNS_OK:
		rd_answer(q, r);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		break;
	default:
		q->status = REGDNS_TEMPERROR;
		log_info("registry zone=%s qname=%s dns=%s",
		    rd->zone[q->zone], r->qname, dns_status_str(r->status));
		break;
	}
	if (--rd->pending == 0)
		rd_finish(rd);
}

static void
rd_ask(struct dns_ctx *dns, struct registry_dns *rd, int zone, int name,
    const struct dns_addr *ip)
{
	struct rd_query	*q = &rd->q[rd->nq];
	char		 qname[DNS_NAME_TEXT_MAX];
	int		 r;

	if (name == RD_IP)
		r = registry_dns_ip_name(ip, rd->zone[zone], qname,
		    sizeof(qname));
	else
		r = registry_dns_name_name(rd->name[name], rd->zone[zone],
		    qname, sizeof(qname));
	if (r == -1)
		return;
	q->rd = rd;
	q->zone = zone;
	q->name = name;
	q->status = REGDNS_NONE;
	if ((q->q = dns_query(dns, qname, DNS_T_A, rd_got, q)) == NULL)
		return;		/* too long a name: it cannot be listed */
	rd->nq++;
	rd->pending++;
}

struct registry_dns *
registry_dns_start(struct dns_ctx *dns, const char *zones,
    const struct dns_addr *ip, const char *const *names, size_t n,
    registry_dns_cb cb, void *arg)
{
	struct registry_dns	*rd;
	size_t			 i;
	int			 nz, z, k = 0;

	rd = xcalloc(1, sizeof(*rd));
	rd->cb = cb;
	rd->arg = arg;
	if ((nz = registry_dns_zones(zones, &rd->zbuf, rd->zone)) == -1)
		nz = 0;		/* the config check refused it already */
	for (i = 0; i < n && k < REGISTRY_DNS_NAMES_MAX; i++)
		if (addr_domain_check(names[i], ADDR_LOCAL, NULL, 0) == 0)
			rd->name[k++] = xstrdup(names[i]);
	for (z = 0; z < nz; z++) {
		if (ip != NULL)
			rd_ask(dns, rd, z, RD_IP, ip);
		for (i = 0; i < (size_t)k; i++)
			rd_ask(dns, rd, z, (int)i, NULL);
	}
	if (rd->pending == 0) {
		rd_free(rd);
		return NULL;
	}
	return rd;
}

void
registry_dns_cancel(struct registry_dns *rd)
{
	int	 i;

	if (rd == NULL)
		return;
	for (i = 0; i < rd->nq; i++)
		if (rd->q[i].q != NULL)
			dns_cancel(rd->q[i].q);
	rd_free(rd);
}
