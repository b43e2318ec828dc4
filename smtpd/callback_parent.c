/*
 * callback_parent.c - smtpd's root parent's part of the callback
 * (callback.h): it binds the responder's sockets and relays what the
 * transmitters say about their sessions to the responder in
 * smtpd.receiver.
 *
 * The parent never reads from the network; here it only checks what an
 * smtpd.mta tells it (IPC_PARENT_CBK_OPEN: a session ID and the numeric
 * address that session connected to; IPC_PARENT_CBK_CLOSE: the ID),
 * keeps the one session each transmitter may have open (a new one
 * replaces the last) and passes it on (IPC_RECEIVER_CBK_OPEN, _CLOSE).
 * When a transmitter dies or is restarted its session is dropped
 * (IPC_RECEIVER_CBK_DROP); a new receiver is told every open session
 * (cbk_parent_replay), so a restart of either side loses nothing.  A
 * transmitter that sends a malformed message is restarted by the
 * caller, as for any message it may not send.
 */
#include <stdio.h>
#include <string.h>

#include "callback.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "smtpd.h"

static struct {
	char	 id[CBK_ID_LEN + 1];
	char	 addr[CBK_ADDR_MAX];
} sess[Q_MTA_N];
static void	(*to_receiver)(struct ipc_msg *);

void
cbk_parent_init(void (*send)(struct ipc_msg *))
{
	to_receiver = send;
}

/*
 * The responder's sockets: [smtpd] callback_port on the host of each
 * [smtpd] listen address, once per host; how many (0: off).  It speaks
 * only TLS, so it needs the server's certificate.
 */
int
cbk_parent_listen(const struct sm_config *cfg, int *fds)
{
	char	 spec[300], done[CFG_LISTEN_MAX][sizeof(spec)];
	int	 i, j, n = 0;

	if (cfg->smtpd_callback_port == 0)
		return 0;
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
		fatalx("[smtpd] callback_port needs [global] tls_cert and "
		    "tls_key: the callback speaks only TLS");
	for (i = 0; i < cfg->smtpd_listen.n; i++) {
		if (cbk_listen_addr(cfg->smtpd_listen.addr[i],
		    cfg->smtpd_callback_port, spec, sizeof(spec)) == -1)
			fatalx("callback: cannot listen beside %s",
			    cfg->smtpd_listen.addr[i]);
		for (j = 0; j < n && strcmp(done[j], spec) != 0; j++)
			;
		if (j < n)
			continue;
		if ((fds[n] = net_listen(spec, 64)) == -1)
			fatal("listen %s (callback_port)", spec);
		memcpy(done[n++], spec, sizeof(spec));
	}
	return n;
}

static void
tell(uint32_t type, uint32_t slot)
{
	struct ipc_msg	*m;

	m = ipc_msg_new(type, 0);
	ipc_add_u32(m, slot);
	if (type != IPC_RECEIVER_CBK_DROP)
		ipc_add_str(m, sess[slot].id);
	if (type == IPC_RECEIVER_CBK_OPEN)
		ipc_add_str(m, sess[slot].addr);
	to_receiver(m);
}

/* Transmitter slot died or restarts: none of its sessions is open. */
void
cbk_parent_mta_gone(uint32_t slot)
{
	if (slot >= Q_MTA_N || sess[slot].id[0] == '\0')
		return;
	explicit_bzero(&sess[slot], sizeof(sess[slot]));
	tell(IPC_RECEIVER_CBK_DROP, slot);
}

/* A new receiver: every session open now. */
void
cbk_parent_replay(void)
{
	uint32_t	 i;

	for (i = 0; i < Q_MTA_N; i++)
		if (sess[i].id[0] != '\0')
			tell(IPC_RECEIVER_CBK_OPEN, i);
}

/*
 * IPC_PARENT_CBK_OPEN or _CLOSE from transmitter slot; -1 for one that
 * is malformed or that it may not send (the callback is off).  A CLOSE
 * of an ID that is not the slot's changes nothing.
 */
int
cbk_parent_from_mta(const struct sm_config *cfg, uint32_t slot,
    struct ipc_msg *m)
{
	const char	*id, *addr = NULL;
	char		 canon[CBK_ADDR_MAX];

	if (slot >= Q_MTA_N || cfg->smtpd_callback_port == 0 ||
	    ipc_get_str(m, &id) == -1 ||
	    (m->type == IPC_PARENT_CBK_OPEN && ipc_get_str(m, &addr) == -1) ||
	    ipc_get_end(m) == -1 || !smtp_sessid_valid(id) ||
	    (addr != NULL && cbk_addr_canon(addr, canon, sizeof(canon)) == -1))
		return -1;
	if (m->type == IPC_PARENT_CBK_CLOSE) {
		if (strcmp(sess[slot].id, id) == 0) {
			tell(IPC_RECEIVER_CBK_CLOSE, slot);
			explicit_bzero(&sess[slot], sizeof(sess[slot]));
		}
		return 0;
	}
	if (sess[slot].id[0] != '\0')
		tell(IPC_RECEIVER_CBK_CLOSE, slot);
	memcpy(sess[slot].id, id, CBK_ID_LEN + 1);
	memcpy(sess[slot].addr, canon, sizeof(canon));
	tell(IPC_RECEIVER_CBK_OPEN, slot);
	return 0;
}
