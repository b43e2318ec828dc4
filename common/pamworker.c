/*
 * pamworker.c - PAM checks on a worker thread of a root parent;
 * see pamworker.h.
 *
 * Runs as root in the parent (PAM needs it).  The parent stays single
 * threaded in everything else: the workers only take jobs from a locked
 * list, call pam_check() and put them on a second list, then wake the
 * event loop through a pipe.  There is one worker per CPU (at most
 * PAMW_MAX): a password hash is CPU work (yescrypt about 18 ms), and one
 * worker left every other CPU idle while logins queued behind it.  Jobs
 * start in order and may finish in any order; each carries its session.
 *
 * Several pam_check() calls may therefore run at once.  Each has its own
 * PAM handle; the modules Sealmail's PAM service uses (pam_userdb, which
 * opens its own database handle per call and hashes with crypt_r(), and
 * pam_permit) keep no state between calls, and libpam's shared state is
 * per handle.  A site whose PAM stack has a module that is not reentrant
 * sets pam_workers to 1.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "pam.h"
#include "pamworker.h"
#include "xmalloc.h"

#define PAMW_MAX	8

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wake = PTHREAD_COND_INITIALIZER;
static struct pam_job	*todo_head, **todo_tail = &todo_head;
static struct pam_job	*done_head, **done_tail = &done_head;
static int		 wakefd[2] = { -1, -1 };
static struct event	*wake_ev;
static const char	*service;
static void		(*done_cb)(struct pam_job *);

static void *
pamw_thread(void *arg)
{
	struct pam_job *j;
	ssize_t	 n;

	for (;;) {
		pthread_mutex_lock(&lock);
		while (todo_head == NULL)
			pthread_cond_wait(&wake, &lock);
		j = todo_head;
		if ((todo_head = j->next) == NULL)
			todo_tail = &todo_head;
		pthread_mutex_unlock(&lock);

		j->next = NULL;
		j->ok = pam_check(service, j->user, j->password, j->err,
		    sizeof(j->err)) == 0;
		explicit_bzero(j->password, strlen(j->password));

		pthread_mutex_lock(&lock);
		*done_tail = j;
		done_tail = &j->next;
		pthread_mutex_unlock(&lock);
		do
			n = write(wakefd[1], "", 1);
		while (n == -1 && errno == EINTR);
	}
	return NULL;
}

static void
pamw_wakeup(evutil_socket_t fd, short ev, void *arg)
{
	struct pam_job *list, *j;
	char	 b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&lock);
	list = done_head;
	done_head = NULL;
	done_tail = &done_head;
	pthread_mutex_unlock(&lock);
	while ((j = list) != NULL) {
		list = j->next;
		j->next = NULL;
		done_cb(j);
	}
}

/* Workers: n if given, else one per online CPU; 1 to PAMW_MAX. */
static int
pamw_count(int n)
{
	long	 ncpu;

	if (n <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (int)(ncpu < PAMW_MAX ? ncpu : PAMW_MAX) : 1;
	}
	return n < PAMW_MAX ? n : PAMW_MAX;
}

void
pamw_init(struct event_base *base, const char *svc, int nworkers,
    void (*done)(struct pam_job *))
{
	pthread_t	 t;
	sigset_t	 all, old;
	int		 rc, i;

	/* a copy: the worker must not read the config a reload frees */
	service = xstrdup(svc);
	done_cb = done;
	if (pipe2(wakefd, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	wake_ev = event_new(base, wakefd[0], EV_READ | EV_PERSIST,
	    pamw_wakeup, NULL);
	if (wake_ev == NULL || event_add(wake_ev, NULL) == -1)
		fatalx("pamw_init: event");
	/* signals belong to the event loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	nworkers = pamw_count(nworkers);
	for (i = 0; i < nworkers; i++) {
		if ((rc = pthread_create(&t, NULL, pamw_thread, NULL)) != 0)
			fatalx("pthread_create: %s", strerror(rc));
		pthread_detach(t);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
pamw_submit(struct pam_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&lock);
	*todo_tail = j;
	todo_tail = &j->next;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

void
pamw_job_free(struct pam_job *j)
{
	if (j == NULL)
		return;
	free(j->user);
	freezero_str(j->password);
	free(j);
}
