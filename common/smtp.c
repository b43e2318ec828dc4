/*
 * smtp.c - the ESMTP server engine: one state machine per client session
 * on libevent, with the caller's policy in hooks; see smtp.h.
 *
 * Runs in the unprivileged, chrooted receivers of smtpd and submitd and
 * parses raw network input, so every read is bounded: command lines by
 * SMTP_CMD_LINE_MAX, buffered input by a read high-water mark, message
 * content by max_message_size (content is streamed to the caller's fd,
 * never held in memory), sessions by errors, commands and timeouts.  The
 * command parser is apart, in smtp_parse.c.
 *
 * Input handling: smtp_process() takes input only while no answer is
 * outstanding (a hook has not yet called smtp_reply()), so pipelined
 * commands are answered strictly in order.  Content (DATA and BDAT) goes
 * through one byte-level state machine, content_feed(), which removes
 * dot-stuffing, finds the end of DATA only at CRLF "." CRLF and flags bare
 * CR and bare LF so the message is refused, not normalised.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "buf.h"
#include "log.h"
#include "smtp.h"
#include "tls.h"
#include "xmalloc.h"

#define SMTP_INPUT_HIWAT	(256 * 1024)
#define SMTP_CHUNK		16384

enum smtp_phase {
	PH_INIT,		/* greeted, no HELO yet */
	PH_HELO,		/* HELO/EHLO done, no transaction */
	PH_MAIL,		/* sender accepted */
	PH_RCPT			/* at least one recipient accepted */
};

enum smtp_pending {
	PEND_NONE,
	PEND_HELO,
	PEND_MAIL,
	PEND_RCPT,
	PEND_DATAEND,
	PEND_CMD,		/* a caller's command (AUTH) */
	PEND_LINE		/* smtp_challenge: waiting for the client */
};

enum smtp_mode {
	MODE_GREETING,		/* nothing may be read yet */
	MODE_CMD,
	MODE_DATA,
	MODE_BDAT,
	MODE_SKIPLINE		/* discarding the rest of a too long line */
};

/* content_feed() states */
enum content_state {
	CS_BOL,			/* at the start of a line (after CRLF) */
	CS_LINE,
	CS_CR,			/* CR seen */
	CS_DOT,			/* "." at the start of a line */
	CS_DOTCR		/* ".\r" at the start of a line */
};

#define CERR_SIZE	0x01
#define CERR_BARE	0x02
#define CERR_LINE	0x04
#define CERR_IO		0x08

struct smtp_session {
	uint64_t		 id;
	struct event_base	*base;
	struct bufferevent	*bev;
	struct event		*greet_ev;
	struct event		*resume_ev;
	const struct smtp_params *p;
	const struct smtp_hooks	*h;
	void			*arg;

	char			 peer[NI_MAXHOST];
	char			 helo[SMTP_DOMAIN_MAX + 1];
	int			 esmtp;
	int			 tls;
	int			 starttls_pending;

	enum smtp_phase		 phase;
	enum smtp_pending	 pending;
	enum smtp_mode		 mode;
	int			 closing;
	int			 in_process;
	int			 freed_guard;
	int			 dead;		/* free when unwound */
	int			 tls_cb_set;
	int			 linger;	/* closing, output pending */
	int			 errors;
	int			 ncommands;

	/* the transaction */
	int			 in_txn;
	char			 from[SMTP_PATH_MAX + 1];
	int			 nrcpt;
	int			 smtputf8;
	int			 body8bit;
	int			 used_bdat;
	int			 datafd;
	size_t			 msgsize;
	size_t			 linelen;
	enum content_state	 cstate;
	int			 cerr;
	uint64_t		 chunk_left;
	int			 chunk_last;
	int			 chunk_refuse;	/* bytes to discard, reply */
	const char		*chunk_refuse_text;
	int			 chunk_refuse_code;

	void			(*line_cb)(struct smtp_session *,
				    const char *, void *);
	struct smtp_cmd		 cmd;
};

static void	smtp_process(struct smtp_session *);
static void	smtp_free(struct smtp_session *);
static void	smtp_free_later(struct smtp_session *);
static void	txn_reset(struct smtp_session *);

static uint64_t	 smtp_next_id;

/* ------------------------------------------------------------------ */

static void
put_line(struct smtp_session *s, const char *line)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);

	evbuffer_add_printf(out, "%s\r\n", line);
	log_debug("smtp %016llx >>> %s", (unsigned long long)s->id, line);
}

static void
schedule(struct smtp_session *s)
{
	if (!s->in_process)
		event_active(s->resume_ev, EV_TIMEOUT, 1);
}

/*
 * End the session: the reply line (if any) goes out, then the socket is
 * closed once the output has drained.
 */
void
smtp_close(struct smtp_session *s, const char *line)
{
	if (s->closing)
		return;
	if (line != NULL)
		put_line(s, line);
	s->closing = 1;
	s->pending = PEND_NONE;
	bufferevent_disable(s->bev, EV_READ);
	schedule(s);
}

static void
count_error(struct smtp_session *s)
{
	if (s->p->max_errors > 0 && ++s->errors >= s->p->max_errors) {
		log_info("smtp %016llx peer=%s too many errors",
		    (unsigned long long)s->id, s->peer);
		smtp_close(s, "421 4.7.0 Error: too many errors");
	}
}

static void
reply_fixed(struct smtp_session *s, int code, const char *text)
{
	char	 line[600];

	snprintf(line, sizeof(line), "%d %s", code, text);
	put_line(s, line);
	if (code >= 400)
		count_error(s);
}

static void
add_ehlo_line(struct smtp_session *s, const char *kw)
{
	char	 line[512];

	if (strlen(kw) > 400 || strpbrk(kw, "\r\n") != NULL)
		log_panic("smtp: bad EHLO keyword from hook");
	snprintf(line, sizeof(line), "250-%s", kw);
	put_line(s, line);
}

static void
send_ehlo(struct smtp_session *s)
{
	char	 line[512];

	if (!s->esmtp) {
		snprintf(line, sizeof(line), "250 %s", s->p->hostname);
		put_line(s, line);
		return;
	}
	snprintf(line, sizeof(line), "250-%s Hello %s", s->p->hostname,
	    s->helo);
	put_line(s, line);
	put_line(s, "250-PIPELINING");
	snprintf(line, sizeof(line), "250-SIZE %zu", s->p->max_message_size);
	put_line(s, line);
	put_line(s, "250-8BITMIME");
	put_line(s, "250-ENHANCEDSTATUSCODES");
	if (s->p->tls_ctx != NULL && !s->tls)
		put_line(s, "250-STARTTLS");
	put_line(s, "250-SMTPUTF8");
	if (s->h->ehlo_keywords != NULL)
		s->h->ehlo_keywords(s, add_ehlo_line, s->arg);
	put_line(s, "250 CHUNKING");
}

/*
 * The answer to the outstanding command, from the engine or a hook.  The
 * text starts with the RFC 3463 code ("2.1.5 Ok").  Calling it with no
 * answer outstanding is a broken invariant in the caller.
 */
void
smtp_reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	char			 text[512];
	va_list			 ap;
	enum smtp_pending	 pend = s->pending;

	if (s->closing)
		return;
	if (pend == PEND_NONE || pend == PEND_LINE)
		log_panic("smtp_reply with no command outstanding");
	if (code < 200 || code > 599)
		log_panic("smtp_reply: bad code %d", code);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* a hook's text must not be able to break the reply framing */
	text[strcspn(text, "\r\n")] = '\0';
	s->pending = PEND_NONE;

	if (pend == PEND_HELO && code / 100 == 2) {
		s->phase = PH_HELO;
		send_ehlo(s);
	} else {
		reply_fixed(s, code, text);
		if (code / 100 == 2) {
			if (pend == PEND_MAIL) {
				s->phase = PH_MAIL;
				s->in_txn = 1;
			} else if (pend == PEND_RCPT) {
				s->phase = PH_RCPT;
				s->nrcpt++;
			}
		}
		if (pend == PEND_MAIL && code / 100 != 2)
			s->from[0] = '\0';
		if (pend == PEND_DATAEND)
			txn_reset(s);
		if (code == 421)
			smtp_close(s, NULL);
	}
	schedule(s);
}

void
smtp_challenge(struct smtp_session *s, const char *text,
    void (*cb)(struct smtp_session *, const char *, void *))
{
	char	 line[SMTP_CMD_LINE_MAX];

	if (s->closing)
		return;
	if (s->pending != PEND_CMD)
		log_panic("smtp_challenge outside a command");
	snprintf(line, sizeof(line), "334 %s", text);
	line[strcspn(line, "\r\n")] = '\0';
	put_line(s, line);
	s->line_cb = cb;
	s->pending = PEND_LINE;
	schedule(s);
}

/* ------------------------------------------------------------------ */
/* the transaction */

static void
txn_reset(struct smtp_session *s)
{
	int	 had = s->in_txn;

	s->in_txn = 0;
	s->from[0] = '\0';
	s->nrcpt = 0;
	s->smtputf8 = 0;
	s->body8bit = 0;
	s->used_bdat = 0;
	s->datafd = -1;
	s->msgsize = 0;
	s->cerr = 0;
	if (s->phase > PH_HELO)
		s->phase = PH_HELO;
	if (had && s->h->txn_reset != NULL)
		s->h->txn_reset(s, s->arg);
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
			reply_fixed(s, 555, "5.5.4 Parameters need EHLO");
			return -1;
		}
		if (strcmp(pr->key, "SIZE") == 0 && pr->value != NULL) {
			errno = 0;
			sz = strtoull(pr->value, &end, 10);
			if (*end != '\0' || errno != 0 || pr->value[0] == '-') {
				reply_fixed(s, 501, "5.5.4 Bad SIZE");
				return -1;
			}
			if (s->p->max_message_size != 0 &&
			    sz > s->p->max_message_size) {
				reply_fixed(s, 552, "5.3.4 Message size "
				    "exceeds fixed limit");
				return -1;
			}
		} else if (strcmp(pr->key, "BODY") == 0 && pr->value != NULL) {
			if (strcasecmp(pr->value, "8BITMIME") == 0)
				s->body8bit = 1;
			else if (strcasecmp(pr->value, "7BIT") != 0) {
				reply_fixed(s, 555, "5.5.4 Unsupported BODY");
				return -1;
			}
		} else if (strcmp(pr->key, "SMTPUTF8") == 0 &&
		    pr->value == NULL)
			s->smtputf8 = 1;
		else if (strcmp(pr->key, "AUTH") == 0 && pr->value != NULL &&
		    (strcmp(pr->value, "<>") == 0 ||
		    smtp_xtext_valid(pr->value)))
			;	/* RFC 4954 5: the hook may look at it */
		else {
			reply_fixed(s, 555, "5.5.4 Unsupported parameter");
			return -1;
		}
	}
	if (c->utf8path && !s->smtputf8) {
		reply_fixed(s, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		return -1;
	}
	return 0;
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->phase == PH_INIT) {
		reply_fixed(s, 503, "5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->phase != PH_HELO) {
		reply_fixed(s, 503, "5.5.1 Error: nested MAIL command");
		return;
	}
	s->smtputf8 = s->body8bit = 0;
	if (mail_params(s, c) == -1)
		return;
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
	if (s->phase < PH_MAIL) {
		reply_fixed(s, 503, "5.5.1 Error: need MAIL command");
		return;
	}
	if (c->nparams > 0) {
		reply_fixed(s, 555, "5.5.4 Unsupported parameter");
		return;
	}
	if (c->utf8path && !s->smtputf8) {
		reply_fixed(s, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (s->p->max_rcpt > 0 && s->nrcpt >= s->p->max_rcpt) {
		reply_fixed(s, 452, "4.5.3 Error: too many recipients");
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
	s->linelen = 0;
	s->cstate = CS_BOL;
	s->cerr = 0;
	return 0;
}

static void
cmd_data(struct smtp_session *s)
{
	if (s->phase < PH_MAIL) {
		reply_fixed(s, 503, "5.5.1 Error: need MAIL command");
		return;
	}
	if (s->phase < PH_RCPT) {
		reply_fixed(s, 554, "5.5.1 Error: no valid recipients");
		return;
	}
	if (s->used_bdat) {
		reply_fixed(s, 503, "5.5.1 Error: DATA after BDAT");
		return;
	}
	if (content_begin(s) == -1) {
		reply_fixed(s, 451, "4.3.0 Error: cannot store the message");
		txn_reset(s);
		return;
	}
	put_line(s, "354 End data with <CR><LF>.<CR><LF>");
	s->mode = MODE_DATA;
	bufferevent_set_timeouts(s->bev, &(struct timeval){
	    s->p->timeout_data, 0 }, &(struct timeval){ s->p->timeout_data,
	    0 });
}

static void
cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	s->chunk_left = c->chunk_size;
	s->chunk_last = c->chunk_last;
	s->chunk_refuse = 0;
	s->mode = MODE_BDAT;
	/* refused or not, the chunk's bytes must be read (RFC 3030 2) */
	if (s->phase < PH_RCPT) {
		s->chunk_refuse = 1;
		s->chunk_refuse_code = s->phase < PH_MAIL ? 503 : 554;
		s->chunk_refuse_text = s->phase < PH_MAIL ?
		    "5.5.1 Error: need MAIL command" :
		    "5.5.1 Error: no valid recipients";
	} else if (!s->used_bdat) {
		s->used_bdat = 1;
		if (content_begin(s) == -1) {
			s->chunk_refuse = 1;
			s->chunk_refuse_code = 451;
			s->chunk_refuse_text =
			    "4.3.0 Error: cannot store the message";
			txn_reset(s);
		}
	}
}

static void
cmd_starttls(struct smtp_session *s)
{
	struct bufferevent	*tbev;

	if (s->p->tls_ctx == NULL) {
		reply_fixed(s, 502, "5.5.1 Error: command not implemented");
		return;
	}
	if (s->tls) {
		reply_fixed(s, 503, "5.5.1 Error: TLS already active");
		return;
	}
	if (s->phase > PH_HELO) {
		reply_fixed(s, 503, "5.5.1 Error: transaction in progress");
		return;
	}
	put_line(s, "220 2.0.0 Ready to start TLS");
	/* tls_starttls() drops what the client pipelined after STARTTLS */
	if ((tbev = tls_starttls(s->bev, s->p->tls_ctx, 1, NULL)) == NULL) {
		smtp_close(s, "454 4.7.0 TLS not available");
		return;
	}
	s->bev = tbev;
	s->starttls_pending = 1;
	/* RFC 3207 4.2: forget everything learnt before TLS */
	txn_reset(s);
	s->phase = PH_INIT;
	s->esmtp = 0;
	s->helo[0] = '\0';
}

static void	smtp_readcb(struct bufferevent *, void *);
static void	smtp_writecb(struct bufferevent *, void *);
static void	smtp_eventcb(struct bufferevent *, short, void *);

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *c, int esmtp)
{
	txn_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", c->arg);
	s->esmtp = esmtp;
	s->pending = PEND_HELO;
	if (s->h->helo != NULL)
		s->h->helo(s, s->helo, esmtp, s->arg);
	else
		smtp_reply(s, 250, "2.0.0 Ok");
}

static void
smtp_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd		*c = &s->cmd;
	enum smtp_parse_error	 e;
	const char		*text;
	int			 code;

	e = smtp_cmd_parse(line, len, c);
	log_debug("smtp %016llx <<< %.*s", (unsigned long long)s->id,
	    c->verb == SMTP_CMD_AUTH ? 4 : (int)len, line);
	if (s->p->max_commands > 0 && ++s->ncommands > s->p->max_commands) {
		smtp_close(s, "421 4.7.0 Error: too many commands");
		return;
	}
	if (e != SMTP_PARSE_OK) {
		text = smtp_parse_reply(e, &code);
		reply_fixed(s, code, text);
		return;
	}
	switch (c->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		cmd_helo(s, c, c->verb == SMTP_CMD_EHLO);
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
		txn_reset(s);
		reply_fixed(s, 250, "2.0.0 Ok");
		break;
	case SMTP_CMD_NOOP:
		reply_fixed(s, 250, "2.0.0 Ok");
		break;
	case SMTP_CMD_QUIT:
		smtp_close(s, "221 2.0.0 Bye");
		break;
	case SMTP_CMD_VRFY:
		reply_fixed(s, 252, "2.5.0 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		break;
	case SMTP_CMD_HELP:
		reply_fixed(s, 214, "2.0.0 See RFC 5321");
		break;
	case SMTP_CMD_STARTTLS:
		cmd_starttls(s);
		break;
	case SMTP_CMD_EXPN:
	case SMTP_CMD_AUTH:
	case SMTP_CMD_UNKNOWN:
		s->pending = PEND_CMD;
		if (s->h->command != NULL && s->h->command(s, c, s->arg) == 0)
			break;
		s->pending = PEND_NONE;
		if (c->verb == SMTP_CMD_UNKNOWN)
			reply_fixed(s, 500, "5.5.2 Error: command not "
			    "recognized");
		else
			reply_fixed(s, 502, "5.5.1 Error: command not "
			    "implemented");
		break;
	}
	explicit_bzero(c->line, len);
}

/* ------------------------------------------------------------------ */
/* content: DATA and BDAT */

static void
content_write(struct smtp_session *s, const char *p, size_t n)
{
	ssize_t	 w;

	if (n == 0 || s->cerr & (CERR_SIZE | CERR_IO))
		return;
	s->msgsize += n;
	if (s->p->max_message_size != 0 && s->msgsize > s->p->max_message_size) {
		s->cerr |= CERR_SIZE;
		return;
	}
	while (n > 0) {
		if ((w = write(s->datafd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("smtp %016llx: message write",
			    (unsigned long long)s->id);
			s->cerr |= CERR_IO;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Feed content bytes through the line state machine.  For DATA it removes
 * dot-stuffing and returns the number of input bytes up to and including
 * the terminating CRLF.CRLF, or 0 when the end is not in this block (all
 * of it consumed).  Output goes to out (at most n bytes).
 */
static size_t
content_feed(struct smtp_session *s, const char *in, size_t n, char *out,
    size_t *outlen, int data)
{
	size_t	 i, o = 0;
	char	 c;

	for (i = 0; i < n; i++) {
		c = in[i];
		if (c != '\r' && c != '\n' && ++s->linelen + 2 >
		    s->p->text_line_max)
			s->cerr |= CERR_LINE;
again:
		switch (s->cstate) {
		case CS_BOL:
			if (data && c == '.') {
				s->cstate = CS_DOT;
				break;
			}
			s->cstate = CS_LINE;
			goto again;
		case CS_LINE:
			if (c == '\r')
				s->cstate = CS_CR;
			else {
				if (c == '\n') {
					/* not a line end: no CS_BOL */
					s->cerr |= CERR_BARE;
					s->linelen = 0;
				}
				out[o++] = c;
			}
			break;
		case CS_CR:
			if (c == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				s->linelen = 0;
				s->cstate = CS_BOL;
				break;
			}
			s->cerr |= CERR_BARE;
			out[o++] = '\r';
			s->cstate = CS_LINE;
			goto again;
		case CS_DOT:
			/* the stuffed dot is dropped (RFC 5321 4.5.2) */
			if (c == '\r') {
				s->cstate = CS_DOTCR;
				break;
			}
			s->cstate = CS_LINE;
			goto again;
		case CS_DOTCR:
			if (c == '\n') {
				*outlen = o;
				s->cstate = CS_BOL;
				return i + 1;
			}
			/* "." CR x: the CR is bare */
			s->cstate = CS_CR;
			goto again;
		}
	}
	*outlen = o;
	return 0;
}

static void
content_error_reply(struct smtp_session *s)
{
	if (s->cerr & CERR_IO)
		reply_fixed(s, 451, "4.3.0 Error: cannot store the message");
	else if (s->cerr & CERR_SIZE)
		reply_fixed(s, 552, "5.3.4 Message size exceeds fixed limit");
	else if (s->cerr & CERR_BARE)
		reply_fixed(s, 550, "5.6.0 Message contains bare CR or LF "
		    "(RFC 5321 2.3.8)");
	else
		reply_fixed(s, 550, "5.6.0 Message line too long "
		    "(RFC 5321 4.5.3.1.6)");
}

/* The content is complete: refuse it or hand it to the caller. */
static void
content_end(struct smtp_session *s)
{
	s->mode = MODE_CMD;
	bufferevent_set_timeouts(s->bev, &(struct timeval){
	    s->p->timeout_cmd, 0 }, &(struct timeval){ s->p->timeout_cmd,
	    0 });
	if (s->cstate == CS_CR)
		s->cerr |= CERR_BARE;
	if (s->cerr) {
		log_info("smtp %016llx peer=%s message refused size=%zu "
		    "err=%#x", (unsigned long long)s->id, s->peer,
		    s->msgsize, s->cerr);
		content_error_reply(s);
		txn_reset(s);
		return;
	}
	s->pending = PEND_DATAEND;
	if (s->h->data_end != NULL)
		s->h->data_end(s, s->msgsize, s->arg);
	else
		smtp_reply(s, 451, "4.3.0 Error: no queue");
}

/* DATA: returns 0 when it needs more input. */
static int
process_data(struct smtp_session *s, struct evbuffer *in)
{
	char	 ib[SMTP_CHUNK], ob[2 * SMTP_CHUNK];
	size_t	 n, used, olen;
	ev_ssize_t got;

	while ((n = evbuffer_get_length(in)) > 0) {
		if (n > sizeof(ib))
			n = sizeof(ib);
		if ((got = evbuffer_copyout(in, ib, n)) <= 0)
			return 0;
		used = content_feed(s, ib, (size_t)got, ob, &olen, 1);
		content_write(s, ob, olen);
		evbuffer_drain(in, used ? used : (size_t)got);
		if (used) {
			content_end(s);
			return 1;
		}
	}
	return 0;
}

static void
chunk_done(struct smtp_session *s)
{
	char	 text[64];

	s->mode = MODE_CMD;
	if (s->chunk_refuse) {
		reply_fixed(s, s->chunk_refuse_code, s->chunk_refuse_text);
		return;
	}
	if (s->chunk_last) {
		content_end(s);
		return;
	}
	if (s->cerr & ~CERR_LINE) {
		/* no point reading more of a message that is refused */
		content_error_reply(s);
		txn_reset(s);
		return;
	}
	snprintf(text, sizeof(text), "2.0.0 %zu octets received", s->msgsize);
	reply_fixed(s, 250, text);
}

static int
process_bdat(struct smtp_session *s, struct evbuffer *in)
{
	char	 ib[SMTP_CHUNK], ob[2 * SMTP_CHUNK];
	size_t	 n, olen;
	ev_ssize_t got;

	while (s->chunk_left > 0 && (n = evbuffer_get_length(in)) > 0) {
		if (n > sizeof(ib))
			n = sizeof(ib);
		if (n > s->chunk_left)
			n = (size_t)s->chunk_left;
		if ((got = evbuffer_remove(in, ib, n)) <= 0)
			return 0;
		s->chunk_left -= (uint64_t)got;
		if (s->chunk_refuse)
			continue;
		content_feed(s, ib, (size_t)got, ob, &olen, 0);
		content_write(s, ob, olen);
	}
	if (s->chunk_left > 0)
		return 0;
	chunk_done(s);
	return 1;
}

/* One command line (or the answer to a 334); 0 if more input is needed */
static int
process_line(struct smtp_session *s, struct evbuffer *in)
{
	struct evbuffer_ptr	 eol;
	char			 line[SMTP_CMD_LINE_MAX + 3];
	size_t			 len;
	void			(*cb)(struct smtp_session *, const char *,
				    void *);

	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) <= SMTP_CMD_LINE_MAX + 2)
			return 0;
		evbuffer_drain(in, evbuffer_get_length(in));
		if (s->mode != MODE_SKIPLINE)
			reply_fixed(s, 500, "5.5.6 Error: line too long");
		s->mode = MODE_SKIPLINE;
		return 1;
	}
	len = (size_t)eol.pos + 1;
	if (s->mode == MODE_SKIPLINE || len > sizeof(line) - 1) {
		evbuffer_drain(in, len);
		if (s->mode != MODE_SKIPLINE)
			reply_fixed(s, 500, "5.5.6 Error: line too long");
		s->mode = MODE_CMD;
		return 1;
	}
	evbuffer_remove(in, line, len);
	len--;				/* the LF */
	if (len == 0 || line[len - 1] != '\r') {
		reply_fixed(s, 500, "5.5.2 Error: bare LF in command, CRLF "
		    "required (RFC 5321 2.3.8)");
		return 1;
	}
	len--;
	line[len] = '\0';
	if (s->pending == PEND_LINE) {
		cb = s->line_cb;
		s->line_cb = NULL;
		s->pending = PEND_CMD;
		if (memchr(line, '\0', len) != NULL)
			line[0] = '\0';
		cb(s, line, s->arg);
	} else
		smtp_command(s, line, len);
	explicit_bzero(line, sizeof(line));
	return 1;
}

/*
 * Is every byte of the last reply out of our hands?  With STARTTLS the
 * bytes pass through the TLS filter into the underlying bufferevent.
 */
static int
output_drained(struct smtp_session *s)
{
	struct bufferevent	*u;

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return 0;
	u = bufferevent_get_underlying(s->bev);
	return u == NULL || evbuffer_get_length(bufferevent_get_output(u)) ==
	    0 || s->linger > 500;
}

static void
smtp_process(struct smtp_session *s)
{
	struct evbuffer	*in;
	int		 progress = 1;

	s->in_process = 1;
	while (progress && !s->closing && !s->starttls_pending) {
		in = bufferevent_get_input(s->bev);
		if (s->pending != PEND_NONE && s->pending != PEND_LINE)
			break;
		switch (s->mode) {
		case MODE_GREETING:
			progress = 0;
			break;
		case MODE_DATA:
			progress = process_data(s, in);
			break;
		case MODE_BDAT:
			progress = process_bdat(s, in);
			break;
		case MODE_CMD:
		case MODE_SKIPLINE:
			progress = process_line(s, in);
			break;
		}
	}
	s->in_process = 0;
	if (s->starttls_pending && !s->tls_cb_set) {
		s->tls_cb_set = 1;
		bufferevent_setcb(s->bev, smtp_readcb, smtp_writecb,
		    smtp_eventcb, s);
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	}
	if (s->dead || (s->closing && output_drained(s)))
		smtp_free(s);
	else if (s->closing) {
		/* the TLS layer still holds the last reply: look again */
		struct timeval	 tv = { 0, 20000 };

		if (s->linger == 0)
			s->linger = 1;
		event_add(s->resume_ev, &tv);
	}
}

/* Free now, or when smtp_process() unwinds if we are inside it. */
static void
smtp_free_later(struct smtp_session *s)
{
	if (s->in_process) {
		s->dead = 1;
		s->closing = 1;
	} else
		smtp_free(s);
}

/* ------------------------------------------------------------------ */
/* events */

static void
smtp_readcb(struct bufferevent *bev, void *arg)
{
	struct smtp_session	*s = arg;

	if (s->mode == MODE_GREETING) {
		log_info("smtp %016llx peer=%s talked before the greeting",
		    (unsigned long long)s->id, s->peer);
		smtp_close(s, "554 5.5.1 Error: talking before the greeting");
	}
	smtp_process(s);
}

static void
smtp_writecb(struct bufferevent *bev, void *arg)
{
	struct smtp_session	*s = arg;

	if (s->closing && output_drained(s))
		smtp_free_later(s);
}

static void
smtp_resumecb(int fd, short ev, void *arg)
{
	struct smtp_session	*s = arg;

	if (s->linger)
		s->linger++;		/* at most 500 x 20 ms */
	smtp_process(s);
}

static void
send_greeting(struct smtp_session *s)
{
	char	 line[512];

	s->mode = MODE_CMD;
	snprintf(line, sizeof(line), "220 %s %s", s->p->hostname,
	    s->p->service ? s->p->service : "ESMTP");
	put_line(s, line);
}

static void
smtp_greetcb(int fd, short ev, void *arg)
{
	struct smtp_session	*s = arg;

	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0) {
		smtp_readcb(s->bev, s);
		return;
	}
	send_greeting(s);
	smtp_process(s);
}

static void
smtp_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session	*s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		s->tls = 1;
		if (s->h->tls_ready != NULL)
			s->h->tls_ready(s, s->arg);
		if (s->starttls_pending)
			s->starttls_pending = 0;
		else if (s->mode == MODE_GREETING)
			send_greeting(s);
		smtp_process(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("smtp %016llx peer=%s timeout",
		    (unsigned long long)s->id, s->peer);
		bufferevent_enable(bev, EV_WRITE);
		if (!s->closing && (what & BEV_EVENT_READING)) {
			smtp_close(s, "421 4.4.2 Error: timeout exceeded");
			return;
		}
	} else if (what & BEV_EVENT_ERROR)
		log_debug("smtp %016llx peer=%s connection error",
		    (unsigned long long)s->id, s->peer);
	smtp_free_later(s);
}

static void
smtp_peer_init(struct smtp_session *s, int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[NI_MAXHOST];

	snprintf(s->peer, sizeof(s->peer), "local");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return;
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
	    NULL, 0, NI_NUMERICHOST) == 0)
		snprintf(s->peer, sizeof(s->peer), "%s", host);
}

/*
 * Start a session on an accepted socket; the session owns fd.  The caller
 * has already applied its connection limits.  NULL if the connect hook
 * refused (the refusal has been queued and the socket will close).
 */
struct smtp_session *
smtp_session_new(struct event_base *base, int fd,
    const struct smtp_params *p, const struct smtp_hooks *h, void *arg)
{
	struct smtp_session	*s;

	s = xcalloc(1, sizeof(*s));
	s->id = ((uint64_t)arc4random() << 32) | ++smtp_next_id;
	s->base = base;
	s->p = p;
	s->h = h;
	s->arg = arg;
	s->datafd = -1;
	s->mode = MODE_GREETING;
	smtp_peer_init(s, fd);
	evutil_make_socket_nonblocking(fd);
	if (p->implicit_tls)
		s->bev = tls_accept(base, p->tls_ctx, fd);
	else
		s->bev = bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		free(s);
		return NULL;
	}
	s->resume_ev = event_new(base, -1, 0, smtp_resumecb, s);
	s->greet_ev = evtimer_new(base, smtp_greetcb, s);
	bufferevent_setcb(s->bev, smtp_readcb, smtp_writecb, smtp_eventcb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_INPUT_HIWAT);
	bufferevent_set_timeouts(s->bev, &(struct timeval){ p->timeout_cmd,
	    0 }, &(struct timeval){ p->timeout_cmd, 0 });
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (h->connect != NULL && h->connect(s, arg) == -1) {
		smtp_close(s, "554 5.7.1 Error: connection refused");
		return NULL;
	}
	if (!p->implicit_tls) {
		if (p->greeting_delay_ms > 0) {
			struct timeval	 tv;

			tv.tv_sec = p->greeting_delay_ms / 1000;
			tv.tv_usec = (p->greeting_delay_ms % 1000) * 1000;
			evtimer_add(s->greet_ev, &tv);
		} else
			send_greeting(s);
	}
	return s;
}

static void
smtp_free(struct smtp_session *s)
{
	if (s->freed_guard++)
		return;
	log_debug("smtp %016llx peer=%s closed", (unsigned long long)s->id,
	    s->peer);
	txn_reset(s);
	if (s->h->close != NULL)
		s->h->close(s, s->arg);
	event_free(s->resume_ev);
	event_free(s->greet_ev);
	bufferevent_free(s->bev);
	explicit_bzero(&s->cmd, sizeof(s->cmd));
	free(s);
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

int
smtp_tls_info(const struct smtp_session *s, char *proto, size_t plen,
    char *cipher, size_t clen)
{
	if (!s->tls)
		return -1;
	return tls_info(s->bev, proto, plen, cipher, clen);
}

int
smtp_rcpt_count(const struct smtp_session *s)
{
	return s->nrcpt;
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
