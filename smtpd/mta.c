/*
 * mta.c - smtpd.mta, the transmitter: sends the queue's mail for other
 * domains to their MX hosts (or a relayhost or transport map entry) and
 * reports one result per recipient.  Q_MTA_N of them run; the queue
 * feeds each one message at a time.
 *
 * Privileges: runs as [global] user, chrooted to empty_dir, like the
 * receiver: it talks to any host on the Internet.  Before it drops them
 * it makes what it cannot make afterwards: its DNS context (which reads
 * /etc/resolv.conf, the resolver setting and [global] dns_trust_anchor,
 * the DNSSEC anchors DANE starts from) and its TLS client context
 * (which reads [global] tls_ca, the trust anchors for "verify").  It
 * holds no key, opens no file (the queue passes each message as an open
 * descriptor) and reads only the queue's requests and the remote
 * servers' replies (mta_session.c, through common/smtp_client.c).
 *
 * A request (IPC_MTA_MESSAGE, smtpd.h) carries the sender and the
 * remote recipients with their envelope indexes, grouped by domain; each
 * group is one SMTP transaction (mta_session_run), on a connection kept
 * from the last one when it went to the same domain.  Every address is
 * checked again here, where it is written into a command.  When the
 * queue goes away this process finishes the message at hand, drops the
 * dead queue's requests and waits for the parent to hand over a channel
 * to the next (IPC_MTA_QUEUE), as smtpd.delivery does.
 *
 * To the parent it says only which of its sessions the callback
 * responder may vouch for (callback_mta.c: IPC_PARENT_CBK_OPEN/CLOSE).
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "callback.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "mta.h"
#include "smtpd.h"
#include "tls.h"
#include "xmalloc.h"

static struct sm_config	*cfg;
static struct mta_policy policy;
static struct event_base *base;
static struct dns_ctx	*dns;
static SSL_CTX		*tls_ctx;

/*
 * Before the privilege drop: the DNS and TLS contexts and the policy
 * (smtpd's parent checked the settings at start: a failure here is a
 * broken environment).
 */
void
mta_init(struct sm_config *c)
{
	char	 err[512];

	cfg = c;
	if (mta_policy_load(&policy, cfg, err, sizeof(err)) == -1)
		fatalx("mta: %s", err);
	base = event_base_new();
	if ((dns = dns_init(base, cfg->resolver, cfg->dns_trust_anchor)) ==
	    NULL)
		fatalx("mta: cannot set up DNS");
	if ((tls_ctx = tls_client_ctx(cfg->tls_ca, 0, err, sizeof(err))) ==
	    NULL)
		fatalx("mta: TLS: %s", err);
	mta_route_init(base, dns);
	mta_dane_init(base, dns, tls_ctx);
	mta_session_init(cfg, &policy, tls_ctx);
	mta_sts_init(tls_ctx, policy.sts_port);
}

/* Size and 8-bit content of the message; -1 when it cannot be read. */
static int
scan_message(int fd, size_t *size, int *body8)
{
	char	 b[16384];
	ssize_t	 n, i;
	off_t	 off = 0;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	*size = (size_t)st.st_size;
	*body8 = 0;
	while (!*body8 && (n = pread(fd, b, sizeof(b), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n; i++)
			if ((unsigned char)b[i] >= 0x80) {
				*body8 = 1;
				break;
			}
		off += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the queue */

static void
report(int *qfd, uint32_t req, const struct mta_job *j)
{
	struct ipc_msg	*m;
	size_t		 i;

	for (i = 0; i < j->n; i++) {
		m = ipc_msg_new(IPC_QUEUE_DELIVERED, req);
		ipc_add_u32(m, j->r[i].idx);
		ipc_add_u32(m, (uint32_t)mta_status(j->r[i].code));
		ipc_add_str(m, j->r[i].text);
		ipc_send_sync_or_drop(qfd, m, "queue");
	}
}

/* Recipients that cannot be written into a command fail here. */
static void
refuse(struct mta_rcpt *r, size_t n, const char *line)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		r[i].code = 553;
		mta_result_text(r[i].text, sizeof(r[i].text), 553, line, NULL);
	}
}

/*
 * The queue checked every address; checked again here, where they are
 * written (one that is not an address could carry a command).  Which
 * need SMTPUTF8?
 */
static int
group_valid(struct mta_job *j)
{
	size_t	 i;

	j->utf8 = mta_needs_utf8(j->from);
	if (*j->domain == '\0')
		return 0;
	for (i = 0; i < j->n; i++) {
		if (!q_addr_valid(j->r[i].addr, Q_ADDR_RCPT) ||
		    strchr(j->r[i].addr, '@') == NULL)
			return 0;
		j->utf8 |= mta_needs_utf8(j->r[i].addr);
	}
	return 1;
}

/* IPC_MTA_MESSAGE: each domain's recipients in turn, then DONE. */
static void
transmit(int *qfd, struct ipc_msg *m)
{
	struct mta_job	 j;
	struct mta_rcpt	*r;
	const char	*id, *from;
	uint32_t	 n, i, k, flags;
	struct ipc_msg	*d;

	if (ipc_get_str(m, &id) == -1 || ipc_get_str(m, &from) == -1 ||
	    ipc_get_u32(m, &flags) == -1 || ipc_get_u32(m, &n) == -1 ||
	    (flags & ~Q_MSG_REQUIRETLS) != 0 || n == 0 || n > Q_MAX_RCPT || m->fd == -1 || !q_id_valid(id))
		fatalx("mta: bad IPC_MTA_MESSAGE");
	r = xcalloc(n, sizeof(*r));
	for (i = 0; i < n; i++)
		if (ipc_get_u32(m, &r[i].idx) == -1 ||
		    ipc_get_str(m, &r[i].addr) == -1)
			fatalx("mta: bad IPC_MTA_MESSAGE");
	if (ipc_get_end(m) == -1)
		fatalx("mta: bad IPC_MTA_MESSAGE");
	memset(&j, 0, sizeof(j));
	j.id = id;
	j.from = from;
	j.msgfd = m->fd;
	j.requiretls = (flags & Q_MSG_REQUIRETLS) != 0;
	if (!q_addr_valid(from, Q_ADDR_FROM))
		refuse(r, n, "5.1.7 bad sender address");
	else if (scan_message(m->fd, &j.size, &j.body8) == -1) {
		for (i = 0; i < n; i++) {
			r[i].code = 451;
			mta_result_text(r[i].text, sizeof(r[i].text), 451,
			    "4.3.0 cannot read the message", NULL);
		}
	} else
		for (i = 0; i < n; i = k) {
			/* a run of one domain (the queue grouped them) */
			for (k = i + 1; k < n && mta_same_domain(r[i].addr,
			    r[k].addr); k++)
				;
			j.domain = mta_domain(r[i].addr);
			j.r = &r[i];
			j.n = k - i;
			if (!group_valid(&j)) {
				refuse(j.r, j.n, "5.1.3 bad recipient address");
				continue;
			}
			mta_session_run(&j);
		}
	j.r = r;
	j.n = n;
	report(qfd, m->id, &j);
	d = ipc_msg_new(IPC_QUEUE_DELIVERY_DONE, m->id);
	ipc_add_str(d, id);
	ipc_send_sync_or_drop(qfd, d, "queue");
	free(r);
}

static void
mta_dispatch(int from_parent, struct ipc_msg *m, int *qfd)
{
	switch (m->type) {
	case IPC_MTA_QUEUE:
		if (!from_parent || ipc_get_end(m) == -1 || m->fd == -1)
			fatalx("mta: bad IPC_MTA_QUEUE");
		if (*qfd != -1)
			close(*qfd);
		*qfd = ipc_msg_takefd(m);
		log_debug("mta: queue channel ready");
		break;
	case IPC_MTA_MESSAGE:
		if (from_parent)
			fatalx("mta: a message from the parent");
		transmit(qfd, m);
		break;
	default:
		fatalx("mta: unexpected message %u from the %s", m->type,
		    from_parent ? "parent" : "queue");
	}
}

/*
 * pfd: the channel to the parent; qfd: to the queue, or -1 until the
 * parent hands one over.  A kept connection is closed after MTA_IDLE
 * seconds without a message for it.
 */
void
mta_main(struct sm_config *c, int pfd, int qfd)
{
	struct pollfd	 pf[2];
	struct ipc_msg	*m;
	int		 n;

	(void)c;
	signal(SIGPIPE, SIG_IGN);
	cbk_mta_init(pfd);
	log_info("mta ready tls_policy=%s relayhost=%s", mta_tls_name(
	    policy.tls), policy.relayhost ? policy.relayhost : "none");
	for (;;) {
		pf[0].fd = pfd;
		pf[0].events = POLLIN;
		pf[1].fd = qfd;
		pf[1].events = POLLIN;
		pf[0].revents = pf[1].revents = 0;
		n = poll(pf, 2, mta_session_kept() ? 1000 : -1);
		mta_session_idle();
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("mta: poll");
		}
		if (pf[0].revents != 0) {
			if (ipc_recv_sync(pfd, &m) == -1)
				_exit(0);
			mta_dispatch(1, m, &qfd);
		} else if (pf[1].revents != 0) {
			if (ipc_recv_sync(qfd, &m) == -1) {
				ipc_sync_lost(&qfd, "queue");
				continue;
			}
			mta_dispatch(0, m, &qfd);
		} else
			continue;
		ipc_msg_free(m);
	}
}
