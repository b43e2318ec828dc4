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
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "mailbox.h"
#include "xmalloc.h"

#define SUBS_FILE	"subscriptions"
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

int
mbox_exists(const char *name)
{
	struct stat	 st;
	char		*p, *cur;
	int		 r;

	p = mbox_path(name);
	cur = xasprintf("%s/cur", p);
	r = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
	free(cur);
	free(p);
	return r;
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
	return NULL;
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

	mbox_make_maildir(mbox_root(), 0);
	if ((d = opendir(mbox_root())) == NULL)
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
	char	*dir, *parent, *slash;

	if (strcmp(name, "INBOX") == 0 || mbox_exists(name)) {
		snprintf(err, errlen, "[ALREADYEXISTS] Mailbox exists");
		return -1;
	}
	/* create the missing parents too, so the hierarchy is visible */
	parent = xstrdup(name);
	for (slash = strchr(parent, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!mbox_exists(parent) && strcmp(parent, "INBOX") != 0) {
			dir = mbox_path(parent);
			mbox_make_maildir(dir, 1);
			free(dir);
		}
		*slash = '/';
	}
	free(parent);
	dir = mbox_path(name);
	if (mbox_make_maildir(dir, 1) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot create: %s",
		    strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

static void
rm_files(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
}

int
mbox_delete(const char *name, char *err, size_t errlen)
{
	static const char *sub[] = { "cur", "new", "tmp" };
	char		*dir, *p;
	size_t		 i;

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
	dir = mbox_path(name);
	for (i = 0; i < 3; i++) {
		p = xasprintf("%s/%s", dir, sub[i]);
		rm_files(p);
		rmdir(p);
		free(p);
	}
	rm_files(dir);
	if (rmdir(dir) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot delete: %s",
		    strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	mbox_subscribe(name, 0);
	return 0;
}

int
mbox_rename(const char *from, const char *to, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	char		*fp, *tp, *prefix, *dst;
	size_t		 plen;

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
	fp = mbox_path(from);
	tp = mbox_path(to);
	if (rename(fp, tp) == -1) {
		snprintf(err, errlen, "[SERVERBUG] Cannot rename: %s",
		    strerror(errno));
		free(fp);
		free(tp);
		return -1;
	}
	/* children: ".From.x" -> ".To.x" */
	prefix = xasprintf("%s.", strrchr(fp, '/') + 1);
	plen = strlen(prefix);
	if ((d = opendir(mbox_root())) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, plen) != 0)
				continue;
			free(fp);
			fp = xasprintf("%s/%s", mbox_root(), de->d_name);
			dst = xasprintf("%s.%s", tp, de->d_name + plen);
			if (rename(fp, dst) == -1)
				log_warn("rename %s", fp);
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

	mbox_make_maildir(mbox_root(), 0);
	for (i = 0; i < 3; i++)
		if (!mbox_exists(def[i]) &&
		    mbox_create(def[i], err, sizeof(err)) == 0)
			mbox_subscribe(def[i], 1);
}

static char **
subs_load(size_t *n_r)
{
	FILE	*f;
	char	*path, *line = NULL, **v = NULL;
	size_t	 n = 0, lcap = 0;
	ssize_t	 len;

	path = xasprintf("%s/%s", mbox_root(), SUBS_FILE);
	f = fopen(path, "r");
	free(path);
	if (f != NULL) {
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
	char	**v, *path, *tmp;
	size_t	 n, i;
	int	 r = 0, have = 0;

	v = subs_load(&n);
	path = xasprintf("%s/%s", mbox_root(), SUBS_FILE);
	tmp = xasprintf("%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
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
	if (f != NULL && (fclose(f) != 0 || rename(tmp, path) == -1))
		r = -1;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(path);
	free(tmp);
	return r;
}
