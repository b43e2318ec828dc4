/*
 * test.h - the unit-test harness, included once by each test program.
 *
 *	static void
 *	test_buf_grows(void)
 *	{
 *		test_begin("buf grows past its first allocation");
 *		test_assert(buf_add(&b, p, n) == 0);
 *		test_end();
 *	}
 *
 *	int main(void) { static void (*t[])(void) = { test_buf_grows, NULL };
 *	    return test_run(t); }
 *
 * Each case prints "ok <name>" or "FAIL <name>" (after the failed
 * assertions, with file and line); the last line is "N passed, N failed".
 * ./sealmail.sh test counts these lines across every test program.
 */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_UNUSED	__attribute__((unused))

static const char *test_name;
static int	 test_failed_now;
static int	 test_npassed, test_nfailed;

static TEST_UNUSED void
test_begin(const char *name)
{
	test_name = name;
	test_failed_now = 0;
}

static TEST_UNUSED void
test_fail(const char *file, int line, const char *expr)
{
	printf("  %s:%d: assertion failed: %s\n", file, line, expr);
	test_failed_now = 1;
}

#define test_assert(expr) do {						\
	if (!(expr))							\
		test_fail(__FILE__, __LINE__, #expr);			\
} while (0)

#define test_assert_str(a, b) do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {		\
		printf("  got \"%s\", want \"%s\"\n",			\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
		test_fail(__FILE__, __LINE__, #a " == " #b);		\
	}								\
} while (0)

static TEST_UNUSED void
test_end(void)
{
	if (test_failed_now) {
		printf("FAIL %s\n", test_name);
		test_nfailed++;
	} else {
		printf("ok %s\n", test_name);
		test_npassed++;
	}
	fflush(stdout);
}

static TEST_UNUSED int
test_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Remove path and everything below it; links are removed, not followed. */
static TEST_UNUSED void
test_rmtree(const char *path)
{
	nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static TEST_UNUSED int
test_run(void (*const tests[])(void))
{
	size_t	 i;

	for (i = 0; tests[i] != NULL; i++)
		tests[i]();
	printf("%d passed, %d failed\n", test_npassed, test_nfailed);
	return test_nfailed == 0 ? 0 : 1;
}

#endif
