/*
 * mta_policy.c - smtpd.mta's settings and the decisions that need
 * nothing but their arguments: the transport and TLS policy maps, where
 * a domain's mail goes (relayhost, transport, else its MX), what an MX
 * answer means (mta_mx_plan), and how a reply from a remote server
 * becomes a recipient's result (mta_status, mta_result_text).
 *
 * Called by smtpd's parent at start (mta_policy_load: a bad setting
 * stops smtpd there, not at the first message), by smtpd.mta, and by
 * smtpd.queue (mta_text_valid: what the transmitter reports is checked
 * before it lands in an envelope or a DSN).  The remote text handled
 * here comes from any host on the Internet: it is cut to MTA_TEXT_MAX
 * and every byte outside printable ASCII is replaced.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "mta.h"
#include "smtpd.h"
#include "xmalloc.h"

#define MAP_MAX		1000	/* entries of a map */

static const char *const tls_names[] = {
	[MTA_TLS_MAY] = "may",
	[MTA_TLS_ENCRYPT] = "encrypt",
	[MTA_TLS_VERIFY] = "verify",
	[MTA_TLS_DANE] = "dane",
	[MTA_TLS_DANE_ONLY] = "dane-only",
};

int
mta_tls_parse(const char *s, enum mta_tls *t)
{
	size_t	 i;

	for (i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++)
		if (strcasecmp(s, tls_names[i]) == 0) {
			*t = (enum mta_tls)i;
			return 0;
		}
	return -1;
}

const char *
mta_tls_name(enum mta_tls t)
{
	return tls_names[t];
}

static int
valid_tls(const char *s)
{
	enum mta_tls	 t;

	return mta_tls_parse(s, &t) == 0;
}

/* "host:port" or "[addr]:port": host into out, the port; 0 or -1. */
int
mta_hostport(const char *s, char *out, size_t outlen, int *port)
{
	const char	*c;
	char		*end;
	long		 p;
	size_t		 hl;

	if ((c = strrchr(s, ':')) == NULL || c == s)
		return -1;
	p = strtol(c + 1, &end, 10);
	if (*end != '\0' || c[1] == '\0' || p < 1 || p > 65535)
		return -1;
	hl = (size_t)(c - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -1;
		s++;
		hl -= 2;
	}
	if (hl >= outlen)
		return -1;
	memcpy(out, s, hl);
	out[hl] = '\0';
	*port = (int)p;
	return 0;
}

static int
valid_hostport(const char *s)
{
	char	 h[DNS_NAME_TEXT_MAX];
	int	 p;

	return mta_hostport(s, h, sizeof(h), &p) == 0;
}

void
mta_map_free(struct mta_map *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++) {
		free(m->key[i]);
		free(m->value[i]);
	}
	free(m->key);
	free(m->value);
	memset(m, 0, sizeof(*m));
}

/*
 * "domain=value domain=value", separated by spaces or commas, each value
 * checked by ok.  0, or -1 with err naming the entry.
 */
int
mta_map_parse(struct mta_map *m, const char *s, int (*ok)(const char *),
    char *err, size_t errlen)
{
	char	 ent[DNS_NAME_TEXT_MAX + 300], *eq;
	size_t	 n;

	memset(m, 0, sizeof(*m));
	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t,");
		if ((n = strcspn(s, " \t,")) == 0)
			break;
		if (n >= sizeof(ent) || m->n >= MAP_MAX) {
			snprintf(err, errlen, "entry too long or too many");
			goto bad;
		}
		memcpy(ent, s, n);
		ent[n] = '\0';
		s += n;
		if ((eq = strchr(ent, '=')) == NULL || eq == ent ||
		    addr_domain_check((*eq = '\0', ent), 0, NULL, 0) != 0 ||
		    !ok(eq + 1)) {
			if (eq != NULL)
				*eq = '=';
			snprintf(err, errlen, "bad entry \"%s\"", ent);
			goto bad;
		}
		m->key = xreallocarray(m->key, m->n + 1, sizeof(char *));
		m->value = xreallocarray(m->value, m->n + 1, sizeof(char *));
		m->key[m->n] = xstrdup(ent);
		m->value[m->n++] = xstrdup(eq + 1);
	}
	return 0;
bad:
	mta_map_free(m);
	return -1;
}

/* The value for domain (exact, any case), or NULL. */
const char *
mta_map_get(const struct mta_map *m, const char *domain)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		if (strcasecmp(m->key[i], domain) == 0)
			return m->value[i];
	return NULL;
}

int
mta_policy_load(struct mta_policy *p, const struct sm_config *cfg,
    char *err, size_t errlen)
{
	char	 e[256];

	memset(p, 0, sizeof(*p));
	p->relayhost = cfg->relayhost;
	p->port = cfg->mta_port;
	p->myhost = cfg->hostname;
	p->sts_port = cfg->mta_sts_port;
	if (mta_tls_parse(cfg->tls_policy, &p->tls) == -1) {
		snprintf(err, errlen, "[smtpd] tls_policy: \"%s\" is not "
		    "may, encrypt, verify, dane or dane-only", cfg->tls_policy);
		return -1;
	}
	if (mta_map_parse(&p->tls_map, cfg->tls_policy_map, valid_tls, e,
	    sizeof(e)) == -1) {
		snprintf(err, errlen, "[smtpd] tls_policy_map: %s (expected "
		    "domain=may|encrypt|verify|dane|dane-only)", e);
		return -1;
	}
	/* read by smtpd.mta before it drops privileges: refuse it here */
	if (cfg->dns_trust_anchor != NULL &&
	    access(cfg->dns_trust_anchor, R_OK) == -1) {
		mta_map_free(&p->tls_map);
		snprintf(err, errlen, "[global] dns_trust_anchor: %s: %s",
		    cfg->dns_trust_anchor, strerror(errno));
		return -1;
	}
	if (mta_map_parse(&p->transport, cfg->transport, valid_hostport, e,
	    sizeof(e)) == -1) {
		mta_map_free(&p->tls_map);
		snprintf(err, errlen, "[smtpd] transport: %s (expected "
		    "domain=host:port)", e);
		return -1;
	}
	return 0;
}

void
mta_policy_free(struct mta_policy *p)
{
	mta_map_free(&p->tls_map);
	mta_map_free(&p->transport);
}

enum mta_tls
mta_tls_for(const struct mta_policy *p, const char *domain)
{
	const char	*v;
	enum mta_tls	 t;

	if ((v = mta_map_get(&p->tls_map, domain)) != NULL &&
	    mta_tls_parse(v, &t) == 0)
		return t;
	return p->tls;
}

/*
 * The TLS policy under a domain's MTA-STS policy (or NULL): "enforce"
 * asks for "verify" at least; a stronger setting of the domain's stays.
 */
enum mta_tls
mta_tls_sts(enum mta_tls t, const struct mta_sts *s)
{
	if (s != NULL && s->mode == MTA_STS_ENFORCE && t < MTA_TLS_VERIFY)
		return MTA_TLS_VERIFY;
	return t;
}

/* The transport map's host:port for domain, else relayhost, else NULL. */
const char *
mta_nexthop(const struct mta_policy *p, const char *domain)
{
	const char	*v;

	if ((v = mta_map_get(&p->transport, domain)) != NULL)
		return v;
	return p->relayhost;
}

/* ------------------------------------------------------------------ */
/* MX */

void
mta_hosts_free(struct mta_hosts *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->name[i]);
	h->n = 0;
}

/*
 * What an MX answer for domain says (RFC 5321 5.1, RFC 7505): the hosts
 * in preference order (dns.c sorted them), at most MTA_HOSTS_MAX; the
 * domain itself when it has no MX; a null MX ("." the only host) means
 * the domain takes no mail.  A "." among real hosts is skipped.
 */
enum mta_plan
mta_mx_plan(const struct dns_result *r, const char *domain,
    struct mta_hosts *h)
{
	size_t	 i;
	int	 nulls = 0;

	h->n = 0;
	switch (r->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		h->name[h->n++] = xstrdup(domain);
		return MTA_PLAN_IMPLICIT;
	case DNS_NXDOMAIN:
		return MTA_PLAN_NODOMAIN;
	default:
		return MTA_PLAN_TEMP;
	}
	for (i = 0; i < r->nrr; i++) {
		if (r->rr[i].type != DNS_T_MX)
			continue;
		if (strcmp(r->rr[i].u.mx.host, ".") == 0 ||
		    r->rr[i].u.mx.host[0] == '\0') {
			nulls++;
			continue;
		}
		if (h->n < MTA_HOSTS_MAX)
			h->name[h->n++] = xstrdup(r->rr[i].u.mx.host);
	}
	if (h->n == 0)
		return nulls > 0 ? MTA_PLAN_NULLMX : MTA_PLAN_TEMP;
	return MTA_PLAN_MX;
}

/* Is name our own host name (case and a final dot aside)? */
static int
is_self(const char *name, size_t n, const char *self)
{
	size_t	 sl = strlen(self);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (sl > 0 && self[sl - 1] == '.')
		sl--;
	return n > 0 && n == sl && strncasecmp(name, self, n) == 0;
}

/*
 * RFC 5321 5.1: when we are one of the MX hosts (self, our hostname),
 * only the hosts more preferred than our best preference are tried; h
 * (mta_mx_plan's hosts from the same answer) is cut to those.  plan,
 * or MTA_PLAN_LOOP when none is left: the mail would come back to us.
 */
enum mta_plan
mta_mx_self(const struct dns_result *r, const char *self,
    enum mta_plan plan, struct mta_hosts *h)
{
	const char	*host;
	size_t		 i;
	int		 best = -1;

	if (plan != MTA_PLAN_MX || self == NULL)
		return plan;
	for (i = 0; i < r->nrr; i++) {
		host = r->rr[i].u.mx.host;
		if (r->rr[i].type == DNS_T_MX && host != NULL &&
		    is_self(host, strlen(host), self) &&
		    (best == -1 || r->rr[i].u.mx.pref < best))
			best = r->rr[i].u.mx.pref;
	}
	if (best == -1)
		return plan;
	mta_hosts_free(h);
	for (i = 0; i < r->nrr && h->n < MTA_HOSTS_MAX; i++) {
		host = r->rr[i].u.mx.host;
		if (r->rr[i].type == DNS_T_MX && r->rr[i].u.mx.pref < best &&
		    strcmp(host, ".") != 0 && host[0] != '\0')
			h->name[h->n++] = xstrdup(host);
	}
	return h->n == 0 ? MTA_PLAN_LOOP : MTA_PLAN_MX;
}

/*
 * Does a greeting ("220 mx.example.org ESMTP ...", its last line) give
 * our own host name?  Then the connection came back to us.
 */
int
mta_greets_as_self(const char *line, const char *self)
{
	size_t	 n;

	if (strlen(line) < 5 || (line[3] != ' ' && line[3] != '-'))
		return 0;
	line += 4;
	n = strcspn(line, " \t");
	return is_self(line, n, self);
}

/* ------------------------------------------------------------------ */
/* results */

/* A reply code's verdict for the queue (Q_DLV_*). */
int
mta_status(int code)
{
	if (code >= 200 && code < 300)
		return Q_DLV_OK;
	if (code >= 500 && code < 600)
		return Q_DLV_PERMFAIL;
	return Q_DLV_TEMPFAIL;
}

/* Length of an enhanced status code of class cls at p ("5.1.1"), or 0. */
static size_t
enhanced_len(const char *p, char cls)
{
	size_t	 i = 0, n;
	int	 part;

	if (p[0] != cls || p[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; isdigit((unsigned char)p[i + n]) && n < 3; n++)
			;
		if (n == 0)
			return 0;
		i += n;
		if (part == 0 && p[i++] != '.')
			return 0;
	}
	return p[i] == ' ' || p[i] == '\0' ? i : 0;
}

/*
 * The result text of a recipient: "550 5.1.1 <remote text> (where)".
 * code is the reply's (or one of ours), line the reply's last line as
 * read (anything: it is the remote's), where what to add (the host and
 * the command, or NULL).  The enhanced code is the reply's when it has
 * one of the right class, else X.0.0.  Bytes outside printable ASCII
 * become '?'; the whole is cut to fit out.
 */
void
mta_result_text(char *out, size_t outlen, int code, const char *line,
    const char *where)
{
	char		 text[MTA_TEXT_MAX], cls;
	const char	*p = line != NULL ? line : "";
	size_t		 i, el;

	if (code < 200 || code > 599)
		code = 451;
	cls = (char)('0' + code / 100);
	if (strlen(p) >= 3 && isdigit((unsigned char)p[0]) &&
	    isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-' ||
	    p[3] == '\0'))
		p += p[3] == '\0' ? 3 : 4;
	if ((el = enhanced_len(p, cls)) > 0) {
		snprintf(text, sizeof(text), "%d %.*s", code, (int)el, p);
		p += el;
	} else
		snprintf(text, sizeof(text), "%d %c.0.0", code, cls);
	while (*p == ' ')
		p++;
	if (where != NULL && *where != '\0')
		snprintf(out, outlen, "%s %s (%s)", text, p, where);
	else
		snprintf(out, outlen, "%s %s", text, p);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}

/*
 * Is text a result the transmitter may report: "NNN X.Y.Z ..." with a
 * code 200-599 whose class the enhanced code matches, printable ASCII
 * only, shorter than MTA_TEXT_MAX?  (The queue's check, smtpd.mta being
 * the process that talks to strangers.)
 */
int
mta_text_valid(const char *t)
{
	size_t	 i, len = strlen(t);

	if (len >= MTA_TEXT_MAX || len < 9 || t[0] < '2' || t[0] > '5' ||
	    !isdigit((unsigned char)t[1]) || !isdigit((unsigned char)t[2]) ||
	    t[3] != ' ' || enhanced_len(t + 4, t[0]) == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

/* Does an address need SMTPUTF8 (RFC 6531)? */
int
mta_needs_utf8(const char *a)
{
	for (; *a != '\0'; a++)
		if ((unsigned char)*a >= 0x80)
			return 1;
	return 0;
}

/* The domain of an address ("" without one). */
const char *
mta_domain(const char *a)
{
	const char	*at = strrchr(a, '@');

	return at != NULL ? at + 1 : "";
}

int
mta_same_domain(const char *a, const char *b)
{
	return strcasecmp(mta_domain(a), mta_domain(b)) == 0;
}
