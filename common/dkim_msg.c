/*
 * dkim_msg.c - a message as DKIM sees it: its header fields, split from a
 * stream of chunks of any size, and the header hash that signing and
 * verification share.
 *
 * The header is kept (a signature may name any field, and only the end of
 * the header says which is the last of a name); it is bounded by the
 * caller's maximum, 1 MB by default, and DKIM_HDR_FIELDS_MAX fields.  The
 * body is never kept: its bytes go on to the body hashers as they come.
 * Line ends are stored as CRLF whether the message had CRLF or bare LF.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "dkim_int.h"
#include "log.h"
#include "xmalloc.h"

#define HDR_DEFAULT_MAX		(1024 * 1024)

struct hfield {
	size_t	 off, len;
};

struct dkim_hdrs {
	struct buf	 data;
	struct hfield	*f;
	size_t		 n, cap;
};

struct dkim_msg {
	struct dkim_split	 sp;
	struct dkim_body	*body;
};

struct dkim_hdrs *
dkim_hdrs_new(size_t max)
{
	struct dkim_hdrs	*h = xcalloc(1, sizeof(*h));

	buf_init(&h->data, max ? max : HDR_DEFAULT_MAX);
	return h;
}

void
dkim_hdrs_free(struct dkim_hdrs *h)
{
	if (h == NULL)
		return;
	buf_free(&h->data);
	free(h->f);
	free(h);
}

/* Append bytes with every bare LF made CRLF. */
static int
add_crlf(struct buf *b, const char *s, size_t n)
{
	size_t	 i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\n' || (i > 0 && s[i - 1] == '\r'))
			continue;
		if (buf_add(b, s + start, i - start) == -1 ||
		    buf_add(b, "\r", 1) == -1)
			return -1;
		start = i;
	}
	return buf_add(b, s + start, n - start);
}

/* One whole field; a final CRLF is added when it has none. */
int
dkim_hdrs_add(struct dkim_hdrs *h, const char *field, size_t n)
{
	size_t	 off = h->data.len;

	if (h->n == DKIM_HDR_FIELDS_MAX || add_crlf(&h->data, field, n) == -1)
		goto fail;
	if ((h->data.len - off < 2 ||
	    memcmp(h->data.data + h->data.len - 2, "\r\n", 2) != 0) &&
	    buf_add(&h->data, "\r\n", 2) == -1)
		goto fail;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 32;
		h->f = xreallocarray(h->f, h->cap, sizeof(*h->f));
	}
	h->f[h->n].off = off;
	h->f[h->n++].len = h->data.len - off;
	return 0;
fail:
	buf_truncate(&h->data, off);
	return -1;
}

size_t
dkim_hdrs_count(const struct dkim_hdrs *h)
{
	return h->n;
}

const char *
dkim_hdrs_field(const struct dkim_hdrs *h, size_t i, size_t *len)
{
	if (i >= h->n)
		return NULL;
	*len = h->f[i].len;
	return h->data.data + h->f[i].off;
}

/* The name: what precedes the colon, less trailing whitespace. */
size_t
dkim_field_name_len(const char *f, size_t n)
{
	const char	*colon = memchr(f, ':', n);
	size_t		 len = colon ? (size_t)(colon - f) : n;

	while (len > 0 && dkim_is_wsp((unsigned char)f[len - 1]))
		len--;
	return len;
}

int
dkim_field_is(const char *f, size_t n, const char *name)
{
	size_t	 len = dkim_field_name_len(f, n);

	return memchr(f, ':', n) != NULL && len == strlen(name) &&
	    strncasecmp(f, name, len) == 0;
}

void
dkim_split_init(struct dkim_split *sp, size_t max)
{
	memset(sp, 0, sizeof(*sp));
	sp->hdrs = dkim_hdrs_new(max);
	buf_init(&sp->line, max ? max : HDR_DEFAULT_MAX);
	buf_init(&sp->field, max ? max : HDR_DEFAULT_MAX);
}

void
dkim_split_free(struct dkim_split *sp)
{
	dkim_hdrs_free(sp->hdrs);
	buf_free(&sp->line);
	buf_free(&sp->field);
}

static int
field_done(struct dkim_split *sp)
{
	int	 r = 0;

	if (sp->field.len > 0)
		r = dkim_hdrs_add(sp->hdrs, sp->field.data, sp->field.len);
	buf_reset(&sp->field);
	return r;
}

/* A complete header line, without its line end. */
static int
header_line(struct dkim_split *sp)
{
	const char	*l = sp->line.data;
	size_t		 n = sp->line.len;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		sp->in_body = 1;
		return field_done(sp);
	}
	if (!dkim_is_wsp((unsigned char)l[0]) || sp->field.len == 0)
		if (field_done(sp) == -1)
			return -1;
	if (buf_add(&sp->field, l, n) == -1 ||
	    buf_add(&sp->field, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/*
 * Header bytes of a chunk: returns how many it took (the rest is body),
 * or -1 once the header is over the limit.
 */
ssize_t
dkim_split_feed(struct dkim_split *sp, const char *p, size_t n)
{
	const char	*nl;
	size_t		 i = 0, take;

	if (sp->failed)
		return -1;
	while (i < n && !sp->in_body) {
		nl = memchr(p + i, '\n', n - i);
		take = nl ? (size_t)(nl - (p + i)) : n - i;
		if (buf_add(&sp->line, p + i, take) == -1)
			goto fail;
		i += take;
		if (nl == NULL)
			break;
		i++;
		if (header_line(sp) == -1)
			goto fail;
		buf_reset(&sp->line);
	}
	return (ssize_t)i;
fail:
	sp->failed = 1;
	return -1;
}

/* The message ended: a header without the empty line ends here. */
int
dkim_split_end(struct dkim_split *sp)
{
	if (sp->failed)
		return -1;
	if (!sp->in_body) {
		if (sp->line.len > 0 && header_line(sp) == -1)
			return -1;
		if (field_done(sp) == -1)
			return -1;
		sp->in_body = 1;
	}
	return 0;
}

struct dkim_msg *
dkim_msg_new(enum dkim_canon bcanon, size_t max)
{
	struct dkim_msg	*m = xcalloc(1, sizeof(*m));

	dkim_split_init(&m->sp, max);
	m->body = dkim_body_new(bcanon, UINT64_MAX);
	return m;
}

int
dkim_msg_feed(struct dkim_msg *m, const void *data, size_t n)
{
	ssize_t	 h;

	if ((h = dkim_split_feed(&m->sp, data, n)) == -1)
		return -1;
	if ((size_t)h < n)
		dkim_body_update(m->body, (const char *)data + h, n - h);
	return 0;
}

int
dkim_msg_end(struct dkim_msg *m, uint8_t bh[DKIM_DIGEST_LEN])
{
	if (dkim_split_end(&m->sp) == -1)
		return -1;
	dkim_body_final(m->body, bh);
	return 0;
}

const struct dkim_hdrs *
dkim_msg_hdrs(const struct dkim_msg *m)
{
	return m->sp.hdrs;
}

void
dkim_msg_free(struct dkim_msg *m)
{
	if (m == NULL)
		return;
	dkim_split_free(&m->sp);
	dkim_body_free(m->body);
	free(m);
}

static void
hash_buf(EVP_MD_CTX *md, struct buf *b)
{
	if (EVP_DigestUpdate(md, b->data, b->len) != 1)
		fatalx("dkim: SHA-256 update failed");
	buf_reset(b);
}

/* The signature's own field: b= emptied, canonicalized, no final CRLF. */
static void
hash_sig_field(EVP_MD_CTX *md, const struct dkim_hhash *hh, struct buf *tmp)
{
	struct buf	 c;

	buf_init(&c, 0);
	(void)buf_add(tmp, hh->sig, hh->b_start);
	(void)buf_add(tmp, hh->sig + hh->b_end, hh->siglen - hh->b_end);
	dkim_canon_header(hh->canon, tmp->data, tmp->len, &c);
	buf_truncate(&c, c.len - 2);
	hash_buf(md, &c);
	buf_free(&c);
	buf_reset(tmp);
}

/* The lowest field of that name not taken yet, or -1 (none left). */
static ssize_t
select_field(const struct dkim_hdrs *h, const char *name, char *used)
{
	size_t	 j;

	for (j = h->n; j-- > 0;)
		if (!used[j] && dkim_field_is(h->data.data + h->f[j].off,
		    h->f[j].len, name)) {
			used[j] = 1;
			return (ssize_t)j;
		}
	return -1;
}

/*
 * RFC 6376 section 3.7: the fields h= names, bottom-up per name (a name
 * listed more often than it occurs adds nothing, which is what makes
 * oversigning work), then the signature field without b= and without its
 * final CRLF.
 */
int
dkim_header_hash(const struct dkim_hdrs *h, const struct dkim_hhash *hh,
    uint8_t out[DKIM_DIGEST_LEN])
{
	EVP_MD_CTX	*md;
	struct buf	 tmp;
	char		*used = xcalloc(h->n + 1, 1);
	unsigned int	 len = DKIM_DIGEST_LEN;
	size_t		 i;
	ssize_t		 j;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("dkim: SHA-256 unavailable");
	buf_init(&tmp, 0);
	for (i = 0; i < hh->nnames; i++) {
		if ((j = select_field(h, hh->names[i], used)) == -1)
			continue;
		dkim_canon_header(hh->canon, h->data.data + h->f[j].off,
		    h->f[j].len, &tmp);
		hash_buf(md, &tmp);
	}
	hash_sig_field(md, hh, &tmp);
	if (EVP_DigestFinal_ex(md, out, &len) != 1)
		fatalx("dkim: SHA-256 final failed");
	EVP_MD_CTX_free(md);
	buf_free(&tmp);
	free(used);
	return 0;
}
