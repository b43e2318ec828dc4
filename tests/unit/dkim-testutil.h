/*
 * dkim-testutil.h - helpers test-dkim.c and test-dkim-sign.c share: a key
 * table behind the verifier's callback, a whole-message verify, signing
 * through the split API, and a hand-made signature with any tags (l=, x=,
 * t= in the future...) that Sealmail's signer would never write.
 */
#ifndef DKIM_TESTUTIL_H
#define DKIM_TESTUTIL_H

#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_int.h"

#define TNOW	1700000000	/* the verifier's "now" in these tests */

struct tkey {
	char	 name[300];
	char	 rec[2048];
};
static struct tkey	 tkeys[16];
static size_t		 ntkeys;

static TEST_UNUSED void
keys_reset(void)
{
	ntkeys = 0;
}

/* rec "TEMPFAIL" makes the lookup fail temporarily. */
static TEST_UNUSED void
keys_add(const char *name, const char *rec)
{
	(void)snprintf(tkeys[ntkeys].name, sizeof(tkeys[0].name), "%s", name);
	(void)snprintf(tkeys[ntkeys].rec, sizeof(tkeys[0].rec), "%s", rec);
	ntkeys++;
}

static TEST_UNUSED enum dkim_keyq
tkey_cb(const char *domain, const char *selector, struct buf *rec, void *arg)
{
	struct buf	 q;
	size_t		 i;

	buf_init(&q, 0);
	(void)dkim_key_qname(domain, selector, &q);
	for (i = 0; i < ntkeys; i++)
		if (strcmp(tkeys[i].name, q.data) == 0)
			break;
	buf_free(&q);
	if (i == ntkeys)
		return DKIM_KEYQ_NONE;
	if (strcmp(tkeys[i].rec, "TEMPFAIL") == 0)
		return DKIM_KEYQ_TEMPFAIL;
	(void)buf_addstr(rec, tkeys[i].rec);
	return DKIM_KEYQ_FOUND;
}

/* Verify msg fed in chunks of step bytes; up to 8 results copied out. */
static TEST_UNUSED size_t
verify_all(const char *msg, size_t n, size_t step, struct dkim_result *out)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	size_t			 off, k, i, nr;

	memset(&o, 0, sizeof(o));
	o.now = TNOW;
	v = dkim_verify_new(&o);
	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		(void)dkim_verify_feed(v, msg + off, k);
	}
	nr = dkim_verify_finish(v, tkey_cb, NULL);
	for (i = 0; i < nr && i < 8; i++)
		out[i] = *dkim_verify_result(v, i);
	dkim_verify_free(v);
	return nr;
}

static TEST_UNUSED enum dkim_status
verify_one(const char *msg, struct dkim_result *r)
{
	struct dkim_result	 res[8];

	if (verify_all(msg, strlen(msg), 4096, res) != 1)
		return DKIM_NONE;
	if (r != NULL)
		*r = res[0];
	return res[0].status;
}

/* The record of a key: dkim_pkey_record, or by hand for what it refuses. */
static TEST_UNUSED void
key_record(EVP_PKEY *pk, char *out, size_t len)
{
	struct buf	 b;
	unsigned char	*der = NULL;
	int		 n;

	buf_init(&b, 0);
	if (dkim_pkey_record(pk, &b) == -1) {
		n = i2d_PUBKEY(pk, &der);
		(void)buf_addstr(&b, "v=DKIM1; k=rsa; p=");
		(void)base64_encode(der, (size_t)n, &b);
		OPENSSL_free(der);
	}
	(void)snprintf(out, len, "%s", b.data);
	buf_free(&b);
}

/* Sign msg through the split API; out gets the field, then msg. */
static TEST_UNUSED int
sign_with(EVP_PKEY *pk, const struct dkim_sign_params *p, const char *msg,
    struct buf *out)
{
	struct dkim_msg		*m = dkim_msg_new(p->bcanon, 0);
	struct dkim_signer	*s;
	uint8_t			 bh[32], dg[32], sig[DKIM_SIGBYTES_MAX];
	size_t			 siglen = sizeof(sig);
	const char		*why;
	int			 r = -1;

	(void)dkim_msg_feed(m, msg, strlen(msg));
	(void)dkim_msg_end(m, bh);
	if (dkim_sign_prepare(p, dkim_msg_hdrs(m), bh, &s, dg, &why) == 0 &&
	    dkim_digest_sign(pk, p->alg, dg, sig, &siglen) == 0 &&
	    dkim_sign_finish(s, sig, siglen, out) == 0 &&
	    buf_addstr(out, msg) == 0)
		r = 0;
	dkim_signer_free(s);
	dkim_msg_free(m);
	return r;
}

/* Sign a digest whatever the key's size (dkim_digest_sign refuses small). */
static TEST_UNUSED void
raw_sign(EVP_PKEY *pk, const uint8_t *dg, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX	*ctx;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		(void)dkim_digest_sign(pk, DKIM_ALG_ED25519_SHA256, dg, sig,
		    siglen);
		return;
	}
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	(void)EVP_PKEY_sign_init(ctx);
	(void)EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	(void)EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	(void)EVP_PKEY_sign(ctx, sig, siglen, dg, 32);
	EVP_PKEY_CTX_free(ctx);
}

/*
 * A signature with the tags given (everything but bh= and b=), its body
 * hash over the first limit canonical bytes, signed with pk; names are
 * the fields h= lists.  out gets the field, then msg.
 */
static TEST_UNUSED void
hand_sign(EVP_PKEY *pk, const char *tags, const char *const *names,
    enum dkim_canon hc, enum dkim_canon bc, uint64_t limit, const char *msg,
    struct buf *out)
{
	struct dkim_split	 sp;
	struct dkim_body	*b = dkim_body_new(bc, limit);
	struct dkim_hhash	 hh;
	struct buf		 f;
	uint8_t			 bh[32], dg[32], sig[DKIM_SIGBYTES_MAX];
	size_t			 siglen = sizeof(sig), n = strlen(msg), nn;
	ssize_t			 h;

	dkim_split_init(&sp, 0);
	h = dkim_split_feed(&sp, msg, n);
	(void)dkim_split_end(&sp);
	dkim_body_update(b, msg + h, n - h);
	dkim_body_final(b, bh);
	buf_init(&f, 0);
	(void)buf_printf(&f, "DKIM-Signature: %s; bh=", tags);
	(void)base64_encode(bh, 32, &f);
	(void)buf_addstr(&f, ";\r\n b=");
	for (nn = 0; names[nn] != NULL; nn++)
		;
	memset(&hh, 0, sizeof(hh));
	hh.names = names;
	hh.nnames = nn;
	hh.canon = hc;
	hh.sig = f.data;
	hh.siglen = hh.b_start = hh.b_end = f.len;
	(void)dkim_header_hash(sp.hdrs, &hh, dg);
	raw_sign(pk, dg, sig, &siglen);
	(void)base64_encode(sig, siglen, &f);
	(void)buf_add(out, f.data, f.len);
	(void)buf_addstr(out, "\r\n");
	(void)buf_addstr(out, msg);
	buf_free(&f);
	dkim_body_free(b);
	dkim_split_free(&sp);
}

#endif
