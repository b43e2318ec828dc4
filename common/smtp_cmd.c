/*
 * smtp_cmd.c - the session engine's commands: HELO/EHLO (LHLO in LMTP
 * mode), MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, HELP, STARTTLS,
 * and the caller's verbs through the command hook; the transaction state
 * they build, and the facts about session and transaction that hooks
 * read.
 *
 * Runs where smtp.c runs (unprivileged, chrooted receivers, mda.lmtp) on
 * lines the parser (smtp_parse.c) has already checked; what is enforced
 * here is the order of commands (RFC 5321 4.1.4), the MAIL parameters
 * announced by EHLO and the per-transaction limits.
 */
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

#include "log.h"
#include "smtp.h"
#include "smtp_int.h"
#include "tls.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* the transaction */

void
smtp_txn_reset(struct smtp_session *s)
{
	int	 had = s->in_txn;

	s->in_txn = 0;
	s->from[0] = '\0';
	s->nrcpt = 0;
	s->smtputf8 = 0;
	s->body8bit = 0;
	s->sessid[0] = '\0';
	s->used_bdat = 0;
	s->datafd = -1;
	s->msgsize = 0;
	s->cerr = 0;
	if (s->phase > SMTP_PHASE_HELO)
		s->phase = SMTP_PHASE_HELO;
	if (had && s->h->txn_reset != NULL)
		s->h->txn_reset(s, s->arg);
}

/* A hook's command began the transaction: txn_reset will say its end. */
void
smtp_txn_open(struct smtp_session *s)
{
	s->in_txn = 1;
}

/* Check MAIL parameters against what EHLO announced. */
static int
mail_params(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct smtp_param	*pr;
	unsigned long long	 sz;
	char			*end;
	int			 i;

	for (i = 0; i < c->nparams; i++) {
		pr = &c->params[i];
		if (!s->esmtp) {
			smtp_reply_fixed(s, 555, "5.5.4 Parameters need EHLO");
			return -1;
		}
		if (strcmp(pr->key, "SIZE") == 0 && pr->value != NULL) {
			errno = 0;
			sz = strtoull(pr->value, &end, 10);
			if (*end != '\0' || errno != 0 || pr->value[0] == '-') {
				smtp_reply_fixed(s, 501, "5.5.4 Bad SIZE");
				return -1;
			}
			if (s->p->max_message_size != 0 &&
			    sz > s->p->max_message_size) {
				smtp_reply_fixed(s, 552, "5.3.4 Message size "
				    "exceeds fixed limit");
				return -1;
			}
		} else if (strcmp(pr->key, "BODY") == 0 && pr->value != NULL) {
			if (strcasecmp(pr->value, "8BITMIME") == 0)
				s->body8bit = 1;
			else if (strcasecmp(pr->value, "7BIT") != 0) {
				smtp_reply_fixed(s, 555,
				    "5.5.4 Unsupported BODY");
				return -1;
			}
		} else if (strcmp(pr->key, "SMTPUTF8") == 0 &&
		    pr->value == NULL)
			s->smtputf8 = 1;
		else if (strcmp(pr->key, "REQUIRETLS") == 0 &&
		    pr->value == NULL && s->p->requiretls && !s->p->lmtp) {
			if (!s->tls) {	/* RFC 8689 4.1 */
				smtp_reply_fixed(s, 530,
				    "5.7.10 REQUIRETLS needs TLS");
				return -1;
			}
			s->requiretls = 1;
		} else if (strcmp(pr->key, "SESSID") == 0 && s->p->callback &&
		    !s->p->lmtp) {
			if (pr->value == NULL ||
			    !smtp_sessid_valid(pr->value)) {
				smtp_reply_fixed(s, 501, "5.5.4 SESSID must be "
				    "64 lowercase hex digits");
				return -1;
			}
			memcpy(s->sessid, pr->value, SMTP_SESSID_LEN + 1);
		} else if (strcmp(pr->key, "AUTH") == 0 && pr->value != NULL &&
		    !s->p->lmtp && (strcmp(pr->value, "<>") == 0 ||
		    smtp_xtext_valid(pr->value)))
			;	/* RFC 4954 5: the hook may look at it */
		else {
			smtp_reply_fixed(s, 555, "5.5.4 Unsupported parameter");
			return -1;
		}
	}
	if (c->utf8path && !s->smtputf8) {
		smtp_reply_fixed(s, 553,
		    "5.6.7 Non-ASCII address needs SMTPUTF8");
		return -1;
	}
	return 0;
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->phase == SMTP_PHASE_INIT) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->phase != SMTP_PHASE_HELO) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: nested MAIL command");
		return;
	}
	s->smtputf8 = s->body8bit = s->requiretls = 0;
	s->sessid[0] = '\0';
	if (mail_params(s, c) == -1) {
		s->sessid[0] = '\0';
		return;
	}
	snprintf(s->from, sizeof(s->from), "%s", c->path);
	s->pending = PEND_MAIL;
	if (s->h->mail != NULL)
		s->h->mail(s, s->from, c, s->arg);
	else
		smtp_reply(s, 250, "2.1.0 Ok");
}

static void
cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->phase < SMTP_PHASE_MAIL) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: need MAIL command");
		return;
	}
	if (c->nparams > 0) {
		smtp_reply_fixed(s, 555, "5.5.4 Unsupported parameter");
		return;
	}
	if (c->utf8path && !s->smtputf8) {
		smtp_reply_fixed(s, 553,
		    "5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (s->p->max_rcpt > 0 && s->nrcpt >= s->p->max_rcpt) {
		smtp_reply_fixed(s, 452, "4.5.3 Error: too many recipients");
		return;
	}
	s->pending = PEND_RCPT;
	if (s->h->rcpt != NULL)
		s->h->rcpt(s, c->path, c, s->arg);
	else
		smtp_reply(s, 250, "2.1.5 Ok");
}

static int
content_begin(struct smtp_session *s)
{
	s->datafd = s->h->data_begin != NULL ?
	    s->h->data_begin(s, s->arg) : -1;
	if (s->datafd == -1)
		return -1;
	s->msgsize = 0;
	s->discarded = 0;
	s->linelen = 0;
	s->cstate = CS_BOL;
	s->cerr = 0;
	return 0;
}

static void
cmd_data(struct smtp_session *s)
{
	if (s->phase < SMTP_PHASE_MAIL) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: need MAIL command");
		return;
	}
	if (s->phase < SMTP_PHASE_RCPT) {
		smtp_reply_fixed(s, 554, "5.5.1 Error: no valid recipients");
		return;
	}
	if (s->used_bdat) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: DATA after BDAT");
		return;
	}
	if (content_begin(s) == -1) {
		smtp_reply_fixed(s, 451,
		    "4.3.0 Error: cannot store the message");
		smtp_txn_reset(s);
		return;
	}
	smtp_put_line(s, "354 End data with <CR><LF>.<CR><LF>");
	s->mode = MODE_DATA;
}

static void
cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	/*
	 * A chunk that alone is over the size limit would have to be read
	 * to the end to stay in step with the client: refuse and hang up.
	 */
	if (s->p->max_message_size != 0 &&
	    c->chunk_size > s->p->max_message_size) {
		smtp_close(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	s->chunk_left = c->chunk_size;
	s->chunk_last = c->chunk_last;
	s->chunk_refuse = 0;
	s->mode = MODE_BDAT;
	/* refused or not, the chunk's bytes must be read (RFC 3030 2) */
	if (s->phase < SMTP_PHASE_RCPT) {
		s->chunk_refuse = 1;
		s->chunk_refuse_code = s->phase < SMTP_PHASE_MAIL ? 503 : 554;
		s->chunk_refuse_text = s->phase < SMTP_PHASE_MAIL ?
		    "5.5.1 Error: need MAIL command" :
		    "5.5.1 Error: no valid recipients";
	} else if (!s->used_bdat) {
		s->used_bdat = 1;
		if (content_begin(s) == -1) {
			s->chunk_refuse = 1;
			s->chunk_refuse_code = 451;
			s->chunk_refuse_text =
			    "4.3.0 Error: cannot store the message";
			smtp_txn_reset(s);
		}
	}
}

static void
cmd_starttls(struct smtp_session *s)
{
	struct bufferevent	*tbev;

	if (s->p->tls_ctx == NULL || s->p->lmtp) {
		smtp_reply_fixed(s, 502,
		    "5.5.1 Error: command not implemented");
		return;
	}
	if (s->tls) {
		smtp_reply_fixed(s, 503, "5.5.1 Error: TLS already active");
		return;
	}
	if (s->phase > SMTP_PHASE_HELO) {
		smtp_reply_fixed(s, 503,
		    "5.5.1 Error: transaction in progress");
		return;
	}
	smtp_put_line(s, "220 2.0.0 Ready to start TLS");
	/* starttls drops what the client pipelined after STARTTLS */
	if ((tbev = s->p->tls->starttls(s->bev, s->p->tls_ctx, 1, NULL)) ==
	    NULL) {
		smtp_close(s, "454 4.7.0 TLS not available");
		return;
	}
	s->bev = tbev;
	s->starttls_pending = 1;
	/* RFC 3207 4.2: forget everything learnt before TLS */
	smtp_txn_reset(s);
	s->phase = SMTP_PHASE_INIT;
	s->esmtp = 0;
	s->helo[0] = '\0';
}


static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *c, int esmtp)
{
	smtp_txn_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", c->arg);
	s->esmtp = esmtp;
	s->pending = PEND_HELO;
	if (s->h->helo != NULL)
		s->h->helo(s, s->helo, esmtp, s->arg);
	else
		smtp_reply(s, 250, "2.0.0 Ok");
}

/* HELO, EHLO or LHLO: the one the mode wants. */
static void
cmd_hello(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->p->lmtp && c->verb != SMTP_CMD_LHLO)
		smtp_reply_fixed(s, 500, "5.5.1 Error: this is LMTP, say LHLO");
	else if (!s->p->lmtp && c->verb == SMTP_CMD_LHLO)
		smtp_reply_fixed(s, 500, "5.5.2 Error: command not "
		    "recognized");
	else
		cmd_helo(s, c, c->verb != SMTP_CMD_HELO);
}

/* A verb for the command hook (AUTH, XSEAL), or one nobody knows. */
static void
cmd_other(struct smtp_session *s, const struct smtp_cmd *c)
{
	/* LMTP has no AUTH: the peer is a local process */
	if (!(s->p->lmtp && c->verb == SMTP_CMD_AUTH)) {
		s->pending = PEND_CMD;
		if (s->h->command != NULL && s->h->command(s, c, s->arg) == 0)
			return;
		s->pending = PEND_NONE;
	}
	if (c->verb == SMTP_CMD_UNKNOWN)
		smtp_reply_fixed(s, 500, "5.5.2 Error: command not "
		    "recognized");
	else
		smtp_reply_fixed(s, 502, "5.5.1 Error: command not "
		    "implemented");
}

void
smtp_cmd_line(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd		*c;
	enum smtp_parse_error	 e;
	const char		*text;
	int			 code;

	/* a session that never sends a command does not pay for one */
	if (s->cmd == NULL)
		s->cmd = xcalloc(1, sizeof(*s->cmd));
	c = s->cmd;

	e = smtp_cmd_parse(line, len, c);
	log_debug("smtp %016llx <<< %.*s", (unsigned long long)s->id,
	    c->verb == SMTP_CMD_AUTH ? 4 : (int)len, line);
	if (s->p->max_commands > 0 && ++s->ncommands > s->p->max_commands) {
		smtp_close(s, "421 4.7.0 Error: too many commands");
		return;
	}
	if (e != SMTP_PARSE_OK) {
		text = smtp_parse_reply(e, &code);
		smtp_reply_fixed(s, code, text);
		return;
	}
	switch (c->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
	case SMTP_CMD_LHLO:
		cmd_hello(s, c);
		break;
	case SMTP_CMD_MAIL:
		cmd_mail(s, c);
		break;
	case SMTP_CMD_RCPT:
		cmd_rcpt(s, c);
		break;
	case SMTP_CMD_DATA:
		cmd_data(s);
		break;
	case SMTP_CMD_BDAT:
		cmd_bdat(s, c);
		break;
	case SMTP_CMD_RSET:
		smtp_txn_reset(s);
		smtp_reply_fixed(s, 250, "2.0.0 Ok");
		break;
	case SMTP_CMD_NOOP:
		smtp_reply_fixed(s, 250, "2.0.0 Ok");
		break;
	case SMTP_CMD_QUIT:
		smtp_close(s, "221 2.0.0 Bye");
		break;
	case SMTP_CMD_VRFY:
		smtp_reply_fixed(s, 252,
		    "2.5.0 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		break;
	case SMTP_CMD_HELP:
		smtp_reply_fixed(s, 214, "2.0.0 See RFC 5321");
		break;
	case SMTP_CMD_STARTTLS:
		cmd_starttls(s);
		break;
	case SMTP_CMD_EXPN:
	case SMTP_CMD_AUTH:
	case SMTP_CMD_UNKNOWN:
		cmd_other(s, c);
		break;
	}
	explicit_bzero(c->line, len);
}

/* ------------------------------------------------------------------ */
/* facts */

const char *
smtp_peer(const struct smtp_session *s)
{
	return s->peer;
}

void
smtp_set_peer(struct smtp_session *s, const char *peer)
{
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
}

const char *
smtp_helo_name(const struct smtp_session *s)
{
	return s->helo;
}

const char *
smtp_mail_from(const struct smtp_session *s)
{
	return s->from;
}

int
smtp_is_esmtp(const struct smtp_session *s)
{
	return s->esmtp;
}

int
smtp_is_tls(const struct smtp_session *s)
{
	return s->tls;
}

/* The transaction's MAIL asked for REQUIRETLS (RFC 8689). */
int
smtp_requiretls(const struct smtp_session *s)
{
	return s->requiretls;
}

int
smtp_tls_info(const struct smtp_session *s, char *proto, size_t plen,
    char *cipher, size_t clen)
{
	if (!s->tls)
		return -1;
	return s->p->tls->info(s->bev, proto, plen, cipher, clen);
}

int
smtp_tls_client_cert(const struct smtp_session *s, char *subject, size_t len,
    int *verified)
{
	*verified = 0;
	if (!s->tls)
		return 0;
	return s->p->tls->client_cert(s->bev, subject, len, verified);
}

int
smtp_rcpt_count(const struct smtp_session *s)
{
	return s->nrcpt;
}

enum smtp_phase
smtp_phase(const struct smtp_session *s)
{
	return s->phase;
}

int
smtp_is_8bit(const struct smtp_session *s)
{
	return s->body8bit;
}

int
smtp_is_smtputf8(const struct smtp_session *s)
{
	return s->smtputf8;
}

uint64_t
smtp_session_id(const struct smtp_session *s)
{
	return s->id;
}

/*
 * The sending session's ID that this transaction's MAIL carried
 * (SESSID=, the callback), or NULL.
 */
const char *
smtp_sessid(const struct smtp_session *s)
{
	return s->sessid[0] != '\0' ? s->sessid : NULL;
}

/*
 * The session's two ends: where the client connected from and where it
 * reached us (the callback asks the one from the other).  -1 when they
 * are not IPv4 or IPv6 (a unix socket) or cannot be had.
 */
int
smtp_sockaddrs(const struct smtp_session *s, struct sockaddr_storage *peer_r,
    struct sockaddr_storage *local_r)
{
	socklen_t	 len;
	int		 fd;

	if (s->bev == NULL || (fd = bufferevent_getfd(s->bev)) == -1)
		return -1;
	len = sizeof(*peer_r);
	if (getpeername(fd, (struct sockaddr *)peer_r, &len) == -1)
		return -1;
	len = sizeof(*local_r);
	if (getsockname(fd, (struct sockaddr *)local_r, &len) == -1)
		return -1;
	return peer_r->ss_family == AF_INET || peer_r->ss_family == AF_INET6 ?
	    0 : -1;
}

/* Is v a session ID as SESSID= carries it: 64 lowercase hex digits? */
int
smtp_sessid_valid(const char *v)
{
	size_t	 i;

	for (i = 0; i < SMTP_SESSID_LEN; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	return v[i] == '\0';
}
