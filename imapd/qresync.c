/*
 * qresync.c - CONDSTORE and QRESYNC (RFC 7162) in a session.
 *
 * CONDSTORE is on once the client enables it or uses what needs it
 * (SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE, STORE
 * UNCHANGEDSINCE, SEARCH MODSEQ); with a mailbox selected, turning it on
 * tells the client the mailbox's HIGHESTMODSEQ.  QRESYNC is enabled by
 * ENABLE QRESYNC (and implies CONDSTORE); from then on expunges are
 * reported as VANISHED, SELECT/EXAMINE may carry (QRESYNC (uidvalidity
 * modseq [known-uids [seq-match-data]])), answered with VANISHED
 * (EARLIER) and the FETCH of every message changed since, and UID FETCH
 * may ask (CHANGEDSINCE n VANISHED).  Which UIDs were expunged since a
 * modseq comes from the folder (expunged.c).
 *
 * Called by the command code of the per-user process (cmd-*.c,
 * client.c); everything parsed here comes from the client and is checked
 * before use.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"
#include "qresync.h"
#include "xmalloc.h"

/* CONDSTORE is on from now; a selected mailbox's HIGHESTMODSEQ is told. */
void
condstore_enable(struct client *c)
{
	if (c->condstore)
		return;
	c->condstore = 1;
	if (c->state == CS_SELECTED && c->mb != NULL)
		client_printf(c, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)(c->seen_modseq != 0 ?
		    c->seen_modseq : c->mb->meta.highestmodseq));
}

/*
 * A UID set of the client as normalized ranges ('*': the last UID handed
 * out, so an expunged last message is still named).  -1 if malformed.
 */
static int
set_ranges(const struct client *c, const char *s, struct uid_range **out,
    size_t *n_r)
{
	struct imap_seqset	 set;
	uint32_t		 star;
	size_t			 i;

	if (imap_seqset_parse(s, &set) == -1)
		return -1;
	star = c->mb->meta.uidnext > 1 ? c->mb->meta.uidnext - 1 : 1;
	*out = xreallocarray(NULL, set.n + 1, sizeof(**out));
	for (i = 0; i < set.n; i++)
		imap_seqrange_resolve(&set.r[i], star, &(*out)[i].lo,
		    &(*out)[i].hi);
	*n_r = uid_ranges_norm(*out, set.n);
	imap_seqset_free(&set);
	return 0;
}

static int
in_ranges(const struct uid_range *v, size_t n, uint32_t uid)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].hi < uid)
			lo = mid + 1;
		else if (v[mid].lo > uid)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

/* "* VANISHED [(EARLIER) ]uids" unless there are none. */
static void
vanished_line(struct client *c, int earlier, const struct uid_range *v,
    size_t n)
{
	struct buf	 b;
	size_t		 i;

	if (n == 0)
		return;
	buf_init(&b, 0);
	buf_addstr(&b, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s%u", i ? "," : "", v[i].lo);
		if (v[i].hi > v[i].lo)
			buf_printf(&b, ":%u", v[i].hi);
	}
	buf_addstr(&b, "\r\n");
	client_write(c, b.data, b.len);
	buf_free(&b);
}

/* VANISHED (EARLIER) for the UIDs of known gone since since. */
static void
vanished_earlier(struct client *c, uint64_t since,
    const struct uid_range *known, size_t nknown)
{
	struct uid_range	*v;
	size_t			 n;

	n = mbox_vanished(c->mb, since, known, nknown, &v);
	vanished_line(c, 1, v, n);
	free(v);
}

static int
seqset_valid(const struct imap_arg *a)
{
	struct imap_seqset	 set;
	const char		*s;

	if (imap_arg_atom(a, &s) == -1 || imap_seqset_parse(s, &set) == -1)
		return 0;
	imap_seqset_free(&set);
	return 1;
}

/* (uidvalidity modseq [known-uids [(seqs uids)]]) */
static int
qresync_param(const struct imap_arg *a, struct select_params *p)
{
	const struct imap_list	*l;
	const char		*s;
	uint64_t		 v;

	if (a->type != IMAP_ARG_LIST || (l = a->list)->n < 2 || l->n > 4)
		return -1;
	if (imap_arg_atom(&l->v[0], &s) == -1 ||
	    condstore_number(s, &v) == -1 || v == 0 || v > UINT32_MAX)
		return -1;
	p->uidvalidity = (uint32_t)v;
	if (imap_arg_atom(&l->v[1], &s) == -1 ||
	    condstore_number(s, &p->modseq) == -1)
		return -1;
	if (l->n >= 3) {
		if (!seqset_valid(&l->v[2]))
			return -1;
		imap_arg_atom(&l->v[2], &p->known);
	}
	/* seq-match-data is checked; what is kept answers without it */
	if (l->n == 4 && (l->v[3].type != IMAP_ARG_LIST ||
	    l->v[3].list->n != 2 || !seqset_valid(&l->v[3].list->v[0]) ||
	    !seqset_valid(&l->v[3].list->v[1])))
		return -1;
	p->qresync = 1;
	return 0;
}

/*
 * The parameter list of SELECT/EXAMINE (RFC 4466): CONDSTORE, QRESYNC
 * (only once enabled).  -1 with *err set: a BAD.
 */
int
select_params_parse(struct client *c, const struct imap_list *l,
    struct select_params *p, const char **err)
{
	size_t	 i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < l->n; i++) {
		if (imap_arg_is_atom(&l->v[i], "CONDSTORE")) {
			p->condstore = 1;
			continue;
		}
		if (!imap_arg_is_atom(&l->v[i], "QRESYNC")) {
			*err = "Unknown SELECT parameter";
			return -1;
		}
		if (!c->qresync) {
			*err = "ENABLE QRESYNC first";
			return -1;
		}
		if (i + 1 >= l->n || qresync_param(&l->v[++i], p) == -1) {
			*err = "QRESYNC (uidvalidity modseq [known-uids "
			    "[(seqs uids)]])";
			return -1;
		}
	}
	return 0;
}

/*
 * After a SELECT's own responses: with a QRESYNC parameter whose
 * UIDVALIDITY still holds, what changed since its modseq (of the
 * known-uids, if given).
 */
void
qresync_select(struct client *c, const struct select_params *p)
{
	struct uid_range	*known = NULL;
	struct imsg		*m;
	struct buf		 fl;
	size_t			 nknown = 0, i;

	if (!p->qresync || p->uidvalidity != c->mb->meta.uidvalidity)
		return;
	if (p->known != NULL && set_ranges(c, p->known, &known,
	    &nknown) == -1)
		return;
	vanished_earlier(c, p->modseq, known, nknown);
	buf_init(&fl, 0);
	for (i = 0; i < c->n; i++) {
		if ((m = client_msg(c, i)) == NULL || m->modseq <= p->modseq ||
		    (known != NULL && !in_ranges(known, nknown, m->uid)))
			continue;
		buf_reset(&fl);
		client_flags(c, m, &fl);
		client_printf(c, "* %zu FETCH (UID %u FLAGS %s MODSEQ (%llu))"
		    "\r\n", i + 1, m->uid, buf_cstr(&fl),
		    (unsigned long long)m->modseq);
		if (c->known[i] < m->modseq)
			c->known[i] = m->modseq;
	}
	buf_free(&fl);
	free(known);
}

/* UID FETCH ... (CHANGEDSINCE since VANISHED): the set's gone UIDs. */
int
qresync_vanished(struct client *c, uint64_t since, const char *uidset)
{
	struct uid_range	*set;
	size_t			 n;

	if (set_ranges(c, uidset, &set, &n) == -1)
		return -1;
	vanished_earlier(c, since, set, n);
	free(set);
	return 0;
}

/*
 * With QRESYNC on, the messages of the session's view that are gone, as
 * one VANISHED (client_sync() then drops them without EXPUNGE).
 */
void
qresync_expunged(struct client *c)
{
	struct uid_range	*gone;
	size_t			 i, n = 0;

	if (!c->qresync || c->mb == NULL)
		return;
	gone = xreallocarray(NULL, c->n + 1, sizeof(*gone));
	for (i = 0; i < c->n; i++) {
		if (mbox_find_uid(c->mb, c->uids[i]) != NULL)
			continue;
		if (n > 0 && gone[n - 1].hi + 1 == c->uids[i])
			gone[n - 1].hi = c->uids[i];
		else {
			gone[n].lo = gone[n].hi = c->uids[i];
			n++;
		}
	}
	vanished_line(c, 0, gone, n);
	free(gone);
}
