/*
 * fuzz-trace.c - libFuzzer target for what common/trace.c reads: a
 * Message-ID field's value from a submitted message (trace_msgid_clean,
 * run by submitd.header on network input), a trace.db record
 * (trace_decode), and a tracking ID (trace_id_valid, given by an
 * administrator or taken from a reported message).  The first byte
 * chooses; checks what each promises its callers.
 *
 *	./sealmail.sh fuzz	(builds it with the line in fuzz_sources)
 *	tests/fuzz/bin/fuzz-trace tests/fuzz/corpus/trace
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "trace.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_msgid(const char *in, size_t len)
{
	char	 out[TRACE_MSGID_MAX + 1];
	size_t	 i, n;

	memset(out, 'Z', sizeof(out));
	trace_msgid_clean(in, len, out);
	n = strlen(out);
	if (n > TRACE_MSGID_MAX || (n > 0 && (out[0] == ' ' ||
	    out[n - 1] == ' ')))
		abort();
	for (i = 0; i < n; i++)
		if (out[i] < ' ' || out[i] >= 0x7f ||
		    (out[i] == ' ' && out[i + 1] == ' '))
			abort();
}

static void
check_record(const uint8_t *p, size_t len)
{
	struct trace_rec r, again;
	struct buf	 b;

	if (trace_decode(p, len, &r) == -1)
		return;
	if (!trace_id_valid(r.id) || r.user[0] == '\0')
		abort();
	/* what decodes encodes to something that decodes the same */
	buf_init(&b, 0);
	trace_encode(&r, &b);
	if (trace_decode(b.data, b.len, &again) == -1 ||
	    strcmp(r.id, again.id) != 0 || strcmp(r.user, again.user) != 0 ||
	    strcmp(r.from, again.from) != 0 ||
	    strcmp(r.client, again.client) != 0 ||
	    strcmp(r.msgid, again.msgid) != 0 || r.time != again.time ||
	    r.nrcpt != again.nrcpt || r.size != again.size)
		abort();
	buf_free(&b);
}

static void
check_id(const char *in, size_t len)
{
	char	 s[64];
	size_t	 i;

	if (len >= sizeof(s))
		len = sizeof(s) - 1;
	memcpy(s, in, len);
	s[len] = '\0';
	if (!trace_id_valid(s))
		return;
	if (strlen(s) != TRACE_ID_LEN)
		abort();
	for (i = 0; i < TRACE_ID_LEN; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_msgid((const char *)data + 1, size - 1);
		break;
	case 1:
		check_record(data + 1, size - 1);
		break;
	default:
		check_id((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
