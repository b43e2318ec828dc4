/*
 * dmarc.h - DMARC (RFC 7489): the organizational domain from the
 * Public Suffix List, policy discovery at _dmarc.<domain> on the
 * asynchronous resolver (common/dns.h), the record parser, identifier
 * alignment and the policy to apply.  smtpd.receiver calls it
 * (smtpd/verify.c) after DKIM (common/dkim.h) and SPF (common/spf.h);
 * so do the unit tests and tests/tools/dmarccheck.
 *
 * Use:
 *
 *	psl = dmarc_psl_load(DMARC_PSL_PATH);	(once, before dropping
 *						 privileges)
 *	struct dmarc_request rq = { .from_domain = d, .dkim_pass = ds,
 *	    .ndkim = n, .spf = SPF_PASS, .spf_domain = mfd,
 *	    .roll = arc4random_uniform(100) };
 *	c = dmarc_check(base, dns, psl, &rq, done, arg);
 *	...
 *	static void
 *	done(const struct dmarc_outcome *o, void *arg)
 *	{
 *		... dmarc_result_str(o->result), o->disposition ...
 *	}
 *	dmarc_cancel(c);	(only while the callback has not run)
 *
 * The callback runs exactly once per check that was not cancelled,
 * always from the event loop, never from inside dmarc_check(); the
 * outcome is freed when it returns.  A check asks at most two TXT
 * questions.  Records are hostile input: dmarc_record_parse() is
 * bounded and fuzzed by tests/fuzz/fuzz-dmarc.c.  The list is read
 * from a file, so it is loaded by a process that can still read it;
 * the check itself needs no privilege.
 */
#ifndef SM_DMARC_H
#define SM_DMARC_H

#include <stddef.h>

#include "spf.h"

#define DMARC_PSL_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_PSL_MAX	100000	/* rules kept from the list */
#define DMARC_RECORD_MAX 4096	/* longest record parsed */
#define DMARC_URI_MAX	8	/* rua/ruf URIs kept */

/* The Public Suffix List, a sorted table of rules. */
struct dmarc_psl;

/* Load the list at path: NULL (logged) when unreadable or empty. */
struct dmarc_psl *dmarc_psl_load(const char *);
void		 dmarc_psl_free(struct dmarc_psl *);
/*
 * The organizational domain of name (RFC 7489 3.2) into out, lower
 * case: the public suffix and one label more; name itself when it is
 * a public suffix.  0, or -1 when name is empty or out too small.
 */
int		 dmarc_org_domain(const struct dmarc_psl *, const char *,
		    char *, size_t);

enum dmarc_policy {
	DMARC_P_UNSET,		/* tag absent (sp: take p) */
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT
};

struct dmarc_record {
	enum dmarc_policy p, sp;
	int		 pct;		/* 0..100, default 100 */
	int		 adkim_strict;	/* default relaxed */
	int		 aspf_strict;
	unsigned long	 ri;		/* default 86400 */
	char		 fo[16];	/* default "0" */
	int		 rf_afrf;	/* rf names afrf (the default) */
	size_t		 nrua, nruf;	/* valid URIs kept */
	char		 rua[DMARC_URI_MAX][256];
	char		 ruf[DMARC_URI_MAX][256];
};

enum dmarc_parse {
	DMARC_REC_OK,		/* a policy record */
	DMARC_REC_NOT,		/* not v=DMARC1: ignore it */
	/* v=DMARC1 but no valid p (or a bad sp) and no valid rua: no
	   DMARC processing (RFC 7489 6.6.3) */
	DMARC_REC_INVALID
};

/*
 * Parse rec[0..len), a TXT record's strings joined.  A missing or bad
 * p (or bad sp) with a valid rua reads as p=none.  Bad values of the
 * other tags give their defaults; unknown tags are ignored.  err gets
 * the first problem seen ("" without one).
 */
enum dmarc_parse dmarc_record_parse(const char *, size_t,
		    struct dmarc_record *, char *, size_t);

enum dmarc_result {
	DMARC_NONE,
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR
};

struct dmarc_request {
	const char	*from_domain;	/* RFC5322.From domain */
	const char *const *dkim_pass;	/* d= of passing signatures */
	size_t		 ndkim;
	enum spf_result	 spf;		/* of the MAIL FROM identity */
	const char	*spf_domain;	/* MAIL FROM (or HELO) domain */
	unsigned int	 roll;		/* random 0..99, for pct */
};

struct dmarc_outcome {
	enum dmarc_result result;
	const char	*domain;	/* where the record was found */
	const char	*org_domain;	/* of the From domain */
	enum dmarc_policy policy;	/* p, or sp for a subdomain */
	/* what to do: policy after pct (fail only; NONE otherwise) */
	enum dmarc_policy disposition;
	int		 sampled_out;	/* pct lowered it */
	int		 dkim_aligned, spf_aligned;
	/* why temperror/permerror/none, or a bad tag of the record; NULL */
	const char	*problem;
};

/*
 * Without DNS: the result for rq under rec, found at rec_domain
 * (NULL rec: none).  o's strings point into rq and the arguments,
 * org_domain into org (at least 256 bytes).
 */
void		 dmarc_evaluate(const struct dmarc_psl *,
		    const struct dmarc_request *, const struct dmarc_record *,
		    const char *, struct dmarc_outcome *, char *, size_t);

struct dmarc_check;
struct dns_ctx;
struct event_base;
typedef void	(*dmarc_cb)(const struct dmarc_outcome *, void *);

struct dmarc_check *dmarc_check(struct event_base *, struct dns_ctx *,
		    const struct dmarc_psl *, const struct dmarc_request *,
		    dmarc_cb, void *);
void		 dmarc_cancel(struct dmarc_check *);
const char	*dmarc_result_str(enum dmarc_result);
const char	*dmarc_policy_str(enum dmarc_policy);

#endif
