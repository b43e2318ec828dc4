/*
 * mime_codec.c - the transfer encodings of RFC 2045: streaming base64 and
 * quoted-printable decoders and encoders; see mime.h.
 *
 * Decoding is lenient as RFC 2045 6.8 asks: what is wrong is counted in
 * the decoder's errors (the parser turns that into MIME_F_BAD_ENCODING)
 * and skipped, never fatal.  base64 itself is common/base64 in its
 * lenient mode.  Encoding writes lines of at most 76 characters.  Called
 * by the parser, RFC 2047 decoding and mda's strip code on hostile input;
 * no privileges, a fixed amount of state per decoder.
 */
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "mime.h"
#include "mime_int.h"

enum { QP_TEXT, QP_CR, QP_EQ, QP_EQ_HEX, QP_EQ_CR, QP_EQ_WS };

void
mime_decoder_init(struct mime_decoder *d, enum mime_encoding enc)
{
	memset(d, 0, sizeof(*d));
	d->enc = enc;
	base64_dec_init(&d->b64, BASE64_LENIENT);
}

/* base64 in the lenient mode of RFC 2045 6.8: faults counted, skipped. */
static void
b64_decode(struct mime_decoder *d, const unsigned char *s, size_t n,
    struct buf *out)
{
	unsigned char	 o[3];
	size_t		 i;
	int		 k;

	for (i = 0; i < n; i++)
		if ((k = base64_dec_char(&d->b64, s[i], o)) > 0)
			buf_add(out, o, (size_t)k);
	d->errors += d->b64.errors;
	d->b64.errors = 0;
}

static void
qp_flush_ws(struct mime_decoder *d, struct buf *out)
{
	buf_add(out, d->ws, d->nws);
	d->nws = 0;
}

static void
qp_decode_byte(struct mime_decoder *d, unsigned char c, struct buf *out)
{
	int	 h;

again:
	switch (d->state) {
	case QP_TEXT:
		if (c == '=') {
			qp_flush_ws(d, out);
			d->state = QP_EQ;
		} else if (c == ' ' || c == '\t') {
			if (d->nws == sizeof(d->ws))
				qp_flush_ws(d, out);
			d->ws[d->nws++] = c;
		} else if (c == '\r') {
			d->state = QP_CR;
		} else if (c == '\n') {
			d->nws = 0;	/* trailing whitespace is dropped */
			buf_add(out, "\r\n", 2);
		} else {
			qp_flush_ws(d, out);
			buf_addc(out, c);
		}
		break;
	case QP_CR:
		d->state = QP_TEXT;
		if (c == '\n') {
			d->nws = 0;
			buf_add(out, "\r\n", 2);
			break;
		}
		qp_flush_ws(d, out);
		buf_addc(out, '\r');
		goto again;
	case QP_EQ:
		if ((h = mime_hexval(c)) >= 0) {
			d->hold[0] = (unsigned char)h;
			d->hold[1] = c;
			d->state = QP_EQ_HEX;
		} else if (c == '\r')
			d->state = QP_EQ_CR;
		else if (c == '\n')
			d->state = QP_TEXT;
		else if (c == ' ' || c == '\t')
			d->state = QP_EQ_WS;
		else {
			d->errors++;
			buf_addc(out, '=');
			d->state = QP_TEXT;
			goto again;
		}
		break;
	case QP_EQ_HEX:
		d->state = QP_TEXT;
		if ((h = mime_hexval(c)) >= 0) {
			buf_addc(out, d->hold[0] * 16 + h);
			break;
		}
		d->errors++;
		buf_addc(out, '=');
		buf_addc(out, d->hold[1]);
		goto again;
	case QP_EQ_CR:
		d->state = QP_TEXT;
		if (c == '\n')
			break;
		d->errors++;
		goto again;
	case QP_EQ_WS:
		if (c == ' ' || c == '\t')
			break;
		if (c == '\r') {
			d->state = QP_EQ_CR;
			break;
		}
		d->state = QP_TEXT;
		if (c == '\n')
			break;
		d->errors++;
		buf_addc(out, '=');
		goto again;
	}
}

/* Decode a chunk; errors are counted in d->errors, never fatal. */
void
mime_decode(struct mime_decoder *d, const void *in, size_t n,
    struct buf *out)
{
	const unsigned char *s = in;
	size_t	 i;

	switch (d->enc) {
	case MIME_ENC_BASE64:
		b64_decode(d, s, n, out);
		break;
	case MIME_ENC_QP:
		for (i = 0; i < n; i++)
			qp_decode_byte(d, s[i], out);
		break;
	default:
		buf_add(out, in, n);
		break;
	}
}

void
mime_decode_finish(struct mime_decoder *d, struct buf *out)
{
	unsigned char	 o[3];
	int		 k;

	if (d->enc == MIME_ENC_BASE64) {
		/* a last quantum without its padding is a fault, kept */
		if ((k = base64_dec_finish(&d->b64, o)) > 0)
			buf_add(out, o, (size_t)k);
		d->errors += d->b64.errors;
		d->b64.errors = 0;
	} else if (d->enc == MIME_ENC_QP) {
		switch (d->state) {
		case QP_CR:
			buf_addc(out, '\r');
			break;
		case QP_EQ_HEX:
			d->errors++;
			buf_addc(out, '=');
			buf_addc(out, d->hold[1]);
			break;
		default:
			break;
		}
		d->nws = 0;
	}
	d->state = QP_TEXT;
}

void
mime_encoder_init(struct mime_encoder *e, enum mime_encoding enc)
{
	memset(e, 0, sizeof(*e));
	e->enc = enc;
}

static void
qp_put(struct mime_encoder *e, unsigned char c, int literal,
    struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 len = literal ? 1 : 3;

	if (e->col + len > 75) {
		buf_add(out, "=\r\n", 3);
		e->col = 0;
	}
	if (literal)
		buf_addc(out, c);
	else {
		buf_addc(out, '=');
		buf_addc(out, hex[c >> 4]);
		buf_addc(out, hex[c & 15]);
	}
	e->col += len;
}

static void
qp_hard_break(struct mime_encoder *e, struct buf *out)
{
	if (e->pending_ws) {
		qp_put(e, (unsigned char)e->pending_ws, 0, out);
		e->pending_ws = 0;
	}
	buf_add(out, "\r\n", 2);
	e->col = 0;
}

static void
qp_encode_byte(struct mime_encoder *e, unsigned char c, struct buf *out)
{
	if (e->pending_cr) {
		e->pending_cr = 0;
		if (c == '\n') {
			qp_hard_break(e, out);
			return;
		}
		if (e->pending_ws) {
			qp_put(e, (unsigned char)e->pending_ws, 1, out);
			e->pending_ws = 0;
		}
		qp_put(e, '\r', 0, out);
	}
	if (c == '\r') {
		e->pending_cr = 1;
		return;
	}
	if (c == '\n') {
		qp_hard_break(e, out);
		return;
	}
	if (e->pending_ws) {
		qp_put(e, (unsigned char)e->pending_ws, 1, out);
		e->pending_ws = 0;
	}
	if (c == ' ' || c == '\t') {
		e->pending_ws = c;
		return;
	}
	/* '-' and '.' at a line start are encoded too: no boundary or
	 * SMTP dot can ever be formed by encoded text */
	qp_put(e, c, c >= 33 && c <= 126 && c != '=' &&
	    !(e->col == 0 && (c == '-' || c == '.')), out);
}

static void
b64_encode_quantum(struct mime_encoder *e, struct buf *out)
{
	char	 o[4];

	if (e->col >= 76) {
		buf_add(out, "\r\n", 2);
		e->col = 0;
	}
	base64_quantum(e->hold, e->nhold, o);
	buf_add(out, o, 4);
	e->col += 4;
	e->nhold = 0;
}

/* Encode a chunk: lines of at most 76 characters, CRLF between them. */
void
mime_encode(struct mime_encoder *e, const void *in, size_t n,
    struct buf *out)
{
	const unsigned char *s = in;
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (e->enc) {
		case MIME_ENC_BASE64:
			e->hold[e->nhold++] = s[i];
			if (e->nhold == 3)
				b64_encode_quantum(e, out);
			break;
		case MIME_ENC_QP:
			qp_encode_byte(e, s[i], out);
			break;
		default:
			buf_addc(out, s[i]);
			break;
		}
	}
}

/* Flush what is held; no final CRLF is added. */
void
mime_encode_finish(struct mime_encoder *e, struct buf *out)
{
	if (e->enc == MIME_ENC_BASE64) {
		if (e->nhold > 0)
			b64_encode_quantum(e, out);
	} else if (e->enc == MIME_ENC_QP) {
		if (e->pending_cr) {
			if (e->pending_ws) {
				qp_put(e, (unsigned char)e->pending_ws, 1,
				    out);
				e->pending_ws = 0;
			}
			qp_put(e, '\r', 0, out);
		}
		if (e->pending_ws)
			qp_put(e, (unsigned char)e->pending_ws, 0, out);
	}
	e->pending_cr = e->pending_ws = 0;
	e->nhold = 0;
	e->col = 0;
}
