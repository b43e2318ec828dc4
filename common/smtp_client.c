/*
 * smtp_client.c - the client side of SMTP and LMTP; see smtp_client.h.
 *
 * Used by smtpd.delivery ([mda] trusted_user, not chrooted), by mda's
 * LDA relaying for an unprivileged MTA (the caller's uid) and by
 * smtpd.mta ([global] user, chrooted), whose peers are any host on the
 * Internet: everything read is treated as hostile.  What it
 * reads is the server's replies: each is bounded (SMTP_CLIENT_IN_MAX),
 * and a line that does not start with a reply code ends the
 * conversation (-1).  What it writes is commands its caller built from
 * checked addresses, and the message, encoded so that no byte of it can
 * end the DATA early or read differently at the server (bare CR and LF
 * become CRLF, a leading dot is doubled).  Blocking I/O; the timeout of
 * smtp_client_unix() applies to every read and write.  TLS is
 * smtp_client_tls.c's, reached through c->tls once it is up, so that the
 * programs that never start it (mda's LDA) do not link OpenSSL.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "net.h"
#include "smtp_client.h"

#define BODY_CHUNK	16384
#define BODY_FLUSH	65536
#define BDAT_CHUNK	(256 * 1024)

/* Everything of p, through TLS once it is up; 0 or -1. */
static int
write_all(struct smtp_client *c, const char *p, size_t n)
{
	if (c->tls != NULL)
		return c->tls->write(c, p, n);
	return io_write_all(c->fd, p, n);
}

/* Some bytes: > 0, or 0 at the end, or -1. */
static ssize_t
read_some(struct smtp_client *c, char *b, size_t n)
{
	if (c->tls != NULL)
		return c->tls->read(c, b, n);
	return read(c->fd, b, n);
}

static int
flush_out(struct smtp_client *c)
{
	if (c->out.len == 0)
		return 0;
	if (write_all(c, c->out.data, c->out.len) == -1)
		return -1;
	buf_reset(&c->out);
	return 0;
}

/* A complete line (LF-terminated) into the input buffer; its length. */
static int
read_line(struct smtp_client *c, size_t *len_r)
{
	char	 b[4096], *nl;
	ssize_t	 n;

	while ((nl = c->in.len == 0 ? NULL :
	    memchr(c->in.data, '\n', c->in.len)) == NULL) {
		if ((n = read_some(c, b, sizeof(b))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		if (buf_add(&c->in, b, (size_t)n) == -1)
			return -1;	/* a reply beyond any reason */
	}
	*len_r = (size_t)(nl - c->in.data) + 1;
	return 0;
}

/* "250", "250-..." or "250 ...": the code, or -1 for anything else. */
static int
reply_code(const char *l, size_t len)
{
	if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (len > 3 && l[3] != ' ' &&
	    l[3] != '-'))
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

/* "SIZE 10240000": the limit, 0 for none given or one out of range. */
static size_t
cap_size(const char *l, size_t len)
{
	size_t	 i, v = 0;

	for (i = 0; i < len && l[i] == ' '; i++)
		;
	for (; i < len && l[i] >= '0' && l[i] <= '9'; i++) {
		if (v > SMTP_CLIENT_SIZE_MAX / 10)
			return 0;
		v = v * 10 + (size_t)(l[i] - '0');
	}
	return i == len ? v : 0;
}

/*
 * The extension a reply line names ("250-XSEAL", "250 SMTPUTF8"); a SIZE
 * limit goes to *size.
 */
static int
reply_cap(const char *l, size_t len, size_t *size)
{
	static const struct {
		const char	*kw;
		int		 cap;
	} caps[] = {
		{ "XSEAL", SMTP_CAP_XSEAL },
		{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
		{ "PIPELINING", SMTP_CAP_PIPELINING },
		{ "8BITMIME", SMTP_CAP_8BITMIME },
		{ "STARTTLS", SMTP_CAP_STARTTLS },
		{ "SIZE", SMTP_CAP_SIZE },
		{ "CHUNKING", SMTP_CAP_CHUNKING },
		{ "REQUIRETLS", SMTP_CAP_REQUIRETLS },
		{ "SEALMAIL-CALLBACK", SMTP_CAP_CALLBACK },
		{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCED },
	};
	size_t	 i, n;

	if (len <= 4)
		return 0;
	l += 4;
	len -= 4;
	for (n = 0; n < len && l[n] != ' '; n++)
		;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (n == strlen(caps[i].kw) && strncasecmp(l, caps[i].kw, n) ==
		    0) {
			if (caps[i].cap == SMTP_CAP_SIZE)
				*size = cap_size(l + n, len - n);
			return caps[i].cap;
		}
	return 0;
}

/*
 * Send what is queued, then read one reply (every line of a multi-line
 * one); with caps, collect the extensions its lines name.
 */
static int
reply_caps(struct smtp_client *c, char *line, size_t linelen, int *caps)
{
	size_t	 len, l;
	int	 code, first = -1, more;

	if (c->fd == -1 || flush_out(c) == -1)
		return -1;
	for (;;) {
		if (read_line(c, &len) == -1)
			return -1;
		l = len - 1;
		if (l > 0 && c->in.data[l - 1] == '\r')
			l--;
		code = reply_code(c->in.data, l);
		if (code == -1 || (first != -1 && code != first))
			return -1;
		first = code;
		if (caps != NULL && first / 100 == 2)
			*caps |= reply_cap(c->in.data, l, &c->size_max);
		if (linelen > 0)
			snprintf(line, linelen, "%.*s", (int)l, c->in.data);
		more = l > 3 && c->in.data[3] == '-';
		buf_consume(&c->in, len);
		if (!more)
			return code;
	}
}

int
smtp_client_reply(struct smtp_client *c, char *line, size_t linelen)
{
	return reply_caps(c, line, linelen, NULL);
}

/*
 * Connect to a unix socket and read the greeting: 220, or the code of
 * another greeting (421: busy) or -1, with nothing left open.
 */
int
smtp_client_unix(struct smtp_client *c, const char *path, int timeout,
    char *line, size_t linelen)
{
	struct timeval	 tv = { timeout, 0 };
	int		 code;

	memset(c, 0, sizeof(*c));
	buf_init(&c->in, SMTP_CLIENT_IN_MAX);
	buf_init(&c->out, 0);
	if ((c->fd = net_unix_connect(path)) == -1) {
		smtp_client_close(c);
		return -1;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((code = smtp_client_reply(c, line, linelen)) != 220)
		smtp_client_close(c);
	return code;
}

/*
 * The same on a socket the caller connected (smtpd.mta: TCP to an MX),
 * which it gives up: closed on any answer but 220.
 */
int
smtp_client_fd(struct smtp_client *c, int fd, int timeout, char *line,
    size_t linelen)
{
	struct timeval	 tv = { timeout, 0 };
	int		 code;

	memset(c, 0, sizeof(*c));
	buf_init(&c->in, SMTP_CLIENT_IN_MAX);
	buf_init(&c->out, 0);
	c->fd = fd;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((code = smtp_client_reply(c, line, linelen)) != 220)
		smtp_client_close(c);
	return code;
}

/* EHLO or LHLO host: the reply's code; c->caps what it offered. */
int
smtp_client_hello(struct smtp_client *c, const char *verb, const char *host,
    char *line, size_t linelen)
{
	c->caps = 0;
	c->size_max = 0;
	smtp_client_cmd(c, "%s %s", verb, host);
	return reply_caps(c, line, linelen, &c->caps);
}

void
smtp_client_cmd(struct smtp_client *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	buf_addstr(&c->out, "\r\n");
}

/* ------------------------------------------------------------------ */
/* the message */

#define ENC_MID	0x01	/* not at the start of a line */
#define ENC_CR	0x02	/* a CR was written, its LF not yet */
#define ENC_NODOT 0x04	/* BDAT: line ends only, no dot-stuffing */

/*
 * Encode n bytes of a message into out: a leading dot doubled (RFC 5321
 * 4.5.2), every CR, LF or CRLF written as CRLF.
 */
void
smtp_client_encode(struct buf *out, const char *p, size_t n, int *state)
{
	size_t	 i;
	char	 ch;

	for (i = 0; i < n; i++) {
		ch = p[i];
		if (*state & ENC_CR) {
			buf_addc(out, '\n');
			*state &= ENC_NODOT;
			if (ch == '\n')
				continue;	/* the CR's own LF */
		}
		if (ch == '\r') {
			buf_addc(out, '\r');
			*state |= ENC_CR;
		} else if (ch == '\n') {
			buf_addstr(out, "\r\n");
			*state &= ENC_NODOT;
		} else {
			if (!(*state & (ENC_MID | ENC_NODOT)) && ch == '.')
				buf_addc(out, '.');
			buf_addc(out, ch);
			*state |= ENC_MID;
		}
	}
}

/* The end: the last line completed, then "." CRLF. */
void
smtp_client_encode_end(struct buf *out, int *state)
{
	if (*state & ENC_CR)
		buf_addc(out, '\n');
	else if (*state & ENC_MID)
		buf_addstr(out, "\r\n");
	buf_addstr(out, ".\r\n");
	*state = 0;
}

/* The whole of fd (pread from 0), encoded, after a 354.  0 or -1. */
int
smtp_client_body(struct smtp_client *c, int fd)
{
	char	 b[BODY_CHUNK];
	ssize_t	 n;
	off_t	 off = 0;
	int	 state = 0;

	while ((n = pread(fd, b, sizeof(b), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		smtp_client_encode(&c->out, b, (size_t)n, &state);
		if (c->out.len > BODY_FLUSH && flush_out(c) == -1)
			return -1;
	}
	smtp_client_encode_end(&c->out, &state);
	return 0;
}

/*
 * The whole of fd as BDAT chunks (RFC 3030), after MAIL and RCPT were
 * answered: the same line ends as smtp_client_body gives, no
 * dot-stuffing, BDAT_CHUNK bytes a chunk and the last one marked LAST.
 * The chunks go out back to back when the server offers PIPELINING,
 * else each waits for its reply.  The reply that decides is the first
 * that is not 250 (the server refuses every chunk after it) or the
 * LAST one's: its code, with its line in line, or -1 when the
 * connection broke.
 */
int
smtp_client_bdat(struct smtp_client *c, int fd, char *line, size_t linelen)
{
	struct buf	 chunk;
	char		 b[BODY_CHUNK];
	ssize_t		 n;
	off_t		 off = 0;
	int		 state = ENC_NODOT, last = 0, code, result = 250;
	int		 decided = 0;
	size_t		 pending = 0;

	buf_init(&chunk, 0);
	while (!last) {
		if ((n = pread(fd, b, sizeof(b), off)) == -1) {
			if (errno == EINTR)
				continue;
			goto broken;
		}
		off += n;
		if (n > 0)
			smtp_client_encode(&chunk, b, (size_t)n, &state);
		else {
			if (state & ENC_CR)
				buf_addc(&chunk, '\n');
			else if (state & ENC_MID)
				buf_addstr(&chunk, "\r\n");
			last = 1;
		}
		if (!last && chunk.len < BDAT_CHUNK)
			continue;
		smtp_client_cmd(c, "BDAT %zu%s", chunk.len, last ? " LAST" : "");
		if (buf_add(&c->out, chunk.data, chunk.len) == -1 ||
		    flush_out(c) == -1)
			goto broken;
		buf_reset(&chunk);
		pending++;
		if ((c->caps & SMTP_CAP_PIPELINING) && !last)
			continue;
		for (; pending > 0; pending--) {
			if (decided) {
				code = smtp_client_reply(c, b, sizeof(b));
				if (code == -1)
					goto broken;
				continue;
			}
			if ((code = smtp_client_reply(c, line, linelen)) == -1)
				goto broken;
			result = code;
			decided = code != 250;
		}
		if (decided)
			break;		/* refused: the rest is not sent */
	}
	buf_free(&chunk);
	return result;
broken:
	buf_free(&chunk);
	return -1;
}

/*
 * A connection kept between messages is stale when the server has said
 * something unasked (a 421 before it closed) or closed it.
 */
int
smtp_client_stale(const struct smtp_client *c)
{
	struct pollfd	 pf = { c->fd, POLLIN, 0 };

	if (c->fd == -1 || c->in.len > 0 ||
	    (c->tls != NULL && c->tls->pending(c)))
		return 1;
	return poll(&pf, 1, 0) != 0;
}

void
smtp_client_close(struct smtp_client *c)
{
	if (c->tls != NULL)
		c->tls->close(c);
	c->tls = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
}
