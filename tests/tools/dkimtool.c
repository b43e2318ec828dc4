/*
 * dkimtool.c - common/dkim from the command line, for the interoperability
 * tests and the benchmark.  Built by "make check"; never installed.
 *
 *	dkimtool sign -k KEY.pem -d DOMAIN -s SELECTOR [-i ID] [-c CANON]
 *	    [-t T] [-x X] [-b CHUNK] < message > signed
 *	dkimtool verify [-K KEYS] [-n NOW] [-b CHUNK] < message
 *	dkimtool record -k KEY.pem
 *	dkimtool bench -k KEY.pem [-n SECONDS]
 *
 * sign writes the DKIM-Signature field and then the message unchanged; the
 * private key is read here and used only through dkim_digest_sign(), as
 * the keystore will.  verify prints one Authentication-Results clause per
 * signature; KEYS has lines "NAME RECORD" (NAME is selector._domainkey.
 * domain, RECORD a key record or the word TEMPFAIL); a name not listed has
 * no key.  record prints the key record to publish.  bench prints
 * signatures and verifications per second with dkim_digest_sign() and the
 * verifier's dkim_digest_verify(), and whole 5 KB messages verified per
 * second (header split, both hashes, key record parse, signature check).
 * The message is fed in CHUNK-byte pieces (default 4096) to exercise the
 * streaming.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "dkim.h"
#include "dkim_int.h"
#include "xmalloc.h"

struct opts {
	const char	*key, *keys, *domain, *selector, *identity, *canon;
	uint64_t	 t, x, now;
	size_t		 chunk;
};

static void
usage(void)
{
	fprintf(stderr, "usage: dkimtool sign -k key -d domain -s selector "
	    "[-i id] [-c canon] [-t t] [-x x] [-b chunk]\n"
	    "       dkimtool verify [-K keys] [-n now] [-b chunk]\n"
	    "       dkimtool record -k key\n"
	    "       dkimtool bench -k key [-n seconds]\n");
	exit(2);
}

static void
read_all(FILE *fp, struct buf *b)
{
	char	 tmp[65536];
	size_t	 n;

	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		(void)buf_add(b, tmp, n);
	if (ferror(fp))
		err(1, "read");
}

static EVP_PKEY *
load_key(const char *path)
{
	EVP_PKEY	*pk;
	FILE		*fp;

	if (path == NULL)
		usage();
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pk == NULL)
		errx(1, "%s: not a PEM private key", path);
	return pk;
}

static int
canon_opt(const char *s, struct dkim_sign_params *p)
{
	const char	*slash = strchr(s, '/');

	p->hcanon = strncmp(s, "relaxed", 7) == 0 ? DKIM_CANON_RELAXED :
	    DKIM_CANON_SIMPLE;
	p->bcanon = slash != NULL && strcmp(slash + 1, "relaxed") == 0 ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	return 0;
}

static int
cmd_sign(const struct opts *o)
{
	struct dkim_sign_params	 p;
	struct dkim_signer	*s;
	struct dkim_msg		*m;
	struct buf		 msg, out;
	EVP_PKEY		*pk = load_key(o->key);
	uint8_t			 bh[DKIM_DIGEST_LEN], dg[DKIM_DIGEST_LEN];
	uint8_t			 sig[DKIM_SIGBYTES_MAX];
	size_t			 off, n, siglen = sizeof(sig);
	const char		*why;

	dkim_sign_params_init(&p);
	p.domain = o->domain;
	p.selector = o->selector;
	p.identity = o->identity;
	p.alg = dkim_pkey_alg(pk);
	p.t = o->t;
	p.x = o->x;
	if (o->canon != NULL)
		canon_opt(o->canon, &p);
	buf_init(&msg, 0);
	read_all(stdin, &msg);
	m = dkim_msg_new(p.bcanon, 0);
	for (off = 0; off < msg.len; off += n) {
		n = msg.len - off < o->chunk ? msg.len - off : o->chunk;
		if (dkim_msg_feed(m, msg.data + off, n) == -1)
			errx(1, "header too large");
	}
	if (dkim_msg_end(m, bh) == -1)
		errx(1, "header too large");
	if (dkim_sign_prepare(&p, dkim_msg_hdrs(m), bh, &s, dg, &why) == -1)
		errx(1, "sign: %s", why);
	if (dkim_digest_sign(pk, p.alg, dg, sig, &siglen) == -1)
		errx(1, "sign: the key cannot sign");
	buf_init(&out, 0);
	if (dkim_sign_finish(s, sig, siglen, &out) == -1)
		errx(1, "sign: bad signature length");
	fwrite(out.data, 1, out.len, stdout);
	fwrite(msg.data, 1, msg.len, stdout);
	dkim_signer_free(s);
	dkim_msg_free(m);
	EVP_PKEY_free(pk);
	buf_free(&msg);
	buf_free(&out);
	return 0;
}

/* The KEYS file: "name record" lines. */
static enum dkim_keyq
key_lookup(const char *domain, const char *selector, struct buf *rec,
    void *arg)
{
	const char	*path = arg;
	struct buf	 want;
	char		*line = NULL, *p;
	size_t		 cap = 0;
	enum dkim_keyq	 q = DKIM_KEYQ_NONE;
	FILE		*fp;

	if (path == NULL || (fp = fopen(path, "r")) == NULL)
		return DKIM_KEYQ_NONE;
	buf_init(&want, 0);
	(void)dkim_key_qname(domain, selector, &want);
	while (getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((p = strpbrk(line, " \t")) == NULL)
			continue;
		*p++ = '\0';
		if (strcasecmp(line, want.data) != 0)
			continue;
		q = strcmp(p, "TEMPFAIL") == 0 ? DKIM_KEYQ_TEMPFAIL :
		    DKIM_KEYQ_FOUND;
		if (q == DKIM_KEYQ_FOUND && buf_addstr(rec, p) == -1)
			q = DKIM_KEYQ_NONE;
		break;
	}
	free(line);
	fclose(fp);
	buf_free(&want);
	return q;
}

static int
cmd_verify(const struct opts *o)
{
	struct dkim_verify_opts	 vo;
	struct dkim_verify	*v;
	struct buf		 msg, line;
	size_t			 i, n, off;

	memset(&vo, 0, sizeof(vo));
	vo.now = (time_t)o->now;
	v = dkim_verify_new(&vo);
	buf_init(&msg, 0);
	read_all(stdin, &msg);
	for (off = 0; off < msg.len; off += n) {
		n = msg.len - off < o->chunk ? msg.len - off : o->chunk;
		(void)dkim_verify_feed(v, msg.data + off, n);
	}
	n = dkim_verify_finish(v, key_lookup, (void *)o->keys);
	buf_init(&line, 0);
	for (i = 0; i < n; i++) {
		buf_reset(&line);
		dkim_result_format(dkim_verify_result(v, i), &line);
		printf("%s\n", line.data);
	}
	if (n == 0)
		printf("dkim=none\n");
	buf_free(&line);
	buf_free(&msg);
	dkim_verify_free(v);
	return 0;
}

static int
cmd_record(const struct opts *o)
{
	EVP_PKEY	*pk = load_key(o->key);
	struct buf	 b;

	buf_init(&b, 0);
	if (dkim_pkey_record(pk, &b) == -1)
		errx(1, "%s: not a DKIM key (RSA of 1024 bits or more, "
		    "or Ed25519)", o->key);
	printf("%s\n", b.data);
	buf_free(&b);
	EVP_PKEY_free(pk);
	return 0;
}

static double
now_secs(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A 5 KB message: text lines, signed once for the verify loop. */
static void
bench_message(EVP_PKEY *pk, struct buf *signed_msg)
{
	struct dkim_sign_params	 p;
	struct dkim_signer	*s;
	struct dkim_msg		*m;
	struct buf		 msg;
	uint8_t			 bh[DKIM_DIGEST_LEN], dg[DKIM_DIGEST_LEN];
	uint8_t			 sig[DKIM_SIGBYTES_MAX];
	size_t			 siglen = sizeof(sig);
	const char		*why;
	int			 i;

	buf_init(&msg, 0);
	(void)buf_addstr(&msg, "From: Alice <alice@example.test>\r\n"
	    "To: bob@example.net\r\nSubject: benchmark\r\n"
	    "Date: Tue, 14 Nov 2023 10:00:00 +0000\r\n"
	    "Message-ID: <bench@example.test>\r\n\r\n");
	for (i = 0; i < 70; i++)
		(void)buf_printf(&msg, "line %02d of the benchmark message, "
		    "some text to hash  \r\n", i);
	dkim_sign_params_init(&p);
	p.domain = "example.test";
	p.selector = "bench";
	p.alg = dkim_pkey_alg(pk);
	m = dkim_msg_new(p.bcanon, 0);
	(void)dkim_msg_feed(m, msg.data, msg.len);
	(void)dkim_msg_end(m, bh);
	if (dkim_sign_prepare(&p, dkim_msg_hdrs(m), bh, &s, dg, &why) == -1 ||
	    dkim_digest_sign(pk, p.alg, dg, sig, &siglen) == -1 ||
	    dkim_sign_finish(s, sig, siglen, signed_msg) == -1)
		errx(1, "bench: signing failed");
	(void)buf_add(signed_msg, msg.data, msg.len);
	dkim_signer_free(s);
	dkim_msg_free(m);
	buf_free(&msg);
}

static enum dkim_keyq
bench_key(const char *domain, const char *selector, struct buf *rec,
    void *arg)
{
	(void)buf_addstr(rec, arg);
	return DKIM_KEYQ_FOUND;
}

/* Whole-message verifications per second: parse, hash, key, check. */
static double
bench_verify_message(EVP_PKEY *pk, double secs)
{
	struct dkim_verify	*v;
	struct buf		 m, rec;
	unsigned long		 n;
	double			 t0;

	buf_init(&m, 0);
	buf_init(&rec, 0);
	bench_message(pk, &m);
	(void)dkim_pkey_record(pk, &rec);
	for (t0 = now_secs(), n = 0; now_secs() - t0 < secs; n++) {
		v = dkim_verify_new(NULL);
		(void)dkim_verify_feed(v, m.data, m.len);
		if (dkim_verify_finish(v, bench_key, rec.data) != 1 ||
		    dkim_verify_result(v, 0)->status != DKIM_PASS)
			errx(1, "bench: message does not verify");
		dkim_verify_free(v);
	}
	buf_free(&m);
	buf_free(&rec);
	return n / (now_secs() - t0);
}

static int
cmd_bench(const struct opts *o)
{
	EVP_PKEY	*pk = load_key(o->key);
	enum dkim_alg	 alg = dkim_pkey_alg(pk);
	uint8_t		 dg[DKIM_DIGEST_LEN], sig[DKIM_SIGBYTES_MAX];
	size_t		 siglen;
	double		 t0, secs = o->now ? (double)o->now : 3.0;
	unsigned long	 ns = 0, nv = 0;

	memset(dg, 0x5a, sizeof(dg));
	for (t0 = now_secs(); now_secs() - t0 < secs; ns++) {
		siglen = sizeof(sig);
		if (dkim_digest_sign(pk, alg, dg, sig, &siglen) == -1)
			errx(1, "sign failed");
	}
	printf("alg=%s sign_per_sec=%.1f\n", dkim_alg_name(alg),
	    ns / (now_secs() - t0));
	for (t0 = now_secs(); now_secs() - t0 < secs; nv++)
		if (!dkim_digest_verify(pk, alg, dg, sig, siglen))
			errx(1, "verify failed");
	printf("alg=%s verify_per_sec=%.1f\n", dkim_alg_name(alg),
	    nv / (now_secs() - t0));
	printf("alg=%s message_verify_per_sec=%.1f\n", dkim_alg_name(alg),
	    bench_verify_message(pk, secs));
	EVP_PKEY_free(pk);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts	 o;
	const char	*cmd;
	int		 ch;

	if (argc < 2)
		usage();
	cmd = argv[1];
	memset(&o, 0, sizeof(o));
	o.chunk = 4096;
	optind = 2;
	while ((ch = getopt(argc, argv, "b:c:d:i:K:k:n:s:t:x:")) != -1) {
		switch (ch) {
		case 'b':
			o.chunk = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o.canon = optarg;
			break;
		case 'd':
			o.domain = optarg;
			break;
		case 'i':
			o.identity = optarg;
			break;
		case 'K':
			o.keys = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'n':
			o.now = strtoull(optarg, NULL, 10);
			break;
		case 's':
			o.selector = optarg;
			break;
		case 't':
			o.t = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			o.x = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (o.chunk == 0)
		usage();
	if (strcmp(cmd, "sign") == 0)
		return cmd_sign(&o);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(&o);
	if (strcmp(cmd, "record") == 0)
		return cmd_record(&o);
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(&o);
	usage();
}
