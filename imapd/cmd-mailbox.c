/*
 * cmd-mailbox.c - commands on mailboxes as a whole: SELECT, EXAMINE,
 * CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS (LIST and
 * LSUB are in cmd-list.c, APPEND in cmd-append.c).
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
	if (args->n < 1 || args->n > 2 || args->v[0].type == IMAP_ARG_LIST) {
		client_tagged(c, tag, "BAD", "SELECT mailbox");
		return 0;
	}
	/* a name no folder can have: there is no such mailbox */
	if ((name = imap_mailbox_arg(c, &args->v[0])) == NULL) {
		client_tagged(c, tag, "NO", "[NONEXISTENT] No such mailbox");
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
	/*
	 * The folder is opened before the selected one is let go: selecting
	 * the same folder again (clients do, to see what is new) keeps its
	 * index loaded instead of reading it all again.
	 */
	mb = mbox_open(name, err, sizeof(err));
	if (c->mb != NULL) {
		client_view_reset(c);
		if (c->rev2 || c->condstore)
			client_printf(c, "* OK [CLOSED] Previous mailbox "
			    "closed\r\n");
	}
	c->state = CS_AUTH;
	if (mb == NULL) {
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

/* LIST-STATUS (RFC 5819): the STATUS of one listed folder, if it opens. */
void
imap_status_list(struct client *c, const char *name,
    const struct imap_list *items)
{
	(void)status_items(c, name, items, 1);
}
