/*
 * prelogin.c - the pre-login process of imapd.
 *
 * Runs as [global] user, chrooted to empty_dir, holding only the TLS
 * context and the listening sockets it inherited from the parent.  It
 * accepts every connection, speaks TLS (implicit on listen_tls, STARTTLS
 * on listen), serves CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and
 * AUTHENTICATE, and refuses LOGIN before TLS.  Credentials go to the
 * parent with one end of a new socketpair; the parent checks them with
 * PAM and gives the other end to the user's process.  From then on this
 * process only relays bytes between the client's TLS stream and the
 * socketpair: it never sees a mailbox.  See imapd.c for why.
 *
 * Every connection holds a slot of one session table (common/net.h):
 * max_sessions in total, max_sessions_per_ip per client address.  Before
 * login a connection has [imapd] login_timeout in total, from accept to
 * the parent's answer (TLS handshake, commands and authentication; not
 * an idle timer a byte restarts), and stress_timeout while the table is
 * stressed.  When every slot is taken, the pre-login session that has
 * done the least is closed to admit the new client; a logged-in relay
 * is never evicted and has no deadline here (its user process has).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "xmalloc.h"

#define RELAY_HIGH	(1024 * 1024)
#define AUTH_FAIL_MAX	3
#define AUTH_FAIL_DELAY	1	/* seconds before a NO for a failure */
#define CLOSE_LINGER	10	/* seconds a BYE may take to leave */

struct pconn {
	struct client		*c;
	uint32_t		 sid;
	int			 tls;
	int			 pairfd;
	int			 fails;
	int			 relaying;
	int			 closing;
	int			 dead_a;	/* nothing more can be */
	int			 dead_b;	/* written to that side */
	char			*tag;
	char			*failtext;	/* the parent's NO text */
	char			 peer[64];
	struct net_slot		*slot;
	struct event		*deadline_ev;
	uint64_t		 start_ms;
	struct bufferevent	*a;	/* client (TLS) */
	struct bufferevent	*b;	/* user process (plain) */
	struct pconn		*next;
};

void	 imapd_prelogin_main(int, SSL_CTX *, const int *, int, const int *,
	    int, const struct sm_config *);

static struct event_base	*pbase;
static SSL_CTX			*pctx;
static struct ipc_conn		*parent;
static struct net_limit		*limits;
static struct pconn		*pconns;
static uint32_t			 next_sid;
static long			 login_timeout, stress_timeout;

static void
pconn_free(struct pconn *pc)
{
	struct pconn	**pp;

	for (pp = &pconns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == pc) {
			*pp = pc->next;
			break;
		}
	net_slot_leave(pc->slot);
	if (pc->deadline_ev != NULL)
		event_free(pc->deadline_ev);
	if (pc->pairfd != -1)
		close(pc->pairfd);
	if (pc->a != NULL)
		bufferevent_free(pc->a);
	if (pc->b != NULL)
		bufferevent_free(pc->b);
	free(pc->tag);
	free(pc->failtext);
	free(pc);
}

static struct pconn *
pconn_find(uint32_t sid)
{
	struct pconn	*pc;

	for (pc = pconns; pc != NULL; pc = pc->next)
		if (pc->sid == sid)
			return pc;
	return NULL;
}

static int
hook_is_tls(struct client *c)
{
	return ((struct pconn *)c->hook_arg)->tls;
}

static int
hook_starttls(struct client *c)
{
	struct pconn		*pc = c->hook_arg;
	struct bufferevent	*bev;

	if ((bev = tls_starttls(c->bev, pctx, 1, NULL)) == NULL)
		return -1;
	client_set_bev(c, bev);
	pc->tls = 1;
	return 0;
}

static void
hook_login(struct client *c, const char *tag, const char *user,
    const char *pass)
{
	struct pconn	*pc = c->hook_arg;
	struct ipc_msg	*m;
	int		 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		client_tagged(c, tag, "NO", "[UNAVAILABLE] Try again later");
		client_resume(c);
		return;
	}
	pc->pairfd = sp[0];
	/* the parent has it: not evicted while it answers */
	net_slot_busy(pc->slot, 1);
	free(pc->tag);
	pc->tag = xstrdup(tag);
	m = ipc_msg_new(IPC_PARENT_AUTH, pc->sid);
	ipc_add_str(m, user);
	ipc_add_str(m, pass);
	ipc_add_str(m, tag);
	ipc_add_str(m, pc->peer);
	ipc_msg_setfd(m, sp[1]);
	ipc_send(parent, m);
}

static void
hook_closed(struct client *c)
{
	struct pconn	*pc = c->hook_arg;

	pc->c = NULL;
	if (!pc->relaying)
		pconn_free(pc);
}

static void
hook_command_done(struct client *c)
{
	struct pconn	*pc = c->hook_arg;

	net_slot_progress(pc->slot);
}

static const struct client_hooks prelogin_hooks = {
	hook_starttls, hook_login, hook_is_tls, hook_closed,
	hook_command_done
};

/* ------------------------------------------------------------------ */
/* the pre-login deadline and eviction */

/*
 * BYE and close, within CLOSE_LINGER seconds: a TLS connection whose
 * handshake never ended would keep the BYE, and the session, forever.
 */
static void
pconn_close(struct pconn *pc, const char *why)
{
	struct timeval	 tv = { CLOSE_LINGER, 0 };
	SSL		*ssl;

	if (pc->tls && (ssl = bufferevent_openssl_get_ssl(pc->c->bev)) !=
	    NULL && !SSL_is_init_finished(ssl)) {
		/* mid-handshake: no BYE can leave */
		client_abort(pc->c);
		return;
	}
	client_close(pc->c, why);
	if (!pc->c->free_scheduled)
		evtimer_add(pc->deadline_ev, &tv);
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pconn	*pc = arg;
	struct timeval	 tv;
	uint64_t	 now = net_now_ms(), due, next;
	long		 limit = login_timeout;
	int		 stressed = net_slot_stressed(pc->slot);

	if (pc->relaying || pc->c == NULL)
		return;
	if (pc->c->closing) {
		/* its BYE did not leave in CLOSE_LINGER seconds */
		client_abort(pc->c);
		return;
	}
	if (stressed && stress_timeout > 0 &&
	    (limit == 0 || stress_timeout < limit))
		limit = stress_timeout;
	due = limit > 0 ? pc->start_ms + (uint64_t)limit * 1000 : UINT64_MAX;
	if (now >= due) {
		log_info("id=%s peer=%s timeout before login stress=%s",
		    pc->c->id, pc->peer, stressed ? "yes" : "no");
		pconn_close(pc, "Autologout; login took too long");
		return;
	}
	if (due == UINT64_MAX && (stressed || stress_timeout == 0))
		return;
	next = due == UINT64_MAX ? UINT64_MAX : due - now;
	/* stress may begin meanwhile and shorten the wait: look again */
	if (!stressed && stress_timeout > 0 &&
	    next > (uint64_t)stress_timeout * 1000)
		next = (uint64_t)stress_timeout * 1000;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	evtimer_add(pc->deadline_ev, &tv);
}

static void
pconn_evict(void *arg)
{
	struct pconn	*pc = arg;

	if (pc->c == NULL || pc->c->closing)
		return;
	log_info("id=%s peer=%s evicted: every session slot taken",
	    pc->c->id, pc->peer);
	pconn_close(pc, "[UNAVAILABLE] Too many connections, try again "
	    "later");
}

static void relay_read(struct bufferevent *, void *);

/* Free a closing relay once every live side has what was queued for it. */
static void
relay_maybe_free(struct pconn *pc)
{
	if ((pc->dead_a ||
	    evbuffer_get_length(bufferevent_get_output(pc->a)) == 0) &&
	    (pc->dead_b ||
	    evbuffer_get_length(bufferevent_get_output(pc->b)) == 0))
		pconn_free(pc);
}

static void
relay_write(struct bufferevent *bev, void *arg)
{
	struct pconn		*pc = arg;
	struct bufferevent	*other = bev == pc->a ? pc->b : pc->a;

	if (pc->closing) {
		relay_maybe_free(pc);
		return;
	}
	bufferevent_enable(other, EV_READ);
	relay_read(other, pc);
}

static void
relay_read(struct bufferevent *bev, void *arg)
{
	struct pconn		*pc = arg;
	struct bufferevent	*other = bev == pc->a ? pc->b : pc->a;
	struct evbuffer		*out = bufferevent_get_output(other);

	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) > RELAY_HIGH)
		bufferevent_disable(bev, EV_READ);
}

static void
relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct pconn	*pc = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	/*
	 * Nothing more can be written to a side that failed, or to the user
	 * process once it closed (it died, or ended the session): what is
	 * queued for it is not waited for, or the session would hang.
	 */
	if ((what & BEV_EVENT_ERROR) || bev == pc->b) {
		if (bev == pc->a)
			pc->dead_a = 1;
		else
			pc->dead_b = 1;
	}
	if (pc->closing) {
		pconn_free(pc);
		return;
	}
	/* one side ended: let the other have what is queued, then end */
	pc->closing = 1;
	bufferevent_disable(pc->a, EV_READ);
	bufferevent_disable(pc->b, EV_READ);
	relay_maybe_free(pc);
}

/* The parent accepted the login: become a relay. */
static void
start_relay(struct pconn *pc)
{
	struct client	*c = pc->c;

	pc->relaying = 1;
	/* logged in: never evicted, no pre-login deadline */
	net_slot_set_evict(pc->slot, NULL, NULL);
	net_slot_busy(pc->slot, 1);
	evtimer_del(pc->deadline_ev);
	pc->a = c->bev;
	c->bev = NULL;
	client_free(c);
	if (net_nonblock(pc->pairfd) == -1 || (pc->b =
	    bufferevent_socket_new(pbase, pc->pairfd, BEV_OPT_CLOSE_ON_FREE))
	    == NULL) {
		pconn_free(pc);
		return;
	}
	pc->pairfd = -1;
	/* whatever the client pipelined after LOGIN goes to its session */
	evbuffer_add_buffer(bufferevent_get_output(pc->b),
	    bufferevent_get_input(pc->a));
	bufferevent_setcb(pc->a, relay_read, relay_write, relay_event, pc);
	bufferevent_setcb(pc->b, relay_read, relay_write, relay_event, pc);
	bufferevent_set_timeouts(pc->a, NULL, NULL);
	bufferevent_enable(pc->a, EV_READ | EV_WRITE);
	bufferevent_enable(pc->b, EV_READ | EV_WRITE);
}

static const struct timeval fail_delay = { AUTH_FAIL_DELAY, 0 };

static void
auth_failed_later(evutil_socket_t fd, short ev, void *arg)
{
	struct pconn	*pc;

	if ((pc = pconn_find((uint32_t)(uintptr_t)arg)) == NULL ||
	    pc->c == NULL || pc->c->closing)
		return;
	client_tagged(pc->c, pc->tag, "NO", "%s", pc->failtext != NULL ?
	    pc->failtext : "[AUTHENTICATIONFAILED] Authentication failed");
	net_slot_busy(pc->slot, 0);
	if (++pc->fails >= AUTH_FAIL_MAX)
		client_close(pc->c, "Too many authentication failures");
	else
		client_resume(pc->c);
}

static void
pre_dispatch(struct ipc_conn *conn, struct ipc_msg *m, void *arg)
{
	struct pconn	*pc;
	const char	*text;

	if ((m->type != IPC_OK && m->type != IPC_ERR) ||
	    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1)
		fatalx("prelogin: unexpected message %u from parent", m->type);
	if ((pc = pconn_find(m->id)) == NULL || pc->c == NULL ||
	    pc->c->closing)
		return;		/* the client left meanwhile */
	if (m->type == IPC_OK) {
		log_info("id=%s user=%s peer=%s login", pc->c->id, text,
		    pc->peer);
		start_relay(pc);
		return;
	}
	close(pc->pairfd);
	pc->pairfd = -1;
	free(pc->failtext);
	/* the parent's text, as long as it is one printable line */
	pc->failtext = text[0] == '[' && strlen(text) < 200 &&
	    strpbrk(text, "\r\n") == NULL ? xstrdup(text) : NULL;
	log_info("id=%s peer=%s auth failed", pc->c->id, pc->peer);
	/* a failure is answered late, and the session stays busy meanwhile */
	event_base_once(pbase, -1, EV_TIMEOUT, auth_failed_later,
	    (void *)(uintptr_t)pc->sid, &fail_delay);
}

static void
pre_closed(struct ipc_conn *conn, void *arg)
{
	log_warnx("parent went away");
	exit(1);
}

static void
on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct bufferevent	*bev;
	struct pconn		*pc;
	struct buf		 caps;
	struct client		*c;
	struct net_slot		*slot;
	int			 fd, tls = arg != NULL, one = 1;
	char			 peer[64];
	static const char	 busy[] = "* BYE [UNAVAILABLE] Too many "
	    "connections, try again later\r\n";

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    == -1)
		return;
	/* responses are written in pieces: do not let Nagle hold them */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	net_peer_str(fd, peer, sizeof(peer));
	if ((slot = net_slot_enter(limits, peer)) == NULL) {
		log_info("peer=%s refused: too many sessions", peer);
		if (!tls && write(fd, busy, sizeof(busy) - 1) < 0)
			log_debug("peer=%s: write refused", peer);
		close(fd);
		return;
	}
	bev = tls ? tls_accept(pbase, pctx, fd) :
	    bufferevent_socket_new(pbase, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		net_slot_leave(slot);
		close(fd);
		return;
	}
	pc = xcalloc(1, sizeof(*pc));
	pc->sid = ++next_sid;
	pc->tls = tls;
	pc->pairfd = -1;
	pc->slot = slot;
	pc->start_ms = net_now_ms();
	snprintf(pc->peer, sizeof(pc->peer), "%s", peer);
	pc->next = pconns;
	pconns = pc;
	c = client_new(pbase, bev, NULL, peer, &prelogin_hooks, pc);
	pc->c = c;
	net_slot_set_evict(slot, pconn_evict, pc);
	pc->deadline_ev = evtimer_new(pbase, deadline_cb, pc);
	deadline_cb(-1, 0, pc);
	buf_init(&caps, 0);
	client_capabilities(c, &caps);
	client_printf(c, "* OK [CAPABILITY %s] Sealmail IMAP ready\r\n",
	    buf_cstr(&caps));
	buf_free(&caps);
	log_info("id=%s peer=%s connect tls=%d", c->id, peer, tls);
}

void
imapd_prelogin_main(int fd, SSL_CTX *ctx, const int *plain, int nplain,
    const int *tls, int ntls, const struct sm_config *cfg)
{
	struct event	*ev;
	int		 i;

	signal(SIGPIPE, SIG_IGN);
	pctx = ctx;
	if ((pbase = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* the client's socket and, once logged in, the user process's */
	limits = net_limit_new(net_session_budget(cfg->imapd_max_sessions, 2),
	    cfg->imapd_max_sessions_per_ip);
	net_limit_set_stress(limits, cfg->imapd_limits.stress_threshold);
	login_timeout = cfg->imapd_login_timeout;
	stress_timeout = cfg->imapd_limits.stress_timeout;
	parent = ipc_conn_new(pbase, fd, pre_dispatch, pre_closed, NULL);
	for (i = 0; i < nplain + ntls; i++) {
		int lfd = i < nplain ? plain[i] : tls[i - nplain];

		net_nonblock(lfd);
		ev = event_new(pbase, lfd, EV_READ | EV_PERSIST, on_accept,
		    i < nplain ? NULL : (void *)1);
		event_add(ev, NULL);
	}
	event_base_dispatch(pbase);
	exit(0);
}
