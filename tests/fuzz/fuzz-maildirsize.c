/*
 * fuzz-maildirsize.c - libFuzzer target for the Maildir++ quota file's
 * parser (md_quota_parse in common/maildirsize.c): the file is in the
 * mail user's tree, which processes parsing hostile input can write.
 *
 * Besides not crashing or reading past the input: an accepted file sums
 * to no less than zero, and the file Sealmail would write for what was
 * read ("<limit>S" and one line of the sums) parses back to the same
 * limit and sums.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_quota	 q, r;
	char		*copy, line[96];
	int		 n;

	/* an exact-size copy, so a read past the end is caught */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (md_quota_parse(copy, size, &q) == 0) {
		if (q.bytes < 0 || q.count < 0)
			__builtin_trap();
		n = snprintf(line, sizeof(line), "%lluS\n%lld %lld\n",
		    (unsigned long long)q.limit_bytes, (long long)q.bytes,
		    (long long)q.count);
		if (q.bytes < 1000000000000000000LL &&
		    q.count < 1000000000000000000LL &&
		    q.limit_bytes < 1000000000000000000ULL &&
		    (md_quota_parse(line, (size_t)n, &r) != 0 ||
		    r.limit_bytes != q.limit_bytes || r.bytes != q.bytes ||
		    r.count != q.count))
			__builtin_trap();
	}
	free(copy);
	return 0;
}
