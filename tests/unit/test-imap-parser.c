/*
 * test-imap-parser.c - the incremental IMAP command parser (imapd/parser.c).
 *
 * Table-driven: each case is fed whole, then byte by byte, and the parsed
 * command is rendered in a canonical form and compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "../../imapd/parser.h"
#include "test.h"

static const struct imap_parser_limits lim = {
	.max_line = 200, .max_literal = 64, .max_command = 100,
	.max_depth = 3, .max_args = 20
};

static void
render_list(struct buf *b, const struct imap_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		const struct imap_arg *a = &l->v[i];

		if (i > 0)
			buf_addc(b, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			buf_addstr(b, a->str);
			break;
		case IMAP_ARG_STRING:
			buf_printf(b, "\"%s\"", a->str);
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(b, "%s{%s}", a->binary ? "~" : "", a->str);
			break;
		case IMAP_ARG_LIST:
			buf_addc(b, '(');
			render_list(b, a->list);
			buf_addc(b, ')');
			break;
		}
	}
}

/*
 * Feed in chunks of step bytes; return "tag|NAME|args" or "ERR:<msg>";
 * conts counts continuation requests.
 */
static char *
parse(const char *in, size_t step, int *conts)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	struct buf		 out;
	size_t			 off = 0, used, n;
	enum imap_parse_result	 r = IMAP_PARSE_MORE;

	buf_init(&out, 0);
	*conts = 0;
	while (off < strlen(in)) {
		n = strlen(in) - off;
		if (n > step)
			n = step;
		r = imap_parser_feed(p, in + off, n, &used);
		off += used;
		if (r == IMAP_PARSE_CONTINUE)
			(*conts)++;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR)
			break;
	}
	if (r == IMAP_PARSE_DONE) {
		const struct imap_cmd *c = imap_parser_cmd(p);
		buf_printf(&out, "%s|%s|", c->tag, c->name);
		render_list(&out, c->args);
	} else if (r == IMAP_PARSE_ERROR)
		buf_printf(&out, "ERR:%s%s", imap_parser_error(p),
		    imap_parser_fatal(p) ? " (fatal)" : "");
	else
		buf_addstr(&out, "MORE");
	imap_parser_free(p);
	return buf_steal(&out);
}

static const struct {
	const char	*in;
	const char	*want;
	int		 conts;
} cases[] = {
	{ "a1 NOOP\r\n", "a1|NOOP|", 0 },
	{ "a1 NOOP\n", "a1|NOOP|", 0 },
	{ "\r\na2 CAPABILITY\r\n", "a2|CAPABILITY|", 0 },
	{ "a LOGIN alice \"pw \\\"x\\\\\"\r\n", "a|LOGIN|alice \"pw \"x\\\"", 0 },
	{ "a LOGIN {5}\r\nalice {3+}\r\npw1\r\n", "a|LOGIN|{alice} {pw1}", 1 },
	{ "a LOGIN {0}\r\n {0}\r\n\r\n", "a|LOGIN|{} {}", 2 },
	{ "a APPEND INBOX (\\Seen) ~{3}\r\nabc\r\n", "a|APPEND|INBOX (\\Seen) ~{abc}", 1 },
	{ "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n",
	  "a|FETCH|1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)", 0 },
	{ "a FETCH 1 BODY[]\r\n", "a|FETCH|1 BODY[]", 0 },
	{ "a LIST \"\" %\r\n", "a|LIST|\"\" %", 0 },
	{ "a LIST () \"\" (INBOX Sent) RETURN (SPECIAL-USE)\r\n",
	  "a|LIST|() \"\" (INBOX Sent) RETURN (SPECIAL-USE)", 0 },
	{ "a SEARCH OR (FROM x) (TO y) NOT SEEN\r\n",
	  "a|SEARCH|OR (FROM x) (TO y) NOT SEEN", 0 },
	{ "a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n",
	  "a|STORE|1 +FLAGS.SILENT (\\Deleted)", 0 },
	{ "a X ~foo\r\n", "a|X|~foo", 0 },
	{ "a X ((()))\r\n", "a|X|((()))", 0 },
	{ "a X (((())))\r\n", "ERR:Lists nested too deeply", 0 },
	{ "a X (a b\r\n", "ERR:Unclosed list", 0 },
	{ "a X a)\r\n", "ERR:Unexpected ')'", 0 },
	{ "a X \"abc\r\n", "ERR:Unterminated quoted string", 0 },
	{ "a X \"a\\bc\"\r\n", "ERR:Bad escape in quoted string", 0 },
	{ "a X {65}\r\n", "ERR:Literal too large", 0 },
	{ "a X {65+}\r\n", "ERR:Literal too large (fatal)", 0 },
	{ "a X {99999999999999999999}\r\n", "ERR:Literal too large", 0 },
	{ "a X {}\r\n", "ERR:Bad literal length", 0 },
	{ "a X {3} x\r\n", "ERR:Literal must end the line", 0 },
	{ "a X \"x\"y\r\n", "ERR:Missing space after argument", 0 },
	{ "a X a\rb\n", "ERR:CR without LF", 0 },
	{ "+a NOOP\r\n", "ERR:Invalid tag", 0 },
	{ " NOOP\r\n", "ERR:Invalid tag", 0 },
	{ "a \r\n", "ERR:Invalid command name", 0 },
	{ "a X a\001\r\n", "ERR:Invalid character in atom", 0 },
	/* "[" is an ATOM-CHAR: only a section's "(" keeps spaces */
	{ "a X BODY[HEADER\r\n", "a|X|BODY[HEADER", 0 },
	{ "a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n",
	  "a|SELECT|!#$&'+,-.0123456789:;<=>?@^_`|[}", 0 },
	{ "a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n",
	  "a|LIST|\"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*", 0 },
	{ "a X (a[b) c[d\r\n", "a|X|(a[b) c[d", 0 },
	{ "a X BODY[HEADER.FIELDS (A\r\n", "a|X|BODY[HEADER.FIELDS (A", 0 },
	{ "a X a[\001]\r\n", "ERR:Invalid character in atom", 0 },
	{ "a X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\r\n",
	  "ERR:Too many arguments", 0 },
	{ "a NOOP", "MORE", 0 },
	{ "a APPEND x {10}\r\nabc", "MORE", 1 },
};

static void
test_parser_table(void)
{
	size_t	 i, step;
	int	 conts;
	char	*got;

	test_begin("parser: table of commands, whole and byte by byte");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (step = 1; step <= 1024; step *= 1024) {
			got = parse(cases[i].in, step, &conts);
			test_assert_str(got, cases[i].want);
			test_assert(conts == cases[i].conts);
			free(got);
		}
	}
	test_end();
}

static void
test_parser_binary_literal_keeps_nul(void)
{
	static const char in[] = "a APPEND INBOX ~{4}\r\na\0bc\r\n";
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*c;
	size_t			 used;

	test_begin("parser: ~{n} binary literal keeps NUL bytes");
	test_assert(imap_parser_feed(p, in, sizeof(in) - 1, &used) ==
	    IMAP_PARSE_CONTINUE);
	test_assert(imap_parser_feed(p, in + used, sizeof(in) - 1 - used,
	    &used) == IMAP_PARSE_DONE);
	c = imap_parser_cmd(p);
	test_assert(c != NULL && c->args->n == 2);
	if (c != NULL && c->args->n == 2) {
		test_assert(c->args->v[1].binary);
		test_assert(c->args->v[1].len == 4);
		test_assert(memcmp(c->args->v[1].str, "a\0bc", 4) == 0);
	}
	imap_parser_free(p);
	test_end();
}

static void
test_parser_pipelined_commands(void)
{
	static const char in[] = "a NOOP\r\nb LOGOUT\r\n";
	struct imap_parser	*p = imap_parser_new(&lim);
	size_t			 used, off = 0;

	test_begin("parser: pipelined commands are returned one at a time");
	test_assert(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_DONE);
	test_assert(used == 8);
	test_assert_str(imap_parser_cmd(p)->tag, "a");
	off += used;
	imap_parser_reset(p);
	test_assert(imap_parser_feed(p, in + off, strlen(in) - off, &used) ==
	    IMAP_PARSE_DONE);
	test_assert_str(imap_parser_cmd(p)->name, "LOGOUT");
	imap_parser_free(p);
	test_end();
}

/*
 * What precedes a byte no tag may hold is not a tag: the BAD is untagged,
 * or a client could take it for the answer to a command of its own.  A
 * tag alone on a line is still one.
 */
static void
test_parser_invalid_tag_is_not_echoed(void)
{
	static const struct { const char *in, *tag; } t[] = {
		{ "abc(def NOOP\r\n", NULL },
		{ "a+ NOOP\r\n", NULL },
		{ "DONE)\r\n", NULL },
		{ "x{3}\r\n", NULL },
		{ "a\"b\" NOOP\r\n", NULL },
		{ "t\xe9 NOOP\r\n", NULL },	/* a tag is 7-bit */
		{ "abc\r\n", "abc" },
	};
	struct imap_parser	*p;
	size_t			 i, used;

	test_begin("parser: a malformed tag is not echoed in the BAD");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = imap_parser_new(&lim);
		test_assert(imap_parser_feed(p, t[i].in, strlen(t[i].in),
		    &used) == IMAP_PARSE_ERROR);
		if (t[i].tag == NULL)
			test_assert(imap_parser_tag(p) == NULL);
		else
			test_assert_str(imap_parser_tag(p), t[i].tag);
		imap_parser_free(p);
	}
	test_end();
}

/*
 * A refused command's non-synchronising literal is on its way whatever
 * the answer: its data is skipped, never read as commands.  A
 * synchronising one is not sent after the BAD, so nothing is skipped.
 */
static void
test_parser_skips_literal_of_refused_line(void)
{
	static const struct { const char *in, *next; } t[] = {
		{ "a X a\001 {8+}\r\nb DELETE\r\nc NOOP\r\n", "c" },
		{ "a X a\001 ~{8+}\r\nb DELETE x\r\nc NOOP\r\n", "c" },
		{ "a FETCH 1 (BODY[HEADER.FIELDS ({4+}\r\n"
		  "FROM)])\r\nc NOOP\r\n", "c" },
		{ "a X (a b {8+}\r\nb DELETE\r\nc NOOP\r\n", "c" },
		{ "a X a\001 {6}\r\nc NOOP\r\n", "c" },
		{ "a X a\001 {0+}\r\n\r\nc NOOP\r\n", "c" },
	};
	struct imap_parser	*p;
	size_t			 i, used, off;

	test_begin("parser: a refused line's {n+} literal is skipped");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = imap_parser_new(&lim);
		test_assert(imap_parser_feed(p, t[i].in, strlen(t[i].in),
		    &used) == IMAP_PARSE_ERROR);
		off = used;
		imap_parser_reset(p);
		/* the rest a byte at a time: the skip keeps across calls */
		while (off < strlen(t[i].in) && imap_parser_feed(p,
		    t[i].in + off, 1, &used) == IMAP_PARSE_MORE)
			off += used;
		test_assert(imap_parser_cmd(p) != NULL);
		if (imap_parser_cmd(p) != NULL)
			test_assert_str(imap_parser_cmd(p)->tag, t[i].next);
		imap_parser_free(p);
	}
	test_end();
}

static void
test_parser_resyncs_after_error(void)
{
	static const char in[] = "a X (\"unterminated\r\nb NOOP\r\n";
	struct imap_parser	*p = imap_parser_new(&lim);
	size_t			 used, off = 0;

	test_begin("parser: after a mid-line error the rest of the line is "
	    "skipped");
	test_assert(imap_parser_feed(p, in, 5, &used) == IMAP_PARSE_MORE);
	off = used;
	test_assert(imap_parser_feed(p, in + off, 1, &used) ==
	    IMAP_PARSE_MORE);
	off += used;
	/* "a X (\"" so far; an invalid byte now */
	test_assert(imap_parser_feed(p, "\r", 1, &used) == IMAP_PARSE_ERROR);
	test_assert_str(imap_parser_tag(p), "a");
	imap_parser_reset(p);
	off = strlen("a X (\"unterminated");
	test_assert(imap_parser_feed(p, in + off, strlen(in) - off, &used) ==
	    IMAP_PARSE_DONE);
	test_assert_str(imap_parser_cmd(p)->tag, "b");
	imap_parser_free(p);
	test_end();
}

static void
test_parser_line_limit(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	char			 line[400];
	size_t			 used;

	test_begin("parser: a line over max_line is an error, not growth");
	memset(line, 'x', sizeof(line));
	memcpy(line, "a X ", 4);
	test_assert(imap_parser_feed(p, line, sizeof(line), &used) ==
	    IMAP_PARSE_ERROR);
	test_assert(used == lim.max_line + 1);
	test_assert(imap_parser_toobig(p));
	imap_parser_free(p);
	test_end();
}

static const struct {
	const char	*in;
	int		 ok;
	uint32_t	 probe, star;
	int		 in_set;
} seqcases[] = {
	{ "1", 1, 1, 10, 1 },
	{ "1:3,7", 1, 7, 10, 1 },
	{ "1:3,7", 1, 4, 10, 0 },
	{ "5:*", 1, 10, 10, 1 },
	{ "*:5", 1, 6, 10, 1 },
	{ "*", 1, 10, 10, 1 },
	{ "*", 1, 9, 10, 0 },
	{ "3:1", 1, 2, 10, 1 },
	{ "0", 0, 0, 0, 0 },
	{ "1,", 0, 0, 0, 0 },
	{ "", 0, 0, 0, 0 },
	{ "1:", 0, 0, 0, 0 },
	{ "a", 0, 0, 0, 0 },
	{ "4294967294", 1, 4294967294U, 1, 1 },
	/* every number up to 2^32-1 is a legal nz-number */
	{ "4294967295", 1, 4294967295U, 1, 1 },
	{ "1:4294967295", 1, 4294967295U, 3, 1 },
	{ "1:4294967295", 1, 5, 3, 1 },
	{ "4294967295:1", 1, 77, 3, 1 },
	{ "12:4294967295", 1, 11, 20, 0 },
	{ "*:4294967295", 1, 11, 10, 1 },
	{ "*:4294967295", 1, 9, 10, 0 },
	{ "*:4294967295", 1, 10, 10, 1 },
	{ "*:4294967295", 1, 4294967295U, 10, 1 },
	{ "4294967295:*", 1, 9, 10, 0 },
	{ "4294967296", 0, 0, 0, 0 },
	{ "1:4294967296", 0, 0, 0, 0 },
	{ "18446744073709551617", 0, 0, 0, 0 },
	{ "0:5", 0, 0, 0, 0 },
	{ "5:0", 0, 0, 0, 0 },
	{ "*:*", 1, 10, 10, 1 },
	{ "*:*", 1, 9, 10, 0 },
};

static void
test_seqset_max(void)
{
	struct imap_seqset	 set;

	test_begin("seqset: the largest number, '*' standing for star");
	test_assert(imap_seqset_parse("3,1:4294967295", &set) == 0);
	test_assert(imap_seqset_max(&set, 10) == 4294967295U);
	imap_seqset_free(&set);
	test_assert(imap_seqset_parse("2:*", &set) == 0);
	test_assert(imap_seqset_max(&set, 10) == 10);
	test_assert(imap_seqset_max(&set, 1) == 2);
	imap_seqset_free(&set);
	test_end();
}

static void
test_seqset_table(void)
{
	struct imap_seqset	 set;
	size_t			 i;
	int			 r;

	test_begin("seqset: parse and membership with '*'");
	for (i = 0; i < sizeof(seqcases) / sizeof(seqcases[0]); i++) {
		r = imap_seqset_parse(seqcases[i].in, &set);
		test_assert((r == 0) == seqcases[i].ok);
		if (r == 0) {
			test_assert(imap_seqset_contains(&set,
			    seqcases[i].probe, seqcases[i].star) ==
			    seqcases[i].in_set);
			imap_seqset_free(&set);
		}
	}
	test_end();
}

static void
test_seqset_format(void)
{
	static const struct {
		uint32_t	 v[8];
		size_t		 n;
		const char	*out;
	} fmtcases[] = {
		{ { 0 }, 0, "" },
		{ { 7 }, 1, "7" },
		{ { 1, 2, 3, 5 }, 4, "1:3,5" },
		{ { 1, 3, 5 }, 3, "1,3,5" },
		{ { 2, 3, 9, 10, 11, 4294967294U }, 6, "2:3,9:11,4294967294" },
	};
	struct buf	 b;
	size_t		 i;

	test_begin("seqset: ascending numbers written back as ranges");
	for (i = 0; i < sizeof(fmtcases) / sizeof(fmtcases[0]); i++) {
		buf_init(&b, 0);
		imap_seqset_format(fmtcases[i].v, fmtcases[i].n, &b);
		test_assert(strcmp(buf_cstr(&b), fmtcases[i].out) == 0);
		buf_free(&b);
	}
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_parser_table,
		test_parser_binary_literal_keeps_nul,
		test_parser_pipelined_commands,
		test_parser_resyncs_after_error,
		test_parser_invalid_tag_is_not_echoed,
		test_parser_skips_literal_of_refused_line,
		test_parser_line_limit,
		test_seqset_table,
		test_seqset_max,
		test_seqset_format,
		NULL
	};

	return test_run(tests);
}
