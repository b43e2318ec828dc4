/*
 * mime_measure.c - the decoded size of a base64 or quoted-printable body
 * computed from its encoded bytes, without decoding them; see mime.h.
 *
 * Called by the MIME parser (common/mime.c) for every leaf it reads, so
 * that a part the stripper removes is never decoded only to be measured:
 * base64 counts its alphabet characters (three bytes a quantum of four,
 * fewer for a padded one), quoted-printable counts "=XX" as one byte, a
 * soft line break as none and a line end as two (CRLF).
 *
 * The counters follow the decoders of mime_codec.c state for state, so
 * for every input, well-formed or not, they give the size and the count
 * of faults that decoding would: a character outside the base64
 * alphabet is skipped and counted, a last quantum of two or three
 * characters without padding is counted and still gives its one or two
 * bytes, a lone last character gives none; in quoted-printable a "="
 * not followed by two hex digits or a line end stands for itself (as
 * do the characters after it), and white space at the end of a line is
 * not counted.  Unit tests check the counters against the decoders;
 * tests/fuzz/fuzz-mime-measure does the same on arbitrary input.
 *
 * No privileges, a fixed amount of state per part (struct mime_decoder).
 */
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "mime.h"
#include "mime_int.h"

enum { QP_TEXT, QP_CR, QP_EQ, QP_EQ_HEX, QP_EQ_CR, QP_EQ_WS };

/* Byte classes of the fast paths. */
enum { C_OTHER = 0, C_B64, C_WSP, C_EQ, C_CR, C_LF, C_HEX };

static unsigned char	 b64_class[256];
static unsigned char	 qp_class[256];

static void
classes_init(void)
{
	int	 c;

	if (b64_class['A'] != 0)
		return;
	for (c = 0; c < 256; c++) {
		if (base64_value(c) >= 0)
			b64_class[c] = C_B64;
		if (mime_hexval(c) >= 0)
			qp_class[c] = C_HEX;
	}
	b64_class[' '] = b64_class['\t'] = C_WSP;
	b64_class['\r'] = b64_class['\n'] = C_WSP;
	b64_class['='] = C_EQ;
	qp_class[' '] = qp_class['\t'] = C_WSP;
	qp_class['='] = C_EQ;
	qp_class['\r'] = C_CR;
	qp_class['\n'] = C_LF;
}

/* base64_dec_char's pad_char, counting instead of emitting. */
static uint64_t
b64_pad(struct base64_dec *b)
{
	uint64_t n = 0;

	if (b->nhold >= 2) {
		b->need_pad = 3 - b->nhold;
		b->padded = 1;
		n = b->nhold - 1;
		b->nhold = 0;
	} else if (b->nhold == 0 && b->need_pad > 0)
		b->need_pad--;
	else if (!(b->nhold == 0 && b->padded))
		b->errors++;
	return n;
}

static uint64_t
b64_measure(struct mime_decoder *d, const unsigned char *s, size_t n)
{
	struct base64_dec *b = &d->b64;
	uint64_t	 size = 0, run;
	unsigned int	 nhold = b->nhold;
	size_t		 i, j;

	for (i = 0; i < n; i++) {
		if (!b->padded) {
			/* a run of the alphabet: a quantum each four */
			for (j = i; j < n && b64_class[s[j]] == C_B64; j++)
				;
			run = nhold + (j - i);
			size += run / 4 * 3;
			nhold = (unsigned int)(run % 4);
			if ((i = j) == n)
				break;
		}
		switch (b64_class[s[i]]) {
		case C_B64:
			if (b->padded) {
				/* a second encoding glued on: a fault */
				d->errors++;
				b->padded = 0;
				b->need_pad = 0;
			}
			if (++nhold == 4) {
				size += 3;
				nhold = 0;
			}
			break;
		case C_WSP:
			break;
		case C_EQ:
			b->nhold = nhold;
			size += b64_pad(b);
			nhold = b->nhold;
			break;
		default:
			d->errors++;
			break;
		}
	}
	b->nhold = nhold;
	d->errors += b->errors;
	b->errors = 0;
	return size;
}

/* One byte of quoted-printable, as qp_decode_byte would count it. */
static uint64_t
qp_byte(struct mime_decoder *d, unsigned char c)
{
	uint64_t n = 0;
	int	 k = qp_class[c];

again:
	switch (d->state) {
	case QP_TEXT:
		if (k == C_EQ) {
			n += d->nws;
			d->nws = 0;
			d->state = QP_EQ;
		} else if (k == C_WSP) {
			if (d->nws == sizeof(d->ws)) {
				n += d->nws;
				d->nws = 0;
			}
			d->nws++;
		} else if (k == C_CR)
			d->state = QP_CR;
		else if (k == C_LF) {
			d->nws = 0;
			n += 2;
		} else {
			n += d->nws + 1;
			d->nws = 0;
		}
		break;
	case QP_CR:
		d->state = QP_TEXT;
		if (k == C_LF) {
			d->nws = 0;
			n += 2;
			break;
		}
		n += d->nws + 1;
		d->nws = 0;
		goto again;
	case QP_EQ:
		if (k == C_HEX) {
			d->hold[1] = c;
			d->state = QP_EQ_HEX;
		} else if (k == C_CR)
			d->state = QP_EQ_CR;
		else if (k == C_LF)
			d->state = QP_TEXT;
		else if (k == C_WSP)
			d->state = QP_EQ_WS;
		else {
			d->errors++;
			n++;
			d->state = QP_TEXT;
			goto again;
		}
		break;
	case QP_EQ_HEX:
		d->state = QP_TEXT;
		if (k == C_HEX) {
			n++;
			break;
		}
		d->errors++;
		n += 2;
		goto again;
	case QP_EQ_CR:
		d->state = QP_TEXT;
		if (k == C_LF)
			break;
		d->errors++;
		goto again;
	case QP_EQ_WS:
		if (k == C_WSP)
			break;
		if (k == C_CR) {
			d->state = QP_EQ_CR;
			break;
		}
		d->state = QP_TEXT;
		if (k == C_LF)
			break;
		d->errors++;
		n++;
		goto again;
	}
	return n;
}

static uint64_t
qp_measure(struct mime_decoder *d, const unsigned char *s, size_t n)
{
	uint64_t size = 0;
	size_t	 i = 0, run;

	while (i < n) {
		/* a run of plain text: one byte each */
		if (d->state == QP_TEXT && d->nws == 0) {
			for (run = i; run < n; run++)
				if (qp_class[s[run]] != C_OTHER &&
				    qp_class[s[run]] != C_HEX)
					break;
			size += run - i;
			if ((i = run) == n)
				break;
		}
		size += qp_byte(d, s[i++]);
	}
	return size;
}

/*
 * The decoded size of the next n encoded bytes of d's part (the part's
 * encoding is d's); faults are added to d->errors as mime_decode adds
 * them.  Other encodings are their own size.
 */
uint64_t
mime_measure(struct mime_decoder *d, const void *in, size_t n)
{
	classes_init();
	switch (d->enc) {
	case MIME_ENC_BASE64:
		return b64_measure(d, in, n);
	case MIME_ENC_QP:
		return qp_measure(d, in, n);
	default:
		return n;
	}
}

/* The bytes the end of the part adds, as mime_decode_finish. */
uint64_t
mime_measure_finish(struct mime_decoder *d)
{
	struct base64_dec *b = &d->b64;
	uint64_t	 n = 0;

	if (d->enc == MIME_ENC_BASE64) {
		if (b->nhold >= 1)
			d->errors++;	/* a last quantum without padding */
		if (b->nhold > 1)
			n = b->nhold - 1;
		b->nhold = 0;
		b->need_pad = 0;
		b->padded = 0;
	} else if (d->enc == MIME_ENC_QP) {
		if (d->state == QP_CR)
			n = 1;
		else if (d->state == QP_EQ_HEX) {
			d->errors++;
			n = 2;
		}
		d->nws = 0;
	}
	d->state = QP_TEXT;
	return n;
}
