/*
 * fuzz-keyserver.c - libFuzzer target for the key server's command
 * parser (keystore/ks_proto.c): each input line is parsed alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ks_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ks_cmd cmd;
	const uint8_t *nl;

	while (len > 0) {
		nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		ks_parse_line((const char *)data, n, &cmd);
		if (cmd.verb == KS_CMD_KEY && strlen(cmd.address) > 254)
			__builtin_trap();
		data += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}
