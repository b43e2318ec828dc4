/*
 * deliver.c - Maildir++ delivery of one message to one user.
 *
 * Runs as [global] mail_user (never root): in the mda.lmtp role, or in
 * the LDA after it dropped privileges.  The message arrives as a file
 * descriptor and is treated as hostile: an unsafe message is rewritten
 * by strip.c (attachments and HTML removed, per the user's settings)
 * before anything of it reaches the mailbox, and the original is kept in
 * the user's quarantine for [mda] quarantine_days.
 *
 * Durability: the file is written in tmp/, fsynced, renamed into new/,
 * and new/ is fsynced, before the caller is told "250".  A crash before
 * the rename leaves only a tmp/ file, which no reader sees.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "config.h"
#include "log.h"
#include "mda.h"
#include "strip.h"
#include "xmalloc.h"


static unsigned int deliver_seq;

int
mda_class_parse(const char *s)
{
	if (strcasecmp(s, "safe") == 0)
		return MDA_SAFE;
	if (strcasecmp(s, "unsafe") == 0)
		return MDA_UNSAFE;
	return -1;
}

const char *
mda_class_name(enum mda_class c)
{
	return c == MDA_SAFE ? "safe" : "unsafe";
}

static void
status_set(struct mda_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
status_set(struct mda_status *st, int code, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	st->code = code;
	n = snprintf(st->text, sizeof(st->text), "%d ", code);
	va_start(ap, fmt);
	vsnprintf(st->text + n, sizeof(st->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* mkdir -p, each created level with mode. */
static int
mkdirs(const char *path, mode_t mode)
{
	char	*p, *s;

	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	s = xstrdup(path);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, mode) == -1 && errno != EEXIST) {
			free(s);
			return -1;
		}
		*p = '/';
	}
	free(s);
	return mkdir(path, mode) == -1 && errno != EEXIST ? -1 : 0;
}

/* A Maildir (or Maildir++ folder) with tmp/, new/ and cur/. */
static int
maildir_make(const char *dir, int folder)
{
	static const char *subs[] = { "tmp", "new", "cur" };
	char	 p[1100];
	size_t	 i;
	int	 fd;

	if (mkdirs(dir, 0700) == -1)
		return -1;
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	if (folder) {
		snprintf(p, sizeof(p), "%s/maildirfolder", dir);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
			return -1;
		close(fd);
	}
	return 0;
}

/* Bytes in the new/ and cur/ of the Maildir and every folder of it. */
static uint64_t
maildir_usage(const char *dir)
{
	static const char *subs[] = { "new", "cur" };
	char	 p[1400];
	struct dirent *de;
	struct stat st;
	uint64_t total = 0;
	DIR	*d, *top;
	size_t	 i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if ((d = opendir(p)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    fstatat(dirfd(d), de->d_name, &st, 0) == 0)
				total += (uint64_t)st.st_size;
		closedir(d);
	}
	if ((top = opendir(dir)) == NULL)
		return total;
	while ((de = readdir(top)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			total += maildir_usage(p);
		}
	closedir(top);
	return total;
}

/* The line ending the message uses, so added headers match it. */
static const char *
eol_of(int fd)
{
	char	 b[1024];
	ssize_t	 n;
	char	*nl;

	if ((n = pread(fd, b, sizeof(b), 0)) <= 0)
		return "\r\n";
	if ((nl = memchr(b, '\n', (size_t)n)) == NULL)
		return "\r\n";
	return nl > b && nl[-1] == '\r' ? "\r\n" : "\n";
}

/*
 * Write prefix + content into dir/tmp, fsync, rename into dir/new and
 * fsync new/.  The Maildir-unique name is returned in name.
 */
static int
maildir_store(const char *dir, const struct buf *prefix, int content,
    const char *hostname, char *name, size_t namelen)
{
	struct timeval tv;
	struct stat st;
	char	 tmp[1400], new[1400], newdir[1100];
	int	 fd, dfd;

	gettimeofday(&tv, NULL);
	snprintf(name, namelen, "%lld.M%06ldP%ldQ%u.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++deliver_seq, hostname);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (io_write_all(fd, prefix->data, prefix->len) == -1 ||
	    io_copy_fd(content, fd) == -1 || fsync(fd) == -1 ||
	    fstat(fd, &st) == -1) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	/* ",S=<size>" lets readers skip a stat (Maildir++). */
	snprintf(name + strlen(name), namelen - strlen(name), ",S=%lld",
	    (long long)st.st_size);
	snprintf(new, sizeof(new), "%s/new/%s", dir, name);
	if (rename(tmp, new) == -1) {
		unlink(tmp);
		return -1;
	}
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	if ((dfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fsync(dfd) == -1) {
		close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* Keep the unstripped original for `sealmailctl quarantine release`. */
static void
quarantine_keep(const struct sm_config *cfg, const struct mda_rcpt *r,
    const struct buf *prefix, int msg, const char *id)
{
	char	 name[512];

	if (cfg->quarantine_days == 0)
		return;
	if (maildir_make(r->quarantine, 0) == -1 ||
	    maildir_store(r->quarantine, prefix, msg, cfg->hostname, name,
	    sizeof(name)) == -1) {
		log_warn("id=%s user=<%s> quarantine %s", id, r->user,
		    r->quarantine);
		return;
	}
	log_info("id=%s user=<%s> quarantined=%s", id, r->user, name);
}

/*
 * Deliver the message in msg (read with pread, never moved) from sender
 * to r, as class.  The outcome is in st, as an LMTP reply.
 */
void
mda_deliver(const struct sm_config *cfg, const struct mda_rcpt *r,
    enum mda_class class, const char *sender, int msg, struct mda_status *st)
{
	struct strip_opts so;
	struct strip_result sr;
	struct buf prefix;
	struct stat sb;
	char	 folder[1100], name[512];
	const char *eol, *where;
	int	 content = msg, stripped = -1;

	if (class == MDA_UNSAFE && !r->unsafe_mailbox) {
		status_set(st, 550, "5.7.1 <%s> accepts only verified mail",
		    r->rcpt);
		log_info("user=<%s> class=unsafe refused: no unsafe mailbox",
		    r->user);
		return;
	}
	if (fstat(msg, &sb) == -1) {
		status_set(st, 451, "4.3.0 cannot read the message");
		return;
	}
	if (r->quota_bytes > 0 && maildir_usage(r->maildir) +
	    (uint64_t)sb.st_size > r->quota_bytes) {
		status_set(st, 552, "5.2.2 <%s> mailbox full", r->rcpt);
		log_info("user=<%s> refused: over quota %llu", r->user,
		    (unsigned long long)r->quota_bytes);
		return;
	}
	if (class == MDA_SAFE) {
		snprintf(folder, sizeof(folder), "%s", r->maildir);
		where = "INBOX";
	} else {
		snprintf(folder, sizeof(folder), "%s/.Unsafe", r->maildir);
		where = "Unsafe";
	}
	if (maildir_make(r->maildir, 0) == -1 ||
	    (class == MDA_UNSAFE && maildir_make(folder, 1) == -1)) {
		log_warn("user=<%s> maildir %s", r->user, folder);
		status_set(st, 451, "4.3.0 mailbox not available");
		return;
	}

	eol = eol_of(msg);
	buf_init(&prefix, 0);
	buf_printf(&prefix, "Return-Path: <%s>%sDelivered-To: %s%s", sender,
	    eol, r->user, eol);

	memset(&sr, 0, sizeof(sr));
	/*
	 * Unsafe mail always goes through the stripper, even with both
	 * options off: it rewrites the message in a structure Sealmail
	 * chose, and reduces one it cannot parse to its readable text
	 * (DESIGN.md rule 3), so no sender's MIME reaches the mailbox as is.
	 */
	if (class == MDA_UNSAFE) {
		memset(&so, 0, sizeof(so));
		so.strip_attachments = r->strip_attachments;
		so.strip_html = r->strip_html;
		so.subject_tag = r->subject_tag[0] ? r->subject_tag : NULL;
		if ((stripped = memfd_create("stripped", MFD_CLOEXEC)) == -1 ||
		    strip_fd(&so, msg, stripped, &sr) == -1) {
			log_warnx("user=<%s> stripping failed", r->user);
			status_set(st, 451, "4.3.0 cannot process the message");
			goto out;
		}
		content = stripped;
	}
	if (maildir_store(folder, &prefix, content, cfg->hostname, name,
	    sizeof(name)) == -1) {
		log_warn("user=<%s> store in %s", r->user, folder);
		status_set(st, errno == EDQUOT || errno == ENOSPC ? 452 : 451,
		    "4.3.0 cannot write the mailbox");
		goto out;
	}
	log_info("user=<%s> from=<%s> class=%s folder=%s file=%s "
	    "stripped=%u converted=%u", r->user, sender,
	    mda_class_name(class), where, name, sr.nremoved, sr.nconverted);
	if (stripped != -1 && (sr.nremoved > 0 || sr.nconverted > 0 ||
	    sr.degraded))
		quarantine_keep(cfg, r, &prefix, msg, name);
	status_set(st, 250, "2.0.0 <%s> delivered to %s", r->rcpt, where);
out:
	if (stripped != -1)
		close(stripped);
	buf_free(&prefix);
}
