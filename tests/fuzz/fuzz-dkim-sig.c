/*
 * fuzz-dkim-sig.c - libFuzzer target for the DKIM-Signature parser
 * (common/dkim_sig.c, dkim_tag.c) and, behind it, the verifier: each input
 * is parsed as a signature field's value, then verified as the signature
 * of a small message against a fixed Ed25519 key, so the b= offsets, the
 * header selection and the body hashers run on whatever the parser took.
 * Checks what an accepted signature promises its users, and reads the
 * signer's own tag sealmail_id= with dkim_sig_tag_value().
 *
 *	./sealmail.sh fuzz	(builds it with the line in fuzz_sources)
 *	tests/fuzz/bin/fuzz-dkim-sig tests/fuzz/corpus/dkim-sig
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TAGVAL_MAX	32

static const char key[] =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static enum dkim_keyq
key_cb(const char *domain, const char *selector, struct buf *rec, void *arg)
{
	(void)buf_addstr(rec, key);
	return DKIM_KEYQ_FOUND;
}

static void
check_sig(const struct dkim_sig *s, size_t n)
{
	size_t	 i;
	int	 from = 0;

	if (s->alg != DKIM_ALG_RSA_SHA256 && s->alg != DKIM_ALG_ED25519_SHA256)
		abort();
	if (s->domain[0] == '\0' || s->selector[0] == '\0' ||
	    strchr(s->identity, '@') == NULL)
		abort();
	if (s->nhnames == 0 || s->nhnames > DKIM_HNAMES_MAX ||
	    s->blen == 0 || s->blen > DKIM_SIGBYTES_MAX)
		abort();
	for (i = 0; i < s->nhnames; i++)
		from |= strcasecmp(s->hnames[i], "from") == 0;
	if (!from || s->b_start > s->b_end || s->b_end > n)
		abort();
	if (s->has_t && s->has_x && s->x <= s->t)
		abort();
}

static void
verify(const uint8_t *data, size_t size)
{
	static const char	 rest[] = "\r\nFrom: a@example.com\r\n"
	    "Subject: x\r\n\r\nbody  \r\n\r\n";
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	struct buf		 res;
	size_t			 i, n;

	memset(&o, 0, sizeof(o));
	o.now = 1700000000;
	v = dkim_verify_new(&o);
	(void)dkim_verify_feed(v, "DKIM-Signature:", 15);
	(void)dkim_verify_feed(v, data, size);
	(void)dkim_verify_feed(v, rest, sizeof(rest) - 1);
	n = dkim_verify_finish(v, key_cb, NULL);
	buf_init(&res, 0);
	for (i = 0; i < n; i++) {
		if (dkim_verify_result(v, i)->status == DKIM_PASS)
			abort();	/* no key can sign a fuzzed input */
		dkim_result_format(dkim_verify_result(v, i), &res);
	}
	buf_free(&res);
	dkim_verify_free(v);
}

/* A signer's own tag, as sealmailctl trace reads sealmail_id=. */
static void
own_tag(const uint8_t *data, size_t size)
{
	char	 v[TAGVAL_MAX];

	memset(v, 'Z', sizeof(v));
	if (dkim_sig_tag_value((const char *)data, size, "sealmail_id", v,
	    sizeof(v)) == -1)
		return;
	if (strlen(v) >= sizeof(v) || strchr(v, ';') != NULL ||
	    memmem(data, size, v, strlen(v)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_sig	 sig;
	const char		*why = NULL;

	own_tag(data, size);
	if (dkim_sig_parse((const char *)data, size, &sig, &why) == DKIM_P_OK)
		check_sig(&sig, size);
	else if (why == NULL)
		abort();
	verify(data, size);
	return 0;
}
