/*
 * fuzz-config.c - libFuzzer target for the sealmail.conf parser
 * (common/config*.c): any byte string must give a config or an error
 * that names file and line, never a crash or a leak; a config it gives
 * is printed too (config_dump(), to /dev/null).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 devnull = -1;
	struct sm_config c;
	char	 err[512];

	if (devnull == -1 && (devnull = open("/dev/null", O_WRONLY)) == -1)
		__builtin_trap();
	if (config_parse_mem("fuzz.conf", (const char *)data, len, &c, err,
	    sizeof(err)) == 0) {
		config_dump(&c, devnull);
		config_free(&c);
	} else if (strncmp(err, "fuzz.conf:", 10) != 0)
		__builtin_trap();
	return 0;
}
