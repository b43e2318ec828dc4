/*
 * buf.c - length-tracked growable buffer with a hard maximum; see buf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Free a buffer that held a secret: wipe all of it first. */
void
buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * The contents in a new allocation of ncap bytes.  Not realloc: the old
 * block is wiped before it is freed, so no byte a buffer ever held (a
 * password in a protocol buffer, say) survives in freed memory, where a
 * later allocation or a forked child could see it.
 */
static char *
buf_move(struct buf *b, size_t ncap)
{
	char	*p = xmalloc(ncap);

	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	return p;
}

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t	 need, ncap;

	if (more > (size_t)-1 - b->len - 1)
		return -1;
	need = b->len + more;
	if (b->max != 0 && need > b->max)
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap = ncap > ((size_t)-1) / 2 ? need + 1 : ncap * 2;
	b->data = buf_move(b, ncap);
	b->cap = ncap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, int c)
{
	char	 ch = (char)c;

	return buf_add(b, &ch, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (buf_reserve(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* Drop n bytes from the front. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		log_panic("buf_consume %zu > %zu", n, b->len);
	memmove(b->data, b->data + n, b->len - n);
	/* what moved forward leaves no copy behind it */
	explicit_bzero(b->data + b->len - n, n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t n)
{
	if (n > b->len)
		log_panic("buf_truncate %zu > %zu", n, b->len);
	b->len = n;
	if (b->data != NULL)
		b->data[n] = '\0';
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

/* Hand the storage to the caller (always non-NULL, NUL-terminated). */
char *
buf_steal(struct buf *b)
{
	char	*p;

	if (b->data == NULL)
		return xstrdup("");
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
buf_memmem(const struct buf *b, size_t from, const void *needle, size_t n)
{
	if (from > b->len || b->data == NULL)
		return NULL;
	return memmem(b->data + from, b->len - from, needle, n);
}

void
buf_add_escaped(struct buf *b, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_printf(b, "\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] <= 0x7e)
			buf_addc(b, s[i]);
		else
			buf_printf(b, "\\x%02x", s[i]);
	}
}
