/*
 * fuzz-config.c - libFuzzer target for the sealmail.conf parser
 * (common/config.c): any byte string must give a config or an error
 * that names file and line, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sm_config c;
	char	 err[512];

	if (config_parse_mem("fuzz.conf", (const char *)data, len, &c, err,
	    sizeof(err)) == 0)
		config_free(&c);
	else if (strncmp(err, "fuzz.conf:", 10) != 0)
		__builtin_trap();
	return 0;
}
