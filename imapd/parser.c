/*
 * parser.c - the incremental IMAP command parser; see parser.h.
 *
 * A byte-at-a-time state machine (literal data is copied in blocks).  It
 * keeps everything it needs between calls, so a command may arrive one
 * byte per read.  Every count that grows with the input (line length,
 * literal size, list depth, arguments) is checked against the limits given
 * at creation before anything is allocated for it.
 *
 * Runs inside the unprivileged network processes of imapd; it holds no
 * privileges and must never crash on any input (tests/fuzz/fuzz-imap.c).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "parser.h"
#include "xmalloc.h"

enum { ANN_NONE, ANN_LEN, ANN_PLUS, ANN_NONSYNC };

enum pstate {
	PS_TAG,
	PS_NAME,
	PS_ARG,
	PS_ATOM,
	PS_BRACKET,
	PS_QUOTED,
	PS_QESC,
	PS_TILDE,
	PS_LITLEN,
	PS_LITPLUS,
	PS_LITCR,
	PS_LITLF,
	PS_LITERAL,
	PS_AFTER,
	PS_CR,
	PS_SKIP,
	PS_SKIPLIT,	/* a refused line's non-synchronising literal */
	PS_DONE,
	PS_ERROR
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum pstate		 state;
	struct buf		 tag;
	struct buf		 name;
	struct buf		 tok;
	struct imap_list	*root;
	struct imap_list	**stack;
	int			 depth;
	int			 nargs;
	size_t			 linelen;
	uint64_t		 litlen;
	uint64_t		 littotal;	/* of this command so far */
	int			 litdigits;
	int			 litsync;
	int			 litbinary;
	int			 bparen;	/* in a section's header list */
	int			 ann;		/* "{n+}" seen: ANN_* */
	uint64_t		 annlen;
	uint64_t		 skiplen;	/* PS_SKIPLIT: data to skip */
	const char		*err;
	int			 fatal;
	int			 toobig;
	int			 eol;
	struct imap_cmd		 cmd;
};

static void
list_free(struct imap_list *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		/* arguments may be passwords (LOGIN): wipe them */
		if (l->v[i].str != NULL)
			explicit_bzero(l->v[i].str, l->v[i].len);
		free(l->v[i].str);
		list_free(l->v[i].list);
	}
	free(l->v);
	free(l);
}

static struct imap_arg *
list_add(struct imap_list *l)
{
	struct imap_arg	*a;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	a = &l->v[l->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *lim)
{
	struct imap_parser	*p;

	p = xcalloc(1, sizeof(*p));
	p->lim = *lim;
	if (p->lim.max_depth < 0)
		p->lim.max_depth = 0;
	p->stack = xcalloc((size_t)p->lim.max_depth + 1, sizeof(*p->stack));
	buf_init(&p->tag, 0);
	buf_init(&p->name, 0);
	buf_init(&p->tok, 0);
	p->eol = 1;
	imap_parser_reset(p);
	return p;
}

void
imap_parser_free(struct imap_parser *p)
{
	if (p == NULL)
		return;
	list_free(p->root);
	buf_wipe(&p->tok);
	buf_free(&p->tag);
	buf_free(&p->name);
	free(p->stack);
	free(p);
}

void
imap_parser_reset(struct imap_parser *p)
{
	list_free(p->root);
	p->root = xcalloc(1, sizeof(*p->root));
	p->stack[0] = p->root;
	p->depth = 0;
	p->nargs = 0;
	p->linelen = 0;
	p->littotal = 0;
	buf_reset(&p->tag);
	buf_reset(&p->name);
	buf_wipe(&p->tok);
	p->err = NULL;
	p->toobig = 0;
	if (p->state == PS_ERROR && p->skiplen > 0)
		p->state = PS_SKIPLIT;
	else
		p->state = (p->state == PS_ERROR && !p->eol) ? PS_SKIP :
		    PS_TAG;
	p->ann = ANN_NONE;
	p->fatal = 0;
	p->eol = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

const struct imap_cmd *
imap_parser_cmd(const struct imap_parser *p)
{
	return p->state == PS_DONE ? &p->cmd : NULL;
}

const char *
imap_parser_error(const struct imap_parser *p)
{
	return p->err != NULL ? p->err : "Syntax error";
}

const char *
imap_parser_tag(const struct imap_parser *p)
{
	return p->tag.len > 0 ? buf_cstr(&p->tag) : NULL;
}

int
imap_parser_fatal(const struct imap_parser *p)
{
	return p->fatal;
}

int
imap_parser_toobig(const struct imap_parser *p)
{
	return p->toobig;
}

static int
is_ctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

/* Characters that may not appear in an atom (outside a [section]). */
static int
is_atom_special(int c)
{
	return is_ctl(c) || c == ' ' || c == '(' || c == ')' || c == '{' ||
	    c == '"';
}

/*
 * Every byte of a line outside literal data passes here, to know whether
 * the line ends with a non-synchronising literal's "{n+}": when a command
 * is refused before its parser reached that (a syntax error earlier on
 * the line, or a "{" inside a section), the client sends the data anyway
 * (RFC 7888), and it must be skipped, not read as commands.
 */
static void
watch_literal(struct imap_parser *p, int c)
{
	if (c == '\r' || c == '\n')
		return;
	if (c == '{') {
		p->ann = ANN_LEN;
		p->annlen = 0;
	} else if (p->ann == ANN_LEN && c >= '0' && c <= '9' &&
	    p->annlen < UINT64_MAX / 10 - 9)
		p->annlen = p->annlen * 10 + (uint64_t)(c - '0');
	else if (p->ann == ANN_LEN && c == '+')
		p->ann = ANN_PLUS;
	else if (p->ann == ANN_PLUS && c == '}')
		p->ann = ANN_NONSYNC;
	else
		p->ann = ANN_NONE;
}

static int
fail(struct imap_parser *p, const char *why, int c)
{
	p->err = why;
	p->eol = (c == '\n');
	if (p->eol && p->ann == ANN_NONSYNC && p->annlen > 0) {
		p->skiplen = p->annlen;		/* imap_parser_reset() */
		p->eol = 0;
	}
	p->state = PS_ERROR;
	return -1;
}

static int
new_arg(struct imap_parser *p, struct imap_arg **a_r)
{
	if (++p->nargs > p->lim.max_args) {
		p->err = "Too many arguments";
		return -1;
	}
	*a_r = list_add(p->stack[p->depth]);
	return 0;
}

/* Turn the collected token into an argument of the current list. */
static int
finish_token(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg	*a;

	if (new_arg(p, &a) == -1)
		return -1;
	a->type = type;
	a->binary = type == IMAP_ARG_LITERAL ? p->litbinary : 0;
	a->len = p->tok.len;
	a->str = xmalloc(p->tok.len + 1);
	if (p->tok.len > 0)
		memcpy(a->str, p->tok.data, p->tok.len);
	a->str[p->tok.len] = '\0';
	buf_wipe(&p->tok);
	return 0;
}

static int
open_list(struct imap_parser *p)
{
	struct imap_arg	*a;

	if (p->depth >= p->lim.max_depth) {
		p->err = "Lists nested too deeply";
		return -1;
	}
	if (new_arg(p, &a) == -1)
		return -1;
	a->type = IMAP_ARG_LIST;
	a->list = xcalloc(1, sizeof(*a->list));
	p->stack[++p->depth] = a->list;
	return 0;
}

static int
close_list(struct imap_parser *p)
{
	if (p->depth == 0) {
		p->err = "Unexpected ')'";
		return -1;
	}
	p->depth--;
	return 0;
}

static int
finish_line(struct imap_parser *p)
{
	if (p->depth != 0) {
		p->err = "Unclosed list";
		return -1;
	}
	p->cmd.tag = buf_cstr(&p->tag);
	p->cmd.name = buf_cstr(&p->name);
	p->cmd.args = p->root;
	p->state = PS_DONE;
	p->eol = 1;
	return 0;
}

/*
 * A literal's announcement is complete: check it against the limits and
 * tell the caller whether to send a continuation.
 */
static enum imap_parse_result
literal_begin(struct imap_parser *p, int c)
{
	if (p->nargs + 1 > p->lim.max_args) {
		fail(p, "Too many arguments", c);
		p->fatal = !p->litsync;
		return IMAP_PARSE_ERROR;
	}
	if (p->litlen > p->lim.max_literal) {
		fail(p, "Literal too large", c);
		p->toobig = 1;
		p->fatal = !p->litsync;
		return IMAP_PARSE_ERROR;
	}
	if (p->littotal + p->litlen > p->lim.max_command) {
		fail(p, "Command too large", c);
		p->toobig = 1;
		p->fatal = !p->litsync;
		return IMAP_PARSE_ERROR;
	}
	p->littotal += p->litlen;
	p->ann = ANN_NONE;
	buf_wipe(&p->tok);
	p->state = PS_LITERAL;
	return p->litsync ? IMAP_PARSE_CONTINUE : IMAP_PARSE_MORE;
}

static int	step_atom(struct imap_parser *, int);

static int
step_arg(struct imap_parser *p, int c)
{
	switch (c) {
	case ' ':
		return 0;
	case '\r':
		p->state = PS_CR;
		return 0;
	case '\n':
		return finish_line(p);
	case '(':
		return open_list(p);
	case ')':
		if (close_list(p) == -1)
			return -1;
		p->state = PS_AFTER;
		return 0;
	case '"':
		buf_reset(&p->tok);
		p->state = PS_QUOTED;
		return 0;
	case '{':
		p->litbinary = 0;
		p->litlen = 0;
		p->litdigits = 0;
		p->litsync = 1;
		p->state = PS_LITLEN;
		return 0;
	case '~':
		p->state = PS_TILDE;
		return 0;
	}
	if (is_atom_special(c)) {
		p->err = "Invalid character";
		return -1;
	}
	buf_reset(&p->tok);
	p->state = PS_ATOM;
	return step_atom(p, c);
}

static int
step_atom(struct imap_parser *p, int c)
{
	switch (c) {
	case ' ':
		p->state = PS_ARG;
		return finish_token(p, IMAP_ARG_ATOM);
	case ')':
		if (finish_token(p, IMAP_ARG_ATOM) == -1 || close_list(p) == -1)
			return -1;
		p->state = PS_AFTER;
		return 0;
	case '\r':
		p->state = PS_CR;
		return finish_token(p, IMAP_ARG_ATOM);
	case '\n':
		if (finish_token(p, IMAP_ARG_ATOM) == -1)
			return -1;
		return finish_line(p);
	case '[':
		p->bparen = 0;
		p->state = PS_BRACKET;
		break;
	default:
		if (is_atom_special(c)) {
			p->err = "Invalid character in atom";
			return -1;
		}
	}
	buf_addc(&p->tok, c);
	return 0;
}

static int
fields_end(const char *t, size_t n)
{
	return (n >= 7 && strncasecmp(t + n - 7, ".FIELDS", 7) == 0) ||
	    (n >= 11 && strncasecmp(t + n - 11, ".FIELDS.NOT", 11) == 0);
}

/*
 * Inside "[": a FETCH section keeps the space of "HEADER.FIELDS[.NOT] SP
 * (list)" and the list's (RFC 3501 9); else "[" is an ATOM-CHAR ("a[b").
 */
static int
step_bracket(struct imap_parser *p, int c)
{
	if (c == ']')
		p->state = PS_ATOM;
	else if (c == ' ' && p->bparen == 0 &&
	    fields_end(p->tok.data, p->tok.len))
		p->bparen = 1;
	else if (c == ')' && p->bparen == 1)
		p->bparen = 0;
	else if (p->bparen == 0 || is_ctl(c))
		return step_atom(p, c);
	buf_addc(&p->tok, c);
	return 0;
}

static int
step_literal_len(struct imap_parser *p, int c)
{
	if (c >= '0' && c <= '9') {
		if (p->litdigits >= 19) {
			p->err = "Literal too large";
			return -1;
		}
		p->litlen = p->litlen * 10 + (uint64_t)(c - '0');
		p->litdigits++;
		return 0;
	}
	if (p->litdigits == 0) {
		p->err = "Bad literal length";
		return -1;
	}
	if (c == '+') {
		p->litsync = 0;
		p->state = PS_LITPLUS;
		return 0;
	}
	if (c == '}') {
		p->state = PS_LITCR;
		return 0;
	}
	p->err = "Bad literal length";
	return -1;
}

/* One byte outside literal data.  Returns -1 on a syntax error. */
static int
step(struct imap_parser *p, int c, enum imap_parse_result *res)
{
	switch (p->state) {
	case PS_TAG:
		if ((c == '\r' || c == '\n') && p->tag.len == 0) {
			p->linelen = 0;	/* empty lines are ignored */
			return 0;
		}
		if (c == ' ' && p->tag.len > 0) {
			p->state = PS_NAME;
			return 0;
		}
		/* tag: ASTRING-CHARs but '+', so 7-bit (RFC 3501) */
		if (is_atom_special(c) || c == '+' || c == '[' || c == ']' ||
		    c == '\\' || c == '%' || c == '*' || c >= 0x80) {
			if (c != '\r' && c != '\n')	/* no tag: "* BAD" */
				buf_reset(&p->tag);
			p->err = "Invalid tag";
			return -1;
		}
		buf_addc(&p->tag, c);
		return 0;
	case PS_NAME:
		if (c == ' ' && p->name.len > 0) {
			p->state = PS_ARG;
			return 0;
		}
		if ((c == '\r' || c == '\n') && p->name.len > 0) {
			if (c == '\n')
				return finish_line(p);
			p->state = PS_CR;
			return 0;
		}
		if (is_atom_special(c) || c == '[' || c == ']') {
			p->err = "Invalid command name";
			return -1;
		}
		buf_addc(&p->name, c);
		return 0;
	case PS_ARG:
		return step_arg(p, c);
	case PS_ATOM:
		return step_atom(p, c);
	case PS_BRACKET:
		return step_bracket(p, c);
	case PS_QUOTED:
		if (c == '\\') {
			p->state = PS_QESC;
			return 0;
		}
		if (c == '"') {
			p->state = PS_AFTER;
			return finish_token(p, IMAP_ARG_STRING);
		}
		if (c == '\r' || c == '\n' || c == '\0') {
			p->err = "Unterminated quoted string";
			return -1;
		}
		buf_addc(&p->tok, c);
		return 0;
	case PS_QESC:
		if (c != '"' && c != '\\') {
			p->err = "Bad escape in quoted string";
			return -1;
		}
		buf_addc(&p->tok, c);
		p->state = PS_QUOTED;
		return 0;
	case PS_TILDE:
		if (c == '{') {
			p->litbinary = 1;
			p->litlen = 0;
			p->litdigits = 0;
			p->litsync = 1;
			p->state = PS_LITLEN;
			return 0;
		}
		/* "~" starting an ordinary atom */
		buf_reset(&p->tok);
		buf_addc(&p->tok, '~');
		p->state = PS_ATOM;
		return step_atom(p, c);
	case PS_LITLEN:
		return step_literal_len(p, c);
	case PS_LITPLUS:
		if (c != '}') {
			p->err = "Bad literal length";
			return -1;
		}
		p->state = PS_LITCR;
		return 0;
	case PS_LITCR:
		if (c == '\r') {
			p->state = PS_LITLF;
			return 0;
		}
		/* FALLTHROUGH */
	case PS_LITLF:
		if (c != '\n') {
			p->err = "Literal must end the line";
			return -1;
		}
		*res = literal_begin(p, c);
		return *res == IMAP_PARSE_ERROR ? -2 : 0;
	case PS_AFTER:
		switch (c) {
		case ' ':
			p->state = PS_ARG;
			return 0;
		case ')':
			return close_list(p);
		case '\r':
			p->state = PS_CR;
			return 0;
		case '\n':
			return finish_line(p);
		}
		p->err = "Missing space after argument";
		return -1;
	case PS_CR:
		if (c != '\n') {
			p->err = "CR without LF";
			return -1;
		}
		return finish_line(p);
	case PS_SKIP:
		if (c != '\n')
			return 0;
		if (p->ann == ANN_NONSYNC && p->annlen > 0) {
			p->skiplen = p->annlen;
			p->state = PS_SKIPLIT;
		} else {
			p->state = PS_TAG;
			p->linelen = 0;
		}
		p->ann = ANN_NONE;
		return 0;
	default:
		p->err = "Parser used after DONE or ERROR without reset";
		return -1;
	}
}

enum imap_parse_result
imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
    size_t *used_r)
{
	const unsigned char	*s = data;
	enum imap_parse_result	 res;
	size_t			 i = 0, n;
	int			 c, r;

	*used_r = 0;
	if (p->state == PS_DONE || p->state == PS_ERROR)
		return p->state == PS_DONE ? IMAP_PARSE_DONE :
		    IMAP_PARSE_ERROR;
	for (;;) {
		if (p->state == PS_SKIPLIT) {
			n = len - i < p->skiplen ? len - i : (size_t)p->skiplen;
			i += n;
			if ((p->skiplen -= n) == 0)
				p->state = PS_SKIP;	/* the line goes on */
			if (i == len)
				break;
			continue;
		}
		if (p->state == PS_LITERAL) {
			if (p->tok.len == p->litlen) {
				if (finish_token(p, IMAP_ARG_LITERAL) == -1) {
					fail(p, p->err, 0);
					*used_r = i;
					return IMAP_PARSE_ERROR;
				}
				p->state = PS_AFTER;
				continue;
			}
			if (i == len)
				break;
			n = len - i;
			if (n > p->litlen - p->tok.len)
				n = (size_t)(p->litlen - p->tok.len);
			buf_add(&p->tok, s + i, n);
			i += n;
			continue;
		}
		if (i == len)
			break;
		c = s[i++];
		watch_literal(p, c);
		if (p->state != PS_SKIP && ++p->linelen > p->lim.max_line) {
			p->toobig = 1;
			fail(p, "Line too long", c);
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		res = IMAP_PARSE_MORE;
		r = step(p, c, &res);
		if (r == -2) {
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		if (r == -1) {
			fail(p, p->err, c);
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		if (p->state == PS_DONE) {
			*used_r = i;
			return IMAP_PARSE_DONE;
		}
		if (res == IMAP_PARSE_CONTINUE) {
			*used_r = i;
			return IMAP_PARSE_CONTINUE;
		}
	}
	*used_r = i;
	return IMAP_PARSE_MORE;
}

int
imap_arg_astring(const struct imap_arg *a, const char **s_r)
{
	if (a == NULL || a->type == IMAP_ARG_LIST)
		return -1;
	*s_r = a->str;
	return 0;
}

int
imap_arg_string(const struct imap_arg *a, const char **s_r)
{
	if (a == NULL || (a->type != IMAP_ARG_STRING &&
	    a->type != IMAP_ARG_LITERAL))
		return -1;
	*s_r = a->str;
	return 0;
}

int
imap_arg_atom(const struct imap_arg *a, const char **s_r)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return -1;
	*s_r = a->str;
	return 0;
}

int
imap_arg_is_atom(const struct imap_arg *a, const char *name)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	    strcasecmp(a->str, name) == 0;
}
