/*
 * signer.c - keystore.server's side of the signing socket ([keystore]
 * socket): the protocol of common/ks_client.h.
 *
 * Runs as [global] user, chrooted, with no key material.  A connection is
 * served only when its peer's uid (SO_PEERCRED, from the kernel) is one of
 * [keystore] clients; any other gets one IPC_ERR 530, a log line naming
 * the uid and pid, and is closed.  Each request is decoded and checked by
 * ks_req.c; a bad one is answered 501 and the connection goes on, a
 * message that breaks the framing ends the connection (common/ipc).  A
 * good one is forwarded to the root parent under an id of ours and its
 * answer returned under the client's.  Limits: KS_SIGNER_CLIENTS
 * connections, KS_CLIENT_INFLIGHT requests in flight per connection,
 * KS_PENDING_MAX with the parent in all.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "keystore.h"
#include "ks_client.h"
#include "ks_req.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

struct client {
	struct client	*next;
	struct ipc_conn	*conn;
	uid_t		 uid;
	pid_t		 pid;
	unsigned int	 inflight;
};

static struct event_base *sbase;
static uid_t	 allowed[KS_CLIENTS_MAX];
static size_t	 nallowed;
static struct client *clients;
static unsigned int nclients;

static void
signer_error(struct ipc_conn *c, uint32_t id, uint32_t code,
    const char *why)
{
	struct ipc_msg	*r = ipc_msg_new(IPC_ERR, id);

	ipc_add_u32(r, code);
	ipc_add_str(r, why);
	ipc_send(c, r);
}

/* An answer from the parent, for a client that may have left. */
static void
signer_answer(struct ipc_msg *m, void *arg, uint32_t cid)
{
	struct client	*cl = arg;
	struct ipc_msg	*r;

	if (m->type != IPC_KS_KEYS && m->type != IPC_KS_SIGNATURE &&
	    m->type != IPC_ERR)
		fatalx("unexpected answer type %u from the parent", m->type);
	cl->inflight--;
	r = ipc_msg_new(m->type, cid);
	if (buf_add(&r->data, m->data.data, m->data.len) == -1)
		fatalx("oversized answer from the parent");
	ipc_send(cl->conn, r);
}

static void
signer_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct client	*cl = arg;
	struct ks_req	 req;
	const char	*why;

	if (ks_req_decode(m, &req, &why) == -1) {
		log_info("client uid=%u pid=%d: request refused: %s",
		    (unsigned)cl->uid, (int)cl->pid, why);
		signer_error(c, m->id, KS_ERR_BAD, why);
		return;
	}
	if (cl->inflight >= KS_CLIENT_INFLIGHT) {
		signer_error(c, m->id, KS_ERR_TEMP, "too many requests in "
		    "flight");
		return;
	}
	if (server_ask(ks_req_encode(&req, 0), signer_answer, cl,
	    m->id) == -1) {
		signer_error(c, m->id, KS_ERR_TEMP, "keystore busy");
		return;
	}
	cl->inflight++;
}

static void
signer_closed(struct ipc_conn *c, void *arg)
{
	struct client	*cl = arg, **pp;

	(void)c;
	for (pp = &clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	server_forget(cl);
	ipc_conn_free(cl->conn);
	free(cl);
	nclients--;
}

/* Say why in one message, as far as the socket takes it, and close. */
static void
signer_refuse(int fd, uint32_t code, const char *why)
{
	struct ipc_msg	*r = ipc_msg_new(IPC_ERR, 0);

	ipc_add_u32(r, code);
	ipc_add_str(r, why);
	(void)ipc_send_sync(fd, r);
	close(fd);
}

static int
signer_allowed(uid_t uid)
{
	size_t	 i;

	for (i = 0; i < nallowed; i++)
		if (allowed[i] == uid)
			return 1;
	return 0;
}

static void
signer_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct client	*cl;
	uid_t		 uid;
	pid_t		 pid;
	char		 why[128];
	int		 fd;

	(void)ev;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("signing socket: accept");
		return;
	}
	if (net_peercred(fd, &uid, &pid) == -1) {
		log_warn("signing socket: SO_PEERCRED");
		close(fd);
		return;
	}
	if (!signer_allowed(uid)) {
		log_warnx("client uid=%u pid=%d refused: not in [keystore] "
		    "clients", (unsigned)uid, (int)pid);
		snprintf(why, sizeof(why), "uid %u may not use the keystore",
		    (unsigned)uid);
		signer_refuse(fd, KS_ERR_DENIED, why);
		return;
	}
	if (nclients >= KS_SIGNER_CLIENTS) {
		log_warnx("client uid=%u pid=%d refused: %d connections",
		    (unsigned)uid, (int)pid, KS_SIGNER_CLIENTS);
		signer_refuse(fd, KS_ERR_TEMP, "too many connections");
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->uid = uid;
	cl->pid = pid;
	cl->conn = ipc_conn_new(sbase, fd, signer_dispatch, signer_closed,
	    cl);
	cl->next = clients;
	clients = cl;
	nclients++;
	log_debug("client uid=%u pid=%d connected", (unsigned)uid, (int)pid);
}

void
signer_init(struct event_base *base, int lfd, const uid_t *uids, size_t n)
{
	struct event	*ev;

	sbase = base;
	if (n > KS_CLIENTS_MAX)
		fatalx("signer_init: %zu clients", n);
	memcpy(allowed, uids, n * sizeof(*uids));
	nallowed = n;
	if (net_nonblock(lfd) == -1)
		fatal("signing socket: nonblock");
	ev = event_new(base, lfd, EV_READ | EV_PERSIST, signer_accept, NULL);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("signing socket: event_add");
}
