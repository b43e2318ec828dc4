/*
 * verdict.c - the receiver's policy and its Authentication-Results
 * field (see verdict.h).
 *
 * Pure functions on facts smtpd.receiver gathered (unprivileged,
 * chrooted).  Every string that reaches the field came from the network
 * (HELO, MAIL FROM, signature tags, a certificate's subject): each goes
 * through pvalue(), which writes a token as it is and anything else as
 * a quoted-string, so no value can end a result or start a new one.
 */
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "verdict.h"

static const struct {
	const char	*word;
	unsigned int	 bit;
} requirements[] = {
	{ "tls", VR_TLS },
	{ "spf", VR_SPF },
	{ "registry", VR_REGISTRY },
	{ "callback", VR_CALLBACK },
};

#define NREQ	(sizeof(requirements) / sizeof(requirements[0]))

static int
parse_require(const char *s, unsigned int *out, char *err, size_t errlen)
{
	char	 word[32];
	size_t	 i, n;

	*out = 0;
	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t,");
		if ((n = strcspn(s, " \t,")) == 0)
			break;
		for (i = 0; i < NREQ; i++)
			if (strlen(requirements[i].word) == n &&
			    strncasecmp(s, requirements[i].word, n) == 0)
				break;
		if (i == NREQ) {
			snprintf(word, sizeof(word), "%.*s", (int)(n < 24 ? n :
			    24), s);
			snprintf(err, errlen, "[smtpd] verdict_require: \"%s\" "
			    "is not tls, spf, registry or callback", word);
			return -1;
		}
		*out |= requirements[i].bit;
		s += n;
	}
	return 0;
}

int
verdict_policy_parse(const char *mode, const char *require,
    const char *dmarc_reject, struct verdict_policy *p, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (mode != NULL && strcasecmp(mode, "hardline") == 0)
		p->hardline = 1;
	else if (mode != NULL && strcasecmp(mode, "soft") != 0) {
		snprintf(err, errlen, "[smtpd] verdict_mode: \"%s\" is not "
		    "soft or hardline", mode);
		return -1;
	}
	if (dmarc_reject != NULL && strcasecmp(dmarc_reject, "refuse") == 0)
		p->dmarc_refuse = 1;
	else if (dmarc_reject != NULL && strcasecmp(dmarc_reject,
	    "unsafe") != 0) {
		snprintf(err, errlen, "[smtpd] dmarc_reject: \"%s\" is not "
		    "unsafe or refuse", dmarc_reject);
		return -1;
	}
	return parse_require(require, &p->require, err, errlen);
}

static const char *
domain_of(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at == NULL ? "" : at + 1;
}

int
verdict_dkim_aligned(const struct verdict_facts *f)
{
	size_t	 i;

	if (f->from[0] == '\0')
		return 0;
	for (i = 0; i < f->ndkim; i++)
		if (f->dkim[i].status == DKIM_PASS && !f->dkim[i].testing &&
		    ar_aligned(f->dkim[i].domain, domain_of(f->from)))
			return 1;
	return 0;
}

/* The SPF result DMARC and the site's "spf" requirement look at. */
static enum spf_result
spf_main(const struct verdict_facts *f)
{
	return f->mail_from[0] != '\0' ? f->spf_mailfrom : f->spf_helo;
}

static void
reason(struct buf *why, const char *text)
{
	if (why->len > 0)
		(void)buf_addstr(why, "; ");
	(void)buf_addstr(why, text);
}

enum verdict_class
verdict_decide(const struct verdict_policy *p, const struct verdict_facts *f,
    struct buf *why)
{
	int	 unsafe = 0, dmarc_reject = 0;

	if (f->from[0] == '\0') {
		reason(why, "no single From address");
		unsafe = 1;
	} else if (!verdict_dkim_aligned(f)) {
		reason(why, "no valid DKIM signature aligned with the From "
		    "domain");
		unsafe = 1;
	}
	if (f->from_name_claim[0] != '\0') {
		reason(why, "the From display name names another address");
		unsafe = 1;
	}
	if (f->dmarc != NULL && f->dmarc->result == DMARC_FAIL) {
		reason(why, f->dmarc->policy == DMARC_P_REJECT ?
		    "DMARC fail (p=reject)" : "DMARC fail");
		unsafe = 1;
		dmarc_reject = f->dmarc->disposition == DMARC_P_REJECT;
	}
	if ((p->require & VR_TLS) && !f->tls.on) {
		reason(why, "not sent over TLS");
		unsafe = 1;
	}
	if ((p->require & VR_SPF) && spf_main(f) != SPF_PASS) {
		reason(why, "SPF did not pass");
		unsafe = 1;
	}
	if ((p->require & VR_REGISTRY) && f->registry != VC_PASS) {
		reason(why, "not a registered transmitter");
		unsafe = 1;
	}
	if ((p->require & VR_CALLBACK) && f->callback != VC_PASS) {
		reason(why, "the sending server did not confirm the session");
		unsafe = 1;
	}
	if (!unsafe)
		return VERDICT_SAFE;
	if (p->hardline || (dmarc_reject && p->dmarc_refuse))
		return VERDICT_REFUSE;
	return VERDICT_UNSAFE;
}

/* ------------------------------------------------------------------ */
/* Authentication-Results */

/*
 * RFC 2045 token characters, with '@' and '/' (RFC 8601's pvalue takes
 * an address or a domain; a cipher name has '/').
 */
static int
token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>,;:\\\"[]?=", c) == NULL;
}

static void
pvalue(struct buf *out, const char *s)
{
	const char	*p;
	int		 token = *s != '\0';

	for (p = s; *p != '\0' && token; p++)
		token = token_char((unsigned char)*p);
	if (token) {
		(void)buf_addstr(out, s);
		return;
	}
	(void)buf_addc(out, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			(void)buf_addc(out, '\\');
		(void)buf_addc(out, (unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f ? *p : '?');
	}
	(void)buf_addc(out, '"');
}

static const char *
check_str(enum verdict_check c)
{
	switch (c) {
	case VC_PASS:
		return "pass";
	case VC_FAIL:
		return "fail";
	case VC_TEMPERROR:
		return "temperror";
	default:
		return "none";
	}
}

static void
next(struct buf *out)
{
	(void)buf_addstr(out, ";\r\n\t");
}

static void
ar_spf(const struct verdict_facts *f, struct buf *out)
{
	if (f->mail_from[0] != '\0' && f->spf_mailfrom_done) {
		next(out);
		(void)buf_printf(out, "spf=%s smtp.mailfrom=",
		    spf_result_str(f->spf_mailfrom));
		pvalue(out, f->mail_from);
	}
	if (f->spf_helo_done) {
		next(out);
		(void)buf_printf(out, "spf=%s smtp.helo=",
		    spf_result_str(f->spf_helo));
		pvalue(out, f->helo);
	}
}

static void
ar_dmarc(const struct verdict_facts *f, struct buf *out)
{
	const struct dmarc_outcome *d = f->dmarc;

	if (d == NULL)
		return;
	next(out);
	(void)buf_printf(out, "dmarc=%s", dmarc_result_str(d->result));
	if (d->result == DMARC_PASS || d->result == DMARC_FAIL)
		(void)buf_printf(out, " (p=%s dis=%s)",
		    dmarc_policy_str(d->policy),
		    dmarc_policy_str(d->disposition));
	(void)buf_addstr(out, " header.from=");
	pvalue(out, domain_of(f->from));
}

static void
ar_tls(const struct verdict_facts *f, struct buf *out)
{
	const struct verdict_tls *t = &f->tls;

	next(out);
	if (!t->on) {
		(void)buf_addstr(out, "x-tls=none");
		return;
	}
	(void)buf_addstr(out, "x-tls=pass policy.version=");
	pvalue(out, t->version);
	(void)buf_addstr(out, " policy.cipher=");
	pvalue(out, t->cipher);
	if (t->client_cert) {
		(void)buf_printf(out, " policy.client-cert=%s",
		    t->client_verified ? "verified" : "unverified");
		if (t->client_subject[0] != '\0') {
			(void)buf_addstr(out, " policy.client-subject=");
			pvalue(out, t->client_subject);
		}
	}
}

void
verdict_authres(const char *id, const struct verdict_facts *f,
    struct buf *out)
{
	size_t	 i;

	(void)buf_printf(out, "Authentication-Results: %s;\r\n\t", id);
	if (f->ndkim == 0)
		(void)buf_addstr(out, "dkim=none");
	for (i = 0; i < f->ndkim; i++) {
		if (i > 0)
			next(out);
		dkim_result_format(&f->dkim[i], out);
	}
	ar_spf(f, out);
	ar_dmarc(f, out);
	ar_tls(f, out);
	next(out);
	(void)buf_printf(out, "x-registry=%s", check_str(f->registry));
	if (f->registry == VC_PASS && f->registry_name != NULL) {
		(void)buf_addstr(out, " policy.registry=");
		pvalue(out, f->registry_name);
	}
	next(out);
	(void)buf_printf(out, "x-callback=%s", check_str(f->callback));
	if (f->helo != NULL && f->helo[0] != '\0' && f->callback != VC_NONE) {
		(void)buf_addstr(out, " smtp.helo=");
		pvalue(out, f->helo);
	}
	(void)buf_addstr(out, "\r\n");
}
