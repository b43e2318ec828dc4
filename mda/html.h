/*
 * html.h - HTML to plain text, streaming, for the stripping of unsafe mail.
 *
 * Tags, comments, scripts and styles are removed, entities are decoded,
 * block elements become line breaks and a link keeps its target as visible
 * text ("label <https://...>").  The converter is fed decoded bytes of a
 * text/html part in any chunking and keeps only a small bounded state, so
 * memory does not grow with the document.  Text bytes pass through in the
 * part's charset; decoded entities are written in the mode given at
 * creation (UTF-8, Latin-1 or ASCII, "?" for what the mode cannot hold).
 * Called by mda/strip_write.c on hostile input; needs no privileges.
 */
#ifndef SM_HTML_H
#define SM_HTML_H

#include <stddef.h>

#include "buf.h"

enum html_out {
	HTML_OUT_UTF8 = 0,
	HTML_OUT_LATIN1,
	HTML_OUT_ASCII
};

struct html_conv;

struct html_conv *html_conv_new(enum html_out);
void	 html_conv_feed(struct html_conv *, const char *, size_t,
	    struct buf *);
void	 html_conv_finish(struct html_conv *, struct buf *);
void	 html_conv_free(struct html_conv *);
void	 html_to_text(const char *, size_t, enum html_out, struct buf *);
enum html_out html_out_for_charset(const char *);

#endif
