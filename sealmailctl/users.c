/*
 * users.c - sealmailctl verbs for domains, users, settings, aliases and
 * passwords.  Each verb validates all of its arguments before it changes
 * anything; the changes themselves are single transactions of
 * common/userdb, so a refused command leaves the database as it was.
 * Passwords go to the pam_userdb file through common/passwd.  A user or
 * domain gets its keys (keys.c) once it is written; if they cannot be
 * made the user or domain is deleted again, so the refusal changes
 * nothing.  Deleting one revokes its keys.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "passwd.h"
#include "xmalloc.h"

static int
udb_fail(struct ctl *c, int r, const char *err)
{
	return ctl_err(c, "%s", err[0] != '\0' ? err : userdb_strerror(r));
}

static int
canon(struct ctl *c, const char *addr, char *out)
{
	char	 err[256];

	if (userdb_addr_canon(addr, out, USERDB_ADDR_MAX + 1, err,
	    sizeof(err)) == -1)
		return ctl_err(c, "%s: %s", addr, err);
	return CTL_OK;
}

static void
print_list(char **l, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		printf("%s\n", l[i]);
}

/* Domains. */

int
ctl_domain_add(struct ctl *c, int argc, char **argv)
{
	char	 err[256];
	int	 r;

	(void)argc;
	if ((r = userdb_domain_add(c->udb, argv[0], err, sizeof(err))) != 0)
		return udb_fail(c, r, err);
	if (ctl_keys_make(c, argv[0]) != CTL_OK) {
		(void)userdb_domain_del(c->udb, argv[0], err, sizeof(err));
		return ctl_err(c, "%s not added", argv[0]);
	}
	return CTL_OK;
}

int
ctl_domain_del(struct ctl *c, int argc, char **argv)
{
	char	 err[256];
	int	 r;

	(void)argc;
	if ((r = userdb_domain_del(c->udb, argv[0], err, sizeof(err))) != 0)
		return udb_fail(c, r, err);
	if (ctl_keys_drop(c, argv[0]) != CTL_OK)
		return ctl_err(c, "domain deleted, but its keys are not "
		    "revoked: run keys revoke %s", argv[0]);
	return CTL_OK;
}

int
ctl_domain_list(struct ctl *c, int argc, char **argv)
{
	char	**l;
	size_t	  n;
	int	  r;

	(void)argc;
	(void)argv;
	if ((r = userdb_domain_list(c->udb, &l, &n)) != 0)
		return udb_fail(c, r, "");
	print_list(l, n);
	userdb_list_free(l, n);
	return CTL_OK;
}

/* Users. */

/*
 * A user who gets unsafe mail in a folder has that folder from the start
 * (IMAP clients subscribe to what they see at setup), not only after the
 * first unsafe message.  The user record is already written when this
 * runs; a failure here is reported but changes nothing else.
 */
static int
unsafe_folder_if_on(struct ctl *c, const char *given)
{
	struct userdb_user	 u;
	char			 addr[USERDB_ADDR_MAX + 1], err[256];

	if (canon(c, given, addr) != CTL_OK)
		return CTL_FAIL;
	if (userdb_user_get(c->udb, addr, &u, err, sizeof(err)) != UDB_OK)
		return ctl_err(c, "%s: %s", addr, err);
	if (!u.unsafe_mailbox)
		return CTL_OK;
	if (ctl_unsafe_folder(c, addr) != CTL_OK)
		return ctl_err(c, "%s is saved, but its Unsafe folder could "
		    "not be made", addr);
	return CTL_OK;
}

int
ctl_user_add(struct ctl *c, int argc, char **argv)
{
	struct userdb_user	 tmpl;
	char			 err[256];
	int			 r;

	(void)argc;
	userdb_user_defaults(&tmpl);
	/* [submitd] max_rcpt_per_msg/day are the site's defaults. */
	if (c->cfg.default_max_rcpt_per_msg > 0)
		tmpl.max_rcpt_per_msg =
		    (unsigned int)c->cfg.default_max_rcpt_per_msg;
	if (c->cfg.default_max_rcpt_per_day > 0)
		tmpl.max_rcpt_per_day =
		    (unsigned int)c->cfg.default_max_rcpt_per_day;
	r = userdb_user_add(c->udb, argv[0], &tmpl, err, sizeof(err));
	if (r != UDB_OK)
		return r == UDB_INVALID ? ctl_err(c, "%s: %s", argv[0], err) :
		    udb_fail(c, r, err);
	if (ctl_keys_make(c, argv[0]) != CTL_OK) {
		(void)userdb_user_del(c->udb, argv[0], err, sizeof(err));
		return ctl_err(c, "%s not added", argv[0]);
	}
	return unsafe_folder_if_on(c, argv[0]);
}

int
ctl_user_del(struct ctl *c, int argc, char **argv)
{
	char	 addr[USERDB_ADDR_MAX + 1], err[256];
	int	 r;

	(void)argc;
	if (canon(c, argv[0], addr) != CTL_OK)
		return CTL_FAIL;
	if ((r = userdb_user_del(c->udb, addr, err, sizeof(err))) != 0)
		return udb_fail(c, r, err);
	if (passwd_del(c->cfg.passwd_db, addr, err, sizeof(err)) == -1)
		return ctl_err(c, "user deleted, but removing the password "
		    "failed: %s", err);
	if (ctl_keys_drop(c, addr) != CTL_OK)
		return ctl_err(c, "user deleted, but its keys are not "
		    "revoked: run keys revoke %s", addr);
	return CTL_OK;
}

static void
print_time(const char *key, time_t t)
{
	struct tm	 tm;
	char		 s[64];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		s[0] = '\0';
	printf("%s=%s\n", key, s);
}

static int
print_aliases(struct ctl *c, const char *addr)
{
	struct userdb_alias	*al;
	struct buf		 all, send;
	char			 err[256];
	size_t			 i, n;
	int			 r;

	if ((r = userdb_alias_list(c->udb, addr, &al, &n, err,
	    sizeof(err))) != 0)
		return udb_fail(c, r, err);
	buf_init(&all, 0);
	buf_init(&send, 0);
	for (i = 0; i < n; i++) {
		buf_printf(&all, "%s%s", all.len ? "," : "", al[i].alias);
		if (al[i].may_send)
			buf_printf(&send, "%s%s", send.len ? "," : "",
			    al[i].alias);
	}
	printf("aliases=%s\nsender_aliases=%s\n", buf_cstr(&all),
	    buf_cstr(&send));
	buf_free(&all);
	buf_free(&send);
	userdb_alias_list_free(al, n);
	return CTL_OK;
}

int
ctl_user_show(struct ctl *c, int argc, char **argv)
{
	struct userdb_user	 u;
	const char *const	*keys;
	struct buf		 b;
	unsigned int		 count;
	time_t			 expires;
	char			 addr[USERDB_ADDR_MAX + 1], err[256], *md;
	char			 target[USERDB_ADDR_MAX + 1];
	int			 r, pw;

	(void)argc;
	if (canon(c, argv[0], addr) != CTL_OK)
		return CTL_FAIL;
	r = userdb_user_get(c->udb, addr, &u, err, sizeof(err));
	if (r == UDB_NOTFOUND && userdb_lookup_rcpt(c->udb, addr, target,
	    sizeof(target)) == UDB_OK && strcmp(target, addr) != 0)
		return ctl_err(c, "%s is an alias of %s", addr, target);
	if (r != 0 || (r = userdb_rcpt_count(c->udb, addr, time(NULL), &count,
	    &expires)) != 0)
		return udb_fail(c, r, err);
	pw = passwd_exists(c->cfg.passwd_db, addr);
	md = userdb_maildir(c->cfg.mail_root, addr);
	printf("address=%s\n", u.address);
	print_time("created", u.created);
	buf_init(&b, 0);
	for (keys = userdb_setting_keys(); *keys != NULL; keys++) {
		buf_reset(&b);
		userdb_setting_format(&u, *keys, &b);
		printf("%s=%s\n", *keys, buf_cstr(&b));
	}
	buf_free(&b);
	printf("locked=%s\n", u.locked ? "yes" : "no");
	print_time("locked_at", u.locked_at);
	printf("lock_reason=%s\n", u.lock_reason);
	printf("rcpt_24h=%u\n", count);
	print_time("rcpt_24h_next_expiry", expires);
	printf("password=%s\n", pw == 1 ? "set" : pw == 0 ? "unset" :
	    "unknown");
	printf("maildir=%s\n", md != NULL ? md : "");
	free(md);
	return print_aliases(c, addr);
}

int
ctl_user_list(struct ctl *c, int argc, char **argv)
{
	char	**l, err[256];
	size_t	  n;
	int	  r;

	r = userdb_user_list(c->udb, argc > 0 ? argv[0] : NULL, &l, &n, err,
	    sizeof(err));
	if (r != 0)
		return udb_fail(c, r, err);
	print_list(l, n);
	userdb_list_free(l, n);
	return CTL_OK;
}

int
ctl_user_set(struct ctl *c, int argc, char **argv)
{
	char	 err[256];
	int	 r;

	r = userdb_user_set(c->udb, argv[0], argv + 1, (size_t)(argc - 1),
	    err, sizeof(err));
	if (r != 0)
		return udb_fail(c, r, err);
	return unsafe_folder_if_on(c, argv[0]);
}

int
ctl_user_lock(struct ctl *c, int argc, char **argv)
{
	struct buf	 reason;
	char		 err[256];
	int		 i, r;

	buf_init(&reason, USERDB_REASON_MAX);
	for (i = 1; i < argc; i++)
		if (buf_printf(&reason, "%s%s", i > 1 ? " " : "",
		    argv[i]) == -1) {
			buf_free(&reason);
			return ctl_err(c, "reason longer than %d characters",
			    USERDB_REASON_MAX);
		}
	r = userdb_user_lock(c->udb, argv[0], argc > 1 ? buf_cstr(&reason) :
	    NULL, err, sizeof(err));
	buf_free(&reason);
	if (r != 0)
		return udb_fail(c, r, err);
	return CTL_OK;
}

int
ctl_user_unlock(struct ctl *c, int argc, char **argv)
{
	char	 err[256];
	int	 r;

	(void)argc;
	if ((r = userdb_user_unlock(c->udb, argv[0], err, sizeof(err))) != 0)
		return udb_fail(c, r, err);
	return CTL_OK;
}

/* Passwords. */

/*
 * Wait until fd is readable or one of our signals came: 0 or -1.  The
 * signals stay blocked except inside ppoll(), so one that arrives just
 * before the wait cannot be missed.
 */
static int
wait_readable(int fd)
{
	struct pollfd	 pfd;
	sigset_t	 block, old;
	int		 r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		r = ctl_signal != 0 ? -1 : ppoll(&pfd, 1, NULL, &old);
	} while (r == -1 && errno == EINTR && ctl_signal == 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r == -1 ? -1 : 0;
}

/* Read one line from fd into pw (NUL-terminated, newline removed). */
static int
read_line(int fd, char *pw, size_t len)
{
	size_t	 n = 0;
	ssize_t	 r;
	char	 ch;

	for (;;) {
		if (wait_readable(fd) == -1)
			return -1;
		r = read(fd, &ch, 1);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n + 1 >= len)
			return -1;
		pw[n++] = ch;
	}
	if (r == -1)
		return -1;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	return 0;
}

static int
prompt(const char *what, char *pw, size_t len)
{
	struct termios	 old, noecho;
	int		 r;

	/*
	 * Echo goes off before the prompt appears, and without flushing, so
	 * nothing typed after the prompt is echoed or lost.
	 */
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return -1;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &noecho) == -1)
		return -1;
	fprintf(stderr, "%s", what);
	fflush(stderr);
	r = read_line(STDIN_FILENO, pw, len);
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
	return r;
}

static int
read_password(struct ctl *c, char *pw, size_t len)
{
	char	 again[PASSWD_MAX + 2];
	int	 same;

	if (!isatty(STDIN_FILENO)) {
		if (read_line(STDIN_FILENO, pw, len) == -1)
			return ctl_err(c, "cannot read the password from "
			    "standard input (longer than %d bytes?)",
			    PASSWD_MAX);
		return CTL_OK;
	}
	if (prompt("New password: ", pw, len) == -1 ||
	    prompt("Again: ", again, sizeof(again)) == -1) {
		explicit_bzero(again, sizeof(again));
		return ctl_err(c, "cannot read the password");
	}
	same = strcmp(pw, again) == 0;
	explicit_bzero(again, sizeof(again));
	if (!same)
		return ctl_err(c, "the passwords differ");
	return CTL_OK;
}

int
ctl_user_passwd(struct ctl *c, int argc, char **argv)
{
	struct userdb_user	 u;
	char			 addr[USERDB_ADDR_MAX + 1], err[256];
	char			 pw[PASSWD_MAX + 2];
	int			 r;

	(void)argc;
	if (canon(c, argv[0], addr) != CTL_OK)
		return CTL_FAIL;
	if ((r = userdb_user_get(c->udb, addr, &u, err, sizeof(err))) != 0)
		return udb_fail(c, r, err);
	if (read_password(c, pw, sizeof(pw)) != CTL_OK) {
		explicit_bzero(pw, sizeof(pw));
		return CTL_FAIL;
	}
	r = passwd_set(c->cfg.passwd_db, addr, pw, err, sizeof(err));
	explicit_bzero(pw, sizeof(pw));
	if (r == -1)
		return ctl_err(c, "%s", err);
	return CTL_OK;
}

/* Aliases. */

int
ctl_alias_add(struct ctl *c, int argc, char **argv)
{
	char	 err[512];
	int	 r, may_send = 0;

	if (argc == 3) {
		if (strcmp(argv[2], "sender=yes") == 0)
			may_send = 1;
		else if (strcmp(argv[2], "sender=no") != 0)
			return ctl_err(c, "'%s': want sender=yes or sender=no",
			    argv[2]);
	}
	r = userdb_alias_add(c->udb, argv[0], argv[1], may_send, err,
	    sizeof(err));
	if (r != 0)
		return udb_fail(c, r, err);
	return CTL_OK;
}

int
ctl_alias_del(struct ctl *c, int argc, char **argv)
{
	char	 err[512];
	int	 r;

	(void)argc;
	if ((r = userdb_alias_del(c->udb, argv[0], argv[1], err,
	    sizeof(err))) != 0)
		return udb_fail(c, r, err);
	return CTL_OK;
}

int
ctl_alias_list(struct ctl *c, int argc, char **argv)
{
	struct userdb_alias	*al;
	char			 err[256];
	size_t			 i, n;
	int			 r;

	(void)argc;
	if ((r = userdb_alias_list(c->udb, argv[0], &al, &n, err,
	    sizeof(err))) != 0)
		return udb_fail(c, r, err);
	for (i = 0; i < n; i++)
		printf("alias=%s sender=%s\n", al[i].alias,
		    al[i].may_send ? "yes" : "no");
	userdb_alias_list_free(al, n);
	return CTL_OK;
}
