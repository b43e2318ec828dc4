/*
 * callback_mta.c - smtpd.mta's side of the callback (callback.h): each
 * outbound session to a receiver that offers SEALMAIL-CALLBACK gets a
 * random ID of 256 bits, written as 64 lowercase hex digits, which goes
 * with every MAIL of that session (SESSID=).  Before the first MAIL the
 * ID and the address we connected to are announced to smtpd's parent
 * (IPC_PARENT_CBK_OPEN), which tells the responder in smtpd.receiver;
 * when the session closes the ID is withdrawn (IPC_PARENT_CBK_CLOSE).
 * If this process dies the parent drops all its IDs.
 *
 * Runs in smtpd.mta ([global] user, chrooted); the channel to the
 * parent is blocking, like the rest of this process's I/O.  The
 * announcement is written before MAIL goes out, and the parent passes
 * it on at once, so it is at the responder long before a receiver can
 * call back (at the end of DATA at the earliest).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "callback.h"
#include "ipc.h"
#include "log.h"

static int	 pfd = -1;

void
cbk_mta_init(int fd)
{
	pfd = fd;
}

static void
to_parent(struct ipc_msg *m)
{
	/* the parent is gone: so is smtpd, and this process with it */
	if (ipc_send_sync(pfd, m) == -1)
		fatal("mta: callback: the parent went away");
}

/*
 * A new ID for the session open to addr (numeric), announced; id_r
 * holds CBK_ID_LEN + 1.  An address the responder could not compare (a
 * scoped IPv6 one) gets no ID: id_r is "" and the session offers none.
 */
void
cbk_mta_open(const char *addr, char *id_r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 r[CBK_ID_LEN / 2];
	struct ipc_msg	*m;
	char		 canon[CBK_ADDR_MAX];
	size_t		 i;

	id_r[0] = '\0';
	if (cbk_addr_canon(addr, canon, sizeof(canon)) == -1) {
		log_info("mta relay=[%s] callback: no session ID for an "
		    "address the responder cannot compare", addr);
		return;
	}
	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("mta: callback: RAND_bytes failed");
	for (i = 0; i < sizeof(r); i++) {
		id_r[2 * i] = hex[r[i] >> 4];
		id_r[2 * i + 1] = hex[r[i] & 0x0f];
	}
	id_r[CBK_ID_LEN] = '\0';
	explicit_bzero(r, sizeof(r));
	m = ipc_msg_new(IPC_PARENT_CBK_OPEN, 0);
	ipc_add_str(m, id_r);
	ipc_add_str(m, addr);
	to_parent(m);
}

/* The session closed: its ID (if it had one) is withdrawn and wiped. */
void
cbk_mta_close(char *id)
{
	struct ipc_msg	*m;

	if (id[0] == '\0')
		return;
	m = ipc_msg_new(IPC_PARENT_CBK_CLOSE, 0);
	ipc_add_str(m, id);
	to_parent(m);
	explicit_bzero(id, CBK_ID_LEN + 1);
}
