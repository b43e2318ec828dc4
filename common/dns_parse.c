/*
 * dns_parse.c - a bounded, defensive parser for DNS answer packets
 * (RFC 1035 section 4.1), turning the packet libunbound hands back into
 * the records of a struct dns_result; see dns.h.  Also the small
 * helpers on names and types the module and its callers share.
 *
 * Called by dns.c in whatever process does lookups (in the daemons, an
 * unprivileged one), and directly by the unit tests and the fuzz
 * target.  libunbound has parsed and re-encoded the packet, but its
 * contents were chosen by whoever runs the remote zone, so nothing in
 * it is trusted: every length is checked against the packet before it
 * is read; a compression pointer must point before the labels it
 * continues, so no name can loop, and a name is capped at 255 octets;
 * the reserved label types are refused; the answer count is bounded by
 * what the packet can hold and by DNS_ANSWER_MAX (no lookup a mail
 * system makes has a thousand records at one name, and the bound keeps
 * the work on a hostile packet small); a record
 * whose data does not fill its RDLENGTH exactly is malformed.  A
 * malformed packet yields DNS_TEMPFAIL and no records, never a partial
 * answer.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "xmalloc.h"

#define DNS_HDR_LEN	12
#define DNS_RR_MIN	11	/* root owner, type, class, TTL, RDLENGTH */
#define DNS_WIRE_MAX	255	/* octets of a name on the wire */
#define DNS_HOPS_MAX	127	/* pointers followed in one name */
#define DNS_ANSWER_MAX	1000	/* answer records in one packet */
#define DNS_C_IN	1
#define DNS_QR		0x8000

/* Where one answer record lies in the packet. */
struct dns_rrpos {
	size_t		 owner;
	uint16_t	 type;
	uint16_t	 class;
	uint32_t	 ttl;
	size_t		 rdata;
	size_t		 rdlen;
};

struct dns_pkt {
	const unsigned char *p;
	size_t		 len;
};

static uint16_t
dns_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
dns_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Append one label in presentation form, after a dot unless it is the
 * first; -1 when out is full.
 */
static int
dns_label_text(const unsigned char *l, size_t n, char *out, size_t outlen,
    size_t *pos)
{
	char	 esc[5];
	size_t	 i, k;
	int	 c;

	if (*pos > 0) {
		if (*pos + 1 >= outlen)
			return -1;
		out[(*pos)++] = '.';
	}
	for (i = 0; i < n; i++) {
		c = l[i];
		if (c <= 0x20 || c >= 0x7f)
			snprintf(esc, sizeof(esc), "\\%03d", c);
		else if (c == '.' || c == '\\' || c == '"')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		k = strlen(esc);
		if (*pos + k >= outlen)
			return -1;
		memcpy(out + *pos, esc, k);
		*pos += k;
	}
	return 0;
}

/*
 * Read the name at *offp, whose uncompressed part must end by end; on
 * success *offp is just past that part.  out (may be NULL) gets the
 * text.  A pointer must point before the first label of the run that
 * holds it, so every jump goes strictly backwards and the walk ends.
 */
static int
dns_name_read(const struct dns_pkt *pk, size_t *offp, size_t end, char *out,
    size_t outlen)
{
	size_t	 pos = *offp, run = *offp, wire = 0, tpos = 0, ptr;
	int	 jumped = 0, hops = 0;
	unsigned c;

	for (;;) {
		if (pos >= end)
			return -1;
		c = pk->p[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= end)
				return -1;
			ptr = (size_t)(c & 0x3f) << 8 | pk->p[pos + 1];
			if (ptr >= run || ptr < DNS_HDR_LEN ||
			    ++hops > DNS_HOPS_MAX)
				return -1;
			if (!jumped)
				*offp = pos + 2;
			jumped = 1;
			pos = run = ptr;
			end = pk->len;
			continue;
		}
		if ((c & 0xc0) != 0)
			return -1;	/* 0x40 and 0x80 label types */
		wire += 1 + c;
		if (wire > DNS_WIRE_MAX || pos + 1 + c > end)
			return -1;
		if (c == 0)
			break;
		if (out != NULL && dns_label_text(pk->p + pos + 1, c, out,
		    outlen, &tpos) == -1)
			return -1;
		pos += 1 + c;
	}
	if (!jumped)
		*offp = pos + 1;
	if (out != NULL) {
		if (tpos == 0)
			out[tpos++] = '.';
		out[tpos] = '\0';
	}
	return 0;
}

/* A name that must fill rdata[off..end) exactly. */
static char *
dns_rd_name_at(const struct dns_pkt *pk, size_t off, size_t end)
{
	char	 text[DNS_NAME_TEXT_MAX + 1];

	if (dns_name_read(pk, &off, end, text, sizeof(text)) == -1 ||
	    off != end)
		return NULL;
	return xstrdup(text);
}

static int
dns_rd_name(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	rr->u.name = dns_rd_name_at(pk, r->rdata, r->rdata + r->rdlen);
	return rr->u.name != NULL ? 0 : -1;
}

static int
dns_rd_addr(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	if (r->type == DNS_T_A && r->rdlen == 4) {
		rr->u.addr.af = AF_INET;
		memcpy(&rr->u.addr.u.v4, pk->p + r->rdata, 4);
	} else if (r->type == DNS_T_AAAA && r->rdlen == 16) {
		rr->u.addr.af = AF_INET6;
		memcpy(&rr->u.addr.u.v6, pk->p + r->rdata, 16);
	} else
		return -1;
	return 0;
}

static int
dns_rd_mx(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	if (r->rdlen < 3)
		return -1;
	rr->u.mx.pref = dns_get16(pk->p + r->rdata);
	rr->u.mx.host = dns_rd_name_at(pk, r->rdata + 2, r->rdata + r->rdlen);
	return rr->u.mx.host != NULL ? 0 : -1;
}

static int
dns_rd_txt(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	struct dns_txt *t = &rr->u.txt;
	const unsigned char *p = pk->p + r->rdata;
	size_t	 off, n, nstr = 0;

	for (off = 0; off < r->rdlen; off += 1 + p[off], nstr++)
		if (off + 1 + p[off] > r->rdlen)
			return -1;
	t->data = xmalloc(r->rdlen + 1);
	t->str = xreallocarray(NULL, nstr + 1, sizeof(*t->str));
	for (off = 0; off < r->rdlen; off += 1 + n) {
		n = p[off];
		memcpy(t->data + t->len, p + off + 1, n);
		t->str[t->nstr].off = t->len;
		t->str[t->nstr].len = n;
		t->nstr++;
		t->len += n;
	}
	t->data[t->len] = '\0';
	return 0;
}

static int
dns_rd_tlsa(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	const unsigned char *p = pk->p + r->rdata;

	if (r->rdlen < 3)
		return -1;
	rr->u.tlsa.usage = p[0];
	rr->u.tlsa.selector = p[1];
	rr->u.tlsa.mtype = p[2];
	rr->u.tlsa.len = r->rdlen - 3;
	rr->u.tlsa.data = xmalloc(rr->u.tlsa.len + 1);
	memcpy(rr->u.tlsa.data, p + 3, rr->u.tlsa.len);
	return 0;
}

static int
dns_rd_raw(const struct dns_pkt *pk, const struct dns_rrpos *r,
    struct dns_rr *rr)
{
	rr->u.raw.len = r->rdlen;
	rr->u.raw.data = xmalloc(r->rdlen + 1);
	memcpy(rr->u.raw.data, pk->p + r->rdata, r->rdlen);
	return 0;
}

static const struct dns_type {
	uint16_t	 type;
	const char	*name;
	int		(*rdata)(const struct dns_pkt *,
			    const struct dns_rrpos *, struct dns_rr *);
} dns_types[] = {
	{ DNS_T_A, "A", dns_rd_addr },
	{ DNS_T_NS, "NS", dns_rd_name },
	{ DNS_T_CNAME, "CNAME", dns_rd_name },
	{ DNS_T_SOA, "SOA", dns_rd_raw },
	{ DNS_T_PTR, "PTR", dns_rd_name },
	{ DNS_T_MX, "MX", dns_rd_mx },
	{ DNS_T_TXT, "TXT", dns_rd_txt },
	{ DNS_T_AAAA, "AAAA", dns_rd_addr },
	{ DNS_T_TLSA, "TLSA", dns_rd_tlsa },
};

#define DNS_NTYPES	(sizeof(dns_types) / sizeof(dns_types[0]))

static const struct dns_type *
dns_type_find(uint16_t type)
{
	size_t	 i;

	for (i = 0; i < DNS_NTYPES; i++)
		if (dns_types[i].type == type)
			return &dns_types[i];
	return NULL;
}

const char *
dns_type_str(uint16_t type)
{
	const struct dns_type *t = dns_type_find(type);

	return t != NULL ? t->name : NULL;
}

int
dns_type_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < DNS_NTYPES; i++)
		if (strcasecmp(dns_types[i].name, s) == 0)
			return dns_types[i].type;
	return -1;
}

static int
dns_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
dns_name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (dns_lower((unsigned char)*a) !=
		    dns_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/*
 * Check the header and the one question; *offp is left on the answer
 * section and *ancount is the number of answers, bounded by the bytes
 * left.
 */
static int
dns_parse_head(const struct dns_pkt *pk, uint16_t qtype, size_t *offp,
    size_t *ancount, int *rcode)
{
	uint16_t flags;
	size_t	 off = DNS_HDR_LEN;

	if (pk->len < DNS_HDR_LEN)
		return -1;
	flags = dns_get16(pk->p + 2);
	*rcode = flags & 0x0f;
	if (!(flags & DNS_QR) || (flags >> 11 & 0x0f) != 0 ||
	    dns_get16(pk->p + 4) != 1)
		return -1;
	if (dns_name_read(pk, &off, pk->len, NULL, 0) == -1 ||
	    off + 4 > pk->len || dns_get16(pk->p + off) != qtype ||
	    dns_get16(pk->p + off + 2) != DNS_C_IN)
		return -1;
	off += 4;
	*ancount = dns_get16(pk->p + 6);
	if (*ancount > (pk->len - off) / DNS_RR_MIN ||
	    *ancount > DNS_ANSWER_MAX)
		return -1;
	*offp = off;
	return 0;
}

/* Locate every answer record; each must lie inside the packet. */
static int
dns_parse_answers(const struct dns_pkt *pk, size_t off, struct dns_rrpos *rp,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		rp[i].owner = off;
		if (dns_name_read(pk, &off, pk->len, NULL, 0) == -1 ||
		    off + 10 > pk->len)
			return -1;
		rp[i].type = dns_get16(pk->p + off);
		rp[i].class = dns_get16(pk->p + off + 2);
		rp[i].ttl = dns_get32(pk->p + off + 4);
		rp[i].rdlen = dns_get16(pk->p + off + 8);
		rp[i].rdata = off + 10;
		if (rp[i].rdlen > pk->len - rp[i].rdata)
			return -1;
		off = rp[i].rdata + rp[i].rdlen;
	}
	return 0;
}

static int
dns_owner_is(const struct dns_pkt *pk, const struct dns_rrpos *r,
    const char *name)
{
	char	 text[DNS_NAME_TEXT_MAX + 1];
	size_t	 off = r->owner;

	if (dns_name_read(pk, &off, pk->len, text, sizeof(text)) == -1)
		return 0;
	return dns_name_eq(text, name);
}

/*
 * Follow the CNAME chain from canon (the question's name) through the
 * answers; canon becomes its end.  -1 for a chain longer than
 * DNS_CNAME_MAX (a loop among them) or a CNAME that does not parse.
 */
static int
dns_follow_cnames(const struct dns_pkt *pk, const struct dns_rrpos *rp,
    size_t n, char *canon, size_t canonlen, size_t *ncname)
{
	size_t	 i, off;
	int	 found;

	*ncname = 0;
	do {
		found = 0;
		for (i = 0; i < n && !found; i++) {
			if (rp[i].type != DNS_T_CNAME ||
			    rp[i].class != DNS_C_IN ||
			    !dns_owner_is(pk, &rp[i], canon))
				continue;
			if (++*ncname > DNS_CNAME_MAX)
				return -1;
			off = rp[i].rdata;
			if (dns_name_read(pk, &off, rp[i].rdata + rp[i].rdlen,
			    canon, canonlen) == -1 ||
			    off != rp[i].rdata + rp[i].rdlen)
				return -1;
			found = 1;
		}
	} while (found);
	return 0;
}

/* Stable, by preference: the order received breaks ties. */
static void
dns_sort_mx(struct dns_rr *rr, size_t n)
{
	struct dns_rr tmp;
	size_t	 i, j;

	for (i = 1; i < n; i++) {
		tmp = rr[i];
		for (j = i; j > 0 && rr[j - 1].u.mx.pref > tmp.u.mx.pref; j--)
			rr[j] = rr[j - 1];
		rr[j] = tmp;
	}
}

/* The records of qtype owned by res->canon. */
static int
dns_collect(const struct dns_pkt *pk, const struct dns_rrpos *rp, size_t n,
    uint16_t qtype, struct dns_result *res)
{
	const struct dns_type *t = dns_type_find(qtype);
	struct dns_rr *rr;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (rp[i].type != qtype || rp[i].class != DNS_C_IN ||
		    !dns_owner_is(pk, &rp[i], res->canon))
			continue;
		if (res->rr == NULL)
			res->rr = xcalloc(n, sizeof(*res->rr));
		rr = &res->rr[res->nrr++];
		rr->type = qtype;
		rr->ttl = rp[i].ttl;
		if ((t != NULL ? t->rdata : dns_rd_raw)(pk, &rp[i], rr) == -1)
			return -1;
	}
	if (qtype == DNS_T_MX)
		dns_sort_mx(res->rr, res->nrr);
	return 0;
}

static int
dns_parse_body(const struct dns_pkt *pk, uint16_t qtype,
    struct dns_result *res)
{
	char	 canon[DNS_NAME_TEXT_MAX + 1];
	struct dns_rrpos *rp = NULL;
	size_t	 off, n, qoff = DNS_HDR_LEN;
	int	 r = -1;

	if (dns_parse_head(pk, qtype, &off, &n, &res->rcode) == -1 ||
	    dns_name_read(pk, &qoff, pk->len, canon, sizeof(canon)) == -1)
		return -1;
	if (res->qname == NULL)
		res->qname = xstrdup(canon);
	if (n > 0) {
		rp = xreallocarray(NULL, n, sizeof(*rp));
		if (dns_parse_answers(pk, off, rp, n) == -1)
			goto done;
	}
	if (qtype != DNS_T_CNAME && dns_follow_cnames(pk, rp, n, canon,
	    sizeof(canon), &res->ncname) == -1)
		goto done;
	res->canon = xstrdup(canon);
	if (res->rcode == 0 && dns_collect(pk, rp, n, qtype, res) == -1)
		goto done;
	r = 0;
done:
	free(rp);
	return r;
}

static void
dns_rr_clear(struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		break;
	case DNS_T_MX:
		free(rr->u.mx.host);
		break;
	case DNS_T_TXT:
		free(rr->u.txt.data);
		free(rr->u.txt.str);
		break;
	case DNS_T_TLSA:
		free(rr->u.tlsa.data);
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		free(rr->u.name);
		break;
	default:
		free(rr->u.raw.data);
		break;
	}
}

static void
dns_records_clear(struct dns_result *res)
{
	size_t	 i;

	for (i = 0; i < res->nrr; i++)
		dns_rr_clear(&res->rr[i]);
	free(res->rr);
	res->rr = NULL;
	res->nrr = 0;
}

void
dns_result_clear(struct dns_result *res)
{
	dns_records_clear(res);
	free(res->qname);
	free(res->canon);
	free(res->why_bogus);
	memset(res, 0, sizeof(*res));
}

int
dns_parse(const unsigned char *pkt, size_t len, uint16_t qtype,
    struct dns_result *res)
{
	struct dns_pkt pk = { pkt, len };

	res->qtype = qtype;
	res->rcode = -1;
	if (pkt == NULL || dns_parse_body(&pk, qtype, res) == -1) {
		dns_records_clear(res);
		res->status = DNS_TEMPFAIL;
		return -1;
	}
	if (res->rcode == 3)
		res->status = DNS_NXDOMAIN;
	else if (res->rcode != 0)
		res->status = DNS_TEMPFAIL;
	else
		res->status = res->nrr > 0 ? DNS_OK : DNS_NODATA;
	return 0;
}

int
dns_ptr_name(const struct dns_addr *a, char *out, size_t outlen)
{
	const unsigned char *b;
	size_t	 pos = 0, i;
	int	 n;

	if (outlen == 0)
		return -1;
	if (a->af == AF_INET) {
		b = (const unsigned char *)&a->u.v4;
		n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa",
		    b[3], b[2], b[1], b[0]);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	if (a->af != AF_INET6)
		return -1;
	b = (const unsigned char *)&a->u.v6;
	for (i = 16; i > 0; i--) {
		n = snprintf(out + pos, outlen - pos, "%x.%x.",
		    b[i - 1] & 0x0f, b[i - 1] >> 4);
		if (n < 0 || (size_t)n >= outlen - pos)
			return -1;
		pos += (size_t)n;
	}
	n = snprintf(out + pos, outlen - pos, "ip6.arpa");
	return n < 0 || (size_t)n >= outlen - pos ? -1 : 0;
}

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_BOGUS:
		return "bogus";
	}
	return "unknown";
}

const char *
dns_sec_str(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_INSECURE:
		return "insecure";
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_BOGUS:
		return "bogus";
	}
	return "unknown";
}
