/*
 * test-submit-peer.c - the client address submitd's parent reads from a
 * socket submitd.smtp passes it (submitd/peer.c): the real peer of a
 * connection accepted on a listener, and nothing else believed.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "test.h"

/* A TCP listener on addr (port 0: any); its port in *port. */
static int
listener(const char *addr, int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int	 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(*port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1)
		return -1;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A connection from src to 127.0.0.1:port; the client end. */
static int
connect_from(const char *src, int port)
{
	struct sockaddr_in sin;
	int	 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return -1;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return -1;
	return fd;
}

static void
test_the_peer_of_an_accepted_connection(void)
{
	struct peer_listeners pl;
	const char *why = NULL;
	char	 addr[64];
	int	 l, c, a, port = 0;

	test_begin("the address of a connection accepted on a listener is "
	    "its real peer");
	memset(&pl, 0, sizeof(pl));
	test_assert((l = listener("127.0.0.1", &port)) != -1);
	test_assert(peer_listeners_add(&pl, l) == 0);
	test_assert((c = connect_from("127.0.0.2", port)) != -1);
	test_assert((a = accept(l, NULL, NULL)) != -1);
	test_assert(peer_client(&pl, a, addr, sizeof(addr), &why) == 0);
	test_assert_str(addr, "127.0.0.2");
	close(a);
	close(c);
	close(l);
	test_end();
}

static void
test_a_wildcard_listener_matches_any_local_address(void)
{
	struct peer_listeners pl;
	const char *why = NULL;
	char	 addr[64];
	int	 l, c, a, port = 0;

	test_begin("a listener on 0.0.0.0 takes connections to any address");
	memset(&pl, 0, sizeof(pl));
	test_assert((l = listener("0.0.0.0", &port)) != -1);
	test_assert(peer_listeners_add(&pl, l) == 0);
	test_assert((c = connect_from("127.0.0.3", port)) != -1);
	test_assert((a = accept(l, NULL, NULL)) != -1);
	test_assert(peer_client(&pl, a, addr, sizeof(addr), &why) == 0);
	test_assert_str(addr, "127.0.0.3");
	close(a);
	close(c);
	close(l);
	test_end();
}

static void
test_sockets_not_accepted_on_a_listener_are_refused(void)
{
	struct peer_listeners pl;
	const char *why;
	char	 addr[64];
	int	 l, other, c, a, sp[2], pp[2], port = 0, oport = 0;

	test_begin("a socket the child made itself, a listener, a unix "
	    "socket or a pipe is refused");
	memset(&pl, 0, sizeof(pl));
	test_assert((l = listener("127.0.0.1", &port)) != -1);
	test_assert(peer_listeners_add(&pl, l) == 0);
	test_assert((other = listener("127.0.0.1", &oport)) != -1);

	/* the client end of a connection the child opened: local port is
	 * not ours, its "peer" is whatever it connected to */
	test_assert((c = connect_from("127.0.0.4", port)) != -1);
	why = NULL;
	test_assert(peer_client(&pl, c, addr, sizeof(addr), &why) == -1);
	test_assert(why != NULL);
	a = accept(l, NULL, NULL);
	close(a);
	close(c);

	/* a connection accepted on some other listener */
	test_assert((c = connect_from("127.0.0.5", oport)) != -1);
	test_assert((a = accept(other, NULL, NULL)) != -1);
	why = NULL;
	test_assert(peer_client(&pl, a, addr, sizeof(addr), &why) == -1);
	test_assert(why != NULL);
	close(a);
	close(c);

	/* the listener itself */
	why = NULL;
	test_assert(peer_client(&pl, l, addr, sizeof(addr), &why) == -1);
	test_assert(why != NULL);

	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	why = NULL;
	test_assert(peer_client(&pl, sp[0], addr, sizeof(addr), &why) == -1);
	test_assert(why != NULL);
	close(sp[0]);
	close(sp[1]);

	test_assert(pipe(pp) == 0);
	why = NULL;
	test_assert(peer_client(&pl, pp[0], addr, sizeof(addr), &why) == -1);
	test_assert(why != NULL);
	close(pp[0]);
	close(pp[1]);
	close(other);
	close(l);
	test_end();
}

static void
test_a_client_gone_before_the_look_has_no_address(void)
{
	struct peer_listeners pl;
	struct linger lg = { 1, 0 };
	const char *why = NULL;
	char	 addr[64] = "x";
	int	 l, c, a, port = 0;

	test_begin("a connection reset before the parent looked has no "
	    "address (and is not a misbehaving child)");
	memset(&pl, 0, sizeof(pl));
	test_assert((l = listener("127.0.0.1", &port)) != -1);
	test_assert(peer_listeners_add(&pl, l) == 0);
	test_assert((c = connect_from("127.0.0.6", port)) != -1);
	test_assert((a = accept(l, NULL, NULL)) != -1);
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);		/* RST */
	usleep(50000);
	test_assert(peer_client(&pl, a, addr, sizeof(addr), &why) == 0);
	test_assert_str(addr, "");
	close(a);
	close(l);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_the_peer_of_an_accepted_connection,
		test_a_wildcard_listener_matches_any_local_address,
		test_sockets_not_accepted_on_a_listener_are_refused,
		test_a_client_gone_before_the_look_has_no_address,
		NULL
	};

	return test_run(tests);
}
