/*
 * strip_int.h - what the strip*.c files share and no caller needs: the
 * context of one run, the fates a part can have, the filter that cuts
 * encoded files out of text, and the functions each file gives the
 * others.
 *
 *	strip.c		input and output, the entry points
 *	strip_policy.c	the fate of every part (keep, convert, pass,
 *			remove, drop)
 *	strip_uu.c	uuencode, begin-base64 and yEnc blocks in text
 *	strip_write.c	writing the new message
 */
#ifndef SM_STRIP_INT_H
#define SM_STRIP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "html.h"
#include "mime.h"
#include "strip.h"

#define STRIP_CHUNK	65536
#define STRIP_LIST_MAX	200	/* removed parts named in the notice */

enum fate {
	F_NONE = 0,
	F_KEEP,		/* text, re-encoded */
	F_CONVERT,	/* text/html -> text/plain */
	F_PASS,		/* kept attachment, re-encoded as base64 */
	F_REMOVE,	/* removed and named in the notice */
	F_DROP		/* not written, not named (container, alternative) */
};

struct strip_ctx {
	const struct strip_opts	*o;
	struct strip_result	*res;
	struct mime_limits	 lim;
	struct mime_parser	*mp;
	unsigned char		*fate;

	const char		*mem;	/* input in memory, or */
	size_t			 memlen;
	int			 infd;	/* a seekable descriptor */

	struct buf		*out;	/* output to a buf, or */
	int			 outfd;	/* to a descriptor through obuf */
	struct buf		 obuf;
	int			 err;

	unsigned int		 nbound;
	uint64_t		 size;	/* of the input */
	struct buf		 chunk, dec, conv, enc, uuout;
	int			 dry;	/* counting pass: nothing written */
	unsigned int		 uufound;	/* encoded files in text */
	struct buf		 uunames;	/* their notice lines */
};

#define UU_LINE_MAX	1024

enum { UU_TEXT, UU_HELD, UU_IN };

struct uu {
	struct strip_ctx *c;
	int		 state;
	int		 kind;		/* 'u'uencode, 'b'ase64, 'y'Enc */
	int		 midline;	/* line continues a longer one */
	struct buf	 line;
	struct buf	 held;
	char		 name[128];
};

/* strip.c */
int	 strip_src_read(struct strip_ctx *, uint64_t, size_t, struct buf *);
void	 strip_out_add(struct strip_ctx *, const void *, size_t);
void	 strip_out_str(struct strip_ctx *, const char *);
void	 strip_out_buf(struct strip_ctx *, struct buf *);

/* strip_policy.c */
int	 strip_is_ambiguous(const struct mime_part *);
int	 strip_is_inline(const struct mime_part *);
int	 strip_decide(struct strip_ctx *, struct mime_part *);
void	 strip_decide_degraded(struct strip_ctx *);

/* strip_uu.c */
void	 strip_uu_init(struct uu *, struct strip_ctx *);
void	 strip_uu_feed(struct uu *, const char *, size_t, struct buf *);
void	 strip_uu_finish(struct uu *, struct buf *);

/* strip_write.c */
void	 strip_write_text_leaf(struct strip_ctx *, struct mime_part *, int);
void	 strip_write_message(struct strip_ctx *);

#endif
