/*
 * test-ks-client.c - common/ks_client against a scripted keystore (a
 * forked child on a unix socket): answers matched by id in any order,
 * errors turned into statuses, a refused uid, a keystore that goes away,
 * a client freed from its own callback, and malformed answers.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "ks_client.h"
#include "log.h"
#include "net.h"
#include "test.h"

enum script { NORMAL, REFUSE, DROP };

static char	 sockpath[64];

static void
reply_err(int fd, uint32_t id, uint32_t code, const char *why)
{
	struct ipc_msg	*r = ipc_msg_new(IPC_ERR, id);

	ipc_add_u32(r, code);
	ipc_add_str(r, why);
	ipc_send_sync(fd, r);
}

static void
answer(int fd, struct ipc_msg *m)
{
	struct ipc_msg	*r;
	const char	*owner, *alg, *sel;
	const void	*dg;
	uint8_t		 sig[64];
	size_t		 n;

	if (m->type == IPC_KS_GETKEYS) {
		r = ipc_msg_new(IPC_KS_KEYS, m->id);
		ipc_add_str(r, "example.test");
		ipc_add_u32(r, 2);
		ipc_add_str(r, "rsa-sha256");
		ipc_add_str(r, "srsa");
		ipc_add_str(r, "v=DKIM1; k=rsa; p=MIIB");
		ipc_add_str(r, "ed25519-sha256");
		ipc_add_str(r, "sed");
		ipc_add_str(r, "v=DKIM1; k=ed25519; p=11qY");
		ipc_send_sync(fd, r);
		return;
	}
	if (ipc_get_str(m, &owner) == -1 || ipc_get_str(m, &alg) == -1 ||
	    ipc_get_str(m, &sel) == -1 || ipc_get_data(m, &dg, &n) == -1 ||
	    n != 32)
		_exit(3);
	if (strcmp(sel, "srevoked") == 0) {
		reply_err(fd, m->id, 550, "key revoked");
		return;
	}
	if (strcmp(sel, "sbusy") == 0) {
		reply_err(fd, m->id, 451, "busy");
		return;
	}
	r = ipc_msg_new(IPC_KS_SIGNATURE, m->id);
	ipc_add_str(r, "example.test");
	if (strcmp(sel, "sbad") != 0) {		/* sbad: no selector */
		ipc_add_str(r, sel);
		memcpy(sig, dg, 32);
		memcpy(sig + 32, dg, 32);
		ipc_add_data(r, sig, sizeof(sig));
	}
	ipc_send_sync(fd, r);
}

/* The scripted keystore: NORMAL reads every request of a batch (up to
 * the first GETKEYS or 4 SIGNs) and answers them last first. */
static void __attribute__((noreturn))
keystore(int lfd, enum script s)
{
	struct ipc_msg	*batch[4];
	int		 fd, n, i;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(2);
	if (s == REFUSE) {
		reply_err(fd, 0, 530, "uid 1234 may not use the keystore");
		close(fd);
		_exit(0);
	}
	for (;;) {
		for (n = 0; n < 4; n++) {
			if (ipc_recv_sync(fd, &batch[n]) == -1)
				_exit(0);
			if (s == DROP)
				_exit(0);
			if (batch[n]->type == IPC_KS_GETKEYS ||
			    memmem(batch[n]->data.data, batch[n]->data.len,
			    "slast", 5) != NULL) {
				n++;
				break;
			}
		}
		for (i = n - 1; i >= 0; i--) {
			answer(fd, batch[i]);
			ipc_msg_free(batch[i]);
		}
	}
}

static pid_t
start(enum script s)
{
	pid_t	 pid;
	int	 lfd;

	snprintf(sockpath, sizeof(sockpath), "/tmp/test-ks-client.%d",
	    (int)getpid());
	if ((lfd = net_unix_listen(sockpath, 0600, (uid_t)-1, (gid_t)-1)) ==
	    -1) {
		perror(sockpath);
		exit(1);
	}
	if ((pid = fork()) == 0) {
		/* the scripted keystore blocks in accept */
		fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK);
		keystore(lfd, s);
	}
	close(lfd);
	return pid;
}

static void
stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(sockpath);
}

struct result {
	struct event_base *base;
	struct ks_client *ks;
	int		 calls;
	enum ks_status	 st[8];
	char		 why[8][128];
	char		 sel[8][600];
	uint8_t		 first[8];
	size_t		 len[8];
	int		 want;
	int		 free_in_cb;
};

static void
record(struct result *r, enum ks_status st, const char *why)
{
	if (r->calls < 8) {
		r->st[r->calls] = st;
		snprintf(r->why[r->calls], sizeof(r->why[0]), "%s",
		    why != NULL ? why : "");
	}
	r->calls++;
	if (r->calls == r->want)
		event_base_loopexit(r->base, NULL);
}

static void
keys_cb(void *arg, enum ks_status st, const struct ks_keys *k,
    const char *why)
{
	struct result	*r = arg;

	if (st == KS_OK && r->calls < 8)
		snprintf(r->sel[r->calls], sizeof(r->sel[0]),
		    "%s %zu %s %s / %.60s / %.60s", k->domain, k->n,
		    k->key[0].selector, k->key[1].selector, k->key[0].record,
		    k->key[1].record);
	record(r, st, why);
}

static void
sign_cb(void *arg, enum ks_status st, const struct ks_signature *s,
    const char *why)
{
	struct result	*r = arg;

	if (st == KS_OK && r->calls < 8) {
		snprintf(r->sel[r->calls], sizeof(r->sel[0]), "%s",
		    s->selector);
		r->first[r->calls] = s->b[0];
		r->len[r->calls] = s->len;
	}
	if (r->free_in_cb && r->calls == 0) {
		ks_client_free(r->ks);
		r->ks = NULL;
		event_base_loopexit(r->base, NULL);
	}
	record(r, st, why);
}

static void
run(struct result *r, int want)
{
	struct timeval	 tv = { 10, 0 };

	r->want = want;
	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
}

static void
setup(struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	r->ks = ks_client_new(r->base, sockpath);
}

static void
teardown(struct result *r)
{
	ks_client_free(r->ks);
	event_base_free(r->base);
}

static void
test_ks_client_keys_and_signatures_matched_by_id(void)
{
	struct result	 r;
	uint8_t		 dg[32];
	pid_t		 pid;
	int		 i;

	test_begin("ks_client: keys, then signatures answered out of order "
	    "reach the right callbacks");
	pid = start(NORMAL);
	setup(&r);
	test_assert(ks_client_getkeys(r.ks, "alice@example.test", keys_cb,
	    &r) == 0);
	run(&r, 1);
	test_assert(r.calls == 1 && r.st[0] == KS_OK);
	test_assert_str(r.sel[0], "example.test 2 srsa sed / "
	    "v=DKIM1; k=rsa; p=MIIB / v=DKIM1; k=ed25519; p=11qY");
	memset(&r.st, 0, sizeof(r.st));
	r.calls = 0;
	for (i = 0; i < 3; i++) {
		memset(dg, 'a' + i, sizeof(dg));
		test_assert(ks_client_sign(r.ks, "alice@example.test",
		    DKIM_ALG_ED25519_SHA256, i == 2 ? "slast" : "sed", dg,
		    sign_cb, &r) == 0);
	}
	test_assert(ks_client_pending(r.ks) == 3);
	run(&r, 3);
	test_assert(r.calls == 3);
	/* answered last first: the callbacks see c, b, a */
	for (i = 0; i < 3; i++) {
		test_assert(r.st[i] == KS_OK);
		test_assert(r.first[i] == 'c' - i);
		test_assert(r.len[i] == 64);
	}
	test_assert_str(r.sel[0], "slast");
	test_assert(ks_client_pending(r.ks) == 0);
	teardown(&r);
	stop(pid);
	test_end();
}

static void
test_ks_client_errors_become_statuses(void)
{
	struct result	 r;
	uint8_t		 dg[32] = { 0 };
	pid_t		 pid;

	test_begin("ks_client: 550 is a permanent failure, 451 a temporary "
	    "one, a malformed answer temporary");
	pid = start(NORMAL);
	setup(&r);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "srevoked", dg, sign_cb, &r) == 0);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "sbusy", dg, sign_cb, &r) == 0);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "sbad", dg, sign_cb, &r) == 0);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "slast", dg, sign_cb, &r) == 0);
	run(&r, 4);
	test_assert(r.calls == 4);
	test_assert(r.st[0] == KS_OK);
	test_assert(r.st[1] == KS_TEMPFAIL);
	test_assert_str(r.why[1], "malformed IPC_KS_SIGNATURE");
	test_assert(r.st[2] == KS_TEMPFAIL);
	test_assert_str(r.why[2], "busy");
	test_assert(r.st[3] == KS_PERMFAIL);
	test_assert_str(r.why[3], "key revoked");
	test_assert(ks_client_sign(r.ks, "a@example.test", DKIM_ALG_NONE,
	    "s", dg, sign_cb, &r) == -1);
	teardown(&r);
	stop(pid);
	test_end();
}

static void
test_ks_client_refused_uid_is_permanent(void)
{
	struct result	 r;
	pid_t		 pid;

	test_begin("ks_client: a keystore that refuses our uid fails the "
	    "request permanently, with its reason");
	pid = start(REFUSE);
	setup(&r);
	test_assert(ks_client_getkeys(r.ks, "a@example.test", keys_cb, &r) ==
	    0);
	run(&r, 1);
	test_assert(r.calls == 1 && r.st[0] == KS_PERMFAIL);
	test_assert_str(r.why[0], "uid 1234 may not use the keystore");
	teardown(&r);
	stop(pid);
	test_end();
}

static void
test_ks_client_keystore_gone_is_temporary(void)
{
	struct result	 r;
	uint8_t		 dg[32] = { 0 };
	pid_t		 pid;

	test_begin("ks_client: requests in flight when the keystore goes "
	    "fail for now; no keystore at all is -1");
	pid = start(DROP);
	setup(&r);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "srsa", dg, sign_cb, &r) == 0);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "srsa", dg, sign_cb, &r) == 0);
	run(&r, 2);
	test_assert(r.calls == 2);
	test_assert(r.st[0] == KS_TEMPFAIL && r.st[1] == KS_TEMPFAIL);
	stop(pid);
	test_assert(ks_client_getkeys(r.ks, "a@example.test", keys_cb, &r) ==
	    -1);
	teardown(&r);
	test_end();
}

static void
test_ks_client_freed_in_its_callback(void)
{
	struct result	 r;
	uint8_t		 dg[32] = { 0 };
	pid_t		 pid;

	test_begin("ks_client: freeing the client from a callback drops the "
	    "other answers safely");
	pid = start(NORMAL);
	setup(&r);
	r.free_in_cb = 1;
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "srsa", dg, sign_cb, &r) == 0);
	test_assert(ks_client_sign(r.ks, "a@example.test",
	    DKIM_ALG_RSA_SHA256, "slast", dg, sign_cb, &r) == 0);
	run(&r, 99);
	/* let the deferred free run */
	event_base_loop(r.base, EVLOOP_NONBLOCK);
	test_assert(r.calls == 1);
	test_assert(r.ks == NULL);
	event_base_free(r.base);
	stop(pid);
	test_end();
}

/* IPC_KS_KEYS answers, field by field: "a" alg, "s" selector, "r" record */
static const struct {
	const char	*name;
	const char	*domain;
	uint32_t	 n;
	const char	*f[7];		/* the key fields, NULL-terminated */
	int		 ok;
} keys_cases[] = {
	{ "one key with its record", "example.test", 1,
	    { "rsa-sha256", "srsa", "v=DKIM1; k=rsa; p=MIIB", NULL }, 1 },
	{ "two keys with their records", "example.test", 2,
	    { "rsa-sha256", "srsa", "v=DKIM1; k=rsa; p=MIIB",
	    "ed25519-sha256", "sed", "v=DKIM1; k=ed25519; p=11qY" }, 1 },
	{ "a key without its record (the old answer)", "example.test", 1,
	    { "rsa-sha256", "srsa", NULL }, 0 },
	{ "the second key without its record", "example.test", 2,
	    { "rsa-sha256", "srsa", "v=DKIM1; k=rsa; p=MIIB",
	    "ed25519-sha256", "sed", NULL }, 0 },
	{ "an empty record", "example.test", 1,
	    { "rsa-sha256", "srsa", "", NULL }, 0 },
	{ "a record over KS_RECORD_LEN_MAX", "example.test", 1,
	    { "rsa-sha256", "srsa", "LONG", NULL }, 0 },
	{ "a field after the last key", "example.test", 1,
	    { "rsa-sha256", "srsa", "v=DKIM1; k=rsa; p=MIIB", "x" }, 0 },
	{ "an unknown algorithm", "example.test", 1,
	    { "rsa-sha1", "srsa", "v=DKIM1; k=rsa; p=MIIB", NULL }, 0 },
	{ "no keys", "example.test", 0, { NULL }, 0 },
};

static void
test_ks_answer_keys_table(void)
{
	struct ks_keys	 k;
	struct ipc_msg	*m;
	char		 longrec[KS_RECORD_LEN_MAX + 2];
	const char	*why;
	size_t		 i, j;
	int		 ret;

	test_begin("ks_answer_keys: each key comes with its DNS record; an "
	    "answer without one is malformed");
	memset(longrec, 'A', sizeof(longrec) - 1);
	longrec[sizeof(longrec) - 1] = '\0';
	for (i = 0; i < sizeof(keys_cases) / sizeof(keys_cases[0]); i++) {
		m = ipc_msg_new(IPC_KS_KEYS, 1);
		ipc_add_str(m, keys_cases[i].domain);
		ipc_add_u32(m, keys_cases[i].n);
		for (j = 0; j < 7 && keys_cases[i].f[j] != NULL; j++)
			ipc_add_str(m, strcmp(keys_cases[i].f[j], "LONG") ==
			    0 ? longrec : keys_cases[i].f[j]);
		ret = ks_answer_keys(m, &k, &why);
		if ((ret == 0) != keys_cases[i].ok) {
			printf("  case \"%s\": %s\n", keys_cases[i].name,
			    ret == 0 ? "accepted" : "refused");
			test_assert(0);
		} else if (ret == 0) {
			test_assert(k.n == keys_cases[i].n);
			for (j = 0; j < k.n; j++)
				test_assert_str(k.key[j].record,
				    keys_cases[i].f[3 * j + 2]);
		} else
			test_assert_str(why, "malformed IPC_KS_KEYS");
		ipc_msg_free(m);
	}
	test_end();
}

int
main(void)
{
	static void (*const tests[])(void) = {
		test_ks_client_keys_and_signatures_matched_by_id,
		test_ks_client_errors_become_statuses,
		test_ks_client_refused_uid_is_permanent,
		test_ks_client_keystore_gone_is_temporary,
		test_ks_client_freed_in_its_callback,
		test_ks_answer_keys_table,
		NULL
	};

	log_init("test-ks-client", 1, LOG_LVL_ERR);
	signal(SIGPIPE, SIG_IGN);
	return test_run(tests);
}
