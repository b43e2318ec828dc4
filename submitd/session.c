/*
 * session.c - the submitd.smtp role: the SMTP submission dialogue.
 *
 * Runs as [global] user, chrooted to [global] empty_dir, and is the only
 * submitd process that reads the network: it accepts on the STARTTLS
 * (587) and implicit TLS (465) listeners, runs common/smtp with the
 * hooks below and decodes AUTH with auth.c.  It decides nothing that
 * matters to anyone else: every password, sender address, recipient and
 * message goes to the root parent, which checks it against PAM and the
 * user database and hands the message to the queue itself.  Nor is its
 * word taken for facts: the parent reads the client's address from a
 * duplicate of the accepted socket (IPC_PARENT_SESSION_START), and has
 * the message's header read by the submitd.header role.  This role scans
 * the header too (header.c), but only to refuse a malformed one early.
 * A compromised child can therefore send mail only as the user whose
 * password it was given in its own session, within that user's limits
 * and under that user's own addresses.
 *
 * The message content is written to a memfd that is passed to the parent
 * with the envelope, and which the parent seals against writing; nothing
 * is stored on disk here (there is no disk: the chroot is empty).
 *
 * When this process dies, its sessions end with it; the parent starts a
 * new one on the same listening sockets.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "header.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "qhandoff.h"
#include "smtp.h"
#include "submitd.h"
#include "tls.h"
#include "xmalloc.h"

enum wait_for {
	W_NONE,
	W_AUTH,
	W_MAIL,
	W_RCPT,
	W_SUBMIT
};

struct sub_session {
	struct sub_session *next;
	uint32_t	 id;
	struct smtp_session *smtp;
	char		 client[64];
	struct net_slot	*slot;		/* in the session table */

	/* authentication */
	int		 authed;
	char		 user[SASL_ID_MAX + 1];
	unsigned int	 max_rcpt;
	char		 login_user[SASL_ID_MAX + 1];

	/* what the parent is being asked */
	enum wait_for	 waiting;
	char		 pending_rcpt[SMTP_PATH_MAX + 1];

	/* the transaction */
	char		**rcpts;
	uint32_t	 nrcpt;
	int		 datafd;
};

static const struct sm_config *cfg;
static struct ipc_conn *parent;
static struct net_limit *limit;
static struct sub_session *sessions;
static uint32_t	 next_id = 1;
static struct smtp_params params_plain, params_tls;

static struct sub_session *
session_find(uint32_t id)
{
	struct sub_session *ss;

	for (ss = sessions; ss != NULL; ss = ss->next)
		if (ss->id == id)
			return ss;
	return NULL;
}

static void
txn_clear(struct sub_session *ss)
{
	uint32_t i;

	for (i = 0; i < ss->nrcpt; i++)
		free(ss->rcpts[i]);
	free(ss->rcpts);
	ss->rcpts = NULL;
	ss->nrcpt = 0;
	if (ss->datafd != -1) {
		close(ss->datafd);
		ss->datafd = -1;
	}
}

/* ------------------------------------------------------------------ */
/* AUTH (RFC 4954) with PLAIN and LOGIN */

static void
auth_fail_reply(struct smtp_session *s, enum sasl_result r)
{
	const char *text;
	int	 code;

	text = sasl_result_reply(r, &code);
	smtp_reply(s, code, "%s", text);
}

static void
auth_ask_parent(struct sub_session *ss, struct sasl_creds *cr)
{
	struct ipc_msg *m;

	m = ipc_msg_new(IPC_PARENT_AUTH, ss->id);
	ipc_add_str(m, cr->authzid);
	ipc_add_str(m, cr->authcid);
	ipc_add_str(m, cr->password);
	ipc_send(parent, m);
	sasl_creds_wipe(cr);
	ss->waiting = W_AUTH;
}

static void
auth_plain_response(struct smtp_session *s, const char *line, void *arg)
{
	struct sub_session *ss = arg;
	struct sasl_creds cr;
	enum sasl_result r;

	if ((r = sasl_plain_decode(line, &cr)) != SASL_OK) {
		auth_fail_reply(s, r);
		return;
	}
	auth_ask_parent(ss, &cr);
}

static void
auth_login_password(struct smtp_session *s, const char *line, void *arg)
{
	struct sub_session *ss = arg;
	struct sasl_creds cr;
	enum sasl_result r;

	memset(&cr, 0, sizeof(cr));
	r = sasl_login_decode(line, cr.password, sizeof(cr.password), 0);
	if (r != SASL_OK) {
		explicit_bzero(ss->login_user, sizeof(ss->login_user));
		auth_fail_reply(s, r);
		return;
	}
	memcpy(cr.authcid, ss->login_user, sizeof(cr.authcid));
	explicit_bzero(ss->login_user, sizeof(ss->login_user));
	auth_ask_parent(ss, &cr);
}

static void
auth_login_user(struct smtp_session *s, const char *line, void *arg)
{
	struct sub_session *ss = arg;
	enum sasl_result r;

	r = sasl_login_decode(line, ss->login_user, sizeof(ss->login_user),
	    1);
	if (r != SASL_OK) {
		auth_fail_reply(s, r);
		return;
	}
	smtp_challenge(s, "UGFzc3dvcmQ6", auth_login_password);
}

static void
cmd_auth(struct sub_session *ss, const struct smtp_cmd *cmd)
{
	struct smtp_session *s = ss->smtp;
	enum sasl_mech	 mech;
	const char	*initial;
	enum sasl_result r;

	if (!smtp_is_tls(s)) {
		smtp_reply(s, 538, "5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return;
	}
	if (!smtp_is_esmtp(s)) {
		/* RFC 4954 4: AUTH is an ESMTP extension, after EHLO */
		smtp_reply(s, 503, "5.5.1 Send EHLO first");
		return;
	}
	if (ss->authed) {
		smtp_reply(s, 503, "5.5.1 Already authenticated");
		return;
	}
	if (smtp_mail_from(s)[0] != '\0') {
		smtp_reply(s, 503, "5.5.1 AUTH not allowed during a mail "
		    "transaction");
		return;
	}
	if ((r = sasl_mech_parse(cmd->arg, &mech, &initial)) != SASL_OK) {
		auth_fail_reply(s, r);
		return;
	}
	if (mech == SASL_MECH_PLAIN) {
		if (initial == NULL)
			smtp_challenge(s, "", auth_plain_response);
		else
			auth_plain_response(s, initial, ss);
	} else {
		if (initial == NULL)
			smtp_challenge(s, "VXNlcm5hbWU6", auth_login_user);
		else
			auth_login_user(s, initial, ss);
	}
}

static void
auth_answer(struct sub_session *ss, struct ipc_msg *m)
{
	struct smtp_session *s = ss->smtp;
	const char *user, *text;
	uint32_t max, code;

	if (m->type == IPC_OK) {
		if (ipc_get_str(m, &user) == -1 ||
		    ipc_get_u32(m, &max) == -1 || ipc_get_end(m) == -1)
			fatalx("bad IPC_PARENT_AUTH answer");
		ss->authed = 1;
		snprintf(ss->user, sizeof(ss->user), "%s", user);
		ss->max_rcpt = max > SUBMIT_RCPT_HARDMAX ?
		    SUBMIT_RCPT_HARDMAX : max;
		smtp_reply(s, 235, "2.7.0 Authentication successful");
		return;
	}
	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("bad IPC_PARENT_AUTH answer");
	switch (code) {
	case SUBMIT_AUTH_REFUSED:
		smtp_reply(s, 421, "4.7.0 %s", text);
		break;
	case SUBMIT_AUTH_TEMP:
		smtp_reply(s, 454, "4.7.0 %s", text);
		break;
	default:
		smtp_reply(s, 535, "5.7.8 %s", text);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* the smtp hooks */

static int
hook_connect(struct smtp_session *s, void *arg)
{
	struct sub_session *ss = arg;

	ss->smtp = s;
	smtp_set_slot(s, ss->slot);
	return 0;
}

static void
hook_ehlo_keywords(struct smtp_session *s,
    void (*add)(struct smtp_session *, const char *), void *arg)
{
	/* RFC 4954 4: no plaintext passwords over an unprotected channel */
	if (smtp_is_tls(s))
		add(s, "AUTH PLAIN LOGIN");
}

static int
hook_command(struct smtp_session *s, const struct smtp_cmd *cmd, void *arg)
{
	if (cmd->verb != SMTP_CMD_AUTH)
		return -1;
	cmd_auth(arg, cmd);
	return 0;
}

static void
ask_parent_str(struct sub_session *ss, uint32_t type, const char *str,
    enum wait_for w)
{
	struct ipc_msg *m;

	m = ipc_msg_new(type, ss->id);
	ipc_add_str(m, str);
	ipc_send(parent, m);
	ss->waiting = w;
}

static void
hook_mail(struct smtp_session *s, const char *from,
    const struct smtp_cmd *cmd, void *arg)
{
	struct sub_session *ss = arg;

	if (!ss->authed) {
		smtp_reply(s, 530, "5.7.0 Authentication required");
		return;
	}
	txn_clear(ss);
	ask_parent_str(ss, IPC_PARENT_SENDER_OK, from, W_MAIL);
}

static void
hook_rcpt(struct smtp_session *s, const char *addr,
    const struct smtp_cmd *cmd, void *arg)
{
	struct sub_session *ss = arg;

	if (ss->nrcpt >= ss->max_rcpt) {
		smtp_reply(s, 452, "4.5.3 Too many recipients for one "
		    "message (at most %u)", ss->max_rcpt);
		return;
	}
	snprintf(ss->pending_rcpt, sizeof(ss->pending_rcpt), "%s", addr);
	ask_parent_str(ss, IPC_PARENT_LOOKUP_RCPT, addr, W_RCPT);
}

static int
hook_data_begin(struct smtp_session *s, void *arg)
{
	struct sub_session *ss = arg;

	if (ss->datafd != -1)
		close(ss->datafd);
	/* the parent seals it before it reads it */
	if ((ss->datafd = memfd_create("submitd-message", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		log_warn("memfd_create");
	return ss->datafd;
}

static void
hook_data_end(struct smtp_session *s, size_t size, void *arg)
{
	struct sub_session *ss = arg;
	struct hdr_info	 hi;
	struct ipc_msg	*m;
	enum hdr_result	 r;
	char		 proto[64] = "", cipher[128] = "";
	uint32_t	 i;
	int		 ret;

	/* an early answer for a malformed header; the parent has its own
	 * reading done by submitd.header */
	if ((ret = hdr_scan_fd(ss->datafd, size, &hi)) == -1) {
		smtp_reply(s, 451, "4.3.0 Cannot read the message back");
		return;
	}
	r = (enum hdr_result)ret;
	if (r != HDR_OK) {
		log_info("session=%u user=%s message refused: %s", ss->id,
		    ss->user, hdr_result_str(r));
		smtp_reply(s, 550, "5.6.0 Message refused: %s",
		    hdr_result_str(r));
		return;
	}
	smtp_tls_info(s, proto, sizeof(proto), cipher, sizeof(cipher));
	m = ipc_msg_new(IPC_PARENT_SUBMIT, ss->id);
	ipc_add_str(m, smtp_helo_name(s));
	ipc_add_str(m, proto);
	ipc_add_str(m, cipher);
	ipc_add_str(m, smtp_mail_from(s));
	ipc_add_u32(m, smtp_requiretls(s) ? Q_MSG_REQUIRETLS : 0);
	ipc_add_u32(m, ss->nrcpt);
	for (i = 0; i < ss->nrcpt; i++)
		ipc_add_str(m, ss->rcpts[i]);
	ipc_msg_setfd(m, ss->datafd);
	ss->datafd = -1;	/* the IPC layer closes it once sent */
	ipc_send(parent, m);
	ss->waiting = W_SUBMIT;
}

static void
hook_txn_reset(struct smtp_session *s, void *arg)
{
	txn_clear(arg);
}

static void
hook_close(struct smtp_session *s, void *arg)
{
	struct sub_session *ss = arg, **pp;
	struct ipc_msg *m;

	m = ipc_msg_new(IPC_PARENT_SESSION_END, ss->id);
	ipc_send(parent, m);
	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
	net_slot_leave(ss->slot);
	txn_clear(ss);
	explicit_bzero(ss, sizeof(*ss));
	free(ss);
}

static const struct smtp_hooks hooks = {
	.connect = hook_connect,
	.ehlo_keywords = hook_ehlo_keywords,
	.mail = hook_mail,
	.rcpt = hook_rcpt,
	.data_begin = hook_data_begin,
	.data_end = hook_data_end,
	.txn_reset = hook_txn_reset,
	.command = hook_command,
	.close = hook_close,
};

/* ------------------------------------------------------------------ */
/* the parent's answers */

static void
simple_answer(struct sub_session *ss, struct ipc_msg *m, enum wait_for w)
{
	struct smtp_session *s = ss->smtp;
	const char *text;
	uint32_t code;

	if (ipc_get_u32(m, &code) == -1 || ipc_get_str(m, &text) == -1 ||
	    ipc_get_end(m) == -1)
		fatalx("bad answer from the parent");
	if (m->type == IPC_OK) {
		switch (w) {
		case W_MAIL:
			smtp_reply(s, 250, "2.1.0 Sender ok");
			break;
		case W_RCPT:
			ss->rcpts = xreallocarray(ss->rcpts, ss->nrcpt + 1,
			    sizeof(*ss->rcpts));
			ss->rcpts[ss->nrcpt++] = xstrdup(ss->pending_rcpt);
			smtp_reply(s, 250, "2.1.5 Recipient ok");
			break;
		default:
			smtp_reply(s, 250, "2.0.0 Ok: queued as %s", text);
			break;
		}
		return;
	}
	if (code < 400 || code > 599)
		fatalx("bad reply code %u from the parent", code);
	smtp_reply(s, (int)code, "%s", text);
}

static void
session_parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct sub_session *ss;
	enum wait_for w;

	if (m->type != IPC_OK && m->type != IPC_ERR)
		fatalx("unexpected message type %u from the parent", m->type);
	if ((ss = session_find(m->id)) == NULL)
		return;		/* the client left meanwhile */
	w = ss->waiting;
	ss->waiting = W_NONE;
	switch (w) {
	case W_AUTH:
		auth_answer(ss, m);
		break;
	case W_MAIL:
	case W_RCPT:
	case W_SUBMIT:
		simple_answer(ss, m, w);
		break;
	case W_NONE:
		fatalx("answer for session %u that asked nothing", m->id);
	}
}

static void
session_parent_closed(struct ipc_conn *c, void *arg)
{
	log_info("parent went away; exiting");
	exit(0);
}

/* ------------------------------------------------------------------ */
/* accepting */

static void
session_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtp_params *p = arg;
	struct sub_session *ss;
	struct ipc_msg *m;
	struct net_slot *slot;
	char	 addr[64];
	int	 dupfd;
	const char *busy = "421 4.7.0 Too many connections, try again "
	    "later\r\n";

	net_addr_str(sa, addr, sizeof(addr));
	if ((slot = net_slot_enter(limit, addr)) == NULL) {
		log_info("client=%s refused: session limit", addr);
		if (write(fd, busy, strlen(busy)) == -1)
			log_debug("client=%s: write refused", addr);
		close(fd);
		return;
	}
	/* the parent reads the client's address from the socket itself */
	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("client=%s: dup", addr);
		net_slot_leave(slot);
		close(fd);
		return;
	}
	ss = xcalloc(1, sizeof(*ss));
	ss->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	ss->slot = slot;
	ss->datafd = -1;
	snprintf(ss->client, sizeof(ss->client), "%s", addr);
	ss->next = sessions;
	sessions = ss;
	log_debug("session=%u client=%s connected%s", ss->id, addr,
	    p->implicit_tls ? " tls" : "");
	m = ipc_msg_new(IPC_PARENT_SESSION_START, ss->id);
	ipc_msg_setfd(m, dupfd);
	ipc_send(parent, m);
	if (smtp_session_new(evconnlistener_get_base(l), fd, p, &hooks,
	    ss) == NULL && ss->smtp == NULL) {
		/* no session was made (TLS setup failed): nothing will call
		 * hook_close */
		log_warnx("session=%u client=%s: cannot start a session",
		    ss->id, addr);
		sessions = ss->next;
		net_slot_leave(ss->slot);
		ipc_send(parent, ipc_msg_new(IPC_PARENT_SESSION_END, ss->id));
		free(ss);
	}
}

static void
params_init(struct smtp_params *p, void *tls_ctx, int implicit)
{
	memset(p, 0, sizeof(*p));
	p->hostname = cfg->hostname;
	p->service = "ESMTP Sealmail submission";
	p->max_message_size = cfg->max_message_size;
	p->max_rcpt = SUBMIT_RCPT_HARDMAX;
	p->max_errors = 10;
	p->max_commands = 10000;
	p->greeting_delay_ms = 0;
	smtp_params_limits(p, &cfg->submitd_limits);
	p->text_line_max = SMTP_TEXT_LINE_MAX;
	p->tls_ctx = tls_ctx;
	p->tls = &tls_server_ops;
	p->implicit_tls = implicit;
	p->requiretls = 1;	/* the transmitter honours it */
}

void
session_main(const struct sm_config *c, void *tls_ctx, const int *fds,
    const int *implicit, int nfds, int ipcfd)
{
	struct event_base *base;
	struct ipc_msg *m;
	int	 i;

	cfg = c;
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ipcfd, session_parent_dispatch,
	    session_parent_closed, NULL);
	m = ipc_msg_new(IPC_PARENT_HELLO, 0);
	ipc_add_str(m, "smtp");
	ipc_send(parent, m);
	/* a socket each, and a memfd while a message comes in */
	limit = net_limit_new(net_session_budget(cfg->submitd_max_sessions,
	    2), cfg->submitd_max_sessions_per_ip);
	net_limit_set_stress(limit, cfg->submitd_limits.stress_threshold);
	params_init(&params_plain, tls_ctx, 0);
	params_init(&params_tls, tls_ctx, 1);
	for (i = 0; i < nfds; i++)
		if (evconnlistener_new(base, session_accept, implicit[i] ?
		    &params_tls : &params_plain, LEV_OPT_CLOSE_ON_FREE, -1,
		    fds[i]) == NULL)
			fatalx("evconnlistener_new");
	log_info("ready");
	event_base_dispatch(base);
	exit(0);
}
