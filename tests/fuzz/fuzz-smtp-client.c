/*
 * fuzz-smtp-client.c - libFuzzer target for the client side of SMTP/LMTP
 * (common/smtp_client.c), which reads mda's and remote MX hosts' replies
 * (EHLO keywords, SIZE limits) and encodes the message smtpd.delivery
 * and smtpd.mta send.  The input is a cut (two bytes), server
 * output before the cut and a message after it.  Checks that any server
 * output gives codes 200-599 or -1 and never overruns the line, and
 * that the encoded message has only CRLF line ends, no line "." but the
 * last, and unstuffs to the message with every line end made CRLF, in
 * whatever pieces it was fed.
 *
 *	./sealmail.sh fuzz, or by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon tests/fuzz/fuzz-smtp-client.c common/smtp_client.c \
 *	    common/io.c common/net.c common/config*.c common/log.c \
 *	    common/xmalloc.c common/buf.c -o fuzz-smtp-client \
 *	    $(pkg-config --libs libevent openssl)
 *	./fuzz-smtp-client tests/fuzz/corpus/smtp-client
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "smtp_client.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fz_replies(const uint8_t *p, size_t n)
{
	struct smtp_client c;
	char	 line[32];
	int	 sv[2], i, code;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	memset(&c, 0, sizeof(c));
	buf_init(&c.in, SMTP_CLIENT_IN_MAX);
	buf_init(&c.out, 0);
	c.fd = sv[0];
	if (write(sv[1], p, n) != (ssize_t)n)
		abort();
	shutdown(sv[1], SHUT_WR);
	code = smtp_client_hello(&c, "LHLO", "fuzz", line, sizeof(line));
	/* a SIZE limit is believed only within reason (smtpd.mta) */
	if (c.size_max > SMTP_CLIENT_SIZE_MAX ||
	    (c.size_max != 0 && !(c.caps & SMTP_CAP_SIZE)))
		abort();
	for (i = 0; i < 1000 && code != -1; i++) {
		if (code < 200 || code > 599 || strlen(line) >= sizeof(line))
			abort();
		code = smtp_client_reply(&c, line, sizeof(line));
	}
	smtp_client_close(&c);
	close(sv[1]);
}

/* What the server must read back: every CR, LF or CRLF made a CRLF. */
static void
normalise(struct buf *b, const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			buf_addstr(b, "\r\n");
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
		} else
			buf_addc(b, p[i]);
	}
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		buf_addstr(b, "\r\n");
}

/* The server's reading: CRLF lines, a stuffed dot removed, "." ends. */
static void
unstuff(const struct buf *e, struct buf *out)
{
	size_t	 i = 0, j;

	for (;;) {
		for (j = i; j + 1 < e->len && !(e->data[j] == '\r' &&
		    e->data[j + 1] == '\n'); j++)
			if (e->data[j] == '\r' || e->data[j] == '\n')
				abort();	/* bare CR or LF */
		if (j + 1 >= e->len)
			abort();		/* no line end */
		if (j - i == 1 && e->data[i] == '.') {
			if (j + 2 != e->len)
				abort();	/* "." before the end */
			return;
		}
		if (e->data[i] == '.')
			i++;
		buf_add(out, e->data + i, j + 2 - i);
		i = j + 2;
	}
}

static void
fz_encode(const uint8_t *p, size_t n, size_t cut)
{
	struct buf	 enc, want, got;
	int		 st = 0;

	buf_init(&enc, 0);
	buf_init(&want, 0);
	buf_init(&got, 0);
	cut = n == 0 ? 0 : cut % (n + 1);
	smtp_client_encode(&enc, (const char *)p, cut, &st);
	smtp_client_encode(&enc, (const char *)p + cut, n - cut, &st);
	smtp_client_encode_end(&enc, &st);
	normalise(&want, p, n);
	unstuff(&enc, &got);
	if (got.len != want.len || (want.len > 0 &&
	    memcmp(got.data, want.data, want.len) != 0))
		abort();
	buf_free(&enc);
	buf_free(&want);
	buf_free(&got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 cut, piece;

	if (size < 2)
		return 0;
	cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	piece = (size_t)data[1] * 7;
	data += 2;
	size -= 2;
	fz_replies(data, cut);
	fz_encode(data + cut, size - cut, piece);
	return 0;
}
