/*
 * dnsq.c - resolve names through common/dns in a libevent loop and
 * print each result as one line of JSON, for
 * tests/integration/test_dns.py.  Built by "make check", never
 * installed.
 *
 *	dnsq [-r resolver] [-a trust-anchor] [-t ms] [-w dir] TYPE NAME ...
 *
 * Every query starts at once; the lines come out in the order of the
 * arguments once all are answered:
 *
 *	{"name":"example.test","type":"MX","status":"ok","sec":"secure",
 *	 "rcode":0,"canon":"example.test","ncname":0,"ms":3,
 *	 "rr":[{"ttl":300,"pref":10,"host":"mx1.example.test"}]}
 *
 * -w DIR writes each answer packet to DIR/N-TYPE.bin (N the argument
 * pair's index), to collect seeds for tests/fuzz/fuzz-dns.c.
 */
#include <sys/time.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "xmalloc.h"

struct job {
	int		 idx;
	const char	*name;
	int		 type;
	struct timeval	 t0;
	struct buf	 out;
	int		 done;
};

static const char *save_dir;
static int	 pending;
static struct event_base *base;

static void
json_str(struct buf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t	 i;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_printf(b, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			buf_printf(b, "\\u%04x", s[i]);
		else
			buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

static void
json_cstr(struct buf *b, const char *key, const char *s)
{
	buf_printf(b, ",\"%s\":", key);
	if (s == NULL)
		buf_addstr(b, "null");
	else
		json_str(b, s, strlen(s));
}

static void
json_hex(struct buf *b, const char *key, const unsigned char *p, size_t n)
{
	size_t	 i;

	buf_printf(b, ",\"%s\":\"", key);
	for (i = 0; i < n; i++)
		buf_printf(b, "%02x", p[i]);
	buf_addc(b, '"');
}

static void
print_txt(struct buf *b, const struct dns_txt *t)
{
	size_t	 i;

	buf_addstr(b, ",\"text\":");
	json_str(b, t->data, t->len);
	buf_addstr(b, ",\"strings\":[");
	for (i = 0; i < t->nstr; i++) {
		if (i > 0)
			buf_addc(b, ',');
		json_str(b, t->data + t->str[i].off, t->str[i].len);
	}
	buf_addc(b, ']');
}

static void
print_rr(struct buf *b, const struct dns_rr *rr)
{
	char	 a[INET6_ADDRSTRLEN];

	buf_printf(b, "{\"ttl\":%u", rr->ttl);
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		inet_ntop(rr->u.addr.af, &rr->u.addr.u, a, sizeof(a));
		json_cstr(b, "addr", a);
		break;
	case DNS_T_MX:
		buf_printf(b, ",\"pref\":%u", rr->u.mx.pref);
		json_cstr(b, "host", rr->u.mx.host);
		break;
	case DNS_T_TXT:
		print_txt(b, &rr->u.txt);
		break;
	case DNS_T_TLSA:
		buf_printf(b, ",\"usage\":%u,\"selector\":%u,\"mtype\":%u",
		    rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype);
		json_hex(b, "data", rr->u.tlsa.data, rr->u.tlsa.len);
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		json_cstr(b, "name", rr->u.name);
		break;
	default:
		json_hex(b, "hex", rr->u.raw.data, rr->u.raw.len);
		break;
	}
	buf_addc(b, '}');
}

static void
save_packet(const struct job *j, const struct dns_result *r)
{
	char	 path[1024];
	int	 fd;

	if (save_dir == NULL || r->packet == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%d-%s.bin", save_dir, j->idx,
	    dns_type_str(j->type) ? dns_type_str(j->type) : "other");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, r->packet, r->packet_len) != (ssize_t)r->packet_len)
		fatal("%s", path);
	close(fd);
}

static void
answered(const struct dns_result *r, void *arg)
{
	struct job *j = arg;
	struct timeval t1;
	size_t	 i;
	long	 ms;

	gettimeofday(&t1, NULL);
	ms = (t1.tv_sec - j->t0.tv_sec) * 1000 +
	    (t1.tv_usec - j->t0.tv_usec) / 1000;
	buf_addstr(&j->out, "{\"name\":");
	json_str(&j->out, j->name, strlen(j->name));
	json_cstr(&j->out, "type", dns_type_str(j->type));
	json_cstr(&j->out, "status", dns_status_str(r->status));
	json_cstr(&j->out, "sec", dns_sec_str(r->sec));
	buf_printf(&j->out, ",\"rcode\":%d", r->rcode);
	json_cstr(&j->out, "canon", r->canon);
	buf_printf(&j->out, ",\"ncname\":%zu,\"ms\":%ld", r->ncname, ms);
	json_cstr(&j->out, "why_bogus", r->why_bogus);
	buf_addstr(&j->out, ",\"rr\":[");
	for (i = 0; i < r->nrr; i++) {
		if (i > 0)
			buf_addc(&j->out, ',');
		print_rr(&j->out, &r->rr[i]);
	}
	buf_addstr(&j->out, "]}\n");
	save_packet(j, r);
	j->done = 1;
	if (--pending == 0)
		event_base_loopexit(base, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: dnsq [-r resolver] [-a trust-anchor] "
	    "[-t ms] [-w dir] TYPE NAME ...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *resolver = NULL, *ta = NULL;
	struct dns_ctx *dns;
	struct job *jobs;
	int	 ch, i, n, timeout = 0;

	log_init("dnsq", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "a:r:t:w:")) != -1) {
		switch (ch) {
		case 'a':
			ta = optarg;
			break;
		case 'r':
			resolver = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'w':
			save_dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || argc % 2 != 0)
		usage();
	n = argc / 2;
	base = event_base_new();
	if ((dns = dns_init(base, resolver, ta)) == NULL)
		return 1;
	if (timeout > 0)
		dns_set_timeout(dns, timeout);
	jobs = xcalloc((size_t)n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		jobs[i].idx = i;
		jobs[i].name = argv[2 * i + 1];
		if ((jobs[i].type = dns_type_parse(argv[2 * i])) == -1)
			jobs[i].type = atoi(argv[2 * i]);
		buf_init(&jobs[i].out, 0);
		gettimeofday(&jobs[i].t0, NULL);
		if (dns_query(dns, jobs[i].name, (uint16_t)jobs[i].type,
		    answered, &jobs[i]) != NULL) {
			pending++;
			continue;
		}
		buf_addstr(&jobs[i].out, "{\"name\":");
		json_str(&jobs[i].out, jobs[i].name, strlen(jobs[i].name));
		buf_addstr(&jobs[i].out, ",\"status\":\"badname\"}\n");
	}
	if (pending > 0)
		event_base_dispatch(base);
	for (i = 0; i < n; i++) {
		fwrite(jobs[i].out.data, 1, jobs[i].out.len, stdout);
		buf_free(&jobs[i].out);
	}
	free(jobs);
	dns_free(dns);
	event_base_free(base);
	return 0;
}
