/*
 * buf.h - the one growable byte buffer.
 *
 * All protocol I/O and string building goes through struct buf.  A buffer
 * that holds anything from a peer is created with a maximum size: an append
 * past it fails (returns -1) and leaves the buffer unchanged, so the caller
 * can answer "line too long" instead of growing without bound.  max 0 means
 * "no limit" and is for data the program itself produces.
 *
 * The data is always kept NUL-terminated (one byte beyond len), so
 * buf_cstr() is free, but the buffer may hold NUL bytes of its own.
 */
#ifndef SM_BUF_H
#define SM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
void	 buf_wipe(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addstr(struct buf *, const char *);
int	 buf_addc(struct buf *, int);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 buf_consume(struct buf *, size_t);
void	 buf_truncate(struct buf *, size_t);
const char *buf_cstr(const struct buf *);
/*
 * Append p[0..n) as printable ASCII for a listing an administrator reads:
 * '"' and '\\' get a backslash, other bytes outside 0x20-0x7e become \\xNN,
 * so no byte from the network can move a terminal's cursor or forge a line.
 */
void	 buf_add_escaped(struct buf *, const void *, size_t);
char	*buf_steal(struct buf *);
const char *buf_memmem(const struct buf *, size_t, const void *, size_t);

#endif
