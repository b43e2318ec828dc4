/*
 * fuzz-imap.c - libFuzzer target for the IMAP command parser
 * (imapd/parser.c) and the sequence-set parser.
 *
 * The input is fed in chunks whose sizes come from the input itself, so
 * the fuzzer explores every split of a command across reads; after each
 * DONE or ERROR the parser is reset and fed the rest, as the session does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapd/parser.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
walk(const struct imap_list *l)
{
	struct imap_seqset	 set;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].type == IMAP_ARG_LIST)
			walk(l->v[i].list);
		else if (l->v[i].str != NULL &&
		    imap_seqset_parse(l->v[i].str, &set) == 0) {
			(void)imap_seqset_contains(&set, 7, 100);
			(void)imap_seqset_max(&set, 100);
			imap_seqset_free(&set);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_parser_limits lim = {
		.max_line = 512, .max_literal = 1024, .max_command = 1536, .max_depth = 8,
		.max_args = 64
	};
	struct imap_parser	*p;
	enum imap_parse_result	 r;
	size_t			 off = 0, used, chunk;
	unsigned		 seed;
	int			 rounds = 0;

	if (size < 1)
		return 0;
	seed = data[0];
	data++;
	size--;
	p = imap_parser_new(&lim);
	while (off < size && rounds++ < 100000) {
		chunk = 1 + (seed % 17);
		seed = seed * 1103515245u + 12345u;
		if (chunk > size - off)
			chunk = size - off;
		r = imap_parser_feed(p, data + off, chunk, &used);
		if (used > chunk)
			abort();
		off += used;
		if (r == IMAP_PARSE_DONE) {
			const struct imap_cmd *c = imap_parser_cmd(p);
			if (c == NULL || c->tag == NULL || c->name == NULL)
				abort();
			walk(c->args);
			imap_parser_reset(p);
		} else if (r == IMAP_PARSE_ERROR) {
			(void)imap_parser_error(p);
			if (imap_parser_fatal(p))
				break;
			imap_parser_reset(p);
		}
	}
	imap_parser_free(p);
	return 0;
}
