/*
 * daemon.h - what every Sealmail daemon does the same way: command-line
 * options, detaching, the pidfile, and signals (SIGTERM/SIGINT stop,
 * SIGHUP reload, SIGCHLD noticed) on a libevent base.
 */
#ifndef SM_DAEMON_H
#define SM_DAEMON_H

#include <sys/types.h>

struct event_base;
struct sm_config;

struct daemon_opts {
	const char	*name;		/* "smtpd" */
	const char	*config;	/* -c */
	int		 foreground;	/* -d */
	int		 verbose;	/* -v */
};

/*
 * A role started by re-exec (daemon_role_exec) finds its channel to the
 * parent on ROLE_IPC_FD and its listeners, if any, from ROLE_LISTEN_FD on.
 */
#define ROLE_IPC_FD	3
#define ROLE_LISTEN_FD	4
#define ROLE_FDS_MAX	64	/* channel and listeners */

void	 daemon_getopt(int, char **, struct daemon_opts *);
void	 daemon_load_config(const struct daemon_opts *, struct sm_config *);
int	 daemon_reload_config(const struct daemon_opts *, struct sm_config *);
void	 daemon_detach(const struct daemon_opts *);
void	 daemon_pidfile(const struct sm_config *, const char *);
void	 daemon_pidfile_remove(void);
void	 daemon_signals(struct event_base *, void (*)(void *),
	    void (*)(pid_t, int, void *), void *);
void	 daemon_child_signals(struct event_base *);
void	 daemon_role_exec(const struct daemon_opts *, const char *,
	    const char *, int, const int *, int) __attribute__((noreturn));
void	 daemon_stop(void);
int	 daemon_stopping(void);

#endif
