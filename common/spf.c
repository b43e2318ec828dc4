/*
 * spf.c - check_host() of RFC 7208 on the asynchronous resolver.
 *
 * The evaluation is written as plain recursive code over a cache of
 * DNS answers.  When it needs an answer the cache does not hold, it
 * stops, the lookup is started with dns_query(), and when the answer
 * arrives the evaluation runs again from the start.  The limits make
 * this cheap and bounded: at most 10 lookups that count, each with at
 * most 10 address lookups, so a check asks at most a few hundred
 * questions (SPF_MAX_QUERIES) and re-parses a few small records each
 * time.  Because every run sees the same answers, the lookup and void
 * counts come out the same on every run.
 *
 * Called by whoever holds a dns context (see spf.h); no privilege, no
 * file access; the records are parsed by spf_macro.c as hostile input.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "xmalloc.h"

#define SPF_PENDING	(-100)	/* an answer is missing: run again */
#define SPF_FOUND	100	/* find_record(): rec holds the record */

struct spf_ans {
	uint16_t	 type;
	char		*name;
	enum dns_status	 status;
	size_t		 n;
	char		**str;		/* TXT (NUL-terminated), MX, PTR */
	size_t		*len;		/* TXT lengths */
	struct dns_addr	*addr;		/* A, AAAA */
};

struct spf_check {
	struct dns_ctx	*dns;
	struct dns_addr	 ip;
	char		*sender;
	char		*local;
	char		*domain;	/* of the sender */
	char		*helo;
	char		*receiver;
	const char	*identity;
	time_t		 now;
	spf_cb		 cb;
	void		*arg;
	struct dns_query *q;
	struct event	*kick;
	struct spf_ans	*ans;
	size_t		 nans;
	/* what the last run was missing */
	char		*want_name;
	uint16_t	 want_type;
};

/* One run of the evaluation. */
struct spf_eval {
	struct spf_check *c;
	int		 lookups;
	int		 voids;
	int		 pending;
	char		 problem[256];
	char		*expl;
};

static int	check_host(struct spf_eval *, const char *, int);

const char *
spf_result_str(enum spf_result r)
{
	static const char *names[] = { "none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror" };

	return ((size_t)r < 7 ? names[r] : "?");
}

static const struct spf_ans *
lookup(struct spf_eval *e, const char *name, uint16_t type)
{
	struct spf_check *c = e->c;
	size_t	 i;

	for (i = 0; i < c->nans; i++)
		if (c->ans[i].type == type && dns_name_eq(c->ans[i].name,
		    name))
			return (&c->ans[i]);
	if (!e->pending) {
		e->pending = 1;
		free(c->want_name);
		c->want_name = xstrdup(name);
		c->want_type = type;
	}
	return (NULL);
}

static int
is_void(const struct spf_ans *a)
{
	return (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA);
}

static int
is_err(const struct spf_ans *a)
{
	return (a->status == DNS_TEMPFAIL || a->status == DNS_TIMEOUT ||
	    a->status == DNS_BOGUS);
}

static int
count_void(struct spf_eval *e, const struct spf_ans *a)
{
	if (is_void(a) && ++e->voids > SPF_MAX_VOID) {
		snprintf(e->problem, sizeof(e->problem),
		    "more than %d void lookups", SPF_MAX_VOID);
		return (-1);
	}
	return (0);
}

static int
count_lookup(struct spf_eval *e)
{
	if (++e->lookups > SPF_MAX_LOOKUPS) {
		snprintf(e->problem, sizeof(e->problem),
		    "more than %d DNS lookups", SPF_MAX_LOOKUPS);
		return (-1);
	}
	return (0);
}

static int
addr_match(const struct dns_addr *a, const struct dns_addr *b, int bits)
{
	const unsigned char *x, *y;
	int	 full;

	if (a->af != b->af)
		return (0);
	x = (const unsigned char *)&a->u;
	y = (const unsigned char *)&b->u;
	full = bits / 8;
	if (memcmp(x, y, full) != 0)
		return (0);
	if (bits % 8 == 0)
		return (1);
	return (((x[full] ^ y[full]) & (0xff00 >> (bits % 8))) == 0);
}

static uint16_t
addr_type(const struct spf_check *c)
{
	return (c->ip.af == AF_INET ? DNS_T_A : DNS_T_AAAA);
}

/*
 * Whether name's addresses include the client's (within the prefix):
 * 1, 0, SPF_PENDING, or -2 for a DNS error.
 */
static int
name_has_ip(struct spf_eval *e, const char *name, int cidr,
    const struct spf_ans **out)
{
	const struct spf_ans *a;
	size_t	 i;

	if ((a = lookup(e, name, addr_type(e->c))) == NULL)
		return (SPF_PENDING);
	if (out != NULL)
		*out = a;
	if (is_err(a))
		return (-2);
	for (i = 0; i < a->n; i++)
		if (addr_match(&a->addr[i], &e->c->ip, cidr))
			return (1);
	return (0);
}

static int
is_under(const char *name, const char *dom)
{
	size_t	 n = strlen(name), d = strlen(dom);

	if (dns_name_eq(name, dom))
		return (1);
	if (n <= d || name[n - d - 1] != '.')
		return (0);
	return (dns_name_eq(name + n - d, dom));
}

/*
 * The validated names of the client (RFC 7208 5.5): the first one at
 * or under dom into *found (NULL for none).  0, or SPF_PENDING.  For
 * the p macro (any != 0) a name not under dom is kept as a fallback.
 */
static int
validated_name(struct spf_eval *e, const char *dom, int any,
    const char **found)
{
	const struct spf_ans *p;
	char	 rev[DNS_NAME_TEXT_MAX];
	const char *fallback = NULL, *under = NULL;
	size_t	 i;
	int	 r;

	*found = NULL;
	if (dns_ptr_name(&e->c->ip, rev, sizeof(rev)) == -1)
		return (0);
	if ((p = lookup(e, rev, DNS_T_PTR)) == NULL)
		return (SPF_PENDING);
	for (i = 0; i < p->n && i < SPF_MAX_ADDR; i++) {
		int	 match = is_under(p->str[i], dom);

		if (!match && (!any || fallback != NULL))
			continue;
		if (match && under != NULL)
			continue;
		if ((r = name_has_ip(e, p->str[i], e->c->ip.af == AF_INET ?
		    32 : 128, NULL)) == SPF_PENDING)
			return (SPF_PENDING);
		if (r != 1)
			continue;
		if (match) {
			if (dns_name_eq(p->str[i], dom)) {
				*found = p->str[i];
				return (0);
			}
			under = p->str[i];
		} else
			fallback = p->str[i];
	}
	*found = under != NULL ? under : fallback;
	return (0);
}

/* Expand a domain-spec or explain-string: 0, -1 bad, SPF_PENDING. */
static int
expand(struct spf_eval *e, const char *spec, const char *dom, int exp,
    struct buf *out)
{
	struct spf_macro_env env;
	struct spf_check *c = e->c;
	const char *p = NULL;

	if (strcasestr(spec, "%{p") != NULL) {
		if (validated_name(e, dom, 1, &p) == SPF_PENDING)
			return (SPF_PENDING);
	}
	memset(&env, 0, sizeof(env));
	env.s = c->sender;
	env.l = c->local;
	env.o = c->domain;
	env.d = dom;
	env.h = c->helo;
	env.r = c->receiver;
	env.p = p;
	env.ip = &c->ip;
	env.t = c->now;
	buf_reset(out);
	return (spf_macro_expand(spec, exp, &env, out));
}

/* The target of a term: its domain-spec expanded, or dom. */
static int
target(struct spf_eval *e, const struct spf_term *t, const char *dom,
    struct buf *out)
{
	int	 r;

	if (t->spec == NULL) {
		buf_reset(out);
		buf_addstr(out, dom);
		return (0);
	}
	if ((r = expand(e, t->spec, dom, 0, out)) == -1)
		snprintf(e->problem, sizeof(e->problem), "bad macro");
	/* a trailing dot is not part of the name looked up */
	if (r == 0 && out->len > 1 && out->data[out->len - 1] == '.')
		buf_truncate(out, out->len - 1);
	return (r);
}

static int
tempfail(struct spf_eval *e, const char *name)
{
	snprintf(e->problem, sizeof(e->problem), "DNS error for %.80s",
	    name);
	return (SPF_TEMPERROR);
}

static int
mech_mx(struct spf_eval *e, const struct spf_term *t, const char *name)
{
	const struct spf_ans *m;
	size_t	 i;
	int	 r, cidr = e->c->ip.af == AF_INET ? t->cidr4 : t->cidr6;

	if ((m = lookup(e, name, DNS_T_MX)) == NULL)
		return (SPF_PENDING);
	if (is_err(m))
		return (tempfail(e, name));
	if (count_void(e, m) == -1)
		return (SPF_PERMERROR);
	if (m->n > SPF_MAX_ADDR) {
		snprintf(e->problem, sizeof(e->problem), "more than %d MX",
		    SPF_MAX_ADDR);
		return (SPF_PERMERROR);
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->str[i], ".") == 0)
			continue;
		r = name_has_ip(e, m->str[i], cidr, NULL);
		if (r == SPF_PENDING || r == 1)
			return (r);
		if (r == -2)
			return (tempfail(e, m->str[i]));
	}
	return (0);
}

/*
 * Whether term t of the record at dom matches: 1, 0, SPF_PENDING, or
 * an error result (SPF_TEMPERROR, SPF_PERMERROR).
 */
static int
mech_match(struct spf_eval *e, const struct spf_term *t, const char *dom,
    struct buf *name)
{
	const struct spf_ans *a;
	const char *found;
	int	 r;

	if (t->kind != SPF_M_ALL && t->kind != SPF_M_IP4 &&
	    t->kind != SPF_M_IP6) {
		if (count_lookup(e) == -1)
			return (SPF_PERMERROR);
		if ((r = target(e, t, dom, name)) != 0)
			return (r == -1 ? SPF_PERMERROR : r);
	}
	switch (t->kind) {
	case SPF_M_ALL:
		return (1);
	case SPF_M_IP4:
	case SPF_M_IP6:
		return (addr_match(&t->net, &e->c->ip, t->cidr4));
	case SPF_M_A:
		r = name_has_ip(e, buf_cstr(name), e->c->ip.af == AF_INET ?
		    t->cidr4 : t->cidr6, &a);
		if (r == -2)
			return (tempfail(e, buf_cstr(name)));
		if (r == 0 && count_void(e, a) == -1)
			return (SPF_PERMERROR);
		return (r);
	case SPF_M_MX:
		return (mech_mx(e, t, buf_cstr(name)));
	case SPF_M_PTR:
		if (validated_name(e, buf_cstr(name), 0, &found) ==
		    SPF_PENDING)
			return (SPF_PENDING);
		return (found != NULL);
	case SPF_M_EXISTS:
		if ((a = lookup(e, buf_cstr(name), DNS_T_A)) == NULL)
			return (SPF_PENDING);
		if (is_err(a))
			return (tempfail(e, buf_cstr(name)));
		if (count_void(e, a) == -1)
			return (SPF_PERMERROR);
		return (a->n > 0);
	case SPF_M_INCLUDE:
		r = check_host(e, buf_cstr(name), 0);
		switch (r) {
		case SPF_PASS:
			return (1);
		case SPF_FAIL:
		case SPF_SOFTFAIL:
		case SPF_NEUTRAL:
			return (0);
		case SPF_NONE:
			snprintf(e->problem, sizeof(e->problem),
			    "no record at included %.80s", buf_cstr(name));
			return (SPF_PERMERROR);
		default:
			return (r);
		}
	default:
		return (0);
	}
}

/* The exp= text for a fail of the record at dom, into e->expl. */
static int
explain(struct spf_eval *e, const struct spf_record *rec, const char *dom)
{
	const struct spf_ans *a;
	struct buf name, text;
	int	 r;

	free(e->expl);
	e->expl = NULL;
	if (rec->exp == -1)
		return (0);
	buf_init(&name, SPF_BUF_MAX);
	buf_init(&text, SPF_BUF_MAX);
	if ((r = target(e, &rec->term[rec->exp], dom, &name)) != 0)
		goto done;
	if ((a = lookup(e, buf_cstr(&name), DNS_T_TXT)) == NULL) {
		r = SPF_PENDING;
		goto done;
	}
	if (a->status != DNS_OK || a->n != 1 || strlen(a->str[0]) !=
	    a->len[0])
		goto done;
	r = expand(e, a->str[0], dom, 1, &text);
	if (r == 0)
		e->expl = buf_steal(&text);
done:
	buf_free(&name);
	buf_free(&text);
	return (r == SPF_PENDING ? r : 0);
}

/* A name check_host() accepts (RFC 7208 4.3): 1 or 0. */
static int
domain_ok(const char *d)
{
	size_t	 n = strlen(d), lab = 0, labels = 0, i;

	if (n == 0 || n > 253 || d[0] == '.')
		return (0);
	if (d[n - 1] == '.')
		n--;
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (lab == 0 || lab > 63)
				return (0);
			labels++;
			lab = 0;
		} else if ((unsigned char)d[i] <= ' ' ||
		    (unsigned char)d[i] > 0x7e || d[i] == '\\')
			return (0);
		else
			lab++;
	}
	return (labels >= 2);
}

/* The one SPF record at dom: SPF_FOUND (rec filled), or a result. */
static int
find_record(struct spf_eval *e, const char *dom, struct spf_record *rec)
{
	const struct spf_ans *a;
	size_t	 i, found = 0, which = 0;
	char	 err[64];

	if (!domain_ok(dom))
		return (SPF_NONE);
	if ((a = lookup(e, dom, DNS_T_TXT)) == NULL)
		return (SPF_PENDING);
	if (is_err(a))
		return (tempfail(e, dom));
	for (i = 0; i < a->n; i++)
		if (spf_is_record(a->str[i], a->len[i])) {
			found++;
			which = i;
		}
	if (found == 0)
		return (SPF_NONE);
	if (found > 1) {
		snprintf(e->problem, sizeof(e->problem),
		    "%zu records at %.80s", found, dom);
		return (SPF_PERMERROR);
	}
	if (spf_record_parse(a->str[which], a->len[which], rec, err,
	    sizeof(err)) == -1) {
		spf_record_free(rec);
		snprintf(e->problem, sizeof(e->problem), "%s at %.80s", err,
		    dom);
		return (SPF_PERMERROR);
	}
	return (SPF_FOUND);
}

static int
check_host(struct spf_eval *e, const char *dom, int want_exp)
{
	struct spf_record *rec;
	struct buf name;
	size_t	 i;
	int	 r, m;

	rec = xcalloc(1, sizeof(*rec));
	buf_init(&name, SPF_BUF_MAX);
	if ((r = find_record(e, dom, rec)) != SPF_FOUND)
		goto done;
	r = SPF_NEUTRAL;
	for (i = 0; i < rec->nterm; i++) {
		if (rec->term[i].kind == SPF_MOD_REDIRECT ||
		    rec->term[i].kind == SPF_MOD_EXP)
			continue;
		m = mech_match(e, &rec->term[i], dom, &name);
		if (m == 0)
			continue;
		if (m != 1) {
			r = m;
			goto done;
		}
		r = rec->term[i].qual;
		if (r == SPF_FAIL && want_exp && explain(e, rec, dom) ==
		    SPF_PENDING)
			r = SPF_PENDING;
		goto done;
	}
	if (rec->redirect != -1) {
		if (count_lookup(e) == -1) {
			r = SPF_PERMERROR;
			goto done;
		}
		if ((r = target(e, &rec->term[rec->redirect], dom, &name))
		    != 0) {
			r = r == -1 ? SPF_PERMERROR : r;
			goto done;
		}
		r = check_host(e, buf_cstr(&name), want_exp);
		if (r == SPF_NONE) {
			snprintf(e->problem, sizeof(e->problem),
			    "no record at redirect %.80s", buf_cstr(&name));
			r = SPF_PERMERROR;
		}
	}
done:
	buf_free(&name);
	spf_record_free(rec);
	free(rec);
	return (r);
}

static void	step(struct spf_check *);

static void
add_answer(struct spf_check *c, const char *name, uint16_t type,
    const struct dns_result *res)
{
	struct spf_ans *a;
	size_t	 i;

	c->ans = xreallocarray(c->ans, c->nans + 1, sizeof(*c->ans));
	a = &c->ans[c->nans++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->name = xstrdup(name);
	a->status = res != NULL ? res->status : DNS_NXDOMAIN;
	if (res == NULL || res->status != DNS_OK)
		return;
	a->str = xcalloc(res->nrr, sizeof(*a->str));
	a->len = xcalloc(res->nrr, sizeof(*a->len));
	a->addr = xcalloc(res->nrr, sizeof(*a->addr));
	for (i = 0; i < res->nrr; i++) {
		const struct dns_rr *rr = &res->rr[i];

		if (rr->type != type)
			continue;
		switch (type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			a->addr[a->n] = rr->u.addr;
			break;
		case DNS_T_TXT:
			a->str[a->n] = xmalloc(rr->u.txt.len + 1);
			memcpy(a->str[a->n], rr->u.txt.data, rr->u.txt.len);
			a->str[a->n][rr->u.txt.len] = '\0';
			a->len[a->n] = rr->u.txt.len;
			break;
		case DNS_T_MX:
			a->str[a->n] = xstrdup(rr->u.mx.host);
			break;
		default:
			a->str[a->n] = xstrdup(rr->u.name);
			break;
		}
		a->n++;
	}
}

static void
got_answer(const struct dns_result *res, void *arg)
{
	struct spf_check *c = arg;

	c->q = NULL;
	add_answer(c, c->want_name, c->want_type, res);
	step(c);
}

static void
finish(struct spf_check *c, int r, struct spf_eval *e)
{
	struct spf_outcome o;

	memset(&o, 0, sizeof(o));
	o.result = r;
	o.identity = c->identity;
	o.domain = c->domain;
	if (r == SPF_FAIL)
		o.explanation = e->expl;
	if (r == SPF_PERMERROR || r == SPF_TEMPERROR)
		o.problem = e->problem;
	log_debug("spf identity=%s domain=%s result=%s problem=\"%s\"",
	    o.identity, o.domain, spf_result_str(r),
	    o.problem != NULL ? o.problem : "");
	c->cb(&o, c->arg);
	spf_cancel(c);
}

/*
 * A name as dns_query() takes it: a byte outside printable ASCII (a
 * space from %_), or a backslash, written \DDD.
 */
static void
wire_text(const char *name, struct buf *out)
{
	const unsigned char *p;

	buf_init(out, SPF_BUF_MAX);
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '\\')
			buf_printf(out, "\\%03u", *p);
		else
			buf_addc(out, *p);
}

/* Run the evaluation; finish, or ask for what it is missing. */
static void
step(struct spf_check *c)
{
	struct spf_eval e;
	struct buf name;
	int	 r;

	for (;;) {
		memset(&e, 0, sizeof(e));
		e.c = c;
		r = check_host(&e, c->domain, 1);
		if (!e.pending) {
			finish(c, r, &e);
			free(e.expl);
			return;
		}
		free(e.expl);
		if (c->nans >= SPF_MAX_QUERIES) {
			snprintf(e.problem, sizeof(e.problem),
			    "too many DNS queries");
			finish(c, SPF_TEMPERROR, &e);
			return;
		}
		wire_text(c->want_name, &name);
		c->q = dns_query(c->dns, buf_cstr(&name), c->want_type,
		    got_answer, c);
		buf_free(&name);
		if (c->q != NULL)
			return;
		/* not a valid name: it has no records */
		add_answer(c, c->want_name, c->want_type, NULL);
	}
}

static void
kick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	step(arg);
}

struct spf_check *
spf_check(struct event_base *base, struct dns_ctx *dns,
    const struct spf_request *rq, spf_cb cb, void *arg)
{
	struct spf_check *c;
	const char *at;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };
	struct timeval tv = { 0, 0 };

	c = xcalloc(1, sizeof(*c));
	c->dns = dns;
	c->cb = cb;
	c->arg = arg;
	c->ip = rq->ip;
	if (c->ip.af == AF_INET6 && memcmp(&c->ip.u.v6, mapped, 12) == 0) {
		c->ip.af = AF_INET;
		memcpy(&c->ip.u.v4, c->ip.u.v6.s6_addr + 12, 4);
	}
	c->helo = xstrdup(rq->helo != NULL ? rq->helo : "");
	c->receiver = rq->receiver != NULL ? xstrdup(rq->receiver) : NULL;
	c->now = rq->now != 0 ? rq->now : time(NULL);
	if (rq->sender == NULL || rq->sender[0] == '\0') {
		c->identity = "helo";
		c->local = xstrdup("postmaster");
		c->domain = xstrdup(c->helo);
	} else {
		c->identity = "mailfrom";
		if ((at = strrchr(rq->sender, '@')) == NULL) {
			c->local = xstrdup("postmaster");
			c->domain = xstrdup(rq->sender);
		} else {
			c->local = at == rq->sender ? xstrdup("postmaster") :
			    xstrndup(rq->sender, at - rq->sender);
			c->domain = xstrdup(at + 1);
		}
	}
	c->sender = xasprintf("%s@%s", c->local, c->domain);
	if ((c->kick = evtimer_new(base, kick, c)) == NULL)
		fatalx("spf: evtimer_new");
	evtimer_add(c->kick, &tv);
	return (c);
}

void
spf_cancel(struct spf_check *c)
{
	size_t	 i, j;

	if (c->q != NULL)
		dns_cancel(c->q);
	if (c->kick != NULL)
		event_free(c->kick);
	for (i = 0; i < c->nans; i++) {
		for (j = 0; j < c->ans[i].n; j++)
			if (c->ans[i].str != NULL)
				free(c->ans[i].str[j]);
		free(c->ans[i].str);
		free(c->ans[i].len);
		free(c->ans[i].addr);
		free(c->ans[i].name);
	}
	free(c->ans);
	free(c->want_name);
	free(c->sender);
	free(c->local);
	free(c->domain);
	free(c->helo);
	free(c->receiver);
	free(c);
}
