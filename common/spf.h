/*
 * spf.h - Sender Policy Framework (RFC 7208): check_host() for the
 * MAIL FROM and HELO identities, on the asynchronous resolver
 * (common/dns.h), with every mechanism and modifier, the macro
 * language, the 10-lookup and 2-void-lookup limits and the seven
 * results.  smtpd.receiver calls it (smtpd/verify.c) for every
 * message; so does the test tool tests/tools/spfcheck.
 *
 * Use:
 *
 *	struct spf_request rq = { .ip = client, .helo = helo,
 *	    .sender = mail_from, .receiver = myname };
 *	c = spf_check(base, dns, &rq, done, sess);
 *	...
 *	static void
 *	done(const struct spf_outcome *o, void *arg)
 *	{
 *		... spf_result_str(o->result), o->explanation ...
 *	}
 *	spf_cancel(c);		(only while the callback has not run)
 *
 * The callback runs exactly once per check that was not cancelled,
 * always from the event loop, never from inside spf_check().  The
 * outcome belongs to the module and is freed when the callback returns;
 * the handle is invalid once the callback has started (do not cancel
 * it from there).  Lookups run one after another, each bounded by the
 * dns context's timeout; a check makes at most SPF_MAX_QUERIES.
 *
 * How a result is reached: spf.c evaluates over a cache of answers and
 * runs again from the start each time a missing answer arrives, so the
 * 10-lookup and 2-void-lookup counts are the same on every run.
 *
 * Records are hostile input: spf_record_parse() and spf_macro_expand()
 * (spf_macro.c) are bounded, never trust a length from the record and
 * are fuzzed by tests/fuzz/fuzz-spf.c.  Runs in whatever process holds
 * the dns context; needs no privilege.
 */
#ifndef SM_SPF_H
#define SM_SPF_H

#include <stddef.h>
#include <time.h>

#include "dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

#define SPF_MAX_LOOKUPS		10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOID		2
#define SPF_MAX_ADDR		10	/* MX hosts, PTR names */
#define SPF_MAX_QUERIES		400	/* DNS questions per check */
#define SPF_BUF_MAX		65536	/* longest expansion kept */

struct spf_request {
	struct dns_addr	 ip;		/* the SMTP client */
	const char	*helo;		/* HELO/EHLO argument */
	const char	*sender;	/* MAIL FROM; NULL or "" checks HELO */
	const char	*receiver;	/* for %{r}; NULL: "unknown" */
	time_t		 now;		/* for %{t}; 0: time(NULL) */
};

struct spf_outcome {
	enum spf_result	 result;
	const char	*identity;	/* "mailfrom" or "helo" */
	const char	*domain;	/* the domain checked */
	/* for fail: the exp= text; NULL without one (the caller's default) */
	const char	*explanation;
	const char	*problem;	/* why permerror/temperror, or NULL */
};

struct spf_check;
struct dns_ctx;
typedef void	(*spf_cb)(const struct spf_outcome *, void *);

struct event_base;
struct spf_check *spf_check(struct event_base *, struct dns_ctx *,
		    const struct spf_request *, spf_cb, void *);
void		 spf_cancel(struct spf_check *);
const char	*spf_result_str(enum spf_result);

/* The parsed form of one record (spf_macro.c). */
enum spf_kind {
	SPF_M_ALL, SPF_M_INCLUDE, SPF_M_A, SPF_M_MX, SPF_M_PTR,
	SPF_M_IP4, SPF_M_IP6, SPF_M_EXISTS, SPF_MOD_REDIRECT, SPF_MOD_EXP
};

#define SPF_MAX_TERMS	256

struct spf_term {
	enum spf_kind	 kind;
	enum spf_result	 qual;		/* PASS, FAIL, SOFTFAIL, NEUTRAL */
	const char	*spec;		/* domain-spec, NULL when absent */
	int		 cidr4;		/* a, mx, ip4: prefix length */
	int		 cidr6;
	struct dns_addr	 net;		/* ip4, ip6 */
};

struct spf_record {
	char		*text;		/* copy, cut into the specs */
	size_t		 nterm;
	struct spf_term	 term[SPF_MAX_TERMS];
	int		 redirect;	/* index into term or -1 */
	int		 exp;
};

/*
 * Parse rec[0..len) (the TXT strings joined; starts with "v=spf1").
 * 0, or -1 with a reason in err on any syntax error.  spf_record_free()
 * either way.
 */
int		 spf_record_parse(const char *, size_t, struct spf_record *,
		    char *, size_t);
void		 spf_record_free(struct spf_record *);
/* Whether a TXT string is an SPF version 1 record. */
int		 spf_is_record(const char *, size_t);

struct spf_macro_env {
	const char	*s, *l, *o, *d, *h, *r, *p;
	const struct dns_addr *ip;
	time_t		 t;
};

struct buf;
/*
 * Check a macro-string (exp: an explain-string, where c, r, t and
 * spaces are allowed): 0 or -1.  Expand it into out: 0 or -1 on a
 * syntax error.  A domain-spec (exp 0) over 253 characters loses
 * labels on its left (RFC 7208 7.3).
 */
int		 spf_macro_check(const char *, int);
int		 spf_macro_expand(const char *, int, const struct spf_macro_env *,
		    struct buf *);
/* Whether a domain-spec string names a valid end (RFC 7208 7.1). */
int		 spf_domain_spec_ok(const char *);

#endif
