/*
 * config.h - sealmail.conf: one file, "key = value" lines under
 * [global], [smtpd], [submitd], [imapd], [mda] and [keystore].
 *
 * The parser is table-driven (config.c: cfg_keys[]); every key has a type,
 * a default and a place in struct sm_config.  An unknown section or key, a
 * repeated key or a bad value is an error naming file, line and key.  Paths
 * are resolved against [global] prefix once the whole file is read, so the
 * order of lines does not matter.  Runs in privileged parents before they
 * fork; the file is the administrator's, not outside input, but is parsed
 * as carefully as if it were (it has a fuzz target).
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_LISTEN_MAX	8

struct cfg_listen {
	char	*addr[CFG_LISTEN_MAX];	/* "127.0.0.1:25", "[::1]:25" */
	int	 n;
};

/*
 * How long a network session may take, and stress mode ([smtpd] and
 * [submitd]; [imapd] uses the stress fields): see common/smtp.h
 * "Deadlines" and common/net.h "Stress".  Seconds; 0: no bound.
 */
struct cfg_session_limits {
	long	 greeting_timeout;	/* connect to the first command */
	long	 command_timeout;	/* each command line */
	long	 data_timeout;		/* message content ... */
	size_t	 data_min_rate;		/* ... plus size / rate (bytes/s) */
	long	 session_timeout;	/* the whole session */
	int	 stress_threshold;	/* percent of max_sessions; 0: off */
	long	 stress_timeout;	/* every deadline under stress */
};

struct sm_config {
	char	*path;

	/* [global] */
	char	*prefix;
	char	*hostname;
	char	*user;		/* unprivileged user of network parsers */
	char	*queue_user;	/* owner of the queue */
	char	*mail_user;	/* owner of every Maildir (vmail) */
	char	*empty_dir;	/* chroot of network-facing processes */
	char	*run_dir;	/* pidfiles and unix sockets */
	char	*db_dir;	/* Berkeley DB environment */
	char	*queue_dir;
	char	*mail_root;	/* <mail_root>/<domain>/<user>/Maildir */
	char	*quarantine_dir;
	char	*passwd_db;	/* pam_userdb file, without ".db" */
	char	*tls_cert;
	char	*tls_key;
	char	*tls_ca;	/* trust anchors for outgoing TLS */
	char	*postmaster;	/* administrator address for notices */
	int	 log_level;
	char	*resolver;	/* DNS upstream, NULL: /etc/resolv.conf */
	char	*dns_trust_anchor; /* DNSSEC anchors, NULL: none validated */
	int	 trace_days;	/* trace records kept (common/trace) */

	/* [smtpd] */
	struct cfg_listen smtpd_listen;
	char	*queue_socket;	/* submitd -> queue */
	size_t	 max_message_size;
	int	 smtpd_max_sessions;
	int	 smtpd_max_sessions_per_ip;
	struct cfg_session_limits smtpd_limits;
	int	 smtpd_max_rcpt;
	int	 smtpd_keyserver_port;	/* key servers asked for DKIM keys */
	int	 smtpd_callback_port;	/* the callback (smtpd/callback.h),
					   0: off */
	long	 queue_lifetime;	/* seconds */
	long	 retry_min;		/* seconds, first retry delay */
	long	 retry_max;		/* seconds, backoff ceiling */
	long	 delay_warning_time;	/* seconds before a delay notice,
					   0 none */
	int	 sign_ed25519;		/* a second signature, ed25519-sha256 */
	long	 signature_ttl;		/* seconds from t= to x= */
	char	*relayhost;		/* "host:port" for all remote mail */
	char	*transport;		/* "domain=host:port ..." */
	int	 mta_port;		/* port of MX hosts (25) */
	char	*tls_policy;		/* may, encrypt, verify */
	char	*tls_policy_map;	/* "domain=policy ..." */
	int	 mta_sts_port;		/* MTA-STS policy servers' (443) */
	char	*verdict_mode;		/* soft, hardline */
	char	*verdict_require;	/* tls spf registry callback */
	char	*dmarc_reject;		/* unsafe, refuse */
	char	*tls_client_ca;		/* client certificates' anchors */
	char	*smtpd_registry_zones;	/* DNS registry zones, NULL: none */

	/* [submitd] */
	struct cfg_listen submitd_listen;	/* STARTTLS, 587 */
	struct cfg_listen submitd_listen_tls;	/* implicit TLS, 465 */
	char	*pam_service;
	int	 pam_workers;		/* 0: one per CPU */
	int	 submitd_max_sessions;
	int	 submitd_max_sessions_per_ip;
	struct cfg_session_limits submitd_limits;
	int	 auth_fail_max;		/* per address before it is refused */
	long	 auth_fail_window;	/* seconds */
	int	 default_max_rcpt_per_msg;
	int	 default_max_rcpt_per_day;

	/* [imapd] */
	struct cfg_listen imapd_listen;		/* STARTTLS, 143 */
	struct cfg_listen imapd_listen_tls;	/* implicit TLS, 993 */
	int	 imapd_max_sessions;
	int	 imapd_max_sessions_per_ip;
	long	 imapd_login_timeout;	/* connect to login, in total */
	struct cfg_session_limits imapd_limits;	/* stress_* only */
	size_t	 imapd_max_literal;
	size_t	 imapd_max_command;	/* all literals of one command */
	int	 imapd_auth_fail_max;	/* per address before it is refused */
	long	 imapd_auth_fail_window;	/* seconds */

	/* [mda] */
	char	*lmtp_socket;
	char	*lmtp_trusted_user;	/* may set the classification */
	int	 quarantine_days;
	int	 lmtp_max_sessions;	/* concurrent; more get 421 */
	int	 lmtp_processes;	/* mda.lmtp processes sharing them */
	int	 delivery_record_days;	/* idempotency records kept */

	/* [keystore] */
	char	*keystore_socket;
	struct cfg_listen keystore_listen;
	char	*keystore_clients;	/* users allowed to ask for signatures */
	char	*keystore_db_dir;	/* the keys' encrypted environment */
	char	*keystore_passphrase_file;	/* root's, mode 0600 */
	long	 keystore_rotate_grace;	/* seconds a rotated key stays */
	long	 keystore_revoked_publish;	/* seconds "revoked" is shown */
	char	*keystore_forward;	/* "host:port" for -FW, NULL: none */
};

int	 config_load(const char *, struct sm_config *, char *, size_t);
int	 config_parse_mem(const char *, const char *, size_t,
	    struct sm_config *, char *, size_t);
void	 config_free(struct sm_config *);
const char *config_default_path(void);
void	 config_dump(const struct sm_config *, int);

/*
 * The value parsers, 0 or -1: sizes take a k, m or g unit (1024-based,
 * either case), durations s, m, h, d or w; a boolean is yes, true, on, 1
 * or no, false, off, 0 in any case.  userdb's settings read the same.
 */
int	 cfg_parse_uint(const char *, uint64_t max, uint64_t *);
int	 cfg_parse_bytes(const char *, uint64_t max, uint64_t *);
int	 cfg_parse_size(const char *, size_t *);
int	 cfg_parse_duration(const char *, long *);
int	 cfg_parse_bool(const char *, int *);
int	 cfg_parse_listen_addr(const char *, char **, char **);
int	 cfg_valid_resolver(const char *);

#endif
