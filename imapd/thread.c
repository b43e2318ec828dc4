/*
 * thread.c - THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256) over
 * an array of messages in sequence order, and the Message-ID lists of
 * the Message-ID, References and In-Reply-To fields they start from.
 *
 * Called by cmd-sort.c in the per-user imapd process.  Message IDs come
 * from anyone's mail, so nothing here trusts them: a References list is
 * cut to THREAD_MAX_REFS, links that would make a loop are not made, and
 * neither the tree walks nor the output recurse, so a thread as deep as
 * the mailbox is long costs heap, not stack.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sort.h"
#include "xmalloc.h"

#define NONE	SIZE_MAX

struct tnode {
	const struct thread_msg *m;	/* NULL: a dummy */
	const char	*id;		/* its message ID, or NULL */
	size_t		 parent;
	size_t		 child;		/* first child */
	size_t		 next;		/* next sibling */
	size_t		 key;		/* the message it sorts as */
	int		 ignore;	/* not (or no longer) a root */
};

struct tctx {
	const struct thread_msg	*msgs;
	struct tnode		*v;
	size_t			 n, cap;
	size_t			*hash;	/* node + 1, 0 free */
	size_t			 hsize;
};

/* ------------------------------------------------------------------ */

/*
 * The next valid message ID ("<left@right>", whitespace inside dropped)
 * at or after *sp, into id without its brackets; 0 when there is none.
 */
static int
next_msgid(const char **sp, const char *e, struct buf *id)
{
	const char	*s = *sp, *p;
	int		 at;

	while ((s = memchr(s, '<', (size_t)(e - s))) != NULL) {
		buf_reset(id);
		at = 0;
		for (p = s + 1; p < e && *p != '>' && *p != '<'; p++) {
			if (*p == ' ' || *p == '\t' || *p == '\r' ||
			    *p == '\n')
				continue;
			at |= *p == '@';
			buf_addc(id, *p);
		}
		s = p;
		if (p < e && *p == '>' && at && id->len >= 3 &&
		    id->data[0] != '@' && id->data[id->len - 1] != '@') {
			*sp = p + 1;
			return 1;
		}
	}
	*sp = e;
	return 0;
}

/* The first valid message ID of a field value (Message-ID), or NULL. */
char *
imap_msgid_first(const char *v, size_t len)
{
	struct buf	 id;
	char		*r = NULL;

	buf_init(&id, 0);
	if (next_msgid(&v, v + len, &id))
		r = buf_steal(&id);
	buf_free(&id);
	return r;
}

/*
 * The valid message IDs of a field value (References), at most max: the
 * last ones, nearest the message, when there are more.  Their number;
 * *ids_r to free with each.
 */
size_t
imap_msgid_list(const char *v, size_t len, size_t max, char ***ids_r)
{
	const char	*e = v + len;
	struct buf	 id;
	char		**ids = NULL;
	size_t		 n = 0;

	buf_init(&id, 0);
	while (max > 0 && next_msgid(&v, e, &id)) {
		if (n == max) {
			free(ids[0]);
			memmove(ids, ids + 1, (n - 1) * sizeof(*ids));
			n--;
		}
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		ids[n++] = buf_steal(&id);
	}
	buf_free(&id);
	*ids_r = ids;
	return n;
}

void
imap_thread_msg_free(struct thread_msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nrefs; i++)
		free(m->refs[i]);
	free(m->refs);
	free(m->msgid);
	free(m->subject);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */

static size_t
node_new(struct tctx *t, const struct thread_msg *m, const char *id)
{
	struct tnode	*x;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	x = &t->v[t->n];
	x->m = m;
	x->id = id;
	x->parent = x->child = x->next = x->key = NONE;
	x->ignore = 0;
	return t->n++;
}

static uint64_t
str_hash(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The hash slot of id: its node + 1, or 0 where it would go. */
static size_t *
hash_slot(struct tctx *t, const char *id)
{
	size_t	 i = (size_t)str_hash(id) & (t->hsize - 1);

	while (t->hash[i] != 0 && strcmp(t->v[t->hash[i] - 1].id, id) != 0)
		i = (i + 1) & (t->hsize - 1);
	return &t->hash[i];
}

/* The node of message ID id, a new dummy if there is none yet. */
static size_t
node_of(struct tctx *t, const char *id)
{
	size_t	*sl = hash_slot(t, id);

	if (*sl == 0)
		*sl = node_new(t, NULL, id) + 1;
	return *sl - 1;
}

static void
unlink_node(struct tctx *t, size_t c)
{
	size_t	*pp;

	if (t->v[c].parent == NONE)
		return;
	for (pp = &t->v[t->v[c].parent].child; *pp != c;
	    pp = &t->v[*pp].next)
		;
	*pp = t->v[c].next;
	t->v[c].next = t->v[c].parent = NONE;
}

static void
link_node(struct tctx *t, size_t p, size_t c)
{
	t->v[c].parent = p;
	t->v[c].next = t->v[p].child;
	t->v[p].child = c;
}

/* Would making c a child of p make a loop (c is p or above it)? */
static int
would_loop(const struct tctx *t, size_t p, size_t c)
{
	if (p == c)
		return 1;
	if (t->v[c].child == NONE)
		return 0;
	for (; p != NONE; p = t->v[p].parent)
		if (p == c)
			return 1;
	return 0;
}

/* RFC 5256 REFERENCES step 1: the containers and their links. */
static void
thread_link(struct tctx *t, const struct thread_msg *m)
{
	size_t	 self, prev = NONE, r, i, *sl = NULL;

	if (m->msgid != NULL)
		sl = hash_slot(t, m->msgid);
	if (sl != NULL && *sl != 0 && t->v[*sl - 1].m == NULL)
		self = *sl - 1;		/* a dummy so far */
	else if (sl != NULL && *sl == 0) {
		self = node_new(t, m, m->msgid);
		*sl = self + 1;
	} else
		self = node_new(t, m, NULL);	/* none, or a duplicate */
	t->v[self].m = m;
	for (i = 0; i < m->nrefs; i++) {
		r = node_of(t, m->refs[i]);
		if (prev != NONE && t->v[r].parent == NONE &&
		    !would_loop(t, prev, r))
			link_node(t, prev, r);
		prev = r;
	}
	unlink_node(t, self);
	if (prev != NONE && !would_loop(t, prev, self))
		link_node(t, prev, self);
}

/* ------------------------------------------------------------------ */

static int
msg_cmp(const struct tctx *t, size_t a, size_t b)
{
	const struct thread_msg *x = &t->msgs[a], *y = &t->msgs[b];

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return a < b ? -1 : a > b;
}

static const struct tctx *sort_ctx;	/* for qsort's comparisons */

static int
node_cmp(const void *a, const void *b)
{
	const struct tnode *x = &sort_ctx->v[*(const size_t *)a];
	const struct tnode *y = &sort_ctx->v[*(const size_t *)b];

	return msg_cmp(sort_ctx, x->key, y->key);
}

/* The children of x, sorted by date; their number. */
static size_t
children(struct tctx *t, size_t x, size_t **kids)
{
	size_t	 c, n = 0;

	for (c = t->v[x].child; c != NONE; c = t->v[c].next)
		n++;
	*kids = xreallocarray(NULL, n + 1, sizeof(**kids));
	n = 0;
	for (c = t->v[x].child; c != NONE; c = t->v[c].next)
		(*kids)[n++] = c;
	sort_ctx = t;
	qsort(*kids, n, sizeof(**kids), node_cmp);
	return n;
}

/* Each node sorts as its message; a dummy as its oldest child. */
static void
set_key(struct tctx *t, size_t x)
{
	size_t	*kids, c, n;

	if (t->v[x].m != NULL) {
		t->v[x].key = (size_t)(t->v[x].m - t->msgs);
		return;
	}
	t->v[x].key = NONE;
	for (c = t->v[x].child; c != NONE; c = t->v[c].next)
		if (t->v[c].key == NONE)
			set_key(t, c);
	if ((n = children(t, x, &kids)) > 0)
		t->v[x].key = t->v[kids[0]].key;
	free(kids);
}

/*
 * Steps 2 to 4: the roots; a message whose parent is a dummy hangs from
 * its nearest real ancestor, or from the dummy at the top; a root dummy
 * with no child goes, with one child gives way to it.  The tree is
 * rebuilt into t->v's links; the roots, sorted, into *roots.
 */
static size_t
thread_prune(struct tctx *t, size_t **roots)
{
	size_t	 i, p, n = 0, *np;

	np = xreallocarray(NULL, t->n + 1, sizeof(*np));
	for (i = 0; i < t->n; i++) {
		p = t->v[i].parent;
		while (p != NONE && t->v[p].m == NULL &&
		    t->v[p].parent != NONE)
			p = t->v[p].parent;
		np[i] = p;
	}
	for (i = 0; i < t->n; i++)
		t->v[i].parent = t->v[i].child = t->v[i].next = NONE;
	for (i = t->n; i-- > 0; )
		if (np[i] != NONE && t->v[i].m != NULL)
			link_node(t, np[i], i);
	free(np);
	/* room for the dummies subject merging may add */
	*roots = xreallocarray(NULL, 2 * t->n + 1, sizeof(**roots));
	for (i = 0; i < t->n; i++)
		if (t->v[i].parent == NONE && (t->v[i].m != NULL ||
		    t->v[i].child != NONE))
			(*roots)[n++] = i;
	/* promoted only now: the child must not be seen as a root twice */
	for (i = 0; i < n; i++) {
		p = (*roots)[i];
		if (t->v[p].m == NULL && t->v[t->v[p].child].next == NONE) {
			p = t->v[p].child;
			unlink_node(t, p);
			(*roots)[i] = p;
		}
		set_key(t, p);
	}
	sort_ctx = t;
	qsort(*roots, n, sizeof(**roots), node_cmp);
	return n;
}

/* ------------------------------------------------------------------ */

/* What root x sorts as: its message, or a dummy's oldest child. */
static const struct thread_msg *
root_msg(const struct tctx *t, size_t x)
{
	return &t->msgs[t->v[x].key];
}

static const char *
root_subject(const struct tctx *t, size_t x)
{
	const char	*s = root_msg(t, x)->subject;

	return s != NULL ? s : "";
}

static size_t *
subj_slot(const struct tctx *t, size_t *tab, size_t size, const char *s)
{
	size_t	 i = (size_t)str_hash(s) & (size - 1);

	while (tab[i] != 0 && strcmp(root_subject(t, tab[i] - 1), s) != 0)
		i = (i + 1) & (size - 1);
	return &tab[i];
}

static void
move_children(struct tctx *t, size_t from, size_t to)
{
	size_t	 c;

	while ((c = t->v[from].child) != NONE) {
		unlink_node(t, c);
		link_node(t, to, c);
	}
}

/* Step 5 C: merge root r into o, the root of the same subject. */
static void
merge_root(struct tctx *t, size_t *sl, size_t r, size_t *roots, size_t *n)
{
	size_t	 o = *sl - 1, d;

	if (t->v[o].m == NULL && t->v[r].m == NULL)
		move_children(t, r, o);
	else if (t->v[o].m == NULL ||
	    (root_msg(t, r)->reply && !root_msg(t, o)->reply))
		link_node(t, o, r);
	else {
		d = node_new(t, NULL, NULL);
		t->v[d].key = msg_cmp(t, t->v[o].key, t->v[r].key) < 0 ?
		    t->v[o].key : t->v[r].key;
		link_node(t, d, o);
		link_node(t, d, r);
		t->v[o].ignore = 1;
		roots[(*n)++] = d;
		*sl = d + 1;
	}
	t->v[r].ignore = 1;
}

/* Step 5: roots with the same base subject become one thread. */
static size_t
thread_subjects(struct tctx *t, size_t *roots, size_t n)
{
	size_t	 size = 16, *tab, *sl, i, o, r, total = n, k;

	while (size < 2 * n)
		size *= 2;
	tab = xcalloc(size, sizeof(*tab));
	for (i = 0; i < n; i++) {
		r = roots[i];
		if (*root_subject(t, r) == '\0')
			continue;
		if (*(sl = subj_slot(t, tab, size, root_subject(t, r))) == 0) {
			*sl = r + 1;
			continue;
		}
		o = *sl - 1;
		if (t->v[o].m != NULL && (t->v[r].m == NULL ||
		    (root_msg(t, o)->reply && !root_msg(t, r)->reply)))
			*sl = r + 1;
	}
	for (i = 0; i < n; i++) {
		r = roots[i];
		if (t->v[r].ignore || *root_subject(t, r) == '\0')
			continue;
		sl = subj_slot(t, tab, size, root_subject(t, r));
		if (*sl - 1 != r)
			merge_root(t, sl, r, roots, &total);
	}
	free(tab);
	for (i = k = 0; i < total; i++) {
		r = roots[i];
		if (t->v[r].ignore)
			continue;
		if (t->v[r].m == NULL)
			set_key(t, r);
		roots[k++] = r;
	}
	sort_ctx = t;
	qsort(roots, k, sizeof(*roots), node_cmp);
	return k;
}

/* ------------------------------------------------------------------ */

/*
 * Write x and its only descendants ("1 2 3"); the sorted children where
 * it branches, or NULL.
 */
static size_t *
emit_chain(struct tctx *t, size_t x, struct buf *out, size_t *n_r)
{
	size_t	*kids, n;
	int	 any = 0;

	for (;;) {
		if (t->v[x].m != NULL) {
			buf_printf(out, "%s%u", any ? " " : "", t->v[x].m->id);
			any = 1;
		}
		n = children(t, x, &kids);
		if (n != 1)
			break;
		x = kids[0];
		free(kids);
	}
	if (n == 0) {
		free(kids);
		return NULL;
	}
	if (any)
		buf_addc(out, ' ');
	*n_r = n;
	return kids;
}

struct eframe {
	size_t	*kids;
	size_t	 n, i;
};

/* The threads under roots as RFC 5256's thread-list, without recursion. */
static void
emit(struct tctx *t, const size_t *roots, size_t nroots, struct buf *out)
{
	struct eframe	*st = NULL, *f;
	size_t		 depth = 0, cap = 0, r, *kids, n;

	for (r = 0; r < nroots; r++) {
		buf_addc(out, '(');
		kids = emit_chain(t, roots[r], out, &n);
		for (;;) {
			if (kids != NULL) {
				if (depth == cap) {
					cap = cap ? cap * 2 : 16;
					st = xreallocarray(st, cap,
					    sizeof(*st));
				}
				st[depth].kids = kids;
				st[depth].n = n;
				st[depth++].i = 0;
			}
			if (depth == 0)
				break;
			f = &st[depth - 1];
			if (f->i > 0)
				buf_addc(out, ')');
			if (f->i == f->n) {
				free(f->kids);
				depth--;
				kids = NULL;
				continue;
			}
			buf_addc(out, '(');
			kids = emit_chain(t, f->kids[f->i++], out, &n);
		}
		buf_addc(out, ')');
	}
	free(st);
}

static void
tctx_init(struct tctx *t, const struct thread_msg *msgs, size_t n,
    size_t ids)
{
	memset(t, 0, sizeof(*t));
	t->msgs = msgs;
	for (t->hsize = 16; t->hsize < 2 * ids; t->hsize *= 2)
		;
	t->hash = xcalloc(t->hsize, sizeof(*t->hash));
	t->cap = n + 1;
	t->v = xreallocarray(NULL, t->cap, sizeof(*t->v));
}

static void
tctx_free(struct tctx *t)
{
	free(t->v);
	free(t->hash);
}

/* THREAD=REFERENCES of msgs[0..n), in sequence order, into out. */
void
imap_thread_references(const struct thread_msg *msgs, size_t n,
    struct buf *out)
{
	struct tctx	 t;
	size_t		 i, ids = n, *roots, nroots;

	for (i = 0; i < n; i++)
		ids += msgs[i].nrefs;
	tctx_init(&t, msgs, n, ids);
	for (i = 0; i < n; i++)
		thread_link(&t, &msgs[i]);
	for (i = 0; i < t.n; i++)
		if (t.v[i].m != NULL)
			t.v[i].key = (size_t)(t.v[i].m - msgs);
	nroots = thread_prune(&t, &roots);
	nroots = thread_subjects(&t, roots, nroots);
	emit(&t, roots, nroots, out);
	free(roots);
	tctx_free(&t);
}

static const char *
msg_subject(const struct thread_msg *m)
{
	return m->subject != NULL ? m->subject : "";
}

static int
subject_cmp(const void *a, const void *b)
{
	size_t		 x = *(const size_t *)a, y = *(const size_t *)b;
	int		 r;

	r = strcmp(msg_subject(&sort_ctx->msgs[x]),
	    msg_subject(&sort_ctx->msgs[y]));
	return r != 0 ? r : msg_cmp(sort_ctx, x, y);
}

/*
 * THREAD=ORDEREDSUBJECT: messages with the same base subject are one
 * thread, the oldest its root and the others its children.
 */
void
imap_thread_orderedsubject(const struct thread_msg *msgs, size_t n,
    struct buf *out)
{
	struct tctx	 t;
	size_t		*v, *roots, i, nroots = 0;

	tctx_init(&t, msgs, n, 1);
	v = xreallocarray(NULL, n + 1, sizeof(*v));
	roots = xreallocarray(NULL, n + 1, sizeof(*roots));
	for (i = 0; i < n; i++) {
		v[i] = node_new(&t, &msgs[i], NULL);
		t.v[i].key = i;
	}
	sort_ctx = &t;
	qsort(v, n, sizeof(*v), subject_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(msg_subject(&msgs[v[i - 1]]),
		    msg_subject(&msgs[v[i]])) == 0)
			link_node(&t, roots[nroots - 1], v[i]);
		else
			roots[nroots++] = v[i];
	}
	qsort(roots, nroots, sizeof(*roots), node_cmp);
	emit(&t, roots, nroots, out);
	free(v);
	free(roots);
	tctx_free(&t);
}
