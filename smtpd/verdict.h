/*
 * verdict.h - the receiver's policy: from what verification found about
 * one message (its facts) to where it goes (safe, unsafe, or refused),
 * with the reasons, and the Authentication-Results field (RFC 8601) that
 * records the facts.  Pure functions (verdict.c); the facts are gathered
 * by verify.c in smtpd.receiver (unprivileged, chrooted).
 *
 * The policy ([smtpd] verdict_mode, verdict_require, dmarc_reject in
 * docs/admin-guide.md):
 *	safe	a DKIM signature passed whose d= is aligned with the one
 *		From domain, DMARC did not fail, and every requirement the
 *		site added holds (tls, spf, registry, callback);
 *	unsafe	everything else;
 *	refused	unsafe in hardline mode, or a DMARC failure under p=reject
 *		when dmarc_reject = refuse (550 5.7.1 with the reasons).
 * A soft-mode recipient without an unsafe mailbox refuses unsafe mail as
 * well; the receiver keeps such recipients out of transactions with
 * others (452 4.5.3), so a refusal never costs another recipient mail.
 *
 * Unit tests: tests/unit/test-verdict.c.
 */
#ifndef SM_VERDICT_H
#define SM_VERDICT_H

#include <stddef.h>

#include "authres.h"
#include "dkim.h"
#include "dmarc.h"
#include "spf.h"

struct buf;

/* What the site adds to an aligned signature (verdict_require). */
#define VR_TLS		0x01	/* the session was encrypted */
#define VR_SPF		0x02	/* SPF passed for the MAIL FROM (or HELO) */
#define VR_REGISTRY	0x04	/* a registered transmitter */
#define VR_CALLBACK	0x08	/* its callback confirmed the session */

struct verdict_policy {
	int	 hardline;		/* refuse unsafe mail at DATA */
	int	 dmarc_refuse;		/* refuse a p=reject failure */
	unsigned int require;		/* VR_* */
};

/* The outcome of a check that may not have run (no DNS, no claim). */
enum verdict_check {
	VC_NONE,		/* nothing to check, or not asked */
	VC_PASS,
	VC_FAIL,
	VC_TEMPERROR		/* no answer: the same as not passing */
};

struct verdict_tls {
	int	 on;			/* the session used TLS */
	char	 version[32];
	char	 cipher[96];
	int	 client_cert;		/* the client showed a certificate */
	int	 client_verified;	/* ...chaining to tls_client_ca */
	char	 client_subject[128];
};

struct verdict_facts {
	char			 from[AR_FROM_MAX + 1];	/* "" without one */
	/* an address other than from in its display name, or "" */
	char			 from_name_claim[AR_FROM_MAX + 1];
	const struct dkim_result *dkim;
	size_t			 ndkim;
	const char		*mail_from;	/* "" for <> */
	const char		*helo;
	enum spf_result		 spf_mailfrom;	/* SPF_NONE when <> */
	int			 spf_mailfrom_done;
	enum spf_result		 spf_helo;
	int			 spf_helo_done;
	const struct dmarc_outcome *dmarc;	/* NULL: not checked */
	struct verdict_tls	 tls;
	enum verdict_check	 registry;
	const char		*registry_name;	/* the listed name matched */
	enum verdict_check	 callback;
};

enum verdict_class {
	VERDICT_SAFE,
	VERDICT_UNSAFE,
	VERDICT_REFUSE
};

/*
 * Parse the three settings into p: 0, or -1 with the offending setting
 * named in err.  NULL strings take the defaults (soft, none, unsafe).
 */
int	 verdict_policy_parse(const char *, const char *, const char *,
	    struct verdict_policy *, char *, size_t);
/*
 * The verdict, and why it is not safe ("no aligned DKIM signature;
 * DMARC fail (p=reject)") appended to why when it is not.
 */
enum verdict_class verdict_decide(const struct verdict_policy *,
	    const struct verdict_facts *, struct buf *);
/* Whether an aligned DKIM signature passed (the minimum for safe). */
int	 verdict_dkim_aligned(const struct verdict_facts *);
/*
 * "Authentication-Results: <id>;\r\n\tdkim=...;\r\n\tspf=..." with every
 * fact: each DKIM signature, SPF for MAIL FROM and HELO, DMARC, and our
 * methods x-tls, x-registry and x-callback (not in the IANA registry, so
 * other readers skip them, as RFC 8601 section 4 has them do).
 */
void	 verdict_authres(const char *, const struct verdict_facts *,
	    struct buf *);

#endif
