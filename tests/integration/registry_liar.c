/*
 * registry_liar.c - an LD_PRELOAD library that makes smtpd's receiver
 * ask its parent a malformed registry question, as a subverted receiver
 * would, for test_registry.py.  It changes no line of smtpd: in a
 * process named smtpd.receiver, and only when SMTPD_REGISTRY_LIAR=1 is
 * in the environment, a frame given to sendmsg() that holds the text
 * "garble-registry" (a recipient the test sends, which the receiver
 * asks the parent about) goes out as type IPC_PARENT_REGISTRY, whose
 * payload (one string field, not the data field of names) the parent
 * must refuse by restarting the receiver, never by exiting.
 *
 * A frame holding "ask-registry@NAME" (the recipient lookup of that
 * address) goes out instead as a well-formed IPC_PARENT_REGISTRY for the
 * one name NAME, with the lookup's id; and every IPC_RECEIVER_REGISTRY
 * answer recvmsg() brings in is told on standard error ("registry_liar:
 * answer status=S index=I name=N note=T").  The receiver itself ignores
 * that answer (no question of its own has that id), so the client's RCPT
 * is never answered: the test reads the log and hangs up.
 *
 * Each lie is told on standard error ("registry_liar: ..."), which is
 * the daemon's log in the foreground, so a test can see it was at work.
 *
 * Built by the test with "cc -shared -fPIC".
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER			"garble-registry"
#define MARKER_ASK		"ask-registry@"
#define IPC_PARENT_REGISTRY	110	/* common/ipc.h */
#define IPC_RECEIVER_REGISTRY	701

static int
role_is(const char *name)
{
	char		 comm[17] = "";
	const char	*on = getenv("SMTPD_REGISTRY_LIAR");

	if (on == NULL || strcmp(on, "1") != 0)
		return 0;
	if (prctl(PR_GET_NAME, comm, 0, 0, 0) == -1)
		return 0;
	return strcmp(comm, name) == 0;
}

static void
confess(const char *what)
{
	char	 line[200];
	int	 n;

	n = snprintf(line, sizeof(line), "registry_liar: %s\n", what);
	if (n > 0 && write(2, line, (size_t)n) == -1)
		return;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * A new frame asking about the NAME after MARKER_ASK in frame f (the
 * lookup's id kept): its length, or 0.
 */
static size_t
ask_frame(const unsigned char *f, size_t len, unsigned char *out,
    size_t outlen)
{
	const unsigned char	*p, *end;
	size_t			 n;

	p = memmem(f, len, MARKER_ASK, strlen(MARKER_ASK));
	if (p == NULL)
		return 0;
	p += strlen(MARKER_ASK);
	if ((end = memchr(p, '\0', len - (size_t)(p - f))) == NULL)
		return 0;
	n = (size_t)(end - p) + 1;	/* the name and its NUL */
	if (12 + 5 + n > outlen)
		return 0;
	put32(out, IPC_PARENT_REGISTRY);
	memcpy(out + 4, f + 4, 4);		/* the id */
	put32(out + 8, (uint32_t)(5 + n));
	out[12] = 'd';
	put32(out + 13, (uint32_t)n);
	memcpy(out + 17, p, n);
	return 17 + n;
}

/* A field of an answer: a u32 ('u') or a string ('s'); 0 or -1. */
static int
field(const unsigned char **p, const unsigned char *end, int tag,
    uint32_t *u, const char **s)
{
	uint32_t	 n;

	if (end - *p < 5 || **p != tag)
		return -1;
	n = get32(*p + 1);
	if (tag == 'u') {
		*u = n;
		*p += 5;
		return 0;
	}
	if ((size_t)(end - *p) < 5 + (size_t)n + 1 || (*p)[5 + n] != '\0')
		return -1;
	*s = (const char *)*p + 5;
	*p += 5 + n + 1;
	return 0;
}

/* Tell every IPC_RECEIVER_REGISTRY frame in what was received. */
static void
tell_answers(const unsigned char *b, size_t len)
{
	const unsigned char	*p, *end;
	const char		*name, *note;
	uint32_t		 status, index, plen;
	char			 line[600];

	while (len >= 12) {
		plen = get32(b + 8) & 0x7fffffff;
		if (plen > len - 12)
			return;
		p = b + 12;
		end = p + plen;
		if (get32(b) == IPC_RECEIVER_REGISTRY &&
		    field(&p, end, 'u', &status, NULL) == 0 &&
		    field(&p, end, 'u', &index, NULL) == 0 &&
		    field(&p, end, 's', NULL, &name) == 0 &&
		    field(&p, end, 's', NULL, &note) == 0) {
			snprintf(line, sizeof(line), "answer status=%u "
			    "index=%u name=%s note=%s", status, index, name,
			    note);
			confess(line);
		}
		b += 12 + plen;
		len -= 12 + plen;
	}
}

ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	ssize_t	 r;

	if (real == NULL)
		real = (ssize_t (*)(int, struct msghdr *, int))
		    dlsym(RTLD_NEXT, "recvmsg");
	r = real(fd, msg, flags);
	if (r > 0 && msg->msg_iovlen == 1 && role_is("smtpd.receiver"))
		tell_answers(msg->msg_iov[0].iov_base, (size_t)r);
	return r;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	struct msghdr	 m;
	struct iovec	 iov[64];
	unsigned char	*copy[64];
	size_t		 i, n = msg->msg_iovlen, sent, asked;
	ssize_t		 r;
	int		 lied = 0;

	if (real == NULL)
		real = (ssize_t (*)(int, const struct msghdr *, int))
		    dlsym(RTLD_NEXT, "sendmsg");
	if (n == 0 || n > 64 || !role_is("smtpd.receiver"))
		return real(fd, msg, flags);
	for (i = 0; i < n; i++) {
		iov[i] = msg->msg_iov[i];
		copy[i] = NULL;
		if (iov[i].iov_len >= 12 && (copy[i] = malloc(1024)) != NULL &&
		    (iov[i].iov_len = ask_frame(msg->msg_iov[i].iov_base,
		    msg->msg_iov[i].iov_len, copy[i], 1024)) > 0) {
			iov[i].iov_base = copy[i];
			confess("a registry question");
			lied = 1;
			continue;
		}
		iov[i] = msg->msg_iov[i];
		free(copy[i]);
		copy[i] = NULL;
		if (iov[i].iov_len < 12 || memmem(iov[i].iov_base,
		    iov[i].iov_len, MARKER, strlen(MARKER)) == NULL ||
		    (copy[i] = malloc(iov[i].iov_len)) == NULL)
			continue;
		memcpy(copy[i], iov[i].iov_base, iov[i].iov_len);
		/* the frame's type: its first four bytes, big-endian */
		copy[i][0] = 0;
		copy[i][1] = 0;
		copy[i][2] = IPC_PARENT_REGISTRY >> 8;
		copy[i][3] = IPC_PARENT_REGISTRY & 0xff;
		iov[i].iov_base = copy[i];
		confess("a malformed IPC_PARENT_REGISTRY");
		lied = 1;
	}
	if (!lied)
		return real(fd, msg, flags);
	m = *msg;
	m.msg_iov = iov;
	r = real(fd, &m, flags);
	for (i = 0, sent = 0, asked = 0; i < n; i++) {
		free(copy[i]);
		sent += iov[i].iov_len;
		asked += msg->msg_iov[i].iov_len;
	}
	/* all of a rewritten frame went: the caller's bytes went */
	return r >= 0 && (size_t)r == sent ? (ssize_t)asked : r;
}
