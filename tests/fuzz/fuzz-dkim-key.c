/*
 * fuzz-dkim-key.c - libFuzzer target for the DKIM key record parser
 * (common/dkim_key.c, dkim_tag.c), which turns a DNS answer into an
 * OpenSSL public key.  Checks that an accepted record is usable as the
 * verifier will use it: a key of the type named, RSA of 1024 to 8192
 * bits, or revoked with no key at all; a refused one has a reason.
 *
 *	./sealmail.sh fuzz	(builds it with the line in fuzz_sources)
 *	tests/fuzz/bin/fuzz-dkim-key tests/fuzz/corpus/dkim-key
 */
#include <stdint.h>
#include <stdlib.h>

#include "dkim.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key	 k;
	const char	*why = NULL;
	int		 id;

	if (dkim_key_parse((const char *)data, size, &k, &why) != DKIM_P_OK) {
		if (why == NULL || k.pkey != NULL)
			abort();
		return 0;
	}
	if (k.revoked != (k.pkey == NULL))
		abort();
	if (k.pkey != NULL) {
		id = EVP_PKEY_get_base_id(k.pkey);
		if (k.type == DKIM_KEY_ED25519 ? id != EVP_PKEY_ED25519 :
		    id != EVP_PKEY_RSA || k.bits < DKIM_RSA_MIN_BITS ||
		    k.bits > DKIM_RSA_MAX_BITS)
			abort();
	}
	dkim_key_clear(&k);
	return 0;
}
