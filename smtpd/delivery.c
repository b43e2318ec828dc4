/*
 * delivery.c - smtpd.delivery: hands queued messages to mda over LMTP
 * (RFC 2033) on [mda] lmtp_socket and reports one status per recipient.
 *
 * Privileges: runs as [mda] trusted_user, the one uid mda lets set the
 * classification (MAIL FROM:<...> X-SEALMAIL-CLASS=safe|unsafe).  It is
 * not chrooted because it connects to the LMTP socket by path, but it
 * holds no key, opens no file (the queue passes each message as an open
 * descriptor) and reads only mda's replies and the queue's requests.
 *
 * One message at a time, blocking I/O with timeouts: the queue keeps
 * several requests in the socket and delivery is bounded by mda anyway.
 * The message is dot-stuffed on the way out and every line ends in CRLF
 * (the queue holds it exactly as received, already free of bare CR/LF).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "smtpd.h"
#include "xmalloc.h"

#define LMTP_TIMEOUT	300
#define LMTP_LINE_MAX	2048

struct lmtp {
	int		 fd;
	struct buf	 in;
	struct buf	 out;
};

static struct sm_config	*cfg;
static struct lmtp	 L = { .fd = -1 };

static void
lmtp_drop(void)
{
	if (L.fd != -1)
		close(L.fd);
	L.fd = -1;
	buf_free(&L.in);
	buf_free(&L.out);
}

static int
lmtp_flush(void)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < L.out.len) {
		n = write(L.fd, L.out.data + off, L.out.len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	buf_reset(&L.out);
	return 0;
}

/* One reply (last line of a multi-line one) into line; its code or -1. */
static int
lmtp_reply(char *line, size_t len)
{
	char	*nl, b[4096];
	ssize_t	 n;
	size_t	 l;
	int	 code;

	for (;;) {
		if (lmtp_flush() == -1)
			return -1;
		while ((nl = memchr(L.in.data ? L.in.data : "", '\n',
		    L.in.len)) == NULL) {
			if ((n = read(L.fd, b, sizeof(b))) <= 0) {
				if (n == -1 && errno == EINTR)
					continue;
				return -1;
			}
			if (buf_add(&L.in, b, (size_t)n) == -1)
				return -1;
		}
		l = (size_t)(nl - L.in.data);
		if (l > 0 && L.in.data[l - 1] == '\r')
			l--;
		snprintf(line, len, "%.*s", (int)l, L.in.data);
		buf_consume(&L.in, (size_t)(nl - L.in.data) + 1);
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5')
			return -1;
		code = atoi(line);
		if (line[3] != '-')
			return code;
	}
}

static int
lmtp_connect(void)
{
	struct timeval	 tv = { LMTP_TIMEOUT, 0 };
	char		 line[LMTP_LINE_MAX];

	if (L.fd != -1)
		return 0;
	buf_init(&L.in, 64 * 1024);
	buf_init(&L.out, 0);
	if ((L.fd = net_unix_connect(cfg->lmtp_socket)) == -1) {
		log_warn("connect %s", cfg->lmtp_socket);
		return -1;
	}
	setsockopt(L.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(L.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (lmtp_reply(line, sizeof(line)) != 220)
		goto fail;
	buf_printf(&L.out, "LHLO %s\r\n", cfg->hostname);
	if (lmtp_reply(line, sizeof(line)) != 250)
		goto fail;
	return 0;
fail:
	log_warnx("lmtp: no greeting from mda");
	lmtp_drop();
	return -1;
}

/* The message, dot-stuffed, every line ending in CRLF. */
static int
lmtp_send_body(int fd)
{
	char	 b[16384];
	ssize_t	 n;
	off_t	 off = 0;
	size_t	 i;
	int	 bol = 1, cr = 0;

	while ((n = pread(fd, b, sizeof(b), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		for (i = 0; i < (size_t)n; i++) {
			if (bol && b[i] == '.')
				buf_addc(&L.out, '.');
			if (b[i] == '\n' && !cr)
				buf_addc(&L.out, '\r');
			buf_addc(&L.out, b[i]);
			cr = b[i] == '\r';
			bol = b[i] == '\n';
		}
		if (L.out.len > 65536 && lmtp_flush() == -1)
			return -1;
	}
	if (!bol)
		buf_addstr(&L.out, cr ? "\n" : "\r\n");
	buf_addstr(&L.out, ".\r\n");
	return 0;
}

static void
report(int qfd, uint32_t req, uint32_t idx, int code, const char *text)
{
	struct ipc_msg	*m;
	uint32_t	 st;

	st = code >= 200 && code < 300 ? Q_DLV_OK : code >= 500 &&
	    code < 600 ? Q_DLV_PERMFAIL : Q_DLV_TEMPFAIL;
	m = ipc_msg_new(IPC_QUEUE_DELIVERED, req);
	ipc_add_u32(m, idx);
	ipc_add_u32(m, st);
	ipc_add_str(m, text);
	if (ipc_send_sync(qfd, m) == -1)
		fatal("delivery: send to queue");
}

struct drcpt {
	uint32_t	 idx;
	const char	*user;
	int		 code;
	char		 text[LMTP_LINE_MAX];
};

static void
deliver(int qfd, struct ipc_msg *m)
{
	const char	*id, *from;
	uint32_t	 class, n, i;
	struct drcpt	*r;
	char		 line[LMTP_LINE_MAX];
	int		 code, accepted = 0, lost = 0;
	struct ipc_msg	*done;

	if (ipc_get_str(m, &id) == -1 || ipc_get_str(m, &from) == -1 ||
	    ipc_get_u32(m, &class) == -1 || ipc_get_u32(m, &n) == -1 ||
	    n == 0 || n > Q_MAX_RCPT || m->fd == -1)
		fatalx("delivery: bad IPC_MDA_DELIVER");
	r = xcalloc(n, sizeof(*r));
	for (i = 0; i < n; i++)
		if (ipc_get_u32(m, &r[i].idx) == -1 ||
		    ipc_get_str(m, &r[i].user) == -1)
			fatalx("delivery: bad IPC_MDA_DELIVER");
	if (ipc_get_end(m) == -1)
		fatalx("delivery: bad IPC_MDA_DELIVER");
	for (i = 0; i < n; i++) {
		r[i].code = 451;
		snprintf(r[i].text, sizeof(r[i].text),
		    "451 4.4.1 mda not reachable");
	}
	/* a kept connection may have been closed by mda: one reconnect */
	for (i = 0, code = -1; i < 2 && code == -1; i++) {
		if (lmtp_connect() == -1)
			goto out;
		buf_printf(&L.out, "MAIL FROM:<%s> X-SEALMAIL-CLASS=%s\r\n",
		    from, q_class_name((int)class));
		if ((code = lmtp_reply(line, sizeof(line))) == -1)
			lmtp_drop();
	}
	if (code != 250) {
		for (i = 0; i < n; i++) {
			r[i].code = code == -1 ? 451 : code;
			snprintf(r[i].text, sizeof(r[i].text), "%s", line);
		}
		lost = code == -1;
		goto reset;
	}
	for (i = 0; i < n; i++) {
		buf_printf(&L.out, "RCPT TO:<%s>\r\n", r[i].user);
		if ((code = lmtp_reply(r[i].text, sizeof(r[i].text))) == -1) {
			lost = 1;
			goto out;
		}
		r[i].code = code;
		if (code == 250)
			accepted++;
	}
	if (accepted == 0)
		goto reset;
	buf_addstr(&L.out, "DATA\r\n");
	if ((code = lmtp_reply(line, sizeof(line))) != 354) {
		lost = code == -1;
		for (i = 0; i < n; i++)
			if (r[i].code == 250) {
				r[i].code = code == -1 ? 451 : code;
				snprintf(r[i].text, sizeof(r[i].text), "%s",
				    line);
			}
		goto reset;
	}
	if (lmtp_send_body(m->fd) == -1) {
		lost = 1;
		goto out;
	}
	/* RFC 2033 4.2: one reply per accepted recipient, in order */
	for (i = 0; i < n; i++) {
		if (r[i].code != 250)
			continue;
		if ((code = lmtp_reply(r[i].text, sizeof(r[i].text))) == -1) {
			lost = 1;
			r[i].code = 451;
			snprintf(r[i].text, sizeof(r[i].text),
			    "451 4.4.2 connection to mda lost");
			continue;
		}
		r[i].code = code;
	}
	goto out;
reset:
	if (!lost) {
		buf_addstr(&L.out, "RSET\r\n");
		if (lmtp_reply(line, sizeof(line)) == -1)
			lost = 1;
	}
out:
	if (lost)
		lmtp_drop();
	for (i = 0; i < n; i++) {
		log_debug("id=%s user=%s lmtp=%s", id, r[i].user, r[i].text);
		report(qfd, m->id, r[i].idx, r[i].code, r[i].text);
	}
	done = ipc_msg_new(IPC_QUEUE_DELIVERY_DONE, m->id);
	ipc_add_str(done, id);
	if (ipc_send_sync(qfd, done) == -1)
		fatal("delivery: send to queue");
	free(r);
}

void
delivery_main(struct sm_config *c, int qfd)
{
	struct ipc_msg	*m;

	cfg = c;
	signal(SIGPIPE, SIG_IGN);
	log_info("delivery ready lmtp=%s", cfg->lmtp_socket);
	for (;;) {
		if (ipc_recv_sync(qfd, &m) == -1)
			break;
		if (m->type != IPC_MDA_DELIVER)
			fatalx("delivery: unexpected message %u", m->type);
		deliver(qfd, m);
		ipc_msg_free(m);
	}
	lmtp_drop();
	_exit(0);
}
