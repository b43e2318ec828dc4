/*
 * test-qhandoff.c - the queue hand-off (common/qhandoff.c): queue IDs,
 * the addresses the queue takes, IPC_QUEUE_MESSAGE built and read back
 * over the wire format, every way a request can be wrong (a table), and
 * the queue's answer as its clients read it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "qhandoff.h"
#include "test.h"

#define GOOD_ID	"0123456789abcdef"

static void
test_ids(void)
{
	char	 a[Q_ID_LEN + 1], b[Q_ID_LEN + 1];

	test_begin("queue IDs are 16 lowercase hex digits and differ");
	q_id_new(a);
	q_id_new(b);
	test_assert(q_id_valid(a) && q_id_valid(b));
	test_assert(strcmp(a, b) != 0);
	test_assert(!q_id_valid("../../etc/passwd"));
	test_assert(!q_id_valid("0123456789ABCDEF"));
	test_assert(!q_id_valid("0123456789abcdef0"));
	test_assert(!q_id_valid("0123456789abcde"));
	test_assert(!q_id_valid(""));
	test_end();
}

static void
test_addr_valid(void)
{
	static const struct {
		const char	*a;
		int		 from, rcpt, user;
	} cases[] = {
		{ "a@example.org", 1, 1, 1 },
		{ "", 1, 0, 0 },
		{ "Postmaster", 0, 1, 0 },
		{ "\"john doe\"@example.org", 1, 1, 0 },
		{ "j\xc3\xb6@example.org", 1, 1, 1 },
		{ "a@[192.0.2.1]", 1, 1, 1 },
		{ "a@example.org> X-SEALMAIL-CLASS=safe Z=", 0, 0, 0 },
		{ "a@example.org X=1", 0, 0, 0 },
		{ "<a@example.org>", 0, 0, 0 },
		{ "a@example.org\r\nRCPT TO:<b@example.org>", 0, 0, 0 },
		{ "a", 0, 0, 0 },
		{ "@example.org", 0, 0, 0 },
		{ "a@", 0, 0, 0 },
		{ "a.@example.org", 0, 0, 0 },
		{ "\"unterminated@example.org", 0, 0, 0 },
		/* common/addr's rule (addr.h), where smtp_parse.c erred */
		{ "a@exa_mple.org", 0, 0, 0 },
		{ "a@example.org.", 0, 0, 0 },
		{ "a@-example.org", 0, 0, 0 },
		{ "a\xff@example.org", 0, 0, 0 },
		{ "a@[example]", 0, 0, 0 },
	};
	char	 longa[400];
	size_t	 i;
	int	 ok = 1;

	test_begin("q_addr_valid takes RFC 5321 paths and nothing else");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (q_addr_valid(cases[i].a, Q_ADDR_FROM) != cases[i].from ||
		    q_addr_valid(cases[i].a, Q_ADDR_RCPT) != cases[i].rcpt ||
		    q_addr_valid(cases[i].a, Q_ADDR_USER) != cases[i].user) {
			printf("  case %zu: %s\n", i, cases[i].a);
			ok = 0;
		}
	test_assert(ok);
	/* every part within its own limit, the whole over ADDR_MAX */
	memset(longa, 'a', sizeof(longa));
	longa[64] = '@';
	for (i = 65 + 60; i < 65 + 250; i += 61)
		longa[i] = '.';
	memcpy(longa + 65 + 250, ".org", 5);
	test_assert(!q_addr_valid(longa, Q_ADDR_RCPT));
	longa[64 + 120] = '\0';
	test_assert(q_addr_valid(longa, Q_ADDR_RCPT));
	/* 64 + 1 + 189 = 254 octets is a mailbox; 255 and 256 (which the
	 * queue took before) are not: a path is 256 with its <> */
	longa[64 + 120] = 'a';
	longa[65 + 189] = '\0';
	test_assert(q_addr_valid(longa, Q_ADDR_RCPT));
	longa[65 + 189] = 'a';
	longa[65 + 190] = '\0';
	test_assert(!q_addr_valid(longa, Q_ADDR_RCPT));
	longa[65 + 190] = 'a';
	longa[65 + 191] = '\0';
	test_assert(!q_addr_valid(longa, Q_ADDR_RCPT));
	test_end();
}

/* m through the wire format, as the queue receives it */
static struct ipc_msg *
wire(struct ipc_msg *m)
{
	struct ipc_msg	*r = NULL;
	struct buf	 b;
	size_t		 used;

	buf_init(&b, 0);
	ipc_encode(m, &b);
	if (ipc_decode((const uint8_t *)b.data, b.len, &r, &used) !=
	    IPC_DECODE_DONE)
		r = NULL;
	buf_free(&b);
	ipc_msg_free(m);
	return r;
}

static void
test_roundtrip(void)
{
	struct q_handoff_rcpt	 rc[2] = {
		{ "Bob@example.test", "bob@example.test", Q_RCPT_LOCAL },
		{ "carol@example.net", NULL, 0 },
	};
	struct q_handoff	 h = { GOOD_ID, "alice@example.test",
				    Q_CLASS_SAFE, "client.example.test",
				    "192.0.2.7", 2, rc, "alice@example.test",
				    Q_MSG_REQUIRETLS };
	struct q_handoff	 r;
	struct ipc_msg		*m;
	char			 err[128];
	int			 code = 0;

	test_begin("a hand-off reads back as it was built");
	m = wire(q_handoff_msg(&h, 42, open("/dev/null", O_RDONLY |
	    O_CLOEXEC)));
	test_assert(m != NULL && m->type == IPC_QUEUE_MESSAGE &&
	    m->id == 42 && m->fd == IPC_FD_PENDING);
	test_assert(q_handoff_read(m, &r, &code, err, sizeof(err)) == 0);
	test_assert_str(r.id, GOOD_ID);
	test_assert_str(r.from, "alice@example.test");
	test_assert(r.class == Q_CLASS_SAFE && r.nrcpt == 2);
	test_assert_str(r.helo, "client.example.test");
	test_assert_str(r.peer, "192.0.2.7");
	test_assert_str(r.author, "alice@example.test");
	test_assert(r.flags == Q_MSG_REQUIRETLS);
	test_assert_str(r.rcpt[0].addr, "Bob@example.test");
	test_assert_str(r.rcpt[0].user, "bob@example.test");
	test_assert(r.rcpt[0].flags == Q_RCPT_LOCAL);
	test_assert_str(r.rcpt[1].addr, "carol@example.net");
	test_assert_str(r.rcpt[1].user, "");
	test_assert(r.rcpt[1].flags == 0);
	q_handoff_free(&r);
	ipc_msg_free(m);
	test_end();
}

/* One field of a hand-handmade request: a string or a number. */
struct field {
	char		 tag;		/* 's', 'u'; 0 ends the list */
	const char	*s;
	uint32_t	 u;
};

#define S(x)	{ 's', (x), 0 }
#define U(x)	{ 'u', NULL, (x) }
#define HEADF(id, from, class, author, flags, n) \
	S(id), S(from), U(class), S("client.test"), S("192.0.2.7"), \
	S(author), U(flags), U(n)
#define HEADA(id, from, class, author, n) \
	HEADF(id, from, class, author, 0, n)
#define HEAD(id, from, class, n)	HEADA(id, from, class, "", n)
#define RCPT(a, u, f)	S(a), S(u), U(f)

static const struct {
	const char	*name;
	uint32_t	 type;
	int		 fd;
	int		 code;		/* 0: taken */
	struct field	 f[16];
} requests[] = {
	{ "well-formed", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEAD(GOOD_ID, "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test",
	    1) } },
	{ "the queue chooses the ID", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEAD("", "", 0, 1), RCPT("Postmaster", "pm@d.test", 1) } },
	{ "a remote recipient", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@elsewhere.test", "", 0) } },
	{ "another type", IPC_QUEUE_DELIVERED, 1, 554,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test", 1) } },
	{ "an ID that is not one", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("../../x", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test",
	    1) } },
	{ "no recipient", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, 0) } },
	{ "more recipients than Q_MAX_RCPT", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, Q_MAX_RCPT + 1), RCPT("c@d.test",
	    "c@d.test", 1) } },
	{ "fewer recipients than announced", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, 2), RCPT("c@d.test", "c@d.test", 1) } },
	{ "a HELO that ends a record", IPC_QUEUE_MESSAGE, 1, 554,
	    { S(""), S("a@b.test"), U(0), S("x\r\nrcpt done"), S("p"), S(""),
	    U(0), U(1),
	    RCPT("c@d.test", "c@d.test", 1) } },
	{ "an unknown class", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 2, 1), RCPT("c@d.test", "c@d.test", 1) } },
	{ "a sender that is not an address", IPC_QUEUE_MESSAGE, 1, 553,
	    { HEAD("", "a@b.test> X=1", 1, 1), RCPT("c@d.test", "c@d.test",
	    1) } },
	{ "a recipient that is not an address", IPC_QUEUE_MESSAGE, 1, 553,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test Z=1", "", 0) } },
	{ "a user that is not an address", IPC_QUEUE_MESSAGE, 1, 553,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test X=1",
	    1) } },
	{ "a local recipient without a user", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "", 1) } },
	{ "an unknown recipient flag", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test", 3) } },
	{ "an author (a user)", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEADA("", "a@b.test", 1, "a@b.test", 1), RCPT("c@d.test",
	    "c@d.test", 1) } },
	{ "an author (a domain: system mail)", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEADA("", "", 1, "b.test", 1), RCPT("c@d.test", "c@d.test",
	    1) } },
	{ "an author that could end a record", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEADA("", "a@b.test", 1, "a@b.test\nsigned yes", 1),
	    RCPT("c@d.test", "c@d.test", 1) } },
	{ "an author with a space", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEADA("", "a@b.test", 1, "a@b.test x", 1), RCPT("c@d.test",
	    "c@d.test", 1) } },
	{ "an author that is an address literal", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEADA("", "a@b.test", 1, "[192.0.2.1]", 1), RCPT("c@d.test",
	    "c@d.test", 1) } },
	{ "no author field at all", IPC_QUEUE_MESSAGE, 1, 554,
	    { S(""), S("a@b.test"), U(1), S("h"), S("p"), U(1),
	    RCPT("c@d.test", "c@d.test", 1) } },
	{ "REQUIRETLS asked for", IPC_QUEUE_MESSAGE, 1, 0,
	    { HEADF("", "a@b.test", 1, "a@b.test", Q_MSG_REQUIRETLS, 1),
	    RCPT("c@d.test", "c@d.test", 1) } },
	{ "an unknown message flag", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEADF("", "a@b.test", 1, "", 2, 1), RCPT("c@d.test",
	    "c@d.test", 1) } },
	{ "no message", IPC_QUEUE_MESSAGE, 0, 554,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test", 1) } },
	{ "a field after the last", IPC_QUEUE_MESSAGE, 1, 554,
	    { HEAD("", "a@b.test", 1, 1), RCPT("c@d.test", "c@d.test", 1),
	    U(0) } },
	{ "a string for a number", IPC_QUEUE_MESSAGE, 1, 554,
	    { S(""), S("a@b.test"), S("1"), S("h"), S("p"), S(""), U(1),
	    RCPT("c@d.test", "c@d.test", 1) } },
};

static struct ipc_msg *
request(size_t i)
{
	const struct field	*f;
	struct ipc_msg		*m;

	m = ipc_msg_new(requests[i].type, 7);
	for (f = requests[i].f; f->tag != 0; f++) {
		if (f->tag == 's')
			ipc_add_str(m, f->s);
		else
			ipc_add_u32(m, f->u);
	}
	if (requests[i].fd)
		ipc_msg_setfd(m, open("/dev/null", O_RDONLY | O_CLOEXEC));
	return wire(m);
}

static void
test_requests(void)
{
	struct q_handoff	 h;
	struct ipc_msg		*m;
	char			 err[128];
	size_t			 i;
	int			 code, r, ok;

	test_begin("every malformed or false request is refused with its code");
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if ((m = request(i)) == NULL) {
			printf("  %s: does not decode\n", requests[i].name);
			test_assert(0);
			continue;
		}
		code = 0;
		err[0] = '\0';
		r = q_handoff_read(m, &h, &code, err, sizeof(err));
		ok = requests[i].code == 0 ? r == 0 : r == -1 &&
		    code == requests[i].code && strncmp(err, "5.", 2) == 0 &&
		    h.rcpt == NULL;
		if (!ok) {
			printf("  %s: r=%d code=%d %s\n", requests[i].name, r,
			    code, err);
			test_assert(0);
		}
		if (r == 0)
			q_handoff_free(&h);
		ipc_msg_free(m);
	}
	test_end();
}

static void
test_author_and_system_owner(void)
{
	char	 longa[Q_AUTHOR_MAX + 2];

	test_begin("an author is none, an address or a domain; system mail "
	    "is the postmaster's domain's");
	test_assert(q_author_valid(""));
	test_assert(q_author_valid("alice@example.test"));
	test_assert(q_author_valid("example.test"));
	test_assert(!q_author_valid("alice@example.test bob"));
	test_assert(!q_author_valid("example.test\r\nx"));
	test_assert(!q_author_valid("exa_mple.test"));
	test_assert(!q_author_valid("[192.0.2.1]"));
	test_assert(!q_author_valid("@example.test"));
	memset(longa, 'a', sizeof(longa) - 1);
	longa[sizeof(longa) - 1] = '\0';
	memcpy(longa + sizeof(longa) - 14, "@example.test", 13);
	test_assert(!q_author_valid(longa));
	test_assert_str(q_system_owner("postmaster@example.test",
	    "mx.example.test"), "example.test");
	test_assert_str(q_system_owner(NULL, "mx.example.test"),
	    "mx.example.test");
	test_assert_str(q_system_owner("", "mx.example.test"),
	    "mx.example.test");
	test_end();
}

static void
test_answers(void)
{
	struct ipc_msg	*m;
	const char	*id = NULL, *text = NULL;
	int		 code = 0;

	test_begin("the queue's answer: committed with an ID, or refused");
	m = wire(q_handoff_ok(3, GOOD_ID));
	test_assert(q_handoff_answer(m, &id, &code, &text) == 1);
	test_assert_str(id, GOOD_ID);
	test_assert(m->id == 3);
	ipc_msg_free(m);

	m = wire(q_handoff_err(3, 452, "4.3.1 Queue full"));
	test_assert(q_handoff_answer(m, &id, &code, &text) == 0);
	test_assert(code == 452);
	test_assert_str(text, "4.3.1 Queue full");
	ipc_msg_free(m);

	/* a code no client can say is a temporary failure */
	m = wire(q_handoff_err(3, 250, "2.0.0 Sure"));
	test_assert(q_handoff_answer(m, &id, &code, &text) == 0);
	test_assert(code == 451);
	ipc_msg_free(m);

	m = wire(q_handoff_ok(3, "not-a-queue-id"));
	test_assert(q_handoff_answer(m, &id, &code, &text) == -1);
	ipc_msg_free(m);

	m = ipc_msg_new(IPC_QUEUE_DELIVERY_DONE, 3);
	ipc_add_str(m, GOOD_ID);
	m = wire(m);
	test_assert(q_handoff_answer(m, &id, &code, &text) == -1);
	ipc_msg_free(m);

	m = ipc_msg_new(IPC_ERR, 3);
	ipc_add_str(m, "no code");
	m = wire(m);
	test_assert(q_handoff_answer(m, &id, &code, &text) == -1);
	ipc_msg_free(m);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ids,
		test_addr_valid,
		test_roundtrip,
		test_requests,
		test_author_and_system_owner,
		test_answers,
		NULL
	};

	log_init("test-qhandoff", 1, LOG_LVL_ERR);
	return test_run(tests);
}
