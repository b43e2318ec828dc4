/*
 * addr_list.c - RFC 5322 address lists (3.4, with the obsolete syntax of
 * 4.4): a lexer that drops CFWS (remembering the last comment, for
 * ENVELOPE's display names), a parser of mailboxes, name-addrs, groups
 * and routes into a flat list, its canonical writing, and the header
 * address check.  The rules are written down in addr.h.
 *
 * Runs on message headers from anyone: in submitd's unprivileged
 * submitd.header and submitd.smtp roles (From:, Sender:), in the
 * per-user imapd process (ENVELOPE, SEARCH FROM/TO/CC/BCC).  One pass,
 * one token of look-ahead; a group's members are the only nesting (one
 * level, groups do not nest) and comment nesting is a counter.
 * Memory is the list itself, bounded by the input and by max items.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_int.h"
#include "buf.h"
#include "mime.h"
#include "xmalloc.h"

enum tok { T_END, T_ERR, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct lex {
	const char	*v;
	size_t		 len, pos;
	enum tok	 tok;		/* the current token */
	int		 ch;		/* T_SPECIAL: which */
	struct buf	 text;		/* T_ATOM, T_QSTR (content), T_DLIT */
	int		 sp;		/* CFWS stood before it */
	struct buf	 comment;	/* the last comment before it */
	int		 has_comment;
};

struct lp {
	struct lex	 lx;
	int		 flags;
	size_t		 max;
	struct addr_list *l;
	const char	*err;
};

/* The words (and dots) of a phrase or a local part. */
struct words {
	struct buf	 phrase;	/* one space where CFWS stood */
	struct buf	 local;		/* words and dots, nothing between */
	int		 n;		/* tokens taken */
	int		 phrase_ok;	/* starts with a word (obs-phrase) */
	int		 local_ok;	/* word *("." word) */
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_atom_byte(unsigned char c)
{
	return addr_atext(c) || c >= 0x80;
}

/* A comment from its '(' on, into lx->comment.  0 or -1 (unclosed). */
static int
lex_comment(struct lex *lx)
{
	int	 depth = 0;
	char	 c;

	buf_reset(&lx->comment);
	for (; lx->pos < lx->len; lx->pos++) {
		c = lx->v[lx->pos];
		if (c == '\\' && lx->pos + 1 < lx->len)
			c = lx->v[++lx->pos];
		else if (c == '(' && depth++ == 0)
			continue;
		else if (c == ')' && --depth == 0) {
			lx->pos++;
			lx->has_comment = 1;
			return 0;
		}
		if (c == '\0')
			return -1;
		if (c != '\r' && c != '\n')
			buf_addc(&lx->comment, c);
	}
	return -1;
}

/* Text up to the closing delimiter, quoted-pairs resolved, no CR/LF. */
static int
lex_quoted(struct lex *lx, char close, int keep_wsp)
{
	char	 c;

	for (lx->pos++; lx->pos < lx->len; lx->pos++) {
		c = lx->v[lx->pos];
		if (c == close) {
			lx->pos++;
			return 0;
		}
		if (c == '\\' && lx->pos + 1 < lx->len)
			c = lx->v[++lx->pos];
		else if (close == ']' && c == '[')
			return -1;
		if (c == '\0')
			return -1;
		if (c == '\r' || c == '\n' || (!keep_wsp && is_wsp(c)))
			continue;
		buf_addc(&lx->text, c);
	}
	return -1;
}

/* Read the next token into lx (after the CFWS before it). */
static void
lex_next(struct lex *lx)
{
	unsigned char	 c;

	lx->sp = lx->has_comment = 0;
	buf_reset(&lx->text);
	for (; lx->pos < lx->len; lx->sp = 1) {
		if (is_wsp(lx->v[lx->pos]))
			lx->pos++;
		else if (lx->v[lx->pos] != '(')
			break;
		else if (lex_comment(lx) == -1) {
			lx->tok = T_ERR;
			lx->pos = lx->len;
			return;
		}
	}
	if (lx->pos == lx->len) {
		lx->tok = T_END;
		return;
	}
	c = (unsigned char)lx->v[lx->pos];
	if (is_atom_byte(c)) {
		lx->tok = T_ATOM;
		while (lx->pos < lx->len &&
		    is_atom_byte((unsigned char)lx->v[lx->pos]))
			buf_addc(&lx->text, lx->v[lx->pos++]);
	} else if (c == '"' || c == '[') {
		lx->tok = c == '"' ? T_QSTR : T_DLIT;
		if (c == '[')
			buf_addc(&lx->text, '[');
		if (lex_quoted(lx, c == '"' ? '"' : ']', c == '"') == -1) {
			lx->tok = T_ERR;
			lx->pos = lx->len;
		} else if (c == '[')
			buf_addc(&lx->text, ']');
	} else {
		lx->tok = strchr("<>@,;:.", c) != NULL ? T_SPECIAL : T_ERR;
		lx->ch = c;
		lx->pos++;
	}
}

static int
is_special(const struct lex *lx, int c)
{
	return lx->tok == T_SPECIAL && lx->ch == c;
}

static int
fail(struct lp *p, const char *why)
{
	if (p->err == NULL)
		p->err = why;
	return -1;
}

static char *
text_dup(const struct buf *b)
{
	return xstrdup(b->len > 0 ? b->data : "");
}

/* The last comment, trimmed, if it has any text: a display name. */
static char *
comment_name(const struct lex *lx)
{
	const char	*s = lx->comment.data;
	size_t		 n = lx->comment.len;

	if (!lx->has_comment || n == 0)
		return NULL;
	while (n > 0 && is_wsp(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	return n > 0 ? xstrndup(s, n) : NULL;
}

static void
words_take(struct lp *p, struct words *w)
{
	struct lex	*lx = &p->lx;
	int		 dot, want_word = 1;

	buf_reset(&w->phrase);
	buf_reset(&w->local);
	w->n = 0;
	w->phrase_ok = w->local_ok = 1;
	while (lx->tok == T_ATOM || lx->tok == T_QSTR || is_special(lx, '.')) {
		dot = lx->tok == T_SPECIAL;
		if (w->n == 0 && dot)
			w->phrase_ok = 0;
		if (w->n > 0 && lx->sp)
			buf_addc(&w->phrase, ' ');
		if (dot == want_word)
			w->local_ok = 0;
		want_word = dot;
		if (dot) {
			buf_addc(&w->phrase, '.');
			buf_addc(&w->local, '.');
		} else {
			buf_add(&w->phrase, lx->text.data, lx->text.len);
			buf_add(&w->local, lx->text.data, lx->text.len);
		}
		w->n++;
		lex_next(lx);
	}
	if (want_word)
		w->local_ok = 0;
}

static void
words_free(struct words *w)
{
	buf_free(&w->phrase);
	buf_free(&w->local);
}

/*
 * Append a domain as a header carries it: a literal's '[', ']' and '\\'
 * (which a quoted-pair brought in) escaped again.
 */
static void
domain_write(const char *d, struct buf *out)
{
	size_t	 i, n = strlen(d);

	if (n < 2 || d[0] != '[') {
		buf_add(out, d, n);
		return;
	}
	buf_addc(out, '[');
	for (i = 1; i < n - 1; i++) {
		if (d[i] == '[' || d[i] == ']' || d[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, d[i]);
	}
	buf_addc(out, ']');
}

/* dot-atom / domain-literal / obs-domain, into *d_r. */
static int
domain_take(struct lp *p, char **d_r)
{
	struct lex	*lx = &p->lx;
	struct buf	 d;

	if (lx->tok == T_DLIT) {
		*d_r = text_dup(&lx->text);
		lex_next(lx);
		return 0;
	}
	if (lx->tok != T_ATOM)
		return fail(p, "the domain is missing");
	buf_init(&d, 0);
	for (;;) {
		buf_add(&d, lx->text.data, lx->text.len);
		lex_next(lx);
		if (!is_special(lx, '.'))
			break;
		buf_addc(&d, '.');
		lex_next(lx);
		if (lx->tok != T_ATOM) {
			buf_free(&d);
			return fail(p, "the domain ends with a dot");
		}
	}
	*d_r = buf_steal(&d);
	return 0;
}

/* local-part "@" domain, the words taken and '@' current. */
static int
spec_take(struct lp *p, const struct words *w, struct addr_item *it)
{
	if (!w->local_ok)
		return fail(p, "the local part is not word *(\".\" word)");
	it->local = text_dup(&w->local);
	lex_next(&p->lx);
	if (domain_take(p, &it->domain) == -1) {
		if (!(p->flags & ADDR_LIST_LENIENT))
			return -1;
		p->err = NULL;	/* "local@": no domain */
	}
	return 0;
}

/* obs-route: *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]) ":" */
static int
route_take(struct lp *p, struct addr_item *it)
{
	struct lex	*lx = &p->lx;
	struct buf	 r;
	char		*d;
	int		 ok = 0;

	buf_init(&r, 0);
	for (;;) {
		if (is_special(lx, ',')) {
			lex_next(lx);
			continue;
		}
		if (is_special(lx, ':') && r.len > 0) {
			lex_next(lx);
			ok = 1;
			break;
		}
		if (!is_special(lx, '@'))
			break;
		lex_next(lx);
		if (domain_take(p, &d) == -1)
			break;
		buf_addstr(&r, r.len > 0 ? ",@" : "@");
		domain_write(d, &r);
		free(d);
	}
	if (!ok) {
		buf_free(&r);
		return fail(p, "bad source route");
	}
	it->route = buf_steal(&r);
	return 0;
}

static int
push(struct lp *p, const struct addr_item *it)
{
	struct addr_list *l = p->l;

	if (l->n >= p->max)
		return fail(p, "too many addresses");
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *it;
	return 0;
}

static void
item_free(struct addr_item *it)
{
	free(it->name);
	free(it->route);
	free(it->local);
	free(it->domain);
	memset(it, 0, sizeof(*it));
}

/* "<" [obs-route] addr-spec ">", '<' current. */
static int
angle_take(struct lp *p, struct addr_item *it)
{
	struct lex	*lx = &p->lx;
	struct words	 w;
	int		 r = -1;

	lex_next(lx);
	if ((is_special(lx, '@') || is_special(lx, ',')) &&
	    route_take(p, it) == -1)
		return -1;
	memset(&w, 0, sizeof(w));
	words_take(p, &w);
	if (is_special(lx, '@'))
		r = spec_take(p, &w, it);
	else if (w.n > 0 && (p->flags & ADDR_LIST_LENIENT)) {
		it->local = text_dup(&w.phrase);
		r = 0;
	} else
		fail(p, w.n > 0 ? "no '@' in the address" :
		    "empty angle brackets");
	words_free(&w);
	if (r == 0 && !is_special(lx, '>'))
		r = fail(p, "'>' expected");
	if (r == 0)
		lex_next(lx);
	return r;
}

/* A mailbox whose leading words are taken. */
static int
mailbox_take(struct lp *p, struct words *w)
{
	struct lex	*lx = &p->lx;
	struct addr_item it;
	int		 r;

	memset(&it, 0, sizeof(it));
	it.kind = ADDR_MAILBOX;
	if (is_special(lx, '<')) {
		if (w->n > 0 && !w->phrase_ok &&
		    !(p->flags & ADDR_LIST_LENIENT))
			return fail(p, "a display name begins with a dot");
		if (w->phrase.len > 0)
			it.name = text_dup(&w->phrase);
		r = angle_take(p, &it);
	} else if (is_special(lx, '@')) {
		r = spec_take(p, w, &it);
		if (r == 0 && (p->flags & ADDR_LIST_COMMENT_NAME))
			it.name = comment_name(lx);
	} else if (w->n > 0 && (p->flags & ADDR_LIST_LENIENT)) {
		it.local = text_dup(&w->phrase);
		r = 0;
	} else
		r = fail(p, w->n > 0 ? "no '@' in the address" :
		    "an address is missing");
	if (r == 0 && push(p, &it) == 0)
		return 0;
	item_free(&it);
	return -1;
}

/* Skip what is left of a bad element, to its ',' or ';' or the end. */
static void
skip_element(struct lp *p)
{
	while (p->lx.tok != T_END && !is_special(&p->lx, ',') &&
	    !is_special(&p->lx, ';'))
		lex_next(&p->lx);
}

/* The end of an element: ',' or (in a group) ';' or the end. */
static int
element_end(struct lp *p, int in_group)
{
	if (p->lx.tok == T_END || is_special(&p->lx, ',') ||
	    (in_group && is_special(&p->lx, ';')))
		return 0;
	if (!(p->flags & ADDR_LIST_LENIENT))
		return fail(p, "text after an address");
	skip_element(p);
	return 0;
}

static int	 element_take(struct lp *, int);

/* display-name ":" [group-list] ";", ':' current. */
static int
group_take(struct lp *p, const struct words *w)
{
	struct lex	*lx = &p->lx;
	struct addr_item it;

	memset(&it, 0, sizeof(it));
	it.kind = ADDR_GROUP;
	if ((!w->phrase_ok || w->phrase.len == 0) &&
	    !(p->flags & ADDR_LIST_LENIENT))
		return fail(p, "a group without a name");
	if (w->phrase.len > 0)
		it.name = text_dup(&w->phrase);
	if (push(p, &it) == -1) {
		item_free(&it);
		return -1;
	}
	lex_next(lx);
	for (;;) {
		if (is_special(lx, ';')) {
			lex_next(lx);
			break;
		}
		if (is_special(lx, ',')) {
			lex_next(lx);
			continue;
		}
		if (lx->tok == T_END) {
			if (!(p->flags & ADDR_LIST_LENIENT))
				return fail(p, "a group without its ';'");
			break;
		}
		if (element_take(p, 1) == -1)
			return -1;
	}
	memset(&it, 0, sizeof(it));
	it.kind = ADDR_GROUP_END;
	return push(p, &it);
}

/*
 * One element: a mailbox or, at the top (not in_group), a group.  In a
 * lenient parse a bad one is skipped to its ',' or ';' (at the top a
 * stray ';' goes with it).  group_take() calls this for its members, so
 * the nesting is at most one level.
 */
static int
element_take(struct lp *p, int in_group)
{
	struct words	 w;
	int		 r;

	memset(&w, 0, sizeof(w));
	words_take(p, &w);
	if (!is_special(&p->lx, ':'))
		r = mailbox_take(p, &w);
	else if (in_group)
		r = fail(p, "a group inside a group");
	else
		r = group_take(p, &w);
	words_free(&w);
	if (r == -1 && (p->flags & ADDR_LIST_LENIENT) && p->l->n < p->max) {
		p->err = NULL;
		skip_element(p);
		if (!in_group && is_special(&p->lx, ';'))
			lex_next(&p->lx);
		return 0;
	}
	return r == -1 ? -1 : element_end(p, in_group);
}

int
addr_list_parse(const char *v, size_t len, int flags, size_t max,
    struct addr_list *l, char *err, size_t errlen)
{
	struct lp	 p;
	int		 r = 0;

	memset(l, 0, sizeof(*l));
	memset(&p, 0, sizeof(p));
	p.lx.v = v;
	p.lx.len = len;
	p.flags = flags;
	p.max = max;
	p.l = l;
	buf_init(&p.lx.text, 0);
	buf_init(&p.lx.comment, 0);
	lex_next(&p.lx);
	while (r == 0 && p.lx.tok != T_END) {
		if (is_special(&p.lx, ','))
			lex_next(&p.lx);
		else
			r = element_take(&p, 0);
	}
	buf_free(&p.lx.text);
	buf_free(&p.lx.comment);
	if (r == -1) {
		addr_list_free(l);
		return addr_err(err, errlen, "%s", p.err != NULL ? p.err :
		    "syntax error");
	}
	return 0;
}

void
addr_list_free(struct addr_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		item_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

size_t
addr_list_mailboxes(const struct addr_list *l)
{
	size_t	 i, n = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == ADDR_MAILBOX)
			n++;
	return n;
}

int
addr_header_check(const struct addr_item *it, char *err, size_t errlen)
{
	struct buf	 b;
	int		 r;

	if (it->kind != ADDR_MAILBOX || it->local == NULL)
		return addr_err(err, errlen, "not a mailbox");
	if (it->domain == NULL)
		return addr_err(err, errlen, "address has no domain");
	buf_init(&b, 0);
	r = addr_mailbox_canon(it->local, strlen(it->local), it->domain,
	    strlen(it->domain), ADDR_UTF8, &b, err, errlen);
	buf_free(&b);
	return r;
}

void
addr_spec_format(const struct addr_item *it, struct buf *out)
{
	addr_local_write(it->local, strlen(it->local), out);
	if (it->domain != NULL) {
		buf_addc(out, '@');
		domain_write(it->domain, out);
	}
}

/* A display name: atoms one space apart if it is that, else quoted. */
static void
phrase_format(const char *s, struct buf *out)
{
	const char	*p;
	int		 atoms = *s != '\0' && *s != ' ';

	for (p = s; *p != '\0' && atoms; p++)
		if (*p == ' ' ? p[1] == ' ' || p[1] == '\0' :
		    !is_atom_byte((unsigned char)*p))
			atoms = 0;
	if (atoms)
		buf_addstr(out, s);
	else
		addr_quote_write(s, strlen(s), out);
}

static void
mailbox_format(const struct addr_item *it, struct buf *out)
{
	if (it->name == NULL && it->route == NULL) {
		addr_spec_format(it, out);
		return;
	}
	if (it->name != NULL) {
		phrase_format(it->name, out);
		buf_addc(out, ' ');
	}
	buf_addc(out, '<');
	if (it->route != NULL)
		buf_printf(out, "%s:", it->route);
	addr_spec_format(it, out);
	buf_addc(out, '>');
}

void
addr_list_format(const struct addr_list *l, struct buf *out)
{
	const struct addr_item *it;
	size_t	 i;
	int	 sep = 0;

	for (i = 0; i < l->n; i++) {
		it = &l->v[i];
		if (it->kind == ADDR_GROUP_END) {
			buf_addc(out, ';');
			sep = 1;
			continue;
		}
		if (sep)
			buf_addstr(out, ", ");
		if (it->kind == ADDR_GROUP) {
			if (it->name != NULL)
				phrase_format(it->name, out);
			buf_addc(out, ':');
			sep = 0;
		} else {
			mailbox_format(it, out);
			sep = 1;
		}
	}
}

void
addr_name_decode(const char *name, struct buf *out)
{
	mime_header_decode(name, strlen(name), out);
}
