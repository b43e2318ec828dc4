/*
 * test-registry-ask.c - the receiver's registry question
 * (smtpd/registry_ask.c) answered over a real socketpair by the parent's
 * side (registry_ipc_answer on a real registry.db), both in one event
 * loop: listed, not listed, the callback never inside the ask, a
 * cancelled question never called back, several questions in flight.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "ipc.h"
#include "log.h"
#include "registry.h"
#include "registry_ask.h"
#include "test.h"

static char		 tmpdir[] = "/tmp/sm-test-regask.XXXXXX";
static struct db_env	*env;
static struct registry	*reg;
static struct event_base *base;
static struct ipc_conn	*parent_side, *receiver_side;

struct got {
	int		 calls;
	uint32_t	 status;
	size_t		 index;
	char		 name[REGISTRY_NAME_MAX + 1];
	char		 note[REGISTRY_NOTE_MAX + 1];
};

static void
parent_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	struct ipc_msg	*r;

	(void)arg;
	if (m->type != IPC_PARENT_REGISTRY ||
	    (r = registry_ipc_answer(reg, m)) == NULL) {
		printf("  parent: refused message %u\n", m->type);
		return;
	}
	ipc_send(c, r);
}

static void
receiver_dispatch(struct ipc_conn *c, struct ipc_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (m->type == IPC_RECEIVER_REGISTRY)
		rcv_registry_answer(m);
}

static void
closed(struct ipc_conn *c, void *arg)
{
	(void)c;
	(void)arg;
}

static void
done(uint32_t status, size_t index, const char *name, const char *note,
    void *arg)
{
	struct got	*g = arg;

	g->calls++;
	g->status = status;
	g->index = index;
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->note, sizeof(g->note), "%s", note);
}

/* Run the loop until every struct got has its call (or 5 s passed). */
static void
wait_for(struct got *g, size_t n)
{
	time_t	 until = time(NULL) + 5;
	size_t	 i, have;

	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		for (have = 0, i = 0; i < n; i++)
			have += g[i].calls > 0;
		usleep(1000);
	} while (have < n && time(NULL) < until);
}

static void
test_listed_and_not(void)
{
	const char	*listed[] = { "", "nobody.test", "mx1.isp-a.test" };
	const char	*none[] = { "nobody.test", "x_y.test" };
	struct got	 g[2];

	test_begin("ask: a listed parent domain answers, with its note");
	memset(g, 0, sizeof(g));
	test_assert(rcv_registry_ask(receiver_side, listed, 3, done,
	    &g[0]) != NULL);
	test_assert(rcv_registry_ask(receiver_side, none, 2, done,
	    &g[1]) != NULL);
	test_assert(g[0].calls == 0 && g[1].calls == 0);
	wait_for(g, 2);
	test_assert(g[0].calls == 1);
	test_assert(g[0].status == REGISTRY_ANS_LISTED);
	test_assert(g[0].index == 1);	/* the empty name was left out */
	test_assert_str(g[0].name, "isp-a.test");
	test_assert_str(g[0].note, "partner ISP");
	test_assert(g[1].calls == 1);
	test_assert(g[1].status == REGISTRY_ANS_NONE);
	test_assert_str(g[1].name, "");
	test_end();
}

static void
test_cancel_and_nothing_to_ask(void)
{
	const char		*names[] = { "isp-a.test" };
	const char		*empty[] = { "" };
	struct rcv_registry_ask	*a;
	struct got		 g[2];

	test_begin("ask: a cancelled question is never answered to anyone");
	memset(g, 0, sizeof(g));
	a = rcv_registry_ask(receiver_side, names, 1, done, &g[0]);
	test_assert(a != NULL);
	rcv_registry_cancel(a);
	test_assert(rcv_registry_ask(receiver_side, names, 1, done,
	    &g[1]) != NULL);
	wait_for(&g[1], 1);
	test_assert(g[0].calls == 0);
	test_assert(g[1].calls == 1 && g[1].status == REGISTRY_ANS_LISTED);
	test_assert(rcv_registry_ask(receiver_side, empty, 1, done,
	    &g[0]) == NULL);
	test_assert(rcv_registry_ask(receiver_side, names, 0, done,
	    &g[0]) == NULL);
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_listed_and_not,
		test_cancel_and_nothing_to_ask,
		NULL
	};
	char	 err[256];
	int	 sp[2], r;

	log_init("test-registry-ask", 1, LOG_LVL_ERR);
	if (mkdtemp(tmpdir) == NULL || (env = db_env_open(tmpdir)) == NULL ||
	    (reg = registry_open(env)) == NULL ||
	    registry_add(reg, "isp-a.test", "partner ISP", 0, time(NULL), err,
	    sizeof(err)) != REG_OK ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	base = event_base_new();
	parent_side = ipc_conn_new(base, sp[0], parent_dispatch, closed, NULL);
	receiver_side = ipc_conn_new(base, sp[1], receiver_dispatch, closed,
	    NULL);
	r = test_run(tests);
	ipc_conn_free(receiver_side);
	ipc_conn_free(parent_side);
	event_base_free(base);
	registry_close(reg);
	db_env_close(env);
	test_rmtree(tmpdir);
	return r;
}
