/*
 * ks_req.h - names and requests of the keystore's signing protocol
 * (common/ks_client.h): the syntax of owners, selectors and algorithm
 * names, and the decoder of a client's GETKEYS / SIGN message.
 *
 * Pure functions without I/O or keys: keystore.server runs the decoder on
 * every request a client sends, the root parent runs it again on what the
 * server role forwards (it trusts no role that reads from sockets), and
 * a fuzz target runs it on anything (tests/fuzz/fuzz-ks-request.c).
 */
#ifndef SM_KS_REQ_H
#define SM_KS_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "dkim.h"

#define KS_SELECTOR_LEN		13	/* "s" and 12 base32 characters */
#define KS_SELECTOR_MAX		63	/* one DNS label */
#define KS_OWNER_MAX		254	/* an address, or a domain */

struct ipc_msg;

/* Algorithm names as DKIM writes them (a=), and back (0 or -1). */
const char *ks_alg_name(enum dkim_alg);
int	 ks_alg_parse(const char *, enum dkim_alg *);

/* A selector a client names: one DNS label of a-z, 0-9 and inner '-'. */
int	 ks_selector_valid(const char *);

/*
 * An owner is a local address (local@domain) or a domain; the canonical
 * form lowercases the domain (common/userdb's rules).  0 or -1 with err.
 * ks_owner_domain() is the d= of an owner's signatures.
 */
int	 ks_owner_canon(const char *, char *, size_t, char *, size_t);
const char *ks_owner_domain(const char *);

/* A decoded request: type IPC_KS_GETKEYS or IPC_KS_SIGN. */
struct ks_req {
	uint32_t	 type;
	char		 owner[KS_OWNER_MAX + 1];	/* canonical */
	enum dkim_alg	 alg;				/* SIGN */
	char		 selector[KS_SELECTOR_MAX + 1];	/* SIGN */
	uint8_t		 digest[DKIM_DIGEST_LEN];	/* SIGN */
};

/*
 * Decode and check m (any type, any payload): 0, or -1 with *why, a
 * static reason fit for an IPC_ERR to the client.  A message that came
 * with a file descriptor is refused.
 */
int	 ks_req_decode(struct ipc_msg *, struct ks_req *, const char **);
/* The request as a message of the same type with the given id. */
struct ipc_msg *ks_req_encode(const struct ks_req *, uint32_t);

#endif
