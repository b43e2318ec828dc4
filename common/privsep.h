/*
 * privsep.h - privilege separation: forking roles, dropping privileges.
 *
 * Every daemon starts as root, reads its config, binds its ports, then
 * forks its roles with priv_fork().  A role that parses network input
 * calls priv_drop() at once: chroot to an empty directory, set the groups,
 * gid and uid of its unprivileged user, and verify that root cannot be
 * regained (setuid(0) must fail).  Only after that does it read a byte
 * from the network.
 */
#ifndef SM_PRIVSEP_H
#define SM_PRIVSEP_H

#include <sys/types.h>

struct priv_user {
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

int	 priv_lookup(const char *, struct priv_user *);
void	 priv_lookup_x(const char *, struct priv_user *);
void	 priv_drop(const struct priv_user *, const char *);
void	 priv_drop_at(const struct priv_user *, int);
pid_t	 priv_fork(const char *, int *);
int	 priv_is_root(void);

#endif
