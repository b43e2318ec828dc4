/*
 * test-buf.c - the growable buffer and its maximum.
 */
#include <string.h>

#include "buf.h"
#include "test.h"

static void
test_buf_grows_and_stays_terminated(void)
{
	struct buf b;
	int	 i;

	test_begin("buf grows and stays NUL-terminated");
	buf_init(&b, 0);
	test_assert_str(buf_cstr(&b), "");
	for (i = 0; i < 1000; i++)
		test_assert(buf_addstr(&b, "abc") == 0);
	test_assert(b.len == 3000);
	test_assert(b.data[3000] == '\0');
	buf_free(&b);
	test_end();
}

static void
test_buf_refuses_past_max(void)
{
	struct buf b;

	test_begin("buf refuses an append past its maximum and is unchanged");
	buf_init(&b, 8);
	test_assert(buf_addstr(&b, "12345678") == 0);
	test_assert(buf_addc(&b, 'x') == -1);
	test_assert(buf_printf(&b, "%d", 1) == -1);
	test_assert(b.len == 8);
	test_assert_str(buf_cstr(&b), "12345678");
	buf_free(&b);
	test_end();
}

static void
test_buf_printf_consume(void)
{
	struct buf b;
	char	*s;

	test_begin("buf printf, consume, truncate and steal");
	buf_init(&b, 0);
	test_assert(buf_printf(&b, "%s=%d;", "a", 42) == 0);
	test_assert(buf_printf(&b, "%s", "rest") == 0);
	test_assert_str(buf_cstr(&b), "a=42;rest");
	buf_consume(&b, 5);
	test_assert_str(buf_cstr(&b), "rest");
	buf_truncate(&b, 2);
	test_assert_str(buf_cstr(&b), "re");
	test_assert(buf_memmem(&b, 0, "e", 1) == b.data + 1);
	s = buf_steal(&b);
	test_assert_str(s, "re");
	test_assert(b.data == NULL && b.len == 0);
	free(s);
	test_end();
}

static void
test_buf_binary(void)
{
	struct buf b;

	test_begin("buf holds NUL bytes");
	buf_init(&b, 0);
	test_assert(buf_add(&b, "a\0b", 3) == 0);
	test_assert(b.len == 3 && memcmp(b.data, "a\0b", 3) == 0);
	buf_wipe(&b);
	test_end();
}

static void
test_buf_consume_leaves_no_copy(void)
{
	struct buf b;
	size_t	 i, old;
	int	 clean = 1;

	test_begin("buf_consume leaves no copy of the moved or dropped bytes");
	buf_init(&b, 0);
	test_assert(buf_addstr(&b, "a001 LOGIN bob hunter2secret\r\n"
	    "a002 NOOP\r\n") == 0);
	old = b.len;
	buf_consume(&b, strlen("a001 LOGIN bob hunter2secret\r\n"));
	test_assert_str(buf_cstr(&b), "a002 NOOP\r\n");
	/*
	 * every byte that held data before and is past the live bytes now
	 * is zero (beyond that the allocation was never written)
	 */
	for (i = b.len; i < old; i++)
		if (b.data[i] != '\0')
			clean = 0;
	test_assert(clean);
	test_assert(memmem(b.data, b.cap, "hunter2", 7) == NULL);
	buf_free(&b);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_buf_grows_and_stays_terminated,
		test_buf_refuses_past_max,
		test_buf_printf_consume,
		test_buf_binary,
		test_buf_consume_leaves_no_copy,
		NULL
	};

	return test_run(tests);
}
