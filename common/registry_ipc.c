/*
 * registry_ipc.c - IPC_PARENT_REGISTRY, the receiver's question about the
 * registry of trusted transmitters, and its answer (the layout is in
 * registry.h and docs/interfaces.md).
 *
 * The request is built by smtpd/registry_ask.c in smtpd.receiver and
 * answered by registry_ipc_answer() in smtpd's root parent, which holds
 * the database.  The parent treats the request as hostile: a message
 * that is not exactly one data field of 1 to REGISTRY_ASK_MAX non-empty
 * NUL-terminated names (and no descriptor) is refused (NULL), and the
 * parent then ends that child.  The names themselves come from the
 * network (HELO, MAIL FROM, DKIM d=): one that is not a valid name is
 * not the child's fault and simply matches nothing.
 */
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "registry.h"

struct ipc_msg *
registry_ipc_request(uint32_t id, const char *const *names, size_t n)
{
	struct ipc_msg	*m;
	struct buf	 b;
	size_t		 i;

	if (n == 0 || n > REGISTRY_ASK_MAX)
		log_panic("registry_ipc_request: %zu names", n);
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		if (names[i][0] == '\0')
			log_panic("registry_ipc_request: empty name");
		buf_add(&b, names[i], strlen(names[i]) + 1);
	}
	m = ipc_msg_new(IPC_PARENT_REGISTRY, id);
	ipc_add_data(m, b.data, b.len);
	buf_free(&b);
	return m;
}

int
registry_ipc_names(struct ipc_msg *m, const char *names[REGISTRY_ASK_MAX])
{
	const char	*p, *end, *nul;
	const void	*d;
	size_t		 len;
	int		 n = 0;

	if (m->fd != -1 || ipc_get_data(m, &d, &len) == -1 ||
	    ipc_get_end(m) == -1 || len == 0 ||
	    ((const char *)d)[len - 1] != '\0')
		return -1;
	for (p = d, end = p + len; p < end; p = nul + 1) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == p || n == REGISTRY_ASK_MAX)
			return -1;
		names[n++] = p;
	}
	return n;
}

struct ipc_msg *
registry_ipc_answer(struct registry *reg, struct ipc_msg *req)
{
	struct registry_entry	 e;
	struct ipc_msg		*r;
	const char		*names[REGISTRY_ASK_MAX];
	uint32_t		 status = REGISTRY_ANS_NONE, which = 0;
	int			 i, n, res;

	if ((n = registry_ipc_names(req, names)) == -1)
		return NULL;
	for (i = 0; i < n && status == REGISTRY_ANS_NONE; i++) {
		res = registry_match(reg, names[i], &e);
		if (res == REG_OK) {
			status = REGISTRY_ANS_LISTED;
			which = (uint32_t)i;
		} else if (res == REG_ERROR)
			status = REGISTRY_ANS_TEMPFAIL;
	}
	r = ipc_msg_new(IPC_RECEIVER_REGISTRY, req->id);
	ipc_add_u32(r, status);
	ipc_add_u32(r, which);
	ipc_add_str(r, status == REGISTRY_ANS_LISTED ? e.name : "");
	ipc_add_str(r, status == REGISTRY_ANS_LISTED ? e.note : "");
	return r;
}

int
registry_ipc_result(struct ipc_msg *m, uint32_t *status_r,
    uint32_t *index_r, const char **name_r, const char **note_r)
{
	if (m->type != IPC_RECEIVER_REGISTRY ||
	    ipc_get_u32(m, status_r) == -1 || ipc_get_u32(m, index_r) == -1 ||
	    ipc_get_str(m, name_r) == -1 || ipc_get_str(m, note_r) == -1 ||
	    ipc_get_end(m) == -1 || *status_r > REGISTRY_ANS_TEMPFAIL ||
	    *index_r >= REGISTRY_ASK_MAX)
		return -1;
	return 0;
}
