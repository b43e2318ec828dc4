/*
 * test-verdict.c - smtpd/verdict.c: the settings, the policy on a table
 * of facts (soft and hardline, DMARC, each requirement) and the
 * Authentication-Results field with hostile values in it.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "test.h"
#include "verdict.h"

static struct dkim_result
res(enum dkim_status st, const char *d)
{
	struct dkim_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	r.reason = "";
	(void)snprintf(r.domain, sizeof(r.domain), "%s", d);
	(void)snprintf(r.selector, sizeof(r.selector), "sel");
	(void)snprintf(r.identity, sizeof(r.identity), "@%s", d);
	r.alg = DKIM_ALG_RSA_SHA256;
	return r;
}

static void
test_policy_settings(void)
{
	struct verdict_policy	 p;
	char			 err[256];

	test_begin("the verdict settings: defaults, words, and what is "
	    "refused");
	test_assert(verdict_policy_parse(NULL, NULL, NULL, &p, err,
	    sizeof(err)) == 0);
	test_assert(!p.hardline && !p.dmarc_refuse && p.require == 0);
	test_assert(verdict_policy_parse("hardline", "tls, spf registry",
	    "refuse", &p, err, sizeof(err)) == 0);
	test_assert(p.hardline && p.dmarc_refuse &&
	    p.require == (VR_TLS | VR_SPF | VR_REGISTRY));
	test_assert(verdict_policy_parse("strict", NULL, NULL, &p, err,
	    sizeof(err)) == -1);
	test_assert(strstr(err, "verdict_mode") != NULL);
	test_assert(verdict_policy_parse(NULL, "tls dnssec", NULL, &p, err,
	    sizeof(err)) == -1);
	test_assert(strstr(err, "\"dnssec\"") != NULL);
	test_assert(verdict_policy_parse(NULL, NULL, "bounce", &p, err,
	    sizeof(err)) == -1);
	test_end();
}

static void
test_aligned(void)
{
	struct verdict_facts	 f;
	struct dkim_result	 r[3];

	test_begin("an aligned pass: d= the From domain or a parent, not a "
	    "testing key");
	memset(&f, 0, sizeof(f));
	f.dkim = r;
	snprintf(f.from, sizeof(f.from), "a@example.org");
	r[0] = res(DKIM_PASS, "example.org");
	f.ndkim = 1;
	test_assert(verdict_dkim_aligned(&f));
	snprintf(f.from, sizeof(f.from), "a@sub.example.org");
	test_assert(verdict_dkim_aligned(&f));
	snprintf(f.from, sizeof(f.from), "a@badexample.org");
	test_assert(!verdict_dkim_aligned(&f));
	snprintf(f.from, sizeof(f.from), "a@example.org");
	r[0] = res(DKIM_PASS, "other.example");
	r[1] = res(DKIM_FAIL, "example.org");
	r[2] = res(DKIM_POLICY, "example.org");
	f.ndkim = 3;
	test_assert(!verdict_dkim_aligned(&f));
	r[2] = res(DKIM_PASS, "example.org");
	test_assert(verdict_dkim_aligned(&f));
	r[2].testing = 1;
	test_assert(!verdict_dkim_aligned(&f));
	f.from[0] = '\0';
	r[2].testing = 0;
	test_assert(!verdict_dkim_aligned(&f));
	test_end();
}

enum { ALIGNED = 1, DMARC_FAIL_NONE = 2, DMARC_FAIL_REJECT = 4, TLS = 8,
    SPFPASS = 16, REG = 32, CB = 64, NOFROM = 128 };

static const struct {
	const char	*name;
	int		 facts;
	const char	*mode, *require, *dmarc;
	enum verdict_class want;
	const char	*why;
} cases[] = {
	{ "aligned pass", ALIGNED, NULL, NULL, NULL, VERDICT_SAFE, "" },
	{ "no signature", 0, NULL, NULL, NULL, VERDICT_UNSAFE,
	    "no valid DKIM signature" },
	{ "no From", NOFROM, NULL, NULL, NULL, VERDICT_UNSAFE,
	    "no single From" },
	{ "no signature, hardline", 0, "hardline", NULL, NULL,
	    VERDICT_REFUSE, "no valid DKIM" },
	{ "aligned, hardline", ALIGNED, "hardline", NULL, NULL, VERDICT_SAFE,
	    "" },
	{ "aligned but DMARC fails", ALIGNED | DMARC_FAIL_NONE, NULL, NULL,
	    NULL, VERDICT_UNSAFE, "DMARC fail" },
	{ "p=reject, default", DMARC_FAIL_REJECT, NULL, NULL, NULL,
	    VERDICT_UNSAFE, "DMARC fail (p=reject)" },
	{ "p=reject, refuse", DMARC_FAIL_REJECT, NULL, NULL, "refuse",
	    VERDICT_REFUSE, "p=reject" },
	{ "p=none fail, refuse", DMARC_FAIL_NONE, NULL, NULL, "refuse",
	    VERDICT_UNSAFE, "DMARC fail" },
	{ "p=reject, hardline", DMARC_FAIL_REJECT, "hardline", NULL, NULL,
	    VERDICT_REFUSE, "p=reject" },
	{ "tls required, plain", ALIGNED, NULL, "tls", NULL, VERDICT_UNSAFE,
	    "not sent over TLS" },
	{ "tls required, tls", ALIGNED | TLS, NULL, "tls", NULL, VERDICT_SAFE,
	    "" },
	{ "spf required", ALIGNED, NULL, "spf", NULL, VERDICT_UNSAFE,
	    "SPF did not pass" },
	{ "spf required, pass", ALIGNED | SPFPASS, NULL, "spf", NULL,
	    VERDICT_SAFE, "" },
	{ "registry required", ALIGNED | CB, NULL, "registry", NULL,
	    VERDICT_UNSAFE, "not a registered transmitter" },
	{ "callback required", ALIGNED | REG, NULL, "callback", NULL,
	    VERDICT_UNSAFE, "did not confirm" },
	{ "all required, all there", ALIGNED | TLS | SPFPASS | REG | CB,
	    "hardline", "tls spf registry callback", NULL, VERDICT_SAFE, "" },
	{ "registry alone is not enough", REG | CB | TLS | SPFPASS, NULL,
	    NULL, NULL, VERDICT_UNSAFE, "no valid DKIM" },
};

static void
test_decide_table(void)
{
	struct verdict_policy	 p;
	struct verdict_facts	 f;
	struct dmarc_outcome	 d;
	struct dkim_result	 r;
	struct buf		 why;
	char			 err[128];
	size_t			 i;
	int			 ok;

	test_begin("the verdict on a table of facts and settings");
	buf_init(&why, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		memset(&d, 0, sizeof(d));
		f.mail_from = "a@example.org";
		f.helo = "mx.example.org";
		if (!(cases[i].facts & NOFROM))
			snprintf(f.from, sizeof(f.from), "a@example.org");
		r = res(DKIM_PASS, (cases[i].facts & ALIGNED) ? "example.org" :
		    "elsewhere.example");
		f.dkim = &r;
		f.ndkim = 1;
		if (cases[i].facts & (DMARC_FAIL_NONE | DMARC_FAIL_REJECT)) {
			d.result = DMARC_FAIL;
			d.policy = d.disposition = (cases[i].facts &
			    DMARC_FAIL_REJECT) ? DMARC_P_REJECT : DMARC_P_NONE;
			f.dmarc = &d;
		}
		f.tls.on = (cases[i].facts & TLS) != 0;
		f.spf_mailfrom = (cases[i].facts & SPFPASS) ? SPF_PASS :
		    SPF_NEUTRAL;
		f.spf_mailfrom_done = 1;
		f.registry = (cases[i].facts & REG) ? VC_PASS : VC_NONE;
		f.callback = (cases[i].facts & CB) ? VC_PASS : VC_FAIL;
		test_assert(verdict_policy_parse(cases[i].mode,
		    cases[i].require, cases[i].dmarc, &p, err,
		    sizeof(err)) == 0);
		buf_reset(&why);
		ok = verdict_decide(&p, &f, &why) == cases[i].want &&
		    (cases[i].why[0] == '\0' ? why.len == 0 :
		    strstr(buf_cstr(&why), cases[i].why) != NULL);
		if (!ok)
			printf("  case \"%s\": why \"%s\"\n", cases[i].name,
			    buf_cstr(&why));
		test_assert(ok);
	}
	buf_free(&why);
	test_end();
}

static void
test_authres_field(void)
{
	struct verdict_facts	 f;
	struct dmarc_outcome	 d;
	struct dkim_result	 r;
	struct buf		 b;
	const char		*s;

	test_begin("Authentication-Results carries every fact; hostile "
	    "values are quoted");
	memset(&f, 0, sizeof(f));
	memset(&d, 0, sizeof(d));
	snprintf(f.from, sizeof(f.from), "a@example.org");
	r = res(DKIM_PASS, "example.org");
	f.dkim = &r;
	f.ndkim = 1;
	f.mail_from = "\"x;dmarc=pass\"@evil.example";
	f.helo = "evil;dkim=pass";
	f.spf_mailfrom = SPF_FAIL;
	f.spf_mailfrom_done = 1;
	f.spf_helo = SPF_NONE;
	f.spf_helo_done = 1;
	d.result = DMARC_PASS;
	d.policy = DMARC_P_REJECT;
	d.disposition = DMARC_P_NONE;
	f.dmarc = &d;
	f.tls.on = 1;
	snprintf(f.tls.version, sizeof(f.tls.version), "TLSv1.3");
	snprintf(f.tls.cipher, sizeof(f.tls.cipher), "TLS_AES_256_GCM_SHA384");
	f.registry = VC_PASS;
	f.registry_name = "isp-a.test";
	f.callback = VC_FAIL;
	buf_init(&b, 0);
	verdict_authres("mx.example.test", &f, &b);
	s = buf_cstr(&b);
	test_assert(strncmp(s, "Authentication-Results: mx.example.test;\r\n\t"
	    "dkim=pass", 52) == 0);
	test_assert(strstr(s, ";\r\n\tspf=fail smtp.mailfrom="
	    "\"\\\"x;dmarc=pass\\\"@evil.example\"") != NULL);
	test_assert(strstr(s, ";\r\n\tspf=none smtp.helo=\"evil;dkim=pass\"")
	    != NULL);
	test_assert(strstr(s, ";\r\n\tdmarc=pass (p=reject dis=none) "
	    "header.from=example.org") != NULL);
	test_assert(strstr(s, ";\r\n\tx-tls=pass policy.version=TLSv1.3 "
	    "policy.cipher=TLS_AES_256_GCM_SHA384") != NULL);
	test_assert(strstr(s, ";\r\n\tx-registry=pass "
	    "policy.registry=isp-a.test") != NULL);
	test_assert(strstr(s, ";\r\n\tx-callback=fail") != NULL);
	test_assert(b.len > 2 && strcmp(s + b.len - 2, "\r\n") == 0);
	test_assert(strstr(s, "\r\n\r\n") == NULL);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_policy_settings,
		test_aligned,
		test_decide_table,
		test_authres_field,
		NULL
	};

	return test_run(tests);
}
