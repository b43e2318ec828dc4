/*
 * receiver.c - smtpd.receiver: accepts SMTP on port 25 and runs the
 * common/smtp engine with smtpd's policy.
 *
 * Privileges: runs as [global] user, chrooted to the empty directory,
 * with no file system access and no key but the TLS context it inherited.
 * It is the only smtpd process that parses network input.  What it may
 * do is bounded by its two peers: the parent answers recipient lookups
 * (it holds the user database), the queue commits messages (it owns the
 * queue directory and queues the receiver's mail for local users only).
 *
 * Verification (verify.c): every message is checked before its reply.
 * The DKIM signatures are verified with keys from DNS (common/dns, the
 * [global] resolver) or the signing domain's key server ([smtpd]
 * keyserver_port), the result goes into an Authentication-Results field
 * on top (any that came with the message claiming our host name is
 * removed), and the message is handed to the queue as SAFE or UNSAFE.
 * The class is the receiver's claim and the queue takes it: whoever
 * takes this process over can mark mail safe, which is why it is the
 * only process that parses SMTP and holds nothing else.  A recipient
 * without an unsafe mailbox is accepted at RCPT (the message may
 * verify) and an unsafe message to one is refused after DATA: 550
 * 5.7.1 for the whole message, since SMTP has no per-recipient answer
 * to DATA; the sender's server tells the sender, and the other
 * recipients get it when it is sent to them alone.
 *
 * Before the greeting the receiver pauses 200 ms: a client that talks
 * first is refused (554 5.5.1).  An address that waited and then sent
 * HELO/EHLO skips the pause for an hour.  SEALMAIL_SMTPD_GREET_DELAY_MS
 * in smtpd's environment overrides the 200 ms (0 turns it off) until the
 * config has a key for it.
 *
 * The callback responder (callback_resp.c) runs here too, on the
 * sockets of [smtpd] callback_port the parent handed over: it answers
 * other receivers that ask whether a SESSID our transmitter offered is
 * a session open to them.  With callback_port set the engine offers
 * SEALMAIL-CALLBACK and keeps a client's SESSID= with its transaction
 * (cbk_session_id), for the verdict's callback (callback_check.c).
 *
 * Message content is written by the engine into a memfd created here;
 * at the end of DATA the memfd travels to the queue with the envelope,
 * and the 250 reply naming the queue ID goes out only when the queue
 * says the message is on disk.  If the queue dies first, every message
 * waiting for it gets 451 (it may or may not be on disk; the client
 * tries again), and so does every DATA until the parent hands over a
 * channel to the next queue (IPC_RECEIVER_QUEUE).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "callback.h"
#include "config.h"
#include "daemon.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "registry_ask.h"
#include "smtp.h"
#include "smtpd.h"
#include "tls.h"
#include "verdict.h"
#include "verify.h"
#include "xmalloc.h"

struct rrcpt {
	char	*addr;
	char	*user;
	int	 safe_only;	/* keeps no unsafe mailbox */
};

struct rsess {
	struct rsess		*next;
	struct smtp_session	*s;
	struct net_slot		*slot;
	char			 peer[64];
	struct dns_addr		 client;	/* peer, for SPF */
	int			 client_known;
	int			 addrs_known;	/* ss_peer and ss_local */
	struct sockaddr_storage	 ss_peer, ss_local;
	int			 cbk_result;	/* VC_*: the session's callback */
	uint32_t		 req;		/* outstanding IPC request */
	int			 atqueue;	/* req is the queue's */
	char			*pending_rcpt;
	int			 memfd;
	off_t			 msg_off;	/* after our Received */
	struct verify		*vfy;		/* verifying the message */
	char			 qid[Q_ID_LEN + 1];
	struct rrcpt		*rcpt;
	int			 nrcpt;
};

static struct sm_config	*cfg;
static struct event_base *base;
static struct dns_ctx	*dns;
static struct ipc_conn	*parent_ipc, *queue_ipc;
static struct net_limit	*limit;
static struct smtp_params params, params_known;
static struct dmarc_psl	*psl;
static SSL_CTX		*cbk_ctx;	/* the callback's client side */
static struct verdict_policy policy;

/*
 * Client addresses that recently waited for the greeting: they skip the
 * pre-greeting pause (as Postfix's postscreen caches its verdicts), so a
 * well-behaved sender that opens one connection per message pays it once.
 */
#define MAX_HOPS	50	/* Received: lines, as Postfix */

#define PASS_SLOTS	1024
#define PASS_TTL	3600
static struct {
	char	 addr[64];
	time_t	 until;
} passed[PASS_SLOTS];
static struct rsess	*sessions;
static uint32_t		 next_req = 1;

static struct rsess *
find_req(uint32_t req)
{
	struct rsess	*rs;

	for (rs = sessions; rs != NULL; rs = rs->next)
		if (rs->req == req)
			return rs;
	return NULL;
}

static void
rcpts_free(struct rsess *rs)
{
	int	 i;

	for (i = 0; i < rs->nrcpt; i++) {
		free(rs->rcpt[i].addr);
		free(rs->rcpt[i].user);
	}
	free(rs->rcpt);
	rs->rcpt = NULL;
	rs->nrcpt = 0;
}

/* ------------------------------------------------------------------ */
/* hooks */

static int
pass_known(const char *addr)
{
	time_t	 now = time(NULL);
	size_t	 i;

	for (i = 0; i < PASS_SLOTS; i++)
		if (passed[i].until > now && strcmp(passed[i].addr, addr) == 0)
			return 1;
	return 0;
}

static void
pass_add(const char *addr)
{
	time_t	 now = time(NULL);
	size_t	 i, slot = 0;

	for (i = 0; i < PASS_SLOTS; i++) {
		if (strcmp(passed[i].addr, addr) == 0) {
			slot = i;
			break;
		}
		if (passed[i].until < passed[slot].until)
			slot = i;	/* the oldest (or an empty) one */
	}
	snprintf(passed[slot].addr, sizeof(passed[slot].addr), "%s", addr);
	passed[slot].until = now + PASS_TTL;
}

static void
r_helo(struct smtp_session *s, const char *name, int esmtp, void *arg)
{
	struct rsess	*rs = arg;

	/* it waited for the greeting, or the engine would have refused it */
	pass_add(rs->peer);
	smtp_reply(s, 250, "2.0.0 Ok");
}

static int
r_connect(struct smtp_session *s, void *arg)
{
	struct rsess	*rs = arg;

	rs->s = s;
	smtp_set_slot(s, rs->slot);
	/* the two ends, once a session: for SPF and the callback */
	rs->addrs_known = smtp_sockaddrs(s, &rs->ss_peer, &rs->ss_local) == 0;
	rs->client_known = rs->addrs_known &&
	    client_addr(&rs->ss_peer, &rs->client) == 0;
	log_debug("session=%016llx peer=%s connected",
	    (unsigned long long)smtp_session_id(s), rs->peer);
	return 0;
}

static void
r_rcpt(struct smtp_session *s, const char *addr, const struct smtp_cmd *c,
    void *arg)
{
	struct rsess	*rs = arg;
	struct ipc_msg	*m;

	rs->req = next_req++;
	free(rs->pending_rcpt);
	rs->pending_rcpt = xstrdup(addr);
	m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, rs->req);
	ipc_add_str(m, addr);
	ipc_send(parent_ipc, m);
}

static void
r_mail(struct smtp_session *s, const char *from, const struct smtp_cmd *c,
    void *arg)
{
	struct rsess	*rs = arg;

	log_info("session=%016llx peer=%s from=<%s>",
	    (unsigned long long)smtp_session_id(s), rs->peer, from);
	smtp_reply(s, 250, "2.1.0 Ok");
}

static int
r_data_begin(struct smtp_session *s, void *arg)
{
	struct rsess	*rs = arg;
	int		 fd;

	if ((rs->memfd = memfd_create("smtpd-msg", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		return -1;
	}
	q_id_new(rs->qid);
	received_header(rs->memfd, s, rs->peer, cfg->hostname, rs->qid,
	    rs->nrcpt == 1 ? rs->rcpt[0].addr : NULL);
	if (lseek(rs->memfd, 0, SEEK_END) == -1) {
		close(rs->memfd);
		rs->memfd = -1;
		return -1;
	}
	if ((rs->msg_off = lseek(rs->memfd, 0, SEEK_CUR)) == -1) {
		close(rs->memfd);
		rs->memfd = -1;
		return -1;
	}
	fd = rs->memfd;
	return fd;
}

/* The message goes to the queue (common/qhandoff): local only. */
static void
handoff_send(struct rsess *rs, uint32_t class)
{
	struct q_handoff	 h;
	int			 i;

	memset(&h, 0, sizeof(h));
	h.id = rs->qid;
	h.from = smtp_mail_from(rs->s);
	h.class = class;
	h.helo = smtp_helo_name(rs->s);
	h.peer = rs->peer;
	h.nrcpt = (uint32_t)rs->nrcpt;
	h.rcpt = xcalloc((size_t)rs->nrcpt, sizeof(*h.rcpt));
	for (i = 0; i < rs->nrcpt; i++) {
		h.rcpt[i].addr = rs->rcpt[i].addr;
		h.rcpt[i].user = rs->rcpt[i].user;
		h.rcpt[i].flags = Q_RCPT_LOCAL;
	}
	ipc_send(queue_ipc, q_handoff_msg(&h, rs->req, rs->memfd));
	free(h.rcpt);
}

/* The message will not be taken: why, in a 550 and the log. */
static void
refuse(struct rsess *rs, struct verify *v, const char *who)
{
	unsigned long long sid = smtp_session_id(rs->s);

	if (who != NULL) {
		log_info("session=%016llx peer=%s id=%s refused: rcpt=<%s> "
		    "takes only verified mail: %s", sid, rs->peer, rs->qid,
		    who, verify_why(v));
		smtp_reply(rs->s, 550, "5.7.1 Message not verified (%s) and "
		    "<%s> accepts only verified mail", verify_why(v), who);
		return;
	}
	log_info("session=%016llx peer=%s id=%s refused: %s", sid, rs->peer,
	    rs->qid, verify_why(v));
	smtp_reply(rs->s, 550, "5.7.1 Message refused: %s", verify_why(v));
}

/* Verification is over: refuse, or rewrite and hand to the queue. */
static void
verified(struct verify *v, void *arg)
{
	struct rsess	*rs = arg;
	struct buf	 sum;
	enum verdict_class verdict = verify_verdict(v);
	int		 fd;
	unsigned long long sid = smtp_session_id(rs->s);

	/* a reply may end the transaction, and r_txn_reset must not free v */
	rs->vfy = NULL;
	if (verify_error(v) != NULL) {
		log_info("session=%016llx peer=%s id=%s refused: %s", sid,
		    rs->peer, rs->qid, verify_error(v));
		smtp_reply(rs->s, 552, "5.3.4 Message header too large");
		goto out;
	}
	buf_init(&sum, 0);
	verify_summary(v, &sum);
	if (verdict != VERDICT_SAFE)
		(void)buf_printf(&sum, " why=\"%s\"", verify_why(v));
	log_info("session=%016llx peer=%s id=%s verdict=%s %s", sid, rs->peer,
	    rs->qid, verdict == VERDICT_SAFE ? "safe" : verdict ==
	    VERDICT_UNSAFE ? "unsafe" : "refuse", buf_cstr(&sum));
	buf_free(&sum);
	if (verdict == VERDICT_REFUSE) {
		refuse(rs, v, NULL);
		goto out;
	}
	/* the 452 split keeps these alone in their transaction */
	if (verdict != VERDICT_SAFE && rs->nrcpt > 0 && rs->rcpt[0].safe_only) {
		refuse(rs, v, rs->rcpt[0].addr);
		goto out;
	}
	if (verify_rewrite(v, rs->memfd, rs->msg_off, &fd) == -1) {
		log_warn("session=%016llx id=%s rewrite", sid, rs->qid);
		smtp_reply(rs->s, 451, "4.3.0 Local error, try again later");
		goto out;
	}
	close(rs->memfd);
	rs->memfd = fd;
	if (queue_ipc == NULL) {
		log_info("session=%016llx peer=%s id=%s deferred: no queue",
		    sid, rs->peer, rs->qid);
		smtp_reply(rs->s, 451, "4.3.0 Queue unavailable, try again "
		    "later");
		goto out;
	}
	rs->req = next_req++;
	rs->atqueue = 1;
	handoff_send(rs, verdict == VERDICT_SAFE ? Q_CLASS_SAFE :
	    Q_CLASS_UNSAFE);
	rs->memfd = -1;
out:
	verify_free(v);
}

static void
r_data_end(struct smtp_session *s, size_t size, void *arg)
{
	struct rsess	*rs = arg;
	struct verify_env env;
	int		 hops;

	if ((hops = count_hops(rs->memfd)) > MAX_HOPS) {
		log_info("session=%016llx peer=%s id=%s refused: %d hops",
		    (unsigned long long)smtp_session_id(s), rs->peer, rs->qid,
		    hops);
		smtp_reply(s, 554, "5.4.6 Too many hops, mail loop?");
		return;
	}
	memset(&env, 0, sizeof(env));
	env.base = base;
	env.dns = dns;
	env.authserv_id = cfg->hostname;
	env.keyserver_port = cfg->smtpd_keyserver_port;
	env.timeout_ms = VERIFY_TIMEOUT_MS;
	env.psl = psl;
	env.policy = &policy;
	env.client = rs->client;
	env.client_known = rs->client_known;
	env.helo = smtp_helo_name(s);
	env.mail_from = smtp_mail_from(s);
	tls_facts(s, &env.tls);
	env.parent = parent_ipc;
	env.registry_zones = cfg->smtpd_registry_zones;
	env.callback_cache = &rs->cbk_result;
	if (cbk_ctx != NULL && rs->addrs_known) {
		env.callback_port = cfg->smtpd_callback_port;
		env.callback_ctx = cbk_ctx;
		env.sessid = cbk_session_id(s);
		env.peer = &rs->ss_peer;
		env.local = &rs->ss_local;
	}
	log_debug("session=%016llx id=%s size=%zu verifying",
	    (unsigned long long)smtp_session_id(s), rs->qid, size);
	rs->vfy = verify_start(&env, rs->memfd, rs->msg_off, verified, rs);
}

static void
r_txn_reset(struct smtp_session *s, void *arg)
{
	struct rsess	*rs = arg;

	verify_free(rs->vfy);
	rs->vfy = NULL;
	if (rs->memfd != -1)
		close(rs->memfd);
	rs->memfd = -1;
	rs->req = 0;
	rs->atqueue = 0;
	rcpts_free(rs);
}

static void
r_close(struct smtp_session *s, void *arg)
{
	struct rsess	*rs = arg, **pp;

	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rs) {
			*pp = rs->next;
			break;
		}
	r_txn_reset(s, rs);
	net_slot_leave(rs->slot);
	free(rs->pending_rcpt);
	free(rs);
}

static const struct smtp_hooks hooks = {
	.connect = r_connect,
	.helo = r_helo,
	.mail = r_mail,
	.rcpt = r_rcpt,
	.data_begin = r_data_begin,
	.data_end = r_data_end,
	.txn_reset = r_txn_reset,
	.close = r_close,
};

/* ------------------------------------------------------------------ */
/* IPC */

/*
 * Would a recipient that does (safe_only) or does not keep an unsafe
 * mailbox treat unsafe mail unlike those already taken?  Then it waits
 * for a transaction of its own (452 4.5.3), so refusing this message at
 * DATA for one of them never refuses it for the other.  In hardline
 * mode every recipient refuses unsafe mail alike.
 */
static int
splits(const struct rsess *rs, int safe_only)
{
	return !policy.hardline && rs->nrcpt > 0 &&
	    rs->rcpt[0].safe_only != safe_only;
}

static void
lookup_answer(struct ipc_msg *m)
{
	struct rsess	*rs;
	const char	*text;
	uint32_t	 code;

	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("receiver: bad lookup answer from parent");
	if ((rs = find_req(m->id)) == NULL)
		return;		/* the client has gone */
	rs->req = 0;
	if (m->type == IPC_OK && splits(rs, (code & LOOKUP_SAFE_ONLY) != 0)) {
		log_info("session=%016llx peer=%s rcpt=<%s> deferred: takes "
		    "unverified mail unlike the earlier recipients",
		    (unsigned long long)smtp_session_id(rs->s), rs->peer,
		    rs->pending_rcpt);
		smtp_reply(rs->s, 452, "4.5.3 Too many recipients: <%s> "
		    "takes unverified mail unlike the others; send it in "
		    "another transaction", rs->pending_rcpt);
		return;
	}
	if (m->type == IPC_OK) {
		rs->rcpt = xreallocarray(rs->rcpt, (size_t)rs->nrcpt + 1,
		    sizeof(*rs->rcpt));
		rs->rcpt[rs->nrcpt].addr = rs->pending_rcpt;
		rs->rcpt[rs->nrcpt].user = xstrdup(text);
		rs->rcpt[rs->nrcpt].safe_only = (code & LOOKUP_SAFE_ONLY) != 0;
		rs->nrcpt++;
		rs->pending_rcpt = NULL;
		smtp_reply(rs->s, 250, "2.1.5 Ok");
		return;
	}
	log_info("session=%016llx peer=%s rcpt=<%s> refused: %u %s",
	    (unsigned long long)smtp_session_id(rs->s), rs->peer,
	    rs->pending_rcpt, code, text);
	if (code < 400 || code > 599)
		code = 451;
	smtp_reply(rs->s, (int)code, "%s", text);
}

static void	receiver_dispatch(struct ipc_conn *, struct ipc_msg *,
		    void *);
static void	queue_closed(struct ipc_conn *, void *);

/* The queue's answer to a message: committed (250) or not. */
static void
queue_answer(struct ipc_msg *m)
{
	struct rsess	*rs;
	const char	*id, *text;
	int		 code, r;

	if ((r = q_handoff_answer(m, &id, &code, &text)) == -1)
		fatalx("receiver: bad answer from the queue");
	if ((rs = find_req(m->id)) == NULL || !rs->atqueue)
		return;		/* the client has gone */
	rs->req = 0;
	rs->atqueue = 0;
	if (r == 0) {
		smtp_reply(rs->s, code, "%s", text);
		return;
	}
	log_info("session=%016llx peer=%s id=%s queued",
	    (unsigned long long)smtp_session_id(rs->s), rs->peer, id);
	smtp_reply(rs->s, 250, "2.0.0 Ok: queued as %s", id);
}

/* A new queue: the old one is dead or about to be seen so. */
static void
queue_attach(struct ipc_msg *m)
{
	if (ipc_get_end(m) == -1 || m->fd == -1)
		fatalx("receiver: bad IPC_RECEIVER_QUEUE");
	if (queue_ipc != NULL)
		queue_closed(queue_ipc, NULL);
	queue_ipc = ipc_conn_new(base, ipc_msg_takefd(m), receiver_dispatch,
	    queue_closed, NULL);
	log_info("queue channel ready");
}

/*
 * Everything the receiver is sent, from its two trusted peers: the
 * parent (recipient lookups, registry answers, a new queue's channel)
 * and the queue (answers to messages).  Anything else is fatal: they do
 * not lie.
 */
static void
receiver_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	int	 parent = c == parent_ipc;

	switch (m->type) {
	case IPC_OK:
	case IPC_ERR:
		if (parent)
			lookup_answer(m);
		else
			queue_answer(m);
		break;
	case IPC_RECEIVER_QUEUE:
		if (!parent)
			fatalx("receiver: IPC_RECEIVER_QUEUE from the queue");
		queue_attach(m);
		break;
	case IPC_RECEIVER_REGISTRY:
		if (!parent)
			fatalx("receiver: IPC_RECEIVER_REGISTRY from the "
			    "queue");
		rcv_registry_answer(m);
		break;
	default:
		if (parent && cbk_resp_ipc(m) == 0)
			break;	/* the callback's news (callback_resp.c) */
		fatalx("receiver: unexpected message %u from the %s", m->type,
		    parent ? "parent" : "queue");
	}
}

/*
 * The queue died: no message it had not acknowledged may get a 250, so
 * each gets 451 (the client tries again; one the queue had committed is
 * then delivered twice rather than lost).
 */
static void
queue_closed(struct ipc_conn *c, void *arg)
{
	struct rsess	*rs, *next;

	ipc_conn_free(c);
	if (c != queue_ipc)
		return;
	queue_ipc = NULL;
	log_warnx("the queue went away; deferring mail until it is back");
	for (rs = sessions; rs != NULL; rs = next) {
		next = rs->next;
		if (rs->req == 0 || !rs->atqueue)
			continue;
		rs->req = 0;
		rs->atqueue = 0;
		smtp_reply(rs->s, 451, "4.3.0 Queue unavailable, try again "
		    "later");
	}
}

static void
peer_closed(struct ipc_conn *c, void *arg)
{
	fatalx("receiver: %s went away", (const char *)arg);
}

/* ------------------------------------------------------------------ */
/* accepting */

static void
accept_cb(int lfd, short ev, void *arg)
{
	struct smtp_session *s;
	struct net_slot	*slot;
	struct rsess	*rs;
	char		 peer[64];
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	net_peer_str(fd, peer, sizeof(peer));
	if ((slot = net_slot_enter(limit, peer)) == NULL) {
		static const char busy[] =
		    "421 4.7.0 Too many connections, try again later\r\n";

		log_info("peer=%s refused: session limit", peer);
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			log_debug("write 421");
		close(fd);
		return;
	}
	rs = xcalloc(1, sizeof(*rs));
	rs->memfd = -1;
	rs->slot = slot;
	snprintf(rs->peer, sizeof(rs->peer), "%s", peer);
	rs->next = sessions;
	sessions = rs;
	s = smtp_session_new(base, fd, pass_known(peer) ? &params_known :
	    &params, &hooks, rs);
	if (s == NULL && rs->s == NULL) {
		/* never started (r_connect did not run): no close hook */
		log_warnx("peer=%s cannot start a session", peer);
		sessions = rs->next;
		net_slot_leave(rs->slot);
		free(rs);
	}
}

/*
 * Before the chroot: the event loop and the DNS context (libunbound
 * reads /etc/resolv.conf and the trust anchor now).  Without DNS the
 * receiver still runs: every key is then a temperror and all mail is
 * unsafe.
 */
void
receiver_init(struct sm_config *c)
{
	char	 err[256];

	cfg = c;
	base = event_base_new();
	if (cfg->smtpd_keyserver_port > 65535) {
		log_warnx("keyserver_port %d is not a port: no key server is "
		    "asked", cfg->smtpd_keyserver_port);
		cfg->smtpd_keyserver_port = 0;
	}
	if (verdict_policy_parse(cfg->verdict_mode, cfg->verdict_require,
	    cfg->dmarc_reject, &policy, err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* the callback asks over TLS, not caring whose certificate */
	if (cfg->smtpd_callback_port > 0 && (cbk_ctx = tls_client_ctx(
	    cfg->tls_ca, 0, err, sizeof(err))) == NULL)
		log_warnx("callback: no TLS client context (%s): no callbacks",
		    err);
	if ((psl = dmarc_psl_load(DMARC_PSL_PATH)) == NULL)
		log_warnx("no public suffix list at %s: DMARC is not "
		    "checked", DMARC_PSL_PATH);
	if ((dns = dns_init(base, cfg->resolver,
	    cfg->dns_trust_anchor)) == NULL)
		log_warnx("no DNS: DKIM keys cannot be looked up, all mail "
		    "is unsafe");
	else
		dns_set_timeout(dns, VERIFY_TIMEOUT_MS / 3);
}

void
receiver_main(struct sm_config *c, int *lfds, int nl, int parent_fd,
    int queue_fd, SSL_CTX *tls)
{
	struct event	*ev;
	int		 i;

	if (base == NULL)
		receiver_init(c);
	daemon_child_signals(base);
	params.hostname = cfg->hostname;
	params.service = "ESMTP Sealmail";
	params.max_message_size = cfg->max_message_size;
	params.max_rcpt = cfg->smtpd_max_rcpt;
	params.max_errors = 20;		/* as Postfix's hard error limit */
	params.max_commands = 100000;
	/* a client that talks before the greeting is refused */
	params.greeting_delay_ms = getenv("SEALMAIL_SMTPD_GREET_DELAY_MS") ?
	    atoi(getenv("SEALMAIL_SMTPD_GREET_DELAY_MS")) : 200;
	smtp_params_limits(&params, &cfg->smtpd_limits);
	params.text_line_max = SMTP_TEXT_LINE_MAX;
	params.tls_ctx = tls;
	params.tls = &tls_server_ops;
	/* RFC 8689: we deliver what we take here ourselves, so taking
	   REQUIRETLS mail over TLS keeps its promise */
	params.requiretls = 1;
	/* the callback: SEALMAIL-CALLBACK, SESSID= (callback.h) */
	params.callback = cfg->smtpd_callback_port != 0;
	params_known = params;
	params_known.greeting_delay_ms = 0;
	/*
	 * a socket each, a memfd while a message comes in, and while it is
	 * verified a connection to a key server per signature at most (DNS
	 * queries share libunbound's sockets)
	 */
	limit = net_limit_new(net_session_budget(cfg->smtpd_max_sessions,
	    2 + DKIM_MAX_SIGS), cfg->smtpd_max_sessions_per_ip);
	net_limit_set_stress(limit, cfg->smtpd_limits.stress_threshold);
	parent_ipc = ipc_conn_new(base, parent_fd, receiver_dispatch,
	    peer_closed, "parent");
	cbk_resp_start(base, tls);
	if (queue_fd != -1)
		queue_ipc = ipc_conn_new(base, queue_fd, receiver_dispatch,
		    queue_closed, NULL);
	for (i = 0; i < nl; i++) {
		ev = event_new(base, lfds[i], EV_READ | EV_PERSIST, accept_cb,
		    NULL);
		event_add(ev, NULL);
	}
	log_info("receiver ready listen=%d tls=%s", nl, tls ? "yes" : "no");
	event_base_dispatch(base);
	_exit(0);
}
