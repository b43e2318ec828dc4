/*
 * queue.c - sealmailctl queue list|show|flush|delete: smtpd's queue as
 * the administrator sees it, through common/qadmin.c (which reads the
 * queue directory and signals the running queue process).
 */
#include <stdio.h>

#include "config.h"
#include "ctl.h"
#include "qadmin.h"

int
ctl_queue_list(struct ctl *c, int argc, char **argv)
{
	char	 err[512];

	(void)argc;
	(void)argv;
	if (q_admin_list(c->cfg.queue_dir, stdout, err, sizeof(err)) == -1)
		return ctl_err(c, "%s", err);
	return CTL_OK;
}

int
ctl_queue_show(struct ctl *c, int argc, char **argv)
{
	char	 err[512];

	(void)argc;
	if (q_admin_show(c->cfg.queue_dir, argv[0], stdout, err,
	    sizeof(err)) == -1)
		return ctl_err(c, "%s", err);
	return CTL_OK;
}

int
ctl_queue_delete(struct ctl *c, int argc, char **argv)
{
	char	 err[512];

	(void)argc;
	if (q_admin_delete(c->cfg.queue_dir, argv[0], err, sizeof(err)) == -1)
		return ctl_err(c, "%s", err);
	printf("deleted=%s\n", argv[0]);
	return CTL_OK;
}

int
ctl_queue_flush(struct ctl *c, int argc, char **argv)
{
	char	 err[512];

	(void)argc;
	(void)argv;
	if (q_admin_flush(c->cfg.run_dir, err, sizeof(err)) == -1)
		return ctl_err(c, "%s", err);
	printf("flushed=yes\n");
	return CTL_OK;
}
