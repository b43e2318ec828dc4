/*
 * fuzz-authres.c - libFuzzer target for what smtpd.receiver reads of a
 * message's header before its verdict (smtpd/authres.c): the header's
 * end, its fields, the one From address with a display name or comment
 * that names another address, and whether an Authentication-Results
 * field claims our authserv-id.  Any bytes: an answer, never a crash;
 * a From address found is one SMTP could carry, and a claim is never
 * the From address itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "authres.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*h = malloc(size + 1);
	char		 from[AR_FROM_MAX + 1], claim[AR_FROM_MAX + 1];
	struct ar_field	 f;
	size_t		 n, pos = 0;
	int		 complete;

	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	n = ar_header_len(h, size, &complete);
	if (n > size)
		abort();
	while (ar_next_field(h, n, &pos, &f)) {
		if (f.off + f.len > n || f.value > f.off + f.len)
			abort();
		(void)ar_field_claims_id(h, &f, "mx.example.test");
	}
	if (ar_from_claims(h, n, from, claim, sizeof(claim)) == 0) {
		if (addr_check(from, ADDR_UTF8, NULL, 0) == -1)
			abort();
		if (claim[0] != '\0' && strcasecmp(claim, from) == 0)
			abort();
	}
	free(h);
	return 0;
}
