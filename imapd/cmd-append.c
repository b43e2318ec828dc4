/*
 * cmd-append.c - APPEND, with MULTIAPPEND (RFC 3502: several messages in
 * one command, all stored or none) and BINARY's literal8 (RFC 3516: the
 * message is stored exactly as sent, NULs included), answered with
 * UIDPLUS's APPENDUID and refused over the user's quota (RFC 9208
 * OVERQUOTA, quota.c).
 *
 * Runs in the per-user process (vmail, chrooted to the user's mail
 * directory).  The messages are already in memory, bounded by the
 * parser's literal and command limits; every message of the command is
 * checked before the first is stored, and a failure part way removes the
 * ones stored, so another session never sees half of a MULTIAPPEND (the
 * process runs one command at a time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "xmalloc.h"

#define APPEND_MAX_MSGS	1000	/* messages in one APPEND */

struct append_msg {
	uint32_t		 flags;
	char			*keywords;	/* NULL: none */
	int64_t			 date;
	const struct imap_arg	*data;
};

/* "17-Jul-1996 02:44:25 -0700" (day may be space-padded). */
static int
parse_datetime(const char *s, int64_t *t_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct tm	 tm;
	char		 mon[4], sign;
	int		 day, year, hh, mm, ss, zone, n = 0;
	const char	*p;

	memset(&tm, 0, sizeof(tm));
	while (*s == ' ')
		s++;
	if (sscanf(s, "%2d-%3c-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year,
	    &hh, &mm, &ss, &sign, &zone, &n) != 8 || s[n] != '\0' ||
	    (sign != '+' && sign != '-'))
		return -1;
	mon[3] = '\0';
	for (char *q = mon; *q; q++)
		*q = (char)(*q | 0x20);
	if ((p = strstr(months, mon)) == NULL || (p - months) % 3 != 0)
		return -1;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 ||
	    year < 1900 || zone % 100 > 59)
		return -1;
	tm.tm_mday = day;
	tm.tm_mon = (int)((p - months) / 3);
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t_r = (int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) *
	    ((zone / 100) * 3600 + (zone % 100) * 60);
	return 0;
}

/*
 * One append-message from args at *i: [flag-list] [date-time] and the
 * message (a literal, literal8 or, last, a quoted string).  -1 if
 * malformed.
 */
static int
parse_one(const struct imap_list *args, size_t *i, struct append_msg *am)
{
	struct buf	 kw;
	const char	*date;
	size_t		 k = *i;

	memset(am, 0, sizeof(*am));
	am->date = (int64_t)time(NULL);
	if (k < args->n && args->v[k].type == IMAP_ARG_LIST) {
		buf_init(&kw, 0);
		if (imap_flags_parse(&args->v[k], &am->flags, &kw) == -1) {
			buf_free(&kw);
			return -1;
		}
		if (kw.len > 0)
			am->keywords = xstrdup(buf_cstr(&kw));
		buf_free(&kw);
		k++;
	}
	if (k + 1 < args->n && args->v[k].type == IMAP_ARG_STRING) {
		if (imap_arg_string(&args->v[k], &date) == -1 ||
		    parse_datetime(date, &am->date) == -1)
			return -1;
		k++;
	}
	if (k >= args->n || (args->v[k].type != IMAP_ARG_LITERAL &&
	    (args->v[k].type != IMAP_ARG_STRING || k + 1 != args->n)))
		return -1;
	am->data = &args->v[k];
	*i = k + 1;
	return 0;
}

static void
msgs_free(struct append_msg *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].keywords);
	free(v);
}

/* Every message of the command, or -1 if one is malformed. */
static int
parse_all(const struct imap_list *args, struct append_msg **v_r,
    size_t *n_r, uint64_t *bytes_r)
{
	struct append_msg	*v = NULL;
	size_t			 n = 0, i = 1;

	*bytes_r = 0;
	while (i < args->n) {
		if (n == APPEND_MAX_MSGS)
			goto bad;
		v = xreallocarray(v, n + 1, sizeof(*v));
		if (parse_one(args, &i, &v[n]) == -1) {
			free(v[n].keywords);
			goto bad;
		}
		*bytes_r += v[n].data->len;
		n++;
	}
	if (n == 0)
		goto bad;
	*v_r = v;
	*n_r = n;
	return 0;
bad:
	msgs_free(v, n);
	return -1;
}

/*
 * Store every message into mb, their UIDs into uids, keywords spelt as
 * the folder first knew them; all or nothing.  0, or -1 with nothing
 * left behind and the reply's text in *why.
 */
static int
store_all(struct mbox *mb, const struct append_msg *v, size_t n,
    uint32_t *uids, const char **why)
{
	struct buf	 canon;
	size_t		 i;

	buf_init(&canon, 0);
	for (i = 0; i < n; i++) {
		if (mbox_keywords_add(mb, v[i].keywords, &canon, 1) == -1) {
			*why = "[LIMIT] Too many keywords";
			break;
		}
		if (mbox_append(mb, v[i].data->str, v[i].data->len,
		    v[i].flags, canon.len ? buf_cstr(&canon) : NULL,
		    v[i].date, &uids[i]) == -1) {
			*why = "[SERVERBUG] Cannot store the message";
			break;
		}
	}
	buf_free(&canon);
	if (i == n)
		return 0;
	while (i > 0)
		mbox_expunge_msg(mb, uids[--i]);
	return -1;
}

int
cmd_append(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct append_msg	*v;
	struct mbox		*mb;
	struct buf		 set;
	uint32_t		*uids;
	uint64_t		 bytes;
	size_t			 n, i;
	char			*name, err[128];
	const char		*why;

	if (args->n < 2 || (name = imap_mailbox_arg(c, &args->v[0])) ==
	    NULL) {
		client_tagged(c, tag, "BAD", "APPEND mailbox [flags] [date] "
		    "message ...");
		return 0;
	}
	if (parse_all(args, &v, &n, &bytes) == -1) {
		free(name);
		client_tagged(c, tag, "BAD", "Invalid APPEND arguments");
		return 0;
	}
	for (i = 0; i < n && v[i].data->len > 0; i++)
		;
	if (i < n) {
		client_tagged(c, tag, "NO", "Empty message");
		goto out;
	}
	if ((mb = mbox_get(name, err, sizeof(err))) == NULL) {
		client_tagged(c, tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	if (!imap_quota_allows(bytes)) {
		client_tagged(c, tag, "NO", "[OVERQUOTA] Quota exceeded");
		mbox_close(mb);
		goto out;
	}
	uids = xreallocarray(NULL, n, sizeof(*uids));
	if (store_all(mb, v, n, uids, &why) == -1)
		client_tagged(c, tag, "NO", "%s", why);
	else {
		log_info("id=%s user=%s append mailbox=%s messages=%zu "
		    "uid=%u size=%llu", c->id, c->user, name, n, uids[0],
		    (unsigned long long)bytes);
		client_notify(mb, c);
		buf_init(&set, 0);
		imap_seqset_format(uids, n, &set);
		client_tagged(c, tag, "OK",
		    "[APPENDUID %u %s] APPEND completed",
		    mb->meta.uidvalidity, buf_cstr(&set));
		buf_free(&set);
	}
	free(uids);
	mbox_close(mb);
out:
	msgs_free(v, n);
	free(name);
	return 0;
}
