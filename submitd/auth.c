/*
 * auth.c - SASL PLAIN and LOGIN decoding; see auth.h.
 *
 * A parser of hostile input (the AUTH command and its 334 continuation
 * lines, straight from the network) running in the unprivileged,
 * chrooted submitd.smtp role.  It only decodes: every output has a fixed
 * maximum, nothing is allocated, and intermediate buffers holding a
 * password are wiped before returning.  Whether the credentials are
 * right is decided by the root parent through PAM.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "base64.h"

/* The decoded PLAIN message: two identities, a password, two NULs. */
#define SASL_PLAIN_MAX	(2 * SASL_ID_MAX + SASL_PASS_MAX + 2)

enum sasl_result
sasl_base64_decode(const char *in, unsigned char *out, size_t outsize,
    size_t *outlen_r)
{
	size_t	 len = strlen(in);

	*outlen_r = 0;
	if (len % 4 != 0)
		return SASL_ERR_BASE64;
	if (len / 4 * 3 > outsize + 2)
		return SASL_ERR_TOOLONG;
	switch (base64_decode(in, len, out, outsize, outlen_r, 0)) {
	case BASE64_OK:
		return SASL_OK;
	case BASE64_ERR_LONG:
		return SASL_ERR_TOOLONG;
	default:
		return SASL_ERR_BASE64;
	}
}

int
sasl_base64_encode(const void *in, size_t len, char *out, size_t outsize)
{
	if (BASE64_ENCODED_LEN(len) + 1 > outsize)
		return -1;
	base64_encode_raw(in, len, out);
	out[BASE64_ENCODED_LEN(len)] = '\0';
	return 0;
}

enum sasl_result
sasl_mech_parse(const char *arg, enum sasl_mech *mech_r,
    const char **initial_r)
{
	const char *sp;
	size_t	 mlen;

	*mech_r = SASL_MECH_NONE;
	*initial_r = NULL;
	if (arg == NULL || *arg == '\0')
		return SASL_ERR_SYNTAX;
	sp = strchr(arg, ' ');
	mlen = sp != NULL ? (size_t)(sp - arg) : strlen(arg);
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		*mech_r = SASL_MECH_PLAIN;
	else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		*mech_r = SASL_MECH_LOGIN;
	else if (mlen == 0)
		return SASL_ERR_SYNTAX;
	else
		return SASL_ERR_MECH;
	if (sp == NULL)
		return SASL_OK;
	/* exactly one space, then one token */
	sp++;
	if (*sp == '\0' || strchr(sp, ' ') != NULL) {
		*mech_r = SASL_MECH_NONE;
		return SASL_ERR_SYNTAX;
	}
	*initial_r = strcmp(sp, "=") == 0 ? sp + 1 : sp;
	return SASL_OK;
}

/* An identity: non-empty is the caller's business; no control bytes. */
static int
identity_ok(const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

static enum sasl_result
copy_field(char *dst, size_t dstsize, const unsigned char *p, size_t n)
{
	if (n >= dstsize)
		return SASL_ERR_TOOLONG;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return SASL_OK;
}

enum sasl_result
sasl_plain_decode(const char *b64, struct sasl_creds *cr)
{
	unsigned char	 msg[SASL_PLAIN_MAX];
	const unsigned char *z1, *z2, *end;
	size_t		 n;
	enum sasl_result r;

	memset(cr, 0, sizeof(*cr));
	if (strcmp(b64, "*") == 0)
		return SASL_CANCEL;
	if ((r = sasl_base64_decode(b64, msg, sizeof(msg), &n)) != SASL_OK)
		goto out;
	r = SASL_ERR_FORMAT;
	end = msg + n;
	if ((z1 = memchr(msg, '\0', n)) == NULL)
		goto out;
	if ((z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1))) == NULL)
		goto out;
	if (memchr(z2 + 1, '\0', (size_t)(end - z2 - 1)) != NULL)
		goto out;
	/* authcid and password must be there */
	if (z2 == z1 + 1 || z2 + 1 == end)
		goto out;
	if (!identity_ok(msg, (size_t)(z1 - msg)) ||
	    !identity_ok(z1 + 1, (size_t)(z2 - z1 - 1)))
		goto out;
	if ((r = copy_field(cr->authzid, sizeof(cr->authzid), msg,
	    (size_t)(z1 - msg))) != SASL_OK ||
	    (r = copy_field(cr->authcid, sizeof(cr->authcid), z1 + 1,
	    (size_t)(z2 - z1 - 1))) != SASL_OK ||
	    (r = copy_field(cr->password, sizeof(cr->password), z2 + 1,
	    (size_t)(end - z2 - 1))) != SASL_OK)
		goto out;
	r = SASL_OK;
out:
	explicit_bzero(msg, sizeof(msg));
	if (r != SASL_OK)
		sasl_creds_wipe(cr);
	return r;
}

enum sasl_result
sasl_login_decode(const char *b64, char *out, size_t outsize, int identity)
{
	unsigned char	 msg[SASL_PASS_MAX + 1];
	size_t		 n;
	enum sasl_result r;

	if (outsize > 0)
		out[0] = '\0';
	if (strcmp(b64, "*") == 0)
		return SASL_CANCEL;
	if ((r = sasl_base64_decode(b64, msg, sizeof(msg), &n)) != SASL_OK)
		goto out;
	r = SASL_ERR_FORMAT;
	if (n == 0 || memchr(msg, '\0', n) != NULL)
		goto out;
	if (identity && !identity_ok(msg, n))
		goto out;
	r = copy_field(out, outsize, msg, n);
out:
	explicit_bzero(msg, sizeof(msg));
	if (r != SASL_OK && outsize > 0)
		explicit_bzero(out, outsize);
	return r;
}

void
sasl_creds_wipe(struct sasl_creds *cr)
{
	explicit_bzero(cr, sizeof(*cr));
}

const char *
sasl_result_reply(enum sasl_result r, int *code_r)
{
	switch (r) {
	case SASL_OK:
		*code_r = 235;
		return "2.7.0 Authentication successful";
	case SASL_ERR_MECH:
		*code_r = 504;
		return "5.5.4 Unrecognized authentication type";
	case SASL_ERR_TOOLONG:
		*code_r = 500;
		return "5.5.6 Authentication exchange line is too long";
	case SASL_CANCEL:
		*code_r = 501;
		return "5.0.0 Authentication cancelled";
	case SASL_ERR_BASE64:
		*code_r = 501;
		return "5.5.2 Cannot decode response";
	case SASL_ERR_SYNTAX:
	case SASL_ERR_FORMAT:
	default:
		*code_r = 501;
		return "5.5.2 Malformed authentication exchange";
	}
}
