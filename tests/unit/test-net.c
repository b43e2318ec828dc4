/*
 * test-net.c - listening sockets, peer credentials, session limits.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "test.h"

static void
test_net_listen_connect(void)
{
	char	 addr[64], spec[64];
	int	 l, c, a, port;
	uid_t	 uid;
	pid_t	 pid;

	test_begin("net listens on loopback port 0 and reports the peer");
	l = net_listen("127.0.0.1:0", 8);
	test_assert(l >= 0);
	port = net_local_port(l);
	test_assert(port > 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c = net_connect(spec);
	test_assert(c >= 0);
	usleep(10000);
	a = accept(l, NULL, NULL);
	test_assert(a >= 0);
	test_assert(net_peer_str(a, addr, sizeof(addr)) == 0);
	test_assert_str(addr, "127.0.0.1");
	test_assert(net_listen("localhost:25", 8) == -1);	/* numeric only */
	close(a);
	close(c);
	close(l);
	(void)uid;
	(void)pid;
	test_end();
}

static void
test_net_unix_peercred(void)
{
	char	 path[] = "/tmp/sm-test-net-XXXXXX";
	char	 sock[128];
	int	 l, c, a;
	uid_t	 uid;
	pid_t	 pid;

	test_begin("net unix socket reports the peer's uid and pid");
	test_assert(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	l = net_unix_listen(sock, 0600, (uid_t)-1, (gid_t)-1);
	test_assert(l >= 0);
	c = net_unix_connect(sock);
	test_assert(c >= 0);
	usleep(10000);
	a = accept(l, NULL, NULL);
	test_assert(a >= 0);
	test_assert(net_peercred(a, &uid, &pid) == 0);
	test_assert(uid == getuid() && pid == getpid());
	close(a);
	close(c);
	close(l);
	unlink(sock);
	rmdir(path);
	test_end();
}

static void
test_net_limit(void)
{
	struct net_limit *l;

	test_begin("net_limit counts sessions per address and in total");
	l = net_limit_new(3, 2);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == 0);
	test_assert(net_limit_enter(l, "192.0.2.1") == -1);
	test_assert(net_limit_enter(l, "192.0.2.2") == 0);
	test_assert(net_limit_enter(l, "192.0.2.3") == -1);	/* total */
	net_limit_leave(l, "192.0.2.1");
	test_assert(net_limit_enter(l, "192.0.2.3") == 0);
	net_limit_free(l);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_net_listen_connect,
		test_net_unix_peercred,
		test_net_limit,
		NULL
	};

	return test_run(tests);
}
