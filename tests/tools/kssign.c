/*
 * kssign.c - DKIM signing through a running keystore, from the command
 * line: what smtpd.queue will do with common/ks_client, for the
 * integration tests and the benchmark.  Built by "make check"; never
 * installed.
 *
 *	kssign -S SOCKET [-a rsa|ed25519|both] [-i ID] [-c CANON] [-t T]
 *	    [-x X] OWNER < message > signed
 *	kssign -S SOCKET -k OWNER		the owner's active keys
 *	kssign -S SOCKET -B SECONDS [-a rsa|ed25519] [-p DEPTH] OWNER
 *
 * Signing asks the keystore for the owner's keys (IPC_KS_GETKEYS), hashes
 * the message with common/dkim for each (d= and s= from the answer, so
 * they are in what is hashed), has the keystore sign each digest
 * (IPC_KS_SIGN) and writes the DKIM-Signature fields, RSA's first, then
 * the message unchanged.  -k prints "domain algorithm selector" lines.
 * -B signs the same digest for SECONDS with DEPTH requests in flight
 * (default 1) and prints signatures_per_sec=N.  Exit status: 0, 1 when
 * the keystore refused (530, 550 ...), 75 when it failed for now, 2 for
 * a usage error.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dkim.h"
#include "ks_client.h"
#include "log.h"
#include "xmalloc.h"

#define EX_TEMP		75

struct job {
	struct event_base *base;
	struct ks_client *ks;
	const char	*owner, *identity, *canon;
	int		 want_rsa, want_ed;
	uint64_t	 t, x;
	struct dkim_msg	*msg;
	struct buf	 text;		/* the message */
	uint8_t		 bh[DKIM_DIGEST_LEN];
	struct buf	 field[2];	/* 0 RSA, 1 Ed25519 */
	struct dkim_signer *signer[2];
	char		 sel[2][KS_SEL_LEN_MAX + 1];
	int		 outstanding;
	int		 status;	/* exit status */
	/* bench */
	double		 start, until;
	long		 done;
	int		 depth;
	enum dkim_alg	 balg;
	char		 bsel[KS_SEL_LEN_MAX + 1];
	uint8_t		 bdigest[DKIM_DIGEST_LEN];
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: kssign -S socket [-a rsa|ed25519|both] "
	    "[-i id] [-c canon] [-t t] [-x x] owner < message\n"
	    "       kssign -S socket -k owner\n"
	    "       kssign -S socket -B seconds [-a rsa|ed25519] "
	    "[-p depth] owner\n");
	exit(2);
}

static double
now_secs(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void
fail(struct job *j, enum ks_status st, const char *what, const char *why)
{
	fprintf(stderr, "kssign: %s: %s\n", what, why != NULL ? why : "?");
	if (j->status == 0)
		j->status = st == KS_TEMPFAIL ? EX_TEMP : 1;
	event_base_loopexit(j->base, NULL);
}

static int
slot(enum dkim_alg alg)
{
	return alg == DKIM_ALG_RSA_SHA256 ? 0 : 1;
}

static void
signed_cb(void *arg, enum ks_status st, const struct ks_signature *sig,
    const char *why)
{
	struct job	*j = arg;
	int		 i;

	if (st != KS_OK) {
		fail(j, st, "sign", why);
		return;
	}
	for (i = 0; i < 2 && strcmp(j->sel[i], sig->selector) != 0; i++)
		;
	if (i == 2 || dkim_sign_finish(j->signer[i], sig->b, sig->len,
	    &j->field[i]) == -1) {
		fail(j, KS_PERMFAIL, "sign", "not the signature asked for");
		return;
	}
	if (--j->outstanding == 0)
		event_base_loopexit(j->base, NULL);
}

static void
sign_one(struct job *j, const struct ks_keys *k, const struct ks_keyinfo *ki)
{
	struct dkim_sign_params	 p;
	uint8_t			 dg[DKIM_DIGEST_LEN];
	const char		*why;
	int			 s = slot(ki->alg);

	dkim_sign_params_init(&p);
	p.domain = k->domain;
	p.selector = ki->selector;
	p.identity = j->identity;
	p.alg = ki->alg;
	p.t = j->t;
	p.x = j->x;
	if (j->canon != NULL) {
		p.hcanon = strncmp(j->canon, "simple", 6) == 0 ?
		    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
		p.bcanon = strstr(j->canon, "/simple") != NULL ?
		    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	}
	if (dkim_sign_prepare(&p, dkim_msg_hdrs(j->msg), j->bh,
	    &j->signer[s], dg, &why) == -1) {
		fail(j, KS_PERMFAIL, "sign", why);
		return;
	}
	snprintf(j->sel[s], sizeof(j->sel[s]), "%s", ki->selector);
	j->outstanding++;
	if (ks_client_sign(j->ks, j->owner, ki->alg, ki->selector, dg,
	    signed_cb, j) == -1) {
		j->outstanding--;
		fail(j, KS_TEMPFAIL, "sign", "cannot reach the keystore");
	}
}

static void
keys_cb(void *arg, enum ks_status st, const struct ks_keys *k,
    const char *why)
{
	struct job	*j = arg;
	size_t		 i;

	if (st != KS_OK) {
		fail(j, st, "keys", why);
		return;
	}
	for (i = 0; i < k->n; i++)
		if ((k->key[i].alg == DKIM_ALG_RSA_SHA256 && j->want_rsa) ||
		    (k->key[i].alg == DKIM_ALG_ED25519_SHA256 && j->want_ed))
			sign_one(j, k, &k->key[i]);
	if (j->outstanding == 0 && j->status == 0)
		fail(j, KS_PERMFAIL, "keys", "no key of that algorithm");
}

static void
list_cb(void *arg, enum ks_status st, const struct ks_keys *k,
    const char *why)
{
	struct job	*j = arg;
	size_t		 i;

	if (st != KS_OK) {
		fail(j, st, "keys", why);
		return;
	}
	for (i = 0; i < k->n; i++)
		printf("%s %s %s\n", k->domain, dkim_alg_name(k->key[i].alg),
		    k->key[i].selector);
	event_base_loopexit(j->base, NULL);
}

static void	 bench_next(struct job *);

static void
bench_cb(void *arg, enum ks_status st, const struct ks_signature *sig,
    const char *why)
{
	struct job	*j = arg;

	(void)sig;
	if (st != KS_OK) {
		fail(j, st, "sign", why);
		return;
	}
	j->done++;
	if (now_secs() < j->until)
		bench_next(j);
	else if (ks_client_pending(j->ks) == 0)
		event_base_loopexit(j->base, NULL);
}

static void
bench_next(struct job *j)
{
	if (ks_client_sign(j->ks, j->owner, j->balg, j->bsel, j->bdigest,
	    bench_cb, j) == -1)
		fail(j, KS_TEMPFAIL, "sign", "cannot reach the keystore");
}

static void
bench_keys_cb(void *arg, enum ks_status st, const struct ks_keys *k,
    const char *why)
{
	struct job	*j = arg;
	size_t		 i;
	int		 n;

	if (st != KS_OK) {
		fail(j, st, "keys", why);
		return;
	}
	for (i = 0; i < k->n && k->key[i].alg != j->balg; i++)
		;
	if (i == k->n) {
		fail(j, KS_PERMFAIL, "keys", "no key of that algorithm");
		return;
	}
	snprintf(j->bsel, sizeof(j->bsel), "%s", k->key[i].selector);
	memset(j->bdigest, 0x5a, sizeof(j->bdigest));
	j->start = now_secs();
	j->until += j->start;
	for (n = 0; n < j->depth; n++)
		bench_next(j);
}

/* The message, kept to be written after the fields, and its hashes. */
static void
read_message(struct job *j)
{
	char	 chunk[65536];
	size_t	 n;

	buf_init(&j->text, 0);
	j->msg = dkim_msg_new(j->canon != NULL &&
	    strstr(j->canon, "/simple") != NULL ? DKIM_CANON_SIMPLE :
	    DKIM_CANON_RELAXED, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (dkim_msg_feed(j->msg, chunk, n) == -1)
			errx(1, "header too large");
		(void)buf_add(&j->text, chunk, n);
	}
	if (ferror(stdin) || dkim_msg_end(j->msg, j->bh) == -1)
		errx(1, "cannot read the message");
}

int
main(int argc, char **argv)
{
	struct job	 j;
	const char	*sock = NULL, *algs = "both";
	double		 bench = 0;
	int		 ch, list = 0;

	memset(&j, 0, sizeof(j));
	j.depth = 1;
	log_init("kssign", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "a:B:c:i:kp:S:t:x:")) != -1) {
		switch (ch) {
		case 'a':
			algs = optarg;
			break;
		case 'B':
			bench = atof(optarg);
			break;
		case 'c':
			j.canon = optarg;
			break;
		case 'i':
			j.identity = optarg;
			break;
		case 'k':
			list = 1;
			break;
		case 'p':
			j.depth = atoi(optarg);
			break;
		case 'S':
			sock = optarg;
			break;
		case 't':
			j.t = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			j.x = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || optind + 1 != argc || j.depth < 1 ||
	    j.depth > KS_CLIENT_INFLIGHT)
		usage();
	j.owner = argv[optind];
	j.want_rsa = strcmp(algs, "rsa") == 0 || strcmp(algs, "both") == 0;
	j.want_ed = strcmp(algs, "ed25519") == 0 || strcmp(algs, "both") == 0;
	if (!j.want_rsa && !j.want_ed)
		usage();
	j.base = event_base_new();
	j.ks = ks_client_new(j.base, sock);
	buf_init(&j.field[0], 0);
	buf_init(&j.field[1], 0);

	if (list) {
		if (ks_client_getkeys(j.ks, j.owner, list_cb, &j) == -1)
			fail(&j, KS_TEMPFAIL, "keys", "cannot reach the "
			    "keystore");
		else
			event_base_dispatch(j.base);
	} else if (bench > 0) {
		if (j.want_rsa && j.want_ed)
			usage();
		j.balg = j.want_rsa ? DKIM_ALG_RSA_SHA256 :
		    DKIM_ALG_ED25519_SHA256;
		j.until = bench;
		if (ks_client_getkeys(j.ks, j.owner, bench_keys_cb, &j) == -1)
			fail(&j, KS_TEMPFAIL, "keys", "cannot reach the "
			    "keystore");
		else
			event_base_dispatch(j.base);
		if (j.status == 0)
			printf("alg=%s depth=%d signatures=%ld "
			    "signatures_per_sec=%.1f\n",
			    dkim_alg_name(j.balg), j.depth, j.done,
			    j.done / (now_secs() - j.start));
	} else {
		read_message(&j);
		if (ks_client_getkeys(j.ks, j.owner, keys_cb, &j) == -1)
			fail(&j, KS_TEMPFAIL, "keys", "cannot reach the "
			    "keystore");
		else
			event_base_dispatch(j.base);
		if (j.status == 0) {
			printf("%s%s", buf_cstr(&j.field[0]),
			    buf_cstr(&j.field[1]));
			if (j.text.len > 0)
				fwrite(j.text.data, 1, j.text.len, stdout);
		}
		buf_free(&j.text);
		dkim_msg_free(j.msg);
	}
	dkim_signer_free(j.signer[0]);
	dkim_signer_free(j.signer[1]);
	buf_free(&j.field[0]);
	buf_free(&j.field[1]);
	ks_client_free(j.ks);
	event_base_free(j.base);
	return j.status;
}
