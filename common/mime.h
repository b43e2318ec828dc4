/*
 * mime.h - streaming MIME parser (RFC 2045-2049), header decoding
 * (RFC 2047 encoded words, RFC 2231 parameters) and the base64 and
 * quoted-printable codecs.  The parser is mime.c, header fields
 * mime_header.c, Content-* parameters mime_param.c, the codecs
 * mime_codec.c; UTF-8 and charsets are common/utf8, base64 common/base64.
 *
 * The parser never reads by itself: the caller feeds it chunks of any size
 * with mime_parser_feed() and ends with mime_parser_finish().  Bodies stream
 * through (to an optional callback) and are never kept; what is kept is the
 * part tree: for every part its byte offsets in the message (header start,
 * body start, body end), its line count, its Content-* facts and flags
 * describing whatever was malformed.  Memory is bounded by the limits given
 * at creation (nesting depth, header bytes per part, number of parts), not
 * by the size of the message.  Header fields are handed to a callback as
 * they are parsed; a caller that needs them later (the strip code, imapd
 * building an ENVELOPE for a message/rfc822 part) rereads the bytes between
 * hdr_start and body_start and walks them with mime_header_next().
 *
 * The parser takes any bytes: malformed input is never an error, it is
 * described by MIME_F_* flags on the part concerned and on the whole result.
 * Callers: mda (stripping of unsafe mail), imapd (BODYSTRUCTURE, FETCH
 * BODY[n], SEARCH).  It runs in whatever process calls it and needs no
 * privileges; it is meant to run on hostile input.
 */
#ifndef SM_MIME_H
#define SM_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "base64.h"
#include "buf.h"

enum mime_encoding {
	MIME_ENC_7BIT = 0,
	MIME_ENC_8BIT,
	MIME_ENC_BINARY,
	MIME_ENC_QP,
	MIME_ENC_BASE64,
	MIME_ENC_UNKNOWN	/* x-uuencode, garbage: body is opaque */
};

/* What was wrong with a part (mime_part.flags) or anywhere (parser). */
#define MIME_F_NO_END_BOUNDARY	0x00001	/* multipart closed by EOF/outer */
#define MIME_F_NO_BOUNDARY	0x00002	/* multipart without boundary */
#define MIME_F_BOUNDARY_REUSE	0x00004	/* nested multipart reuses a boundary */
#define MIME_F_NO_PARTS		0x00008	/* multipart without a body part */
#define MIME_F_HDR_UNTERMINATED	0x00010	/* header not ended by an empty line */
#define MIME_F_HDR_TOO_LONG	0x00020	/* header over the limit, cut */
#define MIME_F_HDR_8BIT		0x00040	/* 8-bit bytes in the header */
#define MIME_F_HDR_BAD_LINE	0x00080	/* header line that is not a field */
#define MIME_F_HDR_DUP		0x00100	/* repeated Content-* field */
#define MIME_F_BAD_TYPE		0x00200	/* unparseable Content-Type */
#define MIME_F_BAD_ENCODING	0x00400	/* broken base64/qp, unknown CTE */
#define MIME_F_BAD_PARAM	0x00800	/* malformed parameter */
#define MIME_F_BARE_LF		0x01000	/* LF without CR */
#define MIME_F_NUL		0x02000	/* NUL byte */
#define MIME_F_LONG_LINE	0x04000	/* line over 998 bytes */
#define MIME_F_DEPTH		0x08000	/* too deep: container kept as leaf */
#define MIME_F_TOO_MANY_PARTS	0x10000	/* part limit: rest ignored */
#define MIME_F_8BIT_BODY	0x20000	/* 8-bit bytes in a 7bit body */
#define MIME_F_AMBIGUOUS	0x40000	/* readers may see it differently:
					   duplicate Content-Type, -Transfer-
					   Encoding or -Disposition, a
					   parameter given twice, malformed
					   parameters */

/* Returns of mime_parse_content_type() and _disposition() besides -1. */
#define MIME_PARAMS_BAD		0x1	/* malformed parameters */
#define MIME_PARAMS_DUP		0x2	/* a parameter given twice */

/* Flags after which the structure cannot be trusted as the sender meant. */
#define MIME_F_STRUCTURE	(MIME_F_BOUNDARY_REUSE | MIME_F_HDR_TOO_LONG | \
	MIME_F_DEPTH | MIME_F_TOO_MANY_PARTS)

struct mime_limits {
	unsigned int	 max_depth;	/* parts below the message; root is 0 */
	unsigned int	 max_parts;	/* parts in all, root included */
	size_t		 max_header;	/* header bytes of one part */
};

struct mime_param {
	char	*name;		/* lowercase, RFC 2231 sections joined */
	char	*value;		/* UTF-8, RFC 2231/2047 decoded */
};

enum mime_kind {
	MIME_KIND_LEAF = 0,
	MIME_KIND_MULTIPART,	/* children are its body parts */
	MIME_KIND_MESSAGE	/* message/rfc822: one child, the message */
};

struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;	/* first child */
	struct mime_part *next;		/* next sibling */
	unsigned int	 index;		/* parse order; the message is 0 */
	unsigned int	 depth;
	unsigned int	 nchildren;
	unsigned int	 flags;		/* MIME_F_* */
	enum mime_kind	 kind;

	uint64_t	 hdr_start;	/* first byte of the header */
	uint64_t	 body_start;	/* first byte after the empty line */
	uint64_t	 body_end;	/* end, before the CRLF of a boundary */
	uint64_t	 body_lines;	/* lines in [body_start, body_end) */
	uint64_t	 decoded_size;	/* leaves: bytes after base64/qp */

	char		*type;		/* lowercase; defaults applied */
	char		*subtype;
	int		 type_explicit;	/* Content-Type was present and valid */
	struct mime_param *params;
	size_t		 nparams;
	char		*charset;	/* lowercase param, or NULL */
	char		*boundary;	/* multipart only */
	enum mime_encoding enc;
	char		*enc_name;	/* lowercase CTE as written, or NULL */
	char		*disposition;	/* lowercase, or NULL */
	struct mime_param *dparams;
	size_t		 ndparams;
	char		*filename;	/* UTF-8 filename, else name, or NULL */
	char		*id;		/* raw unfolded values, or NULL */
	char		*description;
	char		*language;
	char		*location;
	char		*md5;
};

struct mime_callbacks {
	/* A header field of part; value is raw (folded, no final EOL). */
	void	(*header)(struct mime_part *, const char *, size_t,
		    const char *, size_t, void *);
	/* The header of part is parsed; its Content-* facts are set. */
	void	(*part_begin)(struct mime_part *, void *);
	/* Raw (still encoded) body bytes of a leaf. */
	void	(*body)(struct mime_part *, const char *, size_t, void *);
	/* The part ended: body_end, body_lines and decoded_size are set. */
	void	(*part_end)(struct mime_part *, void *);
};

struct mime_parser;

void	 mime_limits_default(struct mime_limits *);
struct mime_parser *mime_parser_new(const struct mime_limits *,
	    const struct mime_callbacks *, void *);
void	 mime_parser_feed(struct mime_parser *, const void *, size_t);
unsigned int mime_parser_finish(struct mime_parser *);
struct mime_part *mime_parser_root(struct mime_parser *);
struct mime_part *mime_parser_part(struct mime_parser *, unsigned int);
unsigned int mime_parser_nparts(const struct mime_parser *);
unsigned int mime_parser_flags(const struct mime_parser *);
void	 mime_parser_free(struct mime_parser *);

const char *mime_param_get(const struct mime_param *, size_t, const char *);
int	 mime_part_is(const struct mime_part *, const char *, const char *);
void	 mime_part_section(const struct mime_part *, struct buf *);
const char *mime_encoding_name(enum mime_encoding);
void	 mime_flags_str(unsigned int, struct buf *);

/* Header fields. */
struct mime_field {
	const char	*name;
	size_t		 namelen;
	const char	*value;		/* raw, folded, without the final EOL */
	size_t		 valuelen;
	size_t		 start;		/* offset of the field in the header */
	size_t		 end;		/* offset after its final EOL */
};

int	 mime_header_next(const char *, size_t, size_t *, struct mime_field *);
int	 mime_field_is(const struct mime_field *, const char *);
void	 mime_unfold(const char *, size_t, struct buf *);
void	 mime_header_decode(const char *, size_t, struct buf *);
int	 mime_parse_content_type(const char *, size_t, char **, char **,
	    struct mime_param **, size_t *);
int	 mime_parse_disposition(const char *, size_t, char **,
	    struct mime_param **, size_t *);
void	 mime_params_free(struct mime_param *, size_t);

/* Streaming codecs: feed any chunking, output is appended to a buf. */
struct mime_decoder {
	enum mime_encoding enc;
	int		 state;		/* quoted-printable */
	unsigned char	 hold[2];
	unsigned char	 ws[64];
	size_t		 nws;
	struct base64_dec b64;		/* base64, BASE64_LENIENT */
	unsigned long	 errors;
};

struct mime_encoder {
	enum mime_encoding enc;
	size_t		 col;
	unsigned char	 hold[3];
	size_t		 nhold;
	int		 pending_ws;
	int		 pending_cr;
};

void	 mime_decoder_init(struct mime_decoder *, enum mime_encoding);
void	 mime_decode(struct mime_decoder *, const void *, size_t, struct buf *);
void	 mime_decode_finish(struct mime_decoder *, struct buf *);
uint64_t mime_measure(struct mime_decoder *, const void *, size_t);
uint64_t mime_measure_finish(struct mime_decoder *);
void	 mime_encoder_init(struct mime_encoder *, enum mime_encoding);
void	 mime_encode(struct mime_encoder *, const void *, size_t, struct buf *);
void	 mime_encode_finish(struct mime_encoder *, struct buf *);

#endif
