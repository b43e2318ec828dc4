/*
 * authres.h - what the receiver concludes from a message's DKIM results
 * and how it says so: the header fields of a message, the one From
 * address, alignment of a signing domain with it, the class, and the
 * Authentication-Results field (RFC 8601) with the removal of forged
 * ones.  Pure functions on bytes from the network (authres.c); the
 * event-driven part is verify.c.
 *
 * Used by smtpd.receiver through verify.c (unprivileged, chrooted), and
 * by smtpd.queue's signer (sign.c), which verifies what it signed and
 * writes the field for local deliveries with ar_format().  Unit tests:
 * tests/unit/test-authres.c.
 */
#ifndef SM_AUTHRES_H
#define SM_AUTHRES_H

#include <stddef.h>

#include "buf.h"
#include "dkim.h"

#define AR_FROM_MAX	254	/* the From address, canonical */

/* One header field: bytes [off, off + len) with its line end(s). */
struct ar_field {
	size_t	 off;
	size_t	 len;
	size_t	 value;		/* offset of the value, after the colon */
};

/*
 * The length of the header section of h[0..n), the empty line included;
 * *complete is 0 when no empty line came before n (then it is n).
 */
size_t	 ar_header_len(const char *, size_t, int *);
/* The next field at *pos of the header h[0..n): 1, or 0 at its end. */
int	 ar_next_field(const char *, size_t, size_t *, struct ar_field *);
/* Is the field named name (ASCII case ignored, WSP before ':' too)? */
int	 ar_field_is(const char *, const struct ar_field *, const char *);
/* Does an Authentication-Results value claim authserv-id id? */
int	 ar_claims_id(const char *, size_t, const char *);
/* Is field f of h an Authentication-Results that claims id (forged)? */
int	 ar_field_claims_id(const char *, const struct ar_field *,
	    const char *);

/*
 * The author: exactly one From field holding exactly one mailbox, whose
 * canonical addr-spec (domain lowercased) goes into from (AR_FROM_MAX +
 * 1 bytes).  0, or -1 when there is none, more than one field, a list
 * or a group, or an address SMTP could not carry.
 */
int	 ar_from(const char *, size_t, char *);
/*
 * ar_from(), and whether the From field (its display name, a comment)
 * names an address other than the From address itself
 * ("bob@example.org" <x@evil.example>): that address into claim (the
 * fifth argument, its size), else "".  0, or -1 as ar_from().
 */
int	 ar_from_claims(const char *, size_t, char *, char *, size_t);
/* d= aligned with a From domain: equal, or a parent of it. */
int	 ar_aligned(const char *, const char *);

/*
 * The address to ask a key server for a signature's key: its i= (the
 * first argument) when it has a local part, else the From address (the
 * third) when aligned with d= (the second).  0, or -1 when there is none
 * (out: AR_FROM_MAX + 1 bytes).
 */
int	 ar_keyserver_address(const char *, const char *, const char *,
	    char *);

/*
 * "Authentication-Results: <id>;\r\n\tdkim=... ;\r\n\tdkim=...\r\n", one
 * result a line, "dkim=none" when n is 0; then, when auth (the fourth
 * argument) is not NULL, ";\r\n\tauth=pass smtp.auth=<auth>" (RFC 8601
 * section 2.7.4: the author authenticated to us, as submitd checked).
 */
void	 ar_format(const char *, const struct dkim_result *, size_t,
	    const char *, struct buf *);

#endif
