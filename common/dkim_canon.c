/*
 * dkim_canon.c - the "simple" and "relaxed" canonicalizations of RFC 6376
 * section 3.4: one header field at a time, and the body as a stream hashed
 * with SHA-256 while it passes.
 *
 * The body canonicalizer is a small state machine over bytes, so chunk
 * boundaries never matter: a CR at the end of one chunk waits for the next
 * byte, trailing empty lines are counted (not kept) until a line with
 * content shows they were not trailing, relaxed whitespace is held as one
 * flag until the line goes on.  Memory is constant whatever the size of
 * the body.  A bare LF ends a line as CRLF does (messages read from files);
 * a bare CR is an ordinary byte.  The l= limit of a signature being
 * verified stops the hash, not the count, so the verifier can tell whether
 * l= covered the whole body.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "log.h"
#include "xmalloc.h"

#define BODY_STAGE	8192

struct dkim_body {
	enum dkim_canon	 canon;
	EVP_MD_CTX	*md;
	uint64_t	 limit;		/* l=, or UINT64_MAX */
	uint64_t	 hashed;	/* canonical bytes hashed */
	uint64_t	 total;		/* canonical bytes, hashed or not */
	uint64_t	 empty;		/* empty lines held back */
	int		 cr;		/* a CR waits for its LF */
	int		 wsp;		/* relaxed: whitespace held */
	int		 inl;		/* the line has content */
	size_t		 nstage;
	unsigned char	 stage[BODY_STAGE];
};

struct dkim_body *
dkim_body_new(enum dkim_canon canon, uint64_t limit)
{
	struct dkim_body	*b = xcalloc(1, sizeof(*b));

	b->canon = canon;
	b->limit = limit;
	if ((b->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1)
		fatalx("dkim: SHA-256 unavailable");
	return b;
}

void
dkim_body_free(struct dkim_body *b)
{
	if (b == NULL)
		return;
	EVP_MD_CTX_free(b->md);
	free(b);
}

static void
stage_flush(struct dkim_body *b)
{
	if (b->nstage > 0 && EVP_DigestUpdate(b->md, b->stage, b->nstage) != 1)
		fatalx("dkim: SHA-256 update failed");
	b->nstage = 0;
}

/* Canonical output: counted always, hashed up to the limit. */
static void
emit(struct dkim_body *b, const void *p, size_t n)
{
	size_t	 take;

	b->total += n;
	if (b->hashed >= b->limit)
		return;
	take = b->limit - b->hashed < n ? (size_t)(b->limit - b->hashed) : n;
	b->hashed += take;
	if (take > sizeof(b->stage) - b->nstage) {
		stage_flush(b);
		if (take > sizeof(b->stage)) {
			if (EVP_DigestUpdate(b->md, p, take) != 1)
				fatalx("dkim: SHA-256 update failed");
			return;
		}
	}
	memcpy(b->stage + b->nstage, p, take);
	b->nstage += take;
}

/* The line has content after all: the empty lines held were not last. */
static void
line_begins(struct dkim_body *b)
{
	for (; b->empty > 0; b->empty--)
		emit(b, "\r\n", 2);
	b->inl = 1;
}

static void
line_ends(struct dkim_body *b)
{
	b->wsp = 0;
	if (b->inl) {
		emit(b, "\r\n", 2);
		b->inl = 0;
	} else
		b->empty++;
}

static void
content(struct dkim_body *b, int c)
{
	unsigned char	 ch = c;

	if (b->canon == DKIM_CANON_RELAXED && dkim_is_wsp(c)) {
		b->wsp = 1;
		return;
	}
	if (!b->inl)
		line_begins(b);
	if (b->wsp) {
		emit(b, " ", 1);
		b->wsp = 0;
	}
	emit(b, &ch, 1);
}

/* How many bytes from p on are plain content needing no decision. */
static size_t
plain_run(const struct dkim_body *b, const unsigned char *p, size_t n)
{
	size_t	 i;

	if (!b->inl || b->wsp)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' ||
		    (b->canon == DKIM_CANON_RELAXED && dkim_is_wsp(p[i])))
			break;
	return i;
}

void
dkim_body_update(struct dkim_body *b, const void *data, size_t n)
{
	const unsigned char	*p = data;
	size_t			 i = 0, run;

	while (i < n) {
		if (b->cr) {
			b->cr = 0;
			if (p[i] == '\n') {
				line_ends(b);
				i++;
				continue;
			}
			content(b, '\r');
		}
		if ((run = plain_run(b, p + i, n - i)) > 0) {
			emit(b, p + i, run);
			i += run;
			continue;
		}
		if (p[i] == '\r')
			b->cr = 1;
		else if (p[i] == '\n')
			line_ends(b);
		else
			content(b, p[i]);
		i++;
	}
}

/*
 * End of body: a last line without CRLF gets one, trailing empty lines
 * are dropped; an empty body is CRLF in simple, nothing in relaxed.
 */
void
dkim_body_final(struct dkim_body *b, uint8_t out[DKIM_DIGEST_LEN])
{
	unsigned int	 len = DKIM_DIGEST_LEN;

	if (b->cr) {
		b->cr = 0;
		content(b, '\r');
	}
	if (b->inl) {
		b->wsp = 0;
		emit(b, "\r\n", 2);
		b->inl = 0;
	}
	if (b->canon == DKIM_CANON_SIMPLE && b->total == 0)
		emit(b, "\r\n", 2);
	b->empty = 0;
	stage_flush(b);
	if (EVP_DigestFinal_ex(b->md, out, &len) != 1)
		fatalx("dkim: SHA-256 final failed");
}

uint64_t
dkim_body_total(const struct dkim_body *b)
{
	return b->total;
}

/*
 * relaxed: lowercase name, no whitespace around the colon, unfolded, every
 * run of whitespace one space, none at the end.
 */
static void
relaxed_header(const char *f, size_t n, struct buf *out)
{
	const char	*colon = memchr(f, ':', n);
	size_t		 nlen = colon ? (size_t)(colon - f) : n, i;
	int		 wsp = 0, any = 0;

	while (nlen > 0 && dkim_is_wsp((unsigned char)f[nlen - 1]))
		nlen--;
	for (i = 0; i < nlen; i++)
		(void)buf_addc(out, tolower((unsigned char)f[i]));
	(void)buf_addc(out, ':');
	for (i = colon ? (size_t)(colon - f) + 1 : n; i < n; i++) {
		if (f[i] == '\r' && i + 1 < n && f[i + 1] == '\n') {
			i++;
			continue;
		}
		if (dkim_is_wsp((unsigned char)f[i])) {
			wsp = 1;
			continue;
		}
		if (wsp && any)
			(void)buf_addc(out, ' ');
		wsp = 0;
		any = 1;
		(void)buf_addc(out, f[i]);
	}
	(void)buf_add(out, "\r\n", 2);
}

/*
 * One field as the header hash takes it.  The field is given with or
 * without its final CRLF; simple keeps the bytes and ends them with CRLF.
 */
void
dkim_canon_header(enum dkim_canon c, const char *f, size_t n, struct buf *out)
{
	if (n >= 2 && f[n - 2] == '\r' && f[n - 1] == '\n')
		n -= 2;
	if (c == DKIM_CANON_RELAXED) {
		relaxed_header(f, n, out);
		return;
	}
	(void)buf_add(out, f, n);
	(void)buf_add(out, "\r\n", 2);
}
