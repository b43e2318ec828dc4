/*
 * regcheck - one DNS registry zone lookup (common/registry_dns.c)
 * through the real resolver code, for tests/integration/test_registry.py;
 * built by "make check", never installed.
 *
 *	regcheck [-t MS] RESOLVER ZONES IP|- [NAME ...]
 *
 * ZONES is the registry_zones value ("" none), IP "-" for none.  Prints
 * one line: "none", "temperror ZONE", "listed ip ZONE CODE" or
 * "listed name ZONE CODE NAME"; "nothing to ask" when no query started.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns.h"
#include "log.h"
#include "registry_dns.h"

static int	 done;

static void
got(const struct registry_dns_result *r, void *arg)
{
	(void)arg;
	switch (r->status) {
	case REGDNS_NONE:
		printf("none\n");
		break;
	case REGDNS_TEMPERROR:
		printf("temperror %s\n", r->zone);
		break;
	case REGDNS_LISTED:
		printf("listed %s %s %s%s%s\n", r->by, r->zone, r->code,
		    r->name != NULL ? " " : "", r->name != NULL ? r->name : "");
		break;
	}
	done = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: regcheck [-t ms] resolver zones ip|- "
	    "[name ...]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct event_base	*base;
	struct dns_ctx		*dns;
	struct dns_addr		 ip, *ipp = &ip;
	struct registry_dns	*rd;
	int			 ch, timeout = 0;

	log_init("regcheck", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || argc - 3 > REGISTRY_DNS_NAMES_MAX)
		usage();
	memset(&ip, 0, sizeof(ip));
	if (strcmp(argv[2], "-") == 0)
		ipp = NULL;
	else if (inet_pton(AF_INET, argv[2], &ip.u.v4) == 1)
		ip.af = AF_INET;
	else if (inet_pton(AF_INET6, argv[2], &ip.u.v6) == 1)
		ip.af = AF_INET6;
	else
		usage();
	base = event_base_new();
	if ((dns = dns_init(base, argv[0], NULL)) == NULL)
		return (1);
	if (timeout > 0)
		dns_set_timeout(dns, timeout);
	rd = registry_dns_start(dns, argv[1], ipp,
	    (const char *const *)argv + 3, (size_t)argc - 3, got, NULL);
	if (rd == NULL) {
		printf("nothing to ask\n");
		done = 1;
	}
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	dns_free(dns);
	event_base_free(base);
	return (0);
}
