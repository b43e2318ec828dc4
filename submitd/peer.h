/*
 * peer.h - the client address of a session, read by submitd's root
 * parent from the socket submitd.smtp passes it (IPC_PARENT_SESSION_START)
 * instead of taken from the child's word.
 *
 *	struct peer_listeners pl = { 0 };
 *	peer_listeners_add(&pl, listen_fd);	(each of submitd's listeners)
 *	if (peer_client(&pl, fd, addr, sizeof(addr), &why) == -1)
 *		the child misbehaved: why;
 *	addr is the client's numeric address, or "" if it is already gone.
 *
 * Used by the root parent; pure socket queries, no input is parsed.
 */
#ifndef SM_SUBMIT_PEER_H
#define SM_SUBMIT_PEER_H

#include <sys/socket.h>

#include <stddef.h>

#define PEER_LISTEN_MAX	32

struct peer_listeners {
	struct sockaddr_storage	 addr[PEER_LISTEN_MAX];
	int			 n;
};

int	 peer_listeners_add(struct peer_listeners *, int);
int	 peer_client(const struct peer_listeners *, int, char *, size_t,
	    const char **);

#endif
