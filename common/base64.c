/*
 * base64.c - the base64 codec; see base64.h.
 *
 * One decoding state machine for every caller: the flags only decide
 * which faults are skipped, which are counted and which end the decoding.
 * Decoded bytes may be a password (SASL), so a refused input leaves no
 * decoded byte behind in the caller's buffer.
 */
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"

const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of one character of the alphabet, or -1. */
int
base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* The four characters for n (1 to 3) bytes of in, padded with '='. */
void
base64_quantum(const unsigned char *in, size_t n, char *out)
{
	uint32_t	 acc;

	acc = (uint32_t)in[0] << 16;
	if (n > 1)
		acc |= (uint32_t)in[1] << 8;
	if (n > 2)
		acc |= in[2];
	out[0] = base64_alphabet[(acc >> 18) & 63];
	out[1] = base64_alphabet[(acc >> 12) & 63];
	out[2] = n > 1 ? base64_alphabet[(acc >> 6) & 63] : '=';
	out[3] = n > 2 ? base64_alphabet[acc & 63] : '=';
}

/* Encode n bytes as BASE64_ENCODED_LEN(n) characters; no NUL is added. */
void
base64_encode_raw(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t		 i;

	for (i = 0; i < n; i += 3, out += 4)
		base64_quantum(p + i, n - i < 3 ? n - i : 3, out);
}

/* Append the encoding of n bytes, one line; -1 (out unchanged) if full. */
int
base64_encode(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	size_t		 i, start = out->len;
	char		 q[4];

	for (i = 0; i < n; i += 3) {
		base64_quantum(p + i, n - i < 3 ? n - i : 3, q);
		if (buf_add(out, q, sizeof(q)) == -1) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

void
base64_dec_init(struct base64_dec *d, int flags)
{
	memset(d, 0, sizeof(*d));
	d->flags = flags;
}

/* A fault: counted; fatal (-1) unless the decoder is lenient. */
static int
fault(struct base64_dec *d)
{
	d->errors++;
	return (d->flags & BASE64_LENIENT) ? 0 : -1;
}

/* The bytes of the 2 to 4 characters held; returns how many. */
static int
emit(struct base64_dec *d, unsigned char *out)
{
	uint32_t	 acc = d->acc << (6 * (4 - d->nhold));
	int		 n = (int)d->nhold - 1;

	out[0] = (acc >> 16) & 0xff;
	out[1] = (acc >> 8) & 0xff;
	out[2] = acc & 0xff;
	d->acc = 0;
	d->nhold = 0;
	return n;
}

static int
pad_char(struct base64_dec *d, unsigned char *out)
{
	if (d->nhold >= 2) {
		d->need_pad = 3 - d->nhold;
		d->padded = 1;
		return emit(d, out);
	}
	if (d->nhold == 0 && d->need_pad > 0) {
		d->need_pad--;
		return 0;
	}
	/* more '=' after a complete end: harmless where nothing is strict */
	if (d->nhold == 0 && d->padded && (d->flags & BASE64_LENIENT))
		return 0;
	return fault(d);
}

/*
 * Feed one character; up to three decoded bytes go to out.  Returns how
 * many, or -1 for a fault the flags make fatal.
 */
int
base64_dec_char(struct base64_dec *d, int c, unsigned char *out)
{
	int	 v;

	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return (d->flags & (BASE64_WSP | BASE64_LENIENT)) ? 0 :
		    fault(d);
	if (c == '=')
		return pad_char(d, out);
	if ((v = base64_value(c)) < 0)
		return fault(d);
	if (d->padded) {
		/* data after padding: a second encoding glued on */
		if (fault(d) == -1)
			return -1;
		d->padded = 0;
		d->need_pad = 0;
	}
	d->acc = (d->acc << 6) | (uint32_t)v;
	if (++d->nhold == 4)
		return emit(d, out);
	return 0;
}

/* End of input: the bytes of an unpadded last quantum, or -1. */
int
base64_dec_finish(struct base64_dec *d, unsigned char *out)
{
	int	 n = 0;

	if (d->need_pad > 0 &&
	    !(d->flags & (BASE64_PAD_OPTIONAL | BASE64_LENIENT)))
		return fault(d);
	if (d->nhold == 1) {
		/* six bits make no byte, with or without padding */
		if (fault(d) == -1)
			return -1;
	} else if (d->nhold > 1) {
		if (!(d->flags & BASE64_PAD_OPTIONAL) && fault(d) == -1)
			return -1;
		n = emit(d, out);
	}
	d->acc = 0;
	d->nhold = 0;
	d->need_pad = 0;
	d->padded = 0;
	return n;
}

static int
put(unsigned char *out, size_t max, size_t *o, const unsigned char *q,
    int n)
{
	if (n < 0)
		return BASE64_ERR_BAD;
	if ((size_t)n > max - *o)
		return BASE64_ERR_LONG;
	memcpy(out + *o, q, (size_t)n);
	*o += (size_t)n;
	return BASE64_OK;
}

/*
 * Decode in[0..n) into out (max bytes) as flags say; *outlen_r gets the
 * length.  BASE64_ERR_BAD or BASE64_ERR_LONG leave out wiped and
 * *outlen_r 0.
 */
int
base64_decode(const char *in, size_t n, void *out, size_t max,
    size_t *outlen_r, int flags)
{
	struct base64_dec d;
	unsigned char	 q[3];
	size_t		 i, o = 0;
	int		 r = BASE64_OK;

	base64_dec_init(&d, flags);
	for (i = 0; i < n && r == BASE64_OK; i++)
		r = put(out, max, &o, q,
		    base64_dec_char(&d, (unsigned char)in[i], q));
	if (r == BASE64_OK)
		r = put(out, max, &o, q, base64_dec_finish(&d, q));
	explicit_bzero(q, sizeof(q));
	explicit_bzero(&d, sizeof(d));
	if (r != BASE64_OK) {
		explicit_bzero(out, o);
		o = 0;
	}
	*outlen_r = o;
	return r;
}
