/*
 * dkim.h - DKIM signatures (RFC 6376) with rsa-sha256 and ed25519-sha256
 * (RFC 8463) under the rules of RFC 8301 (no rsa-sha1, no RSA key under
 * 1024 bits).
 *
 * Four parts, each usable alone:
 *
 *  - Parsers (dkim_tag.c, dkim_sig.c, dkim_key.c): a DKIM-Signature tag-list
 *    and a key record, strictly, into fixed-size structures.  Every refusal
 *    has a code (enum dkim_perr) and a reason for a log line.
 *  - Canonicalization (dkim_canon.c, dkim_msg.c): the body hashed as it
 *    streams, in chunks of any size (a 50 MB message is never held whole),
 *    and the header fields a signature names, hashed in the RFC's order.
 *  - Signing (dkim_sign.c), split so that the private key need not be in
 *    the calling process: dkim_sign_prepare() turns the header fields, the
 *    body hash and the parameters into the 32-byte digest to be signed;
 *    whoever holds the key signs it (dkim_digest_sign() with an EVP_PKEY,
 *    in the keystore); dkim_sign_finish() turns the signature bytes into the
 *    DKIM-Signature header field.
 *  - Verification (dkim_verify.c): every DKIM-Signature of a message, up to
 *    a limit, each with an RFC 8601 result and a reason.  Keys come from the
 *    caller (a callback, or dkim_verify_set_key() for a caller that looks
 *    them up itself while the body streams).
 *
 * Callers: smtpd.queue (signing, through the keystore), the keystore (the
 * digest signer and the key records it publishes), smtpd.receiver
 * (verification).  The code needs no privileges and keeps no global state;
 * the parsers and the verifier are written for hostile input (every size
 * is bounded, see the DKIM_*_MAX limits).
 */
#ifndef SM_DKIM_H
#define SM_DKIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"

#define DKIM_DIGEST_LEN		32	/* SHA-256 */
#define DKIM_DOMAIN_MAX		253	/* d=, the domain of i= */
#define DKIM_SELECTOR_MAX	253	/* s= (with d=, a DNS name of 253) */
#define DKIM_LOCAL_MAX		64	/* local-part of i=, decoded */
#define DKIM_IDENTITY_MAX	(DKIM_LOCAL_MAX + 1 + DKIM_DOMAIN_MAX)
#define DKIM_HNAMES_MAX		100	/* names in h= */
#define DKIM_HNAME_MAX		64	/* length of one of them */
#define DKIM_SIGBYTES_MAX	1024	/* b= decoded: RSA up to 8192 bits */
#define DKIM_SIGFIELD_MAX	16384	/* a DKIM-Signature field */
#define DKIM_KEYREC_MAX		8192	/* a key record */
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 section 3.2 */
#define DKIM_RSA_MAX_BITS	8192
#define DKIM_TAGS_MAX		32	/* tags in one tag-list */
#define DKIM_MAX_SIGS		5	/* signatures verified per message */
#define DKIM_CLOCK_SKEW		300	/* seconds of t= and x= slack */

enum dkim_alg {
	DKIM_ALG_NONE = 0,
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256
};

enum dkim_canon {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED
};

enum dkim_keytype {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519
};

/* Why a tag-list or a key record was refused (DKIM_P_OK: it was not). */
enum dkim_perr {
	DKIM_P_OK = 0,
	DKIM_P_SYNTAX,		/* not a tag-list (RFC 6376 section 3.2) */
	DKIM_P_DUPLICATE,	/* a tag given twice */
	DKIM_P_MISSING,		/* a required tag is absent */
	DKIM_P_VERSION,		/* v= is not 1 (signature) / DKIM1 (key) */
	DKIM_P_ALGORITHM,	/* a=, c=, q=, k= or h= not supported */
	DKIM_P_VALUE,		/* a tag's value is malformed */
	DKIM_P_TOO_LONG,	/* over one of the DKIM_*_MAX bounds */
	DKIM_P_IDENTITY,	/* i= is not in d= */
	DKIM_P_NO_FROM,		/* h= does not name From */
	DKIM_P_TIME,		/* x= is not after t= */
	DKIM_P_SERVICE,		/* key s= excludes email */
	DKIM_P_KEY,		/* p= is not a public key of type k= */
	DKIM_P_KEY_SHORT	/* RSA key under DKIM_RSA_MIN_BITS */
};

/* RFC 8601 section 2.7.1 result values for the "dkim" method. */
enum dkim_status {
	DKIM_NONE = 0,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_POLICY,
	DKIM_NEUTRAL,
	DKIM_TEMPERROR,
	DKIM_PERMERROR
};

/* A parsed DKIM-Signature (dkim_sig_parse). */
struct dkim_sig {
	enum dkim_alg	 alg;
	enum dkim_canon	 hcanon, bcanon;
	char		 domain[DKIM_DOMAIN_MAX + 1];	/* d=, lowercased */
	char		 selector[DKIM_SELECTOR_MAX + 1]; /* s=, lowercased */
	char		 identity[DKIM_IDENTITY_MAX + 1]; /* i=, decoded */
	char		 hnames[DKIM_HNAMES_MAX][DKIM_HNAME_MAX + 1];
	size_t		 nhnames;
	uint8_t		 b[DKIM_SIGBYTES_MAX];
	size_t		 blen;
	uint8_t		 bh[DKIM_DIGEST_LEN];
	int		 has_l, has_t, has_x;
	uint64_t	 l, t, x;
	char		 b_prefix[9];	/* first 8 of b= (RFC 6008) */
	/* Offsets in the parsed value of what follows "b=" up to the
	 * next ';' or the end: what verification hashes as empty. */
	size_t		 b_start, b_end;
};

/* A parsed key record (dkim_key_parse); dkim_key_clear() frees it. */
struct dkim_key {
	enum dkim_keytype type;
	int		 revoked;	/* p= empty */
	int		 testing;	/* t=y */
	int		 strict;	/* t=s: i= must be exactly d= */
	unsigned int	 bits;
	EVP_PKEY	*pkey;		/* NULL when revoked */
};

/* Parsers.  The reason is a static string naming the fault. */
enum dkim_perr dkim_sig_parse(const char *, size_t, struct dkim_sig *,
	    const char **);
enum dkim_perr dkim_key_parse(const char *, size_t, struct dkim_key *,
	    const char **);
void	 dkim_key_clear(struct dkim_key *);
/*
 * The value of tag name in a DKIM-Signature field's value (what follows
 * the colon), copied into out of outlen bytes: 0, or -1 when it is not
 * a tag-list, has no such tag, or the value does not fit.  For a tag
 * dkim_sig_parse() ignores, such as a signer's own (own_tag below).
 */
int	 dkim_sig_tag_value(const char *, size_t, const char *, char *,
	    size_t);
const char *dkim_alg_name(enum dkim_alg);
const char *dkim_status_name(enum dkim_status);
/* "selector._domainkey.domain", the name a key record is published at. */
int	 dkim_key_qname(const char *, const char *, struct buf *);

/*
 * Body hash, streamed: dkim_body_update() takes chunks of any size; a bare
 * LF ends a line as CRLF does.  limit is l= (UINT64_MAX: the whole body).
 * dkim_body_total() is the canonical length of the whole body, known after
 * dkim_body_final().
 */
struct dkim_body;
struct dkim_body *dkim_body_new(enum dkim_canon, uint64_t);
void	 dkim_body_update(struct dkim_body *, const void *, size_t);
void	 dkim_body_final(struct dkim_body *, uint8_t[DKIM_DIGEST_LEN]);
uint64_t dkim_body_total(const struct dkim_body *);
void	 dkim_body_free(struct dkim_body *);

/* Header canonicalization of one field (name, colon, value, CRLF). */
void	 dkim_canon_header(enum dkim_canon, const char *, size_t,
	    struct buf *);

/*
 * A message's header fields, in order, each kept with CRLF line ends.
 * dkim_msg splits a message streamed in chunks into these fields and the
 * body hash; max bounds the header (bytes, 0 for the default of 1 MB).
 */
struct dkim_hdrs;
struct dkim_hdrs *dkim_hdrs_new(size_t);
int	 dkim_hdrs_add(struct dkim_hdrs *, const char *, size_t);
size_t	 dkim_hdrs_count(const struct dkim_hdrs *);
const char *dkim_hdrs_field(const struct dkim_hdrs *, size_t, size_t *);
void	 dkim_hdrs_free(struct dkim_hdrs *);

struct dkim_msg;
struct dkim_msg *dkim_msg_new(enum dkim_canon, size_t);
int	 dkim_msg_feed(struct dkim_msg *, const void *, size_t);
int	 dkim_msg_end(struct dkim_msg *, uint8_t[DKIM_DIGEST_LEN]);
const struct dkim_hdrs *dkim_msg_hdrs(const struct dkim_msg *);
void	 dkim_msg_free(struct dkim_msg *);

/*
 * Signing.  dkim_sign_params_init() sets relaxed/relaxed, rsa-sha256 and
 * the default header list (dkim_sign_default_headers: each name is listed
 * once more than it occurs in the message, so none can be added unnoticed).
 * t and x are seconds since the epoch, 0 to leave the tag out.  l= is never
 * written.
 */
struct dkim_sign_params {
	const char		*domain;	/* d= */
	const char		*selector;	/* s= */
	const char		*identity;	/* i=, NULL for none */
	enum dkim_alg		 alg;
	enum dkim_canon		 hcanon, bcanon;
	uint64_t		 t, x;
	const char *const	*headers;	/* NULL-terminated */
	/*
	 * One tag of the signer's own after x=, or NULL: verifiers ignore
	 * it (RFC 6376 section 3.2) and the signature covers it.  The
	 * name is ALPHA *(ALPHA / DIGIT / "_") and must not be a tag of
	 * RFC 6376; the value 1 to 64 of [A-Za-z0-9._-].
	 */
	const char		*own_tag, *own_value;
};
extern const char *const dkim_sign_default_headers[];

struct dkim_signer;
void	 dkim_sign_params_init(struct dkim_sign_params *);
int	 dkim_sign_prepare(const struct dkim_sign_params *,
	    const struct dkim_hdrs *, const uint8_t[DKIM_DIGEST_LEN],
	    struct dkim_signer **, uint8_t[DKIM_DIGEST_LEN], const char **);
int	 dkim_sign_finish(struct dkim_signer *, const uint8_t *, size_t,
	    struct buf *);
void	 dkim_signer_free(struct dkim_signer *);

/* Sign a digest with a private key (the keystore's half). */
enum dkim_alg dkim_pkey_alg(EVP_PKEY *);
int	 dkim_digest_sign(EVP_PKEY *, enum dkim_alg,
	    const uint8_t[DKIM_DIGEST_LEN], uint8_t *, size_t *);
/*
 * The p= bytes of a key's record (RSA: SubjectPublicKeyInfo DER; Ed25519:
 * the raw 32 bytes, RFC 8463), and the key record to publish for a key:
 * "v=DKIM1; k=...; p=...".  0, or -1 for a key DKIM cannot use.
 */
int	 dkim_pkey_public(EVP_PKEY *, struct buf *);
int	 dkim_pkey_record(EVP_PKEY *, struct buf *);

/*
 * Verification.  Feed the whole message (dkim_verify_feed, chunks of any
 * size), then dkim_verify_finish().  Keys: a caller that looks them up
 * while the body streams lists the signatures once the header is complete
 * (dkim_verify_header_done, dkim_verify_query) and hands each record over
 * with dkim_verify_set_key(); a key not set is asked of the callback.
 */
enum dkim_keyq {
	DKIM_KEYQ_FOUND,	/* the record is in the buffer */
	DKIM_KEYQ_NONE,		/* no such key (NXDOMAIN, no record) */
	DKIM_KEYQ_TEMPFAIL	/* try later (SERVFAIL, timeout) */
};
typedef enum dkim_keyq (*dkim_key_fn)(const char *, const char *,
	    struct buf *, void *);

struct dkim_verify_opts {
	size_t		 max_sigs;	/* 0: DKIM_MAX_SIGS */
	size_t		 max_header;	/* 0: 1 MB */
	time_t		 now;		/* 0: time(NULL) at finish */
	unsigned int	 skew;		/* 0: DKIM_CLOCK_SKEW */
};

struct dkim_result {
	enum dkim_status status;
	const char	*reason;	/* static text, "" for a plain pass */
	char		 detail[96];	/* figures behind the reason */
	char		 domain[DKIM_DOMAIN_MAX + 1];
	char		 selector[DKIM_SELECTOR_MAX + 1];
	char		 identity[DKIM_IDENTITY_MAX + 1];
	char		 b_prefix[9];
	enum dkim_alg	 alg;
	int		 testing;	/* key t=y */
};

struct dkim_verify;
struct dkim_verify *dkim_verify_new(const struct dkim_verify_opts *);
int	 dkim_verify_feed(struct dkim_verify *, const void *, size_t);
int	 dkim_verify_header_done(const struct dkim_verify *);
size_t	 dkim_verify_nsigs(const struct dkim_verify *);
int	 dkim_verify_query(const struct dkim_verify *, size_t,
	    const char **, const char **);
const char *dkim_verify_identity(const struct dkim_verify *, size_t);
void	 dkim_verify_set_key(struct dkim_verify *, size_t, enum dkim_keyq,
	    const char *, size_t);
size_t	 dkim_verify_finish(struct dkim_verify *, dkim_key_fn, void *);
const struct dkim_result *dkim_verify_result(const struct dkim_verify *,
	    size_t);
size_t	 dkim_verify_ignored(const struct dkim_verify *);
void	 dkim_verify_free(struct dkim_verify *);
/* "dkim=pass (reason) header.d=... header.s=... header.a=... header.b=..." */
void	 dkim_result_format(const struct dkim_result *, struct buf *);

#endif
