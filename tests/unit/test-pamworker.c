/*
 * test-pamworker.c - common/pamworker: password checks run on worker
 * threads, as many at once as there are workers, and every result comes
 * back on the event loop with its job.
 *
 * pam_check() is this file's: each call waits (up to a deadline) until
 * "want" calls are inside at the same time, so a pool that runs the
 * checks one after another makes the first call time out and fail.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "pam.h"
#include "pamworker.h"
#include "test.h"
#include "xmalloc.h"

static pthread_mutex_t	 mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;
static int		 inside, peak, want;

int
pam_check(const char *service, const char *user, const char *password,
    char *err, size_t errlen)
{
	struct timespec	 dl;
	int		 rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&mx);
	if (++inside > peak)
		peak = inside;
	pthread_cond_broadcast(&cv);
	while (inside < want && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cv, &mx, &dl);
	/* not counted out: a call still waiting must see the others */
	pthread_mutex_unlock(&mx);
	if (rc == ETIMEDOUT)
		snprintf(err, errlen, "no other check came");
	return strcmp(password, "right") == 0 && rc != ETIMEDOUT ? 0 : -1;
}

static struct event_base *base;
static int	 ndone, nok;
static uint32_t	 seen;

static void
done(struct pam_job *j)
{
	ndone++;
	nok += j->ok;
	seen |= 1U << j->sid;
	pamw_job_free(j);
	if (ndone == want)
		event_base_loopbreak(base);
}

static void
submit(uint32_t sid, const char *pw)
{
	struct pam_job	*j = xcalloc(1, sizeof(*j));

	j->sid = sid;
	j->user = xstrdup("u@example.test");
	j->password = xstrdup(pw);
	pamw_submit(j);
}

static void
test_two_workers_check_two_passwords_at_once(void)
{
	struct timeval	 tv = { 10, 0 };

	test_begin("two workers check two passwords at the same time");
	base = event_base_new();
	want = 2;
	pamw_init(base, "sealmail", 2, done);
	submit(1, "right");
	submit(2, "right");
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	test_assert(ndone == 2);
	test_assert(nok == 2);
	test_assert(peak == 2);
	test_assert(seen == ((1U << 1) | (1U << 2)));
	test_end();
}

static void
test_a_wrong_password_fails_on_the_pool(void)
{
	struct timeval	 tv = { 10, 0 };

	test_begin("a wrong password is refused while another is checked");
	ndone = nok = inside = peak = 0;
	seen = 0;
	submit(3, "wrong");
	submit(4, "right");
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	test_assert(ndone == 2);
	test_assert(nok == 1);
	test_assert(peak == 2);
	test_assert(seen == ((1U << 3) | (1U << 4)));
	test_end();
}

int
main(void)
{
	static void (*t[])(void) = {
		test_two_workers_check_two_passwords_at_once,
		test_a_wrong_password_fails_on_the_pool,
		NULL
	};

	return test_run(t);
}
