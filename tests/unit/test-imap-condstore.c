/*
 * test-imap-condstore.c - imapd/condstore.c: mod-sequence values as a
 * client writes them, and the MODSEQ a SEARCH or ESEARCH result reports.
 */
#include <stdint.h>
#include <string.h>

#include "../../imapd/qresync.h"
#include "test.h"

static const struct {
	const char	*in;
	int		 ok;
	uint64_t	 v;
} numbers[] = {
	{ "0", 1, 0 },
	{ "1", 1, 1 },
	{ "007", 1, 7 },
	{ "9223372036854775807", 1, 9223372036854775807ULL },
	{ "9223372036854775808", 0, 0 },
	{ "18446744073709551615", 0, 0 },
	{ "18446744073709551617", 0, 0 },
	{ "99999999999999999999999", 0, 0 },
	{ "", 0, 0 },
	{ "-1", 0, 0 },
	{ "+1", 0, 0 },
	{ " 1", 0, 0 },
	{ "1 ", 0, 0 },
	{ "1x", 0, 0 },
	{ "0x10", 0, 0 },
};

static void
test_modseq_numbers(void)
{
	uint64_t	 v;
	size_t		 i;
	int		 r;

	test_begin("condstore: mod-sequence values are digits up to 2^63-1");
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		v = 12345;
		r = condstore_number(numbers[i].in, &v);
		test_assert((r == 0) == numbers[i].ok);
		test_assert(r == 0 ? v == numbers[i].v : v == 12345);
	}
	test_assert(condstore_number(NULL, &v) == -1);
	test_end();
}

static void
test_result_modseq(void)
{
	/* results in order (sequence numbers or UIDs ascending) */
	static const uint64_t mods[] = { 5, 9, 7, 6 };

	test_begin("condstore: a result's MODSEQ is that of what it returns");
	test_assert(condstore_result_modseq(mods, 4, 0) == 9);
	test_assert(condstore_result_modseq(mods, 4, MODSEQ_OF_MIN) == 5);
	test_assert(condstore_result_modseq(mods, 4, MODSEQ_OF_MAX) == 6);
	test_assert(condstore_result_modseq(mods, 4,
	    MODSEQ_OF_MIN | MODSEQ_OF_MAX) == 6);
	test_assert(condstore_result_modseq(mods + 1, 2,
	    MODSEQ_OF_MIN | MODSEQ_OF_MAX) == 9);
	test_assert(condstore_result_modseq(mods + 1, 1, MODSEQ_OF_MAX) == 9);
	test_assert(condstore_result_modseq(mods, 0, 0) == 0);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_modseq_numbers,
		test_result_modseq,
		NULL
	};

	return test_run(tests);
}
