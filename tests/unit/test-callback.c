/*
 * test-callback.c - the callback responder's pure parts
 * (smtpd/callback_table.c): the line parser, the table of open sessions
 * (single use, the peer's address must match, an mta's death drops its
 * IDs), the address form both sides compare, the per-address rate and
 * where the responder listens; and what smtpd's parent makes of the
 * transmitters' word (smtpd/callback_parent.c).
 */
#include <stdio.h>
#include <string.h>

#include "callback.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "smtpd.h"
#include "test.h"

#define ID1	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define ID2	"fedcba9876543210fedcba9876543210" \
		"fedcba9876543210fedcba9876543210"
#define ID3	"00000000000000000000000000000000" \
		"00000000000000000000000000000000"

static const struct {
	const char	*in;
	enum cbk_line	 want;
} lines[] = {
	{ "CHECK " ID1 "\r\n", CBK_LINE_CHECK },
	{ "", CBK_LINE_MORE },
	{ "CHECK ", CBK_LINE_MORE },
	{ "CHECK " ID1, CBK_LINE_MORE },
	{ "CHECK " ID1 "\r", CBK_LINE_MORE },
	{ "CHECK " ID1 "\n", CBK_LINE_BAD },		/* bare LF */
	{ "CHECK " ID1 "\r\nCHECK", CBK_LINE_BAD },	/* more after it */
	{ "CHECK " ID1 "0\r\n", CBK_LINE_BAD },		/* 65 digits */
	{ "CHECK 0123\r\n", CBK_LINE_BAD },
	{ "check " ID1 "\r\n", CBK_LINE_BAD },		/* verb in capitals */
	{ "CHECK  " ID1 "\r\n", CBK_LINE_BAD },
	{ "CHECK 0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\r\n", CBK_LINE_BAD },
	{ "\r\n", CBK_LINE_BAD },
	{ "HELO\r\n", CBK_LINE_BAD },
	/* 79 octets without a line end: more; 80: too long */
	{ "CHECK " ID1 "xxxxxxxxx", CBK_LINE_MORE },
	{ "CHECK " ID1 "xxxxxxxxxx", CBK_LINE_BAD },
	{ "GET / HTTP/1.0\r\n", CBK_LINE_BAD },
};

static void
test_line_parser(void)
{
	char	 id[CBK_ID_LEN + 1];
	size_t	 i;

	test_begin("the responder's line: exactly CHECK, one space, 64 "
	    "lowercase hex, CRLF; long or anything else is BAD");
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		id[0] = '\0';
		if (cbk_line_parse(lines[i].in, strlen(lines[i].in), id) !=
		    lines[i].want) {
			fprintf(stderr, "  case %zu: \"%s\"\n", i, lines[i].in);
			test_assert(0);
		}
	}
	test_assert(cbk_line_parse("CHECK " ID2 "\r\n", 72, id) ==
	    CBK_LINE_CHECK);
	test_assert_str(id, ID2);
	/* a NUL in the line is not the end of it */
	test_assert(cbk_line_parse("CHECK " ID1 "\0\r\n", 73, id) ==
	    CBK_LINE_BAD);
	test_end();
}

static void
test_yes_once_then_no(void)
{
	struct cbk_table *t = cbk_table_new(8);

	test_begin("an ID is answered YES once, to its session's address; "
	    "then NO");
	test_assert(cbk_table_open(t, 0, ID1, "192.0.2.7") == 0);
	test_assert(cbk_table_check(t, ID1, "192.0.2.7") == 1);
	test_assert(cbk_table_check(t, ID1, "192.0.2.7") == 0);
	test_assert(cbk_table_count(t) == 0);
	cbk_table_free(t);
	test_end();
}

static void
test_wrong_address_is_no_and_burns_nothing(void)
{
	struct cbk_table *t = cbk_table_new(8);

	test_begin("from another address: NO, and the ID stays for its "
	    "own receiver");
	test_assert(cbk_table_open(t, 1, ID1, "192.0.2.7") == 0);
	test_assert(cbk_table_check(t, ID1, "192.0.2.8") == 0);
	test_assert(cbk_table_check(t, ID1, "2001:db8::7") == 0);
	test_assert(cbk_table_check(t, ID2, "192.0.2.7") == 0);
	test_assert(cbk_table_check(t, ID1, "192.0.2.7") == 1);
	cbk_table_free(t);
	test_end();
}

static void
test_mapped_and_v6_addresses_compare(void)
{
	struct cbk_table *t = cbk_table_new(8);
	char	 out[CBK_ADDR_MAX];

	test_begin("addresses compare in one form: v4-mapped is v4, v6 "
	    "canonical");
	test_assert(cbk_table_open(t, 0, ID1, "192.0.2.7") == 0);
	test_assert(cbk_table_check(t, ID1, "::ffff:192.0.2.7") == 1);
	test_assert(cbk_table_open(t, 0, ID2, "2001:DB8:0:0::1") == 0);
	test_assert(cbk_table_check(t, ID2, "2001:db8::1") == 1);
	test_assert(cbk_addr_canon("mx.example.org", out, sizeof(out)) == -1);
	test_assert(cbk_addr_canon("fe80::1%eth0", out, sizeof(out)) == -1);
	test_assert(cbk_addr_canon("", out, sizeof(out)) == -1);
	test_assert(cbk_table_open(t, 0, ID3, "mx.example.org") == -1);
	test_assert(cbk_table_open(t, 0, "abc", "192.0.2.7") == -1);
	cbk_table_free(t);
	test_end();
}

static void
test_close_and_drop(void)
{
	struct cbk_table *t = cbk_table_new(8);

	test_begin("a closed session's ID goes (only by its own mta); an "
	    "mta's death drops all of its IDs and no other's");
	test_assert(cbk_table_open(t, 0, ID1, "192.0.2.1") == 0);
	test_assert(cbk_table_open(t, 2, ID2, "192.0.2.2") == 0);
	test_assert(cbk_table_open(t, 2, ID3, "192.0.2.3") == 0);
	cbk_table_close(t, 1, ID1);		/* not mta 1's */
	test_assert(cbk_table_count(t) == 3);
	cbk_table_close(t, 0, ID1);
	test_assert(cbk_table_check(t, ID1, "192.0.2.1") == 0);
	test_assert(cbk_table_open(t, 0, ID1, "192.0.2.1") == 0);
	cbk_table_drop(t, 2);
	test_assert(cbk_table_count(t) == 1);
	test_assert(cbk_table_check(t, ID2, "192.0.2.2") == 0);
	test_assert(cbk_table_check(t, ID3, "192.0.2.3") == 0);
	test_assert(cbk_table_check(t, ID1, "192.0.2.1") == 1);
	cbk_table_free(t);
	test_end();
}

static void
test_table_bounded(void)
{
	struct cbk_table *t = cbk_table_new(2);

	test_begin("the table is bounded; an ID opened again is replaced");
	test_assert(cbk_table_open(t, 0, ID1, "192.0.2.1") == 0);
	test_assert(cbk_table_open(t, 1, ID2, "192.0.2.2") == 0);
	test_assert(cbk_table_open(t, 2, ID3, "192.0.2.3") == -1);
	test_assert(cbk_table_open(t, 3, ID1, "192.0.2.9") == 0);
	test_assert(cbk_table_count(t) == 2);
	test_assert(cbk_table_check(t, ID1, "192.0.2.1") == 0);
	test_assert(cbk_table_check(t, ID1, "192.0.2.9") == 1);
	cbk_table_free(t);
	test_end();
}

static void
test_rate_per_address_per_minute(void)
{
	static struct cbk_rate r[CBK_RATE_SLOTS];
	int	 i, ok = 0;

	test_begin("rate: N a minute per address (an IPv6 /64 is one), "
	    "a new minute starts over");
	for (i = 0; i < 12; i++)
		ok += cbk_rate_ok(r, "192.0.2.1", 10, 600);
	test_assert(ok == 10);
	test_assert(cbk_rate_ok(r, "192.0.2.2", 10, 600));
	test_assert(cbk_rate_ok(r, "192.0.2.1", 10, 660));
	for (i = 0, ok = 0; i < 4; i++)
		ok += cbk_rate_ok(r, i % 2 ? "2001:db8::1" : "2001:db8::2", 3,
		    600);
	test_assert(ok == 3);
	test_end();
}

static void
test_listen_beside(void)
{
	char	 out[64];

	test_begin("the responder listens on each listen host at "
	    "callback_port");
	test_assert(cbk_listen_addr("127.0.0.2:2525", 4026, out,
	    sizeof(out)) == 0);
	test_assert_str(out, "127.0.0.2:4026");
	test_assert(cbk_listen_addr("[::1]:25", 4026, out, sizeof(out)) == 0);
	test_assert_str(out, "[::1]:4026");
	test_assert(cbk_listen_addr("25", 4026, out, sizeof(out)) == -1);
	test_assert(cbk_listen_addr(":25", 4026, out, sizeof(out)) == -1);
	test_assert(cbk_listen_addr("0.0.0.0:25", 0, out, sizeof(out)) == -1);
	test_end();
}

/* what the parent told the receiver, as "OPEN 1 <id> <addr>;..." */
static char	 told[1024];

static void
to_receiver(struct ipc_msg *m)
{
	const char	*id = "", *addr = "";
	uint32_t	 slot;
	size_t		 n = strlen(told);

	ipc_get_u32(m, &slot);
	if (m->type != IPC_RECEIVER_CBK_DROP)
		ipc_get_str(m, &id);
	if (m->type == IPC_RECEIVER_CBK_OPEN)
		ipc_get_str(m, &addr);
	snprintf(told + n, sizeof(told) - n, "%s %u %.4s %s;",
	    m->type == IPC_RECEIVER_CBK_OPEN ? "OPEN" :
	    m->type == IPC_RECEIVER_CBK_CLOSE ? "CLOSE" : "DROP", slot, id,
	    addr);
	ipc_msg_free(m);
}

static int
from_mta(const struct sm_config *c, uint32_t slot, uint32_t type,
    const char *id, const char *addr)
{
	struct ipc_msg	*m = ipc_msg_new(type, 0);
	int		 r;

	if (id != NULL)
		ipc_add_str(m, id);
	if (addr != NULL)
		ipc_add_str(m, addr);
	r = cbk_parent_from_mta(c, slot, m);
	ipc_msg_free(m);
	return r;
}

static void
test_parent_checks_and_relays(void)
{
	struct sm_config c;

	test_begin("the parent relays a transmitter's sessions, one each, "
	    "and refuses what is malformed or not allowed");
	memset(&c, 0, sizeof(c));
	cbk_parent_init(to_receiver);
	told[0] = '\0';
	/* the callback is off: nothing may be said of it */
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, ID1, "192.0.2.1") ==
	    -1);
	c.smtpd_callback_port = 4026;
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, "0123", "192.0.2.1")
	    == -1);
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, ID1,
	    "mx.example.org") == -1);
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, ID1, NULL) == -1);
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_CLOSE, NULL, NULL) == -1);
	test_assert(from_mta(&c, Q_MTA_N, IPC_PARENT_CBK_OPEN, ID1,
	    "192.0.2.1") == -1);
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, ID1, "192.0.2.1") ==
	    0);
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_OPEN, ID2,
	    "::ffff:192.0.2.2") == 0);
	test_assert(from_mta(&c, 1, IPC_PARENT_CBK_OPEN, ID3, "192.0.2.3") ==
	    0);
	/* a CLOSE of what the slot does not have changes nothing */
	test_assert(from_mta(&c, 1, IPC_PARENT_CBK_CLOSE, ID2, NULL) == 0);
	test_assert_str(told, "OPEN 0 0123 192.0.2.1;CLOSE 0 0123 ;"
	    "OPEN 0 fedc 192.0.2.2;OPEN 1 0000 192.0.2.3;");
	told[0] = '\0';
	cbk_parent_replay();
	test_assert_str(told, "OPEN 0 fedc 192.0.2.2;OPEN 1 0000 192.0.2.3;");
	told[0] = '\0';
	test_assert(from_mta(&c, 0, IPC_PARENT_CBK_CLOSE, ID2, NULL) == 0);
	cbk_parent_mta_gone(1);
	cbk_parent_mta_gone(1);
	cbk_parent_mta_gone(0);
	test_assert_str(told, "CLOSE 0 fedc ;DROP 1  ;");
	told[0] = '\0';
	cbk_parent_replay();
	test_assert_str(told, "");
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_line_parser,
		test_yes_once_then_no,
		test_wrong_address_is_no_and_burns_nothing,
		test_mapped_and_v6_addresses_compare,
		test_close_and_drop,
		test_table_bounded,
		test_rate_per_address_per_minute,
		test_listen_beside,
		test_parent_checks_and_relays,
		NULL
	};

	log_init("test-callback", 1, LOG_LVL_WARN);
	return test_run(tests);
}
