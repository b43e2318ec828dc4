/*
 * test-maildirsize.c - unit tests of common/maildirsize.c, the Maildir++
 * quota file: its parser (a table of files, well-formed and not), and
 * when the usage is read from it, when the Maildir is counted again and
 * the file rewritten (missing, long, stale, another quota, corrupt, a
 * message that does not fit), and the lines an add appends.  Each case
 * works in its own temporary Maildir.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "maildir.h"
#include "test.h"

static const struct {
	const char	*file;
	int		 ok;
	uint64_t	 limit_bytes;
	uint64_t	 limit_count;
	int64_t		 bytes;
	int64_t		 count;
} files[] = {
	{ "1000S\n", 1, 1000, 0, 0, 0 },
	{ "1000S\n10 1\n", 1, 1000, 0, 10, 1 },
	{ "1000S\n10 1\n20 2\n-5 -1\n", 1, 1000, 0, 25, 2 },
	{ "1000S,50C\n7 1\n", 1, 1000, 50, 7, 1 },
	{ "50C,1000S\n7 1\n", 1, 1000, 50, 7, 1 },
	{ "\n7 1\n", 1, 0, 0, 7, 1 },		/* no quota given */
	{ "1000S\n  7   1  \n", 1, 1000, 0, 7, 1 },
	{ "1000S\n999999999999999999 1\n", 1, 1000, 0,
	    999999999999999999LL, 1 },
	/* malformed: the caller counts again */
	{ "", 0, 0, 0, 0, 0 },
	{ "1000S", 0, 0, 0, 0, 0 },		/* no LF */
	{ "1000S\n10 1", 0, 0, 0, 0, 0 },	/* last line cut */
	{ "1000X\n", 0, 0, 0, 0, 0 },
	{ "1000\n", 0, 0, 0, 0, 0 },
	{ "S\n", 0, 0, 0, 0, 0 },
	{ "1000S,\n", 0, 0, 0, 0, 0 },
	{ "-1000S\n", 0, 0, 0, 0, 0 },
	{ "1000S\n10\n", 0, 0, 0, 0, 0 },	/* one number */
	{ "1000S\n10 1 3\n", 0, 0, 0, 0, 0 },
	{ "1000S\n\n", 0, 0, 0, 0, 0 },	/* empty line */
	{ "1000S\nx 1\n", 0, 0, 0, 0, 0 },
	{ "1000S\n10\t1\n", 0, 0, 0, 0, 0 },
	{ "1000S\n- 1\n", 0, 0, 0, 0, 0 },
	{ "1000S\n-5 -1\n", 0, 0, 0, 0, 0 },	/* below zero */
	{ "1000S\n1000000000000000000 1\n", 0, 0, 0, 0, 0 }, /* too big */
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

static void
test_parse_table(void)
{
	struct md_quota	 q;
	size_t		 i;
	int		 r;

	test_begin("maildirsize: the parser reads the quota line and sums "
	    "the lines, and refuses what is malformed");
	for (i = 0; i < NFILES; i++) {
		r = md_quota_parse(files[i].file, strlen(files[i].file), &q);
		if ((r == 0) != files[i].ok || (r == 0 &&
		    (q.limit_bytes != files[i].limit_bytes ||
		    q.limit_count != files[i].limit_count ||
		    q.bytes != files[i].bytes || q.count != files[i].count))) {
			fprintf(stderr, "file %zu\n", i);
			test_assert(0);
		}
	}
	test_assert(md_quota_parse("1000S\n10 1\0\n", 12, &q) == -1);
	test_end();
}

static char	 top[256];

/* A Maildir (tmp, new, cur) in a fresh temporary directory. */
static int
setup(void)
{
	struct md_folder f;
	int	 fd;

	snprintf(top, sizeof(top), "/tmp/test-maildirsize.XXXXXX");
	if (mkdtemp(top) == NULL || (fd = open(top, O_RDONLY |
	    O_DIRECTORY)) == -1 || md_folder_open(fd, NULL, 1, &f) == -1) {
		perror("setup");
		exit(1);
	}
	md_folder_close(&f);
	return fd;
}

static void
teardown(int fd)
{
	close(fd);
	test_rmtree(top);
}

/* A message of n bytes in new/ of folder (NULL: the Maildir). */
static void
put(int mfd, const char *folder, size_t n)
{
	struct md_folder f;
	struct md_src	 src = { NULL, NULL, 0, -1, 0 };
	char		 name[MD_NAME_MAX], *data = calloc(1, n + 1);

	src.data = data;
	src.len = n;
	if (md_folder_open(mfd, folder, 1, &f) == -1 ||
	    md_store(&f, &src, "mx", name, sizeof(name)) == -1) {
		perror("put");
		exit(1);
	}
	md_folder_close(&f);
	free(data);
}

static void
file_write(int mfd, const char *s)
{
	int	 fd;

	fd = openat(mfd, "maildirsize", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		perror("maildirsize");
		exit(1);
	}
	close(fd);
}

/* The file's text into b (empty if none). */
static void
file_read(int mfd, struct buf *b)
{
	char	 s[8192];
	ssize_t	 n = 0;
	int	 fd;

	buf_reset(b);
	if ((fd = openat(mfd, "maildirsize", O_RDONLY)) != -1) {
		n = read(fd, s, sizeof(s));
		close(fd);
	}
	if (n > 0)
		buf_add(b, s, (size_t)n);
}

static void
test_missing_is_counted_and_written(void)
{
	struct buf	 b;
	int		 mfd = setup();

	test_begin("maildirsize: a missing file is counted from the Maildir "
	    "and its folders, and written");
	buf_init(&b, 0);
	put(mfd, NULL, 100);
	put(mfd, ".Unsafe", 50);
	test_assert(md_quota_usage(mfd, 1000, 10) == 150);
	file_read(mfd, &b);
	test_assert_str(buf_cstr(&b), "1000S\n150 2\n");
	buf_free(&b);
	teardown(mfd);
	test_end();
}

static void
test_trusted_file_is_not_counted(void)
{
	struct buf	 b;
	int		 mfd = setup();

	test_begin("maildirsize: a fresh file with the same quota is "
	    "believed, with the lines an add appends");
	buf_init(&b, 0);
	put(mfd, NULL, 100);
	file_write(mfd, "1000S\n300 3\n");
	test_assert(md_quota_usage(mfd, 1000, 10) == 300);
	test_assert(md_quota_add(mfd, 40, 1) == 0);
	test_assert(md_quota_add(mfd, -300, -3) == 0);
	file_read(mfd, &b);
	test_assert_str(buf_cstr(&b), "1000S\n300 3\n40 1\n-300 -3\n");
	test_assert(md_quota_usage(mfd, 1000, 10) == 40);
	buf_free(&b);
	teardown(mfd);
	test_end();
}

static void
test_add_without_file_makes_none(void)
{
	struct stat	 st;
	int		 mfd = setup();

	test_begin("maildirsize: an add makes no file where there is none");
	test_assert(md_quota_add(mfd, 40, 1) == 0);
	test_assert(fstatat(mfd, "maildirsize", &st, 0) == -1 &&
	    errno == ENOENT);
	test_assert(symlinkat("/etc/passwd", mfd, "maildirsize") == 0);
	test_assert(md_quota_add(mfd, 40, 1) == -1);
	teardown(mfd);
	test_end();
}

static void
test_untrusted_file_is_recounted(void)
{
	static const char *bad[] = {
		"2000S\n300 3\n",		/* another quota */
		"1000S,10C\n300 3\n",		/* a count quota */
		"1000S\n300 3\n12",		/* cut short */
		"1000S\n300 3\n-900 -9\n",	/* below zero */
		"garbage",
	};
	struct buf	 b;
	size_t		 i;
	int		 mfd = setup();

	test_begin("maildirsize: another quota, a corrupt or a link file is "
	    "counted again and rewritten");
	buf_init(&b, 0);
	put(mfd, NULL, 100);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		file_write(mfd, bad[i]);
		test_assert(md_quota_usage(mfd, 1000, 10) == 100);
		file_read(mfd, &b);
		test_assert_str(buf_cstr(&b), "1000S\n100 1\n");
	}
	unlinkat(mfd, "maildirsize", 0);
	test_assert(symlinkat("/etc/passwd", mfd, "maildirsize") == 0);
	test_assert(md_quota_usage(mfd, 1000, 10) == 100);
	file_read(mfd, &b);
	test_assert_str(buf_cstr(&b), "1000S\n100 1\n");
	buf_free(&b);
	teardown(mfd);
	test_end();
}

static void
test_long_or_stale_file_is_recounted(void)
{
	struct timespec	 ts[2];
	struct buf	 b;
	int		 mfd = setup(), i;

	test_begin("maildirsize: a file of 5120 bytes or more, or older "
	    "than 15 minutes, is counted again");
	buf_init(&b, 0);
	put(mfd, NULL, 100);
	file_write(mfd, "1000S\n");
	for (i = 0; i < 1000; i++)
		md_quota_add(mfd, 0, 0);	/* 4 bytes each */
	file_read(mfd, &b);
	test_assert(b.len >= 4000 && b.len < 5120);
	test_assert(md_quota_usage(mfd, 1000, 10) == 0);
	for (i = 0; i < 300; i++)
		md_quota_add(mfd, 0, 0);
	test_assert(md_quota_usage(mfd, 1000, 10) == 100);
	file_read(mfd, &b);
	test_assert_str(buf_cstr(&b), "1000S\n100 1\n");

	file_write(mfd, "1000S\n7 1\n");
	test_assert(md_quota_usage(mfd, 1000, 10) == 7);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 16 * 60;
	ts[1] = ts[0];
	test_assert(utimensat(mfd, "maildirsize", ts, 0) == 0);
	test_assert(md_quota_usage(mfd, 1000, 10) == 100);
	buf_free(&b);
	teardown(mfd);
	test_end();
}

static void
test_no_room_is_recounted(void)
{
	struct buf	 b;
	int		 mfd = setup();

	test_begin("maildirsize: when the file says a message does not fit, "
	    "the Maildir is counted before it is refused");
	buf_init(&b, 0);
	put(mfd, NULL, 100);
	file_write(mfd, "1000S\n950 9\n");	/* drifted: one file is 100 */
	test_assert(md_quota_usage(mfd, 1000, 10) == 950);
	test_assert(md_quota_usage(mfd, 1000, 60) == 100);
	file_read(mfd, &b);
	test_assert_str(buf_cstr(&b), "1000S\n100 1\n");
	buf_free(&b);
	teardown(mfd);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_parse_table,
		test_missing_is_counted_and_written,
		test_trusted_file_is_not_counted,
		test_add_without_file_makes_none,
		test_untrusted_file_is_recounted,
		test_long_or_stale_file_is_recounted,
		test_no_room_is_recounted,
		NULL
	};

	return test_run(tests);
}
