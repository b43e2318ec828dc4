/*
 * ks_req.c - names and requests of the signing protocol; see ks_req.h.
 *
 * Input here comes from the keystore's clients (through keystore.server)
 * and is checked field by field: the exact fields of the type and
 * nothing after them, an owner that is a valid address or domain, an
 * algorithm we sign with, a selector that is a DNS label, a digest of
 * exactly 32 bytes.
 */
#include <string.h>

#include "ipc.h"
#include "ks_req.h"
#include "userdb.h"

const char *
ks_alg_name(enum dkim_alg a)
{
	return dkim_alg_name(a);
}

int
ks_alg_parse(const char *s, enum dkim_alg *a)
{
	if (strcmp(s, "rsa-sha256") == 0)
		*a = DKIM_ALG_RSA_SHA256;
	else if (strcmp(s, "ed25519-sha256") == 0)
		*a = DKIM_ALG_ED25519_SHA256;
	else
		return -1;
	return 0;
}

int
ks_selector_valid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > KS_SELECTOR_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
ks_owner_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if (strchr(in, '@') != NULL)
		return userdb_addr_canon(in, out, outlen, err, errlen);
	return userdb_domain_canon(in, out, outlen, err, errlen);
}

const char *
ks_owner_domain(const char *owner)
{
	const char *at = strrchr(owner, '@');

	return at != NULL ? at + 1 : owner;
}

int
ks_req_decode(struct ipc_msg *m, struct ks_req *r, const char **why)
{
	const char	*owner, *alg, *sel;
	const void	*dg;
	size_t		 dglen;

	memset(r, 0, sizeof(*r));
	r->type = m->type;
	if (m->fd != -1) {
		*why = "no file descriptors in keystore requests";
		return -1;
	}
	if (m->type != IPC_KS_GETKEYS && m->type != IPC_KS_SIGN) {
		*why = "unknown request";
		return -1;
	}
	if (ipc_get_str(m, &owner) == -1) {
		*why = "malformed request";
		return -1;
	}
	if (strlen(owner) > KS_OWNER_MAX ||
	    ks_owner_canon(owner, r->owner, sizeof(r->owner), NULL, 0) == -1) {
		*why = "not an address or a domain";
		return -1;
	}
	if (m->type == IPC_KS_SIGN) {
		if (ipc_get_str(m, &alg) == -1 || ipc_get_str(m, &sel) == -1 ||
		    ipc_get_data(m, &dg, &dglen) == -1) {
			*why = "malformed request";
			return -1;
		}
		if (ks_alg_parse(alg, &r->alg) == -1) {
			*why = "unknown algorithm";
			return -1;
		}
		if (!ks_selector_valid(sel)) {
			*why = "not a selector";
			return -1;
		}
		if (dglen != DKIM_DIGEST_LEN) {
			*why = "the digest must be 32 bytes";
			return -1;
		}
		memcpy(r->selector, sel, strlen(sel) + 1);
		memcpy(r->digest, dg, DKIM_DIGEST_LEN);
	}
	if (ipc_get_end(m) == -1) {
		*why = "malformed request";
		return -1;
	}
	return 0;
}

struct ipc_msg *
ks_req_encode(const struct ks_req *r, uint32_t id)
{
	struct ipc_msg	*m = ipc_msg_new(r->type, id);

	ipc_add_str(m, r->owner);
	if (r->type == IPC_KS_SIGN) {
		ipc_add_str(m, ks_alg_name(r->alg));
		ipc_add_str(m, r->selector);
		ipc_add_data(m, r->digest, DKIM_DIGEST_LEN);
	}
	return m;
}
