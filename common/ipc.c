/*
 * ipc.c - framed messages with fd passing; see ipc.h.
 *
 * Wire format, all integers big-endian:
 *	u32 type | u32 id | u32 flags and payload length | payload
 * The top bit of the third word says a file descriptor travels with the
 * message.
 * payload fields:
 *	'u' u32 | 'U' u64 | 's' u32 len, bytes, NUL | 'd' u32 len, bytes
 * A file descriptor rides as SCM_RIGHTS ancillary data on the first byte
 * of its message; the receiver pairs the two up in order.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#define IPC_MAX_FDS	16
#define IPC_WRITE_IOV	64	/* messages in one write */
#define IPC_FLAG_FD	0x80000000U

struct ipc_out {
	struct ipc_out	*next;
	struct buf	 wire;
	size_t		 sent;
	int		 fd;
};

struct ipc_conn {
	int		 fd;
	struct event	*ev_read;
	struct event	*ev_write;
	struct buf	 in;
	int		 fds[IPC_MAX_FDS];	/* received, not yet claimed */
	int		 nfds;
	struct ipc_out	*out_head, **out_tail;
	ipc_dispatch_fn	 dispatch;
	ipc_closed_fn	 closed;
	void		*arg;
	uid_t		 peer_uid;
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

struct ipc_msg *
ipc_msg_new(uint32_t type, uint32_t id)
{
	struct ipc_msg *m = xcalloc(1, sizeof(*m));

	m->type = type;
	m->id = id;
	m->fd = -1;
	buf_init(&m->data, IPC_MAX_PAYLOAD);
	return m;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1)
		close(m->fd);
	buf_wipe(&m->data);
	free(m);
}

void
ipc_msg_setfd(struct ipc_msg *m, int fd)
{
	if (m->fd != -1)
		log_panic("ipc_msg_setfd: message already has an fd");
	m->fd = fd;
}

/* Take the message's fd out of it; the caller now owns it. */
int
ipc_msg_takefd(struct ipc_msg *m)
{
	int	 fd = m->fd;

	m->fd = -1;
	return fd;
}

static void
ipc_put(struct ipc_msg *m, const void *p, size_t n)
{
	if (buf_add(&m->data, p, n) == -1)
		log_panic("ipc message type %u over %d bytes", m->type,
		    IPC_MAX_PAYLOAD);
}

void
ipc_add_u32(struct ipc_msg *m, uint32_t v)
{
	uint8_t	 b[5] = { 'u' };

	put32(b + 1, v);
	ipc_put(m, b, sizeof(b));
}

void
ipc_add_u64(struct ipc_msg *m, uint64_t v)
{
	uint8_t	 b[9] = { 'U' };

	put32(b + 1, (uint32_t)(v >> 32));
	put32(b + 5, (uint32_t)v);
	ipc_put(m, b, sizeof(b));
}

static void
ipc_add_bytes(struct ipc_msg *m, int tag, const void *p, size_t n, int nul)
{
	uint8_t	 b[5] = { (uint8_t)tag };

	if (n > IPC_MAX_PAYLOAD)
		log_panic("ipc field of %zu bytes", n);
	put32(b + 1, (uint32_t)n);
	ipc_put(m, b, sizeof(b));
	ipc_put(m, p, n);
	if (nul)
		ipc_put(m, "", 1);
}

void
ipc_add_str(struct ipc_msg *m, const char *s)
{
	ipc_add_bytes(m, 's', s, strlen(s), 1);
}

void
ipc_add_data(struct ipc_msg *m, const void *p, size_t n)
{
	ipc_add_bytes(m, 'd', p, n, 0);
}

/* The next field must have this tag and need bytes after it. */
static const uint8_t *
ipc_take(struct ipc_msg *m, int tag, size_t need)
{
	const uint8_t *p;

	if (m->rpos >= m->data.len || m->data.len - m->rpos < 1 + need)
		return NULL;
	p = (const uint8_t *)m->data.data + m->rpos;
	if (*p != tag)
		return NULL;
	m->rpos += 1 + need;
	return p + 1;
}

int
ipc_get_u32(struct ipc_msg *m, uint32_t *v)
{
	const uint8_t *p;

	if ((p = ipc_take(m, 'u', 4)) == NULL)
		return -1;
	*v = get32(p);
	return 0;
}

int
ipc_get_u64(struct ipc_msg *m, uint64_t *v)
{
	const uint8_t *p;

	if ((p = ipc_take(m, 'U', 8)) == NULL)
		return -1;
	*v = (uint64_t)get32(p) << 32 | get32(p + 4);
	return 0;
}

static int
ipc_get_bytes(struct ipc_msg *m, int tag, const void **pp, size_t *np,
    int nul)
{
	const uint8_t *p;
	size_t	 save = m->rpos, n;

	if ((p = ipc_take(m, tag, 4)) == NULL)
		return -1;
	n = get32(p);
	if (m->data.len - m->rpos < n + (size_t)nul)
		goto bad;
	p = (const uint8_t *)m->data.data + m->rpos;
	if (nul && (p[n] != '\0' || memchr(p, '\0', n) != NULL))
		goto bad;
	m->rpos += n + (size_t)nul;
	*pp = p;
	if (np != NULL)
		*np = n;
	return 0;
bad:
	m->rpos = save;
	return -1;
}

int
ipc_get_str(struct ipc_msg *m, const char **s)
{
	const void *p;

	if (ipc_get_bytes(m, 's', &p, NULL, 1) == -1)
		return -1;
	*s = p;
	return 0;
}

int
ipc_get_data(struct ipc_msg *m, const void **p, size_t *n)
{
	return ipc_get_bytes(m, 'd', p, n, 0);
}

int
ipc_get_end(struct ipc_msg *m)
{
	return m->rpos == m->data.len ? 0 : -1;
}

void
ipc_encode(const struct ipc_msg *m, struct buf *out)
{
	uint8_t	 h[IPC_HDR_LEN];

	put32(h, m->type);
	put32(h + 4, m->id);
	put32(h + 8, (uint32_t)m->data.len | (m->fd != -1 ? IPC_FLAG_FD : 0));
	if (buf_add(out, h, sizeof(h)) == -1 ||
	    buf_add(out, m->data.data, m->data.len) == -1)
		log_panic("ipc_encode: buffer limit");
}

/*
 * Decode one message from the front of p.  The payload is checked for
 * well-formed fields here, so a dispatcher never sees a torn field.
 */
enum ipc_decode_result
ipc_decode(const uint8_t *p, size_t len, struct ipc_msg **m_r, size_t *used)
{
	struct ipc_msg *m;
	uint32_t type, id, plen;
	uint64_t flen;
	size_t	 pos;
	int	 hasfd;

	if (len < IPC_HDR_LEN)
		return IPC_DECODE_MORE;
	type = get32(p);
	id = get32(p + 4);
	plen = get32(p + 8);
	hasfd = (plen & IPC_FLAG_FD) != 0;
	plen &= ~IPC_FLAG_FD;
	if (type == IPC_NONE || type >= IPC_TYPE_MAX || plen > IPC_MAX_PAYLOAD)
		return IPC_DECODE_ERROR;
	if (len - IPC_HDR_LEN < plen)
		return IPC_DECODE_MORE;
	p += IPC_HDR_LEN;
	for (pos = 0; pos < plen;) {
		switch (p[pos]) {
		case 'u':
			flen = 4;
			break;
		case 'U':
			flen = 8;
			break;
		case 's':
		case 'd':
			if (plen - pos < 5)
				return IPC_DECODE_ERROR;
			/* in 64 bits: 4 + 0xffffffff + 1 must not wrap */
			flen = 4 + (uint64_t)get32(p + pos + 1) +
			    (p[pos] == 's');
			break;
		default:
			return IPC_DECODE_ERROR;
		}
		if (plen - pos - 1 < flen)
			return IPC_DECODE_ERROR;
		pos += 1 + flen;
	}
	m = ipc_msg_new(type, id);
	if (hasfd)
		m->fd = IPC_FD_PENDING;
	if (buf_add(&m->data, p, plen) == -1)
		log_panic("ipc_decode: payload limit");
	*m_r = m;
	*used = IPC_HDR_LEN + plen;
	return IPC_DECODE_DONE;
}

/* Send buffer bytes, with fd as ancillary data when fd != -1. */
static ssize_t
ipc_sendmsg(int sock, const void *p, size_t n, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/*
 * Receive at most want bytes into b; fds that arrive are appended to fds.  Returns
 * bytes read, 0 on EOF, -1 on error.
 */
static ssize_t
ipc_recvmsg(int sock, struct buf *b, size_t want, int *fds, int *nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	char	 chunk[16384];
	ssize_t	 n;
	size_t	 i, k;
	int	 fd;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = chunk;
	iov.iov_len = want < sizeof(chunk) ? want : sizeof(chunk);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds == IPC_MAX_FDS) {
				close(fd);
				errno = EMFILE;
				return -1;
			}
			fds[(*nfds)++] = fd;
		}
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		errno = EPROTO;
		return -1;
	}
	if (buf_add(b, chunk, (size_t)n) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

static void
ipc_conn_close(struct ipc_conn *c)
{
	event_del(c->ev_read);
	event_del(c->ev_write);
	if (c->closed == NULL)
		fatalx("ipc: peer closed the connection");
	c->closed(c, c->arg);
}

/*
 * Dispatch every complete message in the input buffer.  Returns -1 when
 * the connection was closed (and may have been freed by the callback).
 */
static int
ipc_conn_drain(struct ipc_conn *c)
{
	struct ipc_msg *m;
	size_t	 used;

	for (;;) {
		switch (ipc_decode((const uint8_t *)c->in.data, c->in.len, &m,
		    &used)) {
		case IPC_DECODE_MORE:
			return 0;
		case IPC_DECODE_ERROR:
			log_warnx("ipc: malformed message from peer");
			ipc_conn_close(c);
			return -1;
		case IPC_DECODE_DONE:
			break;
		}
		buf_consume(&c->in, used);
		if (m->fd == IPC_FD_PENDING) {
			if (c->nfds == 0) {
				log_warnx("ipc: message type %u lacks its fd",
				    m->type);
				m->fd = -1;
				ipc_msg_free(m);
				ipc_conn_close(c);
				return -1;
			}
			m->fd = c->fds[0];
			memmove(c->fds, c->fds + 1,
			    (size_t)--c->nfds * sizeof(int));
		}
		c->dispatch(c, m, c->arg);
		ipc_msg_free(m);
	}
}

static void
ipc_conn_read(int fd, short ev, void *arg)
{
	struct ipc_conn *c = arg;
	ssize_t	 n;

	n = ipc_recvmsg(fd, &c->in, (size_t)-1, c->fds, &c->nfds);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n == -1)
			log_warn("ipc: read");
		ipc_conn_close(c);
		return;
	}
	ipc_conn_drain(c);
}

/*
 * Messages without a descriptor go out together, as many as fit in one
 * sendmsg() (a peer that pipelines requests gets one write per batch,
 * not one per answer); a message with a descriptor goes alone, the
 * descriptor on its first byte.
 */
static ssize_t
ipc_conn_send(struct ipc_conn *c)
{
	struct iovec	 iov[IPC_WRITE_IOV];
	struct msghdr	 msg;
	struct ipc_out	*o = c->out_head;
	int		 k = 0;

	if (o->sent == 0 && o->fd != -1)
		return ipc_sendmsg(c->fd, o->wire.data, o->wire.len, o->fd);
	for (; o != NULL && k < IPC_WRITE_IOV && (k == 0 || o->fd == -1);
	    o = o->next, k++) {
		iov[k].iov_base = o->wire.data + o->sent;
		iov[k].iov_len = o->wire.len - o->sent;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)k;
	return sendmsg(c->fd, &msg, MSG_NOSIGNAL);
}

static void
ipc_conn_write(int fd, short ev, void *arg)
{
	struct ipc_conn *c = arg;
	struct ipc_out *o;
	ssize_t	 n;
	size_t	 take;

	(void)fd;
	(void)ev;
	while (c->out_head != NULL) {
		if ((n = ipc_conn_send(c)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_warn("ipc: write");
			ipc_conn_close(c);
			return;
		}
		while ((o = c->out_head) != NULL && (n > 0 ||
		    o->sent == o->wire.len)) {
			if (o->sent == 0 && o->fd != -1) {
				close(o->fd);
				o->fd = -1;
			}
			take = o->wire.len - o->sent < (size_t)n ?
			    o->wire.len - o->sent : (size_t)n;
			o->sent += take;
			n -= (ssize_t)take;
			if (o->sent < o->wire.len)
				break;
			c->out_head = o->next;
			if (c->out_head == NULL)
				c->out_tail = &c->out_head;
			buf_free(&o->wire);
			free(o);
		}
		if (c->out_head != NULL && c->out_head->sent > 0)
			break;		/* a short write: the socket is full */
	}
	if (c->out_head != NULL)
		event_add(c->ev_write, NULL);
}

struct ipc_conn *
ipc_conn_new(struct event_base *base, int fd, ipc_dispatch_fn dispatch,
    ipc_closed_fn closed, void *arg)
{
	struct ipc_conn *c = xcalloc(1, sizeof(*c));
	pid_t	 pid;

	if (net_nonblock(fd) == -1)
		fatal("ipc_conn_new: nonblock");
	c->fd = fd;
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	c->out_tail = &c->out_head;
	c->peer_uid = (uid_t)-1;
	if (net_peercred(fd, &c->peer_uid, &pid) == -1)
		c->peer_uid = (uid_t)-1;
	/* A peer may send at most one full message ahead of the reader. */
	buf_init(&c->in, 2 * (IPC_MAX_PAYLOAD + IPC_HDR_LEN));
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, ipc_conn_read,
	    c);
	c->ev_write = event_new(base, fd, EV_WRITE, ipc_conn_write, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("ipc_conn_new: event_new");
	event_add(c->ev_read, NULL);
	return c;
}

void
ipc_conn_free(struct ipc_conn *c)
{
	struct ipc_out *o;

	if (c == NULL)
		return;
	event_free(c->ev_read);
	event_free(c->ev_write);
	while ((o = c->out_head) != NULL) {
		c->out_head = o->next;
		if (o->fd != -1)
			close(o->fd);
		buf_free(&o->wire);
		free(o);
	}
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
	buf_wipe(&c->in);
	close(c->fd);
	free(c);
}

/* Queue m for sending; the connection takes ownership of m and its fd. */
void
ipc_send(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ipc_out *o = xcalloc(1, sizeof(*o));

	buf_init(&o->wire, 0);
	ipc_encode(m, &o->wire);
	o->fd = ipc_msg_takefd(m);
	ipc_msg_free(m);
	*c->out_tail = o;
	c->out_tail = &o->next;
	event_add(c->ev_write, NULL);
}

int
ipc_conn_fd(const struct ipc_conn *c)
{
	return c->fd;
}

uint32_t
ipc_conn_peer_uid(const struct ipc_conn *c)
{
	return (uint32_t)c->peer_uid;
}

/* Blocking send of one message; takes ownership of m. */
int
ipc_send_sync(int sock, struct ipc_msg *m)
{
	struct buf wire;
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, r = 0;

	buf_init(&wire, 0);
	ipc_encode(m, &wire);
	fd = ipc_msg_takefd(m);
	ipc_msg_free(m);
	while (off < wire.len) {
		n = ipc_sendmsg(sock, wire.data + off, wire.len - off,
		    off == 0 ? fd : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			r = -1;
			break;
		}
		off += (size_t)n;
	}
	if (fd != -1)
		close(fd);
	buf_free(&wire);
	return r;
}

/*
 * A blocking channel that may go away (a role's channel to a peer that is
 * restarted and handed back later): *sock is -1 while there is none.
 * ipc_sync_lost() closes it and says so; ipc_send_sync_or_drop() sends m
 * on it (m is dropped while there is none), losing it on an error.
 */
void
ipc_sync_lost(int *sock, const char *peer)
{
	if (*sock == -1)
		return;
	log_info("the %s went away; waiting for the next one", peer);
	close(*sock);
	*sock = -1;
}

void
ipc_send_sync_or_drop(int *sock, struct ipc_msg *m, const char *peer)
{
	if (*sock == -1)
		ipc_msg_free(m);
	else if (ipc_send_sync(*sock, m) == -1)
		ipc_sync_lost(sock, peer);
}

/*
 * Blocking receive of one message, reading exactly its bytes (the header,
 * then the payload) so that whatever follows stays in the socket.
 * Returns 0, or -1 on EOF, error or a malformed message.
 */
int
ipc_recv_sync(int sock, struct ipc_msg **m_r)
{
	struct buf in;
	int	 fds[IPC_MAX_FDS], nfds = 0, r = -1;
	size_t	 used, want;
	ssize_t	 n;

	buf_init(&in, IPC_MAX_PAYLOAD + IPC_HDR_LEN);
	for (;;) {
		switch (ipc_decode((const uint8_t *)in.data, in.len, m_r,
		    &used)) {
		case IPC_DECODE_DONE:
			if ((*m_r)->fd == IPC_FD_PENDING) {
				if (nfds == 0) {
					(*m_r)->fd = -1;
					ipc_msg_free(*m_r);
					goto out;
				}
				(*m_r)->fd = fds[0];
				memmove(fds, fds + 1,
				    (size_t)--nfds * sizeof(int));
			}
			r = 0;
			goto out;
		case IPC_DECODE_ERROR:
			goto out;
		case IPC_DECODE_MORE:
			break;
		}
		if (in.len < IPC_HDR_LEN)
			want = IPC_HDR_LEN - in.len;
		else
			want = IPC_HDR_LEN + (get32((const uint8_t *)in.data +
			    8) & ~IPC_FLAG_FD) - in.len;
		n = ipc_recvmsg(sock, &in, want, fds, &nfds);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
	}
out:
	while (nfds > 0)
		close(fds[--nfds]);
	buf_wipe(&in);
	return r;
}
