/*
 * test-dns-bad.c - the DNS answer parser (common/dns_parse.c) on
 * malformed and hostile packets, table-driven (test-dns-pk.h):
 * compression loops, forward, self and out-of-range pointers, reserved
 * label types, names over 255 octets, too many jumps, CNAME loops and
 * over-long chains, lengths that do not add up, counts the packet
 * cannot hold or over DNS_ANSWER_MAX.  Each must be refused whole: -1,
 * DNS_TEMPFAIL, no records.
 */
#include <stdint.h>
#include <string.h>

#include "dns.h"
#include "test-dns-pk.h"

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

static void
b_hops_many(void)
{
	pk_hops(128);
}

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

/* n A records: 1000 is the most a packet may carry (DNS_ANSWER_MAX) */
static void
pk_many(unsigned n)
{
	unsigned i;

	pk_head(RESP, n, "example.test", DNS_T_A);
	for (i = 0; i < n; i++) {
		pk_rr(DNS_T_A, 4);
		pk_u32(0xc0000200 | (i & 0xff));
	}
}

static void
b_answers_1000(void)
{
	pk_many(1000);
}

static void
b_answers_1001(void)
{
	pk_many(1001);
}

static const struct pcase cases[] = {
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
	{ "1000 answers are read", b_answers_1000, DNS_T_A, 0, DNS_OK, 1000,
	    NULL },
	{ "1001 answers are refused", b_answers_1001, DNS_T_A, -1,
	    DNS_TEMPFAIL, 0, NULL },
};

static void
test_dns_parse_bad(void)
{
	pk_run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_dns_parse_bad,
		NULL
	};

	return test_run(tests);
}
