/*
 * mime_header.c - header fields and RFC 2047 encoded words; see mime.h.
 *
 * Walks the fields of a header held in memory (the parser's part header,
 * or one a caller reread by offset), unfolds values and decodes encoded
 * words to UTF-8 through common/utf8.  Called by the parser, mda's strip
 * code and imapd (ENVELOPE, SEARCH) on hostile input; no privileges.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "mime_int.h"
#include "utf8.h"

/*
 * The next field of a header at *pos.  Returns 1 with *f set, 0 at the end
 * of the header, -1 for a line that is not a field (skipped, *pos past it).
 */
int
mime_header_next(const char *h, size_t len, size_t *pos, struct mime_field *f)
{
	size_t	 i = *pos, end, colon, nl;
	const char *p;

	if (i >= len)
		return 0;
	if (h[i] == '\n' || (h[i] == '\r' && i + 1 < len && h[i + 1] == '\n'))
		return 0;
	/* find the end of the field: an EOL not followed by WSP */
	end = i;
	for (;;) {
		p = memchr(h + end, '\n', len - end);
		if (p == NULL) {
			end = len;
			break;
		}
		nl = (size_t)(p - h);
		end = nl + 1;
		if (end >= len || !mime_is_wsp((unsigned char)h[end]))
			break;
	}
	*pos = end;
	memset(f, 0, sizeof(*f));
	f->start = i;
	f->end = end;
	for (colon = i; colon < end; colon++) {
		unsigned char c = h[colon];

		if (c == ':' || c <= 32 || c >= 127)
			break;
	}
	f->namelen = colon - i;
	/* obsolete syntax: WSP between name and colon */
	while (colon < end && mime_is_wsp((unsigned char)h[colon]))
		colon++;
	if (f->namelen == 0 || colon >= end || h[colon] != ':')
		return -1;
	f->name = h + i;
	colon++;
	while (colon < end && mime_is_wsp((unsigned char)h[colon]))
		colon++;
	/* value without the final EOL */
	while (end > colon && (h[end - 1] == '\n' || h[end - 1] == '\r'))
		end--;
	f->value = h + colon;
	f->valuelen = end - colon;
	return 1;
}

int
mime_field_is(const struct mime_field *f, const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(f->name, name, f->namelen) == 0;
}

/* Remove the CR/LF of folds; the WSP after them stays. */
void
mime_unfold(const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			buf_addc(out, s[i]);
}

/*
 * Decode the text of one encoded word (RFC 2047 4.1, 4.2) into raw bytes.
 * Returns -1 if it is not valid.
 */
static int
ew_decode(int enc, const char *t, size_t n, struct buf *raw)
{
	struct mime_decoder d;
	size_t	 i;
	int	 h1, h2;

	if (enc == 'b' || enc == 'B') {
		mime_decoder_init(&d, MIME_ENC_BASE64);
		mime_decode(&d, t, n, raw);
		mime_decode_finish(&d, raw);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (t[i] == '_')
			buf_addc(raw, ' ');
		else if (t[i] == '=' && i + 2 < n &&
		    (h1 = mime_hexval(t[i + 1])) >= 0 &&
		    (h2 = mime_hexval(t[i + 2])) >= 0) {
			buf_addc(raw, h1 * 16 + h2);
			i += 2;
		} else
			buf_addc(raw, t[i]);
	}
	return 0;
}

/*
 * Is there an encoded word "=?cs?e?text?=" at s[0..n)?  Sets the pieces
 * and returns its length, or 0.
 */
static size_t
ew_find(const char *s, size_t n, char *cs, size_t cslen, int *enc,
    const char **text, size_t *textlen)
{
	size_t	 i, c0, q2, t0;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	c0 = 2;
	for (i = c0; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return 0;
	if (i == c0 || i >= n || i - c0 >= cslen)
		return 0;
	memcpy(cs, s + c0, i - c0);
	cs[i - c0] = '\0';
	q2 = i + 1;
	if (q2 + 2 >= n || s[q2 + 1] != '?')
		return 0;
	if (strchr("bBqQ", s[q2]) == NULL)
		return 0;
	*enc = s[q2];
	t0 = q2 + 2;
	for (i = t0; i + 1 < n; i++) {
		if (s[i] == '?' && s[i + 1] == '=') {
			*text = s + t0;
			*textlen = i - t0;
			return i + 2;
		}
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return 0;
	}
	return 0;
}

/*
 * Unfold a header value and decode RFC 2047 encoded words to UTF-8.
 * Whitespace between adjacent encoded words is dropped; adjacent words in
 * one charset are joined before conversion so a character split between
 * them survives.  Bare 8-bit text is read as UTF-8 (RFC 6532).
 */
void
mime_header_decode(const char *in, size_t inlen, struct buf *out)
{
	struct buf	 u, raw;
	char		 cs[64], pcs[64] = "";
	const char	*s, *text = NULL;
	size_t		 n, i, wl, textlen = 0, j;
	int		 enc = 0, prev_ew = 0;

	buf_init(&u, 0);
	buf_init(&raw, 0);
	mime_unfold(in, inlen, &u);
	s = u.data != NULL ? u.data : "";
	n = u.len;
	for (i = 0; i < n; ) {
		wl = ew_find(s + i, n - i, cs, sizeof(cs), &enc, &text,
		    &textlen);
		if (wl > 0) {
			if (!prev_ew || strcasecmp(cs, pcs) != 0) {
				if (raw.len > 0)
					(void)utf8_from_charset(pcs,
					    raw.data, raw.len, 0, out);
				buf_reset(&raw);
			}
			ew_decode(enc, text, textlen, &raw);
			snprintf(pcs, sizeof(pcs), "%s", cs);
			prev_ew = 1;
			i += wl;
			continue;
		}
		if (prev_ew && mime_is_wsp((unsigned char)s[i])) {
			/* whitespace after a word: keep only if text follows */
			for (j = i; j < n &&
			    mime_is_wsp((unsigned char)s[j]); j++)
				;
			if (j < n && ew_find(s + j, n - j, cs, sizeof(cs),
			    &enc, &text, &textlen) > 0) {
				i = j;
				continue;
			}
		}
		if (raw.len > 0) {
			(void)utf8_from_charset(pcs, raw.data, raw.len, 0,
			    out);
			buf_reset(&raw);
		}
		prev_ew = 0;
		/* plain text up to the next "=?" */
		for (j = i + 1; j < n && !(s[j] == '=' && j + 1 < n &&
		    s[j + 1] == '?') && !mime_is_wsp((unsigned char)s[j]); j++)
			;
		if (j < n && mime_is_wsp((unsigned char)s[j]))
			j++;
		(void)utf8_sanitize(s + i, j - i, out);
		i = j;
	}
	if (raw.len > 0)
		(void)utf8_from_charset(pcs, raw.data, raw.len, 0, out);
	buf_free(&u);
	buf_free(&raw);
}

