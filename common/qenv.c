/*
 * qenv.c - the queue's envelope file: what to deliver to whom, and how
 * far delivery got; see qenv.h.  Used by smtpd.queue (queue_dir owner,
 * chrooted) and by the administrator's view of the queue (qadmin.c, in
 * sealmailctl as root), which trusts nothing it reads here either.
 *
 * The format is deliberately trivial, one "key value" line each, the value
 * running to the end of the line:
 *
 *	version 1
 *	id 8f3a0c1d2e4b5a69
 *	created 1763900000
 *	class unsafe
 *	source smtp
 *	attempts 2
 *	next 1763900600
 *	helo mx.example.org
 *	peer 192.0.2.7
 *	from alice@example.org			(empty for the null sender)
 *	author alice@example.org		(whose keys sign it; absent:
 *						nobody's, port 25 mail)
 *	signed yes				(the message file holds its
 *						DKIM signatures; absent: not
 *						yet)
 *	requiretls yes				(RFC 8689: the author asked
 *						for it; absent: not asked)
 *	delayed yes				(the author was told the mail
 *						is delayed: [smtpd]
 *						delay_warning_time; absent:
 *						not yet)
 *	authres Authentication-Results: mail.example.test;<TAB>dkim=pass ...
 *						(the field smtpd.delivery puts
 *						on top for local recipients;
 *						absent: none)
 *	rcpt pending bob@example.test bob@example.test
 *	rcpt remote - carol@example.net
 *	note 0 451 4.2.0 mailbox busy		(last reply for rcpt 0)
 *
 * The authres line is the field sign.c wrote when it verified its own
 * signatures (written with "signed yes", in the same rename), on one
 * line: the field's folds ("\r\n\t") are written as their tab alone and
 * its final CRLF left out; reading puts them back.  q_authres_valid() is
 * the shape that makes this exact: the field name, folds only as CRLF
 * TAB, no other control character, a final CRLF, at most
 * Q_AUTHRES_MAX bytes.  smtpd.delivery checks it again before it writes
 * it into a message.
 *
 * Every address is checked with q_addr_valid() (RFC 5321 path syntax,
 * qhandoff.c) when the queue takes a message in and again here when an
 * envelope is read back, so a line is a record and an address that
 * smtpd.delivery writes into MAIL or RCPT can never carry more than an
 * address.  Parsing is strict: an unknown key, a bad number or a bad
 * address is an error.
 *
 * q_env_of_handoff() is the queue's policy on what a client of the
 * hand-off may claim: it lives here, beside the envelope it makes, so
 * that it can be tested without a queue.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "log.h"
#include "qenv.h"
#include "xmalloc.h"

#define Q_ENV_MAX	(1024 * 1024)
#define Q_AUTHRES_MAX	4096
#define Q_AUTHRES_NAME	"Authentication-Results:"

static const char *const q_states[] = {
	"pending", "done", "failed", "bounced", "remote"
};

void
q_env_init(struct q_envelope *e)
{
	memset(e, 0, sizeof(*e));
	e->source = xstrdup("smtp");
	e->helo = xstrdup("");
	e->peer = xstrdup("");
	e->from = xstrdup("");
	e->author = xstrdup("");
	e->authres = xstrdup("");
}

void
q_env_free(struct q_envelope *e)
{
	int	 i;

	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].user);
		free(e->rcpt[i].last);
	}
	free(e->rcpt);
	free(e->source);
	free(e->helo);
	free(e->peer);
	free(e->from);
	free(e->author);
	free(e->authres);
	memset(e, 0, sizeof(*e));
}

void
q_env_add_rcpt(struct q_envelope *e, const char *addr, const char *user,
    enum q_rcpt_state st)
{
	struct q_rcpt	*r;

	e->rcpt = xreallocarray(e->rcpt, (size_t)e->nrcpt + 1,
	    sizeof(*e->rcpt));
	r = &e->rcpt[e->nrcpt++];
	r->addr = xstrdup(addr);
	r->user = xstrdup(user);
	r->state = st;
	r->last = NULL;
}

const char *
q_state_name(enum q_rcpt_state st)
{
	return (unsigned)st < sizeof(q_states) / sizeof(q_states[0]) ?
	    q_states[st] : "?";
}

/* Delay before attempt n+1 after n failed ones: min doubling to max. */
time_t
q_backoff(int attempts, long min, long max)
{
	long	 d = min > 0 ? min : 1;
	int	 i;

	for (i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d > max ? max : d;
}

int
q_authres_valid(const char *f)
{
	size_t	 i, n = strlen(f), nl = strlen(Q_AUTHRES_NAME);

	if (n > Q_AUTHRES_MAX || n < nl + 2 || strncmp(f, Q_AUTHRES_NAME,
	    nl) != 0 || strcmp(f + n - 2, "\r\n") != 0)
		return 0;
	for (i = 0; i < n - 2; i++) {
		if (f[i] == '\r' && f[i + 1] == '\n' && f[i + 2] == '\t')
			i += 2;
		else if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			return 0;
	}
	return 1;
}

/* The field on one line: its line ends left out (see the top). */
static void
authres_line(struct buf *b, const char *f)
{
	(void)buf_addstr(b, "authres ");
	for (; *f != '\0'; f++)
		if (*f != '\r' && *f != '\n')
			(void)buf_add(b, f, 1);
	(void)buf_addstr(b, "\n");
}

/* ... and back: every tab a fold again, and the final CRLF. */
static int
parse_authres(struct q_envelope *e, const char *v)
{
	struct buf	 b;

	buf_init(&b, Q_AUTHRES_MAX + 1);
	for (; *v != '\0'; v++)
		if ((*v == '\t' && buf_addstr(&b, "\r\n") == -1) ||
		    buf_add(&b, v, 1) == -1)
			break;
	if (*v != '\0' || buf_addstr(&b, "\r\n") == -1 ||
	    !q_authres_valid(buf_cstr(&b))) {
		buf_free(&b);
		return -1;
	}
	free(e->authres);
	e->authres = buf_steal(&b);
	return 0;
}

int
q_env_format(const struct q_envelope *e, char **out, size_t *outlen)
{
	struct buf	 b;
	int		 i;

	buf_init(&b, 0);
	buf_printf(&b, "version 1\nid %s\ncreated %lld\nclass %s\n"
	    "source %s\nattempts %d\nnext %lld\nhelo %s\npeer %s\nfrom %s\n",
	    e->id, (long long)e->created, q_class_name(e->class), e->source,
	    e->attempts, (long long)e->next, e->helo, e->peer, e->from);
	if (e->author[0] != '\0')
		buf_printf(&b, "author %s\n", e->author);
	if (e->is_signed)
		buf_printf(&b, "signed yes\n");
	if (e->requiretls)
		buf_printf(&b, "requiretls yes\n");
	if (e->delay_warned)
		buf_printf(&b, "delayed yes\n");
	if (e->authres[0] != '\0' && q_authres_valid(e->authres))
		authres_line(&b, e->authres);
	for (i = 0; i < e->nrcpt; i++)
		buf_printf(&b, "rcpt %s %s %s\n",
		    q_state_name(e->rcpt[i].state),
		    e->rcpt[i].user[0] ? e->rcpt[i].user : "-",
		    e->rcpt[i].addr);
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].last != NULL)
			buf_printf(&b, "note %d %s\n", i, e->rcpt[i].last);
	*outlen = b.len;
	*out = buf_steal(&b);
	return 0;
}

static int
parse_num(const char *s, long long *v)
{
	char	*end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return (*s == '\0' || *end != '\0' || errno != 0 || *v < 0) ? -1 : 0;
}

static int
parse_rcpt(struct q_envelope *e, char *v)
{
	char	*user, *addr;
	size_t	 st;

	if ((user = strchr(v, ' ')) == NULL)
		return -1;
	*user++ = '\0';
	if ((addr = strchr(user, ' ')) == NULL)
		return -1;
	*addr++ = '\0';
	for (st = 0; st < sizeof(q_states) / sizeof(q_states[0]); st++)
		if (strcmp(v, q_states[st]) == 0)
			break;
	if (st == sizeof(q_states) / sizeof(q_states[0]) ||
	    !q_addr_valid(addr, Q_ADDR_RCPT) || e->nrcpt >= Q_MAX_RCPT ||
	    (strcmp(user, "-") != 0 && !q_addr_valid(user, Q_ADDR_USER)))
		return -1;
	q_env_add_rcpt(e, addr, strcmp(user, "-") == 0 ? "" : user,
	    (enum q_rcpt_state)st);
	return 0;
}

static int
parse_note(struct q_envelope *e, char *v)
{
	long long	 n;
	char		*text;

	if ((text = strchr(v, ' ')) == NULL)
		return -1;
	*text++ = '\0';
	if (parse_num(v, &n) == -1 || n >= e->nrcpt)
		return -1;
	free(e->rcpt[n].last);
	e->rcpt[n].last = xstrdup(text);
	return 0;
}

/* A flag line ("signed yes"): "yes" is the only value it takes. */
static int
parse_yes(const char *v, int *flag)
{
	if (strcmp(v, "yes") != 0)
		return -1;
	*flag = 1;
	return 0;
}

static int
parse_line(struct q_envelope *e, char *line)
{
	char		*v, **sp = NULL;
	long long	 n;

	if ((v = strchr(line, ' ')) == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(line, "version") == 0)
		return strcmp(v, "1") == 0 ? 0 : -1;
	if (strcmp(line, "id") == 0) {
		if (!q_id_valid(v))
			return -1;
		memcpy(e->id, v, Q_ID_LEN + 1);
		return 0;
	}
	if (strcmp(line, "class") == 0) {
		/* unknown is unsafe */
		e->class = strcmp(v, "safe") == 0 ? Q_CLASS_SAFE :
		    Q_CLASS_UNSAFE;
		return 0;
	}
	if (strcmp(line, "signed") == 0)
		return parse_yes(v, &e->is_signed);
	if (strcmp(line, "requiretls") == 0)
		return parse_yes(v, &e->requiretls);
	if (strcmp(line, "delayed") == 0)
		return parse_yes(v, &e->delay_warned);
	if (strcmp(line, "authres") == 0)
		return parse_authres(e, v);
	if (strcmp(line, "rcpt") == 0)
		return parse_rcpt(e, v);
	if (strcmp(line, "note") == 0)
		return parse_note(e, v);
	if (strcmp(line, "source") == 0)
		sp = &e->source;
	else if (strcmp(line, "helo") == 0)
		sp = &e->helo;
	else if (strcmp(line, "peer") == 0)
		sp = &e->peer;
	else if (strcmp(line, "from") == 0)
		sp = &e->from;
	else if (strcmp(line, "author") == 0)
		sp = &e->author;
	if ((sp == &e->from && !q_addr_valid(v, Q_ADDR_FROM)) ||
	    (sp == &e->author && !q_author_valid(v)))
		return -1;
	if (sp != NULL) {
		free(*sp);
		*sp = xstrdup(v);
		return 0;
	}
	if (parse_num(v, &n) == -1)
		return -1;
	if (strcmp(line, "created") == 0)
		e->created = (time_t)n;
	else if (strcmp(line, "next") == 0)
		e->next = (time_t)n;
	else if (strcmp(line, "attempts") == 0 && n < 1000000)
		e->attempts = (int)n;
	else
		return -1;
	return 0;
}

/* Parse an envelope; -1 with the line number in err. */
int
q_env_parse(const char *data, size_t len, struct q_envelope *e, char *err,
    size_t errlen)
{
	char	*copy, *line, *nl;
	int	 lineno = 0;

	q_env_init(e);
	if (memchr(data, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in envelope");
		return -1;
	}
	copy = xstrndup(data, len);
	for (line = copy; *line != '\0'; line = nl + 1) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL) {
			snprintf(err, errlen, "line %d: no newline", lineno);
			goto fail;
		}
		*nl = '\0';
		if (parse_line(e, line) == -1) {
			snprintf(err, errlen, "line %d: bad record", lineno);
			goto fail;
		}
	}
	free(copy);
	if (!q_id_valid(e->id) || e->nrcpt == 0) {
		snprintf(err, errlen, "no id or no recipient");
		q_env_free(e);
		return -1;
	}
	return 0;
fail:
	free(copy);
	q_env_free(e);
	return -1;
}

int
q_env_read(int dirfd, const char *path, struct q_envelope *e)
{
	struct buf	 b;
	char		 chunk[8192], err[128];
	ssize_t		 n;
	int		 fd, r;

	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	buf_init(&b, Q_ENV_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			n = -1;
			break;
		}
	close(fd);
	if (n == -1) {
		buf_free(&b);
		return -1;
	}
	r = q_env_parse(b.data ? b.data : "", b.len, e, err, sizeof(err));
	if (r == -1)
		log_warnx("envelope %s: %s", path, err);
	buf_free(&b);
	return r;
}

/*
 * Replace path (relative to dirfd) atomically: write "path.tmp", fsync,
 * rename.  The caller fsyncs the directory when the rename must be
 * durable before it goes on.
 */
int
q_env_write(int dirfd, const char *path, const struct q_envelope *e)
{
	char	 tmp[512], *data;
	size_t	 len;
	int	 fd, r = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	q_env_format(e, &data, &len);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		goto out;
	if (io_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, path) == -1) {
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	r = 0;
out:
	free(data);
	return r;
}

/*
 * The envelope of a message the hand-off brought (q_handoff_read checked
 * every field and address).  trusted: submitd's parent over
 * queue_socket; else the receiver, which parses network input and may
 * have been taken over, so its claims are narrowed: its mail goes to
 * local users only and has no author (a receiver that names one would
 * have the queue sign what it wrote with a user's key).  The class is
 * the sender's claim either way (the receiver verifies DKIM, submitd
 * authenticated the author), and anything but SAFE is unsafe.  -1 with
 * why when it claims what it may not.
 */
int
q_env_of_handoff(const struct q_handoff *h, int trusted,
    struct q_envelope *e, const char **why)
{
	const struct q_handoff_rcpt	*r;
	uint32_t			 i;

	if (!trusted && h->author != NULL && *h->author != '\0') {
		*why = "the receiver named an author";
		return -1;
	}
	q_env_init(e);
	if (*h->id != '\0')
		memcpy(e->id, h->id, Q_ID_LEN + 1);
	free(e->from);
	e->from = xstrdup(h->from);
	free(e->helo);
	e->helo = xstrdup(h->helo);
	free(e->peer);
	e->peer = xstrdup(h->peer);
	free(e->source);
	e->source = xstrdup(trusted ? "submit" : "smtp");
	if (trusted && h->author != NULL) {
		free(e->author);
		e->author = xstrdup(h->author);
	}
	e->class = h->class == Q_CLASS_SAFE ? Q_CLASS_SAFE : Q_CLASS_UNSAFE;
	e->requiretls = (h->flags & Q_MSG_REQUIRETLS) != 0;
	for (i = 0; i < h->nrcpt; i++) {
		r = &h->rcpt[i];
		if (r->flags & Q_RCPT_LOCAL)
			q_env_add_rcpt(e, r->addr, r->user, Q_RS_PENDING);
		else if (trusted)
			q_env_add_rcpt(e, r->addr, "", Q_RS_REMOTE);
		else {
			q_env_free(e);
			*why = "the receiver never relays";
			return -1;
		}
	}
	e->created = time(NULL);
	e->next = e->created;
	return 0;
}
