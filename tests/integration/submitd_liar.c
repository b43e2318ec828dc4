/*
 * submitd_liar.c - an LD_PRELOAD library that makes submitd's
 * unprivileged roles lie, as a subverted role would, for
 * test_submitd_hardening.py.  It changes no line of submitd: it changes
 * what a role is told by the C library, or what it sends to the parent.
 * Only processes named submitd.smtp or submitd.header are affected, and
 * only when SUBMITD_LIAR=1 is in the environment.
 *
 * In submitd.smtp:
 *   accept4()/accept()	the client's address is reported as 192.0.2.N,
 *			a new N for every connection (a child claiming
 *			addresses that are not the client's).
 *   pread()		"zzzzz@" in what it reads reads as "alice@" (a
 *			child reporting the header's author wrongly).
 *   sendmsg()		a message to the parent holding the text
 *			"garble-smtp-type" gets IPC type IPC_QUEUE_MESSAGE
 *			(one submitd does not handle), "garble-smtp-fields"
 *			the type IPC_PARENT_SENDER_OK (whose fields then do
 *			not fit), "garble-smtp-frame" a type beyond the
 *			enum (a frame that cannot be decoded).
 * In submitd.header:
 *   sendmsg()		an answer holding "garble-header-type" gets type
 *			IPC_PARENT_HELLO, one holding "garble-header-fields"
 *			the type IPC_ERR (whose fields then do not fit).
 *
 * Each lie is told on standard error ("submitd_liar: ..."), which is the
 * daemon's log in the foreground, so a test can see the liar was at work.
 *
 * Built by the test with "cc -shared -fPIC".
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* common/ipc.h */
#define IPC_ERR			2
#define IPC_PARENT_HELLO	102
#define IPC_PARENT_SENDER_OK	103
#define IPC_QUEUE_MESSAGE	200
#define IPC_BEYOND		0xffff

static void
confess(const char *what)
{
	char	 line[200];
	int	 n;

	n = snprintf(line, sizeof(line), "submitd_liar: %s\n", what);
	if (n > 0 && write(2, line, (size_t)n) == -1)
		return;
}

static int
role_is(const char *name)
{
	char	 comm[17] = "";
	const char *on = getenv("SUBMITD_LIAR");

	if (on == NULL || strcmp(on, "1") != 0)
		return 0;
	if (prctl(PR_GET_NAME, comm, 0, 0, 0) == -1)
		return 0;
	return strcmp(comm, name) == 0;
}

static void
lie_about_peer(struct sockaddr *sa, socklen_t *len)
{
	static unsigned int n;
	struct sockaddr_in sin;

	if (sa == NULL || len == NULL || *len < sizeof(sin))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(0xc0000200 | (++n % 250 + 1));
	memcpy(sa, &sin, sizeof(sin));
	*len = sizeof(sin);
	confess("accept4 reports 192.0.2.x");
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	int	 r;

	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
		    dlsym(RTLD_NEXT, "accept4");
	if ((r = real(fd, sa, len, flags)) != -1 && role_is("submitd.smtp"))
		lie_about_peer(sa, len);
	return r;
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return accept4(fd, sa, len, 0);
}

ssize_t
pread(int fd, void *buf, size_t count, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	char	*p, *b = buf;
	ssize_t	 n;

	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t, off_t))
		    dlsym(RTLD_NEXT, "pread");
	n = real(fd, buf, count, off);
	if (n > 0 && role_is("submitd.smtp"))
		for (p = b; (p = memmem(p, (size_t)n - (size_t)(p - b),
		    "zzzzz@", 6)) != NULL; p += 6) {
			memcpy(p, "alice@", 6);
			confess("pread reads zzzzz@ as alice@");
		}
	return n;
}

static uint32_t
garbled_type(const void *data, size_t len)
{
	static const struct {
		const char	*role, *marker;
		uint32_t	 type;
	} rules[] = {
		{ "submitd.smtp", "garble-smtp-type", IPC_QUEUE_MESSAGE },
		{ "submitd.smtp", "garble-smtp-fields", IPC_PARENT_SENDER_OK },
		{ "submitd.smtp", "garble-smtp-frame", IPC_BEYOND },
		{ "submitd.header", "garble-header-type", IPC_PARENT_HELLO },
		{ "submitd.header", "garble-header-fields", IPC_ERR },
	};
	size_t	 i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (memmem(data, len, rules[i].marker,
		    strlen(rules[i].marker)) != NULL &&
		    role_is(rules[i].role)) {
			confess(rules[i].marker);
			return rules[i].type;
		}
	return 0;
}

/*
 * common/ipc sends one frame per iovec, several in one sendmsg when they
 * are queued together: the frame that holds a marker gets its type.
 */
ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	struct msghdr	 m;
	struct iovec	 iov[64];
	unsigned char	*copy[64];
	uint32_t	 type;
	size_t		 i, n = msg->msg_iovlen;
	ssize_t		 r;
	int		 lied = 0;

	if (real == NULL)
		real = (ssize_t (*)(int, const struct msghdr *, int))
		    dlsym(RTLD_NEXT, "sendmsg");
	if (n == 0 || n > 64)
		return real(fd, msg, flags);
	for (i = 0; i < n; i++) {
		iov[i] = msg->msg_iov[i];
		copy[i] = NULL;
		if (iov[i].iov_len < 12 || (type = garbled_type(
		    iov[i].iov_base, iov[i].iov_len)) == 0 ||
		    (copy[i] = malloc(iov[i].iov_len)) == NULL)
			continue;
		memcpy(copy[i], iov[i].iov_base, iov[i].iov_len);
		copy[i][0] = type >> 24;
		copy[i][1] = type >> 16;
		copy[i][2] = type >> 8;
		copy[i][3] = type;
		iov[i].iov_base = copy[i];
		lied = 1;
	}
	if (!lied)
		return real(fd, msg, flags);
	m = *msg;
	m.msg_iov = iov;
	r = real(fd, &m, flags);
	for (i = 0; i < n; i++)
		free(copy[i]);
	return r;
}
