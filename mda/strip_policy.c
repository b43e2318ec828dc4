/*
 * strip_policy.c - the fate of every part of an unsafe message: kept as
 * text, HTML converted to text, passed re-encoded (strip_attachments off),
 * removed and named in the notice, or dropped silently (containers, the
 * alternatives not chosen).  A part whose structure readers may take
 * differently is removed whatever our own reading says.  Works on the
 * parsed part tree only; called by strip.c in the mda as the mail user.
 */
#include <string.h>

#include "mime.h"
#include "strip.h"
#include "strip_int.h"

/*
 * The ambiguity class: q or a part above it has Content-* facts that
 * readers may take differently (MIME_F_AMBIGUOUS: a second Content-Type,
 * -Transfer-Encoding or -Disposition, a parameter such as boundary,
 * charset or name given twice, malformed parameters).  What such a part
 * is, or where it ends, depends on the reader, so nothing in it is
 * provably readable text: it is removed, whatever our own reading says.
 */
int
strip_is_ambiguous(const struct mime_part *q)
{
	for (; q != NULL; q = q->parent)
		if (q->flags & MIME_F_AMBIGUOUS)
			return 1;
	return 0;
}

static int
is_readable_text(const struct mime_part *q)
{
	return q->kind == MIME_KIND_LEAF && mime_part_is(q, "text", NULL) &&
	    (strcmp(q->subtype, "plain") == 0 ||
	    strcmp(q->subtype, "html") == 0) && q->enc != MIME_ENC_UNKNOWN &&
	    (q->flags & MIME_F_STRUCTURE) == 0 && !strip_is_ambiguous(q);
}

/*
 * Shown in the text by every reader: no disposition or "inline", and no
 * file name in any form (filename or name, in either field), because a
 * reader that sees a name offers the part as a file whatever its
 * disposition says.
 */
int
strip_is_inline(const struct mime_part *q)
{
	return (q->disposition == NULL ||
	    strcmp(q->disposition, "inline") == 0) && q->filename == NULL;
}

/* Everything below q goes, nothing of it named but attachments. */
static void
drop_subtree(struct strip_ctx *c, struct mime_part *q)
{
	struct mime_part *k;

	if (q->kind == MIME_KIND_LEAF) {
		if (c->fate[q->index] != F_REMOVE)
			c->fate[q->index] = is_readable_text(q) ? F_DROP :
			    F_REMOVE;
		return;
	}
	c->fate[q->index] = F_DROP;
	for (k = q->children; k != NULL; k = k->next)
		drop_subtree(c, k);
}

/* One alternative to keep: plain text first, else the richest. */
static void
choose_alternative(struct strip_ctx *c, struct mime_part *q)
{
	struct mime_part *k, *chosen = NULL, *readable = NULL, *other = NULL;

	for (k = q->children; k != NULL && chosen == NULL; k = k->next)
		if (is_readable_text(k) && strcmp(k->subtype, "plain") == 0 &&
		    c->fate[k->index] == F_KEEP)
			chosen = k;
	/* else the richest readable one, an attachment only as last resort */
	for (k = q->children; k != NULL; k = k->next)
		if (c->fate[k->index] == F_CONVERT ||
		    (c->fate[k->index] == F_KEEP && (is_readable_text(k) ||
		    k->kind != MIME_KIND_LEAF)))
			readable = k;
		else if (c->fate[k->index] == F_PASS)
			other = k;
	if (chosen == NULL)
		chosen = readable != NULL ? readable : other;
	for (k = q->children; k != NULL; k = k->next)
		if (k != chosen)
			drop_subtree(c, k);
}

/* Decide the fate of q and below; returns 1 if anything is kept. */
int
strip_decide(struct strip_ctx *c, struct mime_part *q)
{
	const struct strip_opts *o = c->o;
	struct mime_part *k;
	int		 any = 0, html;

	if (q->kind == MIME_KIND_LEAF) {
		html = mime_part_is(q, "text", "html");
		if (strip_is_ambiguous(q))
			c->fate[q->index] = F_REMOVE;
		else if (is_readable_text(q) && (strip_is_inline(q) ||
		    !o->strip_attachments))
			c->fate[q->index] = html && o->strip_html ?
			    F_CONVERT : F_KEEP;
		else if (!o->strip_attachments)
			c->fate[q->index] = html && o->strip_html &&
			    is_readable_text(q) ? F_CONVERT : F_PASS;
		else
			c->fate[q->index] = F_REMOVE;
		return c->fate[q->index] != F_REMOVE;
	}
	for (k = q->children; k != NULL; k = k->next)
		any |= strip_decide(c, k);
	if (q->kind == MIME_KIND_MESSAGE) {
		c->fate[q->index] = F_KEEP;
		return 1;
	}
	if (o->strip_html && strcmp(q->subtype, "alternative") == 0)
		choose_alternative(c, q);
	c->fate[q->index] = any ? F_KEEP : F_DROP;
	return any;
}

/* Structure untrusted: keep only readable inline text, flat. */
void
strip_decide_degraded(struct strip_ctx *c)
{
	struct mime_part *q, *a;
	unsigned int	 i, n = mime_parser_nparts(c->mp);
	int		 ok;

	for (i = 0; i < n; i++) {
		q = mime_parser_part(c->mp, i);
		if (q->kind != MIME_KIND_LEAF) {
			c->fate[i] = F_DROP;
			continue;
		}
		ok = is_readable_text(q) && strip_is_inline(q);
		for (a = q->parent; a != NULL && ok; a = a->parent)
			if (a->flags & MIME_F_HDR_TOO_LONG)
				ok = 0;
		c->fate[i] = !ok ? F_REMOVE : mime_part_is(q, "text", "html") ?
		    F_CONVERT : F_KEEP;
	}
}
