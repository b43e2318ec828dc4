/*
 * pamworker.h - PAM checks off a root parent's event loop (submitd's and
 * imapd's).
 *
 * A password hash costs tens of milliseconds; run in the root parent's
 * event loop it would hold up every other session's questions.  A few
 * worker threads in the parent (nworkers, 0: one per CPU) run
 * pam_check() for queued jobs, and each result comes back on the event
 * loop:
 *
 *	pamw_init(base, service, nworkers, done);
 *	pamw_submit(job);		(job->user, job->password set)
 *	done(job) later, on the event loop; the callee frees the job with
 *	pamw_job_free().
 *
 * The thread touches nothing but the job and PAM: no logging, no user
 * database, no libevent.
 */
#ifndef SM_PAMWORKER_H
#define SM_PAMWORKER_H

#include <stdint.h>

struct event_base;

struct pam_job {
	struct pam_job	*next;
	uint32_t	 sid;		/* the child's session number */
	char		 client[64];	/* its client address */
	char		*user;
	char		*password;	/* wiped when freed */
	void		*arg;		/* the caller's, untouched */
	int		 ok;		/* result: 1 if PAM said yes */
	char		 err[256];	/* else why not */
};

void	 pamw_init(struct event_base *, const char *, int,
	    void (*)(struct pam_job *));
void	 pamw_submit(struct pam_job *);
void	 pamw_job_free(struct pam_job *);

#endif
