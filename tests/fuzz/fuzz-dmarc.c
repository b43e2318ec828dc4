/*
 * fuzz-dmarc.c - libFuzzer target for the DMARC record parser
 * (common/dmarc_record.c), which reads TXT records from anyone's DNS.
 * Checks that a parsed record's values are in their ranges and its
 * kept strings are terminated and fit their fields.
 *
 *	./sealmail.sh fuzz	(builds it with the line in fuzz_sources)
 *	tests/fuzz/bin/fuzz-dmarc tests/fuzz/corpus/dmarc
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record r;
	enum dmarc_parse got;
	char	 err[64], *copy;
	size_t	 i;

	/* an exact-size copy, so reads past the end are caught */
	copy = malloc(size + 1);
	if (copy == NULL)
		return (0);
	memcpy(copy, data, size);
	got = dmarc_record_parse(copy, size, &r, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (got == DMARC_REC_OK) {
		if (r.p < DMARC_P_NONE || r.p > DMARC_P_REJECT ||
		    r.sp > DMARC_P_REJECT || r.pct < 0 || r.pct > 100 ||
		    r.nrua > DMARC_URI_MAX || r.nruf > DMARC_URI_MAX ||
		    memchr(r.fo, '\0', sizeof(r.fo)) == NULL)
			abort();
		for (i = 0; i < r.nrua; i++)
			if (memchr(r.rua[i], '\0', sizeof(r.rua[i])) == NULL ||
			    strchr(r.rua[i], ',') != NULL)
				abort();
		for (i = 0; i < r.nruf; i++)
			if (memchr(r.ruf[i], '\0', sizeof(r.ruf[i])) == NULL)
				abort();
	}
	free(copy);
	return (0);
}
