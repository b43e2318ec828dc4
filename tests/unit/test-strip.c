/*
 * test-strip.c - stripping of unsafe mail and HTML to text.
 *
 * Every corpus message carries unique markers: SEALMAIL-ATTACHMENT-MARKER-*
 * inside content that must go, SEALMAIL-TEXT-KEEP-* in text that must stay.
 * Each stripped result is reparsed, every part of it decoded, and no
 * removed marker may survive in the raw or the decoded output.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "html.h"
#include "mime.h"
#include "strip.h"
#include "test.h"

#ifndef SM_TOP_SRCDIR
#define SM_TOP_SRCDIR "."
#endif

#define ATT_MARK	"SEALMAIL-ATTACHMENT-MARKER"

static char *
corpus_path(const char *name)
{
	static char	 path[1024];

	snprintf(path, sizeof(path), "%s/tests/corpus/mime/%s", SM_TOP_SRCDIR,
	    name);
	return path;
}

static char *
slurp(const char *name, size_t *len)
{
	FILE	*f;
	char	*data;
	long	 n;

	if ((f = fopen(corpus_path(name), "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	*len = fread(data, 1, (size_t)n, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

static int
memchr_8bit(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * Reparse out; append every decoded leaf to all.  Returns the parser's
 * flags with those allowed in a stripped message (8-bit top header) off.
 */
static unsigned int
reparse(const struct buf *out, struct buf *all)
{
	struct mime_parser *p;
	struct mime_part *q;
	struct mime_decoder d;
	unsigned int	 i, fl = 0;

	p = mime_parser_new(NULL, NULL, NULL);
	mime_parser_feed(p, out->data, out->len);
	mime_parser_finish(p);
	for (i = 0; i < mime_parser_nparts(p); i++) {
		q = mime_parser_part(p, i);
		fl |= q->flags & ~(q->index == 0 ? MIME_F_HDR_8BIT : 0);
		if (q->kind != MIME_KIND_LEAF)
			continue;
		mime_decoder_init(&d, q->enc);
		mime_decode(&d, out->data + q->body_start,
		    q->body_end - q->body_start, all);
		mime_decode_finish(&d, all);
		/* every part of a stripped message is 7-bit clean */
		if (q->enc != MIME_ENC_QP && q->enc != MIME_ENC_BASE64 &&
		    memchr_8bit(out->data + q->body_start,
		    q->body_end - q->body_start))
			fl |= MIME_F_8BIT_BODY;
		if (q->enc == MIME_ENC_QP || q->enc == MIME_ENC_BASE64)
			fl |= d.errors ? MIME_F_BAD_ENCODING : 0;
	}
	mime_parser_free(p);
	return fl;
}

static unsigned int
header_count(const struct buf *out, const char *name, char *value,
    size_t vlen)
{
	struct mime_field f;
	size_t		 pos = 0;
	unsigned int	 n = 0;
	int		 r;

	while ((r = mime_header_next(out->data, out->len, &pos, &f)) != 0)
		if (r == 1 && mime_field_is(&f, name)) {
			if (n++ == 0 && value != NULL)
				snprintf(value, vlen, "%.*s",
				    (int)f.valuelen, f.value);
		}
	return n;
}

static const struct strip_case {
	const char	*file;
	unsigned int	 removed;
	int		 degraded;
	const char	*keep[4];	/* markers that must stay */
} cases[] = {
	{ "outlook-html-attachment.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-outlook", "Gr\xfc\xdf" "e" } },
	{ "gmail-related-inline-image.eml", 2, 0,
	  { "SEALMAIL-TEXT-KEEP-gmail", "Caf\xc3\xa9 later?" } },
	{ "applemail-inline-pdf.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-apple-1", "SEALMAIL-TEXT-KEEP-apple-2",
	    "\"Vertrag M\xc3\xbcller.pdf\" (application/pdf" } },
	{ "thunderbird-attachments.eml", 2, 0,
	  { "SEALMAIL-TEXT-KEEP-thunderbird", "\"server.log\"",
	    "split.zip\"" } },
	{ "digest.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-digest-toc", "SEALMAIL-TEXT-KEEP-digest-1",
	    "SEALMAIL-TEXT-KEEP-digest-2",
	    "SEALMAIL-TEXT-KEEP-digest-footer" } },
	{ "forwarded-rfc822.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-fwd-outer", "SEALMAIL-TEXT-KEEP-fwd-inner",
	    "\"invoice-42.pdf\"" } },
	{ "calendar-invite.eml", 2, 0,
	  { "SEALMAIL-TEXT-KEEP-calendar", "(text/calendar" } },
	{ "smime-signed.eml", 1, 0, { "SEALMAIL-TEXT-KEEP-smime" } },
	{ "pgp-signed.eml", 1, 0, { "SEALMAIL-TEXT-KEEP-pgp" } },
	{ "html-only.eml", 0, 0,
	  { "SEALMAIL-TEXT-KEEP-html",
	    "our offers <https://shop.example/sale?a=1&b=2>",
	    "Big sale & more", "\xe2\x82\xac" "5" } },
	{ "plain-simple.eml", 0, 0, { "SEALMAIL-TEXT-KEEP-plain" } },
	{ "bare-lf.eml", 1, 0, { "SEALMAIL-TEXT-KEEP-lf" } },
	{ "malformed-no-final-boundary.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-trunc", "\"evil.exe\"" } },
	{ "malformed-boundary-reuse.eml", 2, 1,
	  { "SEALMAIL-TEXT-KEEP-reuse", "could not be read safely" } },
	{ "malformed-base64-garbage.eml", 2, 0,
	  { "SEALMAIL-TEXT-KEEP-garbage", "SEALMAIL-TEXT-KEEP-qp" } },
	{ "malformed-8bit-headers.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-8bit", "\xc3\x9c" "bersicht.pdf" } },
	{ "malformed-deep-nesting.eml", 1, 1,
	  { "could not be read safely" } },
	{ "malformed-huge-header.eml", 1, 1,
	  { "could not be read safely" } },
	{ "malformed-no-boundary-param.eml", 1, 0, { "(multipart/mixed" } },
	/* the ambiguity class: whatever our reading, these are removed */
	{ "amb-dup-content-type.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-dupct", "ambiguous structure" } },
	{ "amb-dup-cte.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-dupcte", "ambiguous structure" } },
	{ "amb-dup-disposition.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-dupcd", "ambiguous structure" } },
	{ "amb-dup-boundary.eml", 1, 0, { "ambiguous structure" } },
	{ "amb-dup-charset.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-charset", "ambiguous structure" } },
	{ "amb-dup-name.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-dupname", "ambiguous structure" } },
	{ "amb-name-param-text.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-name", "\"run-me.bat\" (text/plain" } },
	{ "amb-rfc2231-filename.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-2231", "\"evil.exe\"" } },
	{ "amb-2047-name.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-2047", "\"evil.html\"" } },
	{ "amb-name-in-disposition.eml", 1, 0,
	  { "SEALMAIL-TEXT-KEEP-dname", "\"x.bin\"" } },
	{ "uuencode-in-text.eml", 2, 0,
	  { "SEALMAIL-TEXT-KEEP-uu-before", "SEALMAIL-TEXT-KEEP-uu-after",
	    "\"tool.exe\" (uuencoded in the text)",
	    "begin 644 looks-like-one-but-is-prose\r\nand this line" } },
};

static const char *const gone_with_html[] = {
	"SEALMAIL-SCRIPT-MARKER", "SEALMAIL-STYLE-MARKER",
	"SEALMAIL-COMMENT-MARKER", "<p", "<div", "&nbsp;",
	/* files encoded inside text: uuencode, base64 of "SEALMAIL-" */
	"M35H@9F%K92", "U0VBTE1BSUwt", "begin 644 tool.exe", NULL
};

static void
test_corpus_stripped(void)
{
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct strip_result res;
	struct mime_limits lim;
	struct buf	 out, all, again;
	char		*data, val[64], want[64];
	size_t		 i, j, len;
	unsigned int	 fl;

	test_begin("corpus: removed content never survives, raw or decoded; "
	    "text stays; output reparses cleanly");
	mime_limits_default(&lim);
	lim.max_header = 64 * 1024;
	o.limits = &lim;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct strip_case *c = &cases[i];
		int	 failed = test_failed_now;

		if ((data = slurp(c->file, &len)) == NULL) {
			test_assert(data != NULL);
			continue;
		}
		buf_init(&out, 0);
		buf_init(&all, 0);
		buf_init(&again, 0);
		test_assert(strip_mem(&o, data, len, &out, &res) == 0);
		test_assert(res.nremoved == c->removed);
		test_assert(res.degraded == c->degraded);
		test_assert(memmem(out.data, out.len, ATT_MARK,
		    strlen(ATT_MARK)) == NULL);
		fl = reparse(&out, &all);
		test_assert(fl == 0);
		test_assert(memmem(all.data, all.len, ATT_MARK,
		    strlen(ATT_MARK)) == NULL);
		for (j = 0; gone_with_html[j] != NULL; j++)
			test_assert(memmem(all.data, all.len,
			    gone_with_html[j], strlen(gone_with_html[j])) ==
			    NULL);
		for (j = 0; j < 4 && c->keep[j] != NULL; j++)
			test_assert(memmem(all.data, all.len, c->keep[j],
			    strlen(c->keep[j])) != NULL);
		test_assert(header_count(&out, "X-Sealmail-Stripped", val,
		    sizeof(val)) == 1);
		snprintf(want, sizeof(want), "%u", c->removed);
		test_assert_str(val, want);
		test_assert(header_count(&out, "MIME-Version", NULL, 0) == 1);
		/* a stripped message has nothing left to strip */
		test_assert(strip_mem(&o, out.data, out.len, &again, &res) ==
		    0);
		test_assert(res.nremoved == 0 && res.degraded == 0);
		if (test_failed_now && !failed)
			printf("  in %s\n", c->file);
		buf_free(&out);
		buf_free(&all);
		buf_free(&again);
		free(data);
	}
	test_end();
}

static void
test_options(void)
{
	struct strip_opts o = { 0, 1, NULL, NULL };
	struct strip_result res;
	struct buf	 out, all;
	char		*data, val[64];
	size_t		 len;

	test_begin("strip_attachments off keeps attachments as base64; "
	    "strip_html off keeps HTML and both alternatives");
	data = slurp("gmail-related-inline-image.eml", &len);
	test_assert(data != NULL);
	if (data == NULL)
		goto out;
	buf_init(&out, 0);
	buf_init(&all, 0);
	test_assert(strip_mem(&o, data, len, &out, &res) == 0);
	test_assert(res.nremoved == 0 && res.nconverted == 0);
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(all.data, all.len, ATT_MARK "-gmail-pdf",
	    strlen(ATT_MARK "-gmail-pdf")) != NULL);
	test_assert(memmem(out.data, out.len, ATT_MARK, strlen(ATT_MARK)) ==
	    NULL);
	test_assert(memmem(out.data, out.len, "filename=\"route.pdf\"",
	    20) != NULL);
	test_assert(memmem(out.data, out.len, "Content-ID: <ii_lnb1x2y30>",
	    26) != NULL);
	test_assert(header_count(&out, "X-Sealmail-Stripped", val,
	    sizeof(val)) == 1);
	test_assert_str(val, "0");

	o.strip_attachments = 1;
	o.strip_html = 0;
	buf_reset(&out);
	buf_reset(&all);
	test_assert(strip_mem(&o, data, len, &out, &res) == 0);
	test_assert(res.nremoved == 2 && res.nconverted == 0);
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(out.data, out.len, "multipart/alternative",
	    21) != NULL);
	test_assert(memmem(out.data, out.len, "Content-Type: text/html",
	    23) != NULL);
	test_assert(memmem(all.data, all.len, ATT_MARK,
	    strlen(ATT_MARK)) == NULL);
	buf_free(&out);
	buf_free(&all);
	free(data);
out:
	test_end();
}

static void
test_alternative_prefers_text(void)
{
	static const char msg[] =
	    "Content-Type: multipart/alternative; boundary=a\r\n\r\n"
	    "--a\r\nContent-Type: text/html\r\n\r\n<p>the text</p>\r\n"
	    "--a\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n"
	    "--a--\r\n";
	struct strip_opts o = { 0, 1, NULL, NULL };
	struct strip_result res;
	struct buf	 out, all;

	test_begin("an alternative keeps readable text over a kept "
	    "attachment");
	buf_init(&out, 0);
	buf_init(&all, 0);
	test_assert(strip_mem(&o, msg, sizeof(msg) - 1, &out, &res) == 0);
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(all.data, all.len, "the text", 8) != NULL);
	test_assert(memmem(all.data, all.len, "BEGIN:VCALENDAR", 15) == NULL);
	test_assert(res.nconverted == 1 && res.nremoved == 1);
	buf_free(&out);
	buf_free(&all);
	test_end();
}

/*
 * The counting pass looks at text leaves only: a container's raw body
 * holds its leaves, so a container of subtype "plain" made a file
 * encoded in its text count twice (and the whole message was encoded
 * once more for nothing).
 */
static void
test_encoded_file_in_text_counts_once(void)
{
	static const char msg[] =
	    "Content-Type: multipart/plain; boundary=a\r\n\r\n"
	    "--a\r\nContent-Type: text/plain\r\n\r\nthe text\r\n"
	    "begin 644 tool.exe\r\n"
	    "M35H@9F%K92!E>&5C=71A8FQE(%-%04Q-04E,+4%45$%#2$U%3E0M34%22T52\r\n"
	    "`\r\nend\r\n"
	    "--a--\r\n";
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct strip_result res;
	struct buf	 out, all;
	const char	*p;

	test_begin("a file encoded in a text part inside a container is "
	    "counted and listed once");
	buf_init(&out, 0);
	buf_init(&all, 0);
	test_assert(strip_mem(&o, msg, sizeof(msg) - 1, &out, &res) == 0);
	test_assert(res.nremoved == 1);
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(all.data, all.len, "the text", 8) != NULL);
	p = memmem(all.data, all.len, "\"tool.exe\" (uuencoded", 21);
	test_assert(p != NULL && memmem(p + 1, all.len - (size_t)(p + 1 -
	    all.data), "\"tool.exe\" (uuencoded", 21) == NULL);
	buf_free(&out);
	buf_free(&all);
	test_end();
}

static void
test_fd_matches_mem(void)
{
	struct strip_opts o = { 1, 1, "[unsafe]", NULL };
	struct strip_result r1, r2;
	struct buf	 out, fdout;
	char		*data, tmp[4096];
	size_t		 len;
	int		 in[2], ofd;
	ssize_t		 n;
	pid_t		 pid;
	char		 opath[] = "/tmp/test-strip.XXXXXX";

	test_begin("strip_fd from a pipe (spooled) writes what strip_mem "
	    "writes");
	data = slurp("forwarded-rfc822.eml", &len);
	buf_init(&out, 0);
	buf_init(&fdout, 0);
	test_assert(strip_mem(&o, data, len, &out, &r1) == 0);
	test_assert(pipe(in) == 0);
	if ((pid = fork()) == 0) {
		close(in[0]);
		n = write(in[1], data, len);
		_exit(n == (ssize_t)len ? 0 : 1);
	}
	close(in[1]);
	ofd = mkstemp(opath);
	unlink(opath);
	test_assert(strip_fd(&o, in[0], ofd, &r2) == 0);
	close(in[0]);
	lseek(ofd, 0, SEEK_SET);
	while ((n = read(ofd, tmp, sizeof(tmp))) > 0)
		buf_add(&fdout, tmp, (size_t)n);
	close(ofd);
	test_assert(out.len == fdout.len && memcmp(out.data, fdout.data,
	    out.len) == 0);
	test_assert(r1.nremoved == r2.nremoved);
	test_assert(memmem(out.data, out.len, "Subject: [unsafe] Fwd: invoice",
	    30) != NULL);
	buf_free(&out);
	buf_free(&fdout);
	free(data);
	test_end();
}

static void
test_forged_and_tagged(void)
{
	static const char msg[] =
	    "From: a@b\r\nX-Sealmail-Stripped: 0\r\nSubject: [unsafe] hi\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n"
	    ATT_MARK "-whole\r\n";
	static const char nosubj[] = "From: a@b\r\n\r\ntext\r\n";
	struct strip_opts o = { 1, 1, "[unsafe]", NULL };
	struct strip_result res;
	struct buf	 out, all;
	char		 val[64];

	test_begin("a forged X-Sealmail-Stripped is replaced; the subject "
	    "tag is added once; a lone attachment leaves the notice");
	buf_init(&out, 0);
	buf_init(&all, 0);
	test_assert(strip_mem(&o, msg, sizeof(msg) - 1, &out, &res) == 0);
	test_assert(header_count(&out, "X-Sealmail-Stripped", val,
	    sizeof(val)) == 1);
	test_assert_str(val, "1");
	test_assert(header_count(&out, "Subject", val, sizeof(val)) == 1);
	test_assert_str(val, "[unsafe] hi");
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(all.data, all.len, ATT_MARK, strlen(ATT_MARK)) ==
	    NULL);
	test_assert(memmem(all.data, all.len, "unnamed part (application/"
	    "octet-stream", 38) != NULL);
	buf_reset(&out);
	test_assert(strip_mem(&o, nosubj, sizeof(nosubj) - 1, &out, &res) ==
	    0);
	test_assert(header_count(&out, "Subject", val, sizeof(val)) == 1);
	test_assert_str(val, "[unsafe]");
	buf_free(&out);
	buf_free(&all);
	test_end();
}

static void
test_attached_message_headers_7bit(void)
{
	static const char msg[] =
	    "From: a@b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\nFrom: x@y\r\n\r\ninner\r\n";
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct strip_result res;
	struct buf	 out;
	size_t		 i;
	int		 eight = 0;

	test_begin("headers of an attached message are made 7-bit with "
	    "RFC 2047");
	buf_init(&out, 0);
	test_assert(strip_mem(&o, msg, sizeof(msg) - 1, &out, &res) == 0);
	for (i = 0; i < out.len; i++)
		if ((unsigned char)out.data[i] >= 0x80)
			eight = 1;
	test_assert(!eight);
	test_assert(memmem(out.data, out.len, "Subject: =?utf-8?b?R3LDvMOfZQ=="
	    "?=", 33) != NULL);
	buf_free(&out);
	test_end();
}

static void
test_attached_message_of_attachment(void)
{
	static const char msg[] =
	    "From: a@b\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
	    "--o\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\nContent-Type: application/x-evil\r\n\r\n"
	    ATT_MARK "-inner-body\r\n--o--\r\n";
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct strip_result res;
	struct buf	 out, all;

	test_begin("an attached message whose body is an attachment keeps "
	    "its header and loses its body");
	buf_init(&out, 0);
	buf_init(&all, 0);
	test_assert(strip_mem(&o, msg, sizeof(msg) - 1, &out, &res) == 0);
	test_assert(res.nremoved == 1);
	test_assert(reparse(&out, &all) == 0);
	test_assert(memmem(out.data, out.len, ATT_MARK, strlen(ATT_MARK)) ==
	    NULL);
	test_assert(memmem(out.data, out.len, "Subject: inner", 14) != NULL);
	buf_free(&out);
	buf_free(&all);
	test_end();
}

static void
test_notice_is_last_part(void)
{
	struct strip_opts o = { 1, 1, NULL, NULL };
	struct strip_result res;
	struct mime_parser *p;
	struct mime_part *r, *k;
	struct buf	 out;
	char		*data;
	size_t		 len;

	test_begin("the notice is the last part of a mixed message, after "
	    "what was kept");
	data = slurp("thunderbird-attachments.eml", &len);
	buf_init(&out, 0);
	test_assert(data != NULL && strip_mem(&o, data, len, &out, &res) == 0);
	p = mime_parser_new(NULL, NULL, NULL);
	mime_parser_feed(p, out.data, out.len);
	mime_parser_finish(p);
	r = mime_parser_root(p);
	test_assert(mime_part_is(r, "multipart", "mixed"));
	test_assert(r->nchildren == 2);
	k = r->children;
	test_assert(k != NULL && mime_part_is(k, "text", "plain"));
	test_assert(k != NULL && k->next != NULL &&
	    k->next->description != NULL &&
	    strcmp(k->next->description, "Sealmail notice") == 0);
	test_assert(k != NULL && k->enc == MIME_ENC_QP);
	mime_parser_free(p);
	buf_free(&out);
	free(data);
	test_end();
}

static const struct {
	const char	*html;
	const char	*text;
} htmls[] = {
	{ "<p>Hello&nbsp;<b>world</b></p><p>Two</p>",
	  "Hello world\r\n\r\nTwo\r\n" },
	{ "a<br>b<br/>c", "a\r\nb\r\nc\r\n" },
	{ "<script>alert('<p>x</p>')</script>ok", "ok\r\n" },
	{ "<style type=text/css>p{}</style>ok", "ok\r\n" },
	{ "<SCRIPT>x</scriptx></SCRIPT >ok", "ok\r\n" },
	{ "<!-- hidden -- still -->shown", "shown\r\n" },
	{ "<!DOCTYPE html><?xml x?>t", "t\r\n" },
	{ "<a href=\"https://x.example/?a=1&amp;b=2\">click</a>",
	  "click <https://x.example/?a=1&b=2>\r\n" },
	{ "<a href='https://x.example/'>https://x.example/</a>",
	  "https://x.example/\r\n" },
	{ "<a href=\"mailto:a@b\">a@b</a>", "a@b\r\n" },
	{ "<a href=\"javascript:evil()\">j</a>", "j\r\n" },
	{ "<a href=x>unterminated", "unterminated <x>\r\n" },
	{ "&lt;b&gt; &amp; &#65;&#x42; &euro; &bogus; & x",
	  "<b> & AB \xe2\x82\xac &bogus; & x\r\n" },
	{ "<ul><li>one<li>two</ul>", "* one\r\n* two\r\n" },
	{ "<img src=x alt=\"a cat\"> <img src=y>", "[a cat]\r\n" },
	{ "<pre>a\n  b</pre>", "a\r\n  b\r\n" },
	{ "x < y > z", "x < y > z\r\n" },
	{ "<title>T</title>body", "body\r\n" },
	{ "<td>a</td><td>b</td>", "a b\r\n" },
	{ "<p>a</p><p>&nbsp;</p><p>b&nbsp;c</p>", "a\r\n\r\nb c\r\n" },
	{ "<div", "" },
	{ "<a href=\"", "" },
};

static void
test_html_to_text(void)
{
	struct buf	 b, c;
	struct html_conv *h;
	size_t		 i, j;

	test_begin("HTML to text: tags, scripts, styles and comments go, "
	    "entities decode, links show their target");
	buf_init(&b, 0);
	buf_init(&c, 0);
	for (i = 0; i < sizeof(htmls) / sizeof(htmls[0]); i++) {
		buf_reset(&b);
		html_to_text(htmls[i].html, strlen(htmls[i].html),
		    HTML_OUT_UTF8, &b);
		test_assert_str(buf_cstr(&b), htmls[i].text);
		/* byte by byte gives the same */
		buf_reset(&c);
		h = html_conv_new(HTML_OUT_UTF8);
		for (j = 0; j < strlen(htmls[i].html); j++)
			html_conv_feed(h, htmls[i].html + j, 1, &c);
		html_conv_finish(h, &c);
		html_conv_free(h);
		test_assert_str(buf_cstr(&c), buf_cstr(&b));
	}
	buf_reset(&b);
	html_to_text("&eacute;&euro;", 14, HTML_OUT_LATIN1, &b);
	test_assert_str(buf_cstr(&b), "\xe9?\r\n");
	buf_free(&b);
	buf_free(&c);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_corpus_stripped,
		test_options,
		test_alternative_prefers_text,
		test_encoded_file_in_text_counts_once,
		test_fd_matches_mem,
		test_forged_and_tagged,
		test_attached_message_headers_7bit,
		test_attached_message_of_attachment,
		test_notice_is_last_part,
		test_html_to_text,
		NULL
	};

	return test_run(tests);
}
