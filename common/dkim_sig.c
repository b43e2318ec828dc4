/*
 * dkim_sig.c - the DKIM-Signature header field's value (RFC 6376 section
 * 3.5) into a struct dkim_sig.
 *
 * One handler per tag, from a table that also says which tags are
 * required.  Every refusal is a permanent error in verification; the code
 * says which kind and the reason names the tag.  What RFC 8301 forbids
 * (rsa-sha1) is refused here, before any key is fetched.  Unknown tags are
 * ignored, as section 3.2 says.  Runs on hostile input (message headers)
 * in the receiver's unprivileged process; no allocation, sizes bounded by
 * the DKIM_*_MAX limits of dkim.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim_int.h"

typedef enum dkim_perr (*sig_tag_fn)(const struct dkim_tag *,
    struct dkim_sig *, const char **);

static enum dkim_perr
sig_v(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (t->vlen != 1 || t->val[0] != '1') {
		*why = "v= is not 1";
		return DKIM_P_VERSION;
	}
	return DKIM_P_OK;
}

static enum dkim_perr
sig_a(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (t->vlen == 10 && memcmp(t->val, "rsa-sha256", 10) == 0)
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (t->vlen == 14 && memcmp(t->val, "ed25519-sha256", 14) == 0)
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else if (t->vlen == 8 && memcmp(t->val, "rsa-sha1", 8) == 0) {
		*why = "a=rsa-sha1 is refused (RFC 8301)";
		return DKIM_P_ALGORITHM;
	} else {
		*why = "a= names an unknown algorithm";
		return DKIM_P_ALGORITHM;
	}
	return DKIM_P_OK;
}

static enum dkim_perr
sig_b(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	size_t	 i, o;

	if (base64_decode(t->val, t->vlen, sig->b, sizeof(sig->b),
	    &sig->blen, BASE64_WSP) != BASE64_OK || sig->blen == 0) {
		*why = "b= is not base64 or is too long";
		return DKIM_P_VALUE;
	}
	for (i = o = 0; i < t->vlen && o < sizeof(sig->b_prefix) - 1; i++)
		if (isalnum((unsigned char)t->val[i]) || t->val[i] == '+' ||
		    t->val[i] == '/')
			sig->b_prefix[o++] = t->val[i];
	sig->b_prefix[o] = '\0';
	sig->b_start = t->raw_start;
	sig->b_end = t->raw_end;
	return DKIM_P_OK;
}

static enum dkim_perr
sig_bh(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	uint8_t	 tmp[DKIM_DIGEST_LEN + 3];
	size_t	 n;

	if (base64_decode(t->val, t->vlen, tmp, sizeof(tmp), &n,
	    BASE64_WSP) != BASE64_OK || n != DKIM_DIGEST_LEN) {
		*why = "bh= is not a base64 SHA-256 hash";
		return DKIM_P_VALUE;
	}
	memcpy(sig->bh, tmp, sizeof(sig->bh));
	return DKIM_P_OK;
}

static int
canon_word(const char *s, size_t n, enum dkim_canon *c)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*c = DKIM_CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* c= header[/body]; the body defaults to simple. */
static enum dkim_perr
sig_c(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	const char	*slash = memchr(t->val, '/', t->vlen);
	size_t		 hl = slash ? (size_t)(slash - t->val) : t->vlen;

	sig->bcanon = DKIM_CANON_SIMPLE;
	if (canon_word(t->val, hl, &sig->hcanon) == -1 || (slash != NULL &&
	    canon_word(slash + 1, t->vlen - hl - 1, &sig->bcanon) == -1)) {
		*why = "c= names an unknown canonicalization";
		return DKIM_P_ALGORITHM;
	}
	return DKIM_P_OK;
}

static void
copy_lower(char *dst, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		dst[i] = tolower((unsigned char)s[i]);
	dst[n] = '\0';
}

static enum dkim_perr
sig_d(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (!dkim_domain_valid(t->val, t->vlen, 0)) {
		*why = "d= is not a domain name";
		return DKIM_P_VALUE;
	}
	copy_lower(sig->domain, t->val, t->vlen);
	return DKIM_P_OK;
}

static enum dkim_perr
sig_s(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (!dkim_domain_valid(t->val, t->vlen, 1)) {
		*why = "s= is not a selector";
		return DKIM_P_VALUE;
	}
	copy_lower(sig->selector, t->val, t->vlen);
	return DKIM_P_OK;
}

static enum dkim_perr
sig_h(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	const char	*item[DKIM_HNAMES_MAX];
	size_t		 len[DKIM_HNAMES_MAX];
	int		 i, n;

	n = dkim_list_split(t->val, t->vlen, item, len, DKIM_HNAMES_MAX);
	if (n < 0) {
		*why = n == -2 ? "h= names too many fields" :
		    "h= is not a list of field names";
		return n == -2 ? DKIM_P_TOO_LONG : DKIM_P_VALUE;
	}
	for (i = 0; i < n; i++) {
		if (len[i] > DKIM_HNAME_MAX) {
			*why = "h= names a field with too long a name";
			return DKIM_P_TOO_LONG;
		}
		memcpy(sig->hnames[i], item[i], len[i]);
		sig->hnames[i][len[i]] = '\0';
	}
	sig->nhnames = n;
	return DKIM_P_OK;
}

/* i= [local-part] "@" domain, in DKIM-quoted-printable. */
static enum dkim_perr
sig_i(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	size_t	 n;
	char	*at;

	if (dkim_qp_decode(t->val, t->vlen, sig->identity,
	    sizeof(sig->identity) - 1, &n) == -1 ||
	    (at = memrchr(sig->identity, '@', n)) == NULL ||
	    memchr(sig->identity, '\0', n) != NULL) {
		*why = "i= is not an identity";
		return DKIM_P_VALUE;
	}
	if (at - sig->identity > DKIM_LOCAL_MAX ||
	    !dkim_domain_valid(at + 1, n - (at + 1 - sig->identity), 0)) {
		*why = "i= is not an identity";
		return DKIM_P_VALUE;
	}
	copy_lower(at + 1, at + 1, strlen(at + 1));
	return DKIM_P_OK;
}

static enum dkim_perr
sig_l(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (dkim_decimal(t->val, t->vlen, 76, &sig->l) == -1) {
		*why = "l= is not a number";
		return DKIM_P_VALUE;
	}
	sig->has_l = 1;
	return DKIM_P_OK;
}

static enum dkim_perr
sig_q(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	const char	*item[8];
	size_t		 len[8];
	int		 i, n;

	if ((n = dkim_list_split(t->val, t->vlen, item, len, 8)) < 0) {
		*why = "q= is not a list of query methods";
		return DKIM_P_VALUE;
	}
	for (i = 0; i < n; i++)
		if (len[i] == 7 && memcmp(item[i], "dns/txt", 7) == 0)
			return DKIM_P_OK;
	*why = "q= names no dns/txt";
	return DKIM_P_ALGORITHM;
}

static enum dkim_perr
sig_t(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (dkim_decimal(t->val, t->vlen, 12, &sig->t) == -1) {
		*why = "t= is not a timestamp";
		return DKIM_P_VALUE;
	}
	sig->has_t = 1;
	return DKIM_P_OK;
}

static enum dkim_perr
sig_x(const struct dkim_tag *t, struct dkim_sig *sig, const char **why)
{
	if (dkim_decimal(t->val, t->vlen, 12, &sig->x) == -1) {
		*why = "x= is not a timestamp";
		return DKIM_P_VALUE;
	}
	sig->has_x = 1;
	return DKIM_P_OK;
}

static const struct {
	const char	*name;
	sig_tag_fn	 fn;
	const char	*missing;	/* NULL: optional */
} sig_tags[] = {
	{ "v", sig_v, "required tag v= missing" },
	{ "a", sig_a, "required tag a= missing" },
	{ "b", sig_b, "required tag b= missing" },
	{ "bh", sig_bh, "required tag bh= missing" },
	{ "d", sig_d, "required tag d= missing" },
	{ "h", sig_h, "required tag h= missing" },
	{ "s", sig_s, "required tag s= missing" },
	{ "c", sig_c, NULL },
	{ "i", sig_i, NULL },
	{ "l", sig_l, NULL },
	{ "q", sig_q, NULL },
	{ "t", sig_t, NULL },
	{ "x", sig_x, NULL },
};

/* What holds between tags: i= within d=, From signed, x= after t=. */
static enum dkim_perr
sig_check(struct dkim_sig *sig, const char **why)
{
	const char	*at;
	size_t		 i;

	if (sig->identity[0] == '\0')
		(void)snprintf(sig->identity, sizeof(sig->identity), "@%s",
		    sig->domain);
	at = strrchr(sig->identity, '@');
	if (!dkim_domain_within(at + 1, sig->domain)) {
		*why = "i= is not within d=";
		return DKIM_P_IDENTITY;
	}
	for (i = 0; i < sig->nhnames; i++)
		if (strcasecmp(sig->hnames[i], "from") == 0)
			break;
	if (i == sig->nhnames) {
		*why = "h= does not name From";
		return DKIM_P_NO_FROM;
	}
	if (sig->has_t && sig->has_x && sig->x <= sig->t) {
		*why = "x= is not after t=";
		return DKIM_P_TIME;
	}
	if (strlen(sig->selector) + strlen("._domainkey.") +
	    strlen(sig->domain) > DKIM_DOMAIN_MAX) {
		*why = "s= and d= make too long a name";
		return DKIM_P_TOO_LONG;
	}
	return DKIM_P_OK;
}

enum dkim_perr
dkim_sig_parse(const char *s, size_t n, struct dkim_sig *sig,
    const char **why)
{
	struct dkim_taglist	 tl;
	const struct dkim_tag	*t;
	enum dkim_perr		 e;
	size_t			 i;

	memset(sig, 0, sizeof(*sig));
	if (n > DKIM_SIGFIELD_MAX) {
		*why = "DKIM-Signature too long";
		return DKIM_P_TOO_LONG;
	}
	if ((e = dkim_taglist_parse(s, n, &tl, why)) != DKIM_P_OK)
		return e;
	for (i = 0; i < sizeof(sig_tags) / sizeof(sig_tags[0]); i++) {
		if ((t = dkim_tag_get(&tl, sig_tags[i].name)) == NULL) {
			if (sig_tags[i].missing == NULL)
				continue;
			*why = sig_tags[i].missing;
			return DKIM_P_MISSING;
		}
		if ((e = sig_tags[i].fn(t, sig, why)) != DKIM_P_OK)
			return e;
	}
	return sig_check(sig, why);
}

const char *
dkim_alg_name(enum dkim_alg a)
{
	switch (a) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	default:
		return "none";
	}
}
