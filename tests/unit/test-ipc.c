/*
 * test-ipc.c - message encoding, strict decoding, fd passing.
 */
#include <sys/socket.h>

#include <sys/mman.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "test.h"

static void
test_ipc_roundtrip_fields(void)
{
	struct ipc_msg *m, *d;
	struct buf wire;
	const char *s;
	const void *p;
	uint32_t u;
	uint64_t U;
	size_t	 n, used;

	test_begin("ipc fields round-trip through the wire format");
	m = ipc_msg_new(IPC_OK, 7);
	ipc_add_u32(m, 42);
	ipc_add_str(m, "alice@example.test");
	ipc_add_u64(m, 1ULL << 40);
	ipc_add_data(m, "a\0b", 3);
	buf_init(&wire, 0);
	ipc_encode(m, &wire);
	test_assert(ipc_decode((uint8_t *)wire.data, wire.len - 1, &d,
	    &used) == IPC_DECODE_MORE);
	test_assert(ipc_decode((uint8_t *)wire.data, wire.len, &d, &used) ==
	    IPC_DECODE_DONE);
	test_assert(used == wire.len);
	test_assert(d->type == IPC_OK && d->id == 7 && d->fd == -1);
	test_assert(ipc_get_str(d, &s) == -1);	/* wrong tag: u32 first */
	test_assert(ipc_get_u32(d, &u) == 0 && u == 42);
	test_assert(ipc_get_end(d) == -1);
	test_assert(ipc_get_str(d, &s) == 0);
	test_assert_str(s, "alice@example.test");
	test_assert(ipc_get_u64(d, &U) == 0 && U == 1ULL << 40);
	test_assert(ipc_get_data(d, &p, &n) == 0 && n == 3 &&
	    memcmp(p, "a\0b", 3) == 0);
	test_assert(ipc_get_end(d) == 0);
	test_assert(ipc_get_u32(d, &u) == -1);
	ipc_msg_free(m);
	ipc_msg_free(d);
	buf_free(&wire);
	test_end();
}

static void
test_ipc_rejects_malformed(void)
{
	static const uint8_t bad_type[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t huge[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0, 0, 0 };
	static const uint8_t torn[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3,
	    's', 0, 0 };
	static const uint8_t longstr[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 6,
	    's', 0xff, 0xff, 0xff, 0xff, 'x' };
	/* 4 + 0xffffffff + 1 is 4 in 32 bits: the whole frame, if it wrapped */
	static const uint8_t wrapped[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5,
	    's', 0xff, 0xff, 0xff, 0xff };
	static const uint8_t badtag[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
	    'z' };
	static const uint8_t nul_in_str[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	    8, 's', 0, 0, 0, 2, 'a', 0, 0 };
	struct ipc_msg *d;
	const char *s;
	size_t	 used;

	test_begin("ipc decoder rejects bad type, size, tags and torn fields");
	test_assert(ipc_decode(bad_type, sizeof(bad_type), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(huge, sizeof(huge), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(torn, sizeof(torn), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(longstr, sizeof(longstr), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(wrapped, sizeof(wrapped), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(badtag, sizeof(badtag), &d, &used) ==
	    IPC_DECODE_ERROR);
	test_assert(ipc_decode(nul_in_str, sizeof(nul_in_str), &d, &used) ==
	    IPC_DECODE_DONE);
	test_assert(ipc_get_str(d, &s) == -1);	/* NUL inside the string */
	ipc_msg_free(d);
	test_end();
}

static void
test_ipc_sync_passes_fd(void)
{
	struct ipc_msg *m, *r;
	const char *s;
	char	 got[6] = "";
	int	 sp[2], fd;

	test_begin("ipc passes a file descriptor with its message");
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	fd = memfd_create("t", 0);
	test_assert(write(fd, "hello", 5) == 5);
	m = ipc_msg_new(IPC_QUEUE_MESSAGE, 1);
	ipc_add_str(m, "env");
	ipc_msg_setfd(m, fd);
	test_assert(ipc_send_sync(sp[0], m) == 0);
	m = ipc_msg_new(IPC_OK, 2);
	test_assert(ipc_send_sync(sp[0], m) == 0);
	test_assert(ipc_recv_sync(sp[1], &r) == 0);
	test_assert(r->type == IPC_QUEUE_MESSAGE && r->fd >= 0);
	test_assert(ipc_get_str(r, &s) == 0);
	test_assert(pread(r->fd, got, 5, 0) == 5);
	test_assert_str(got, "hello");
	ipc_msg_free(r);
	test_assert(ipc_recv_sync(sp[1], &r) == 0);
	test_assert(r->type == IPC_OK && r->id == 2 && r->fd == -1);
	ipc_msg_free(r);
	close(sp[0]);
	test_assert(ipc_recv_sync(sp[1], &r) == -1);
	close(sp[1]);
	test_end();
}

static uint32_t async_got;

static void
async_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	uint32_t v;

	if (ipc_get_u32(m, &v) == 0 && v == async_got + 1 && m->fd != -1)
		async_got++;
	if (async_got == 100)
		event_base_loopexit(arg, NULL);
}

static void
test_ipc_async_many(void)
{
	struct event_base *base;
	struct ipc_conn *a, *b;
	struct ipc_msg *m;
	uint32_t i;
	int	 sp[2];

	test_begin("ipc event-driven connection delivers 100 messages in order");
	base = event_base_new();
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	a = ipc_conn_new(base, sp[0], async_dispatch, NULL, base);
	b = ipc_conn_new(base, sp[1], async_dispatch, NULL, base);
	for (i = 1; i <= 100; i++) {
		m = ipc_msg_new(IPC_OK, i);
		ipc_add_u32(m, i);
		ipc_msg_setfd(m, open("/dev/null", O_RDONLY));
		ipc_send(a, m);
	}
	event_base_dispatch(base);
	test_assert(async_got == 100);
	test_assert(ipc_conn_peer_uid(b) == getuid());
	ipc_conn_free(a);
	ipc_conn_free(b);
	event_base_free(base);
	test_end();
}

/*
 * Messages with and without descriptors, large enough that the socket
 * fills and writes are cut short: each arrives whole, in order, with its
 * own descriptor (a memfd holding its number) or none.
 */
#define MIXED_N		300
static uint32_t mixed_got;
static int	 mixed_bad;

static void
mixed_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	const void *p;
	uint32_t v, inside;
	size_t	 n, i;

	(void)c;
	if (ipc_get_u32(m, &v) == -1 || v != mixed_got + 1 ||
	    ipc_get_data(m, &p, &n) == -1 || n != (v % 7) * 9000 ||
	    (m->fd != -1) != (v % 3 == 0))
		mixed_bad++;
	for (i = 0; i < n; i++)
		if (((const uint8_t *)p)[i] != (uint8_t)v)
			mixed_bad++;
	if (m->fd != -1 && (pread(m->fd, &inside, sizeof(inside), 0) !=
	    sizeof(inside) || inside != v))
		mixed_bad++;
	if (++mixed_got == MIXED_N)
		event_base_loopexit(arg, NULL);
}

static void
test_ipc_async_mixed_fds_and_short_writes(void)
{
	struct event_base *base;
	struct ipc_conn *a, *b;
	struct ipc_msg *m;
	uint8_t	*big;
	uint32_t i;
	int	 sp[2], fd;

	test_begin("ipc event-driven connection: batched writes keep order, "
	    "payloads and descriptors through short writes");
	base = event_base_new();
	big = malloc(7 * 9000);
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	a = ipc_conn_new(base, sp[0], mixed_dispatch, NULL, base);
	b = ipc_conn_new(base, sp[1], mixed_dispatch, NULL, base);
	for (i = 1; i <= MIXED_N; i++) {
		m = ipc_msg_new(IPC_OK, i);
		ipc_add_u32(m, i);
		memset(big, (int)(uint8_t)i, (i % 7) * 9000);
		ipc_add_data(m, big, (i % 7) * 9000);
		if (i % 3 == 0) {
			fd = memfd_create("ipc-test", 0);
			test_assert(fd != -1 &&
			    write(fd, &i, sizeof(i)) == sizeof(i));
			ipc_msg_setfd(m, fd);
		}
		ipc_send(a, m);
	}
	event_base_dispatch(base);
	test_assert(mixed_got == MIXED_N);
	test_assert(mixed_bad == 0);
	free(big);
	ipc_conn_free(a);
	ipc_conn_free(b);
	event_base_free(base);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ipc_roundtrip_fields,
		test_ipc_rejects_malformed,
		test_ipc_sync_passes_fd,
		test_ipc_async_many,
		test_ipc_async_mixed_fds_and_short_writes,
		NULL
	};

	return test_run(tests);
}
