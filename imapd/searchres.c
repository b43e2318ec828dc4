/*
 * searchres.c - SEARCHRES (RFC 5182): the result a SEARCH (or SORT)
 * RETURN (SAVE) keeps, and "$", which names it in a later command's
 * sequence set (FETCH, STORE, COPY, MOVE, UID EXPUNGE, SEARCH's own
 * keys, their UID forms).
 *
 * The result is kept per session as UIDs, ascending, so it names the
 * same messages after an EXPUNGE (an expunged one simply drops out: UIDs
 * are never reused); selecting, closing or unselecting a mailbox empties
 * it (client_view_reset).  Runs in the per-user imapd process; the
 * numbers come from this session's own search over its own view.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "xmalloc.h"

void
searchres_reset(struct client *c)
{
	free(c->saved);
	c->saved = NULL;
	c->nsaved = 0;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Keep n results (sequence numbers, or UIDs with uid) as the saved
 * result, as UIDs (esearch_save() picks MIN and MAX).
 */
void
searchres_save(struct client *c, const uint32_t *hits, size_t n, int uid)
{
	uint32_t	 v;
	size_t		 i, k = 0;

	searchres_reset(c);
	c->saved = xreallocarray(NULL, n + 1, sizeof(*c->saved));
	for (i = 0; i < n; i++) {
		v = hits[i];
		if (!uid) {
			if (v == 0 || v > c->n)
				continue;
			v = c->uids[v - 1];
		}
		c->saved[k++] = v;
	}
	qsort(c->saved, k, sizeof(*c->saved), uid_cmp);
	c->nsaved = k;
}

/* Is the message with this UID in the saved result? */
int
searchres_has(const struct client *c, uint32_t uid)
{
	return c->nsaved > 0 && bsearch(&uid, c->saved, c->nsaved,
	    sizeof(*c->saved), uid_cmp) != NULL;
}

/*
 * "$" as client_msgset() answers it: the view positions of the saved
 * messages still there, ascending.  Never an error: an empty result
 * names no message.
 */
int
searchres_msgset(struct client *c, uint32_t **out, size_t *n_r)
{
	size_t	 i, n = 0;

	*out = xreallocarray(NULL, c->n + 1, sizeof(**out));
	for (i = 0; i < c->n; i++)
		if (searchres_has(c, c->uids[i]))
			(*out)[n++] = (uint32_t)i;
	*n_r = n;
	return 0;
}
