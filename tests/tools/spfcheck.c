/*
 * spfcheck - run one SPF check (common/spf.c) through the real
 * resolver code, for tests/integration/test_spf_suite.py; built by
 * "make check", never installed.
 *
 *	spfcheck [-t MS] [-r RECEIVER] [-T ZONE]... RESOLVER IP HELO SENDER
 *
 * -T asks the upstream for names under ZONE even where libunbound
 * answers them itself (dns_zone_transparent()).
 *
 * SENDER "" checks the HELO identity.  Prints one line:
 * RESULT<TAB>EXPLANATION<TAB>PROBLEM (empty fields when absent).
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns.h"
#include "log.h"
#include "spf.h"

static int	 done;

static void
got(const struct spf_outcome *o, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\n", spf_result_str(o->result),
	    o->explanation != NULL ? o->explanation : "",
	    o->problem != NULL ? o->problem : "");
	done = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: spfcheck [-t ms] [-r receiver] resolver "
	    "ip helo sender\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct event_base *base;
	struct dns_ctx *dns;
	struct spf_request rq;
	const char *zones[16];
	int	 ch, timeout = 0, nzones = 0, i;

	log_init("spfcheck", 1, LOG_LVL_WARN);
	memset(&rq, 0, sizeof(rq));
	while ((ch = getopt(argc, argv, "r:T:t:v")) != -1) {
		switch (ch) {
		case 'r':
			rq.receiver = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'T':
			if (nzones == 16)
				usage();
			zones[nzones++] = optarg;
			break;
		case 'v':
			log_setlevel(LOG_LVL_DEBUG);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4)
		usage();
	if (inet_pton(AF_INET, argv[1], &rq.ip.u.v4) == 1)
		rq.ip.af = AF_INET;
	else if (inet_pton(AF_INET6, argv[1], &rq.ip.u.v6) == 1)
		rq.ip.af = AF_INET6;
	else
		usage();
	rq.helo = argv[2];
	rq.sender = argv[3];
	base = event_base_new();
	if ((dns = dns_init(base, argv[0], NULL)) == NULL)
		return (1);
	for (i = 0; i < nzones; i++)
		if (dns_zone_transparent(dns, zones[i]) == -1)
			return (1);
	if (timeout > 0)
		dns_set_timeout(dns, timeout);
	spf_check(base, dns, &rq, got, NULL);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	dns_free(dns);
	event_base_free(base);
	return (0);
}
