/*
 * header.c - scan a submitted message's header; see header.h.
 *
 * Parses hostile input (the message content a client sent) in the
 * unprivileged, chrooted submitd.header role (and submitd.smtp).  It
 * reads at most HDR_SCAN_MAX bytes and writes into the caller's
 * fixed-size struct; the address lists are read by common/addr (strict,
 * each mailbox held to the header address rule of addr.h) into memory
 * bounded by HDR_FIELD_MAX and freed before it returns.  It is
 * deliberately strict where leniency could let a later reader see a
 * different author than we checked: a second From:, a header line that
 * is not a field, or a From: we cannot read refuses the message instead
 * of guessing.
 */
#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "header.h"
#include "xmalloc.h"

/*
 * From: and Sender: hold a handful of mailboxes; the limit on items
 * (mailboxes and group markers) only bounds the memory of a hostile one.
 */
#define HDR_LIST_ITEMS	256

int
hdr_addr_list(const char *v, size_t len, char (*addrs)[HDR_ADDR_MAX + 1],
    int max)
{
	struct addr_list l;
	struct buf	 b;
	size_t		 i;
	int		 n = 0;

	if (addr_list_parse(v, len, 0, HDR_LIST_ITEMS, &l, NULL, 0) == -1)
		return -1;
	buf_init(&b, 0);
	for (i = 0; i < l.n && n != -1; i++) {
		if (l.v[i].kind != ADDR_MAILBOX)
			continue;
		if (n >= max || addr_header_check(&l.v[i], NULL, 0) == -1) {
			n = -1;
			break;
		}
		/* canonical, so at most ADDR_MAX (= HDR_ADDR_MAX) bytes */
		buf_reset(&b);
		addr_spec_format(&l.v[i], &b);
		memcpy(addrs[n++], b.data, b.len + 1);
	}
	buf_free(&b);
	addr_list_free(&l);
	return n;
}

/* A field name: printable US-ASCII except ':' (RFC 5322 2.2). */
static size_t
field_name_len(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] == ':')
			return i;
		if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
			return 0;
	}
	return 0;
}

/* End of the field starting at p: the CRLF not followed by WSP. */
static const char *
field_end(const char *p, const char *end)
{
	const char *q;

	for (q = p; q + 1 < end; q++) {
		if (q[0] != '\r' || q[1] != '\n')
			continue;
		if (q + 2 < end && (q[2] == ' ' || q[2] == '\t'))
			continue;
		if (q + 2 == end)
			return NULL;	/* folded or not: unknown yet */
		return q;
	}
	return NULL;
}

static int
name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

static enum hdr_result
hdr_field(const char *p, size_t nlen, const char *val, size_t vlen,
    struct hdr_info *hi)
{
	char	 one[1][HDR_ADDR_MAX + 1];
	int	 n;

	if (name_is(p, nlen, "From")) {
		if (hi->has_from++)
			return HDR_ERR_DUP;
		if (vlen > HDR_FIELD_MAX)
			return HDR_ERR_ADDR;
		n = hdr_addr_list(val, vlen, hi->from, HDR_FROM_MAX);
		if (n <= 0)
			return HDR_ERR_ADDR;
		hi->nfrom = n;
	} else if (name_is(p, nlen, "Sender")) {
		if (hi->has_sender++)
			return HDR_ERR_DUP;
		if (vlen > HDR_FIELD_MAX ||
		    hdr_addr_list(val, vlen, one, 1) != 1)
			return HDR_ERR_ADDR;
		memcpy(hi->sender, one[0], sizeof(hi->sender));
	} else if (name_is(p, nlen, "Date")) {
		if (hi->has_date++)
			return HDR_ERR_DUP;
	} else if (name_is(p, nlen, "Message-ID")) {
		if (hi->has_msgid++)
			return HDR_ERR_DUP;
		trace_msgid_clean(val, vlen, hi->msgid);
	}
	return HDR_OK;
}

enum hdr_result
hdr_scan(const char *msg, size_t len, int complete, struct hdr_info *hi)
{
	const char *p = msg, *end, *fe;
	size_t	 nlen;
	enum hdr_result r;

	memset(hi, 0, sizeof(*hi));
	if (len > HDR_SCAN_MAX) {
		len = HDR_SCAN_MAX;
		complete = 0;
	}
	end = msg + len;
	for (;;) {
		if (p == end) {
			if (!complete)
				return HDR_ERR_TOOBIG;
			hi->header_len = (size_t)(p - msg);
			return HDR_OK;
		}
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			hi->header_len = (size_t)(p - msg) + 2;
			return HDR_OK;
		}
		if ((nlen = field_name_len(p, (size_t)(end - p))) == 0) {
			if (p == msg) {
				/* no header at all: everything is body */
				hi->no_header = 1;
				return HDR_OK;
			}
			return !complete && memchr(p, ':',
			    (size_t)(end - p)) == NULL ? HDR_ERR_TOOBIG :
			    HDR_ERR_SYNTAX;
		}
		if ((fe = field_end(p, end)) == NULL) {
			if (!complete)
				return HDR_ERR_TOOBIG;
			fe = end;
			if (end - p >= 2 && end[-2] == '\r' && end[-1] == '\n')
				fe = end - 2;
		}
		if ((r = hdr_field(p, nlen, p + nlen + 1,
		    (size_t)(fe - p - (ptrdiff_t)nlen - 1), hi)) != HDR_OK)
			return r;
		p = fe == end ? end : fe + 2;
	}
}

/* Up to len bytes from the start of fd: the count, or -1. */
static ssize_t
read_head(int fd, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = pread(fd, buf + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

int
hdr_scan_fd(int fd, size_t size, struct hdr_info *hi)
{
	size_t	 want = size < HDR_SCAN_MAX ? size : HDR_SCAN_MAX;
	ssize_t	 got;
	char	*head;
	int	 r;

	memset(hi, 0, sizeof(*hi));
	head = xmalloc(want + 1);
	if ((got = read_head(fd, head, want)) != (ssize_t)want) {
		free(head);
		if (got != -1)
			errno = EIO;	/* shorter than its size */
		return -1;
	}
	r = (int)hdr_scan(head, want, want == size, hi);
	free(head);
	return r;
}

const char *
hdr_result_str(enum hdr_result r)
{
	switch (r) {
	case HDR_OK:
		return "ok";
	case HDR_ERR_TOOBIG:
		return "header too large";
	case HDR_ERR_SYNTAX:
		return "malformed header line";
	case HDR_ERR_DUP:
		return "repeated header field";
	case HDR_ERR_ADDR:
		return "unreadable From: or Sender: address";
	}
	return "?";
}
