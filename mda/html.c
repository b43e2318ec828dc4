/*
 * html.c - streaming HTML to plain text converter; see html.h.
 *
 * A byte-at-a-time state machine.  It is not an HTML5 tree builder: it only
 * needs to find tags, comments, raw-text elements (script, style, title)
 * and character references well enough that nothing inside a tag or a
 * script ever reaches the text.  Bounded buffers hold the tag name, one
 * attribute, a link target and its label; what does not fit is cut.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "html.h"
#include "utf8.h"
#include "xmalloc.h"

#define HTML_NAME_MAX	16
#define HTML_ATTR_MAX	2048
#define HTML_ENT_MAX	32

enum hstate {
	H_TEXT,
	H_TAG_OPEN,	/* after '<' */
	H_TAG_NAME,
	H_ATTRS,	/* between attributes */
	H_ATTR_NAME,
	H_ATTR_AFTER,	/* after a name, before '=' */
	H_ATTR_VALUE,	/* after '=' */
	H_VAL_QUOTED,
	H_VAL_BARE,
	H_DECL,		/* "<!" */
	H_DECL_DASH,	/* "<!-" */
	H_COMMENT,
	H_BOGUS,	/* <?...>, <!DOCTYPE ...>: skip to '>' */
	H_RAW,		/* script/style/title content */
	H_ENTITY
};

struct html_conv {
	enum html_out	 mode;
	enum hstate	 state;
	int		 closing;	/* "</" */
	char		 name[HTML_NAME_MAX + 1];
	size_t		 nname;
	char		 aname[HTML_NAME_MAX + 1];
	size_t		 naname;
	struct buf	 aval;		/* attribute value */
	char		 quote;
	char		 ent[HTML_ENT_MAX + 1];
	size_t		 nent;
	int		 dashes;	/* in a comment */
	char		 raw_end[HTML_NAME_MAX + 3];	/* "</script" */
	size_t		 raw_match;
	struct buf	 href;		/* target of the open <a> */
	struct buf	 alt;		/* alt of the <img> being read */
	struct buf	 label;		/* text of the open <a> */
	int		 in_a;
	int		 pre;
	int		 pend_space;
	int		 pend_nl;
	int		 at_sol;	/* output is at a line start */
	int		 started;	/* any text written */
};

static const struct {
	const char	*name;
	unsigned long	 cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 }, { "copy", 0xa9 },
	{ "reg", 0xae }, { "trade", 0x2122 }, { "hellip", 0x2026 },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "lsquo", 0x2018 },
	{ "rsquo", 0x2019 }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "sbquo", 0x201a }, { "bdquo", 0x201e }, { "bull", 0x2022 },
	{ "middot", 0xb7 }, { "euro", 0x20ac }, { "pound", 0xa3 },
	{ "yen", 0xa5 }, { "cent", 0xa2 }, { "sect", 0xa7 },
	{ "para", 0xb6 }, { "deg", 0xb0 }, { "plusmn", 0xb1 },
	{ "times", 0xd7 }, { "divide", 0xf7 }, { "laquo", 0xab },
	{ "raquo", 0xbb }, { "shy", 0xad }, { "iexcl", 0xa1 },
	{ "iquest", 0xbf }, { "auml", 0xe4 }, { "ouml", 0xf6 },
	{ "uuml", 0xfc }, { "Auml", 0xc4 }, { "Ouml", 0xd6 },
	{ "Uuml", 0xdc }, { "szlig", 0xdf }, { "eacute", 0xe9 },
	{ "egrave", 0xe8 }, { "ecirc", 0xea }, { "aacute", 0xe1 },
	{ "agrave", 0xe0 }, { "acirc", 0xe2 }, { "ccedil", 0xe7 },
	{ "ntilde", 0xf1 }, { "oacute", 0xf3 }, { "iacute", 0xed },
	{ "uacute", 0xfa }, { "Eacute", 0xc9 }, { "aring", 0xe5 },
	{ "oslash", 0xf8 }, { "aelig", 0xe6 }, { "thinsp", 0x2009 },
	{ "ensp", 0x2002 }, { "emsp", 0x2003 }, { "zwnj", 0x200c },
	{ "zwj", 0x200d }, { "lrm", 0x200e }, { "rlm", 0x200f },
	{ "larr", 0x2190 }, { "rarr", 0x2192 }, { "uarr", 0x2191 },
	{ "darr", 0x2193 }, { "check", 0x2713 }, { "star", 0x2606 },
	{ "hearts", 0x2665 }, { "frac12", 0xbd }, { "frac14", 0xbc },
	{ "frac34", 0xbe }, { "micro", 0xb5 }, { "ordf", 0xaa },
	{ "ordm", 0xba }, { "sup2", 0xb2 }, { "sup3", 0xb3 },
};

/* Elements that start a new line; "li" adds a bullet. */
static const char *const blocks[] = {
	"p", "div", "br", "tr", "table", "ul", "ol", "li", "dl", "dt", "dd",
	"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr",
	"section", "article", "header", "footer", "nav", "aside", "form",
	"address", "center", "fieldset", "figure", "figcaption", "main",
	"tbody", "thead", "tfoot", "caption", "title", NULL
};

static int
is_block(const char *name)
{
	const char *const *b;

	for (b = blocks; *b != NULL; b++)
		if (strcmp(*b, name) == 0)
			return 1;
	return 0;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

struct html_conv *
html_conv_new(enum html_out mode)
{
	struct html_conv *h;

	h = xcalloc(1, sizeof(*h));
	h->mode = mode;
	h->state = H_TEXT;
	h->at_sol = 1;
	buf_init(&h->aval, HTML_ATTR_MAX);
	buf_init(&h->href, HTML_ATTR_MAX);
	buf_init(&h->alt, HTML_ATTR_MAX);
	buf_init(&h->label, HTML_ATTR_MAX);
	return h;
}

void
html_conv_free(struct html_conv *h)
{
	if (h == NULL)
		return;
	buf_free(&h->aval);
	buf_free(&h->href);
	buf_free(&h->alt);
	buf_free(&h->label);
	free(h);
}

/* Which output mode suits a part's charset. */
enum html_out
html_out_for_charset(const char *cs)
{
	if (cs == NULL || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0)
		return HTML_OUT_UTF8;
	if (strcasecmp(cs, "iso-8859-1") == 0 ||
	    strcasecmp(cs, "windows-1252") == 0 ||
	    strcasecmp(cs, "iso-8859-15") == 0 || strcasecmp(cs, "latin1") == 0)
		return HTML_OUT_LATIN1;
	return HTML_OUT_ASCII;
}

/* Write pending whitespace before visible text. */
static void
flush_space(struct html_conv *h, struct buf *out)
{
	if (h->pend_nl > 0 && h->started) {
		if (!h->at_sol)
			buf_add(out, "\r\n", 2);
		if (h->pend_nl > 1)
			buf_add(out, "\r\n", 2);
		h->at_sol = 1;
	} else if (h->pend_space && !h->at_sol)
		buf_addc(out, ' ');
	h->pend_nl = 0;
	h->pend_space = 0;
}

static void
put_bytes(struct html_conv *h, const char *s, size_t n, struct buf *out)
{
	if (n == 0)
		return;
	flush_space(h, out);
	buf_add(out, s, n);
	if (h->in_a)
		buf_add(&h->label, s, n);
	h->at_sol = 0;
	h->started = 1;
}

static void
put_cp(struct html_conv *h, unsigned long cp, struct buf *out)
{
	char	 s[4];
	size_t	 n = 0;

	if (cp == 0xa0) {
		/* a no-break space is a space; alone on a line it is none */
		h->pend_space = 1;
		return;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x20 && cp != '\t') {
		h->pend_space = 1;
		return;
	}
	if (cp < 0x80) {
		s[n++] = (char)cp;
	} else if (h->mode == HTML_OUT_LATIN1 && cp < 0x100) {
		s[n++] = (char)cp;
	} else if (h->mode != HTML_OUT_UTF8) {
		s[n++] = '?';
	} else
		n = utf8_put((uint32_t)cp, s);
	put_bytes(h, s, n, out);
}

/* Code point of "&name;" or "&#NNN;" (name without & and ;), or 0. */
static unsigned long
entity_cp(const char *e)
{
	unsigned long	 cp = 0;
	size_t		 i;
	char		*end;

	if (e[0] == '#') {
		if (e[1] == 'x' || e[1] == 'X')
			cp = strtoul(e + 2, &end, 16);
		else
			cp = strtoul(e + 1, &end, 10);
		if (end == e + 1 || end == e + 2 || *end != '\0')
			return 0;
		/* Windows-1252 numeric references, as browsers read them */
		if (cp >= 0x80 && cp < 0xa0)
			cp = '?';
		return cp > 0x10ffff ? 0xfffd : (cp == 0 ? 0xfffd : cp);
	}
	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
		if (strcmp(entities[i].name, e) == 0)
			return entities[i].cp;
	return 0;
}

/* Decode entities of an attribute value into out (always UTF-8). */
static void
attr_decode(const char *s, size_t n, struct buf *out)
{
	struct html_conv tmp;
	size_t		 i, j;
	char		 e[HTML_ENT_MAX + 1];
	unsigned long	 cp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.mode = HTML_OUT_UTF8;
	for (i = 0; i < n; i++) {
		if (s[i] == '&') {
			for (j = i + 1; j < n && j - i - 1 < HTML_ENT_MAX &&
			    (isalnum((unsigned char)s[j]) || s[j] == '#'); j++)
				;
			memcpy(e, s + i + 1, j - i - 1);
			e[j - i - 1] = '\0';
			if ((cp = entity_cp(e)) != 0) {
				tmp.at_sol = 1;
				put_cp(&tmp, cp, out);
				i = (j < n && s[j] == ';') ? j : j - 1;
				continue;
			}
		}
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			buf_addc(out, s[i]);
	}
}

static void
tag_start_raw(struct html_conv *h)
{
	size_t	 n = strlen(h->name);

	h->raw_end[0] = '<';
	h->raw_end[1] = '/';
	memcpy(h->raw_end + 2, h->name, n + 1);
	h->raw_match = 0;
	h->state = H_RAW;
}

static int
href_shown(const char *href)
{
	return href[0] != '\0' && href[0] != '#' &&
	    strncasecmp(href, "javascript:", 11) != 0 &&
	    strncasecmp(href, "data:", 5) != 0 &&
	    strncasecmp(href, "cid:", 4) != 0;
}

/* End of a link: show its target unless the label already is it. */
static void
link_end(struct html_conv *h, struct buf *out)
{
	const char	*href = buf_cstr(&h->href);
	const char	*label = buf_cstr(&h->label);
	struct buf	 t;

	h->in_a = 0;
	if (href_shown(href) && strcmp(href, label) != 0 &&
	    !(strncasecmp(href, "mailto:", 7) == 0 &&
	    strcmp(href + 7, label) == 0)) {
		buf_init(&t, 0);
		buf_printf(&t, "<%s>", href);
		h->pend_space = 1;
		put_bytes(h, t.data, t.len, out);
		buf_free(&t);
	}
	buf_reset(&h->href);
	buf_reset(&h->label);
}

/* An attribute ended: keep the ones that become text. */
static void
attr_done(struct html_conv *h)
{
	h->aname[h->naname] = '\0';
	if (!h->closing && strcmp(h->name, "a") == 0 &&
	    strcmp(h->aname, "href") == 0) {
		buf_reset(&h->href);
		attr_decode(h->aval.data, h->aval.len, &h->href);
	} else if (!h->closing && strcmp(h->name, "img") == 0 &&
	    strcmp(h->aname, "alt") == 0) {
		buf_reset(&h->alt);
		attr_decode(h->aval.data, h->aval.len, &h->alt);
	}
	buf_reset(&h->aval);
	h->naname = 0;
}

static void
tag_done(struct html_conv *h, struct buf *out)
{
	const char	*n = h->name;

	h->state = H_TEXT;
	if (strcmp(n, "a") == 0) {
		if (h->closing) {
			if (h->in_a)
				link_end(h, out);
		} else {
			if (h->in_a)
				link_end(h, out);
			h->in_a = 1;
			buf_reset(&h->label);
		}
	} else if (strcmp(n, "img") == 0 && !h->closing) {
		if (h->alt.len > 0) {
			h->pend_space = 1;
			put_bytes(h, "[", 1, out);
			put_bytes(h, h->alt.data, h->alt.len, out);
			put_bytes(h, "]", 1, out);
		}
		buf_reset(&h->alt);
	} else if (strcmp(n, "pre") == 0)
		h->pre = !h->closing;
	if (is_block(n)) {
		if (strcmp(n, "br") == 0) {
			if (h->started && h->at_sol && h->pend_nl == 0)
				buf_add(out, "\r\n", 2);
			else if (h->pend_nl == 0)
				h->pend_nl = 1;
		} else if (strcmp(n, "li") == 0 && !h->closing) {
			if (h->pend_nl < 1)
				h->pend_nl = 1;
			put_bytes(h, "* ", 2, out);
		} else if (h->pend_nl < 2 && (n[0] == 'p' || n[0] == 'h' ||
		    strcmp(n, "blockquote") == 0 || strcmp(n, "table") == 0))
			h->pend_nl = 2;
		else if (h->pend_nl < 1)
			h->pend_nl = 1;
	} else if (strcmp(n, "td") == 0 || strcmp(n, "th") == 0)
		h->pend_space = 1;
	if (!h->closing && (strcmp(n, "script") == 0 ||
	    strcmp(n, "style") == 0 || strcmp(n, "title") == 0 ||
	    strcmp(n, "textarea") == 0 || strcmp(n, "xmp") == 0))
		tag_start_raw(h);
}

static void
entity_done(struct html_conv *h, int semi, struct buf *out)
{
	unsigned long	 cp;

	h->ent[h->nent] = '\0';
	h->state = H_TEXT;
	if ((cp = entity_cp(h->ent)) != 0) {
		put_cp(h, cp, out);
		return;
	}
	put_bytes(h, "&", 1, out);
	put_bytes(h, h->ent, h->nent, out);
	if (semi)
		put_bytes(h, ";", 1, out);
}

static void
text_byte(struct html_conv *h, unsigned char c, struct buf *out)
{
	char	 ch = (char)c;

	if (c == '<') {
		h->state = H_TAG_OPEN;
		h->closing = 0;
		h->nname = 0;
		h->naname = 0;
		buf_reset(&h->aval);
	} else if (c == '&') {
		h->state = H_ENTITY;
		h->nent = 0;
	} else if (h->pre && (c == '\n' || c == ' ' || c == '\t')) {
		if (c == '\n') {
			buf_add(out, "\r\n", 2);
			h->at_sol = 1;
			h->pend_space = 0;
		} else
			put_bytes(h, &ch, 1, out);
	} else if (is_space(c)) {
		h->pend_space = 1;
	} else if (c < 0x20 || c == 0x7f) {
		/* control characters are never shown */
	} else
		put_bytes(h, &ch, 1, out);
}

static void
conv_byte(struct html_conv *h, unsigned char c, struct buf *out)
{
again:
	switch (h->state) {
	case H_TEXT:
		text_byte(h, c, out);
		break;
	case H_TAG_OPEN:
		if (c == '/' && !h->closing && h->nname == 0) {
			h->closing = 1;
		} else if (isalpha(c)) {
			h->state = H_TAG_NAME;
			goto again;
		} else if (c == '!') {
			h->state = H_DECL;
		} else if (c == '?' || h->closing) {
			h->state = H_BOGUS;
			goto again;
		} else {
			h->state = H_TEXT;
			put_bytes(h, "<", 1, out);
			goto again;
		}
		break;
	case H_TAG_NAME:
		if (isalnum(c) || c == '-' || c == ':') {
			if (h->nname < HTML_NAME_MAX)
				h->name[h->nname++] = (char)tolower(c);
			break;
		}
		h->name[h->nname] = '\0';
		h->state = H_ATTRS;
		goto again;
	case H_ATTRS:
		if (c == '>')
			tag_done(h, out);
		else if (!is_space(c) && c != '/') {
			h->state = H_ATTR_NAME;
			h->naname = 0;
			buf_reset(&h->aval);
			goto again;
		}
		break;
	case H_ATTR_NAME:
		if (c == '=' || c == '>' || c == '/' || is_space(c)) {
			h->state = H_ATTR_AFTER;
			goto again;
		}
		if (h->naname < HTML_NAME_MAX)
			h->aname[h->naname++] = (char)tolower(c);
		break;
	case H_ATTR_AFTER:
		if (c == '=')
			h->state = H_ATTR_VALUE;
		else if (!is_space(c)) {
			attr_done(h);
			h->state = H_ATTRS;
			goto again;
		}
		break;
	case H_ATTR_VALUE:
		if (is_space(c))
			break;
		if (c == '"' || c == '\'') {
			h->quote = (char)c;
			h->state = H_VAL_QUOTED;
		} else if (c == '>') {
			attr_done(h);
			tag_done(h, out);
		} else {
			h->state = H_VAL_BARE;
			goto again;
		}
		break;
	case H_VAL_QUOTED:
		if (c == (unsigned char)h->quote) {
			attr_done(h);
			h->state = H_ATTRS;
		} else
			buf_addc(&h->aval, c);
		break;
	case H_VAL_BARE:
		if (is_space(c) || c == '>') {
			attr_done(h);
			h->state = H_ATTRS;
			goto again;
		}
		buf_addc(&h->aval, c);
		break;
	case H_DECL:
		h->state = c == '-' ? H_DECL_DASH : H_BOGUS;
		if (c == '>')
			h->state = H_TEXT;
		break;
	case H_DECL_DASH:
		if (c == '-') {
			h->state = H_COMMENT;
			h->dashes = 0;
		} else {
			h->state = H_BOGUS;
			goto again;
		}
		break;
	case H_COMMENT:
		if (c == '>' && h->dashes >= 2)
			h->state = H_TEXT;
		else if (c == '-')
			h->dashes++;
		else
			h->dashes = 0;
		break;
	case H_BOGUS:
		if (c == '>')
			h->state = H_TEXT;
		break;
	case H_RAW:
		if (h->raw_end[h->raw_match] == '\0') {
			/* "</script" seen: the end tag runs to '>' */
			if (is_space(c) || c == '>' || c == '/') {
				h->state = H_BOGUS;
				goto again;
			}
			h->raw_match = 0;
		}
		if (tolower(c) == h->raw_end[h->raw_match])
			h->raw_match++;
		else
			h->raw_match = tolower(c) == '<' ? 1 : 0;
		break;
	case H_ENTITY:
		if ((isalnum(c) || (c == '#' && h->nent == 0)) &&
		    h->nent < HTML_ENT_MAX) {
			h->ent[h->nent++] = (char)c;
			break;
		}
		entity_done(h, c == ';', out);
		if (c != ';')
			goto again;
		break;
	}
}

void
html_conv_feed(struct html_conv *h, const char *s, size_t n,
    struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		conv_byte(h, (unsigned char)s[i], out);
}

void
html_conv_finish(struct html_conv *h, struct buf *out)
{
	if (h->state == H_ENTITY)
		entity_done(h, 0, out);
	if (h->in_a)
		link_end(h, out);
	if (h->started && !h->at_sol)
		buf_add(out, "\r\n", 2);
	h->state = H_TEXT;
}

void
html_to_text(const char *s, size_t n, enum html_out mode, struct buf *out)
{
	struct html_conv *h = html_conv_new(mode);

	html_conv_feed(h, s, n, out);
	html_conv_finish(h, out);
	html_conv_free(h);
}
