/*
 * strings.c - IMAP strings in responses: quoted when that is safe, a
 * literal when the text has CR, LF, NUL or 8-bit bytes or is long, NIL
 * for a missing nstring.  Used by the session and the ENVELOPE and
 * BODYSTRUCTURE writers; no privileges, no input of its own.
 */
#include <string.h>

#include "buf.h"
#include "imapd.h"

/* An IMAP string: quoted when that is possible, else a literal. */
void
buf_add_string(struct buf *b, const char *s, size_t len)
{
	size_t	 i;
	int	 lit = len > 1024;

	for (i = 0; i < len && !lit; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ||
		    (unsigned char)s[i] >= 0x80)
			lit = 1;
	if (lit) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_add(b, s, len);
		return;
	}
	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

void
buf_add_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_addstr(b, "NIL");
	else
		buf_add_string(b, s, strlen(s));
}
