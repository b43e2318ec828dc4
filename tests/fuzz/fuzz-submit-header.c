/*
 * fuzz-submit-header.c - libFuzzer target for submitd's header scanner
 * (submitd/header.c), which reads From:/Sender: out of a submitted
 * message in the unprivileged role: every input is scanned as complete
 * and as a prefix, and each From address list is parsed alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../submitd/header.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char addrs[HDR_FROM_MAX][HDR_ADDR_MAX + 1];
	struct hdr_info hi;
	int	 i, n;

	if (hdr_scan((const char *)data, len, 1, &hi) == HDR_OK) {
		if (hi.header_len > len || hi.nfrom > HDR_FROM_MAX)
			__builtin_trap();
		for (i = 0; i < hi.nfrom; i++)
			if (strlen(hi.from[i]) > HDR_ADDR_MAX)
				__builtin_trap();
	}
	(void)hdr_scan((const char *)data, len / 2, 0, &hi);
	n = hdr_addr_list((const char *)data, len, addrs, HDR_FROM_MAX);
	if (n > HDR_FROM_MAX)
		__builtin_trap();
	return 0;
}
