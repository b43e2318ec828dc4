/*
 * test-dmarc.c - unit tests of common/dmarc*.c: the organizational
 * domain from a Public Suffix List fixture (plain, wildcard and
 * exception rules), the record parser (good and bad records, RFC 7489
 * 6.6.3 fallbacks), identifier alignment and the policy to apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmarc.h"
#include "test.h"

/* A list in the format of public_suffix_list.dat. */
static const char psl_text[] =
    "// fixture in the publicsuffix.org format\n"
    "\n"
    "com\n"
    "org\n"
    "uk\n"
    "co.uk\n"
    "// wildcard and exceptions, as in the real list\n"
    "ck\n"
    "*.ck\n"
    "!www.ck\n"
    "jp\n"
    "*.kawasaki.jp\n"
    "!city.kawasaki.jp\n"
    "Blogspot.COM\t// trailing text is ignored\n"
    "cn\n"
    "// IDN rules are in UTF-8: kept as A-labels\n"
    "\xe5\x85\xac\xe5\x8f\xb8.cn\n"		/* xn--55qx5d.cn */
    "*.k\xc3\xb6ln\n"			/* *.xn--kln-sna */
    /* xn--mxtq1m.xn--fiqs8s */
    "\xe6\x94\xbf\xe5\xba\x9c.\xe4\xb8\xad\xe5\x9b\xbd\n"
    "bad\xc3.example\n";			/* not UTF-8: left out */

static struct dmarc_psl *
psl_fixture(void)
{
	char	 path[] = "/tmp/test-dmarc-psl.XXXXXX";
	struct dmarc_psl *psl;
	FILE	*f;
	int	 fd;

	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		abort();
	fputs(psl_text, f);
	fclose(f);
	psl = dmarc_psl_load(path);
	unlink(path);
	if (psl == NULL)
		abort();
	return (psl);
}

static const struct {
	const char	*name, *org;
} orgs[] = {
	{ "example.com", "example.com" },
	{ "mail.example.com", "example.com" },
	{ "a.b.c.Example.COM.", "example.com" },
	{ "com", "com" },			/* a suffix itself */
	{ "example.co.uk", "example.co.uk" },
	{ "www.example.co.uk", "example.co.uk" },
	{ "co.uk", "co.uk" },
	{ "x.blogspot.com", "x.blogspot.com" },	/* longest rule wins */
	{ "a.x.blogspot.com", "x.blogspot.com" },
	{ "foo.ck", "foo.ck" },		/* *.ck: a public suffix */
	{ "bar.foo.ck", "bar.foo.ck" },
	{ "a.bar.foo.ck", "bar.foo.ck" },
	{ "www.ck", "www.ck" },			/* !www.ck */
	{ "a.www.ck", "www.ck" },
	{ "x.city.kawasaki.jp", "city.kawasaki.jp" },
	{ "x.y.kawasaki.jp", "x.y.kawasaki.jp" },
	{ "example.jp", "example.jp" },
	{ "example.unlisted", "example.unlisted" },	/* rule "*" */
	{ "a.b.example.unlisted", "example.unlisted" },
	{ "localhost", "localhost" },
	{ "a.b.xn--55qx5d.cn", "b.xn--55qx5d.cn" },
	{ "a.b.c.xn--kln-sna", "b.c.xn--kln-sna" },
	{ "a.b.xn--mxtq1m.xn--fiqs8s", "b.xn--mxtq1m.xn--fiqs8s" },
	{ "x.y.bad\xc3.example", "bad\xc3.example" },
};

static void
test_org_domain(void)
{
	struct dmarc_psl *psl = psl_fixture();
	char	 out[256];
	size_t	 i;

	test_begin("organizational domain follows rules, wildcards and "
	    "exceptions of the list");
	for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		test_assert(dmarc_org_domain(psl, orgs[i].name, out,
		    sizeof(out)) == 0);
		if (strcmp(out, orgs[i].org) != 0)
			printf("  %s: %s, want %s\n", orgs[i].name, out,
			    orgs[i].org);
		test_assert_str(out, orgs[i].org);
	}
	test_assert(dmarc_org_domain(psl, "", out, sizeof(out)) == -1);
	test_assert(dmarc_org_domain(psl, "example.com", out, 5) == -1);
	test_end();
	dmarc_psl_free(psl);
}

static void
test_psl_missing(void)
{
	test_begin("a missing list fails to load");
	test_assert(dmarc_psl_load("/nonexistent/psl.dat") == NULL);
	test_end();
}

static void
test_psl_system(void)
{
	struct dmarc_psl *psl;
	char	 out[256];

	test_begin("the system list loads and knows co.uk");
	if ((psl = dmarc_psl_load(DMARC_PSL_PATH)) == NULL) {
		printf("  %s not installed\n", DMARC_PSL_PATH);
		test_assert(psl != NULL);
		test_end();
		return;
	}
	test_assert(dmarc_org_domain(psl, "a.b.example.co.uk", out,
	    sizeof(out)) == 0);
	test_assert_str(out, "example.co.uk");
	dmarc_psl_free(psl);
	test_end();
}

#define P_	DMARC_P_UNSET
#define PN	DMARC_P_NONE
#define PQ	DMARC_P_QUARANTINE
#define PR	DMARC_P_REJECT

static const struct {
	const char	*rec;
	enum dmarc_parse want;
	enum dmarc_policy p, sp;
	int		 pct, adkim_s, aspf_s;
	size_t		 nrua;
} records[] = {
	{ "v=DMARC1; p=none", DMARC_REC_OK, PN, P_, 100, 0, 0, 0 },
	{ "v=DMARC1;p=reject;sp=quarantine;pct=20;adkim=s;aspf=s",
	    DMARC_REC_OK, PR, PQ, 20, 1, 1, 0 },
	{ "v = DMARC1 ;  p = Quarantine ; ", DMARC_REC_OK, PQ, P_, 100, 0,
	    0, 0 },
	{ "v=DMARC1; p=reject; rua=mailto:d@example.com!10m,"
	    "mailto:e@example.org; ruf=mailto:f@example.com; fo=1:d; "
	    "rf=afrf; ri=3600", DMARC_REC_OK, PR, P_, 100, 0, 0, 2 },
	/* bad values of other tags give the defaults */
	{ "v=DMARC1; p=reject; pct=101; adkim=x; aspf=; fo=2; ri=-1",
	    DMARC_REC_OK, PR, P_, 100, 0, 0, 0 },
	{ "v=DMARC1; p=reject; pct=0", DMARC_REC_OK, PR, P_, 0, 0, 0, 0 },
	{ "v=DMARC1; p=reject; pct=0100", DMARC_REC_OK, PR, P_, 100, 0, 0,
	    0 },
	{ "v=DMARC1; p=none; future=tag; x", DMARC_REC_OK, PN, P_, 100, 0,
	    0, 0 },
	{ "v=DMARC1; p=reject; p=none", DMARC_REC_OK, PR, P_, 100, 0, 0, 0 },
	/* no valid p: p=none with a valid rua, else no policy */
	{ "v=DMARC1; p=bogus; rua=mailto:d@example.com", DMARC_REC_OK, PN,
	    P_, 100, 0, 0, 1 },
	{ "v=DMARC1; rua=mailto:d@example.com", DMARC_REC_OK, PN, P_, 100,
	    0, 0, 1 },
	{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com",
	    DMARC_REC_OK, PN, P_, 100, 0, 0, 1 },
	{ "v=DMARC1; p=bogus", DMARC_REC_INVALID, P_, P_, 100, 0, 0, 0 },
	{ "v=DMARC1", DMARC_REC_INVALID, P_, P_, 100, 0, 0, 0 },
	{ "v=DMARC1; p=reject; sp=x", DMARC_REC_INVALID, PR, P_, 100, 0, 0,
	    0 },
	{ "v=DMARC1; p=bogus; rua=not a uri", DMARC_REC_INVALID, P_, P_,
	    100, 0, 0, 0 },
	{ "v=DMARC1; p=bogus; rua=mailto:", DMARC_REC_INVALID, P_, P_, 100,
	    0, 0, 0 },
	{ "v=DMARC1; p=bogus; rua=mailto:a%zz", DMARC_REC_INVALID, P_, P_,
	    100, 0, 0, 0 },
	/* not DMARC records at all */
	{ "v=spf1 -all", DMARC_REC_NOT, P_, P_, 100, 0, 0, 0 },
	{ "v=dmarc1; p=none", DMARC_REC_NOT, P_, P_, 100, 0, 0, 0 },
	{ "v=DMARC10; p=none", DMARC_REC_NOT, P_, P_, 100, 0, 0, 0 },
	{ "p=none; v=DMARC1", DMARC_REC_NOT, P_, P_, 100, 0, 0, 0 },
	{ "", DMARC_REC_NOT, P_, P_, 100, 0, 0, 0 },
};

static void
test_record(void)
{
	struct dmarc_record r;
	char	 err[64];
	size_t	 i;

	test_begin("record parser keeps valid tags and falls back as RFC "
	    "7489 says");
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		enum dmarc_parse got = dmarc_record_parse(records[i].rec,
		    strlen(records[i].rec), &r, err, sizeof(err));

		if (got != records[i].want)
			printf("  %s: %d (%s)\n", records[i].rec, got, err);
		test_assert(got == records[i].want);
		if (got != DMARC_REC_OK)
			continue;
		test_assert(r.p == records[i].p);
		test_assert(r.sp == records[i].sp);
		test_assert(r.pct == records[i].pct);
		test_assert(r.adkim_strict == records[i].adkim_s);
		test_assert(r.aspf_strict == records[i].aspf_s);
		if (r.nrua != records[i].nrua)
			printf("  %s: %zu rua\n", records[i].rec, r.nrua);
		test_assert(r.nrua == records[i].nrua);
	}
	test_end();
}

static void
test_record_fields(void)
{
	struct dmarc_record r;
	char	 err[64], big[DMARC_RECORD_MAX + 20];
	const char *rec = "v=DMARC1; p=none; "
	    "rua=mailto:a@example.com!5k, bad uri ,https://r.example/x; "
	    "fo=d:s; rf=iodef; ri=60";

	test_begin("record parser keeps rua, fo, rf and ri, and refuses "
	    "an oversized record");
	test_assert(dmarc_record_parse(rec, strlen(rec), &r, err,
	    sizeof(err)) == DMARC_REC_OK);
	test_assert(r.nrua == 2);
	test_assert_str(r.rua[0], "mailto:a@example.com!5k");
	test_assert_str(r.rua[1], "https://r.example/x");
	test_assert_str(r.fo, "d:s");
	test_assert(r.rf_afrf == 0);
	test_assert(r.ri == 60);
	memset(big, ' ', sizeof(big));
	memcpy(big, "v=DMARC1; p=none;", 17);
	test_assert(dmarc_record_parse(big, sizeof(big), &r, err,
	    sizeof(err)) == DMARC_REC_NOT);
	test_end();
}

static const struct {
	const char	*name;
	const char	*rec;
	const char	*rec_domain;
	const char	*from;
	const char	*dkim;		/* passing d=, or NULL */
	enum spf_result	 spf;
	const char	*spf_domain;
	unsigned int	 roll;
	enum dmarc_result result;
	enum dmarc_policy policy, disposition;
} evals[] = {
	{ "relaxed dkim on a subdomain", "v=DMARC1; p=reject",
	    "example.com", "example.com", "mail.example.com", SPF_FAIL,
	    "example.com", 0, DMARC_PASS, PR, PN },
	{ "strict dkim wants the exact domain",
	    "v=DMARC1; p=reject; adkim=s", "example.com", "example.com",
	    "mail.example.com", SPF_NONE, NULL, 0, DMARC_FAIL, PR, PR },
	{ "strict dkim, same domain in other case",
	    "v=DMARC1; p=reject; adkim=s", "example.com", "example.com",
	    "EXAMPLE.com.", SPF_NONE, NULL, 0, DMARC_PASS, PR, PN },
	{ "relaxed spf", "v=DMARC1; p=quarantine", "example.com",
	    "news.example.com", NULL, SPF_PASS, "bounce.example.com", 0,
	    DMARC_PASS, PQ, PN },
	{ "strict spf", "v=DMARC1; p=quarantine; aspf=s", "example.com",
	    "example.com", NULL, SPF_PASS, "bounce.example.com", 0,
	    DMARC_FAIL, PQ, PQ },
	{ "spf softfail does not count", "v=DMARC1; p=reject",
	    "example.com", "example.com", NULL, SPF_SOFTFAIL, "example.com",
	    0, DMARC_FAIL, PR, PR },
	{ "other organization does not align", "v=DMARC1; p=reject",
	    "example.com", "example.com", "example.org", SPF_PASS,
	    "example.net", 0, DMARC_FAIL, PR, PR },
	{ "sibling under a public suffix does not align",
	    "v=DMARC1; p=reject", "a.example.co.uk", "a.example.co.uk",
	    "example.co.uk.evil", SPF_PASS, "b.co.uk", 0, DMARC_FAIL, PR,
	    PR },
	{ "wildcard suffix separates domains", "v=DMARC1; p=reject",
	    "a.foo.ck", "a.foo.ck", "b.foo.ck", SPF_NONE, NULL, 0,
	    DMARC_FAIL, PR, PR },
	{ "sp applies to a subdomain using the org record",
	    "v=DMARC1; p=reject; sp=none", "example.com", "sub.example.com",
	    NULL, SPF_NONE, NULL, 0, DMARC_FAIL, PN, PN },
	{ "p applies when the subdomain has its own record",
	    "v=DMARC1; p=reject; sp=none", "sub.example.com",
	    "sub.example.com", NULL, SPF_NONE, NULL, 0, DMARC_FAIL, PR,
	    PR },
	{ "no sp: the subdomain gets p", "v=DMARC1; p=quarantine",
	    "example.com", "sub.example.com", NULL, SPF_NONE, NULL, 0,
	    DMARC_FAIL, PQ, PQ },
	{ "pct sampled in", "v=DMARC1; p=reject; pct=50", "example.com",
	    "example.com", NULL, SPF_NONE, NULL, 49, DMARC_FAIL, PR, PR },
	{ "pct sampled out: reject becomes quarantine",
	    "v=DMARC1; p=reject; pct=50", "example.com", "example.com",
	    NULL, SPF_NONE, NULL, 50, DMARC_FAIL, PR, PQ },
	{ "pct sampled out: quarantine becomes none",
	    "v=DMARC1; p=quarantine; pct=0", "example.com", "example.com",
	    NULL, SPF_NONE, NULL, 0, DMARC_FAIL, PQ, PN },
	{ "no record: none", NULL, NULL, "example.com", NULL, SPF_NONE,
	    NULL, 0, DMARC_NONE, P_, P_ },
	{ "no From domain: permerror", "v=DMARC1; p=reject", "example.com",
	    "", NULL, SPF_PASS, "example.com", 0, DMARC_PERMERROR, P_, P_ },
};

static void
test_evaluate(void)
{
	struct dmarc_psl *psl = psl_fixture();
	struct dmarc_record rec;
	struct dmarc_request rq;
	struct dmarc_outcome o;
	char	 err[64], org[256];
	const char *d[1];
	size_t	 i;

	test_begin("alignment, policy choice and pct sampling");
	for (i = 0; i < sizeof(evals) / sizeof(evals[0]); i++) {
		memset(&rq, 0, sizeof(rq));
		rq.from_domain = evals[i].from;
		d[0] = evals[i].dkim;
		rq.dkim_pass = d;
		rq.ndkim = evals[i].dkim != NULL;
		rq.spf = evals[i].spf;
		rq.spf_domain = evals[i].spf_domain;
		rq.roll = evals[i].roll;
		if (evals[i].rec != NULL)
			test_assert(dmarc_record_parse(evals[i].rec,
			    strlen(evals[i].rec), &rec, err, sizeof(err)) ==
			    DMARC_REC_OK);
		dmarc_evaluate(psl, &rq, evals[i].rec != NULL ? &rec : NULL,
		    evals[i].rec_domain, &o, org, sizeof(org));
		if (o.result != evals[i].result || o.policy !=
		    evals[i].policy || o.disposition != evals[i].disposition)
			printf("  %s: %s policy=%s disposition=%s\n",
			    evals[i].name, dmarc_result_str(o.result),
			    dmarc_policy_str(o.policy),
			    dmarc_policy_str(o.disposition));
		test_assert(o.result == evals[i].result);
		test_assert(o.policy == evals[i].policy);
		test_assert(o.disposition == evals[i].disposition);
	}
	test_end();
	dmarc_psl_free(psl);
}

int
main(void)
{
	static void (*const t[])(void) = { test_org_domain, test_psl_missing,
	    test_psl_system, test_record, test_record_fields, test_evaluate,
	    NULL };

	return (test_run(t));
}
