/*
 * fuzz-keyserver-client.c - libFuzzer target for the key server
 * client's line parser (common/ks_lookup_parse.c): the first line of
 * the input is read as a greeting, every other line as a line of a KEY
 * answer, and each key line is turned into its key record.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "ks_lookup.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct ks_line *l, const char *line, size_t n)
{
	struct buf	 b;

	if (l->kind == KSL_KEY && (l->key_len == 0 ||
	    l->key_off + l->key_len > n))
		__builtin_trap();
	if (l->kind == KSL_FORWARD && (l->port < 1 || l->port > 65535 ||
	    l->host[0] == '\0'))
		__builtin_trap();
	if (strlen(l->selector) > DKIM_SELECTOR_MAX)
		__builtin_trap();
	buf_init(&b, DKIM_KEYREC_MAX);
	if (ks_lookup_record(l, line, &b) == 0 &&
	    (memchr(b.data, '\r', b.len) != NULL ||
	    memchr(b.data, '\n', b.len) != NULL))
		__builtin_trap();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ks_line	 l;
	const uint8_t	*nl;
	size_t		 n;
	int		 first = 1;

	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		if (first)
			ks_lookup_parse_greeting((const char *)data, n, &l);
		else
			ks_lookup_parse_answer((const char *)data, n, &l);
		check(&l, (const char *)data, n);
		first = 0;
		data += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}
