/*
 * log.h - one log line per event, to syslog (LOG_MAIL) or to stderr.
 *
 * Every program calls log_init() once with its role name ("smtpd.queue",
 * "mda", ...); forked processes call log_setrole() so each line names the
 * process that wrote it.  Lines carry key=value facts so an administrator
 * can follow one message by grepping its ID.
 *
 * fatal()/fatalx() are for a broken environment (a failed system call the
 * program cannot do without); log_panic() is for a broken invariant and
 * aborts so a core dump can be taken.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

void	log_init(const char *, int, int);
void	log_setrole(const char *);
const char *log_role(void);
void	log_setlevel(int);
int	log_level_parse(const char *);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	log_panic(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
