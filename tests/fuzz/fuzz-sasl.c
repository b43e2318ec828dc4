/*
 * fuzz-sasl.c - libFuzzer target for submitd's SASL decoding
 * (submitd/auth.c): the bytes are taken as one AUTH argument or 334
 * response line, as the submitd.smtp role receives them from a client
 * (without NUL, since the SMTP engine cuts lines at CRLF), and run
 * through every decoder.  The first byte picks the decoder so the
 * corpus can aim at each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../submitd/auth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sasl_creds cr;
	enum sasl_mech mech;
	const char *ir;
	char	*line, out[SASL_PASS_MAX + 1], enc[4096];
	unsigned char raw[2048], again[2048];
	size_t	 n, m;

	if (len == 0 || len > 8192)
		return 0;
	line = malloc(len);
	memcpy(line, data + 1, len - 1);
	line[len - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		if (sasl_mech_parse(line, &mech, &ir) == SASL_OK &&
		    ir != NULL && sasl_plain_decode(ir, &cr) == SASL_OK) {
			if (strlen(cr.authcid) == 0 ||
			    strlen(cr.authcid) > SASL_ID_MAX ||
			    strlen(cr.password) > SASL_PASS_MAX)
				abort();
		}
		break;
	case 1:
		sasl_plain_decode(line, &cr);
		break;
	case 2:
		sasl_login_decode(line, out, sizeof(out), data[0] & 4);
		break;
	case 3:
		/* what decodes must survive encode and decode unchanged */
		if (sasl_base64_decode(line, raw, sizeof(raw), &n) ==
		    SASL_OK) {
			if (sasl_base64_encode(raw, n, enc, sizeof(enc)) != 0 ||
			    sasl_base64_decode(enc, again, sizeof(again),
			    &m) != SASL_OK || m != n ||
			    memcmp(raw, again, n) != 0)
				abort();
		}
		break;
	}
	sasl_creds_wipe(&cr);
	free(line);
	return 0;
}
