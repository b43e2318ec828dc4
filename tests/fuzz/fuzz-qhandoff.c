/*
 * fuzz-qhandoff.c - libFuzzer target for the queue hand-off reader
 * (common/qhandoff.c): the input is one IPC frame as smtpd.queue reads
 * it from a receiver that may have been taken over.  Checks that a
 * request is either refused with 553 or 554 or read into a hand-off
 * that obeys every rule (IDs, addresses, counts, flags, an author the
 * envelope can keep on one line), and that building that hand-off again
 * reads back the same (read(build(x)) = x); the same frame is also read
 * as the queue's answer.
 *
 *	./sealmail.sh fuzz, or by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -DSM_SYSCONFDIR=\"/etc\" -Icommon tests/fuzz/fuzz-qhandoff.c \
 *	    common/qhandoff.c common/ipc.c common/smtp_parse.c common/net.c \
 *	    common/config*.c common/log.c common/xmalloc.c common/buf.c \
 *	    common/io.c common/addr.c common/utf8.c -o fuzz-qhandoff \
 *	    $(pkg-config --libs libevent_openssl libevent openssl) -ldb-5.3
 *	./fuzz-qhandoff tests/fuzz/corpus/qhandoff
 *
 * The seeds are written by tests/fuzz/qhandoff-seeds.py: run it again
 * when the hand-off's fields change.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "qhandoff.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* a value the queue's envelope (common/qenv.c) keeps as one line */
static int
one_line(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static void
check_rules(const struct q_handoff *h)
{
	uint32_t	 i;

	if (!one_line(h->from) || !one_line(h->helo) || !one_line(h->peer))
		abort();
	if ((*h->id != '\0' && !q_id_valid(h->id)) ||
	    !q_addr_valid(h->from, Q_ADDR_FROM) || h->nrcpt == 0 ||
	    h->nrcpt > Q_MAX_RCPT || h->class > Q_CLASS_SAFE ||
	    !q_addr_safe(h->helo) || !q_addr_safe(h->peer) ||
	    !q_author_valid(h->author) || strlen(h->author) > Q_AUTHOR_MAX ||
	    strpbrk(h->author, " \t\r\n") != NULL)
		abort();
	for (i = 0; i < h->nrcpt; i++)
		if (!one_line(h->rcpt[i].addr) ||
		    strpbrk(h->rcpt[i].user, " \t\r\n") != NULL ||
		    !q_addr_valid(h->rcpt[i].addr, Q_ADDR_RCPT) ||
		    (*h->rcpt[i].user != '\0' &&
		    !q_addr_valid(h->rcpt[i].user, Q_ADDR_USER)) ||
		    (h->flags & ~Q_MSG_REQUIRETLS) ||
		    (h->rcpt[i].flags & ~Q_RCPT_LOCAL) ||
		    ((h->rcpt[i].flags & Q_RCPT_LOCAL) &&
		    *h->rcpt[i].user == '\0'))
			abort();
}

static void
check_same(const struct q_handoff *a, const struct q_handoff *b)
{
	uint32_t	 i;

	if (strcmp(a->id, b->id) != 0 || strcmp(a->from, b->from) != 0 ||
	    a->class != b->class || strcmp(a->helo, b->helo) != 0 ||
	    strcmp(a->peer, b->peer) != 0 || a->nrcpt != b->nrcpt ||
	    strcmp(a->author, b->author) != 0 || a->flags != b->flags)
		abort();
	for (i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i].addr, b->rcpt[i].addr) != 0 ||
		    strcmp(a->rcpt[i].user, b->rcpt[i].user) != 0 ||
		    a->rcpt[i].flags != b->rcpt[i].flags)
			abort();
}

/* read(build(h)) must be h */
static void
check_rebuild(const struct q_handoff *h, uint32_t id)
{
	struct q_handoff	 h2;
	struct ipc_msg		*m;
	char			 err[128];
	int			 code;

	m = q_handoff_msg(h, id, -1);
	m->fd = IPC_FD_PENDING;
	if (q_handoff_read(m, &h2, &code, err, sizeof(err)) == -1)
		abort();
	check_same(h, &h2);
	q_handoff_free(&h2);
	m->fd = -1;
	ipc_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct q_handoff	 h;
	struct ipc_msg		*m;
	const char		*id, *text;
	char			 err[128];
	size_t			 used;
	int			 code = 0, r;

	if (ipc_decode(data, len, &m, &used) != IPC_DECODE_DONE)
		return 0;
	err[0] = '\0';
	if (q_handoff_read(m, &h, &code, err, sizeof(err)) == 0) {
		check_rules(&h);
		check_rebuild(&h, m->id);
		q_handoff_free(&h);
	} else if ((code != 553 && code != 554) ||
	    strncmp(err, "5.", 2) != 0 || h.rcpt != NULL)
		abort();
	m->rpos = 0;
	r = q_handoff_answer(m, &id, &code, &text);
	if ((r == 1 && !q_id_valid(id)) ||
	    (r == 0 && (code < 400 || code > 599)))
		abort();
	m->fd = -1;
	ipc_msg_free(m);
	return 0;
}
