/*
 * test-mta.c - smtpd.mta's decisions (smtpd/mta_policy.c): the
 * transport and TLS policy maps, what an MX answer means (preference
 * order, implicit MX, null MX), and how a remote reply becomes a
 * recipient's result (codes, enhanced codes, hostile text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mta.h"
#include "smtpd.h"
#include "test.h"

static struct dns_rr *
mx(struct dns_rr *rr, uint16_t pref, const char *host)
{
	memset(rr, 0, sizeof(*rr));
	rr->type = DNS_T_MX;
	rr->u.mx.pref = pref;
	rr->u.mx.host = (char *)host;
	return rr;
}

static void
test_mx_plan(void)
{
	struct dns_result	 r;
	struct dns_rr		 rr[3];
	struct mta_hosts	 h;

	test_begin("MX hosts in the order DNS sorted them (preference)");
	memset(&r, 0, sizeof(r));
	r.status = DNS_OK;
	r.rr = rr;
	r.nrr = 3;
	mx(&rr[0], 5, "mx1.example.org");
	mx(&rr[1], 10, "mx2.example.org");
	mx(&rr[2], 20, "backup.example.net");
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_MX);
	test_assert(h.n == 3);
	test_assert_str(h.name[0], "mx1.example.org");
	test_assert_str(h.name[2], "backup.example.net");
	mta_hosts_free(&h);
	test_end();

	test_begin("no MX record: the domain itself (RFC 5321 5.1)");
	r.status = DNS_NODATA;
	r.nrr = 0;
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_IMPLICIT);
	test_assert(h.n == 1);
	test_assert_str(h.name[0], "example.org");
	mta_hosts_free(&h);
	test_end();

	test_begin("null MX takes no mail (RFC 7505)");
	r.status = DNS_OK;
	r.nrr = 1;
	mx(&rr[0], 0, ".");
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_NULLMX);
	test_assert(h.n == 0);
	test_end();

	test_begin("a '.' among real MX hosts is skipped");
	r.nrr = 2;
	mx(&rr[1], 10, "mx.example.org");
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_MX);
	test_assert(h.n == 1);
	test_assert_str(h.name[0], "mx.example.org");
	mta_hosts_free(&h);
	test_end();

	test_begin("NXDOMAIN is permanent, SERVFAIL and timeouts are not");
	r.status = DNS_NXDOMAIN;
	r.nrr = 0;
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_NODOMAIN);
	r.status = DNS_TEMPFAIL;
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_TEMP);
	r.status = DNS_TIMEOUT;
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_TEMP);
	r.status = DNS_BOGUS;
	test_assert(mta_mx_plan(&r, "example.org", &h) == MTA_PLAN_TEMP);
	test_end();
}

static void
test_mx_self(void)
{
	struct dns_result	 r;
	struct dns_rr		 rr[4];
	struct mta_hosts	 h;
	enum mta_plan		 p;

	memset(&r, 0, sizeof(r));
	r.status = DNS_OK;
	r.rr = rr;
	r.nrr = 4;
	mx(&rr[0], 5, "mx1.example.org");
	mx(&rr[1], 10, "ME.example.net.");
	mx(&rr[2], 10, "mx2.example.org");
	mx(&rr[3], 20, "backup.example.net");

	test_begin("we are an MX host: only the more preferred ones are "
	    "tried (RFC 5321 5.1)");
	p = mta_mx_self(&r, "me.example.net", mta_mx_plan(&r, "example.org",
	    &h), &h);
	test_assert(p == MTA_PLAN_MX);
	test_assert(h.n == 1);
	test_assert_str(h.name[0], "mx1.example.org");
	mta_hosts_free(&h);
	test_end();

	test_begin("we are the best MX host: a loop, no host to try");
	mx(&rr[0], 10, "mx1.example.org");
	mx(&rr[1], 5, "me.example.net");
	p = mta_mx_self(&r, "me.example.net", mta_mx_plan(&r, "example.org",
	    &h), &h);
	test_assert(p == MTA_PLAN_LOOP);
	test_assert(h.n == 0);
	test_end();

	test_begin("not among the MX hosts: all of them, unchanged");
	p = mta_mx_self(&r, "other.example.net", mta_mx_plan(&r,
	    "example.org", &h), &h);
	test_assert(p == MTA_PLAN_MX);
	test_assert(h.n == 4);
	mta_hosts_free(&h);
	test_end();

	test_begin("a greeting with our own host name is a loop");
	test_assert(mta_greets_as_self("220 me.example.net ESMTP Sealmail",
	    "me.example.net"));
	test_assert(mta_greets_as_self("220-ME.EXAMPLE.NET. hi",
	    "me.example.net"));
	test_assert(mta_greets_as_self("220 me.example.net", "me.example.net"));
	test_assert(!mta_greets_as_self("220 me.example.net.evil ESMTP",
	    "me.example.net"));
	test_assert(!mta_greets_as_self("220 mx.example.org ESMTP",
	    "me.example.net"));
	test_assert(!mta_greets_as_self("220", "me.example.net"));
	test_assert(!mta_greets_as_self("220 ", ""));
	test_end();
}

static void
test_result_text(void)
{
	static const struct {
		int		 code;
		const char	*line, *where, *want;
	} t[] = {
		{ 550, "550 5.1.1 <bob@b.test>: User unknown", "host mx said",
		  "550 5.1.1 <bob@b.test>: User unknown (host mx said)" },
		{ 250, "250 2.0.0 Ok: queued as X", NULL,
		  "250 2.0.0 Ok: queued as X" },
		/* no enhanced code: the class's X.0.0 */
		{ 451, "451 try later", NULL, "451 4.0.0 try later" },
		/* an enhanced code of the wrong class is text */
		{ 550, "550 2.1.5 odd", NULL, "550 5.0.0 2.1.5 odd" },
		/* our own texts, without a reply code */
		{ 556, "5.1.10 no mail", NULL, "556 5.1.10 no mail" },
		/* control characters and 8-bit bytes never pass */
		{ 554, "554 5.7.1 a\rb\x1b[31mc\xc3\xa9", NULL,
		  "554 5.7.1 a?b?[31mc??" },
		/* a code out of range is a temporary failure */
		{ 999, "999 x", NULL, "451 4.0.0 x" },
		{ 421, "", NULL, "421 4.0.0 " },
	};
	char	 out[MTA_TEXT_MAX];
	size_t	 i;

	test_begin("remote replies become clean result texts");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mta_result_text(out, sizeof(out), t[i].code, t[i].line,
		    t[i].where);
		test_assert_str(out, t[i].want);
		if (t[i].code != 421)
			test_assert(mta_text_valid(out));
	}
	test_end();

	test_begin("a result text too long is cut and still valid");
	{
		char	 big[4000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "550 5.1.1 ", 10);
		mta_result_text(out, sizeof(out), 550, big, NULL);
		test_assert(strlen(out) == sizeof(out) - 1);
		test_assert(mta_text_valid(out));
	}
	test_end();
}

static void
test_text_valid(void)
{
	static const struct {
		const char	*text;
		int		 ok;
	} t[] = {
		{ "550 5.1.1 User unknown", 1 },
		{ "250 2.0.0 ok", 1 },
		{ "451 4.4.1 connect failed", 1 },
		{ "550 4.1.1 class mismatch", 0 },
		{ "550 5.1.1", 1 },
		{ "550 5.1", 0 },
		{ "650 6.0.0 no", 0 },
		{ "550 5.1.1 line\nbreak", 0 },
		{ "550-5.1.1 continued", 0 },
		{ "", 0 },
	};
	size_t	 i;

	test_begin("the queue takes only well-formed results");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		test_assert(mta_text_valid(t[i].text) == t[i].ok);
	test_end();

	test_begin("reply codes map to sent, deferred, bounced");
	test_assert(mta_status(250) == Q_DLV_OK);
	test_assert(mta_status(251) == Q_DLV_OK);
	test_assert(mta_status(421) == Q_DLV_TEMPFAIL);
	test_assert(mta_status(452) == Q_DLV_TEMPFAIL);
	test_assert(mta_status(550) == Q_DLV_PERMFAIL);
	test_assert(mta_status(556) == Q_DLV_PERMFAIL);
	test_assert(mta_status(-1) == Q_DLV_TEMPFAIL);
	test_assert(mta_status(354) == Q_DLV_TEMPFAIL);
	test_end();
}

static int
any(const char *s)
{
	return *s != '\0';
}

static void
test_maps(void)
{
	struct sm_config	 c;
	struct mta_policy	 p;
	struct mta_map		 m;
	char			 err[256], h[64];
	int			 port;

	test_begin("transport and TLS policy maps");
	memset(&c, 0, sizeof(c));
	c.tls_policy = "may";
	c.tls_policy_map = "b.test=verify, c.test=encrypt";
	c.transport = "b.test=127.0.0.1:2525 [v6.test]=x:1";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	c.transport = "b.test=127.0.0.1:2525 d.test=[::1]:25";
	c.mta_port = 25;
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == 0);
	test_assert(mta_tls_for(&p, "B.TEST") == MTA_TLS_VERIFY);
	test_assert(mta_tls_for(&p, "c.test") == MTA_TLS_ENCRYPT);
	test_assert(mta_tls_for(&p, "other.test") == MTA_TLS_MAY);
	test_assert_str(mta_nexthop(&p, "b.test"), "127.0.0.1:2525");
	test_assert(mta_nexthop(&p, "other.test") == NULL);
	mta_policy_free(&p);
	c.relayhost = "smarthost.test:587";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == 0);
	test_assert_str(mta_nexthop(&p, "other.test"), "smarthost.test:587");
	test_assert_str(mta_nexthop(&p, "b.test"), "127.0.0.1:2525");
	mta_policy_free(&p);
	test_end();

	test_begin("dane and dane-only, globally and per domain");
	c.tls_policy = "dane";
	c.tls_policy_map = "b.test=dane-only";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == 0);
	test_assert(mta_tls_for(&p, "b.test") == MTA_TLS_DANE_ONLY);
	test_assert(mta_tls_for(&p, "c.test") == MTA_TLS_DANE);
	test_assert_str(mta_tls_name(MTA_TLS_DANE_ONLY), "dane-only");
	mta_policy_free(&p);
	test_end();

	test_begin("an unreadable dns_trust_anchor is refused at start");
	c.dns_trust_anchor = "/nonexistent/root.key";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	test_assert(strstr(err, "dns_trust_anchor") != NULL);
	c.dns_trust_anchor = NULL;
	test_end();

	test_begin("unknown policy names and bad entries are refused");
	c.tls_policy = "mta-sts";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	c.tls_policy = "verify";
	c.tls_policy_map = "b.test=dane-maybe";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	c.tls_policy_map = "b.test=";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	c.tls_policy_map = "=verify";
	test_assert(mta_policy_load(&p, &c, err, sizeof(err)) == -1);
	test_assert(mta_map_parse(&m, "a.test=x b..test=y", any, err,
	    sizeof(err)) == -1);
	test_end();

	test_begin("host:port and [address]:port");
	test_assert(mta_hostport("mx.b.test:25", h, sizeof(h), &port) == 0);
	test_assert_str(h, "mx.b.test");
	test_assert(port == 25);
	test_assert(mta_hostport("[::1]:2525", h, sizeof(h), &port) == 0);
	test_assert_str(h, "::1");
	test_assert(port == 2525);
	test_assert(mta_hostport("mx.b.test", h, sizeof(h), &port) == -1);
	test_assert(mta_hostport("mx:0", h, sizeof(h), &port) == -1);
	test_assert(mta_hostport("mx:65536", h, sizeof(h), &port) == -1);
	test_assert(mta_hostport(":25", h, sizeof(h), &port) == -1);
	test_end();

	test_begin("domains of addresses");
	test_assert(mta_same_domain("a@X.test", "b@x.TEST"));
	test_assert(!mta_same_domain("a@x.test", "b@y.test"));
	test_assert(mta_needs_utf8("j\xc3\xb6rg@x.test"));
	test_assert(!mta_needs_utf8("jorg@x.test"));
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_mx_plan, test_mx_self, test_result_text, test_text_valid,
		test_maps,
		NULL
	};

	return test_run(tests);
}
