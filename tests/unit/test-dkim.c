/*
 * test-dkim.c - verification (common/dkim_verify.c): the published
 * examples of RFC 8463 and RFC 6376, and every result a receiver must be
 * able to tell apart: pass, fail (tampered body, added header, expired),
 * policy (l= not covering the body, testing key), temperror and permerror
 * (no key, revoked, weak, malformed), with the limits on signatures and
 * header size, and the streamed input cut anywhere.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "test.h"
#include "dkim-testutil.h"
#include "dkim-vectors.h"

static EVP_PKEY	*rsa2048, *rsa512, *ed;
static char	 rsa_rec[2048], rsa512_rec[2048], ed_rec[256];

static const char plain[] =
	"From: Alice <alice@example.test>\r\n"
	"To: bob@example.net\r\n"
	"Subject: lunch\r\n"
	"Date: Mon, 13 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <1@example.test>\r\n"
	"\r\n"
	"Noon at the usual place?\r\n"
	"\r\n"
	"Alice\r\n";

static const char *const from_to_subject[] = { "From", "To", "Subject",
	NULL };
static const char *const from_only[] = { "From", NULL };

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
keys_default(void)
{
	keys_reset();
	keys_add("rsa._domainkey.example.test", rsa_rec);
	keys_add("ed._domainkey.example.test", ed_rec);
}

static void
sign_plain(EVP_PKEY *pk, const char *sel, const char *msg, struct buf *out)
{
	struct dkim_sign_params	 p;

	dkim_sign_params_init(&p);
	p.domain = "example.test";
	p.selector = sel;
	p.alg = dkim_pkey_alg(pk);
	p.t = TNOW - 60;
	(void)sign_with(pk, &p, msg, out);
}

static void
test_rfc8463_example(void)
{
	struct dkim_result	 r[8];
	size_t			 step;
	int			 bad = 0;

	test_begin("RFC 8463 appendix A: the Ed25519 and the RSA signature "
	    "of the example both pass with the published keys");
	keys_reset();
	keys_add(RFC8463_ED_NAME, RFC8463_ED_REC);
	keys_add(RFC8463_RSA_NAME, RFC8463_RSA_REC);
	for (step = 1; step <= 4096; step = step * 2 + 1) {
		bad |= verify_all(RFC8463_MSG, strlen(RFC8463_MSG), step, r) !=
		    2 || r[0].status != DKIM_PASS || r[1].status != DKIM_PASS;
	}
	test_assert(!bad);
	test_assert(r[0].alg == DKIM_ALG_ED25519_SHA256);
	test_assert_str(r[0].selector, "brisbane");
	test_assert(r[1].alg == DKIM_ALG_RSA_SHA256);
	test_assert_str(r[1].domain, "football.example.com");
	test_end();
}

static void
test_rfc8463_tampered(void)
{
	struct dkim_result	 r[8];
	char			 m[sizeof(RFC8463_MSG)];

	test_begin("RFC 8463 example changed: body -> body hash mismatch, "
	    "Subject -> signature mismatch, under both algorithms");
	keys_reset();
	keys_add(RFC8463_ED_NAME, RFC8463_ED_REC);
	keys_add(RFC8463_RSA_NAME, RFC8463_RSA_REC);
	memcpy(m, RFC8463_MSG, sizeof(m));
	memcpy(strstr(m, "hungry"), "angry!", 6);
	test_assert(verify_all(m, strlen(m), 4096, r) == 2);
	test_assert(r[0].status == DKIM_FAIL && r[1].status == DKIM_FAIL);
	test_assert_str(r[0].reason, "body hash mismatch");
	test_assert_str(r[1].reason, "body hash mismatch");
	memcpy(m, RFC8463_MSG, sizeof(m));
	memcpy(strstr(m, "dinner"), "supper", 6);
	test_assert(verify_all(m, strlen(m), 4096, r) == 2);
	test_assert_str(r[0].reason, "signature mismatch");
	test_assert_str(r[1].reason, "signature mismatch");
	test_end();
}

static void
test_rfc6376_example(void)
{
	struct dkim_result	 r;

	test_begin("RFC 6376 appendix A.2: passes with the appendix C key "
	    "when the body has one space after \"game.\", fails on the body "
	    "hash with two");
	keys_reset();
	keys_add(RFC6376_NAME, RFC6376_REC);
	test_assert(verify_one(RFC6376_HEADER RFC6376_BODY_ONE_SPACE, &r) ==
	    DKIM_PASS);
	test_assert_str(r.identity, "joe@football.example.com");
	test_assert(verify_one(RFC6376_HEADER RFC6376_BODY_TWO_SPACES, &r) ==
	    DKIM_FAIL);
	test_assert_str(r.reason, "body hash mismatch");
	test_end();
}

static void
test_tampered_body(void)
{
	struct dkim_result	 r;
	struct buf		 s;
	char			*p;

	test_begin("a body changed after signing fails: body hash mismatch");
	keys_default();
	buf_init(&s, 0);
	sign_plain(rsa2048, "rsa", plain, &s);
	test_assert(verify_one(s.data, NULL) == DKIM_PASS);
	p = strstr(s.data, "Noon");
	*p = 'M';
	test_assert(verify_one(s.data, &r) == DKIM_FAIL);
	test_assert_str(r.reason, "body hash mismatch");
	buf_free(&s);
	test_end();
}

/* msg with a field added on top; the verdict on it. */
static enum dkim_status
with_field(const char *signed_msg, const char *field, struct dkim_result *r)
{
	struct buf		 m;
	enum dkim_status	 st;

	buf_init(&m, 0);
	(void)buf_addstr(&m, field);
	(void)buf_addstr(&m, signed_msg);
	st = verify_one(m.data, r);
	buf_free(&m);
	return st;
}

static void
test_added_headers(void)
{
	struct dkim_result	 r;
	struct buf		 s;

	test_begin("oversigning: an added From, Subject or Cc fails the "
	    "signature, an added unsigned field does not");
	keys_default();
	buf_init(&s, 0);
	sign_plain(ed, "ed", plain, &s);
	test_assert(with_field(s.data, "From: mallory@evil.example\r\n", &r) ==
	    DKIM_FAIL);
	test_assert_str(r.reason, "signature mismatch");
	test_assert(with_field(s.data, "Subject: pay me\r\n", &r) == DKIM_FAIL);
	test_assert(with_field(s.data, "Cc: eve@evil.example\r\n", &r) ==
	    DKIM_FAIL);
	test_assert(with_field(s.data, "Received: from x by y\r\n", &r) ==
	    DKIM_PASS);
	buf_free(&s);
	test_end();
}

static void
test_key_results(void)
{
	struct dkim_result	 r;
	struct buf		 s, e;

	test_begin("keys: absent -> permerror, lookup failure -> temperror, "
	    "revoked, wrong type, sha1 only -> permerror");
	buf_init(&s, 0);
	buf_init(&e, 0);
	sign_plain(rsa2048, "rsa", plain, &s);
	sign_plain(ed, "ed", plain, &e);
	keys_reset();
	test_assert(verify_one(s.data, &r) == DKIM_PERMERROR);
	test_assert_str(r.reason, "no key for signature");
	keys_add("rsa._domainkey.example.test", "TEMPFAIL");
	test_assert(verify_one(s.data, &r) == DKIM_TEMPERROR);
	keys_reset();
	keys_add("rsa._domainkey.example.test", "v=DKIM1; k=rsa; p=");
	test_assert(verify_one(s.data, &r) == DKIM_PERMERROR);
	test_assert_str(r.reason, "key revoked");
	keys_reset();
	keys_add("ed._domainkey.example.test", rsa_rec);
	test_assert(verify_one(e.data, &r) == DKIM_PERMERROR);
	test_assert_str(r.reason, "key type does not match a=");
	keys_reset();
	keys_add("ed._domainkey.example.test", "v=DKIM1; h=sha1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	test_assert(verify_one(e.data, &r) == DKIM_PERMERROR);
	buf_free(&s);
	buf_free(&e);
	test_end();
}

static void
test_short_rsa_key(void)
{
	struct dkim_result	 r;
	struct buf		 s;

	test_begin("a signature made with a 512-bit RSA key is a permerror, "
	    "however good (RFC 8301)");
	buf_init(&s, 0);
	hand_sign(rsa512, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.test; s=weak; h=From:To:Subject", from_to_subject,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, UINT64_MAX, plain, &s);
	keys_reset();
	keys_add("weak._domainkey.example.test", rsa512_rec);
	test_assert(verify_one(s.data, &r) == DKIM_PERMERROR);
	test_assert(strstr(r.reason, "1024") != NULL);
	buf_free(&s);
	test_end();
}

static void
test_key_flags(void)
{
	struct dkim_result	 r;
	struct buf		 s, rec;

	test_begin("key t=s refuses an i= below d=; t=y turns a good "
	    "signature into policy (treat as unsigned)");
	buf_init(&s, 0);
	buf_init(&rec, 0);
	hand_sign(ed, "v=1; a=ed25519-sha256; c=relaxed/relaxed; "
	    "d=example.test; i=alice@mail.example.test; s=ed; h=From",
	    from_only, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    UINT64_MAX, plain, &s);
	keys_default();
	test_assert(verify_one(s.data, NULL) == DKIM_PASS);
	(void)buf_printf(&rec, "%s; t=s", ed_rec);
	keys_reset();
	keys_add("ed._domainkey.example.test", rec.data);
	test_assert(verify_one(s.data, &r) == DKIM_PERMERROR);
	test_assert(strstr(r.reason, "t=s") != NULL);
	buf_reset(&rec);
	(void)buf_printf(&rec, "%s; t=y", ed_rec);
	keys_reset();
	keys_add("ed._domainkey.example.test", rec.data);
	test_assert(verify_one(s.data, &r) == DKIM_POLICY);
	test_assert(r.testing && strstr(r.reason, "testing") != NULL);
	buf_free(&s);
	buf_free(&rec);
	test_end();
}

static void
test_body_length(void)
{
	struct dkim_result	 r;
	struct buf		 s, more;
	const char		*body = strstr(plain, "\r\n\r\n") + 4;
	const char		*spam = "Buy now at http://evil.example/\r\n";
	char			 tags[200];

	test_begin("l=: covering the whole body passes; content appended "
	    "after l= is policy, never pass; l= beyond the body fails");
	keys_default();
	buf_init(&s, 0);
	(void)snprintf(tags, sizeof(tags), "v=1; a=rsa-sha256; "
	    "c=simple/simple; d=example.test; s=rsa; l=%zu; "
	    "h=From:To:Subject", strlen(body));
	hand_sign(rsa2048, tags, from_to_subject, DKIM_CANON_SIMPLE,
	    DKIM_CANON_SIMPLE, strlen(body), plain, &s);
	test_assert(verify_one(s.data, NULL) == DKIM_PASS);
	buf_init(&more, 0);
	(void)buf_printf(&more, "%s%s", s.data, spam);
	test_assert(verify_one(more.data, &r) == DKIM_POLICY);
	test_assert(strstr(r.reason, "l=") != NULL);
	(void)snprintf(tags, sizeof(tags), "l=%zu of %zu body bytes",
	    strlen(body), strlen(body) + strlen(spam));
	test_assert_str(r.detail, tags);
	buf_reset(&s);
	hand_sign(rsa2048, "v=1; a=rsa-sha256; d=example.test; s=rsa; "
	    "l=1000; h=From", from_only, DKIM_CANON_SIMPLE,
	    DKIM_CANON_SIMPLE, 1000, plain, &s);
	test_assert(verify_one(s.data, &r) == DKIM_FAIL);
	test_assert_str(r.reason, "l= is longer than the body");
	buf_free(&s);
	buf_free(&more);
	test_end();
}

static void
test_times(void)
{
	struct dkim_result	 r;
	struct buf		 s;
	char			 tags[200];
	const struct {
		long long	 t, x;
		enum dkim_status want;
	} c[] = {
		{ TNOW - 100, TNOW - 1000 + 2000, DKIM_PASS },
		{ TNOW - 1000, TNOW - 400, DKIM_FAIL },		/* expired */
		{ TNOW - 1000, TNOW - 100, DKIM_PASS },		/* in skew */
		{ TNOW + 100, 0, DKIM_PASS },			/* in skew */
		{ TNOW + 4000, 0, DKIM_PERMERROR },		/* future */
		{ TNOW - 10, TNOW - 20, DKIM_PERMERROR },	/* x < t */
	};
	size_t			 i;

	test_begin("t= and x=: expired fails, t= in the future or x= before "
	    "t= is a permerror, five minutes of skew either way");
	keys_default();
	buf_init(&s, 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_reset(&s);
		(void)snprintf(tags, sizeof(tags), "v=1; a=ed25519-sha256; "
		    "d=example.test; s=ed; h=From; t=%lld%s%.0lld", c[i].t,
		    c[i].x ? "; x=" : "", c[i].x);
		hand_sign(ed, tags, from_only, DKIM_CANON_SIMPLE,
		    DKIM_CANON_SIMPLE, UINT64_MAX, plain, &s);
		if (verify_one(s.data, &r) != c[i].want) {
			printf("  case %zu: %s (%s)\n", i,
			    dkim_status_name(r.status), r.reason);
			test_assert(!"time case");
		}
	}
	buf_free(&s);
	test_end();
}

static void
test_malformed_beside_good(void)
{
	struct dkim_result	 r[8];
	struct buf		 s, m;

	test_begin("a malformed signature (rsa-sha1) is a permerror with its "
	    "reason and does not spoil a good one beside it");
	keys_default();
	buf_init(&s, 0);
	buf_init(&m, 0);
	sign_plain(ed, "ed", plain, &s);
	(void)buf_addstr(&m, "DKIM-Signature: v=1; a=rsa-sha1; d=example.test;"
	    " s=rsa; h=From; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
	    " b=dGVzdA==\r\n");
	(void)buf_addstr(&m, s.data);
	test_assert(verify_all(m.data, m.len, 4096, r) == 2);
	test_assert(r[0].status == DKIM_PERMERROR);
	test_assert(strstr(r[0].reason, "RFC 8301") != NULL);
	test_assert(r[1].status == DKIM_PASS);
	buf_free(&s);
	buf_free(&m);
	test_end();
}

static void
test_signature_limit(void)
{
	struct dkim_verify	*v;
	struct buf		 s, t;
	int			 i;

	test_begin("at most five signatures are verified, the others "
	    "counted as ignored");
	keys_default();
	buf_init(&s, 0);
	buf_init(&t, 0);
	(void)buf_addstr(&s, plain);
	for (i = 0; i < 7; i++) {
		buf_reset(&t);
		sign_plain(ed, "ed", s.data, &t);
		buf_reset(&s);
		(void)buf_add(&s, t.data, t.len);
	}
	v = dkim_verify_new(NULL);
	(void)dkim_verify_feed(v, s.data, s.len);
	test_assert(dkim_verify_finish(v, tkey_cb, NULL) == 5);
	test_assert(dkim_verify_ignored(v) == 2);
	test_assert(dkim_verify_result(v, 4)->status == DKIM_PASS);
	test_assert(dkim_verify_result(v, 5) == NULL);
	dkim_verify_free(v);
	buf_free(&s);
	buf_free(&t);
	test_end();
}

static void
test_header_limit(void)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	struct buf		 s;

	test_begin("a header over the verifier's limit gives one permerror, "
	    "no crash, no pass");
	keys_default();
	buf_init(&s, 0);
	sign_plain(ed, "ed", plain, &s);
	memset(&o, 0, sizeof(o));
	o.max_header = 200;
	o.now = TNOW;
	v = dkim_verify_new(&o);
	test_assert(dkim_verify_feed(v, s.data, s.len) == -1);
	test_assert(dkim_verify_finish(v, tkey_cb, NULL) == 1);
	test_assert(dkim_verify_result(v, 0)->status == DKIM_PERMERROR);
	dkim_verify_free(v);
	buf_free(&s);
	test_end();
}

static void
test_every_split(void)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	struct buf		 s, t;
	size_t			 i;
	int			 bad = 0;

	test_begin("verification gives the same results for every split of "
	    "the message into two chunks (relaxed and simple signatures)");
	keys_default();
	buf_init(&s, 0);
	buf_init(&t, 0);
	sign_plain(ed, "ed", plain, &t);
	hand_sign(rsa2048, "v=1; a=rsa-sha256; d=example.test; s=rsa; "
	    "h=From:To:Subject", from_to_subject, DKIM_CANON_SIMPLE,
	    DKIM_CANON_SIMPLE, UINT64_MAX, t.data, &s);
	memset(&o, 0, sizeof(o));
	o.now = TNOW;
	for (i = 0; i <= s.len; i++) {
		v = dkim_verify_new(&o);
		(void)dkim_verify_feed(v, s.data, i);
		(void)dkim_verify_feed(v, s.data + i, s.len - i);
		bad |= dkim_verify_finish(v, tkey_cb, NULL) != 2 ||
		    dkim_verify_result(v, 0)->status != DKIM_PASS ||
		    dkim_verify_result(v, 1)->status != DKIM_PASS;
		dkim_verify_free(v);
	}
	test_assert(!bad);
	buf_free(&s);
	buf_free(&t);
	test_end();
}

static void
test_keys_set_by_caller(void)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	struct buf		 s;
	const char		*d, *sel;
	size_t			 cut;

	test_begin("keys handed over once the header is read (no callback); "
	    "a key never given is a temperror");
	buf_init(&s, 0);
	sign_plain(ed, "ed", plain, &s);
	memset(&o, 0, sizeof(o));
	o.now = TNOW;
	v = dkim_verify_new(&o);
	cut = strstr(s.data, "\r\n\r\n") + 4 - s.data;
	(void)dkim_verify_feed(v, s.data, cut - 1);
	test_assert(!dkim_verify_header_done(v));
	(void)dkim_verify_feed(v, s.data + cut - 1, 1);
	test_assert(dkim_verify_header_done(v) && dkim_verify_nsigs(v) == 1);
	test_assert(dkim_verify_query(v, 0, &d, &sel) == 0);
	test_assert_str(d, "example.test");
	test_assert_str(sel, "ed");
	dkim_verify_set_key(v, 0, DKIM_KEYQ_FOUND, ed_rec, strlen(ed_rec));
	(void)dkim_verify_feed(v, s.data + cut, s.len - cut);
	test_assert(dkim_verify_finish(v, NULL, NULL) == 1);
	test_assert(dkim_verify_result(v, 0)->status == DKIM_PASS);
	dkim_verify_free(v);
	v = dkim_verify_new(&o);
	(void)dkim_verify_feed(v, s.data, s.len);
	(void)dkim_verify_finish(v, NULL, NULL);
	test_assert(dkim_verify_result(v, 0)->status == DKIM_TEMPERROR);
	dkim_verify_free(v);
	buf_free(&s);
	test_end();
}

static void
test_no_signature_and_format(void)
{
	struct dkim_result	 r;
	struct dkim_verify	*v;
	struct buf		 s, f;

	test_begin("no DKIM-Signature gives no result; a result formats as "
	    "an Authentication-Results clause");
	v = dkim_verify_new(NULL);
	(void)dkim_verify_feed(v, plain, strlen(plain));
	test_assert(dkim_verify_finish(v, tkey_cb, NULL) == 0);
	dkim_verify_free(v);
	keys_default();
	buf_init(&s, 0);
	buf_init(&f, 0);
	sign_plain(ed, "ed", plain, &s);
	test_assert(verify_one(s.data, &r) == DKIM_PASS);
	dkim_result_format(&r, &f);
	test_assert(starts(f.data, "dkim=pass header.d=example.test "
	    "header.i=@example.test header.s=ed header.a=ed25519-sha256 "
	    "header.b="));
	test_assert(strlen(strstr(f.data, "header.b=")) == 9 + 8);
	buf_reset(&f);
	keys_reset();
	(void)verify_one(s.data, &r);
	dkim_result_format(&r, &f);
	test_assert(starts(f.data, "dkim=permerror (no key for signature) "
	    "header.d=example.test "));
	buf_free(&s);
	buf_free(&f);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_rfc8463_example,
		test_rfc8463_tampered,
		test_rfc6376_example,
		test_tampered_body,
		test_added_headers,
		test_key_results,
		test_short_rsa_key,
		test_key_flags,
		test_body_length,
		test_times,
		test_malformed_beside_good,
		test_signature_limit,
		test_header_limit,
		test_every_split,
		test_keys_set_by_caller,
		test_no_signature_and_format,
		NULL
	};

	rsa2048 = EVP_RSA_gen(2048);
	rsa512 = EVP_RSA_gen(512);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	key_record(rsa2048, rsa_rec, sizeof(rsa_rec));
	key_record(rsa512, rsa512_rec, sizeof(rsa512_rec));
	key_record(ed, ed_rec, sizeof(ed_rec));
	return test_run(tests);
}
