/*
 * io.c - whole writes and copies; see io.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "xmalloc.h"

#define IO_CHUNK	65536

/* Write all n bytes, retrying short writes and EINTR.  0 or -1. */
int
io_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Append the whole of from (read with pread from offset 0, so its file
 * position is left alone) to to.  0 or -1.
 */
int
io_copy_fd(int from, int to)
{
	char	*b = xmalloc(IO_CHUNK);
	off_t	 off = 0;
	ssize_t	 n;
	int	 rv = 0;

	while ((n = pread(from, b, IO_CHUNK, off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rv = -1;
			break;
		}
		if (io_write_all(to, b, (size_t)n) == -1) {
			rv = -1;
			break;
		}
		off += n;
	}
	free(b);
	return rv;
}
