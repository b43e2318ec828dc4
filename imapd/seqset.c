/*
 * seqset.c - IMAP sequence sets ("1:3,7,10:*"; see parser.h): read from
 * a command argument, resolved against a mailbox's largest number or
 * UID, and written back from ascending numbers (SEARCH, EXPUNGE, COPYUID,
 * APPENDUID).  Every number up to 4294967295 is legal (RFC 9051); '*' is
 * kept as IMAP_SEQ_STAR until the set is used.
 *
 * Runs in imapd's per-user process on client input; fuzzed with the
 * parser (tests/fuzz/fuzz-imap.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "parser.h"
#include "xmalloc.h"

static int
seq_number(const char **sp, uint32_t *n_r)
{
	const char	*s = *sp;
	uint64_t	 v = 0;

	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
		s++;
	}
	*n_r = (uint32_t)v;
	*sp = s;
	return 0;
}

int
imap_seqset_parse(const char *s, struct imap_seqset *set)
{
	struct imap_seqrange	 r;
	size_t			 cap = 0;

	set->r = NULL;
	set->n = 0;
	for (;;) {
		if (seq_number(&s, &r.lo) == -1)
			goto bad;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (seq_number(&s, &r.hi) == -1)
				goto bad;
		}
		/* a range with '*' is ordered once '*' is known */
		if (r.lo > r.hi && r.hi != IMAP_SEQ_STAR) {
			uint32_t t = r.lo;
			r.lo = r.hi;
			r.hi = t;
		}
		if (set->n == cap) {
			if (cap >= 65536)
				goto bad;
			cap = cap ? cap * 2 : 4;
			set->r = xreallocarray(set->r, cap, sizeof(*set->r));
		}
		set->r[set->n++] = r;
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			goto bad;
	}
bad:
	imap_seqset_free(set);
	return -1;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

/* Range r with '*' standing for star, as lo <= hi. */
void
imap_seqrange_resolve(const struct imap_seqrange *r, uint32_t star,
    uint32_t *lo, uint32_t *hi)
{
	*lo = r->lo == IMAP_SEQ_STAR ? star : r->lo;
	*hi = r->hi == IMAP_SEQ_STAR ? star : r->hi;
	if (*lo > *hi) {
		star = *lo;
		*lo = *hi;
		*hi = star;
	}
}

/* Is n in the set, with '*' standing for star (the largest in use)? */
int
imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
    uint32_t star)
{
	uint32_t	 lo, hi;
	size_t		 i;

	for (i = 0; i < set->n; i++) {
		imap_seqrange_resolve(&set->r[i], star, &lo, &hi);
		if (n >= lo && n <= hi)
			return 1;
	}
	return 0;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set, uint32_t star)
{
	uint32_t	 m = 0, v;
	size_t		 i;

	for (i = 0; i < set->n; i++) {
		v = set->r[i].hi == IMAP_SEQ_STAR ? star : set->r[i].hi;
		if (v > m)
			m = v;
		v = set->r[i].lo == IMAP_SEQ_STAR ? star : set->r[i].lo;
		if (v > m)
			m = v;
	}
	return m;
}

/* "1:3,5" from n ascending numbers: a sequence set written back. */
void
imap_seqset_format(const uint32_t *v, size_t n, struct buf *b)
{
	size_t	 i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		buf_printf(b, "%s%u", i ? "," : "", v[i]);
		if (j > i)
			buf_printf(b, ":%u", v[j]);
	}
}
