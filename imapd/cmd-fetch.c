/*
 * cmd-fetch.c - FETCH and UID FETCH: FLAGS, UID, INTERNALDATE,
 * RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE, MODSEQ, RFC822[.HEADER|
 * .TEXT], BODY[section]<partial>, BODY.PEEK, BINARY[.PEEK], BINARY.SIZE,
 * the ALL/FAST/FULL macros, CONDSTORE's CHANGEDSINCE and QRESYNC's
 * VANISHED (qresync.c).
 *
 * Runs in the per-user process.  Fetch attributes come from the client
 * and are parsed here into a bounded list; message bytes are parsed by
 * common/mime.  ENVELOPE and BODYSTRUCTURE are cached in the index.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "mime.h"
#include "qresync.h"
#include "xmalloc.h"

#define FETCH_MAX_ITEMS	64
#define SECTION_MAX_NUM	32
#define FIELDS_MAX	64

enum fi_kind {
	FI_FLAGS, FI_UID, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODY,
	FI_BODYSTRUCTURE, FI_MODSEQ, FI_SECTION, FI_BINARY_SIZE,
	FI_RFC822, FI_RFC822_HEADER, FI_RFC822_TEXT
};

enum fi_spec { SP_ALL, SP_HEADER, SP_TEXT, SP_MIME, SP_FIELDS, SP_FIELDS_NOT };

struct fetch_item {
	enum fi_kind	 kind;
	int		 peek;
	int		 binary;
	uint32_t	 nums[SECTION_MAX_NUM];
	size_t		 nnums;
	enum fi_spec	 spec;
	char		*fields[FIELDS_MAX];
	size_t		 nfields;
	char		*section;
	int		 partial;
	uint64_t	 pstart;
	uint64_t	 plen;
};

struct fetch {
	struct fetch_item	 it[FETCH_MAX_ITEMS];
	size_t			 n;
	int			 need_body;	/* all the message bytes */
	int			 need_header;	/* its header only */
	int			 sets_seen;
	int			 seen_changed;
	int			 changedsince;
	uint64_t		 since;
	int			 vanished;	/* QRESYNC's VANISHED */
	int			 modseq;	/* MODSEQ asked: CONDSTORE on */
};

void
imap_date_str(int64_t t, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%d-%b-%Y %H:%M:%S +0000", &tm);
}

static void
fetch_free(struct fetch *f)
{
	size_t	 i, j;

	for (i = 0; i < f->n; i++) {
		free(f->it[i].section);
		for (j = 0; j < f->it[i].nfields; j++)
			free(f->it[i].fields[j]);
	}
}

/*
 * A header field name (RFC 5322 ftext) that is also an atom: the section
 * is echoed in the response as it came, so "(" or "\"" in a name would
 * unbalance it.
 */
static int
field_name_ok(const char *s, size_t n)
{
	const unsigned char	*u = (const unsigned char *)s;

	if (n == 0)
		return 0;
	for (; n > 0; u++, n--)
		if (*u <= ' ' || *u >= 0x7f || strchr(":(){%*\"\\]", *u))
			return 0;
	return 1;
}

static int
parse_fields(struct fetch_item *fi, const char *s)
{
	const char	*e;

	while (*s == ' ')
		s++;
	if (*s++ != '(')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ')')
			return s[1] == '\0' ? 0 : -1;
		if (*s == '\0' || fi->nfields == FIELDS_MAX)
			return -1;
		if (*s == '"') {
			e = strchr(s + 1, '"');
			if (e == NULL ||
			    !field_name_ok(s + 1, (size_t)(e - s - 1)))
				return -1;
			fi->fields[fi->nfields++] = xstrndup(s + 1,
			    (size_t)(e - s - 1));
			s = e + 1;
			continue;
		}
		for (e = s; *e != '\0' && *e != ' ' && *e != ')'; e++)
			;
		if (!field_name_ok(s, (size_t)(e - s)))
			return -1;
		fi->fields[fi->nfields++] = xstrndup(s, (size_t)(e - s));
		s = e;
	}
}

/* The inside of [...]: "1.2.HEADER.FIELDS (From)" and friends. */
static int
parse_section(struct fetch_item *fi, const char *s)
{
	char	*end;
	unsigned long v;

	while (isdigit((unsigned char)*s)) {
		v = strtoul(s, &end, 10);
		if (v == 0 || v > 100000 || fi->nnums == SECTION_MAX_NUM)
			return -1;
		fi->nums[fi->nnums++] = (uint32_t)v;
		s = end;
		if (*s == '\0')
			return 0;
		if (*s++ != '.')
			return -1;
	}
	if (*s == '\0' && fi->nnums == 0)
		fi->spec = SP_ALL;
	else if (strcasecmp(s, "HEADER") == 0)
		fi->spec = SP_HEADER;
	else if (strcasecmp(s, "TEXT") == 0)
		fi->spec = SP_TEXT;
	else if (strcasecmp(s, "MIME") == 0 && fi->nnums > 0)
		fi->spec = SP_MIME;
	else if (strncasecmp(s, "HEADER.FIELDS.NOT", 17) == 0) {
		fi->spec = SP_FIELDS_NOT;
		return parse_fields(fi, s + 17);
	} else if (strncasecmp(s, "HEADER.FIELDS", 13) == 0) {
		fi->spec = SP_FIELDS;
		return parse_fields(fi, s + 13);
	} else
		return -1;
	return 0;
}

static int
parse_body_item(struct fetch_item *fi, const char *a)
{
	const char	*lb, *rb, *p;
	char		*end;

	lb = strchr(a, '[');
	rb = strrchr(a, ']');
	if (lb == NULL || rb == NULL || rb < lb)
		return -1;
	if (strncasecmp(a, "BODY.PEEK[", 10) == 0)
		fi->peek = 1;
	else if (strncasecmp(a, "BINARY.PEEK[", 12) == 0)
		fi->peek = fi->binary = 1;
	else if (strncasecmp(a, "BINARY[", 7) == 0)
		fi->binary = 1;
	else if (strncasecmp(a, "BINARY.SIZE[", 12) == 0) {
		fi->kind = FI_BINARY_SIZE;
		fi->binary = 1;
	} else if (strncasecmp(a, "BODY[", 5) != 0)
		return -1;
	if (fi->kind != FI_BINARY_SIZE)
		fi->kind = FI_SECTION;
	fi->section = xstrndup(lb + 1, (size_t)(rb - lb - 1));
	if (parse_section(fi, fi->section) == -1)
		return -1;
	if (fi->binary && fi->spec != SP_ALL)
		return -1;
	p = rb + 1;
	if (*p == '\0')
		return 0;
	if (*p != '<' || fi->kind == FI_BINARY_SIZE)
		return -1;
	fi->partial = 1;
	/* digits only: strtoull would take "-1" (RFC 3501 number) */
	if (!isdigit((unsigned char)p[1]))
		return -1;
	fi->pstart = strtoull(p + 1, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	fi->plen = strtoull(end + 1, &end, 10);
	if (strcmp(end, ">") != 0 || fi->plen == 0)
		return -1;
	return 0;
}

static int
add_item(struct fetch *f, const char *a)
{
	static const struct {
		const char	*name;
		enum fi_kind	 kind;
	} simple[] = {
		{ "FLAGS", FI_FLAGS }, { "UID", FI_UID },
		{ "INTERNALDATE", FI_INTERNALDATE },
		{ "RFC822.SIZE", FI_SIZE }, { "ENVELOPE", FI_ENVELOPE },
		{ "BODY", FI_BODY }, { "BODYSTRUCTURE", FI_BODYSTRUCTURE },
		{ "MODSEQ", FI_MODSEQ }, { "RFC822", FI_RFC822 },
		{ "RFC822.HEADER", FI_RFC822_HEADER },
		{ "RFC822.TEXT", FI_RFC822_TEXT },
	};
	struct fetch_item	*fi;
	size_t			 i;

	if (strcasecmp(a, "ALL") == 0 || strcasecmp(a, "FAST") == 0 ||
	    strcasecmp(a, "FULL") == 0) {
		if (add_item(f, "FLAGS") == -1 ||
		    add_item(f, "INTERNALDATE") == -1 ||
		    add_item(f, "RFC822.SIZE") == -1)
			return -1;
		if (strcasecmp(a, "FAST") != 0 &&
		    add_item(f, "ENVELOPE") == -1)
			return -1;
		if (strcasecmp(a, "FULL") == 0)
			return add_item(f, "BODY");
		return 0;
	}
	if (f->n == FETCH_MAX_ITEMS)
		return -1;
	fi = &f->it[f->n++];
	memset(fi, 0, sizeof(*fi));
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcasecmp(a, simple[i].name) == 0) {
			fi->kind = simple[i].kind;
			break;
		}
	if (i == sizeof(simple) / sizeof(simple[0]) &&
	    parse_body_item(fi, a) == -1)
		return -1;
	switch (fi->kind) {
	case FI_SECTION:
		if (!fi->peek)
			f->sets_seen = 1;
		if (fi->nnums == 0 && (fi->spec == SP_HEADER ||
		    fi->spec == SP_FIELDS || fi->spec == SP_FIELDS_NOT))
			f->need_header = 1;
		else
			f->need_body = 1;
		break;
	case FI_RFC822:
	case FI_RFC822_TEXT:
		f->sets_seen = 1;
		/* FALLTHROUGH */
	case FI_BINARY_SIZE:
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		f->need_body = 1;
		break;
	case FI_RFC822_HEADER:
	case FI_ENVELOPE:
		f->need_header = 1;
		break;
	default:
		break;
	}
	return 0;
}

static int
fetch_parse(struct client *c, const struct imap_list *args, struct fetch *f)
{
	const struct imap_arg	*a = &args->v[1];
	const struct imap_list	*l;
	const char		*s;
	size_t			 i;

	if (a->type == IMAP_ARG_LIST) {
		l = a->list;
		if (l->n == 0)
			return -1;
		for (i = 0; i < l->n; i++)
			if (imap_arg_atom(&l->v[i], &s) == -1 ||
			    add_item(f, s) == -1)
				return -1;
	} else if (imap_arg_atom(a, &s) == -1 || add_item(f, s) == -1)
		return -1;
	if (args->n == 3) {
		/* (CHANGEDSINCE n [VANISHED]) */
		l = args->v[2].type == IMAP_ARG_LIST ? args->v[2].list : NULL;
		if (l == NULL || l->n < 2 || l->n > 3 ||
		    !imap_arg_is_atom(&l->v[0], "CHANGEDSINCE") ||
		    imap_arg_atom(&l->v[1], &s) == -1 ||
		    condstore_number(s, &f->since) == -1)
			return -1;
		f->changedsince = 1;
		if (l->n == 3 && !imap_arg_is_atom(&l->v[2], "VANISHED"))
			return -1;
		f->vanished = l->n == 3;
		if (add_item(f, "MODSEQ") == -1)
			return -1;
	}
	for (i = 0; i < f->n; i++)
		if (f->it[i].kind == FI_MODSEQ)
			f->modseq = 1;
	return 0;
}

static int
field_listed(const struct fetch_item *fi, const struct mime_field *fl)
{
	size_t	 i;

	for (i = 0; i < fi->nfields; i++)
		if (mime_field_is(fl, fi->fields[i]))
			return 1;
	return 0;
}

static void
filter_header(const struct fetch_item *fi, const char *h, size_t len,
    struct buf *out)
{
	struct mime_field	 fl;
	size_t			 pos = 0;

	while (mime_header_next(h, len, &pos, &fl) == 1)
		if (field_listed(fi, &fl) == (fi->spec == SP_FIELDS))
			buf_add(out, h + fl.start, fl.end - fl.start);
	buf_addstr(out, "\r\n");
}

/* Bytes of a section into out; -1 if a BINARY part cannot be decoded. */
static int
section_bytes(const struct fetch_item *fi, struct mime_parser *mp,
    const char *data, size_t len, struct buf *out)
{
	struct mime_part	*p, *msg;
	struct mime_decoder	 d;
	uint64_t		 hs, bs, be;

	if (mp == NULL) {
		/* only the header was read: data is exactly that */
		if (fi->spec == SP_HEADER)
			buf_add(out, data, len);
		else if (fi->spec == SP_FIELDS || fi->spec == SP_FIELDS_NOT)
			filter_header(fi, data, len, out);
		return 0;
	}
	if (fi->nnums == 0) {
		msg = mime_parser_root(mp);
		p = msg;
	} else {
		if ((p = imap_part_find(mp, fi->nums, fi->nnums)) == NULL)
			return 0;
		msg = p->kind == MIME_KIND_MESSAGE ? p->children : NULL;
	}
	if (p == NULL)
		return 0;
	switch (fi->spec) {
	case SP_ALL:
		if (fi->nnums == 0) {
			buf_add(out, data, len);
			return 0;
		}
		hs = p->body_start;
		be = p->body_end;
		if (hs > len || be > len || hs > be)
			return 0;
		if (!fi->binary) {
			buf_add(out, data + hs, (size_t)(be - hs));
			return 0;
		}
		if (p->enc == MIME_ENC_UNKNOWN)
			return -1;
		mime_decoder_init(&d, p->enc);
		mime_decode(&d, data + hs, (size_t)(be - hs), out);
		mime_decode_finish(&d, out);
		return 0;
	case SP_MIME:
		hs = p->hdr_start;
		bs = p->body_start;
		if (hs <= bs && bs <= len)
			buf_add(out, data + hs, (size_t)(bs - hs));
		return 0;
	default:
		break;
	}
	if (msg == NULL)
		return 0;
	hs = msg->hdr_start;
	bs = msg->body_start;
	be = fi->nnums == 0 ? len : msg->body_end;
	if (hs > bs || bs > len || be > len || bs > be)
		return 0;
	if (fi->spec == SP_HEADER)
		buf_add(out, data + hs, (size_t)(bs - hs));
	else if (fi->spec == SP_TEXT)
		buf_add(out, data + bs, (size_t)(be - bs));
	else
		filter_header(fi, data + hs, (size_t)(bs - hs), out);
	return 0;
}

/*
 * A literal, or a literal8 for BINARY data with NULs (RFC 3516).  A
 * literal cannot carry NUL: BODY[] of binary data shows each as 0x80.
 */
static void
add_literal(struct buf *out, const char *p, size_t n, int binary)
{
	size_t	 start;
	char	*z;

	buf_printf(out, "%s{%zu}\r\n", binary && memchr(p, '\0', n) ? "~" :
	    "", n);
	start = out->len;
	buf_add(out, p, n);
	while (!binary && (z = memchr(out->data + start, '\0',
	    out->len - start)) != NULL)
		*z = (char)0x80;
}

/* Everything one message's FETCH response needs from its bytes. */
struct msgdata {
	const char		*data;
	size_t			 len;
	struct mime_parser	*mp;
	struct buf		 cache[3];	/* ENVELOPE BODY BODYSTRUCTURE */
	int			 have[3];
};

static int
item_section(struct client *c, const struct fetch_item *fi,
    struct msgdata *md, struct buf *out)
{
	struct buf	 b;
	size_t		 off, n;

	buf_init(&b, 0);
	if (section_bytes(fi, md->mp, md->data, md->len, &b) == -1) {
		buf_free(&b);
		return -1;
	}
	if (fi->kind == FI_BINARY_SIZE) {
		buf_printf(out, "BINARY.SIZE[%s] %zu", fi->section, b.len);
		buf_free(&b);
		return 0;
	}
	buf_printf(out, "%s[%s]", fi->binary ? "BINARY" : "BODY", fi->section);
	off = 0;
	n = b.len;
	if (fi->partial) {
		buf_printf(out, "<%llu>", (unsigned long long)fi->pstart);
		off = fi->pstart > b.len ? b.len : (size_t)fi->pstart;
		n = b.len - off;
		if (n > fi->plen)
			n = (size_t)fi->plen;
	}
	buf_addc(out, ' ');
	add_literal(out, b.data ? b.data + off : "", n, fi->binary);
	buf_free(&b);
	return 0;
}

static int
cache_kind(enum fi_kind kind)
{
	return kind == FI_ENVELOPE ? IDX_CACHE_ENVELOPE : kind == FI_BODY ?
	    IDX_CACHE_BODY : IDX_CACHE_BODYSTRUCTURE;
}

static int
cache_slot(enum fi_kind kind)
{
	return kind == FI_ENVELOPE ? 0 : kind == FI_BODY ? 1 :
	    kind == FI_BODYSTRUCTURE ? 2 : -1;
}

static void
item_cached(struct client *c, struct imsg *m, struct msgdata *md,
    enum fi_kind kind, struct buf *out)
{
	struct mime_part	*root;
	struct buf		*b = &md->cache[cache_slot(kind)];

	if (!md->have[cache_slot(kind)] && md->data != NULL &&
	    (md->mp != NULL || kind == FI_ENVELOPE)) {
		buf_reset(b);
		root = md->mp != NULL ? mime_parser_root(md->mp) : NULL;
		if (kind == FI_ENVELOPE)
			imap_envelope(md->data, root != NULL ?
			    (size_t)root->body_start : md->len, b);
		else
			imap_bodystructure(md->mp, md->data,
			    kind == FI_BODYSTRUCTURE, b);
		buf_add(b, "", 0);
		md->have[cache_slot(kind)] = 1;
		mbox_cache_put(c->mb, m, cache_kind(kind), buf_cstr(b));
	}
	buf_printf(out, "%s %s", kind == FI_ENVELOPE ? "ENVELOPE" :
	    kind == FI_BODY ? "BODY" : "BODYSTRUCTURE",
	    md->have[cache_slot(kind)] ? buf_cstr(b) : "NIL");
}

/*
 * What of the message this FETCH needs: 2 all of it, 1 its header, 0
 * nothing (ENVELOPE and BODYSTRUCTURE come from the index when cached).
 */
static int
fetch_needs(struct client *c, const struct fetch *f, struct imsg *m,
    struct msgdata *md)
{
	int	 need = 0, slot;
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		const struct fetch_item *fi = &f->it[i];

		if ((slot = cache_slot(fi->kind)) >= 0) {
			if (!md->have[slot])
				md->have[slot] = mbox_cache_get(c->mb, m,
				    cache_kind(fi->kind),
				    &md->cache[slot]) == 0;
			if (!md->have[slot] && fi->kind == FI_ENVELOPE)
				need = need > 1 ? need : 1;
			else if (!md->have[slot])
				need = 2;
			continue;
		}
		switch (fi->kind) {
		case FI_RFC822_HEADER:
			need = need > 1 ? need : 1;
			break;
		case FI_SECTION:
			if (fi->nnums == 0 && (fi->spec == SP_HEADER ||
			    fi->spec == SP_FIELDS || fi->spec == SP_FIELDS_NOT))
				need = need > 1 ? need : 1;
			else
				need = 2;
			break;
		case FI_BINARY_SIZE:
		case FI_RFC822:
		case FI_RFC822_TEXT:
			need = 2;
			break;
		default:
			break;
		}
	}
	return need;
}

static int
fetch_one(struct client *c, struct fetch *f, size_t pos, struct imsg *m,
    int uid, struct buf *out)
{
	const struct buf	*raw;
	struct msgdata		 md;
	struct fetch_item	 tmp;
	struct buf		 fl, hdr;
	char			 date[64];
	size_t			 i, start;
	int			 r = 0, any = 0, need, changed = 0;

	memset(&md, 0, sizeof(md));
	for (i = 0; i < 3; i++)
		buf_init(&md.cache[i], 0);
	buf_init(&hdr, 0);
	need = (f->need_body || f->need_header) ? fetch_needs(c, f, m, &md) :
	    0;
	if (need == 2) {
		if (mbox_read(c->mb, m, &raw) == -1)
			goto gone;
		md.data = raw->data;
		md.len = raw->len;
		md.mp = imap_mime_parse(md.data, md.len);
	} else if (need == 1) {
		if (mbox_read_header(c->mb, m, &hdr) == -1)
			goto gone;
		md.data = hdr.data;
		md.len = hdr.len;
	}
	if (f->sets_seen && !c->readonly && !(m->flags & IMSG_SEEN) &&
	    mbox_store(c->mb, m, m->flags | IMSG_SEEN, m->keywords) == 0) {
		/* tell the client, whether or not it asked for FLAGS */
		if (c->known[pos] < m->modseq)
			c->known[pos] = m->modseq;
		any = changed = 1;
		f->seen_changed = 1;
	}
	buf_printf(out, "* %zu FETCH (", pos + 1);
	start = out->len;
#define SEP() do { if (out->len > start) buf_addc(out, ' '); } while (0)
	if (uid) {
		buf_printf(out, "UID %u", m->uid);
	}
	for (i = 0; i < f->n && r == 0; i++) {
		const struct fetch_item *fi = &f->it[i];

		if (fi->kind == FI_UID && uid)
			continue;
		SEP();
		switch (fi->kind) {
		case FI_FLAGS:
			buf_init(&fl, 0);
			client_flags(c, m, &fl);
			buf_printf(out, "FLAGS %s", buf_cstr(&fl));
			buf_free(&fl);
			any = 0;
			break;
		case FI_UID:
			buf_printf(out, "UID %u", m->uid);
			break;
		case FI_INTERNALDATE:
			imap_date_str(m->internaldate, date, sizeof(date));
			buf_printf(out, "INTERNALDATE \"%s\"", date);
			break;
		case FI_SIZE:
			buf_printf(out, "RFC822.SIZE %llu",
			    (unsigned long long)m->size);
			break;
		case FI_MODSEQ:
			buf_printf(out, "MODSEQ (%llu)",
			    (unsigned long long)m->modseq);
			break;
		case FI_ENVELOPE:
		case FI_BODY:
		case FI_BODYSTRUCTURE:
			item_cached(c, m, &md, fi->kind, out);
			break;
		case FI_RFC822:
		case FI_RFC822_HEADER:
		case FI_RFC822_TEXT:
			memset(&tmp, 0, sizeof(tmp));
			tmp.spec = fi->kind == FI_RFC822 ? SP_ALL :
			    fi->kind == FI_RFC822_HEADER ? SP_HEADER : SP_TEXT;
			buf_init(&fl, 0);
			section_bytes(&tmp, md.mp, md.data, md.len, &fl);
			buf_addstr(out, fi->kind == FI_RFC822 ? "RFC822" :
			    fi->kind == FI_RFC822_HEADER ? "RFC822.HEADER" :
			    "RFC822.TEXT");
			buf_addc(out, ' ');
			add_literal(out, fl.data ? fl.data : "", fl.len, 0);
			buf_free(&fl);
			break;
		case FI_SECTION:
		case FI_BINARY_SIZE:
			r = item_section(c, fi, &md, out);
			break;
		}
	}
	if (any) {
		SEP();
		buf_init(&fl, 0);
		client_flags(c, m, &fl);
		buf_printf(out, "FLAGS %s", buf_cstr(&fl));
		buf_free(&fl);
	}
	/* a flag change is told with its modseq once CONDSTORE is on */
	if (changed && c->condstore && !f->modseq)
		buf_printf(out, " MODSEQ (%llu)",
		    (unsigned long long)m->modseq);
#undef SEP
	buf_addstr(out, ")\r\n");
gone:
	if (md.mp != NULL)
		mime_parser_free(md.mp);
	for (i = 0; i < 3; i++)
		buf_free(&md.cache[i]);
	buf_free(&hdr);
	return r;
}

int
cmd_fetch(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct fetch	*f;
	struct buf	 out;
	struct imsg	*m;
	uint32_t	*set;
	size_t		 n, i;
	const char	*s;
	int		 bad = 0;

	f = xcalloc(1, sizeof(*f));
	if (args->n < 2 || args->n > 3 ||
	    imap_arg_atom(&args->v[0], &s) == -1 ||
	    fetch_parse(c, args, f) == -1) {
		fetch_free(f);
		free(f);
		client_tagged(c, tag, "BAD", "Invalid FETCH arguments");
		return 0;
	}
	if (f->vanished && (!uid || !c->qresync)) {
		fetch_free(f);
		free(f);
		client_tagged(c, tag, "BAD", "VANISHED needs UID FETCH and "
		    "ENABLE QRESYNC");
		return 0;
	}
	if (client_msgset(c, s, uid, &set, &n) == -1) {
		fetch_free(f);
		free(f);
		client_tagged(c, tag, "BAD", "Invalid message set");
		return 0;
	}
	if (f->modseq)
		condstore_enable(c);
	mbox_sync(c->mb);
	client_keywords_sync(c);
	if (f->vanished)
		qresync_vanished(c, f->since, s);
	buf_init(&out, 0);
	for (i = 0; i < n && !bad; i++) {
		if ((m = client_msg(c, set[i])) == NULL)
			continue;
		if (f->changedsince && m->modseq <= f->since)
			continue;
		buf_reset(&out);
		if (fetch_one(c, f, set[i], m, uid || c->qresync, &out) == -1)
			bad = 1;
		else
			client_write(c, out.data, out.len);
	}
	buf_free(&out);
	free(set);
	if (f->seen_changed)
		client_notify(c->mb, c);
	fetch_free(f);
	free(f);
	if (bad)
		client_tagged(c, tag, "NO", "[UNKNOWN-CTE] Cannot decode "
		    "the part");
	else
		client_tagged(c, tag, "OK", "FETCH completed");
	return 0;
}
