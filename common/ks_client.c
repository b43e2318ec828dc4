/*
 * ks_client.c - the keystore's signing protocol, client side; see
 * ks_client.h.
 *
 * Runs in the keystore's clients (smtpd.queue, tests/tools/kssign), as
 * whatever user they run as: the keystore decides by that uid.  The
 * answers come from the keystore, a trusted peer, but are decoded field
 * by field and bounded all the same; a malformed one fails its request
 * and ends the connection.
 *
 * Callbacks run from the event loop only.  A callback may start new
 * requests, and may free the client: the free is then finished from the
 * loop (an event made active), because the connection that called us is
 * still in use below the callback.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "ks_client.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

struct ks_pending {
	struct ks_pending *next;
	uint32_t	 id;
	time_t		 deadline;
	ks_keys_fn	 keys_fn;
	ks_sign_fn	 sign_fn;
	void		*arg;
};

struct ks_client {
	struct event_base *base;
	char		*path;
	struct ipc_conn	*conn;
	struct ks_pending *pending;
	size_t		 npending;
	uint32_t	 next_id;
	struct event	*tick;		/* timeouts, once a second */
	struct event	*reaper;	/* a free asked for in a callback */
	int		 in_callback;
	int		 freeing;
	int		 denied;	/* the keystore refused our uid */
	char		 why[128];	/* ... and said why */
};

static void	 ks_client_release(struct ks_client *);

static int
ks_alg_of(const char *s, enum dkim_alg *a)
{
	if (strcmp(s, dkim_alg_name(DKIM_ALG_RSA_SHA256)) == 0)
		*a = DKIM_ALG_RSA_SHA256;
	else if (strcmp(s, dkim_alg_name(DKIM_ALG_ED25519_SHA256)) == 0)
		*a = DKIM_ALG_ED25519_SHA256;
	else
		return -1;
	return 0;
}

static int
ks_copy(char *dst, size_t size, const char *src)
{
	size_t	 n = strlen(src);

	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
ks_answer_keys(struct ipc_msg *m, struct ks_keys *k, const char **why)
{
	const char	*domain, *alg, *sel, *rec;
	uint32_t	 n, i;

	memset(k, 0, sizeof(*k));
	*why = "malformed IPC_KS_KEYS";
	if (m->type != IPC_KS_KEYS || ipc_get_str(m, &domain) == -1 ||
	    ks_copy(k->domain, sizeof(k->domain), domain) == -1 ||
	    ipc_get_u32(m, &n) == -1 || n == 0 || n > KS_KEYS_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (ipc_get_str(m, &alg) == -1 || ipc_get_str(m, &sel) == -1 ||
		    ipc_get_str(m, &rec) == -1 ||
		    ks_alg_of(alg, &k->key[i].alg) == -1 ||
		    ks_copy(k->key[i].selector, sizeof(k->key[i].selector),
		    sel) == -1 ||
		    ks_copy(k->key[i].record, sizeof(k->key[i].record),
		    rec) == -1)
			return -1;
	}
	k->n = n;
	if (ipc_get_end(m) == -1)
		return -1;
	*why = NULL;
	return 0;
}

int
ks_answer_signature(struct ipc_msg *m, struct ks_signature *s,
    const char **why)
{
	const char	*domain, *sel;
	const void	*b;
	size_t		 n;

	memset(s, 0, sizeof(*s));
	*why = "malformed IPC_KS_SIGNATURE";
	if (m->type != IPC_KS_SIGNATURE || ipc_get_str(m, &domain) == -1 ||
	    ks_copy(s->domain, sizeof(s->domain), domain) == -1 ||
	    ipc_get_str(m, &sel) == -1 ||
	    ks_copy(s->selector, sizeof(s->selector), sel) == -1 ||
	    ipc_get_data(m, &b, &n) == -1 || n == 0 || n > sizeof(s->b) ||
	    ipc_get_end(m) == -1)
		return -1;
	memcpy(s->b, b, n);
	s->len = n;
	*why = NULL;
	return 0;
}

enum ks_status
ks_answer_error(struct ipc_msg *m, const char **why)
{
	const char	*text;
	uint32_t	 code;

	if (m->type != IPC_ERR || ipc_get_u32(m, &code) == -1 ||
	    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1) {
		*why = "malformed answer from the keystore";
		return KS_TEMPFAIL;
	}
	*why = text;
	return code >= 400 && code < 500 ? KS_TEMPFAIL : KS_PERMFAIL;
}

/* Call a request's callback with a failure (or nothing: freeing). */
static void
ks_fail(struct ks_client *ks, struct ks_pending *p, enum ks_status st,
    const char *why)
{
	if (!ks->freeing) {
		ks->in_callback++;
		if (p->keys_fn != NULL)
			p->keys_fn(p->arg, st, NULL, why);
		else
			p->sign_fn(p->arg, st, NULL, why);
		ks->in_callback--;
	}
	free(p);
}

static struct ks_pending *
ks_take(struct ks_client *ks, uint32_t id)
{
	struct ks_pending **pp, *p;

	for (pp = &ks->pending; (p = *pp) != NULL; pp = &p->next)
		if (p->id == id) {
			*pp = p->next;
			ks->npending--;
			return p;
		}
	return NULL;
}

static void
ks_answer(struct ks_client *ks, struct ks_pending *p, struct ipc_msg *m)
{
	struct ks_keys	 keys;
	struct ks_signature sig;
	enum ks_status	 st = KS_OK;
	const char	*why = NULL;

	if (m->type == IPC_ERR)
		st = ks_answer_error(m, &why);
	else if (p->keys_fn != NULL && ks_answer_keys(m, &keys, &why) == -1)
		st = KS_TEMPFAIL;
	else if (p->sign_fn != NULL &&
	    ks_answer_signature(m, &sig, &why) == -1)
		st = KS_TEMPFAIL;
	if (st != KS_OK) {
		ks_fail(ks, p, st, why);
		return;
	}
	ks->in_callback++;
	if (p->keys_fn != NULL)
		p->keys_fn(p->arg, KS_OK, &keys, NULL);
	else
		p->sign_fn(p->arg, KS_OK, &sig, NULL);
	ks->in_callback--;
	explicit_bzero(&sig, sizeof(sig));
	free(p);
}

static void
ks_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct ks_client *ks = arg;
	struct ks_pending *p;
	const char	*why;

	(void)c;
	if (ks->freeing)
		return;
	if (m->id == 0 && m->type == IPC_ERR) {
		/* said of the connection: our uid is refused, or busy */
		if (ks_answer_error(m, &why) == KS_PERMFAIL)
			ks->denied = 1;
		snprintf(ks->why, sizeof(ks->why), "%s", why);
		log_warnx("keystore: %s", ks->why);
		return;
	}
	if ((p = ks_take(ks, m->id)) == NULL)
		return;		/* timed out already */
	ks_answer(ks, p, m);
}

/*
 * A keystore that refuses us says so in one message and closes; our
 * request, written meanwhile, may fail first (EPIPE) and close the
 * connection before that message was read: read it now.
 */
static void
ks_read_refusal(struct ks_client *ks, int fd)
{
	struct ipc_msg	*m;
	const char	*why;

	while (ks->why[0] == '\0' && ipc_recv_sync(fd, &m) == 0) {
		if (m->id == 0 && m->type == IPC_ERR) {
			if (ks_answer_error(m, &why) == KS_PERMFAIL)
				ks->denied = 1;
			snprintf(ks->why, sizeof(ks->why), "%s", why);
		}
		ipc_msg_free(m);
	}
}

/* The connection is gone: every request in flight fails. */
static void
ks_closed(struct ipc_conn *c, void *arg)
{
	struct ks_client *ks = arg;
	struct ks_pending *p, *list = ks->pending;
	enum ks_status	 st;
	char		 why[160];

	ks_read_refusal(ks, ipc_conn_fd(c));
	st = ks->denied ? KS_PERMFAIL : KS_TEMPFAIL;
	ipc_conn_free(c);
	ks->conn = NULL;
	ks->pending = NULL;
	ks->npending = 0;
	snprintf(why, sizeof(why), "%s", ks->why[0] != '\0' ? ks->why :
	    "the keystore closed the connection");
	ks->why[0] = '\0';
	ks->denied = 0;
	ks->in_callback++;
	while ((p = list) != NULL) {
		list = p->next;
		ks_fail(ks, p, st, why);
	}
	ks->in_callback--;
	if (ks->freeing)
		event_active(ks->reaper, EV_TIMEOUT, 0);
}

static void
ks_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct ks_client *ks = arg;
	struct ks_pending **pp, *p, *expired = NULL;
	struct timeval	 tv = { 1, 0 };
	time_t		 now = time(NULL);

	(void)fd;
	(void)ev;
	for (pp = &ks->pending; (p = *pp) != NULL;) {
		if (p->deadline > now) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		ks->npending--;
		p->next = expired;
		expired = p;
	}
	ks->in_callback++;
	while ((p = expired) != NULL) {
		expired = p->next;
		ks_fail(ks, p, KS_TEMPFAIL, "the keystore did not answer in "
		    "time");
	}
	ks->in_callback--;
	if (ks->freeing) {
		event_active(ks->reaper, EV_TIMEOUT, 0);
		return;
	}
	if (ks->npending > 0)
		evtimer_add(ks->tick, &tv);
}

static void
ks_reap(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	ks_client_release(arg);
}

struct ks_client *
ks_client_new(struct event_base *base, const char *path)
{
	struct ks_client *ks = xcalloc(1, sizeof(*ks));

	ks->base = base;
	ks->path = path != NULL ? xstrdup(path) : NULL;
	ks->next_id = 1;
	ks->tick = evtimer_new(base, ks_tick, ks);
	ks->reaper = event_new(base, -1, 0, ks_reap, ks);
	if (ks->tick == NULL || ks->reaper == NULL)
		fatalx("ks_client_new: event_new");
	return ks;
}

static void
ks_client_release(struct ks_client *ks)
{
	struct ks_pending *p;

	while ((p = ks->pending) != NULL) {
		ks->pending = p->next;
		free(p);
	}
	if (ks->conn != NULL)
		ipc_conn_free(ks->conn);
	event_free(ks->tick);
	event_free(ks->reaper);
	free(ks->path);
	free(ks);
}

void
ks_client_free(struct ks_client *ks)
{
	if (ks == NULL || ks->freeing)
		return;
	ks->freeing = 1;
	if (ks->in_callback > 0) {
		/* the connection that called us is still in use */
		event_active(ks->reaper, EV_TIMEOUT, 0);
		return;
	}
	ks_client_release(ks);
}

void
ks_client_attach(struct ks_client *ks, int fd)
{
	if (ks->freeing || ks->conn != NULL) {
		close(fd);
		return;
	}
	ks->conn = ipc_conn_new(ks->base, fd, ks_dispatch, ks_closed, ks);
}

int
ks_client_connected(const struct ks_client *ks)
{
	return ks->conn != NULL;
}

size_t
ks_client_pending(const struct ks_client *ks)
{
	return ks->npending;
}

/* Queue m (id assigned here) with its callback; 0 or -1. */
static int
ks_request(struct ks_client *ks, struct ipc_msg *m, ks_keys_fn kfn,
    ks_sign_fn sfn, void *arg)
{
	struct ks_pending *p;
	struct timeval	 tv = { 1, 0 };
	int		 fd;

	if (ks->freeing || ks->npending >= KS_CLIENT_INFLIGHT) {
		ipc_msg_free(m);
		return -1;
	}
	if (ks->conn == NULL) {
		if (ks->path == NULL) {
			/* connections come from ks_client_attach only */
			ipc_msg_free(m);
			return -1;
		}
		if ((fd = net_unix_connect(ks->path)) == -1) {
			log_warn("keystore: connect %s", ks->path);
			ipc_msg_free(m);
			return -1;
		}
		ks->conn = ipc_conn_new(ks->base, fd, ks_dispatch, ks_closed,
		    ks);
	}
	p = xcalloc(1, sizeof(*p));
	if (++ks->next_id == 0)
		ks->next_id = 1;
	p->id = ks->next_id;
	p->deadline = time(NULL) + KS_CLIENT_TIMEOUT;
	p->keys_fn = kfn;
	p->sign_fn = sfn;
	p->arg = arg;
	p->next = ks->pending;
	ks->pending = p;
	ks->npending++;
	m->id = p->id;
	ipc_send(ks->conn, m);
	if (!evtimer_pending(ks->tick, NULL))
		evtimer_add(ks->tick, &tv);
	return 0;
}

int
ks_client_getkeys(struct ks_client *ks, const char *owner, ks_keys_fn fn,
    void *arg)
{
	struct ipc_msg	*m;

	if (strlen(owner) > KS_OWNER_LEN_MAX)
		return -1;
	m = ipc_msg_new(IPC_KS_GETKEYS, 0);
	ipc_add_str(m, owner);
	return ks_request(ks, m, fn, NULL, arg);
}

int
ks_client_sign(struct ks_client *ks, const char *owner, enum dkim_alg alg,
    const char *selector, const uint8_t digest[DKIM_DIGEST_LEN],
    ks_sign_fn fn, void *arg)
{
	struct ipc_msg	*m;

	if (strlen(owner) > KS_OWNER_LEN_MAX ||
	    strlen(selector) > KS_SEL_LEN_MAX ||
	    (alg != DKIM_ALG_RSA_SHA256 && alg != DKIM_ALG_ED25519_SHA256))
		return -1;
	m = ipc_msg_new(IPC_KS_SIGN, 0);
	ipc_add_str(m, owner);
	ipc_add_str(m, dkim_alg_name(alg));
	ipc_add_str(m, selector);
	ipc_add_data(m, digest, DKIM_DIGEST_LEN);
	return ks_request(ks, m, NULL, fn, arg);
}
