/*
 * expunged.c - what a folder remembers of its expunged messages, for
 * QRESYNC (RFC 7162 3.2): ranges of expunged UIDs with the modseq of the
 * expunge, so "which of these UIDs went away since modseq n" has an
 * answer (VANISHED (EARLIER)).
 *
 * Called by message.c (EXPUNGE) and mailbox.c (files another Maildir
 * user removed) as messages go, and by the session code (qresync.c) to
 * ask.  The ranges live in the folder's index (index.c) and in memory,
 * oldest first.  They are bounded: past EXPUNGED_MAX ranges the oldest
 * is forgotten and the folder's expunged_floor rises to its modseq; a
 * question about changes since an older modseq is then answered with
 * every asked-about UID that no longer exists, as RFC 7162 allows.
 * Expunges one right after the other (one EXPUNGE command, or one
 * rescan) with no living message between them share one range, its
 * modseq the latest: no session can have been told a modseq between.
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory); UIDs and modseqs asked about come from a client and are
 * only compared, never used to size anything.
 */
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "mailbox.h"
#include "xmalloc.h"

#define EXPUNGED_MAX	1024

static void
load_one(const struct mbox_expunged *e, void *arg)
{
	struct mbox	*mb = arg;

	mb->exp = xreallocarray(mb->exp, mb->nexp + 1, sizeof(*mb->exp));
	mb->exp[mb->nexp++] = *e;
}

static int
cmp_modseq(const void *a, const void *b)
{
	const struct mbox_expunged *x = a, *y = b;

	if (x->modseq != y->modseq)
		return x->modseq < y->modseq ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of the index of mb, oldest first. */
void
mbox_expunged_load(struct mbox *mb)
{
	mbox_expunged_free(mb);
	index_load_expunged(mb->ix, load_one, mb);
	if (mb->nexp > 1)
		qsort(mb->exp, mb->nexp, sizeof(*mb->exp), cmp_modseq);
}

void
mbox_expunged_free(struct mbox *mb)
{
	free(mb->exp);
	mb->exp = NULL;
	mb->nexp = 0;
}

/*
 * uid, no longer in mb->msgs, was expunged at modseq (the folder's
 * highest).  The caller saves the meta record (expunged_floor) after.
 */
void
mbox_expunged_add(struct mbox *mb, uint32_t uid, uint64_t modseq)
{
	struct mbox_expunged	*e;
	size_t			 pos;

	e = mb->nexp > 0 ? &mb->exp[mb->nexp - 1] : NULL;
	if (e != NULL && uid > e->hi && e->modseq + 1 >= modseq) {
		/* no other change and no living message in between */
		pos = mbox_uid_pos(mb, e->hi + 1);
		if (pos >= mb->n || mb->msgs[pos]->uid > uid) {
			e->hi = uid;
			e->modseq = modseq;
			index_put_expunged(mb->ix, e);
			return;
		}
	}
	mb->exp = xreallocarray(mb->exp, mb->nexp + 1, sizeof(*mb->exp));
	e = &mb->exp[mb->nexp++];
	e->lo = e->hi = uid;
	e->modseq = modseq;
	index_put_expunged(mb->ix, e);
	if (mb->nexp <= EXPUNGED_MAX)
		return;
	if (mb->exp[0].modseq > mb->meta.expunged_floor)
		mb->meta.expunged_floor = mb->exp[0].modseq;
	index_del_expunged(mb->ix, mb->exp[0].lo);
	memmove(&mb->exp[0], &mb->exp[1], (mb->nexp - 1) * sizeof(*mb->exp));
	mb->nexp--;
}

static int
cmp_lo(const void *a, const void *b)
{
	const struct uid_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort v by first UID and merge what overlaps or touches; the new n. */
size_t
uid_ranges_norm(struct uid_range *v, size_t n)
{
	size_t	 i, j;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_lo);
	for (i = 1, j = 0; i < n; i++) {
		if (v[i].lo <= v[j].hi || v[i].lo - 1 == v[j].hi) {
			if (v[i].hi > v[j].hi)
				v[j].hi = v[i].hi;
		} else
			v[++j] = v[i];
	}
	return j + 1;
}

/* a and b normalized: their intersection, normalized, in a new array. */
static size_t
ranges_and(const struct uid_range *a, size_t na, const struct uid_range *b,
    size_t nb, struct uid_range **out)
{
	size_t	 i = 0, j = 0, n = 0;
	uint32_t lo, hi;

	*out = xreallocarray(NULL, na + nb + 1, sizeof(**out));
	while (i < na && j < nb) {
		lo = a[i].lo > b[j].lo ? a[i].lo : b[j].lo;
		hi = a[i].hi < b[j].hi ? a[i].hi : b[j].hi;
		if (lo <= hi) {
			(*out)[n].lo = lo;
			(*out)[n++].hi = hi;
		}
		if (a[i].hi < b[j].hi)
			i++;
		else
			j++;
	}
	return n;
}

static void
range_add(struct uid_range **v, size_t *n, uint32_t lo, uint32_t hi)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].lo = lo;
	(*v)[(*n)++].hi = hi;
}

/* The UIDs of the ranges in v that no message of mb has. */
static size_t
ranges_gone(const struct mbox *mb, const struct uid_range *v, size_t n,
    struct uid_range **out)
{
	size_t		 i, pos, nout = 0;
	uint32_t	 u, m;

	*out = NULL;
	for (i = 0; i < n; i++) {
		u = v[i].lo;
		pos = mbox_uid_pos(mb, u);
		for (; pos < mb->n && mb->msgs[pos]->uid <= v[i].hi; pos++) {
			m = mb->msgs[pos]->uid;
			if (m > u)
				range_add(out, &nout, u, m - 1);
			if (m == v[i].hi)
				break;
			u = m + 1;
		}
		if (pos >= mb->n || mb->msgs[pos]->uid > v[i].hi)
			range_add(out, &nout, u, v[i].hi);
	}
	return nout;
}

/*
 * Which of the UIDs in known (normalized; NULL: every UID handed out)
 * were expunged after modseq since: exactly, when the folder still
 * remembers every expunge after since, else every one of them that no
 * message has now.  The ranges, normalized, in *out (to free).
 */
size_t
mbox_vanished(const struct mbox *mb, uint64_t since,
    const struct uid_range *known, size_t nknown, struct uid_range **out)
{
	struct uid_range	*cand = NULL, *both, all;
	size_t			 i, n = 0;

	*out = NULL;
	if (since >= mb->meta.expunged_floor) {
		for (i = 0; i < mb->nexp; i++)
			if (mb->exp[i].modseq > since)
				range_add(&cand, &n, mb->exp[i].lo,
				    mb->exp[i].hi);
		n = uid_ranges_norm(cand, n);
	} else if (mb->meta.uidnext > 1)
		range_add(&cand, &n, 1, mb->meta.uidnext - 1);
	if (known == NULL) {
		all.lo = 1;
		all.hi = UINT32_MAX;
		known = &all;
		nknown = 1;
	}
	n = ranges_and(cand, n, known, nknown, &both);
	free(cand);
	n = ranges_gone(mb, both, n, out);
	free(both);
	return n;
}
