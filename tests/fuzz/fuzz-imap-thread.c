/*
 * fuzz-imap-thread.c - libFuzzer target for what SORT and THREAD read of
 * anyone's mail (imapd/sortkey.c, imapd/thread.c): message IDs of
 * Message-ID, References and In-Reply-To, base subjects, casemapping,
 * Date fields and the first address of a field.  The input is messages
 * separated by NUL bytes, each its field values one a line (Message-ID,
 * References, In-Reply-To, Subject, Date, From).  Nothing may crash or
 * read out of bounds, and both thread algorithms must name every message
 * exactly once in balanced parentheses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sort.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAXMSGS	64

/* The i-th line of the record [s, e), as a pointer and length. */
static const char *
line(const char *s, const char *e, int i, size_t *len)
{
	const char	*nl;

	for (; i > 0 && s < e; i--) {
		if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
			s = e;
		else
			s = nl + 1;
	}
	nl = s < e ? memchr(s, '\n', (size_t)(e - s)) : NULL;
	*len = nl != NULL ? (size_t)(nl - s) : (size_t)(e - s);
	return s;
}

static void
load(const char *s, const char *e, uint32_t id, struct thread_msg *m)
{
	struct buf	 b;
	const char	*v;
	size_t		 len;
	int64_t		 t;

	memset(m, 0, sizeof(*m));
	m->id = id;
	v = line(s, e, 0, &len);
	m->msgid = imap_msgid_first(v, len);
	v = line(s, e, 1, &len);
	m->nrefs = imap_msgid_list(v, len, THREAD_MAX_REFS, &m->refs);
	if (m->nrefs == 0) {
		free(m->refs);
		v = line(s, e, 2, &len);
		m->nrefs = imap_msgid_list(v, len, 1, &m->refs);
	}
	buf_init(&b, 0);
	v = line(s, e, 3, &len);
	m->reply = imap_base_subject(v, len, &b);
	m->subject = buf_steal(&b);
	v = line(s, e, 4, &len);
	m->date = imap_sent_date(v, len, &t) == 0 ? t : (int64_t)id;
	v = line(s, e, 5, &len);
	buf_init(&b, 0);
	imap_addr_key(v, len, IMAP_ADDR_MAILBOX, &b);
	imap_addr_key(v, len, IMAP_ADDR_DISPLAY, &b);
	imap_casemap(v, len, &b);
	buf_free(&b);
}

static void
check(const struct buf *b, size_t n)
{
	unsigned char	 seen[MAXMSGS + 1];
	const char	*s = buf_cstr(b);
	long		 depth = 0;
	unsigned long	 v;
	size_t		 count = 0;
	char		*end;

	memset(seen, 0, sizeof(seen));
	while (*s != '\0') {
		if (*s >= '0' && *s <= '9') {
			v = strtoul(s, &end, 10);
			if (v < 1 || v > n || seen[v])
				__builtin_trap();
			seen[v] = 1;
			count++;
			s = end;
			continue;
		}
		if (*s == '(')
			depth++;
		else if (*s == ')' && --depth < 0)
			__builtin_trap();
		else if (*s != ')' && *s != ' ')
			__builtin_trap();
		s++;
	}
	if (depth != 0 || count != n)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct thread_msg m[MAXMSGS];
	const char	*s = (const char *)data, *e = s + size, *z;
	struct buf	 b;
	size_t		 n = 0, i;

	while (s < e && n < MAXMSGS) {
		z = memchr(s, '\0', (size_t)(e - s));
		if (z == NULL)
			z = e;
		load(s, z, (uint32_t)n + 1, &m[n]);
		n++;
		s = z + 1;
	}
	buf_init(&b, 0);
	imap_thread_references(m, n, &b);
	check(&b, n);
	buf_reset(&b);
	imap_thread_orderedsubject(m, n, &b);
	check(&b, n);
	buf_free(&b);
	for (i = 0; i < n; i++)
		imap_thread_msg_free(&m[i]);
	return 0;
}
