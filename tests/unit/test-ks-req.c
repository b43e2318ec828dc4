/*
 * test-ks-req.c - the decoder of signing requests (keystore/ks_req.c):
 * what keystore.server and the root parent accept from a client, field
 * by field, and the reason they give for what they refuse.
 */
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "ks_req.h"
#include "test.h"

enum { F_END, F_STR, F_U32, F_DATA };

struct field {
	int		 kind;
	const char	*s;
	size_t		 n;		/* F_DATA length, F_U32 value */
};

static const uint8_t digest[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static const struct {
	const char	*name;
	uint32_t	 type;
	struct field	 f[6];
	const char	*why;		/* NULL: accepted */
	const char	*owner;		/* canonical, when accepted */
} cases[] = {
	{ "getkeys of an address", IPC_KS_GETKEYS,
	    { { F_STR, "Alice@Example.TEST", 0 } }, NULL,
	    "Alice@example.test" },
	{ "getkeys of a domain", IPC_KS_GETKEYS,
	    { { F_STR, "Example.Test", 0 } }, NULL, "example.test" },
	{ "sign rsa", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "sabcdefgh2345", 0 }, { F_DATA, NULL, 32 } }, NULL,
	    "a@example.test" },
	{ "sign ed25519", IPC_KS_SIGN,
	    { { F_STR, "example.test", 0 }, { F_STR, "ed25519-sha256", 0 },
	    { F_STR, "s1", 0 }, { F_DATA, NULL, 32 } }, NULL,
	    "example.test" },
	{ "digest of 31 bytes", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "s1", 0 }, { F_DATA, NULL, 31 } },
	    "the digest must be 32 bytes", NULL },
	{ "digest of 33 bytes", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "s1", 0 }, { F_DATA, NULL, 33 } },
	    "the digest must be 32 bytes", NULL },
	{ "rsa-sha1", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha1", 0 },
	    { F_STR, "s1", 0 }, { F_DATA, NULL, 32 } },
	    "unknown algorithm", NULL },
	{ "selector with a dot", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "s1.evil", 0 }, { F_DATA, NULL, 32 } },
	    "not a selector", NULL },
	{ "selector in capitals", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "SABC", 0 }, { F_DATA, NULL, 32 } },
	    "not a selector", NULL },
	{ "empty selector", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "", 0 }, { F_DATA, NULL, 32 } },
	    "not a selector", NULL },
	{ "digest sent as a string", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "s1", 0 }, { F_STR, "0123456789abcdef0123456789abcde",
	    0 } }, "malformed request", NULL },
	{ "sign without a digest", IPC_KS_SIGN,
	    { { F_STR, "a@example.test", 0 }, { F_STR, "rsa-sha256", 0 },
	    { F_STR, "s1", 0 } }, "malformed request", NULL },
	{ "a field too many", IPC_KS_GETKEYS,
	    { { F_STR, "a@example.test", 0 }, { F_U32, NULL, 1 } },
	    "malformed request", NULL },
	{ "owner as a number", IPC_KS_GETKEYS,
	    { { F_U32, NULL, 1 } }, "malformed request", NULL },
	{ "no owner", IPC_KS_GETKEYS, { { F_END, NULL, 0 } },
	    "malformed request", NULL },
	{ "owner with a space", IPC_KS_GETKEYS,
	    { { F_STR, "a b@example.test", 0 } },
	    "not an address or a domain", NULL },
	{ "owner with an empty local part", IPC_KS_GETKEYS,
	    { { F_STR, "@example.test", 0 } },
	    "not an address or a domain", NULL },
	{ "owner a bare label with a bad character", IPC_KS_GETKEYS,
	    { { F_STR, "exa_mple", 0 } }, "not an address or a domain", NULL },
	{ "a keystore answer sent as a request", IPC_KS_KEYS,
	    { { F_STR, "example.test", 0 } }, "unknown request", NULL },
	{ "another daemon's message", IPC_PARENT_AUTH,
	    { { F_STR, "a", 0 }, { F_STR, "b", 0 } }, "unknown request",
	    NULL },
};

static struct ipc_msg *
build(uint32_t type, const struct field *f)
{
	struct ipc_msg	*m = ipc_msg_new(type, 9);
	uint8_t		 big[64];
	size_t		 i;

	memset(big, 0, sizeof(big));
	memcpy(big, digest, sizeof(digest));
	for (i = 0; i < 6 && f[i].kind != F_END; i++) {
		if (f[i].kind == F_STR)
			ipc_add_str(m, f[i].s);
		else if (f[i].kind == F_U32)
			ipc_add_u32(m, (uint32_t)f[i].n);
		else
			ipc_add_data(m, big, f[i].n);
	}
	return m;
}

static void
test_ks_req_table(void)
{
	struct ks_req	 r;
	struct ipc_msg	*m;
	const char	*why;
	size_t		 i;
	int		 ret;

	test_begin("ks_req: requests are decoded field by field, the rest "
	    "refused with a reason");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = build(cases[i].type, cases[i].f);
		why = NULL;
		ret = ks_req_decode(m, &r, &why);
		if ((ret == 0) != (cases[i].why == NULL)) {
			printf("  case \"%s\": %s (%s)\n", cases[i].name,
			    ret == 0 ? "accepted" : "refused", why);
			test_assert(0);
		} else if (ret == -1)
			test_assert_str(why, cases[i].why);
		else
			test_assert_str(r.owner, cases[i].owner);
		ipc_msg_free(m);
	}
	test_end();
}

static void
test_ks_req_sign_fields_and_reencoding(void)
{
	struct ks_req	 r, r2;
	struct ipc_msg	*m, *m2;
	const char	*why;

	test_begin("ks_req: a SIGN carries owner, algorithm, selector and "
	    "digest, and is forwarded unchanged");
	m = build(IPC_KS_SIGN, cases[2].f);
	test_assert(ks_req_decode(m, &r, &why) == 0);
	test_assert(r.type == IPC_KS_SIGN);
	test_assert(r.alg == DKIM_ALG_RSA_SHA256);
	test_assert_str(r.selector, "sabcdefgh2345");
	test_assert(memcmp(r.digest, digest, 32) == 0);
	m2 = ks_req_encode(&r, 77);
	test_assert(m2->id == 77 && m2->type == IPC_KS_SIGN);
	test_assert(ks_req_decode(m2, &r2, &why) == 0);
	test_assert(memcmp(&r, &r2, sizeof(r)) == 0);
	ipc_msg_free(m);
	ipc_msg_free(m2);
	test_end();
}

static void
test_ks_req_refuses_descriptors(void)
{
	struct ks_req	 r;
	struct ipc_msg	*m;
	const char	*why;

	test_begin("ks_req: a request that came with a file descriptor is "
	    "refused");
	m = build(IPC_KS_GETKEYS, cases[0].f);
	ipc_msg_setfd(m, dup(0));
	test_assert(ks_req_decode(m, &r, &why) == -1);
	test_assert_str(why, "no file descriptors in keystore requests");
	ipc_msg_free(m);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ks_req_table,
		test_ks_req_sign_fields_and_reencoding,
		test_ks_req_refuses_descriptors,
		NULL
	};

	return test_run(tests);
}
