/*
 * maildir.c - reaching and writing Maildirs without following links.
 *
 * Runs as [global] mail_user (mda.lmtp, the LDA after its privilege
 * drop, mda.purge).  The tree below mail_root and quarantine_dir belongs
 * to that same user, and the process that writes it parses hostile
 * input, so nothing in it is trusted: a link planted in place of a
 * user's directory, a Maildir or its new/ must not send a delivery (or
 * the quota walk) anywhere else.  So only the configured top directory
 * is opened by path; everything below is reached from its descriptor one
 * component at a time (mkdirat, then openat with O_NOFOLLOW|O_DIRECTORY,
 * and the directory must belong to us), files are created with
 * O_EXCL|O_NOFOLLOW, and the quota walk looks at entries with
 * fstatat(AT_SYMLINK_NOFOLLOW), counting regular files only.  A link
 * found on the way is an error for a delivery (the caller answers 4xx)
 * and is skipped by the walk.
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
#include "mda.h"

#define DIR_NOFOLLOW	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static unsigned int md_seq;

/*
 * The directory name below at, made (0700) if missing and create is set,
 * opened without following a link; it must belong to us.  A descriptor,
 * or -1 with errno set.
 */
int
md_dir_step(int at, const char *name, int create)
{
	struct stat	 st;
	int		 fd;

	if (create && mkdirat(at, name, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((fd = openat(at, name, DIR_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* A path component that cannot climb or descend: not ".", "..", "a/b". */
static int
md_component_ok(const char *s, size_t len)
{
	return len > 0 && len <= MDA_ADDR_MAX && s[0] != '.' &&
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
	char		 local[MDA_ADDR_MAX + 1], domain[MDA_ADDR_MAX + 1];
	const char	*at;
	int		 tfd, dfd, ufd, saved;

	if (strlen(user) > MDA_ADDR_MAX || (at = strrchr(user, '@')) == NULL ||
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
	saved = errno;
	close(tfd);
	if (dfd == -1) {
		errno = saved;
		return -1;
	}
	ufd = md_dir_step(dfd, local, create);
	saved = errno;
	close(dfd);
	errno = saved;
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
	f->dir = f->tmp = f->new = -1;
}

/*
 * Make dfd (taken over) a Maildir: tmp/, new/ and cur/, and for a
 * Maildir++ folder the "maildirfolder" marker.  0, or -1 with errno set
 * (f is then closed).
 */
int
md_maildir_init(int dfd, int folder, struct md_folder *f)
{
	int	 cur, mf, saved;

	f->dir = dfd;
	f->tmp = f->new = -1;
	if ((f->tmp = md_dir_step(dfd, "tmp", 1)) == -1 ||
	    (f->new = md_dir_step(dfd, "new", 1)) == -1 ||
	    (cur = md_dir_step(dfd, "cur", 1)) == -1)
		goto fail;
	close(cur);
	if (folder) {
		if ((mf = openat(dfd, "maildirfolder", O_WRONLY | O_CREAT |
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
 * The user's INBOX (Maildir) or, with unsafe set, its Unsafe folder
 * (Maildir/.Unsafe), made if missing, below the user directory ufd.
 */
int
md_folder_open(int ufd, int unsafe, struct md_folder *f)
{
	int	 mfd, fd, saved;

	f->dir = f->tmp = f->new = -1;
	if ((mfd = md_dir_step(ufd, "Maildir", 1)) == -1)
		return -1;
	if (!unsafe)
		return md_maildir_init(mfd, 0, f);
	fd = md_dir_step(mfd, ".Unsafe", 1);
	saved = errno;
	close(mfd);
	if (fd == -1) {
		errno = saved;
		return -1;
	}
	return md_maildir_init(fd, 1, f);
}

/* A Maildir unique name: <sec>.M<usec>P<pid>Q<seq>.<host> */
void
md_uniq(char *name, size_t len, const char *hostname)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	snprintf(name, len, "%lld.M%06ldP%ldQ%u.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++md_seq, hostname);
}

/*
 * Create name below dirfd (it must not exist, and is never a link), write
 * prefix and the whole of content (read with pread) into it and fsync it.
 * Its size in *size_r.  0, or -1 with errno set and nothing left behind.
 */
int
md_write(int dirfd, const char *name, const struct buf *prefix, int content,
    off_t *size_r)
{
	struct stat	 st;
	int		 fd, saved;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	if ((prefix != NULL &&
	    io_write_all(fd, prefix->data, prefix->len) == -1) ||
	    io_copy_fd(content, fd) == -1 || fsync(fd) == -1 ||
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
 * The Maildir way: write into tmp/, fsync, rename into new/ under the
 * unique name with ",S=<size>" (Maildir++: readers may skip a stat), and
 * fsync new/.  The final name in name.  0, or -1 with errno set.
 */
int
md_store(const struct md_folder *f, const struct buf *prefix, int content,
    const char *hostname, char *name, size_t namelen)
{
	char	 tmp[MD_NAME_MAX];
	off_t	 size;
	int	 saved;

	md_uniq(tmp, sizeof(tmp), hostname);
	if (md_write(f->tmp, tmp, prefix, content, &size) == -1)
		return -1;
	snprintf(name, namelen, "%s,S=%lld", tmp, (long long)size);
	if (renameat(f->tmp, tmp, f->new, name) == -1) {
		saved = errno;
		unlinkat(f->tmp, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(f->new);
}

/* Bytes of the regular files directly in dfd/sub. */
static uint64_t
md_usage_sub(int dfd, const char *sub)
{
	struct dirent	*de;
	struct stat	 st;
	uint64_t	 total = 0;
	DIR		*d;
	int		 fd;

	if ((fd = openat(dfd, sub, DIR_NOFOLLOW)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && fstatat(fd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	closedir(d);
	return total;
}

/*
 * Bytes in new/ and cur/ of the Maildir open as mfd and of each of its
 * Maildir++ folders (".name" directories, one level: folders do not
 * nest on disk).  Links are neither counted nor followed.
 */
uint64_t
md_usage(int mfd)
{
	struct dirent	*de;
	struct stat	 st;
	uint64_t	 total;
	DIR		*d;
	int		 fd;

	total = md_usage_sub(mfd, "new") + md_usage_sub(mfd, "cur");
	if ((fd = dup(mfd)) == -1)
		return total;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return total;
	}
	/* fdopendir reads from the descriptor's offset: start over */
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(mfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode) ||
		    (fd = openat(mfd, de->d_name, DIR_NOFOLLOW)) == -1)
			continue;
		total += md_usage_sub(fd, "new") + md_usage_sub(fd, "cur");
		close(fd);
	}
	closedir(d);
	return total;
}
