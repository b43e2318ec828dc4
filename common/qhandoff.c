/*
 * qhandoff.c - the queue hand-off (IPC_QUEUE_MESSAGE and its answer),
 * the queue ID and what the queue accepts as an address; see
 * qhandoff.h.
 *
 * Built into every program that hands mail to the queue or takes it:
 * smtpd.receiver and submitd's root parent build the request and read
 * the answer, smtpd.queue (queue_user, chrooted) reads the request from
 * a receiver that parses network input and may lie, so the reader is a
 * parser of hostile input: bounded (Q_MAX_RCPT), strict (every field,
 * nothing after the last), and it has a fuzz target
 * (tests/fuzz/fuzz-qhandoff.c).  No I/O here; unit tests in
 * tests/unit/test-qhandoff.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ipc.h"
#include "qhandoff.h"
#include "smtp.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* the queue ID */

void
q_id_new(char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 r[Q_ID_LEN / 2];
	size_t		 i;

	arc4random_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[Q_ID_LEN] = '\0';
}

/* Exactly Q_ID_LEN lowercase hex digits: also a safe file name. */
int
q_id_valid(const char *id)
{
	size_t	 i;

	for (i = 0; i < Q_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[Q_ID_LEN] == '\0';
}

const char *
q_class_name(int class)
{
	return class == Q_CLASS_SAFE ? "safe" : "unsafe";
}

/* ------------------------------------------------------------------ */
/* addresses */

/* No byte that could end a record, and a sane length (HELO, peer). */
int
q_addr_safe(const char *s)
{
	return strlen(s) <= 512 && strpbrk(s, "\r\n") == NULL;
}

/*
 * An address the queue may keep: an RFC 5321 Mailbox by the one grammar
 * of common/addr (UTF-8 allowed: an SMTPUTF8 client may send it, and the
 * engine refuses it without SMTPUTF8), so at most ADDR_MAX bytes.
 * Q_ADDR_FROM may be empty (the null sender), Q_ADDR_RCPT may be
 * <Postmaster> without a domain (RFC 5321 4.5.1), and Q_ADDR_USER, the
 * local user a recipient resolved to, is a plain address with no space
 * (the envelope's rcpt line separates it from the next field by one).
 */
int
q_addr_valid(const char *a, enum q_addr_kind kind)
{
	if (kind == Q_ADDR_FROM && *a == '\0')
		return 1;
	if (kind == Q_ADDR_RCPT && strcasecmp(a, "postmaster") == 0)
		return 1;
	if (kind == Q_ADDR_USER && strchr(a, ' ') != NULL)
		return 0;
	return addr_check(a, ADDR_UTF8, NULL, 0) == 0;
}

/*
 * An author the queue may sign for: none (""), an address as the queue
 * keeps a local user (no space, RFC 5321 syntax), or a domain name; at
 * most what the keystore takes as an owner.
 */
int
q_author_valid(const char *a)
{
	if (*a == '\0')
		return 1;
	if (strlen(a) > Q_AUTHOR_MAX)
		return 0;
	if (strchr(a, '@') != NULL)
		return q_addr_valid(a, Q_ADDR_USER);
	return addr_domain_check(a, ADDR_LOCAL, NULL, 0) == 0;
}

/*
 * Whose keys sign the mail the system writes (bounces, notices): the
 * domain of [global] postmaster, which is one of ours, else the host
 * name.  The bounce says it is from MAILER-DAEMON at that domain too, so
 * the signature's d= is the From: domain.
 */
const char *
q_system_owner(const char *postmaster, const char *hostname)
{
	const char	*at;

	if (postmaster != NULL && (at = strrchr(postmaster, '@')) != NULL &&
	    at[1] != '\0')
		return at + 1;
	return hostname;
}

/* ------------------------------------------------------------------ */
/* the request */

/* IPC_QUEUE_MESSAGE for h, request id req, carrying fd (now the msg's). */
struct ipc_msg *
q_handoff_msg(const struct q_handoff *h, uint32_t req, int fd)
{
	struct ipc_msg	*m;
	uint32_t	 i;

	m = ipc_msg_new(IPC_QUEUE_MESSAGE, req);
	ipc_add_str(m, h->id != NULL ? h->id : "");
	ipc_add_str(m, h->from);
	ipc_add_u32(m, h->class);
	ipc_add_str(m, h->helo);
	ipc_add_str(m, h->peer);
	ipc_add_str(m, h->author != NULL ? h->author : "");
	ipc_add_u32(m, h->flags);
	ipc_add_u32(m, h->nrcpt);
	for (i = 0; i < h->nrcpt; i++) {
		ipc_add_str(m, h->rcpt[i].addr);
		ipc_add_str(m, h->rcpt[i].user != NULL ? h->rcpt[i].user : "");
		ipc_add_u32(m, h->rcpt[i].flags);
	}
	ipc_msg_setfd(m, fd);
	return m;
}

static int
read_head(struct ipc_msg *m, struct q_handoff *h)
{
	return ipc_get_str(m, &h->id) == -1 || ipc_get_str(m, &h->from) ==
	    -1 || ipc_get_u32(m, &h->class) == -1 || ipc_get_str(m,
	    &h->helo) == -1 || ipc_get_str(m, &h->peer) == -1 ||
	    ipc_get_str(m, &h->author) == -1 ||
	    ipc_get_u32(m, &h->flags) == -1 ||
	    ipc_get_u32(m, &h->nrcpt) == -1 ? -1 : 0;
}

static int
read_rcpt(struct ipc_msg *m, struct q_handoff_rcpt *r)
{
	return ipc_get_str(m, &r->addr) == -1 || ipc_get_str(m, &r->user) ==
	    -1 || ipc_get_u32(m, &r->flags) == -1 ? -1 : 0;
}

static int
refuse(struct q_handoff *h, int *code_r, char *err, size_t errlen,
    int code, const char *text)
{
	q_handoff_free(h);
	*code_r = code;
	snprintf(err, errlen, "%s", text);
	return -1;
}

/*
 * Read an IPC_QUEUE_MESSAGE into h, whose strings point into m (keep m
 * until done with h).  -1 with an SMTP code and the reply text (enhanced
 * code first) when it is not one the queue may take.  The id is "" or
 * a valid queue ID; a local recipient (Q_RCPT_LOCAL) has a user.
 */
int
q_handoff_read(struct ipc_msg *m, struct q_handoff *h, int *code_r,
    char *err, size_t errlen)
{
	struct q_handoff_rcpt	*r;
	uint32_t		 i;

	memset(h, 0, sizeof(*h));
	if (m->type != IPC_QUEUE_MESSAGE || read_head(m, h) == -1 ||
	    h->nrcpt == 0 || h->nrcpt > Q_MAX_RCPT ||
	    (*h->id != '\0' && !q_id_valid(h->id)) ||
	    !q_addr_safe(h->helo) || !q_addr_safe(h->peer) ||
	    h->class > Q_CLASS_SAFE || (h->flags & ~Q_MSG_REQUIRETLS) != 0)
		goto bad;
	if (!q_addr_valid(h->from, Q_ADDR_FROM))
		return refuse(h, code_r, err, errlen, 553,
		    "5.1.7 Bad sender address syntax");
	if (!q_author_valid(h->author))
		return refuse(h, code_r, err, errlen, 554,
		    "5.7.0 Bad author");
	h->rcpt = xcalloc(h->nrcpt, sizeof(*h->rcpt));
	for (i = 0; i < h->nrcpt; i++) {
		r = &h->rcpt[i];
		if (read_rcpt(m, r) == -1 || (r->flags & ~Q_RCPT_LOCAL) ||
		    ((r->flags & Q_RCPT_LOCAL) && *r->user == '\0'))
			goto bad;
		if (!q_addr_valid(r->addr, Q_ADDR_RCPT) ||
		    (*r->user != '\0' && !q_addr_valid(r->user, Q_ADDR_USER)))
			return refuse(h, code_r, err, errlen, 553,
			    "5.1.3 Bad recipient address syntax");
	}
	if (ipc_get_end(m) == -1 || m->fd == -1)
		goto bad;
	return 0;
bad:
	return refuse(h, code_r, err, errlen, 554, "5.5.0 Malformed request");
}

void
q_handoff_free(struct q_handoff *h)
{
	free(h->rcpt);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* the answer */

struct ipc_msg *
q_handoff_ok(uint32_t req, const char *id)
{
	struct ipc_msg	*m;

	m = ipc_msg_new(IPC_OK, req);
	ipc_add_str(m, id);
	return m;
}

struct ipc_msg *
q_handoff_err(uint32_t req, int code, const char *text)
{
	struct ipc_msg	*m;

	m = ipc_msg_new(IPC_ERR, req);
	ipc_add_u32(m, (uint32_t)code);
	ipc_add_str(m, text);
	return m;
}

/*
 * The queue's answer: 1 committed (*id_r the queue ID), 0 refused
 * (*code_r 4xx or 5xx, *text_r the reply text), -1 not an answer the
 * queue gives.
 */
int
q_handoff_answer(struct ipc_msg *m, const char **id_r, int *code_r,
    const char **text_r)
{
	uint32_t	 code;

	switch (m->type) {
	case IPC_OK:
		if (ipc_get_str(m, id_r) == -1 || ipc_get_end(m) == -1 ||
		    !q_id_valid(*id_r))
			return -1;
		return 1;
	case IPC_ERR:
		if (ipc_get_u32(m, &code) == -1 ||
		    ipc_get_str(m, text_r) == -1 || ipc_get_end(m) == -1)
			return -1;
		/* a queue that does not know what to say: try again */
		*code_r = code >= 400 && code <= 599 ? (int)code : 451;
		return 0;
	default:
		return -1;
	}
}
