/*
 * addr.h - the one address grammar: RFC 5321 paths and mailboxes
 * (addr.c) and RFC 5322 address lists (addr_list.c), with one canonical
 * form and one validation function per context.
 *
 * Who calls it: the SMTP command parser (common/smtp_parse.c) on MAIL,
 * RCPT and HELO, the queue and delivery at each boundary (smtpd
 * q_addr_valid, mda mda_addr_ok), the user database (common/userdb.c
 * builds its address checks and keys on it, and sealmailctl, submitd's
 * AUTH and the quarantine use those), submitd's header scan (From:,
 * Sender:) and its parent on the scan's answer, imapd's ENVELOPE,
 * SEARCH and login names, the key server's KEY, the config's
 * postmaster.  Pure functions on bytes from anyone: no I/O, allocation
 * only through xmalloc and buf, bounded by the input; fuzzed by
 * tests/fuzz/fuzz-address.c (RFC 5321) and fuzz-addr-list.c (RFC 5322),
 * unit tests in tests/unit/test-addr.c.
 *
 * Contexts and their one validation function each:
 *	envelope path from the network	addr_check(a, ADDR_UTF8 or 0)
 *	local user or alias address	addr_check(a, ADDR_LOCAL)
 *	header address (RFC 5322)	addr_list_parse() then
 *					addr_header_check() on each mailbox
 *
 * The rules, one for every reader (RFC 5321 4.1.2 and 4.5.3.1, RFC 5322
 * 3.2-3.4 and 4.4, RFC 6531, RFC 6532); where the earlier copies of this
 * grammar disagreed, the decision is marked "was":
 *
 *  - Local part: a dot-string of atext (RFC 5322 3.2.3, which includes
 *    "_" and "/") or a quoted string whose content is printable ASCII
 *    (quoted-pairSMTP escapes only printable ASCII).  Its value is the
 *    same quoted or not ("a"@x and a@x are one mailbox, RFC 5322 3.2.4).
 *  - 8-bit bytes: only where UTF-8 is allowed (an SMTPUTF8 path,
 *    ADDR_UTF8; a header, RFC 6532), and only as well-formed UTF-8 (RFC
 *    3629: no overlong forms, surrogates or code points past U+10FFFF).
 *    Was: smtp_parse.c took any byte >= 0x80, also lone or invalid ones.
 *  - Domain: RFC 5321 Domain, labels of letters, digits and hyphens, not
 *    beginning or ending with a hyphen, at most 63 octets, no empty label
 *    and so no trailing dot; or an address literal, [IPv4] or
 *    [IPv6:...] (no General-address-literal: IANA registers no tag).
 *    With ADDR_UTF8 (and in headers) a label may be a U-label: non-ASCII
 *    UTF-8 beside LDH characters, counted in octets (a label whose
 *    A-label would fit but whose UTF-8 is over 63 octets is refused).
 *    Was: smtp_parse.c accepted "_", labels beginning or ending with "-",
 *    a trailing dot, and any letters, digits, ".", ":" and "-" in a
 *    literal; userdb.c refused U-labels even for SMTPUTF8 paths.
 *  - Lengths, on the canonical form: local part at most 64 octets,
 *    domain at most 255, the whole mailbox at most 254 (a path is 256
 *    with its "<" and ">").  Was: smtp_parse.c and the queue allowed 256.
 *  - A local user or alias (ADDR_LOCAL), which becomes a directory name:
 *    ASCII only, written as a dot-string (no quotes), no "/", and a
 *    domain name in its ASCII (A-label) form, no address literal.
 *  - The HELO/EHLO argument (ADDR_HELO to addr_domain_check) names the
 *    client host, not a mailbox: the domain rule, but "_" in a label and
 *    a final root dot are tolerated, as client host names carry them in
 *    the wild (Postfix takes them too); refusing them would lock such
 *    clients out of submission.  Nothing else uses ADDR_HELO.
 *  - A path's source route (A-d-l) is read, each domain checked, and
 *    dropped (RFC 5321 4.1.1.3, C).
 *  - Header address lists: RFC 5322 3.4 with the obsolete syntax of 4.4
 *    (empty list elements, CFWS around dots and "@", routes in
 *    angle-addr, obs-phrase with "."), comments anywhere CFWS may stand,
 *    also inside the local part and the domain, groups with empty
 *    member lists.  A mailbox from a header is one only if its addr-spec
 *    also passes the mailbox rules above with UTF-8 allowed
 *    (addr_header_check), so what submitd checks is what SMTP carries.
 *
 * Canonical form (addr_canon, addr_spec_format, addr_list_format): the
 * local part as a dot-string where it can be one, else a quoted string
 * that escapes only '"' and '\'; the domain as given (its case kept;
 * addr_domain_lower for keys); no comments, no folding; a display name
 * as atoms where it can be, else one quoted string; a route as
 * "@a,@b:"; list elements separated by ", ".  Parsing the canonical form
 * gives the same list again (fuzzed).
 */
#ifndef SM_ADDR_H
#define SM_ADDR_H

#include <stddef.h>

struct buf;

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* 4.5.3.1.2 */
#define ADDR_MAX	254	/* 4.5.3.1.3: a path is 256 with <> */
#define ADDR_PATH_MAX	256	/* "<" [A-d-l ":"] Mailbox ">" */
#define ADDR_LABEL_MAX	63	/* RFC 1035 2.3.4 */

/* Flags of addr_check(), addr_canon() and addr_domain_check(). */
#define ADDR_UTF8	0x01	/* SMTPUTF8 (RFC 6531): UTF-8 and U-labels */
#define ADDR_LOCAL	0x02	/* a user or alias of ours (see above) */
#define ADDR_HELO	0x04	/* the HELO/EHLO name (see above) */

/* ----------------------------------------------------------------------
 * RFC 5321 (addr.c).
 */

/*
 * Validate an RFC 5321 Mailbox, "local@domain" without angle brackets.
 * 0, or -1 with a one-line reason in err (err may be NULL).
 */
int	 addr_check(const char *addr, int flags, char *err, size_t errlen);

/*
 * addr_check() and write the canonical form into out (outlen bytes,
 * ADDR_MAX + 1 is always enough).  The canonical form is never longer
 * than addr.  0 or -1 with err.
 */
int	 addr_canon(const char *addr, int flags, char *out, size_t outlen,
	    char *err, size_t errlen);

/* A Domain or (unless ADDR_LOCAL) an address literal.  0 or -1. */
int	 addr_domain_check(const char *domain, int flags, char *err,
	    size_t errlen);

/* Lowercase the ASCII letters of the domain of a mailbox (after '@'). */
void	 addr_domain_lower(char *addr);

/*
 * The RFC 5321 Path or Reverse-path at the start of s: "<" [A-d-l ":"]
 * Mailbox ">" or "<>", at most ADDR_PATH_MAX bytes.  The route's domains
 * are checked; the Mailbox is only delimited (a '>' inside a quoted
 * local part does not end it), for the caller to check with addr_check
 * or to take as the special <Postmaster>.  0 or -1.
 */
struct addr_path {
	size_t	 len;		/* bytes of the path, "<" through ">" */
	size_t	 mbox;		/* offset of the Mailbox in s */
	size_t	 mboxlen;	/* its length: 0 for "<>" */
};
int	 addr_path_scan(const char *s, int flags, struct addr_path *);

/* ----------------------------------------------------------------------
 * RFC 5322 address lists (addr_list.c).
 */

enum addr_kind {
	ADDR_MAILBOX,
	ADDR_GROUP,		/* a group begins: its name */
	ADDR_GROUP_END		/* the group's ";" */
};

struct addr_item {
	enum addr_kind	 kind;
	/*
	 * The display name (of a mailbox or a group): the phrase with
	 * quoting and comments removed and words one space apart where the
	 * header had space between them; RFC 2047 encoded words are kept as
	 * written (addr_name_decode() decodes them).  NULL if none.
	 */
	char		*name;
	char		*route;		/* obs-route "@a,@b" (no ':') or NULL */
	char		*local;		/* local part, unquoted */
	char		*domain;	/* domain, "[...]" for a literal; NULL:
					 * none (only in a lenient parse) */
};

struct addr_list {
	struct addr_item *v;
	size_t		 n;
	size_t		 cap;
};

/* Flags of addr_list_parse(). */
/*
 * Take what can be read and drop the rest (imapd on stored mail, which
 * must show something): an element with a syntax error is skipped to
 * the next "," or ";", a mailbox without "@" or domain has domain NULL,
 * an unclosed group ends at the end.  Without it any error fails.
 */
#define ADDR_LIST_LENIENT	0x10
/*
 * A mailbox without a display name takes it from the comment after its
 * addr-spec ("user@domain (Real Name)"), as IMAP ENVELOPE shows it.
 */
#define ADDR_LIST_COMMENT_NAME	0x20

/*
 * Parse an address-list field value (folded or not) of len bytes into
 * l, at most max items (mailboxes, group starts and ends).  0, or -1 with
 * err (nothing is kept); a lenient parse fails only past max.  l is
 * always initialised; free it with addr_list_free().
 */
int	 addr_list_parse(const char *v, size_t len, int flags, size_t max,
	    struct addr_list *l, char *err, size_t errlen);
void	 addr_list_free(struct addr_list *);

/* The number of mailboxes in l (groups not counted). */
size_t	 addr_list_mailboxes(const struct addr_list *);

/*
 * The header address context: a mailbox of l whose addr-spec is one an
 * RFC 5321 path can carry (the rules of addr_check with ADDR_UTF8; a
 * route is ignored, as RFC 5321 C says).  0 or -1 with err.
 */
int	 addr_header_check(const struct addr_item *, char *err,
	    size_t errlen);

/* The canonical addr-spec of a mailbox item, appended to out. */
void	 addr_spec_format(const struct addr_item *, struct buf *out);

/* The canonical form of the whole list, appended to out. */
void	 addr_list_format(const struct addr_list *, struct buf *out);

/* A display name with its RFC 2047 encoded words decoded to UTF-8. */
void	 addr_name_decode(const char *name, struct buf *out);

#endif
