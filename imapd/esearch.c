/*
 * esearch.c - what SEARCH and SORT share of their results: the RETURN
 * options (ESEARCH, RFC 4731; ESORT, RFC 5267; SAVE, RFC 5182), the
 * "* ESEARCH" reply and keeping the result for "$".
 *
 * A result is an array of message numbers or UIDs in the order the
 * command produced them: ascending for SEARCH, sort order for SORT.  MIN
 * and MAX are its first and last entries, so ESORT's "lowest and highest
 * in sort order" and ESEARCH's "lowest and highest number" are one rule.
 * Runs in the per-user imapd process.
 */
#include <string.h>

#include "buf.h"
#include "imapd.h"

/*
 * RETURN (...) at args->v[*i]: 0 if there is none, 1 with the options
 * in *ret (ALL when the list is empty), -1 if malformed.
 */
int
esearch_parse_return(const struct imap_list *args, size_t *i, int *ret)
{
	static const struct { const char *name; int bit; } opts[] = {
		{ "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL },
		{ "COUNT", RET_COUNT }, { "SAVE", RET_SAVE },
	};
	const struct imap_list	*l;
	size_t			 j, k;

	*ret = 0;
	if (*i >= args->n || !imap_arg_is_atom(&args->v[*i], "RETURN"))
		return 0;
	if (*i + 1 >= args->n || args->v[*i + 1].type != IMAP_ARG_LIST)
		return -1;
	l = args->v[*i + 1].list;
	*i += 2;
	for (j = 0; j < l->n; j++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (imap_arg_is_atom(&l->v[j], opts[k].name))
				break;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret |= opts[k].bit;
	}
	if (*ret == 0)
		*ret = RET_ALL;
	return 1;
}

/* Only MIN and/or MAX asked for: then they are all SAVE keeps too. */
int
esearch_min_max_only(int ret)
{
	return !(ret & (RET_ALL | RET_COUNT)) && (ret & (RET_MIN | RET_MAX));
}

/* RETURN (SAVE ...): keep ids for "$" (RFC 5182 section 2.4). */
void
esearch_save(struct client *c, const uint32_t *ids, size_t n, int uid,
    int ret)
{
	uint32_t	 pick[2];
	size_t		 k = 0;

	if (n > 0 && esearch_min_max_only(ret)) {
		if (ret & RET_MIN)
			pick[k++] = ids[0];
		if ((ret & RET_MAX) && (k == 0 || n > 1))
			pick[k++] = ids[n - 1];
		searchres_save(c, pick, k, uid);
	} else
		searchres_save(c, ids, n, uid);
}

/*
 * "* ESEARCH (TAG "t") [UID] [MIN a] [MAX b] [COUNT n] [ALL set]", and
 * CONDSTORE's "MODSEQ m" when modseq is not 0.
 */
void
esearch_reply(struct client *c, const char *tag, int uid, int ret,
    const uint32_t *ids, size_t n, uint64_t modseq)
{
	struct buf	 b;

	buf_init(&b, 0);
	buf_addstr(&b, "* ESEARCH (TAG ");
	buf_add_string(&b, tag, strlen(tag));
	buf_addc(&b, ')');
	if (uid)
		buf_addstr(&b, " UID");
	if ((ret & RET_MIN) && n > 0)
		buf_printf(&b, " MIN %u", ids[0]);
	if ((ret & RET_MAX) && n > 0)
		buf_printf(&b, " MAX %u", ids[n - 1]);
	if (ret & RET_COUNT)
		buf_printf(&b, " COUNT %zu", n);
	if ((ret & RET_ALL) && n > 0) {
		buf_addstr(&b, " ALL ");
		imap_seqset_format(ids, n, &b);
	}
	if (modseq != 0 && n > 0)
		buf_printf(&b, " MODSEQ %llu", (unsigned long long)modseq);
	buf_addstr(&b, "\r\n");
	client_write(c, b.data, b.len);
	buf_free(&b);
}
