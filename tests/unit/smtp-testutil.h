/*
 * smtp-testutil.h - what test-smtp.c and test-lmtp.c share: one session
 * of the engine (common/smtp.c) over a socketpair, with the client's
 * script written whole (pipelined) before the engine reads, and the
 * reply codes of what came back.
 */
#ifndef SM_SMTP_TESTUTIL_H
#define SM_SMTP_TESTUTIL_H

#include <sys/socket.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "smtp.h"

/*
 * Run a session on base until *done (the close hook sets it); every
 * reply line.  With write_first unset the script is not sent at all.
 */
static TEST_UNUSED char *
st_session(struct event_base *base, const struct smtp_params *p,
    const struct smtp_hooks *h, void *arg, const char *script, size_t len,
    int write_first, const int *done)
{
	static char	 out[65536];
	size_t		 olen = 0;
	ssize_t		 n;
	int		 sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
	if (write_first && write(sv[1], script, len) != (ssize_t)len)
		fatal("write");
	smtp_session_new(base, sv[0], p, h, arg);
	for (i = 0; i < 2000 && !*done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while ((n = read(sv[1], out + olen, sizeof(out) - 1 - olen)) > 0)
		olen += (size_t)n;
	out[olen] = '\0';
	close(sv[1]);
	return out;
}

/* The reply codes, one per reply (last line of each), as "220 250 ..." */
static TEST_UNUSED const char *
st_codes(const char *out)
{
	static char	 c[1024];
	size_t		 o = 0;
	const char	*p;

	for (p = out; *p != '\0' && o + 5 < sizeof(c);) {
		if (p[3] == ' ') {
			memcpy(c + o, p, 3);
			o += 3;
			c[o++] = ' ';
		}
		if ((p = strstr(p, "\r\n")) == NULL)
			break;
		p += 2;
	}
	if (o > 0)
		o--;
	c[o] = '\0';
	return c;
}

#endif
