/*
 * lmtp.c - the LMTP server role (RFC 2033), process mda.lmtp.
 *
 * Runs as [global] mail_user with no database and no key (its root
 * parent forks it without the user database open, mda.c): it reads LMTP
 * from [mda] lmtp_socket, which any local user may connect to, asks the
 * parent to resolve each recipient (IPC_PARENT_LOOKUP_RCPT), takes the
 * message into an anonymous memory file, then delivers it to each
 * accepted recipient (deliver.c) and gives one reply per recipient, in
 * RCPT order.  Everything a peer sends is hostile: every address is
 * checked (smtp_addr_valid, at most 254 bytes) before it is accepted,
 * logged or sent to the parent, and at most [mda] lmtp_max_sessions
 * sessions run at once (the next peer gets 421 4.3.2 and is closed).
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
 * XSEAL comes after LHLO and before MAIL, once per transaction, and its
 * class and ID last until the transaction ends (after DATA's replies,
 * RSET, LHLO).  Without it a message is unsafe and is not recorded.  With
 * it, each user receives the message at most once per queue ID, however
 * often smtpd retries it (record.c).  Any other MAIL or RCPT parameter,
 * and a parameter given twice, is refused.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "buf.h"
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
#define LMTP_TIMEOUT		600	/* seconds, both directions */
#define LMTP_CHUNK		65536

enum lmtp_state { LS_GREET, LS_READY, LS_MAIL, LS_DATA };

struct lmtp_session {
	struct lmtp_session *next;
	uint32_t	 id;
	struct bufferevent *bev;
	int		 trusted;
	uid_t		 uid;
	enum lmtp_state	 state;
	int		 waiting;	/* a lookup is with the parent */
	int		 closing;
	int		 errors;
	int		 sealed;	/* XSEAL given in this transaction */
	char		 qid[MDA_QID_LEN + 1];
	int		 smtputf8;
	char		 sender[SMTP_PATH_MAX + 1];
	enum mda_class	 class;
	struct mda_rcpt	*rcpt;
	int		 nrcpt;
	char		 pending[MDA_ADDR_MAX + 1];	/* RCPT looked up */
	int		 msgfd;
	size_t		 msgsize;
	int		 toobig;
	int		 writefail;
	int		 bol;		/* content: at the start of a line */
	struct buf	 out;		/* content not yet written */
};

static const struct sm_config *cfg;
static struct ipc_conn *parent;
static struct lmtp_session *sessions;
static int	 nsessions;
static uid_t	 trusted_uid;
static uint32_t	 next_id = 1;

static void lmtp_read(struct bufferevent *, void *);

static void
lmtp_reply(struct lmtp_session *s, const char *line)
{
	evbuffer_add_printf(bufferevent_get_output(s->bev), "%s\r\n", line);
}

static void
lmtp_txn_reset(struct lmtp_session *s)
{
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	s->sender[0] = '\0';
	s->class = MDA_UNSAFE;
	s->sealed = 0;
	s->qid[0] = '\0';
	s->smtputf8 = 0;
	if (s->msgfd != -1)
		close(s->msgfd);
	s->msgfd = -1;
	s->msgsize = 0;
	s->toobig = 0;
	s->writefail = 0;
	buf_reset(&s->out);
	if (s->state != LS_GREET)
		s->state = LS_READY;
}

static void
lmtp_free(struct lmtp_session *s)
{
	struct lmtp_session **pp;

	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	lmtp_txn_reset(s);
	buf_free(&s->out);
	bufferevent_free(s->bev);
	free(s);
	nsessions--;
}

static void
lmtp_close_after_write(struct lmtp_session *s)
{
	s->closing = 1;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		lmtp_free(s);
}

static void
lmtp_error(struct lmtp_session *s, const char *line)
{
	lmtp_reply(s, line);
	if (++s->errors >= LMTP_MAX_ERRORS) {
		lmtp_reply(s, "421 4.7.0 too many errors");
		lmtp_close_after_write(s);
	}
}

/* XSEAL ID=<queue id> CLASS=SAFE|UNSAFE (trusted peers only) */
static void
lmtp_xseal(struct lmtp_session *s, const struct smtp_cmd *cmd)
{
	enum mda_class	 class;
	char		 id[MDA_QID_LEN + 1];

	if (s->state != LS_READY || s->sealed) {
		lmtp_error(s, s->state == LS_GREET ? "503 5.5.1 LHLO first" :
		    "503 5.5.1 XSEAL only once, before MAIL");
		return;
	}
	if (!s->trusted) {
		log_info("session=%u uid=%u may not use XSEAL", s->id,
		    (unsigned)s->uid);
		lmtp_error(s, "550 5.7.1 XSEAL not permitted");
		return;
	}
	if (mda_xseal_parse(cmd->arg, id, &class) == -1) {
		lmtp_error(s, "501 5.5.4 XSEAL wants ID=<queue id> "
		    "CLASS=SAFE|UNSAFE");
		return;
	}
	s->sealed = 1;
	s->class = class;
	memcpy(s->qid, id, sizeof(s->qid));
	lmtp_reply(s, "250 2.0.0 OK");
}

/* MAIL FROM:<sender> [BODY=7BIT|8BITMIME] [SMTPUTF8] */
static void
lmtp_mail(struct lmtp_session *s, const struct smtp_cmd *cmd)
{
	const char *body, *u8;
	int	 i, utf8;

	if (s->state != LS_READY) {
		lmtp_error(s, s->state == LS_GREET ?
		    "503 5.5.1 LHLO first" : "503 5.5.1 nested MAIL");
		return;
	}
	for (i = 0; i < cmd->nparams; i++)
		if (strcmp(cmd->params[i].key, "BODY") != 0 &&
		    strcmp(cmd->params[i].key, "SMTPUTF8") != 0) {
			lmtp_error(s, "555 5.5.4 unsupported parameter");
			return;
		}
	if ((body = smtp_cmd_param(cmd, "BODY")) != NULL &&
	    strcasecmp(body, "7BIT") != 0 &&
	    strcasecmp(body, "8BITMIME") != 0) {
		lmtp_error(s, "501 5.5.4 BODY wants 7BIT or 8BITMIME");
		return;
	}
	if ((u8 = smtp_cmd_param(cmd, "SMTPUTF8")) != NULL && *u8 != '\0') {
		lmtp_error(s, "501 5.5.4 SMTPUTF8 takes no value");
		return;
	}
	utf8 = u8 != NULL;
	if (cmd->path[0] != '\0' && !mda_addr_ok(cmd->path, utf8)) {
		lmtp_error(s, "501 5.1.7 bad sender address syntax");
		return;
	}
	snprintf(s->sender, sizeof(s->sender), "%s", cmd->path);
	s->smtputf8 = utf8;
	if (!s->sealed)
		s->class = MDA_UNSAFE;	/* unknown is unsafe */
	s->state = LS_MAIL;
	lmtp_reply(s, "250 2.1.0 sender ok");
}

static void
lmtp_rcpt(struct lmtp_session *s, const struct smtp_cmd *cmd)
{
	struct ipc_msg *m;

	if (s->state != LS_MAIL) {
		lmtp_error(s, "503 5.5.1 MAIL first");
		return;
	}
	if (cmd->nparams > 0) {
		lmtp_error(s, "555 5.5.4 unsupported parameter");
		return;
	}
	/* asked of the parent only once it is an address we would store */
	if (strlen(cmd->path) > MDA_ADDR_MAX) {
		lmtp_error(s, "501 5.1.3 recipient address too long");
		return;
	}
	if (!mda_addr_ok(cmd->path, s->smtputf8)) {
		lmtp_error(s, "501 5.1.3 bad recipient address syntax");
		return;
	}
	if (s->nrcpt >= LMTP_MAX_RCPT) {
		lmtp_reply(s, "452 4.5.3 too many recipients");
		return;
	}
	snprintf(s->pending, sizeof(s->pending), "%s", cmd->path);
	m = ipc_msg_new(IPC_PARENT_LOOKUP_RCPT, s->id);
	ipc_add_str(m, cmd->path);
	ipc_send(parent, m);
	s->waiting = 1;
	bufferevent_disable(s->bev, EV_READ);
}

static void
lmtp_data(struct lmtp_session *s)
{
	if (s->state != LS_MAIL || s->nrcpt == 0) {
		lmtp_error(s, s->state == LS_MAIL ?
		    "554 5.5.1 no valid recipients" : "503 5.5.1 MAIL first");
		return;
	}
	if ((s->msgfd = memfd_create("lmtp-message", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		lmtp_reply(s, "451 4.3.0 out of resources");
		return;
	}
	s->state = LS_DATA;
	s->bol = 1;
	lmtp_reply(s, "354 2.0.0 go ahead, end with <CRLF>.<CRLF>");
}

static void
lmtp_command(struct lmtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd *cmd;
	enum smtp_parse_error e;
	int	 code;

	cmd = xmalloc(sizeof(*cmd));
	e = smtp_cmd_parse(line, len, cmd);
	if (e != SMTP_PARSE_OK) {
		const char *why = smtp_parse_reply(e, &code);
		char	 r[128];

		snprintf(r, sizeof(r), "%d %s", code, why);
		lmtp_error(s, r);
		goto out;
	}
	if (cmd->verb == SMTP_CMD_UNKNOWN &&
	    strcmp(cmd->verbstr, "LHLO") == 0) {
		lmtp_txn_reset(s);
		s->state = LS_READY;
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
		    "250-8BITMIME\r\n250-XSEAL\r\n250 SMTPUTF8\r\n",
		    cfg->hostname);
		goto out;
	}
	if (cmd->verb == SMTP_CMD_UNKNOWN &&
	    strcmp(cmd->verbstr, "XSEAL") == 0) {
		lmtp_xseal(s, cmd);
		goto out;
	}
	switch (cmd->verb) {
	case SMTP_CMD_MAIL:
		lmtp_mail(s, cmd);
		break;
	case SMTP_CMD_RCPT:
		lmtp_rcpt(s, cmd);
		break;
	case SMTP_CMD_DATA:
		lmtp_data(s);
		break;
	case SMTP_CMD_RSET:
		lmtp_txn_reset(s);
		lmtp_reply(s, "250 2.0.0 reset");
		break;
	case SMTP_CMD_NOOP:
		lmtp_reply(s, "250 2.0.0 ok");
		break;
	case SMTP_CMD_QUIT:
		lmtp_reply(s, "221 2.0.0 bye");
		lmtp_close_after_write(s);
		break;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		lmtp_error(s, "500 5.5.1 this is LMTP: say LHLO");
		break;
	default:
		lmtp_error(s, "502 5.5.1 command not implemented");
		break;
	}
out:
	free(cmd);
}

static int
lmtp_flush_content(struct lmtp_session *s)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < s->out.len) {
		if ((n = write(s->msgfd, s->out.data + off,
		    s->out.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	buf_reset(&s->out);
	return 0;
}

/* Content ended: deliver to each recipient, one reply each. */
static void
lmtp_deliver(struct lmtp_session *s)
{
	struct mda_status st;
	int	 i, failed = lmtp_flush_content(s) == -1 || s->writefail;

	for (i = 0; i < s->nrcpt; i++) {
		if (failed) {
			lmtp_reply(s, "451 4.3.0 cannot store the message");
			continue;
		}
		if (s->toobig) {
			lmtp_reply(s, "552 5.3.4 message too big");
			continue;
		}
		mda_deliver(cfg, &s->rcpt[i], s->class, s->sender,
		    s->sealed ? s->qid : NULL, s->msgfd, &st);
		lmtp_reply(s, st.text);
	}
	lmtp_txn_reset(s);
}

/*
 * Take content from the input: lines are copied exactly, a leading dot
 * is removed (RFC 5321 4.5.2), and "." alone on a line ends it.
 * Returns 1 when the message ended.
 */
static int
lmtp_content(struct lmtp_session *s, struct evbuffer *in)
{
	struct evbuffer_ptr p;
	size_t	 eol, n, skip;
	char	 head[3];

	for (;;) {
		p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);
		if (p.pos == -1) {
			/* A long line without LF: take it, keep 2 bytes. */
			n = evbuffer_get_length(in);
			if (n < LMTP_CHUNK)
				return 0;
			n -= 2;
		} else
			n = (size_t)p.pos + eol;
		skip = 0;
		if (s->bol && evbuffer_copyout(in, head, 3) > 0 &&
		    head[0] == '.') {
			if ((n == 2 && head[1] == '\n') ||
			    (n == 3 && head[1] == '\r' && head[2] == '\n')) {
				evbuffer_drain(in, n);
				return 1;
			}
			skip = 1;
		}
		evbuffer_drain(in, skip);
		n -= skip;
		s->msgsize += n;
		if (s->msgsize > cfg->max_message_size + 65536)
			s->toobig = 1;
		if (s->toobig) {
			evbuffer_drain(in, n);
		} else {
			if (buf_add(&s->out, evbuffer_pullup(in, (ssize_t)n),
			    n) == -1)
				log_panic("lmtp: content buffer");
			evbuffer_drain(in, n);
			if (s->out.len >= LMTP_CHUNK &&
			    lmtp_flush_content(s) == -1) {
				/* reported per recipient at the end */
				s->writefail = 1;
				buf_reset(&s->out);
			}
		}
		s->bol = p.pos != -1;
	}
}

static void
lmtp_read(struct bufferevent *bev, void *arg)
{
	struct lmtp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t	 len;
	char	*line;

	while (!s->waiting && !s->closing) {
		if (s->state == LS_DATA) {
			if (!lmtp_content(s, in))
				return;
			lmtp_deliver(s);
			continue;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTP_CMD_LINE_MAX) {
				lmtp_reply(s, "500 5.5.6 line too long");
				lmtp_close_after_write(s);
			}
			return;
		}
		lmtp_command(s, line, len);
		free(line);
	}
}

static void
lmtp_write(struct bufferevent *bev, void *arg)
{
	struct lmtp_session *s = arg;

	if (s->closing)
		lmtp_free(s);
}

static void
lmtp_event(struct bufferevent *bev, short what, void *arg)
{
	lmtp_free(arg);
}

static void
lmtp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct lmtp_session *s;
	struct timeval tv = { LMTP_TIMEOUT, 0 };
	pid_t	 pid;

	if (nsessions >= cfg->lmtp_max_sessions) {
		/* a short line into a fresh socket: it does not block */
		(void)send(fd, lmtp_busy, sizeof(lmtp_busy) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		log_warnx("refused a session: %d running (lmtp_max_sessions)",
		    nsessions);
		return;
	}
	nsessions++;
	s = xcalloc(1, sizeof(*s));
	s->id = next_id++;
	s->msgfd = -1;
	s->uid = (uid_t)-1;
	if (net_peercred(fd, &s->uid, &pid) == 0)
		s->trusted = s->uid == 0 || s->uid == trusted_uid;
	buf_init(&s->out, LMTP_CHUNK * 2);
	s->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, lmtp_read, lmtp_write, lmtp_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->next = sessions;
	sessions = s;
	log_debug("session=%u uid=%u trusted=%d", s->id, (unsigned)s->uid,
	    s->trusted);
	evbuffer_add_printf(bufferevent_get_output(s->bev),
	    "220 %s LMTP Sealmail mda\r\n", cfg->hostname);
}

/* The parent's answer to a recipient lookup. */
static void
lmtp_parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct lmtp_session *s;
	struct mda_rcpt r;
	const char *user, *tag, *text;
	uint32_t ua, sa, sh, code;
	uint64_t quota;

	(void)c;
	(void)arg;
	for (s = sessions; s != NULL && (s->id != m->id || !s->waiting);
	    s = s->next)
		;
	memset(&r, 0, sizeof(r));
	if (m->type == IPC_OK) {
		if (ipc_get_str(m, &user) == -1 || ipc_get_u32(m, &ua) == -1 ||
		    ipc_get_u32(m, &sa) == -1 || ipc_get_u32(m, &sh) == -1 ||
		    ipc_get_str(m, &tag) == -1 ||
		    ipc_get_u64(m, &quota) == -1 || ipc_get_end(m) == -1)
			fatalx("mda.lmtp: bad lookup answer");
		if (s == NULL)
			return;
		snprintf(r.rcpt, sizeof(r.rcpt), "%s", s->pending);
		snprintf(r.user, sizeof(r.user), "%s", user);
		snprintf(r.subject_tag, sizeof(r.subject_tag), "%s", tag);
		r.unsafe_mailbox = ua != 0;
		r.strip_attachments = sa != 0;
		r.strip_html = sh != 0;
		r.quota_bytes = quota;
		s->rcpt = xreallocarray(s->rcpt, (size_t)s->nrcpt + 1,
		    sizeof(*s->rcpt));
		s->rcpt[s->nrcpt++] = r;
		lmtp_reply(s, "250 2.1.5 recipient ok");
	} else if (m->type == IPC_ERR) {
		if (ipc_get_u32(m, &code) == -1 ||
		    ipc_get_str(m, &text) == -1 || ipc_get_end(m) == -1)
			fatalx("mda.lmtp: bad lookup answer");
		if (s == NULL)
			return;
		lmtp_reply(s, text);
	} else
		fatalx("mda.lmtp: unexpected message type %u", m->type);
	s->waiting = 0;
	bufferevent_enable(s->bev, EV_READ);
	lmtp_read(s->bev, s);
}

void
lmtp_main(const struct sm_config *c, int lfd, int ipcfd, uid_t trusted)
{
	struct event_base *base;

	cfg = c;
	trusted_uid = trusted;
	base = event_base_new();
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ipcfd, lmtp_parent_dispatch, NULL, NULL);
	if (evconnlistener_new(base, lmtp_accept, NULL, LEV_OPT_CLOSE_ON_FREE,
	    -1, lfd) == NULL)
		fatalx("evconnlistener_new");
	event_base_dispatch(base);
	exit(0);
}
