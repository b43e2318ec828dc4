/*
 * keystore.h - the keystore's processes and what they share.
 *
 *	keystore.c	entry, the root parent's set-up and supervision
 *	parent.c	the root parent's answers: keys, signatures, sweep
 *	server.c	keystore.server: entry after re-exec, the channel to
 *			the parent
 *	signer.c	keystore.server: the signing socket's clients
 *	keyserver.c	keystore.server: the TCP key server
 *	ks_db.c, ks_key.c  the key database and its cryptography (also in
 *			sealmailctl); ks_req.c, ks_proto.c  the parsers
 *
 * The two protocols the keystore speaks:
 *
 *  - signing, on [keystore] socket, for the uids of [keystore] clients:
 *    common/ipc messages, IPC_KS_GETKEYS (owner -> domain and the active
 *    keys' algorithms, selectors and DNS records) then IPC_KS_SIGN
 *    (owner, algorithm, selector, 32-byte digest -> signature), or
 *    IPC_ERR with a code (see common/ks_client.h, which is also the
 *    client);
 *  - the key server, TCP: "KEY <address>" answered by one line
 *    "+OK <selector> <algorithm> <base64 key>" (or "... revoked") per
 *    key and a final ".", or a single "-ERR <reason>" (keyserver.c).
 *
 * Between keystore.server and the parent: the same IPC_KS_GETKEYS and
 * IPC_KS_SIGN, re-encoded by the role after its checks and checked again
 * by the parent, and IPC_KS_PUBKEY (address -> IPC_KS_PUBKEYS).
 */
#ifndef SM_KEYSTORE_H
#define SM_KEYSTORE_H

#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct ipc_conn;
struct ipc_msg;
struct ks_db;
struct sm_config;

/* Key server protocol limits (docs/interfaces.md, "The key server"). */
#define KS_LINE_MAX		512
#define KS_MAX_COMMANDS		50	/* per connection */
#define KS_IDLE_TIMEOUT		30	/* seconds */
#define KS_RATE_PER_MINUTE	60	/* queries per client address */
#define KS_ANSWER_FLOOR_MS	25	/* no KEY answer comes sooner */
#define KS_KEYSERVER_SESSIONS	512
#define KS_KEYSERVER_PER_ADDR	8

/* Signing socket limits. */
#define KS_SIGNER_CLIENTS	64	/* connections */
#define KS_CLIENTS_MAX		16	/* users in [keystore] clients */
#define KS_PENDING_MAX		8192	/* requests with the parent */

/* The parent. */
#define KS_SWEEP_INTERVAL	60	/* seconds */
#define KS_MAKE_PER_MINUTE	60	/* owners given keys on demand */
#define KS_CACHE_SLOTS		1024	/* private keys kept opened */

/* parent.c */
void	 parent_init(struct event_base *, struct sm_config *,
	    struct ks_db *);
void	 parent_fini(void);
int	 parent_request(struct ipc_conn *, struct ipc_msg *);

/* server.c */
typedef void	(*ks_answer_fn)(struct ipc_msg *, void *, uint32_t);
void	 server_main(int, char **) __attribute__((noreturn));
int	 server_ask(struct ipc_msg *, ks_answer_fn, void *, uint32_t);
void	 server_forget(void *);
/* [keystore] clients: user names (spaces or commas) to uids.  0 or -1. */
int	 ks_clients_parse(const char *, uid_t *, size_t *, char *, size_t);

/* signer.c */
void	 signer_init(struct event_base *, int, const uid_t *, size_t);

/* keyserver.c */
void	 keyserver_init(struct event_base *, const struct sm_config *,
	    const int *, int);

#endif
