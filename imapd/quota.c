/*
 * quota.c - the user's storage quota as IMAP shows it (RFC 9208 QUOTA
 * with the STORAGE resource): GETQUOTAROOT, GETQUOTA, SETQUOTA (refused:
 * the administrator sets quota_bytes with sealmailctl), and the check
 * APPEND and COPY make before they store (OVERQUOTA).
 *
 * The limit is the user's quota_bytes from the user database, which only
 * the root parent opens: it sends it with every session it hands to this
 * process (IPC_USER_CLIENT, imapd.c), so the newest login's value holds.
 * One quota root, "", covers every folder of the user, as the mda counts
 * it at delivery.
 *
 * Usage is the sum of RFC822.SIZE over every folder, which the folder
 * indexes already hold: a folder is opened (mailbox.c loads its index and
 * reads only files it has not seen) and its sizes summed; the sum is kept
 * with the modification times of the folder's new/ and cur/, so the next
 * check opens again only the folders something changed since.  Runs in
 * the per-user process (vmail, chrooted to the user's mail directory).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imapd.h"
#include "maildir.h"
#include "xmalloc.h"

uint64_t	 imap_quota_bytes;	/* 0: no quota */

struct qfolder {
	char		*name;
	struct timespec	 mt_new;
	struct timespec	 mt_cur;
	uint64_t	 bytes;
	int		 seen;		/* scratch: still a folder */
};

static struct qfolder	*qf;
static size_t		 nqf;

/* The mtimes of name's new/ and cur/, read without following links. */
static int
folder_mtimes(const char *name, struct timespec *tn, struct timespec *tc)
{
	struct stat	 st;
	char		*dir;
	int		 fd, r = -1;

	if ((dir = mbox_dirname(name)) == NULL)
		fd = dup(mbox_root_fd());
	else
		fd = md_dir_open(mbox_root_fd(), dir);
	free(dir);
	if (fd == -1)
		return -1;
	if (fstatat(fd, "new", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*tn = st.st_mtim;
		if (fstatat(fd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*tc = st.st_mtim;
			r = 0;
		}
	}
	close(fd);
	return r;
}

static int
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static struct qfolder *
qf_get(const char *name)
{
	size_t	 i;

	for (i = 0; i < nqf; i++)
		if (strcmp(qf[i].name, name) == 0)
			return &qf[i];
	qf = xreallocarray(qf, nqf + 1, sizeof(*qf));
	memset(&qf[nqf], 0, sizeof(*qf));
	qf[nqf].name = xstrdup(name);
	return &qf[nqf++];
}

/* Bytes in folder name: the remembered sum while nothing changed. */
static int
folder_usage(const char *name, void *arg)
{
	struct qfolder	*q = qf_get(name);
	struct timespec	 tn, tc;
	struct mbox	*mb;
	char		 err[128];
	size_t		 i;
	time_t		 now = time(NULL);

	q->seen = 1;
	if (folder_mtimes(name, &tn, &tc) == 0 && ts_eq(&tn, &q->mt_new) &&
	    ts_eq(&tc, &q->mt_cur)) {
		*(uint64_t *)arg += q->bytes;
		return 0;
	}
	if ((mb = mbox_open(name, err, sizeof(err))) == NULL)
		return 0;
	for (q->bytes = 0, i = 0; i < mb->n; i++)
		q->bytes += mb->msgs[i]->size;
	/* within a second of a change the mtimes may hide the next one */
	if (mb->mt_new.tv_sec < now - 1 && mb->mt_cur.tv_sec < now - 1) {
		q->mt_new = mb->mt_new;
		q->mt_cur = mb->mt_cur;
	} else
		memset(&q->mt_new, 0, sizeof(q->mt_new));
	mbox_close(mb);
	*(uint64_t *)arg += q->bytes;
	return 0;
}

/* Bytes the user's folders hold together (RFC822.SIZE of each message). */
uint64_t
imap_quota_usage(void)
{
	uint64_t	 used = 0;
	size_t		 i, j;

	for (i = 0; i < nqf; i++)
		qf[i].seen = 0;
	mbox_list(folder_usage, &used);
	/* forget deleted folders */
	for (i = j = 0; i < nqf; i++) {
		if (qf[i].seen)
			qf[j++] = qf[i];
		else
			free(qf[i].name);
	}
	nqf = j;
	return used;
}

/* May more bytes be stored?  Always without a quota. */
int
imap_quota_allows(uint64_t more)
{
	if (imap_quota_bytes == 0)
		return 1;
	return imap_quota_usage() + more <= imap_quota_bytes;
}

/* May the view positions set (n of them) be copied? */
int
imap_quota_allows_copy(struct client *c, const uint32_t *set, size_t n)
{
	struct imsg	*m;
	uint64_t	 more = 0;
	size_t		 i;

	if (imap_quota_bytes == 0)
		return 1;
	for (i = 0; i < n; i++)
		if ((m = client_msg(c, set[i])) != NULL)
			more += m->size;
	return imap_quota_allows(more);
}

/* "* QUOTA "" (STORAGE used limit)", in units of 1024 octets. */
static void
quota_response(struct client *c)
{
	client_printf(c, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
	    (unsigned long long)(imap_quota_usage() / 1024),
	    (unsigned long long)(imap_quota_bytes / 1024));
}

int
cmd_getquotaroot(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	char	*name;

	if (args->n != 1 || (name = imap_mailbox_arg(c, &args->v[0])) ==
	    NULL) {
		client_tagged(c, tag, "BAD", "GETQUOTAROOT mailbox");
		return 0;
	}
	if (!mbox_exists(name)) {
		free(name);
		client_tagged(c, tag, "NO", "[NONEXISTENT] No such mailbox");
		return 0;
	}
	client_printf(c, "* QUOTAROOT ");
	client_add_mailbox(c, name);
	client_printf(c, "%s\r\n", imap_quota_bytes > 0 ? " \"\"" : "");
	free(name);
	if (imap_quota_bytes > 0)
		quota_response(c);
	client_tagged(c, tag, "OK", "GETQUOTAROOT completed");
	return 0;
}

int
cmd_getquota(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const char	*root;

	if (args->n != 1 || imap_arg_astring(&args->v[0], &root) == -1) {
		client_tagged(c, tag, "BAD", "GETQUOTA root");
		return 0;
	}
	if (*root != '\0' || imap_quota_bytes == 0) {
		client_tagged(c, tag, "NO", "[NONEXISTENT] No such quota "
		    "root");
		return 0;
	}
	quota_response(c);
	client_tagged(c, tag, "OK", "GETQUOTA completed");
	return 0;
}

int
cmd_setquota(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	client_tagged(c, tag, "NO", "[NOPERM] Quotas are set by the "
	    "administrator");
	return 0;
}
