/*
 * cmd-select.c - commands on the selected mailbox apart from FETCH and
 * SEARCH: CHECK, CLOSE, UNSELECT, EXPUNGE (and UID EXPUNGE), STORE
 * (with CONDSTORE's UNCHANGEDSINCE), COPY and MOVE (with UIDPLUS
 * COPYUID), and the UID prefix.
 *
 * Runs in the per-user process.  Changes go through message.c, to open
 * folders that the user's other sessions share (mailbox.c); they learn
 * about them from client_sync() (at once when they are IDLE, through
 * client_notify()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "qresync.h"
#include "xmalloc.h"

int
cmd_check(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	client_tagged(c, tag, "OK", "CHECK completed");
	return 0;
}

static void
expunge_deleted(struct client *c, const uint32_t *only, size_t nonly)
{
	struct imsg	*m;
	size_t		 i;
	int		 any = 0;

	for (i = 0; i < (only != NULL ? nonly : c->n); i++) {
		m = client_msg(c, only != NULL ? only[i] : i);
		if (m != NULL && (m->flags & IMSG_DELETED)) {
			mbox_expunge_msg(c->mb, m->uid);
			any = 1;
		}
	}
	if (any)
		client_notify(c->mb, c);
}

int
cmd_close(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	if (strcasecmp(c->cmdname, "CLOSE") == 0 && !c->readonly) {
		mbox_sync(c->mb);
		expunge_deleted(c, NULL, 0);
	}
	client_view_reset(c);
	c->state = CS_AUTH;
	client_tagged(c, tag, "OK", "%s completed", c->cmdname);
	return 0;
}

int
cmd_expunge(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	uint32_t	*set = NULL;
	size_t		 n = 0;
	const char	*s;

	if (c->readonly) {
		client_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return 0;
	}
	if (uid && (args->n != 1 || imap_arg_atom(&args->v[0], &s) == -1 ||
	    client_msgset(c, s, 1, &set, &n) == -1)) {
		client_tagged(c, tag, "BAD", "UID EXPUNGE uid-set");
		return 0;
	}
	mbox_sync(c->mb);
	expunge_deleted(c, uid ? set : NULL, n);
	free(set);
	client_tagged(c, tag, "OK", "EXPUNGE completed");
	return 0;
}

struct store_req {
	int		 op;		/* 0 replace, 1 add, -1 remove */
	int		 silent;
	uint32_t	 bits;
	struct buf	 kw;
	int		 unchanged;
	uint64_t	 unchangedsince;
};

static int
store_parse(const struct imap_list *args, struct store_req *r)
{
	const char	*op;
	size_t		 i = 1;

	if (args->n < 3)
		return -1;
	if (args->v[1].type == IMAP_ARG_LIST) {
		const struct imap_list *m = args->v[1].list;
		const char *v;

		if (m->n != 2 ||
		    !imap_arg_is_atom(&m->v[0], "UNCHANGEDSINCE") ||
		    imap_arg_atom(&m->v[1], &v) == -1 ||
		    condstore_number(v, &r->unchangedsince) == -1)
			return -1;
		r->unchanged = 1;
		i++;
	}
	if (imap_arg_atom(&args->v[i], &op) == -1 || i + 2 != args->n)
		return -1;
	r->op = *op == '+' ? 1 : *op == '-' ? -1 : 0;
	if (*op == '+' || *op == '-')
		op++;
	if (strcasecmp(op, "FLAGS.SILENT") == 0)
		r->silent = 1;
	else if (strcasecmp(op, "FLAGS") != 0)
		return -1;
	return imap_flags_parse(&args->v[i + 1], &r->bits, &r->kw);
}

/*
 * Keywords the STORE sets become the folder's (spelt as it knows them),
 * and every keyword, these or another session's, is announced before a
 * FETCH response shows it.
 */
static int
store_keywords(struct client *c, struct store_req *r)
{
	struct buf	 canon;

	if (r->op >= 0 && r->kw.len > 0) {
		buf_init(&canon, 0);
		if (mbox_keywords_add(c->mb, buf_cstr(&r->kw), &canon,
		    1) == -1) {
			buf_free(&canon);
			return -1;
		}
		buf_free(&r->kw);
		r->kw = canon;
	}
	client_keywords_sync(c);
	return 0;
}

static void
store_one(struct client *c, size_t pos, struct imsg *m,
    struct store_req *r, int uid, struct buf *tmp)
{
	uint32_t	 bits;
	struct buf	 kw;

	buf_init(&kw, 0);
	bits = r->op == 0 ? r->bits : r->op > 0 ? m->flags | r->bits :
	    m->flags & ~r->bits;
	imap_keywords_merge(m->keywords, buf_cstr(&r->kw), r->op, &kw);
	if (mbox_store(c->mb, m, bits, buf_cstr(&kw)) == -1) {
		buf_free(&kw);
		return;
	}
	buf_free(&kw);
	c->known[pos] = m->modseq;
	if (r->silent && !c->condstore)
		return;
	buf_reset(tmp);
	client_flags(c, m, tmp);
	client_printf(c, "* %zu FETCH (", pos + 1);
	if (uid || c->qresync)
		client_printf(c, "UID %u ", m->uid);
	if (!r->silent)
		client_printf(c, "FLAGS %s", buf_cstr(tmp));
	if (c->condstore)
		client_printf(c, "%sMODSEQ (%llu)", r->silent ? "" : " ",
		    (unsigned long long)m->modseq);
	client_write(c, ")\r\n", 3);
}

int
cmd_store(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct store_req r;
	struct buf	 tmp, failed;
	struct imsg	*m;
	uint32_t	*set, *fail = NULL;
	size_t		 n, i, nfail = 0;
	const char	*s;

	memset(&r, 0, sizeof(r));
	buf_init(&r.kw, 0);
	if (imap_arg_atom(args->n ? &args->v[0] : NULL, &s) == -1 ||
	    store_parse(args, &r) == -1) {
		buf_free(&r.kw);
		client_tagged(c, tag, "BAD", "STORE set [(UNCHANGEDSINCE n)] "
		    "[+-]FLAGS[.SILENT] (flags)");
		return 0;
	}
	if (c->readonly) {
		buf_free(&r.kw);
		client_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return 0;
	}
	if (client_msgset(c, s, uid, &set, &n) == -1) {
		buf_free(&r.kw);
		client_tagged(c, tag, "BAD", "Invalid message set");
		return 0;
	}
	if (r.unchanged)
		condstore_enable(c);
	if (store_keywords(c, &r) == -1) {
		buf_free(&r.kw);
		free(set);
		client_tagged(c, tag, "NO", "[LIMIT] Too many keywords");
		return 0;
	}
	mbox_sync(c->mb);
	buf_init(&tmp, 0);
	for (i = 0; i < n; i++) {
		if ((m = client_msg(c, set[i])) == NULL)
			continue;
		if (r.unchanged && m->modseq > r.unchangedsince) {
			fail = xreallocarray(fail, nfail + 1, sizeof(*fail));
			fail[nfail++] = uid ? m->uid : set[i] + 1;
			continue;
		}
		store_one(c, set[i], m, &r, uid, &tmp);
	}
	buf_free(&tmp);
	buf_free(&r.kw);
	free(set);
	client_notify(c->mb, c);
	if (nfail > 0) {
		buf_init(&failed, 0);
		imap_seqset_format(fail, nfail, &failed);
		client_tagged(c, tag, "OK", "[MODIFIED %s] Conditional STORE "
		    "failed", buf_cstr(&failed));
		buf_free(&failed);
		free(fail);
	} else
		client_tagged(c, tag, "OK", "STORE completed");
	return 0;
}

int
cmd_copy(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct mbox	*dst;
	struct imsg	*m;
	struct buf	 a, b;
	uint32_t	*set, *su, *du, nu;
	size_t		 n, i, k = 0;
	const char	*s;
	char		*name, err[128];
	int		 move = strcasecmp(c->cmdname, "MOVE") == 0;

	if (args->n != 2 || imap_arg_atom(&args->v[0], &s) == -1 ||
	    (name = imap_mailbox_arg(c, &args->v[1])) == NULL) {
		client_tagged(c, tag, "BAD", "%s set mailbox", c->cmdname);
		return 0;
	}
	if (move && c->readonly) {
		free(name);
		client_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return 0;
	}
	if (client_msgset(c, s, uid, &set, &n) == -1) {
		free(name);
		client_tagged(c, tag, "BAD", "Invalid message set");
		return 0;
	}
	if ((dst = mbox_open(name, err, sizeof(err))) == NULL) {
		free(name);
		free(set);
		client_tagged(c, tag, "NO", "[TRYCREATE] No such mailbox");
		return 0;
	}
	free(name);
	mbox_sync(c->mb);
	if (!move && !imap_quota_allows_copy(c, set, n)) {
		client_tagged(c, tag, "NO", "[OVERQUOTA] Quota exceeded");
		mbox_close(dst);
		free(set);
		return 0;
	}
	su = xreallocarray(NULL, n + 1, sizeof(*su));
	du = xreallocarray(NULL, n + 1, sizeof(*du));
	for (i = 0; i < n; i++) {
		if ((m = client_msg(c, set[i])) == NULL)
			continue;
		if (mbox_copy(c->mb, m, dst, &nu) == -1)
			break;
		su[k] = m->uid;
		du[k++] = nu;
	}
	if (i < n) {
		/* undo a partial copy: COPY is all or nothing */
		while (k > 0)
			mbox_expunge_msg(dst, du[--k]);
		client_tagged(c, tag, "NO", "[SERVERBUG] %s failed",
		    c->cmdname);
		goto out;
	}
	client_notify(dst, c);
	buf_init(&a, 0);
	buf_init(&b, 0);
	imap_seqset_format(su, k, &a);
	imap_seqset_format(du, k, &b);
	if (move) {
		if (k > 0)
			client_printf(c, "* OK [COPYUID %u %s %s] Moved\r\n",
			    dst->meta.uidvalidity, buf_cstr(&a), buf_cstr(&b));
		for (i = 0; i < k; i++)
			mbox_expunge_msg(c->mb, su[i]);
		client_notify(c->mb, c);
		client_tagged(c, tag, "OK", "MOVE completed");
	} else if (k > 0)
		client_tagged(c, tag, "OK", "[COPYUID %u %s %s] COPY completed",
		    dst->meta.uidvalidity, buf_cstr(&a), buf_cstr(&b));
	else
		client_tagged(c, tag, "OK", "COPY completed, nothing copied");
	buf_free(&a);
	buf_free(&b);
out:
	mbox_close(dst);
	free(set);
	free(su);
	free(du);
	return 0;
}

int
cmd_uid(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const struct imap_command	*ic;
	struct imap_list		 sub;
	const char			*name;

	if (args->n < 1 || imap_arg_atom(&args->v[0], &name) == -1 ||
	    (ic = imap_command_find(name)) == NULL ||
	    !(ic->flags & CMD_F_UID)) {
		client_tagged(c, tag, "BAD", "Unknown UID command");
		return 0;
	}
	sub.v = args->v + 1;
	sub.n = args->n - 1;
	sub.cap = sub.n;
	c->allow_expunge = 1;
	c->cmdname = ic->name;
	return ic->fn(c, tag, &sub, 1);
}
