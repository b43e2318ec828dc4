/*
 * dkim_sign.c - DKIM signing, split around the private key.
 *
 *	dkim_msg_new / _feed / _end	header fields and body hash (streamed)
 *	dkim_sign_prepare		-> the SHA-256 digest to sign
 *	(the keystore)			dkim_digest_sign(key, alg, digest)
 *	dkim_sign_finish		-> "DKIM-Signature: ...\r\n"
 *
 * The field is written once, up to an empty "b=", before the digest is
 * taken, and finish only appends the signature's base64: what was hashed
 * is byte for byte what goes out, folded to 78 columns (a tab counted as
 * eight) between tags, at the colons of h= and anywhere in b=; a tag the
 * grammar does not let us fold (a d= or i= near the 253-byte limit) stands
 * alone on a longer line.  l= is never written: a body length limit lets
 * anyone append to a signed message.  The header list is oversigned: each
 * name of params->headers is listed once more than it occurs, so a
 * receiver's verification fails when a field of that name is added in
 * transit.
 *
 * RSA signs the digest with PKCS#1 v1.5 (the DigestInfo for SHA-256);
 * Ed25519 signs the 32-byte digest itself as the message (PureEdDSA, RFC
 * 8463 section 3).  The calling process needs no key; the keystore, which
 * holds them, calls dkim_digest_sign().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim_int.h"
#include "xmalloc.h"

#define FOLD_COLS	78
#define TAB_COLS	8

const char *const dkim_sign_default_headers[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"References", "In-Reply-To", "Content-Type", "MIME-Version",
	"Content-Transfer-Encoding", NULL
};

struct dkim_signer {
	struct buf	 field;		/* "DKIM-Signature: ...; b=" */
	size_t		 col;		/* column after the last byte */
};

void
dkim_sign_params_init(struct dkim_sign_params *p)
{
	memset(p, 0, sizeof(*p));
	p->alg = DKIM_ALG_RSA_SHA256;
	p->hcanon = p->bcanon = DKIM_CANON_RELAXED;
	p->headers = dkim_sign_default_headers;
}

/*
 * Append an atom, after a space (sep) or directly, starting a continuation
 * line first when it would not fit on this one.
 */
static void
fold_add(struct dkim_signer *s, const char *atom, size_t n, int sep)
{
	if (s->col > TAB_COLS && s->col + (sep ? 1 : 0) + n > FOLD_COLS) {
		(void)buf_add(&s->field, "\r\n\t", 3);
		s->col = TAB_COLS;
	} else if (sep) {
		(void)buf_addc(&s->field, ' ');
		s->col++;
	}
	(void)buf_add(&s->field, atom, n);
	s->col += n;
}

/* "name=value;" as one atom. */
static void
fold_tag(struct dkim_signer *s, const char *name, const char *v)
{
	char	 atom[DKIM_IDENTITY_MAX * 3 + 16];
	int	 n;

	n = snprintf(atom, sizeof(atom), "%s=%s;", name, v);
	fold_add(s, atom, (size_t)n < sizeof(atom) ? (size_t)n :
	    sizeof(atom) - 1, 1);
}

static int
hname_valid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > DKIM_HNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':' || s[i] == ';')
			return 0;
	return 1;
}

static int
identity_valid(const char *id, const char *domain)
{
	const char	*at = strrchr(id, '@');

	return at != NULL && at - id <= DKIM_LOCAL_MAX &&
	    dkim_domain_valid(at + 1, strlen(at + 1), 0) &&
	    dkim_domain_within(at + 1, domain);
}

/* The signer's own tag (dkim.h): 1 if acceptable. */
static int
own_tag_valid(const char *name, const char *v)
{
	static const char *const rfc[] = {
		"v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t",
		"x", "z", NULL
	};
	size_t	 i;

	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= 'A' && name[0] <= 'Z')))
		return 0;
	for (i = 0; rfc[i] != NULL; i++)
		if (strcasecmp(name, rfc[i]) == 0)
			return 0;
	if (strlen(name) > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name))
		return 0;
	return v[0] != '\0' && strlen(v) <= 64 && strspn(v,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == strlen(v);
}

static int
params_check(const struct dkim_sign_params *p, const char **why)
{
	size_t	 i;
	int	 from = 0;

	*why = NULL;
	if (p->domain == NULL || !dkim_domain_valid(p->domain,
	    strlen(p->domain), 0))
		*why = "d= is not a domain name";
	else if (p->selector == NULL || !dkim_domain_valid(p->selector,
	    strlen(p->selector), 1))
		*why = "s= is not a selector";
	else if (p->identity != NULL && !identity_valid(p->identity,
	    p->domain))
		*why = "i= is not an address within d=";
	else if (p->alg != DKIM_ALG_RSA_SHA256 &&
	    p->alg != DKIM_ALG_ED25519_SHA256)
		*why = "unknown algorithm";
	else if (p->t >= 1000000000000ULL || p->x >= 1000000000000ULL ||
	    (p->t != 0 && p->x != 0 && p->x <= p->t))
		*why = "x= must be after t=, both under 13 digits";
	else if ((p->own_tag != NULL) != (p->own_value != NULL) ||
	    (p->own_tag != NULL && !own_tag_valid(p->own_tag,
	    p->own_value)))
		*why = "the signer's own tag is not acceptable";
	for (i = 0; *why == NULL && p->headers[i] != NULL; i++) {
		if (!hname_valid(p->headers[i]))
			*why = "a header name is not a field name";
		from |= strcasecmp(p->headers[i], "from") == 0;
	}
	if (*why == NULL && !from)
		*why = "the header list must name From";
	return *why == NULL ? 0 : -1;
}

static size_t
occurrences(const struct dkim_hdrs *h, const char *name)
{
	size_t	 i, len, n = 0;
	const char *f;

	for (i = 0; (f = dkim_hdrs_field(h, i, &len)) != NULL; i++)
		n += dkim_field_is(f, len, name);
	return n;
}

/* h=: every name once more than the message has it. */
static int
sign_names(const struct dkim_sign_params *p, const struct dkim_hdrs *h,
    const char **names, size_t *n)
{
	size_t	 i, k, c;

	*n = 0;
	for (i = 0; p->headers[i] != NULL; i++) {
		c = occurrences(h, p->headers[i]) + 1;
		for (k = 0; k < c; k++) {
			if (*n == DKIM_HNAMES_MAX)
				return -1;
			names[(*n)++] = p->headers[i];
		}
	}
	return 0;
}

/* i= in DKIM-quoted-printable: ';', '=', space and non-ASCII escaped. */
static void
identity_qp(const char *id, struct buf *out)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)id; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ';' || *p == '=')
			(void)buf_printf(out, "=%02X", *p);
		else
			(void)buf_addc(out, *p);
}

static void
write_ids(struct dkim_signer *s, const struct dkim_sign_params *p)
{
	struct buf	 qp;
	char		 num[24];

	fold_tag(s, "d", p->domain);
	fold_tag(s, "s", p->selector);
	if (p->identity != NULL) {
		buf_init(&qp, 0);
		identity_qp(p->identity, &qp);
		fold_tag(s, "i", buf_cstr(&qp));
		buf_free(&qp);
	}
	if (p->t != 0) {
		(void)snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)p->t);
		fold_tag(s, "t", num);
	}
	if (p->x != 0) {
		(void)snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)p->x);
		fold_tag(s, "x", num);
	}
	if (p->own_tag != NULL)
		fold_tag(s, p->own_tag, p->own_value);
}

static void
write_field(struct dkim_signer *s, const struct dkim_sign_params *p,
    const char **names, size_t n, const uint8_t bh[DKIM_DIGEST_LEN])
{
	struct buf	 b64;
	char		 atom[DKIM_HNAME_MAX + 4];
	size_t		 i;

	(void)buf_addstr(&s->field, "DKIM-Signature:");
	s->col = strlen("DKIM-Signature:");
	fold_tag(s, "v", "1");
	fold_tag(s, "a", dkim_alg_name(p->alg));
	(void)snprintf(atom, sizeof(atom), "c=%s/%s;",
	    p->hcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple",
	    p->bcanon == DKIM_CANON_RELAXED ? "relaxed" : "simple");
	fold_add(s, atom, strlen(atom), 1);
	write_ids(s, p);
	for (i = 0; i < n; i++) {
		(void)snprintf(atom, sizeof(atom), "%s%s%s", i ? "" : "h=",
		    names[i], i + 1 < n ? ":" : ";");
		fold_add(s, atom, strlen(atom), i == 0);
	}
	buf_init(&b64, 0);
	(void)buf_addstr(&b64, "bh=");
	(void)base64_encode(bh, DKIM_DIGEST_LEN, &b64);
	(void)buf_addc(&b64, ';');
	fold_add(s, b64.data, b64.len, 1);
	buf_free(&b64);
	fold_add(s, "b=", 2, 1);
}

/*
 * The digest to sign for this message and these parameters.  On success
 * *sr holds what dkim_sign_finish() needs; -1 with a reason when the
 * parameters are not acceptable.
 */
int
dkim_sign_prepare(const struct dkim_sign_params *p, const struct dkim_hdrs *h,
    const uint8_t bh[DKIM_DIGEST_LEN], struct dkim_signer **sr,
    uint8_t digest[DKIM_DIGEST_LEN], const char **why)
{
	struct dkim_signer	*s;
	struct dkim_hhash	 hh;
	const char		*names[DKIM_HNAMES_MAX];
	size_t			 n;

	*sr = NULL;
	if (params_check(p, why) == -1)
		return -1;
	if (sign_names(p, h, names, &n) == -1) {
		*why = "too many header fields to sign";
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	buf_init(&s->field, 0);
	write_field(s, p, names, n, bh);
	memset(&hh, 0, sizeof(hh));
	hh.names = names;
	hh.nnames = n;
	hh.canon = p->hcanon;
	hh.sig = s->field.data;
	hh.siglen = hh.b_start = hh.b_end = s->field.len;
	(void)dkim_header_hash(h, &hh, digest);
	*sr = s;
	return 0;
}

/* Append the complete field, signature folded in, CRLF at the end. */
int
dkim_sign_finish(struct dkim_signer *s, const uint8_t *sig, size_t siglen,
    struct buf *out)
{
	struct buf	 b64;
	size_t		 off, room;

	if (siglen == 0 || siglen > DKIM_SIGBYTES_MAX)
		return -1;
	buf_init(&b64, 0);
	(void)base64_encode(sig, siglen, &b64);
	for (off = 0; off < b64.len; off += room) {
		if (s->col + 8 > FOLD_COLS) {
			(void)buf_add(&s->field, "\r\n\t", 3);
			s->col = TAB_COLS;
		}
		room = FOLD_COLS - s->col;
		if (room > b64.len - off)
			room = b64.len - off;
		(void)buf_add(&s->field, b64.data + off, room);
		s->col += room;
	}
	buf_free(&b64);
	if (buf_add(out, s->field.data, s->field.len) == -1 ||
	    buf_add(out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	buf_free(&s->field);
	free(s);
}

enum dkim_alg
dkim_pkey_alg(EVP_PKEY *pk)
{
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(pk) >= DKIM_RSA_MIN_BITS ?
		    DKIM_ALG_RSA_SHA256 : DKIM_ALG_NONE;
	case EVP_PKEY_ED25519:
		return DKIM_ALG_ED25519_SHA256;
	default:
		return DKIM_ALG_NONE;
	}
}

static int
rsa_sign(EVP_PKEY *pk, const uint8_t *digest, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX	*ctx;
	size_t		 need;
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
		return -1;
	ok = EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, NULL, &need, digest, DKIM_DIGEST_LEN) == 1 &&
	    need <= *siglen &&
	    EVP_PKEY_sign(ctx, sig, siglen, digest, DKIM_DIGEST_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
ed25519_sign(EVP_PKEY *pk, const uint8_t *digest, uint8_t *sig,
    size_t *siglen)
{
	EVP_MD_CTX	*md;
	int		 ok;

	if (*siglen < 64 || (md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(md, sig, siglen, digest, DKIM_DIGEST_LEN) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/*
 * Sign a digest from dkim_sign_prepare() with a private key.  *siglen is
 * the room at sig on entry, the signature's length on return.
 */
int
dkim_digest_sign(EVP_PKEY *pk, enum dkim_alg alg,
    const uint8_t digest[DKIM_DIGEST_LEN], uint8_t *sig, size_t *siglen)
{
	int	 r;

	if (dkim_pkey_alg(pk) != alg)
		return -1;
	if (alg == DKIM_ALG_RSA_SHA256)
		r = rsa_sign(pk, digest, sig, siglen);
	else
		r = ed25519_sign(pk, digest, sig, siglen);
	ERR_clear_error();
	return r;
}

int
dkim_pkey_public(EVP_PKEY *pk, struct buf *out)
{
	unsigned char	*der = NULL, raw[32];
	size_t		 n = sizeof(raw);
	int		 len;

	switch (dkim_pkey_alg(pk)) {
	case DKIM_ALG_RSA_SHA256:
		if ((len = i2d_PUBKEY(pk, &der)) <= 0)
			return -1;
		(void)buf_add(out, der, (size_t)len);
		OPENSSL_free(der);
		return 0;
	case DKIM_ALG_ED25519_SHA256:
		if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1)
			return -1;
		(void)buf_add(out, raw, n);
		return 0;
	default:
		return -1;
	}
}

int
dkim_pkey_record(EVP_PKEY *pk, struct buf *out)
{
	struct buf	 pub;
	int		 r = -1;

	buf_init(&pub, 0);
	if (dkim_pkey_public(pk, &pub) == 0) {
		(void)buf_printf(out, "v=DKIM1; k=%s; p=",
		    dkim_pkey_alg(pk) == DKIM_ALG_RSA_SHA256 ? "rsa" :
		    "ed25519");
		(void)base64_encode(pub.data, pub.len, out);
		r = 0;
	}
	buf_free(&pub);
	return r;
}
