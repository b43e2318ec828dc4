/*
 * condstore.c - the pure parts of CONDSTORE (RFC 7162): reading a
 * mod-sequence value and the MODSEQ a SEARCH result reports.
 *
 * Called by the command code of the per-user process (cmd-fetch.c,
 * cmd-search.c, cmd-select.c, qresync.c) on strings from the client;
 * nothing here allocates.
 */
#include <stddef.h>
#include <stdint.h>

#include "qresync.h"

#define MODSEQ_MAX	((uint64_t)INT64_MAX)	/* RFC 7162 mod-sequence */

/* A mod-sequence-value: digits, at most 2^63-1.  0, or -1. */
int
condstore_number(const char *s, uint64_t *v)
{
	uint64_t	 x = 0, d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (uint64_t)(*s - '0');
		if (x > (MODSEQ_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/*
 * The MODSEQ of a SEARCH result (RFC 7162 3.1.5): the highest of the n
 * matched messages' (mods, in result order); with which (MODSEQ_OF_MIN,
 * MODSEQ_OF_MAX) only of the first and/or last, as ESEARCH returning
 * MIN and/or MAX alone wants (3.1.10).  0 for no messages.
 */
uint64_t
condstore_result_modseq(const uint64_t *mods, size_t n, int which)
{
	uint64_t	 max = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (mods[i] > max && (which == 0 ||
		    (i == 0 && (which & MODSEQ_OF_MIN)) ||
		    (i == n - 1 && (which & MODSEQ_OF_MAX))))
			max = mods[i];
	return max;
}
