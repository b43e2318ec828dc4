/*
 * test-dns.c - the DNS answer parser (common/dns_parse.c) on well-formed
 * answers, table-driven (test-dns-pk.h): every record type the module
 * reads, compression, CNAME chains, NXDOMAIN against NODATA, escaping
 * of odd bytes in names; and every accepted packet cut short at each
 * length must be refused.  Malformed packets: test-dns-bad.c.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "test-dns-pk.h"

static void
b_a(void)
{
	pk_head(RESP, 2, "mx.example.test", DNS_T_A);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x01", 4);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x02", 4);
}

static void
b_aaaa(void)
{
	pk_head(RESP, 1, "mx.example.test", DNS_T_AAAA);
	pk_rr(DNS_T_AAAA, 16);
	pk_bytes("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
}

/* Preferences 20, 10, 20: sorted 10, 20 (first), 20 (second). */
static void
b_mx(void)
{
	size_t	 mx1;

	pk_head(RESP, 3, "example.test", DNS_T_MX);
	pk_rr(DNS_T_MX, 2 + 6);
	pk_u16(20);
	mx1 = pk.n;
	pk_u8(3);
	pk_bytes("mx1", 3);
	pk_ptr(QNAME);
	pk_rr(DNS_T_MX, 2 + 6);
	pk_u16(10);
	pk_u8(3);
	pk_bytes("mx0", 3);
	pk_ptr(QNAME);
	pk_rr(DNS_T_MX, 2 + 2);
	pk_u16(20);
	pk_ptr(mx1);		/* a pointer to a compressed name */
}

static void
b_txt_multi(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_TXT);
	pk_rr(DNS_T_TXT, 8 + 23 + 5);
	pk_u8(7);
	pk_bytes("v=spf1 ", 7);
	pk_u8(22);
	pk_bytes("ip4:192.0.2.0/24 -all ", 22);
	pk_u8(4);
	pk_bytes("\0x\"y", 4);
}

static void
b_txt_empty(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_TXT);
	pk_rr(DNS_T_TXT, 1);
	pk_u8(0);
}

static void
b_tlsa(void)
{
	unsigned char h[32];

	memset(h, 0xab, sizeof(h));
	pk_head(RESP, 1, "_25._tcp.mx.example.test", DNS_T_TLSA);
	pk_rr(DNS_T_TLSA, 3 + 32);
	pk_u8(3);
	pk_u8(1);
	pk_u8(1);
	pk_bytes(h, sizeof(h));
}

static void
b_ptr(void)
{
	pk_head(RESP, 1, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	pk_rr(DNS_T_PTR, 17);
	pk_name("mx.example.test");
}

/* www -> alias -> host (A); an A at an unrelated name is ignored. */
static void
b_cname_chain(void)
{
	size_t	 alias;

	pk_head(RESP, 4, "www.example.test", DNS_T_A);
	pk_rr(DNS_T_CNAME, 8);
	alias = pk.n;
	pk_u8(5);
	pk_bytes("alias", 5);
	pk_ptr(QNAME + 4);
	pk_ptr(alias);
	pk_u16(DNS_T_CNAME);
	pk_u16(1);
	pk_u32(60);
	pk_u16(7);
	pk_u8(4);
	pk_bytes("HOST", 4);	/* case differs from the owner below */
	pk_ptr(QNAME + 4);
	pk_rr_named("other.example.test", DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x09", 4);
	pk_rr_named("host.example.test", DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x07", 4);
}

/* A CNAME asked for is not followed. */
static void
b_cname_asked(void)
{
	pk_head(RESP, 1, "www.example.test", DNS_T_CNAME);
	pk_rr(DNS_T_CNAME, 19);
	pk_name("host.example.test");
}

/* NXDOMAIN at the end of a chain (RFC 6604). */
static void
b_nxdomain(void)
{
	pk_head(0x8183, 1, "www.example.test", DNS_T_A);
	pk_rr(DNS_T_CNAME, 19);
	pk_name("gone.example.test");
}

static void
b_nodata(void)
{
	pk_head(RESP, 0, "example.test", DNS_T_TLSA);
}

/* Records of another type only: still NODATA. */
static void
b_nodata_other(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_AAAA);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x01", 4);
}

static void
b_servfail(void)
{
	pk_head(0x8182, 0, "example.test", DNS_T_A);
}

static void
b_refused(void)
{
	pk_head(0x8185, 0, "example.test", DNS_T_A);
}

static void
b_class_ch(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_A);
	pk_ptr(QNAME);
	pk_u16(DNS_T_A);
	pk_u16(3);
	pk_u32(0);
	pk_u16(4);
	pk_bytes("\x7f\0\0\x01", 4);
}

static void
b_case(void)
{
	pk_head(RESP, 1, "Example.TEST", DNS_T_A);
	pk_rr_named("eXAMPLE.test", DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x05", 4);
}

static void
b_odd_label(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_PTR);
	pk_rr(DNS_T_PTR, 8);
	pk_u8(6);
	pk_bytes("a.b c\x01", 6);
	pk_u8(0);
}

static void
b_unknown_type(void)
{
	pk_head(RESP, 1, "example.test", 99);
	pk_rr(99, 3);
	pk_bytes("\x02hi", 3);
}

static void
b_null_mx(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_MX);
	pk_rr(DNS_T_MX, 3);
	pk_u16(0);
	pk_u8(0);
}

static void
b_hops_ok(void)
{
	pk_hops(100);
}

/* 255 octets exactly: the longest name there is */
static void
b_name_255(void)
{
	char	 n[400];

	memset(n, 'a', 63);
	n[63] = '.';
	memset(n + 64, 'b', 63);
	n[127] = '.';
	memset(n + 128, 'c', 63);
	n[191] = '.';
	memset(n + 192, 'd', 61);
	n[253] = '\0';
	pk_head(RESP, 1, n, DNS_T_A);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\xc0\x00\x02\x01", 4);
}

/* --- checks on accepted answers --- */

static void
c_a(const struct dns_result *r)
{
	char	 s[64];

	test_assert(r->rr[0].type == DNS_T_A && r->rr[0].ttl == 300);
	test_assert(r->rr[0].u.addr.af == AF_INET);
	inet_ntop(AF_INET, &r->rr[1].u.addr.u.v4, s, sizeof(s));
	test_assert_str(s, "192.0.2.2");
	test_assert_str(r->canon, "mx.example.test");
	test_assert(r->ncname == 0);
}

static void
c_aaaa(const struct dns_result *r)
{
	char	 s[64];

	test_assert(r->rr[0].u.addr.af == AF_INET6);
	inet_ntop(AF_INET6, &r->rr[0].u.addr.u.v6, s, sizeof(s));
	test_assert_str(s, "2001:db8::1");
}

static void
c_mx(const struct dns_result *r)
{
	test_assert(r->rr[0].u.mx.pref == 10);
	test_assert_str(r->rr[0].u.mx.host, "mx0.example.test");
	test_assert(r->rr[1].u.mx.pref == 20);
	test_assert_str(r->rr[1].u.mx.host, "mx1.example.test");
	test_assert(r->rr[2].u.mx.pref == 20);
	test_assert_str(r->rr[2].u.mx.host, "mx1.example.test");
}

static void
c_txt_multi(const struct dns_result *r)
{
	const struct dns_txt *t = &r->rr[0].u.txt;

	test_assert(t->len == 7 + 22 + 4 && t->nstr == 3);
	test_assert(memcmp(t->data, "v=spf1 ip4:192.0.2.0/24 -all \0x\"y",
	    t->len) == 0 && t->data[t->len] == '\0');
	test_assert(t->str[1].off == 7 && t->str[1].len == 22);
	test_assert(t->str[2].off == 29 && t->str[2].len == 4);
}

static void
c_txt_empty(const struct dns_result *r)
{
	test_assert(r->rr[0].u.txt.len == 0 && r->rr[0].u.txt.nstr == 1);
	test_assert_str(r->rr[0].u.txt.data, "");
}

static void
c_tlsa(const struct dns_result *r)
{
	const struct dns_tlsa *t = &r->rr[0].u.tlsa;

	test_assert(t->usage == 3 && t->selector == 1 && t->mtype == 1);
	test_assert(t->len == 32 && t->data[0] == 0xab && t->data[31] == 0xab);
}

static void
c_ptr(const struct dns_result *r)
{
	test_assert_str(r->rr[0].u.name, "mx.example.test");
	test_assert_str(r->qname, "1.2.0.192.in-addr.arpa");
}

static void
c_cname_chain(const struct dns_result *r)
{
	char	 s[64];

	test_assert_str(r->canon, "HOST.example.test");
	test_assert(r->ncname == 2);
	inet_ntop(AF_INET, &r->rr[0].u.addr.u.v4, s, sizeof(s));
	test_assert_str(s, "192.0.2.7");
}

static void
c_cname_asked(const struct dns_result *r)
{
	test_assert_str(r->rr[0].u.name, "host.example.test");
	test_assert(r->ncname == 0);
}

static void
c_nxdomain(const struct dns_result *r)
{
	test_assert(r->rcode == 3);
	test_assert_str(r->canon, "gone.example.test");
}

static void
c_odd_label(const struct dns_result *r)
{
	test_assert_str(r->rr[0].u.name, "a\\.b\\032c\\001");
}

static void
c_unknown_type(const struct dns_result *r)
{
	test_assert(r->rr[0].u.raw.len == 3 &&
	    memcmp(r->rr[0].u.raw.data, "\x02hi", 3) == 0);
}

static void
c_null_mx(const struct dns_result *r)
{
	test_assert(r->rr[0].u.mx.pref == 0);
	test_assert_str(r->rr[0].u.mx.host, ".");
}

static void
c_name_255(const struct dns_result *r)
{
	test_assert(r->qname != NULL && strlen(r->qname) == 253);
}

static const struct pcase cases[] = {
	{ "two A records", b_a, DNS_T_A, 0, DNS_OK, 2, c_a },
	{ "an AAAA record", b_aaaa, DNS_T_AAAA, 0, DNS_OK, 1, c_aaaa },
	{ "MX sorted by preference, ties in order, compressed names", b_mx,
	    DNS_T_MX, 0, DNS_OK, 3, c_mx },
	{ "TXT strings joined and kept apart, NUL inside", b_txt_multi,
	    DNS_T_TXT, 0, DNS_OK, 1, c_txt_multi },
	{ "TXT of one empty string", b_txt_empty, DNS_T_TXT, 0, DNS_OK, 1,
	    c_txt_empty },
	{ "TLSA 3 1 1", b_tlsa, DNS_T_TLSA, 0, DNS_OK, 1, c_tlsa },
	{ "PTR", b_ptr, DNS_T_PTR, 0, DNS_OK, 1, c_ptr },
	{ "CNAME chain followed, unrelated A ignored", b_cname_chain,
	    DNS_T_A, 0, DNS_OK, 1, c_cname_chain },
	{ "CNAME asked for is not followed", b_cname_asked, DNS_T_CNAME, 0,
	    DNS_OK, 1, c_cname_asked },
	{ "NXDOMAIN after a CNAME", b_nxdomain, DNS_T_A, 0, DNS_NXDOMAIN, 0,
	    c_nxdomain },
	{ "NODATA: no answers", b_nodata, DNS_T_TLSA, 0, DNS_NODATA, 0,
	    NULL },
	{ "NODATA: answers of another type only", b_nodata_other,
	    DNS_T_AAAA, 0, DNS_NODATA, 0, NULL },
	{ "SERVFAIL is a temporary failure", b_servfail, DNS_T_A, 0,
	    DNS_TEMPFAIL, 0, NULL },
	{ "REFUSED is a temporary failure", b_refused, DNS_T_A, 0,
	    DNS_TEMPFAIL, 0, NULL },
	{ "records of class CH are ignored", b_class_ch, DNS_T_A, 0,
	    DNS_NODATA, 0, NULL },
	{ "owner names match ignoring case", b_case, DNS_T_A, 0, DNS_OK, 1,
	    NULL },
	{ "dots, spaces and controls in a label are escaped", b_odd_label,
	    DNS_T_PTR, 0, DNS_OK, 1, c_odd_label },
	{ "an unknown type keeps its rdata", b_unknown_type, 99, 0, DNS_OK,
	    1, c_unknown_type },
	{ "null MX (RFC 7505)", b_null_mx, DNS_T_MX, 0, DNS_OK, 1,
	    c_null_mx },
	{ "100 pointers to pointers are followed", b_hops_ok, 99, 0, DNS_OK,
	    1, NULL },
	{ "a name of 255 octets", b_name_255, DNS_T_A, 0, DNS_OK, 1,
	    c_name_255 },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static void
test_dns_parse_table(void)
{
	pk_run_table(cases, NCASES);
}

static void
test_dns_parse_truncated(void)
{
	struct dns_result r;
	size_t	 i, len, full;

	test_begin("every accepted packet cut short is refused");
	for (i = 0; i < NCASES; i++) {
		if (cases[i].ret != 0)
			continue;
		cases[i].build();
		full = pk.n;
		for (len = 0; len < full; len++) {
			memset(&r, 0, sizeof(r));
			if (dns_parse(pk.b, len, cases[i].qtype, &r) != -1 ||
			    r.status != DNS_TEMPFAIL || r.nrr != 0) {
				printf("  %s: accepted at %zu of %zu\n",
				    cases[i].what, len, full);
				test_assert(0);
			}
			dns_result_clear(&r);
		}
	}
	test_end();
}

static void
test_dns_parse_null(void)
{
	struct dns_result r;

	test_begin("no packet is a temporary failure");
	memset(&r, 0, sizeof(r));
	test_assert(dns_parse(NULL, 0, DNS_T_A, &r) == -1);
	test_assert(r.status == DNS_TEMPFAIL && r.rcode == -1);
	dns_result_clear(&r);
	test_end();
}

static void
test_dns_ptr_name(void)
{
	struct dns_addr a;
	char	 s[128];

	test_begin("PTR names of IPv4 and IPv6 addresses");
	a.af = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &a.u.v4);
	test_assert(dns_ptr_name(&a, s, sizeof(s)) == 0);
	test_assert_str(s, "1.2.0.192.in-addr.arpa");
	a.af = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::567:89ab", &a.u.v6);
	test_assert(dns_ptr_name(&a, s, sizeof(s)) == 0);
	test_assert_str(s, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "8.b.d.0.1.0.0.2.ip6.arpa");
	test_assert(dns_ptr_name(&a, s, 72) == -1);
	a.af = AF_UNIX;
	test_assert(dns_ptr_name(&a, s, sizeof(s)) == -1);
	test_end();
}

static void
test_dns_names_and_types(void)
{
	test_begin("names compare without case; types by name");
	test_assert(dns_name_eq("MX.Example.TEST", "mx.example.test"));
	test_assert(!dns_name_eq("mx.example.test", "mx.example.tes"));
	test_assert(!dns_name_eq("a\\.b", "a.b"));
	test_assert(dns_type_parse("tlsa") == DNS_T_TLSA);
	test_assert(dns_type_parse("SPF") == -1);
	test_assert_str(dns_type_str(DNS_T_MX), "MX");
	test_assert(dns_type_str(99) == NULL);
	test_assert_str(dns_status_str(DNS_NODATA), "nodata");
	test_assert_str(dns_sec_str(DNS_SEC_BOGUS), "bogus");
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_dns_parse_table,
		test_dns_parse_truncated,
		test_dns_parse_null,
		test_dns_ptr_name,
		test_dns_names_and_types,
		NULL
	};

	return test_run(tests);
}
