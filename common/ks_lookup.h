/*
 * ks_lookup.h - the key server's client (docs/interfaces.md, the key
 * server): asks the key server at a signing domain's MX host for the
 * public key of a DKIM signature whose key DNS does not publish.
 *
 * Two parts:
 *
 *  - The line parser (ks_lookup_parse.c): one line the server sent in,
 *    one meaning out, a pure function on bytes from anyone (fuzzed by
 *    tests/fuzz/fuzz-keyserver-client.c).  What our server sends is in
 *    keystore/keyserver.c:
 *	greeting	"+OK <host> keystore" | "-FW <host>:<port>"
 *	KEY answer	"+OK <selector> <algorithm> <base64 key>" or
 *			"+OK <selector> <algorithm> revoked", one a key,
 *			then "."; or one "-ERR <reason>"
 *    ks_lookup_record() turns a key line into the DNS key record it
 *    stands for ("v=DKIM1; k=rsa; p=..."; "p=" empty when revoked), for
 *    common/dkim to judge like any other.
 *
 *  - The client (ks_lookup.c), in the caller's libevent loop: MX of the
 *    signing domain (the most preferred host), its IPv4 address, a TCP
 *    connection to the configured port, the greeting (a -FW is followed
 *    once), "KEY <address>", the answer, "QUIT".  The callback runs once
 *    (never from inside ks_lookup_start) with DKIM_KEYQ_FOUND and the
 *    record of the signature's selector, DKIM_KEYQ_NONE when the domain
 *    has no key server or the server has no such key, or
 *    DKIM_KEYQ_TEMPFAIL when DNS failed for now or the whole lookup took
 *    longer than its timeout.
 *
 * Callers: smtpd.receiver (smtpd/verify.c), unprivileged and chrooted:
 * it needs only sockets.  Every line is bounded (KS_LOOKUP_LINE_MAX) and
 * so is the number of lines read (KS_LOOKUP_LINES_MAX).
 */
#ifndef SM_KS_LOOKUP_H
#define SM_KS_LOOKUP_H

#include <stddef.h>

#include "buf.h"
#include "dkim.h"

#define KS_LOOKUP_LINE_MAX	2048	/* RSA-8192 SPKI is ~1400 base64 */
#define KS_LOOKUP_LINES_MAX	64	/* key lines in one answer */
#define KS_LOOKUP_HOST_MAX	255

enum ks_line_kind {
	KSL_BAD,	/* not a line the protocol has here */
	KSL_GREETING,	/* "+OK <host> keystore" */
	KSL_FORWARD,	/* "-FW <host>:<port>" */
	KSL_KEY,	/* "+OK <sel> <alg> <key>" */
	KSL_REVOKED,	/* "+OK <sel> <alg> revoked" */
	KSL_END,	/* "." */
	KSL_ERR		/* "-ERR <reason>" */
};

struct ks_line {
	enum ks_line_kind kind;
	char		 host[KS_LOOKUP_HOST_MAX + 1];	/* FORWARD */
	int		 port;				/* FORWARD */
	char		 selector[DKIM_SELECTOR_MAX + 1]; /* KEY, lowercased */
	enum dkim_alg	 alg;				/* KEY, REVOKED */
	size_t		 key_off, key_len;	/* KEY: the base64 in line */
};

/* A greeting line (without its CRLF). */
void	 ks_lookup_parse_greeting(const char *, size_t, struct ks_line *);
/* A line of a KEY answer (without its CRLF). */
void	 ks_lookup_parse_answer(const char *, size_t, struct ks_line *);
/* The key record a KEY or REVOKED line of line stands for; 0 or -1. */
int	 ks_lookup_record(const struct ks_line *, const char *, struct buf *);

struct event_base;
struct dns_ctx;
struct ks_lookup;

struct ks_lookup_params {
	const char	*domain;	/* d=: its MX host runs the server */
	const char	*address;	/* asked with KEY */
	const char	*selector;	/* s=: the key wanted */
	int		 port;		/* the key server's TCP port */
	int		 timeout_ms;	/* for the whole lookup */
};

typedef void	(*ks_lookup_cb)(enum dkim_keyq, const char *, size_t, void *);

struct ks_lookup *ks_lookup_start(struct event_base *, struct dns_ctx *,
	    const struct ks_lookup_params *, ks_lookup_cb, void *);
/* Forget a lookup whose callback has not run; it never will. */
void	 ks_lookup_cancel(struct ks_lookup *);

#endif
