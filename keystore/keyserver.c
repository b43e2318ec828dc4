/*
 * keyserver.c - the key server (docs/interfaces.md, "The key server"),
 * in the keystore.server role.
 *
 * Runs as [global] user, chrooted to empty_dir, with no key material: it
 * reads lines from the network (parsed by ks_proto.c), asks the root
 * parent for a user's public keys over IPC (IPC_KS_PUBKEY) and writes the
 * answer.  The protocol, every line ending in CRLF:
 *
 *	greeting	"+OK <host> keystore", or "-FW <host>:<port>" when
 *			[keystore] forward is set (ask there; the
 *			connection is closed)
 *	KEY <address>	one line per key the address has,
 *			    "+OK <selector> <algorithm> <base64 key>"
 *			for a live key (active, or retiring after a
 *			rotation) and
 *			    "+OK <selector> <algorithm> revoked"
 *			for a key revoked within [keystore] revoked_publish,
 *			then a line holding only "." that ends the answer;
 *			or one line "-ERR <reason>" (no "." follows).
 *			<algorithm> is "rsa-sha256" or "ed25519-sha256";
 *			the key is what DNS publishes as p= (RSA: the
 *			SubjectPublicKeyInfo, Ed25519: the raw 32 bytes).
 *	QUIT		"+OK bye", and the connection is closed
 *	anything else	"-ERR <reason>"; the session goes on
 *
 * An address without keys and an address that is not a user get the
 * same "-ERR no key for this address", and no KEY answer leaves sooner
 * than KS_ANSWER_FLOOR_MS after its question was read, so neither the
 * words nor the time tell whether the user exists.  Commands may be
 * pipelined; they are answered in order, one at a time.  Limits: line
 * length, commands per connection, an idle timeout, sessions in all and
 * per client address, and KEY queries per client address per minute.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "ipc.h"
#include "keystore.h"
#include "ks_proto.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

struct ks_session {
	struct ks_session *next;
	struct bufferevent *bev;
	struct event	*hold;		/* the answer waits for the floor */
	struct buf	 answer;
	struct timeval	 asked;
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
static struct ks_session *sessions;
static struct net_limit *limit;
static struct ks_rate rates[KS_RATE_SLOTS];

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
	server_forget(s);
	net_limit_leave(limit, s->addr);
	event_free(s->hold);
	buf_free(&s->answer);
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

static void	 ks_read(struct bufferevent *, void *);
static void	 ks_answer(struct ipc_msg *, void *, uint32_t);

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
		gettimeofday(&s->asked, NULL);
		m = ipc_msg_new(IPC_KS_PUBKEY, 0);
		ipc_add_str(m, cmd.address);
		if (server_ask(m, ks_answer, s, 0) == -1) {
			ks_reply(s, "-ERR busy, try later");
			return;
		}
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

	(void)bev;
	if (s->closing)
		ks_session_free(s);
}

static void
ks_event(struct bufferevent *bev, short what, void *arg)
{
	struct ks_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_info("client=%s idle timeout", s->addr);
	ks_session_free(s);
}

/* Write the held answer and read the next command. */
static void
ks_release(evutil_socket_t fd, short ev, void *arg)
{
	struct ks_session *s = arg;

	(void)fd;
	(void)ev;
	evbuffer_add(bufferevent_get_output(s->bev), s->answer.data,
	    s->answer.len);
	buf_reset(&s->answer);
	s->waiting = 0;
	bufferevent_enable(s->bev, EV_READ);
	ks_read(s->bev, s);
}

/* The parent's answer to IPC_KS_PUBKEY, as the lines of the protocol. */
static void
ks_format(struct ipc_msg *m, struct buf *out)
{
	const char *sel, *alg, *key, *why;
	uint32_t code, n, i;

	switch (m->type) {
	case IPC_KS_PUBKEYS:
		if (ipc_get_u32(m, &n) == -1 || n == 0)
			fatalx("bad IPC_KS_PUBKEYS from the parent");
		for (i = 0; i < n; i++) {
			if (ipc_get_str(m, &sel) == -1 ||
			    ipc_get_str(m, &alg) == -1 ||
			    ipc_get_str(m, &key) == -1 ||
			    strpbrk(sel, " \r\n") != NULL ||
			    strpbrk(alg, " \r\n") != NULL ||
			    strpbrk(key, " \r\n") != NULL)
				fatalx("bad IPC_KS_PUBKEYS from the parent");
			buf_printf(out, "+OK %s %s %s\r\n", sel, alg, key);
		}
		buf_addstr(out, ".\r\n");
		break;
	case IPC_ERR:
		if (ipc_get_u32(m, &code) == -1 ||
		    ipc_get_str(m, &why) == -1 || strpbrk(why, "\r\n") != NULL)
			fatalx("bad key answer from the parent");
		buf_printf(out, "-ERR %s\r\n", why);
		break;
	default:
		fatalx("keyserver: unexpected message type %u", m->type);
	}
	if (ipc_get_end(m) == -1)
		fatalx("bad key answer from the parent");
}

static void
ks_answer(struct ipc_msg *m, void *arg, uint32_t cookie)
{
	struct ks_session *s = arg;
	struct timeval	 now, floor = { 0, KS_ANSWER_FLOOR_MS * 1000 }, due;

	(void)cookie;
	buf_reset(&s->answer);
	ks_format(m, &s->answer);
	gettimeofday(&now, NULL);
	timeradd(&s->asked, &floor, &due);
	if (timercmp(&now, &due, <)) {
		timersub(&due, &now, &due);
		evtimer_add(s->hold, &due);
	} else
		ks_release(-1, 0, s);
}

static void
ks_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ks_session *s;
	struct event_base *base = evconnlistener_get_base(l);
	struct timeval tv = { KS_IDLE_TIMEOUT, 0 };
	char	 addr[64];
	const char *busy = "-ERR too many connections\r\n";

	(void)salen;
	(void)arg;
	net_addr_str(sa, addr, sizeof(addr));
	if (net_limit_enter(limit, addr) == -1) {
		log_info("client=%s refused: session limit", addr);
		if (write(fd, busy, strlen(busy)) == -1)
			log_debug("client=%s: write: refused", addr);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	buf_init(&s->answer, 0);
	if ((s->hold = evtimer_new(base, ks_release, s)) == NULL)
		fatalx("evtimer_new");
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, ks_read, ks_write, ks_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, KS_LINE_MAX * 4);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->next = sessions;
	sessions = s;
	if (cfg->keystore_forward != NULL) {
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "-FW %s\r\n", cfg->keystore_forward);
		ks_close_after_write(s);
		return;
	}
	evbuffer_add_printf(bufferevent_get_output(s->bev),
	    "+OK %s keystore\r\n", cfg->hostname);
}

void
keyserver_init(struct event_base *base, const struct sm_config *c,
    const int *fds, int nfds)
{
	int	 i;

	cfg = c;
	limit = net_limit_new(KS_KEYSERVER_SESSIONS, KS_KEYSERVER_PER_ADDR);
	for (i = 0; i < nfds; i++)
		if (evconnlistener_new(base, ks_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE, -1, fds[i]) == NULL)
			fatalx("evconnlistener_new");
}
