/*
 * fuzz-address.c - libFuzzer target for the RFC 5321 half of the address
 * grammar (common/addr.c), which every MAIL FROM, RCPT TO and LMTP
 * address passes through, and userdb's keys built on it.  Any bytes give
 * a verdict, never a crash, and:
 *  - the canonical form is within the limits, never longer than the
 *    input, checks again, and is its own canonical form (parsing what
 *    format wrote gives the same mailbox back);
 *  - a local user address is also a path mailbox, with and without
 *    SMTPUTF8, and its Maildir path never climbs out;
 *  - a path delimited by addr_path_scan lies inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "userdb.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
canon_props(const char *s, int flags)
{
	char	 out[ADDR_MAX + 1], again[ADDR_MAX + 1];
	int	 r;

	r = addr_canon(s, flags, out, sizeof(out), NULL, 0);
	if (r != addr_check(s, flags, NULL, 0))
		__builtin_trap();
	if (r == -1)
		return;
	if (strlen(out) > ADDR_MAX || strlen(out) > strlen(s) ||
	    addr_canon(out, flags, again, sizeof(again), NULL, 0) != 0 ||
	    strcmp(out, again) != 0)
		__builtin_trap();
	/* the local rule is the path rule and more */
	if ((flags & ADDR_LOCAL) && (addr_check(s, 0, NULL, 0) != 0 ||
	    addr_check(s, ADDR_UTF8, NULL, 0) != 0 || strcmp(out, s) != 0))
		__builtin_trap();
	/* ASCII-only passes are UTF-8 passes too */
	if (!(flags & ADDR_UTF8) && addr_check(s, flags | ADDR_UTF8, NULL,
	    0) != 0)
		__builtin_trap();
}

static void
userdb_props(const char *s)
{
	char	 out[USERDB_ADDR_MAX + 1], *md;

	if (userdb_addr_canon(s, out, sizeof(out), NULL, 0) != 0)
		return;
	if (strlen(out) > USERDB_ADDR_MAX ||
	    userdb_addr_check(out, USERDB_ADDR_LOCAL, NULL, 0) != 0)
		__builtin_trap();
	if ((md = userdb_maildir("/m", out)) == NULL ||
	    strstr(md, "/../") != NULL || strstr(md, "/./") != NULL)
		__builtin_trap();
	free(md);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct addr_path ap;
	char	*s;
	int	 f;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	for (f = 0; f < 4; f++)
		canon_props(s, f);
	userdb_props(s);
	(void)addr_domain_check(s, ADDR_UTF8 | ADDR_HELO, NULL, 0);
	if (addr_path_scan(s, ADDR_UTF8, &ap) == 0 && (ap.len > strlen(s) ||
	    ap.mbox + ap.mboxlen >= ap.len || ap.len > ADDR_PATH_MAX))
		__builtin_trap();
	free(s);
	return 0;
}
