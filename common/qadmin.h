/*
 * qadmin.h - the administrator's view of smtpd's queue, for sealmailctl
 * (which runs as root): it reads the queue directory itself through the
 * envelope format (qenv.h) and signals the running smtpd.  Output is one
 * record a line, key=value.
 *
 *	q_admin_list(cfg->queue_dir, stdout, err, sizeof(err))
 *	q_admin_show(cfg->queue_dir, id, stdout, err, sizeof(err))
 *	q_admin_delete(cfg->queue_dir, id, err, sizeof(err))
 *	q_admin_flush(cfg->run_dir, err, sizeof(err))
 *
 * Each returns 0, or -1 with a one-line reason in err (a refused command
 * changes nothing).
 */
#ifndef SM_QADMIN_H
#define SM_QADMIN_H

#include <stddef.h>
#include <stdio.h>

int	 q_admin_list(const char *, FILE *, char *, size_t);
int	 q_admin_show(const char *, const char *, FILE *, char *, size_t);
int	 q_admin_delete(const char *, const char *, char *, size_t);
int	 q_admin_flush(const char *, char *, size_t);

#endif
