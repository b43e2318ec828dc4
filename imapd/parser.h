/*
 * parser.h - the incremental IMAP command parser (RFC 3501 / RFC 9051).
 *
 * The parser never reads by itself: the session feeds it whatever bytes
 * arrived and it consumes as much as makes sense.  One command is parsed
 * at a time into a tag, a command name and a tree of arguments (atoms,
 * quoted strings, literals, NIL and parenthesised lists).  A fetch
 * attribute with a section, "BODY[HEADER.FIELDS (From)]<0.100>", is kept
 * as one atom (the spaces of a "(" list inside the brackets included);
 * the command code parses the section itself.  Otherwise "[" is an
 * ordinary atom character, as in a mailbox name "a[b".
 *
 * imap_parser_feed() returns
 *	IMAP_PARSE_MORE		everything was consumed, the command is not
 *				complete yet;
 *	IMAP_PARSE_CONTINUE	a synchronising literal {n} was announced:
 *				the session must send "+ " and feed on;
 *	IMAP_PARSE_DONE		a command is complete (imap_parser_cmd());
 *	IMAP_PARSE_ERROR	the command is malformed (imap_parser_error()).
 * After DONE or ERROR, imap_parser_reset() prepares the next command; after
 * an ERROR in the middle of a line it skips the rest of that line first.
 * If imap_parser_fatal() is set after an ERROR, the stream cannot be
 * resynchronised (e.g. an oversized non-synchronising literal is coming)
 * and the session must end the connection.
 *
 * Limits (line length without literal data, literal size, list depth,
 * number of arguments) are fixed at creation.  The parser runs in the
 * unprivileged processes that talk to clients; it is fuzzed.
 */
#ifndef SM_IMAP_PARSER_H
#define SM_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted */
	IMAP_ARG_LITERAL,	/* {n}, {n+}, or ~{n} (binary) */
	IMAP_ARG_LIST
};

struct imap_list;

struct imap_arg {
	enum imap_arg_type	 type;
	char			*str;	/* NUL-terminated; NULL for lists */
	size_t			 len;
	int			 binary;	/* ~{n} */
	struct imap_list	*list;	/* IMAP_ARG_LIST */
};

struct imap_list {
	struct imap_arg		*v;
	size_t			 n;
	size_t			 cap;
};

struct imap_cmd {
	const char		*tag;
	const char		*name;	/* as sent; compare case-insensitively */
	struct imap_list	*args;
};

struct imap_parser_limits {
	size_t	 max_line;	/* bytes of one command, literal data excluded */
	size_t	 max_literal;	/* bytes of one literal */
	size_t	 max_command;	/* literal bytes of one command, together */
	int	 max_depth;	/* nested lists */
	int	 max_args;	/* arguments in all lists together */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,
	IMAP_PARSE_CONTINUE,
	IMAP_PARSE_DONE,
	IMAP_PARSE_ERROR
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *);
void	 imap_parser_free(struct imap_parser *);
enum imap_parse_result imap_parser_feed(struct imap_parser *, const void *,
	    size_t, size_t *);
const struct imap_cmd *imap_parser_cmd(const struct imap_parser *);
const char *imap_parser_error(const struct imap_parser *);
const char *imap_parser_tag(const struct imap_parser *);
int	 imap_parser_fatal(const struct imap_parser *);
int	 imap_parser_toobig(const struct imap_parser *);
void	 imap_parser_reset(struct imap_parser *);

/* argument helpers */
int	 imap_arg_astring(const struct imap_arg *, const char **);
int	 imap_arg_string(const struct imap_arg *, const char **);
int	 imap_arg_atom(const struct imap_arg *, const char **);
int	 imap_arg_is_atom(const struct imap_arg *, const char *);

/*
 * Sequence sets: "1:3,7,10:*".  Numbers go from 1 to 4294967295 (2^32-1,
 * RFC 3501 nz-number); '*' is stored as IMAP_SEQ_STAR, the 0 no number
 * can be, and resolved against the mailbox when the set is used.
 */
#define IMAP_SEQ_STAR	0

struct imap_seqrange {
	uint32_t	 lo;
	uint32_t	 hi;
};

struct imap_seqset {
	struct imap_seqrange	*r;
	size_t			 n;
};

int	 imap_seqset_parse(const char *, struct imap_seqset *);
void	 imap_seqrange_resolve(const struct imap_seqrange *, uint32_t,
	    uint32_t *, uint32_t *);
void	 imap_seqset_free(struct imap_seqset *);
int	 imap_seqset_contains(const struct imap_seqset *, uint32_t,
	    uint32_t);
uint32_t imap_seqset_max(const struct imap_seqset *, uint32_t);
void	 imap_seqset_format(const uint32_t *, size_t, struct buf *);

#endif
