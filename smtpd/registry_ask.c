/*
 * registry_ask.c - the receiver's side of IPC_PARENT_REGISTRY (see
 * registry_ask.h): it sends the question, keeps it until the parent's
 * answer comes (matched by request id in an id space of its own, since
 * the answer has a type of its own), and calls back.
 *
 * Runs in smtpd.receiver ([global] user, chrooted).  The names it sends
 * come from the network; the parent checks them.  The answer comes from
 * the parent, which the receiver trusts: one that is malformed means
 * the parent is broken, and the receiver exits (and is restarted).
 */
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "registry.h"
#include "registry_ask.h"
#include "xmalloc.h"

struct rcv_registry_ask {
	struct rcv_registry_ask	*next;
	uint32_t		 id;
	rcv_registry_cb		 cb;
	void			*arg;
};

static struct rcv_registry_ask	*asks;
static uint32_t			 next_id = 1;

struct rcv_registry_ask *
rcv_registry_ask(struct ipc_conn *parent, const char *const *names,
    size_t n, rcv_registry_cb cb, void *arg)
{
	struct rcv_registry_ask	*a;
	const char		*ask[REGISTRY_ASK_MAX];
	size_t			 i, k = 0;

	for (i = 0; i < n && k < REGISTRY_ASK_MAX; i++)
		if (names[i] != NULL && names[i][0] != '\0')
			ask[k++] = names[i];
	if (k == 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	if ((a->id = next_id++) == 0)
		a->id = next_id++;
	a->cb = cb;
	a->arg = arg;
	a->next = asks;
	asks = a;
	ipc_send(parent, registry_ipc_request(a->id, ask, k));
	return a;
}

/* Take a out of the list: was it there? */
static int
unlink_ask(struct rcv_registry_ask *a)
{
	struct rcv_registry_ask	**pp;

	for (pp = &asks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			return 1;
		}
	return 0;
}

void
rcv_registry_cancel(struct rcv_registry_ask *a)
{
	if (a != NULL && unlink_ask(a))
		free(a);
}

void
rcv_registry_answer(struct ipc_msg *m)
{
	struct rcv_registry_ask	*a;
	const char		*name, *note;
	uint32_t		 status, index;

	if (registry_ipc_result(m, &status, &index, &name, &note) == -1)
		fatalx("receiver: bad registry answer from parent");
	for (a = asks; a != NULL && a->id != m->id; a = a->next)
		;
	if (a == NULL)
		return;		/* cancelled: the session has gone */
	unlink_ask(a);
	a->cb(status, index, name, note, a->arg);
	free(a);
}
