/*
 * maildirsize.c - the Maildir++ quota file, "maildirsize" at the top of a
 * user's Maildir, so that checking a quota at delivery costs the same
 * into an empty Maildir and into one of 100,000 messages; see maildir.h.
 *
 * Grammar (Courier's Maildir++ quota extension): the first line is the
 * quota, a comma-separated list of "<n>S" (bytes) and "<n>C" (messages);
 * every further line is "<bytes> <count>", each a signed decimal, and
 * the usage is the sum of those lines.  Sealmail writes the first line
 * "<quota_bytes>S" only.
 *
 * Who writes it: mda after a delivery (md_quota_add: one line, one write
 * to a file opened O_APPEND, so concurrent writers never interleave) and
 * imapd's per-user process when it stores (APPEND, COPY) or expunges a
 * message, with the file's size.  A file that is missing is not made by
 * an add: the next check counts.  Who reads it: mda before a delivery
 * (md_quota_usage).  The file is recounted (md_usage walk, the result
 * written in tmp/ and renamed over it) when it is missing, not a regular
 * file, 5120 bytes or longer, older than 15 minutes, malformed, or its
 * quota line is not the configured one, as the spec says; and also
 * whenever the sum says the delivery would go over the quota, so that a
 * refusal is never decided on a count that drifted (a writer that did
 * not add its line, a message removed by hand).
 *
 * Runs as [global] mail_user (mda.lmtp, the LDA after its privilege
 * drop, imapd's per-user process in its chroot).  The file is in the mail
 * user's tree, which processes parsing hostile input can write: it is
 * opened O_NOFOLLOW, must be a regular file, at most 5120 bytes are read,
 * and anything it says that does not parse, overflows or sums below zero
 * only makes the next check recount.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "maildir.h"

#define MDS_FILE	"maildirsize"
#define MDS_MAX		5120		/* bytes: longer means recount */
#define MDS_STALE	(15 * 60)	/* seconds: older means recount */
#define MDS_DIGITS	18		/* a number that surely fits int64_t */

/* A decimal of at most MDS_DIGITS digits at *s (before end), signed. */
static int
mds_number(const char **s, const char *end, int sign, int64_t *v)
{
	const char	*p = *s;
	int		 neg = 0, n = 0;

	if (sign && p < end && *p == '-') {
		neg = 1;
		p++;
	}
	for (*v = 0; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++n > MDS_DIGITS)
			return -1;
		*v = *v * 10 + (*p - '0');
	}
	if (n == 0)
		return -1;
	if (neg)
		*v = -*v;
	*s = p;
	return 0;
}

/* The quota line, s to end (no LF): "<n>S" and "<n>C", comma-separated. */
static int
mds_quota_line(const char *s, const char *end, struct md_quota *q)
{
	int64_t	 v;

	if (s == end)
		return 0;	/* no quota given */
	for (;;) {
		if (mds_number(&s, end, 0, &v) == -1 || s == end)
			return -1;
		if (*s == 'S')
			q->limit_bytes = (uint64_t)v;
		else if (*s == 'C')
			q->limit_count = (uint64_t)v;
		else
			return -1;
		if (++s == end)
			return 0;
		if (*s++ != ',')
			return -1;
	}
}

/* Add a, the value of a line, to *sum; -1 if it would overflow. */
static int
mds_add(int64_t *sum, int64_t a)
{
	if ((a > 0 && *sum > INT64_MAX - a) || (a < 0 && *sum < INT64_MIN - a))
		return -1;
	*sum += a;
	return 0;
}

/*
 * Parse the n bytes of a maildirsize file at data into q: the quota and
 * the sums of the lines.  0, or -1 when the file is malformed (a line
 * that is not "<bytes> <count>", a last line without its LF, a number
 * too big, a sum below zero): the caller recounts.
 */
int
md_quota_parse(const char *data, size_t n, struct md_quota *q)
{
	const char	*s = data, *end = data + n, *nl;
	int64_t		 b, c;

	memset(q, 0, sizeof(*q));
	if ((nl = memchr(s, '\n', n)) == NULL ||
	    mds_quota_line(s, nl, q) == -1)
		return -1;
	for (s = nl + 1; s < end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return -1;	/* a line cut short */
		while (s < nl && *s == ' ')
			s++;
		if (mds_number(&s, nl, 1, &b) == -1 || s == nl || *s != ' ')
			return -1;
		while (s < nl && *s == ' ')
			s++;
		if (mds_number(&s, nl, 1, &c) == -1)
			return -1;
		while (s < nl && *s == ' ')
			s++;
		if (s != nl || mds_add(&q->bytes, b) == -1 ||
		    mds_add(&q->count, c) == -1)
			return -1;
	}
	return q->bytes < 0 || q->count < 0 ? -1 : 0;
}

/*
 * The file's usage, when it can be trusted for a quota of limit bytes:
 * 0 with q filled, -1 when it must be recounted.
 */
static int
mds_read(int mfd, uint64_t limit, struct md_quota *q)
{
	struct stat	 st;
	char		 b[MDS_MAX];
	ssize_t		 n = -1;
	int		 fd, r = -1;

	if ((fd = openat(mfd, MDS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size < MDS_MAX && st.st_mtime + MDS_STALE > time(NULL))
		n = pread(fd, b, sizeof(b), 0);
	if (n >= 0 && n < MDS_MAX && md_quota_parse(b, (size_t)n, q) == 0 &&
	    q->limit_bytes == limit && q->limit_count == 0)
		r = 0;
	close(fd);
	return r;
}

/*
 * Count the Maildir open as mfd and write the result as its new
 * maildirsize, made in tmp/ and renamed over the old one.  A file that
 * cannot be written is not an error: the count is in q.
 */
static void
mds_recount(int mfd, uint64_t limit, struct md_quota *q)
{
	char	 tmp[MD_NAME_MAX], line[96];
	int	 tfd, fd, n;

	memset(q, 0, sizeof(*q));
	q->limit_bytes = limit;
	md_usage_count(mfd, &q->bytes, &q->count);
	n = snprintf(line, sizeof(line), "%lluS\n%lld %lld\n",
	    (unsigned long long)limit, (long long)q->bytes,
	    (long long)q->count);
	if ((tfd = md_dir_step(mfd, "tmp", 1)) == -1)
		return;
	md_uniq(tmp, sizeof(tmp), NULL);
	if ((fd = openat(tfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) != -1) {
		if (io_write_all(fd, line, (size_t)n) == -1 ||
		    close(fd) == -1 ||
		    renameat(tfd, tmp, mfd, MDS_FILE) == -1)
			unlinkat(tfd, tmp, 0);
	}
	close(tfd);
}

/*
 * The bytes the Maildir open as mfd holds, for a quota of limit bytes
 * and a message of more bytes to come: from maildirsize while it can be
 * trusted and says the message fits, else counted (and the file
 * rewritten).  Always an answer: a Maildir that cannot be read counts
 * what can be.
 */
uint64_t
md_quota_usage(int mfd, uint64_t limit, uint64_t more)
{
	struct md_quota	 q;

	if (mds_read(mfd, limit, &q) == 0 &&
	    (uint64_t)q.bytes + more <= limit)
		return (uint64_t)q.bytes;
	mds_recount(mfd, limit, &q);
	return (uint64_t)q.bytes;
}

/*
 * Account for count messages of bytes bytes more (or fewer, negative) in
 * the Maildir open as mfd: one line appended to its maildirsize, when
 * there is one (none: the next check counts).  -1 with errno set when
 * the line could not be written; the next recount mends it.
 */
int
md_quota_add(int mfd, int64_t bytes, int64_t count)
{
	struct stat	 st;
	char		 line[48];
	int		 fd, n, r = -1;

	if ((fd = openat(mfd, MDS_FILE, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = snprintf(line, sizeof(line), "%lld %lld\n", (long long)bytes,
	    (long long)count);
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (write(fd, line, (size_t)n) == n)
		r = 0;
out:
	md_close(fd);
	return r;
}
