/*
 * test-tls.c - common/tls: contexts, implicit TLS and STARTTLS over a
 * socketpair, with a certificate made by openssl(1) in a temporary
 * directory.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "tls.h"
#include "test.h"

static char	 tmpdir[] = "/tmp/sm-test-tls.XXXXXX";
static char	 cert[256], key[256];

struct peer {
	int		 connected;
	int		 failed;
	struct evbuffer	*got;
};

static void
make_cert(void)
{
	char	 cmd[1024];

	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
	    "/CN=localhost -addext subjectAltName=DNS:localhost "
	    "-keyout %s -out %s 2>/dev/null", key, cert);
	if (system(cmd) != 0)
		fatalx("openssl req failed");
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	struct peer	*p = arg;

	evbuffer_add_buffer(p->got, bufferevent_get_input(bev));
	event_base_loopbreak(bufferevent_get_base(bev));
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct peer	*p = arg;

	if (what & BEV_EVENT_CONNECTED)
		p->connected = 1;
	else if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		p->failed = 1;
	if (p->connected || p->failed)
		event_base_loopbreak(bufferevent_get_base(bev));
}

static void
run_until(struct event_base *base, int *a, int *b)
{
	int	 i;

	for (i = 0; i < 200 && !(*a && *b); i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
test_server_ctx_refuses_missing_key(void)
{
	char	 err[256];

	test_begin("tls_server_ctx names the file it cannot load");
	test_assert(tls_server_ctx(cert, "/nonexistent/key.pem", NULL, err,
	    sizeof(err)) == NULL);
	test_assert(strstr(err, "/nonexistent/key.pem") != NULL);
	test_end();
}

static void
test_implicit_tls_roundtrip(void)
{
	struct event_base	*base;
	struct bufferevent	*sb, *cb;
	struct peer		 sp = { 0 }, cp = { 0 };
	SSL_CTX			*sctx, *cctx;
	char			 err[256], proto[32], cipher[64];
	int			 sv[2];

	test_begin("implicit TLS: handshake, verified name, data, info");
	base = event_base_new();
	sctx = tls_server_ctx(cert, key, NULL, err, sizeof(err));
	cctx = tls_client_ctx(cert, 1, err, sizeof(err));
	test_assert(sctx != NULL && cctx != NULL);
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	sp.got = evbuffer_new();
	cp.got = evbuffer_new();
	sb = tls_accept(base, sctx, sv[0]);
	cb = tls_connect(base, cctx, sv[1], "localhost");
	test_assert(sb != NULL && cb != NULL);
	bufferevent_setcb(sb, readcb, NULL, eventcb, &sp);
	bufferevent_setcb(cb, readcb, NULL, eventcb, &cp);
	bufferevent_enable(sb, EV_READ | EV_WRITE);
	bufferevent_enable(cb, EV_READ | EV_WRITE);
	run_until(base, &sp.connected, &cp.connected);
	test_assert(sp.connected && cp.connected);
	test_assert(tls_is_tls(sb));
	test_assert(tls_info(sb, proto, sizeof(proto), cipher,
	    sizeof(cipher)) == 0);
	test_assert(strncmp(proto, "TLSv1.", 6) == 0);
	test_assert(strcmp(proto, "TLSv1.1") != 0);
	test_assert(cipher[0] != '\0');
	bufferevent_write(cb, "hello\r\n", 7);
	while (evbuffer_get_length(sp.got) < 7 && !sp.failed)
		event_base_loop(base, EVLOOP_ONCE);
	test_assert(evbuffer_get_length(sp.got) == 7);
	bufferevent_free(sb);
	bufferevent_free(cb);
	evbuffer_free(sp.got);
	evbuffer_free(cp.got);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	event_base_free(base);
	test_end();
}

static void
test_wrong_name_fails(void)
{
	struct event_base	*base;
	struct bufferevent	*sb, *cb;
	struct peer		 sp = { 0 }, cp = { 0 };
	SSL_CTX			*sctx, *cctx;
	char			 err[256];
	int			 sv[2];

	test_begin("client with verify refuses a certificate for another name");
	base = event_base_new();
	sctx = tls_server_ctx(cert, key, NULL, err, sizeof(err));
	cctx = tls_client_ctx(cert, 1, err, sizeof(err));
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	sb = tls_accept(base, sctx, sv[0]);
	cb = tls_connect(base, cctx, sv[1], "mx.example.org");
	bufferevent_setcb(sb, NULL, NULL, eventcb, &sp);
	bufferevent_setcb(cb, NULL, NULL, eventcb, &cp);
	bufferevent_enable(sb, EV_READ | EV_WRITE);
	bufferevent_enable(cb, EV_READ | EV_WRITE);
	run_until(base, &cp.failed, &cp.failed);
	test_assert(cp.failed && !cp.connected);
	bufferevent_free(sb);
	bufferevent_free(cb);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	event_base_free(base);
	test_end();
}

static void
test_starttls_drops_pipelined_plaintext(void)
{
	struct event_base	*base;
	struct bufferevent	*plain, *sb, *cb;
	struct peer		 sp = { 0 }, cp = { 0 };
	SSL_CTX			*sctx, *cctx;
	char			 err[256];
	int			 sv[2];
	const char		 inj[] = "STARTTLS\r\nRSET\r\n";

	test_begin("STARTTLS upgrade discards plaintext buffered before it");
	base = event_base_new();
	sctx = tls_server_ctx(cert, key, NULL, err, sizeof(err));
	cctx = tls_client_ctx(cert, 1, err, sizeof(err));
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* the attacker's pipelined plaintext arrives before the upgrade */
	test_assert(write(sv[1], inj, sizeof(inj) - 1) ==
	    (ssize_t)sizeof(inj) - 1);
	sp.got = evbuffer_new();
	cp.got = evbuffer_new();
	evutil_make_socket_nonblocking(sv[0]);
	plain = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(plain, readcb, NULL, NULL, &sp);
	bufferevent_enable(plain, EV_READ);
	event_base_loop(base, EVLOOP_ONCE);
	/* the engine consumed the STARTTLS line, RSET is still buffered */
	evbuffer_drain(sp.got, evbuffer_get_length(sp.got));
	evbuffer_add(bufferevent_get_input(plain), "RSET\r\n", 6);
	bufferevent_write(plain, "220 go\r\n", 8);
	sb = tls_starttls(plain, sctx, 1, NULL);
	test_assert(sb != NULL);
	test_assert(evbuffer_get_length(bufferevent_get_input(plain)) == 0);
	bufferevent_setcb(sb, readcb, NULL, eventcb, &sp);
	bufferevent_enable(sb, EV_READ | EV_WRITE);
	{
		char	 line[9];

		/* the client reads the 220 in the clear, then upgrades */
		event_base_loop(base, EVLOOP_NONBLOCK);
		test_assert(read(sv[1], line, 8) == 8);
		test_assert(memcmp(line, "220 go\r\n", 8) == 0);
	}
	cb = tls_connect(base, cctx, sv[1], "localhost");
	bufferevent_setcb(cb, readcb, NULL, eventcb, &cp);
	bufferevent_enable(cb, EV_READ | EV_WRITE);
	run_until(base, &sp.connected, &cp.connected);
	test_assert(sp.connected && cp.connected);
	test_assert(evbuffer_get_length(sp.got) == 0);
	bufferevent_write(cb, "EHLO x\r\n", 8);
	while (evbuffer_get_length(sp.got) < 8 && !sp.failed)
		event_base_loop(base, EVLOOP_ONCE);
	test_assert(evbuffer_get_length(sp.got) == 8 &&
	    memcmp(evbuffer_pullup(sp.got, 8), "EHLO x\r\n", 8) == 0);
	bufferevent_free(sb);
	bufferevent_free(cb);
	evbuffer_free(sp.got);
	evbuffer_free(cp.got);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	event_base_free(base);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_server_ctx_refuses_missing_key,
		test_implicit_tls_roundtrip,
		test_wrong_name_fails,
		test_starttls_drops_pipelined_plaintext,
		NULL
	};
	char	 cmd[300];
	int	 rc;

	log_init("test-tls", 1, LOG_LVL_WARN);
	make_cert();
	rc = test_run(tests);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
