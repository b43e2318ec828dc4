/*
 * sign.c - smtpd.queue's signer: every message with an author (submitted
 * mail, and the mail the system writes) gets its DKIM signatures before
 * it leaves the queue, for a local recipient as for a remote one.
 *
 * Part of smtpd.queue ([global] queue_user, chrooted to queue_dir); it
 * parses no network input.  The private keys stay in the keystore: this
 * file hashes the message with common/dkim, asks the keystore for the
 * author's keys (IPC_KS_GETKEYS) and for a signature of each digest
 * (IPC_KS_SIGN) with common/ks_client, and writes the signed message.
 * The keystore's socket is outside the chroot, so the connection comes
 * from smtpd's parent (IPC_PARENT_KEYSTORE -> IPC_QUEUE_KEYSTORE, made as
 * queue_user for the keystore's uid check), asked for whenever there is
 * none: at the first message, and again after the keystore restarted.
 *
 * What is signed: d= the author's domain (a user's address; a domain for
 * system mail), s= its active selectors, i= the author when it is an
 * address; rsa-sha256 always, ed25519-sha256 too unless [smtpd]
 * sign_ed25519 = no; relaxed/relaxed; the header fields of
 * dkim_sign_default_headers oversigned; t= now and x= t + [smtpd]
 * signature_ttl; never l=; and the tracking ID (the queue ID) as our
 * own tag TRACE_DKIM_TAG (common/trace.h).  The RSA signature comes
 * first.
 *
 * Why the tag: sealmailctl trace must find the submission record of a
 * message from our signature alone (an abuse report may come without
 * our Received field), and the record lives in the user database,
 * which only root processes may write (docs/architecture.md); this
 * process runs as queue_user in the queue's chroot.  Recording the
 * signature (its b= value) would take a new privileged request from the
 * queue to smtpd's parent for every message, and a window in which a
 * message is signed but not yet findable.  The tag needs neither: the
 * record written at submission is keyed by the tracking ID, the tag
 * carries it, and the signature covers the tag, so a tag that was
 * changed or forged does not verify.  RFC 6376 section 3.2 makes
 * verifiers ignore a tag they do not know.  The ID is already in our
 * Received field, so the tag tells a recipient nothing new.
 *
 * What is checked: the signed message is verified as it is written, with
 * common/dkim as a receiver would, against the records of the keys used
 * (the keystore sends each key's DNS record with GETKEYS): no DNS, and
 * nothing taken on trust from the signing.  The verdict becomes our
 * Authentication-Results field (authres.c's ar_format: one dkim= result
 * per signature of ours, then auth=pass smtp.auth=<author> when the
 * author is a user, whom submitd authenticated), recorded in the
 * envelope with "signed yes"; smtpd.delivery puts it on top for local
 * recipients only, never into the message file.  Header fields that
 * claim our authserv-id came with the message and are forgeries (RFC
 * 8601 section 5): they are left out of message.signed.  None of them is
 * in h=, so our signatures do not change.  A signature of ours that
 * does not verify is logged loudly and recorded as it is.
 *
 * Outcomes (q_sign_fn):
 *	Q_SIGN_OK	<id>/message.signed written and durable; the queue
 *			commits it with q_sign_commit() before delivering.
 *	Q_SIGN_DEFER	the keystore is down, busy (451), slow, or refuses
 *			this uid (530: a configuration error, logged as
 *			such): the message stays queued, unsigned, and is
 *			tried again on the queue's schedule.
 *	Q_SIGN_FAIL	the keystore refused a signature (550: the key was
 *			revoked or is not the author's) twice, the second
 *			time on keys fetched afresh, or the message cannot
 *			be signed at all (a header over 1 MB).  The queue
 *			bounces it to the author: waiting would not help,
 *			and sending unsigned is never an option.
 *
 * On disk: message.signed is the DKIM-Signature fields then the message,
 * fsynced, with <id>/ fsynced so its name is durable.  q_sign_commit()
 * then marks the envelope "signed yes" (written, fsynced, renamed,
 * <id>/ fsynced) and only then renames message.signed over message.
 * A kill at any point is settled by q_sign_settle() at the next attempt:
 * an envelope not yet marked signed means message.signed is unfinished
 * (removed; the message is signed again from the untouched original); an
 * envelope marked signed with message.signed still there means the last
 * rename did not happen (done now).  So a message is never delivered
 * unsigned, never signed twice, and never lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authres.h"
#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "io.h"
#include "ipc.h"
#include "ks_client.h"
#include "log.h"
#include "queue.h"
#include "smtpd.h"
#include "trace.h"
#include "xmalloc.h"

#define SIGN_CONNECT_PAUSE	1	/* seconds between connection asks */
#define SIGN_HEADER_MAX		(1024 * 1024)	/* what can be signed */

enum { S_RSA, S_ED, S_N };

struct sjob {
	struct sjob	*next;		/* waiting for a connection */
	char		 id[Q_ID_LEN + 1];
	char		 owner[Q_AUTHOR_MAX + 1];
	int		 msgfd;
	struct dkim_msg	*msg;
	uint8_t		 bh[DKIM_DIGEST_LEN];
	uint64_t	 t, x;
	struct dkim_signer *signer[S_N];
	char		 domain[DKIM_DOMAIN_MAX + 1];
	char		 sel[S_N][KS_SEL_LEN_MAX + 1];
	char		 record[S_N][KS_RECORD_LEN_MAX + 1];
	struct buf	 field[S_N];
	struct buf	 authres;	/* the verdict, our field */
	int		 outstanding;	/* keystore requests in flight */
	int		 refetched;	/* keys asked again after a 550 */
	int		 refused;	/* a 550 in this round */
	char		 refusal[160];
	enum q_sign_result result;
	char		 why[160];
	q_sign_fn	 done;
	void		*arg;
};

static const struct sm_config *cfg;
static struct ipc_conn	*parent;
static struct ks_client	*ks;
static struct sjob	*waiting;
static struct sjob	*ending;	/* whose done() is running */
static int		 asking;	/* IPC_PARENT_KEYSTORE sent */
static time_t		 asked_at;
static size_t		 nbusy;

static void	 sign_keys(struct sjob *);

void
q_sign_init(struct event_base *base, const struct sm_config *c,
    struct ipc_conn *p)
{
	cfg = c;
	parent = p;
	ks = ks_client_new(base, NULL);
}

size_t
q_sign_busy(void)
{
	return nbusy;
}

static void
sjob_free(struct sjob *j)
{
	int	 i;

	for (i = 0; i < S_N; i++) {
		dkim_signer_free(j->signer[i]);
		buf_free(&j->field[i]);
	}
	buf_free(&j->authres);
	dkim_msg_free(j->msg);
	if (j->msgfd != -1)
		close(j->msgfd);
	free(j);
	nbusy--;
}

/* The first failure decides; a deferral never overrides a failure. */
static void
sjob_fail(struct sjob *j, enum q_sign_result r, const char *why)
{
	if (j->result == Q_SIGN_OK || (j->result == Q_SIGN_DEFER &&
	    r == Q_SIGN_FAIL)) {
		j->result = r;
		snprintf(j->why, sizeof(j->why), "%s", why);
	}
}

/* Write and verify the same bytes. */
static int
sign_out(int fd, struct dkim_verify *v, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	(void)dkim_verify_feed(v, p, n);
	return io_write_all(fd, p, n);
}

/*
 * The message after our fields: its header without the fields that claim
 * our authserv-id, then the rest as it is.  0 or -1 (errno).
 */
static int
sign_copy(struct sjob *j, int fd, struct dkim_verify *v)
{
	struct ar_field	 f;
	struct buf	 h;
	char		 b[65536];
	size_t		 hlen = 0, pos = 0, dropped = 0;
	ssize_t		 n = 0;
	off_t		 off = 0;
	int		 complete = 0, r = -1;

	buf_init(&h, SIGN_HEADER_MAX + sizeof(b));
	while (!complete && (n = pread(j->msgfd, b, sizeof(b), off)) > 0) {
		off += n;
		if (buf_add(&h, b, (size_t)n) == -1)
			goto out;	/* sign_hash() bounded it */
		hlen = ar_header_len(h.data, h.len, &complete);
	}
	if (n == -1)
		goto out;
	while (ar_next_field(h.data, hlen, &pos, &f)) {
		if (ar_field_claims_id(h.data, &f, cfg->hostname)) {
			dropped++;
			continue;
		}
		if (sign_out(fd, v, h.data + f.off, f.len) == -1)
			goto out;
	}
	if (sign_out(fd, v, h.data + pos, h.len - pos) == -1)
		goto out;
	while ((n = pread(j->msgfd, b, sizeof(b), off)) > 0) {
		off += n;
		if (sign_out(fd, v, b, (size_t)n) == -1)
			goto out;
	}
	r = n == 0 ? 0 : -1;
	if (dropped > 0)
		log_info("id=%s removed %zu Authentication-Results claiming %s",
		    j->id, dropped, cfg->hostname);
out:
	buf_free(&h);
	return r;
}

/* The record of a key of ours, for the verifier. */
static enum dkim_keyq
sign_key(const char *d, const char *s, struct buf *out, void *arg)
{
	struct sjob	*j = arg;
	int		 i;

	for (i = 0; i < S_N; i++)
		if (j->field[i].len > 0 && strcasecmp(d, j->domain) == 0 &&
		    strcmp(s, j->sel[i]) == 0) {
			(void)buf_addstr(out, j->record[i]);
			return DKIM_KEYQ_FOUND;
		}
	return DKIM_KEYQ_NONE;
}

/* Our signatures (the first fields) judged: the field for delivery. */
static void
sign_verdict(struct sjob *j, struct dkim_verify *v)
{
	struct dkim_result	 res[S_N];
	struct buf		 why;
	size_t			 i, n;

	n = dkim_verify_finish(v, sign_key, j);
	buf_init(&why, 0);
	for (i = 0; i < n && i < S_N; i++) {
		res[i] = *dkim_verify_result(v, i);
		if (res[i].status != DKIM_PASS) {
			buf_reset(&why);
			dkim_result_format(&res[i], &why);
			log_warnx("id=%s owner=<%s> OUR OWN SIGNATURE DOES NOT "
			    "VERIFY: %s", j->id, j->owner, buf_cstr(&why));
		}
	}
	buf_free(&why);
	buf_reset(&j->authres);
	ar_format(cfg->hostname, res, i, strchr(j->owner, '@') != NULL ?
	    j->owner : NULL, &j->authres);
	if (!q_authres_valid(buf_cstr(&j->authres))) {
		log_warnx("id=%s Authentication-Results not recorded: not a "
		    "field we can write", j->id);
		buf_reset(&j->authres);
	}
}

/*
 * message.signed: the fields, RSA's first, then the message, verified
 * as it is written; the file and its name durable.  0 or -1 (errno).
 */
static int
sign_write(struct sjob *j)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	char			 path[64];
	int			 fd, dfd, i, r = -1;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < S_N; i++)
		o.max_sigs += j->field[i].len > 0;
	o.max_header = SIGN_HEADER_MAX + S_N * DKIM_SIGFIELD_MAX;
	snprintf(path, sizeof(path), "%s/message.signed", j->id);
	if ((fd = openat(q_fd, path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	v = dkim_verify_new(&o);
	for (i = 0; i < S_N; i++)
		if (sign_out(fd, v, j->field[i].data, j->field[i].len) == -1)
			goto out;
	if (sign_copy(j, fd, v) == -1 || fsync(fd) == -1)
		goto out;
	if ((dfd = openat(q_fd, j->id, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		goto out;
	r = fsync(dfd);
	close(dfd);
	if (r == 0)
		sign_verdict(j, v);
out:
	dkim_verify_free(v);
	close(fd);
	if (r == -1)
		unlinkat(q_fd, path, 0);
	return r;
}

/* Every request answered: write, report, free. */
static void
sjob_end(struct sjob *j)
{
	char	 err[128];

	if (j->outstanding > 0)
		return;
	if (j->refused && j->result == Q_SIGN_OK && !j->refetched) {
		/* revoked or rotated since the keys were read: once more */
		log_info("id=%s owner=<%s> keystore refused a signature (%s); "
		    "asking for the keys again", j->id, j->owner, j->refusal);
		j->refetched = 1;
		j->refused = 0;
		sign_keys(j);
		return;
	}
	if (j->refused)
		sjob_fail(j, Q_SIGN_FAIL, j->refusal);
	if (j->result == Q_SIGN_OK && sign_write(j) == -1) {
		snprintf(err, sizeof(err), "writing the signed message: %s",
		    strerror(errno));
		sjob_fail(j, Q_SIGN_DEFER, err);
	}
	if (j->result == Q_SIGN_OK)
		log_info("id=%s signed owner=<%s> d=%s%s%s", j->id, j->owner,
		    j->owner[0] && strchr(j->owner, '@') ?
		    strchr(j->owner, '@') + 1 : j->owner,
		    j->sel[S_RSA][0] ? " s=" : "", j->sel[S_RSA]);
	ending = j;		/* for q_sign_commit(), called from done */
	j->done(j->arg, j->result, j->why);
	ending = NULL;
	sjob_free(j);
}

static void
signed_cb(void *arg, enum ks_status st, const struct ks_signature *sig,
    const char *why)
{
	struct sjob	*j = arg;
	int		 i;

	j->outstanding--;
	if (st == KS_PERMFAIL) {
		j->refused = 1;
		snprintf(j->refusal, sizeof(j->refusal), "%s", why);
	} else if (st != KS_OK)
		sjob_fail(j, Q_SIGN_DEFER, why);
	else {
		for (i = 0; i < S_N && strcmp(j->sel[i], sig->selector) != 0;
		    i++)
			;
		if (i == S_N || dkim_sign_finish(j->signer[i], sig->b,
		    sig->len, &j->field[i]) == -1)
			sjob_fail(j, Q_SIGN_DEFER, "not the signature asked "
			    "for");
	}
	sjob_end(j);
}

/* Hash the header for one key and ask the keystore to sign it. */
static void
sign_one(struct sjob *j, const struct ks_keys *k, const struct ks_keyinfo *ki)
{
	struct dkim_sign_params	 p;
	uint8_t			 dg[DKIM_DIGEST_LEN];
	const char		*why;
	int			 s = ki->alg == DKIM_ALG_RSA_SHA256 ? S_RSA : S_ED;

	dkim_sign_params_init(&p);
	p.domain = k->domain;
	p.selector = ki->selector;
	p.identity = strchr(j->owner, '@') != NULL ? j->owner : NULL;
	p.alg = ki->alg;
	p.t = j->t;
	p.x = j->x;
	p.own_tag = TRACE_DKIM_TAG;	/* see the top of this file */
	p.own_value = j->id;
	dkim_signer_free(j->signer[s]);
	j->signer[s] = NULL;
	buf_reset(&j->field[s]);
	if (dkim_sign_prepare(&p, dkim_msg_hdrs(j->msg), j->bh,
	    &j->signer[s], dg, &why) == -1) {
		sjob_fail(j, Q_SIGN_FAIL, why);
		return;
	}
	snprintf(j->sel[s], sizeof(j->sel[s]), "%s", ki->selector);
	snprintf(j->record[s], sizeof(j->record[s]), "%s", ki->record);
	snprintf(j->domain, sizeof(j->domain), "%s", k->domain);
	if (ks_client_sign(ks, j->owner, ki->alg, ki->selector, dg,
	    signed_cb, j) == -1) {
		sjob_fail(j, Q_SIGN_DEFER, "cannot reach the keystore");
		return;
	}
	j->outstanding++;
}

static void
keys_cb(void *arg, enum ks_status st, const struct ks_keys *k,
    const char *why)
{
	struct sjob	*j = arg;
	size_t		 i;
	int		 rsa = 0;

	j->outstanding--;
	if (st == KS_PERMFAIL)
		/* 530 (our uid) or 501: the administrator's to fix */
		log_warnx("id=%s owner=<%s> THE KEYSTORE REFUSES TO SIGN: %s; "
		    "mail waits in the queue, unsigned and unsent", j->id,
		    j->owner, why);
	if (st != KS_OK) {
		sjob_fail(j, Q_SIGN_DEFER, why);
		sjob_end(j);
		return;
	}
	for (i = 0; i < k->n; i++)
		rsa += k->key[i].alg == DKIM_ALG_RSA_SHA256;
	if (rsa == 0)
		sjob_fail(j, Q_SIGN_DEFER, "the keystore has no RSA key");
	for (i = 0; i < k->n && j->result == Q_SIGN_OK; i++)
		if (k->key[i].alg == DKIM_ALG_RSA_SHA256 ||
		    (k->key[i].alg == DKIM_ALG_ED25519_SHA256 &&
		    cfg->sign_ed25519))
			sign_one(j, k, &k->key[i]);
	sjob_end(j);
}

static void
sign_keys(struct sjob *j)
{
	j->outstanding++;
	if (ks_client_getkeys(ks, j->owner, keys_cb, j) == -1) {
		j->outstanding--;
		sjob_fail(j, Q_SIGN_DEFER, "cannot reach the keystore");
		sjob_end(j);
	}
}

/* Ask the parent for a connection, unless asked or just refused. */
static void
sign_connect(struct sjob *j)
{
	struct ipc_msg	*m;
	time_t		 now = time(NULL);

	if (!asking && now - asked_at < SIGN_CONNECT_PAUSE) {
		sjob_fail(j, Q_SIGN_DEFER, "the keystore cannot be reached");
		sjob_end(j);
		return;
	}
	j->next = waiting;
	waiting = j;
	if (asking)
		return;
	asking = 1;
	asked_at = now;
	m = ipc_msg_new(IPC_PARENT_KEYSTORE, 0);
	ipc_send(parent, m);
}

/* IPC_QUEUE_KEYSTORE: the parent's connection, or why there is none. */
void
q_sign_keystore(struct ipc_msg *m)
{
	struct sjob	*j, *list;
	uint32_t	 err;

	if (ipc_get_u32(m, &err) == -1 || ipc_get_end(m) == -1 ||
	    (err == 0) != (m->fd != -1))
		fatalx("queue: bad IPC_QUEUE_KEYSTORE");
	asking = 0;
	if (err == 0)
		ks_client_attach(ks, ipc_msg_takefd(m));
	list = waiting;
	waiting = NULL;
	while ((j = list) != NULL) {
		list = j->next;
		if (err != 0) {
			sjob_fail(j, Q_SIGN_DEFER, "the keystore cannot be "
			    "reached");
			sjob_end(j);
		} else
			sign_keys(j);
	}
	if (err != 0)
		log_warnx("keystore: not reachable (%s); signing deferred",
		    strerror((int)err));
}

/* The body hash and the header fields, from the queued message. */
static int
sign_hash(struct sjob *j)
{
	char	 b[65536];
	off_t	 off = 0;
	ssize_t	 n;

	j->msg = dkim_msg_new(DKIM_CANON_RELAXED, SIGN_HEADER_MAX);
	while ((n = pread(j->msgfd, b, sizeof(b), off)) > 0) {
		if (dkim_msg_feed(j->msg, b, (size_t)n) == -1)
			return -1;
		off += n;
	}
	if (n == -1 || dkim_msg_end(j->msg, j->bh) == -1)
		return -1;
	return 0;
}

/*
 * Sign message id with owner's keys; done is called exactly once, from
 * here for what fails at once or later from the event loop.
 */
void
q_sign_start(const char *id, const char *owner, q_sign_fn done, void *arg)
{
	struct sjob	*j = xcalloc(1, sizeof(*j));
	char		 path[64];
	int		 i;

	nbusy++;
	memcpy(j->id, id, sizeof(j->id));
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	for (i = 0; i < S_N; i++)
		buf_init(&j->field[i], DKIM_SIGFIELD_MAX);
	buf_init(&j->authres, 0);
	j->done = done;
	j->arg = arg;
	j->t = (uint64_t)time(NULL);
	j->x = cfg->signature_ttl > 0 ? j->t + (uint64_t)cfg->signature_ttl :
	    0;
	snprintf(path, sizeof(path), "%s/message", id);
	if ((j->msgfd = openat(q_fd, path, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		sjob_fail(j, Q_SIGN_DEFER, "cannot open the message");
		sjob_end(j);
		return;
	}
	if (sign_hash(j) == -1) {
		sjob_fail(j, Q_SIGN_FAIL, "the message cannot be signed "
		    "(header over 1 MB, or unreadable)");
		sjob_end(j);
		return;
	}
	if (ks_client_connected(ks))
		sign_keys(j);
	else
		sign_connect(j);
}

/*
 * A signed message is the queue's: the envelope says so (durably), with
 * the verdict of sign_verdict() when called from the job's done
 * callback, as the queue does; then message.signed becomes message.  0,
 * or -1 when the envelope could not be written (the signing is then done
 * again next time).
 */
int
q_sign_commit(struct q_envelope *e)
{
	char	 from[64], to[64], *old = e->authres;

	e->is_signed = 1;
	e->authres = xstrdup(ending != NULL && strcmp(ending->id, e->id) ==
	    0 ? buf_cstr(&ending->authres) : "");
	if (q_env_save(e) == -1) {
		e->is_signed = 0;
		free(e->authres);
		e->authres = old;
		return -1;
	}
	free(old);
	snprintf(from, sizeof(from), "%s/message.signed", e->id);
	snprintf(to, sizeof(to), "%s/message", e->id);
	if (renameat(q_fd, from, q_fd, to) == -1)
		log_warn("id=%s rename message.signed", e->id);
	return 0;
}

/*
 * What a kill left behind (see the top): a message.signed the envelope
 * does not vouch for is dropped, one it does takes the place of message.
 */
void
q_sign_settle(const struct q_envelope *e)
{
	char	 from[64], to[64];

	snprintf(from, sizeof(from), "%s/message.signed", e->id);
	snprintf(to, sizeof(to), "%s/message", e->id);
	if (!e->is_signed) {
		if (unlinkat(q_fd, from, 0) == 0)
			log_info("id=%s unfinished signed copy removed",
			    e->id);
		return;
	}
	if (renameat(q_fd, from, q_fd, to) == 0)
		log_info("id=%s signed copy put in place", e->id);
	else if (errno != ENOENT)
		log_warn("id=%s rename message.signed", e->id);
}
