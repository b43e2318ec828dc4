/*
 * addr_int.h - what addr.c (RFC 5321) and addr_list.c (RFC 5322) share
 * inside the address module: character classes, the local part's
 * canonical writing and the mailbox rules.  Not for other callers: they
 * use addr.h.
 */
#ifndef SM_ADDR_INT_H
#define SM_ADDR_INT_H

#include <stddef.h>

struct buf;

/* Internal flag: no address literal (the domains of a source route). */
#define ADDR_NOLITERAL	0x100

/* RFC 5322 atext, ASCII part (RFC 6532 adds every non-ASCII byte). */
int	 addr_atext(unsigned char);

/* Append v[0..n) as a quoted string, escaping only '"' and '\'. */
void	 addr_quote_write(const char *, size_t, struct buf *);

/*
 * Append the canonical writing of a local part's value v[0..n): as a
 * dot-string when it is one, else a quoted string escaping '"' and '\'.
 * No checks: addr_mailbox_canon() validates.
 */
void	 addr_local_write(const char *, size_t, struct buf *);

/*
 * Check a mailbox given as the local part's value (unquoted) and the
 * domain, by the rules of addr.h for flags, and append its canonical
 * form to out.  0 or -1 with err.
 */
int	 addr_mailbox_canon(const char *, size_t, const char *, size_t, int,
	    struct buf *, char *, size_t);

/* printf into err (if not NULL) and return -1. */
int	 addr_err(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
