/*
 * test-queue.c - smtpd's queue files: envelope format round trip and
 * refusals (common/qenv.c), retry backoff, the DSN report and the
 * administration functions sealmailctl links (common/qadmin.c).  Queue
 * IDs and addresses: test-qhandoff.c.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "qadmin.h"
#include "smtpd.h"
#include "test.h"

static void
sample(struct q_envelope *e)
{
	q_env_init(e);
	memcpy(e->id, "0123456789abcdef", Q_ID_LEN + 1);
	e->created = 1763900000;
	e->next = 1763900300;
	e->attempts = 2;
	e->class = Q_CLASS_UNSAFE;
	free(e->from);
	e->from = strdup("\"john doe\"@example.org");
	free(e->helo);
	e->helo = strdup("mx.example.org");
	q_env_add_rcpt(e, "Bob@example.test", "bob@example.test",
	    Q_RS_PENDING);
	q_env_add_rcpt(e, "carol@example.net", "", Q_RS_REMOTE);
	e->rcpt[0].last = strdup("451 4.2.0 busy now");
}

/* Every envelope of the list is refused; 1, or 0 naming the first not. */
static int
all_refused(const char *const *bad, size_t n)
{
	struct q_envelope	 e;
	char			 err[128];
	size_t			 i;

	for (i = 0; i < n; i++)
		if (q_env_parse(bad[i], strlen(bad[i]), &e, err,
		    sizeof(err)) != -1) {
			printf("  accepted case %zu\n", i);
			q_env_free(&e);
			return 0;
		}
	return 1;
}

static void
test_envelope_roundtrip(void)
{
	struct q_envelope	 e, f;
	char			*text, err[128];
	size_t			 len;

	test_begin("envelope survives format and parse");
	sample(&e);
	q_env_format(&e, &text, &len);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.id, e.id);
	test_assert_str(f.from, "\"john doe\"@example.org");
	test_assert(f.created == e.created && f.next == e.next);
	test_assert(f.attempts == 2 && f.class == Q_CLASS_UNSAFE);
	test_assert(f.nrcpt == 2);
	test_assert_str(f.rcpt[0].addr, "Bob@example.test");
	test_assert_str(f.rcpt[0].user, "bob@example.test");
	test_assert(f.rcpt[0].state == Q_RS_PENDING);
	test_assert_str(f.rcpt[0].last, "451 4.2.0 busy now");
	test_assert_str(f.rcpt[1].user, "");
	test_assert(f.rcpt[1].state == Q_RS_REMOTE);
	free(text);
	q_env_free(&e);
	q_env_free(&f);
	test_end();
}

static void
test_envelope_author_and_signed(void)
{
	static const char *const bad[] = {
		"id 0123456789abcdef\nauthor a@b c\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nauthor [192.0.2.1]\n"
		    "rcpt pending a@b a@b\n",
		"id 0123456789abcdef\nsigned no\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nsigned 1\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nrequiretls no\nrcpt pending a@b a@b\n",
	};
	struct q_envelope	 e, f;
	char			*text, err[128];
	size_t			 len;
	int			 ok = 1;

	test_begin("the author, the signed mark and REQUIRETLS survive format "
	    "and parse");
	sample(&e);
	q_env_format(&e, &text, &len);
	/* port 25 mail: no author, not signed, no line for either */
	test_assert(strstr(text, "author") == NULL);
	test_assert(strstr(text, "signed") == NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.author, "");
	test_assert(!f.is_signed);
	free(text);
	q_env_free(&f);
	free(e.author);
	e.author = strdup("alice@example.test");
	q_env_format(&e, &text, &len);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.author, "alice@example.test");
	test_assert(!f.is_signed);
	free(text);
	q_env_free(&f);
	e.is_signed = 1;
	q_env_format(&e, &text, &len);
	test_assert(strstr(text, "\nauthor alice@example.test\nsigned yes\n")
	    != NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.author, "alice@example.test");
	test_assert(f.is_signed);
	test_assert(!f.requiretls);
	free(text);
	q_env_free(&f);
	e.requiretls = 1;
	q_env_format(&e, &text, &len);
	test_assert(strstr(text, "\nsigned yes\nrequiretls yes\n") != NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert(f.requiretls);
	free(text);
	q_env_free(&f);
	q_env_free(&e);
	ok &= all_refused(bad, sizeof(bad) / sizeof(bad[0]));
	test_assert(ok);
	test_end();
}

static void
test_envelope_authres(void)
{
	static const char field[] = "Authentication-Results: "
	    "mail.example.test;\r\n"
	    "\tdkim=pass header.d=example.test header.s=sabc header.a="
	    "rsa-sha256;\r\n"
	    "\tauth=pass smtp.auth=alice@example.test\r\n";
	static const char *const bad[] = {
		/* not the field */
		"id 0123456789abcdef\nauthres X-Other: a\n"
		    "rcpt pending a@b a@b\n",
		"id 0123456789abcdef\nauthres \n"
		    "rcpt pending a@b a@b\n",
		/* a control character that is no fold */
		"id 0123456789abcdef\nauthres Authentication-Results: a;\x01"
		    "b\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nauthres Authentication-Results: a;\r"
		    "b\nrcpt pending a@b a@b\n",
	};
	static const char *const badfield[] = {
		"Authentication-Results: a; dkim=pass",		/* no CRLF */
		"Authentication-Results: a;\r\n dkim=pass\r\n",	/* fold */
		"Authentication-Results: a;\n\tdkim=pass\r\n",	/* LF */
		"Authentication-Results: a;\tdkim=pass\r\n",	/* tab */
		"Authentication-Results: a;\r\n\r\n",		/* end */
		"X-Authentication-Results: a;\r\n",
	};
	struct q_envelope	 e, f;
	char			*text, err[128];
	size_t			 len, i;
	int			 ok = 1;

	test_begin("the Authentication-Results field survives format and "
	    "parse, folds and all, on one envelope line");
	test_assert(q_authres_valid(field));
	sample(&e);
	q_env_format(&e, &text, &len);
	test_assert(strstr(text, "authres") == NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.authres, "");
	free(text);
	q_env_free(&f);
	free(e.authres);
	e.authres = strdup(field);
	q_env_format(&e, &text, &len);
	test_assert(strstr(text, "\nauthres Authentication-Results: "
	    "mail.example.test;\tdkim=pass header.d=example.test header.s="
	    "sabc header.a=rsa-sha256;\tauth=pass smtp.auth="
	    "alice@example.test\n") != NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert_str(f.authres, field);
	free(text);
	q_env_free(&f);
	q_env_free(&e);
	ok &= all_refused(bad, sizeof(bad) / sizeof(bad[0]));
	for (i = 0; i < sizeof(badfield) / sizeof(badfield[0]); i++)
		if (q_authres_valid(badfield[i])) {
			printf("  accepted field %zu\n", i);
			ok = 0;
		}
	test_assert(ok);
	test_end();
}

static void
test_only_submitd_names_an_author(void)
{
	struct q_handoff_rcpt	 rc[2] = {
		{ "bob@example.test", "bob@example.test", Q_RCPT_LOCAL },
		{ "carol@example.net", "", 0 },
	};
	struct q_handoff	 h = { "", "alice@example.test", Q_CLASS_SAFE,
				    "client.test", "192.0.2.7", 1, rc,
				    "alice@example.test", Q_MSG_REQUIRETLS };
	struct q_envelope	 e;
	const char		*why = NULL;

	test_begin("the queue takes an author from submitd, never from the "
	    "receiver");
	test_assert(q_env_of_handoff(&h, 1, &e, &why) == 0);
	test_assert_str(e.author, "alice@example.test");
	test_assert_str(e.source, "submit");
	test_assert(e.class == Q_CLASS_SAFE && !e.is_signed);
	test_assert(e.requiretls);
	q_env_free(&e);
	/* the receiver (which parses port 25) claiming one is refused */
	test_assert(q_env_of_handoff(&h, 0, &e, &why) == -1);
	test_assert_str(why, "the receiver named an author");
	/* without one its mail is taken with no author, in the class the
	 * receiver's verification gave it; anything but SAFE is unsafe */
	h.author = "";
	test_assert(q_env_of_handoff(&h, 0, &e, &why) == 0);
	test_assert_str(e.author, "");
	test_assert(e.class == Q_CLASS_SAFE);
	q_env_free(&e);
	h.class = 7;
	test_assert(q_env_of_handoff(&h, 0, &e, &why) == 0);
	test_assert(e.class == Q_CLASS_UNSAFE);
	q_env_free(&e);
	h.class = Q_CLASS_SAFE;
	h.author = NULL;
	test_assert(q_env_of_handoff(&h, 0, &e, &why) == 0);
	test_assert_str(e.author, "");
	q_env_free(&e);
	/* nor may it relay */
	h.nrcpt = 2;
	test_assert(q_env_of_handoff(&h, 0, &e, &why) == -1);
	test_assert(q_env_of_handoff(&h, 1, &e, &why) == 0);
	test_assert(e.rcpt[1].state == Q_RS_REMOTE);
	q_env_free(&e);
	test_end();
}

static void
test_envelope_refusals(void)
{
	static const char *const bad[] = {
		"version 2\nid 0123456789abcdef\nrcpt pending a@b a@b\n",
		"id 0123456789abcdeX\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\n",
		"id 0123456789abcdef\nrcpt lost a@b a@b\n",
		"id 0123456789abcdef\nrcpt pending a@b a@b",
		"id 0123456789abcdef\nattempts -1\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nbogus 1\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nrcpt pending a@b a@b\nnote 5 x\n",
	};
	test_begin("malformed envelopes are refused");
	test_assert(all_refused(bad, sizeof(bad) / sizeof(bad[0])));
	test_end();
}

static void
test_envelope_addresses_are_addresses(void)
{
	static const char *const bad[] = {
		/* what would carry a parameter into MAIL or RCPT */
		"id 0123456789abcdef\nfrom a@example.org> X-SEALMAIL-CLASS="
		    "safe Z=\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nfrom a@example.org\nrcpt pending "
		    "a@b a@b> X=1\n",
		"id 0123456789abcdef\nrcpt pending a@b> a@b\n",
		"id 0123456789abcdef\nfrom <a@example.org>\n"
		    "rcpt pending a@b a@b\n",
		"id 0123456789abcdef\nfrom nodomain\nrcpt pending a@b a@b\n",
		"id 0123456789abcdef\nrcpt pending a@b nodomain\n",
		"id 0123456789abcdef\nrcpt remote - a@b@c\n",
		"id 0123456789abcdef\nrcpt remote - a..b@c\n",
		"id 0123456789abcdef\nrcpt remote - a@b\tc\n",
	};
	static const char good[] = "id 0123456789abcdef\nfrom \n"
	    "rcpt pending bob@example.test Postmaster\n"
	    "rcpt pending j\xc3\xb6@example.test \"j d\"@example.test\n";
	struct q_envelope	 e;
	char			 err[128];
	int			 ok = 1;

	test_begin("an envelope with anything but addresses is refused");
	ok &= all_refused(bad, sizeof(bad) / sizeof(bad[0]));
	test_assert(ok);
	test_assert(q_env_parse(good, strlen(good), &e, err,
	    sizeof(err)) == 0);
	test_assert(e.nrcpt == 2 && e.from[0] == '\0');
	test_assert_str(e.rcpt[1].addr, "\"j d\"@example.test");
	q_env_free(&e);
	test_end();
}

static void
test_unknown_class_is_unsafe(void)
{
	const char		*t = "id 0123456789abcdef\nclass trusted\n"
	    "rcpt pending a@b a@b\n";
	struct q_envelope	 e;
	char			 err[128];

	test_begin("an unknown class reads as unsafe");
	test_assert(q_env_parse(t, strlen(t), &e, err, sizeof(err)) == 0);
	test_assert(e.class == Q_CLASS_UNSAFE);
	q_env_free(&e);
	test_end();
}

static void
test_backoff(void)
{
	test_begin("retry delay doubles from retry_min up to retry_max");
	test_assert(q_backoff(1, 300, 14400) == 300);
	test_assert(q_backoff(2, 300, 14400) == 600);
	test_assert(q_backoff(4, 300, 14400) == 2400);
	test_assert(q_backoff(10, 300, 14400) == 14400);
	test_assert(q_backoff(100000, 300, 14400) == 14400);
	test_end();
}

static void
test_dsn(void)
{
	struct sm_config	 cfg;
	struct q_envelope	 e;
	char			 out[16384];
	const char		 orig[] = "Subject: hello\r\n"
	    "--boundary-ish: x\r\nFrom: a@example.org\r\n\r\nsecret body\r\n";
	int			 ofd, dfd;
	ssize_t			 n;

	test_begin("DSN is a multipart/report with status and headers only");
	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = "mx.example.test";
	sample(&e);
	e.rcpt[0].state = Q_RS_FAILED;
	free(e.rcpt[0].last);
	e.rcpt[0].last = strdup("550 5.1.1 No such user");
	ofd = memfd_create("o", 0);
	dfd = memfd_create("d", 0);
	test_assert(write(ofd, orig, sizeof(orig) - 1) > 0);
	test_assert(q_dsn_write(dfd, &cfg, &e, ofd, "fedcba9876543210") == 0);
	n = pread(dfd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	test_assert(strstr(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status") != NULL);
	test_assert(strstr(out, "Final-Recipient: rfc822; Bob@example.test")
	    != NULL);
	test_assert(strstr(out, "Status: 5.1.1\r\n") != NULL);
	test_assert(strstr(out, "Action: failed") != NULL);
	test_assert(strstr(out, "Subject: hello\r\n") != NULL);
	test_assert(strstr(out, "secret body") == NULL);
	test_assert(strstr(out, "\r\n--boundary-ish") == NULL);
	test_assert(strstr(out, "carol@example.net") == NULL);
	close(ofd);
	close(dfd);
	q_env_free(&e);
	test_end();
}

static void
test_delay_notice(void)
{
	struct sm_config	 cfg;
	struct q_envelope	 e, f;
	char			 out[16384], *text, err[128];
	const char		 orig[] = "Subject: hello\r\n\r\nbody\r\n";
	int			 ofd, dfd;
	size_t			 len;
	ssize_t			 n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = "mx.example.test";
	cfg.queue_lifetime = 5 * 86400;
	sample(&e);
	e.created = time(NULL) - 3600;

	test_begin("no delay notice when delay_warning_time is 0 (off) or "
	    "not reached");
	test_assert(!q_dsn_delay_due(&e, &cfg, time(NULL)));
	cfg.delay_warning_time = 7200;
	test_assert(!q_dsn_delay_due(&e, &cfg, time(NULL)));
	test_end();

	test_begin("a delay notice: Action: delayed for each recipient still "
	    "tried, once (RFC 3464)");
	cfg.delay_warning_time = 1800;
	test_assert(q_dsn_delay_due(&e, &cfg, time(NULL)));
	ofd = memfd_create("o", 0);
	dfd = memfd_create("d", 0);
	test_assert(write(ofd, orig, sizeof(orig) - 1) > 0);
	test_assert(q_dsn_write(dfd, &cfg, &e, ofd, "fedcba9876543210") == 0);
	n = pread(dfd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	test_assert(strstr(out, "Subject: Delayed Mail (still being "
	    "retried)\r\n") != NULL);
	test_assert(strstr(out, "Final-Recipient: rfc822; carol@example.net"
	    "\r\nAction: delayed\r\nStatus: 4.0.0\r\n") != NULL);
	test_assert(strstr(out, "Final-Recipient: rfc822; Bob@example.test"
	    "\r\nAction: delayed\r\nStatus: 4.2.0\r\nDiagnostic-Code: "
	    "smtp; 451 4.2.0 busy now\r\nWill-Retry-Until: ") != NULL);
	test_assert(strstr(out, "Action: failed") == NULL);
	test_assert(e.delay_warned);
	test_assert(!q_dsn_delay_due(&e, &cfg, time(NULL)));
	test_end();

	test_begin("the delay notice mark survives format and parse");
	q_env_format(&e, &text, &len);
	test_assert(strstr(text, "\ndelayed yes\n") != NULL);
	test_assert(q_env_parse(text, len, &f, err, sizeof(err)) == 0);
	test_assert(f.delay_warned);
	test_assert(!q_dsn_delay_due(&f, &cfg, time(NULL)));
	free(text);
	q_env_free(&f);
	test_end();

	test_begin("never a delay notice to the null sender or for a DSN");
	e.delay_warned = 0;
	free(e.from);
	e.from = strdup("");
	test_assert(!q_dsn_delay_due(&e, &cfg, time(NULL)));
	free(e.from);
	e.from = strdup("a@example.org");
	free(e.source);
	e.source = strdup("dsn");
	test_assert(!q_dsn_delay_due(&e, &cfg, time(NULL)));
	test_end();

	test_begin("a bounce and a delay due together: one DSN with both");
	free(e.source);
	e.source = strdup("smtp");
	e.rcpt[0].state = Q_RS_FAILED;
	test_assert(ftruncate(dfd, 0) == 0 && lseek(dfd, 0, SEEK_SET) == 0);
	test_assert(q_dsn_write(dfd, &cfg, &e, ofd, "fedcba9876543210") == 0);
	n = pread(dfd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	test_assert(strstr(out, "Subject: Undelivered Mail Returned to "
	    "Sender\r\n") != NULL);
	test_assert(strstr(out, "Action: failed") != NULL);
	test_assert(strstr(out, "carol@example.net\r\nAction: delayed") !=
	    NULL);
	close(ofd);
	close(dfd);
	q_env_free(&e);
	test_end();
}

/* The text/rfc822-headers part of a DSN in out, or NULL. */
static const char *
dsn_part(const char *out, size_t *len)
{
	const char	*p, *e;

	if ((p = strstr(out, "Content-Type: text/rfc822-headers\r\n\r\n")) ==
	    NULL)
		return NULL;
	p += strlen("Content-Type: text/rfc822-headers\r\n\r\n");
	if ((e = strstr(p, "\r\n--0123456789abcdef/mx.example.test--")) ==
	    NULL)
		return NULL;
	*len = (size_t)(e - p);
	return p;
}

static void
test_dsn_headers_are_bounded_at_a_field(void)
{
	struct sm_config	 cfg;
	struct q_envelope	 e;
	char			*orig, *out;
	const char		*part;
	size_t			 olen = 0, plen = 0;
	int			 ofd, dfd, i;
	ssize_t			 n;

	test_begin("DSN returns whole header fields, at most 8 KB of them");
	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = "mx.example.test";
	sample(&e);
	e.rcpt[0].state = Q_RS_FAILED;
	orig = malloc(65536);
	out = malloc(65536);
	/* 30 KB of folded fields, then a body that must not come back */
	for (i = 0; i < 200; i++)
		olen += (size_t)snprintf(orig + olen, 65536 - olen,
		    "X-Filler-%03d: %.*s\r\n\tcontinued %.*s\r\n", i,
		    40 + i % 37, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 50 + i % 13,
		    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		    "bbbb");
	olen += (size_t)snprintf(orig + olen, 65536 - olen,
	    "\r\nsecret body\r\n");
	ofd = memfd_create("o", 0);
	dfd = memfd_create("d", 0);
	test_assert(write(ofd, orig, olen) == (ssize_t)olen);
	test_assert(q_dsn_write(dfd, &cfg, &e, ofd, "fedcba9876543210") == 0);
	n = pread(dfd, out, 65535, 0);
	out[n > 0 ? n : 0] = '\0';
	test_assert((part = dsn_part(out, &plen)) != NULL);
	test_assert(plen <= DSN_HEADERS_MAX && plen > DSN_HEADERS_MAX - 200);
	/* a prefix of the original that ends where a field ends */
	test_assert(part != NULL && memcmp(part, orig, plen) == 0);
	test_assert(strncmp(orig + plen, "X-Filler-", 9) == 0);
	test_assert(strstr(out, "secret body") == NULL);
	test_assert(strstr(out, "X-Filler-199") == NULL);

	/* a first field larger than the bound: nothing of it */
	memset(orig, 'x', 20000);
	memcpy(orig, "X-Huge: ", 8);
	memcpy(orig + 20000, "\r\nSubject: s\r\n\r\nbody\r\n", 22);
	test_assert(ftruncate(ofd, 0) == 0 && ftruncate(dfd, 0) == 0 &&
	    lseek(dfd, 0, SEEK_SET) == 0);
	test_assert(pwrite(ofd, orig, 20022, 0) == 20022);
	test_assert(q_dsn_write(dfd, &cfg, &e, ofd, "fedcba9876543210") == 0);
	n = pread(dfd, out, 65535, 0);
	out[n > 0 ? n : 0] = '\0';
	test_assert((part = dsn_part(out, &plen)) != NULL && plen == 0);
	test_assert(strstr(out, "xxxxxxxx") == NULL);
	close(ofd);
	close(dfd);
	free(orig);
	free(out);
	q_env_free(&e);
	test_end();
}

static void
test_admin(void)
{
	char			 dir[] = "/tmp/sm-test-queue.XXXXXX";
	char			 path[256], err[256], *buf = NULL;
	size_t			 blen = 0;
	struct q_envelope	 e;
	FILE			*f;
	int			 qfd, fd;

	test_begin("admin list, show and delete over a queue directory");
	test_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/queue", dir);
	mkdir(path, 0700);
	qfd = open(path, O_RDONLY | O_DIRECTORY);
	mkdirat(qfd, "0123456789abcdef", 0700);
	fd = openat(qfd, "0123456789abcdef/message", O_WRONLY | O_CREAT, 0600);
	test_assert(write(fd, "Subject: hi\r\n\r\nbody\r\n", 21) == 21);
	close(fd);
	sample(&e);
	snprintf(path, sizeof(path), "0123456789abcdef/envelope");
	test_assert(q_env_write(qfd, path, &e) == 0);
	q_env_free(&e);

	f = open_memstream(&buf, &blen);
	test_assert(q_admin_list(dir, f, err, sizeof(err)) == 0);
	fclose(f);
	test_assert(strstr(buf, "id=0123456789abcdef ") != NULL);
	test_assert(strstr(buf, "size=21 ") != NULL);
	test_assert(strstr(buf, "pending=1 remote=1") != NULL);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &blen);
	test_assert(q_admin_show(dir, "0123456789abcdef", f, err,
	    sizeof(err)) == 0);
	fclose(f);
	test_assert(strstr(buf, "rcpt=<Bob@example.test> user=bob@example.test"
	    " state=pending") != NULL);
	test_assert(strstr(buf, "Subject: hi\n") != NULL);
	test_assert(strstr(buf, "body") == NULL);
	free(buf);
	test_assert(q_admin_show(dir, "../x", stdout, err, sizeof(err)) == -1);
	test_assert(q_admin_delete(dir, "0123456789abcdef", err,
	    sizeof(err)) == 0);
	test_assert(faccessat(qfd, "0123456789abcdef", F_OK, 0) == -1);
	test_assert(q_admin_delete(dir, "0123456789abcdef", err,
	    sizeof(err)) == -1);
	close(qfd);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	test_assert(system(path) == 0);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_envelope_roundtrip,
		test_envelope_author_and_signed,
		test_envelope_authres,
		test_only_submitd_names_an_author,
		test_envelope_refusals,
		test_envelope_addresses_are_addresses,
		test_unknown_class_is_unsafe,
		test_backoff,
		test_dsn,
		test_delay_notice,
		test_dsn_headers_are_bounded_at_a_field,
		test_admin,
		NULL
	};

	log_init("test-queue", 1, LOG_LVL_ERR);
	return test_run(tests);
}
