/*
 * strip.c - stripping of unsafe mail: reading the input, writing the
 * output and the entry points; see strip.h and strip_int.h.
 *
 * Two passes over the input.  The first runs the MIME parser and keeps
 * only the part tree (offsets and Content-* facts).  Then every part is
 * given a fate (keep, convert HTML, pass as base64, remove, drop), and the
 * second pass writes the new message, rereading header and body bytes by
 * offset, decoding and re-encoding them through bounded chunks.  Nothing of
 * the sender's MIME structure is copied: boundaries, Content-* fields and
 * transfer encodings are all Sealmail's own, so a part the parser did not
 * see cannot reach the reader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "mime.h"
#include "strip.h"
#include "strip_int.h"
#include "xmalloc.h"

int
strip_src_read(struct strip_ctx *c, uint64_t off, size_t n, struct buf *dst)
{
	ssize_t	 r;
	size_t	 got = 0;

	buf_reset(dst);
	if (c->mem != NULL) {
		if (off > c->memlen)
			return 0;
		if (n > c->memlen - off)
			n = c->memlen - (size_t)off;
		buf_add(dst, c->mem + off, n);
		return 0;
	}
	if (buf_add(dst, NULL, 0) == -1)
		return -1;
	while (got < n) {
		char	 tmp[STRIP_CHUNK];
		size_t	 want = n - got < sizeof(tmp) ? n - got : sizeof(tmp);

		r = pread(c->infd, tmp, want, (off_t)(off + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			c->err = 1;
			return -1;
		}
		if (r == 0)
			break;
		buf_add(dst, tmp, (size_t)r);
		got += (size_t)r;
	}
	return 0;
}

static void
sink_flush(struct strip_ctx *c)
{
	if (io_write_all(c->outfd, c->obuf.data, c->obuf.len) == -1)
		c->err = 1;
	buf_reset(&c->obuf);
}

void
strip_out_add(struct strip_ctx *c, const void *p, size_t n)
{
	if (c->err || c->dry)
		return;
	if (c->out != NULL) {
		if (buf_add(c->out, p, n) == -1)
			c->err = 1;
		return;
	}
	buf_add(&c->obuf, p, n);
	if (c->obuf.len >= STRIP_CHUNK)
		sink_flush(c);
}

void
strip_out_str(struct strip_ctx *c, const char *s)
{
	strip_out_add(c, s, strlen(s));
}

void
strip_out_buf(struct strip_ctx *c, struct buf *b)
{
	strip_out_add(c, b->data, b->len);
	buf_reset(b);
}

static int
strip_run(struct strip_ctx *c, uint64_t size)
{
	struct mime_part *q;
	unsigned int	 i, n;
	uint64_t	 off;
	int		 r;

	c->size = size;
	c->mp = mime_parser_new(&c->lim, NULL, NULL);
	for (off = 0; off < size && !c->err; off += c->chunk.len) {
		if (strip_src_read(c, off, STRIP_CHUNK, &c->chunk) == -1 ||
		    c->chunk.len == 0)
			break;
		mime_parser_feed(c->mp, c->chunk.data, c->chunk.len);
	}
	c->res->mime_flags = mime_parser_finish(c->mp);
	n = mime_parser_nparts(c->mp);
	c->fate = xcalloc(n, 1);
	/* a multipart without parts has nothing MIME can read */
	c->res->degraded = (c->res->mime_flags & (MIME_F_STRUCTURE |
	    MIME_F_NO_PARTS)) != 0;
	if (c->res->degraded)
		strip_decide_degraded(c);
	else
		strip_decide(c, mime_parser_root(c->mp));
	for (i = 0; i < n; i++)
		if (c->fate[i] == F_REMOVE &&
		    mime_parser_part(c->mp, i)->kind == MIME_KIND_LEAF)
			c->res->nremoved++;
	/*
	 * A counting pass over the text leaves finds the files encoded in
	 * them (a container's body holds its leaves: never read it here).
	 */
	c->dry = 1;
	for (i = 0; i < n && !c->err; i++) {
		q = mime_parser_part(c->mp, i);
		if (q->kind == MIME_KIND_LEAF &&
		    (c->fate[i] == F_KEEP || c->fate[i] == F_CONVERT))
			strip_write_text_leaf(c, q, c->fate[i] == F_CONVERT);
	}
	c->dry = 0;
	c->res->nremoved += c->uufound;
	if (!c->err)
		strip_write_message(c);
	if (c->out == NULL && !c->err)
		sink_flush(c);
	r = c->err ? -1 : 0;
	free(c->fate);
	mime_parser_free(c->mp);
	buf_free(&c->chunk);
	buf_free(&c->dec);
	buf_free(&c->conv);
	buf_free(&c->enc);
	buf_free(&c->obuf);
	buf_free(&c->uuout);
	buf_free(&c->uunames);
	return r;
}

static void
ctx_init(struct strip_ctx *c, const struct strip_opts *o,
    struct strip_result *res)
{
	memset(c, 0, sizeof(*c));
	memset(res, 0, sizeof(*res));
	c->o = o;
	c->res = res;
	if (o->limits != NULL)
		c->lim = *o->limits;
	else
		mime_limits_default(&c->lim);
	c->infd = c->outfd = -1;
	buf_init(&c->chunk, 0);
	buf_init(&c->dec, 0);
	buf_init(&c->conv, 0);
	buf_init(&c->enc, 0);
	buf_init(&c->obuf, 0);
	buf_init(&c->uuout, 0);
	buf_init(&c->uunames, 0);
}

/* Strip a message held in memory; the result is appended to out. */
int
strip_mem(const struct strip_opts *o, const void *msg, size_t len,
    struct buf *out, struct strip_result *res)
{
	struct strip_ctx c;

	ctx_init(&c, o, res);
	c.mem = msg != NULL ? msg : "";
	c.memlen = len;
	c.out = out;
	return strip_run(&c, len);
}

/* Copy a non-seekable input to an unlinked temporary file. */
static int
spool(int fd)
{
	char		 path[512], tmp[STRIP_CHUNK];
	const char	*dir = getenv("TMPDIR");
	ssize_t		 r;
	int		 t;

	snprintf(path, sizeof(path), "%s/sealmail-strip.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	if ((t = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (io_write_all(t, tmp, (size_t)r) == -1)
			goto fail;
	}
	if (r == 0)
		return t;
fail:
	close(t);
	return -1;
}

/* Strip a message read from infd (any kind) and write it to outfd. */
int
strip_fd(const struct strip_opts *o, int infd, int outfd,
    struct strip_result *res)
{
	struct strip_ctx c;
	struct stat	 st;
	int		 tmp = -1, r;

	ctx_init(&c, o, res);
	if (fstat(infd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		if ((tmp = spool(infd)) == -1)
			return -1;
		if (fstat(tmp, &st) == -1) {
			close(tmp);
			return -1;
		}
		infd = tmp;
	}
	c.infd = infd;
	c.outfd = outfd;
	r = strip_run(&c, (uint64_t)st.st_size);
	if (tmp != -1)
		close(tmp);
	return r;
}
