/*
 * fuzz-address.c - libFuzzer target for the address checks of
 * common/userdb.c, which every RCPT TO, MAIL FROM and LMTP recipient
 * passes through before a lookup: any bytes give a verdict, never a
 * crash, and an accepted address canonicalises within its limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "userdb.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	 out[USERDB_ADDR_MAX + 1], err[256], *s, *md;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	(void)userdb_addr_check(s, USERDB_ADDR_UTF8, err, sizeof(err));
	if (userdb_addr_canon(s, out, sizeof(out), err, sizeof(err)) == 0) {
		if (strlen(out) > USERDB_ADDR_MAX ||
		    userdb_addr_check(out, USERDB_ADDR_LOCAL, err,
		    sizeof(err)) != 0)
			__builtin_trap();
		if ((md = userdb_maildir("/m", out)) == NULL ||
		    strstr(md, "/../") != NULL)
			__builtin_trap();
		free(md);
	}
	free(s);
	return 0;
}
