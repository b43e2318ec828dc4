/*
 * smtp.c - the ESMTP server engine: one state machine per client session
 * on libevent, with the caller's policy in hooks; see smtp.h.
 *
 * Runs in the unprivileged, chrooted receivers of smtpd and submitd and
 * parses raw network input, so every read is bounded: command lines by
 * SMTP_CMD_LINE_MAX, buffered input by a read high-water mark, message
 * content by max_message_size (content is streamed to the caller's fd,
 * never held in memory), sessions by errors, commands and deadlines.  The
 * command parser is apart, in smtp_parse.c; the commands are in
 * smtp_cmd.c and message content in smtp_data.c (state: smtp_int.h).
 *
 * Input handling: smtp_process() takes input only while no answer is
 * outstanding (a hook has not yet called smtp_reply()), so pipelined
 * commands are answered strictly in order.  Content (DATA and BDAT) goes
 * through one byte-level state machine (smtp_data.c), which removes
 * dot-stuffing, finds the end of DATA only at CRLF "." CRLF and flags bare
 * CR and bare LF so the message is refused, not normalised.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
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
#include "config.h"
#include "log.h"
#include "net.h"
#include "smtp.h"
#include "smtp_int.h"
#include "tls.h"
#include "xmalloc.h"

static void	smtp_process(struct smtp_session *);
static void	smtp_free(struct smtp_session *);
static void	smtp_free_later(struct smtp_session *);

static uint64_t	 smtp_next_id;

/* ------------------------------------------------------------------ */

/*
 * The write timeout: a client that reads none of its replies.  What the
 * client sends is bounded by the deadlines below instead of an idle
 * timer that every byte would restart.
 */
void
smtp_set_timeout(struct smtp_session *s, int secs)
{
	struct timeval	 tv = { secs > 0 ? secs : SMTP_WRITE_TIMEOUT, 0 };

	bufferevent_set_timeouts(s->bev, NULL, &tv);
}

/* ------------------------------------------------------------------ */
/* deadlines: see smtp.h */

static const char *const wait_names[] = {
	"greeting", "command", "data", "server"
};

static void
deadline_expired(struct smtp_session *s, const char *what, int stressed)
{
	log_info("smtp %016llx peer=%s timeout wait=%s stress=%s",
	    (unsigned long long)s->id, s->peer, what, stressed ? "yes" : "no");
	smtp_close(s, "421 4.4.2 Error: timeout exceeded");
}

/* Close the session if its deadline has passed, else look again later. */
static void
deadline_check(struct smtp_session *s)
{
	const struct smtp_params *p = s->p;
	const char	*what = wait_names[s->wait];
	uint64_t	 now = net_now_ms(), due = UINT64_MAX, next;
	struct timeval	 tv;
	int		 base, stressed;

	evtimer_del(s->deadline_ev);
	if (s->closing || s->wait == WAIT_SERVER)
		return;
	stressed = s->slot != NULL && net_slot_stressed(s->slot);
	base = s->wait == WAIT_GREETING ? p->timeout_greeting :
	    s->wait == WAIT_CMD ? p->timeout_cmd : p->timeout_data;
	if (stressed && p->timeout_stress > 0 &&
	    (base == 0 || p->timeout_stress < base))
		base = p->timeout_stress;
	if (base > 0) {
		due = s->wait_ms + (uint64_t)base * 1000;
		if (s->wait == WAIT_DATA && p->data_min_rate > 0)
			due += s->wait_bytes * 1000 / p->data_min_rate;
	}
	if (p->timeout_session > 0 &&
	    s->start_ms + (uint64_t)p->timeout_session * 1000 < due) {
		due = s->start_ms + (uint64_t)p->timeout_session * 1000;
		what = "session";
	}
	if (now >= due) {
		deadline_expired(s, what, stressed);
		return;
	}
	/* stress may begin meanwhile and shorten this wait: look again */
	if (due == UINT64_MAX && (stressed || p->timeout_stress == 0))
		return;			/* no deadline at all */
	next = due == UINT64_MAX ? UINT64_MAX : due - now;
	if (!stressed && p->timeout_stress > 0 &&
	    next > (uint64_t)p->timeout_stress * 1000)
		next = (uint64_t)p->timeout_stress * 1000;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	evtimer_add(s->deadline_ev, &tv);
}

static void
smtp_deadlinecb(int fd, short ev, void *arg)
{
	deadline_check(arg);
}

static void
wait_start(struct smtp_session *s, enum smtp_wait w)
{
	s->wait = w;
	s->wait_ms = net_now_ms();
	s->wait_bytes = 0;
	if (s->slot != NULL)
		net_slot_busy(s->slot, w == WAIT_SERVER);
	deadline_check(s);
}

/*
 * A command line or a message was taken, or a hook answered: from now
 * on the session waits either for the server (a hook's answer is
 * outstanding) or for the client's next command or content.
 */
void
smtp_wait_next(struct smtp_session *s)
{
	if (s->closing)
		return;
	if (s->pending != PEND_NONE && s->pending != PEND_LINE) {
		wait_start(s, WAIT_SERVER);
		return;
	}
	if (s->slot != NULL)
		net_slot_progress(s->slot);
	wait_start(s, s->mode == MODE_DATA || s->mode == MODE_BDAT ?
	    WAIT_DATA : WAIT_CMD);
}

/* Content bytes read: they extend the data deadline at the minimum rate. */
void
smtp_content_bytes(struct smtp_session *s, size_t n)
{
	s->wait_bytes += n;
	s->touch_bytes += n;
	if (s->touch_bytes >= SMTP_CHUNK && s->slot != NULL) {
		net_slot_touch(s->slot);
		s->touch_bytes = 0;
	}
}

/* The session's slot needs its place for a new client. */
static void
smtp_evict(void *arg)
{
	struct smtp_session	*s = arg;

	log_info("smtp %016llx peer=%s evicted: every session slot taken",
	    (unsigned long long)s->id, s->peer);
	s->slot = NULL;		/* released already */
	smtp_close(s, "421 4.7.0 Error: too many connections, try again "
	    "later");
}

static int
secs(long v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* The deadlines of a [smtpd] or [submitd] section. */
void
smtp_params_limits(struct smtp_params *p,
    const struct cfg_session_limits *l)
{
	p->timeout_greeting = secs(l->greeting_timeout);
	p->timeout_cmd = secs(l->command_timeout);
	p->timeout_data = secs(l->data_timeout);
	p->data_min_rate = l->data_min_rate;
	p->timeout_session = secs(l->session_timeout);
	p->timeout_stress = secs(l->stress_timeout);
}

void
smtp_set_slot(struct smtp_session *s, struct net_slot *slot)
{
	s->slot = slot;
	if (slot != NULL) {
		net_slot_set_evict(slot, smtp_evict, s);
		net_slot_busy(slot, s->wait == WAIT_SERVER);
	}
}

void
smtp_put_line(struct smtp_session *s, const char *line)
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
	struct timeval	 tv = { SMTP_CLOSE_LINGER, 0 };

	if (s->closing)
		return;
	if (line != NULL)
		smtp_put_line(s, line);
	s->closing = 1;
	s->pending = PEND_NONE;
	evtimer_del(s->deadline_ev);
	evtimer_del(s->greet_ev);
	bufferevent_disable(s->bev, EV_READ);
	/* the last reply gets a short while to leave, no more */
	bufferevent_set_timeouts(s->bev, NULL, &tv);
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
put_reply(struct smtp_session *s, int code, const char *text)
{
	char	 line[600];

	snprintf(line, sizeof(line), "%d %s", code, text);
	smtp_put_line(s, line);
}

void
smtp_reply_fixed(struct smtp_session *s, int code, const char *text)
{
	put_reply(s, code, text);
	if (code >= 400)
		count_error(s);
}

/*
 * The engine's own answer to a message's content: once, or in LMTP mode
 * once per accepted recipient (RFC 2033 4.2), counted as one error.
 */
void
smtp_reply_content(struct smtp_session *s, int code, const char *text)
{
	int	 n;

	for (n = s->p->lmtp ? s->nrcpt : 1; n > 1; n--)
		put_reply(s, code, text);
	smtp_reply_fixed(s, code, text);
}

static void
add_ehlo_line(struct smtp_session *s, const char *kw)
{
	char	 line[512];

	if (strlen(kw) > 400 || strpbrk(kw, "\r\n") != NULL)
		log_panic("smtp: bad EHLO keyword from hook");
	snprintf(line, sizeof(line), "250-%s", kw);
	smtp_put_line(s, line);
}

static void
send_ehlo(struct smtp_session *s)
{
	char	 line[512];

	if (!s->esmtp) {
		snprintf(line, sizeof(line), "250 %s", s->p->hostname);
		smtp_put_line(s, line);
		return;
	}
	snprintf(line, sizeof(line), "250-%s Hello %s", s->p->hostname,
	    s->helo);
	smtp_put_line(s, line);
	smtp_put_line(s, "250-PIPELINING");
	snprintf(line, sizeof(line), "250-SIZE %zu", s->p->max_message_size);
	smtp_put_line(s, line);
	smtp_put_line(s, "250-8BITMIME");
	smtp_put_line(s, "250-ENHANCEDSTATUSCODES");
	if (s->p->tls_ctx != NULL && !s->tls && !s->p->lmtp)
		smtp_put_line(s, "250-STARTTLS");
	smtp_put_line(s, "250-SMTPUTF8");
	if (s->p->requiretls && s->tls && !s->p->lmtp)
		smtp_put_line(s, "250-REQUIRETLS");
	if (s->p->callback && !s->p->lmtp)
		smtp_put_line(s, "250-" SMTP_CALLBACK_KEYWORD);
	if (s->h->ehlo_keywords != NULL)
		s->h->ehlo_keywords(s, add_ehlo_line, s->arg);
	smtp_put_line(s, "250 CHUNKING");
}

/* After a 2xx, the state its command moves the session to. */
static void
reply_accepts(struct smtp_session *s, enum smtp_pending pend)
{
	if (pend == PEND_HELO) {
		s->phase = SMTP_PHASE_HELO;
		send_ehlo(s);
	} else if (pend == PEND_MAIL) {
		s->phase = SMTP_PHASE_MAIL;
		s->in_txn = 1;
	} else if (pend == PEND_RCPT) {
		s->phase = SMTP_PHASE_RCPT;
		s->nrcpt++;
	}
}

/*
 * One of the replies after an LMTP message: not an error of the client's
 * whatever its code.  0 while more are due (the engine still waits).
 */
static int
reply_lmtp_rcpt(struct smtp_session *s, int code, const char *text)
{
	put_reply(s, code, text);
	if (code == 421)
		smtp_close(s, NULL);
	if (--s->replies_due > 0 && !s->closing) {
		s->pending = PEND_DATAEND;
		return 0;
	}
	return 1;
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

	if (pend == PEND_DATAEND && s->p->lmtp) {
		if (!reply_lmtp_rcpt(s, code, text))
			return;
	} else if (pend == PEND_HELO && code / 100 == 2)
		reply_accepts(s, pend);
	else {
		smtp_reply_fixed(s, code, text);
		if (code / 100 == 2)
			reply_accepts(s, pend);
		else if (pend == PEND_MAIL)
			s->from[0] = '\0';
		if (code == 421)
			smtp_close(s, NULL);
	}
	if (pend == PEND_DATAEND)
		smtp_txn_reset(s);
	smtp_wait_next(s);
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
	smtp_put_line(s, line);
	s->line_cb = cb;
	s->pending = PEND_LINE;
	smtp_wait_next(s);
	schedule(s);
}

static void	smtp_readcb(struct bufferevent *, void *);
static void	smtp_writecb(struct bufferevent *, void *);
static void	smtp_eventcb(struct bufferevent *, short, void *);
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
			smtp_reply_fixed(s, 500, "5.5.6 Error: line too long");
		s->mode = MODE_SKIPLINE;
		return 1;
	}
	len = (size_t)eol.pos + 1;
	if (s->mode == MODE_SKIPLINE || len > sizeof(line) - 1) {
		evbuffer_drain(in, len);
		if (s->mode != MODE_SKIPLINE)
			smtp_reply_fixed(s, 500, "5.5.6 Error: line too long");
		s->mode = MODE_CMD;
		return 1;
	}
	evbuffer_remove(in, line, len);
	len--;				/* the LF */
	if (len == 0 || line[len - 1] != '\r') {
		smtp_reply_fixed(s, 500,
		    "5.5.2 Error: bare LF in command, CRLF "
		    "required (RFC 5321 2.3.8)");
		smtp_wait_next(s);
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
		smtp_cmd_line(s, line, len);
	explicit_bzero(line, sizeof(line));
	smtp_wait_next(s);
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

	if (s->linger > 500)
		return 1;	/* 10 s: a TLS layer that never lets go */
	if (!s->tls && (s->p->implicit_tls || s->starttls_pending))
		return 1;	/* mid-handshake: no reply can leave */
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
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    SMTP_OUTPUT_HIWAT)
			break;		/* smtp_writecb() resumes */
		switch (s->mode) {
		case MODE_GREETING:
			progress = 0;
			break;
		case MODE_DATA:
			progress = smtp_data_process(s, in);
			break;
		case MODE_BDAT:
			progress = smtp_bdat_process(s, in);
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
		bufferevent_setwatermark(s->bev, EV_READ, 0,
		    SMTP_INPUT_HIWAT);
		bufferevent_setwatermark(s->bev, EV_WRITE, SMTP_OUTPUT_LOWAT,
		    0);
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

	if (s->closing) {
		if (output_drained(s))
			smtp_free_later(s);
	} else if (!s->in_process)
		smtp_process(s);
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
	smtp_put_line(s, line);
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

	snprintf(s->peer, sizeof(s->peer), "local");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return;
	if (getnameinfo((struct sockaddr *)&ss, len, s->peer,
	    sizeof(s->peer), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(s->peer, sizeof(s->peer), "unknown");
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

	if ((p->tls_ctx != NULL || p->implicit_tls) && p->tls == NULL)
		fatalx("smtp session: a TLS context without tls_server_ops");
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
		s->bev = p->tls->accept(base, p->tls_ctx, fd);
	else
		s->bev = bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		/* no session: no hook has run, none will */
		close(fd);
		free(s);
		return NULL;
	}
	s->resume_ev = event_new(base, -1, 0, smtp_resumecb, s);
	s->greet_ev = evtimer_new(base, smtp_greetcb, s);
	s->deadline_ev = evtimer_new(base, smtp_deadlinecb, s);
	s->start_ms = net_now_ms();
	wait_start(s, WAIT_GREETING);
	bufferevent_setcb(s->bev, smtp_readcb, smtp_writecb, smtp_eventcb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_INPUT_HIWAT);
	bufferevent_setwatermark(s->bev, EV_WRITE, SMTP_OUTPUT_LOWAT, 0);
	smtp_set_timeout(s, p->timeout_cmd);
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
	smtp_txn_reset(s);
	if (s->h->close != NULL)
		s->h->close(s, s->arg);
	event_free(s->resume_ev);
	event_free(s->greet_ev);
	event_free(s->deadline_ev);
	bufferevent_free(s->bev);
	if (s->cmd != NULL) {
		explicit_bzero(s->cmd, sizeof(*s->cmd));
		free(s->cmd);
	}
	free(s);
}
