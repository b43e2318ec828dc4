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
 * the rename leaves only a tmp/ file, which no reader sees.  A message
 * that smtpd identified (XSEAL ID=) is written through a delivery record
 * instead (record.c), so a retry after a crash never stores it twice.
 *
 * Every directory below mail_root and quarantine_dir is reached from the
 * configured top without following links (common/maildir): a link
 * planted in the tree makes the delivery fail with 451, and writes
 * nothing elsewhere.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "maildir.h"
#include "mda.h"
#include "strip.h"


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
 * Keep the unstripped original for `sealmailctl quarantine release`; id
 * is the queue ID (or "-"), file the stripped copy's Maildir name.
 */
static void
quarantine_keep(const struct sm_config *cfg, const struct mda_rcpt *r,
    const struct buf *prefix, int msg, const char *id, const char *file)
{
	struct md_folder f;
	struct md_src src = { prefix, NULL, 0, msg, 0 };
	char	 name[MD_NAME_MAX];
	int	 qfd, rv;

	if (cfg->quarantine_days == 0)
		return;
	if ((qfd = md_user_open(cfg->quarantine_dir, r->user, 1)) == -1) {
		log_warn("id=%s user=<%s> quarantine", id, r->user);
		return;
	}
	rv = md_folder_open(qfd, NULL, 1, &f);
	close(qfd);
	if (rv == -1 ||
	    md_store(&f, &src, cfg->hostname, name, sizeof(name)) == -1)
		log_warn("id=%s user=<%s> quarantine", id, r->user);
	else
		log_info("id=%s user=<%s> file=%s quarantined=%s", id,
		    r->user, file, name);
	md_folder_close(&f);
}

/*
 * With a queue ID: was it delivered to this user already (or is it now,
 * an interrupted delivery completed)?  1 with st set (250, or 451 when
 * the record is unusable), 0 when it must be delivered.
 */
static int
deliver_recorded(const struct mda_rcpt *r, int ufd, int rfd, const char *qid,
    struct mda_status *st)
{
	int	 unsafe, res;

	res = rec_check(ufd, rfd, qid, &unsafe);
	if (res == 0)
		return 0;
	if (res == -1) {
		log_warn("id=%s user=<%s> delivery record", qid, r->user);
		status_set(st, 451, "4.3.0 mailbox not available");
		return 1;
	}
	log_info("id=%s user=<%s> already delivered, not stored again",
	    qid, r->user);
	status_set(st, 250, "2.0.0 <%s> delivered to %s", r->rcpt,
	    unsafe ? "Unsafe" : "INBOX");
	return 1;
}

/*
 * Over the user's quota with size more bytes?  The usage comes from the
 * Maildir's maildirsize, counted again only when that cannot be trusted
 * or says the message does not fit (common/maildirsize.c).
 */
static int
over_quota(const struct mda_rcpt *r, int ufd, off_t size)
{
	int	 mfd;
	uint64_t used;

	if (r->quota_bytes == 0)
		return 0;
	if ((mfd = md_dir_step(ufd, "Maildir", 1)) == -1)
		return 0;	/* the delivery reports it */
	used = md_quota_usage(mfd, r->quota_bytes, (uint64_t)size);
	close(mfd);
	return used + (uint64_t)size > r->quota_bytes;
}

/* One message of the stored size more in the user's maildirsize. */
static void
quota_account(const struct mda_rcpt *r, int ufd, const struct buf *prefix,
    int content, const char *id)
{
	struct stat	 sb;
	int		 mfd;

	if (fstat(content, &sb) == -1 ||
	    (mfd = md_dir_step(ufd, "Maildir", 0)) == -1)
		return;
	if (md_quota_add(mfd, (int64_t)(prefix->len + (size_t)sb.st_size),
	    1) == -1)
		log_warn("id=%s user=<%s> maildirsize", id, r->user);
	close(mfd);
}

/*
 * Deliver the message in msg (read with pread, never moved) from sender
 * to r, as class.  With qid (smtpd's queue ID, from XSEAL) the delivery
 * is recorded and a message delivered before is not stored again
 * (record.c).  The outcome is in st, as an LMTP reply.
 */
void
mda_deliver(const struct sm_config *cfg, const struct mda_rcpt *r,
    enum mda_class class, const char *sender, const char *qid, int msg,
    struct mda_status *st)
{
	struct strip_opts so;
	struct strip_result sr;
	struct md_folder f = MD_FOLDER_INIT;
	struct md_src src = { NULL, NULL, 0, -1, 0 };
	struct buf prefix;
	struct stat sb;
	char	 name[MD_NAME_MAX];
	const char *eol, *where, *id = qid != NULL ? qid : "-";
	int	 content = msg, stripped = -1, ufd = -1, rfd = -1, lockfd = -1;
	int	 unsafe, res;

	buf_init(&prefix, 0);
	memset(&sr, 0, sizeof(sr));
	if (qid != NULL) {
		/* one walk to the records: lock, check, delivery */
		if ((ufd = md_user_open(cfg->mail_root, r->user, 1)) == -1 ||
		    (rfd = rec_open(ufd)) == -1 ||
		    (lockfd = rec_lock(rfd, qid)) == -1) {
			log_warn("id=%s user=<%s> delivery record", qid,
			    r->user);
			status_set(st, 451, "4.3.0 mailbox not available");
			goto out;
		}
		if (deliver_recorded(r, ufd, rfd, qid, st))
			goto out;
	}
	unsafe = class == MDA_UNSAFE;
	where = unsafe ? "Unsafe" : "INBOX";
	if (unsafe && !r->unsafe_mailbox) {
		status_set(st, 550, "5.7.1 <%s> accepts only verified mail",
		    r->rcpt);
		log_info("id=%s user=<%s> class=unsafe refused: no unsafe "
		    "mailbox", id, r->user);
		goto out;
	}
	if (fstat(msg, &sb) == -1) {
		status_set(st, 451, "4.3.0 cannot read the message");
		goto out;
	}
	if (ufd == -1 &&
	    (ufd = md_user_open(cfg->mail_root, r->user, 1)) == -1)
		goto unavailable;
	if (over_quota(r, ufd, sb.st_size)) {
		status_set(st, 552, "5.2.2 <%s> mailbox full", r->rcpt);
		log_info("id=%s user=<%s> refused: over quota %llu", id,
		    r->user, (unsigned long long)r->quota_bytes);
		goto out;
	}
	if (md_mailbox_open(ufd, unsafe ? MD_UNSAFE : NULL, &f) == -1)
		goto unavailable;

	eol = eol_of(msg);
	buf_printf(&prefix, "Return-Path: <%s>%sDelivered-To: %s%s", sender,
	    eol, r->user, eol);
	/*
	 * Unsafe mail always goes through the stripper, even with both
	 * options off: it rewrites the message in a structure Sealmail
	 * chose, and reduces one it cannot parse to its readable text
	 * (docs/architecture.md, rule 3), so no sender's MIME reaches the
	 * mailbox as is.
	 */
	if (unsafe) {
		memset(&so, 0, sizeof(so));
		so.strip_attachments = r->strip_attachments;
		so.strip_html = r->strip_html;
		so.subject_tag = r->subject_tag[0] ? r->subject_tag : NULL;
		if ((stripped = memfd_create("stripped", MFD_CLOEXEC)) == -1 ||
		    strip_fd(&so, msg, stripped, &sr) == -1) {
			log_warnx("id=%s user=<%s> stripping failed", id,
			    r->user);
			status_set(st, 451, "4.3.0 cannot process the message");
			goto out;
		}
		content = stripped;
	}
	if (qid != NULL)
		res = rec_store(rfd, qid, &f, unsafe, &prefix, content,
		    cfg->hostname, name, sizeof(name));
	else {
		src.prefix = &prefix;
		src.fd = content;
		res = md_store(&f, &src, cfg->hostname, name, sizeof(name));
	}
	if (res == -1) {
		log_warn("id=%s user=<%s> store in %s", id, r->user, where);
		status_set(st, errno == EDQUOT || errno == ENOSPC ? 452 : 451,
		    "4.3.0 cannot write the mailbox");
		goto out;
	}
	quota_account(r, ufd, &prefix, content, id);
	log_info("id=%s user=<%s> from=<%s> class=%s folder=%s file=%s "
	    "stripped=%u converted=%u", id, r->user, sender,
	    mda_class_name(class), where, name, sr.nremoved, sr.nconverted);
	if (stripped != -1 && (sr.nremoved > 0 || sr.nconverted > 0 ||
	    sr.degraded))
		quarantine_keep(cfg, r, &prefix, msg, id, name);
	status_set(st, 250, "2.0.0 <%s> delivered to %s", r->rcpt, where);
	goto out;
unavailable:
	/* a link in the way, a directory not ours, a full disk */
	log_warn("id=%s user=<%s> mailbox %s", id, r->user, where);
	status_set(st, 451, "4.3.0 mailbox not available");
out:
	md_folder_close(&f);
	if (ufd != -1)
		close(ufd);
	if (rfd != -1)
		close(rfd);
	if (stripped != -1)
		close(stripped);
	if (lockfd != -1)
		close(lockfd);
	buf_free(&prefix);
}
