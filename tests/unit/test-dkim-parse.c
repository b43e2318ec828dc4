/*
 * test-dkim-parse.c - the DKIM-Signature and key record parsers
 * (common/dkim_sig.c, dkim_key.c, dkim_tag.c): tables of accepted and
 * refused inputs, each refusal with the code the verifier turns into a
 * permerror and a reason naming the fault.
 */
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_int.h"
#include "test.h"

#define BH	"bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
#define VA	"v=1; a=rsa-sha256; b=dGVzdA==; " BH
#define SIG	VA " d=example.com; s=sel; h=From:To"

/* RFC 8463 appendix A.2 */
#define ED_P	"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6Np" \
	"P3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACD" \
	"fzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf" \
	"O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
/* the same key as a bare PKCS#1 RSAPublicKey */
#define RSA_P1	"MIGJAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj" \
	"8nXoliLRC/H9vJjMI1vdb3XLcW60AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owq" \
	"szesbiGy1PlCO8c70/OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6X8rjDdAgMBAAE="

struct pcase {
	const char	*in;
	enum dkim_perr	 want;
	const char	*why;		/* a substring of the reason, or NULL */
};

static const struct pcase sig_cases[] = {
	{ SIG, DKIM_P_OK, NULL },
	{ SIG ";", DKIM_P_OK, NULL },
	{ SIG "; \r\n ", DKIM_P_OK, NULL },
	{ "v=1;\r\n\ta=rsa-sha256; b=dGVz\r\n dA==; " BH " d=example.com;"
	    "\r\n s=sel; h=from\r\n\t: to", DKIM_P_OK, NULL },
	{ SIG "; c=relaxed/relaxed; q=dns/txt; l=12; t=1; x=2; zz=any",
	    DKIM_P_OK, NULL },
	{ SIG "; i=joe@sub.example.com", DKIM_P_OK, NULL },
	{ SIG "; i=@EXAMPLE.COM", DKIM_P_OK, NULL },
	{ SIG "; q=dns/txt:other/thing", DKIM_P_OK, NULL },
	{ "v=1; a=ed25519-sha256; b=dGVzdA==; " BH " d=Example.COM; "
	    "s=sel_2024.x; h=From", DKIM_P_OK, NULL },
	/* the tag-list itself */
	{ "", DKIM_P_SYNTAX, "tag name" },
	{ ";", DKIM_P_SYNTAX, "tag name" },
	{ "v=1;; a=rsa-sha256", DKIM_P_SYNTAX, "tag name" },
	{ "1v=1", DKIM_P_SYNTAX, "tag name" },
	{ "v 1", DKIM_P_SYNTAX, "'='" },
	{ SIG "; zz=caf\xc3\xa9", DKIM_P_SYNTAX, "not allowed" },
	{ SIG "; zz=a\rb", DKIM_P_SYNTAX, "not allowed" },
	{ "v=1;\r\na=rsa-sha256", DKIM_P_SYNTAX, NULL },
	{ SIG "; v=1", DKIM_P_DUPLICATE, "twice" },
	{ SIG "; s=sel", DKIM_P_DUPLICATE, "twice" },
	{ SIG "; aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", DKIM_P_TOO_LONG,
	    "name too long" },
	/* required tags */
	{ "a=rsa-sha256; b=dGVzdA==; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_MISSING, "v=" },
	{ "v=1; b=dGVzdA==; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_MISSING, "a=" },
	{ "v=1; a=rsa-sha256; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_MISSING, "b=" },
	{ "v=1; a=rsa-sha256; b=dGVzdA==; d=example.com; s=sel; h=From",
	    DKIM_P_MISSING, "bh=" },
	{ VA " s=sel; h=From", DKIM_P_MISSING, "d=" },
	{ VA " d=example.com; s=sel", DKIM_P_MISSING, "h=" },
	{ VA " d=example.com; h=From", DKIM_P_MISSING, "s=" },
	/* values */
	{ "v=2; a=rsa-sha256; b=dGVzdA==; " BH " d=example.com; s=sel; "
	    "h=From", DKIM_P_VERSION, "v=" },
	{ "v=1; a=rsa-sha1; b=dGVzdA==; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_ALGORITHM, "RFC 8301" },
	{ "v=1; a=RSA-SHA256; b=dGVzdA==; " BH " d=example.com; s=sel; "
	    "h=From", DKIM_P_ALGORITHM, "a=" },
	{ "v=1; a=ed448-sha256; b=dGVzdA==; " BH " d=example.com; s=sel; "
	    "h=From", DKIM_P_ALGORITHM, "a=" },
	{ SIG "; c=fancy", DKIM_P_ALGORITHM, "c=" },
	{ SIG "; c=relaxed/", DKIM_P_ALGORITHM, "c=" },
	{ SIG "; c=relaxed/relaxed/simple", DKIM_P_ALGORITHM, "c=" },
	{ SIG "; q=http/well-known", DKIM_P_ALGORITHM, "q=" },
	{ SIG "; q=dns/txt::x", DKIM_P_VALUE, "q=" },
	{ "v=1; a=rsa-sha256; b=!!!!; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_VALUE, "b=" },
	{ "v=1; a=rsa-sha256; b=; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_VALUE, "b=" },
	{ "v=1; a=rsa-sha256; b=dGVzdA=; " BH " d=example.com; s=sel; h=From",
	    DKIM_P_VALUE, "b=" },
	{ "v=1; a=rsa-sha256; b=dG=VzdA==; " BH " d=example.com; s=sel; "
	    "h=From", DKIM_P_VALUE, "b=" },
	{ "v=1; a=rsa-sha256; b=dGVzdA==; bh=AAAAAAAAAAAAAAAAAAAAAA==; "
	    "d=example.com; s=sel; h=From", DKIM_P_VALUE, "bh=" },
	{ VA " d=-bad.example; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=bad-.example; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=exa_mple.com; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=a..b; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=example.com.; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=a234567890123456789012345678901234567890123456789012345678"
	    "901234.com; s=sel; h=From", DKIM_P_VALUE, "d=" },
	{ VA " d=example.com; s=bad..sel; h=From", DKIM_P_VALUE, "s=" },
	{ VA " d=example.com; s=sel; h=From::To", DKIM_P_VALUE, "h=" },
	{ VA " d=example.com; s=sel; h=:From", DKIM_P_VALUE, "h=" },
	{ VA " d=example.com; s=sel; h=", DKIM_P_VALUE, "h=" },
	{ VA " d=example.com; s=sel; h=From:", DKIM_P_VALUE, "h=" },
	{ VA " d=example.com; s=sel; h=From:To Cc", DKIM_P_VALUE, "h=" },
	{ VA " d=example.com; s=sel; h=To:Subject", DKIM_P_NO_FROM, "From" },
	{ SIG "; i=joe@other.example", DKIM_P_IDENTITY, "i=" },
	{ SIG "; i=joe@notexample.com", DKIM_P_IDENTITY, "i=" },
	{ SIG "; i=joe", DKIM_P_VALUE, "i=" },
	{ SIG "; i=joe@exa..mple.com", DKIM_P_VALUE, "i=" },
	{ SIG "; i=jo=00e@example.com", DKIM_P_VALUE, "i=" },
	{ SIG "; i=jo=G1e@example.com", DKIM_P_VALUE, "i=" },
	{ SIG "; i=jo=4@example.com", DKIM_P_VALUE, "i=" },
	{ SIG "; i=1234567890123456789012345678901234567890123456789012345678"
	    "9012345@example.com", DKIM_P_VALUE, "i=" },
	{ SIG "; l=abc", DKIM_P_VALUE, "l=" },
	{ SIG "; l=-1", DKIM_P_VALUE, "l=" },
	{ SIG "; l=12345678901234567890123456789012345678901234567890123456"
	    "789012345678901234567", DKIM_P_VALUE, "l=" },
	{ SIG "; t=1234567890123", DKIM_P_VALUE, "t=" },
	{ SIG "; x=soon", DKIM_P_VALUE, "x=" },
	{ SIG "; t=10; x=5", DKIM_P_TIME, "x=" },
	{ SIG "; t=10; x=10", DKIM_P_TIME, "x=" },
	{ SIG "; q=a:b:c:d:e:f:g:h:i", DKIM_P_VALUE, "q=" },
};

static void
test_sig_table(void)
{
	struct dkim_sig	 sig;
	const char	*why;
	enum dkim_perr	 e;
	size_t		 i, n;

	test_begin("DKIM-Signature parser: accepted and refused tag-lists, "
	    "each refusal with its code and reason");
	for (i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		why = "";
		n = strlen(sig_cases[i].in);
		e = dkim_sig_parse(sig_cases[i].in, n, &sig, &why);
		if (e != sig_cases[i].want || (sig_cases[i].why != NULL &&
		    strstr(why, sig_cases[i].why) == NULL)) {
			printf("  case %zu \"%s\": got %d (%s)\n", i,
			    sig_cases[i].in, e, why);
			test_assert(!"signature case");
		}
	}
	test_end();
}

static void
test_sig_nul_byte(void)
{
	static const char	 in[] = SIG "; zz=a\0b";
	struct dkim_sig		 sig;
	const char		*why;

	test_begin("DKIM-Signature parser: a NUL byte inside a value is "
	    "refused");
	test_assert(dkim_sig_parse(in, sizeof(in) - 1, &sig, &why) ==
	    DKIM_P_SYNTAX);
	test_end();
}

static void
test_sig_fields(void)
{
	static const char	 in[] = "v=1; a=ed25519-sha256; c=relaxed; "
	    "b= dGVz\r\n dA== ; " BH " d=Example.COM; s=Sel; "
	    "h=from : To:Subject; i=j=3Boe@Sub.Example.com; l=42; "
	    "t=1000; x=2000";
	struct dkim_sig		 sig;
	const char		*why;

	test_begin("DKIM-Signature parser: the fields of an accepted "
	    "signature, defaults and b= offsets");
	test_assert(dkim_sig_parse(in, sizeof(in) - 1, &sig, &why) ==
	    DKIM_P_OK);
	test_assert(sig.alg == DKIM_ALG_ED25519_SHA256);
	test_assert(sig.hcanon == DKIM_CANON_RELAXED);
	test_assert(sig.bcanon == DKIM_CANON_SIMPLE);
	test_assert_str(sig.domain, "example.com");
	test_assert_str(sig.selector, "sel");
	test_assert_str(sig.identity, "j;oe@sub.example.com");
	test_assert(sig.nhnames == 3);
	test_assert_str(sig.hnames[0], "from");
	test_assert_str(sig.hnames[2], "Subject");
	test_assert(sig.blen == 4 && memcmp(sig.b, "test", 4) == 0);
	test_assert_str(sig.b_prefix, "dGVzdA");
	test_assert(sig.has_l && sig.l == 42);
	test_assert(sig.has_t && sig.t == 1000 && sig.has_x && sig.x == 2000);
	/* "b=" is followed by " dGVz\r\n dA== " up to the ';' */
	test_assert(sig.b_end - sig.b_start == strlen(" dGVz\r\n dA== "));
	test_assert(strncmp(in + sig.b_start, " dGVz", 5) == 0);
	test_assert(in[sig.b_end] == ';');
	test_end();
}

static void
test_sig_defaults(void)
{
	struct dkim_sig	 sig;
	const char	*why;

	test_begin("DKIM-Signature parser: c= defaults to simple/simple, "
	    "i= to @d=, no l= t= x=");
	test_assert(dkim_sig_parse(SIG, strlen(SIG), &sig, &why) == DKIM_P_OK);
	test_assert(sig.hcanon == DKIM_CANON_SIMPLE &&
	    sig.bcanon == DKIM_CANON_SIMPLE);
	test_assert_str(sig.identity, "@example.com");
	test_assert(!sig.has_l && !sig.has_t && !sig.has_x);
	test_end();
}

static void
test_sig_bounds(void)
{
	struct dkim_sig	 sig;
	struct buf	 b;
	const char	*why;
	int		 i;

	test_begin("DKIM-Signature parser: size bounds (tags, h= names, "
	    "name length, field length, DNS name) are refused");
	buf_init(&b, 0);
	(void)buf_addstr(&b, SIG);
	for (i = 0; i < DKIM_TAGS_MAX; i++)
		(void)buf_printf(&b, "; z%d=1", i);
	test_assert(dkim_sig_parse(b.data, b.len, &sig, &why) ==
	    DKIM_P_TOO_LONG);
	buf_reset(&b);
	(void)buf_addstr(&b, VA " d=example.com; s=sel; h=From");
	for (i = 0; i < DKIM_HNAMES_MAX; i++)
		(void)buf_addstr(&b, ":To");
	test_assert(dkim_sig_parse(b.data, b.len, &sig, &why) ==
	    DKIM_P_TOO_LONG);
	buf_reset(&b);
	(void)buf_addstr(&b, VA " d=example.com; s=sel; h=From:X");
	for (i = 0; i < DKIM_HNAME_MAX; i++)
		(void)buf_addc(&b, 'x');
	test_assert(dkim_sig_parse(b.data, b.len, &sig, &why) ==
	    DKIM_P_TOO_LONG);
	buf_reset(&b);
	(void)buf_addstr(&b, SIG "; z=");
	for (i = 0; i < DKIM_SIGFIELD_MAX; i++)
		(void)buf_addc(&b, 'x');
	test_assert(dkim_sig_parse(b.data, b.len, &sig, &why) ==
	    DKIM_P_TOO_LONG);
	buf_reset(&b);
	(void)buf_addstr(&b, VA " h=From; s=");
	for (i = 0; i < 4; i++)
		(void)buf_addstr(&b, "sssssssssssssssssssssssssssssssssssss"
		    "ssssssssssssssssssssssss.");
	(void)buf_addstr(&b, "s; d=example.com");
	test_assert(dkim_sig_parse(b.data, b.len, &sig, &why) ==
	    DKIM_P_TOO_LONG);
	buf_free(&b);
	test_end();
}

static const struct pcase key_cases[] = {
	{ "v=DKIM1; k=ed25519; p=" ED_P, DKIM_P_OK, NULL },
	{ "v=DKIM1; k=rsa; p=" RSA_P, DKIM_P_OK, NULL },
	{ "p=" RSA_P, DKIM_P_OK, NULL },
	{ "p=" RSA_P1, DKIM_P_OK, NULL },
	{ "v=DKIM1; p=", DKIM_P_OK, NULL },
	{ "v=DKIM1; h=sha1:sha256; s=email:tlsrpt; n=a note; p=" ED_P
	    "; k=ed25519; ", DKIM_P_OK, NULL },
	{ "s=*; t=y:x:s; p=" RSA_P, DKIM_P_OK, NULL },
	{ "p=" ED_P "; k=ed25519", DKIM_P_OK, NULL },
	{ "", DKIM_P_SYNTAX, NULL },
	{ "v=DKIM1; p", DKIM_P_SYNTAX, NULL },
	{ "v=DKIM1;; p=", DKIM_P_SYNTAX, NULL },
	{ "v=DKIM2; p=" RSA_P, DKIM_P_VERSION, "DKIM1" },
	{ "v=dkim1; p=" RSA_P, DKIM_P_VERSION, "DKIM1" },
	{ "k=rsa; v=DKIM1; p=" RSA_P, DKIM_P_VERSION, "first" },
	{ "v=DKIM1", DKIM_P_MISSING, "p=" },
	{ "v=DKIM1; k=rsa", DKIM_P_MISSING, "p=" },
	{ "p=; p=", DKIM_P_DUPLICATE, "twice" },
	{ "k=rsa; k=rsa; p=", DKIM_P_DUPLICATE, "twice" },
	{ "k=dsa; p=" RSA_P, DKIM_P_ALGORITHM, "k=" },
	{ "k=RSA; p=" RSA_P, DKIM_P_ALGORITHM, "k=" },
	{ "h=sha1; p=" RSA_P, DKIM_P_ALGORITHM, "sha256" },
	{ "h=sha1:; p=" RSA_P, DKIM_P_VALUE, "h=" },
	{ "s=tlsrpt; p=" RSA_P, DKIM_P_SERVICE, "email" },
	{ "s=; p=" RSA_P, DKIM_P_VALUE, "s=" },
	{ "t=y::s; p=" RSA_P, DKIM_P_VALUE, "t=" },
	{ "p=!!!!", DKIM_P_VALUE, "p=" },
	{ "p=AAAA", DKIM_P_KEY, "p=" },
	{ "k=ed25519; p=" RSA_P, DKIM_P_KEY, "p=" },
	{ "k=rsa; p=" ED_P, DKIM_P_KEY, "p=" },
	{ "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==",
	    DKIM_P_KEY, "p=" },
	{ "p=" RSA_P "AAAA", DKIM_P_KEY, "p=" },
};

static void
test_key_table(void)
{
	struct dkim_key	 k;
	const char	*why;
	enum dkim_perr	 e;
	size_t		 i;

	test_begin("key record parser: accepted and refused records, each "
	    "refusal with its code and reason");
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		why = "";
		e = dkim_key_parse(key_cases[i].in, strlen(key_cases[i].in),
		    &k, &why);
		if (e != key_cases[i].want || (key_cases[i].why != NULL &&
		    strstr(why, key_cases[i].why) == NULL)) {
			printf("  case %zu \"%s\": got %d (%s)\n", i,
			    key_cases[i].in, e, why);
			test_assert(!"key case");
		}
		test_assert(e == DKIM_P_OK || k.pkey == NULL);
		dkim_key_clear(&k);
	}
	test_end();
}

static void
test_key_fields(void)
{
	static const char	 ed[] = "v=DKIM1; k=ed25519; t=y:s; p=" ED_P;
	static const char	 rsa[] = "v=DKIM1; p=" RSA_P;
	static const char	 rev[] = "v=DKIM1; k=ed25519; p=";
	struct dkim_key		 k;
	const char		*why;

	test_begin("key record parser: type, flags, size and revocation");
	test_assert(dkim_key_parse(ed, strlen(ed), &k, &why) == DKIM_P_OK);
	test_assert(k.type == DKIM_KEY_ED25519 && k.testing && k.strict &&
	    !k.revoked && k.pkey != NULL);
	dkim_key_clear(&k);
	test_assert(dkim_key_parse(rsa, strlen(rsa), &k, &why) == DKIM_P_OK);
	test_assert(k.type == DKIM_KEY_RSA && k.bits == 1024 && !k.testing &&
	    !k.strict);
	dkim_key_clear(&k);
	test_assert(dkim_key_parse(rev, strlen(rev), &k, &why) == DKIM_P_OK);
	test_assert(k.revoked && k.pkey == NULL);
	dkim_key_clear(&k);
	test_end();
}

/* A record for a freshly made RSA key of the given size. */
static void
rsa_record(unsigned int bits, struct buf *out)
{
	EVP_PKEY	*pk = EVP_RSA_gen(bits);
	unsigned char	*der = NULL;
	int		 n = i2d_PUBKEY(pk, &der);

	(void)buf_addstr(out, "v=DKIM1; k=rsa; p=");
	(void)base64_encode(der, (size_t)n, out);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

static void
test_key_short_rsa(void)
{
	struct dkim_key	 k;
	struct buf	 b;
	const char	*why = "";

	test_begin("key record parser: an RSA key under 1024 bits is refused "
	    "(RFC 8301)");
	buf_init(&b, 0);
	rsa_record(512, &b);
	test_assert(dkim_key_parse(b.data, b.len, &k, &why) ==
	    DKIM_P_KEY_SHORT);
	test_assert(strstr(why, "1024") != NULL && k.pkey == NULL);
	buf_free(&b);
	test_end();
}

static void
test_key_too_long(void)
{
	struct dkim_key	 k;
	struct buf	 b;
	const char	*why;
	int		 i;

	test_begin("key record parser: a record over the size bound is "
	    "refused");
	buf_init(&b, 0);
	(void)buf_addstr(&b, "p=" RSA_P "; n=");
	for (i = 0; i < DKIM_KEYREC_MAX; i++)
		(void)buf_addc(&b, 'n');
	test_assert(dkim_key_parse(b.data, b.len, &k, &why) ==
	    DKIM_P_TOO_LONG);
	buf_free(&b);
	test_end();
}

static const struct {
	const char	*in;
	int		 r;
	const char	*out;
} b64cases[] = {
	{ " dG\r\n\tVz dA == ", BASE64_OK, "test" },
	{ "dGVzdDE=", BASE64_OK, "test1" },
	{ "", BASE64_OK, "" },
	{ "dGVzdA", BASE64_ERR_BAD, NULL },
	{ "dGVzdA===", BASE64_ERR_BAD, NULL },
	{ "dGVz=dA=", BASE64_ERR_BAD, NULL },
	{ "dGVzdGluZzEy", BASE64_ERR_LONG, NULL },
	{ "dGVz-A==", BASE64_ERR_BAD, NULL },
};

static void
test_b64(void)
{
	uint8_t	 out[8];
	size_t	 i, n;

	test_begin("base64 as DKIM writes it: folding ignored, padding "
	    "strict, output bounded");
	for (i = 0; i < sizeof(b64cases) / sizeof(b64cases[0]); i++) {
		test_assert(base64_decode(b64cases[i].in,
		    strlen(b64cases[i].in), out, sizeof(out), &n,
		    BASE64_WSP) == b64cases[i].r);
		if (b64cases[i].out != NULL)
			test_assert(n == strlen(b64cases[i].out) &&
			    memcmp(out, b64cases[i].out, n) == 0);
	}
	test_end();
}

static void
test_domain_within(void)
{
	test_begin("i= domain within d=: equal or a subdomain, ignoring "
	    "case, never a suffix of a label");
	test_assert(dkim_domain_within("example.com", "EXAMPLE.com"));
	test_assert(dkim_domain_within("a.b.example.com", "example.com"));
	test_assert(!dkim_domain_within("notexample.com", "example.com"));
	test_assert(!dkim_domain_within("example.com", "a.example.com"));
	test_assert(!dkim_domain_within("com", "example.com"));
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_sig_table,
		test_sig_nul_byte,
		test_sig_fields,
		test_sig_defaults,
		test_sig_bounds,
		test_key_table,
		test_key_fields,
		test_key_short_rsa,
		test_key_too_long,
		test_b64,
		test_domain_within,
		NULL
	};

	return test_run(tests);
}
