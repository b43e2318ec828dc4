/*
 * quarantine.c - list, release and purge the originals mda keeps of the
 * messages it stripped (see quarantine.h).
 *
 * Called by sealmailctl and by mda's root parent, each time in a child
 * that runs as [global] mail_user.  The tree was written by mda.lmtp,
 * which parses network input, so nothing in it is trusted: directories
 * are walked with openat(O_NOFOLLOW) from the configured roots, files
 * must be regular, headers are read to a bound, and what is printed of
 * them is escaped to printable ASCII.  A release is written into the
 * Unsafe folder by common/maildir, as every delivery is.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "quarantine.h"
#include "userdb.h"
#include "xmalloc.h"

int
quar_id_valid(const char *id)
{
	size_t	 i, n = strlen(id);

	if (n == 0 || n > QUAR_ID_MAX || id[0] == '.' ||
	    strstr(id, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    id[i] == '.' || id[i] == '_' || id[i] == '-'))
			return 0;
	return 1;
}

/* Length of the unique part of a Maildir file name. */
static size_t
uniq_len(const char *name)
{
	return strcspn(name, ",:");
}

/* Does directory entry name carry this ID? */
static int
name_has_id(const char *name, const char *id)
{
	size_t	 n = uniq_len(name);

	return n == strlen(id) && memcmp(name, id, n) == 0;
}

/*
 * Split a canonical user address into domain and local part, checked
 * to be usable as directory names.  0 or -1.
 */
static int
user_split(const char *user, char *local, char *domain)
{
	const char	*at;

	if (userdb_addr_check(user, USERDB_ADDR_LOCAL, NULL, 0) == -1 ||
	    (at = strrchr(user, '@')) == NULL ||
	    (size_t)(at - user) > USERDB_LOCAL_MAX ||
	    strlen(at + 1) > USERDB_DOMAIN_MAX)
		return -1;
	memcpy(local, user, (size_t)(at - user));
	local[at - user] = '\0';
	memcpy(domain, at + 1, strlen(at + 1) + 1);
	if (local[0] == '.' || domain[0] == '.' || strchr(local, '/') ||
	    strchr(domain, '/'))
		return -1;
	return 0;
}

/* A configured top directory: the one path that is followed. */
static int
top_open(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * The user's quarantine directory <qdir>/<domain>/<local>.  -1 with
 * errno ENOENT when it does not exist (nothing quarantined yet).
 */
static int
quar_user_open(const char *qdir, const char *local, const char *domain)
{
	int	 top, dfd, ufd;

	if ((top = top_open(qdir)) == -1)
		return -1;
	dfd = md_dir_open(top, domain);
	close(top);
	if (dfd == -1)
		return -1;
	ufd = md_dir_open(dfd, local);
	close(dfd);
	return ufd;
}

/*
 * The next header field of p[0..n) at *off: its name and unfolded value
 * (line breaks of folding removed).  1 for a field, 0 at the end of the
 * header (empty line or end of data).
 */
static int
field_next(const char *p, size_t n, size_t *off, struct buf *name,
    struct buf *value)
{
	const char	*nl, *colon;
	size_t		 i = *off, len;

	buf_reset(name);
	buf_reset(value);
	for (;;) {
		if (i >= n)
			return 0;
		nl = memchr(p + i, '\n', n - i);
		len = (nl != NULL ? (size_t)(nl - (p + i)) : n - i);
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		if (len == 0)
			return 0;
		colon = memchr(p + i, ':', len);
		if (p[i] != ' ' && p[i] != '\t' && colon != NULL)
			break;
		/* A stray continuation or a line without a colon. */
		i = nl != NULL ? (size_t)(nl - p) + 1 : n;
	}
	buf_add(name, p + i, (size_t)(colon - (p + i)));
	buf_add(value, colon + 1, len - (size_t)(colon + 1 - (p + i)));
	i = nl != NULL ? (size_t)(nl - p) + 1 : n;
	while (i < n && (p[i] == ' ' || p[i] == '\t')) {
		nl = memchr(p + i, '\n', n - i);
		len = (nl != NULL ? (size_t)(nl - (p + i)) : n - i);
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		buf_add(value, p + i, len);
		i = nl != NULL ? (size_t)(nl - p) + 1 : n;
	}
	*off = i;
	return 1;
}

/* Trimmed [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static char *
field_out(const char *s, size_t n, int address)
{
	const char	*lt, *gt;
	struct buf	 out;

	trim(&s, &n);
	if (address && (lt = memrchr(s, '<', n)) != NULL &&
	    (gt = memchr(lt, '>', n - (size_t)(lt - s))) != NULL) {
		n = (size_t)(gt - lt) - 1;
		s = lt + 1;
		trim(&s, &n);
	}
	if (n > QUAR_FIELD_MAX)
		n = QUAR_FIELD_MAX;
	buf_init(&out, 0);
	buf_add_escaped(&out, s, n);
	return buf_steal(&out);
}

/* From and Subject of the header of an open file. */
static void
header_read(int fd, struct quar_entry *e)
{
	struct buf	 name, value;
	char		*p;
	size_t		 n = 0, off = 0;
	ssize_t		 r;

	p = xmalloc(QUAR_HEADER_MAX);
	while (n < QUAR_HEADER_MAX &&
	    (r = pread(fd, p + n, QUAR_HEADER_MAX - n, (off_t)n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)r;
	}
	buf_init(&name, 0);
	buf_init(&value, 0);
	while ((e->from == NULL || e->subject == NULL) &&
	    field_next(p, n, &off, &name, &value)) {
		if (e->from == NULL && strcasecmp(buf_cstr(&name), "From") == 0)
			e->from = field_out(value.data, value.len, 1);
		else if (e->subject == NULL &&
		    strcasecmp(buf_cstr(&name), "Subject") == 0)
			e->subject = field_out(value.data, value.len, 0);
	}
	if (e->from == NULL)
		e->from = xstrdup("");
	if (e->subject == NULL)
		e->subject = xstrdup("");
	buf_free(&name);
	buf_free(&value);
	free(p);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct quar_entry *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Add the messages of one subdirectory (new/ or cur/) to the list. */
static int
list_sub(int ufd, const char *sub, struct quar_entry **l, size_t *n)
{
	struct quar_entry *e;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 len;
	int		 sfd, fd;

	if ((sfd = md_dir_open(ufd, sub)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(sfd)) == NULL) {
		close(sfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = uniq_len(de->d_name);
		if (de->d_name[0] == '.' || len > QUAR_ID_MAX)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd == -1)
			continue;
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		*l = xreallocarray(*l, *n + 1, sizeof(**l));
		e = &(*l)[(*n)++];
		memset(e, 0, sizeof(*e));
		memcpy(e->id, de->d_name, len);
		e->id[len] = '\0';
		if (!quar_id_valid(e->id)) {
			(*n)--;
			close(fd);
			continue;
		}
		e->date = st.st_mtime;
		e->size = (long long)st.st_size;
		header_read(fd, e);
		close(fd);
	}
	closedir(d);
	return 0;
}

int
quar_list(const char *qdir, const char *user, struct quar_entry **list_r,
    size_t *n_r, char *err, size_t errlen)
{
	char	 local[USERDB_LOCAL_MAX + 1], domain[USERDB_DOMAIN_MAX + 1];
	int	 ufd;

	*list_r = NULL;
	*n_r = 0;
	if (user_split(user, local, domain) == -1) {
		snprintf(err, errlen, "%s: not a local address", user);
		return QUAR_INVALID;
	}
	if ((ufd = quar_user_open(qdir, local, domain)) == -1) {
		if (errno == ENOENT)
			return QUAR_OK;
		snprintf(err, errlen, "quarantine of %s: %s", user,
		    strerror(errno));
		return QUAR_ERROR;
	}
	if (list_sub(ufd, "new", list_r, n_r) == -1 ||
	    list_sub(ufd, "cur", list_r, n_r) == -1) {
		snprintf(err, errlen, "reading the quarantine of %s: %s",
		    user, strerror(errno));
		close(ufd);
		quar_list_free(*list_r, *n_r);
		*list_r = NULL;
		*n_r = 0;
		return QUAR_ERROR;
	}
	close(ufd);
	if (*n_r > 1)
		qsort(*list_r, *n_r, sizeof(**list_r), entry_cmp);
	return QUAR_OK;
}

void
quar_list_free(struct quar_entry *l, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(l[i].from);
		free(l[i].subject);
	}
	free(l);
}

/*
 * Find the file with this ID in new/ or cur/ of the user's quarantine:
 * its directory (*sfd_r), name and an open descriptor.  QUAR_OK,
 * QUAR_NOTFOUND, QUAR_ERROR (errno).
 */
static int
quar_find(int ufd, const char *id, int *sfd_r, char *name, size_t namelen,
    int *fd_r)
{
	static const char *subs[] = { "new", "cur" };
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 i;
	int		 sfd, fd;

	for (i = 0; i < 2; i++) {
		if ((sfd = md_dir_open(ufd, subs[i])) == -1) {
			if (errno == ENOENT)
				continue;
			return QUAR_ERROR;
		}
		if ((d = fdopendir(dup(sfd))) == NULL) {
			close(sfd);
			return QUAR_ERROR;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' ||
			    !name_has_id(de->d_name, id) ||
			    strlen(de->d_name) >= namelen)
				continue;
			fd = openat(sfd, de->d_name, O_RDONLY | O_NOFOLLOW |
			    O_NONBLOCK | O_CLOEXEC);
			if (fd == -1)
				continue;
			if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
				close(fd);
				continue;
			}
			snprintf(name, namelen, "%s", de->d_name);
			closedir(d);
			*sfd_r = sfd;
			*fd_r = fd;
			return QUAR_OK;
		}
		closedir(d);
		close(sfd);
	}
	return QUAR_NOTFOUND;
}

/*
 * What release creates must belong to the mail user: it runs as that
 * user (sealmailctl's worker dropped to it), so whatever it makes is
 * theirs.  0, or -1 with errno EPERM.
 */
static int
quar_as_owner(const struct quar_paths *qp)
{
	if ((qp->uid != (uid_t)-1 && qp->uid != geteuid()) ||
	    (qp->gid != (gid_t)-1 && qp->gid != getegid())) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * <mail_root>/<domain>/<local>/Maildir/.Unsafe, made a Maildir++ folder
 * if it is not one yet, open into f.  0 or -1.
 */
static int
unsafe_open(const struct quar_paths *qp, const char *user,
    struct md_folder *f)
{
	int	 ufd, rv;

	f->dir = f->tmp = f->new = f->cur = -1;
	if (quar_as_owner(qp) == -1 ||
	    (ufd = md_user_open(qp->mail_root, user, 1)) == -1)
		return -1;
	rv = md_mailbox_open(ufd, MD_UNSAFE, f);
	md_close(ufd);
	return rv;
}

int
quar_unsafe_make(const struct quar_paths *qp, const char *user, char *err,
    size_t errlen)
{
	char	 local[USERDB_LOCAL_MAX + 1], domain[USERDB_DOMAIN_MAX + 1];
	struct md_folder f;

	if (user_split(user, local, domain) == -1) {
		snprintf(err, errlen, "%s: not a local address", user);
		return QUAR_INVALID;
	}
	if (unsafe_open(qp, user, &f) == -1) {
		snprintf(err, errlen, "the Unsafe folder of %s: %s", user,
		    strerror(errno));
		return QUAR_ERROR;
	}
	md_folder_close(&f);
	return QUAR_OK;
}

/* "X-Sealmail-Released: <date> by the administrator", in fd's EOL. */
static void
released_header(int fd, time_t now, struct buf *out)
{
	struct tm	 tm;
	char		 date[64], b[1024], *nl;
	const char	*eol = "\r\n";
	ssize_t		 n;

	if ((n = pread(fd, b, sizeof(b), 0)) > 0 &&
	    (nl = memchr(b, '\n', (size_t)n)) != NULL &&
	    (nl == b || nl[-1] != '\r'))
		eol = "\n";
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		date[0] = '\0';
	buf_printf(out, "X-Sealmail-Released: %s by the administrator%s",
	    date, eol);
}

int
quar_release(const struct quar_paths *qp, const char *user, const char *id,
    time_t now, char *name_r, size_t namelen, char *err, size_t errlen)
{
	char	 local[USERDB_LOCAL_MAX + 1], domain[USERDB_DOMAIN_MAX + 1];
	char	 qname[NAME_MAX + 1];
	struct md_folder f = MD_FOLDER_INIT;
	struct md_src src = { NULL, NULL, 0, -1, 0 };
	struct buf hdr;
	int	 ufd, sfd = -1, fd = -1;
	int	 r, rv = QUAR_ERROR;

	if (!quar_id_valid(id)) {
		snprintf(err, errlen, "%s: not a quarantine ID", id);
		return QUAR_INVALID;
	}
	if (user_split(user, local, domain) == -1) {
		snprintf(err, errlen, "%s: not a local address", user);
		return QUAR_INVALID;
	}
	if ((ufd = quar_user_open(qp->quarantine_dir, local, domain)) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "quarantine of %s: %s", user,
			    strerror(errno));
			return QUAR_ERROR;
		}
		snprintf(err, errlen, "%s: no such ID in the quarantine of "
		    "%s", id, user);
		return QUAR_NOTFOUND;
	}
	r = quar_find(ufd, id, &sfd, qname, sizeof(qname), &fd);
	close(ufd);
	if (r != QUAR_OK) {
		if (r == QUAR_NOTFOUND)
			snprintf(err, errlen, "%s: no such ID in the "
			    "quarantine of %s", id, user);
		else
			snprintf(err, errlen, "reading the quarantine of "
			    "%s: %s", user, strerror(errno));
		return r;
	}
	buf_init(&hdr, 0);
	released_header(fd, now, &hdr);
	if (unsafe_open(qp, user, &f) == -1) {
		snprintf(err, errlen, "the Unsafe folder of %s: %s", user,
		    strerror(errno));
		goto out;
	}
	src.prefix = &hdr;
	src.fd = fd;
	if (md_store(&f, &src, qp->hostname, name_r, namelen) == -1) {
		snprintf(err, errlen, "writing into the Unsafe folder of "
		    "%s: %s", user, strerror(errno));
		goto out;
	}
	log_info("user=<%s> released=%s file=%s", user, id, name_r);
	if (unlinkat(sfd, qname, 0) == -1 || fsync(sfd) == -1) {
		snprintf(err, errlen, "released as %s, but removing %s from "
		    "the quarantine failed: %s", name_r, id, strerror(errno));
		goto out;
	}
	rv = QUAR_OK;
out:
	buf_free(&hdr);
	md_folder_close(&f);
	close(fd);
	close(sfd);
	return rv;
}

/* Purge one subdirectory of a user's quarantine; -1 on any failure. */
static int
purge_sub(int ufd, const char *where, const char *sub, time_t cutoff,
    int all, size_t *removed)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 sfd, rv = 0, any = 0;

	if ((sfd = md_dir_open(ufd, sub)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(sfd)) == NULL) {
		close(sfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				rv = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode) || (!all && st.st_mtime >= cutoff))
			continue;
		if (unlinkat(sfd, de->d_name, 0) == -1) {
			if (errno != ENOENT) {
				log_warn("quarantine purge %s/%s/%s", where,
				    sub, de->d_name);
				rv = -1;
			}
			continue;
		}
		log_debug("quarantine purged %s/%s/%s", where, sub,
		    de->d_name);
		(*removed)++;
		any = 1;
	}
	if (any && fsync(sfd) == -1)
		rv = -1;
	closedir(d);
	return rv;
}

/* Purge every user directory of one domain directory. */
static int
purge_domain(int dfd, const char *domain, time_t cutoff, int all,
    time_t tmp_cutoff, size_t *removed)
{
	struct dirent	*de;
	struct buf	 where;
	DIR		*d;
	int		 ufd, rv = 0;

	if ((d = fdopendir(dup(dfd))) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((ufd = md_dir_open(dfd, de->d_name)) == -1) {
			if (errno != ENOTDIR && errno != ELOOP &&
			    errno != ENOENT)
				rv = -1;
			continue;
		}
		buf_init(&where, 0);
		buf_printf(&where, "%s/%s", domain, de->d_name);
		if (purge_sub(ufd, buf_cstr(&where), "new", cutoff, all,
		    removed) == -1 ||
		    purge_sub(ufd, buf_cstr(&where), "cur", cutoff, all,
		    removed) == -1 ||
		    purge_sub(ufd, buf_cstr(&where), "tmp", tmp_cutoff, 0,
		    removed) == -1)
			rv = -1;
		buf_free(&where);
		close(ufd);
	}
	closedir(d);
	return rv;
}

int
quar_purge(const char *qdir, int days, time_t now, size_t *removed_r)
{
	struct dirent	*de;
	DIR		*d;
	time_t		 cutoff, tmp_cutoff;
	int		 top, dfd, rv = 0;

	*removed_r = 0;
	cutoff = now - (time_t)(days > 0 ? days : 0) * 24 * 60 * 60;
	tmp_cutoff = now - QUAR_TMP_AGE;
	if ((top = top_open(qdir)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("quarantine purge: %s", qdir);
		return -1;
	}
	if ((d = fdopendir(top)) == NULL) {
		log_warn("quarantine purge: %s", qdir);
		close(top);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((dfd = md_dir_open(top, de->d_name)) == -1) {
			if (errno != ENOTDIR && errno != ELOOP &&
			    errno != ENOENT)
				rv = -1;
			continue;
		}
		if (purge_domain(dfd, de->d_name, cutoff, days <= 0,
		    tmp_cutoff, removed_r) == -1)
			rv = -1;
		close(dfd);
	}
	closedir(d);
	if (rv == -1)
		log_warnx("quarantine purge: %s: some files could not be "
		    "purged", qdir);
	return rv;
}
