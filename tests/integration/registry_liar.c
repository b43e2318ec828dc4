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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER			"garble-registry"
#define IPC_PARENT_REGISTRY	110	/* common/ipc.h */

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

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	struct msghdr	 m;
	struct iovec	 iov[64];
	unsigned char	*copy[64];
	size_t		 i, n = msg->msg_iovlen;
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
		lied = 1;
	}
	if (!lied)
		return real(fd, msg, flags);
	confess("a malformed IPC_PARENT_REGISTRY");
	m = *msg;
	m.msg_iov = iov;
	r = real(fd, &m, flags);
	for (i = 0; i < n; i++)
		free(copy[i]);
	return r;
}
