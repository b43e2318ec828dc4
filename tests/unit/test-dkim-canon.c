/*
 * test-dkim-canon.c - canonicalization (common/dkim_canon.c) and the
 * header splitter (common/dkim_msg.c): the examples of RFC 6376 section
 * 3.4.5 byte for byte, the edge cases of the body rules, and the same body
 * hash whatever the chunks the body arrives in.
 */
#include <string.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dkim_int.h"
#include "test.h"

/* RFC 6376 section 3.4.5, the example message. */
static const char ex_msg[] =
	"A: X\r\n"
	"B : Y\t\r\n"
	"\tZ  \r\n"
	"\r\n"
	" C \r\n"
	"D \t E\r\n"
	"\r\n"
	"\r\n";

static void
sha256(const void *p, size_t n, uint8_t out[DKIM_DIGEST_LEN])
{
	unsigned int	 len = DKIM_DIGEST_LEN;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* The body hash of body under canon, fed in chunks of at most step. */
static uint64_t
body_hash(enum dkim_canon c, uint64_t limit, const char *body, size_t n,
    size_t step, uint8_t out[DKIM_DIGEST_LEN])
{
	struct dkim_body	*b = dkim_body_new(c, limit);
	uint64_t		 total;
	size_t			 off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		dkim_body_update(b, body + off, k);
	}
	dkim_body_final(b, out);
	total = dkim_body_total(b);
	dkim_body_free(b);
	return total;
}

/* body canonicalizes to exactly want (checked by hash and length). */
static int
body_is(enum dkim_canon c, const char *body, size_t n, const char *want)
{
	uint8_t		 got[DKIM_DIGEST_LEN], exp[DKIM_DIGEST_LEN];
	uint64_t	 total;

	total = body_hash(c, UINT64_MAX, body, n, n ? n : 1, got);
	sha256(want, strlen(want), exp);
	return total == strlen(want) && memcmp(got, exp, sizeof(got)) == 0;
}

static void
split(const char *m, size_t n, struct dkim_split *sp, const char **body)
{
	ssize_t	 h;

	dkim_split_init(sp, 0);
	h = dkim_split_feed(sp, m, n);
	*body = m + h;
	(void)dkim_split_end(sp);
}

static void
header_canon(enum dkim_canon c, const struct dkim_hdrs *h, struct buf *out)
{
	const char	*f;
	size_t		 i, n;

	for (i = 0; (f = dkim_hdrs_field(h, i, &n)) != NULL; i++)
		dkim_canon_header(c, f, n, out);
}

static void
test_rfc_example_header(void)
{
	struct dkim_split	 sp;
	struct buf		 out;
	const char		*body;

	test_begin("RFC 6376 3.4.5: the example header in relaxed and in "
	    "simple");
	split(ex_msg, sizeof(ex_msg) - 1, &sp, &body);
	test_assert(dkim_hdrs_count(sp.hdrs) == 2);
	buf_init(&out, 0);
	header_canon(DKIM_CANON_RELAXED, sp.hdrs, &out);
	test_assert_str(out.data, "a:X\r\nb:Y Z\r\n");
	buf_reset(&out);
	header_canon(DKIM_CANON_SIMPLE, sp.hdrs, &out);
	test_assert_str(out.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	test_assert_str(body, " C \r\nD \t E\r\n\r\n\r\n");
	buf_free(&out);
	dkim_split_free(&sp);
	test_end();
}

static void
test_rfc_example_body(void)
{
	const char	*body = strstr(ex_msg, "\r\n\r\n") + 4;

	test_begin("RFC 6376 3.4.5: the example body in relaxed and in "
	    "simple");
	test_assert(body_is(DKIM_CANON_RELAXED, body, strlen(body),
	    " C\r\nD E\r\n"));
	test_assert(body_is(DKIM_CANON_SIMPLE, body, strlen(body),
	    " C \r\nD \t E\r\n"));
	test_end();
}

static void
test_empty_bodies(void)
{
	test_begin("empty body: CRLF in simple, nothing in relaxed; a body of "
	    "empty lines is empty");
	test_assert(body_is(DKIM_CANON_SIMPLE, "", 0, "\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "", 0, ""));
	test_assert(body_is(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", 6, "\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "\r\n\r\n\r\n", 6, ""));
	test_assert(body_is(DKIM_CANON_RELAXED, " \t\r\n\t\r\n", 7, ""));
	test_assert(body_is(DKIM_CANON_SIMPLE, " \t\r\n\t\r\n", 7,
	    " \t\r\n\t\r\n"));
	test_end();
}

static void
test_body_edges(void)
{
	test_begin("body: a missing final CRLF is added, inner empty lines "
	    "kept, trailing whitespace lines dropped in relaxed");
	test_assert(body_is(DKIM_CANON_SIMPLE, "abc", 3, "abc\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "abc  ", 5, "abc\r\n"));
	test_assert(body_is(DKIM_CANON_SIMPLE, "a\r\n\r\nb\r\n\r\n", 10,
	    "a\r\n\r\nb\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "a\r\n  \r\n\t\r\n", 10,
	    "a\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "a\r\n \r\nb", 7,
	    "a\r\n\r\nb\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "\t a \t b\t\r\n", 10,
	    " a b\r\n"));
	test_end();
}

static void
test_line_ends(void)
{
	test_begin("body: a bare LF ends a line like CRLF, a bare CR is an "
	    "ordinary byte");
	test_assert(body_is(DKIM_CANON_SIMPLE, "a\nb\n\n", 5, "a\r\nb\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "a \nb\n\n", 6, "a\r\nb\r\n"));
	test_assert(body_is(DKIM_CANON_SIMPLE, "a\rb\r\n", 5, "a\rb\r\n"));
	test_assert(body_is(DKIM_CANON_SIMPLE, "a\r", 2, "a\r\r\n"));
	test_assert(body_is(DKIM_CANON_RELAXED, "a\r \r\n", 5, "a\r\r\n"));
	test_end();
}

static void
test_limit(void)
{
	static const char	 body[] = "Hello  world\r\n\r\nmore\r\n";
	uint8_t			 got[DKIM_DIGEST_LEN], exp[DKIM_DIGEST_LEN];
	uint64_t		 total;

	test_begin("body: l= limits the hash to the first canonical bytes "
	    "and the total still counts the whole body");
	total = body_hash(DKIM_CANON_RELAXED, 5, body, sizeof(body) - 1, 3,
	    got);
	sha256("Hello", 5, exp);
	test_assert(memcmp(got, exp, sizeof(got)) == 0);
	test_assert(total == strlen("Hello world\r\n\r\nmore\r\n"));
	total = body_hash(DKIM_CANON_SIMPLE, 0, body, sizeof(body) - 1, 64,
	    got);
	sha256("", 0, exp);
	test_assert(memcmp(got, exp, sizeof(got)) == 0 &&
	    total == sizeof(body) - 1);
	test_end();
}

/*
 * A body that puts every rule at a chunk boundary somewhere: CRLF split,
 * bare LF and CR, whitespace runs, empty lines inside and at the end.
 */
static const char tricky[] =
	"First  line\t \r\n"
	"\r\n"
	"  \t\r\n"
	"bare\nlf\n\r\n"
	"cr\ralone \r\n"
	"x  y\t\tz   \r\n"
	"\r\n"
	"last\r\n"
	" \r\n"
	"\r\n"
	"\n";

static void
test_chunk_independence(void)
{
	uint8_t		 ref[DKIM_DIGEST_LEN], got[DKIM_DIGEST_LEN];
	uint64_t	 rtotal, total;
	size_t		 n = sizeof(tricky) - 1, i, step;
	int		 c, bad = 0;

	test_begin("body hash: the same for every split of the body, byte by "
	    "byte or any chunk size, both canonicalizations");
	for (c = DKIM_CANON_SIMPLE; c <= DKIM_CANON_RELAXED; c++) {
		rtotal = body_hash(c, UINT64_MAX, tricky, n, n, ref);
		for (step = 1; step <= n; step++) {
			total = body_hash(c, UINT64_MAX, tricky, n, step, got);
			bad |= total != rtotal || memcmp(got, ref, 32) != 0;
		}
		for (i = 1; i < n; i++) {
			struct dkim_body	*b = dkim_body_new(c,
			    UINT64_MAX);

			dkim_body_update(b, tricky, i);
			dkim_body_update(b, tricky + i, n - i);
			dkim_body_final(b, got);
			bad |= memcmp(got, ref, 32) != 0 ||
			    dkim_body_total(b) != rtotal;
			dkim_body_free(b);
		}
	}
	test_assert(!bad);
	test_assert(body_is(DKIM_CANON_RELAXED, tricky, n,
	    "First line\r\n\r\n\r\nbare\r\nlf\r\n\r\ncr\ralone\r\n"
	    "x y z\r\n\r\nlast\r\n"));
	test_end();
}

static void
test_large_body(void)
{
	static char	 chunk[65536];
	uint8_t		 a[DKIM_DIGEST_LEN], b[DKIM_DIGEST_LEN];
	struct dkim_body *bd;
	EVP_MD_CTX	*md;
	unsigned int	 len = DKIM_DIGEST_LEN;
	size_t		 i;

	test_begin("body hash: 50 MB stream in 64 KB chunks equals the hash "
	    "of the same bytes (simple, CRLF lines)");
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = i % 64 == 62 ? '\r' : i % 64 == 63 ? '\n' :
		    'a' + i % 26;
	bd = dkim_body_new(DKIM_CANON_SIMPLE, UINT64_MAX);
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (i = 0; i < 800; i++) {
		dkim_body_update(bd, chunk, sizeof(chunk));
		EVP_DigestUpdate(md, chunk, sizeof(chunk));
	}
	dkim_body_final(bd, a);
	EVP_DigestFinal_ex(md, b, &len);
	test_assert(memcmp(a, b, sizeof(a)) == 0);
	test_assert(dkim_body_total(bd) == 800ULL * sizeof(chunk));
	dkim_body_free(bd);
	EVP_MD_CTX_free(md);
	test_end();
}

static void
test_relaxed_header_rules(void)
{
	static const char	*subj = "SUBJECT \t:\t Hello \r\n"
	    "\t  big\t world  \r\n";
	struct buf		 out;

	test_begin("relaxed header: name lowercased, whitespace around the "
	    "colon dropped, folding unfolded, runs made one space");
	buf_init(&out, 0);
	dkim_canon_header(DKIM_CANON_RELAXED, subj, strlen(subj), &out);
	test_assert_str(out.data, "subject:Hello big world\r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_RELAXED, "X-Empty:   \r\n", 13, &out);
	test_assert_str(out.data, "x-empty:\r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_SIMPLE, "To: a\r\n", 7, &out);
	test_assert_str(out.data, "To: a\r\n");
	buf_free(&out);
	test_end();
}

static void
test_split_chunks(void)
{
	static const char	 m[] = "From: a@b\r\nSubject: one\r\n two\n"
	    "X: y\r\n\r\nbody\r\n";
	struct dkim_split	 sp;
	const char		*f;
	size_t			 i, n, k, len;
	ssize_t			 h;
	int			 bad = 0;

	test_begin("header splitter: the same fields (CRLF line ends) and "
	    "body start for every split of the message");
	for (i = 0; i <= sizeof(m) - 1; i++) {
		dkim_split_init(&sp, 0);
		h = dkim_split_feed(&sp, m, i);
		n = (size_t)h;
		if (sp.in_body)
			bad |= n != (size_t)(strstr(m, "\r\n\r\n") + 4 - m);
		else {
			bad |= n != i;
			k = (size_t)dkim_split_feed(&sp, m + i,
			    sizeof(m) - 1 - i);
			bad |= i + k != (size_t)(strstr(m, "\r\n\r\n") + 4 - m);
		}
		bad |= dkim_hdrs_count(sp.hdrs) != 3;
		f = dkim_hdrs_field(sp.hdrs, 1, &len);
		bad |= f == NULL || len != 20 ||
		    memcmp(f, "Subject: one\r\n two\r\n", 20) != 0;
		dkim_split_free(&sp);
	}
	test_assert(!bad);
	test_end();
}

static void
test_split_limit(void)
{
	struct dkim_split	 sp;
	char			 line[100];

	test_begin("header splitter: a header over its limit is refused, "
	    "also when it never ends");
	memset(line, 'x', sizeof(line));
	dkim_split_init(&sp, 64);
	test_assert(dkim_split_feed(&sp, "Subject: ", 9) == 9);
	test_assert(dkim_split_feed(&sp, line, sizeof(line)) == -1);
	test_assert(dkim_split_feed(&sp, "\r\n\r\n", 4) == -1);
	test_assert(dkim_split_end(&sp) == -1);
	dkim_split_free(&sp);
	dkim_split_init(&sp, 0);
	test_assert(dkim_split_feed(&sp, "From: a\r\nTo: b", 14) == 14);
	test_assert(dkim_split_end(&sp) == 0 && dkim_hdrs_count(sp.hdrs) == 2);
	dkim_split_free(&sp);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_rfc_example_header,
		test_rfc_example_body,
		test_empty_bodies,
		test_body_edges,
		test_line_ends,
		test_limit,
		test_chunk_independence,
		test_large_body,
		test_relaxed_header_rules,
		test_split_chunks,
		test_split_limit,
		NULL
	};

	return test_run(tests);
}
