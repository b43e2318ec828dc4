/*
 * test-dns-pk.h - building DNS answer packets byte by byte for the
 * parser's unit tests (test-dns.c, test-dns-bad.c), and the runner of
 * their tables: each case builds one packet, states the verdict, the
 * status and the number of records, and may check the records.
 */
#ifndef SM_TEST_DNS_PK_H
#define SM_TEST_DNS_PK_H

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

static TEST_UNUSED void
pk_u8(unsigned v)
{
	if (pk.n < PK_MAX)
		pk.b[pk.n++] = (unsigned char)v;
}

static TEST_UNUSED void
pk_u16(unsigned v)
{
	pk_u8(v >> 8 & 0xff);
	pk_u8(v & 0xff);
}

static TEST_UNUSED void
pk_u32(uint32_t v)
{
	pk_u16(v >> 16);
	pk_u16(v & 0xffff);
}

static TEST_UNUSED void
pk_bytes(const void *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		pk_u8(((const unsigned char *)p)[i]);
}

/* Dotted name, uncompressed, with its root label ("" is the root). */
static TEST_UNUSED void
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

static TEST_UNUSED void
pk_ptr(size_t off)
{
	pk_u16(0xc000 | (unsigned)off);
}

/* Header (id 1, flags, one question, an answers) and the question. */
static TEST_UNUSED void
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
static TEST_UNUSED void
pk_rr(unsigned type, unsigned rdlen)
{
	pk_ptr(QNAME);
	pk_u16(type);
	pk_u16(1);
	pk_u32(300);
	pk_u16(rdlen);
}

static TEST_UNUSED void
pk_rr_named(const char *owner, unsigned type, unsigned rdlen)
{
	pk_name(owner);
	pk_u16(type);
	pk_u16(1);
	pk_u32(300);
	pk_u16(rdlen);
}

/*
 * The rdata of a record of type 99 holds a root label and n pointers,
 * each to the one before; the owner of a second record points to the
 * last: n + 1 jumps to read it.
 */
static TEST_UNUSED void
pk_hops(int n)
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

struct pcase {
	const char	*what;
	void		(*build)(void);
	uint16_t	 qtype;
	int		 ret;
	enum dns_status	 status;
	size_t		 nrr;
	void		(*check)(const struct dns_result *);
};

static TEST_UNUSED void
pk_run_table(const struct pcase *cases, size_t n)
{
	struct dns_result r;
	size_t	 i;
	int	 ret;

	for (i = 0; i < n; i++) {
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

#endif
