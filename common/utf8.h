/*
 * utf8.h - the one UTF-8 module: validation (RFC 3629), modified UTF-7
 * for IMAP mailbox names (RFC 3501 5.1.3) and conversion of a MIME
 * charset to UTF-8.
 *
 * Validation takes a pointer and a length and never reads past it, so it
 * serves NUL-terminated strings, header fields and parts of a line alike.
 * Valid means RFC 3629: the shortest form only, no UTF-16 surrogate
 * (U+D800-U+DFFF), nothing above U+10FFFF.
 *
 * Callers: common/mime (RFC 2047 words, RFC 2231 parameters), common/userdb
 * (SMTPUTF8 local parts), mda/strip (headers kept as written, file names),
 * imapd (mailbox names).  Pure functions on hostile input; no privileges,
 * no files.  Output goes to a struct buf, whose maximum bounds it: a
 * function that cannot append returns -1 with the buffer as it was.
 */
#ifndef SM_UTF8_H
#define SM_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define UTF8_CP_MAX		0x10ffffUL
#define UTF8_REPLACEMENT	0xfffdUL	/* U+FFFD for what is invalid */

/* What utf8_valid() refuses besides invalid sequences. */
#define UTF8_NO_NUL	0x01	/* U+0000 */
#define UTF8_NO_CTL	0x02	/* C0 controls but HT, and DEL; NUL too */

/* What utf8_from_charset() does with input that does not convert. */
#define UTF8_REFUSE	0x04	/* -1 instead of U+FFFD; unknown charset too */

size_t	 utf8_decode(const void *, size_t, uint32_t *);
size_t	 utf8_put(uint32_t, void *);
int	 utf8_encode(struct buf *, uint32_t);
int	 utf8_valid(const void *, size_t, size_t, int);
int	 utf8_sanitize(const void *, size_t, struct buf *);
int	 utf8_charset_known(const char *);
int	 utf8_from_charset(const char *, const void *, size_t, int,
	    struct buf *);

/* Modified UTF-7 (IMAP4rev1 mailbox names) from and to UTF-8. */
int	 utf8_to_mutf7(const char *, struct buf *);
int	 utf8_from_mutf7(const char *, struct buf *);

#endif
