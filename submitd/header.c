/*
 * header.c - scan a submitted message's header; see header.h.
 *
 * Parses hostile input (the message content a client sent) in the
 * unprivileged, chrooted submitd.header role (and submitd.smtp).  It
 * reads at most HDR_SCAN_MAX bytes, writes only into the caller's
 * fixed-size struct and never allocates.  It is deliberately strict
 * where leniency could let a later reader see a different author than we
 * checked: a second From:, a header line that is not a field, or a From:
 * we cannot read refuses the message instead of guessing.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "header.h"

struct mbox_state {
	char	 plain[HDR_ADDR_MAX + 1];	/* outside <> */
	size_t	 plen;
	int	 plain_long;
	char	 angle[HDR_ADDR_MAX + 1];	/* inside <> */
	size_t	 alen;
	int	 angle_long;
	int	 angle_seen;	/* "<...>" complete */
	int	 after_angle;	/* text after ">" */
};

static void
put(char *b, size_t *len, int *toolong, char c)
{
	if (*len >= HDR_ADDR_MAX) {
		*toolong = 1;
		return;
	}
	b[(*len)++] = c;
	b[*len] = '\0';
}

/* One mailbox ended (at ',', ';' or the end): record its address. */
static int
mbox_finish(struct mbox_state *m, char (*addrs)[HDR_ADDR_MAX + 1], int max,
    int *n)
{
	const char *a;
	const char *colon;
	size_t	 len;
	int	 toolong;

	if (m->angle_seen) {
		if (m->after_angle)
			return -1;
		a = m->angle;
		len = m->alen;
		toolong = m->angle_long;
		/* obsolete source route "@a,@b:local@domain" */
		if (len > 0 && a[0] == '@') {
			if ((colon = strchr(a, ':')) == NULL)
				return -1;
			len -= (size_t)(colon + 1 - a);
			a = colon + 1;
		}
	} else {
		a = m->plain;
		len = m->plen;
		toolong = m->plain_long;
		if (len == 0 && !toolong) {
			memset(m, 0, sizeof(*m));
			return 0;	/* an empty list element */
		}
	}
	if (toolong || len == 0 || memchr(a, '@', len) == NULL ||
	    a[0] == '@' || a[len - 1] == '@')
		return -1;
	if (*n >= max)
		return -1;
	memcpy(addrs[*n], a, len);
	addrs[*n][len] = '\0';
	(*n)++;
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
hdr_addr_list(const char *v, size_t len, char (*addrs)[HDR_ADDR_MAX + 1],
    int max)
{
	struct mbox_state m;
	size_t	 i;
	int	 n = 0, depth = 0, inq = 0, inangle = 0, group = 0;
	char	 c;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < len; i++) {
		c = v[i];
		if (c == '\0')
			return -1;
		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (inq) {
			/* a quoted local part or display name, kept raw */
			if (inangle)
				put(m.angle, &m.alen, &m.angle_long, c);
			else
				put(m.plain, &m.plen, &m.plain_long, c);
			if (c == '\\' && i + 1 < len) {
				i++;
				if (inangle)
					put(m.angle, &m.alen, &m.angle_long,
					    v[i]);
				else
					put(m.plain, &m.plen, &m.plain_long,
					    v[i]);
			} else if (c == '"')
				inq = 0;
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (inangle) {
			if (c == '>') {
				inangle = 0;
				m.angle_seen = 1;
			} else if (c == '<')
				return -1;
			else if (c == '"') {
				inq = 1;
				put(m.angle, &m.alen, &m.angle_long, c);
			} else if (!is_wsp(c))
				put(m.angle, &m.alen, &m.angle_long, c);
			continue;
		}
		switch (c) {
		case '"':
			if (m.angle_seen)
				m.after_angle = 1;
			inq = 1;
			put(m.plain, &m.plen, &m.plain_long, c);
			break;
		case '<':
			if (m.angle_seen)
				return -1;
			inangle = 1;
			break;
		case '>':
		case ')':
			return -1;
		case ',':
			if (mbox_finish(&m, addrs, max, &n) == -1)
				return -1;
			break;
		case ':':
			/* a group: what came before is its display name */
			if (group || m.angle_seen)
				return -1;
			group = 1;
			memset(&m, 0, sizeof(m));
			break;
		case ';':
			if (!group || mbox_finish(&m, addrs, max, &n) == -1)
				return -1;
			group = 0;
			break;
		default:
			if (is_wsp(c))
				break;
			if (m.angle_seen)
				m.after_angle = 1;
			put(m.plain, &m.plen, &m.plain_long, c);
			break;
		}
	}
	if (depth > 0 || inq || inangle || group)
		return -1;
	if (mbox_finish(&m, addrs, max, &n) == -1)
		return -1;
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
