/*
 * net.h - sockets: listening on "host:port" or a unix path, peer
 * credentials, peer addresses as text, and the per-address session
 * table that limits concurrent sessions per client address.
 */
#ifndef SM_NET_H
#define SM_NET_H

#include <sys/socket.h>
#include <sys/types.h>

int	 net_listen(const char *, int);
int	 net_unix_listen(const char *, mode_t, uid_t, gid_t);
int	 net_unix_connect(const char *);
int	 net_connect(const char *);
int	 net_nonblock(int);
int	 net_peercred(int, uid_t *, pid_t *);
void	 net_addr_str(const struct sockaddr *, char *, size_t);
int	 net_peer_str(int, char *, size_t);
int	 net_local_port(int);

/* concurrent sessions, total and per client address */
struct net_limit;
struct net_limit *net_limit_new(int, int);
int	 net_limit_enter(struct net_limit *, const char *);
void	 net_limit_leave(struct net_limit *, const char *);
void	 net_limit_free(struct net_limit *);

#endif
