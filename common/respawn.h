/*
 * respawn.h - keeping a daemon's roles alive.
 *
 * A root parent describes each role it forks with a struct respawn and a
 * start function that forks it (priv_fork, then whatever the role needs)
 * and records the child's pid in r->pid.  When the role dies the parent
 * calls respawn_reap() from its SIGCHLD callback; the role is started
 * again after a backoff that doubles with each quick death (100 ms up to
 * RESPAWN_DELAY_MAX_MS).  A role that dies RESPAWN_BURST times within
 * RESPAWN_WINDOW seconds is given up on: the parent stops and exits
 * non-zero (respawn_failed()), so systemd's Restart= or the administrator
 * takes over instead of a tight crash loop.
 *
 * A role whose channel closes but whose process lingers is killed with
 * respawn_lost(); its restart follows from the reaping, so there is never
 * more than one instance of a role.
 *
 *	static void start_worker(struct respawn *r, void *arg) {
 *		if ((r->pid = priv_fork("x.worker", &fd)) == 0) { ... }
 *		worker_ipc = ipc_conn_new(base, fd, ...);
 *	}
 *	respawn_init(&worker, base, "x.worker", start_worker, NULL);
 *	respawn_run(&worker);
 *	... in the SIGCHLD callback: respawn_reap(&worker, pid, status);
 */
#ifndef SM_RESPAWN_H
#define SM_RESPAWN_H

#include <sys/types.h>

#include <time.h>

#define RESPAWN_BURST		5
#define RESPAWN_WINDOW		30	/* seconds */
#define RESPAWN_DELAY_MIN_MS	100
#define RESPAWN_DELAY_MAX_MS	5000

struct event;
struct event_base;

struct respawn {
	const char	*name;
	pid_t		 pid;		/* 0: not running */
	void		(*start)(struct respawn *, void *);
	void		*arg;
	struct event	*timer;
	time_t		 deaths[RESPAWN_BURST];	/* ring of death times */
	unsigned	 ndeaths;		/* total, indexes the ring */
	unsigned	 restarts;		/* how often it was restarted */
};

void	 respawn_init(struct respawn *, struct event_base *, const char *,
	    void (*)(struct respawn *, void *), void *);
void	 respawn_run(struct respawn *);
int	 respawn_reap(struct respawn *, pid_t, int);
void	 respawn_lost(struct respawn *);
void	 respawn_stop(struct respawn *);
void	 respawn_free(struct respawn *);
int	 respawn_failed(void);
unsigned respawn_next_delay_ms(const struct respawn *, time_t);

#endif
