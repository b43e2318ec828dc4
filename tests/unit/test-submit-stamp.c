/*
 * test-submit-stamp.c - the header fields submitd adds (submitd/stamp.c).
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "stamp.h"
#include "test.h"

static void
test_clean_removes_header_breakers(void)
{
	char	 out[32];

	test_begin("client strings cannot break or inject header fields");
	test_assert_str(stamp_clean("mail.example.test", out, sizeof(out)),
	    "mail.example.test");
	test_assert_str(stamp_clean("[192.0.2.1]", out, sizeof(out)),
	    "[192.0.2.1]");
	test_assert_str(stamp_clean("x\r\nBcc: a@b", out, sizeof(out)),
	    "x??Bcc:?a@b");
	test_assert_str(stamp_clean("a (b);c", out, sizeof(out)),
	    "a??b??c");
	test_assert_str(stamp_clean("", out, sizeof(out)), "unknown");
	test_assert(strlen(stamp_clean("0123456789012345678901234567890123",
	    out, sizeof(out))) == sizeof(out) - 1);
	test_end();
}

static void
test_date_is_rfc5322(void)
{
	char	 d[64];

	test_begin("Date: RFC 5322 date-time in UTC");
	stamp_date(d, sizeof(d), 0);
	test_assert_str(d, "Thu, 1 Jan 1970 00:00:00 +0000");
	stamp_date(d, sizeof(d), 1763913600);
	test_assert_str(d, "Sun, 23 Nov 2025 16:00:00 +0000");
	test_end();
}

static void
test_received_names_user_unless_privileged(void)
{
	struct stamp_info si = {
		.id = "0123456789abcdef", .hostname = "mx.example.test",
		.helo = "client\r\nX-Evil: 1", .client = "192.0.2.7",
		.tls_proto = "TLSv1.3", .tls_cipher = "TLS_AES_128_GCM_SHA256",
		.user = "alice@example.test", .now = 0
	};
	struct buf b;

	test_begin("Received: tracking ID, TLS, user only when not "
	    "privileged");
	buf_init(&b, 0);
	stamp_received(&b, &si);
	test_assert_str(buf_cstr(&b),
	    "Received: from client??X-Evil:?1 ([192.0.2.7])\r\n"
	    "\t(authenticated user alice@example.test)\r\n"
	    "\tby mx.example.test (Sealmail submitd) with ESMTPSA id "
	    "0123456789abcdef\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256);\r\n"
	    "\tThu, 1 Jan 1970 00:00:00 +0000\r\n");
	buf_reset(&b);
	si.user = NULL;
	si.client = "2001:db8::1";
	stamp_received(&b, &si);
	test_assert(strstr(buf_cstr(&b), "authenticated") == NULL);
	test_assert(strstr(buf_cstr(&b), "([IPv6:2001:db8::1])") != NULL);
	buf_free(&b);
	test_end();
}

static void
test_message_copies_behind_prefix(void)
{
	struct buf p;
	char	 out[256];
	ssize_t	 n;
	int	 src, fd;

	test_begin("the stamped message: prefix, then the message as sent");
	buf_init(&p, 0);
	buf_addstr(&p, "Received: x\r\n");
	src = memfd_create("t", 0);
	test_assert(write(src, "Subject: s\r\n\r\nbody\r\n", 20) == 20);
	fd = stamp_message(&p, src, 0);
	n = read(fd, out, sizeof(out) - 1);
	test_assert(n == 33);
	out[n > 0 ? n : 0] = '\0';
	test_assert_str(out, "Received: x\r\nSubject: s\r\n\r\nbody\r\n");
	close(fd);
	/* a message without header gets the blank line that ends ours */
	fd = stamp_message(&p, src, 1);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	test_assert(strncmp(out, "Received: x\r\n\r\nSubject", 22) == 0);
	close(fd);
	close(src);
	buf_free(&p);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_clean_removes_header_breakers,
		test_date_is_rfc5322,
		test_received_names_user_unless_privileged,
		test_message_copies_behind_prefix,
		NULL
	};

	return test_run(tests);
}
