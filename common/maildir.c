/*
 * maildir.c - reaching and writing Maildirs without following links; see
 * maildir.h for the layout, the names and who calls it.
 *
 * Runs as [global] mail_user (mda.lmtp, the LDA after its privilege
 * drop, mda.purge, imapd's per-user process inside its chroot, the
 * quarantine worker of sealmailctl), or as root in imapd's parent for
 * the one step of making a user's directory for the mail user
 * (md_dir_step_as).  Whatever runs it may have parsed hostile input, and
 * the tree may hold links planted by another process of the mail user:
 * so only the top directory a caller names is opened by path, every
 * component below is reached with openat(O_NOFOLLOW|O_DIRECTORY) from
 * its parent's descriptor and must belong to the expected owner, files
 * are created O_EXCL|O_NOFOLLOW, and the quota walk looks at entries with
 * fstatat(AT_SYMLINK_NOFOLLOW), counting regular files only.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "maildir.h"

#define DIR_NOFOLLOW	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define MD_ADDR_MAX	254	/* RFC 5321 4.5.3.1.3: 256 with the <> */
/* room left after the unique part for ",S=<size>" and the info */
#define MD_UNIQ_MAX	(MD_NAME_MAX - 48)

/* The info letters, in the ASCII order the Maildir spec requires. */
static const struct {
	char		 c;
	uint32_t	 bit;
} md_flagchars[] = {
	{ 'D', MD_FLAG_DRAFT },
	{ 'F', MD_FLAG_FLAGGED },
	{ 'P', MD_FLAG_PASSED },
	{ 'R', MD_FLAG_ANSWERED },
	{ 'S', MD_FLAG_SEEN },
	{ 'T', MD_FLAG_DELETED },
};
#define MD_NFLAGS	(sizeof(md_flagchars) / sizeof(md_flagchars[0]))

static unsigned int md_seq;

/* Close fd, leaving errno as it was: for error paths. */
void
md_close(int fd)
{
	int	 saved = errno;

	close(fd);
	errno = saved;
}

/*
 * The directory name below at, without following a link, whoever owns
 * it: for walks that only read (the quarantine's list and purge).  A
 * descriptor, or -1 with errno set.
 */
int
md_dir_open(int at, const char *name)
{
	return openat(at, name, DIR_NOFOLLOW);
}

/*
 * The directory name below at, made (0700) if missing and create is set,
 * opened without following a link.  It must belong to uid; one this call
 * made is given to uid and gid first, when that is not who we are (gid
 * (gid_t)-1: left as made).  A descriptor, or -1 with errno set (EPERM:
 * someone else's directory).
 */
int
md_dir_step_as(int at, const char *name, int create, uid_t uid, gid_t gid)
{
	struct stat	 st;
	int		 fd, made = 0;

	/* it exists nearly always: open first, make it only when missing */
	if ((fd = openat(at, name, DIR_NOFOLLOW)) == -1) {
		if (errno != ENOENT || !create)
			return -1;
		if (mkdirat(at, name, 0700) == 0)
			made = 1;
		else if (errno != EEXIST)	/* made meanwhile: fine */
			return -1;
		if ((fd = openat(at, name, DIR_NOFOLLOW)) == -1)
			return -1;
	}
	if (made && (uid != geteuid() ||
	    (gid != (gid_t)-1 && gid != getegid())) &&
	    fchown(fd, uid, gid) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (st.st_uid != uid) {
		errno = EPERM;
		goto fail;
	}
	return fd;
fail:
	md_close(fd);
	return -1;
}

/*
 * A DIR reading the directory open as fd from its start; fd stays open
 * (and shares its offset with the DIR: readdir on fd's copy only).
 * NULL with errno set.
 */
DIR *
md_opendir(int fd)
{
	DIR	*d;
	int	 dfd;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		md_close(dfd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

/* md_dir_step_as for a directory of our own. */
int
md_dir_step(int at, const char *name, int create)
{
	return md_dir_step_as(at, name, create, geteuid(), (gid_t)-1);
}

/* A path component that cannot climb or descend: not ".", "..", "a/b". */
static int
md_component_ok(const char *s, size_t len)
{
	return len > 0 && len <= MD_ADDR_MAX && s[0] != '.' &&
	    memchr(s, '/', len) == NULL;
}

/*
 * <top>/<domain>/<local> for user local@domain (a canonical address),
 * made if missing when create is set.  Its descriptor, or -1 with errno
 * set (EINVAL: the address cannot be a directory name).
 */
int
md_user_open(const char *top, const char *user, int create)
{
	char		 local[MD_ADDR_MAX + 1], domain[MD_ADDR_MAX + 1];
	const char	*at;
	int		 tfd, dfd, ufd;

	if (strlen(user) > MD_ADDR_MAX || (at = strrchr(user, '@')) == NULL ||
	    !md_component_ok(user, (size_t)(at - user)) ||
	    !md_component_ok(at + 1, strlen(at + 1))) {
		errno = EINVAL;
		return -1;
	}
	snprintf(local, sizeof(local), "%.*s", (int)(at - user), user);
	snprintf(domain, sizeof(domain), "%s", at + 1);
	if ((tfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	dfd = md_dir_step(tfd, domain, create);
	md_close(tfd);
	if (dfd == -1)
		return -1;
	ufd = md_dir_step(dfd, local, create);
	md_close(dfd);
	return ufd;
}

void
md_folder_close(struct md_folder *f)
{
	if (f->dir != -1)
		close(f->dir);
	if (f->tmp != -1)
		close(f->tmp);
	if (f->new != -1)
		close(f->new);
	if (f->cur != -1)
		close(f->cur);
	f->dir = f->tmp = f->new = f->cur = -1;
}

/* A Maildir++ folder's directory name: ".x", no '/', not "..". */
static int
md_folder_name_ok(const char *name)
{
	return name[0] == '.' && name[1] != '\0' && strcmp(name, "..") != 0 &&
	    strchr(name, '/') == NULL;
}

/*
 * Open the Maildir mfd itself (name NULL) or its Maildir++ folder name
 * (".A.B"), with tmp/, new/ and cur/, into f.  With create, what is
 * missing is made, and a folder gets its "maildirfolder" marker.  Every
 * directory must be ours and not a link.  0, or -1 with errno set (f is
 * then closed).
 */
int
md_folder_open(int mfd, const char *name, int create, struct md_folder *f)
{
	int	 mf, saved;

	f->dir = f->tmp = f->new = f->cur = -1;
	if (name == NULL)
		f->dir = fcntl(mfd, F_DUPFD_CLOEXEC, 0);
	else if (!md_folder_name_ok(name)) {
		errno = EINVAL;
		return -1;
	} else
		f->dir = md_dir_step(mfd, name, create);
	if (f->dir == -1 ||
	    (f->tmp = md_dir_step(f->dir, "tmp", create)) == -1 ||
	    (f->new = md_dir_step(f->dir, "new", create)) == -1 ||
	    (f->cur = md_dir_step(f->dir, "cur", create)) == -1)
		goto fail;
	if (name != NULL && create) {
		if ((mf = openat(f->dir, "maildirfolder", O_WRONLY | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
			goto fail;
		close(mf);
	}
	return 0;
fail:
	saved = errno;
	md_folder_close(f);
	errno = saved;
	return -1;
}

/*
 * The user's INBOX (name NULL) or its folder name (MD_UNSAFE, ...): the
 * Maildir below the user directory ufd, made if missing.
 */
int
md_mailbox_open(int ufd, const char *name, struct md_folder *f)
{
	int	 mfd, rv;

	f->dir = f->tmp = f->new = f->cur = -1;
	if ((mfd = md_dir_step(ufd, "Maildir", 1)) == -1)
		return -1;
	rv = md_folder_open(mfd, name, 1, f);
	md_close(mfd);
	return rv;
}

/*
 * A Maildir unique name into name: <sec>.M<usec>P<pid>Q<count>.<host>.
 * host NULL is this machine's name.  As the spec says, '/' and ':' in
 * the host become "\057" and "\072"; a long host is cut so the name
 * keeps room for ",S=" and the info.
 */
void
md_uniq(char *name, size_t len, const char *host)
{
	struct timeval	 tv;
	char		 hbuf[256];
	size_t		 n, max;
	int		 r;

	if (host == NULL) {
		if (gethostname(hbuf, sizeof(hbuf)) == -1)
			snprintf(hbuf, sizeof(hbuf), "localhost");
		hbuf[sizeof(hbuf) - 1] = '\0';
		host = hbuf;
	}
	gettimeofday(&tv, NULL);
	r = snprintf(name, len, "%lld.M%06ldP%ldQ%u.", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++md_seq);
	if (r < 0 || (size_t)r >= len)
		return;
	max = len < MD_UNIQ_MAX ? len : MD_UNIQ_MAX;
	for (n = (size_t)r; *host != '\0'; host++) {
		if (*host == '/' || *host == ':') {
			if (n + 4 >= max)
				break;
			memcpy(name + n, *host == '/' ? "\\057" : "\\072", 4);
			n += 4;
		} else {
			if (n + 1 >= max)
				break;
			name[n++] = *host;
		}
	}
	name[n] = '\0';
}

/* Bytes of a file name before its info (the ':' and what follows). */
size_t
md_base_len(const char *name)
{
	return strcspn(name, ":");
}

/*
 * The flags of a file name's ":2," info; letters other than the six
 * known ones (keywords some readers keep there) are ignored, and a name
 * without the info, or with another version of it, has none.
 */
uint32_t
md_info_parse(const char *name)
{
	const char	*p = name + md_base_len(name);
	uint32_t	 f = 0;
	size_t		 i;

	if (strncmp(p, ":2,", 3) != 0)
		return 0;
	for (p += 3; *p != '\0'; p++)
		for (i = 0; i < MD_NFLAGS; i++)
			if (*p == md_flagchars[i].c)
				f |= md_flagchars[i].bit;
	return f;
}

/* ":2," and the letters of flags in ASCII order into out (MD_INFO_MAX). */
void
md_info_format(uint32_t flags, char *out, size_t len)
{
	char	 b[MD_INFO_MAX];
	size_t	 i, n = 0;

	memcpy(b, ":2,", 3);
	n = 3;
	for (i = 0; i < MD_NFLAGS; i++)
		if (flags & md_flagchars[i].bit)
			b[n++] = md_flagchars[i].c;
	b[n] = '\0';
	snprintf(out, len, "%s", b);
}

/* Write the parts of src into fd. */
static int
md_src_write(int fd, const struct md_src *src)
{
	struct timespec	 tv[2];

	if (src->prefix != NULL &&
	    io_write_all(fd, src->prefix->data, src->prefix->len) == -1)
		return -1;
	if (src->len > 0 && io_write_all(fd, src->data, src->len) == -1)
		return -1;
	if (src->fd != -1 && io_copy_fd(src->fd, fd) == -1)
		return -1;
	if (src->mtime != 0) {
		tv[0].tv_sec = tv[1].tv_sec = src->mtime;
		tv[0].tv_nsec = tv[1].tv_nsec = 0;
		if (futimens(fd, tv) == -1)
			return -1;
	}
	return 0;
}

/*
 * Create name below dirfd (it must not exist, and is never a link),
 * write src into it and fsync it.  Its size in *size_r.  0, or -1 with
 * errno set and nothing left behind.
 */
int
md_write(int dirfd, const char *name, const struct md_src *src,
    off_t *size_r)
{
	struct stat	 st;
	int		 fd, saved;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (md_src_write(fd, src) == -1 || fsync(fd) == -1 ||
	    fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, name, 0);
		errno = saved;
		return -1;
	}
	close(fd);
	*size_r = st.st_size;
	return 0;
}

/*
 * The first half of a delivery: src into tmp/ under a unique name (in
 * tmp), fsynced; its size in *size_r.  Until md_commit, no reader of
 * the folder sees it.  0, or -1 with errno set and nothing left.
 */
int
md_tmp_write(const struct md_folder *f, const struct md_src *src,
    const char *host, char *tmp, size_t tmplen, off_t *size_r)
{
	md_uniq(tmp, tmplen, host);
	return md_write(f->tmp, tmp, src, size_r);
}

/*
 * The name of a file of size bytes with unique part uniq in new/
 * ("<uniq>,S=<size>") or, with cur set, in cur/ (the info of flags
 * after it).  0, or -1 with errno ENAMETOOLONG.
 */
static int
md_name(char *name, size_t namelen, const char *uniq, off_t size, int cur,
    uint32_t flags)
{
	char	 info[MD_INFO_MAX];
	int	 n;

	info[0] = '\0';
	if (cur)
		md_info_format(flags, info, sizeof(info));
	n = snprintf(name, namelen, "%s,S=%lld%s", uniq, (long long)size,
	    info);
	if (n < 0 || (size_t)n >= namelen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * The second half: rename tmp/<tmp> into new/, or with cur set into cur/
 * with flags, under its md_name, and fsync the directory it went to.
 * The final name in name.  0, or -1 with errno set (the tmp/ file is
 * removed unless the rename happened).
 */
int
md_commit(const struct md_folder *f, const char *tmp, off_t size, int cur,
    uint32_t flags, char *name, size_t namelen)
{
	int	 to = cur ? f->cur : f->new, saved;

	if (md_name(name, namelen, tmp, size, cur, flags) == -1)
		goto fail;
	if (renameat(f->tmp, tmp, to, name) == -1)
		goto fail;
	return fsync(to);
fail:
	saved = errno;
	unlinkat(f->tmp, tmp, 0);
	errno = saved;
	return -1;
}

/* The Maildir way into new/: md_tmp_write, then md_commit. */
int
md_store(const struct md_folder *f, const struct md_src *src,
    const char *host, char *name, size_t namelen)
{
	char	 tmp[MD_NAME_MAX];
	off_t	 size;

	if (md_tmp_write(f, src, host, tmp, sizeof(tmp), &size) == -1)
		return -1;
	return md_commit(f, tmp, size, 0, 0, name, namelen);
}

/* The same into cur/, with flags (imapd's APPEND and COPY). */
int
md_store_cur(const struct md_folder *f, const struct md_src *src,
    uint32_t flags, const char *host, char *name, size_t namelen)
{
	char	 tmp[MD_NAME_MAX];
	off_t	 size;

	if (md_tmp_write(f, src, host, tmp, sizeof(tmp), &size) == -1)
		return -1;
	return md_commit(f, tmp, size, 1, flags, name, namelen);
}

/*
 * Copy the file name in from's cur/ into to's cur/ under a new unique
 * name with flags (in out), as a hard link: a Maildir file never
 * changes, so two folders may share it.  to's cur/ is fsynced.  0, or -1
 * with errno set and nothing made (EXDEV, EPERM, ...: the caller copies
 * the bytes instead; EINVAL: not a regular file, a link planted in cur/).
 */
int
md_link_cur(const struct md_folder *from, const char *name,
    const struct md_folder *to, uint32_t flags, const char *host, char *out,
    size_t outlen)
{
	struct stat	 st;
	char		 uniq[MD_NAME_MAX];
	int		 saved;

	if (fstatat(from->cur, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	md_uniq(uniq, sizeof(uniq), host);
	if (md_name(out, outlen, uniq, st.st_size, 1, flags) == -1 ||
	    linkat(from->cur, name, to->cur, out, 0) == -1)
		return -1;
	if (fsync(to->cur) == -1) {
		saved = errno;
		unlinkat(to->cur, out, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Add the bytes and number of the regular files directly in dfd/sub. */
static void
md_usage_sub(int dfd, const char *sub, int64_t *bytes, int64_t *count)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd;

	if ((fd = md_dir_open(dfd, sub)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && fstatat(fd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			*bytes += st.st_size;
			(*count)++;
		}
	closedir(d);
}

/* new/ and cur/ of the folder open as fd. */
static void
md_usage_folder(int fd, int64_t *bytes, int64_t *count)
{
	md_usage_sub(fd, "new", bytes, count);
	md_usage_sub(fd, "cur", bytes, count);
}

/*
 * Bytes and messages in new/ and cur/ of the Maildir open as mfd and of
 * each of its Maildir++ folders (".name" directories, one level: folders
 * do not nest on disk).  Links are neither counted nor followed.
 */
void
md_usage_count(int mfd, int64_t *bytes, int64_t *count)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd;

	*bytes = *count = 0;
	md_usage_folder(mfd, bytes, count);
	if ((d = md_opendir(mfd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(mfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode) ||
		    (fd = md_dir_open(mfd, de->d_name)) == -1)
			continue;
		md_usage_folder(fd, bytes, count);
		close(fd);
	}
	closedir(d);
}

/* The bytes of md_usage_count. */
uint64_t
md_usage(int mfd)
{
	int64_t	 bytes, count;

	md_usage_count(mfd, &bytes, &count);
	return (uint64_t)bytes;
}
