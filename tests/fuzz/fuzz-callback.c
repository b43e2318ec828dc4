/*
 * fuzz-callback.c - libFuzzer target for the callback responder's
 * parsers (smtpd/callback_table.c): cbk_line_parse, on what a client
 * sends before the answer, and cbk_addr_canon, on the addresses the
 * parent and the responder compare.  Checks that a CHECK is exactly
 * "CHECK <64 lowercase hex>\r\n" and nothing else, that MORE is only
 * said of input without a line end and under CBK_LINE_MAX, and that the
 * canonical form of an address is its own canonical form; a line that
 * parses is then asked of a table holding one session.
 *
 *	./sealmail.sh fuzz, or by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon -Ismtpd tests/fuzz/fuzz-callback.c \
 *	    smtpd/callback_table.c common/net.c common/config*.c \
 *	    common/log.c common/xmalloc.c common/buf.c common/io.c \
 *	    common/addr.c common/utf8.c -o fuzz-callback
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callback.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_line(const char *b, size_t size)
{
	static struct cbk_table	*t;
	char			 id[CBK_ID_LEN + 1];
	size_t			 i;

	if (t == NULL) {
		t = cbk_table_new(4);
		cbk_table_open(t, 0, "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef", "192.0.2.1");
	}
	switch (cbk_line_parse(b, size, id)) {
	case CBK_LINE_MORE:
		if (memchr(b, '\n', size) != NULL || size >= CBK_LINE_MAX)
			abort();
		break;
	case CBK_LINE_CHECK:
		if (size != 6 + CBK_ID_LEN + 2 || memcmp(b, "CHECK ", 6) != 0 ||
		    memcmp(b + 6, id, CBK_ID_LEN) != 0 ||
		    id[CBK_ID_LEN] != '\0' ||
		    memcmp(b + size - 2, "\r\n", 2) != 0)
			abort();
		for (i = 0; i < CBK_ID_LEN; i++)
			if (!((id[i] >= '0' && id[i] <= '9') ||
			    (id[i] >= 'a' && id[i] <= 'f')))
				abort();
		/* never YES to another address; a YES uses the ID up */
		if (cbk_table_check(t, id, "192.0.2.2"))
			abort();
		if (cbk_table_check(t, id, "192.0.2.1")) {
			if (cbk_table_check(t, id, "192.0.2.1"))
				abort();
			cbk_table_open(t, 0, id, "192.0.2.1");
		}
		break;
	case CBK_LINE_BAD:
		break;
	}
}

static void
check_addr(const uint8_t *data, size_t size)
{
	char	 in[128], out[CBK_ADDR_MAX], again[CBK_ADDR_MAX];

	if (size >= sizeof(in))
		return;
	memcpy(in, data, size);
	in[size] = '\0';
	if (cbk_addr_canon(in, out, sizeof(out)) == -1)
		return;
	if (cbk_addr_canon(out, again, sizeof(again)) == -1 ||
	    strcmp(out, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*b;

	/* a copy of exactly size bytes, so any overread is caught */
	if ((b = malloc(size + 1)) == NULL)
		return 0;
	memcpy(b, data, size);
	check_line(b, size);
	free(b);
	check_addr(data, size);
	return 0;
}
