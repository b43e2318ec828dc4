/*
 * strip.h - rewrite an unsafe message without its attachments and HTML.
 *
 * The message is parsed with common/mime, then written anew: every part
 * that is not inline text/plain or text/html is removed (in nested
 * multiparts and attached messages too), files uuencoded or yEnc-encoded
 * inside kept text are cut out, text/html optionally becomes text/plain,
 * multipart/alternative keeps one text part, and one text/plain notice
 * names what was removed.  Text is re-encoded as quoted-printable, kept
 * attachments (strip_attachments off) as base64, so the result is 7-bit
 * MIME whose structure Sealmail chose, never the sender's.  A structure
 * that cannot be trusted (MIME_F_STRUCTURE, or a multipart without parts)
 * is reduced to the notice and the readable text.  The result carries
 * "X-Sealmail-Stripped: N" (N = parts removed); such a header in the input
 * is dropped.  Lines end in CRLF.
 *
 * Called by the mda as the mail user on hostile input; it opens no files
 * but an unlinked temporary one when the input is not seekable.
 */
#ifndef SM_STRIP_H
#define SM_STRIP_H

#include <stddef.h>

#include "buf.h"
#include "mime.h"

struct strip_opts {
	int		 strip_attachments;
	int		 strip_html;
	const char	*subject_tag;	/* prefix for Subject, or NULL */
	const struct mime_limits *limits;	/* NULL: mime defaults */
};

struct strip_result {
	unsigned int	 nremoved;	/* parts named in the notice */
	unsigned int	 nconverted;	/* text/html made text/plain */
	unsigned int	 mime_flags;	/* what the parser found */
	int		 degraded;	/* structure untrusted: text only */
};

int	 strip_mem(const struct strip_opts *, const void *, size_t,
	    struct buf *, struct strip_result *);
int	 strip_fd(const struct strip_opts *, int, int, struct strip_result *);

#endif
