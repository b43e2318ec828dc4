/*
 * mta.h - smtpd.mta, the transmitter: what its files share (mta.c the
 * role and its requests, mta_route.c where a domain's mail goes,
 * mta_session.c the SMTP conversation, mta_dane.c DANE, mta_policy.c
 * settings and the decisions that depend on nothing else, unit tested
 * in test-mta.c and test-mta-dane.c).  Nothing outside smtpd.mta
 * includes it but those tests and the fuzz targets.
 */
#ifndef SM_MTA_H
#define SM_MTA_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns.h"
#include "smtp_client.h"

struct event_base;
struct mta_sts;
struct sm_config;

#define MTA_TIMEOUT	300		/* seconds, each read or write */
#define MTA_CONNECT_TIMEOUT 30		/* seconds, each connect() */
#define MTA_IDLE	10		/* seconds a kept connection waits */
#define MTA_HOSTS_MAX	10		/* MX hosts tried per domain */
#define MTA_ADDRS_MAX	20		/* addresses tried per domain */
#define MTA_TEXT_MAX	512		/* a result's text */
#define MTA_LINE_MAX	1024		/* a reply line kept */

/*
 * The TLS policy of a destination, named as Postfix names them.  dane
 * and dane-only (RFC 7672) decide per MX host in mta_dane.c; MTA-STS is
 * not implemented yet.  mta_session.c's tls_required()/tls_verify_name()
 * are where a policy becomes what a connection needs.
 */
enum mta_tls {
	MTA_TLS_MAY,		/* STARTTLS when offered, unverified */
	MTA_TLS_ENCRYPT,	/* STARTTLS or nothing, unverified */
	MTA_TLS_VERIFY,		/* STARTTLS, certificate chains to [global]
				   tls_ca and names the MX host */
	MTA_TLS_DANE,		/* TLSA when DNSSEC says so, else "may" */
	MTA_TLS_DANE_ONLY	/* TLSA when DNSSEC says so, else defer */
};

/* "domain=value" lists of the settings ([smtpd] transport, tls_policy_map) */
struct mta_map {
	char		**key;
	char		**value;
	size_t		  n;
};

struct mta_policy {
	enum mta_tls	 tls;		/* [smtpd] tls_policy */
	struct mta_map	 tls_map;	/* per destination domain */
	struct mta_map	 transport;	/* domain -> host:port */
	const char	*relayhost;	/* host:port or NULL */
	int		 port;		/* [smtpd] mta_port, for MX hosts */
	const char	*myhost;	/* [global] hostname: loops */
	int		 sts_port;	/* [smtpd] mta_sts_port (443) */
};

int	 mta_policy_load(struct mta_policy *, const struct sm_config *,
	    char *, size_t);
void	 mta_policy_free(struct mta_policy *);
int	 mta_map_parse(struct mta_map *, const char *, int (*)(const char *),
	    char *, size_t);
void	 mta_map_free(struct mta_map *);
const char *mta_map_get(const struct mta_map *, const char *);
int	 mta_tls_parse(const char *, enum mta_tls *);
const char *mta_tls_name(enum mta_tls);
enum mta_tls mta_tls_for(const struct mta_policy *, const char *);
const char *mta_nexthop(const struct mta_policy *, const char *);
int	 mta_hostport(const char *, char *, size_t, int *);
enum mta_tls mta_tls_sts(enum mta_tls, const struct mta_sts *);

/* the outcome of an MX lookup (mta_mx_plan) */
enum mta_plan {
	MTA_PLAN_MX,		/* hosts in preference order */
	MTA_PLAN_IMPLICIT,	/* no MX: the domain itself (RFC 5321 5.1) */
	MTA_PLAN_NULLMX,	/* "0 ." : the domain takes no mail */
	MTA_PLAN_NODOMAIN,	/* NXDOMAIN: permanent */
	MTA_PLAN_TEMP,		/* try later */
	MTA_PLAN_LOOP		/* we are the best MX: RFC 5321 5.1 */
};

struct mta_hosts {
	char		*name[MTA_HOSTS_MAX];
	size_t		 n;
};

enum mta_plan mta_mx_plan(const struct dns_result *, const char *,
	    struct mta_hosts *);
void	 mta_hosts_free(struct mta_hosts *);
enum mta_plan mta_mx_self(const struct dns_result *, const char *,
	    enum mta_plan, struct mta_hosts *);
int	 mta_greets_as_self(const char *, const char *);

/* results */
int	 mta_status(int);
void	 mta_result_text(char *, size_t, int, const char *, const char *);
int	 mta_text_valid(const char *);
int	 mta_needs_utf8(const char *);
int	 mta_same_domain(const char *, const char *);
const char *mta_domain(const char *);

/* mta_route.c: the addresses to try for a domain, in order */
struct mta_addr {
	char		 host[DNS_NAME_TEXT_MAX];	/* the name */
	struct sockaddr_storage ss;
	socklen_t	 sslen;
	char		 text[64];	/* "192.0.2.1" */
	int		 secure;	/* from a DNSSEC-secure A/AAAA answer */
	char		 canon[DNS_NAME_TEXT_MAX];	/* host is a CNAME of
							   this, or "" */
};

struct mta_route {
	enum mta_plan	 plan;
	int		 nexthop;	/* relayhost or transport, no MX */
	/* the MX answer (its denial for MTA_PLAN_IMPLICIT) was secure */
	int		 mx_secure;
	struct mta_addr	 a[MTA_ADDRS_MAX];
	size_t		 n;
	char		 why[MTA_TEXT_MAX];	/* when n is 0 */
};

void	 mta_route_init(struct event_base *, struct dns_ctx *);
void	 mta_route(const struct mta_policy *, const char *,
	    struct mta_route *);
enum dns_status mta_route_host(struct mta_route *, const char *, int);
void	 mta_lookup(const char *, uint16_t, dns_cb, void *);

/*
 * mta_dane.c: DANE for one MX host (RFC 7672, RFC 6698/7671).  For a
 * dane or dane-only destination, mta_dane_host() says what the address
 * needs: its TLSA records at _25._tcp.<host> are looked up only when the
 * MX set and the host's addresses came from secure answers.
 */
#define MTA_TLSA_MAX	8		/* usable records kept per host */
#define MTA_TLSA_DATA_MAX 4096		/* a full certificate or key */

enum mta_dane_state {
	MTA_DANE_NONE,		/* no secure TLSA: "dane" acts as "may" */
	MTA_DANE_AUTH,		/* usable TLSA: TLS, peer matches a record */
	MTA_DANE_ENCRYPT,	/* secure TLSA, none usable: TLS, unverified */
	MTA_DANE_DEFER		/* bogus or failed lookup, or dane-only with
				   no secure TLSA: this host is not used */
};

struct mta_tlsa {
	uint8_t		 usage;		/* 2 DANE-TA, 3 DANE-EE */
	uint8_t		 selector;	/* 0 certificate, 1 public key */
	uint8_t		 mtype;		/* 0 full, 1 SHA-256, 2 SHA-512 */
	size_t		 len;
	unsigned char	 data[MTA_TLSA_DATA_MAX];
};

struct mta_dane {
	enum mta_dane_state state;
	char		 host[DNS_NAME_TEXT_MAX];	/* TLSA base domain */
	char		 alias[DNS_NAME_TEXT_MAX];	/* the other name, for
							   a CNAME, or "" */
	struct mta_tlsa	 rec[MTA_TLSA_MAX];
	size_t		 n;
	char		 why[MTA_TEXT_MAX];		/* NONE, DEFER */
};

void	 mta_dane_init(struct event_base *, struct dns_ctx *, SSL_CTX *);
int	 mta_tlsa_usable(const struct dns_tlsa *);
void	 mta_dane_result(const struct dns_result *, struct mta_dane *);
void	 mta_dane_host(enum mta_tls, const struct mta_route *, size_t,
	    struct mta_dane *);
int	 mta_dane_ssl(SSL *, void *);
const char *mta_dane_verified(SSL *);

/* mta_session.c: one domain's recipients of one message */
struct mta_rcpt {
	uint32_t	 idx;
	const char	*addr;
	int		 code;
	char		 text[MTA_TEXT_MAX];
};

struct mta_job {
	const char	*id;
	const char	*from;
	const char	*domain;
	int		 msgfd;
	size_t		 size;
	int		 body8;		/* the message has 8-bit bytes */
	int		 utf8;		/* an address needs SMTPUTF8 */
	int		 requiretls;	/* RFC 8689: the author asked for it */
	struct mta_rcpt	*r;
	size_t		 n;
};

/*
 * MTA-STS (RFC 8461).  mta_sts.c: the parsers and the match, pure;
 * mta_sts_fetch.c: the _mta-sts TXT lookup, the HTTPS fetch of
 * https://mta-sts.<domain>/.well-known/mta-sts.txt and the per-process
 * cache.  mta_session.c asks mta_sts_get() for a destination domain's
 * policy (never for a relayhost or transport next hop) and applies it.
 */
#define MTA_STS_BODY_MAX	65536	/* a policy's bytes */
#define MTA_STS_HEAD_MAX	8192	/* an HTTP response's head */
#define MTA_STS_MX_MAX		64	/* mx patterns of a policy */
#define MTA_STS_AGE_MAX		31557600 /* max_age's limit, seconds */
#define MTA_STS_ID_MAX		32	/* the TXT record's id */
#define MTA_STS_TIMEOUT		20	/* seconds for a whole fetch */

enum mta_sts_mode {
	MTA_STS_NONE,		/* published, but asks for nothing */
	MTA_STS_TESTING,	/* only log what enforce would refuse */
	MTA_STS_ENFORCE		/* listed MX hosts, verified TLS */
};

struct mta_sts {
	enum mta_sts_mode mode;
	long		 max_age;
	char		*mx[MTA_STS_MX_MAX];	/* "mx.example.org",
						   "*.example.org" */
	size_t		 nmx;
	char		 id[MTA_STS_ID_MAX + 1];	/* of the TXT record */
	time_t		 expires;
};

enum mta_http {
	MTA_HTTP_MORE,		/* read on */
	MTA_HTTP_DONE,		/* the body is complete */
	MTA_HTTP_ERROR
};

int	 mta_sts_txt(const char *, size_t, char *, size_t);
int	 mta_sts_parse(const char *, size_t, struct mta_sts *, char *,
	    size_t);
void	 mta_sts_free(struct mta_sts *);
int	 mta_sts_match(const char *, const char *);
int	 mta_sts_mx_ok(const struct mta_sts *, const char *);
const char *mta_sts_mode_name(enum mta_sts_mode);
enum mta_http mta_sts_http(const char *, size_t, int, struct buf *, char *,
	    size_t);

void	 mta_sts_init(SSL_CTX *, int);
const struct mta_sts *mta_sts_get(const char *, const char *);
int	 mta_sts_cert_ok(SSL *, const char *, char *, size_t);

void	 mta_session_init(const struct sm_config *, const struct mta_policy *,
	    SSL_CTX *);
void	 mta_session_run(struct mta_job *);
void	 mta_session_idle(void);
int	 mta_session_kept(void);

#endif
