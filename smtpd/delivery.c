/*
 * delivery.c - smtpd.delivery: hands queued messages to mda over LMTP
 * (RFC 2033) on [mda] lmtp_socket and reports one status per recipient.
 *
 * Privileges: runs as [mda] trusted_user, the one uid (besides root) mda
 * lets give a message's class.  It is not chrooted because it connects
 * to the LMTP socket by path, but it holds no key, opens no file (the
 * queue passes each message as an open descriptor) and reads only mda's
 * replies and the queue's requests.
 *
 * Each transaction (the agreed hand-off, see mda/lmtp.c):
 *
 *	LHLO <hostname>			mda must offer XSEAL
 *	XSEAL ID=<queue id> CLASS=SAFE|UNSAFE
 *	MAIL FROM:<sender> [SMTPUTF8]
 *	RCPT TO:<user> ...
 *	DATA ...
 *
 * The class travels in a command of its own, never as a MAIL parameter,
 * so no address can spell it; and every address is checked again with
 * q_addr_valid() before it is written.  The queue ID is the same on
 * every retry, so mda can tell a retry of a message it already stored.
 * An mda that does not offer XSEAL gets nothing: the message is deferred
 * (4xx) and stays queued.
 *
 * One message at a time, blocking I/O with timeouts: the queue keeps
 * several requests in the socket and delivery is bounded by mda anyway.
 * The message is dot-stuffed on the way out and every line ends in CRLF
 * (the queue holds it exactly as received, already free of bare CR/LF).
 * When the queue goes away this process outlives it: it finishes the
 * transaction at hand, drops the dead queue's requests and waits for the
 * parent to hand over a channel to the next queue.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
	int		 caps;		/* LMTP_CAP_* mda offered */
};

#define LMTP_CAP_XSEAL		0x01
#define LMTP_CAP_SMTPUTF8	0x02

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

/* The capability a reply line names ("250-XSEAL", "250 SMTPUTF8"). */
static int
lmtp_cap(const char *line)
{
	static const struct {
		const char	*kw;
		int		 cap;
	} caps[] = {
		{ "XSEAL", LMTP_CAP_XSEAL },
		{ "SMTPUTF8", LMTP_CAP_SMTPUTF8 },
	};
	const char	*kw = line + 4;
	size_t		 i, n;

	if (strncmp(line, "250", 3) != 0)
		return 0;
	n = strcspn(kw, " ");
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (n == strlen(caps[i].kw) &&
		    strncasecmp(kw, caps[i].kw, n) == 0)
			return caps[i].cap;
	return 0;
}

/*
 * One reply (last line of a multi-line one) into line; its code or -1.
 * With caps, the capabilities its lines name are added to *caps.
 */
static int
lmtp_reply_caps(char *line, size_t len, int *caps)
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
		if (caps != NULL && strlen(line) > 4)
			*caps |= lmtp_cap(line);
		if (line[3] != '-')
			return code;
	}
}

static int
lmtp_reply(char *line, size_t len)
{
	return lmtp_reply_caps(line, len, NULL);
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
	L.caps = 0;
	if (lmtp_reply_caps(line, sizeof(line), &L.caps) != 250)
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

/* The queue went away: its requests die with it; wait for the next. */
static void
queue_lost(int *qfd)
{
	if (*qfd == -1)
		return;
	log_info("the queue went away; waiting for the next one");
	close(*qfd);
	*qfd = -1;
}

static void
report(int *qfd, uint32_t req, uint32_t idx, int code, const char *text)
{
	struct ipc_msg	*m;
	uint32_t	 st;

	if (*qfd == -1)
		return;
	st = code >= 200 && code < 300 ? Q_DLV_OK : code >= 500 &&
	    code < 600 ? Q_DLV_PERMFAIL : Q_DLV_TEMPFAIL;
	m = ipc_msg_new(IPC_QUEUE_DELIVERED, req);
	ipc_add_u32(m, idx);
	ipc_add_u32(m, st);
	ipc_add_str(m, text);
	if (ipc_send_sync(*qfd, m) == -1)
		queue_lost(qfd);
}

struct drcpt {
	uint32_t	 idx;
	const char	*user;
	int		 code;
	char		 text[LMTP_LINE_MAX];
};

/* Every recipient not yet answered gets code and text. */
static void
answer_all(struct drcpt *r, uint32_t n, int only250, int code,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 text[LMTP_LINE_MAX];
	uint32_t i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; i < n; i++)
		if (!only250 || r[i].code == 250) {
			r[i].code = code;
			snprintf(r[i].text, sizeof(r[i].text), "%s", text);
		}
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * Open the transaction: XSEAL (on a fresh connection if the kept one was
 * closed by mda), then MAIL.  250, another reply code (line holds the
 * reply) or -1 when the connection failed; *why says what was refused.
 */
static int
lmtp_begin(const char *id, uint32_t class, const char *from, int utf8,
    char *line, size_t len, const char **why)
{
	int	 i, code = -1;

	/* a kept connection may have been closed by mda: one reconnect */
	for (i = 0; i < 2 && code == -1; i++) {
		*why = "connect";
		if (lmtp_connect() == -1)
			return -1;
		if (!(L.caps & LMTP_CAP_XSEAL)) {
			*why = "xseal-missing";
			return -1;
		}
		*why = "XSEAL";
		buf_printf(&L.out, "XSEAL ID=%s CLASS=%s\r\n", id,
		    class == Q_CLASS_SAFE ? "SAFE" : "UNSAFE");
		if ((code = lmtp_reply(line, len)) == -1)
			lmtp_drop();
	}
	if (code != 250)
		return code;
	*why = "MAIL";
	if (utf8 && !(L.caps & LMTP_CAP_SMTPUTF8)) {
		snprintf(line, len, "553 5.6.7 mda does not offer SMTPUTF8");
		return 553;
	}
	buf_printf(&L.out, "MAIL FROM:<%s>%s\r\n", from,
	    utf8 ? " SMTPUTF8" : "");
	return lmtp_reply(line, len);
}

static void
deliver(int *qfd, struct ipc_msg *m)
{
	const char	*id, *from, *why;
	uint32_t	 class, n, i;
	struct drcpt	*r;
	char		 line[LMTP_LINE_MAX];
	int		 code, accepted = 0, lost = 0, utf8;
	struct ipc_msg	*done;

	if (ipc_get_str(m, &id) == -1 || ipc_get_str(m, &from) == -1 ||
	    ipc_get_u32(m, &class) == -1 || ipc_get_u32(m, &n) == -1 ||
	    n == 0 || n > Q_MAX_RCPT || m->fd == -1 || !q_id_valid(id))
		fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	r = xcalloc(n, sizeof(*r));
	for (i = 0; i < n; i++)
		if (ipc_get_u32(m, &r[i].idx) == -1 ||
		    ipc_get_str(m, &r[i].user) == -1)
			fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	if (ipc_get_end(m) == -1)
		fatalx("delivery: bad IPC_DELIVERY_MESSAGE");
	answer_all(r, n, 0, 451, "451 4.4.1 mda not reachable");

	/*
	 * The queue checked every address; checked again here, where they
	 * are written, because an address that is not one could carry
	 * something else into the command line.
	 */
	utf8 = has_8bit(from);
	if (!q_addr_valid(from, Q_ADDR_FROM)) {
		log_warnx("id=%s from=<%s> is not an address; not delivered",
		    id, from);
		answer_all(r, n, 0, 553, "553 5.1.7 bad sender address");
		goto out;
	}
	for (i = 0; i < n; i++) {
		utf8 |= has_8bit(r[i].user);
		if (!q_addr_valid(r[i].user, Q_ADDR_USER)) {
			log_warnx("id=%s user=<%s> is not an address; not "
			    "delivered", id, r[i].user);
			answer_all(r, n, 0, 553,
			    "553 5.1.3 bad recipient address");
			goto out;
		}
	}

	code = lmtp_begin(id, class, from, utf8, line, sizeof(line), &why);
	if (code == -1 && strcmp(why, "xseal-missing") == 0) {
		/* never the old MAIL parameter: the class would be lost */
		log_warnx("id=%s lmtp=%s mda does not offer XSEAL; deferred",
		    id, cfg->lmtp_socket);
		answer_all(r, n, 0, 451, "451 4.3.5 mda does not offer XSEAL");
		lost = 1;
		goto out;
	}
	if (code == -1 && strcmp(why, "connect") == 0)
		goto out;
	if (code != 250) {
		lost = code == -1;
		if (code == -1)
			answer_all(r, n, 0, 451, "451 4.4.2 connection to mda "
			    "lost");
		else if (strcmp(why, "XSEAL") == 0) {
			/* our uid is not trusted by mda: a setup error */
			log_warnx("id=%s mda refused XSEAL: %s", id, line);
			answer_all(r, n, 0, 451, "451 4.3.5 mda refused "
			    "XSEAL: %s", line);
		} else
			answer_all(r, n, 0, code, "%s", line);
		goto reset;
	}
	for (i = 0; i < n; i++) {
		buf_printf(&L.out, "RCPT TO:<%s>\r\n", r[i].user);
		if ((code = lmtp_reply(r[i].text, sizeof(r[i].text))) == -1) {
			lost = 1;
			answer_all(r, n, 0, 451, "451 4.4.2 connection to mda "
			    "lost");
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
		answer_all(r, n, 1, code == -1 ? 451 : code, "%s", code == -1 ?
		    "451 4.4.2 connection to mda lost" : line);
		goto reset;
	}
	if (lmtp_send_body(m->fd) == -1) {
		lost = 1;
		answer_all(r, n, 1, 451, "451 4.4.2 connection to mda lost");
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
	if (*qfd != -1) {
		done = ipc_msg_new(IPC_QUEUE_DELIVERY_DONE, m->id);
		ipc_add_str(done, id);
		if (ipc_send_sync(*qfd, done) == -1)
			queue_lost(qfd);
	}
	free(r);
}

/* The parent's word: a channel to a new queue. */
static void
parent_msg(int pfd, int *qfd)
{
	struct ipc_msg	*m;

	if (ipc_recv_sync(pfd, &m) == -1)
		_exit(0);	/* the parent is gone: so are we */
	if (m->type != IPC_DELIVERY_QUEUE || ipc_get_end(m) == -1 ||
	    m->fd == -1)
		fatalx("delivery: unexpected message %u from parent", m->type);
	/* a new queue means the last one is dead */
	if (*qfd != -1)
		close(*qfd);
	*qfd = ipc_msg_takefd(m);
	ipc_msg_free(m);
	log_debug("queue channel ready");
}

/*
 * pfd: the channel to the parent; qfd: to the queue, or -1 until the
 * parent hands one over (IPC_DELIVERY_QUEUE, when a queue starts).
 */
void
delivery_main(struct sm_config *c, int pfd, int qfd)
{
	struct pollfd	 pf[2];
	struct ipc_msg	*m;

	cfg = c;
	signal(SIGPIPE, SIG_IGN);
	log_info("delivery ready lmtp=%s", cfg->lmtp_socket);
	for (;;) {
		pf[0].fd = pfd;
		pf[0].events = POLLIN;
		pf[1].fd = qfd;		/* -1: ignored */
		pf[1].events = POLLIN;
		pf[0].revents = pf[1].revents = 0;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("delivery: poll");
		}
		if (pf[0].revents != 0) {
			parent_msg(pfd, &qfd);
			continue;
		}
		if (pf[1].revents == 0)
			continue;
		if (ipc_recv_sync(qfd, &m) == -1) {
			queue_lost(&qfd);
			continue;
		}
		if (m->type != IPC_DELIVERY_MESSAGE)
			fatalx("delivery: unexpected message %u", m->type);
		deliver(&qfd, m);
		ipc_msg_free(m);
	}
}
