/*
 * client.c - one IMAP session: input through the incremental parser,
 * command dispatch, output helpers, and the session's view of the
 * selected folder (sequence numbers, what it has been told).
 *
 * Used by the user process (every session of one user, plaintext from
 * the pre-login relay) and by the pre-login process (before login, over
 * TLS).  Neither holds privileges.  Input is bounded by the parser's
 * limits; output is bounded by stopping to read while more than
 * IMAP_OUT_HIGH bytes wait to be sent.
 */
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "qresync.h"
#include "utf8.h"
#include "xmalloc.h"

#define LINE_MAX_MODE	8192

static const struct timeval write_tv = { IMAP_WRITE_TIMEOUT, 0 };
static struct client	*clients;
static int		 nclients;
static unsigned		 client_serial;

static void	client_input(struct client *);

struct client *
client_list(void)
{
	return clients;
}

int
client_count(void)
{
	return nclients;
}

static void
client_unlink(struct client *c)
{
	struct client	**pp;

	for (pp = &clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			nclients--;
			return;
		}
}

void
client_view_reset(struct client *c)
{
	free(c->uids);
	free(c->known);
	free(c->recent);
	c->uids = NULL;
	c->known = NULL;
	c->recent = NULL;
	c->n = c->cap = c->nrecent = 0;
	c->seen_modseq = 0;
	searchres_reset(c);
	c->kw_told = 0;
	if (c->mb != NULL)
		mbox_close(c->mb);
	c->mb = NULL;
}

void
client_free(struct client *c)
{
	log_info("id=%s user=%s disconnected", c->id,
	    c->user ? c->user : "-");
	client_unlink(c);
	if (c->hooks != NULL && c->hooks->closed != NULL)
		c->hooks->closed(c);
	client_view_reset(c);
	if (c->idle_ev != NULL)
		event_free(c->idle_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	imap_parser_free(c->parser);
	free(c->pending_tag);
	free(c->user);
	free(c);
}

static void
free_later(evutil_socket_t fd, short ev, void *arg)
{
	client_free(arg);
}

/*
 * Every way a session ends comes here: callbacks may still be queued for
 * this pass of the event loop, so the free happens on the next one, once.
 */
static void
client_schedule_free(struct client *c)
{
	if (c->free_scheduled)
		return;
	c->free_scheduled = 1;
	c->closing = 1;
	if (c->bev != NULL) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	}
	if (c->idle_ev != NULL)
		event_del(c->idle_ev);
	event_base_once(c->base, -1, EV_TIMEOUT, free_later, c, NULL);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	client_input(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (c->closing) {
		client_schedule_free(c);
		return;
	}
	if (c->blocked) {
		c->blocked = 0;
		bufferevent_enable(c->bev, EV_READ);
		client_input(c);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* the TLS handshake is done */
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    !c->closing) {
		client_close(c, "Autologout; idle for too long");
		return;
	}
	/* a write timeout: the client stopped reading; just drop it */
	client_schedule_free(c);
}

void
client_set_bev(struct client *c, struct bufferevent *bev)
{
	struct timeval	 tv;

	c->bev = bev;
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	tv.tv_sec = c->state == CS_NOTAUTH ? IMAP_PRELOGIN_TIMEOUT :
	    IMAP_IDLE_TIMEOUT;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(bev, &tv, &write_tv);
}

struct client *
client_new(struct event_base *base, struct bufferevent *bev,
    const char *user, const char *peer, const struct client_hooks *hooks,
    void *hook_arg)
{
	struct imap_parser_limits lim;
	struct client	*c;

	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->hooks = hooks;
	c->hook_arg = hook_arg;
	c->max_literal = imap_max_literal;
	snprintf(c->id, sizeof(c->id), "%08x%04x", (unsigned)getpid(),
	    ++client_serial & 0xffff);
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "-");
	if (user == NULL) {		/* pre-login: see imapd.h */
		c->max_literal = IMAP_PRELOGIN_LITERAL;
		lim.max_line = IMAP_PRELOGIN_LINE;
		lim.max_command = IMAP_PRELOGIN_COMMAND;
	} else {
		lim.max_line = IMAP_MAX_LINE;
		lim.max_command = imap_max_command;
	}
	lim.max_literal = c->max_literal;
	lim.max_depth = IMAP_MAX_DEPTH;
	lim.max_args = IMAP_MAX_ARGS;
	c->parser = imap_parser_new(&lim);
	if (user != NULL) {
		c->user = xstrdup(user);
		c->state = CS_AUTH;
	} else
		c->state = CS_NOTAUTH;
	client_set_bev(c, bev);
	c->next = clients;
	clients = c;
	nclients++;
	return c;
}

void
client_close(struct client *c, const char *why)
{
	static const struct timeval close_tv = { 10, 0 };

	if (c->closing)
		return;
	if (why != NULL)
		client_printf(c, "* BYE %s\r\n", why);
	c->closing = 1;
	c->state = CS_LOGOUT;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_set_timeouts(c->bev, NULL, &close_tv);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_schedule_free(c);
}

/*
 * End a session at once, whatever it still has to send: for a client
 * whose BYE cannot leave (a TLS handshake that never ended holds it).
 */
void
client_abort(struct client *c)
{
	client_schedule_free(c);
}

void
client_printf(struct client *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

void
client_write(struct client *c, const void *p, size_t n)
{
	bufferevent_write(c->bev, p, n);
}

void
client_add_string(struct client *c, const char *s, size_t len)
{
	struct buf	 b;

	buf_init(&b, 0);
	buf_add_string(&b, s, len);
	client_write(c, b.data, b.len);
	buf_free(&b);
}

/* A mailbox name as the session speaks it: UTF-8 once IMAP4rev2 is on. */
void
client_add_mailbox(struct client *c, const char *name)
{
	struct buf	 b;

	buf_init(&b, 0);
	if (c->rev2 && utf8_from_mutf7(name, &b) == 0)
		client_add_string(c, buf_cstr(&b), b.len);
	else
		client_add_string(c, name, strlen(name));
	buf_free(&b);
}

void
client_add_nstring(struct client *c, const char *s)
{
	if (s == NULL)
		client_write(c, "NIL", 3);
	else
		client_add_string(c, s, strlen(s));
}

void
client_tagged(struct client *c, const char *tag, const char *status,
    const char *fmt, ...)
{
	va_list	 ap;

	if (c->state == CS_SELECTED && c->mb != NULL)
		client_sync(c, c->allow_expunge);
	client_printf(c, "%s %s ", tag, status);
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
	client_write(c, "\r\n", 2);
}

void
client_flags(const struct client *c, const struct imsg *m, struct buf *b)
{
	static const struct { uint32_t bit; const char *name; } f[] = {
		{ IMSG_SEEN, "\\Seen" }, { IMSG_ANSWERED, "\\Answered" },
		{ IMSG_FLAGGED, "\\Flagged" }, { IMSG_DELETED, "\\Deleted" },
		{ IMSG_DRAFT, "\\Draft" }, { IMSG_PASSED, "$Forwarded" },
	};
	size_t	 i, start = b->len;

	buf_addc(b, '(');
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (m->flags & f[i].bit)
			buf_printf(b, "%s%s", b->len > start + 1 ? " " : "",
			    f[i].name);
	if (m->keywords != NULL)
		buf_printf(b, "%s%s", b->len > start + 1 ? " " : "",
		    m->keywords);
	if (!c->rev2 && client_recent_has(c, m->uid))
		buf_printf(b, "%s\\Recent", b->len > start + 1 ? " " : "");
	buf_addc(b, ')');
}

static void
view_add(struct client *c, struct imsg *m)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->uids = xreallocarray(c->uids, c->cap, sizeof(*c->uids));
		c->known = xreallocarray(c->known, c->cap,
		    sizeof(*c->known));
	}
	c->uids[c->n] = m->uid;
	c->known[c->n] = m->modseq;
	c->n++;
}

/* The view of a just selected folder: every message in it. */
void
client_view_load(struct client *c)
{
	size_t	 i;

	for (i = 0; i < c->mb->n; i++)
		view_add(c, c->mb->msgs[i]);
	client_recent_claim(c, 0);
	c->seen_modseq = c->mb->meta.highestmodseq;
}

/*
 * Tell the client what changed in the selected folder since it was last
 * told: expunges (when allowed), new messages, flag changes.
 */
void
client_sync(struct client *c, int allow_expunge)
{
	struct mbox	*mb = c->mb;
	struct imsg	*m;
	struct buf	 b;
	size_t		 i, j, pos, before;
	int		 missing = 0;

	if (mb == NULL)
		return;
	mbox_sync(mb);
	client_keywords_sync(c);
	if (c->seen_modseq == mb->meta.highestmodseq && c->n == mb->n)
		return;
	if (allow_expunge)
		qresync_expunged(c);
	/*
	 * The view and the folder are both in UID order: one walk over the
	 * two finds what went, not a lookup per message (a 100,000-message
	 * folder is read once, not 17 times, after any change).
	 */
	for (i = 0, j = 0; i < c->n;) {
		while (j < mb->n && mb->msgs[j]->uid < c->uids[i])
			j++;
		if (j < mb->n && mb->msgs[j]->uid == c->uids[i]) {
			i++;
			continue;
		}
		if (!allow_expunge) {
			missing = 1;
			i++;
			continue;
		}
		if (!c->qresync)	/* else told by qresync_expunged() */
			client_printf(c, "* %zu EXPUNGE\r\n", i + 1);
		client_recent_drop(c, c->uids[i]);
		memmove(&c->uids[i], &c->uids[i + 1],
		    (c->n - i - 1) * sizeof(*c->uids));
		memmove(&c->known[i], &c->known[i + 1],
		    (c->n - i - 1) * sizeof(*c->known));
		c->n--;
	}
	before = c->n;
	pos = mbox_uid_pos(mb, c->n > 0 ? c->uids[c->n - 1] + 1 : 1);
	for (; pos < mb->n; pos++)
		view_add(c, mb->msgs[pos]);
	client_recent_claim(c, before);
	if (c->n != before) {
		client_printf(c, "* %zu EXISTS\r\n", c->n);
		if (!c->rev2)
			client_printf(c, "* %zu RECENT\r\n", c->nrecent);
	}
	buf_init(&b, 0);
	for (i = 0, j = 0; i < before; i++) {
		while (j < mb->n && mb->msgs[j]->uid < c->uids[i])
			j++;
		if (j == mb->n || (m = mb->msgs[j])->uid != c->uids[i] ||
		    m->modseq <= c->known[i])
			continue;
		c->known[i] = m->modseq;
		buf_reset(&b);
		client_flags(c, m, &b);
		client_printf(c, "* %zu FETCH (UID %u FLAGS %s", i + 1, m->uid,
		    buf_cstr(&b));
		if (c->condstore)
			client_printf(c, " MODSEQ (%llu)",
			    (unsigned long long)m->modseq);
		client_write(c, ")\r\n", 3);
	}
	buf_free(&b);
	if (!missing)
		c->seen_modseq = mb->meta.highestmodseq;
}

/* Let the other sessions on mb (IDLE ones at once) see a change. */
void
client_notify(struct mbox *mb, struct client *self)
{
	struct client	*c;

	for (c = clients; c != NULL; c = c->next)
		if (c != self && c->mb == mb && c->mode == CM_IDLE &&
		    !c->closing)
			client_sync(c, 1);
}

/* Select a view entry by 0-based position; NULL if expunged meanwhile. */
struct imsg *
client_msg(struct client *c, size_t i)
{
	if (i >= c->n)
		return NULL;
	return mbox_find_uid(c->mb, c->uids[i]);
}

static size_t
view_pos(const struct client *c, uint32_t uid)
{
	return imap_uid_pos(c->uids, c->n, uid);
}

/*
 * The view positions a sequence or UID set names, in ascending order.
 * -1 if a sequence number is out of range (a UID set never is).
 */
int
client_msgset(struct client *c, const char *s, int uid, uint32_t **out,
    size_t *n_r)
{
	struct imap_seqset	 set;
	unsigned char		*mark;
	uint32_t		 lo, hi, star;
	size_t			 i, j, n = 0;

	*out = NULL;
	*n_r = 0;
	if (strcmp(s, "$") == 0)
		return searchres_msgset(c, out, n_r);
	if (imap_seqset_parse(s, &set) == -1)
		return -1;
	if (c->n == 0) {
		imap_seqset_free(&set);
		return uid ? 0 : -1;
	}
	star = uid ? c->uids[c->n - 1] : (uint32_t)c->n;
	mark = xcalloc(c->n, 1);
	for (i = 0; i < set.n; i++) {
		imap_seqrange_resolve(&set.r[i], star, &lo, &hi);
		if (!uid) {
			if (hi > c->n) {
				free(mark);
				imap_seqset_free(&set);
				return -1;
			}
			memset(mark + lo - 1, 1, hi - lo + 1);
			continue;
		}
		for (j = view_pos(c, lo); j < c->n && c->uids[j] <= hi; j++)
			mark[j] = 1;
	}
	imap_seqset_free(&set);
	for (i = 0; i < c->n; i++)
		n += mark[i];
	*out = xreallocarray(NULL, n + 1, sizeof(**out));
	for (i = j = 0; i < c->n; i++)
		if (mark[i])
			(*out)[j++] = (uint32_t)i;
	free(mark);
	*n_r = n;
	return 0;
}

static void
client_command(struct client *c, const struct imap_cmd *cmd)
{
	const struct imap_command	*ic;

	ic = imap_command_find(cmd->name);
	if (ic == NULL) {
		client_tagged(c, cmd->tag, "BAD", "Unknown command");
		return;
	}
	if (!(ic->states & (1 << c->state))) {
		client_tagged(c, cmd->tag, "BAD", "%s",
		    c->state == CS_NOTAUTH ? "Log in first" :
		    ic->states == ST_NOTAUTH ? "Already logged in" :
		    c->state == CS_AUTH ? "Select a mailbox first" :
		    "Command not valid in this state");
		return;
	}
	c->allow_expunge = !(ic->flags & CMD_F_NOEXPUNGE);
	c->cmdname = ic->name;
	ic->fn(c, cmd->tag, cmd->args, 0);
}

static void
client_line_mode(struct client *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		*line;
	size_t		 len;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > LINE_MAX_MODE)
			client_close(c, "Line too long");
		return;
	}
	if (c->mode == CM_IDLE)
		cmd_idle_line(c, line, len);
	else
		cmd_authenticate_line(c, line, len);
	explicit_bzero(line, len);
	free(line);
}

static void
client_parse_error(struct client *c)
{
	const char	*tag = imap_parser_tag(c->parser);

	if (imap_parser_fatal(c->parser)) {
		client_close(c, imap_parser_error(c->parser));
		return;
	}
	client_printf(c, "%s BAD %s%s\r\n", tag ? tag : "*",
	    imap_parser_toobig(c->parser) ? "[TOOBIG] " : "",
	    imap_parser_error(c->parser));
}

/* Feed whatever arrived to the parser and run complete commands. */
/*
 * Bytes of client input waiting.  The COMPRESS filter inflates a bounded
 * amount at a time (compress.c) and libevent would only hand it more on
 * the next read from the socket, so it is asked for more here once the
 * session has read what it gave.
 */
static size_t
client_pending(struct client *c, struct evbuffer **in)
{
	*in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(*in) == 0 && c->compress)
		bufferevent_flush(c->bev, EV_READ, BEV_NORMAL);
	return evbuffer_get_length(*in);
}

static void
client_input(struct client *c)
{
	struct evbuffer		*in;
	struct evbuffer_iovec	 v;
	enum imap_parse_result	 r;
	size_t			 used, before;

	/* c->bev may change under a command (STARTTLS, COMPRESS) */
	while (!c->closing && !c->blocked && !c->busy &&
	    client_pending(c, &in) > 0) {
		if (c->mode != CM_COMMAND) {
			before = evbuffer_get_length(in);
			client_line_mode(c);
			if (evbuffer_get_length(in) == before)
				break;
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		r = imap_parser_feed(c->parser, v.iov_base, v.iov_len, &used);
		evbuffer_drain(in, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			continue;
		case IMAP_PARSE_CONTINUE:
			client_printf(c, "+ OK\r\n");
			continue;
		case IMAP_PARSE_DONE:
			client_command(c, imap_parser_cmd(c->parser));
			if (c->hooks != NULL && c->hooks->command_done != NULL)
				c->hooks->command_done(c);
			break;
		case IMAP_PARSE_ERROR:
			client_parse_error(c);
			break;
		}
		imap_parser_reset(c->parser);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
		    IMAP_OUT_HIGH) {
			c->blocked = 1;
			bufferevent_disable(c->bev, EV_READ);
		}
	}
	if (c->closing && c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_schedule_free(c);
}

/* An asynchronous step (login, STARTTLS) finished: read on. */
void
client_resume(struct client *c)
{
	c->busy = 0;
	client_input(c);
}

static int
flag_bit(const char *s, uint32_t *bit)
{
	static const struct { const char *name; uint32_t bit; } f[] = {
		{ "\\Seen", IMSG_SEEN }, { "\\Answered", IMSG_ANSWERED },
		{ "\\Flagged", IMSG_FLAGGED }, { "\\Deleted", IMSG_DELETED },
		{ "\\Draft", IMSG_DRAFT }, { "$Forwarded", IMSG_PASSED },
	};
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcasecmp(s, f[i].name) == 0) {
			*bit = f[i].bit;
			return 0;
		}
	return -1;
}

static int
keyword_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("(){%*\"\\]", *s) != NULL)
			return 0;
	return 1;
}

/* A flag list (or one flag): system flags to bits, keywords to kw. */
int
imap_flags_parse(const struct imap_arg *a, uint32_t *bits,
    struct buf *kw)
{
	const struct imap_list	*l;
	struct imap_list	 one;
	uint32_t		 bit;
	size_t			 i;
	const char		*s;

	*bits = 0;
	buf_reset(kw);
	if (a->type == IMAP_ARG_LIST)
		l = a->list;
	else {
		one.v = (struct imap_arg *)a;
		one.n = 1;
		l = &one;
	}
	for (i = 0; i < l->n; i++) {
		if (imap_arg_atom(&l->v[i], &s) == -1)
			return -1;
		if (flag_bit(s, &bit) == 0)
			*bits |= bit;
		else if (strcasecmp(s, "\\Recent") == 0)
			continue;
		else if (*s == '\\' || !keyword_valid(s))
			return -1;
		else {
			if (kw->len > 0)
				buf_addc(kw, ' ');
			buf_addstr(kw, s);
		}
	}
	return 0;
}

static int
kw_has(char **v, size_t n, const char *k)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i], k) == 0)
			return 1;
	return 0;
}

static size_t
kw_split(const char *s, char **v, size_t max)
{
	const char	*e;
	char		*w;
	size_t		 n = 0;

	while (s != NULL && *s != '\0' && n < max) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != ' '; e++)
			;
		w = xstrndup(s, (size_t)(e - s));
		if (kw_has(v, n, w))
			free(w);
		else
			v[n++] = w;
		s = e;
	}
	return n;
}

/* op: 0 replace, 1 add, -1 remove.  Result in out ("" for none). */
int
imap_keywords_merge(const char *old, const char *kw, int op,
    struct buf *out)
{
	char	*a[64], *b[64];
	size_t	 na, nb, i;

	buf_reset(out);
	na = op == 0 ? 0 : kw_split(old, a, 64);
	nb = kw_split(kw, b, 64);
	for (i = 0; i < nb; i++) {
		if (op >= 0 && !kw_has(a, na, b[i]) && na < 64)
			a[na++] = xstrdup(b[i]);
		free(b[i]);
	}
	if (op < 0) {
		nb = kw_split(kw, b, 64);
		for (i = 0; i < na; i++)
			if (kw_has(b, nb, a[i])) {
				free(a[i]);
				a[i] = NULL;
			}
		for (i = 0; i < nb; i++)
			free(b[i]);
	}
	for (i = 0; i < na; i++) {
		if (a[i] == NULL)
			continue;
		if (out->len > 0)
			buf_addc(out, ' ');
		buf_addstr(out, a[i]);
		free(a[i]);
	}
	buf_add(out, "", 0);
	return 0;
}
