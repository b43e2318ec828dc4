/*
 * test-privsep.c - priv_fork and priv_drop: the child becomes the
 * unprivileged user, chrooted, and cannot get root back.  Needs root
 * and the "sealmail" user (./sealmail.sh deps); says so otherwise.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep.h"
#include "test.h"

/* In the child: each failed check sets a bit of the exit status. */
static int
child_checks(const struct priv_user *u, const char *dir)
{
	char	 comm[32] = "";
	int	 bad = 0;

	priv_drop(u, dir);
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid)
		bad |= 1;
	if (setuid(0) != -1 || setgid(0) != -1)
		bad |= 2;
	if (access("/marker", F_OK) != 0)	/* we see the chroot's file */
		bad |= 4;
	if (access("/etc/passwd", F_OK) == 0)	/* and not the real root */
		bad |= 8;
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	if (strcmp(comm, "test.role") != 0)
		bad |= 16;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		bad |= 32;
	return bad;
}

static void
test_priv_fork_and_drop(void)
{
	struct priv_user u;
	char	 dir[] = "/tmp/sm-privsep-XXXXXX", marker[64];
	pid_t	 pid;
	int	 fd, st;

	test_begin("privsep: child is unprivileged, chrooted, cannot regain root");
	if (getuid() != 0 || priv_lookup("sealmail", &u) == -1) {
		printf("  needs root and the sealmail user (./sealmail.sh deps)\n");
		test_assert(0);
		test_end();
		return;
	}
	test_assert(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	close(open(marker, O_CREAT | O_WRONLY, 0644));
	if ((pid = priv_fork("test.role", &fd)) == 0)
		_exit(child_checks(&u, dir));
	test_assert(pid > 0);
	test_assert(waitpid(pid, &st, 0) == pid);
	test_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		printf("  child check bits: %d\n", WEXITSTATUS(st));
	test_assert(WEXITSTATUS(st) == 0);
	close(fd);
	unlink(marker);
	rmdir(dir);
	test_end();
}

static void
test_priv_lookup_unknown(void)
{
	struct priv_user u;

	test_begin("privsep: an unknown user is reported, not guessed");
	test_assert(priv_lookup("no-such-user-sealmail", &u) == -1);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_priv_fork_and_drop,
		test_priv_lookup_unknown,
		NULL
	};

	return test_run(tests);
}
