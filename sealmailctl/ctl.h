/*
 * ctl.h - what the parts of sealmailctl share: the context every verb
 * gets, and the verb functions of each file (sealmailctl.c holds the
 * table that maps command words to them).
 *
 * sealmailctl runs as root from an administrator's shell; its arguments
 * and standard input are the administrator's, but they are validated as
 * carefully as network input because they become database keys and paths.
 */
#ifndef SM_CTL_H
#define SM_CTL_H

#include <signal.h>

#include "config.h"
#include "db.h"
#include "userdb.h"

struct ks_db;

/* Exit codes. */
#define CTL_OK		0
#define CTL_FAIL	1	/* refused or failed; nothing changed */
#define CTL_USAGE	2
#define CTL_NOTRUNNING	3	/* status: not every daemon runs (LSB) */

struct ctl {
	const char	*conf_path;
	struct sm_config cfg;
	struct db_env	*env;
	struct userdb	*udb;
	struct ks_db	*kdb;		/* the keystore's key database */
	const char	*verb;		/* "user add", for messages */
};

/*
 * Set by SIGINT, SIGTERM and SIGHUP: a blocking read (the password prompt)
 * returns and the verb gives up, so the environment is still closed
 * cleanly instead of being left for recovery.
 */
extern volatile sig_atomic_t ctl_signal;

/* Print "sealmailctl: <verb>: <message>" to stderr; returns CTL_FAIL. */
int	 ctl_err(struct ctl *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* users.c */
int	 ctl_domain_add(struct ctl *, int, char **);
int	 ctl_domain_del(struct ctl *, int, char **);
int	 ctl_domain_list(struct ctl *, int, char **);
int	 ctl_user_add(struct ctl *, int, char **);
int	 ctl_user_del(struct ctl *, int, char **);
int	 ctl_user_show(struct ctl *, int, char **);
int	 ctl_user_list(struct ctl *, int, char **);
int	 ctl_user_passwd(struct ctl *, int, char **);
int	 ctl_user_set(struct ctl *, int, char **);
int	 ctl_user_lock(struct ctl *, int, char **);
int	 ctl_user_unlock(struct ctl *, int, char **);
int	 ctl_alias_add(struct ctl *, int, char **);
int	 ctl_alias_del(struct ctl *, int, char **);
int	 ctl_alias_list(struct ctl *, int, char **);

/* keys.c */
int	 ctl_keys_open(struct ctl *);
void	 ctl_keys_close(struct ctl *);
int	 ctl_keys_show(struct ctl *, int, char **);
int	 ctl_keys_rotate(struct ctl *, int, char **);
int	 ctl_keys_revoke(struct ctl *, int, char **);
int	 ctl_keys_dns(struct ctl *, int, char **);
/* One active key per algorithm for an owner / every key revoked. */
int	 ctl_keys_make(struct ctl *, const char *);
int	 ctl_keys_drop(struct ctl *, const char *);

/* service.c */
int	 ctl_start(struct ctl *, int, char **);
int	 ctl_stop(struct ctl *, int, char **);
int	 ctl_restart(struct ctl *, int, char **);
int	 ctl_status(struct ctl *, int, char **);

/* quarantine.c */
int	 ctl_quarantine_list(struct ctl *, int, char **);
int	 ctl_quarantine_release(struct ctl *, int, char **);
/* Make the user's Unsafe folder (as the mail user); CTL_OK or CTL_FAIL. */
int	 ctl_unsafe_folder(struct ctl *, const char *);

/* queue.c */
int	 ctl_queue_list(struct ctl *, int, char **);
int	 ctl_queue_show(struct ctl *, int, char **);
int	 ctl_queue_flush(struct ctl *, int, char **);
int	 ctl_queue_delete(struct ctl *, int, char **);
int	 ctl_quarantine_purge(struct ctl *, int, char **);

/* registry.c */
int	 ctl_registry_add(struct ctl *, int, char **);
int	 ctl_registry_del(struct ctl *, int, char **);
int	 ctl_registry_list(struct ctl *, int, char **);

/* trace.c */
int	 ctl_trace(struct ctl *, int, char **);

#endif
