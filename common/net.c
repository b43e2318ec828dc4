/*
 * net.c - socket helpers and the per-address session limit; see net.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

int
net_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
net_resolve(const char *spec, int passive, struct addrinfo **res)
{
	struct addrinfo hints;
	char	*host = NULL, *port = NULL;
	int	 r;

	if (cfg_parse_listen_addr(spec, &host, &port) == -1) {
		errno = EINVAL;
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if (strcmp(host, "*") == 0) {
		free(host);
		host = NULL;
	} else
		hints.ai_flags |= AI_NUMERICHOST;
	r = getaddrinfo(host, port, &hints, res);
	free(host);
	free(port);
	if (r != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Listen on "host:port"; returns a nonblocking, close-on-exec socket. */
int
net_listen(const char *spec, int backlog)
{
	struct addrinfo *res;
	int	 fd, on = 1;

	if (net_resolve(spec, 1, &res) == -1)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	if (fd != -1) {
		int	 saved = errno;

		close(fd);
		errno = saved;
	}
	freeaddrinfo(res);
	return -1;
}

/* Connect (blocking) to "host:port". */
int
net_connect(const char *spec)
{
	struct addrinfo *res;
	int	 fd;

	if (net_resolve(spec, 0, &res) == -1)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
net_unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/*
 * Listen on a unix socket at path, replacing a stale one, with the given
 * mode and owner (uid -1: leave as is).
 */
int
net_unix_listen(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	mode_t	 old;
	int	 fd;

	if (net_unix_addr(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		goto fail;
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(path, mode) == -1)
		goto fail;
	if (uid != (uid_t)-1 && chown(path, uid, gid) == -1)
		goto fail;
	if (listen(fd, 128) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int
net_unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int	 fd;

	if (net_unix_addr(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int	 saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
net_peercred(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return -1;
	*uid = cr.uid;
	*pid = cr.pid;
	return 0;
}

/* Numeric text form of an address: "192.0.2.1", "2001:db8::1", "local". */
void
net_addr_str(const struct sockaddr *sa, char *out, size_t len)
{
	const void *a;

	switch (sa->sa_family) {
	case AF_INET:
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		break;
	case AF_INET6:
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		break;
	default:
		snprintf(out, len, "local");
		return;
	}
	if (inet_ntop(sa->sa_family, a, out, (socklen_t)len) == NULL)
		snprintf(out, len, "unknown");
}

int
net_peer_str(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
		snprintf(out, len, "unknown");
		return -1;
	}
	net_addr_str((struct sockaddr *)&ss, out, len);
	return 0;
}

int
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/*
 * The session limit: a small open-addressing count per client address.
 * Sessions are few (hundreds), so a linear table is enough and bounded.
 */
struct net_limit_ent {
	char	 addr[48];
	int	 n;
};

struct net_limit {
	int	 max_total, max_per_addr, total;
	int	 size;
	struct net_limit_ent *ent;
};

struct net_limit *
net_limit_new(int max_total, int max_per_addr)
{
	struct net_limit *l = xcalloc(1, sizeof(*l));

	l->max_total = max_total;
	l->max_per_addr = max_per_addr;
	l->size = max_total > 0 ? max_total : 1;
	l->ent = xcalloc((size_t)l->size, sizeof(*l->ent));
	return l;
}

static struct net_limit_ent *
net_limit_find(struct net_limit *l, const char *addr, int create)
{
	struct net_limit_ent *free_ent = NULL;
	int	 i;

	for (i = 0; i < l->size; i++) {
		if (l->ent[i].n > 0 && strcmp(l->ent[i].addr, addr) == 0)
			return &l->ent[i];
		if (l->ent[i].n == 0 && free_ent == NULL)
			free_ent = &l->ent[i];
	}
	if (create && free_ent != NULL)
		snprintf(free_ent->addr, sizeof(free_ent->addr), "%s", addr);
	return create ? free_ent : NULL;
}

/* Count a new session from addr; -1 if a limit forbids it. */
int
net_limit_enter(struct net_limit *l, const char *addr)
{
	struct net_limit_ent *e;

	if (l->total >= l->max_total)
		return -1;
	if ((e = net_limit_find(l, addr, 1)) == NULL)
		return -1;
	if (e->n >= l->max_per_addr)
		return -1;
	e->n++;
	l->total++;
	return 0;
}

void
net_limit_leave(struct net_limit *l, const char *addr)
{
	struct net_limit_ent *e;

	if ((e = net_limit_find(l, addr, 0)) == NULL)
		log_panic("net_limit_leave: %s not counted", addr);
	e->n--;
	l->total--;
}

void
net_limit_free(struct net_limit *l)
{
	if (l == NULL)
		return;
	free(l->ent);
	free(l);
}
