/*
 * verify.c - DKIM verification of a received message (see verify.h).
 *
 * Runs in smtpd.receiver as [global] user, chrooted to the empty
 * directory: it reads the message from the memfd the SMTP engine wrote,
 * asks DNS (common/dns) and key servers (common/ks_lookup) on the
 * network, and writes a new memfd.  Everything it reads is hostile; the
 * parsing is common/dkim's, common/addr's and authres.c's, each bounded.
 *
 * Order: the message is read once, start to end, into the verifier (the
 * body is hashed as it streams, the header kept, up to
 * VERIFY_HEADER_MAX); then one key lookup per signature starts, all at
 * once: the TXT record at <s>._domainkey.<d>, and when the name or the
 * record does not exist (NXDOMAIN, NODATA), the key server at d='s MX
 * host, asked for the signature's i= address or, when i= has no local
 * part, for the From address if d= is aligned with it.  DNS trouble
 * (SERVFAIL, timeout, bogus) is a temperror and never falls back to a
 * key server: an attacker who can make DNS fail for a moment must not
 * be able to send us to a host of his choosing.  When the last lookup
 * is in (or the deadline passes) every signature is judged.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "authres.h"
#include "callback.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "io.h"
#include "ks_lookup.h"
#include "log.h"
#include "qhandoff.h"
#include "registry.h"
#include "registry_ask.h"
#include "registry_dns.h"
#include "spf.h"
#include "verdict.h"
#include "verify.h"
#include "xmalloc.h"

struct vkey {
	struct verify		*v;
	size_t			 i;
	struct dns_query	*q;
	struct ks_lookup	*ks;
	int			 pending;
};

struct vspf {
	struct verify		*v;
	struct spf_check	*c;
	enum spf_result		*result;
	int			*done;
};

struct verify {
	struct verify_env	 env;
	struct dkim_verify	*dv;
	verify_cb		 cb;
	void			*arg;
	struct buf		 hdr;		/* the header section */
	int			 hdr_complete;
	const char		*error;
	struct vkey		 keys[DKIM_MAX_SIGS];
	size_t			 nkeys;
	struct vspf		 spf[2];	/* MAIL FROM, HELO */
	struct dmarc_check	*dmarc;
	int			 dmarc_started;
	struct rcv_registry_ask	*reg_ask;	/* the parent's registry.db */
	struct registry_dns	*reg_dns;	/* registry_zones */
	char			 reg_name[256];	/* the listed name that matched */
	int			 reg_claim;	/* the HELO name is listed */
	int			 reg_ip;	/* the address is listed */
	int			 reg_temp;	/* a registry could not say */
	struct cbk_check	*cbk;		/* the callback, asking */
	int			 cbk_own;	/* without a session's cache */
	struct dmarc_outcome	 dmarc_out;
	char			 dmarc_domain[256], dmarc_org[256];
	int			 pending;
	struct event		*done;		/* all in: next stage */
	struct event		*deadline;
	struct dkim_result	*res;
	size_t			 nres;
	struct verdict_facts	 facts;
	enum verdict_class	 verdict;
	struct buf		 why;
};

/* One lookup of a stage is in; the last one moves on (stage()). */
static void
one_done(struct verify *v)
{
	struct timeval	 now = { 0, 0 };

	if (--v->pending == 0)
		evtimer_add(v->done, &now);
}

static void
key_done(struct vkey *k)
{
	k->pending = 0;
	one_done(k->v);
}

static void
got_ks(enum dkim_keyq q, const char *rec, size_t n, void *arg)
{
	struct vkey	*k = arg;

	k->ks = NULL;
	dkim_verify_set_key(k->v->dv, k->i, q, rec, n);
	key_done(k);
}

/* DNS has no key: ask the key server at d='s MX host, if anyone. */
static void
ask_keyserver(struct vkey *k, const char *d, const char *s)
{
	struct verify		*v = k->v;
	struct ks_lookup_params	 p;
	const char		*id = dkim_verify_identity(v->dv, k->i);
	char			 addr[AR_FROM_MAX + 1];

	if (v->env.keyserver_port <= 0 || id == NULL ||
	    ar_keyserver_address(id, d, v->facts.from, addr) == -1) {
		dkim_verify_set_key(v->dv, k->i, DKIM_KEYQ_NONE, NULL, 0);
		key_done(k);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.domain = d;
	p.address = addr;
	p.selector = s;
	p.port = v->env.keyserver_port;
	p.timeout_ms = v->env.timeout_ms;
	k->ks = ks_lookup_start(v->env.base, v->env.dns, &p, got_ks, k);
}

/* The first TXT record that is a DKIM key, else the first one. */
static const struct dns_txt *
key_txt(const struct dns_result *r)
{
	size_t	 i;

	for (i = 0; i < r->nrr; i++)
		if (r->rr[i].u.txt.len >= 7 &&
		    strncmp(r->rr[i].u.txt.data, "v=DKIM1", 7) == 0)
			return &r->rr[i].u.txt;
	return &r->rr[0].u.txt;
}

static void
got_txt(const struct dns_result *r, void *arg)
{
	struct vkey		*k = arg;
	const struct dns_txt	*t;
	const char		*d, *s;

	k->q = NULL;
	log_debug("dkim key %s: %s", r->qname, dns_status_str(r->status));
	switch (r->status) {
	case DNS_OK:
		t = key_txt(r);
		dkim_verify_set_key(k->v->dv, k->i, DKIM_KEYQ_FOUND, t->data,
		    t->len);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (dkim_verify_query(k->v->dv, k->i, &d, &s) == 0) {
			ask_keyserver(k, d, s);
			return;
		}
		dkim_verify_set_key(k->v->dv, k->i, DKIM_KEYQ_NONE, NULL, 0);
		break;
	default:
		dkim_verify_set_key(k->v->dv, k->i, DKIM_KEYQ_TEMPFAIL, NULL,
		    0);
	}
	key_done(k);
}

static void
start_lookups(struct verify *v)
{
	struct vkey	*k;
	struct buf	 qname;
	const char	*d, *s;
	size_t		 i, n = dkim_verify_nsigs(v->dv);

	buf_init(&qname, DNS_NAME_TEXT_MAX);
	for (i = 0; i < n && v->nkeys < DKIM_MAX_SIGS; i++) {
		if (dkim_verify_query(v->dv, i, &d, &s) == -1)
			continue;
		k = &v->keys[v->nkeys++];
		k->v = v;
		k->i = i;
		k->pending = 1;
		v->pending++;
		buf_reset(&qname);
		if (v->env.dns == NULL ||
		    dkim_key_qname(d, s, &qname) == -1 ||
		    (k->q = dns_query(v->env.dns, buf_cstr(&qname), DNS_T_TXT,
		    got_txt, k)) == NULL) {
			dkim_verify_set_key(v->dv, i, v->env.dns == NULL ?
			    DKIM_KEYQ_TEMPFAIL : DKIM_KEYQ_NONE, NULL, 0);
			k->pending = 0;
			v->pending--;
		}
	}
	buf_free(&qname);
}

/* ------------------------------------------------------------------ */
/* SPF and DMARC */

static void
got_spf(const struct spf_outcome *o, void *arg)
{
	struct vspf	*sp = arg;

	sp->c = NULL;
	*sp->result = o->result;
	*sp->done = 1;
	one_done(sp->v);
}

/* A HELO name SPF can check: a domain, not an address literal. */
static int
helo_checkable(const char *h)
{
	return h != NULL && strchr(h, '.') != NULL && h[0] != '[' &&
	    strlen(h) <= 253;
}

/*
 * SPF for the MAIL FROM identity (unless it is <>: then DMARC takes the
 * HELO's) and for the HELO name, both at once with the key lookups.
 */
static void
start_spf(struct verify *v)
{
	struct verdict_facts	*f = &v->facts;
	struct spf_request	 rq;
	int			 i;

	if (v->env.dns == NULL || !v->env.client_known)
		return;
	for (i = 0; i < 2; i++) {
		memset(&rq, 0, sizeof(rq));
		rq.ip = v->env.client;
		rq.helo = f->helo;
		rq.sender = i == 0 ? f->mail_from : NULL;
		rq.receiver = v->env.authserv_id;
		if (i == 0 && f->mail_from[0] == '\0')
			continue;
		if (i == 1 && !helo_checkable(f->helo))
			continue;
		v->spf[i].v = v;
		v->spf[i].result = i == 0 ? &f->spf_mailfrom : &f->spf_helo;
		v->spf[i].done = i == 0 ? &f->spf_mailfrom_done :
		    &f->spf_helo_done;
		v->pending++;
		v->spf[i].c = spf_check(v->env.base, v->env.dns, &rq, got_spf,
		    &v->spf[i]);
	}
}

static void
got_dmarc(const struct dmarc_outcome *o, void *arg)
{
	struct verify	*v = arg;

	v->dmarc = NULL;
	v->dmarc_out = *o;
	snprintf(v->dmarc_domain, sizeof(v->dmarc_domain), "%s",
	    o->domain ? o->domain : "");
	snprintf(v->dmarc_org, sizeof(v->dmarc_org), "%s",
	    o->org_domain ? o->org_domain : "");
	v->dmarc_out.domain = v->dmarc_domain;
	v->dmarc_out.org_domain = v->dmarc_org;
	v->dmarc_out.problem = NULL;
	v->facts.dmarc = &v->dmarc_out;
	one_done(v);
}

/* The DKIM results are in: DMARC, for a message with one From. */
static void
start_dmarc(struct verify *v)
{
	struct verdict_facts	*f = &v->facts;
	struct dmarc_request	 rq;
	const char		*pass[DKIM_MAX_SIGS];
	const char		*at = strrchr(f->from, '@');
	size_t			 i, n = 0;

	v->dmarc_started = 1;
	if (v->env.dns == NULL || v->env.psl == NULL || at == NULL)
		return;
	for (i = 0; i < v->nres && n < DKIM_MAX_SIGS; i++)
		if (v->res[i].status == DKIM_PASS && !v->res[i].testing)
			pass[n++] = v->res[i].domain;
	memset(&rq, 0, sizeof(rq));
	rq.from_domain = at + 1;
	rq.dkim_pass = pass;
	rq.ndkim = n;
	if (f->mail_from[0] != '\0') {
		rq.spf = f->spf_mailfrom;
		rq.spf_domain = strrchr(f->mail_from, '@') + 1;
	} else {
		rq.spf = f->spf_helo;
		rq.spf_domain = f->helo;
	}
	rq.roll = arc4random_uniform(100);
	v->pending++;
	v->dmarc = dmarc_check(v->env.base, v->env.dns, v->env.psl, &rq,
	    got_dmarc, v);
}

/* ------------------------------------------------------------------ */
/* the registry of trusted transmitters */

static void	start_callback(struct verify *);

/*
 * The parent's answer: a listed name that covers the HELO name is the
 * client's claim to be a registered transmitter, which judge() holds
 * against SPF for the HELO name (and the callback).
 */
static void
got_registry(uint32_t status, size_t index, const char *name,
    const char *note, void *arg)
{
	struct verify	*v = arg;

	(void)index;
	(void)note;
	v->reg_ask = NULL;
	if (status == REGISTRY_ANS_LISTED) {
		v->reg_claim = 1;
		snprintf(v->reg_name, sizeof(v->reg_name), "%s", name);
		start_callback(v);
	} else if (status == REGISTRY_ANS_TEMPFAIL)
		v->reg_temp = 1;
	one_done(v);
}

static void
got_registry_dns(const struct registry_dns_result *r, void *arg)
{
	struct verify	*v = arg;

	v->reg_dns = NULL;
	if (r->status == REGDNS_LISTED) {
		if (strcmp(r->by, "ip") == 0)
			v->reg_ip = 1;
		else {
			v->reg_claim = 1;
			start_callback(v);
		}
		if (v->reg_name[0] == '\0' || v->reg_ip)
			snprintf(v->reg_name, sizeof(v->reg_name), "%s",
			    r->zone);
	} else if (r->status == REGDNS_TEMPERROR)
		v->reg_temp = 1;
	one_done(v);
}

static void
got_callback(enum cbk_result r, int flags, const char *why, void *arg)
{
	struct verify	*v = arg;

	(void)flags;
	v->cbk = NULL;
	v->facts.callback = r == CBK_PASS ? VC_PASS : r == CBK_FAIL ?
	    VC_FAIL : VC_TEMPERROR;
	*v->env.callback_cache = v->facts.callback;
	log_info("callback result=%s%s%s", cbk_result_name(r),
	    why != NULL ? " why=" : "", why != NULL ? why : "");
	one_done(v);
}

/*
 * A client that claims a registered name and offered its session ID:
 * ask its own address (never a host named by the client) whether the
 * session is its.  IDs are single-use, so the answer holds for the rest
 * of the SMTP session.
 */
static void
start_callback(struct verify *v)
{
	const struct verify_env *e = &v->env;

	if (v->cbk != NULL || v->facts.callback != VC_NONE)
		return;
	if (*e->callback_cache != VC_NONE) {
		v->facts.callback = *e->callback_cache;
		return;
	}
	if (e->callback_port <= 0 || e->sessid == NULL ||
	    e->callback_ctx == NULL || e->peer == NULL)
		return;
	v->pending++;
	v->cbk = cbk_check_start_from(e->base, e->callback_ctx,
	    (const struct sockaddr *)e->peer,
	    (const struct sockaddr *)e->local, e->callback_port, e->sessid,
	    CBK_RESP_TIMEOUT_MS, got_callback, v);
}

/* Is the client a registered transmitter: its HELO name, its address. */
static void
start_registry(struct verify *v)
{
	const char	*names[1];
	size_t		 n = 0;

	if (helo_checkable(v->facts.helo))
		names[n++] = v->facts.helo;
	if (n > 0 && v->env.parent != NULL &&
	    (v->reg_ask = rcv_registry_ask(v->env.parent, names, n,
	    got_registry, v)) != NULL)
		v->pending++;
	if (v->env.dns != NULL && v->env.registry_zones != NULL &&
	    (v->reg_dns = registry_dns_start(v->env.dns,
	    v->env.registry_zones, v->env.client_known ? &v->env.client :
	    NULL, names, n, got_registry_dns, v)) != NULL)
		v->pending++;
}

/*
 * The registry's result: the address listed in a zone passes; a listed
 * HELO name is a claim that passes when the name's own SPF record
 * authorizes the address or the callback confirmed the session, and
 * fails otherwise (someone else's name).
 */
static void
registry_result(struct verify *v)
{
	struct verdict_facts	*f = &v->facts;

	f->registry_name = v->reg_name[0] != '\0' ? v->reg_name : NULL;
	if (v->reg_ip)
		f->registry = VC_PASS;
	else if (v->reg_claim)
		f->registry = f->spf_helo == SPF_PASS ||
		    f->callback == VC_PASS ? VC_PASS : VC_FAIL;
	else
		f->registry = v->reg_temp ? VC_TEMPERROR : VC_NONE;
}

static void
cancel_lookups(struct verify *v)
{
	size_t	 i;

	for (i = 0; i < v->nkeys; i++) {
		if (v->keys[i].q != NULL)
			dns_cancel(v->keys[i].q);
		v->keys[i].q = NULL;
		ks_lookup_cancel(v->keys[i].ks);
		v->keys[i].ks = NULL;
		if (v->keys[i].pending)
			dkim_verify_set_key(v->dv, v->keys[i].i,
			    DKIM_KEYQ_TEMPFAIL, NULL, 0);
		v->keys[i].pending = 0;
	}
	for (i = 0; i < 2; i++) {
		if (v->spf[i].c != NULL) {
			spf_cancel(v->spf[i].c);
			*v->spf[i].result = SPF_TEMPERROR;
			*v->spf[i].done = 1;
		}
		v->spf[i].c = NULL;
	}
	if (v->dmarc != NULL) {
		dmarc_cancel(v->dmarc);
		v->dmarc = NULL;
	}
	if (v->reg_ask != NULL) {
		rcv_registry_cancel(v->reg_ask);
		v->reg_ask = NULL;
		v->reg_temp = 1;
	}
	if (v->reg_dns != NULL) {
		registry_dns_cancel(v->reg_dns);
		v->reg_dns = NULL;
		v->reg_temp = 1;
	}
	if (v->cbk != NULL) {
		cbk_check_cancel(v->cbk);
		v->cbk = NULL;
		v->facts.callback = VC_TEMPERROR;
	}
	v->pending = 0;
}

/* The DKIM keys are in (or given up on): every signature judged. */
static void
finish_dkim(struct verify *v)
{
	size_t	 i;

	v->nres = dkim_verify_finish(v->dv, NULL, NULL);
	v->res = xcalloc(v->nres + 1, sizeof(*v->res));
	for (i = 0; i < v->nres; i++)
		v->res[i] = *dkim_verify_result(v->dv, i);
	v->facts.dkim = v->res;
	v->facts.ndkim = v->nres;
}

/* Everything is in, or the deadline passed: decide, tell. */
static void
judge(evutil_socket_t fd, short ev, void *arg)
{
	struct verify	*v = arg;

	(void)fd;
	(void)ev;
	evtimer_del(v->deadline);
	evtimer_del(v->done);
	cancel_lookups(v);
	if (v->error == NULL) {
		if (v->res == NULL)
			finish_dkim(v);
		if (v->dmarc_started && v->facts.dmarc == NULL) {
			/* the deadline came during the DMARC lookup */
			memset(&v->dmarc_out, 0, sizeof(v->dmarc_out));
			v->dmarc_out.result = DMARC_TEMPERROR;
			v->facts.dmarc = &v->dmarc_out;
		}
		registry_result(v);
		v->verdict = verdict_decide(v->env.policy, &v->facts,
		    &v->why);
	}
	v->cb(v, v->arg);
}

/* The keys and SPF are in: DMARC; when that is in too, judge. */
static void
stage(evutil_socket_t fd, short ev, void *arg)
{
	struct verify	*v = arg;

	if (v->error == NULL && !v->dmarc_started) {
		finish_dkim(v);
		start_dmarc(v);
		if (v->pending > 0)
			return;
	}
	judge(fd, ev, arg);
}

/* The message from off: into the verifier, and its header kept. */
static int
read_message(struct verify *v, int fd, off_t off)
{
	char	 b[65536];
	ssize_t	 n;
	size_t	 keep;

	while ((n = pread(fd, b, sizeof(b), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		(void)dkim_verify_feed(v->dv, b, (size_t)n);
		if (v->hdr.len <= VERIFY_HEADER_MAX) {
			keep = VERIFY_HEADER_MAX + 1 - v->hdr.len;
			(void)buf_add(&v->hdr, b, (size_t)n < keep ? (size_t)n :
			    keep);
		}
	}
	/* a message of header fields alone: its end is the header's */
	if (!dkim_verify_header_done(v->dv))
		(void)dkim_verify_feed(v->dv, "\r\n", 2);
	return 0;
}

struct verify *
verify_start(const struct verify_env *env, int fd, off_t off, verify_cb cb,
    void *arg)
{
	struct verify	*v = xcalloc(1, sizeof(*v));
	struct timeval	 tv;
	size_t		 hlen;

	v->env = *env;
	if (v->env.callback_cache == NULL)
		v->env.callback_cache = &v->cbk_own;
	v->cb = cb;
	v->arg = arg;
	v->verdict = VERDICT_UNSAFE;
	v->facts.mail_from = env->mail_from != NULL ? env->mail_from : "";
	v->facts.helo = env->helo != NULL ? env->helo : "";
	v->facts.tls = env->tls;
	v->dv = dkim_verify_new(NULL);
	buf_init(&v->hdr, VERIFY_HEADER_MAX + 1);
	buf_init(&v->why, 0);
	if ((v->done = evtimer_new(env->base, stage, v)) == NULL ||
	    (v->deadline = evtimer_new(env->base, judge, v)) == NULL)
		fatalx("verify: evtimer_new");
	if (read_message(v, fd, off) == -1)
		v->error = "cannot read the message";
	else {
		hlen = ar_header_len(v->hdr.data ? v->hdr.data : "",
		    v->hdr.len, &v->hdr_complete);
		if (!v->hdr_complete && v->hdr.len > VERIFY_HEADER_MAX)
			v->error = "header section too large";
		else {
			buf_truncate(&v->hdr, hlen);
			(void)ar_from_claims(v->hdr.data ? v->hdr.data : "",
			    hlen, v->facts.from, v->facts.from_name_claim,
			    sizeof(v->facts.from_name_claim));
			start_lookups(v);
			start_spf(v);
			start_registry(v);
		}
	}
	tv.tv_sec = env->timeout_ms / 1000;
	tv.tv_usec = (env->timeout_ms % 1000) * 1000;
	evtimer_add(v->deadline, &tv);
	if (v->pending == 0) {
		tv.tv_sec = tv.tv_usec = 0;
		evtimer_add(v->done, &tv);
	}
	return v;
}

void
verify_free(struct verify *v)
{
	if (v == NULL)
		return;
	cancel_lookups(v);
	event_free(v->done);
	event_free(v->deadline);
	dkim_verify_free(v->dv);
	buf_free(&v->hdr);
	buf_free(&v->why);
	free(v->res);
	free(v);
}

const char *
verify_error(const struct verify *v)
{
	return v->error;
}

enum verdict_class
verify_verdict(const struct verify *v)
{
	return v->verdict;
}

const char *
verify_why(const struct verify *v)
{
	return v->why.len > 0 ? buf_cstr(&v->why) : "";
}

void
verify_summary(const struct verify *v, struct buf *out)
{
	const struct verdict_facts *f = &v->facts;
	size_t	 i;

	(void)buf_printf(out, "from=<%s>", f->from);
	if (v->nres == 0)
		(void)buf_addstr(out, " dkim=none");
	for (i = 0; i < v->nres; i++)
		(void)buf_printf(out, " dkim=%s/%s/%s",
		    dkim_status_name(v->res[i].status),
		    v->res[i].domain[0] ? v->res[i].domain : "-",
		    v->res[i].selector[0] ? v->res[i].selector : "-");
	if (f->spf_mailfrom_done)
		(void)buf_printf(out, " spf=%s",
		    spf_result_str(f->spf_mailfrom));
	if (f->spf_helo_done)
		(void)buf_printf(out, " spf_helo=%s",
		    spf_result_str(f->spf_helo));
	if (f->dmarc != NULL)
		(void)buf_printf(out, " dmarc=%s/%s",
		    dmarc_result_str(f->dmarc->result),
		    dmarc_policy_str(f->dmarc->policy));
	(void)buf_printf(out, " tls=%s", f->tls.on ? "yes" : "no");
}

/* Bytes [from, to) of fd (to -1: the end) appended to out. */
static int
copy_range(int fd, off_t from, off_t to, int out)
{
	char	 b[65536];
	size_t	 want;
	ssize_t	 n;

	while (to == -1 || from < to) {
		want = to == -1 || to - from > (off_t)sizeof(b) ? sizeof(b) :
		    (size_t)(to - from);
		if ((n = pread(fd, b, want, from)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return to == -1 ? 0 : -1;
		if (io_write_all(out, b, (size_t)n) == -1)
			return -1;
		from += n;
	}
	return 0;
}

/*
 * Our Authentication-Results, then what came before off, then the
 * header without the fields that claim our authserv-id, then the rest.
 */
int
verify_rewrite(const struct verify *v, int fd, off_t off, int *out_r)
{
	struct ar_field	 f;
	struct buf	 ar;
	const char	*h = v->hdr.data ? v->hdr.data : "";
	size_t		 pos = 0, dropped = 0;
	int		 out, r = -1;

	if ((out = memfd_create("smtpd-msg", MFD_CLOEXEC)) == -1)
		return -1;
	buf_init(&ar, 0);
	verdict_authres(v->env.authserv_id, &v->facts, &ar);
	if (io_write_all(out, ar.data, ar.len) == -1 ||
	    copy_range(fd, 0, off, out) == -1)
		goto done;
	while (ar_next_field(h, v->hdr.len, &pos, &f)) {
		if (ar_field_claims_id(h, &f, v->env.authserv_id)) {
			dropped++;
			continue;
		}
		if (io_write_all(out, h + f.off, f.len) == -1)
			goto done;
	}
	if (copy_range(fd, off + (off_t)pos, -1, out) == -1 ||
	    lseek(out, 0, SEEK_SET) == -1)
		goto done;
	if (dropped > 0)
		log_info("removed %zu Authentication-Results claiming %s",
		    dropped, v->env.authserv_id);
	r = 0;
done:
	buf_free(&ar);
	if (r == -1)
		close(out);
	else
		*out_r = out;
	return r;
}
