/*
 * header_role.c - the submitd.header role: reads the header of each
 * submitted message for the root parent.
 *
 * Runs as [global] user, chrooted to [global] empty_dir, started (and
 * restarted when it dies) by the parent, whose only peer it is.  For each
 * IPC_HEADER_SCAN the parent passes the message as a sealed memfd; this
 * role reads at most HDR_SCAN_MAX bytes of it, runs the header scanner
 * (header.c) and answers with the facts: the From: and Sender:
 * addresses, whether Date: and Message-ID: are present, whether there is
 * a header at all.  The parent judges the addresses against the user
 * database; this role decides nothing.
 *
 * Why a role of its own: the message is network input, which the root
 * parent must not parse (docs/architecture.md, rule 1), and submitd.smtp,
 * which also
 * reads it, is the process most exposed to the network; if it were the
 * one to report the author, a subverted session process could send mail
 * under any address the user may not use.  This role has no socket to
 * the network, no listener, no TLS key and no database, and it cannot
 * change the message (the memfd is sealed against writing).
 *
 * The parent is trusted: a malformed request from it ends this role.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "header.h"
#include "ipc.h"
#include "log.h"
#include "submitd.h"
#include "xmalloc.h"

static struct ipc_conn *parent;

static void
answer_err(uint32_t id, const char *why)
{
	struct ipc_msg *m = ipc_msg_new(IPC_ERR, id);

	ipc_add_u32(m, 0);
	ipc_add_str(m, why);
	ipc_send(parent, m);
}

static void
scan(uint32_t id, int fd)
{
	struct hdr_info	 hi;
	struct ipc_msg	*m;
	struct stat	 st;
	enum hdr_result	 r;
	int		 k, ret;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		answer_err(id, "not a message file");
		return;
	}
	if ((ret = hdr_scan_fd(fd, (size_t)st.st_size, &hi)) == -1) {
		answer_err(id, strerror(errno));
		return;
	}
	r = (enum hdr_result)ret;
	m = ipc_msg_new(IPC_OK, id);
	ipc_add_u32(m, (uint32_t)r);
	ipc_add_u32(m, (uint32_t)hi.no_header);
	ipc_add_u32(m, (uint32_t)hi.has_date);
	ipc_add_u32(m, (uint32_t)hi.has_msgid);
	ipc_add_u32(m, r == HDR_OK ? (uint32_t)hi.nfrom : 0);
	for (k = 0; r == HDR_OK && k < hi.nfrom; k++)
		ipc_add_str(m, hi.from[k]);
	ipc_add_u32(m, r == HDR_OK ? (uint32_t)hi.has_sender : 0);
	ipc_add_str(m, r == HDR_OK && hi.has_sender ? hi.sender : "");
	ipc_add_str(m, r == HDR_OK ? hi.msgid : "");
	ipc_send(parent, m);
	log_debug("message=%u result=%s nfrom=%d sender=%s", id,
	    hdr_result_str(r), hi.nfrom, hi.has_sender ? "yes" : "no");
}

static void
header_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	int	 fd;

	if (m->type != IPC_HEADER_SCAN || ipc_get_end(m) == -1 || m->fd < 0)
		fatalx("unexpected message type %u from the parent", m->type);
	fd = ipc_msg_takefd(m);
	scan(m->id, fd);
	close(fd);
}

static void
header_parent_closed(struct ipc_conn *c, void *arg)
{
	log_info("parent went away; exiting");
	exit(0);
}

void
header_main(const struct sm_config *cfg, int ipcfd)
{
	struct event_base *base;
	struct ipc_msg *m;

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_child_signals(base);
	parent = ipc_conn_new(base, ipcfd, header_dispatch,
	    header_parent_closed, NULL);
	m = ipc_msg_new(IPC_PARENT_HELLO, 0);
	ipc_add_str(m, "header");
	ipc_send(parent, m);
	log_info("ready");
	event_base_dispatch(base);
	exit(0);
}
