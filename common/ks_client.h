/*
 * ks_client.h - the client side of the keystore's signing protocol, for
 * the processes named in [keystore] clients (smtpd.queue signs what
 * leaves; tests/tools/kssign).  Asynchronous, on the caller's libevent
 * base; one connection to [keystore] socket, opened on first use and
 * again after it broke.
 *
 * The protocol: common/ipc messages over the unix socket [keystore]
 * socket.  The keystore checks the peer's uid (SO_PEERCRED) against
 * [keystore] clients first: any other uid gets one IPC_ERR (530) and the
 * connection is closed.  Requests carry an id of the client's choosing,
 * echoed in the answer; several may be in flight (at most
 * KS_CLIENT_INFLIGHT per connection), answered in any order.
 *
 *	IPC_KS_GETKEYS	str owner
 *	    -> IPC_KS_KEYS	str domain, u32 n,
 *				n x (str alg, str selector, str record)
 *	IPC_KS_SIGN	str owner, str alg, str selector, data digest[32]
 *	    -> IPC_KS_SIGNATURE	str domain, str selector, data signature
 *	either -> IPC_ERR	u32 code, str reason
 *
 * An owner is a user's address (d= is its domain) or a domain (d= is the
 * domain itself: mail the system writes).  alg is "rsa-sha256" or
 * "ed25519-sha256".  GETKEYS answers the owner's active keys, one per
 * algorithm, making them first when the owner has none (for a user
 * created before keys existed).  The DKIM header hash covers d= and s=,
 * so a signer asks GETKEYS, builds its DKIM-Signature with that d= and
 * s=, hashes (dkim_sign_prepare) and sends the digest with the selector
 * in SIGN.  Each key comes with its record, the TXT value published for
 * it ("v=DKIM1; k=rsa; p=...", what `sealmailctl keys dns` prints), so a
 * signer can verify what it signed with common/dkim as any receiver
 * would, without DNS: smtpd.queue does, for the Authentication-Results
 * of local deliveries.  A key rotated in between still signs (it stays
 * published for [keystore] rotate_grace); a revoked one does not (550).
 * The signature is RSA PKCS#1 v1.5 over the SHA-256 DigestInfo, or
 * Ed25519 over the 32 bytes (RFC 8463): dkim_sign_finish() takes it as
 * it is.
 *
 * Codes: 451 temporary (the keystore is busy, restarting or its database
 * failed: defer, never send unsigned), 501 malformed request, 530 this
 * uid may not use the keystore, 550 no such key, revoked, or not the
 * owner's.
 *
 * Usage:
 *	ks = ks_client_new(base, cfg->keystore_socket);
 *	ks_client_getkeys(ks, "alice@example.org", got_keys, ctx);
 *	  got_keys(ctx, KS_OK, keys, NULL): per key, dkim_sign_prepare()
 *	  with keys->domain and keys->key[i].selector, then
 *	ks_client_sign(ks, owner, alg, selector, digest, got_sig, ctx);
 *	  got_sig(ctx, KS_OK, sig, NULL): dkim_sign_finish(..., sig->b,
 *	  sig->len, ...)
 *
 * A client that cannot reach the socket by its path (smtpd.queue is
 * chrooted) passes path NULL and hands over connections made for it:
 *	ks = ks_client_new(base, NULL);
 *	if (!ks_client_connected(ks)) get an fd, ks_client_attach(ks, fd);
 * A request made while it has none fails (-1) at once.
 *
 * Each request function returns 0, after which its callback is called
 * exactly once (from the event loop, never from inside the call), or -1
 * (the socket cannot be reached: a temporary failure) with no callback.
 * A request not answered within KS_CLIENT_TIMEOUT seconds fails as
 * KS_TEMPFAIL.  ks_client_free() drops pending requests without calling
 * their callbacks.
 */
#ifndef SM_KS_CLIENT_H
#define SM_KS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "dkim.h"

#define KS_ERR_TEMP		451
#define KS_ERR_BAD		501
#define KS_ERR_DENIED		530
#define KS_ERR_NOKEY		550

#define KS_CLIENT_INFLIGHT	256	/* requests per connection */
#define KS_CLIENT_TIMEOUT	60	/* seconds (RSA keys may be made) */
#define KS_KEYS_MAX		4	/* active keys in one answer */
#define KS_OWNER_LEN_MAX	254
#define KS_SEL_LEN_MAX		63
#define KS_RECORD_LEN_MAX	2048	/* "v=DKIM1; k=rsa; p=" RSA 8192 */

enum ks_status {
	KS_OK = 0,
	KS_TEMPFAIL,		/* defer and try again */
	KS_PERMFAIL		/* refused: no such key, revoked, not allowed */
};

struct ks_keyinfo {
	enum dkim_alg	 alg;
	char		 selector[KS_SEL_LEN_MAX + 1];
	char		 record[KS_RECORD_LEN_MAX + 1];	/* its TXT value */
};

struct ks_keys {
	char		 domain[DKIM_DOMAIN_MAX + 1];
	size_t		 n;
	struct ks_keyinfo key[KS_KEYS_MAX];
};

struct ks_signature {
	char		 domain[DKIM_DOMAIN_MAX + 1];
	char		 selector[KS_SEL_LEN_MAX + 1];
	uint8_t		 b[DKIM_SIGBYTES_MAX];
	size_t		 len;
};

/* keys / sig are NULL unless status is KS_OK; why is NULL when it is. */
typedef void	(*ks_keys_fn)(void *, enum ks_status, const struct ks_keys *,
		    const char *);
typedef void	(*ks_sign_fn)(void *, enum ks_status,
		    const struct ks_signature *, const char *);

struct event_base;
struct ks_client;

struct ks_client *ks_client_new(struct event_base *, const char *);
void	 ks_client_free(struct ks_client *);
int	 ks_client_getkeys(struct ks_client *, const char *, ks_keys_fn,
	    void *);
int	 ks_client_sign(struct ks_client *, const char *, enum dkim_alg,
	    const char *, const uint8_t [DKIM_DIGEST_LEN], ks_sign_fn, void *);
void	 ks_client_attach(struct ks_client *, int);
int	 ks_client_connected(const struct ks_client *);
/* Requests sent and not answered yet. */
size_t	 ks_client_pending(const struct ks_client *);

/*
 * Decoding the answers (also what the client runs on them): 0 with the
 * result filled in, or -1 with *why for a malformed answer.  An IPC_ERR
 * is decoded by ks_answer_error into a status and its reason.
 */
struct ipc_msg;
int	 ks_answer_keys(struct ipc_msg *, struct ks_keys *, const char **);
int	 ks_answer_signature(struct ipc_msg *, struct ks_signature *,
	    const char **);
enum ks_status ks_answer_error(struct ipc_msg *, const char **);

#endif
