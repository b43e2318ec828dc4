/*
 * test-dns.c - the DNS answer parser (common/dns_parse.c), table-driven:
 * each case builds one packet byte by byte (compression, loops, bad
 * pointers, bad lengths, every record type the module reads), states
 * the verdict, the status and the number of records, and checks the
 * records where it matters.  Every packet the parser accepts is also
 * cut short at each length, and each cut must be refused.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "test.h"

#define PK_MAX	65535

struct pk {
	unsigned char	 b[PK_MAX];
	size_t		 n;
};

static struct pk pk;

static void
pk_u8(unsigned v)
{
	if (pk.n < PK_MAX)
		pk.b[pk.n++] = (unsigned char)v;
}

static void
pk_u16(unsigned v)
{
	pk_u8(v >> 8 & 0xff);
	pk_u8(v & 0xff);
}

static void
pk_u32(uint32_t v)
{
	pk_u16(v >> 16);
	pk_u16(v & 0xffff);
}

static void
pk_bytes(const void *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		pk_u8(((const unsigned char *)p)[i]);
}

/* Dotted name, uncompressed, with its root label ("" is the root). */
static void
pk_name(const char *s)
{
	const char *dot;

	while (*s != '\0') {
		dot = strchr(s, '.');
		if (dot == NULL)
			dot = s + strlen(s);
		pk_u8((unsigned)(dot - s));
		pk_bytes(s, (size_t)(dot - s));
		s = *dot == '.' ? dot + 1 : dot;
	}
	pk_u8(0);
}

static void
pk_ptr(size_t off)
{
	pk_u16(0xc000 | (unsigned)off);
}

/* Header (id 1, flags, one question, an answers) and the question. */
static void
pk_head(unsigned flags, unsigned an, const char *qname, unsigned qtype)
{
	pk.n = 0;
	pk_u16(1);
	pk_u16(flags);
	pk_u16(1);
	pk_u16(an);
	pk_u16(0);
	pk_u16(0);
	pk_name(qname);
	pk_u16(qtype);
	pk_u16(1);
}

#define QNAME	12		/* where the question's name starts */
#define RESP	0x8180		/* QR RD RA, NOERROR */

/* A record header at the question's name; rdata follows. */
static void
pk_rr(unsigned type, unsigned rdlen)
{
	pk_ptr(QNAME);
	pk_u16(type);
	pk_u16(1);
	pk_u32(300);
	pk_u16(rdlen);
}

static void
pk_rr_named(const char *owner, unsigned type, unsigned rdlen)
{
	pk_name(owner);
	pk_u16(type);
	pk_u16(1);
	pk_u32(300);
	pk_u16(rdlen);
}

/* --- the packets --- */

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

static void
b_cname_loop(void)
{
	pk_head(RESP, 2, "a.example.test", DNS_T_A);
	pk_rr(DNS_T_CNAME, 16);
	pk_name("b.example.test");
	pk_rr_named("b.example.test", DNS_T_CNAME, 16);
	pk_name("a.example.test");
}

static void
b_cname_long(void)
{
	char	 from[32], to[32];
	int	 i;

	pk_head(RESP, DNS_CNAME_MAX + 1, "c0.test", DNS_T_A);
	for (i = 0; i <= DNS_CNAME_MAX; i++) {
		snprintf(from, sizeof(from), "c%d.test", i);
		snprintf(to, sizeof(to), "c%d.test", i + 1);
		pk_rr_named(from, DNS_T_CNAME, (unsigned)strlen(to) + 2);
		pk_name(to);
	}
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

/*
 * The rdata of a record of type 99 holds a root label and n pointers,
 * each to the one before; the owner of a second record points to the
 * last: n + 1 jumps to read it.
 */
static void
b_hops(int n)
{
	size_t	 last;
	int	 i;

	pk_head(RESP, 2, "example.test", 99);
	pk_rr(99, 1 + 2 * (unsigned)n);
	last = pk.n;
	pk_u8(0);
	for (i = 0; i < n; i++) {
		pk_ptr(last);
		last = pk.n - 2;
	}
	pk_ptr(last);
	pk_u16(99);
	pk_u16(1);
	pk_u32(0);
	pk_u16(0);
}

static void
b_hops_ok(void)
{
	b_hops(100);
}

static void
b_hops_many(void)
{
	b_hops(128);
}

/* --- malformed --- */

static void
b_ptr_self(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_A);
	pk_ptr(pk.n);		/* the owner points at itself */
	pk_u16(DNS_T_A);
	pk_u16(1);
	pk_u32(0);
	pk_u16(4);
	pk_bytes("\x7f\0\0\x01", 4);
}

/* "x" then a pointer back to the "x": a loop through a label. */
static void
b_ptr_loop_label(void)
{
	size_t	 x;

	pk_head(RESP, 1, "example.test", DNS_T_A);
	x = pk.n;
	pk_u8(1);
	pk_u8('x');
	pk_ptr(x);
	pk_u16(DNS_T_A);
	pk_u16(1);
	pk_u32(0);
	pk_u16(4);
	pk_bytes("\x7f\0\0\x01", 4);
}

static void
b_ptr_forward(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_A);
	pk_ptr(pk.n + 2);
	pk_u8(0);
	pk_u16(DNS_T_A);
	pk_u16(1);
	pk_u32(0);
	pk_u16(4);
	pk_bytes("\x7f\0\0\x01", 4);
}

static void
b_ptr_outside(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_A);
	pk_ptr(0x3fff);
	pk_u16(DNS_T_A);
	pk_u16(1);
	pk_u32(0);
	pk_u16(4);
	pk_bytes("\x7f\0\0\x01", 4);
}

static void
b_ptr_header(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_PTR);
	pk_rr(DNS_T_PTR, 2);
	pk_ptr(4);
}

static void
b_label_0x40(void)
{
	pk_head(RESP, 0, "example.test", DNS_T_A);
	pk.b[QNAME] = 0x47;
}

static void
b_label_0x80(void)
{
	pk_head(RESP, 0, "example.test", DNS_T_A);
	pk.b[QNAME] = 0x87;
}

/* 5 labels of 63: 320 octets, over the 255 a name may have */
static void
b_name_long(void)
{
	char	 n[400];
	int	 i;

	for (i = 0; i < 5; i++) {
		memset(n + i * 64, 'a', 63);
		n[i * 64 + 63] = '.';
	}
	n[5 * 64 - 1] = '\0';
	pk_head(RESP, 0, n, DNS_T_A);
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

static void
b_not_response(void)
{
	pk_head(0x0100, 0, "example.test", DNS_T_A);
}

static void
b_two_questions(void)
{
	pk_head(RESP, 0, "example.test", DNS_T_A);
	pk.b[5] = 2;
	pk_ptr(QNAME);
	pk_u16(DNS_T_A);
	pk_u16(1);
}

static void
b_no_question(void)
{
	pk.n = 0;
	pk_u16(1);
	pk_u16(RESP);
	pk_u16(0);
	pk_u16(0);
	pk_u16(0);
	pk_u16(0);
}

static void
b_qtype_differs(void)
{
	pk_head(RESP, 0, "example.test", DNS_T_AAAA);
}

static void
b_opcode(void)
{
	pk_head(RESP | 0x2000, 0, "example.test", DNS_T_A);
}

static void
b_rdlen_past_end(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_TXT);
	pk_rr(DNS_T_TXT, 200);
	pk_u8(3);
	pk_bytes("abc", 3);
}

static void
b_a_length(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_A);
	pk_rr(DNS_T_A, 5);
	pk_bytes("\x7f\0\0\x01\x01", 5);
}

static void
b_mx_trailing(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_MX);
	pk_rr(DNS_T_MX, 2 + 2 + 1);
	pk_u16(10);
	pk_ptr(QNAME);
	pk_u8(0);
}

static void
b_mx_short(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_MX);
	pk_rr(DNS_T_MX, 2);
	pk_u16(10);
}

/* The MX name runs past its RDLENGTH into the next bytes. */
static void
b_mx_overrun(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_MX);
	pk_rr(DNS_T_MX, 2 + 2);
	pk_u16(10);
	pk_u8(2);
	pk_bytes("mx", 2);
	pk_u8(0);
}

static void
b_txt_overrun(void)
{
	pk_head(RESP, 1, "example.test", DNS_T_TXT);
	pk_rr(DNS_T_TXT, 4);
	pk_u8(5);
	pk_bytes("abc", 3);
	pk_bytes("\x02hi", 3);	/* bytes after the record */
}

static void
b_tlsa_short(void)
{
	pk_head(RESP, 1, "_25._tcp.example.test", DNS_T_TLSA);
	pk_rr(DNS_T_TLSA, 2);
	pk_u16(0x0301);
}

static void
b_ancount_huge(void)
{
	pk_head(RESP, 65535, "example.test", DNS_T_A);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\x7f\0\0\x01", 4);
}

/* More answers claimed than present. */
static void
b_ancount_short(void)
{
	pk_head(RESP, 3, "example.test", DNS_T_A);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\x7f\0\0\x01", 4);
	pk_rr(DNS_T_A, 4);
	pk_bytes("\x7f\0\0\x02", 4);
	pk_bytes("\0\0\0\0\0", 5);	/* room for a third, by count */
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

static const struct pcase {
	const char	*what;
	void		(*build)(void);
	uint16_t	 qtype;
	int		 ret;
	enum dns_status	 status;
	size_t		 nrr;
	void		(*check)(const struct dns_result *);
} cases[] = {
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

	{ "CNAME loop", b_cname_loop, DNS_T_A, -1, DNS_TEMPFAIL, 0, NULL },
	{ "CNAME chain over DNS_CNAME_MAX", b_cname_long, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "128 pointers in one name", b_hops_many, 99, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "pointer to itself", b_ptr_self, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "pointer back into its own labels", b_ptr_loop_label, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "pointer forward", b_ptr_forward, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "pointer past the packet", b_ptr_outside, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "pointer into the header", b_ptr_header, DNS_T_PTR, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "label type 0x40", b_label_0x40, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "label type 0x80", b_label_0x80, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "name over 255 octets", b_name_long, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "a query, not a response", b_not_response, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "two questions", b_two_questions, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "no question", b_no_question, DNS_T_A, -1, DNS_TEMPFAIL, 0, NULL },
	{ "question of another type", b_qtype_differs, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "opcode other than QUERY", b_opcode, DNS_T_A, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "RDLENGTH past the end", b_rdlen_past_end, DNS_T_TXT, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "A of 5 octets", b_a_length, DNS_T_A, -1, DNS_TEMPFAIL, 0, NULL },
	{ "MX with bytes after its name", b_mx_trailing, DNS_T_MX, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "MX without a name", b_mx_short, DNS_T_MX, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "MX name past its RDLENGTH", b_mx_overrun, DNS_T_MX, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "TXT string past its RDLENGTH", b_txt_overrun, DNS_T_TXT, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "TLSA of 2 octets", b_tlsa_short, DNS_T_TLSA, -1, DNS_TEMPFAIL, 0,
	    NULL },
	{ "ANCOUNT the packet cannot hold", b_ancount_huge, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
	{ "fewer answers than ANCOUNT", b_ancount_short, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static void
test_dns_parse_table(void)
{
	struct dns_result r;
	size_t	 i;
	int	 ret;

	for (i = 0; i < NCASES; i++) {
		test_begin(cases[i].what);
		cases[i].build();
		memset(&r, 0, sizeof(r));
		ret = dns_parse(pk.b, pk.n, cases[i].qtype, &r);
		test_assert(ret == cases[i].ret);
		test_assert(r.status == cases[i].status);
		test_assert(r.nrr == cases[i].nrr);
		test_assert(r.qtype == cases[i].qtype);
		if (ret == cases[i].ret && r.nrr == cases[i].nrr &&
		    cases[i].check != NULL)
			cases[i].check(&r);
		dns_result_clear(&r);
		test_end();
	}
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
