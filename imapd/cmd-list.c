/*
 * cmd-list.c - LIST (RFC 3501, with LIST-EXTENDED RFC 5258, SPECIAL-USE
 * RFC 6154 and LIST-STATUS RFC 5819) and LSUB.
 *
 * The names a LIST can answer with are gathered once into one sorted
 * table: the folders that exist, the subscribed names (which may name no
 * folder: a server never drops a subscription by itself, RFC 3501
 * 6.3.9) and, where the answer needs them, the parents of subscribed
 * names.  Each entry is matched against the patterns once; what a
 * selected name tells its parents (CHILDINFO for RECURSIVEMATCH, the
 * \Noselect parents of LSUB "%") is marked walking up its own name, so a
 * LIST costs O(n log n) in the names, not O(n^2).
 *
 * Runs in the per-user process (vmail, chrooted to the user's mail
 * directory).  Patterns come from the client and are only compared with
 * names; nothing here makes a path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"
#include "utf8.h"
#include "xmalloc.h"

#define L_SUBSCRIBED	0x01	/* selection */
#define L_SPECIALUSE	0x02	/* selection */
#define L_RSUBSCRIBED	0x04	/* return */
#define L_RSPECIALUSE	0x08
#define L_RCHILDREN	0x10
#define L_RSTATUS	0x20
#define L_LSUB		0x40
#define L_RECURSIVE	0x80	/* selection: RECURSIVEMATCH */

struct lname {
	char		*name;
	unsigned	 exists:1;	/* a folder */
	unsigned	 sub:1;		/* subscribed */
	unsigned	 matched:1;	/* by a pattern */
	unsigned	 children:1;	/* a folder below it exists */
	unsigned	 childinfo:1;	/* a selected, unmatched name below */
};

struct ltable {
	struct lname	*v;
	size_t		 n;
	size_t		 cap;
};

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

static void
lt_add(struct ltable *t, const char *name, int exists, int sub)
{
	struct lname	*e;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->exists = exists != 0;
	e->sub = sub != 0;
}

static int
lt_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lname *)a)->name,
	    ((const struct lname *)b)->name);
}

/* Sort by name and merge the entries of one name. */
static void
lt_sort(struct ltable *t)
{
	size_t	 i, j;

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), lt_cmp);
	for (i = j = 0; i < t->n; i++) {
		if (j > 0 && strcmp(t->v[j - 1].name, t->v[i].name) == 0) {
			t->v[j - 1].exists |= t->v[i].exists;
			t->v[j - 1].sub |= t->v[i].sub;
			free(t->v[i].name);
			continue;
		}
		t->v[j++] = t->v[i];
	}
	t->n = j;
}

static struct lname *
lt_find(const struct ltable *t, const char *name)
{
	struct lname	 key;

	key.name = (char *)name;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), lt_cmp);
}

static void
lt_free(struct ltable *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
}

static int
collect_folder(const char *name, void *arg)
{
	lt_add(arg, name, 1, 0);
	return 0;
}

/* Call fn for every parent of name ("a/b/c": "a/b", then "a"). */
static void
each_parent(struct ltable *t, const char *name,
    void (*fn)(struct ltable *, const char *, void *), void *arg)
{
	char	*p, *slash;

	p = xstrdup(name);
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		fn(t, p, arg);
	}
	free(p);
}

static void
add_parent(struct ltable *t, const char *name, void *arg)
{
	lt_add(t, name, 0, 0);
}

static void
mark_parent(struct ltable *t, const char *name, void *arg)
{
	struct lname	*e;

	if ((e = lt_find(t, name)) == NULL)
		return;
	if (arg != NULL)
		e->childinfo = 1;
	else
		e->children = 1;
}

/* Is e selected by the selection options (LSUB: subscribed)? */
static int
selected(const struct lname *e, int opts)
{
	if ((opts & (L_SUBSCRIBED | L_LSUB)) && !e->sub)
		return 0;
	if (!(opts & (L_SUBSCRIBED | L_LSUB)) && !e->exists)
		return 0;
	if ((opts & L_SPECIALUSE) && (!e->exists ||
	    mbox_special_use(e->name) == NULL))
		return 0;
	return 1;
}

/* The pattern in the names' own encoding (modified UTF-7). */
static char *
list_pattern(struct client *c, const char *ref, const char *pat)
{
	struct buf	 b;
	char		*full, *n;

	full = xasprintf("%s%s", ref, pat);
	if (!c->rev2) {
		n = mbox_name_norm(full);
		free(full);
		return n;
	}
	buf_init(&b, 0);
	if (utf8_to_mutf7(full, &b) == -1)
		n = mbox_name_norm(full);
	else
		n = mbox_name_norm(buf_cstr(&b));
	buf_free(&b);
	free(full);
	return n;
}

/*
 * Every name the answer may hold, with what is known of it: matched by a
 * pattern, with children, with a selected descendant no pattern matched.
 */
static void
lt_build(struct client *c, struct ltable *t, int opts, const char *ref,
    const struct imap_list *pats)
{
	const char	*pat;
	char		**subs, *norm;
	size_t		 nsubs, i, j, n;

	mbox_list(collect_folder, t);
	subs = (opts & (L_SUBSCRIBED | L_LSUB | L_RSUBSCRIBED)) ?
	    mbox_subscriptions(&nsubs) : NULL;
	for (i = 0; subs != NULL && i < nsubs; i++) {
		lt_add(t, subs[i], 0, 1);
		if (opts & (L_LSUB | L_RECURSIVE))
			each_parent(t, subs[i], add_parent, NULL);
		free(subs[i]);
	}
	free(subs);
	lt_sort(t);
	for (j = 0; j < pats->n; j++) {
		if (imap_arg_astring(&pats->v[j], &pat) == -1)
			continue;
		norm = list_pattern(c, ref, pat);
		for (i = 0; i < t->n; i++)
			if (!t->v[i].matched && match(norm, t->v[i].name))
				t->v[i].matched = 1;
		free(norm);
	}
	n = t->n;	/* mark_parent never adds */
	for (i = 0; i < n; i++) {
		if (t->v[i].exists)
			each_parent(t, t->v[i].name, mark_parent, NULL);
		if (!t->v[i].matched && selected(&t->v[i], opts) &&
		    (opts & (L_LSUB | L_RECURSIVE)))
			each_parent(t, t->v[i].name, mark_parent, t);
	}
}

static void
list_entry(struct client *c, const struct lname *e, int opts,
    const struct imap_list *status)
{
	struct buf	 b;
	const char	*su = e->exists ? mbox_special_use(e->name) : NULL;
	int		 sel = selected(e, opts);

	buf_init(&b, 0);
	if (!e->exists)
		buf_addstr(&b, "\\NonExistent");
	if (e->exists || e->children)
		buf_printf(&b, "%s%s", b.len ? " " : "", e->children ?
		    "\\HasChildren" : "\\HasNoChildren");
	if (su != NULL)
		buf_printf(&b, "%s%s", b.len ? " " : "", su);
	if (e->sub && (opts & (L_RSUBSCRIBED | L_SUBSCRIBED)))
		buf_printf(&b, "%s\\Subscribed", b.len ? " " : "");
	client_printf(c, "* LIST (%s) \"/\" ", buf_cstr(&b));
	client_add_mailbox(c, e->name);
	if ((opts & L_RECURSIVE) && e->childinfo)
		client_printf(c, " (\"CHILDINFO\" (%s%s%s))",
		    opts & L_SUBSCRIBED ? "\"SUBSCRIBED\"" : "",
		    (opts & L_SUBSCRIBED) && (opts & L_SPECIALUSE) ? " " : "",
		    opts & L_SPECIALUSE ? "\"SPECIAL-USE\"" : "");
	client_write(c, "\r\n", 2);
	buf_free(&b);
	if (status != NULL && sel && e->exists)
		imap_status_list(c, e->name, status);
}

/*
 * LSUB: a subscribed name, or (RFC 3501 6.3.9) a parent whose subscribed
 * descendant the pattern's "%" stopped short of, as \Noselect.
 */
static void
lsub_entry(struct client *c, const struct lname *e)
{
	client_printf(c, "* LSUB (%s) \"/\" ", e->sub ? "" : "\\Noselect");
	client_add_mailbox(c, e->name);
	client_write(c, "\r\n", 2);
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
		else if (ret && imap_arg_is_atom(o, "CHILDREN"))
			*opts |= L_RCHILDREN;
		else if (!ret && imap_arg_is_atom(o, "RECURSIVEMATCH"))
			*opts |= L_RECURSIVE;
		else if (!ret && imap_arg_is_atom(o, "REMOTE"))
			continue;
		else if (ret && imap_arg_is_atom(o, "STATUS") &&
		    i + 1 < l->n && l->v[i + 1].type == IMAP_ARG_LIST) {
			*status = l->v[++i].list;
			*opts |= L_RSTATUS;
		} else
			return -1;
	}
	/* RFC 5258 3: never alone, nor with REMOTE only */
	if ((*opts & L_RECURSIVE) &&
	    !(*opts & (L_SUBSCRIBED | L_SPECIALUSE)))
		return -1;
	return 0;
}

/* Parse "[(sel)] ref pattern(s) [RETURN (opts)]"; -1 if malformed. */
static int
list_args(struct client *c, const struct imap_list *args, int *opts,
    const struct imap_list **status, const char **ref,
    const struct imap_arg **pats)
{
	size_t	 ai = 0;

	if (strcasecmp(c->cmdname, "LSUB") == 0)
		*opts |= L_LSUB;
	else if (args->n > 0 && args->v[0].type == IMAP_ARG_LIST) {
		if (list_opts(&args->v[0], 0, opts, status) == -1)
			return -1;
		ai = 1;
	}
	if (args->n < ai + 2 || imap_arg_astring(&args->v[ai], ref) == -1)
		return -1;
	*pats = &args->v[ai + 1];
	if (args->n > ai + 2 && (*opts & L_LSUB))
		return -1;
	if (args->n > ai + 2 && (args->n != ai + 4 ||
	    !imap_arg_is_atom(&args->v[ai + 2], "RETURN") ||
	    list_opts(&args->v[ai + 3], 1, opts, status) == -1))
		return -1;
	return 0;
}

int
cmd_list(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const struct imap_list	*status = NULL, *pats;
	const struct imap_arg	*pa;
	struct imap_list	 one;
	struct ltable		 t = { NULL, 0, 0 };
	const char		*ref, *pat;
	size_t			 i;
	int			 opts = 0;

	if (list_args(c, args, &opts, &status, &ref, &pa) == -1) {
		client_tagged(c, tag, "BAD", "Invalid %s arguments",
		    c->cmdname);
		return 0;
	}
	if (pa->type == IMAP_ARG_LIST)
		pats = pa->list;
	else {
		one.v = (struct imap_arg *)pa;
		one.n = 1;
		pats = &one;
	}
	if (pats->n == 1 && imap_arg_astring(&pats->v[0], &pat) == 0 &&
	    *pat == '\0' && !(opts & L_LSUB)) {
		client_printf(c, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		client_tagged(c, tag, "OK", "LIST completed");
		return 0;
	}
	lt_build(c, &t, opts, ref, pats);
	for (i = 0; i < t.n; i++) {
		const struct lname *e = &t.v[i];

		if (!e->matched)
			continue;
		if (opts & L_LSUB) {
			if (e->sub || e->childinfo)
				lsub_entry(c, e);
		} else if (selected(e, opts) ||
		    ((opts & L_RECURSIVE) && e->childinfo))
			list_entry(c, e, opts, status);
	}
	lt_free(&t);
	client_tagged(c, tag, "OK", "%s completed", c->cmdname);
	return 0;
}
