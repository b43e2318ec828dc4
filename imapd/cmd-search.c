/*
 * cmd-search.c - SEARCH and UID SEARCH with every RFC 3501 search key,
 * CONDSTORE's MODSEQ, and ESEARCH results (RETURN (MIN MAX COUNT ALL),
 * and always once IMAP4rev2 is enabled); RETURN (SAVE) and "$" of
 * SEARCHRES (searchres.c).  imap_search_run() serves SORT and THREAD.
 *
 * Runs in the per-user process.  The keys are parsed into a tree whose
 * depth is bounded; header and body matches are case-insensitive
 * substring matches on decoded header values and decoded text parts;
 * FROM, TO, CC and BCC match the addresses as common/addr reads them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "imapd.h"
#include "mime.h"
#include "qresync.h"
#include "xmalloc.h"

#define SEARCH_MAX_DEPTH	64
#define SEARCH_ADDR_ITEMS	4096	/* address items of one field */

enum sk {
	SK_ALL, SK_FLAG, SK_KEYWORD, SK_NEW, SK_OLD, SK_RECENT, SK_LARGER,
	SK_SMALLER, SK_BEFORE, SK_ON, SK_SINCE, SK_SENTBEFORE, SK_SENTON,
	SK_SENTSINCE, SK_HEADER, SK_ADDR, SK_BODY, SK_TEXT, SK_UID, SK_SEQ,
	SK_NOT, SK_OR, SK_AND, SK_MODSEQ,
	SK_SAVED	/* "$" */
};

struct skey {
	enum sk		 type;
	uint32_t	 bit;
	int		 want;
	const char	*field;
	const char	*str;
	uint64_t	 num;
	int64_t		 date;
	struct imap_seqset set;
	struct skey	*a;
	struct skey	*b;
	struct skey	**list;
	size_t		 n;
};

struct sparse {
	const struct imap_list	*args;
	size_t			 i;
	int			 depth;
	int			 uses_modseq;
	int			 badcharset;
};

static void
skey_free(struct skey *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	imap_seqset_free(&k->set);
	skey_free(k->a);
	skey_free(k->b);
	for (i = 0; i < k->n; i++)
		skey_free(k->list[i]);
	free(k->list);
	free(k);
}

/* "1-Feb-1994" -> midnight UTC of that day. */
static int
parse_date(const char *s, int64_t *t)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct tm	 tm;
	char		 mon[4];
	const char	*p;
	int		 day, year, n = 0;

	if (*s == '"')
		s++;
	if (sscanf(s, "%2d-%3c-%4d%n", &day, mon, &year, &n) != 3 ||
	    (s[n] != '\0' && s[n] != '"'))
		return -1;
	mon[3] = '\0';
	for (char *q = mon; *q != '\0'; q++)
		*q = (char)(*q | 0x20);
	if ((p = strstr(months, mon)) == NULL || (p - months) % 3 != 0 ||
	    day < 1 || day > 31 || year < 1900 || year > 9999)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = (int)((p - months) / 3);
	tm.tm_year = year - 1900;
	*t = (int64_t)timegm(&tm);
	return 0;
}

static const char *
next_str(struct sparse *sp)
{
	const char	*s;

	if (sp->i >= sp->args->n ||
	    imap_arg_astring(&sp->args->v[sp->i], &s) == -1)
		return NULL;
	sp->i++;
	return s;
}

static struct skey *parse_key(struct sparse *);

static struct skey *
parse_and(struct sparse *sp, const struct imap_list *l)
{
	const struct imap_list	*save = sp->args;
	size_t			 savei = sp->i;
	struct skey		*k, *sub;

	k = xcalloc(1, sizeof(*k));
	k->type = SK_AND;
	sp->args = l;
	sp->i = 0;
	while (sp->i < l->n) {
		if ((sub = parse_key(sp)) == NULL) {
			skey_free(k);
			k = NULL;
			break;
		}
		k->list = xreallocarray(k->list, k->n + 1, sizeof(*k->list));
		k->list[k->n++] = sub;
	}
	sp->args = save;
	sp->i = savei;
	return k;
}

/*
 * MODSEQ [entry-name entry-type-req] n (RFC 7162 3.1.5): the entry is
 * a flag's ("/flags/\\Seen") and the type priv, shared or all; a
 * message's one modseq stands for all of them.
 */
static int
parse_modseq(struct sparse *sp, struct skey *k)
{
	const char	*s, *t;

	if ((s = next_str(sp)) == NULL)
		return -1;
	if (strncasecmp(s, "/flags/", 7) == 0) {
		if (s[7] == '\0' || (t = next_str(sp)) == NULL ||
		    (strcasecmp(t, "priv") != 0 &&
		    strcasecmp(t, "shared") != 0 &&
		    strcasecmp(t, "all") != 0) ||
		    (s = next_str(sp)) == NULL)
			return -1;
	}
	return condstore_number(s, &k->num);
}

static const struct {
	const char	*name;
	enum sk		 type;
	uint32_t	 bit;
	int		 want;
	const char	*field;
} simple_keys[] = {
	{ "ALL", SK_ALL, 0, 1, NULL },
	{ "ANSWERED", SK_FLAG, IMSG_ANSWERED, 1, NULL },
	{ "DELETED", SK_FLAG, IMSG_DELETED, 1, NULL },
	{ "DRAFT", SK_FLAG, IMSG_DRAFT, 1, NULL },
	{ "FLAGGED", SK_FLAG, IMSG_FLAGGED, 1, NULL },
	{ "SEEN", SK_FLAG, IMSG_SEEN, 1, NULL },
	{ "UNANSWERED", SK_FLAG, IMSG_ANSWERED, 0, NULL },
	{ "UNDELETED", SK_FLAG, IMSG_DELETED, 0, NULL },
	{ "UNDRAFT", SK_FLAG, IMSG_DRAFT, 0, NULL },
	{ "UNFLAGGED", SK_FLAG, IMSG_FLAGGED, 0, NULL },
	{ "UNSEEN", SK_FLAG, IMSG_SEEN, 0, NULL },
	{ "NEW", SK_NEW, 0, 1, NULL },
	{ "OLD", SK_OLD, 0, 1, NULL },
	{ "RECENT", SK_RECENT, 0, 1, NULL },
	{ "KEYWORD", SK_KEYWORD, 0, 1, NULL },
	{ "UNKEYWORD", SK_KEYWORD, 0, 0, NULL },
	{ "LARGER", SK_LARGER, 0, 1, NULL },
	{ "SMALLER", SK_SMALLER, 0, 1, NULL },
	{ "BEFORE", SK_BEFORE, 0, 1, NULL },
	{ "ON", SK_ON, 0, 1, NULL },
	{ "SINCE", SK_SINCE, 0, 1, NULL },
	{ "SENTBEFORE", SK_SENTBEFORE, 0, 1, NULL },
	{ "SENTON", SK_SENTON, 0, 1, NULL },
	{ "SENTSINCE", SK_SENTSINCE, 0, 1, NULL },
	{ "FROM", SK_ADDR, 0, 1, "From" },
	{ "TO", SK_ADDR, 0, 1, "To" },
	{ "CC", SK_ADDR, 0, 1, "Cc" },
	{ "BCC", SK_ADDR, 0, 1, "Bcc" },
	{ "SUBJECT", SK_HEADER, 0, 1, "Subject" },
	{ "HEADER", SK_HEADER, 0, 1, NULL },
	{ "BODY", SK_BODY, 0, 1, NULL },
	{ "TEXT", SK_TEXT, 0, 1, NULL },
	{ "UID", SK_UID, 0, 1, NULL },
	{ "NOT", SK_NOT, 0, 1, NULL },
	{ "OR", SK_OR, 0, 1, NULL },
	{ "MODSEQ", SK_MODSEQ, 0, 1, NULL },
};

static int
parse_operand(struct sparse *sp, struct skey *k)
{
	const char	*s;
	char		*end;

	switch (k->type) {
	case SK_KEYWORD:
	case SK_BODY:
	case SK_TEXT:
		return (k->str = next_str(sp)) == NULL ? -1 : 0;
	case SK_HEADER:
	case SK_ADDR:
		if (k->field == NULL && (k->field = next_str(sp)) == NULL)
			return -1;
		return (k->str = next_str(sp)) == NULL ? -1 : 0;
	case SK_LARGER:
	case SK_SMALLER:
		if ((s = next_str(sp)) == NULL || !isdigit((unsigned char)*s))
			return -1;
		k->num = strtoull(s, &end, 10);
		return *end == '\0' ? 0 : -1;
	case SK_MODSEQ:
		sp->uses_modseq = 1;
		return parse_modseq(sp, k);
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		if ((s = next_str(sp)) == NULL)
			return -1;
		return parse_date(s, &k->date);
	case SK_UID:
		if ((s = next_str(sp)) == NULL)
			return -1;
		if (strcmp(s, "$") == 0) {
			k->type = SK_SAVED;
			return 0;
		}
		return imap_seqset_parse(s, &k->set);
	case SK_NOT:
		return (k->a = parse_key(sp)) == NULL ? -1 : 0;
	case SK_OR:
		if ((k->a = parse_key(sp)) == NULL)
			return -1;
		return (k->b = parse_key(sp)) == NULL ? -1 : 0;
	default:
		return 0;
	}
}

static struct skey *
parse_key(struct sparse *sp)
{
	const struct imap_arg	*a;
	struct skey		*k;
	const char		*s;
	size_t			 i;

	if (sp->i >= sp->args->n || ++sp->depth > SEARCH_MAX_DEPTH)
		return NULL;
	a = &sp->args->v[sp->i++];
	if (a->type == IMAP_ARG_LIST) {
		k = parse_and(sp, a->list);
		sp->depth--;
		return k;
	}
	if (imap_arg_atom(a, &s) == -1)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	for (i = 0; i < sizeof(simple_keys) / sizeof(simple_keys[0]); i++)
		if (strcasecmp(s, simple_keys[i].name) == 0)
			break;
	if (i < sizeof(simple_keys) / sizeof(simple_keys[0])) {
		k->type = simple_keys[i].type;
		k->bit = simple_keys[i].bit;
		k->want = simple_keys[i].want;
		k->field = simple_keys[i].field;
		if (parse_operand(sp, k) == -1) {
			skey_free(k);
			return NULL;
		}
	} else if (strcmp(s, "$") == 0)
		k->type = SK_SAVED;
	else if (imap_seqset_parse(s, &k->set) == 0)
		k->type = SK_SEQ;
	else {
		free(k);
		return NULL;
	}
	sp->depth--;
	return k;
}

/* The message's bytes and MIME tree, loaded only if a key needs them. */
struct sdata {
	struct client		*c;
	struct imsg		*m;
	int			 loaded;
	int			 hdr_loaded;
	struct buf		 hdr;
	const char		*data;
	size_t			 len;
	struct mime_parser	*mp;
};

/* The header alone is enough for header keys and SENT*. */
static int
sdata_load_header(struct sdata *d)
{
	if (d->loaded || d->hdr_loaded)
		return d->data != NULL ? 0 : -1;
	d->hdr_loaded = 1;
	buf_init(&d->hdr, 0);
	if (mbox_read_header(d->c->mb, d->m, &d->hdr) == -1)
		return -1;
	d->data = d->hdr.data;
	d->len = d->hdr.len;
	return 0;
}

static int
sdata_load(struct sdata *d)
{
	const struct buf	*raw;

	if (d->loaded)
		return d->data != NULL ? 0 : -1;
	d->loaded = 1;
	d->data = NULL;
	if (mbox_read(d->c->mb, d->m, &raw) == -1)
		return -1;
	d->data = raw->data;
	d->len = raw->len;
	d->mp = imap_mime_parse(d->data, d->len);
	return 0;
}

static int
ci_find(const char *h, size_t hl, const char *n)
{
	size_t	 nl = strlen(n), i, j;

	if (nl == 0)
		return 1;
	for (i = 0; i + nl <= hl; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)h[i + j]) !=
			    tolower((unsigned char)n[j]))
				break;
		if (j == nl)
			return 1;
	}
	return 0;
}

static size_t
header_len(struct sdata *d)
{
	struct mime_part	*root;

	if (d->mp == NULL)
		return d->len;
	root = mime_parser_root(d->mp);

	if (root == NULL || root->body_start > d->len)
		return d->len;
	return (size_t)root->body_start;
}

/*
 * An address field as FROM, TO, CC and BCC match it: RFC 3501 searches
 * the envelope's address structure, so the list is read as ENVELOPE
 * reads it (common/addr): each mailbox as "Name <addr-spec>" with its
 * display name decoded and its comments gone, so "<user (c)@ (c)
 * domain>" matches "user@domain" and an encoded "B=C3=B6b" matches the
 * name it encodes.  -1 when the list cannot be read at all.
 */
static int
addr_text(const char *v, size_t len, struct buf *out)
{
	struct addr_list	 l;
	const struct addr_item	*it;
	size_t			 i;

	if (addr_list_parse(v, len, ADDR_LIST_LENIENT |
	    ADDR_LIST_COMMENT_NAME, SEARCH_ADDR_ITEMS, &l, NULL, 0) == -1)
		return -1;
	for (i = 0; i < l.n; i++) {
		it = &l.v[i];
		if (it->name != NULL) {
			addr_name_decode(it->name, out);
			buf_addstr(out, it->kind == ADDR_GROUP ? ": " : " ");
		}
		if (it->kind == ADDR_MAILBOX) {
			buf_addc(out, '<');
			addr_spec_format(it, out);
			buf_addstr(out, "> ");
		}
	}
	addr_list_free(&l);
	return 0;
}

/*
 * Header keys: a substring of the field's decoded or raw value, or for
 * an address key (addr) of its addresses as addr_text() writes them.
 */
static int
match_header(struct sdata *d, const char *field, const char *str, int addr)
{
	struct mime_field	 f;
	struct buf		 raw, dec;
	size_t			 pos = 0, hl;
	int			 r = 0;

	if (sdata_load_header(d) == -1)
		return 0;
	hl = header_len(d);
	buf_init(&raw, 0);
	buf_init(&dec, 0);
	while (!r && mime_header_next(d->data, hl, &pos, &f) == 1) {
		if (field != NULL && !mime_field_is(&f, field))
			continue;
		buf_reset(&raw);
		buf_reset(&dec);
		if (field == NULL)
			buf_add(&raw, d->data + f.start, f.end - f.start);
		else
			mime_unfold(f.value, f.valuelen, &raw);
		if (addr && addr_text(raw.data, raw.len, &dec) == 0) {
			r = ci_find(dec.data ? dec.data : "", dec.len, str);
			continue;
		}
		mime_header_decode(raw.data ? raw.data : "", raw.len, &dec);
		r = ci_find(dec.data ? dec.data : "", dec.len, str) ||
		    ci_find(raw.data ? raw.data : "", raw.len, str);
	}
	buf_free(&raw);
	buf_free(&dec);
	return r;
}

static int
match_body(struct sdata *d, const char *str)
{
	struct mime_parser	*mp;
	struct mime_part	*p;
	struct mime_decoder	 dec;
	struct buf		 b;
	unsigned int		 i;
	int			 r = 0;

	if (sdata_load(d) == -1)
		return 0;
	mp = d->mp;
	if (ci_find(d->data + header_len(d), d->len - header_len(d), str))
		return 1;
	buf_init(&b, 0);
	for (i = 0; i < mime_parser_nparts(mp) && !r; i++) {
		p = mime_parser_part(mp, i);
		if (p == NULL || p->kind != MIME_KIND_LEAF ||
		    (p->enc != MIME_ENC_BASE64 && p->enc != MIME_ENC_QP) ||
		    p->body_end > d->len || p->body_start > p->body_end)
			continue;
		buf_reset(&b);
		mime_decoder_init(&dec, p->enc);
		mime_decode(&dec, d->data + p->body_start,
		    (size_t)(p->body_end - p->body_start), &b);
		mime_decode_finish(&dec, &b);
		r = ci_find(b.data ? b.data : "", b.len, str);
	}
	buf_free(&b);
	return r;
}

static int64_t
sent_date(struct sdata *d)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct buf	 v;
	struct tm	 tm;
	char		 mon[4];
	const char	*s, *p;
	int		 day, year;
	int64_t		 t = -1;

	if (sdata_load_header(d) == -1)
		return -1;
	buf_init(&v, 0);
	if (imap_header_value(d->data, header_len(d), "Date", &v) == 0) {
		s = buf_cstr(&v);
		if ((p = strchr(s, ',')) != NULL)
			s = p + 1;
		memset(mon, 0, sizeof(mon));
		if (sscanf(s, "%d %3s %d", &day, mon, &year) == 3) {
			for (char *q = mon; *q != '\0'; q++)
				*q = (char)(*q | 0x20);
			if (year < 100)
				year += year < 50 ? 2000 : 1900;
			if ((p = strstr(months, mon)) != NULL &&
			    (p - months) % 3 == 0 && day >= 1 && day <= 31) {
				memset(&tm, 0, sizeof(tm));
				tm.tm_mday = day;
				tm.tm_mon = (int)((p - months) / 3);
				tm.tm_year = year - 1900;
				t = (int64_t)timegm(&tm);
			}
		}
	}
	buf_free(&v);
	return t;
}

static int
has_keyword(const struct imsg *m, const char *kw)
{
	const char	*s = m->keywords;
	size_t		 n = strlen(kw);
	uint32_t	 bit = 0;

	if (strcasecmp(kw, "$Forwarded") == 0)
		bit = IMSG_PASSED;
	if (bit != 0)
		return (m->flags & bit) != 0;
	while (s != NULL && *s != '\0') {
		if (strncasecmp(s, kw, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return 1;
		s = strchr(s, ' ');
		if (s != NULL)
			s++;
	}
	return 0;
}

static int64_t
day_of(int64_t t)
{
	return t - (t % 86400 + 86400) % 86400;
}

static int
eval(struct skey *k, struct sdata *d, size_t pos, uint32_t nmsgs,
    uint32_t maxuid)
{
	struct client	*c = d->c;
	struct imsg	*m = d->m;
	int64_t		 t;
	size_t		 i;
	int		 recent;

	switch (k->type) {
	case SK_ALL:
		return 1;
	case SK_FLAG:
		return ((m->flags & k->bit) != 0) == k->want;
	case SK_KEYWORD:
		return has_keyword(m, k->str) == k->want;
	case SK_NEW:
	case SK_OLD:
	case SK_RECENT:
		recent = client_recent_has(c, m->uid);
		if (k->type == SK_OLD)
			return !recent;
		if (k->type == SK_NEW)
			return recent && !(m->flags & IMSG_SEEN);
		return recent;
	case SK_LARGER:
		return m->size > k->num;
	case SK_SMALLER:
		return m->size < k->num;
	case SK_BEFORE:
		return day_of(m->internaldate) < k->date;
	case SK_ON:
		return day_of(m->internaldate) == k->date;
	case SK_SINCE:
		return day_of(m->internaldate) >= k->date;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		if ((t = sent_date(d)) == -1)
			return 0;
		return k->type == SK_SENTBEFORE ? t < k->date :
		    k->type == SK_SENTON ? t == k->date : t >= k->date;
	case SK_HEADER:
		return match_header(d, k->field, k->str, 0);
	case SK_ADDR:
		return match_header(d, k->field, k->str, 1);
	case SK_BODY:
		return match_body(d, k->str);
	case SK_TEXT:
		return match_header(d, NULL, k->str, 0) ||
		    match_body(d, k->str);
	case SK_UID:
		return imap_seqset_contains(&k->set, m->uid, maxuid);
	case SK_SEQ:
		return imap_seqset_contains(&k->set, (uint32_t)pos + 1, nmsgs);
	case SK_NOT:
		return !eval(k->a, d, pos, nmsgs, maxuid);
	case SK_OR:
		return eval(k->a, d, pos, nmsgs, maxuid) ||
		    eval(k->b, d, pos, nmsgs, maxuid);
	case SK_AND:
		for (i = 0; i < k->n; i++)
			if (!eval(k->list[i], d, pos, nmsgs, maxuid))
				return 0;
		return 1;
	case SK_MODSEQ:
		return m->modseq >= k->num;
	case SK_SAVED:
		return searchres_has(c, m->uid);
	}
	return 0;
}

static void
search_reply(struct client *c, const char *tag, int uid, int esearch,
    int ret, const uint32_t *hits, size_t n, const uint64_t *mods,
    int modseq)
{
	struct buf	 b;
	size_t		 i;
	uint64_t	 maxmodseq = 0;

	/* ESEARCH MIN and/or MAX alone: the modseq of those returned */
	if (modseq)
		maxmodseq = condstore_result_modseq(mods, n, !esearch ||
		    !esearch_min_max_only(ret) ? 0 :
		    (ret & RET_MIN ? MODSEQ_OF_MIN : 0) |
		    (ret & RET_MAX ? MODSEQ_OF_MAX : 0));
	if (esearch) {
		esearch_reply(c, tag, uid, ret, hits, n, maxmodseq);
		return;
	}
	buf_init(&b, 0);
	buf_addstr(&b, "* SEARCH");
	for (i = 0; i < n; i++)
		buf_printf(&b, " %u", hits[i]);
	if (modseq && n > 0)
		buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)maxmodseq);
	buf_addstr(&b, "\r\n");
	client_write(c, b.data, b.len);
	buf_free(&b);
}

int
cmd_search(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct sparse	 sp;
	struct imsg	*m;
	const char	*cs;
	uint32_t	*pos, *hits;
	uint64_t	*mods;
	size_t		 i, k, n;
	int		 ret, esearch, modseq;

	memset(&sp, 0, sizeof(sp));
	sp.args = args;
	if ((esearch = esearch_parse_return(args, &sp.i, &ret)) == -1) {
		client_tagged(c, tag, "BAD", "Invalid RETURN options");
		return 0;
	}
	if (sp.i < args->n && imap_arg_is_atom(&args->v[sp.i], "CHARSET")) {
		sp.i++;
		if ((cs = next_str(&sp)) == NULL) {
			client_tagged(c, tag, "BAD", "CHARSET what?");
			return 0;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			if (ret & RET_SAVE)
				searchres_reset(c);
			client_tagged(c, tag, "NO", "[BADCHARSET (UTF-8 "
			    "US-ASCII)] Unsupported charset");
			return 0;
		}
	}
	if (c->rev2 && !esearch) {
		esearch = 1;
		ret = RET_ALL;
	}
	if (sp.i >= args->n) {
		client_tagged(c, tag, "BAD", "Missing search keys");
		return 0;
	}
	if (imap_search_run(c, args, sp.i, &pos, &n, &modseq) == -1) {
		client_tagged(c, tag, "BAD", "Invalid search keys");
		return 0;
	}
	hits = xreallocarray(NULL, n + 1, sizeof(*hits));
	mods = xreallocarray(NULL, n + 1, sizeof(*mods));
	for (i = k = 0; i < n; i++) {
		if ((m = client_msg(c, pos[i])) == NULL)
			continue;
		mods[k] = m->modseq;
		hits[k++] = uid ? m->uid : pos[i] + 1;
	}
	free(pos);
	if (ret & RET_SAVE)
		esearch_save(c, hits, k, uid, ret);
	if (ret != RET_SAVE)
		search_reply(c, tag, uid, esearch, ret, hits, k, mods, modseq);
	free(hits);
	free(mods);
	client_tagged(c, tag, "OK", "SEARCH completed");
	return 0;
}

/*
 * The view positions, ascending, of the messages the search keys
 * args->v[from..] match, for SEARCH, SORT and THREAD; *modseq_r tells
 * whether a MODSEQ key was among them (it enables CONDSTORE).  -1 if the
 * keys are invalid.
 */
int
imap_search_run(struct client *c, const struct imap_list *args,
    size_t from, uint32_t **pos_r, size_t *n_r, int *modseq_r)
{
	struct imap_list rest;
	struct sparse	 sp;
	struct sdata	 d;
	struct skey	*k;
	uint32_t	*pos, maxuid;
	size_t		 i, n = 0;

	if (from >= args->n)
		return -1;
	rest.v = args->v + from;
	rest.n = rest.cap = args->n - from;
	memset(&sp, 0, sizeof(sp));
	sp.args = &rest;
	if ((k = parse_and(&sp, &rest)) == NULL)
		return -1;
	if ((*modseq_r = sp.uses_modseq))
		condstore_enable(c);
	mbox_sync(c->mb);
	maxuid = c->n > 0 ? c->uids[c->n - 1] : 0;
	pos = xreallocarray(NULL, c->n + 1, sizeof(*pos));
	for (i = 0; i < c->n; i++) {
		memset(&d, 0, sizeof(d));
		d.c = c;
		if ((d.m = client_msg(c, i)) == NULL)
			continue;
		if (eval(k, &d, i, (uint32_t)c->n, maxuid))
			pos[n++] = (uint32_t)i;
		if (d.mp != NULL)
			mime_parser_free(d.mp);
		if (d.hdr_loaded)
			buf_free(&d.hdr);
	}
	skey_free(k);
	*pos_r = pos;
	*n_r = n;
	return 0;
}
