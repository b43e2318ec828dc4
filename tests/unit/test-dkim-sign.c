/*
 * test-dkim-sign.c - signing (common/dkim_sign.c): the split API verifies
 * under both algorithms and all four canonicalizations, never writes l=,
 * oversigns its header list, folds to 78 columns, refuses bad parameters;
 * the digest signer does exactly PKCS#1 v1.5 with the SHA-256 DigestInfo
 * (RSA) and PureEdDSA over the 32-byte hash (Ed25519, RFC 8463).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "test.h"
#include "dkim-testutil.h"

static EVP_PKEY	*rsa2048, *rsa512, *ed;
static char	 rsa_rec[2048], ed_rec[256];

static const char plain[] =
	"From: Alice <alice@example.test>\r\n"
	"To: bob@example.net\r\n"
	"Subject:  lunch\t today \r\n"
	"Date: Mon, 13 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <1@example.test>\r\n"
	"\r\n"
	"Noon at the  usual place?  \r\n"
	"\r\n"
	"Alice\r\n"
	"\r\n";

static void
params(struct dkim_sign_params *p, EVP_PKEY *pk, const char *sel)
{
	dkim_sign_params_init(p);
	p->domain = "example.test";
	p->selector = sel;
	p->alg = dkim_pkey_alg(pk);
	p->t = TNOW - 60;
	p->x = TNOW + 86400;
}

/* The signature field at the top of a signed message, parsed. */
static void
parse_top(const char *m, struct dkim_sig *sig, size_t *fieldlen)
{
	const char	*end = m, *why;

	/* the field ends at the first line end not followed by whitespace */
	while ((end = strstr(end + 1, "\r\n")) != NULL && (end[2] == ' ' ||
	    end[2] == '\t'))
		;

	*fieldlen = end - m + 2;
	test_assert(strncmp(m, "DKIM-Signature: v=1; a=", 23) == 0);
	test_assert(dkim_sig_parse(m + 15, end - m - 15, sig, &why) ==
	    DKIM_P_OK);
}

static void
test_roundtrip(void)
{
	static const enum dkim_canon cs[][2] = {
		{ DKIM_CANON_RELAXED, DKIM_CANON_RELAXED },
		{ DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE },
		{ DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE },
		{ DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED },
	};
	struct dkim_sign_params	 p;
	struct buf		 s;
	EVP_PKEY		*keys[2] = { rsa2048, ed };
	const char		*sels[2] = { "rsa", "ed" };
	size_t			 k, c;
	int			 bad = 0;

	test_begin("signatures of both algorithms under the four "
	    "canonicalizations verify");
	keys_reset();
	keys_add("rsa._domainkey.example.test", rsa_rec);
	keys_add("ed._domainkey.example.test", ed_rec);
	buf_init(&s, 0);
	for (k = 0; k < 2; k++)
		for (c = 0; c < 4; c++) {
			params(&p, keys[k], sels[k]);
			p.hcanon = cs[c][0];
			p.bcanon = cs[c][1];
			buf_reset(&s);
			bad |= sign_with(keys[k], &p, plain, &s) == -1;
			bad |= verify_one(s.data, NULL) != DKIM_PASS;
		}
	test_assert(!bad);
	buf_free(&s);
	test_end();
}

static void
test_bare_lf(void)
{
	struct dkim_sign_params	 p;
	struct buf		 s, lf;
	size_t			 i;

	test_begin("a message signed with CRLF verifies when stored with "
	    "bare LF line ends (simple/simple)");
	keys_reset();
	keys_add("ed._domainkey.example.test", ed_rec);
	params(&p, ed, "ed");
	p.hcanon = p.bcanon = DKIM_CANON_SIMPLE;
	buf_init(&s, 0);
	buf_init(&lf, 0);
	(void)sign_with(ed, &p, plain, &s);
	for (i = 0; i < s.len; i++)
		if (s.data[i] != '\r')
			(void)buf_addc(&lf, s.data[i]);
	test_assert(verify_one(lf.data, NULL) == DKIM_PASS);
	buf_free(&s);
	buf_free(&lf);
	test_end();
}

static size_t
count_name(const struct dkim_sig *sig, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < sig->nhnames; i++)
		n += strcasecmp(sig->hnames[i], name) == 0;
	return n;
}

static void
test_fields_written(void)
{
	struct dkim_sign_params	 p;
	struct dkim_sig		 sig;
	struct buf		 s;
	size_t			 flen;

	test_begin("the field written: no l=, t= and x= as asked, each "
	    "header name once more than the message has it, b= last");
	params(&p, rsa2048, "rsa");
	buf_init(&s, 0);
	(void)sign_with(rsa2048, &p, "Received: a\r\nTo: x@y\r\nTo: z@y\r\n"
	    "From: a@example.test\r\n\r\nhi\r\n", &s);
	parse_top(s.data, &sig, &flen);
	test_assert(!sig.has_l && strstr(s.data, " l=") == NULL);
	test_assert(sig.has_t && sig.t == TNOW - 60);
	test_assert(sig.has_x && sig.x == TNOW + 86400);
	test_assert(sig.hcanon == DKIM_CANON_RELAXED &&
	    sig.bcanon == DKIM_CANON_RELAXED);
	test_assert(count_name(&sig, "From") == 2);
	test_assert(count_name(&sig, "To") == 3);
	test_assert(count_name(&sig, "Cc") == 1);
	test_assert(count_name(&sig, "Content-Transfer-Encoding") == 1);
	test_assert(count_name(&sig, "Received") == 0);
	test_assert(sig.blen == 256);
	/* b= is the last tag and the field ends with CRLF */
	test_assert(sig.b_end == flen - 2 - 15);
	test_assert(s.data[flen - 2] == '\r' && s.data[flen - 1] == '\n');
	buf_free(&s);
	test_end();
}

static void
test_own_tag(void)
{
	static const struct {
		const char	*name, *value;
	} refused[] = {
		{ "bh", "x" }, { "X", "1" }, { "z", "1" }, { "1abc", "1" },
		{ "a-b", "1" }, { "sealmail_id", "" }, { "sealmail_id", "a;b" },
		{ "sealmail_id", "a b" }, { "sealmail_id", NULL },
		{ NULL, "1" },
	};
	struct dkim_sign_params	 p;
	struct dkim_signer	*sr;
	struct dkim_hdrs	*h = dkim_hdrs_new(0);
	struct dkim_sig		 sig;
	struct buf		 s;
	uint8_t			 bh[32] = { 0 }, dg[32];
	const char		*why;
	char			 v[32];
	size_t			 i, flen;
	int			 bad = 0;

	test_begin("a signer's own tag is written, covered by the "
	    "signature, and read back with dkim_sig_tag_value");
	keys_reset();
	keys_add("rsa._domainkey.example.test", rsa_rec);
	params(&p, rsa2048, "rsa");
	p.own_tag = "sealmail_id";
	p.own_value = "0123456789abcdef";
	buf_init(&s, 0);
	test_assert(sign_with(rsa2048, &p, plain, &s) == 0);
	test_assert(verify_one(s.data, NULL) == DKIM_PASS);
	parse_top(s.data, &sig, &flen);
	test_assert(dkim_sig_tag_value(s.data + 15, flen - 17,
	    "sealmail_id", v, sizeof(v)) == 0);
	test_assert_str(v, "0123456789abcdef");
	test_assert(dkim_sig_tag_value(s.data + 15, flen - 17, "nope", v,
	    sizeof(v)) == -1);
	test_assert(dkim_sig_tag_value(s.data + 15, flen - 17,
	    "sealmail_id", v, 16) == -1);
	/* the tag is signed: another value does not verify */
	memcpy(strstr(s.data, "0123456789abcdef"), "0123456789abcdee", 16);
	test_assert(verify_one(s.data, NULL) == DKIM_FAIL);
	buf_free(&s);
	test_end();

	test_begin("a signer's own tag that is a tag of RFC 6376 or not a "
	    "tag-name, or a value that is not a plain word, is refused");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		params(&p, ed, "ed");
		p.own_tag = refused[i].name;
		p.own_value = refused[i].value;
		why = NULL;
		bad |= dkim_sign_prepare(&p, h, bh, &sr, dg, &why) != -1 ||
		    sr != NULL || why == NULL;
	}
	test_assert(!bad);
	dkim_hdrs_free(h);
	test_end();
}

/* Every line of the field within 78 columns, a tab counting eight. */
static int
folded(const char *f, size_t n)
{
	size_t	 i, col = 0;

	for (i = 0; i < n; i++) {
		if (f[i] == '\r' || f[i] == '\n') {
			col = 0;
			continue;
		}
		col += f[i] == '\t' ? 8 : 1;
		if (col > 78) {
			printf("  over 78 columns: %.*s\n", (int)(n - i),
			    f + i);
			return 0;
		}
	}
	return 1;
}

static void
test_folding(void)
{
	static const char	 dom[] = "long-subdomain-for-folding.mail."
	    "example.test";
	struct dkim_sign_params	 p;
	struct dkim_sig		 sig;
	struct buf		 s, rec;
	size_t			 flen;

	test_begin("the field is folded to 78 columns and still verifies, "
	    "with a long domain and a local part that needs quoting");
	params(&p, rsa2048, "sel-2024-with-a-longer-name");
	p.domain = dom;
	p.identity = "first.last;x=y@long-subdomain-for-folding.mail."
	    "example.test";
	buf_init(&s, 0);
	buf_init(&rec, 0);
	test_assert(sign_with(rsa2048, &p, plain, &s) == 0);
	parse_top(s.data, &sig, &flen);
	test_assert(folded(s.data, flen));
	test_assert(strstr(s.data, "i=first.last=3Bx=3Dy@") != NULL);
	test_assert_str(sig.identity, p.identity);
	(void)buf_printf(&rec, "sel-2024-with-a-longer-name._domainkey.%s",
	    dom);
	keys_reset();
	keys_add(rec.data, rsa_rec);
	test_assert(verify_one(s.data, NULL) == DKIM_PASS);
	buf_free(&s);
	buf_free(&rec);
	test_end();
}

static void
test_params_refused(void)
{
	static const char *const no_from[] = { "To", "Subject", NULL };
	static const char *const bad_name[] = { "From", "Bad Name", NULL };
	struct dkim_sign_params	 p;
	struct dkim_signer	*s;
	struct dkim_hdrs	*h = dkim_hdrs_new(0);
	uint8_t			 bh[32] = { 0 }, dg[32];
	const char		*why;
	int			 i, bad = 0;

	test_begin("signing parameters refused: i= outside d=, no From in "
	    "the list, a bad name, x= not after t=, bad d= or s=");
	for (i = 0; i < 8; i++) {
		params(&p, ed, "ed");
		switch (i) {
		case 0: p.identity = "alice@elsewhere.example"; break;
		case 1: p.headers = no_from; break;
		case 2: p.headers = bad_name; break;
		case 3: p.x = p.t; break;
		case 4: p.domain = "bad..example"; break;
		case 5: p.selector = "sel;x"; break;
		case 6: p.alg = DKIM_ALG_NONE; break;
		case 7: p.identity = "no-at-sign"; break;
		}
		why = NULL;
		bad |= dkim_sign_prepare(&p, h, bh, &s, dg, &why) != -1 ||
		    s != NULL || why == NULL;
	}
	test_assert(!bad);
	dkim_hdrs_free(h);
	test_end();
}

static void
test_rsa_digest_info(void)
{
	static const uint8_t	 prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
	    0x00, 0x04, 0x20 };
	EVP_PKEY_CTX		*ctx;
	uint8_t			 dg[32], sig[512], rec[512];
	size_t			 siglen = sizeof(sig), reclen = sizeof(rec);

	test_begin("RSA digest signing is PKCS#1 v1.5 over the SHA-256 "
	    "DigestInfo of the digest given");
	memset(dg, 0xa5, sizeof(dg));
	test_assert(dkim_digest_sign(rsa2048, DKIM_ALG_RSA_SHA256, dg, sig,
	    &siglen) == 0 && siglen == 256);
	ctx = EVP_PKEY_CTX_new(rsa2048, NULL);
	test_assert(EVP_PKEY_verify_recover_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_verify_recover(ctx, rec, &reclen, sig, siglen) == 1);
	test_assert(reclen == sizeof(prefix) + 32 &&
	    memcmp(rec, prefix, sizeof(prefix)) == 0 &&
	    memcmp(rec + sizeof(prefix), dg, 32) == 0);
	EVP_PKEY_CTX_free(ctx);
	test_end();
}

static void
test_ed25519_pure(void)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 dg[32], sig[64];
	size_t		 siglen = sizeof(sig);

	test_begin("Ed25519 digest signing is PureEdDSA with the 32-byte "
	    "hash as the message (RFC 8463)");
	memset(dg, 0x3c, sizeof(dg));
	test_assert(dkim_digest_sign(ed, DKIM_ALG_ED25519_SHA256, dg, sig,
	    &siglen) == 0 && siglen == 64);
	test_assert(EVP_DigestVerifyInit(md, NULL, NULL, NULL, ed) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, dg, sizeof(dg)) == 1);
	EVP_MD_CTX_free(md);
	test_end();
}

static void
test_digest_sign_refusals(void)
{
	struct buf	 b;
	uint8_t		 dg[32] = { 0 }, sig[512];
	size_t		 siglen;

	test_begin("the digest signer refuses a key of the other algorithm, "
	    "a small RSA key and too small an output buffer");
	siglen = sizeof(sig);
	test_assert(dkim_digest_sign(ed, DKIM_ALG_RSA_SHA256, dg, sig,
	    &siglen) == -1);
	siglen = sizeof(sig);
	test_assert(dkim_digest_sign(rsa2048, DKIM_ALG_ED25519_SHA256, dg,
	    sig, &siglen) == -1);
	siglen = sizeof(sig);
	test_assert(dkim_pkey_alg(rsa512) == DKIM_ALG_NONE);
	test_assert(dkim_digest_sign(rsa512, DKIM_ALG_RSA_SHA256, dg, sig,
	    &siglen) == -1);
	siglen = 100;
	test_assert(dkim_digest_sign(rsa2048, DKIM_ALG_RSA_SHA256, dg, sig,
	    &siglen) == -1);
	siglen = 63;
	test_assert(dkim_digest_sign(ed, DKIM_ALG_ED25519_SHA256, dg, sig,
	    &siglen) == -1);
	buf_init(&b, 0);
	test_assert(dkim_pkey_record(rsa512, &b) == -1);
	test_assert(dkim_pkey_record(ed, &b) == 0 &&
	    strncmp(b.data, "v=DKIM1; k=ed25519; p=", 22) == 0);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_roundtrip,
		test_bare_lf,
		test_fields_written,
		test_folding,
		test_params_refused,
		test_own_tag,
		test_rsa_digest_info,
		test_ed25519_pure,
		test_digest_sign_refusals,
		NULL
	};

	rsa2048 = EVP_RSA_gen(2048);
	rsa512 = EVP_RSA_gen(512);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	key_record(rsa2048, rsa_rec, sizeof(rsa_rec));
	key_record(ed, ed_rec, sizeof(ed_rec));
	return test_run(tests);
}
