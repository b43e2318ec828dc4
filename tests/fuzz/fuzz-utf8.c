/*
 * fuzz-utf8.c - libFuzzer target for common/utf8: validation, modified
 * UTF-7 both ways and charset conversion.
 *
 * The first input byte chooses what is tried; the rest is the text.
 * Besides not crashing: whatever sanitizing or conversion writes is valid
 * UTF-8 without NUL and within the buffer's maximum; valid text is left
 * as it is by sanitizing; every modified UTF-7 name that decodes encodes
 * back to the very same bytes (one spelling per name), and every UTF-8
 * name encodes to one that decodes back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

#define OUT_MAX	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const charsets[] = {
	"utf-8", "us-ascii", "iso-8859-1", "windows-1252", "iso-8859-2",
	"koi8-r", "shift_jis", "euc-jp", "iso-2022-jp", "gb18030", "big5",
	"euc-kr", "utf-16", "x-unknown", NULL
};

static void
check_out(const struct buf *b)
{
	if (b->len > OUT_MAX || !utf8_valid(b->data, b->len, 0, UTF8_NO_NUL))
		__builtin_trap();
}

static void
fuzz_valid(const char *s, size_t n)
{
	struct buf	 b;
	size_t		 i, len;
	int		 v = utf8_valid(s, n, 0, 0);

	/* the walk by sequences agrees with the whole check */
	for (i = 0; i < n; i += len)
		if ((len = utf8_decode(s + i, n - i, NULL)) == 0)
			break;
	if ((i == n) != v)
		__builtin_trap();
	if (utf8_valid(s, n, 0, UTF8_NO_CTL) && !v)
		__builtin_trap();
	buf_init(&b, OUT_MAX);
	if (utf8_sanitize(s, n, &b) == 0) {
		check_out(&b);
		if (utf8_valid(s, n, 0, UTF8_NO_NUL) &&
		    (b.len != n || memcmp(b.data, s, n) != 0))
			__builtin_trap();
	} else if (b.len != 0)
		__builtin_trap();
	buf_free(&b);
}

static void
fuzz_mutf7(const char *s)
{
	struct buf	 u, m;

	buf_init(&u, 0);
	buf_init(&m, 0);
	if (utf8_from_mutf7(s, &u) == 0) {
		if (!utf8_valid(u.data, u.len, 0, UTF8_NO_NUL) ||
		    utf8_to_mutf7(buf_cstr(&u), &m) != 0 ||
		    strcmp(buf_cstr(&m), s) != 0)
			__builtin_trap();
	}
	buf_reset(&u);
	buf_reset(&m);
	if (utf8_to_mutf7(s, &m) == 0) {
		if (!utf8_valid(s, strlen(s), 0, 0) ||
		    utf8_from_mutf7(buf_cstr(&m), &u) != 0 ||
		    strcmp(buf_cstr(&u), s) != 0)
			__builtin_trap();
	} else if (utf8_valid(s, strlen(s), 0, 0))
		__builtin_trap();
	buf_free(&u);
	buf_free(&m);
}

static void
fuzz_charset(unsigned int which, const char *s, size_t n)
{
	const char	*cs;
	struct buf	 b;
	size_t		 k;

	for (k = 0; charsets[k] != NULL; k++)
		;
	cs = charsets[which % k];
	buf_init(&b, OUT_MAX);
	if (utf8_from_charset(cs, s, n, (which & 0x80) ? UTF8_REFUSE : 0,
	    &b) == 0)
		check_out(&b);
	else if (b.len != 0)
		__builtin_trap();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 2)
		return 0;
	s = malloc(size);
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_valid(s, size - 2);
		break;
	case 1:
		fuzz_mutf7(s);
		break;
	default:
		fuzz_charset(data[1], s, size - 2);
		break;
	}
	free(s);
	return 0;
}
