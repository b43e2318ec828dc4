/*
 * smtp_data.c - message content: DATA (dot-unstuffed, ended only by
 * CRLF "." CRLF) and BDAT chunks (taken as sent), streamed to the fd the
 * caller's data_begin hook gave, with the size and line limits and the
 * bare CR / bare LF check.  One byte-level state machine, content_feed(),
 * serves both, in SMTP and in LMTP mode.
 *
 * Runs where smtp.c runs, on raw network input.  The input is peeked and
 * only what belongs to the message is consumed, so commands pipelined
 * after the end of the content stay for the command parser.
 */
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
#include "io.h"
#include "smtp_int.h"

/* ------------------------------------------------------------------ */
/* content: DATA and BDAT */

static void
content_write(struct smtp_session *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (s->cerr & (CERR_SIZE | CERR_IO)) {
		/* read and dropped, up to four times the limit */
		s->discarded += n;
		if (s->p->max_message_size != 0 &&
		    s->discarded / 4 > s->p->max_message_size)
			smtp_close(s, "552 5.3.4 Message size exceeds fixed "
			    "limit");
		return;
	}
	s->msgsize += n;
	if (s->p->max_message_size != 0 &&
	    s->msgsize > s->p->max_message_size) {
		s->cerr |= CERR_SIZE;
		return;
	}
	if (io_write_all(s->datafd, p, n) == -1) {
		log_warn("smtp %016llx: message write",
		    (unsigned long long)s->id);
		s->cerr |= CERR_IO;
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
		if (c != '\r' && c != '\n' && s->p->text_line_max != 0 &&
		    ++s->linelen + 2 > s->p->text_line_max)
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

/* The refusal of content: once, or once per recipient for LMTP's end. */
static void
content_error_reply(struct smtp_session *s, int per_rcpt)
{
	void	(*reply)(struct smtp_session *, int, const char *);

	reply = per_rcpt ? smtp_reply_content : smtp_reply_fixed;
	if (s->cerr & CERR_IO)
		reply(s, 451, "4.3.0 Error: cannot store the message");
	else if (s->cerr & CERR_SIZE)
		reply(s, 552, "5.3.4 Message size exceeds fixed limit");
	else if (s->cerr & CERR_BARE)
		reply(s, 550, "5.6.0 Message contains bare CR or LF "
		    "(RFC 5321 2.3.8)");
	else
		reply(s, 550, "5.6.0 Message line too long "
		    "(RFC 5321 4.5.3.1.6)");
}

/* The content is complete: refuse it or hand it to the caller. */
static void
content_end(struct smtp_session *s)
{
	int	 n;

	s->mode = MODE_CMD;
	if (s->cstate == CS_CR)
		s->cerr |= CERR_BARE;
	if (s->cerr) {
		log_info("smtp %016llx peer=%s message refused size=%zu "
		    "err=%#x", (unsigned long long)s->id, s->peer,
		    s->msgsize, s->cerr);
		content_error_reply(s, 1);
		smtp_txn_reset(s);
		return;
	}
	s->pending = PEND_DATAEND;
	s->replies_due = s->p->lmtp ? s->nrcpt : 1;
	if (s->h->data_end != NULL)
		s->h->data_end(s, s->msgsize, s->arg);
	else
		for (n = s->replies_due; n > 0; n--)
			smtp_reply(s, 451, "4.3.0 Error: no queue");
}

/* DATA: returns 0 when it needs more input. */
int
smtp_data_process(struct smtp_session *s, struct evbuffer *in)
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
		smtp_content_bytes(s, used ? used : (size_t)got);
		if (s->closing)
			return 0;
		if (used) {
			content_end(s);
			smtp_wait_next(s);
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
		smtp_reply_fixed(s, s->chunk_refuse_code, s->chunk_refuse_text);
		return;
	}
	if (s->chunk_last) {
		content_end(s);
		return;
	}
	if (s->cerr & ~CERR_LINE) {
		/* no point reading more of a message that is refused */
		content_error_reply(s, 0);
		smtp_txn_reset(s);
		return;
	}
	snprintf(text, sizeof(text), "2.0.0 %zu octets received", s->msgsize);
	smtp_reply_fixed(s, 250, text);
}

int
smtp_bdat_process(struct smtp_session *s, struct evbuffer *in)
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
		smtp_content_bytes(s, (size_t)got);
		if (s->chunk_refuse)
			continue;
		content_feed(s, ib, (size_t)got, ob, &olen, 0);
		content_write(s, ob, olen);
		if (s->closing)
			return 0;
	}
	if (s->chunk_left > 0)
		return 0;
	chunk_done(s);
	smtp_wait_next(s);
	return 1;
}

/* One command line (or the answer to a 334); 0 if more input is needed */