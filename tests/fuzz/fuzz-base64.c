/*
 * fuzz-base64.c - libFuzzer target for common/base64.
 *
 * The input is decoded in every mode.  Besides not crashing: the lenient
 * mode never refuses (but for size); what a stricter mode accepts, every
 * looser one accepts with the same bytes (strict, then white space or
 * padding optional, then lenient); a refusal leaves nothing in the
 * output; and the encoding of what was decoded decodes to it again in
 * every mode.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"

#define OUT_MAX	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int modes[] = {
	0, BASE64_WSP, BASE64_PAD_OPTIONAL, BASE64_WSP | BASE64_PAD_OPTIONAL,
	BASE64_LENIENT
};
#define NMODES	(sizeof(modes) / sizeof(modes[0]))

static unsigned char out[NMODES][OUT_MAX], again[OUT_MAX];

static int
looser(int a, int b)
{
	/* is mode b at least as lenient as mode a? */
	return (b & BASE64_LENIENT) || (a & ~b) == 0;
}

static void
check_reencode(const unsigned char *p, size_t n)
{
	struct buf	 b;
	size_t		 m, k;

	buf_init(&b, 0);
	if (base64_encode(p, n, &b) != 0)
		__builtin_trap();
	for (k = 0; k < NMODES; k++)
		if (base64_decode(buf_cstr(&b), b.len, again, sizeof(again),
		    &m, modes[k]) != BASE64_OK || m != n ||
		    memcmp(again, p, n) != 0)
			__builtin_trap();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	size_t		 n[NMODES], i, j;
	int		 r[NMODES];

	if (size > OUT_MAX)
		return 0;
	for (i = 0; i < NMODES; i++) {
		r[i] = base64_decode(s, size, out[i], OUT_MAX, &n[i],
		    modes[i]);
		if (r[i] != BASE64_OK && n[i] != 0)
			__builtin_trap();
		if ((modes[i] & BASE64_LENIENT) && r[i] != BASE64_OK)
			__builtin_trap();
	}
	for (i = 0; i < NMODES; i++) {
		if (r[i] != BASE64_OK)
			continue;
		for (j = 0; j < NMODES; j++)
			if (looser(modes[i], modes[j]) &&
			    (r[j] != BASE64_OK || n[j] != n[i] ||
			    memcmp(out[j], out[i], n[i]) != 0))
				__builtin_trap();
		check_reencode(out[i], n[i]);
	}
	return 0;
}
