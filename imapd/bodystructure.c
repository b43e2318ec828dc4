/*
 * bodystructure.c - ENVELOPE, BODY and BODYSTRUCTURE of a message, and
 * finding the part a FETCH section names, on top of the MIME parser in
 * common/mime.
 *
 * Runs in the per-user process on message bytes that came from anyone on
 * the Internet.  The MIME parser bounds the part tree; address lists are
 * read by common/addr (one pass, no recursion, bounded items).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "imapd.h"
#include "mime.h"
#include "xmalloc.h"

struct mime_parser *
imap_mime_parse(const char *data, size_t len)
{
	struct mime_limits	 lim;
	struct mime_parser	*p;

	mime_limits_default(&lim);
	p = mime_parser_new(&lim, NULL, NULL);
	mime_parser_feed(p, data, len);
	mime_parser_finish(p);
	return p;
}

/* First field called name in a header, unfolded and trimmed; -1 if none. */
int
imap_header_value(const char *hdr, size_t len, const char *name,
    struct buf *out)
{
	struct mime_field	 f;
	size_t			 pos = 0, s, e;

	buf_reset(out);
	while (mime_header_next(hdr, len, &pos, &f) == 1) {
		if (!mime_field_is(&f, name))
			continue;
		mime_unfold(f.value, f.valuelen, out);
		for (s = 0; s < out->len &&
		    isspace((unsigned char)out->data[s]); s++)
			;
		for (e = out->len; e > s &&
		    isspace((unsigned char)out->data[e - 1]); e--)
			;
		if (e > s && s > 0)	/* else nothing to move (data may be NULL) */
			memmove(out->data, out->data + s, e - s);
		buf_truncate(out, e - s);
		return 0;
	}
	return -1;
}

static void
nstring_field(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct buf	 v;

	buf_init(&v, 0);
	if (imap_header_value(hdr, len, name, &v) == 0)
		buf_add_string(out, v.data, v.len);
	else
		buf_addstr(out, "NIL");
	buf_free(&v);
}

/*
 * Address items of one list field; a header holds a few, the bound only
 * caps the memory a hostile one can take (past it the field is NIL).
 */
#define ENV_ADDR_ITEMS	4096

/*
 * An address list as RFC 3501 7.4.2 wants it: a mailbox is (name adl
 * mailbox host), with the display name from a trailing comment when it
 * has none ("u@d (Real Name)") and the route in adl; a group is (NIL NIL
 * name NIL) ... (NIL NIL NIL NIL).  Read by common/addr leniently:
 * stored mail from anyone must show what can be read of it.
 */
static void
address_list(const char *v, size_t len, struct buf *out)
{
	struct addr_list	 l;
	const struct addr_item	*it;
	size_t			 i;

	if (addr_list_parse(v, len, ADDR_LIST_LENIENT |
	    ADDR_LIST_COMMENT_NAME, ENV_ADDR_ITEMS, &l, NULL, 0) == -1 ||
	    l.n == 0) {
		buf_addstr(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	for (i = 0; i < l.n; i++) {
		it = &l.v[i];
		if (it->kind == ADDR_GROUP_END) {
			buf_addstr(out, "(NIL NIL NIL NIL)");
			continue;
		}
		buf_addc(out, '(');
		buf_add_nstring(out, it->kind == ADDR_GROUP ? NULL : it->name);
		buf_addc(out, ' ');
		buf_add_nstring(out, it->route);
		buf_addc(out, ' ');
		if (it->kind == ADDR_GROUP) {
			/* never NIL here: that would end the group */
			buf_add_nstring(out, it->name != NULL ? it->name : "");
			buf_addstr(out, " NIL)");
			continue;
		}
		buf_add_nstring(out, it->local);
		buf_addc(out, ' ');
		buf_add_nstring(out, it->domain != NULL ? it->domain :
		    "missing-domain");
		buf_addc(out, ')');
	}
	buf_addc(out, ')');
	addr_list_free(&l);
}

static void
address_field(const char *hdr, size_t len, const char *name,
    const char *fallback, struct buf *out)
{
	struct buf	 v;

	buf_init(&v, 0);
	if ((imap_header_value(hdr, len, name, &v) == 0 && v.len > 0) ||
	    (fallback != NULL &&
	    imap_header_value(hdr, len, fallback, &v) == 0 && v.len > 0))
		address_list(v.data, v.len, out);
	else
		buf_addstr(out, "NIL");
	buf_free(&v);
}

int
imap_envelope(const char *hdr, size_t len, struct buf *out)
{
	buf_addc(out, '(');
	nstring_field(hdr, len, "Date", out);
	buf_addc(out, ' ');
	nstring_field(hdr, len, "Subject", out);
	buf_addc(out, ' ');
	address_field(hdr, len, "From", NULL, out);
	buf_addc(out, ' ');
	address_field(hdr, len, "Sender", "From", out);
	buf_addc(out, ' ');
	address_field(hdr, len, "Reply-To", "From", out);
	buf_addc(out, ' ');
	address_field(hdr, len, "To", NULL, out);
	buf_addc(out, ' ');
	address_field(hdr, len, "Cc", NULL, out);
	buf_addc(out, ' ');
	address_field(hdr, len, "Bcc", NULL, out);
	buf_addc(out, ' ');
	nstring_field(hdr, len, "In-Reply-To", out);
	buf_addc(out, ' ');
	nstring_field(hdr, len, "Message-ID", out);
	buf_addc(out, ')');
	return 0;
}

static void
upper_string(struct buf *out, const char *s)
{
	char	*u, *p;

	u = xstrdup(s);
	for (p = u; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	buf_add_string(out, u, strlen(u));
	free(u);
}

static void
params(struct buf *out, const struct mime_param *v, size_t n)
{
	size_t	 i;

	if (n == 0) {
		buf_addstr(out, "NIL");
		return;
	}
	buf_addc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, ' ');
		upper_string(out, v[i].name);
		buf_addc(out, ' ');
		buf_add_nstring(out, v[i].value != NULL ? v[i].value : "");
	}
	buf_addc(out, ')');
}

static void
extension(const struct mime_part *p, struct buf *out)
{
	buf_addc(out, ' ');
	if (p->disposition != NULL) {
		buf_addc(out, '(');
		upper_string(out, p->disposition);
		buf_addc(out, ' ');
		params(out, p->dparams, p->ndparams);
		buf_addc(out, ')');
	} else
		buf_addstr(out, "NIL");
	buf_addc(out, ' ');
	buf_add_nstring(out, p->language);
	buf_addc(out, ' ');
	buf_add_nstring(out, p->location);
}

static void
part_structure(const struct mime_part *p, const char *data, int ext,
    struct buf *out)
{
	const struct mime_part	*ch;

	buf_addc(out, '(');
	if (p->kind == MIME_KIND_MULTIPART) {
		if (p->children == NULL)
			buf_addstr(out, "(\"TEXT\" \"PLAIN\" NIL NIL NIL "
			    "\"7BIT\" 0 0)");
		for (ch = p->children; ch != NULL; ch = ch->next)
			part_structure(ch, data, ext, out);
		buf_addc(out, ' ');
		upper_string(out, p->subtype);
		if (ext) {
			buf_addc(out, ' ');
			params(out, p->params, p->nparams);
			extension(p, out);
		}
		buf_addc(out, ')');
		return;
	}
	upper_string(out, p->type);
	buf_addc(out, ' ');
	upper_string(out, p->subtype);
	buf_addc(out, ' ');
	if (strcmp(p->type, "text") == 0 && p->charset == NULL &&
	    p->nparams == 0)
		buf_addstr(out, "(\"CHARSET\" \"us-ascii\")");
	else
		params(out, p->params, p->nparams);
	buf_addc(out, ' ');
	buf_add_nstring(out, p->id);
	buf_addc(out, ' ');
	buf_add_nstring(out, p->description);
	buf_addc(out, ' ');
	upper_string(out, p->enc_name != NULL ? p->enc_name : "7bit");
	buf_printf(out, " %llu", (unsigned long long)(p->body_end -
	    p->body_start));
	if (p->kind == MIME_KIND_MESSAGE && p->children != NULL) {
		ch = p->children;
		buf_addc(out, ' ');
		imap_envelope(data + ch->hdr_start,
		    (size_t)(ch->body_start - ch->hdr_start), out);
		buf_addc(out, ' ');
		part_structure(ch, data, ext, out);
		buf_printf(out, " %llu", (unsigned long long)p->body_lines);
	} else if (strcmp(p->type, "text") == 0)
		buf_printf(out, " %llu", (unsigned long long)p->body_lines);
	if (ext) {
		buf_addc(out, ' ');
		buf_add_nstring(out, p->md5);
		extension(p, out);
	}
	buf_addc(out, ')');
}

int
imap_bodystructure(struct mime_parser *mp, const char *data, int ext,
    struct buf *out)
{
	const struct mime_part	*root = mime_parser_root(mp);

	if (root == NULL)
		return -1;
	part_structure(root, data, ext, out);
	return 0;
}

/*
 * The part that section numbers name: in a multipart, the n-th child;
 * in anything else only "1", itself; numbers after a message/rfc822
 * part address the message inside it.
 */
struct mime_part *
imap_part_find(struct mime_parser *mp, const uint32_t *nums, size_t n)
{
	struct mime_part	*p = mime_parser_root(mp);
	uint32_t		 k;
	size_t			 i;

	for (i = 0; i < n && p != NULL; i++) {
		if (i > 0 && p->kind == MIME_KIND_MESSAGE) {
			if ((p = p->children) == NULL)
				return NULL;
		}
		if (p->kind == MIME_KIND_MULTIPART) {
			for (p = p->children, k = 1; p != NULL && k < nums[i];
			    k++)
				p = p->next;
		} else if (nums[i] != 1)
			return NULL;
	}
	return p;
}
