/*
 * privsep.c - forking roles and dropping privileges; see privsep.h.
 *
 * priv_drop() is the one door from root to an unprivileged role: chroot
 * first (it needs root), then groups, gid and uid with the saved IDs
 * too, then a check that none of it can be undone.  Any failure is fatal:
 * a role that could not drop must not go on to read the network.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

int
priv_lookup(const char *name, struct priv_user *u)
{
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL)
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
}

void
priv_lookup_x(const char *name, struct priv_user *u)
{
	if (priv_lookup(name, u) == -1)
		fatalx("unknown user \"%s\" (./sealmail.sh deps creates the "
		    "Sealmail users)", name);
}

int
priv_is_root(void)
{
	return geteuid() == 0;
}

/*
 * Become u, chrooted to dir (NULL: no chroot).  Called by a freshly
 * forked role before it touches any input.
 */
static void	 drop_ids(const struct priv_user *);

void
priv_drop(const struct priv_user *u, const char *dir)
{
	if (u->uid == 0)
		fatalx("priv_drop: refusing to run %s as root", log_role());
	if (dir != NULL) {
		if (chroot(dir) == -1)
			fatal("chroot %s", dir);
		if (chdir("/") == -1)
			fatal("chdir / in %s", dir);
	}
	drop_ids(u);
}

/*
 * priv_drop() chrooted to the directory open as dirfd (which is closed):
 * for a directory inside a tree that an unprivileged user can change,
 * opened component by component without following links, so that no
 * path is resolved again between the check and the chroot.
 */
void
priv_drop_at(const struct priv_user *u, int dirfd)
{
	if (u->uid == 0)
		fatalx("priv_drop: refusing to run %s as root", log_role());
	if (fchdir(dirfd) == -1)
		fatal("fchdir");
	if (chroot(".") == -1)
		fatal("chroot to the opened directory");
	if (chdir("/") == -1)
		fatal("chdir /");
	close(dirfd);
	drop_ids(u);
}

static void
drop_ids(const struct priv_user *u)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid;

	if (setgroups(1, &u->gid) == -1)
		fatal("setgroups");
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("setresuid %u", (unsigned)u->uid);

	/* Verify: every ID dropped, and root cannot be regained. */
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		fatal("getresuid");
	if (ruid != u->uid || euid != u->uid || suid != u->uid ||
	    rgid != u->gid || egid != u->gid || sgid != u->gid)
		fatalx("priv_drop: IDs not dropped");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("priv_drop: root could be regained");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl NO_NEW_PRIVS");
	/* Drop the dumpable flag off again: no core with parent memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/*
 * Fork a role connected to the caller by a socketpair.  In the parent,
 * returns the child's pid and *fd_r is the parent's end; in the child,
 * returns 0, *fd_r is the child's end, and the log role and process name
 * (15 bytes of it) are set.  The child dies with its parent.
 */
pid_t
priv_fork(const char *role, int *fd_r)
{
	int	 sp[2];
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	switch (pid = fork()) {
	case -1:
		fatal("fork %s", role);
	case 0:
		close(sp[0]);
		*fd_r = sp[1];
		log_setrole(role);
		/* The role is the process name, for ps and the privsep test. */
		prctl(PR_SET_NAME, role, 0, 0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1)
			fatal("prctl PDEATHSIG");
		return 0;
	default:
		close(sp[1]);
		*fd_r = sp[0];
		return pid;
	}
}
