/*
 * mta_liar.c - an LD_PRELOAD library that makes smtpd's transmitter
 * (smtpd.mta) send the queue a malformed report, as a subverted
 * transmitter would, for test_exchange_faults.py.  It changes no line of
 * smtpd: in a process named smtpd.mta, and only when SMTPD_MTA_LIAR=1
 * is in the environment, a frame given to sendmsg() that holds the text
 * "garble-mta-report" (a remote server's reply the test's fake server
 * sends) goes out with that text's first byte replaced by a control
 * character, which the queue must refuse (mta_text_valid); one that
 * holds "garble-mta-type" goes out as type IPC_QUEUE_MESSAGE, which a
 * transmitter may not send.
 *
 * Each lie is told on standard error ("mta_liar: ..."), which is the
 * daemon's log in the foreground, so a test can see the liar was at work.
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

#define MARKER	"garble-mta-report"
#define MARKER_TYPE "garble-mta-type"
#define IPC_QUEUE_MESSAGE 200	/* common/ipc.h */

static int
role_is(const char *name)
{
	char		 comm[17] = "";
	const char	*on = getenv("SMTPD_MTA_LIAR");

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

	n = snprintf(line, sizeof(line), "mta_liar: %s\n", what);
	if (n > 0 && write(2, line, (size_t)n) == -1)
		return;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	struct msghdr	 m;
	struct iovec	 iov[64];
	unsigned char	*copy[64], *p;
	size_t		 i, n = msg->msg_iovlen;
	ssize_t		 r;
	int		 lied = 0;

	if (real == NULL)
		real = (ssize_t (*)(int, const struct msghdr *, int))
		    dlsym(RTLD_NEXT, "sendmsg");
	if (n == 0 || n > 64 || !role_is("smtpd.mta"))
		return real(fd, msg, flags);
	for (i = 0; i < n; i++) {
		iov[i] = msg->msg_iov[i];
		copy[i] = NULL;
		if (iov[i].iov_len < 12 || (copy[i] =
		    malloc(iov[i].iov_len)) == NULL)
			continue;
		memcpy(copy[i], iov[i].iov_base, iov[i].iov_len);
		if ((p = memmem(copy[i], iov[i].iov_len, MARKER,
		    strlen(MARKER))) != NULL)
			*p = 0x01;
		else if (memmem(copy[i], iov[i].iov_len, MARKER_TYPE,
		    strlen(MARKER_TYPE)) != NULL) {
			/* the frame's type: its first four bytes */
			copy[i][0] = IPC_QUEUE_MESSAGE >> 24;
			copy[i][1] = (IPC_QUEUE_MESSAGE >> 16) & 0xff;
			copy[i][2] = (IPC_QUEUE_MESSAGE >> 8) & 0xff;
			copy[i][3] = IPC_QUEUE_MESSAGE & 0xff;
		} else {
			free(copy[i]);
			copy[i] = NULL;
			continue;
		}
		iov[i].iov_base = copy[i];
		lied = 1;
	}
	if (!lied)
		return real(fd, msg, flags);
	confess("a malformed report (a control character, or its type)");
	m = *msg;
	m.msg_iov = iov;
	r = real(fd, &m, flags);
	for (i = 0; i < n; i++)
		free(copy[i]);
	return r;
}
