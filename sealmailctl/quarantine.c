/*
 * quarantine.c - sealmailctl verbs for the quarantine of stripped
 * originals (common/quarantine):
 *
 *	quarantine list ADDRESS		one line per original:
 *		id=<ID> date=<UTC ISO 8601> size=<bytes> from=<addr>
 *		subject="<escaped>"
 *	quarantine release ADDRESS ID	into the user's Unsafe folder;
 *		prints released=<ID> user=<address> file=<Maildir name>
 *	quarantine purge		every original older than [mda]
 *		quarantine_days; prints removed=<count>
 *
 * ADDRESS is a user or an alias, resolved through the user database
 * (root) before anything else.  The files were written by mda.lmtp from
 * network input, so the work on them runs in a child that has dropped
 * to [global] mail_user, the owner of the quarantine and every Maildir:
 * whatever is in those files, root never reads it, and what release
 * creates belongs to the mail user.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "privsep.h"
#include "quarantine.h"

/* The canonical user an address (user or alias) delivers to. */
static int
resolve(struct ctl *c, const char *addr, char *user)
{
	char	 err[256];
	int	 r;

	if (userdb_addr_check(addr, USERDB_ADDR_LOCAL, err,
	    sizeof(err)) == -1)
		return ctl_err(c, "%s: %s", addr, err);
	r = userdb_lookup_rcpt(c->udb, addr, user, USERDB_ADDR_MAX + 1);
	if (r == UDB_NOTFOUND)
		return ctl_err(c, "%s: no such user", addr);
	if (r != UDB_OK)
		return ctl_err(c, "%s: %s", addr, userdb_strerror(r));
	return CTL_OK;
}

/*
 * Run fn(c, arg) in a child running as the mail user (when we are
 * root); its exit status is the verb's.
 */
static int
as_mail_user(struct ctl *c, int (*fn)(struct ctl *, void *), void *arg)
{
	struct priv_user u;
	pid_t	 pid;
	int	 status;

	if (priv_lookup(c->cfg.mail_user, &u) == -1)
		return ctl_err(c, "mail_user %s: no such user",
		    c->cfg.mail_user);
	if (u.uid == 0)
		return ctl_err(c, "mail_user %s is root", c->cfg.mail_user);
	fflush(stdout);
	fflush(stderr);
	switch (pid = fork()) {
	case -1:
		return ctl_err(c, "fork: %s", strerror(errno));
	case 0:
		if (geteuid() == 0)
			priv_drop(&u, NULL);
		status = fn(c, arg);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return ctl_err(c, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return ctl_err(c, "the worker died of signal %d", WTERMSIG(status));
}

static void
iso_time(time_t t, char *s, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		s[0] = '\0';
}

static int
do_list(struct ctl *c, void *arg)
{
	struct quar_entry *l;
	const char	*user = arg;
	char		 err[512], date[32];
	size_t		 i, n;

	if (quar_list(c->cfg.quarantine_dir, user, &l, &n, err,
	    sizeof(err)) != QUAR_OK)
		return ctl_err(c, "%s", err);
	for (i = 0; i < n; i++) {
		iso_time(l[i].date, date, sizeof(date));
		printf("id=%s date=%s size=%lld from=<%s> subject=\"%s\"\n",
		    l[i].id, date, l[i].size, l[i].from, l[i].subject);
	}
	quar_list_free(l, n);
	return CTL_OK;
}

int
ctl_quarantine_list(struct ctl *c, int argc, char **argv)
{
	char	 user[USERDB_ADDR_MAX + 1];

	(void)argc;
	if (resolve(c, argv[0], user) != CTL_OK)
		return CTL_FAIL;
	return as_mail_user(c, do_list, user);
}

struct release_args {
	const char	*user;
	const char	*id;
};

static int
do_release(struct ctl *c, void *arg)
{
	struct release_args *ra = arg;
	struct quar_paths qp;
	struct priv_user u;
	char	 err[1024], name[512];

	if (priv_lookup(c->cfg.mail_user, &u) == -1)
		return ctl_err(c, "mail_user %s: no such user",
		    c->cfg.mail_user);
	memset(&qp, 0, sizeof(qp));
	qp.quarantine_dir = c->cfg.quarantine_dir;
	qp.mail_root = c->cfg.mail_root;
	qp.hostname = c->cfg.hostname;
	qp.uid = u.uid;
	qp.gid = u.gid;
	if (quar_release(&qp, ra->user, ra->id, time(NULL), name,
	    sizeof(name), err, sizeof(err)) != QUAR_OK)
		return ctl_err(c, "%s", err);
	printf("released=%s user=%s file=%s\n", ra->id, ra->user, name);
	return CTL_OK;
}

int
ctl_quarantine_release(struct ctl *c, int argc, char **argv)
{
	struct release_args ra;
	char	 user[USERDB_ADDR_MAX + 1];

	(void)argc;
	if (!quar_id_valid(argv[1]))
		return ctl_err(c, "%s: not a quarantine ID", argv[1]);
	if (resolve(c, argv[0], user) != CTL_OK)
		return CTL_FAIL;
	ra.user = user;
	ra.id = argv[1];
	return as_mail_user(c, do_release, &ra);
}

static int
do_unsafe_make(struct ctl *c, void *arg)
{
	struct quar_paths qp;
	struct priv_user u;
	char	 err[1024];

	if (priv_lookup(c->cfg.mail_user, &u) == -1)
		return ctl_err(c, "mail_user %s: no such user",
		    c->cfg.mail_user);
	memset(&qp, 0, sizeof(qp));
	qp.quarantine_dir = c->cfg.quarantine_dir;
	qp.mail_root = c->cfg.mail_root;
	qp.hostname = c->cfg.hostname;
	qp.uid = u.uid;
	qp.gid = u.gid;
	if (quar_unsafe_make(&qp, arg, err, sizeof(err)) != QUAR_OK)
		return ctl_err(c, "%s", err);
	return CTL_OK;
}

int
ctl_unsafe_folder(struct ctl *c, const char *user)
{
	char	 u[USERDB_ADDR_MAX + 1];

	snprintf(u, sizeof(u), "%s", user);
	return as_mail_user(c, do_unsafe_make, u);
}

static int
do_purge(struct ctl *c, void *arg)
{
	size_t	 removed;
	int	 r;

	(void)arg;
	r = quar_purge(c->cfg.quarantine_dir, c->cfg.quarantine_days,
	    time(NULL), &removed);
	printf("removed=%zu\n", removed);
	if (r == -1)
		return ctl_err(c, "some files in %s could not be purged",
		    c->cfg.quarantine_dir);
	return CTL_OK;
}

int
ctl_quarantine_purge(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return as_mail_user(c, do_purge, NULL);
}
