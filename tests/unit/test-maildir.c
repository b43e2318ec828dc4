/*
 * test-maildir.c - unit tests of common/maildir: the ":2," info (a table
 * of names and flags), unique names (shape, the host's escapes, no
 * collision between processes forked from one another), links planted
 * in the tree refused, the tmp/ -> new/ or cur/ write leaving nothing in
 * tmp/, a crash between write and rename leaving only tmp/, hard-link
 * copies, ownership and the quota walk.  Each case works in its own
 * temporary directory.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "maildir.h"
#include "test.h"
#include "xmalloc.h"

static char	 top[256];

/* A fresh temporary directory as top; its descriptor. */
static int
setup(void)
{
	int	 fd;

	snprintf(top, sizeof(top), "/tmp/test-maildir.XXXXXX");
	if (mkdtemp(top) == NULL || (fd = open(top, O_RDONLY |
	    O_DIRECTORY)) == -1) {
		perror("setup");
		exit(1);
	}
	return fd;
}

static void
teardown(int fd)
{
	close(fd);
	test_rmtree(top);
}

/* Entries in top/rel, "." and ".." aside; -1 if it cannot be read. */
static int
count(const char *rel)
{
	struct dirent	*de;
	DIR		*d;
	char		*p = xasprintf("%s/%s", top, rel);
	int		 n = 0;

	if ((d = opendir(p)) == NULL) {
		free(p);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	free(p);
	return n;
}

/* The only entry of top/rel, into name. */
static int
only_entry(const char *rel, char *name, size_t len)
{
	struct dirent	*de;
	DIR		*d;
	char		*p = xasprintf("%s/%s", top, rel);
	int		 n = 0;

	if ((d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' && n++ == 0)
				snprintf(name, len, "%s", de->d_name);
		closedir(d);
	}
	free(p);
	return n == 1 ? 0 : -1;
}

/* A call refused because of a link (ELOOP or, with O_DIRECTORY, ENOTDIR). */
static int
link_refused(int rv)
{
	return rv == -1 && (errno == ELOOP || errno == ENOTDIR);
}

/* The content of the file name below dfd, as a string. */
static char *
slurp_at(int dfd, const char *name)
{
	struct buf	 b;
	char		 tmp[4096];
	ssize_t		 n;
	int		 fd;

	buf_init(&b, 0);
	if ((fd = openat(dfd, name, O_RDONLY)) != -1) {
		while ((n = read(fd, tmp, sizeof(tmp))) > 0)
			buf_add(&b, tmp, (size_t)n);
		close(fd);
	}
	buf_addc(&b, '\0');
	return buf_steal(&b);
}

static void
test_info_parse_table(void)
{
	static const struct {
		const char	*name;
		uint32_t	 flags;
	} t[] = {
		{ "1.M1P1Q1.host", 0 },
		{ "1.M1P1Q1.host:2,", 0 },
		{ "1.M1P1Q1.host:2,S", MD_FLAG_SEEN },
		{ "1.M1P1Q1.host:2,R", MD_FLAG_ANSWERED },
		{ "1.M1P1Q1.host:2,F", MD_FLAG_FLAGGED },
		{ "1.M1P1Q1.host:2,T", MD_FLAG_DELETED },
		{ "1.M1P1Q1.host:2,D", MD_FLAG_DRAFT },
		{ "1.M1P1Q1.host:2,P", MD_FLAG_PASSED },
		{ "1.M1P1Q1.host:2,FS", MD_FLAG_FLAGGED | MD_FLAG_SEEN },
		/* out of order and doubled letters are still read */
		{ "1.M1P1Q1.host:2,SF", MD_FLAG_FLAGGED | MD_FLAG_SEEN },
		{ "1.M1P1Q1.host:2,SS", MD_FLAG_SEEN },
		{ "1.M1P1Q1.host:2,DFPRST", MD_FLAGS_ALL },
		/* keyword letters some readers keep are not ours */
		{ "1.M1P1Q1.host:2,Sab", MD_FLAG_SEEN },
		{ "1.M1P1Q1.host,S=1234:2,T", MD_FLAG_DELETED },
		{ "1.M1P1Q1.host,S=1234,W=1240:2,RS",
		    MD_FLAG_ANSWERED | MD_FLAG_SEEN },
		/* other info versions, and no info, carry no flags */
		{ "1.M1P1Q1.host:1,S", 0 },
		{ "1.M1P1Q1.host:2S", 0 },
		{ "1.M1P1Q1.host:", 0 },
		/* the info starts at the first ':' */
		{ "1.M1P1Q1.ho:st:2,S", 0 },
		{ ":2,F", MD_FLAG_FLAGGED },
		{ "", 0 },
	};
	size_t	 i;

	test_begin("maildir: the flags of a name's :2, info (table)");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (md_info_parse(t[i].name) != t[i].flags) {
			printf("  %s: got %#x, want %#x\n", t[i].name,
			    md_info_parse(t[i].name), t[i].flags);
			test_assert(md_info_parse(t[i].name) == t[i].flags);
		}
	test_end();
}

static void
test_info_format_table(void)
{
	static const struct {
		uint32_t	 flags;
		const char	*info;
	} t[] = {
		{ 0, ":2," },
		{ MD_FLAG_SEEN, ":2,S" },
		{ MD_FLAG_SEEN | MD_FLAG_FLAGGED, ":2,FS" },
		{ MD_FLAG_DELETED | MD_FLAG_DRAFT, ":2,DT" },
		{ MD_FLAG_ANSWERED | MD_FLAG_PASSED, ":2,PR" },
		{ MD_FLAGS_ALL, ":2,DFPRST" },
		/* bits that are not Maildir flags are left out */
		{ 0x40 | MD_FLAG_SEEN, ":2,S" },
	};
	char	 info[MD_INFO_MAX];
	size_t	 i;

	test_begin("maildir: flags formatted as :2, and letters in ASCII "
	    "order (table)");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		md_info_format(t[i].flags, info, sizeof(info));
		test_assert_str(info, t[i].info);
	}
	test_end();
}

static void
test_info_round_trips(void)
{
	char	 name[64], info[MD_INFO_MAX];
	uint32_t f;
	size_t	 i, ok = 1;

	test_begin("maildir: every set of flags survives format then parse, "
	    "letters sorted");
	for (f = 0; f <= MD_FLAGS_ALL; f++) {
		md_info_format(f, info, sizeof(info));
		snprintf(name, sizeof(name), "1.M1P1Q1.h,S=9%s", info);
		if (md_info_parse(name) != f)
			ok = 0;
		for (i = 4; i < strlen(info); i++)
			if (info[i] <= info[i - 1])
				ok = 0;
	}
	test_assert(ok);
	test_end();
}

/* Does name look like "<sec>.M<usec>P<pid>Q<n>.<host>"? */
static int
uniq_shaped(const char *name, pid_t pid, const char *host)
{
	char		 want[32];
	const char	*p = name;
	size_t		 n;

	if ((n = strspn(p, "0123456789")) == 0 || p[n] != '.' ||
	    p[n + 1] != 'M')
		return 0;
	p += n + 2;
	if (strspn(p, "0123456789") != 6 || p[6] != 'P')
		return 0;
	p += 6;
	snprintf(want, sizeof(want), "P%ldQ", (long)pid);
	if (strncmp(p, want, strlen(want)) != 0)
		return 0;
	p += strlen(want);
	if ((n = strspn(p, "0123456789")) == 0 || p[n] != '.')
		return 0;
	return strcmp(p + n + 1, host) == 0;
}

static void
test_uniq_shape_and_host_escapes(void)
{
	char	 a[MD_NAME_MAX], b[MD_NAME_MAX], host[400], mine[256];

	test_begin("maildir: unique names have the spec's shape, '/' and ':' "
	    "of the host escaped");
	md_uniq(a, sizeof(a), "mx.example.test");
	md_uniq(b, sizeof(b), "mx.example.test");
	test_assert(uniq_shaped(a, getpid(), "mx.example.test"));
	test_assert(strcmp(a, b) != 0);
	md_uniq(a, sizeof(a), "mx/a:b");
	test_assert(uniq_shaped(a, getpid(), "mx\\057a\\072b"));
	test_assert(strchr(a, '/') == NULL && strchr(a, ':') == NULL);
	/* no host given: this machine's */
	gethostname(mine, sizeof(mine));
	mine[sizeof(mine) - 1] = '\0';
	md_uniq(a, sizeof(a), NULL);
	test_assert(strchr(mine, '/') != NULL || strchr(mine, ':') != NULL ||
	    uniq_shaped(a, getpid(), mine));
	/* a long host is cut, leaving room for ",S=" and the info */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	host[100] = '/';
	md_uniq(a, sizeof(a), host);
	test_assert(strlen(a) + 40 < MD_NAME_MAX);
	test_assert(strchr(a, '/') == NULL);
	test_end();
}

#define FORK_KIDS	8
#define FORK_NAMES	500

static int
cmp_names(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void
test_uniq_never_collides_across_a_fork(void)
{
	static char	 names[(FORK_KIDS + 1) * FORK_NAMES][MD_NAME_MAX];
	char		 name[MD_NAME_MAX];
	FILE		*f;
	size_t		 n = 0, i, j, dup = 0;
	pid_t		 pids[FORK_KIDS];
	int		 p[2], status, all_ok = 1;

	test_begin("maildir: unique names never collide between a process and "
	    "its forked children");
	/* the parent's counter is inherited by every child */
	md_uniq(name, sizeof(name), "h");
	if (pipe(p) == -1) {
		test_assert(0);
		test_end();
		return;
	}
	for (i = 0; i < FORK_KIDS; i++) {
		if ((pids[i] = fork()) == 0) {
			close(p[0]);
			f = fdopen(p[1], "w");
			/* each name carries the child's own pid */
			for (j = 0; j < FORK_NAMES; j++) {
				md_uniq(name, sizeof(name), "h");
				if (!uniq_shaped(name, getpid(), "h"))
					_exit(1);
				fprintf(f, "%s\n", name);
			}
			fclose(f);
			_exit(0);
		}
	}
	close(p[1]);
	for (j = 0; j < FORK_NAMES; j++)
		md_uniq(names[n++], MD_NAME_MAX, "h");
	f = fdopen(p[0], "r");
	while (n < sizeof(names) / sizeof(names[0]) &&
	    fgets(names[n], MD_NAME_MAX, f) != NULL) {
		names[n][strcspn(names[n], "\n")] = '\0';
		n++;
	}
	fclose(f);
	for (i = 0; i < FORK_KIDS; i++)
		if (waitpid(pids[i], &status, 0) == -1 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			all_ok = 0;
	test_assert(all_ok);
	test_assert(n == sizeof(names) / sizeof(names[0]));
	qsort(names, n, MD_NAME_MAX, cmp_names);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			dup++;
	test_assert(dup == 0);
	test_end();
}

/* top/Maildir with tmp/ new/ cur/, as a real one. */
static int
make_maildir(int tfd)
{
	struct md_folder f;
	int	 mfd;

	if ((mfd = md_dir_step(tfd, "Maildir", 1)) == -1 ||
	    md_folder_open(mfd, NULL, 1, &f) == -1)
		return -1;
	md_folder_close(&f);
	return mfd;
}

/* A temporary top with a Maildir in it, open as f. */
struct fixture {
	int		 tfd;		/* top */
	int		 mfd;		/* top/Maildir */
	struct md_folder f;
};

static void
fixture_open(struct fixture *x)
{
	x->tfd = setup();
	if ((x->mfd = make_maildir(x->tfd)) == -1 ||
	    md_folder_open(x->mfd, NULL, 0, &x->f) == -1) {
		perror("fixture");
		exit(1);
	}
}

static void
fixture_close(struct fixture *x)
{
	md_folder_close(&x->f);
	close(x->mfd);
	teardown(x->tfd);
}

static void
test_links_are_refused(void)
{
	static const char *where[] = { "tmp", "new", "cur" };
	struct md_folder f;
	struct md_src	 src = { NULL, "x\r\n", 3, -1, 0 };
	char		*p, name[MD_NAME_MAX];
	size_t		 i;
	int		 tfd, mfd, refused;

	test_begin("maildir: a link planted as tmp/, new/, cur/ or the folder "
	    "is refused, nothing written through it");
	for (i = 0; i < 3; i++) {
		tfd = setup();
		mkdirat(tfd, "outside", 0700);
		mfd = make_maildir(tfd);
		p = xasprintf("%s/Maildir/%s", top, where[i]);
		rmdir(p);
		test_assert(symlink("../outside", p) == 0);
		free(p);
		refused = link_refused(md_folder_open(mfd, NULL, 1, &f));
		test_assert(refused);
		if (!refused) {
			md_store(&f, &src, "h", name, sizeof(name));
			md_folder_close(&f);
		}
		test_assert(count("outside") == 0);
		close(mfd);
		teardown(tfd);
	}
	/* a Maildir++ folder that is a link */
	tfd = setup();
	mkdirat(tfd, "outside", 0700);
	mfd = make_maildir(tfd);
	test_assert(symlinkat("../outside", mfd, ".Evil") == 0);
	test_assert(link_refused(md_folder_open(mfd, ".Evil", 1, &f)));
	test_assert(link_refused(md_folder_open(mfd, ".Evil", 0, &f)));
	test_assert(count("outside") == 0);
	/* the Maildir itself below a user directory */
	close(mfd);
	p = xasprintf("%s/Maildir", top);
	test_rmtree(p);
	test_assert(symlink("outside", p) == 0);
	free(p);
	test_assert(link_refused(md_mailbox_open(tfd, NULL, &f)));
	test_assert(link_refused(md_mailbox_open(tfd, MD_UNSAFE, &f)));
	test_assert(count("outside") == 0);
	/* a folder name that would leave the Maildir */
	test_assert(md_folder_open(tfd, "..", 1, &f) == -1 &&
	    errno == EINVAL);
	test_assert(md_folder_open(tfd, ".a/../..", 1, &f) == -1 &&
	    errno == EINVAL);
	test_assert(md_folder_open(tfd, "x", 1, &f) == -1 && errno == EINVAL);
	teardown(tfd);
	test_end();
}

static void
test_user_directory_links_are_refused(void)
{
	char	*p, *l1, *l2;
	int	 tfd, ufd;

	test_begin("maildir: a link as a user's domain or own directory is "
	    "refused");
	tfd = setup();
	mkdirat(tfd, "mail", 0700);
	mkdirat(tfd, "outside", 0700);
	p = xasprintf("%s/mail", top);
	ufd = md_user_open(p, "bob@example.test", 1);
	test_assert(ufd != -1);
	if (ufd != -1)
		close(ufd);
	l1 = xasprintf("%s/mail/example.test/carol", top);
	l2 = xasprintf("%s/mail/other.test", top);
	test_assert(symlink("../../outside", l1) == 0);
	test_assert(link_refused(md_user_open(p, "carol@example.test", 1)));
	test_assert(symlink("../outside", l2) == 0);
	test_assert(link_refused(md_user_open(p, "dave@other.test", 1)));
	test_assert(count("outside") == 0);
	test_assert(md_user_open(p, "..@example.test", 1) == -1 &&
	    errno == EINVAL);
	test_assert(md_user_open(p, "a/b@example.test", 1) == -1 &&
	    errno == EINVAL);
	test_assert(md_user_open(p, "noat", 1) == -1 && errno == EINVAL);
	free(l1);
	free(l2);
	free(p);
	teardown(tfd);
	test_end();
}

static void
test_store_leaves_nothing_in_tmp(void)
{
	struct fixture	 x;
	struct buf	 prefix;
	struct md_src	 src = { NULL, "body\r\n", 6, -1, 0 };
	struct stat	 st;
	char		 name[MD_NAME_MAX], got[MD_NAME_MAX], *data;
	int		 cfd;

	test_begin("maildir: write and rename leaves the message in new/ "
	    "with S=, nothing in tmp/");
	fixture_open(&x);
	buf_init(&prefix, 0);
	buf_addstr(&prefix, "Return-Path: <a@b>\r\n");
	/* prefix, buffer and a file's content, in that order */
	cfd = memfd_create("content", 0);
	test_assert(cfd != -1 && write(cfd, "tail\r\n", 6) == 6);
	src.prefix = &prefix;
	src.fd = cfd;
	test_assert(md_store(&x.f, &src, "mx", name, sizeof(name)) == 0);
	test_assert(count("Maildir/tmp") == 0);
	test_assert(count("Maildir/cur") == 0);
	test_assert(only_entry("Maildir/new", got, sizeof(got)) == 0);
	test_assert_str(got, name);
	test_assert(strstr(name, ".mx,S=32") != NULL);
	data = slurp_at(x.f.new, name);
	test_assert_str(data, "Return-Path: <a@b>\r\nbody\r\ntail\r\n");
	free(data);
	/* into cur/ with flags, dated */
	src.prefix = NULL;
	src.fd = -1;
	src.mtime = 1000000000;
	test_assert(md_store_cur(&x.f, &src, MD_FLAG_SEEN | MD_FLAG_FLAGGED,
	    "mx", name, sizeof(name)) == 0);
	test_assert(count("Maildir/tmp") == 0);
	test_assert(only_entry("Maildir/cur", got, sizeof(got)) == 0);
	test_assert_str(got, name);
	test_assert(strstr(name, ",S=6:2,FS") != NULL);
	test_assert(fstatat(x.f.cur, name, &st, 0) == 0 &&
	    st.st_mtime == 1000000000 && (st.st_mode & 0777) == 0600);
	test_assert(md_info_parse(name) == (MD_FLAG_SEEN | MD_FLAG_FLAGGED));
	buf_free(&prefix);
	if (cfd != -1)
		close(cfd);
	fixture_close(&x);
	test_end();
}

static void
test_a_crash_before_the_rename_leaves_only_tmp(void)
{
	struct fixture	 x;
	struct md_src	 src = { NULL, "whole message\r\n", 15, -1, 0 };
	char		 tmp[MD_NAME_MAX], got[MD_NAME_MAX], *data;
	off_t		 size;
	pid_t		 pid;
	int		 status;

	test_begin("maildir: a crash between write and rename leaves only a "
	    "tmp/ file, which no reader sees");
	fixture_open(&x);
	if ((pid = fork()) == 0) {
		if (md_tmp_write(&x.f, &src, "mx", tmp, sizeof(tmp),
		    &size) == -1)
			_exit(1);
		/* the process dies here, before md_commit */
		raise(SIGKILL);
		_exit(2);
	}
	test_assert(waitpid(pid, &status, 0) == pid &&
	    WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	test_assert(count("Maildir/new") == 0);
	test_assert(count("Maildir/cur") == 0);
	test_assert(only_entry("Maildir/tmp", got, sizeof(got)) == 0);
	/* complete and fsynced, under a unique name of the spec's shape */
	test_assert(uniq_shaped(got, pid, "mx"));
	data = slurp_at(x.f.tmp, got);
	test_assert_str(data, "whole message\r\n");
	free(data);
	fixture_close(&x);
	test_end();
}

static void
test_write_refuses_an_existing_name_or_link(void)
{
	struct md_src	 src = { NULL, "x", 1, -1, 0 };
	off_t		 size;
	int		 tfd;

	test_begin("maildir: a file is created, never written through a name "
	    "that exists or is a link");
	tfd = setup();
	mkdirat(tfd, "outside", 0700);
	test_assert(symlinkat("outside/victim", tfd, "planted") == 0);
	test_assert(md_write(tfd, "planted", &src, &size) == -1 &&
	    errno == EEXIST);
	test_assert(count("outside") == 0);
	test_assert(md_write(tfd, "once", &src, &size) == 0 && size == 1);
	test_assert(md_write(tfd, "once", &src, &size) == -1 &&
	    errno == EEXIST);
	teardown(tfd);
	test_end();
}

static void
test_link_copies_into_another_folder(void)
{
	struct fixture	 x;
	struct md_folder sent;
	struct md_src	 src = { NULL, "hello\r\n", 7, -1, 0 };
	struct stat	 a, b;
	char		 name[MD_NAME_MAX], copy[MD_NAME_MAX];

	test_begin("maildir: a copy is a hard link in the other folder's cur/ "
	    "with its own name and flags; a link in cur/ is not copied");
	fixture_open(&x);
	test_assert(md_folder_open(x.mfd, ".Sent", 1, &sent) == 0);
	test_assert(faccessat(x.mfd, ".Sent/maildirfolder", F_OK, 0) == 0);
	test_assert(md_store_cur(&x.f, &src, MD_FLAG_SEEN, "mx", name,
	    sizeof(name)) == 0);
	test_assert(md_link_cur(&x.f, name, &sent, MD_FLAG_DRAFT, "mx", copy,
	    sizeof(copy)) == 0);
	test_assert(strcmp(name, copy) != 0);
	test_assert(strstr(copy, ",S=7:2,D") != NULL);
	test_assert(fstatat(x.f.cur, name, &a, 0) == 0 &&
	    fstatat(sent.cur, copy, &b, 0) == 0 && a.st_ino == b.st_ino);
	test_assert(symlinkat(name, x.f.cur, "1.M1P1Q1.evil:2,S") == 0);
	test_assert(md_link_cur(&x.f, "1.M1P1Q1.evil:2,S", &sent, 0, "mx",
	    copy, sizeof(copy)) == -1 && errno == EINVAL);
	test_assert(count("Maildir/.Sent/cur") == 1);
	md_folder_close(&sent);
	fixture_close(&x);
	test_end();
}

static void
test_a_directory_not_ours_is_refused(void)
{
	char	*p;
	int	 tfd, fd;

	test_begin("maildir: a directory of another owner is refused; one "
	    "made for the mail user is given to it");
	if (geteuid() != 0) {
		/* only root can make a directory someone else's */
		printf("  (not root: ownership not exercised)\n");
		test_end();
		return;
	}
	tfd = setup();
	mkdirat(tfd, "theirs", 0700);
	p = xasprintf("%s/theirs", top);
	test_assert(chown(p, 65534, 65534) == 0);
	free(p);
	test_assert(md_dir_step(tfd, "theirs", 1) == -1 && errno == EPERM);
	fd = md_dir_step_as(tfd, "made", 1, 65534, 65534);
	test_assert(fd != -1);
	if (fd != -1)
		close(fd);
	test_assert(md_dir_step(tfd, "made", 0) == -1 && errno == EPERM);
	test_assert((fd = md_dir_step_as(tfd, "made", 0, 65534, 65534)) != -1);
	if (fd != -1)
		close(fd);
	teardown(tfd);
	test_end();
}

static void
test_usage_counts_regular_files_only(void)
{
	struct fixture	 x;
	struct md_folder u;
	struct md_src	 src = { NULL, "0123456789", 10, -1, 0 };
	char		 name[MD_NAME_MAX];

	test_begin("maildir: the quota walk counts new/ and cur/ of the "
	    "Maildir and its folders, never a link");
	fixture_open(&x);
	test_assert(md_folder_open(x.mfd, MD_UNSAFE, 1, &u) == 0);
	test_assert(md_store(&x.f, &src, "mx", name, sizeof(name)) == 0);
	test_assert(md_store_cur(&x.f, &src, 0, "mx", name,
	    sizeof(name)) == 0);
	test_assert(md_store(&u, &src, "mx", name, sizeof(name)) == 0);
	test_assert(md_usage(x.mfd) == 30);
	test_assert(symlinkat("/etc/passwd", x.f.cur, "1.M1P1Q1.x:2,S") == 0);
	test_assert(symlinkat(".", x.mfd, ".Loop") == 0);
	test_assert(md_usage(x.mfd) == 30);
	md_folder_close(&u);
	fixture_close(&x);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_info_parse_table,
		test_info_format_table,
		test_info_round_trips,
		test_uniq_shape_and_host_escapes,
		test_uniq_never_collides_across_a_fork,
		test_links_are_refused,
		test_user_directory_links_are_refused,
		test_store_leaves_nothing_in_tmp,
		test_a_crash_before_the_rename_leaves_only_tmp,
		test_write_refuses_an_existing_name_or_link,
		test_link_copies_into_another_folder,
		test_a_directory_not_ours_is_refused,
		test_usage_counts_regular_files_only,
		NULL
	};

	return test_run(tests);
}
