/*
 * net.h - sockets: listening on "host:port" or a unix path, peer
 * credentials, peer addresses as text, and the session table that
 * limits concurrent sessions in total and per client address.
 *
 * Client addresses are counted by net_addr_key(): an IPv4 address alone,
 * an IPv6 address by its /64 (one customer's LAN: the addresses in it are
 * as cheap to a client as source ports) and an IPv4-mapped IPv6 address
 * as the IPv4 address.  common/authfail keys on the same.
 *
 * A network server holds one slot per session:
 *
 *	l = net_limit_new(max_sessions, max_per_address);
 *	net_limit_set_stress(l, 80);
 *	if ((slot = net_slot_enter(l, addr)) == NULL) refuse;
 *	net_slot_set_evict(slot, my_evict, session);
 *	net_slot_progress(slot);	(a complete command)
 *	net_slot_busy(slot, 1);		(waiting for us, not the client)
 *	if (net_slot_stressed(slot)) shorten deadlines;
 *	net_slot_leave(slot);		(the session is gone)
 *
 * Stress: above the high-water mark (a percentage of max_sessions) the
 * table is stressed until it drops 10 points below (below half the mark
 * for a mark under 20), and servers shorten their deadlines (Postfix's
 * stress mode).
 *
 * Eviction: when every slot is taken, net_slot_enter() evicts the session
 * that has done the least: one that never completed a command before one
 * that did, the longest idle first (so a client that just connected goes
 * last of those that did nothing: a whole table of newer connections must
 * come before it can speak to evict it), never one that waits for the
 * server.  A new client is refused only when no session may be evicted.
 * The evict callback must end its session (it may finish on a later pass
 * of the event loop: the slot is released at once, net_slot_leave() then
 * only frees it).  A per-address limit is never met by eviction: that
 * address is refused.
 */
#ifndef SM_NET_H
#define SM_NET_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

int	 net_listen(const char *, int);
int	 net_unix_listen(const char *, mode_t, uid_t, gid_t);
int	 net_unix_connect(const char *);
int	 net_connect(const char *);
int	 net_nonblock(int);
int	 net_peercred(int, uid_t *, pid_t *);
void	 net_addr_str(const struct sockaddr *, char *, size_t);
int	 net_peer_str(int, char *, size_t);
int	 net_local_port(int);

#define NET_ADDR_KEY_MAX	64	/* "2001:db8:1:2::/64" and more */
#define NET_FD_RESERVE		64	/* listeners, IPC, logs, files */

int	 net_addr_key(const char *, char *, size_t);
int	 net_session_budget(int, int);

/* concurrent sessions, total and per client address */
struct net_limit;
struct net_slot;
struct net_limit *net_limit_new(int, int);
void	 net_limit_set_stress(struct net_limit *, int);
int	 net_limit_stressed(const struct net_limit *);
int	 net_limit_count(const struct net_limit *);
int	 net_limit_enter(struct net_limit *, const char *);
void	 net_limit_leave(struct net_limit *, const char *);
void	 net_limit_free(struct net_limit *);

struct net_slot *net_slot_enter(struct net_limit *, const char *);
void	 net_slot_set_evict(struct net_slot *, void (*)(void *), void *);
void	 net_slot_progress(struct net_slot *);
void	 net_slot_touch(struct net_slot *);
void	 net_slot_busy(struct net_slot *, int);
int	 net_slot_stressed(const struct net_slot *);
void	 net_slot_leave(struct net_slot *);

/* milliseconds on a monotonic clock; a test may replace the clock */
uint64_t net_now_ms(void);
void	 net_set_clock(uint64_t (*)(void));

#endif
