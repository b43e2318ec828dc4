/*
 * cbkcheck - one callback (smtpd/callback_check.c) from the command
 * line, for tests/integration/test_callback.py until the receiver's
 * verdict asks on its own; built by "make check", never installed.
 *
 *	cbkcheck [-C CAFILE] [-n COUNT] [-s LOCAL] [-t MS] ADDR PORT ID
 *
 * Asks the responder at ADDR (numeric) on PORT about ID, connecting from
 * LOCAL (numeric) when given, COUNT times one after the other in the one
 * process (so its per-address rate shows).  Prints one line each:
 * RESULT<TAB>cert=yes|no<TAB>WHY, RESULT being pass, fail or unknown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "callback.h"
#include "log.h"
#include "tls.h"

static int	 done;

static void
got(enum cbk_result r, int flags, const char *why, void *arg)
{
	(void)arg;
	printf("%s\tcert=%s\t%s\n", cbk_result_name(r),
	    (flags & CBK_F_CERT) ? "yes" : "no", why);
	done = 1;
}

static int
sockaddr_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: cbkcheck [-C cafile] [-n count] [-s local] "
	    "[-t ms] addr port id\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage peer, local;
	struct event_base *base;
	SSL_CTX		*ctx;
	const char	*ca = NULL, *src = NULL;
	char		 err[256];
	int		 ch, timeout = 5000, count = 1;

	log_init("cbkcheck", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "C:n:s:t:")) != -1) {
		switch (ch) {
		case 'C':
			ca = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 's':
			src = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || sockaddr_of(argv[0], &peer) == -1 ||
	    (src != NULL && sockaddr_of(src, &local) == -1))
		usage();
	if ((ctx = tls_client_ctx(ca, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cbkcheck: %s\n", err);
		return 1;
	}
	base = event_base_new();
	while (count-- > 0) {
		done = 0;
		cbk_check_start_from(base, ctx, (struct sockaddr *)&peer,
		    src != NULL ? (struct sockaddr *)&local : NULL,
		    atoi(argv[1]), argv[2], timeout, got, NULL);
		while (!done)
			event_base_loop(base, EVLOOP_ONCE);
	}
	event_base_free(base);
	SSL_CTX_free(ctx);
	return 0;
}
