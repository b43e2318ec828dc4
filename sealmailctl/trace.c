/*
 * trace.c - sealmailctl trace: who sent a message, for an administrator
 * answering an abuse report (common/trace.h has the records).
 *
 *	trace TRACKING-ID		the record submitd wrote
 *	trace --message FILE|-		the same, from a copy of the
 *					message
 *
 * From a message: the tracking ID in our Received field (the first one
 * that says "by <hostname> (Sealmail submitd) ... id <ID>") when there
 * is one, and otherwise our own DKIM signature.  smtpd.queue writes the
 * tracking ID into each signature it makes as the tag TRACE_DKIM_TAG
 * (smtpd/sign.c says why); a signature is ours when its d= is one of
 * our domains, and it is trusted only when it verifies against the
 * key of ours it names (read from the key database, whatever the key's
 * state now, and judged as at the signature's t=, so an expired x= or
 * a key rotated since does not hide an old message) and its i= is the
 * user the record names.  A signature of another domain is "not ours";
 * one of ours that does not verify traces nothing.  A Received field
 * can be forged by whoever wrote the message: when a verified signature
 * of ours names another tracking ID, that is said and the signature's
 * record is printed.
 *
 * Runs as root from the administrator's shell; the message is read
 * (bounded) as untrusted input: only common/dkim parses its signatures,
 * and what is printed comes from our own records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "dkim.h"
#include "ks_db.h"
#include "trace.h"
#include "userdb.h"
#include "xmalloc.h"

#define MSG_MAX_DEFAULT	(64 * 1024 * 1024)

struct sigcheck {
	struct ctl	*c;
	const char	*why;		/* why no signature traced */
	char		 id[TRACE_ID_LEN + 1];
	char		 signer[DKIM_IDENTITY_MAX + 1];
	uint64_t	 t;
};

static void
print_rec(const struct trace_rec *r, const char *found)
{
	char		 when[32];
	struct tm	 tm;
	time_t		 t = (time_t)r->time;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("tracking_id=%s\n", r->id);
	printf("user=%s\n", r->user);
	printf("time=%s\n", when);
	printf("recipients=%u\n", r->nrcpt);
	printf("client=%s\n", r->client);
	printf("sender=<%s>\n", r->from);
	printf("message_id=%s\n", r->msgid);
	printf("size=%llu\n", (unsigned long long)r->size);
	printf("found=%s\n", found);
}

static int
trace_id(struct ctl *c, const char *id, const char *found)
{
	struct trace_rec r;
	char		 err[256];

	if (trace_lookup(c->udb, id, &r, err, sizeof(err)) != UDB_OK)
		return ctl_err(c, "%s", err);
	print_rec(&r, found);
	return CTL_OK;
}

/* The message, CRLF line ends (a bare LF becomes CRLF). */
static int
read_message(struct ctl *c, const char *path, struct buf *m)
{
	char	 b[65536];
	ssize_t	 n, i;
	size_t	 max = c->cfg.max_message_size > 0 ?
		    c->cfg.max_message_size + 1024 * 1024 : MSG_MAX_DEFAULT;
	int	 fd, prev_cr = 0;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return ctl_err(c, "%s: %s", path, strerror(errno));
	while ((n = read(fd, b, sizeof(b))) != 0) {
		if (n == -1 && errno == EINTR && ctl_signal == 0)
			continue;
		if (n == -1)
			break;
		for (i = 0; i < n; i++) {
			if (b[i] == '\n' && !prev_cr)
				buf_addc(m, '\r');
			prev_cr = b[i] == '\r';
			buf_addc(m, b[i]);
		}
		if (m->len > max)
			break;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == -1)
		return ctl_err(c, "%s: %s", path, strerror(errno));
	if (m->len > max)
		return ctl_err(c, "%s: larger than %zu bytes", path, max);
	return CTL_OK;
}

/*
 * The next header field of m from *pos: its start and length (folded
 * lines included, the final CRLF not).  0 at the end of the header.
 */
static int
next_field(const struct buf *m, size_t *pos, const char **f, size_t *len)
{
	const char	*p = m->data, *e = p + m->len, *s = p + *pos, *q;

	if (s >= e || (e - s >= 2 && s[0] == '\r' && s[1] == '\n'))
		return 0;
	for (q = s; q < e; q++)
		if (*q == '\n' && (q + 1 == e || (q[1] != ' ' &&
		    q[1] != '\t')))
			break;
	*f = s;
	*len = (size_t)(q - s) - (q > s && q[-1] == '\r');
	*pos = q < e ? (size_t)(q + 1 - p) : m->len;
	return 1;
}

static int
field_is(const char *f, size_t len, const char *name)
{
	size_t	 n = strlen(name);

	return len > n && f[n] == ':' && strncasecmp(f, name, n) == 0;
}

/* The next word of s (white space and ';' separate them), or NULL. */
static char *
next_word(char **s)
{
	char	*w = *s + strspn(*s, " \t\r\n;");

	if (*w == '\0')
		return NULL;
	*s = w + strcspn(w, " \t\r\n;");
	if (**s != '\0')
		*(*s)++ = '\0';
	return w;
}

/* The tracking ID of our Received field, unfolded value v: 0 or -1. */
static int
received_id(struct ctl *c, char *v, char *id)
{
	char	*tok, *prev = NULL;
	int	 ours = 0, by = 0;

	while ((tok = next_word(&v)) != NULL) {
		if (prev != NULL && strcasecmp(prev, "by") == 0)
			by = strcasecmp(tok, c->cfg.hostname) == 0;
		if (by && strcmp(tok, "submitd)") == 0 && prev != NULL &&
		    strcmp(prev, "(Sealmail") == 0)
			ours = 1;
		if (ours && prev != NULL && strcmp(prev, "id") == 0 &&
		    trace_id_valid(tok)) {
			memcpy(id, tok, TRACE_ID_LEN + 1);
			return 0;
		}
		prev = tok;
	}
	return -1;
}

static int
find_received(struct ctl *c, const struct buf *m, char *id)
{
	const char	*f;
	char		*v;
	size_t		 pos = 0, len;
	int		 r;

	while (next_field(m, &pos, &f, &len)) {
		if (!field_is(f, len, "Received"))
			continue;
		v = xstrndup(f + 9, len - 9);
		r = received_id(c, v, id);
		free(v);
		if (r == 0)
			return 0;
	}
	return -1;
}

/* A key record of ours for the verifier, whatever its state now. */
static enum dkim_keyq
our_key(const char *d, const char *s, struct buf *out, void *arg)
{
	struct sigcheck	*sc = arg;
	struct ks_keyrec kr;
	const char	*at;

	if (sc->c->kdb == NULL || ks_db_get(sc->c->kdb, s, &kr, NULL) != 0)
		return DKIM_KEYQ_NONE;
	at = strrchr(kr.owner, '@');
	if (strcasecmp(at != NULL ? at + 1 : kr.owner, d) != 0)
		return DKIM_KEYQ_NONE;	/* not the key of that domain */
	kr.state = KS_ACTIVE;		/* for its p= */
	ks_keyrec_dns(&kr, out);
	return DKIM_KEYQ_FOUND;
}

/*
 * The first DKIM-Signature of one of our domains with our tag: 0 with
 * its parse in sig and the tag in sc->id, or -1 with sc->why.
 */
static int
our_signature(struct sigcheck *sc, const struct buf *m, struct dkim_sig *sig)
{
	const char	*f, *why;
	size_t		 pos = 0, len;
	int		 seen = 0;

	sc->why = "the message has no DKIM signature";
	while (next_field(m, &pos, &f, &len)) {
		if (!field_is(f, len, "DKIM-Signature"))
			continue;
		seen++;
		if (dkim_sig_parse(f + 15, len - 15, sig, &why) != DKIM_P_OK) {
			fprintf(stderr, "sealmailctl: trace: a DKIM-Signature "
			    "that does not parse: %s\n", why);
			continue;
		}
		if (userdb_domain_exists(sc->c->udb, sig->domain) != 1) {
			printf("signature=%s not ours\n", sig->domain);
			sc->why = "no DKIM signature of ours (not ours)";
			continue;
		}
		if (dkim_sig_tag_value(f + 15, len - 15, TRACE_DKIM_TAG,
		    sc->id, sizeof(sc->id)) == -1 || !trace_id_valid(sc->id)) {
			sc->why = "a signature of ours without a tracking ID";
			continue;
		}
		return 0;
	}
	if (seen == 0)
		sc->why = "the message has no DKIM signature";
	return -1;
}

/* Verify the message's signature sig (ours) as at its t=: 0 or -1. */
static int
sig_verifies(struct sigcheck *sc, const struct buf *m,
    const struct dkim_sig *sig)
{
	struct dkim_verify_opts	 o;
	struct dkim_verify	*v;
	const struct dkim_result *r;
	size_t			 i, n;
	int			 ok = -1;

	if (sc->c->kdb == NULL && ctl_keys_open(sc->c) != CTL_OK) {
		sc->why = "the key database cannot be opened";
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.now = sig->has_t ? (time_t)sig->t : 0;
	v = dkim_verify_new(&o);
	(void)dkim_verify_feed(v, m->data, m->len);
	n = dkim_verify_finish(v, our_key, sc);
	sc->why = "our signature does not verify";
	for (i = 0; i < n; i++) {
		r = dkim_verify_result(v, i);
		if (strcmp(r->domain, sig->domain) != 0 ||
		    strcmp(r->selector, sig->selector) != 0 ||
		    strcmp(r->b_prefix, sig->b_prefix) != 0)
			continue;
		if (r->status == DKIM_PASS) {
			ok = 0;
			break;
		}
		fprintf(stderr, "sealmailctl: trace: signature d=%s s=%s does "
		    "not verify: %s %s\n", r->domain, r->selector,
		    dkim_status_name(r->status), r->reason);
	}
	dkim_verify_free(v);
	return ok;
}

/*
 * The record a verified signature of ours names, when its signer is
 * the record's user and it was made after the submission: 0 or -1.
 */
static int
sig_record(struct sigcheck *sc, const struct buf *m, struct trace_rec *r)
{
	struct dkim_sig	*sig;
	char		 err[256];
	int		 ret = -1;

	sig = xcalloc(1, sizeof(*sig));
	if (our_signature(sc, m, sig) == -1 || sig_verifies(sc, m, sig) == -1)
		goto out;
	if (trace_lookup(sc->c->udb, sc->id, r, err, sizeof(err)) !=
	    UDB_OK) {
		fprintf(stderr, "sealmailctl: trace: %s\n", err);
		sc->why = "our signature names no recorded message";
		goto out;
	}
	if (strcasecmp(sig->identity, r->user) != 0 || (sig->has_t &&
	    sig->t + DKIM_CLOCK_SKEW < r->time)) {
		sc->why = "our signature does not match the record it names";
		goto out;
	}
	ret = 0;
out:
	free(sig);
	return ret;
}

static int
trace_message(struct ctl *c, const char *path)
{
	struct sigcheck	 sc;
	struct trace_rec r;
	struct buf	 m;
	char		 id[TRACE_ID_LEN + 1];
	int		 ret, have_sig;

	buf_init(&m, 0);
	if ((ret = read_message(c, path, &m)) != CTL_OK)
		goto out;
	memset(&sc, 0, sizeof(sc));
	sc.c = c;
	have_sig = sig_record(&sc, &m, &r) == 0;
	if (find_received(c, &m, id) == 0 && have_sig &&
	    strcmp(id, r.id) != 0) {
		/* anybody can write a Received field; not our signature */
		fprintf(stderr, "sealmailctl: trace: the Received field names "
		    "%s but our verified signature names %s: the Received "
		    "field is forged; tracing the signature's\n", id, r.id);
		print_rec(&r, "signature");
		ret = CTL_OK;
	} else if (find_received(c, &m, id) == 0)
		ret = trace_id(c, id, "received");
	else if (have_sig) {
		print_rec(&r, "signature");
		ret = CTL_OK;
	} else
		ret = ctl_err(c, "not traced: no Received field of ours, "
		    "and %s", sc.why);
out:
	buf_free(&m);
	return ret;
}

int
ctl_trace(struct ctl *c, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "--message") == 0)
		return trace_message(c, argv[1]);
	if (argc == 1 && argv[0][0] != '-')
		return trace_id(c, argv[0], "id");
	fprintf(stderr, "usage: sealmailctl trace TRACKING-ID | "
	    "--message FILE|-\n");
	return CTL_USAGE;
}
