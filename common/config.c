/*
 * config.c - the sealmail.conf schema; see config.h.  config_parse.c
 * reads the file, config_value.c parses and checks each value.
 *
 * The table cfg_keys[] is the whole schema: section, key, type, default,
 * and where the value lands in struct sm_config.  Adding a setting is one
 * line here and one field in config.h.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

#define O(f)	offsetof(struct sm_config, f)

/*
 * Session deadlines as Postfix sets smtpd_timeout (300s, 10s under
 * stress); the first command comes at once from any MTA or MUA; content
 * at 16 KB/s is 25 MB in under half an hour.
 */
#define SESSION_LIMITS(sec, f)						\
	{ sec, "greeting_timeout", CFG_DURATION,			\
	    O(f.greeting_timeout), "1m" },				\
	{ sec, "command_timeout", CFG_DURATION,				\
	    O(f.command_timeout), "5m" },				\
	{ sec, "data_timeout", CFG_DURATION, O(f.data_timeout), "5m" },	\
	{ sec, "data_min_rate", CFG_SIZE, O(f.data_min_rate), "16k" },	\
	{ sec, "session_timeout", CFG_DURATION,				\
	    O(f.session_timeout), "1h" },				\
	{ sec, "stress_threshold", CFG_PERCENT,				\
	    O(f.stress_threshold), "80" },				\
	{ sec, "stress_timeout", CFG_DURATION, O(f.stress_timeout),	\
	    "10s" }

const struct cfg_key cfg_keys[] = {
	{ "global", "prefix", CFG_STR, O(prefix), "/" },
	{ "global", "hostname", CFG_STR, O(hostname), NULL },
	{ "global", "user", CFG_USER, O(user), "sealmail" },
	{ "global", "queue_user", CFG_USER, O(queue_user), "sealmailq" },
	{ "global", "mail_user", CFG_USER, O(mail_user), "vmail" },
	{ "global", "empty_dir", CFG_PATH, O(empty_dir), "var/empty" },
	{ "global", "run_dir", CFG_PATH, O(run_dir), "run/sealmail" },
	{ "global", "db_dir", CFG_PATH, O(db_dir), "var/lib/sealmail/db" },
	{ "global", "queue_dir", CFG_PATH, O(queue_dir),
	    "var/spool/sealmail/queue" },
	{ "global", "mail_root", CFG_PATH, O(mail_root), "var/mail/sealmail" },
	{ "global", "quarantine_dir", CFG_PATH, O(quarantine_dir),
	    "var/spool/sealmail/quarantine" },
	{ "global", "passwd_db", CFG_PATH, O(passwd_db),
	    "var/lib/sealmail/db/passwd" },
	{ "global", "tls_cert", CFG_PATH, O(tls_cert), NULL },
	{ "global", "tls_key", CFG_PATH, O(tls_key), NULL },
	{ "global", "tls_ca", CFG_PATH, O(tls_ca), NULL },
	{ "global", "postmaster", CFG_ADDR, O(postmaster), "" },
	{ "global", "log_level", CFG_LOGLEVEL, O(log_level), "info" },
	{ "global", "resolver", CFG_RESOLVER, O(resolver), NULL },
	{ "global", "dns_trust_anchor", CFG_PATH, O(dns_trust_anchor), NULL },
	{ "global", "trace_days", CFG_INT, O(trace_days), "90" },

	{ "smtpd", "listen", CFG_LISTEN, O(smtpd_listen), "0.0.0.0:25" },
	{ "smtpd", "queue_socket", CFG_PATH, O(queue_socket),
	    "run/sealmail/queue.sock" },
	{ "smtpd", "max_message_size", CFG_SIZE, O(max_message_size), "25M" },
	{ "smtpd", "max_sessions", CFG_INT, O(smtpd_max_sessions), "2000" },
	{ "smtpd", "max_sessions_per_ip", CFG_INT,
	    O(smtpd_max_sessions_per_ip), "20" },
	SESSION_LIMITS("smtpd", smtpd_limits),
	{ "smtpd", "max_rcpt", CFG_INT, O(smtpd_max_rcpt), "100" },
	{ "smtpd", "keyserver_port", CFG_INT, O(smtpd_keyserver_port),
	    "4025" },
	{ "smtpd", "queue_lifetime", CFG_DURATION, O(queue_lifetime), "5d" },
	{ "smtpd", "retry_min", CFG_DURATION, O(retry_min), "5m" },
	{ "smtpd", "retry_max", CFG_DURATION, O(retry_max), "4h" },
	{ "smtpd", "delay_warning_time", CFG_DURATION,
	    O(delay_warning_time), "0" },
	{ "smtpd", "sign_ed25519", CFG_BOOL, O(sign_ed25519), "yes" },
	{ "smtpd", "signature_ttl", CFG_DURATION, O(signature_ttl), "7d" },
	{ "smtpd", "relayhost", CFG_HOSTPORT, O(relayhost), NULL },
	{ "smtpd", "transport", CFG_STR, O(transport), NULL },
	{ "smtpd", "mta_port", CFG_INT, O(mta_port), "25" },
	{ "smtpd", "tls_policy", CFG_STR, O(tls_policy), "may" },
	{ "smtpd", "tls_policy_map", CFG_STR, O(tls_policy_map), NULL },
	{ "smtpd", "mta_sts_port", CFG_PORT, O(mta_sts_port), "443" },
	{ "smtpd", "verdict_mode", CFG_WORD, O(verdict_mode), "soft" },
	{ "smtpd", "verdict_require", CFG_WORDS, O(verdict_require), NULL },
	{ "smtpd", "dmarc_reject", CFG_WORD, O(dmarc_reject), "unsafe" },
	{ "smtpd", "tls_client_ca", CFG_PATH, O(tls_client_ca), NULL },
	{ "smtpd", "registry_zones", CFG_ZONES, O(smtpd_registry_zones), "" },
	{ "smtpd", "callback_port", CFG_PORT_OFF, O(smtpd_callback_port),
	    "0" },

	{ "submitd", "listen", CFG_LISTEN, O(submitd_listen), "0.0.0.0:587" },
	{ "submitd", "listen_tls", CFG_LISTEN, O(submitd_listen_tls),
	    "0.0.0.0:465" },
	{ "submitd", "pam_service", CFG_STR, O(pam_service), "sealmail" },
	{ "submitd", "pam_workers", CFG_INT, O(pam_workers), "0" },
	{ "submitd", "max_sessions", CFG_INT, O(submitd_max_sessions),
	    "2000" },
	{ "submitd", "max_sessions_per_ip", CFG_INT,
	    O(submitd_max_sessions_per_ip), "10" },
	SESSION_LIMITS("submitd", submitd_limits),
	{ "submitd", "auth_fail_max", CFG_INT, O(auth_fail_max), "10" },
	{ "submitd", "auth_fail_window", CFG_DURATION, O(auth_fail_window),
	    "15m" },
	{ "submitd", "max_rcpt_per_msg", CFG_INT,
	    O(default_max_rcpt_per_msg), "50" },
	{ "submitd", "max_rcpt_per_day", CFG_INT,
	    O(default_max_rcpt_per_day), "300" },

	{ "imapd", "listen", CFG_LISTEN, O(imapd_listen), "0.0.0.0:143" },
	{ "imapd", "listen_tls", CFG_LISTEN, O(imapd_listen_tls),
	    "0.0.0.0:993" },
	{ "imapd", "max_sessions", CFG_INT, O(imapd_max_sessions), "2000" },
	{ "imapd", "max_sessions_per_ip", CFG_INT,
	    O(imapd_max_sessions_per_ip), "50" },
	{ "imapd", "login_timeout", CFG_DURATION, O(imapd_login_timeout),
	    "1m" },
	{ "imapd", "stress_threshold", CFG_PERCENT,
	    O(imapd_limits.stress_threshold), "80" },
	{ "imapd", "stress_timeout", CFG_DURATION,
	    O(imapd_limits.stress_timeout), "10s" },
	{ "imapd", "max_literal", CFG_SIZE, O(imapd_max_literal), "64M" },
	{ "imapd", "max_command", CFG_SIZE, O(imapd_max_command), "64M" },
	{ "imapd", "auth_fail_max", CFG_INT, O(imapd_auth_fail_max), "10" },
	{ "imapd", "auth_fail_window", CFG_DURATION,
	    O(imapd_auth_fail_window), "15m" },

	{ "mda", "lmtp_socket", CFG_PATH, O(lmtp_socket),
	    "run/sealmail/lmtp.sock" },
	{ "mda", "trusted_user", CFG_USER, O(lmtp_trusted_user), "sealmailq" },
	{ "mda", "quarantine_days", CFG_INT, O(quarantine_days), "14" },
	{ "mda", "lmtp_max_sessions", CFG_INT, O(lmtp_max_sessions), "64" },
	{ "mda", "lmtp_processes", CFG_INT, O(lmtp_processes), "4" },
	{ "mda", "delivery_record_days", CFG_INT, O(delivery_record_days),
	    "10" },

	{ "keystore", "socket", CFG_PATH, O(keystore_socket),
	    "run/sealmail/keystore.sock" },
	{ "keystore", "listen", CFG_LISTEN, O(keystore_listen),
	    "0.0.0.0:4025" },
	{ "keystore", "clients", CFG_STR, O(keystore_clients), "sealmailq" },
	{ "keystore", "db_dir", CFG_PATH, O(keystore_db_dir),
	    "var/lib/sealmail/keys" },
	{ "keystore", "passphrase_file", CFG_PATH,
	    O(keystore_passphrase_file), "etc/sealmail/keystore.passphrase" },
	{ "keystore", "rotate_grace", CFG_DURATION, O(keystore_rotate_grace),
	    "7d" },
	{ "keystore", "revoked_publish", CFG_DURATION,
	    O(keystore_revoked_publish), "30d" },
	{ "keystore", "forward", CFG_HOSTPORT, O(keystore_forward), NULL },
};

#undef SESSION_LIMITS
#undef O

#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))
const size_t cfg_nkeys = CFG_NKEYS;

static const char *cfg_sections[] = {
	"global", "smtpd", "submitd", "imapd", "mda", "keystore"
};

const char *
config_default_path(void)
{
	const char *env = getenv("SEALMAIL_CONF");

	if (env != NULL && *env != '\0')
		return env;
	return SM_SYSCONFDIR "/sealmail/sealmail.conf";
}

const struct cfg_key *
cfg_find(const char *section, const char *name)
{
	size_t	 i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

int
cfg_known_section(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(cfg_sections) / sizeof(cfg_sections[0]); i++)
		if (strcmp(cfg_sections[i], s) == 0)
			return 1;
	return 0;
}

/* The words of the CFG_WORD and CFG_WORDS keys. */
static const struct {
	const char	*section, *name, *words;
} cfg_words[] = {
	{ "smtpd", "verdict_mode", "soft hardline" },
	{ "smtpd", "verdict_require", "tls spf registry callback" },
	{ "smtpd", "dmarc_reject", "unsafe refuse" },
};

const char *
cfg_key_words(const struct cfg_key *k)
{
	size_t	 i;

	for (i = 0; i < sizeof(cfg_words) / sizeof(cfg_words[0]); i++)
		if (strcmp(cfg_words[i].section, k->section) == 0 &&
		    strcmp(cfg_words[i].name, k->name) == 0)
			return cfg_words[i].words;
	return "";
}
