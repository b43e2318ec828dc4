/*
 * test-imap-mailbox.c - Maildir++ access and the per-folder index
 * (imapd/mailbox.c, imapd/message.c, imapd/index.c) on a throwaway
 * Maildir.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xmalloc.h"
#include "../../imapd/mailbox.h"
#include "test.h"

static char	 root[256];

/* Deliver the way the mda does: tmp/, then rename into new/. */
static void
deliver(const char *folder, const char *name, const char *text)
{
	char	*tmp, *dst;
	FILE	*f;

	tmp = xasprintf("%s%s/tmp/%s", root, folder, name);
	dst = xasprintf("%s%s/new/%s", root, folder, name);
	f = fopen(tmp, "w");
	fputs(text, f);
	fclose(f);
	rename(tmp, dst);
	free(tmp);
	free(dst);
}

static int
count_dir(const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	char		*p = xasprintf("%s/%s", root, sub);
	int		 n = 0;

	if ((d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
	}
	free(p);
	return n;
}

static void
test_inbox_picks_up_new_mail(void)
{
	struct mbox	*mb;
	char		 err[128];

	test_begin("mailbox: new/ mail gets UIDs in order and moves to cur/");
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL);
	if (mb == NULL) {
		test_end();
		return;
	}
	test_assert(mb->n == 0);
	deliver("", "1000.A.host", "Subject: one\n\nbody\n");
	deliver("", "1001.B.host", "Subject: two\r\n\r\nbody\r\n");
	mb->force_scan = 1;
	mbox_sync(mb);
	test_assert(mb->n == 2);
	test_assert(mb->n == 2 && mb->msgs[0]->uid == 1 &&
	    mb->msgs[1]->uid == 2);
	/* LF-only file: size counts CRLF */
	test_assert(mb->n == 2 && mb->msgs[0]->size == 22);
	test_assert(mb->n == 2 && mb->msgs[1]->size == 22);
	test_assert(count_dir("new") == 0 && count_dir("cur") == 2);
	test_assert(mb->meta.uidnext == 3);
	mbox_close(mb);
	test_end();
}

static void
test_flags_go_to_file_names(void)
{
	struct mbox	*mb;
	char		 err[128], *p;
	struct stat	 st;

	test_begin("mailbox: STORE renames to :2,<flags>, keywords in index");
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->n == 2);
	test_assert(mbox_store(mb, mb->msgs[0], IMSG_SEEN | IMSG_FLAGGED,
	    "$Label1") == 0);
	test_assert_str(mb->msgs[0]->fname, "cur/1000.A.host:2,FS");
	p = xasprintf("%s/cur/1000.A.host:2,FS", root);
	test_assert(stat(p, &st) == 0);
	free(p);
	test_assert(mb->msgs[0]->modseq == mb->meta.highestmodseq);
	mbox_close(mb);
	test_end();
}

static void
test_external_changes_are_noticed(void)
{
	struct mbox	*mb;
	char		 err[128], *a, *b;
	uint64_t	 ms;

	test_begin("mailbox: renames and removals by other tools are seen");
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->n == 2);
	ms = mb->meta.highestmodseq;
	a = xasprintf("%s/cur/1000.A.host:2,FS", root);
	b = xasprintf("%s/cur/1000.A.host:2,S", root);
	test_assert(rename(a, b) == 0);
	free(a);
	free(b);
	mb->force_scan = 1;
	mbox_sync(mb);
	test_assert(mb->msgs[0]->flags == IMSG_SEEN);
	test_assert(mb->msgs[0]->modseq > ms);
	test_assert_str(mb->msgs[0]->keywords, "$Label1");
	a = xasprintf("%s/%s", root, mb->msgs[1]->fname);
	unlink(a);
	free(a);
	mb->force_scan = 1;
	mbox_sync(mb);
	test_assert(mb->n == 1 && mb->msgs[0]->uid == 1);
	mbox_close(mb);
	test_end();
}

static void
test_index_survives_reopen(void)
{
	struct mbox	*mb;
	char		 err[128];
	uint32_t	 uv, uid;

	test_begin("mailbox: UIDs, UIDVALIDITY and keywords persist");
	mb = mbox_open("INBOX", err, sizeof(err));
	uv = mb->meta.uidvalidity;
	test_assert(mbox_append(mb, "Subject: x\r\n\r\ny\r\n", 17,
	    IMSG_DRAFT, NULL, 1000000000, &uid) == 0);
	test_assert(uid == 3);
	mbox_close(mb);
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL && mb->meta.uidvalidity == uv);
	test_assert(mb->n == 2 && mb->msgs[1]->uid == 3 &&
	    mb->msgs[1]->internaldate == 1000000000 &&
	    mb->msgs[1]->flags == IMSG_DRAFT && mb->msgs[1]->size == 17);
	test_assert_str(mb->msgs[0]->keywords, "$Label1");
	test_assert(mb->meta.uidnext == 4);
	mbox_close(mb);
	test_end();
}

static void
test_folders(void)
{
	struct mbox	*in, *sent;
	const struct buf *data;
	char		 err[128];
	uint32_t	 uid;

	test_begin("mailbox: folders, copy, expunge, rename, delete");
	mbox_ensure_defaults();
	test_assert(mbox_exists("Sent") && mbox_exists("Drafts") &&
	    mbox_exists("Trash"));
	test_assert(mbox_subscribed("Sent"));
	test_assert(mbox_create("A/B", err, sizeof(err)) == 0);
	test_assert(mbox_exists("A") && mbox_exists("A/B"));
	test_assert(mbox_create("A/B", err, sizeof(err)) == -1);
	test_assert(!mbox_name_valid("a.b") && !mbox_name_valid("../x") &&
	    !mbox_name_valid("") && !mbox_name_valid("a//b") &&
	    mbox_name_valid("Sent"));
	in = mbox_open("INBOX", err, sizeof(err));
	sent = mbox_open("Sent", err, sizeof(err));
	test_assert(in != NULL && sent != NULL);
	test_assert(mbox_copy(in, in->msgs[0], sent, &uid) == 0 && uid == 1);
	test_assert(mbox_read(sent, sent->msgs[0], &data) == 0);
	test_assert(data->len == 22 && memcmp(data->data, "Subject: one\r\n",
	    14) == 0);
	test_assert(mbox_expunge_msg(in, in->msgs[0]->uid) == 0);
	test_assert(in->n == 1);
	mbox_close(in);
	mbox_close(sent);
	test_assert(mbox_rename("A", "C", err, sizeof(err)) == 0);
	test_assert(mbox_exists("C") && mbox_exists("C/B") &&
	    !mbox_exists("A"));
	test_assert(mbox_delete("C/B", err, sizeof(err)) == 0);
	test_assert(!mbox_exists("C/B"));
	test_assert(mbox_delete("INBOX", err, sizeof(err)) == -1);
	test_end();
}

/*
 * A file written with CRLF (as APPEND writes what the client sent) is
 * read byte for byte, NULs and bare LFs of a binary part included; one
 * written with LF line ends gets CRLF, and RFC822.SIZE counts what is read.
 */
static void
test_line_ends_follow_the_first_line(void)
{
	static const char crlf[] = "Subject: bin\r\n\r\n\0-\xe4\n\r\n\n";
	static const char lf[] = "Subject: text\n\nline\r\nend\n";
	static const char lf_read[] = "Subject: text\r\n\r\nline\r\nend\r\n";
	struct mbox	*mb;
	const struct buf *data;
	char		 err[128], *path;
	uint32_t	 uid;
	FILE		*f;

	test_begin("mailbox: a CRLF file is read exactly, an LF file gets "
	    "CRLF");
	test_assert(mbox_create("Bin", err, sizeof(err)) == 0);
	mb = mbox_open("Bin", err, sizeof(err));
	test_assert(mb != NULL);
	if (mb == NULL) {
		test_end();
		return;
	}
	test_assert(mbox_append(mb, crlf, sizeof(crlf) - 1, 0, NULL, 0,
	    &uid) == 0);
	test_assert(mbox_append(mb, lf, sizeof(lf) - 1, 0, NULL, 0,
	    &uid) == 0);
	test_assert(mb->n == 2 && mb->msgs[0]->size == sizeof(crlf) - 1);
	test_assert(mb->n == 2 && mb->msgs[1]->size == sizeof(lf_read) - 1);
	test_assert(mbox_read(mb, mb->msgs[0], &data) == 0 &&
	    data->len == sizeof(crlf) - 1 &&
	    memcmp(data->data, crlf, data->len) == 0);
	test_assert(mbox_read(mb, mb->msgs[1], &data) == 0 &&
	    data->len == sizeof(lf_read) - 1 &&
	    memcmp(data->data, lf_read, data->len) == 0);
	/* a rescan measures a new file by the same rule */
	path = xasprintf("%s/.Bin/new/1002.C.host", root);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(crlf, 1, sizeof(crlf) - 1, f);
		fclose(f);
	}
	free(path);
	mb->force_scan = 1;
	mbox_sync(mb);
	test_assert(mb->n == 3 && mb->msgs[2]->size == sizeof(crlf) - 1);
	mbox_close(mb);
	test_end();
}

static void
test_deleted_folder_stays_subscribed(void)
{
	char	 err[128];

	test_begin("mailbox: DELETE leaves the subscription (RFC 3501 6.3.9)");
	test_assert(mbox_create("Gone", err, sizeof(err)) == 0);
	test_assert(mbox_subscribe("Gone", 1) == 0);
	test_assert(mbox_delete("Gone", err, sizeof(err)) == 0);
	test_assert(!mbox_exists("Gone") && mbox_subscribed("Gone"));
	test_end();
}

static void
test_lost_index_is_rebuilt(void)
{
	struct mbox	*mb;
	char		 err[128], *p;
	uint32_t	 uv;
	FILE		*f;

	test_begin("mailbox: a broken index is rebuilt with a new "
	    "UIDVALIDITY");
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL);
	uv = mb->meta.uidvalidity;
	mbox_close(mb);
	/* let go as when the process ends: the next open reads the file */
	mbox_release_idle();
	p = xasprintf("%s/sealmail.index.db", root);
	f = fopen(p, "w");
	fputs("garbage, not a database", f);
	fclose(f);
	free(p);
	sleep(1);
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL);
	if (mb != NULL) {
		test_assert(mb->meta.uidvalidity != uv);
		test_assert(mb->n == 1 && mb->msgs[0]->uid == 1);
		mbox_close(mb);
	}
	test_end();
}

static int
list_has(const char *name, void *arg)
{
	if (strcmp(name, arg) == 0)
		*(char *)arg = '\0';
	return 0;
}

static void
test_links_in_the_maildir_are_not_followed(void)
{
	struct mbox	*mb;
	char		 err[128], want[16], *out, *p, *l;
	size_t		 n;

	test_begin("mailbox: a link planted as a folder, a folder's cur/ or a "
	    "message is not listed, entered or read");
	out = xasprintf("%s-outside", root);
	p = xasprintf("%s/cur", out);
	mkdir(out, 0700);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/cur/1.M1P1Q1.x:2,S", out);
	fclose(fopen(p, "w"));
	free(p);
	/* a folder */
	p = xasprintf("%s/.Evil", root);
	test_assert(symlink(out, p) == 0);
	free(p);
	test_assert(!mbox_exists("Evil"));
	snprintf(want, sizeof(want), "Evil");
	mbox_list(list_has, want);
	test_assert(want[0] != '\0');
	test_assert(mbox_open("Evil", err, sizeof(err)) == NULL);
	test_assert(mbox_delete("Evil", err, sizeof(err)) == -1);
	test_assert(mbox_rename("Evil", "Good", err, sizeof(err)) == -1);
	/* a folder's cur/ */
	p = xasprintf("%s/.Trash/cur", root);
	test_rmtree(p);
	test_assert(symlink(out, p) == 0);
	free(p);
	test_assert(mbox_open("Trash", err, sizeof(err)) == NULL);
	/* a message in cur/ */
	mb = mbox_open("INBOX", err, sizeof(err));
	test_assert(mb != NULL);
	if (mb != NULL) {
		n = mb->n;
		p = xasprintf("%s/cur/1.M1P1Q1.x:2,S", out);
		l = xasprintf("%s/cur/2.M2P2Q2.link:2,S", root);
		test_assert(symlink(p, l) == 0);
		free(l);
		free(p);
		mb->force_scan = 1;
		mbox_sync(mb);
		test_assert(mb->n == n);
		mbox_close(mb);
	}
	p = xasprintf("%s/cur/1.M1P1Q1.x:2,S", out);
	test_assert(access(p, F_OK) == 0);
	free(p);
	test_rmtree(out);
	free(out);
	test_end();
}

static void
test_uidvalidity_never_repeats(void)
{
	struct mbox	*mb;
	char		 err[128];
	uint32_t	 uv[4];
	size_t		 i, j;

	test_begin("mailbox: a folder made again at once gets a new "
	    "UIDVALIDITY");
	for (i = 0; i < 4; i++) {
		test_assert(mbox_create("Again", err, sizeof(err)) == 0);
		mb = mbox_open("Again", err, sizeof(err));
		test_assert(mb != NULL);
		if (mb == NULL)
			break;
		uv[i] = mb->meta.uidvalidity;
		mbox_close(mb);
		test_assert(mbox_delete("Again", err, sizeof(err)) == 0);
		for (j = 0; j < i; j++)
			test_assert(uv[j] != uv[i]);
	}
	test_end();
}

static void
test_recent_mark_persists(void)
{
	struct mbox	*mb;
	char		 err[128];
	uint32_t	 uid;

	test_begin("mailbox: the first unclaimed UID starts at 1 and is kept");
	test_assert(mbox_create("Rec", err, sizeof(err)) == 0);
	mb = mbox_open("Rec", err, sizeof(err));
	test_assert(mb != NULL && mb->meta.recentuid == 1);
	test_assert(mbox_append(mb, "Subject: r\r\n\r\nx\r\n", 17, 0,
	    NULL, 1000000000, &uid) == 0);
	mb->meta.recentuid = uid + 1;
	mbox_meta_save(mb);
	test_assert(mbox_append(mb, "Subject: s\r\n\r\nx\r\n", 17, 0,
	    NULL, 1000000000, &uid) == 0);
	mbox_close(mb);
	mb = mbox_open("Rec", err, sizeof(err));
	test_assert(mb != NULL && mb->meta.recentuid == 2 &&
	    mb->meta.uidnext == 3);
	mbox_close(mb);
	test_end();
}

static void
test_keywords_in_use(void)
{
	struct mbox	*mb;
	struct buf	 canon;
	char		 err[128], *many;
	size_t		 i;
	uint32_t	 uid;

	test_begin("mailbox: keywords in use, one spelling, bounded");
	test_assert(mbox_create("Kw", err, sizeof(err)) == 0);
	mb = mbox_open("Kw", err, sizeof(err));
	test_assert(mb != NULL && mb->nkw == 0);
	if (mb == NULL) {
		test_end();
		return;
	}
	buf_init(&canon, 0);
	test_assert(mbox_keywords_add(mb, "$Hello NIL", &canon, 1) == 0);
	test_assert_str(buf_cstr(&canon), "$Hello NIL");
	test_assert(mbox_keywords_add(mb, "nil $HELLO $World", &canon,
	    1) == 0);
	test_assert_str(buf_cstr(&canon), "NIL $Hello $World");
	test_assert(mb->nkw == 3);
	test_assert(mbox_append(mb, "Subject: k\r\n\r\nx\r\n", 17, 0,
	    "$Stored", 1000000000, &uid) == 0);
	test_assert(mb->nkw == 4 && strcmp(mb->kw[3], "$Stored") == 0);
	/* past the bound nothing of the list is added */
	for (i = mb->nkw; i < MBOX_KEYWORDS_MAX; i++) {
		many = xasprintf("k%zu", i);
		mbox_keywords_add(mb, many, NULL, 1);
		free(many);
	}
	test_assert(mb->nkw == MBOX_KEYWORDS_MAX);
	test_assert(mbox_keywords_add(mb, "$hello new1", &canon, 1) == -1);
	test_assert(mb->nkw == MBOX_KEYWORDS_MAX);
	test_assert(mbox_keywords_add(mb, "$hello k10", &canon, 1) == 0);
	test_assert_str(buf_cstr(&canon), "$Hello k10");
	mbox_close(mb);
	mbox_release_idle();
	/* reopened from the index: the keywords messages carry */
	mb = mbox_open("Kw", err, sizeof(err));
	test_assert(mb != NULL && mb->nkw == 1 &&
	    strcmp(mb->kw[0], "$Stored") == 0);
	mbox_close(mb);
	buf_free(&canon);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_inbox_picks_up_new_mail,
		test_flags_go_to_file_names,
		test_external_changes_are_noticed,
		test_index_survives_reopen,
		test_folders,
		test_line_ends_follow_the_first_line,
		test_deleted_folder_stays_subscribed,
		test_lost_index_is_rebuilt,
		test_uidvalidity_never_repeats,
		test_recent_mark_persists,
		test_keywords_in_use,
		test_links_in_the_maildir_are_not_followed,
		NULL
	};
	char	 cmd[300];
	int	 r;

	snprintf(root, sizeof(root), "/tmp/test-imap-mailbox.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	mbox_set_root(root);
	r = test_run(tests);
	/* as the user process does when it ends */
	mbox_release_idle();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
