/*
 * parent.c - the keystore's root parent at work: the answers to what the
 * server role forwards, and the periodic sweep.
 *
 * This is the one process that holds key material: the key database
 * (ks_db.c) and the private keys it has opened, kept in a small cache
 * (KS_CACHE_SLOTS, emptied at each sweep) because opening a PKCS#8 key
 * costs more than an Ed25519 signature.  Each slot keeps the key's record
 * too, with the database version (ks_db_version, where the log ends) it
 * was read at: while no transaction has changed anything since, the
 * record is what the database holds and is not read again; any change,
 * such as sealmailctl revoking the key, moves the version and the next
 * request reads the record afresh.  A key revoked by sealmailctl signs
 * nothing from that moment.
 *
 *	IPC_KS_GETKEYS	owner -> IPC_KS_KEYS: its active keys, one per
 *			algorithm, each with its DNS record (for the
 *			signer's own check), made first when missing (at most
 *			KS_MAKE_PER_MINUTE owners a minute: RSA key
 *			generation blocks this process for a while)
 *	IPC_KS_SIGN	owner, alg, selector, digest -> IPC_KS_SIGNATURE,
 *			when the key is the owner's, of that algorithm and
 *			not revoked
 *	IPC_KS_PUBKEY	address -> IPC_KS_PUBKEYS for the key server: live
 *			keys, and revoked ones within revoked_publish;
 *			never makes keys (that would tell a user exists)
 *
 * The server role runs as an unprivileged user and parses client input,
 * so its messages are checked here as hostile (ks_req_decode, the same
 * checks it made): a malformed one makes parent_request() return -1 and
 * the caller restarts the role.  Failures of our own (the database) are
 * answered 451, try later.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "config.h"
#include "ipc.h"
#include "keystore.h"
#include "ks_client.h"
#include "ks_db.h"
#include "log.h"
#include "xmalloc.h"

struct cached {
	char		 selector[KS_SELECTOR_MAX + 1];
	EVP_PKEY	*pk;
	struct ks_keyrec rec;		/* as read at version */
	uint64_t	 version;
};

static struct ks_db *kdb;
static struct event *sweep_ev;
static struct cached cache[KS_CACHE_SLOTS];
static time_t	 make_window;
static int	 make_count;

static struct cached *
cache_slot(const char *selector)
{
	uint32_t h = 2166136261u;

	for (; *selector != '\0'; selector++)
		h = (h ^ (uint8_t)*selector) * 16777619u;
	return &cache[h % KS_CACHE_SLOTS];
}

static void
cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < KS_CACHE_SLOTS; i++) {
		EVP_PKEY_free(cache[i].pk);
		cache[i].pk = NULL;
		cache[i].selector[0] = '\0';
		cache[i].version = 0;
	}
}

static void
answer_error(struct ipc_conn *c, uint32_t id, uint32_t code,
    const char *why)
{
	struct ipc_msg	*r = ipc_msg_new(IPC_ERR, id);

	ipc_add_u32(r, code);
	ipc_add_str(r, why);
	ipc_send(c, r);
}

static int
make_allowed(void)
{
	time_t	 now = time(NULL) / 60;

	if (make_window != now) {
		make_window = now;
		make_count = 0;
	}
	return ++make_count <= KS_MAKE_PER_MINUTE;
}

static size_t
count_active(const struct ks_keyrec *l, size_t n)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		k += l[i].state == KS_ACTIVE;
	return k;
}

static void
do_getkeys(struct ipc_conn *c, uint32_t id, const struct ks_req *q)
{
	struct ks_keyrec *l;
	struct ipc_msg	*r;
	struct buf	 rec;
	size_t		 i, n, nact;
	int		 made;

	if (ks_db_keys(kdb, q->owner, &l, &n) == -1) {
		answer_error(c, id, KS_ERR_TEMP, "key database failure");
		return;
	}
	if (!ks_keys_complete(l, n)) {
		free(l);
		if (!make_allowed()) {
			log_warnx("owner=<%s> keys not made: more than %d "
			    "owners a minute", q->owner, KS_MAKE_PER_MINUTE);
			answer_error(c, id, KS_ERR_TEMP, "making keys, try "
			    "later");
			return;
		}
		if (ks_db_ensure(kdb, q->owner, (uint64_t)time(NULL),
		    &made) == -1 || ks_db_keys(kdb, q->owner, &l, &n) == -1) {
			answer_error(c, id, KS_ERR_TEMP, "key database "
			    "failure");
			return;
		}
		log_info("owner=<%s> keys=%d made on demand", q->owner, made);
	}
	if ((nact = count_active(l, n)) == 0 || nact > KS_KEYS_MAX) {
		free(l);
		answer_error(c, id, KS_ERR_TEMP, "no active key");
		return;
	}
	r = ipc_msg_new(IPC_KS_KEYS, id);
	ipc_add_str(r, ks_owner_domain(q->owner));
	ipc_add_u32(r, (uint32_t)nact);
	buf_init(&rec, 0);
	for (i = 0; i < n; i++)
		if (l[i].state == KS_ACTIVE) {
			buf_reset(&rec);
			ks_keyrec_dns(&l[i], &rec);
			ipc_add_str(r, ks_alg_name(l[i].alg));
			ipc_add_str(r, l[i].selector);
			ipc_add_str(r, buf_cstr(&rec));
		}
	buf_free(&rec);
	ipc_send(c, r);
	free(l);
}

/*
 * The record of a key and its opened private key: from the cache while
 * the database has not changed, else read (and opened) now.  0,
 * KS_NOTFOUND (pk NULL), or -1 for a failure of ours.
 */
static int
load_key(const char *selector, struct ks_keyrec *rec, EVP_PKEY **pk)
{
	struct cached	*slot = cache_slot(selector);
	struct buf	 sealed;
	uint64_t	 v;
	int		 ret, fresh;

	*pk = NULL;
	/* the version first: a change after it only makes us read again */
	fresh = ks_db_version(kdb, &v) == 0;
	if (fresh && slot->pk != NULL && slot->version == v &&
	    strcmp(slot->selector, selector) == 0) {
		*rec = slot->rec;
		*pk = slot->pk;
		return 0;
	}
	buf_init(&sealed, 0);
	if ((ret = ks_db_get(kdb, selector, rec, &sealed)) != 0) {
		buf_wipe(&sealed);
		return ret;
	}
	if (slot->pk != NULL && strcmp(slot->selector, selector) == 0 &&
	    rec->state != KS_REVOKED) {
		*pk = slot->pk;		/* the same key, its record reread */
	} else {
		EVP_PKEY_free(slot->pk);
		slot->pk = ks_db_private(kdb, rec, &sealed);
		*pk = slot->pk;
	}
	buf_wipe(&sealed);
	snprintf(slot->selector, sizeof(slot->selector), "%s",
	    slot->pk != NULL ? selector : "");
	slot->rec = *rec;
	slot->version = fresh ? v : 0;
	if (!fresh)
		slot->selector[0] = '\0';	/* not to be trusted later */
	return 0;
}

static void
do_sign(struct ipc_conn *c, uint32_t id, const struct ks_req *q)
{
	struct ks_keyrec rec;
	struct ipc_msg	*r;
	uint8_t		 sig[DKIM_SIGBYTES_MAX];
	size_t		 siglen = sizeof(sig);
	EVP_PKEY	*pk;
	int		 ret;

	if ((ret = load_key(q->selector, &rec, &pk)) == -1) {
		answer_error(c, id, KS_ERR_TEMP, "key database failure");
		return;
	}
	if (ret == KS_NOTFOUND || strcmp(rec.owner, q->owner) != 0 ||
	    rec.alg != q->alg) {
		log_info("owner=<%s> selector=%s: no such key", q->owner,
		    q->selector);
		answer_error(c, id, KS_ERR_NOKEY, "no such key of this owner");
		return;
	}
	if (ks_keyrec_state(&rec, (uint64_t)time(NULL)) == KS_REVOKED) {
		log_info("owner=<%s> selector=%s: revoked", q->owner,
		    q->selector);
		answer_error(c, id, KS_ERR_NOKEY, "key revoked");
		return;
	}
	if (pk == NULL || dkim_digest_sign(pk, rec.alg, q->digest, sig,
	    &siglen) == -1) {
		log_warnx("owner=<%s> selector=%s: signing failed", q->owner,
		    q->selector);
		answer_error(c, id, KS_ERR_TEMP, "signing failed");
		return;
	}
	r = ipc_msg_new(IPC_KS_SIGNATURE, id);
	ipc_add_str(r, ks_owner_domain(q->owner));
	ipc_add_str(r, rec.selector);
	ipc_add_data(r, sig, siglen);
	ipc_send(c, r);
	log_debug("owner=<%s> selector=%s a=%s signed", q->owner,
	    rec.selector, ks_alg_name(rec.alg));
}

/* Live keys, and revoked ones for revoked_publish after revocation. */
static int
pubkey_shown(const struct ks_keyrec *r, uint64_t now)
{
	uint64_t since;

	if (ks_keyrec_state(r, now) != KS_REVOKED)
		return 1;
	since = r->state == KS_REVOKED ? r->revoked_at : r->retire_at;
	return since + (uint64_t)kdb->revoked_publish > now;
}

static int
do_pubkey(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ks_keyrec *l;
	struct ipc_msg	*r;
	struct buf	 key;
	const char	*given;
	char		 addr[KS_OWNER_MAX + 1];
	uint64_t	 now = (uint64_t)time(NULL);
	size_t		 i, n, shown = 0;

	if (ipc_get_str(m, &given) == -1 || ipc_get_end(m) == -1 ||
	    strchr(given, '@') == NULL || strlen(given) > KS_OWNER_MAX ||
	    ks_owner_canon(given, addr, sizeof(addr), NULL, 0) == -1)
		return -1;
	if (ks_db_keys(kdb, addr, &l, &n) == -1) {
		answer_error(c, m->id, KS_ERR_TEMP, "temporary failure, try "
		    "later");
		return 0;
	}
	r = ipc_msg_new(IPC_KS_PUBKEYS, m->id);
	for (i = 0; i < n; i++)
		if (pubkey_shown(&l[i], now))
			shown++;
	ipc_add_u32(r, (uint32_t)shown);
	buf_init(&key, 0);
	for (i = 0; i < n; i++) {
		if (!pubkey_shown(&l[i], now))
			continue;
		buf_reset(&key);
		if (ks_keyrec_state(&l[i], now) == KS_REVOKED)
			buf_addstr(&key, "revoked");
		else
			ks_b64(l[i].pub, l[i].publen, &key);
		ipc_add_str(r, l[i].selector);
		ipc_add_str(r, ks_alg_name(l[i].alg));
		ipc_add_str(r, buf_cstr(&key));
	}
	buf_free(&key);
	free(l);
	if (shown == 0) {
		ipc_msg_free(r);
		answer_error(c, m->id, KS_ERR_NOKEY, "no key for this address");
		return 0;
	}
	ipc_send(c, r);
	return 0;
}

int
parent_request(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ks_req	 q;
	const char	*why;

	switch (m->type) {
	case IPC_KS_PUBKEY:
		return m->fd == -1 ? do_pubkey(c, m) : -1;
	case IPC_KS_GETKEYS:
	case IPC_KS_SIGN:
		if (ks_req_decode(m, &q, &why) == -1) {
			log_warnx("server role: %s", why);
			return -1;
		}
		if (q.type == IPC_KS_GETKEYS)
			do_getkeys(c, m->id, &q);
		else
			do_sign(c, m->id, &q);
		explicit_bzero(&q, sizeof(q));
		return 0;
	default:
		return -1;
	}
}

static void
sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv = { KS_SWEEP_INTERVAL, 0 };
	int		 rev, del;

	(void)fd;
	(void)ev;
	(void)arg;
	if (ks_db_sweep(kdb, (uint64_t)time(NULL), &rev, &del) == 0 &&
	    (rev > 0 || del > 0))
		log_info("sweep revoked=%d deleted=%d", rev, del);
	/* opened keys live at most one interval in memory */
	cache_clear();
	(void)db_env_checkpoint(kdb->env);
	evtimer_add(sweep_ev, &tv);
}

void
parent_init(struct event_base *base, struct sm_config *c, struct ks_db *k)
{
	(void)c;
	kdb = k;
	if ((sweep_ev = evtimer_new(base, sweep, NULL)) == NULL)
		fatalx("parent_init: evtimer_new");
	sweep(-1, 0, NULL);
}

void
parent_fini(void)
{
	cache_clear();
	if (sweep_ev != NULL)
		event_free(sweep_ev);
	sweep_ev = NULL;
}
