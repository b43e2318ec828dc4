/*
 * dsn.c - delivery status notifications (RFC 3464 multipart/report) for
 * recipients that failed permanently or expired in the queue, and the
 * one delay notice ("Action: delayed") for those still being retried
 * once the message waited [smtpd] delay_warning_time (0: never), which
 * rides along with a bounce when both are due.  Called by
 * smtpd.queue, which decides whether a bounce is due (never to the null
 * sender, never for a bounce) and gives the bounce the class of the
 * message it reports on: a bounce of unsafe mail is unsafe.
 *
 * The report quotes the original's header section only, as a text/
 * rfc822-headers part, and at most DSN_HEADERS_MAX bytes of it, cut
 * where a header field ends: the original may be hostile, and returning
 * its body (or pages of its headers) would turn us into a reflector.
 *
 * The bounce is from MAILER-DAEMON at the system's domain (the
 * postmaster's, q_system_owner), whose key signs it in the queue: the
 * signature's d= is the From: domain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "smtpd.h"

/*
 * The original's header section, up to the empty line, bare CR dropped
 * and every line ending in CRLF, but only the whole header fields (with
 * their continuation lines) that fit in DSN_HEADERS_MAX bytes.
 */
static void
dsn_headers(int fd, struct buf *out)
{
	struct buf	 h;
	char		 b[4096];
	ssize_t		 n;
	off_t		 off = 0;
	size_t		 i, keep = 0;
	int		 bol = 1, done = 0;

	buf_init(&h, 0);
	while (!done && h.len <= DSN_HEADERS_MAX &&
	    (n = pread(fd, b, sizeof(b), off)) > 0) {
		off += n;
		for (i = 0; i < (size_t)n && h.len <= DSN_HEADERS_MAX; i++) {
			if (b[i] == '\r')
				continue;
			if (b[i] == '\n') {
				if (bol) {
					done = 1;	/* the empty line */
					break;
				}
				buf_addstr(&h, "\r\n");
				bol = 1;
				continue;
			}
			/* a new field starts: the last one ended */
			if (bol && b[i] != ' ' && b[i] != '\t')
				keep = h.len;
			/* "--" at a line start could end our part */
			if (bol && b[i] == '-')
				buf_addc(&h, ' ');
			buf_addc(&h, b[i]);
			bol = 0;
		}
	}
	if (h.len <= DSN_HEADERS_MAX) {
		/* the section ended (or the message did): all of it fits */
		if (!bol)
			buf_addstr(&h, "\r\n");
		if (h.len <= DSN_HEADERS_MAX)
			keep = h.len;
	}
	if (keep > 0)
		buf_add(out, h.data, keep);
	buf_free(&h);
}

/* "5.1.1" from a reply text like "550 5.1.1 No such user" */
static void
status_of(const char *last, int expired, char *out, size_t len)
{
	const char	*p = last;
	int		 a, b, c, n = 0;

	if (expired) {
		snprintf(out, len, "4.4.7");
		return;
	}
	if (p != NULL && strlen(p) > 4 && p[3] == ' ')
		p += 4;
	if (p != NULL && sscanf(p, "%1d.%3d.%3d%n", &a, &b, &c, &n) == 3 &&
	    (a == 4 || a == 5) && n > 0)
		snprintf(out, len, "%d.%d.%d", a, b, c);
	else
		snprintf(out, len, "5.0.0");
}

/*
 * Is the delay notice due: the author not told yet, a recipient still
 * to be tried, and the message older than delay_warning_time?  Never
 * for the null sender or for a DSN.
 */
int
q_dsn_delay_due(const struct q_envelope *e, const struct sm_config *cfg,
    time_t now)
{
	int	 i;

	if (cfg->delay_warning_time <= 0 || e->delay_warned ||
	    now - e->created < cfg->delay_warning_time ||
	    e->from[0] == '\0' || strcmp(e->source, "dsn") == 0)
		return 0;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_PENDING ||
		    e->rcpt[i].state == Q_RS_REMOTE)
			return 1;
	return 0;
}

static int
still_to_try(const struct q_rcpt *r)
{
	return r->state == Q_RS_PENDING || r->state == Q_RS_REMOTE;
}

/* The delayed recipients' lines of the text part. */
static void
delayed_text(struct buf *b, const struct q_envelope *e, int failed,
    const char *until)
{
	int	 i;

	buf_printf(b, "%s delivery of your message (queue ID %s) to these "
	    "recipients\r\nhas been delayed; the mail system keeps trying "
	    "until %s.\r\nYou do not need to send it again.\r\n\r\n",
	    failed ? "\r\nAlso," : "This is a warning only:", e->id, until);
	for (i = 0; i < e->nrcpt; i++)
		if (still_to_try(&e->rcpt[i]))
			buf_printf(b, "<%s>: %s\r\n", e->rcpt[i].addr,
			    e->rcpt[i].last ? e->rcpt[i].last :
			    "not delivered yet");
}

/* The delayed recipients' fields of the delivery-status part. */
static void
delayed_status(struct buf *b, const struct q_envelope *e, const char *until)
{
	const char	*last;
	char		 status[16];
	int		 i;

	for (i = 0; i < e->nrcpt; i++) {
		if (!still_to_try(&e->rcpt[i]))
			continue;
		last = e->rcpt[i].last;
		status_of(last, 0, status, sizeof(status));
		if (status[0] != '4')
			snprintf(status, sizeof(status), "4.0.0");
		buf_printf(b, "\r\nFinal-Recipient: rfc822; %s\r\n"
		    "Action: delayed\r\nStatus: %s\r\n", e->rcpt[i].addr,
		    status);
		if (last != NULL)
			buf_printf(b, "Diagnostic-Code: smtp; %s\r\n", last);
		buf_printf(b, "Will-Retry-Until: %s\r\n", until);
	}
}

/*
 * Write the DSN for every failed recipient of e into fd, and for those
 * still being retried when the delay notice is due (which is then
 * marked sent in e: the caller saves it once the DSN is queued); orig
 * is the original message.  0 or -1.
 */
int
q_dsn_write(int fd, const struct sm_config *cfg, struct q_envelope *e,
    int orig, const char *dsnid)
{
	struct buf	 b;
	char		 date[64], arrival[64], status[16], until[64];
	time_t		 now = time(NULL), end;
	struct tm	 tm;
	const char	*last;
	int		 i, expired, r = 0, failed = 0, delayed;

	delayed = q_dsn_delay_due(e, cfg, now);
	for (i = 0; i < e->nrcpt; i++)
		failed += e->rcpt[i].state == Q_RS_FAILED;
	end = e->created + cfg->queue_lifetime;
	gmtime_r(&end, &tm);
	strftime(until, sizeof(until), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	gmtime_r(&e->created, &tm);
	strftime(arrival, sizeof(arrival), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_init(&b, 0);
	buf_printf(&b, "Received: by %s (Sealmail) id %s; %s\r\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s.dsn@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s/%s\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n"
	    "--%s/%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n",
	    cfg->hostname, dsnid, date, q_system_owner(cfg->postmaster,
	    cfg->hostname), e->from, failed ? "Undelivered Mail Returned "
	    "to Sender" : "Delayed Mail (still being retried)", date, dsnid,
	    cfg->hostname, e->id, cfg->hostname, e->id, cfg->hostname,
	    cfg->hostname);
	if (failed)
		buf_printf(&b, "Your message (queue ID %s) could not be "
		    "delivered to one or more\r\nrecipients:\r\n\r\n",
		    e->id);
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == Q_RS_FAILED)
			buf_printf(&b, "<%s>: %s\r\n", e->rcpt[i].addr,
			    e->rcpt[i].last ? e->rcpt[i].last : "failed");
	if (delayed)
		delayed_text(&b, e, failed, until);
	buf_printf(&b, "\r\n--%s/%s\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\n"
	    "X-Sealmail-Queue-ID: %s\r\n"
	    "Arrival-Date: %s\r\n",
	    e->id, cfg->hostname, cfg->hostname, e->id, arrival);
	for (i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].state != Q_RS_FAILED)
			continue;
		last = e->rcpt[i].last;
		expired = last != NULL && strncmp(last, "4.4.7", 5) == 0;
		status_of(last, expired, status, sizeof(status));
		buf_printf(&b, "\r\nFinal-Recipient: rfc822; %s\r\n"
		    "Action: failed\r\nStatus: %s\r\n", e->rcpt[i].addr,
		    status);
		if (last != NULL && !expired)
			buf_printf(&b, "Diagnostic-Code: smtp; %s\r\n", last);
	}
	if (delayed)
		delayed_status(&b, e, until);
	buf_printf(&b, "\r\n--%s/%s\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\n", e->id,
	    cfg->hostname);
	dsn_headers(orig, &b);
	buf_printf(&b, "\r\n--%s/%s--\r\n", e->id, cfg->hostname);
	if (io_write_all(fd, b.data, b.len) == -1)
		r = -1;
	else if (delayed) {
		log_info("id=%s dsn=%s to=<%s> delay notice (waited %llds)",
		    e->id, dsnid, e->from, (long long)(now - e->created));
		e->delay_warned = 1;
	}
	buf_free(&b);
	return r;
}
