/*
 * cmd-mailbox.c - commands on mailboxes as a whole: SELECT, EXAMINE,
 * CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with
 * LIST-EXTENDED, SPECIAL-USE and LIST-STATUS), LSUB, STATUS and APPEND.
 *
 * Runs in the per-user process (vmail, chrooted to the user's mail
 * directory).  Every mailbox name passes imap_mailbox_arg(), which
 * refuses anything mailbox.c could turn into a path outside the Maildir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "qresync.h"
#include "utf8.h"
#include "xmalloc.h"

char *
imap_mailbox_arg(struct client *c, const struct imap_arg *a)
{
	struct buf	 b;
	const char	*s;
	char		*n;
	size_t		 len;
	int		 r;

	if (imap_arg_astring(a, &s) == -1)
		return NULL;
	/*
	 * Names are kept in modified UTF-7, as IMAP4rev1 sends them: an
	 * IMAP4rev2 session's UTF-8 is converted, an IMAP4rev1 session's name
	 * must be modified UTF-7 already (RFC 3501 5.1.3: no 8-bit bytes, "&"
	 * written "&-"), so every stored name reads back the same in both.
	 */
	buf_init(&b, 0);
	if (c->rev2)
		r = utf8_to_mutf7(s, &b);
	else if ((r = utf8_from_mutf7(s, &b)) == 0) {
		buf_reset(&b);
		(void)buf_addstr(&b, s);
	}
	n = r == 0 ? mbox_name_norm(buf_cstr(&b)) : NULL;
	buf_free(&b);
	if (n == NULL)
		return NULL;
	len = strlen(n);
	if (len > 1 && n[len - 1] == '/')
		n[len - 1] = '\0';
	if (!mbox_name_valid(n)) {
		free(n);
		return NULL;
	}
	return n;
}

static void
select_responses(struct client *c)
{
	struct mbox	*mb = c->mb;
	size_t		 i, unseen = 0;

	client_flags_announce(c);
	client_printf(c, "* %zu EXISTS\r\n", c->n);
	if (!c->rev2) {
		client_printf(c, "* %zu RECENT\r\n", c->nrecent);
		for (i = 0; i < c->n; i++) {
			struct imsg *m = client_msg(c, i);
			if (m != NULL && !(m->flags & IMSG_SEEN)) {
				unseen = i + 1;
				break;
			}
		}
		if (unseen > 0)
			client_printf(c, "* OK [UNSEEN %zu] First unseen\r\n",
			    unseen);
	}
	client_printf(c, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
	    mb->meta.uidvalidity);
	client_printf(c, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	    mb->meta.uidnext);
	client_printf(c, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    (unsigned long long)mb->meta.highestmodseq);
	if (c->rev2) {
		client_printf(c, "* LIST () \"/\" ");
		client_add_mailbox(c, mb->name);
		client_printf(c, "\r\n");
	}
}

int
cmd_select(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct mbox	*mb;
	struct select_params sp;
	char		*name, err[128];
	const char	*perr;

	memset(&sp, 0, sizeof(sp));
	if (args->n < 1 || args->n > 2 ||
	    (name = imap_mailbox_arg(c, &args->v[0])) == NULL) {
		client_tagged(c, tag, "BAD", "SELECT mailbox");
		return 0;
	}
	if (args->n == 2) {
		if (args->v[1].type != IMAP_ARG_LIST) {
			free(name);
			client_tagged(c, tag, "BAD", "Bad select parameters");
			return 0;
		}
		if (select_params_parse(c, args->v[1].list, &sp,
		    &perr) == -1) {
			free(name);
			client_tagged(c, tag, "BAD", "%s", perr);
			return 0;
		}
		if (sp.condstore)
			c->condstore = 1;
	}
	if (c->mb != NULL) {
		client_view_reset(c);
		if (c->rev2 || c->condstore)
			client_printf(c, "* OK [CLOSED] Previous mailbox "
			    "closed\r\n");
	}
	c->state = CS_AUTH;
	if ((mb = mbox_open(name, err, sizeof(err))) == NULL) {
		free(name);
		client_tagged(c, tag, "NO", "%s", err);
		return 0;
	}
	free(name);
	c->mb = mb;
	c->readonly = strcasecmp(c->cmdname, "EXAMINE") == 0;
	client_view_load(c);
	c->state = CS_SELECTED;
	select_responses(c);
	qresync_select(c, &sp);
	client_tagged(c, tag, "OK", "[%s] %s completed",
	    c->readonly ? "READ-ONLY" : "READ-WRITE", c->cmdname);
	return 0;
}

/*
 * CREATE's parameters: only USE (RFC 6154 CREATE-SPECIAL-USE), with at
 * most one attribute, one Sealmail keeps (mbox_use_attr()).  Returns 0
 * and the attribute or NULL in *use, or -1 with the reply in err.
 */
static int
create_params(const struct imap_list *args, const char **use, char *err,
    size_t errlen)
{
	const struct imap_list	*p, *attrs;
	const char		*a;

	*use = NULL;
	if (args->n == 1)
		return 0;
	if (args->n != 2 || args->v[1].type != IMAP_ARG_LIST)
		goto bad;
	p = args->v[1].list;
	if (p->n != 2 || !imap_arg_is_atom(&p->v[0], "USE") ||
	    p->v[1].type != IMAP_ARG_LIST)
		goto bad;
	attrs = p->v[1].list;
	if (attrs->n == 0)
		return 0;
	if (attrs->n > 1 || imap_arg_atom(&attrs->v[0], &a) == -1 ||
	    (*use = mbox_use_attr(a)) == NULL) {
		snprintf(err, errlen, "[USEATTR] Sealmail keeps one of "
		    "\\Archive \\Drafts \\Junk \\Sent \\Trash per folder");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "Unknown CREATE parameters");
	return -1;
}

int
cmd_create(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const char	*use;
	char		*name, err[128];

	if (args->n < 1 || (name = imap_mailbox_arg(c, &args->v[0])) == NULL) {
		client_tagged(c, tag, "NO", "[CANNOT] Invalid mailbox name");
		return 0;
	}
	if (create_params(args, &use, err, sizeof(err)) == -1)
		client_tagged(c, tag, strncmp(err, "[USEATTR]", 9) == 0 ?
		    "NO" : "BAD", "%s", err);
	else if (use != NULL && strcmp(name, "INBOX") == 0)
		client_tagged(c, tag, "NO", "[USEATTR] INBOX has no "
		    "special use");
	else if (mbox_create(name, err, sizeof(err)) == -1)
		client_tagged(c, tag, "NO", "%s", err);
	else if (use != NULL && mbox_set_special_use(name, use) == -1) {
		mbox_delete(name, err, sizeof(err));
		client_tagged(c, tag, "NO", "[SERVERBUG] Cannot keep the "
		    "special use");
	} else {
		log_info("id=%s user=%s create mailbox=%s%s%s", c->id,
		    c->user, name, use != NULL ? " use=" : "",
		    use != NULL ? use : "");
		client_tagged(c, tag, "OK", "CREATE completed");
	}
	free(name);
	return 0;
}

int
cmd_delete(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	char	*name, err[128];

	if (args->n != 1 || (name = imap_mailbox_arg(c, &args->v[0])) ==
	    NULL) {
		client_tagged(c, tag, "NO", "[NONEXISTENT] Invalid mailbox "
		    "name");
		return 0;
	}
	if (mbox_delete(name, err, sizeof(err)) == -1)
		client_tagged(c, tag, "NO", "%s", err);
	else
		client_tagged(c, tag, "OK", "DELETE completed");
	free(name);
	return 0;
}

int
cmd_rename(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	char	*from = NULL, *to = NULL, err[128];

	if (args->n == 2) {
		from = imap_mailbox_arg(c, &args->v[0]);
		to = imap_mailbox_arg(c, &args->v[1]);
	}
	if (from == NULL || to == NULL) {
		client_tagged(c, tag, "NO", "[CANNOT] Invalid mailbox name");
		free(from);
		free(to);
		return 0;
	}
	if (mbox_rename(from, to, err, sizeof(err)) == -1)
		client_tagged(c, tag, "NO", "%s", err);
	else
		client_tagged(c, tag, "OK", "RENAME completed");
	free(from);
	free(to);
	return 0;
}

int
cmd_subscribe(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	char	*name;
	int	 on = strcasecmp(c->cmdname, "SUBSCRIBE") == 0;

	if (args->n != 1 || (name = imap_mailbox_arg(c, &args->v[0])) ==
	    NULL) {
		client_tagged(c, tag, "NO", "Invalid mailbox name");
		return 0;
	}
	if (mbox_subscribe(name, on) == -1)
		client_tagged(c, tag, "NO", "[SERVERBUG] Cannot save "
		    "subscriptions");
	else
		client_tagged(c, tag, "OK", "%s completed", c->cmdname);
	free(name);
	return 0;
}

/* '*' matches anything, '%' anything but the separator. */
static int
match(const char *p, const char *s)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '*' || *p == '%') {
			for (;; s++) {
				if (match(p + 1, s))
					return 1;
				if (*s == '\0' || (*p == '%' && *s == '/'))
					return 0;
			}
		}
		if (*s == '\0' || *p != *s)
			return 0;
	}
	return *s == '\0';
}

struct names {
	char	**v;
	size_t	 n;
};

static int
collect(const char *name, void *arg)
{
	struct names	*ns = arg;

	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n++] = xstrdup(name);
	return 0;
}

static int
has_children(const struct names *ns, const char *name)
{
	size_t	 i, len = strlen(name);

	for (i = 0; i < ns->n; i++)
		if (strncmp(ns->v[i], name, len) == 0 && ns->v[i][len] == '/')
			return 1;
	return 0;
}

#define L_SUBSCRIBED	0x01	/* selection */
#define L_SPECIALUSE	0x02	/* selection */
#define L_RSUBSCRIBED	0x04	/* return */
#define L_RSPECIALUSE	0x08
#define L_RCHILDREN	0x10
#define L_RSTATUS	0x20
#define L_LSUB		0x40

static int
status_items(struct client *c, const char *name,
    const struct imap_list *items, int quiet_missing);

static void
list_one(struct client *c, const struct names *ns, const char *name,
    int opts, const struct imap_list *status)
{
	struct buf	 b;
	const char	*su = mbox_special_use(name);
	int		 sub = mbox_subscribed(name);

	if ((opts & (L_SUBSCRIBED | L_LSUB)) && !sub)
		return;
	if ((opts & L_SPECIALUSE) && su == NULL)
		return;
	buf_init(&b, 0);
	if (!(opts & L_LSUB))
		buf_addstr(&b, has_children(ns, name) ? "\\HasChildren" :
		    "\\HasNoChildren");
	if (su != NULL && !(opts & L_LSUB))
		buf_printf(&b, "%s%s", b.len ? " " : "", su);
	if (sub && (opts & (L_RSUBSCRIBED | L_SUBSCRIBED)))
		buf_printf(&b, "%s\\Subscribed", b.len ? " " : "");
	client_printf(c, "* %s (%s) \"/\" ", opts & L_LSUB ? "LSUB" : "LIST",
	    buf_cstr(&b));
	client_add_mailbox(c, name);
	client_write(c, "\r\n", 2);
	buf_free(&b);
	if (status != NULL)
		status_items(c, name, status, 1);
}

static int
list_opts(const struct imap_arg *a, int ret, int *opts,
    const struct imap_list **status)
{
	const struct imap_list	*l;
	size_t			 i;

	if (a->type != IMAP_ARG_LIST)
		return -1;
	l = a->list;
	for (i = 0; i < l->n; i++) {
		const struct imap_arg *o = &l->v[i];

		if (imap_arg_is_atom(o, "SUBSCRIBED"))
			*opts |= ret ? L_RSUBSCRIBED : L_SUBSCRIBED;
		else if (imap_arg_is_atom(o, "SPECIAL-USE"))
			*opts |= ret ? L_RSPECIALUSE : L_SPECIALUSE;
		else if (imap_arg_is_atom(o, "CHILDREN"))
			*opts |= L_RCHILDREN;
		else if (imap_arg_is_atom(o, "REMOTE") ||
		    imap_arg_is_atom(o, "RECURSIVEMATCH"))
			continue;
		else if (ret && imap_arg_is_atom(o, "STATUS") &&
		    i + 1 < l->n && l->v[i + 1].type == IMAP_ARG_LIST) {
			*status = l->v[++i].list;
			*opts |= L_RSTATUS;
		} else
			return -1;
	}
	return 0;
}

/* The pattern in the names' own encoding (modified UTF-7). */
static char *
list_pattern(struct client *c, const char *pat)
{
	struct buf	 b;
	char		*n;

	if (!c->rev2)
		return mbox_name_norm(pat);
	buf_init(&b, 0);
	if (utf8_to_mutf7(pat, &b) == -1)
		n = mbox_name_norm(pat);
	else
		n = mbox_name_norm(buf_cstr(&b));
	buf_free(&b);
	return n;
}

int
cmd_list(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const struct imap_list	*status = NULL, *pats;
	struct imap_list	 one;
	struct names		 ns = { NULL, 0 };
	const char		*ref, *pat;
	char			*full, *norm;
	size_t			 i, j, ai = 0;
	int			 opts = 0;

	if (strcasecmp(c->cmdname, "LSUB") == 0)
		opts |= L_LSUB;
	else if (args->n > 0 && args->v[0].type == IMAP_ARG_LIST) {
		if (list_opts(&args->v[0], 0, &opts, &status) == -1)
			goto bad;
		ai = 1;
	}
	if (args->n < ai + 2 || imap_arg_astring(&args->v[ai], &ref) == -1)
		goto bad;
	if (args->v[ai + 1].type == IMAP_ARG_LIST)
		pats = args->v[ai + 1].list;
	else {
		one.v = &args->v[ai + 1];
		one.n = 1;
		pats = &one;
	}
	if (args->n > ai + 2) {
		if (args->n != ai + 4 ||
		    !imap_arg_is_atom(&args->v[ai + 2], "RETURN") ||
		    list_opts(&args->v[ai + 3], 1, &opts, &status) == -1)
			goto bad;
	}
	if (pats->n == 1 && imap_arg_astring(&pats->v[0], &pat) == 0 &&
	    *pat == '\0' && !(opts & L_LSUB)) {
		client_printf(c, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		client_tagged(c, tag, "OK", "LIST completed");
		return 0;
	}
	mbox_list(collect, &ns);
	for (i = 0; i < ns.n; i++) {
		for (j = 0; j < pats->n; j++) {
			if (imap_arg_astring(&pats->v[j], &pat) == -1)
				continue;
			full = xasprintf("%s%s", ref, pat);
			norm = list_pattern(c, full);
			free(full);
			if (match(norm, ns.v[i])) {
				free(norm);
				list_one(c, &ns, ns.v[i], opts, status);
				break;
			}
			free(norm);
		}
	}
	for (i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	client_tagged(c, tag, "OK", "%s completed", c->cmdname);
	return 0;
bad:
	client_tagged(c, tag, "BAD", "Invalid LIST arguments");
	return 0;
}

/* "* STATUS name (...)"; -1 (and a tagged answer) on bad items. */
static int
status_items(struct client *c, const char *name,
    const struct imap_list *items, int quiet_missing)
{
	struct mbox	*mb;
	struct buf	 b;
	char		 err[128];
	size_t		 i, j;
	uint64_t	 v, size;
	const char	*it;

	if ((mb = mbox_open(name, err, sizeof(err))) == NULL)
		return quiet_missing ? 0 : -2;
	buf_init(&b, 0);
	for (i = 0; i < items->n; i++) {
		if (imap_arg_atom(&items->v[i], &it) == -1)
			goto bad;
		if (strcasecmp(it, "MESSAGES") == 0)
			v = mb->n;
		else if (strcasecmp(it, "UIDNEXT") == 0)
			v = mb->meta.uidnext;
		else if (strcasecmp(it, "UIDVALIDITY") == 0)
			v = mb->meta.uidvalidity;
		else if (strcasecmp(it, "HIGHESTMODSEQ") == 0)
			v = mb->meta.highestmodseq;
		else if (strcasecmp(it, "RECENT") == 0)
			v = mb->n - mbox_uid_pos(mb, mb->meta.recentuid);
		else if (strcasecmp(it, "UNSEEN") == 0 ||
		    strcasecmp(it, "DELETED") == 0 ||
		    strcasecmp(it, "SIZE") == 0) {
			for (j = 0, v = 0, size = 0; j < mb->n; j++) {
				struct imsg *m = mb->msgs[j];
				if (strcasecmp(it, "UNSEEN") == 0)
					v += !(m->flags & IMSG_SEEN);
				else if (strcasecmp(it, "DELETED") == 0)
					v += (m->flags & IMSG_DELETED) != 0;
				size += m->size;
			}
			if (strcasecmp(it, "SIZE") == 0)
				v = size;
		} else
			goto bad;
		buf_printf(&b, "%s%s %llu", i ? " " : "", it,
		    (unsigned long long)v);
	}
	client_printf(c, "* STATUS ");
	client_add_mailbox(c, name);
	client_printf(c, " (%s)\r\n", buf_cstr(&b));
	buf_free(&b);
	mbox_close(mb);
	return 0;
bad:
	buf_free(&b);
	mbox_close(mb);
	return -1;
}

int
cmd_status(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	char	*name;
	int	 r;

	if (args->n != 2 || args->v[1].type != IMAP_ARG_LIST ||
	    (name = imap_mailbox_arg(c, &args->v[0])) == NULL) {
		client_tagged(c, tag, "BAD", "STATUS mailbox (items)");
		return 0;
	}
	r = status_items(c, name, args->v[1].list, 0);
	free(name);
	if (r == -1)
		client_tagged(c, tag, "BAD", "Unknown status item");
	else if (r == -2)
		client_tagged(c, tag, "NO", "[NONEXISTENT] No such mailbox");
	else
		client_tagged(c, tag, "OK", "STATUS completed");
	return 0;
}

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

int
cmd_append(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct mbox		*mb;
	struct buf		 kw, canon;
	const struct imap_arg	*msg;
	char			*name, err[128];
	const char		*date;
	uint32_t		 flags = 0, newuid;
	int64_t			 t = (int64_t)time(NULL);
	size_t			 i = 1;

	if (args->n < 2 || (name = imap_mailbox_arg(c, &args->v[0])) ==
	    NULL) {
		client_tagged(c, tag, "BAD", "APPEND mailbox [flags] [date] "
		    "message");
		return 0;
	}
	buf_init(&kw, 0);
	if (args->v[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&args->v[i], &flags, &kw) == -1)
			goto bad;
		i++;
	}
	if (i + 1 < args->n && args->v[i].type == IMAP_ARG_STRING) {
		if (imap_arg_string(&args->v[i], &date) == -1 ||
		    parse_datetime(date, &t) == -1)
			goto bad;
		i++;
	}
	if (i + 1 != args->n || (args->v[i].type != IMAP_ARG_LITERAL &&
	    args->v[i].type != IMAP_ARG_STRING))
		goto bad;
	msg = &args->v[i];
	if (msg->len == 0) {
		client_tagged(c, tag, "NO", "Empty message");
		goto out;
	}
	if ((mb = mbox_open(name, err, sizeof(err))) == NULL) {
		client_tagged(c, tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	/* spelt as the folder knows them */
	buf_init(&canon, 0);
	if (mbox_keywords_add(mb, buf_cstr(&kw), &canon, 1) == -1)
		client_tagged(c, tag, "NO", "[LIMIT] Too many keywords");
	else if (mbox_append(mb, msg->str, msg->len, flags,
	    canon.len ? buf_cstr(&canon) : NULL, t, &newuid) == -1) {
		client_tagged(c, tag, "NO", "[SERVERBUG] Cannot store the "
		    "message");
	} else {
		log_info("id=%s user=%s append mailbox=%s uid=%u size=%zu",
		    c->id, c->user, name, newuid, msg->len);
		client_notify(mb, c);
		client_tagged(c, tag, "OK",
		    "[APPENDUID %u %u] APPEND completed",
		    mb->meta.uidvalidity, newuid);
	}
	buf_free(&canon);
	mbox_close(mb);
	goto out;
bad:
	client_tagged(c, tag, "BAD", "Invalid APPEND arguments");
out:
	buf_free(&kw);
	free(name);
	return 0;
}
