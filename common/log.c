/*
 * log.c - logging to syslog or stderr; see log.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char	 log_rolebuf[48] = "sealmail";
static int	 log_tostderr = 1;
static int	 log_lvl = LOG_LVL_INFO;

void
log_init(const char *role, int foreground, int level)
{
	log_setrole(role);
	log_tostderr = foreground;
	log_lvl = level;
	if (!foreground)
		openlog("sealmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
	tzset();
}

void
log_setrole(const char *role)
{
	snprintf(log_rolebuf, sizeof(log_rolebuf), "%s", role);
}

const char *
log_role(void)
{
	return log_rolebuf;
}

void
log_setlevel(int level)
{
	log_lvl = level;
}

int
log_level_parse(const char *s)
{
	static const char *names[] = { "err", "warn", "info", "debug" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static void
log_emit(int lvl, const char *errstr, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char	 msg[2048];
	int	 saved = errno;

	if (lvl > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_tostderr) {
		if (errstr != NULL)
			fprintf(stderr, "%s[%ld]: %s: %s\n", log_rolebuf,
			    (long)getpid(), msg, errstr);
		else
			fprintf(stderr, "%s[%ld]: %s\n", log_rolebuf,
			    (long)getpid(), msg);
		fflush(stderr);
	} else if (errstr != NULL)
		syslog(prio[lvl], "%s: %s: %s", log_rolebuf, msg, errstr);
	else
		syslog(prio[lvl], "%s: %s", log_rolebuf, msg);
	errno = saved;
}

#define LOG_FN(name, lvl, witherr)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
	const char *e = (witherr) ? strerror(errno) : NULL;	\
								\
	va_start(ap, fmt);					\
	log_emit((lvl), e, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_err, LOG_LVL_ERR, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, "panic", fmt, ap);
	va_end(ap);
	abort();
}
