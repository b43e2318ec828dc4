/*
 * fuzz-dns.c - libFuzzer target for the DNS answer parser
 * (common/dns_parse.c).  The first input byte picks the question type
 * (dns_fz_types[byte % n]), the rest is the packet.  Beyond memory
 * safety it checks what callers rely on: a refused packet leaves no
 * records and DNS_TEMPFAIL; the status agrees with the rcode and the
 * records; every record has the type asked; names are printable ASCII
 * with no space (escaped), bounded, NUL-terminated; TXT strings tile
 * the joined data; MX come sorted; the CNAME chain is bounded.
 *
 *	./sealmail.sh fuzz 600		(builds it as fuzz_build does:)
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -Icommon tests/fuzz/fuzz-dns.c common/dns_parse.c \
 *	    common/log.c common/xmalloc.c common/buf.c -o fuzz-dns
 *	./fuzz-dns tests/fuzz/corpus/dns
 *
 * The seeds are answers libunbound returned in tests/integration/
 * test_dns.py's zones (dnsq -w DIR), each behind its type byte, and
 * hand-made malformed packets (pointer loops, forward and out-of-range
 * pointers, reserved label types, cut packets, huge counts).
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint16_t dns_fz_types[] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_TLSA, DNS_T_PTR,
	DNS_T_CNAME, DNS_T_NS, DNS_T_SOA, 99
};

#define NTYPES	(sizeof(dns_fz_types) / sizeof(dns_fz_types[0]))

static void
check_name(const char *s)
{
	size_t	 i;

	if (s == NULL)
		abort();
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || i >= DNS_NAME_TEXT_MAX)
			abort();
	if (i == 0)
		abort();
}

static void
check_txt(const struct dns_txt *t)
{
	size_t	 i, off = 0;

	if (t->data == NULL || t->data[t->len] != '\0')
		abort();
	for (i = 0; i < t->nstr; i++) {
		if (t->str[i].off != off || t->str[i].len > 255)
			abort();
		off += t->str[i].len;
	}
	if (off != t->len)
		abort();
}

static void
check_rr(const struct dns_rr *rr, const struct dns_rr *prev)
{
	switch (rr->type) {
	case DNS_T_A:
		if (rr->u.addr.af != AF_INET)
			abort();
		break;
	case DNS_T_AAAA:
		if (rr->u.addr.af != AF_INET6)
			abort();
		break;
	case DNS_T_MX:
		check_name(rr->u.mx.host);
		if (prev != NULL && prev->u.mx.pref > rr->u.mx.pref)
			abort();
		break;
	case DNS_T_TXT:
		check_txt(&rr->u.txt);
		break;
	case DNS_T_TLSA:
		if (rr->u.tlsa.data == NULL)
			abort();
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
		check_name(rr->u.name);
		break;
	default:
		if (rr->u.raw.data == NULL)
			abort();
		break;
	}
}

static void
check_status(const struct dns_result *r)
{
	enum dns_status want;

	if (r->rcode == 0)
		want = r->nrr > 0 ? DNS_OK : DNS_NODATA;
	else
		want = r->rcode == 3 ? DNS_NXDOMAIN : DNS_TEMPFAIL;
	if (r->status != want || (r->rcode != 0 && r->nrr != 0) ||
	    r->rcode < 0 || r->rcode > 15)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_result r;
	uint16_t qtype;
	size_t	 i;

	if (size < 1)
		return 0;
	qtype = dns_fz_types[data[0] % NTYPES];
	memset(&r, 0, sizeof(r));
	if (dns_parse(data + 1, size - 1, qtype, &r) == -1) {
		if (r.status != DNS_TEMPFAIL || r.nrr != 0 || r.rr != NULL)
			abort();
		dns_result_clear(&r);
		return 0;
	}
	check_status(&r);
	check_name(r.qname);
	check_name(r.canon);
	if (r.qtype != qtype || r.ncname > DNS_CNAME_MAX)
		abort();
	for (i = 0; i < r.nrr; i++) {
		if (r.rr[i].type != qtype)
			abort();
		check_rr(&r.rr[i], i > 0 ? &r.rr[i - 1] : NULL);
	}
	dns_result_clear(&r);
	return 0;
}
