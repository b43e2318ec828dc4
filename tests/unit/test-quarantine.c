/*
 * test-quarantine.c - unit tests of common/quarantine: listing, release
 * into .Unsafe, purge by age, and refusals that change nothing.  Each
 * case builds its own quarantine and mail root in a temporary directory;
 * ages are set with utimes().
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "quarantine.h"
#include "test.h"
#include "xmalloc.h"

#define DAY	(24 * 60 * 60)

static char	 top[256];
static char	 qdir[512], mroot[512];

static const char original[] =
    "Return-Path: <mallory@evil.test>\r\n"
    "Delivered-To: bob@example.test\r\n"
    "From: \"Mallory \\\"M\\\"\" <mallory@evil.test>\r\n"
    "To: bob@example.test\r\n"
    "Subject: invoice\r\n"
    " \"urgent\"\x1b[31m\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
    "--b1\r\nContent-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "TUFSS0VSLUVWSUwtUEFZTE9BRA==\r\n--b1--\r\n";

static void
setup(void)
{
	snprintf(top, sizeof(top), "/tmp/test-quarantine.XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(qdir, sizeof(qdir), "%s/quarantine", top);
	snprintf(mroot, sizeof(mroot), "%s/mail", top);
	mkdir(qdir, 0700);
	mkdir(mroot, 0700);
}

static void
teardown(void)
{
	test_rmtree(top);
}

static void
mkdirs(const char *p)
{
	char	*s = xstrdup(p), *c;

	for (c = s + 1; *c != '\0'; c++)
		if (*c == '/') {
			*c = '\0';
			mkdir(s, 0700);
			*c = '/';
		}
	mkdir(s, 0700);
	free(s);
}

static char *
readfile(const char *p, size_t *n)
{
	struct buf	 b;
	char		 tmp[4096];
	ssize_t		 r;
	int		 fd;

	if ((fd = open(p, O_RDONLY)) == -1)
		return NULL;
	buf_init(&b, 0);
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)r);
	close(fd);
	*n = b.len;
	return buf_steal(&b);
}

/* Put a quarantined file for user local@domain, age seconds old. */
static void
put(const char *domain, const char *local, const char *sub,
    const char *name, const char *content, time_t age)
{
	struct timeval	 tv[2];
	char		 d[1024], p[1400];
	FILE		*f;

	snprintf(d, sizeof(d), "%s/%s/%s/%s", qdir, domain, local, sub);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/%s", d, name);
	if ((f = fopen(p, "wb")) == NULL) {
		perror(p);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - age;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	utimes(p, tv);
}

/* Is <qdir>/<domain>/<local>/<sub>/<name> there? */
static int
exists(const char *domain, const char *local, const char *sub,
    const char *name)
{
	char	 p[1400];

	snprintf(p, sizeof(p), "%s/%s/%s/%s/%s", qdir, domain, local, sub,
	    name);
	return access(p, F_OK) == 0;
}

/* Number of entries (not "." or "..") in a directory; -1 if none. */
static int
count(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_ids_are_validated(void)
{
	static const struct {
		const char	*id;
		int		 ok;
	} cases[] = {
		{ "1700000000.M123456P42Q1.mx.example.test", 1 },
		{ "abc_DEF-123", 1 },
		{ "", 0 },
		{ "..", 0 },
		{ ".hidden", 0 },
		{ "a..b", 0 },
		{ "../../etc/passwd", 0 },
		{ "a/b", 0 },
		{ "a,S=12", 0 },
		{ "a:2,S", 0 },
		{ "a b", 0 },
		{ "caf\xc3\xa9", 0 },
	};
	char	 longid[QUAR_ID_MAX + 2];
	size_t	 i;

	test_begin("IDs: only the Maildir alphabet, no '/', no '..'");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (quar_id_valid(cases[i].id) != cases[i].ok) {
			printf("  id \"%s\"\n", cases[i].id);
			test_assert(quar_id_valid(cases[i].id) == cases[i].ok);
		}
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	test_assert(!quar_id_valid(longid));
	longid[QUAR_ID_MAX] = '\0';
	test_assert(quar_id_valid(longid));
	test_end();
}

static void
test_list_reads_id_date_size_from_subject(void)
{
	struct quar_entry *l;
	size_t		 n;
	char		 err[256];
	time_t		 now = time(NULL);

	setup();
	test_begin("list: ID, date, size, From address, unfolded escaped "
	    "Subject, oldest first");
	put("example.test", "bob", "new", "200.M1P1Q1.mx,S=10", original,
	    3600);
	put("example.test", "bob", "new", "100.M1P1Q2.mx,S=10",
	    "From: alice@example.test\nSubject: second\n\nbody\n", 7200);
	put("example.test", "bob", "new", ".hidden", original, 0);
	put("example.test", "carol", "new", "300.M1P1Q1.mx,S=10", original,
	    0);
	test_assert(quar_list(qdir, "bob@example.test", &l, &n, err,
	    sizeof(err)) == QUAR_OK);
	test_assert(n == 2);
	if (n == 2) {
		test_assert_str(l[0].id, "100.M1P1Q2.mx");
		test_assert_str(l[0].from, "alice@example.test");
		test_assert_str(l[0].subject, "second");
		test_assert(l[0].date <= now - 7200 &&
		    l[0].date > now - 7300);
		test_assert_str(l[1].id, "200.M1P1Q1.mx");
		test_assert(l[1].size == (long long)strlen(original));
		test_assert_str(l[1].from, "mallory@evil.test");
		test_assert_str(l[1].subject,
		    "invoice \\\"urgent\\\"\\x1b[31m");
	}
	quar_list_free(l, n);
	test_assert(quar_list(qdir, "dave@example.test", &l, &n, err,
	    sizeof(err)) == QUAR_OK && n == 0);
	quar_list_free(l, n);
	test_assert(quar_list(qdir, "../x@example.test", &l, &n, err,
	    sizeof(err)) == QUAR_INVALID);
	test_end();
	teardown();
}

static void
test_release_delivers_original_into_unsafe(void)
{
	struct quar_paths qp = { qdir, mroot, "mx.example.test",
	    (uid_t)-1, (gid_t)-1 };
	struct quar_entry *l;
	size_t		 n, len, hl;
	char		 err[256], name[512], p[1400], *data;
	const char	*nl;

	setup();
	test_begin("release: .Unsafe made a folder, the original byte for "
	    "byte under X-Sealmail-Released, gone from the quarantine");
	put("example.test", "bob", "new",
	    "1700000000.M1P1Q1.mx,S=10", original, 60);
	test_assert(quar_release(&qp, "bob@example.test",
	    "1700000000.M1P1Q1.mx", 1700000000, name, sizeof(name), err,
	    sizeof(err)) == QUAR_OK);
	snprintf(p, sizeof(p), "%s/example.test/bob/Maildir/.Unsafe/new/%s",
	    mroot, name);
	data = readfile(p, &len);
	test_assert(data != NULL);
	if (data != NULL) {
		nl = memchr(data, '\n', len);
		hl = nl != NULL ? (size_t)(nl - data) + 1 : 0;
		test_assert(hl > 0 && strncmp(data, "X-Sealmail-Released: "
		    "Tue, 14 Nov 2023 22:13:20 +0000 by the administrator\r\n",
		    hl) == 0);
		test_assert(len - hl == strlen(original) &&
		    memcmp(data + hl, original, len - hl) == 0);
		free(data);
	}
	test_assert(strstr(name, ",S=") != NULL);
	snprintf(p, sizeof(p), "%s/example.test/bob/Maildir/.Unsafe/"
	    "maildirfolder", mroot);
	test_assert(access(p, F_OK) == 0);
	snprintf(p, sizeof(p), "%s/example.test/bob/Maildir/.Unsafe/cur",
	    mroot);
	test_assert(count(p) == 0);
	snprintf(p, sizeof(p), "%s/example.test/bob/Maildir/.Unsafe/tmp",
	    mroot);
	test_assert(count(p) == 0);
	test_assert(!exists("example.test", "bob", "new",
	    "1700000000.M1P1Q1.mx,S=10"));
	test_assert(quar_list(qdir, "bob@example.test", &l, &n, err,
	    sizeof(err)) == QUAR_OK && n == 0);
	quar_list_free(l, n);
	test_end();
	teardown();
}

static void
test_release_refusals_change_nothing(void)
{
	struct quar_paths qp = { qdir, mroot, "mx", (uid_t)-1, (gid_t)-1 };
	char	 err[256], name[512], p[1400];

	setup();
	test_begin("release: unknown ID, malformed ID or address, another "
	    "user's ID: refused, nothing created or removed");
	put("example.test", "bob", "new", "1.M1P1Q1.mx,S=10", original, 0);
	test_assert(quar_release(&qp, "bob@example.test", "2.M1P1Q1.mx",
	    time(NULL), name, sizeof(name), err, sizeof(err)) ==
	    QUAR_NOTFOUND);
	test_assert(strstr(err, "no such ID") != NULL);
	test_assert(quar_release(&qp, "bob@example.test", "../bob/new/1",
	    time(NULL), name, sizeof(name), err, sizeof(err)) ==
	    QUAR_INVALID);
	test_assert(quar_release(&qp, "bob@example.test", "1.M1P1Q1.mx,S=10",
	    time(NULL), name, sizeof(name), err, sizeof(err)) ==
	    QUAR_INVALID);
	test_assert(quar_release(&qp, "carol@example.test", "1.M1P1Q1.mx",
	    time(NULL), name, sizeof(name), err, sizeof(err)) ==
	    QUAR_NOTFOUND);
	test_assert(quar_release(&qp, "bob/x@example.test", "1.M1P1Q1.mx",
	    time(NULL), name, sizeof(name), err, sizeof(err)) ==
	    QUAR_INVALID);
	test_assert(exists("example.test", "bob", "new",
	    "1.M1P1Q1.mx,S=10"));
	snprintf(p, sizeof(p), "%s/example.test", mroot);
	test_assert(access(p, F_OK) == -1 && errno == ENOENT);
	test_end();
	teardown();
}

static void
test_release_runs_only_as_the_mail_user(void)
{
	struct quar_paths qp = { qdir, mroot, "mx", geteuid() + 1,
	    (gid_t)-1 };
	char	 err[256], name[512], p[1400];

	setup();
	test_begin("release: run as anyone but the mail user it is given, it "
	    "is refused and creates nothing");
	put("example.test", "bob", "new", "1.M1P1Q1.mx,S=10", original, 0);
	test_assert(quar_release(&qp, "bob@example.test", "1.M1P1Q1.mx",
	    time(NULL), name, sizeof(name), err, sizeof(err)) == QUAR_ERROR);
	test_assert(strstr(err, "Unsafe folder") != NULL);
	test_assert(quar_unsafe_make(&qp, "bob@example.test", err,
	    sizeof(err)) == QUAR_ERROR);
	test_assert(exists("example.test", "bob", "new",
	    "1.M1P1Q1.mx,S=10"));
	snprintf(p, sizeof(p), "%s/example.test", mroot);
	test_assert(access(p, F_OK) == -1 && errno == ENOENT);
	test_end();
	teardown();
}

static void
test_release_keeps_bare_lf(void)
{
	struct quar_paths qp = { qdir, mroot, "mx", (uid_t)-1, (gid_t)-1 };
	const char *msg = "Return-Path: <a@b.test>\nSubject: lf\n\nx\n";
	char	 err[256], name[512], p[1400], *data;
	size_t	 len;

	setup();
	test_begin("release: the added header ends the way the message's "
	    "lines do (bare LF)");
	put("example.test", "bob", "cur", "5.M1P1Q1.mx,S=3:2,S", msg, 0);
	test_assert(quar_release(&qp, "bob@example.test", "5.M1P1Q1.mx",
	    time(NULL), name, sizeof(name), err, sizeof(err)) == QUAR_OK);
	snprintf(p, sizeof(p), "%s/example.test/bob/Maildir/.Unsafe/new/%s",
	    mroot, name);
	data = readfile(p, &len);
	test_assert(data != NULL && strstr(data, "administrator\nReturn-"
	    "Path") != NULL && strstr(data, "\r") == NULL);
	free(data);
	test_end();
	teardown();
}

static void
test_purge_removes_old_keeps_young(void)
{
	size_t	 removed;

	setup();
	test_begin("purge: files older than the days go, younger stay, "
	    "across users and domains; stale tmp/ files go");
	put("example.test", "bob", "new", "1.M1P1Q1.mx", original,
	    14 * DAY + 3600);
	put("example.test", "bob", "new", "2.M1P1Q1.mx", original,
	    14 * DAY - 3600);
	put("example.test", "carol", "cur", "3.M1P1Q1.mx:2,", original,
	    30 * DAY);
	put("other.test", "dave", "new", "4.M1P1Q1.mx", original, 0);
	put("other.test", "dave", "tmp", "5.M1P1Q1.mx", original, 2 * DAY);
	put("other.test", "dave", "tmp", "6.M1P1Q1.mx", original, 3600);
	test_assert(quar_purge(qdir, 14, time(NULL), &removed) == 0);
	test_assert(removed == 3);
	test_assert(!exists("example.test", "bob", "new",
	    "1.M1P1Q1.mx"));
	test_assert(exists("example.test", "bob", "new",
	    "2.M1P1Q1.mx"));
	test_assert(!exists("example.test", "carol", "cur",
	    "3.M1P1Q1.mx:2,"));
	test_assert(exists("other.test", "dave", "new",
	    "4.M1P1Q1.mx"));
	test_assert(!exists("other.test", "dave", "tmp",
	    "5.M1P1Q1.mx"));
	test_assert(exists("other.test", "dave", "tmp",
	    "6.M1P1Q1.mx"));
	test_end();
	teardown();
}

static void
test_purge_zero_days_removes_all(void)
{
	size_t	 removed;

	setup();
	test_begin("purge: quarantine_days 0 keeps none");
	put("example.test", "bob", "new", "1.M1P1Q1.mx", original, 0);
	put("example.test", "bob", "new", "2.M1P1Q1.mx", original, DAY);
	test_assert(quar_purge(qdir, 0, time(NULL), &removed) == 0);
	test_assert(removed == 2);
	test_assert(!exists("example.test", "bob", "new",
	    "1.M1P1Q1.mx"));
	test_end();
	teardown();
}

static void
test_purge_does_not_follow_symlinks(void)
{
	char	 victim[600], link[1400], d[1024];
	size_t	 removed;

	setup();
	test_begin("purge: a symlinked domain or user directory is not "
	    "followed");
	snprintf(victim, sizeof(victim), "%s/victim/u/new", top);
	mkdirs(victim);
	snprintf(victim, sizeof(victim), "%s/victim/u/new/old", top);
	close(open(victim, O_WRONLY | O_CREAT, 0600));
	{
		struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };
		utimes(victim, tv);
	}
	snprintf(link, sizeof(link), "%s/evil.test", qdir);
	snprintf(d, sizeof(d), "%s/victim", top);
	test_assert(symlink(d, link) == 0);
	snprintf(d, sizeof(d), "%s/example.test", qdir);
	mkdirs(d);
	snprintf(link, sizeof(link), "%s/example.test/bob", qdir);
	snprintf(d, sizeof(d), "%s/victim/u", top);
	test_assert(symlink(d, link) == 0);
	test_assert(quar_purge(qdir, 1, time(NULL), &removed) == 0);
	test_assert(removed == 0);
	test_assert(access(victim, F_OK) == 0);
	test_end();
	teardown();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ids_are_validated,
		test_list_reads_id_date_size_from_subject,
		test_release_delivers_original_into_unsafe,
		test_release_refusals_change_nothing,
		test_release_runs_only_as_the_mail_user,
		test_release_keeps_bare_lf,
		test_purge_removes_old_keeps_young,
		test_purge_zero_days_removes_all,
		test_purge_does_not_follow_symlinks,
		NULL
	};

	umask(077);
	return test_run(tests);
}
