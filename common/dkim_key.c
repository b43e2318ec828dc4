/*
 * dkim_key.c - a DKIM key record (RFC 6376 section 3.6.1, RFC 8463 for
 * k=ed25519) into a struct dkim_key holding an OpenSSL public key.
 *
 * v=, if present, must come first and be DKIM1; k= is rsa (the default) or
 * ed25519; h=, when present, must allow sha256; s= must include email or
 * *; t= carries the y (testing) and s (strict identity) flags, unknown
 * flags are ignored; an empty p= is a revoked key, which parses (the
 * verifier reports it).  An RSA key under 1024 bits is refused (RFC 8301);
 * p= is a SubjectPublicKeyInfo, or the bare RSAPublicKey some publish.
 * Runs on DNS answers or key-server replies, hostile input, in the
 * receiver's unprivileged process.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "dkim_int.h"

#define KEY_DER_MAX	2048	/* an 8192-bit SubjectPublicKeyInfo fits */

static int
list_has(const struct dkim_tag *t, const char *const *want, int *bad)
{
	const char	*item[16];
	size_t		 len[16];
	int		 i, n, w;

	*bad = 0;
	if ((n = dkim_list_split(t->val, t->vlen, item, len, 16)) < 0) {
		*bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		for (w = 0; want[w] != NULL; w++)
			if (len[i] == strlen(want[w]) &&
			    memcmp(item[i], want[w], len[i]) == 0)
				return 1;
	return 0;
}

static enum dkim_perr
key_v(const struct dkim_taglist *tl, const char **why)
{
	const struct dkim_tag	*t = dkim_tag_get(tl, "v");

	if (t == NULL)
		return DKIM_P_OK;
	if (t != &tl->tag[0] || t->vlen != 5 ||
	    memcmp(t->val, "DKIM1", 5) != 0) {
		*why = "key v= is not DKIM1 or not the first tag";
		return DKIM_P_VERSION;
	}
	return DKIM_P_OK;
}

static enum dkim_perr
key_h_s(const struct dkim_taglist *tl, const char **why)
{
	static const char *const sha256[] = { "sha256", NULL };
	static const char *const email[] = { "email", "*", NULL };
	const struct dkim_tag	*t;
	int			 bad;

	if ((t = dkim_tag_get(tl, "h")) != NULL && !list_has(t, sha256, &bad)) {
		*why = bad ? "key h= is not a list" : "key h= excludes sha256";
		return bad ? DKIM_P_VALUE : DKIM_P_ALGORITHM;
	}
	if ((t = dkim_tag_get(tl, "s")) != NULL && !list_has(t, email, &bad)) {
		*why = bad ? "key s= is not a list" : "key s= excludes email";
		return bad ? DKIM_P_VALUE : DKIM_P_SERVICE;
	}
	return DKIM_P_OK;
}

static enum dkim_perr
key_k_t(const struct dkim_taglist *tl, struct dkim_key *k, const char **why)
{
	static const char *const y[] = { "y", NULL };
	static const char *const s[] = { "s", NULL };
	const struct dkim_tag	*t;
	int			 bad;

	k->type = DKIM_KEY_RSA;
	if ((t = dkim_tag_get(tl, "k")) != NULL) {
		if (t->vlen == 7 && memcmp(t->val, "ed25519", 7) == 0)
			k->type = DKIM_KEY_ED25519;
		else if (t->vlen != 3 || memcmp(t->val, "rsa", 3) != 0) {
			*why = "key k= names an unknown key type";
			return DKIM_P_ALGORITHM;
		}
	}
	if ((t = dkim_tag_get(tl, "t")) != NULL) {
		k->testing = list_has(t, y, &bad);
		k->strict = list_has(t, s, &bad);
		if (bad) {
			*why = "key t= is not a list of flags";
			return DKIM_P_VALUE;
		}
	}
	return DKIM_P_OK;
}

/*
 * Decoded RSA keys by their DER bytes: OpenSSL 3 takes several times
 * longer to decode a key than to check a signature with it, and a
 * receiver sees the same few keys over and over.  Exact bytes only, so
 * a hit is the very key the record holds; a few slots, the oldest
 * replaced.
 */
#define KEY_CACHE_SLOTS	16
#define KEY_CACHE_DER	1200	/* RSA 4096's SubjectPublicKeyInfo is 550 */

static struct {
	uint8_t		 der[KEY_CACHE_DER];
	size_t		 n;
	EVP_PKEY	*pk;
} key_cache[KEY_CACHE_SLOTS];
static size_t key_cache_next;

static EVP_PKEY *
cache_get(const uint8_t *der, size_t n)
{
	size_t	 i;

	for (i = 0; i < KEY_CACHE_SLOTS; i++)
		if (key_cache[i].pk != NULL && key_cache[i].n == n &&
		    memcmp(key_cache[i].der, der, n) == 0 &&
		    EVP_PKEY_up_ref(key_cache[i].pk) == 1)
			return key_cache[i].pk;
	return NULL;
}

static void
cache_put(const uint8_t *der, size_t n, EVP_PKEY *pk)
{
	size_t	 i = key_cache_next++ % KEY_CACHE_SLOTS;

	if (n > KEY_CACHE_DER || EVP_PKEY_up_ref(pk) != 1)
		return;
	EVP_PKEY_free(key_cache[i].pk);
	memcpy(key_cache[i].der, der, n);
	key_cache[i].n = n;
	key_cache[i].pk = pk;
}

static EVP_PKEY *
rsa_decode(const uint8_t *der, size_t n)
{
	const unsigned char	*q = der;
	EVP_PKEY		*pk;

	pk = d2i_PUBKEY(NULL, &q, (long)n);
	if (pk != NULL && (q != der + n ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (pk == NULL) {
		q = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)n);
		if (pk != NULL && q != der + n) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	return pk;
}

static EVP_PKEY *
rsa_load(const uint8_t *der, size_t n)
{
	EVP_PKEY	*pk;

	if ((pk = cache_get(der, n)) != NULL)
		return pk;
	if ((pk = rsa_decode(der, n)) != NULL)
		cache_put(der, n, pk);
	return pk;
}

static enum dkim_perr
key_load(const uint8_t *der, size_t n, struct dkim_key *k, const char **why)
{
	if (k->type == DKIM_KEY_ED25519)
		k->pkey = n != 32 ? NULL : EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, der, n);
	else
		k->pkey = rsa_load(der, n);
	ERR_clear_error();
	if (k->pkey == NULL) {
		*why = "key p= is not a public key of type k=";
		return DKIM_P_KEY;
	}
	k->bits = (unsigned int)EVP_PKEY_get_bits(k->pkey);
	if (k->type == DKIM_KEY_RSA && k->bits < DKIM_RSA_MIN_BITS) {
		*why = "RSA key under 1024 bits (RFC 8301)";
		return DKIM_P_KEY_SHORT;
	}
	if (k->type == DKIM_KEY_RSA && k->bits > DKIM_RSA_MAX_BITS) {
		*why = "RSA key over 8192 bits";
		return DKIM_P_TOO_LONG;
	}
	return DKIM_P_OK;
}

static enum dkim_perr
key_p(const struct dkim_taglist *tl, struct dkim_key *k, const char **why)
{
	const struct dkim_tag	*t = dkim_tag_get(tl, "p");
	uint8_t			 der[KEY_DER_MAX];
	size_t			 n;

	if (t == NULL) {
		*why = "required key tag p= missing";
		return DKIM_P_MISSING;
	}
	if (t->vlen == 0) {
		k->revoked = 1;
		return DKIM_P_OK;
	}
	if (base64_decode(t->val, t->vlen, der, sizeof(der), &n,
	    BASE64_WSP) != BASE64_OK) {
		*why = "key p= is not base64 or is too long";
		return DKIM_P_VALUE;
	}
	return key_load(der, n, k, why);
}

enum dkim_perr
dkim_key_parse(const char *s, size_t n, struct dkim_key *k, const char **why)
{
	struct dkim_taglist	 tl;
	enum dkim_perr		 e;

	memset(k, 0, sizeof(*k));
	if (n > DKIM_KEYREC_MAX) {
		*why = "key record too long";
		return DKIM_P_TOO_LONG;
	}
	if ((e = dkim_taglist_parse(s, n, &tl, why)) != DKIM_P_OK ||
	    (e = key_v(&tl, why)) != DKIM_P_OK ||
	    (e = key_h_s(&tl, why)) != DKIM_P_OK ||
	    (e = key_k_t(&tl, k, why)) != DKIM_P_OK ||
	    (e = key_p(&tl, k, why)) != DKIM_P_OK) {
		dkim_key_clear(k);
		return e;
	}
	return DKIM_P_OK;
}

void
dkim_key_clear(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

int
dkim_key_qname(const char *domain, const char *selector, struct buf *out)
{
	return buf_printf(out, "%s._domainkey.%s", selector, domain);
}
