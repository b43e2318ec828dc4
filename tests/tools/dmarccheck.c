/*
 * dmarccheck - run one DMARC check (common/dmarc.c) through the real
 * resolver code, for tests/integration/test_dmarc.py; built by "make
 * check", never installed.
 *
 *	dmarccheck [-t MS] [-l PSL] [-d DKIM-DOMAIN]... [-R ROLL]
 *	    RESOLVER FROM-DOMAIN SPF-RESULT SPF-DOMAIN
 *
 * SPF-RESULT is one of spf_result_str()'s names.  Prints one line:
 * RESULT<TAB>RECORD-DOMAIN<TAB>POLICY<TAB>DISPOSITION<TAB>PROBLEM
 * (empty fields when absent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dmarc.h"
#include "dns.h"
#include "log.h"

static int	 done;

static void
got(const struct dmarc_outcome *o, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\t%s\t%s\n", dmarc_result_str(o->result),
	    o->domain != NULL ? o->domain : "",
	    o->policy != DMARC_P_UNSET ? dmarc_policy_str(o->policy) : "",
	    o->disposition != DMARC_P_UNSET ?
	    dmarc_policy_str(o->disposition) : "",
	    o->problem != NULL ? o->problem : "");
	done = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dmarccheck [-t ms] [-l psl] [-d domain]... "
	    "[-R roll] resolver from spf-result spf-domain\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct event_base *base;
	struct dns_ctx *dns;
	struct dmarc_psl *psl;
	struct dmarc_request rq;
	const char *dkim[16], *pslpath = DMARC_PSL_PATH;
	int	 ch, timeout = 0, r;

	log_init("dmarccheck", 1, LOG_LVL_WARN);
	memset(&rq, 0, sizeof(rq));
	while ((ch = getopt(argc, argv, "d:l:R:t:v")) != -1) {
		switch (ch) {
		case 'd':
			if (rq.ndkim == 16)
				usage();
			dkim[rq.ndkim++] = optarg;
			break;
		case 'l':
			pslpath = optarg;
			break;
		case 'R':
			rq.roll = atoi(optarg);
			break;
		case 't':
			timeout = atoi(optarg);
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
	rq.dkim_pass = dkim;
	rq.from_domain = argv[1];
	for (r = SPF_NONE; r <= SPF_PERMERROR; r++)
		if (strcmp(argv[2], spf_result_str(r)) == 0)
			break;
	if (r > SPF_PERMERROR)
		usage();
	rq.spf = r;
	rq.spf_domain = argv[3][0] != '\0' ? argv[3] : NULL;
	if ((psl = dmarc_psl_load(pslpath)) == NULL)
		return (1);
	base = event_base_new();
	if ((dns = dns_init(base, argv[0], NULL)) == NULL)
		return (1);
	if (timeout > 0)
		dns_set_timeout(dns, timeout);
	dmarc_check(base, dns, psl, &rq, got, NULL);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	dns_free(dns);
	event_base_free(base);
	dmarc_psl_free(psl);
	return (0);
}
