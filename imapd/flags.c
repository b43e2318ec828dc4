/*
 * flags.c - what a session is told about flags beyond each message's
 * own: which messages are \Recent to it, and the keywords its folder
 * uses (the FLAGS and PERMANENTFLAGS responses).
 *
 * \Recent (RFC 3501 2.3.2): a message is recent to exactly one session,
 * the first to SELECT its folder after it arrived.  The folder keeps the
 * first UID no session has claimed (index meta "recentuid"); one process
 * serves every session of the user, so claiming is exact: the session
 * that adds a message to its view at or above that UID takes it, and
 * moves the mark past it.  EXAMINE shows what is recent without taking
 * it; an IMAP4rev2 session (RFC 9051 has no \Recent) neither sees nor
 * takes it.
 *
 * Keywords: a client must learn of a keyword from FLAGS before a FETCH
 * shows it (RFC 3501 7.2.6).  An open folder lists every keyword in use
 * (mb->kw, only ever growing while it is open, mailbox.h); each session
 * remembers how many of them it was told and is told again, FLAGS and
 * PERMANENTFLAGS, before anything that could show a newer one.
 *
 * Runs in the per-user process (vmail, chrooted to the user's mail
 * directory), called by client.c and the command files.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"
#include "index.h"
#include "xmalloc.h"

#define SYSTEM_FLAGS	"\\Answered \\Flagged \\Deleted \\Seen \\Draft " \
	"$Forwarded"

/* Where uid is, or would go, in the ascending v[0..n). */
size_t
imap_uid_pos(const uint32_t *v, size_t n, uint32_t uid)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
client_recent_has(const struct client *c, uint32_t uid)
{
	size_t	 i = imap_uid_pos(c->recent, c->nrecent, uid);

	return i < c->nrecent && c->recent[i] == uid;
}

/*
 * The view entries from position from on were just added: those not yet
 * claimed are \Recent to c, and now c's unless it only examines.
 */
void
client_recent_claim(struct client *c, size_t from)
{
	struct mbox	*mb = c->mb;
	uint32_t	 before = mb->meta.recentuid;
	size_t		 i;

	if (c->rev2)
		return;
	if ((i = imap_uid_pos(c->uids, c->n, before)) < from)
		i = from;
	if (i >= c->n)
		return;
	c->recent = xreallocarray(c->recent, c->nrecent + c->n - i,
	    sizeof(*c->recent));
	for (; i < c->n; i++) {
		c->recent[c->nrecent++] = c->uids[i];
		if (!c->readonly && c->uids[i] >= mb->meta.recentuid)
			mb->meta.recentuid = c->uids[i] + 1;
	}
	if (mb->meta.recentuid != before)
		index_put_meta(mb->ix, &mb->meta);
}

/* uid was expunged from c's view. */
void
client_recent_drop(struct client *c, uint32_t uid)
{
	size_t	 i = imap_uid_pos(c->recent, c->nrecent, uid);

	if (i >= c->nrecent || c->recent[i] != uid)
		return;
	memmove(&c->recent[i], &c->recent[i + 1],
	    (c->nrecent - i - 1) * sizeof(*c->recent));
	c->nrecent--;
}

/* "* FLAGS" and "* OK [PERMANENTFLAGS]" with the folder's keywords. */
void
client_flags_announce(struct client *c)
{
	struct mbox	*mb = c->mb;
	struct buf	 kw;
	size_t		 i;

	buf_init(&kw, 0);
	for (i = 0; i < mb->nkw; i++)
		buf_printf(&kw, " %s", mb->kw[i]);
	client_printf(c, "* FLAGS (" SYSTEM_FLAGS "%s)\r\n", buf_cstr(&kw));
	if (c->readonly)
		client_printf(c, "* OK [PERMANENTFLAGS ()] Read-only "
		    "mailbox\r\n");
	else
		client_printf(c, "* OK [PERMANENTFLAGS (" SYSTEM_FLAGS "%s "
		    "\\*)] Flags permitted\r\n", buf_cstr(&kw));
	buf_free(&kw);
	c->kw_told = mb->nkw;
}

/* Before any response that could show a keyword c was not told of. */
void
client_keywords_sync(struct client *c)
{
	if (c->mb != NULL && c->kw_told < c->mb->nkw)
		client_flags_announce(c);
}
