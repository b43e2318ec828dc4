/*
 * fuzz-mta-result.c - libFuzzer target for what smtpd.mta makes of a
 * remote server's reply (smtpd/mta_policy.c: mta_result_text), the text
 * that goes into the queue's envelope, logs and DSNs.  The first two
 * bytes are the reply code, the rest the reply line.  Checks that the
 * result is always one the queue accepts (mta_text_valid: a code of the
 * right class, an enhanced code of the same class, printable ASCII,
 * bounded) and keeps the verdict of the code.
 *
 *	./sealmail.sh fuzz, or by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon -Ismtpd tests/fuzz/fuzz-mta-result.c smtpd/mta_policy.c \
 *	    common/addr.c common/addr_list.c common/utf8.c common/xmalloc.c \
 *	    common/log.c common/buf.c -o fuzz-mta-result
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 line[4096], out[MTA_TEXT_MAX], small[16];
	int	 code;

	if (size < 2)
		return 0;
	code = (data[0] << 8 | data[1]) % 1000;
	size -= 2;
	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data + 2, size);
	line[size] = '\0';
	mta_result_text(out, sizeof(out), code, line, "host h[192.0.2.1]");
	if (!mta_text_valid(out))
		abort();
	if (code >= 200 && code <= 599 && atoi(out) != code)
		abort();
	if (mta_status(atoi(out)) != mta_status(code))
		abort();
	/* a buffer too small for a result still ends in a NUL */
	mta_result_text(small, sizeof(small), code, line, NULL);
	if (strlen(small) >= sizeof(small))
		abort();
	return 0;
}
