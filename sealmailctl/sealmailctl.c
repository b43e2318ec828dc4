/*
 * sealmailctl.c - the administrator's command: entry point and verb table.
 *
 *	sealmailctl [-c FILE] VERB ...
 *
 * FILE defaults to $SEALMAIL_CONF, else the installed sealmail.conf.
 * Each verb is one function (users.c: domains, users, aliases; keys.c:
 * the keystore's keys; service.c: start, stop, restart, status;
 * quarantine.c: the quarantine; registry.c: the registry of trusted
 * transmitters; trace.c: who sent a message), found by matching
 * the command words against the table below; the table also holds each
 * verb's argument counts and usage line, so the usage text cannot drift
 * from what is accepted.
 *
 * Runs as root: it opens the Berkeley DB environments (only root processes
 * may: the users' and, for the verbs that need it, the keystore's) and
 * writes the pam_userdb file.  Output is plain text, one record a
 * line; errors go to stderr with a nonzero exit, and a refused command
 * changes nothing.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

static int	 ctl_check_config(struct ctl *, int, char **);

volatile sig_atomic_t ctl_signal;

#define DB_USERS	1	/* needs the user database */
#define DB_KEYS		2	/* needs the key database too */

struct verb {
	const char	*words[3];	/* command words, NULL-terminated */
	int		 min, max;	/* arguments after them; max -1: any */
	int		 db;		/* DB_USERS, DB_USERS | DB_KEYS */
	int		 (*fn)(struct ctl *, int, char **);
	const char	*args;		/* for the usage text */
};

static const struct verb verbs[] = {
	{ { "check-config" }, 0, 1, 0, ctl_check_config, "[-v]" },
	{ { "start" }, 0, -1, 0, ctl_start, "[DAEMON ...]" },
	{ { "stop" }, 0, -1, 0, ctl_stop, "[DAEMON ...]" },
	{ { "restart" }, 0, -1, 0, ctl_restart, "[DAEMON ...]" },
	{ { "status" }, 0, -1, 0, ctl_status, "[DAEMON ...]" },
	{ { "domain", "add" }, 1, 1, DB_USERS | DB_KEYS, ctl_domain_add,
	    "DOMAIN" },
	{ { "domain", "del" }, 1, 1, DB_USERS | DB_KEYS, ctl_domain_del,
	    "DOMAIN" },
	{ { "domain", "list" }, 0, 0, 1, ctl_domain_list, "" },
	{ { "user", "add" }, 1, 1, DB_USERS | DB_KEYS, ctl_user_add,
	    "ADDRESS" },
	{ { "user", "del" }, 1, 1, DB_USERS | DB_KEYS, ctl_user_del,
	    "ADDRESS" },
	{ { "user", "show" }, 1, 1, 1, ctl_user_show, "ADDRESS" },
	{ { "user", "passwd" }, 1, 1, 1, ctl_user_passwd, "ADDRESS" },
	{ { "user", "list" }, 0, 1, 1, ctl_user_list, "[DOMAIN]" },
	{ { "user", "set" }, 2, -1, 1, ctl_user_set, "ADDRESS KEY=VALUE ..." },
	{ { "user", "lock" }, 1, -1, 1, ctl_user_lock, "ADDRESS [REASON]" },
	{ { "user", "unlock" }, 1, 1, 1, ctl_user_unlock, "ADDRESS" },
	{ { "user", "alias", "add" }, 2, 3, 1, ctl_alias_add,
	    "ADDRESS ALIAS [sender=yes|no]" },
	{ { "user", "alias", "del" }, 2, 2, 1, ctl_alias_del, "ADDRESS ALIAS" },
	{ { "user", "alias", "list" }, 1, 1, 1, ctl_alias_list, "ADDRESS" },
	{ { "keys", "show" }, 1, 1, DB_USERS | DB_KEYS, ctl_keys_show,
	    "ADDRESS|DOMAIN" },
	{ { "keys", "rotate" }, 1, 1, DB_USERS | DB_KEYS, ctl_keys_rotate,
	    "ADDRESS|DOMAIN" },
	{ { "keys", "revoke" }, 1, 2, DB_USERS | DB_KEYS, ctl_keys_revoke,
	    "ADDRESS|DOMAIN [SELECTOR]" },
	{ { "keys", "dns" }, 0, 1, DB_USERS | DB_KEYS, ctl_keys_dns,
	    "[DOMAIN]" },
	{ { "quarantine", "list" }, 1, 1, 1, ctl_quarantine_list, "ADDRESS" },
	{ { "quarantine", "release" }, 2, 2, 1, ctl_quarantine_release,
	    "ADDRESS ID" },
	{ { "quarantine", "purge" }, 0, 0, 0, ctl_quarantine_purge, "" },
	{ { "queue", "list" }, 0, 0, 0, ctl_queue_list, "" },
	{ { "queue", "show" }, 1, 1, 0, ctl_queue_show, "ID" },
	{ { "queue", "flush" }, 0, 0, 0, ctl_queue_flush, "" },
	{ { "queue", "delete" }, 1, 1, 0, ctl_queue_delete, "ID" },
	{ { "registry", "add" }, 1, 5, 1, ctl_registry_add,
	    "NAME [--note TEXT] [--expires YYYY-MM-DD|DAYSd]" },
	{ { "registry", "del" }, 1, 1, 1, ctl_registry_del, "NAME" },
	{ { "registry", "list" }, 0, 0, 1, ctl_registry_list, "" },
	{ { "trace" }, 1, 2, DB_USERS, ctl_trace,
	    "TRACKING-ID | --message FILE|-" },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

int
ctl_err(struct ctl *c, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "sealmailctl: %s: ", c->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_FAIL;
}

static void
verb_name(const struct verb *v, char *out, size_t len)
{
	size_t	 i, off = 0;

	out[0] = '\0';
	for (i = 0; i < 3 && v->words[i] != NULL && off < len; i++)
		off += snprintf(out + off, len - off, "%s%s", i ? " " : "",
		    v->words[i]);
}

static void __attribute__((noreturn))
usage(void)
{
	char	 name[64];
	size_t	 i;

	fprintf(stderr, "usage: sealmailctl [-c FILE] VERB ...\n");
	for (i = 0; i < NVERBS; i++) {
		verb_name(&verbs[i], name, sizeof(name));
		fprintf(stderr, "       sealmailctl %s%s%s\n", name,
		    verbs[i].args[0] != '\0' ? " " : "", verbs[i].args);
	}
	fprintf(stderr, "settings (user set): ");
	for (i = 0; userdb_setting_keys()[i] != NULL; i++)
		fprintf(stderr, "%s%s", i ? ", " : "",
		    userdb_setting_keys()[i]);
	fprintf(stderr, "\n");
	exit(CTL_USAGE);
}

/* The verb whose words are the longest prefix of argv; *nwords set. */
static const struct verb *
verb_find(int argc, char **argv, int *nwords)
{
	const struct verb	*best = NULL;
	size_t			 i;
	int			 n;

	*nwords = 0;
	for (i = 0; i < NVERBS; i++) {
		for (n = 0; n < 3 && verbs[i].words[n] != NULL; n++)
			if (n >= argc || strcmp(argv[n], verbs[i].words[n]))
				break;
		if ((n == 3 || verbs[i].words[n] == NULL) && n > *nwords) {
			best = &verbs[i];
			*nwords = n;
		}
	}
	return best;
}

static int
ctl_check_config(struct ctl *c, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "-v") != 0)
		usage();
	if (argc == 1) {
		fflush(stdout);
		config_dump(&c->cfg, STDOUT_FILENO);
	}
	printf("config=%s ok\n", c->conf_path);
	return CTL_OK;
}

static void
on_signal(int sig)
{
	ctl_signal = sig;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: reads return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int
ctl_open_db(struct ctl *c)
{
	if ((c->env = db_env_open(c->cfg.db_dir)) == NULL)
		return ctl_err(c, "cannot open the database in %s",
		    c->cfg.db_dir);
	if ((c->udb = userdb_open(c->env)) == NULL) {
		db_env_close(c->env);
		c->env = NULL;
		return ctl_err(c, "cannot open the user database in %s",
		    c->cfg.db_dir);
	}
	return CTL_OK;
}

int
main(int argc, char *argv[])
{
	const struct verb	*v;
	struct ctl		 c;
	char			 err[1024], name[64];
	int			 ch, nwords, nargs, r;

	memset(&c, 0, sizeof(c));
	log_init("sealmailctl", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			c.conf_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((v = verb_find(argc, argv, &nwords)) == NULL)
		usage();
	nargs = argc - nwords;
	if (nargs < v->min || (v->max >= 0 && nargs > v->max))
		usage();
	verb_name(v, name, sizeof(name));
	c.verb = name;
	if (c.conf_path == NULL)
		c.conf_path = config_default_path();
	if (config_load(c.conf_path, &c.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "sealmailctl: %s\n", err);
		return CTL_FAIL;
	}
	catch_signals();
	if (v->db && ctl_open_db(&c) != CTL_OK) {
		config_free(&c.cfg);
		return CTL_FAIL;
	}
	if ((v->db & DB_KEYS) && ctl_keys_open(&c) != CTL_OK) {
		userdb_close(c.udb);
		db_env_close(c.env);
		config_free(&c.cfg);
		return CTL_FAIL;
	}
	r = v->fn(&c, nargs, argv + nwords);
	if (fflush(stdout) == EOF && r == CTL_OK)
		r = ctl_err(&c, "writing the output failed");
	ctl_keys_close(&c);
	userdb_close(c.udb);
	db_env_close(c.env);
	config_free(&c.cfg);
	if (ctl_signal != 0)
		return 128 + ctl_signal;
	return r;
}
