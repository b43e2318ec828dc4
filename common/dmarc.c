/*
 * dmarc.c - DMARC policy discovery on the asynchronous resolver and the
 * result: identifier alignment, the policy for the From domain and pct
 * sampling (RFC 7489 sections 3.1, 6.3, 6.6).
 *
 * A check asks TXT at _dmarc.<From domain> and, when that has no DMARC
 * record, at _dmarc.<organizational domain>; then dmarc_evaluate()
 * decides without DNS.  Called by whoever holds a dns context and a
 * loaded Public Suffix List (dmarc.h); no privilege, no file access.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "xmalloc.h"

#define DMARC_NAME_MAX	256

struct dmarc_check {
	struct dns_ctx	*dns;
	const struct dmarc_psl *psl;
	struct dmarc_request rq;
	char		*from;
	char		*spf_domain;
	char		**dkim;
	char		 org[DMARC_NAME_MAX];
	int		 stage;		/* 0: From domain, 1: org */
	dmarc_cb	 cb;
	void		*arg;
	struct dns_query *q;
	struct event	*kick;
	struct dmarc_record rec;
	const char	*rec_domain;	/* from or org; NULL: no record */
	enum dmarc_result err;		/* TEMPERROR/PERMERROR or NONE */
	char		 problem[320];
};

const char *
dmarc_result_str(enum dmarc_result r)
{
	static const char *names[] = { "none", "pass", "fail", "temperror",
	    "permerror" };

	return ((size_t)r < 5 ? names[r] : "?");
}

const char *
dmarc_policy_str(enum dmarc_policy p)
{
	static const char *names[] = { "unset", "none", "quarantine",
	    "reject" };

	return ((size_t)p < 4 ? names[p] : "?");
}

static int
same_name(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return (na == nb && strncasecmp(a, b, na) == 0);
}

/* Whether id aligns with the From domain (org: its org domain). */
static int
aligned(const struct dmarc_psl *psl, const char *id, const char *from,
    const char *org, int strict)
{
	char	 o[DMARC_NAME_MAX];

	if (id == NULL || id[0] == '\0')
		return (0);
	if (strict)
		return (same_name(id, from));
	if (dmarc_org_domain(psl, id, o, sizeof(o)) == -1)
		return (0);
	return (strcmp(o, org) == 0);
}

static enum dmarc_policy
lower(enum dmarc_policy p)
{
	if (p == DMARC_P_REJECT)
		return (DMARC_P_QUARANTINE);
	return (DMARC_P_NONE);
}

void
dmarc_evaluate(const struct dmarc_psl *psl, const struct dmarc_request *rq,
    const struct dmarc_record *rec, const char *rec_domain,
    struct dmarc_outcome *o, char *org, size_t orglen)
{
	size_t	 i;

	memset(o, 0, sizeof(*o));
	o->result = DMARC_NONE;
	o->domain = rec_domain;
	if (rq->from_domain == NULL || dmarc_org_domain(psl,
	    rq->from_domain, org, orglen) == -1) {
		o->result = DMARC_PERMERROR;
		o->problem = "no valid From domain";
		return;
	}
	o->org_domain = org;
	if (rec == NULL)
		return;
	for (i = 0; i < rq->ndkim && !o->dkim_aligned; i++)
		o->dkim_aligned = aligned(psl, rq->dkim_pass[i],
		    rq->from_domain, org, rec->adkim_strict);
	o->spf_aligned = rq->spf == SPF_PASS && aligned(psl, rq->spf_domain,
	    rq->from_domain, org, rec->aspf_strict);
	/* sp is for subdomains of the domain whose record this is */
	o->policy = rec->p;
	if (rec->sp != DMARC_P_UNSET && rec_domain != NULL &&
	    !same_name(rec_domain, rq->from_domain))
		o->policy = rec->sp;
	if (o->dkim_aligned || o->spf_aligned) {
		o->result = DMARC_PASS;
		o->disposition = DMARC_P_NONE;
		return;
	}
	o->result = DMARC_FAIL;
	o->disposition = o->policy;
	if (rq->roll >= (unsigned int)rec->pct &&
	    o->policy != DMARC_P_NONE) {
		o->sampled_out = 1;
		o->disposition = lower(o->policy);
	}
}

static void
finish(struct dmarc_check *c)
{
	struct dmarc_outcome o;
	char	 org[DMARC_NAME_MAX];

	dmarc_evaluate(c->psl, &c->rq, c->rec_domain != NULL ? &c->rec :
	    NULL, c->rec_domain, &o, org, sizeof(org));
	if (c->err != DMARC_NONE && o.result != DMARC_PERMERROR) {
		o.result = c->err;
		o.problem = c->problem;
	} else if (o.problem == NULL && c->problem[0] != '\0')
		o.problem = c->problem;
	log_debug("dmarc: from=%s result=%s record=%s policy=%s", c->from,
	    dmarc_result_str(o.result), o.domain != NULL ? o.domain : "-",
	    dmarc_policy_str(o.policy));
	c->cb(&o, c->arg);
	dmarc_cancel(c);
}

static void	step(struct dmarc_check *);

/* Keep the one v=DMARC1 record of an answer: records seen. */
static int
pick(struct dmarc_check *c, const struct dns_result *r)
{
	struct dmarc_record rec;
	enum dmarc_parse got, kept = DMARC_REC_NOT;
	char	 err[64];
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < r->nrr; i++) {
		if (r->rr[i].type != DNS_T_TXT)
			continue;
		got = dmarc_record_parse(r->rr[i].u.txt.data,
		    r->rr[i].u.txt.len, &rec, err, sizeof(err));
		if (got == DMARC_REC_NOT)
			continue;
		if (n++ == 0) {
			kept = got;
			c->rec = rec;
			snprintf(c->problem, sizeof(c->problem), "%s", err);
		}
	}
	if (n > 1)
		snprintf(c->problem, sizeof(c->problem), "%d DMARC records",
		    n);
	else if (n == 1 && kept == DMARC_REC_INVALID)
		n = -1;
	return (n);
}

static void
answer(const struct dns_result *r, void *arg)
{
	struct dmarc_check *c = arg;
	int	 n = 0;

	c->q = NULL;
	if (r->status == DNS_TEMPFAIL || r->status == DNS_TIMEOUT ||
	    r->status == DNS_BOGUS) {
		c->err = DMARC_TEMPERROR;
		snprintf(c->problem, sizeof(c->problem), "_dmarc.%s: %s",
		    c->stage == 0 ? c->from : c->org,
		    dns_status_str(r->status));
		finish(c);
		return;
	}
	if (r->status == DNS_OK)
		n = pick(c, r);
	if (n == 1)
		c->rec_domain = c->stage == 0 ? c->from : c->org;
	/* several records, or one without a usable policy: none (6.6.3) */
	if (n != 0 || c->stage == 1 || same_name(c->from, c->org)) {
		finish(c);
		return;
	}
	c->stage = 1;
	step(c);
}

static void
step(struct dmarc_check *c)
{
	char	 name[DMARC_NAME_MAX + 8];

	for (;;) {
		snprintf(name, sizeof(name), "_dmarc.%s",
		    c->stage == 0 ? c->from : c->org);
		c->q = dns_query(c->dns, name, DNS_T_TXT, answer, c);
		if (c->q != NULL)
			return;
		/* not a valid name: it has no record */
		if (c->stage == 1 || same_name(c->from, c->org))
			break;
		c->stage = 1;
	}
	finish(c);
}

static void
kick(evutil_socket_t fd, short ev, void *arg)
{
	struct dmarc_check *c = arg;

	(void)fd;
	(void)ev;
	if (c->from[0] == '\0' || dmarc_org_domain(c->psl, c->from, c->org,
	    sizeof(c->org)) == -1) {
		finish(c);		/* permerror: no valid From domain */
		return;
	}
	step(c);
}

struct dmarc_check *
dmarc_check(struct event_base *base, struct dns_ctx *dns,
    const struct dmarc_psl *psl, const struct dmarc_request *rq,
    dmarc_cb cb, void *arg)
{
	struct dmarc_check *c;
	struct timeval tv = { 0, 0 };
	size_t	 i;

	c = xcalloc(1, sizeof(*c));
	c->dns = dns;
	c->psl = psl;
	c->cb = cb;
	c->arg = arg;
	c->rq = *rq;
	c->from = xstrdup(rq->from_domain != NULL ? rq->from_domain : "");
	c->rq.from_domain = c->from;
	if (rq->spf_domain != NULL)
		c->spf_domain = xstrdup(rq->spf_domain);
	c->rq.spf_domain = c->spf_domain;
	c->dkim = xcalloc(rq->ndkim + 1, sizeof(*c->dkim));
	for (i = 0; i < rq->ndkim; i++)
		c->dkim[i] = xstrdup(rq->dkim_pass[i]);
	c->rq.dkim_pass = (const char *const *)c->dkim;
	if ((c->kick = evtimer_new(base, kick, c)) == NULL)
		fatalx("dmarc: evtimer_new");
	evtimer_add(c->kick, &tv);
	return (c);
}

void
dmarc_cancel(struct dmarc_check *c)
{
	size_t	 i;

	if (c->q != NULL)
		dns_cancel(c->q);
	if (c->kick != NULL)
		event_free(c->kick);
	for (i = 0; i < c->rq.ndkim; i++)
		free(c->dkim[i]);
	free(c->dkim);
	free(c->from);
	free(c->spf_domain);
	free(c);
}
