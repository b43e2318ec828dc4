/*
 * test-imap-expunged.c - the expunged UIDs a folder remembers for
 * QRESYNC (imapd/expunged.c, kept in imapd/index.c) on a throwaway
 * Maildir: which UIDs vanished since a modseq, across a reopen, after
 * another Maildir user removed a file, and once old ranges are
 * forgotten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "xmalloc.h"
#include "../../imapd/mailbox.h"
#include "test.h"

static char	 root[256];

/* A message file dropped into folder's new/ (as the mda does). */
static void
drop(const char *folder, unsigned int i)
{
	char	*tmp, *dst;
	FILE	*f;

	tmp = xasprintf("%s%s/tmp/%u.M1P1Q1.host", root, folder, i);
	dst = xasprintf("%s%s/new/%u.M1P1Q1.host", root, folder, i);
	f = fopen(tmp, "w");
	fprintf(f, "Subject: %u\n\nbody\n", i);
	fclose(f);
	rename(tmp, dst);
	free(tmp);
	free(dst);
}

/* The vanished UIDs as a set string ("2:3,5"), for comparing. */
static char *
vanished(struct mbox *mb, uint64_t since, const struct uid_range *known,
    size_t nknown)
{
	struct uid_range	*v;
	struct buf		 b;
	size_t			 i, n;
	char			*s;

	n = mbox_vanished(mb, since, known, nknown, &v);
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s%u", i ? "," : "", v[i].lo);
		if (v[i].hi > v[i].lo)
			buf_printf(&b, ":%u", v[i].hi);
	}
	s = xstrdup(buf_cstr(&b));
	buf_free(&b);
	free(v);
	return s;
}

static void
check(struct mbox *mb, uint64_t since, const struct uid_range *known,
    size_t nknown, const char *want)
{
	char	*got = vanished(mb, since, known, nknown);

	test_assert_str(got, want);
	free(got);
}

static void
test_vanished_since_modseq(void)
{
	static const struct uid_range first4[] = { { 1, 4 } };
	static const struct uid_range odd[] = { { 3, 3 }, { 5, 6 } };
	struct mbox	*mb;
	char		 err[128];
	unsigned int	 i;
	uint64_t	 m0, m3;

	test_begin("expunged: UIDs gone since a modseq, of the known ones");
	for (i = 1; i <= 6; i++)
		drop("", i);
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->n == 6);
	m0 = mb->meta.highestmodseq;
	check(mb, m0, NULL, 0, "");
	test_assert(mbox_expunge_msg(mb, 2) == 0);
	test_assert(mbox_expunge_msg(mb, 3) == 0);
	m3 = mb->meta.highestmodseq;
	test_assert(mbox_expunge_msg(mb, 5) == 0);
	/* 2 and 3 share a range: nothing lives between them */
	test_assert(mb->nexp == 2);
	check(mb, m0, NULL, 0, "2:3,5");
	check(mb, m3, NULL, 0, "5");
	check(mb, mb->meta.highestmodseq, NULL, 0, "");
	check(mb, m0, first4, 1, "2:3");
	check(mb, m0, odd, 2, "3,5");
	mbox_close(mb);

	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->n == 3);
	check(mb, m0, NULL, 0, "2:3,5");
	check(mb, m3, NULL, 0, "5");
	mbox_close(mb);
	test_end();
}

static void
test_removed_by_another_maildir_user(void)
{
	struct mbox	*mb;
	char		 err[128], *p;
	uint64_t	 before;

	test_begin("expunged: a file another program removed has vanished");
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->n == 3);
	/* a change after the last expunge keeps the next one apart */
	test_assert(mbox_store(mb, mb->msgs[1], IMSG_SEEN, NULL) == 0);
	before = mb->meta.highestmodseq;
	p = xasprintf("%s/%s", root, mb->msgs[2]->fname);
	test_assert(unlink(p) == 0);
	free(p);
	mb->force_scan = 1;
	mbox_sync(mb);
	test_assert(mb->n == 2);
	check(mb, before, NULL, 0, "6");
	check(mb, before - 1, NULL, 0, "6");
	check(mb, before - 2, NULL, 0, "5:6");
	mbox_close(mb);
	test_end();
}

static void
test_forgotten_ranges_answer_conservatively(void)
{
	struct mbox	*mb;
	char		 err[128], *got;
	unsigned int	 i, n = 2100;
	uint64_t	 m0, late;

	test_begin("expunged: past the bound, every gone known UID is told");
	test_assert(mbox_create("Big", err, sizeof(err)) == 0);
	for (i = 1; i <= n; i++)
		drop("/.Big", i);
	mb = mbox_open("Big", err, sizeof(err));
	test_assert(mb != NULL && mb->n == n);
	m0 = mb->meta.highestmodseq;
	late = 0;
	/* every other message: each its own range */
	for (i = 2; i <= n; i += 2) {
		test_assert(mbox_expunge_msg(mb, i) == 0);
		if (i == n - 20)
			late = mb->meta.highestmodseq;
	}
	test_assert(mb->nexp == 1024);
	test_assert(mb->meta.expunged_floor > m0);
	/* forgotten: all the even UIDs, as single ranges */
	got = vanished(mb, m0, NULL, 0);
	test_assert(strncmp(got, "2,4,6,", 6) == 0);
	test_assert(strstr(got, ",2100") != NULL);
	free(got);
	/* still remembered exactly */
	check(mb, late, NULL, 0, "2082,2084,2086,2088,2090,2092,2094,2096,"
	    "2098,2100");
	mbox_close(mb);
	mb = mbox_open("Big", err, sizeof(err));
	test_assert(mb != NULL && mb->nexp == 1024 &&
	    mb->meta.expunged_floor > m0);
	check(mb, late, NULL, 0, "2082,2084,2086,2088,2090,2092,2094,2096,"
	    "2098,2100");
	mbox_close(mb);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_vanished_since_modseq,
		test_removed_by_another_maildir_user,
		test_forgotten_ranges_answer_conservatively,
		NULL
	};
	char	 cmd[300];
	int	 r;

	snprintf(root, sizeof(root), "/tmp/test-imap-expunged.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	mbox_set_root(root);
	mbox_make_maildir("INBOX");
	r = test_run(tests);
	/* as the user process does when it ends */
	mbox_release_idle();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
