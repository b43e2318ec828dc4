/*
 * stamp.c - the header fields submitd adds; see stamp.h.
 *
 * Runs in the root parent.  Nothing here parses the message: the child
 * reported what the header lacks, and the parent only prepends fields
 * and copies the bytes behind them.  Strings that came from the client
 * are reduced to a safe character set first, so they cannot end a
 * header field or start a new one.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "stamp.h"

/*
 * Keep letters, digits and ".-_:[]@+"; anything else becomes "?".  An
 * empty result is "unknown".
 */
const char *
stamp_clean(const char *in, char *out, size_t outlen)
{
	size_t	 i;
	char	 c;

	if (outlen == 0)
		return "";
	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++) {
		c = in[i];
		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_:[]@+", c) != NULL ?
		    c : '?';
	}
	out[i] = '\0';
	if (i == 0)
		snprintf(out, outlen, "unknown");
	return out;
}

/* RFC 5322 3.3 date-time, in UTC and the C locale's names. */
void
stamp_date(char *out, size_t outlen, time_t t)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec"
	};
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%s, %d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
stamp_received(struct buf *b, const struct stamp_info *si)
{
	char	 helo[256], proto[64], cipher[128], date[64];
	const char *v6;

	stamp_clean(si->helo, helo, sizeof(helo));
	stamp_date(date, sizeof(date), si->now);
	v6 = strchr(si->client, ':') != NULL ? "IPv6:" : "";
	buf_printf(b, "Received: from %s ([%s%s])\r\n", helo, v6, si->client);
	if (si->user != NULL)
		buf_printf(b, "\t(authenticated user %s)\r\n", si->user);
	buf_printf(b, "\tby %s (Sealmail submitd) with ESMTPSA id %s",
	    si->hostname, si->id);
	if (si->tls_proto[0] != '\0')
		buf_printf(b, "\r\n\t(using %s with cipher %s)",
		    stamp_clean(si->tls_proto, proto, sizeof(proto)),
		    stamp_clean(si->tls_cipher, cipher, sizeof(cipher)));
	buf_printf(b, ";\r\n\t%s\r\n", date);
}

void
stamp_msgid_make(char *out, size_t outlen, const char *id,
    const char *hostname)
{
	unsigned int r = arc4random();

	snprintf(out, outlen, "<%s.%08x@%s>", id, r, hostname);
}

void
stamp_message_id(struct buf *b, const char *id, const char *hostname)
{
	char	 v[512];

	stamp_msgid_make(v, sizeof(v), id, hostname);
	buf_printf(b, "Message-ID: %s\r\n", v);
}

int
stamp_message(const struct buf *prefix, int src, int body_only)
{
	char	 chunk[65536];
	ssize_t	 n;
	off_t	 off = 0;
	int	 fd;

	if ((fd = memfd_create("submitd-queued", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		return -1;
	}
	if (io_write_all(fd, prefix->data, prefix->len) == -1 ||
	    (body_only && io_write_all(fd, "\r\n", 2) == -1))
		goto fail;
	while (src != -1) {
		n = pread(src, chunk, sizeof(chunk), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		if (io_write_all(fd, chunk, (size_t)n) == -1)
			goto fail;
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	return fd;
fail:
	log_warn("stamp_message");
	close(fd);
	return -1;
}

int
stamp_memfd(const struct buf *b)
{
	return stamp_message(b, -1, 0);
}
