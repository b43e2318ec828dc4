/*
 * keyserver.c - the key server role (keystore.server).
 *
 * Runs as [global] user, chrooted to empty_dir, with no key material: it
 * reads "KEY <address>" lines from the network (parsed by ks_proto.c),
 * asks the root parent for the public key over IPC and writes the
 * answer.  Limits: line length, commands per connection, an idle
 * timeout, sessions per client address, and queries per client address
 * per minute.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "keystore.h"
#include "ks_proto.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

struct ks_session {
	struct ks_session *next;
	uint32_t	 id;
	struct bufferevent *bev;
	char		 addr[64];
	int		 ncmd;
	int		 waiting;	/* a KEY is with the parent */
	int		 closing;
};

struct ks_rate {
	char	 addr[64];
	time_t	 window;
	int	 count;
};

#define KS_RATE_SLOTS	256

static const struct sm_config *cfg;
static struct ipc_conn *parent;
static struct ks_session *sessions;
static struct net_limit *limit;
static struct ks_rate rates[KS_RATE_SLOTS];
static uint32_t	 next_id = 1;

/* Fixed one-minute windows per address; the oldest slot is reused. */
static int
ks_rate_ok(const char *addr)
{
	struct ks_rate *r, *oldest = &rates[0];
	time_t	 now = time(NULL) / 60;
	size_t	 i;

	for (i = 0; i < KS_RATE_SLOTS; i++) {
		r = &rates[i];
		if (strcmp(r->addr, addr) == 0)
			goto found;
		if (r->window < oldest->window)
			oldest = r;
	}
	r = oldest;
	snprintf(r->addr, sizeof(r->addr), "%s", addr);
	r->window = 0;
found:
	if (r->window != now) {
		r->window = now;
		r->count = 0;
	}
	return ++r->count <= KS_RATE_PER_MINUTE;
}

static void
ks_session_free(struct ks_session *s)
{
	struct ks_session **pp;

	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	net_limit_leave(limit, s->addr);
	bufferevent_free(s->bev);
	free(s);
}

static void
ks_reply(struct ks_session *s, const char *line)
{
	evbuffer_add_printf(bufferevent_get_output(s->bev), "%s\r\n", line);
}

/* Close once the output has drained. */
static void
ks_close_after_write(struct ks_session *s)
{
	s->closing = 1;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		ks_session_free(s);
}

static void ks_read(struct bufferevent *, void *);

static void
ks_command(struct ks_session *s, const char *line, size_t len)
{
	struct ks_cmd cmd;
	struct ipc_msg *m;

	if (++s->ncmd > KS_MAX_COMMANDS) {
		ks_reply(s, "-ERR too many commands");
		ks_close_after_write(s);
		return;
	}
	ks_parse_line(line, len, &cmd);
	switch (cmd.verb) {
	case KS_CMD_QUIT:
		ks_reply(s, "+OK bye");
		ks_close_after_write(s);
		return;
	case KS_CMD_ERROR:
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "-ERR %s\r\n", cmd.error);
		return;
	case KS_CMD_KEY:
		if (!ks_rate_ok(s->addr)) {
			log_info("client=%s rate limited", s->addr);
			ks_reply(s, "-ERR rate limit exceeded, try later");
			return;
		}
		log_info("client=%s key=<%s>", s->addr, cmd.address);
		m = ipc_msg_new(IPC_KS_PUBKEY, s->id);
		ipc_add_str(m, cmd.address);
		ipc_send(parent, m);
		/* One query in flight: stop reading until the answer. */
		s->waiting = 1;
		bufferevent_disable(s->bev, EV_READ);
		return;
	}
}

static void
ks_read(struct bufferevent *bev, void *arg)
{
	struct ks_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t	 len;
	char	*line;

	while (!s->waiting && !s->closing) {
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > KS_LINE_MAX) {
				ks_reply(s, "-ERR line too long");
				ks_close_after_write(s);
			}
			return;
		}
		if (len > KS_LINE_MAX) {
			free(line);
			ks_reply(s, "-ERR line too long");
			ks_close_after_write(s);
			return;
		}
		ks_command(s, line, len);
		free(line);
	}
}

static void
ks_write(struct bufferevent *bev, void *arg)
{
	struct ks_session *s = arg;

	if (s->closing)
		ks_session_free(s);
}

static void
ks_event(struct bufferevent *bev, short what, void *arg)
{
	struct ks_session *s = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_info("client=%s idle timeout", s->addr);
	ks_session_free(s);
}

static void
ks_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ks_session *s;
	struct timeval tv = { KS_IDLE_TIMEOUT, 0 };
	char	 addr[64];
	const char *busy = "-ERR too many connections\r\n";

	net_addr_str(sa, addr, sizeof(addr));
	if (net_limit_enter(limit, addr) == -1) {
		log_info("client=%s refused: session limit", addr);
		if (write(fd, busy, strlen(busy)) == -1)
			log_debug("client=%s: write: refused", addr);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->id = next_id++;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, ks_read, ks_write, ks_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, KS_LINE_MAX * 4);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->next = sessions;
	sessions = s;
	evbuffer_add_printf(bufferevent_get_output(s->bev),
	    "+OK %s keystore\r\n", cfg->hostname);
}

/* Answers from the parent: the key, or why there is none. */
static void
ks_parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct ks_session *s;
	const char *sel, *alg, *key, *why;
	uint32_t code;
	char	 line[KS_LINE_MAX * 8];

	for (s = sessions; s != NULL && s->id != m->id; s = s->next)
		;
	switch (m->type) {
	case IPC_OK:
		if (ipc_get_str(m, &sel) == -1 || ipc_get_str(m, &alg) == -1 ||
		    ipc_get_str(m, &key) == -1 || ipc_get_end(m) == -1)
			fatalx("bad key answer from parent");
		snprintf(line, sizeof(line), "+OK %s %s %s", sel, alg, key);
		break;
	case IPC_ERR:
		if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &why) == -1 ||
		    ipc_get_end(m) == -1)
			fatalx("bad key answer from parent");
		snprintf(line, sizeof(line), "-ERR %s", why);
		break;
	default:
		fatalx("server: unexpected message type %u", m->type);
	}
	if (s == NULL)
		return;		/* the client left meanwhile */
	ks_reply(s, line);
	s->waiting = 0;
	bufferevent_enable(s->bev, EV_READ);
	ks_read(s->bev, s);
}

void
keyserver_main(const struct sm_config *c, const int *fds, int nfds, int ipcfd)
{
	struct event_base *base;
	int	 i;

	cfg = c;
	base = event_base_new();
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ipcfd, ks_parent_dispatch, NULL, NULL);
	limit = net_limit_new(512, 8);
	for (i = 0; i < nfds; i++)
		if (evconnlistener_new(base, ks_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE, -1, fds[i]) == NULL)
			fatalx("evconnlistener_new");
	event_base_dispatch(base);
	exit(0);
}
