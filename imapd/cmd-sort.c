/*
 * cmd-sort.c - SORT and UID SORT (RFC 5256) with SORT=DISPLAY's keys
 * (RFC 5957) and ESORT's RETURN options (RFC 5267: MIN MAX COUNT ALL,
 * and SAVE of SEARCHRES), and THREAD and UID THREAD with the
 * ORDEREDSUBJECT and REFERENCES algorithms.
 *
 * Runs in the per-user imapd process.  The messages come from the
 * search keys (cmd-search.c's imap_search_run()); the header fields the
 * keys need are read from the header mbox_read_header() keeps in memory,
 * each message's once, and turned into keys by sortkey.c; thread.c
 * builds the threads.  Only what the criteria name is computed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imapd.h"
#include "sort.h"
#include "xmalloc.h"

#define SORT_MAX_KEYS	16

enum skind {
	SO_ARRIVAL, SO_SIZE, SO_DATE, SO_SUBJECT, SO_FROM, SO_TO, SO_CC,
	SO_DISPLAYFROM, SO_DISPLAYTO, SO_NKINDS
};

/* The keys, with the field each string key reads and how. */
static const struct {
	const char	*name;
	enum skind	 kind;
	const char	*field;
	int		 how;
} sort_keys[] = {
	{ "ARRIVAL", SO_ARRIVAL, NULL, 0 },
	{ "SIZE", SO_SIZE, NULL, 0 },
	{ "DATE", SO_DATE, "Date", 0 },
	{ "SUBJECT", SO_SUBJECT, "Subject", 0 },
	{ "FROM", SO_FROM, "From", IMAP_ADDR_MAILBOX },
	{ "TO", SO_TO, "To", IMAP_ADDR_MAILBOX },
	{ "CC", SO_CC, "Cc", IMAP_ADDR_MAILBOX },
	{ "DISPLAYFROM", SO_DISPLAYFROM, "From", IMAP_ADDR_DISPLAY },
	{ "DISPLAYTO", SO_DISPLAYTO, "To", IMAP_ADDR_DISPLAY },
};

struct crit {
	size_t		 key;		/* index in sort_keys */
	int		 reverse;
};

struct smsg {
	uint32_t	 pos;		/* in the view */
	uint32_t	 id;		/* sequence number or UID shown */
	int64_t		 arrival;
	int64_t		 date;
	uint64_t	 size;
	char		*str[SO_NKINDS];
};


static const struct crit *sort_crit;	/* for qsort's comparisons */
static size_t		 sort_ncrit;

/* The value of a header field (first of its name), unfolded. */
static int
field(const struct buf *hdr, const char *name, struct buf *v)
{
	return imap_header_value(buf_cstr(hdr), hdr->len, name, v);
}

static int64_t
sent_date(const struct buf *hdr, const struct imsg *m)
{
	struct buf	 v;
	int64_t		 t;

	buf_init(&v, 0);
	if (field(hdr, "Date", &v) == -1 ||
	    imap_sent_date(buf_cstr(&v), v.len, &t) == -1)
		t = m->internaldate;
	buf_free(&v);
	return t;
}

/* The keys of the message at view position s->pos that cr needs. */
static void
smsg_load(struct client *c, struct smsg *s, const struct crit *cr,
    size_t ncr, struct imsg *m)
{
	struct buf	 hdr, v, k;
	size_t		 i, key;

	s->arrival = m->internaldate;
	s->size = m->size;
	buf_init(&hdr, 0);
	for (i = 0; i < ncr; i++)
		if (sort_keys[cr[i].key].field != NULL && hdr.data == NULL &&
		    mbox_read_header(c->mb, m, &hdr) == -1)
			buf_reset(&hdr);
	buf_init(&v, 0);
	for (i = 0; i < ncr; i++) {
		key = cr[i].key;
		if (sort_keys[key].kind == SO_DATE)
			s->date = sent_date(&hdr, m);
		if (sort_keys[key].field == NULL ||
		    sort_keys[key].kind == SO_DATE ||
		    s->str[sort_keys[key].kind] != NULL)
			continue;
		buf_init(&k, 0);
		if (field(&hdr, sort_keys[key].field, &v) == 0) {
			if (sort_keys[key].kind == SO_SUBJECT)
				imap_base_subject(buf_cstr(&v), v.len, &k);
			else
				imap_addr_key(buf_cstr(&v), v.len,
				    sort_keys[key].how, &k);
		}
		s->str[sort_keys[key].kind] = buf_steal(&k);
	}
	buf_free(&v);
	buf_free(&hdr);
}

static int
num_cmp(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
smsg_cmp(const void *a, const void *b)
{
	const struct smsg	*x = a, *y = b;
	enum skind		 kind;
	size_t			 i;
	int			 r;

	for (i = 0; i < sort_ncrit; i++) {
		kind = sort_keys[sort_crit[i].key].kind;
		if (kind == SO_ARRIVAL)
			r = num_cmp(x->arrival, y->arrival);
		else if (kind == SO_DATE)
			r = num_cmp(x->date, y->date);
		else if (kind == SO_SIZE)
			r = x->size < y->size ? -1 : x->size > y->size;
		else
			r = strcmp(x->str[kind], y->str[kind]);
		if (r != 0)
			return sort_crit[i].reverse ? -r : r;
	}
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* "(REVERSE DATE SUBJECT)" into cr; their number, or 0 if invalid. */
static size_t
parse_criteria(const struct imap_arg *a, struct crit *cr)
{
	const char	*s;
	size_t		 i, k, n = 0;
	int		 reverse = 0;

	if (a->type != IMAP_ARG_LIST || a->list->n == 0)
		return 0;
	for (i = 0; i < a->list->n; i++) {
		if (imap_arg_atom(&a->list->v[i], &s) == -1)
			return 0;
		if (strcasecmp(s, "REVERSE") == 0 && !reverse) {
			reverse = 1;
			continue;
		}
		for (k = 0; k < sizeof(sort_keys) / sizeof(sort_keys[0]); k++)
			if (strcasecmp(s, sort_keys[k].name) == 0)
				break;
		if (k == sizeof(sort_keys) / sizeof(sort_keys[0]) ||
		    n == SORT_MAX_KEYS)
			return 0;
		cr[n].key = k;
		cr[n++].reverse = reverse;
		reverse = 0;
	}
	return reverse ? 0 : n;
}

/*
 * The charset at args->v[i] and the messages the search keys after it
 * match.  0, or -1 after a BAD reply, -2 after a NO.
 */
static int
sort_select(struct client *c, const char *tag, const struct imap_list *args,
    size_t i, uint32_t **pos, size_t *n)
{
	const char	*cs;
	int		 modseq;

	if (i >= args->n || imap_arg_astring(&args->v[i], &cs) == -1) {
		client_tagged(c, tag, "BAD", "%s: charset and search keys "
		    "expected", c->cmdname);
		return -1;
	}
	if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
		client_tagged(c, tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] "
		    "Unsupported charset");
		return -2;
	}
	if (imap_search_run(c, args, i + 1, pos, n, &modseq) == -1) {
		client_tagged(c, tag, "BAD", "Invalid search keys");
		return -1;
	}
	return 0;
}

/* The sorted result as numbers or UIDs, for ESORT and SAVE. */
static uint32_t *
sort_ids(const struct smsg *v, size_t n)
{
	uint32_t	*ids;
	size_t		 i;

	ids = xreallocarray(NULL, n + 1, sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = v[i].id;
	return ids;
}

static void
sort_reply(struct client *c, const char *tag, const struct smsg *v,
    size_t n, int uid, int ret)
{
	struct buf	 b;
	uint32_t	*ids;
	size_t		 i;

	if (ret != 0) {
		ids = sort_ids(v, n);
		esearch_reply(c, tag, uid, ret, ids, n, 0);
		free(ids);
		return;
	}
	buf_init(&b, 0);
	buf_addstr(&b, "* SORT");
	for (i = 0; i < n; i++)
		buf_printf(&b, " %u", v[i].id);
	buf_addstr(&b, "\r\n");
	client_write(c, b.data, b.len);
	buf_free(&b);
}

int
cmd_sort(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct crit	 cr[SORT_MAX_KEYS];
	struct smsg	*v;
	struct imsg	*m;
	uint32_t	*pos, *ids;
	size_t		 i = 0, j, k, n, ncr;
	int		 ret, r;

	if (esearch_parse_return(args, &i, &ret) == -1) {
		client_tagged(c, tag, "BAD", "Invalid RETURN options");
		return 0;
	}
	if (i >= args->n || (ncr = parse_criteria(&args->v[i], cr)) == 0) {
		client_tagged(c, tag, "BAD", "Invalid sort criteria");
		return 0;
	}
	if ((r = sort_select(c, tag, args, i + 1, &pos, &n)) != 0) {
		/* RFC 5182: a NO empties the saved result, a BAD keeps it */
		if (r == -2 && (ret & RET_SAVE))
			searchres_reset(c);
		return 0;
	}
	v = xcalloc(n + 1, sizeof(*v));
	for (j = k = 0; j < n; j++) {
		if ((m = client_msg(c, pos[j])) == NULL)
			continue;
		v[k].pos = pos[j];
		v[k].id = uid ? m->uid : pos[j] + 1;
		smsg_load(c, &v[k++], cr, ncr, m);
	}
	free(pos);
	sort_crit = cr;
	sort_ncrit = ncr;
	qsort(v, k, sizeof(*v), smsg_cmp);
	if (ret & RET_SAVE) {
		ids = sort_ids(v, k);
		esearch_save(c, ids, k, uid, ret);
		free(ids);
	}
	if (ret != RET_SAVE)
		sort_reply(c, tag, v, k, uid, ret);
	for (j = 0; j < k; j++)
		for (i = 0; i < SO_NKINDS; i++)
			free(v[j].str[i]);
	free(v);
	client_tagged(c, tag, "OK", "%s completed", uid ? "UID SORT" : "SORT");
	return 0;
}

/* What THREAD needs of a message: IDs, base subject, sent date. */
static void
thread_load(struct client *c, struct imsg *m, int refs,
    struct thread_msg *t)
{
	struct buf	 hdr, v, k;
	char		*id;

	buf_init(&hdr, 0);
	buf_init(&v, 0);
	buf_init(&k, 0);
	if (mbox_read_header(c->mb, m, &hdr) == -1)
		buf_reset(&hdr);
	t->date = sent_date(&hdr, m);
	if (field(&hdr, "Subject", &v) == 0)
		t->reply = imap_base_subject(buf_cstr(&v), v.len, &k);
	t->subject = buf_steal(&k);
	if (refs && field(&hdr, "Message-ID", &v) == 0)
		t->msgid = imap_msgid_first(buf_cstr(&v), v.len);
	if (refs && field(&hdr, "References", &v) == 0)
		t->nrefs = imap_msgid_list(buf_cstr(&v), v.len,
		    THREAD_MAX_REFS, &t->refs);
	if (refs && t->nrefs == 0 && field(&hdr, "In-Reply-To", &v) == 0 &&
	    (id = imap_msgid_first(buf_cstr(&v), v.len)) != NULL) {
		t->refs = xreallocarray(NULL, 1, sizeof(*t->refs));
		t->refs[0] = id;
		t->nrefs = 1;
	}
	buf_free(&v);
	buf_free(&hdr);
}

int
cmd_thread(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct thread_msg *v;
	struct imsg	*m;
	struct buf	 out;
	const char	*alg;
	uint32_t	*pos;
	size_t		 j, k, n;
	int		 refs;

	if (args->n < 1 || imap_arg_atom(&args->v[0], &alg) == -1 ||
	    (strcasecmp(alg, "REFERENCES") != 0 &&
	    strcasecmp(alg, "ORDEREDSUBJECT") != 0)) {
		client_tagged(c, tag, "BAD", "Unknown thread algorithm");
		return 0;
	}
	refs = strcasecmp(alg, "REFERENCES") == 0;
	if (sort_select(c, tag, args, 1, &pos, &n) != 0)
		return 0;
	v = xcalloc(n + 1, sizeof(*v));
	for (j = k = 0; j < n; j++) {
		if ((m = client_msg(c, pos[j])) == NULL)
			continue;
		v[k].id = uid ? m->uid : pos[j] + 1;
		thread_load(c, m, refs, &v[k++]);
	}
	free(pos);
	buf_init(&out, 0);
	buf_addstr(&out, k > 0 ? "* THREAD " : "* THREAD");
	if (refs)
		imap_thread_references(v, k, &out);
	else
		imap_thread_orderedsubject(v, k, &out);
	buf_addstr(&out, "\r\n");
	client_write(c, out.data, out.len);
	buf_free(&out);
	for (j = 0; j < k; j++)
		imap_thread_msg_free(&v[j]);
	free(v);
	client_tagged(c, tag, "OK", "%s completed",
	    uid ? "UID THREAD" : "THREAD");
	return 0;
}
