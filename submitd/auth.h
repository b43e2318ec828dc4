/*
 * auth.h - SASL PLAIN (RFC 4616) and LOGIN decoding for submitd's AUTH
 * command (RFC 4954).
 *
 * Pure functions from the client's text to credentials: no I/O, no
 * allocation, no globals, so they can be fuzzed alone (tests/fuzz/
 * fuzz-sasl.c).  They run in the unprivileged submitd.smtp role; the
 * credentials they produce are checked by the root parent through PAM.
 *
 *	struct sasl_creds cr;
 *	if (sasl_mech_parse(cmd->arg, &mech, &initial) == SASL_OK &&
 *	    mech == SASL_MECH_PLAIN && initial != NULL &&
 *	    sasl_plain_decode(initial, &cr) == SASL_OK)
 *		... ask the parent; then sasl_creds_wipe(&cr);
 *
 * Every field is bounded; a password never leaves a struct sasl_creds
 * that the caller wipes.
 */
#ifndef SM_SUBMIT_AUTH_H
#define SM_SUBMIT_AUTH_H

#include <stddef.h>

#define SASL_ID_MAX	255	/* authcid / authzid, octets */
#define SASL_PASS_MAX	511	/* as much as libcrypt hashes */

enum sasl_mech {
	SASL_MECH_NONE = 0,
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN
};

enum sasl_result {
	SASL_OK = 0,
	SASL_ERR_SYNTAX,	/* AUTH arguments malformed: 501 5.5.2 */
	SASL_ERR_MECH,		/* unknown mechanism: 504 5.5.4 */
	SASL_ERR_BASE64,	/* not base64: 501 5.5.2 */
	SASL_ERR_FORMAT,	/* decoded message malformed: 501 5.5.2 */
	SASL_ERR_TOOLONG,	/* a field exceeds its limit: 500 5.5.6 */
	SASL_CANCEL		/* the client sent "*": 501 5.0.0 */
};

struct sasl_creds {
	char	 authzid[SASL_ID_MAX + 1];	/* "" when absent */
	char	 authcid[SASL_ID_MAX + 1];
	char	 password[SASL_PASS_MAX + 1];
};

/*
 * "PLAIN [initial-response]" (the argument of AUTH): the mechanism and
 * the initial response (a pointer into arg), or NULL when none was
 * given.  An initial response of "=" is the empty response (RFC 4954 4)
 * and is returned as "".
 */
enum sasl_result sasl_mech_parse(const char *arg, enum sasl_mech *mech_r,
	    const char **initial_r);

/*
 * Strict base64 (RFC 4648 4, padding required, no white space) of in
 * into out; *outlen_r gets the decoded length.  SASL_ERR_BASE64 or
 * SASL_ERR_TOOLONG when out (outsize bytes) cannot hold it.
 */
enum sasl_result sasl_base64_decode(const char *in, unsigned char *out,
	    size_t outsize, size_t *outlen_r);

/* Encode len bytes of in as base64 into out (NUL-terminated); -1 if short */
int	 sasl_base64_encode(const void *in, size_t len, char *out,
	    size_t outsize);

/*
 * A PLAIN response: base64 of [authzid] NUL authcid NUL password.
 * authcid and password must be non-empty, identities must be free of
 * control characters.  "*" is SASL_CANCEL.
 */
enum sasl_result sasl_plain_decode(const char *b64, struct sasl_creds *cr);

/*
 * One LOGIN response (the user name or the password): base64 text
 * without NUL bytes into out (outsize bytes, NUL-terminated).  identity
 * nonzero also refuses control characters.  "*" is SASL_CANCEL.
 */
enum sasl_result sasl_login_decode(const char *b64, char *out,
	    size_t outsize, int identity);

void	 sasl_creds_wipe(struct sasl_creds *);

/* A short reply text ("5.5.2 ...") with its code for a failed result. */
const char *sasl_result_reply(enum sasl_result, int *code_r);

#endif
