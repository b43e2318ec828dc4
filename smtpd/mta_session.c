/*
 * mta_session.c - smtpd.mta's SMTP conversation with a remote server:
 * one domain's recipients of one message per call (mta_session_run),
 * on a connection kept from the last call when it went to the same
 * destination under the same TLS policy, else on a new one to the first
 * address of the route (mta_route.c) that greets, takes EHLO and meets
 * the policy.
 *
 *	connect, 220 greeting, EHLO (HELO under "may" only)
 *	STARTTLS when offered (may) or always (encrypt, verify), EHLO again
 *	MAIL FROM:<from> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8] [REQUIRETLS]
 *	RCPT TO:<addr> ... (pipelined with MAIL when PIPELINING is offered)
 *	BDAT chunks (CHUNKING offered) or DATA, the message, the final reply
 *
 * Mail the server cannot take as it is is refused before MAIL, never
 * changed: 8-bit content without 8BITMIME (RFC 6152), an address that
 * needs SMTPUTF8 without it (RFC 6531), a message over the server's
 * SIZE.  Each recipient ends with a reply code and a text that carries
 * the remote reply and who said it (mta_result_text); a connection that
 * breaks answers 451 for every recipient it had not answered.
 *
 * TLS policy (mta.h): "may" uses STARTTLS when offered and goes on in
 * plain text on a new connection if the handshake fails; "encrypt"
 * never sends mail in plain text; "verify" also needs a certificate
 * that chains to [global] tls_ca and names the MX host (or the next
 * hop's host).  A server that does not meet the policy is skipped, and
 * when none does the recipients are deferred (4.7.x): they bounce only
 * at the end of the queue lifetime.  "dane" and "dane-only" are decided
 * per address by mta_dane.c (K.dane): usable TLSA records make TLS
 * required and the peer must match one; secure TLSA without usable
 * records make TLS required; without DNSSEC "dane" is "may"; a host
 * DANE says not to use (bogus TLSA, dane-only without DANE) is skipped
 * like one that fails the policy.
 *
 * REQUIRETLS (RFC 8689), asked for by the author at submission, raises
 * the policy of that message to at least "verify" (a DANE policy keeps
 * TLSA where there is usable TLSA and verifies elsewhere), needs MX
 * hosts from a DNSSEC-secure answer or an enforced MTA-STS policy (a
 * next hop of ours needs neither), and a server that offers REQUIRETLS
 * once TLS is up; when these fail for lack of them the recipients fail
 * at once (5.7.30), when TLS fails they are deferred.
 *
 * MTA-STS (mta_sts_fetch.c; not for a relayhost or transport next hop):
 * an "enforce" policy raises the domain's TLS policy to "verify"
 * (mta_tls_sts) and keeps MX hosts that match none of its patterns out
 * of the route; "testing" changes nothing but logs each thing enforce
 * would have refused (host not listed, no STARTTLS, a certificate that
 * would not verify).
 *
 * Runs in smtpd.mta ([global] user, chrooted, no key): every reply is
 * read through common/smtp_client.c (bounded lines, codes checked) and
 * its text cleaned before it goes anywhere.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "callback.h"
#include "config.h"
#include "log.h"
#include "mta.h"
#include "smtpd.h"

/* a host and its address in a message: "mx.example.org[192.0.2.1]" */
#define HA	"%.200s[%.64s]"

/* the connection, kept between messages to the same destination */
struct conn {
	struct smtp_client c;
	int		 up;
	char		 dest[DNS_NAME_TEXT_MAX + 64];	/* domain/policy/sts */
	char		 host[DNS_NAME_TEXT_MAX];
	char		 addr[64];
	int		 port;
	enum mta_tls	 policy;
	int		 tls;
	const char	*verified;	/* "name+chain", "dane-ee", ... */
	struct mta_dane	 dane;		/* what DANE asks of this host */
	char		 proto[32];
	char		 cipher[64];
	time_t		 last;
	int		 nmsg;		/* transactions on it */
	int		 bdat;		/* the last message went as BDAT */
	int		 rtls;		/* opened for REQUIRETLS mail */
	int		 sts;		/* enum mta_sts_mode, -1: none */
	char		 sessid[CBK_ID_LEN + 1];	/* callback's, or "" */
};

static const struct sm_config	*cfg;
static const struct mta_policy	*pol;
static SSL_CTX			*tls_ctx;
static struct conn		 K = { .c = { .fd = -1 }, .sts = -1 };
static const struct mta_sts	*sts;	/* this call's MTA-STS policy */
static const char		*msgid;	/* this call's message */

void
mta_session_init(const struct sm_config *c, const struct mta_policy *p,
    SSL_CTX *ctx)
{
	cfg = c;
	pol = p;
	tls_ctx = ctx;
}

static void
conn_close(int quit)
{
	char	 line[64];

	if (!K.up)
		return;
	cbk_mta_close(K.sessid);
	if (quit) {
		smtp_client_cmd(&K.c, "QUIT");
		smtp_client_reply(&K.c, line, sizeof(line));
	}
	smtp_client_close(&K.c);
	K.up = 0;
	log_debug("mta relay=" HA ":%d closed after %d message(s)", K.host,
	    K.addr, K.port, K.nmsg);
}

/* A kept connection idle for MTA_IDLE seconds is closed. */
void
mta_session_idle(void)
{
	if (K.up && time(NULL) - K.last >= MTA_IDLE)
		conn_close(1);
}

int
mta_session_kept(void)
{
	return K.up;
}

/*
 * Must this host's mail go over TLS?  REQUIRETLS mail and an enforced
 * MTA-STS policy always; DANE as its TLSA says; else the policy.
 */
static int
tls_required(enum mta_tls p)
{
	if (K.rtls || K.sts == MTA_STS_ENFORCE)
		return 1;
	if (p == MTA_TLS_DANE || p == MTA_TLS_DANE_ONLY)
		return K.dane.state == MTA_DANE_AUTH ||
		    K.dane.state == MTA_DANE_ENCRYPT;
	return p != MTA_TLS_MAY;
}

/*
 * Does the policy authenticate the server (what REQUIRETLS needs)?  The
 * DANE policies do for REQUIRETLS mail: a host with usable TLSA is
 * matched against it, any other must pass "verify" (tls_verify_name).
 */
static int
tls_verified(enum mta_tls p)
{
	return p == MTA_TLS_VERIFY || p == MTA_TLS_DANE ||
	    p == MTA_TLS_DANE_ONLY;
}

/*
 * The name the certificate must carry, or NULL for none: under "dane"
 * with usable TLSA the records decide (DANE-EE checks no name), and an
 * enforced MTA-STS policy verifies a host that has none (RFC 8461 2:
 * DANE first, where it applies).
 */
static const char *
tls_verify_name(enum mta_tls p, const struct mta_addr *a)
{
	return p == MTA_TLS_VERIFY || K.dane.state == MTA_DANE_AUTH ||
	    K.rtls || K.sts == MTA_STS_ENFORCE ? a->host : NULL;
}

/* MTA-STS "testing": what "enforce" would have refused, logged. */
static void
sts_would(const struct mta_addr *a, const char *why)
{
	if (K.sts == MTA_STS_TESTING)
		log_info("id=%s mta relay=" HA ":%d mta-sts=testing would "
		    "refuse: %s", msgid, a->host, a->text, K.port, why);
}

/* May the policy's MX host a be used?  0 with why, under "enforce". */
static int
sts_host_ok(const struct mta_addr *a, char *why, size_t whylen)
{
	if (sts == NULL || sts->mode == MTA_STS_NONE ||
	    mta_sts_mx_ok(sts, a->host))
		return 1;
	snprintf(why, whylen, "%.200s matches no mx of the MTA-STS policy",
	    a->host);
	sts_would(a, why);
	return sts->mode != MTA_STS_ENFORCE;
}

/* ------------------------------------------------------------------ */
/* opening */

static int
tcp_connect(const struct mta_addr *a, char *why, size_t whylen)
{
	struct timeval	 tv = { MTA_CONNECT_TIMEOUT, 0 };
	int		 fd;

	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->sslen) == -1) {
		snprintf(why, whylen, "connect to " HA ": %s", a->host, a->text,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* STARTTLS and the second EHLO; 0 or -1 with why. */
static int
starttls(const struct mta_addr *a, char *line, size_t linelen, char *why,
    size_t whylen)
{
	const char	*vname = tls_verify_name(K.policy, a);
	char		 err[256];
	int		 code;

	smtp_client_cmd(&K.c, "STARTTLS");
	if ((code = smtp_client_reply(&K.c, line, linelen)) != 220) {
		snprintf(why, whylen, HA " refused STARTTLS", a->host,
		    a->text);
		return -1;
	}
	if (K.dane.state == MTA_DANE_AUTH) {
		K.c.tls_hook = mta_dane_ssl;
		K.c.tls_arg = &K.dane;
	}
	if (smtp_client_starttls(&K.c, tls_ctx, a->host[0] != '\0' &&
	    strchr(a->host, ':') == NULL ? a->host : NULL, vname, err,
	    sizeof(err)) == -1) {
		snprintf(why, whylen, "%.100s[%.64s] %.200s", a->host, a->text,
		    err);
		return -1;
	}
	K.tls = 1;
	K.verified = K.dane.state == MTA_DANE_AUTH ?
	    mta_dane_verified(K.c.ssl) : vname != NULL ? "name+chain" : NULL;
	if (vname != NULL && K.verified == NULL) {
		snprintf(why, whylen, HA " matched no TLSA record", a->host,
		    a->text);
		return -1;
	}
	if (vname == NULL && K.sts == MTA_STS_TESTING) {
		if (mta_sts_cert_ok(K.c.ssl, a->host, err, sizeof(err)))
			K.verified = "name+chain";
		else
			sts_would(a, err);
	}
	snprintf(K.proto, sizeof(K.proto), "%s", SSL_get_version(K.c.ssl));
	snprintf(K.cipher, sizeof(K.cipher), "%s",
	    SSL_get_cipher_name(K.c.ssl));
	if (smtp_client_hello(&K.c, "EHLO", cfg->hostname, line, linelen) !=
	    250) {
		snprintf(why, whylen, HA " refused EHLO after STARTTLS",
		    a->host, a->text);
		return -1;
	}
	return 0;
}

/*
 * A new connection to a: greeted, EHLO said, TLS as the policy wants.
 * plain: do not try STARTTLS ("may", after a failed handshake).  0, or
 * -1 with why and nothing open (-2: STARTTLS failed, -3: it is us,
 * -4: REQUIRETLS mail and the server does not offer REQUIRETLS).
 */
static int
conn_open(const struct mta_addr *a, int plain, char *why, size_t whylen)
{
	char	 line[MTA_LINE_MAX];
	int	 fd, code;

	if ((fd = tcp_connect(a, why, whylen)) == -1)
		return -1;
	K.tls = 0;
	K.verified = NULL;
	K.proto[0] = K.cipher[0] = '\0';
	if ((code = smtp_client_fd(&K.c, fd, MTA_TIMEOUT, line,
	    sizeof(line))) != 220) {
		mta_result_text(why, whylen, code == -1 ? 421 : code,
		    code == -1 ? "no greeting" : line, NULL);
		return -1;
	}
	if (mta_greets_as_self(line, cfg->hostname)) {
		/* RFC 5321 5.1: it would come back to us */
		snprintf(why, whylen, "5.4.6 mail loops back to myself: host "
		    HA " greeted me with my own hostname %.100s", a->host,
		    a->text, cfg->hostname);
		smtp_client_close(&K.c);
		return -3;
	}
	K.up = 1;
	code = smtp_client_hello(&K.c, "EHLO", cfg->hostname, line,
	    sizeof(line));
	if (code != 250 && code != -1 && !tls_required(K.policy))
		code = smtp_client_hello(&K.c, "HELO", cfg->hostname, line,
		    sizeof(line));
	if (code != 250) {
		snprintf(why, whylen, HA " refused EHLO", a->host, a->text);
		goto fail;
	}
	if ((K.c.caps & SMTP_CAP_STARTTLS) && !plain) {
		if (starttls(a, line, sizeof(line), why, whylen) == -1) {
			smtp_client_close(&K.c);
			K.up = 0;
			return -2;
		}
	} else if (tls_required(K.policy)) {
		snprintf(why, whylen, "TLS is required, but " HA " did not "
		    "offer STARTTLS", a->host, a->text);
		goto fail;
	} else
		sts_would(a, plain ? "STARTTLS failed" : "no STARTTLS");
	if (K.rtls && !(K.c.caps & SMTP_CAP_REQUIRETLS)) {
		snprintf(why, whylen, "REQUIRETLS was asked for, but " HA
		    " does not offer it", a->host, a->text);
		smtp_client_close(&K.c);
		K.up = 0;
		return -4;
	}
	return 0;
fail:
	smtp_client_close(&K.c);
	K.up = 0;
	return -1;
}

/* A route with no address: the code and status its recipients get. */
static int
plan_status(enum mta_plan plan, const char **st)
{
	switch (plan) {
	case MTA_PLAN_NULLMX:
		*st = "5.1.10";
		return 556;
	case MTA_PLAN_NODOMAIN:
		*st = "5.1.2";
		return 550;
	case MTA_PLAN_LOOP:
		*st = "5.4.6";
		return 554;
	default:
		*st = "4.4.3";
		return 451;
	}
}

/*
 * The route's addresses in order until one takes us.  0, or -1 with the
 * code and the text ("X.Y.Z why") every recipient gets.
 */
static int
conn_route(const struct mta_job *j, int *code, char *why, size_t whylen)
{
	struct mta_route	*rt;
	size_t			 i;
	int			 r, tlsfail = 0, nortls = 0;
	char			 w[MTA_TEXT_MAX] = "no address to try";
	char			 loop[MTA_TEXT_MAX] = "";
	const char		*st;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		fatal("mta: route");
	mta_route(pol, j->domain, rt);
	if (rt->n == 0) {
		*code = plan_status(rt->plan, &st);
		snprintf(why, whylen, "%s %.400s", st, rt->why);
		free(rt);
		return -1;
	}
	if (K.rtls && !rt->nexthop && !rt->mx_secure &&
	    (sts == NULL || sts->mode != MTA_STS_ENFORCE)) {
		/* RFC 8689 4.2.1: MX hosts from DNSSEC or from MTA-STS */
		*code = 550;
		snprintf(why, whylen, "5.7.30 REQUIRETLS needs the MX hosts of "
		    "%.300s from DNSSEC or an MTA-STS policy", j->domain);
		free(rt);
		return -1;
	}
	for (i = 0, r = -1; i < rt->n && r != 0; i++) {
		K.port = ntohs(((struct sockaddr_in *)&rt->a[i].ss)->sin_port);
		snprintf(K.host, sizeof(K.host), "%s", rt->a[i].host);
		snprintf(K.addr, sizeof(K.addr), "%s", rt->a[i].text);
		if (!rt->nexthop && !sts_host_ok(&rt->a[i], w, sizeof(w))) {
			tlsfail = 1;
			log_info("id=%s mta relay=" HA ":%d policy=%s "
			    "mta-sts=enforce not used: %s", j->id, K.host,
			    K.addr, K.port, mta_tls_name(K.policy), w);
			continue;
		}
		mta_dane_host(K.policy, rt, i, &K.dane);
		if (K.dane.state == MTA_DANE_DEFER) {
			snprintf(w, sizeof(w), "DANE: %.400s", K.dane.why);
			tlsfail = 1;
			log_info("id=%s mta relay=" HA ":%d policy=%s not "
			    "used: %s", j->id, K.host, K.addr, K.port,
			    mta_tls_name(K.policy), w);
			continue;
		}
		r = conn_open(&rt->a[i], 0, w, sizeof(w));
		/* "may": a failed handshake is no reason to give up */
		if (r == -2 && !tls_required(K.policy)) {
			log_info("id=%s mta relay=" HA ":%d policy=may "
			    "STARTTLS failed (%s); in plain text", j->id,
			    K.host, K.addr, K.port, w);
			r = conn_open(&rt->a[i], 1, w, sizeof(w));
		}
		if (r == -3)
			snprintf(loop, sizeof(loop), "%s", w);
		if (r != 0) {
			tlsfail |= r == -2 || strstr(w, "STARTTLS") != NULL;
			nortls += r == -4;
			log_info("id=%s mta relay=" HA ":%d policy=%s not "
			    "used: %s", j->id, K.host, K.addr, K.port,
			    mta_tls_name(K.policy), w);
		}
	}
	free(rt);
	if (r != 0 && loop[0] != '\0') {
		/* no other host took it: it would loop, not heal */
		*code = 554;
		snprintf(why, whylen, "%s", loop);
		return -1;
	}
	if (r != 0 && nortls > 0 && !tlsfail) {
		/*
		 * RFC 8689 4.2.1: the servers that could be reached do not
		 * offer REQUIRETLS (and none failed TLS): a permanent fault
		 */
		*code = 550;
		snprintf(why, whylen, "5.7.30 %s", w);
		return -1;
	}
	if (r != 0) {
		*code = 451;
		snprintf(why, whylen, "%s %s", tlsfail ? "4.7.5" : "4.4.1", w);
		return -1;
	}
	K.nmsg = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the transaction */

/* Every recipient (or every one still at 250) gets code and line. */
static void
answer_all(struct mta_job *j, int only250, int code, const char *line,
    const char *cmd)
{
	char	 where[DNS_NAME_TEXT_MAX + 128];
	size_t	 i;

	where[0] = '\0';
	if (cmd != NULL)
		snprintf(where, sizeof(where), "host " HA " said, in reply "
		    "to %s", K.host, K.addr, cmd);
	for (i = 0; i < j->n; i++)
		if (!only250 || j->r[i].code == 250) {
			j->r[i].code = code;
			mta_result_text(j->r[i].text, sizeof(j->r[i].text),
			    code, line, where);
		}
}

/* The connection broke: who was not answered yet is deferred. */
static void
lost(struct mta_job *j, int only250, const char *during)
{
	char	 line[MTA_TEXT_MAX];

	snprintf(line, sizeof(line), "4.4.2 lost connection with " HA " "
	    "while %s", K.host, K.addr, during);
	answer_all(j, only250, 451, line, NULL);
	conn_close(0);
}

/* What the server cannot take unchanged is refused here, not mangled. */
static int
fits(struct mta_job *j)
{
	char	 line[MTA_TEXT_MAX];
	int	 code = 554;

	if (j->body8 && !(K.c.caps & SMTP_CAP_8BITMIME))
		snprintf(line, sizeof(line), "5.6.3 " HA " does not accept "
		    "8-bit mail (no 8BITMIME)", K.host, K.addr);
	else if (j->utf8 && !(K.c.caps & SMTP_CAP_SMTPUTF8) &&
	    (code = 553) != 0)
		snprintf(line, sizeof(line), "5.6.7 " HA " does not accept "
		    "internationalised addresses (no SMTPUTF8)", K.host,
		    K.addr);
	else if ((K.c.caps & SMTP_CAP_SIZE) && K.c.size_max > 0 &&
	    j->size > K.c.size_max && (code = 552) != 0)
		snprintf(line, sizeof(line), "5.3.4 message of %zu bytes is "
		    "over the %zu that " HA " takes", j->size, K.c.size_max,
		    K.host, K.addr);
	else
		return 1;
	answer_all(j, 0, code, line, NULL);
	return 0;
}

static void
rset(void)
{
	char	 line[MTA_LINE_MAX];

	smtp_client_cmd(&K.c, "RSET");
	if (smtp_client_reply(&K.c, line, sizeof(line)) != 250)
		conn_close(0);
}

/* MAIL and the RCPTs (in one go with PIPELINING): accepted or -1. */
static int
envelope(struct mta_job *j, int *accepted)
{
	char	 line[MTA_LINE_MAX], rl[MTA_LINE_MAX], params[32];
	char	 where[DNS_NAME_TEXT_MAX + 128];
	int	 code = -1, pipe = K.c.caps & SMTP_CAP_PIPELINING;
	size_t	 i;

	params[0] = '\0';
	if (K.c.caps & SMTP_CAP_SIZE)
		snprintf(params, sizeof(params), " SIZE=%zu", j->size);
	/* the callback: registered with our responder before MAIL */
	if (cfg->smtpd_callback_port != 0 && (K.c.caps & SMTP_CAP_CALLBACK) &&
	    K.sessid[0] == '\0')
		cbk_mta_open(K.addr, K.sessid);
	smtp_client_cmd(&K.c, "MAIL FROM:<%s>%s%s%s%s%s%s", j->from, params,
	    j->body8 ? " BODY=8BITMIME" : "", j->utf8 ? " SMTPUTF8" : "",
	    j->requiretls ? " REQUIRETLS" : "", K.sessid[0] != '\0' ?
	    " SESSID=" : "", K.sessid);
	if (!pipe) {
		if ((code = smtp_client_reply(&K.c, line, sizeof(line))) ==
		    -1)
			return -1;
	}
	for (i = 0; i < j->n; i++)
		smtp_client_cmd(&K.c, "RCPT TO:<%s>", j->r[i].addr);
	if (pipe && (code = smtp_client_reply(&K.c, line, sizeof(line))) ==
	    -1)
		return -1;
	if (code != 250) {
		/* with PIPELINING the RCPTs went out: read their replies */
		for (i = 0; pipe && i < j->n; i++)
			if (smtp_client_reply(&K.c, rl, sizeof(rl)) == -1)
				return -1;
		K.c.out.len = 0;
		answer_all(j, 0, code, line, "MAIL FROM");
		return 0;
	}
	for (i = 0; i < j->n; i++) {
		code = smtp_client_reply(&K.c, line, sizeof(line));
		if (code == -1)
			return -1;
		j->r[i].code = code;
		snprintf(where, sizeof(where), "host " HA " said, in reply "
		    "to RCPT TO", K.host, K.addr);
		mta_result_text(j->r[i].text, sizeof(j->r[i].text), code,
		    line, code == 250 ? NULL : where);
		*accepted += code == 250;
	}
	return 0;
}

/*
 * The message, as BDAT chunks when the server offers CHUNKING (RFC
 * 3030: no dot-stuffing, no scan for the end) or else DATA, and the
 * reply: 1 when it was answered, 0 when the transaction needs an RSET,
 * -1 when the connection broke.
 */
static int
data(struct mta_job *j)
{
	char	 line[MTA_LINE_MAX];
	int	 code;

	K.bdat = (K.c.caps & SMTP_CAP_CHUNKING) != 0;
	if (K.bdat) {
		code = smtp_client_bdat(&K.c, j->msgfd, line, sizeof(line));
		if (code == -1)
			return -1;
		answer_all(j, 1, code, line, "BDAT");
		return code == 250;	/* else RSET: a chunk may be refused */
	}
	smtp_client_cmd(&K.c, "DATA");
	if ((code = smtp_client_reply(&K.c, line, sizeof(line))) == -1)
		return -1;
	if (code != 354) {
		answer_all(j, 1, code, line, "DATA");
		return 0;
	}
	if (smtp_client_body(&K.c, j->msgfd) == -1 ||
	    (code = smtp_client_reply(&K.c, line, sizeof(line))) == -1)
		return -1;
	answer_all(j, 1, code, line, "end of DATA");
	return 1;
}

static void
log_results(const struct mta_job *j, int reused)
{
	size_t	 i;
	int	 st;

	for (i = 0; i < j->n; i++) {
		st = mta_status(j->r[i].code);
		log_info("id=%s mta rcpt=<%s> relay=" HA ":%d policy=%s%s%s%s "
		    "tls=%s%s%s verified=%s reused=%s body=%s%s status=%s %s",
		    j->id,
		    j->r[i].addr, K.host[0] ? K.host : "none",
		    K.addr[0] ? K.addr : "none", K.port,
		    mta_tls_name(K.policy), j->requiretls ? "+requiretls" : "",
		    K.sts >= 0 ? " mta-sts=" : "",
		    K.sts >= 0 ? mta_sts_mode_name((enum mta_sts_mode)K.sts) : "",
		    K.tls ? K.proto : "none",
		    K.tls ? " cipher=" : "", K.tls ? K.cipher : "",
		    K.verified ? K.verified : "no", reused ? "yes" : "no",
		    K.bdat ? "bdat" : "data",
		    K.sessid[0] != '\0' ? " callback=offered" : "",
		    st == Q_DLV_OK ? "sent" : st == Q_DLV_PERMFAIL ?
		    "bounced" : "deferred", j->r[i].text);
	}
}

/* One domain's recipients of one message: each gets a code and text. */
void
mta_session_run(struct mta_job *j)
{
	char		 dest[sizeof(K.dest)], why[MTA_TEXT_MAX];
	enum mta_tls	 policy = mta_tls_for(pol, j->domain);
	int		 code, reused, accepted = 0, r;

	msgid = j->id;
	sts = mta_nexthop(pol, j->domain) == NULL ?
	    mta_sts_get(j->domain, j->id) : NULL;
	policy = mta_tls_sts(policy, sts);
	/* RFC 8689 4.2.1: a verified certificate, never less */
	if (j->requiretls && !tls_verified(policy))
		policy = MTA_TLS_VERIFY;
	snprintf(dest, sizeof(dest), "%s/%s/%s%s%s", j->domain,
	    mta_tls_name(policy), sts != NULL ?
	    mta_sts_mode_name(sts->mode) : "-", sts != NULL ? sts->id : "",
	    j->requiretls ? "+requiretls" : "");
	answer_all(j, 0, 451, "4.3.0 not attempted", NULL);
	K.bdat = 0;
again:
	reused = K.up && strcasecmp(K.dest, dest) == 0 &&
	    !smtp_client_stale(&K.c);
	if (!reused) {
		conn_close(K.up && !smtp_client_stale(&K.c));
		K.policy = policy;
		K.rtls = j->requiretls;
		K.sts = sts != NULL ? (int)sts->mode : -1;
		K.host[0] = K.addr[0] = '\0';
		K.port = K.tls = 0;
		K.verified = NULL;
		if (conn_route(j, &code, why, sizeof(why)) == -1) {
			answer_all(j, 0, code, why, NULL);
			log_results(j, 0);
			return;
		}
		snprintf(K.dest, sizeof(K.dest), "%s", dest);
	}
	if (!fits(j)) {
		log_results(j, reused);
		return;
	}
	r = envelope(j, &accepted);
	if (r == -1 && reused) {
		/* the server dropped the kept connection: once more, anew */
		conn_close(0);
		accepted = 0;
		goto again;
	}
	if (r == -1)
		lost(j, 0, "sending the envelope");
	else if (accepted == 0)
		rset();
	else if ((r = data(j)) == -1)
		lost(j, 1, "sending the message");
	else if (r == 0)
		rset();
	if (K.up) {
		K.nmsg++;
		K.last = time(NULL);
	}
	log_results(j, reused);
}
