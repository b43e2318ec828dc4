/*
 * base64.h - the one base64 codec (RFC 4648 section 4).
 *
 * A decoder is a small state machine fed one character at a time; how
 * strict it is is a parameter, because its callers need different
 * things of the same alphabet:
 *
 *	0			SASL (RFC 4954, RFC 4616): padding required,
 *				no white space, nothing after the padding.
 *	BASE64_WSP		DKIM b=, bh= and p= (RFC 6376 3.5): folding
 *				white space anywhere is ignored.
 *	BASE64_PAD_OPTIONAL	IMAP AUTHENTICATE: the final '=' may be left
 *				out (a lone final character is still wrong).
 *	BASE64_LENIENT		MIME bodies and RFC 2047 words (RFC 2045
 *				6.8): characters outside the alphabet are
 *				skipped, a second encoding may follow padding,
 *				and every such fault is counted, never fatal.
 *
 * Callers: common/mime (Content-Transfer-Encoding, encoded words),
 * common/dkim, submitd/auth and imapd (SASL).  No state of its own, no
 * privileges; decodes hostile input.
 */
#ifndef SM_BASE64_H
#define SM_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BASE64_WSP		0x01
#define BASE64_PAD_OPTIONAL	0x02
#define BASE64_LENIENT		0x04

/* Returns of base64_decode(). */
#define BASE64_OK		0
#define BASE64_ERR_BAD		(-1)	/* not base64 as the flags want it */
#define BASE64_ERR_LONG		(-2)	/* the output does not fit */

#define BASE64_ENCODED_LEN(n)	(((n) + 2) / 3 * 4)

struct base64_dec {
	int		 flags;
	uint32_t	 acc;
	unsigned int	 nhold;		/* characters in acc, 0-3 */
	unsigned int	 need_pad;	/* '=' still owed after padding began */
	int		 padded;	/* the last quantum was padded */
	unsigned long	 errors;	/* faults seen (BASE64_LENIENT) */
};

extern const char base64_alphabet[];
int	 base64_value(int);

void	 base64_quantum(const unsigned char *, size_t, char *);
void	 base64_encode_raw(const void *, size_t, char *);
int	 base64_encode(const void *, size_t, struct buf *);

void	 base64_dec_init(struct base64_dec *, int);
int	 base64_dec_char(struct base64_dec *, int, unsigned char *);
int	 base64_dec_finish(struct base64_dec *, unsigned char *);
int	 base64_decode(const char *, size_t, void *, size_t, size_t *, int);

#endif
