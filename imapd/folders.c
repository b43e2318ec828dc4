/*
 * folders.c - the folders of one user's Maildir++ as a whole: names and
 * their mapping to directories, LIST, CREATE, DELETE, RENAME, the
 * special-use folders and subscriptions (the "subscriptions" file in the
 * Maildir, one name a line, as other Maildir++ servers keep it).
 *
 * Runs in the per-user imapd process (vmail, chrooted to the user's mail
 * directory).  Names come from the client: mbox_name_valid() refuses
 * anything that could leave the Maildir ('.' is the on-disk separator
 * and never allowed, so ".." cannot occur) before a name becomes a path.
 * Everything is reached from the Maildir's descriptor without following
 * links (common/maildir): a link planted as a folder or inside one is
 * neither listed, nor entered, nor followed when a folder is removed.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "maildir.h"
#include "mailbox.h"
#include "xmalloc.h"

#define SUBS_FILE	"subscriptions"
#define SUBS_TMP	"subscriptions.tmp"
#define NAME_MAX_LEN	200

/* "inbox" in any case is INBOX; so is any "InBoX/..." prefix. */
char *
mbox_name_norm(const char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		return xasprintf("INBOX%s", name + 5);
	return xstrdup(name);
}

int
mbox_name_valid(const char *name)
{
	const unsigned char	*s = (const unsigned char *)name;
	size_t			 len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN || name[0] == '/' ||
	    name[len - 1] == '/' || strstr(name, "//") != NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '.' || *s == '\\' ||
		    *s == '*' || *s == '%')
			return 0;
	return 1;
}

/* Is there a folder name: a directory (not a link) with cur/ in it? */
int
mbox_exists(const char *name)
{
	struct stat	 st;
	char		*dir;
	int		 rfd, fd, r = 0;

	if ((rfd = mbox_root_fd()) == -1)
		return 0;
	if ((dir = mbox_dirname(name)) == NULL)
		return fstatat(rfd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode);
	if ((fd = md_dir_open(rfd, dir)) != -1) {
		r = fstatat(fd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode);
		close(fd);
	}
	free(dir);
	return r;
}

/*
 * Special-use attributes (RFC 6154).  The folders Sealmail makes have
 * theirs by name; any other folder gets one from CREATE's USE parameter
 * (CREATE-SPECIAL-USE), kept in a small file in the folder's directory,
 * so it moves with RENAME and goes with DELETE.  \All and \Flagged name
 * virtual folders, which Sealmail has not: only these five are kept.
 */
#define USE_FILE	"sealmail.use"
#define USE_TMP		"sealmail.use.tmp"

static const char *const use_attrs[] = {
	"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash",
};

/* The attribute as Sealmail spells it, or NULL if it keeps no such. */
const char *
mbox_use_attr(const char *attr)
{
	size_t	 i;

	for (i = 0; i < sizeof(use_attrs) / sizeof(use_attrs[0]); i++)
		if (strcasecmp(attr, use_attrs[i]) == 0)
			return use_attrs[i];
	return NULL;
}

/* The attribute given at CREATE, from the folder's use file. */
static const char *
use_file_read(const char *name)
{
	char	*dir, line[32];
	ssize_t	 n = -1;
	int	 dfd, fd;

	if (mbox_root_fd() == -1 || (dir = mbox_dirname(name)) == NULL)
		return NULL;
	dfd = md_dir_open(mbox_root_fd(), dir);
	free(dir);
	if (dfd == -1)
		return NULL;
	if ((fd = openat(dfd, USE_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		n = read(fd, line, sizeof(line) - 1);
		close(fd);
	}
	close(dfd);
	if (n <= 0)
		return NULL;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return mbox_use_attr(line);
}

const char *
mbox_special_use(const char *name)
{
	static const struct { const char *name, *attr; } t[] = {
		{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" },
		{ "Trash", "\\Trash" }, { "Unsafe", "\\Junk" },
		{ "Junk", "\\Junk" }, { "Archive", "\\Archive" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0)
			return t[i].attr;
	if (strcmp(name, "INBOX") == 0)
		return NULL;
	return use_file_read(name);
}

/* Give an existing folder (not INBOX) the attribute (from mbox_use_attr). */
int
mbox_set_special_use(const char *name, const char *attr)
{
	char	*dir;
	int	 dfd, fd, r = -1;

	if (mbox_root_fd() == -1 || (dir = mbox_dirname(name)) == NULL)
		return -1;
	dfd = md_dir_open(mbox_root_fd(), dir);
	free(dir);
	if (dfd == -1)
		return -1;
	if ((fd = openat(dfd, USE_TMP, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) != -1) {
		if (io_write_all(fd, attr, strlen(attr)) == 0 &&
		    io_write_all(fd, "\n", 1) == 0 &&
		    renameat(dfd, USE_TMP, dfd, USE_FILE) == 0)
			r = 0;
		close(fd);
	}
	close(dfd);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Call fn for INBOX and every folder, in name order. */
int
mbox_list(int (*fn)(const char *, void *), void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, *p, *q;
	size_t		 n = 0, cap = 0, i;
	int		 r = 0;

	mbox_make_maildir("INBOX");
	if (mbox_root_fd() == -1 || (d = md_opendir(mbox_root_fd())) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xstrdup(de->d_name + 1);
		for (q = p; *q != '\0'; q++)
			if (*q == '.')
				*q = '/';
		if (!mbox_name_valid(p) || !mbox_exists(p)) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = p;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	r = fn("INBOX", arg);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = fn(names[i], arg);
		free(names[i]);
	}
	free(names);
	return r;
}

int
mbox_create(const char *name, char *err, size_t errlen)
{
	char	*parent, *slash;

	if (strcmp(name, "INBOX") == 0 || mbox_exists(name)) {
		snprintf(err, errlen, "[ALREADYEXISTS] Mailbox exists");
		return -1;
	}
	/* create the missing parents too, so the hierarchy is visible */
	parent = xstrdup(name);
	for (slash = strchr(parent, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!mbox_exists(parent) && strcmp(parent, "INBOX") != 0)
			mbox_make_maildir(parent);
		*slash = '/';
	}
	free(parent);
	if (mbox_make_maildir(name) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot create: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove the files (and links: never followed) in the directory fd. */
static void
rm_files(int fd)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = md_opendir(fd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}

/* Empty the folder directory dir below the root, tmp/ new/ cur/ too. */
static void
rm_folder(int rfd, const char *dir)
{
	static const char *sub[] = { "cur", "new", "tmp" };
	size_t	 i;
	int	 fd, sfd;

	if ((fd = md_dir_open(rfd, dir)) == -1)
		return;
	for (i = 0; i < 3; i++) {
		if ((sfd = md_dir_open(fd, sub[i])) != -1) {
			rm_files(sfd);
			close(sfd);
		}
		unlinkat(fd, sub[i], AT_REMOVEDIR);
	}
	rm_files(fd);
	close(fd);
}

int
mbox_delete(const char *name, char *err, size_t errlen)
{
	char		*dir;
	int		 rfd;

	if (strcmp(name, "INBOX") == 0) {
		snprintf(err, errlen, "[CANNOT] INBOX cannot be deleted");
		return -1;
	}
	if (!mbox_exists(name)) {
		snprintf(err, errlen, "[NONEXISTENT] No such mailbox");
		return -1;
	}
	if (mbox_is_open(name, 0)) {
		snprintf(err, errlen, "[INUSE] Mailbox is selected");
		return -1;
	}
	rfd = mbox_root_fd();
	dir = mbox_dirname(name);
	rm_folder(rfd, dir);
	if (unlinkat(rfd, dir, AT_REMOVEDIR) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot delete: %s",
		    strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	/* the subscription stays (RFC 3501 6.3.9): LIST shows \NonExistent */
	return 0;
}

int
mbox_rename(const char *from, const char *to, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	char		*fp, *tp, *prefix, *dst;
	size_t		 plen;
	int		 rfd;

	if (strcmp(from, "INBOX") == 0 || strcmp(to, "INBOX") == 0) {
		snprintf(err, errlen, "[CANNOT] Renaming INBOX is not "
		    "supported");
		return -1;
	}
	if (!mbox_exists(from)) {
		snprintf(err, errlen, "[NONEXISTENT] No such mailbox");
		return -1;
	}
	if (mbox_exists(to)) {
		snprintf(err, errlen, "[ALREADYEXISTS] Target exists");
		return -1;
	}
	if (mbox_is_open(from, 1)) {
		snprintf(err, errlen, "[INUSE] Mailbox is selected");
		return -1;
	}
	rfd = mbox_root_fd();
	fp = mbox_dirname(from);
	tp = mbox_dirname(to);
	if (renameat(rfd, fp, rfd, tp) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot rename: %s",
		    strerror(errno));
		free(fp);
		free(tp);
		return -1;
	}
	/* children: ".From.x" -> ".To.x" */
	prefix = xasprintf("%s.", fp);
	plen = strlen(prefix);
	if ((d = md_opendir(rfd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, plen) != 0)
				continue;
			dst = xasprintf("%s.%s", tp, de->d_name + plen);
			if (renameat(rfd, de->d_name, rfd, dst) == -1)
				log_warn("rename %s", de->d_name);
			free(dst);
		}
		closedir(d);
	}
	free(prefix);
	free(fp);
	free(tp);
	if (mbox_subscribed(from)) {
		mbox_subscribe(from, 0);
		mbox_subscribe(to, 1);
	}
	return 0;
}

void
mbox_ensure_defaults(void)
{
	static const char *def[] = { "Sent", "Drafts", "Trash" };
	char	 err[128];
	size_t	 i;

	mbox_make_maildir("INBOX");
	for (i = 0; i < 3; i++)
		if (!mbox_exists(def[i]) &&
		    mbox_create(def[i], err, sizeof(err)) == 0)
			mbox_subscribe(def[i], 1);
}

/* The file name in the Maildir as a stdio stream (a link is refused). */
static FILE *
subs_open(const char *name, int flags, const char *mode)
{
	FILE	*f;
	int	 fd;

	if (mbox_root_fd() == -1 || (fd = openat(mbox_root_fd(), name,
	    flags | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return NULL;
	if ((f = fdopen(fd, mode)) == NULL)
		close(fd);
	return f;
}

static char **
subs_load(size_t *n_r)
{
	FILE	*f;
	char	*line = NULL, **v = NULL;
	size_t	 n = 0, lcap = 0;
	ssize_t	 len;

	if ((f = subs_open(SUBS_FILE, O_RDONLY, "r")) != NULL) {
		while ((len = getline(&line, &lcap, f)) > 0 && n < 10000) {
			while (len > 0 && (line[len - 1] == '\n' ||
			    line[len - 1] == '\r'))
				line[--len] = '\0';
			if (len == 0)
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = xstrdup(line);
		}
		free(line);
		fclose(f);
	}
	*n_r = n;
	return v;
}

/* Every subscribed name (allocated, as the array; n in *n_r). */
char **
mbox_subscriptions(size_t *n_r)
{
	return subs_load(n_r);
}

int
mbox_subscribed(const char *name)
{
	char	**v;
	size_t	 n, i;
	int	 r = 0;

	v = subs_load(&n);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i], name) == 0)
			r = 1;
		free(v[i]);
	}
	free(v);
	return r;
}

int
mbox_subscribe(const char *name, int on)
{
	FILE	*f;
	char	**v;
	size_t	 n, i;
	int	 r = 0, have = 0;

	v = subs_load(&n);
	if ((f = subs_open(SUBS_TMP, O_WRONLY | O_CREAT | O_TRUNC,
	    "w")) == NULL)
		r = -1;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i], name) == 0) {
			have = 1;
			if (!on)
				continue;
		}
		if (f != NULL)
			fprintf(f, "%s\n", v[i]);
	}
	if (on && !have && f != NULL)
		fprintf(f, "%s\n", name);
	if (f != NULL && (fclose(f) != 0 || renameat(mbox_root_fd(), SUBS_TMP,
	    mbox_root_fd(), SUBS_FILE) == -1))
		r = -1;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}
