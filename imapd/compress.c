/*
 * compress.c - COMPRESS=DEFLATE (RFC 4978): a libevent filter that
 * inflates what the client sends and deflates what we send, raw deflate
 * (no zlib header), flushed with Z_SYNC_FLUSH whenever our output
 * buffer runs dry so responses are never held back.
 *
 * Runs in the user process on the plaintext stream.  Inflation is
 * bounded: compressed input is fed ZIN_STEP bytes at a time (deflate
 * expands at most about 1032 to 1, so a step yields at most about 1 MB)
 * and stops once the session's input holds ZIN_HIGH bytes (its read
 * high-water mark); libevent calls the filter again when the session has
 * read them.  A small compressed input cannot make the process hold more
 * than that at once; the parser's limits bound what is kept.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imapd.h"
#include "log.h"
#include "xmalloc.h"

#define ZCHUNK		16384
#define ZIN_STEP	1024		/* compressed bytes per inflate step */
#define ZIN_HIGH	(64 * 1024)	/* inflated bytes waiting, at most */

struct zstate {
	z_stream	 in;
	z_stream	 out;
};

/*
 * Run src through zlib into dst, a chunk (a step of at most ZIN_STEP
 * bytes when inflating) at a time.  A chunk is done when zlib leaves
 * output space unused: all its input taken and, for deflate, the sync
 * flush of the last chunk written.  Inflation stops after the chunk that
 * brings what it added to dst to limit (when limit > 0), leaving the
 * rest of src for the next call.
 */
static enum bufferevent_filter_result
zfilter(struct evbuffer *src, struct evbuffer *dst, z_stream *z,
    int inflating, ev_ssize_t limit)
{
	struct evbuffer_iovec	 v, o;
	size_t			 take, added = 0;
	int			 rc, flush;

	while (evbuffer_peek(src, -1, NULL, &v, 1) >= 1 && v.iov_len > 0) {
		take = v.iov_len;
		if (inflating && take > ZIN_STEP)
			take = ZIN_STEP;
		z->next_in = v.iov_base;
		z->avail_in = (uInt)take;
		flush = inflating || evbuffer_get_length(src) == take ?
		    Z_SYNC_FLUSH : Z_NO_FLUSH;
		do {
			if (evbuffer_reserve_space(dst, ZCHUNK, &o, 1) < 1)
				return BEV_ERROR;
			z->next_out = o.iov_base;
			z->avail_out = (uInt)o.iov_len;
			rc = inflating ? inflate(z, flush) : deflate(z, flush);
			if (rc != Z_OK && rc != Z_BUF_ERROR &&
			    rc != Z_STREAM_END)
				return BEV_ERROR;
			o.iov_len -= z->avail_out;
			added += o.iov_len;
			evbuffer_commit_space(dst, &o, 1);
		} while (z->avail_out == 0);
		if (z->avail_in != 0)
			return BEV_ERROR;
		evbuffer_drain(src, take);
		if (inflating && limit > 0 && added >= (size_t)limit)
			break;
	}
	return BEV_OK;
}

static enum bufferevent_filter_result
zin(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct zstate	*zs = arg;

	return zfilter(src, dst, &zs->in, 1, limit);
}

static enum bufferevent_filter_result
zout(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct zstate	*zs = arg;

	return zfilter(src, dst, &zs->out, 0, limit);
}

static void
zfree(void *arg)
{
	struct zstate	*zs = arg;

	inflateEnd(&zs->in);
	deflateEnd(&zs->out);
	free(zs);
}

/* Wrap bev; the returned filter owns it. */
struct bufferevent *
compress_start(struct bufferevent *bev)
{
	struct bufferevent	*f;
	struct zstate		*zs;

	zs = xcalloc(1, sizeof(*zs));
	if (inflateInit2(&zs->in, -15) != Z_OK ||
	    deflateInit2(&zs->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		free(zs);
		return NULL;
	}
	f = bufferevent_filter_new(bev, zin, zout, BEV_OPT_CLOSE_ON_FREE,
	    zfree, zs);
	if (f == NULL)
		zfree(zs);
	else
		bufferevent_setwatermark(f, EV_READ, 0, ZIN_HIGH);
	return f;
}
