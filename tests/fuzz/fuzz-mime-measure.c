/*
 * fuzz-mime-measure.c - libFuzzer target for common/mime_measure.c, the
 * decoded size of a base64 or quoted-printable body counted from its
 * encoded bytes.
 *
 * The first input byte chooses the encoding (low bit) and the chunk size
 * the rest is fed in (the other bits); the rest is the body.  Besides not
 * crashing: the size counted and the faults counted are exactly those of
 * decoding the same body with mime_decode (fed in the same chunks), for
 * any input, well-formed or not.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mime.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_decoder dec, mea;
	struct buf	 out;
	enum mime_encoding enc;
	uint64_t	 n = 0;
	size_t		 step, i, k;

	if (size < 1)
		return 0;
	enc = (data[0] & 1) ? MIME_ENC_QP : MIME_ENC_BASE64;
	step = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	buf_init(&out, 0);
	mime_decoder_init(&dec, enc);
	mime_decoder_init(&mea, enc);
	for (i = 0; i < size; i += k) {
		k = size - i < step ? size - i : step;
		mime_decode(&dec, data + i, k, &out);
		n += mime_measure(&mea, data + i, k);
		if (n != out.len || mea.errors != dec.errors)
			__builtin_trap();
	}
	mime_decode_finish(&dec, &out);
	n += mime_measure_finish(&mea);
	if (n != out.len || mea.errors != dec.errors)
		__builtin_trap();
	buf_free(&out);
	return 0;
}
