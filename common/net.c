/*
 * net.c - socket helpers, address keys and the session table; see net.h.
 */
#include <sys/types.h>
#include <sys/resource.h>
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
#include <time.h>
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
 * Client addresses as the limits count them: see net.h.  Anything that
 * is not an IP address ("local") is its own key.  -1 if out is too small
 * (the key is cut, still usable).
 */
int
net_addr_key(const char *addr, char *out, size_t len)
{
	struct in6_addr	 a6;
	char		 b[INET6_ADDRSTRLEN];
	int		 n;

	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			if (inet_ntop(AF_INET, &a6.s6_addr[12], b,
			    sizeof(b)) == NULL)
				return -1;
			n = snprintf(out, len, "%s", b);
		} else {
			memset(&a6.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &a6, b, sizeof(b)) == NULL)
				return -1;
			n = snprintf(out, len, "%s/64", b);
		}
	} else
		n = snprintf(out, len, "%s", addr);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Make room for sessions, each holding per descriptors, in
 * RLIMIT_NOFILE: the soft limit is raised as far as the hard limit
 * allows.  Returns how many sessions fit (sessions, or fewer with a
 * warning), so the caller refuses rather than fail in accept(2).
 */
int
net_session_budget(int sessions, int per)
{
	struct rlimit	 rl;
	rlim_t		 want;
	long long	 fit;

	if (sessions <= 0 || per <= 0)
		return sessions;
	want = (rlim_t)sessions * (rlim_t)per + NET_FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit");
		return sessions;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY &&
		    rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 ||
		    getrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return sessions;
	fit = rl.rlim_cur > NET_FD_RESERVE ?
	    (long long)(rl.rlim_cur - NET_FD_RESERVE) / per : 1;
	if (fit < 1)
		fit = 1;
	log_warnx("nofile=%llu allows sessions=%lld of max_sessions=%d",
	    (unsigned long long)rl.rlim_cur, fit, sessions);
	return (int)fit;
}

static uint64_t
net_clock_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t	(*net_clock)(void) = net_clock_mono;

uint64_t
net_now_ms(void)
{
	return net_clock();
}

void
net_set_clock(uint64_t (*clock)(void))
{
	net_clock = clock != NULL ? clock : net_clock_mono;
}

/*
 * The session table: a count per address key in an open-addressing hash
 * (linear probing, backward-shift deletion) at least twice the size of
 * max_total, so it never fills, and the live slots in a list that is
 * scanned only when every slot is taken and one has to be evicted.
 */
struct net_limit_ent {
	char	 key[NET_ADDR_KEY_MAX];
	int	 n;			/* 0: the entry is empty */
};

struct net_slot {
	struct net_limit	*l;
	struct net_slot		*prev, *next;
	char			 key[NET_ADDR_KEY_MAX];
	int			 level;		/* 1: completed a command */
	int			 busy;
	int			 evicted;	/* uncounted, not yet left */
	uint64_t		 since;		/* last progress, ms */
	void			(*evict)(void *);
	void			*arg;
};

struct net_limit {
	int			 max_total, max_per_addr, total;
	int			 stress_pct, stressed;
	size_t			 mask;
	struct net_limit_ent	*ent;
	struct net_slot		*slots;
};

static size_t
key_hash(const char *key)
{
	uint32_t	 h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

struct net_limit *
net_limit_new(int max_total, int max_per_addr)
{
	struct net_limit *l = xcalloc(1, sizeof(*l));
	size_t	 size = 16;

	l->max_total = max_total;
	l->max_per_addr = max_per_addr;
	while (max_total > 0 && size < (size_t)max_total * 2)
		size *= 2;
	l->mask = size - 1;
	l->ent = xcalloc(size, sizeof(*l->ent));
	return l;
}

/* Stressed above pct percent of max_total; 0 turns stress mode off. */
void
net_limit_set_stress(struct net_limit *l, int pct)
{
	l->stress_pct = pct;
}

int
net_limit_stressed(const struct net_limit *l)
{
	return l->stressed;
}

int
net_limit_count(const struct net_limit *l)
{
	return l->total;
}

static void
stress_update(struct net_limit *l)
{
	long long	 used = (long long)l->total * 100;
	long long	 on, off;

	if (l->stress_pct <= 0 || l->max_total <= 0) {
		l->stressed = 0;
		return;
	}
	on = (long long)l->max_total * l->stress_pct;
	off = (long long)l->max_total * (l->stress_pct > 20 ?
	    l->stress_pct - 10 : l->stress_pct / 2);
	if (!l->stressed && used > on) {
		l->stressed = 1;
		log_info("sessions=%d max=%d stress=on", l->total,
		    l->max_total);
	} else if (l->stressed && used < off) {
		l->stressed = 0;
		log_info("sessions=%d max=%d stress=off", l->total,
		    l->max_total);
	}
}

/* The entry of key, or the empty one where it would go. */
static struct net_limit_ent *
ent_find(struct net_limit *l, const char *key)
{
	size_t	 i;

	for (i = key_hash(key) & l->mask; l->ent[i].n > 0;
	    i = (i + 1) & l->mask)
		if (strcmp(l->ent[i].key, key) == 0)
			break;
	return &l->ent[i];
}

static void
ent_remove(struct net_limit *l, struct net_limit_ent *e)
{
	size_t	 i = (size_t)(e - l->ent), j = i, k;

	memset(e, 0, sizeof(*e));
	for (;;) {
		j = (j + 1) & l->mask;
		if (l->ent[j].n == 0)
			return;
		k = key_hash(l->ent[j].key) & l->mask;
		/* move j back to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		l->ent[i] = l->ent[j];
		memset(&l->ent[j], 0, sizeof(l->ent[j]));
		i = j;
	}
}

/* Count a session of key; -1 if its address is at its limit. */
static int
count_enter(struct net_limit *l, const char *key)
{
	struct net_limit_ent *e = ent_find(l, key);

	if (e->n >= l->max_per_addr)
		return -1;
	if (e->n == 0)
		snprintf(e->key, sizeof(e->key), "%s", key);
	e->n++;
	l->total++;
	stress_update(l);
	return 0;
}

static void
count_leave(struct net_limit *l, const char *key)
{
	struct net_limit_ent *e = ent_find(l, key);

	if (e->n == 0)
		log_panic("net_limit: %s not counted", key);
	if (--e->n == 0)
		ent_remove(l, e);
	l->total--;
	stress_update(l);
}

/* Count a new session from addr; -1 if a limit forbids it. */
int
net_limit_enter(struct net_limit *l, const char *addr)
{
	char	 key[NET_ADDR_KEY_MAX];

	net_addr_key(addr, key, sizeof(key));
	if (l->total >= l->max_total)
		return -1;
	return count_enter(l, key);
}

void
net_limit_leave(struct net_limit *l, const char *addr)
{
	char	 key[NET_ADDR_KEY_MAX];

	net_addr_key(addr, key, sizeof(key));
	count_leave(l, key);
}

/* The session that has done the least, if one may be evicted. */
static struct net_slot *
slot_victim(struct net_limit *l)
{
	struct net_slot	*sl, *v = NULL;

	for (sl = l->slots; sl != NULL; sl = sl->next) {
		if (sl->busy || sl->evict == NULL)
			continue;
		if (v == NULL || sl->level < v->level ||
		    (sl->level == v->level && sl->since < v->since))
			v = sl;
	}
	return v;
}

static void
slot_release(struct net_slot *sl)
{
	struct net_limit *l = sl->l;

	if (sl->prev != NULL)
		sl->prev->next = sl->next;
	else
		l->slots = sl->next;
	if (sl->next != NULL)
		sl->next->prev = sl->prev;
	sl->prev = sl->next = NULL;
	count_leave(l, sl->key);
}

/*
 * A slot for a new session from addr, evicting an idle session if every
 * slot is taken; NULL if a limit forbids it.
 */
struct net_slot *
net_slot_enter(struct net_limit *l, const char *addr)
{
	struct net_slot	*sl, *v;
	char		 key[NET_ADDR_KEY_MAX];

	net_addr_key(addr, key, sizeof(key));
	if (ent_find(l, key)->n >= l->max_per_addr || l->max_total <= 0)
		return NULL;
	if (l->total >= l->max_total) {
		if ((v = slot_victim(l)) == NULL)
			return NULL;
		log_debug("sessions=%d full: evict addr=%s idle=%llums "
		    "commands=%s for=%s", l->total, v->key,
		    (unsigned long long)(net_now_ms() - v->since),
		    v->level ? "yes" : "none", key);
		v->evicted = 1;
		slot_release(v);
		v->evict(v->arg);
	}
	sl = xcalloc(1, sizeof(*sl));
	sl->l = l;
	snprintf(sl->key, sizeof(sl->key), "%s", key);
	sl->since = net_now_ms();
	if (count_enter(l, key) == -1)
		log_panic("net_slot_enter: %s over its limit", key);
	sl->next = l->slots;
	if (l->slots != NULL)
		l->slots->prev = sl;
	l->slots = sl;
	return sl;
}

/* How to end the session of sl when it is evicted; NULL: never. */
void
net_slot_set_evict(struct net_slot *sl, void (*evict)(void *), void *arg)
{
	sl->evict = evict;
	sl->arg = arg;
}

/* The session completed a command: it is no longer the least active. */
void
net_slot_progress(struct net_slot *sl)
{
	sl->level = 1;
	sl->since = net_now_ms();
}

/* The session moved data (a block of a message): not idle. */
void
net_slot_touch(struct net_slot *sl)
{
	sl->since = net_now_ms();
}

/* The session waits for the server (an IPC answer): not evicted. */
void
net_slot_busy(struct net_slot *sl, int busy)
{
	if (sl->busy && !busy)
		sl->since = net_now_ms();
	sl->busy = busy;
}

int
net_slot_stressed(const struct net_slot *sl)
{
	return sl->l->stressed;
}

void
net_slot_leave(struct net_slot *sl)
{
	if (sl == NULL)
		return;
	if (!sl->evicted)
		slot_release(sl);
	free(sl);
}

void
net_limit_free(struct net_limit *l)
{
	if (l == NULL)
		return;
	free(l->ent);
	free(l);
}
