/*
 * peer.c - the client address of a socket, checked against submitd's
 * listeners; see peer.h.
 *
 * Runs in the root parent.  The socket comes from submitd.smtp, which may
 * be subverted, so it is checked before its peer is believed: a
 * connected TCP stream socket whose local address is one of submitd's
 * listening addresses (so the child cannot pass a connection it made
 * itself to some other host, whose address would then be "the client").
 * A subverted child holds the listening sockets and can still connect to
 * them; the address it presents is then one of this host's own.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "net.h"
#include "peer.h"

/* Remember the local address of listening socket fd: 0, or -1. */
int
peer_listeners_add(struct peer_listeners *pl, int fd)
{
	socklen_t sl = sizeof(pl->addr[0]);

	if (pl->n == PEER_LISTEN_MAX)
		return -1;
	memset(&pl->addr[pl->n], 0, sizeof(pl->addr[0]));
	if (getsockname(fd, (struct sockaddr *)&pl->addr[pl->n], &sl) == -1)
		return -1;
	pl->n++;
	return 0;
}

/* Is s (a socket's local address) the address listener l listens on? */
static int
listener_match(const struct sockaddr_storage *l,
    const struct sockaddr_storage *s)
{
	const struct sockaddr_in *l4, *s4;
	const struct sockaddr_in6 *l6, *s6;

	if (l->ss_family != s->ss_family)
		return 0;
	switch (l->ss_family) {
	case AF_INET:
		l4 = (const struct sockaddr_in *)l;
		s4 = (const struct sockaddr_in *)s;
		return l4->sin_port == s4->sin_port &&
		    (l4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    l4->sin_addr.s_addr == s4->sin_addr.s_addr);
	case AF_INET6:
		l6 = (const struct sockaddr_in6 *)l;
		s6 = (const struct sockaddr_in6 *)s;
		return l6->sin6_port == s6->sin6_port &&
		    (IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) ||
		    memcmp(&l6->sin6_addr, &s6->sin6_addr,
		    sizeof(s6->sin6_addr)) == 0);
	default:
		return 0;
	}
}

/*
 * The client address of fd: 0 with the address in out ("" when the
 * client reset the connection before we looked), or -1 with why fd is not
 * a connection accepted on one of the listeners.
 */
int
peer_client(const struct peer_listeners *pl, int fd, char *out, size_t len,
    const char **why)
{
	struct sockaddr_storage local, peer;
	socklen_t ll = sizeof(local), pl_len = sizeof(peer), tl;
	int	 i, type, listening;

	tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 ||
	    type != SOCK_STREAM) {
		*why = "a client socket that is no stream socket";
		return -1;
	}
	tl = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &tl) ==
	    -1 || listening) {
		*why = "a listening socket as a client socket";
		return -1;
	}
	memset(&local, 0, sizeof(local));
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == -1) {
		*why = "a client socket without a local address";
		return -1;
	}
	for (i = 0; i < pl->n; i++)
		if (listener_match(&pl->addr[i], &local))
			break;
	if (i == pl->n) {
		*why = "a client socket not accepted on submitd's listeners";
		return -1;
	}
	memset(&peer, 0, sizeof(peer));
	if (getpeername(fd, (struct sockaddr *)&peer, &pl_len) == -1) {
		if (errno != ENOTCONN) {
			*why = "a client socket without a peer";
			return -1;
		}
		out[0] = '\0';
		return 0;
	}
	if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) {
		*why = "a client socket that is not TCP";
		return -1;
	}
	net_addr_str((struct sockaddr *)&peer, out, len);
	return 0;
}
