/*
 * callback_resp.c - the callback responder (docs/interfaces.md, "The
 * callback"): answers a receiver that asks whether a session ID one of
 * our transmitters offered it belongs to a session open from us to it.
 *
 * Runs in smtpd.receiver ([global] user, chrooted to the empty
 * directory, no key but the TLS server context it inherited): it is the
 * process that already parses network input.  The parent binds the
 * listening sockets ([smtpd] callback_port on each [smtpd] listen host)
 * and hands them over (cbk_resp_listen, before receiver_main); the
 * receiver starts the responder on its event loop (cbk_resp_start) and
 * passes on the parent's IPC_RECEIVER_CBK_* messages (cbk_resp_ipc),
 * which say which outbound sessions are open (callback_table.c).
 *
 * One connection, one question: TLS from the first byte, then
 * "CHECK <64 hex>\r\n" and exactly one answer of five octets, "YES\r\n"
 * or "NO \r\n", then close.  YES only when a session with that ID is
 * open and the client connects from the address that session connected
 * to; the ID is then used up.  Everything else is NO: a malformed or
 * over-long line (CBK_LINE_MAX), no line within CBK_RESP_TIMEOUT_MS, a
 * client over CBK_RESP_RATE questions a minute.  A client over the
 * bound on connections (CBK_RESP_CONN_MAX, CBK_RESP_CONN_PER_ADDR) is
 * closed without a word.  The answer is the same size either way, and
 * nothing but YES or NO ever goes out, so the responder cannot be made
 * to amplify or reflect anything.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callback.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "xmalloc.h"

struct cbk_conn {
	struct bufferevent	*bev;
	struct event		*timer;
	char			 addr[CBK_ADDR_MAX];
	int			 limited;	/* over the rate: NO */
	int			 answered;	/* closing once it is out */
};

static struct event_base *base;
static SSL_CTX		*ctx;
static int		 lfds[CFG_LISTEN_MAX];
static int		 nlfd;
static struct cbk_table	*table;
static struct net_limit	*limit;
static struct cbk_rate	 rates[CBK_RATE_SLOTS];

/* The parent's listening sockets, given before receiver_main(). */
void
cbk_resp_listen(const int *fds, int n)
{
	int	 i;

	for (i = 0; i < n && i < CFG_LISTEN_MAX; i++)
		lfds[i] = fds[i];
	nlfd = i;
}

static void
conn_free(struct cbk_conn *c)
{
	net_limit_leave(limit, c->addr);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

/* The one answer; the connection closes once it has gone out. */
static void
answer(struct cbk_conn *c, int yes, const char *why)
{
	struct timeval	 linger = { 1, 0 };

	log_info("callback peer=%s answer=%s%s%s", c->addr, yes ? "yes" : "no",
	    why != NULL ? " why=" : "", why != NULL ? why : "");
	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_write(c->bev, yes ? CBK_YES : CBK_NO, CBK_ANSWER_LEN);
	evtimer_add(c->timer, &linger);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct cbk_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(in);
	char		 id[CBK_ID_LEN + 1];
	const char	*b;

	if (c->answered || len == 0)
		return;
	if (len > CBK_LINE_MAX) {
		answer(c, 0, "line-too-long");
		return;
	}
	b = (const char *)evbuffer_pullup(in, (ssize_t)len);
	switch (cbk_line_parse(b, len, id)) {
	case CBK_LINE_MORE:
		return;
	case CBK_LINE_BAD:
		answer(c, 0, len >= CBK_LINE_MAX ? "line-too-long" :
		    "malformed");
		return;
	case CBK_LINE_CHECK:
		break;
	}
	if (c->limited)
		answer(c, 0, "rate-limited");
	else if (cbk_table_check(table, id, c->addr))
		answer(c, 1, NULL);
	else
		answer(c, 0, "no-such-session");
	explicit_bzero(id, sizeof(id));
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct cbk_conn	*c = arg;

	if (c->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct cbk_conn	*c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (!c->answered)
			log_info("callback peer=%s closed without an answer",
			    c->addr);
		conn_free(c);
	}
}

/* Too slow: NO (it goes out if TLS is up); then, after a linger, gone. */
static void
conn_timeout(int fd, short ev, void *arg)
{
	struct cbk_conn	*c = arg;

	if (c->answered)
		conn_free(c);
	else
		answer(c, 0, "timeout");
}

static void
resp_accept(int lfd, short ev, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t	 sl = sizeof(ss);
	struct timeval	 tv = { CBK_RESP_TIMEOUT_MS / 1000,
			    (CBK_RESP_TIMEOUT_MS % 1000) * 1000 };
	struct cbk_conn	*c;
	char		 addr[CBK_ADDR_MAX];
	int		 fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("callback: accept");
		return;
	}
	net_addr_str((struct sockaddr *)&ss, addr, sizeof(addr));
	if (net_limit_enter(limit, addr) == -1) {
		log_info("callback peer=%s refused: connection limit", addr);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->limited = !cbk_rate_ok(rates, addr, CBK_RESP_RATE, time(NULL));
	c->timer = evtimer_new(base, conn_timeout, c);
	if ((c->bev = tls_accept(base, ctx, fd)) == NULL) {
		log_warnx("callback peer=%s: cannot start TLS", addr);
		close(fd);
		net_limit_leave(limit, c->addr);
		event_free(c->timer);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CBK_LINE_MAX + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &tv);
}

/*
 * On the receiver's event loop, with its TLS context; the table is kept
 * even without listeners (the parent sends only when callback_port is
 * set, and then it has bound them).
 */
void
cbk_resp_start(struct event_base *b, SSL_CTX *tls)
{
	struct event	*ev;
	int		 i;

	base = b;
	ctx = tls;
	table = cbk_table_new(CBK_TABLE_MAX);
	if (nlfd == 0)
		return;
	if (ctx == NULL) {
		log_warnx("callback: no TLS context; the responder is off");
		return;
	}
	limit = net_limit_new(CBK_RESP_CONN_MAX, CBK_RESP_CONN_PER_ADDR);
	for (i = 0; i < nlfd; i++) {
		ev = event_new(base, lfds[i], EV_READ | EV_PERSIST,
		    resp_accept, NULL);
		event_add(ev, NULL);
	}
	log_info("callback responder ready listen=%d", nlfd);
}

/*
 * The parent's word on smtpd.mta's sessions: 0 when m was one of those,
 * -1 when it is another type.  A malformed one is fatal: the parent
 * checked what the mta said and does not lie.
 */
int
cbk_resp_ipc(struct ipc_msg *m)
{
	const char	*id, *addr;
	uint32_t	 slot;

	switch (m->type) {
	case IPC_RECEIVER_CBK_OPEN:
		if (ipc_get_u32(m, &slot) == -1 || ipc_get_str(m, &id) == -1 ||
		    ipc_get_str(m, &addr) == -1 || ipc_get_end(m) == -1)
			fatalx("receiver: bad IPC_RECEIVER_CBK_OPEN");
		if (cbk_table_open(table, slot, id, addr) == -1)
			log_warnx("callback: session of mta %u to %s not "
			    "kept (table full or malformed)", slot, addr);
		return 0;
	case IPC_RECEIVER_CBK_CLOSE:
		if (ipc_get_u32(m, &slot) == -1 || ipc_get_str(m, &id) == -1 ||
		    ipc_get_end(m) == -1)
			fatalx("receiver: bad IPC_RECEIVER_CBK_CLOSE");
		cbk_table_close(table, slot, id);
		return 0;
	case IPC_RECEIVER_CBK_DROP:
		if (ipc_get_u32(m, &slot) == -1 || ipc_get_end(m) == -1)
			fatalx("receiver: bad IPC_RECEIVER_CBK_DROP");
		cbk_table_drop(table, slot);
		return 0;
	default:
		return -1;
	}
}

/* The SESSID= the transaction's MAIL carried, for the verifier. */
const char *
cbk_session_id(const struct smtp_session *s)
{
	return smtp_sessid(s);
}
