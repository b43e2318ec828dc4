/*
 * lmtp.c - the LMTP server role (RFC 2033), process mda.lmtp.
 *
 * Runs as [global] mail_user with no database and no key (its root
 * parent forks it without the user database open, mda.c): it serves
 * LMTP on [mda] lmtp_socket, which any local user may connect to, with
 * the common SMTP engine in its LMTP mode (common/smtp.h): the one
 * command parser and content state machine smtpd and submitd use, so a
 * message mda stores ends where theirs do (CRLF "." CRLF, never a bare
 * LF) and a bare CR or LF in it is refused for every recipient.  What is
 * mda's is in the hooks below: each recipient is resolved by the parent
 * (IPC_PARENT_LOOKUP_RCPT), the message goes into an anonymous memory
 * file, and at its end is delivered to each accepted recipient
 * (deliver.c), one reply each, in RCPT order.  Everything a peer sends
 * is hostile: every address is checked (mda_addr_ok, at most 254 bytes)
 * before it is accepted, logged or sent to the parent, and at most [mda]
 * lmtp_max_sessions sessions run at once (the next peer gets 421 4.3.2
 * and is closed): [mda] lmtp_processes of this role share the socket
 * and count their sessions in a shared page, one slot each, so the cap
 * is over all of them.  A process takes one
 * connection each time the socket is readable, and one that serves n
 * sessions already waits n * LMTP_ACCEPT_PAUSE_MS before it takes
 * another: connections made together (smtpd's kept delivery connections,
 * at its start) go to the processes that have none, and a process busy
 * writing a message leaves the next connection to the others.
 *
 * The hand-off from smtpd (the agreed interface):
 *
 *	LHLO host		250-... 250-XSEAL ...
 *	XSEAL ID=<queue id> CLASS=SAFE|UNSAFE
 *				250 2.0.0 from root or [mda] trusted_user
 *				(SO_PEERCRED); 550 5.7.1 from anyone else
 *	MAIL FROM:<sender> [BODY=7BIT|8BITMIME] [SMTPUTF8]
 *	RCPT TO:<rcpt> ... DATA ...
 *
 * XSEAL is an extension command of the engine's LMTP mode (the command
 * hook): after LHLO and before MAIL, once per transaction, and its class
 * and ID last until the transaction ends (after DATA's replies, RSET,
 * LHLO; smtp_txn_open).  Without it a message is unsafe and is not
 * recorded.  With it, each user receives the message at most once per
 * queue ID, however often smtpd retries it (record.c), and every
 * delivery line mda logs carries id=<queue ID>, the tracking ID
 * submitd and smtpd log too.  Any other MAIL or RCPT parameter, and a
 * parameter given twice, is refused.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "mda.h"
#include "net.h"
#include "smtp.h"
#include "xmalloc.h"

static const char	 lmtp_busy[] = "421 4.3.2 too many LMTP sessions, "
			    "try again later\r\n";

#define LMTP_MAX_RCPT		1000
#define LMTP_MAX_ERRORS		20
#define LMTP_TIMEOUT		600	/* seconds, each command or message */
#define LMTP_SIZE_SLACK		65536	/* smtpd's trace fields on top */

struct lmtp_session {
	struct lmtp_session *next;
	uint32_t	 id;		/* lookups to the parent */
	struct smtp_session *s;
	int		 trusted;
	uid_t		 uid;
	int		 waiting;	/* a lookup is with the parent */
	int		 sealed;	/* XSEAL given in this transaction */
	char		 qid[MDA_QID_LEN + 1];
	enum mda_class	 class;
	struct mda_rcpt	*rcpt;
	int		 nrcpt;
	char		 pending[MDA_ADDR_MAX + 1];	/* RCPT looked up */
	int		 msgfd;
};

static const struct sm_config *cfg;
static struct ipc_conn *parent;
static struct lmtp_session *sessions;
static int	 nsessions;
static int	*counts, ncounts;	/* every process's nsessions, shared */
static int	 slot;			/* ours in counts */
static struct event *accept_ev, *pause_ev;
#define LMTP_ACCEPT_PAUSE_MS	20
static uid_t	 trusted_uid;
static uint32_t	 next_id = 1;
static struct smtp_params params = {
	.service = "LMTP Sealmail mda",
	.max_rcpt = LMTP_MAX_RCPT,
	.max_errors = LMTP_MAX_ERRORS,
	.timeout_greeting = LMTP_TIMEOUT,
	.timeout_cmd = LMTP_TIMEOUT,
	.timeout_data = LMTP_TIMEOUT,
	.text_line_max = 0,		/* mda stores what it is given */
	.lmtp = 1,
};

/* ------------------------------------------------------------------ */
/* the hooks */

static void
l_keywords(struct smtp_session *s, void (*add)(struct smtp_session *,
    const char *), void *arg)
{
	add(s, "XSEAL");
}

/* XSEAL ID=<queue id> CLASS=SAFE|UNSAFE (trusted peers only) */
static void
l_xseal(struct lmtp_session *ls, const struct smtp_cmd *cmd)
{
	enum mda_class	 class;
	char		 id[MDA_QID_LEN + 1];

	if (smtp_phase(ls->s) != SMTP_PHASE_HELO || ls->sealed) {
		smtp_reply(ls->s, 503, smtp_phase(ls->s) == SMTP_PHASE_INIT ?
		    "5.5.1 LHLO first" :
		    "5.5.1 XSEAL only once, before MAIL");
		return;
	}
	if (!ls->trusted) {
		log_info("session=%u uid=%u may not use XSEAL", ls->id,
		    (unsigned)ls->uid);
		smtp_reply(ls->s, 550, "5.7.1 XSEAL not permitted");
		return;
	}
	if (mda_xseal_parse(cmd->arg, id, &class) == -1) {
		smtp_reply(ls->s, 501, "5.5.4 XSEAL wants ID=<queue id> "
		    "CLASS=SAFE|UNSAFE");
		return;
	}
	ls->sealed = 1;
	ls->class = class;
	memcpy(ls->qid, id, sizeof(ls->qid));
	smtp_txn_open(ls->s);
	smtp_reply(ls->s, 250, "2.0.0 OK");
}

static int
l_command(struct smtp_session *s, const struct smtp_cmd *cmd, void *arg)
{
	if (strcmp(cmd->verbstr, "XSEAL") != 0)
		return -1;
	l_xseal(arg, cmd);
	return 0;
}

/* MAIL FROM:<sender>: the engine took BODY, SMTPUTF8 and SIZE only */
static void
l_mail(struct smtp_session *s, const char *from, const struct smtp_cmd *cmd,
    void *arg)
{
	struct lmtp_session *ls = arg;

	if (*from != '\0' && !mda_addr_ok(from, smtp_is_smtputf8(s))) {
		smtp_reply(s, 501, "5.1.7 bad sender address syntax");
		return;
	}
	if (!ls->sealed)
		ls->class = MDA_UNSAFE;	/* unknown is unsafe */
	smtp_reply(s, 250, "2.1.0 sender ok");
}

/* RCPT TO: asked of the parent only once it is an address we would store */
static void
l_rcpt(struct smtp_session *s, const char *addr, const struct smtp_cmd *cmd,
    void *arg)
{
	struct lmtp_session *ls = arg;
	struct ipc_msg *m;

	if (strlen(addr) > MDA_ADDR_MAX) {
		smtp_reply(s, 501, "5.1.3 recipient address too long");
		return;
	}
	if (!mda_addr_ok(addr, smtp_is_smtputf8(s))) {
		smtp_reply(s, 501, "5.1.3 bad recipient address syntax");
		return;
	}
	snprintf(ls->pending, sizeof(ls->pending), "%s", addr);
	m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, ls->id);
	ipc_add_str(m, addr);
	ipc_send(parent, m);
	ls->waiting = 1;
}

static int
l_data_begin(struct smtp_session *s, void *arg)
{
	struct lmtp_session *ls = arg;

	if ((ls->msgfd = memfd_create("lmtp-message", MFD_CLOEXEC)) == -1)
		log_warn("memfd_create");
	return ls->msgfd;
}

/* The message is complete: deliver to each recipient, one reply each. */
static void
l_data_end(struct smtp_session *s, size_t size, void *arg)
{
	struct lmtp_session *ls = arg;
	struct mda_status st;
	int	 i, n = ls->nrcpt;

	if (n != smtp_rcpt_count(s))
		log_panic("mda.lmtp: %d recipients, the engine has %d", n,
		    smtp_rcpt_count(s));
	for (i = 0; i < n; i++) {
		mda_deliver(cfg, &ls->rcpt[i], ls->class, smtp_mail_from(s),
		    ls->sealed ? ls->qid : NULL, ls->msgfd, &st);
		/* st.text is "NNN x.y.z ...": the engine writes the code */
		smtp_reply(s, st.code, "%s", st.text + 4);
	}
}

static void
l_txn_reset(struct smtp_session *s, void *arg)
{
	struct lmtp_session *ls = arg;

	free(ls->rcpt);
	ls->rcpt = NULL;
	ls->nrcpt = 0;
	ls->class = MDA_UNSAFE;
	ls->sealed = 0;
	ls->qid[0] = '\0';
	if (ls->msgfd != -1)
		close(ls->msgfd);
	ls->msgfd = -1;
}

static void
l_close(struct smtp_session *s, void *arg)
{
	struct lmtp_session *ls = arg, **pp;

	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ls) {
			*pp = ls->next;
			break;
		}
	l_txn_reset(s, ls);
	free(ls);
	nsessions--;
	__atomic_store_n(&counts[slot], nsessions, __ATOMIC_RELAXED);
}

/* Sessions running in every mda.lmtp. */
static int
sessions_total(void)
{
	int	 i, n = 0;

	for (i = 0; i < ncounts; i++)
		n += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
	return n;
}

static const struct smtp_hooks hooks = {
	.ehlo_keywords = l_keywords,
	.mail = l_mail,
	.rcpt = l_rcpt,
	.data_begin = l_data_begin,
	.data_end = l_data_end,
	.txn_reset = l_txn_reset,
	.command = l_command,
	.close = l_close,
};

/* ------------------------------------------------------------------ */

/* Take one connection, if one is waiting, and start its session. */
static void
lmtp_take(int lfd, struct event_base *base)
{
	struct lmtp_session *ls;
	pid_t	 pid;
	int	 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		/* a sibling took it, or the peer gave up */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (sessions_total() >= cfg->lmtp_max_sessions) {
		/* a short line into a fresh socket: it does not block */
		(void)send(fd, lmtp_busy, sizeof(lmtp_busy) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		log_warnx("refused a session: %d running (lmtp_max_sessions)",
		    nsessions);
		return;
	}
	ls = xcalloc(1, sizeof(*ls));
	ls->id = next_id++;
	ls->msgfd = -1;
	ls->uid = (uid_t)-1;
	if (net_peercred(fd, &ls->uid, &pid) == 0)
		ls->trusted = ls->uid == 0 || ls->uid == trusted_uid;
	log_debug("session=%u uid=%u trusted=%d", ls->id, (unsigned)ls->uid,
	    ls->trusted);
	if ((ls->s = smtp_session_new(base, fd, &params, &hooks, ls)) ==
	    NULL) {
		/* no connect hook: the engine closed fd, no hook will run */
		log_warnx("session=%u cannot start", ls->id);
		free(ls);
		return;
	}
	nsessions++;
	__atomic_store_n(&counts[slot], nsessions, __ATOMIC_RELAXED);
	ls->next = sessions;
	sessions = ls;
}

/* The socket is readable: take the connection now, or after a pause. */
static void
lmtp_accept(evutil_socket_t lfd, short events, void *arg)
{
	struct timeval pause;

	(void)events;
	if (nsessions == 0) {
		lmtp_take(lfd, arg);
		return;
	}
	pause.tv_sec = 0;
	pause.tv_usec = (nsessions < 25 ? nsessions : 25) *
	    LMTP_ACCEPT_PAUSE_MS * 1000L;
	event_del(accept_ev);
	evtimer_add(pause_ev, &pause);
}

/* The pause is over: a connection still waiting is ours. */
static void
lmtp_resume(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	lmtp_take(event_get_fd(accept_ev), arg);
	event_add(accept_ev, NULL);
}

/* The parent's answer to a recipient lookup: the engine's RCPT reply. */
static void
lookup_ok(struct lmtp_session *ls, struct ipc_msg *m)
{
	struct mda_rcpt r;
	const char *user, *tag;
	uint32_t ua, sa, sh;
	uint64_t quota;

	if (ipc_get_str(m, &user) == -1 || ipc_get_u32(m, &ua) == -1 ||
	    ipc_get_u32(m, &sa) == -1 || ipc_get_u32(m, &sh) == -1 ||
	    ipc_get_str(m, &tag) == -1 || ipc_get_u64(m, &quota) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("mda.lmtp: bad lookup answer");
	if (ls == NULL)
		return;
	memset(&r, 0, sizeof(r));
	snprintf(r.rcpt, sizeof(r.rcpt), "%s", ls->pending);
	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.subject_tag, sizeof(r.subject_tag), "%s", tag);
	r.unsafe_mailbox = ua != 0;
	r.strip_attachments = sa != 0;
	r.strip_html = sh != 0;
	r.quota_bytes = quota;
	ls->rcpt = xreallocarray(ls->rcpt, (size_t)ls->nrcpt + 1,
	    sizeof(*ls->rcpt));
	ls->rcpt[ls->nrcpt++] = r;
	ls->waiting = 0;
	smtp_reply(ls->s, 250, "2.1.5 recipient ok");
}

static void
lookup_err(struct lmtp_session *ls, struct ipc_msg *m)
{
	const char *text;
	char	 prefix[8];
	uint32_t code;

	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1 || code < 400 || code > 599)
		fatalx("mda.lmtp: bad lookup answer");
	if (ls == NULL)
		return;
	ls->waiting = 0;
	/* the parent's text is a whole reply line, "550 5.1.1 ..." */
	snprintf(prefix, sizeof(prefix), "%u ", code);
	if (strncmp(text, prefix, strlen(prefix)) == 0)
		text += strlen(prefix);
	smtp_reply(ls->s, (int)code, "%s", text);
}

/* Everything mda.lmtp is sent: lookup answers, from its trusted parent. */
static void
lmtp_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct lmtp_session *ls;

	for (ls = sessions; ls != NULL && (ls->id != m->id || !ls->waiting);
	    ls = ls->next)
		;
	switch (m->type) {
	case IPC_OK:
		lookup_ok(ls, m);
		break;
	case IPC_ERR:
		lookup_err(ls, m);
		break;
	default:
		fatalx("mda.lmtp: unexpected message type %u", m->type);
	}
}

void
lmtp_main(const struct sm_config *c, int lfd, int ipcfd, uid_t trusted,
    int *shared_counts, int nprocs, int myslot)
{
	struct event_base *base;

	cfg = c;
	counts = shared_counts;
	ncounts = nprocs;
	slot = myslot;
	__atomic_store_n(&counts[slot], 0, __ATOMIC_RELAXED);
	trusted_uid = trusted;
	params.hostname = cfg->hostname;
	params.max_message_size = cfg->max_message_size == 0 ? 0 :
	    cfg->max_message_size + LMTP_SIZE_SLACK;
	base = event_base_new();
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ipcfd, lmtp_dispatch, NULL, NULL);
	if (evutil_make_socket_nonblocking(lfd) == -1 ||
	    (accept_ev = event_new(base, lfd, EV_READ | EV_PERSIST,
	    lmtp_accept, base)) == NULL ||
	    (pause_ev = evtimer_new(base, lmtp_resume, base)) == NULL ||
	    event_add(accept_ev, NULL) == -1)
		fatalx("cannot listen on the LMTP socket");
	event_base_dispatch(base);
	exit(0);
}
