/*
 * test-log.c - logging, checked allocation and the pidfile: the small
 * common modules every program starts with.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"
#include "test.h"

/* Run fn in a child with stderr captured; its exit status and output. */
static int
capture(void (*fn)(void), char *out, size_t outlen)
{
	int	 p[2], st;
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;

	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], 2);
		close(p[0]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (got < outlen - 1 &&
	    (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
log_levels(void)
{
	log_init("test.role", 1, LOG_LVL_INFO);
	log_debug("hidden debug");
	log_info("id=%s from=<%s>", "8f3a", "a@b.test");
	log_setlevel(LOG_LVL_DEBUG);
	log_debug("shown debug");
}

static void
log_fatalx(void)
{
	log_init("test.fatal", 1, LOG_LVL_INFO);
	fatalx("broken: %d", 42);
}

static void
alloc_overflow(void)
{
	log_init("test.alloc", 1, LOG_LVL_INFO);
	xreallocarray(NULL, SIZE_MAX / 2, 4);
}

static void
test_log_role_and_level(void)
{
	char	 out[1024];

	test_begin("log: one line per event with the role; levels filter");
	test_assert(capture(log_levels, out, sizeof(out)) == 0);
	test_assert(strstr(out, "test.role[") == out);
	test_assert(strstr(out, "id=8f3a from=<a@b.test>\n") != NULL);
	test_assert(strstr(out, "hidden debug") == NULL);
	test_assert(strstr(out, "shown debug") != NULL);
	test_assert(log_level_parse("debug") == LOG_LVL_DEBUG);
	test_assert(log_level_parse("loud") == -1);
	test_end();
}

static void
test_fatal_exits_nonzero_with_message(void)
{
	char	 out[1024];

	test_begin("log: fatalx exits 1 after logging why");
	test_assert(capture(log_fatalx, out, sizeof(out)) == 1);
	test_assert(strstr(out, "broken: 42") != NULL);
	test_end();
}

static void
test_xmalloc(void)
{
	char	 out[1024], *s;

	test_begin("xmalloc: strings, formats, and overflow is fatal, not wrap");
	s = xasprintf("%s-%d", "q", 7);
	test_assert_str(s, "q-7");
	free(s);
	s = xstrndup("abcdef", 3);
	test_assert_str(s, "abc");
	freezero_str(s);
	test_assert(capture(alloc_overflow, out, sizeof(out)) == 1);
	test_assert(strstr(out, "overflow") != NULL);
	test_end();
}

static void
test_pidfile(void)
{
	struct sm_config c;
	char	 dir[] = "/tmp/sm-pid-XXXXXX", path[64], buf[32];
	ssize_t	 n;
	int	 fd;

	test_begin("daemon: pidfile holds our pid and is removed at exit");
	test_assert(mkdtemp(dir) != NULL);
	memset(&c, 0, sizeof(c));
	c.run_dir = dir;
	daemon_pidfile(&c, "testd");
	snprintf(path, sizeof(path), "%s/testd.pid", dir);
	test_assert((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	test_assert(atol(buf) == (long)getpid());
	daemon_pidfile_remove();
	test_assert(access(path, F_OK) == -1);
	rmdir(dir);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_log_role_and_level,
		test_fatal_exits_nonzero_with_message,
		test_xmalloc,
		test_pidfile,
		NULL
	};

	return test_run(tests);
}
