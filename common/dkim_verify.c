/*
 * dkim_verify.c - verification of every DKIM-Signature of a message (RFC
 * 6376 section 6), up to a limit, each with its RFC 8601 result.
 *
 * The message streams through dkim_verify_feed(): the header is split and
 * kept, the signatures are parsed as soon as it ends, and from then on the
 * body goes through one hasher per distinct (body canonicalization, l=),
 * never kept.  dkim_verify_finish() then judges each signature in the order
 * of section 6.1: the signature's own tags, its times, the key (from
 * dkim_verify_set_key() or the caller's callback), the body hash, the
 * header hash and the signature.
 *
 * Results: permerror for what no retry can mend (a malformed signature, an
 * unusable, revoked or absent key, RFC 8301's refusals); temperror when the
 * key could not be fetched now; fail when the message does not match its
 * signature (body hash, signature, expired x=, a body shorter than l=);
 * policy for a correct signature we will not count as a pass: one whose l=
 * leaves part of the body unsigned, or whose key is in testing mode (t=y:
 * section 3.6.1 says to treat such mail as unsigned).  Runs on hostile input
 * in the receiver's unprivileged process; memory is bounded by the header
 * limit and the signature limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "dkim_int.h"
#include "xmalloc.h"

struct vsig {
	struct dkim_sig	 sig;
	enum dkim_perr	 perr;
	const char	*why;
	size_t		 field;		/* its index in the header */
	size_t		 body;		/* its hasher */
	int		 key_set;
	enum dkim_keyq	 keyq;
	struct buf	 keyrec;
	struct dkim_result res;
};

struct vbody {
	struct dkim_body *b;
	enum dkim_canon	 canon;
	uint64_t	 limit;
	uint8_t		 hash[DKIM_DIGEST_LEN];
};

struct dkim_verify {
	struct dkim_verify_opts opts;
	struct dkim_split sp;
	int		 header_done;
	int		 finished;
	struct vsig	*sigs;
	size_t		 nsigs, ignored;
	struct vbody	*bodies;
	size_t		 nbodies;
	struct dkim_result overflow;	/* the header was over the limit */
};

struct dkim_verify *
dkim_verify_new(const struct dkim_verify_opts *o)
{
	struct dkim_verify	*v = xcalloc(1, sizeof(*v));

	if (o != NULL)
		v->opts = *o;
	if (v->opts.max_sigs == 0)
		v->opts.max_sigs = DKIM_MAX_SIGS;
	if (v->opts.skew == 0)
		v->opts.skew = DKIM_CLOCK_SKEW;
	dkim_split_init(&v->sp, v->opts.max_header);
	v->sigs = xcalloc(v->opts.max_sigs, sizeof(*v->sigs));
	v->bodies = xcalloc(v->opts.max_sigs, sizeof(*v->bodies));
	return v;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nsigs; i++)
		buf_free(&v->sigs[i].keyrec);
	for (i = 0; i < v->nbodies; i++)
		dkim_body_free(v->bodies[i].b);
	dkim_split_free(&v->sp);
	free(v->sigs);
	free(v->bodies);
	free(v);
}

/* Signatures that share a body canonicalization and l= share a hasher. */
static size_t
body_for(struct dkim_verify *v, const struct dkim_sig *sig)
{
	uint64_t	 limit = sig->has_l ? sig->l : UINT64_MAX;
	size_t		 i;

	for (i = 0; i < v->nbodies; i++)
		if (v->bodies[i].canon == sig->bcanon &&
		    v->bodies[i].limit == limit)
			return i;
	v->bodies[i].canon = sig->bcanon;
	v->bodies[i].limit = limit;
	v->bodies[i].b = dkim_body_new(sig->bcanon, limit);
	return v->nbodies++;
}

static void
sig_add(struct dkim_verify *v, size_t field, const char *f, size_t n)
{
	struct vsig	*vs = &v->sigs[v->nsigs++];
	const char	*colon = memchr(f, ':', n);
	size_t		 off = colon - f + 1;

	vs->field = field;
	buf_init(&vs->keyrec, DKIM_KEYREC_MAX);
	/* the value, without the field's final CRLF */
	vs->perr = dkim_sig_parse(f + off, n - off - 2, &vs->sig, &vs->why);
	if (vs->perr == DKIM_P_OK)
		vs->body = body_for(v, &vs->sig);
}

static void
header_ends(struct dkim_verify *v)
{
	const char	*f;
	size_t		 i, n;

	v->header_done = 1;
	for (i = 0; (f = dkim_hdrs_field(v->sp.hdrs, i, &n)) != NULL; i++) {
		if (!dkim_field_is(f, n, "DKIM-Signature"))
			continue;
		if (v->nsigs == v->opts.max_sigs)
			v->ignored++;
		else
			sig_add(v, i, f, n);
	}
}

static void
body_bytes(struct dkim_verify *v, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < v->nbodies; i++)
		dkim_body_update(v->bodies[i].b, p, n);
}

/* A chunk of the message; -1 once its header is over the limit. */
int
dkim_verify_feed(struct dkim_verify *v, const void *data, size_t n)
{
	ssize_t	 h = 0;

	if (!v->header_done) {
		if ((h = dkim_split_feed(&v->sp, data, n)) == -1)
			return -1;
		if (!v->sp.in_body)
			return 0;
		header_ends(v);
	}
	if ((size_t)h < n)
		body_bytes(v, (const char *)data + h, n - h);
	return 0;
}

int
dkim_verify_header_done(const struct dkim_verify *v)
{
	return v->header_done;
}

size_t
dkim_verify_nsigs(const struct dkim_verify *v)
{
	return v->nsigs;
}

size_t
dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

/* What to look up for signature i: -1 when it needs no key (malformed). */
int
dkim_verify_query(const struct dkim_verify *v, size_t i, const char **domain,
    const char **selector)
{
	if (i >= v->nsigs || v->sigs[i].perr != DKIM_P_OK)
		return -1;
	*domain = v->sigs[i].sig.domain;
	*selector = v->sigs[i].sig.selector;
	return 0;
}

/* The i= of signature i (its default "@d" when absent), or NULL. */
const char *
dkim_verify_identity(const struct dkim_verify *v, size_t i)
{
	if (i >= v->nsigs || v->sigs[i].perr != DKIM_P_OK)
		return NULL;
	return v->sigs[i].sig.identity;
}

void
dkim_verify_set_key(struct dkim_verify *v, size_t i, enum dkim_keyq q,
    const char *rec, size_t n)
{
	struct vsig	*vs;

	if (i >= v->nsigs)
		return;
	vs = &v->sigs[i];
	vs->key_set = 1;
	vs->keyq = q;
	buf_reset(&vs->keyrec);
	if (q == DKIM_KEYQ_FOUND && buf_add(&vs->keyrec, rec, n) == -1)
		vs->keyq = DKIM_KEYQ_NONE;
}

static enum dkim_status
judge(struct dkim_result *r, enum dkim_status st, const char *why)
{
	r->status = st;
	r->reason = why;
	return st;
}

/* t= not in the future, x= not past, each with the skew allowed. */
static enum dkim_status
check_times(const struct dkim_verify *v, struct vsig *vs)
{
	struct dkim_result	*r = &vs->res;
	uint64_t		 now = (uint64_t)v->opts.now;

	if (vs->sig.has_t && vs->sig.t > now + v->opts.skew)
		return judge(r, DKIM_PERMERROR,
		    "signature t= is in the future");
	if (vs->sig.has_x && now > vs->sig.x + v->opts.skew)
		return judge(r, DKIM_FAIL, "signature expired (x=)");
	return DKIM_NONE;
}

static enum dkim_status
fetch_key(struct vsig *vs, dkim_key_fn cb, void *arg)
{
	if (!vs->key_set) {
		vs->key_set = 1;
		if (cb == NULL)
			vs->keyq = DKIM_KEYQ_TEMPFAIL;
		else
			vs->keyq = cb(vs->sig.domain, vs->sig.selector,
			    &vs->keyrec, arg);
	}
	if (vs->keyq == DKIM_KEYQ_NONE)
		return judge(&vs->res, DKIM_PERMERROR, "no key for signature");
	if (vs->keyq != DKIM_KEYQ_FOUND)
		return judge(&vs->res, DKIM_TEMPERROR, "key unavailable");
	return DKIM_NONE;
}

/* The key record must be usable for this signature. */
static enum dkim_status
check_key(struct vsig *vs, struct dkim_key *k)
{
	struct dkim_result	*r = &vs->res;
	const char		*why, *at;
	int			 want;

	if (dkim_key_parse(vs->keyrec.data ? vs->keyrec.data : "",
	    vs->keyrec.len, k, &why) != DKIM_P_OK)
		return judge(r, DKIM_PERMERROR, why);
	r->testing = k->testing;
	if (k->revoked)
		return judge(r, DKIM_PERMERROR, "key revoked");
	want = vs->sig.alg == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 :
	    DKIM_KEY_RSA;
	if ((int)k->type != want)
		return judge(r, DKIM_PERMERROR, "key type does not match a=");
	at = strrchr(vs->sig.identity, '@');
	if (k->strict && strcasecmp(at + 1, vs->sig.domain) != 0)
		return judge(r, DKIM_PERMERROR,
		    "key t=s forbids an i= below d=");
	return DKIM_NONE;
}

static enum dkim_status
check_body(const struct dkim_verify *v, struct vsig *vs)
{
	const struct vbody	*b = &v->bodies[vs->body];
	uint64_t		 total = dkim_body_total(b->b);

	if (memcmp(b->hash, vs->sig.bh, DKIM_DIGEST_LEN) != 0)
		return judge(&vs->res, DKIM_FAIL, "body hash mismatch");
	if (vs->sig.has_l && vs->sig.l > total) {
		(void)snprintf(vs->res.detail, sizeof(vs->res.detail),
		    "l=%llu, body %llu", (unsigned long long)vs->sig.l,
		    (unsigned long long)total);
		return judge(&vs->res, DKIM_FAIL, "l= is longer than the body");
	}
	return DKIM_NONE;
}

int
dkim_digest_verify(EVP_PKEY *pk, enum dkim_alg alg,
    const uint8_t digest[DKIM_DIGEST_LEN], const uint8_t *sig, size_t n)
{
	EVP_PKEY_CTX	*ctx;
	EVP_MD_CTX	*md;
	int		 ok = 0;

	if (alg == DKIM_ALG_RSA_SHA256) {
		if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
			return 0;
		ok = EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(ctx, sig, n, digest, DKIM_DIGEST_LEN) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else if (alg == DKIM_ALG_ED25519_SHA256) {
		if ((md = EVP_MD_CTX_new()) == NULL)
			return 0;
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
		    EVP_DigestVerify(md, sig, n, digest, DKIM_DIGEST_LEN) == 1;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	return ok;
}

static enum dkim_status
check_signature(const struct dkim_verify *v, struct vsig *vs,
    const struct dkim_key *k)
{
	struct dkim_hhash	 hh;
	const char		*names[DKIM_HNAMES_MAX];
	const char		*f;
	uint8_t			 digest[DKIM_DIGEST_LEN];
	size_t			 i, n;

	f = dkim_hdrs_field(v->sp.hdrs, vs->field, &n);
	for (i = 0; i < vs->sig.nhnames; i++)
		names[i] = vs->sig.hnames[i];
	memset(&hh, 0, sizeof(hh));
	hh.names = names;
	hh.nnames = vs->sig.nhnames;
	hh.canon = vs->sig.hcanon;
	hh.sig = f;
	hh.siglen = n;
	/* b= offsets are in the value, which starts after the colon */
	hh.b_start = (size_t)((const char *)memchr(f, ':', n) - f) + 1 +
	    vs->sig.b_start;
	hh.b_end = hh.b_start - vs->sig.b_start + vs->sig.b_end;
	(void)dkim_header_hash(v->sp.hdrs, &hh, digest);
	if (!dkim_digest_verify(k->pkey, vs->sig.alg, digest, vs->sig.b,
	    vs->sig.blen))
		return judge(&vs->res, DKIM_FAIL, "signature mismatch");
	return DKIM_NONE;
}

/* A good signature that still does not count as a pass. */
static enum dkim_status
check_policy(const struct dkim_verify *v, struct vsig *vs)
{
	uint64_t	 total = dkim_body_total(v->bodies[vs->body].b);

	if (vs->sig.has_l && vs->sig.l < total) {
		(void)snprintf(vs->res.detail, sizeof(vs->res.detail),
		    "l=%llu of %llu body bytes", (unsigned long long)vs->sig.l,
		    (unsigned long long)total);
		return judge(&vs->res, DKIM_POLICY,
		    "l= leaves part of the body unsigned");
	}
	if (vs->res.testing)
		return judge(&vs->res, DKIM_POLICY,
		    "key in testing mode (t=y)");
	return judge(&vs->res, DKIM_PASS, "");
}

static void
result_ids(struct vsig *vs)
{
	struct dkim_result	*r = &vs->res;

	memcpy(r->domain, vs->sig.domain, sizeof(r->domain));
	memcpy(r->selector, vs->sig.selector, sizeof(r->selector));
	memcpy(r->identity, vs->sig.identity, sizeof(r->identity));
	memcpy(r->b_prefix, vs->sig.b_prefix, sizeof(r->b_prefix));
	r->alg = vs->sig.alg;
}

static void
evaluate(const struct dkim_verify *v, struct vsig *vs, dkim_key_fn cb,
    void *arg)
{
	struct dkim_key	 k;

	memset(&k, 0, sizeof(k));
	if (vs->perr != DKIM_P_OK) {
		judge(&vs->res, DKIM_PERMERROR, vs->why);
		return;
	}
	result_ids(vs);
	if (check_times(v, vs) == DKIM_NONE && fetch_key(vs, cb, arg) ==
	    DKIM_NONE && check_key(vs, &k) == DKIM_NONE &&
	    check_body(v, vs) == DKIM_NONE &&
	    check_signature(v, vs, &k) == DKIM_NONE)
		(void)check_policy(v, vs);
	dkim_key_clear(&k);
}

/*
 * The message has ended: judge every signature.  Returns the number of
 * results (0: the message has no DKIM-Signature).  A callback may be NULL
 * when every key was set; a key neither set nor fetched is a temperror.
 */
size_t
dkim_verify_finish(struct dkim_verify *v, dkim_key_fn cb, void *arg)
{
	size_t	 i;

	if (v->finished)
		return v->sp.failed ? 1 : v->nsigs;
	v->finished = 1;
	if (dkim_split_end(&v->sp) == -1) {
		judge(&v->overflow, DKIM_PERMERROR,
		    "message header over the limit");
		return 1;
	}
	if (!v->header_done)
		header_ends(v);
	if (v->opts.now == 0)
		v->opts.now = time(NULL);
	for (i = 0; i < v->nbodies; i++)
		dkim_body_final(v->bodies[i].b, v->bodies[i].hash);
	for (i = 0; i < v->nsigs; i++)
		evaluate(v, &v->sigs[i], cb, arg);
	return v->nsigs;
}

const struct dkim_result *
dkim_verify_result(const struct dkim_verify *v, size_t i)
{
	if (v->sp.failed)
		return i == 0 ? &v->overflow : NULL;
	return i < v->nsigs ? &v->sigs[i].res : NULL;
}

const char *
dkim_status_name(enum dkim_status s)
{
	static const char *const names[] = { "none", "pass", "fail", "policy",
	    "neutral", "temperror", "permerror" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] :
	    "permerror";
}

/* i= goes into the header only when every byte is plainly safe there. */
static int
printable_id(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || strchr("()\\\";", *s) != NULL)
			return 0;
	return 1;
}

void
dkim_result_format(const struct dkim_result *r, struct buf *out)
{
	(void)buf_printf(out, "dkim=%s", dkim_status_name(r->status));
	if (r->reason != NULL && r->reason[0] != '\0')
		(void)buf_printf(out, " (%s%s%s)", r->reason,
		    r->detail[0] ? ": " : "", r->detail);
	if (r->domain[0] == '\0')
		return;
	(void)buf_printf(out, " header.d=%s", r->domain);
	if (printable_id(r->identity))
		(void)buf_printf(out, " header.i=%s", r->identity);
	(void)buf_printf(out, " header.s=%s header.a=%s", r->selector,
	    dkim_alg_name(r->alg));
	if (r->b_prefix[0] != '\0')
		(void)buf_printf(out, " header.b=%s", r->b_prefix);
}
