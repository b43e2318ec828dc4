/*
 * fuzz-imap-session.c - libFuzzer target for imapd's logged-in sessions:
 * everything the per-user process does with a client's bytes after login
 * (client.c, commands.c, the cmd-*.c files and the folders, messages and
 * indexes under them), in one or two sessions of the same user sharing
 * open folders as the user process's sessions do.
 *
 * Each input gets a fresh Maildir in /dev/shm (or $TMPDIR; removed at
 * exit): INBOX with three messages (one multipart with a nested
 * message), the folders imapd makes (Sent, Drafts, Trash) and Sub with
 * one message.  The first byte of the input picks the mode: bit 0 a
 * quota of QUOTA_SMALL bytes (else none), bit 1 writes the client's
 * bytes a few at a time.  The rest is what the clients send: a 0x01 byte
 * passes to the other session (made when first used), 0x02 only waits;
 * either way the bytes so far are first read and answered.  After a
 * session's COMPRESS DEFLATE is accepted, what follows for it is
 * deflated before it is sent and its output inflated, as a client does.
 *
 * Checks that nothing touches memory it should not or leaks, that every
 * response is well formed (it starts with "* ", "+ " or a tag the client
 * sent, untagged ones are of a known kind, tagged ones OK, NO or BAD;
 * CRLF only at line ends; quoted strings escaped; the parentheses of
 * data balanced; literal data skipped by its length; FETCH and EXPUNGE
 * only of messages EXISTS and EXPUNGE told of), that both sessions end
 * once their input does, and that no folder stays open.
 *
 * The sessions are the user process's (hooks NULL but for two that only
 * count: closed and command_done; is_tls is asked only before login).
 * A session that has run MAX_COMMANDS commands is closed, so one input
 * cannot cost more than a few hundred commands.  With FUZZ_TRACE set in
 * the environment every response is printed.
 *
 *	./sealmail.sh fuzz, or by hand (sealmail.sh's fuzz_build):
 *	fuzz_build imap-session
 *	tests/fuzz/bin/fuzz-imap-session -max_len=4096 \
 *	    tests/fuzz/corpus/imap-session
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* imapd.c's, which this target does not link */
size_t	 imap_max_literal = 64 * 1024 * 1024;
size_t	 imap_max_command = 64 * 1024 * 1024;

#define INPUT_MAX	8192
#define MAX_COMMANDS	200
#define QUOTA_SMALL	6000
#define NSESS		2

struct sess {
	int		 fd;		/* the client's end */
	struct client	*c;		/* NULL once freed */
	int		 used;
	struct buf	 sent;		/* what the client sent */
	struct buf	 pending;	/* to write (deflated if zon) */
	size_t		 pend_off;
	int		 commands;
	/* the output checker */
	long		 exists;	/* messages it was told of */
	int		 zon;		/* COMPRESS is on */
	z_stream	 zin;		/* deflates what we send */
	z_stream	 zout;		/* inflates what we read */
	struct buf	 resp;		/* this response but literals */
	uint64_t	 lit;		/* literal data still to come */
	int		 cr;
};

static struct sess	 fz[NSESS];
static char		 fz_root[256];
static struct event_base *fz_base;
static int		 fz_trace;	/* $FUZZ_TRACE: print responses */

static void	out_plain(struct sess *, const unsigned char *, size_t);

static void
fz_closed(struct client *c)
{
	struct sess	*s = c->hook_arg;

	s->c = NULL;
}

static void
fz_command_done(struct client *c)
{
	struct sess	*s = c->hook_arg;

	if (++s->commands == MAX_COMMANDS)
		client_close(c, "Enough for one input");
}

static const struct client_hooks fz_hooks = {
	.closed = fz_closed,
	.command_done = fz_command_done,
};

/* The Maildir: three messages in INBOX, one in Sub. */
static const char msg_plain[] =
    "From: Alice Example <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Subject: Lunch\r\n"
    "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Shall we have lunch?\r\n";
static const char msg_reply[] =
    "From: bob@example.net\r\n"
    "To: Alice Example <alice@example.org>\r\n"
    "Cc: carol@example.com, \"D. Dave\" <dave@example.com>\r\n"
    "Subject: Re: Lunch\r\n"
    "Date: Mon, 7 Dec 2026 11:30:00 +0100\r\n"
    "Message-ID: <2@example.net>\r\n"
    "In-Reply-To: <1@example.org>\r\n"
    "References: <1@example.org>\r\n"
    "\r\n"
    "Yes, at noon.\r\n";
static const char msg_multi[] =
    "From: =?UTF-8?Q?Ren=C3=A9?= <rene@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Subject: =?UTF-8?B?UmVwb3J0IMOpdMOp?=\r\n"
    "Date: Tue, 8 Dec 2026 09:15:00 -0500\r\n"
    "Message-ID: <3@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 report=\r\n"
    " follows\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream; name=\"r.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"r.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQFBgcICQ==\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: carol@example.com\r\n"
    "Subject: inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>inner</p>\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s/%s", fz_root, dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
maildir_reset(void)
{
	char	 err[128];

	nftw(fz_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mbox_set_root(fz_root);
	mbox_ensure_defaults();
	if (mbox_create("Sub", err, sizeof(err)) == -1)
		abort();
	mbox_subscribe("Sub", 1);
	put_file("cur", "1796637600.M1P1.fuzz,S=160:2,S", msg_plain);
	put_file("cur", "1796643000.M2P1.fuzz,S=280:2,FR", msg_reply);
	put_file("new", "1796724900.M3P1.fuzz,S=1000", msg_multi);
	put_file(".Sub/cur", "1796637601.M4P1.fuzz,S=160:2,ST", msg_plain);
}

static void
maildir_remove(void)
{
	nftw(fz_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = "/dev/shm";
	struct stat	 st;

	log_init("fuzz", 1, LOG_LVL_ERR);
	fz_trace = getenv("FUZZ_TRACE") != NULL;
	if (stat(tmp, &st) == -1 || !S_ISDIR(st.st_mode))
		tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(fz_root, sizeof(fz_root), "%s/fuzz-imap-session.%d", tmp,
	    (int)getpid());
	atexit(maildir_remove);
	return 0;
}

static void
sess_start(struct sess *s)
{
	struct bufferevent	*bev;
	int			 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	memset(s, 0, sizeof(*s));
	s->fd = sv[1];
	s->used = 1;
	s->exists = -1;
	buf_init(&s->sent, 0);
	buf_init(&s->pending, 0);
	buf_init(&s->resp, 0);
	bev = bufferevent_socket_new(fz_base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		abort();
	/* as imapd.c's user_session() starts a session */
	s->c = client_new(fz_base, bev, "fuzz@example.org", "fuzz",
	    &fz_hooks, s);
	client_printf(s->c, "* PREAUTH [CAPABILITY %s] Sealmail ready\r\n",
	    IMAP_CAPS_AUTH);
}

static void
sess_end(struct sess *s)
{
	if (!s->used)
		return;
	close(s->fd);
	buf_free(&s->sent);
	buf_free(&s->pending);
	buf_free(&s->resp);
	if (s->zon) {
		deflateEnd(&s->zin);
		inflateEnd(&s->zout);
	}
	s->used = 0;
}

/*
 * Whether tag was sent as a tag: at the start of the input or after a CR
 * or LF (imapd skips empty lines and a stray CR), followed by a space or
 * the line's end.
 */
static int
tag_sent(const struct sess *s, const char *tag, size_t len)
{
	const char	*p = s->sent.data, *e = p + s->sent.len;

	for (; (size_t)(e - p) > len; p++)
		if ((p == s->sent.data || p[-1] == '\r' || p[-1] == '\n') &&
		    memcmp(p, tag, len) == 0 && (p[len] == ' ' ||
		    p[len] == '\r' || p[len] == '\n'))
			return 1;
	return 0;
}

static int
word_is(const char *p, const char *e, const char *w)
{
	size_t	 n = strlen(w);

	return (size_t)(e - p) >= n && strncasecmp(p, w, n) == 0 &&
	    (p + n == e || p[n] == ' ');
}

/*
 * The parentheses of a data response balance, outside quoted strings
 * (whose escapes are only \\ and \") and literals ("{n}" at a line end;
 * the data itself is not in resp).  NULL, or what is wrong.
 */
static const char *
check_parens(const char *p, const char *e)
{
	int	 depth = 0;

	for (; p < e; p++) {
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\' && (++p == e ||
				    (*p != '\\' && *p != '"')))
					return "bad escape in a quoted string";
			if (p == e)
				return "unterminated quoted string";
		} else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return "unbalanced )";
	}
	return depth != 0 ? "unclosed (" : NULL;
}

static const char *const untagged[] = {
	"OK", "NO", "BAD", "BYE", "PREAUTH", "CAPABILITY", "LIST", "LSUB",
	"STATUS", "SEARCH", "ESEARCH", "FLAGS", "ENABLED", "ID", "NAMESPACE",
	"SORT", "THREAD", "QUOTA", "QUOTAROOT", "VANISHED", NULL
};
static const char *const numbered[] = {
	"EXISTS", "RECENT", "EXPUNGE", "FETCH", NULL
};

/*
 * A numbered response against the number of messages the session was
 * told (s->exists, -1 while unknown): EXPUNGE and FETCH name one of them,
 * RECENT is at most all of them.
 */
static const char *
check_number(struct sess *s, unsigned long n, const char *kind)
{
	if (strcmp(kind, "EXISTS") == 0) {
		s->exists = (long)n;
		return NULL;
	}
	if (s->exists < 0)
		return NULL;
	if (strcmp(kind, "RECENT") == 0)
		return n > (unsigned long)s->exists ? "RECENT over EXISTS" :
		    NULL;
	if (n == 0 || n > (unsigned long)s->exists)
		return "a message number the client was not told of";
	if (strcmp(kind, "EXPUNGE") == 0)
		s->exists--;
	return NULL;
}

/* An untagged response ("* " and what follows at w): NULL if good. */
static const char *
check_untagged(struct sess *s, const char *w, const char *e)
{
	const char	*why;
	unsigned long	 n;
	size_t		 i;

	for (i = 0; untagged[i] != NULL; i++)
		if (word_is(w, e, untagged[i]))
			break;
	if (untagged[i] != NULL) {
		/* VANISHED, not EARLIER: a count this does not keep */
		if (strcmp(untagged[i], "VANISHED") == 0 &&
		    !word_is(w + 9, e, "(EARLIER)"))
			s->exists = -1;
		return i < 5 ? NULL : check_parens(w, e);
	}
	if (!isdigit((unsigned char)*w))
		return "unknown untagged response";
	n = strtoul(w, NULL, 10);
	while (w < e && isdigit((unsigned char)*w))
		w++;
	if (w == e || *w++ != ' ')
		return "a number alone";
	for (i = 0; numbered[i] != NULL; i++)
		if (word_is(w, e, numbered[i]))
			break;
	if (numbered[i] == NULL)
		return "unknown numbered response";
	if ((why = check_number(s, n, numbered[i])) != NULL)
		return why;
	return check_parens(w, e);
}

/* One whole response (literal data left out), without its CRLF. */
static const char *
check_response(struct sess *s, const char *p, size_t len)
{
	const char	*e = p + len, *w;

	if (len >= 2 && p[0] == '+' && p[1] == ' ')
		return NULL;
	if (len >= 2 && p[0] == '*' && p[1] == ' ')
		return check_untagged(s, p + 2, e);
	/* imapd takes 8-bit tags (RFC 3501 has none), and echoes them */
	for (w = p; w < e && *w != ' '; w++)
		if ((unsigned char)*w <= 0x20 || (unsigned char)*w == 0x7f ||
		    strchr("(){%*\"\\+[]", *w) != NULL)
			return "not a tag";
	if (w == p || w == e)
		return "no tag";
	if (!tag_sent(s, p, (size_t)(w - p)))
		return "a tag the client did not send";
	w++;
	if (!word_is(w, e, "OK") && !word_is(w, e, "NO") &&
	    !word_is(w, e, "BAD"))
		return "tagged, but not OK, NO or BAD";
	return NULL;
}

/* A response is complete: check it; COMPRESS's OK turns deflate on. */
static int
response_done(struct sess *s)
{
	static const char deflate_ok[] = " OK DEFLATE active";
	const char	*r = s->resp.data, *why;
	size_t		 len = s->resp.len - 2;
	size_t		 n = sizeof(deflate_ok) - 1;

	if (fz_trace)
		fprintf(stderr, "%d< %.*s\n", (int)(s - fz), (int)len, r);
	if ((why = check_response(s, r, len)) != NULL) {
		fprintf(stderr, "session %d: %s: \"%.*s\"\n", (int)(s - fz),
		    why, (int)len, r);
		abort();
	}
	if (len <= n || memcmp(r + len - n, deflate_ok, n) != 0 ||
	    memchr(r, ' ', len - n) != NULL || r[0] == '*' || s->zon) {
		buf_reset(&s->resp);
		return 0;
	}
	buf_reset(&s->resp);
	if (deflateInit2(&s->zin, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK || inflateInit2(&s->zout, -15) != Z_OK)
		abort();
	s->zon = 1;
	return 1;
}

/*
 * The literal a line announces at its end ("{n}" or "~{n}"), if any:
 * its length in *n.
 */
static int
line_literal(const struct buf *b, uint64_t *n)
{
	const char	*e = b->data + b->len - 2, *p = e;

	if (b->len < 5 || e[-1] != '}')
		return 0;
	for (p = e - 2; p > b->data && isdigit((unsigned char)*p); p--)
		;
	if (*p != '{' || p == e - 2)
		return 0;
	*n = strtoull(p + 1, NULL, 10);
	return 1;
}

/* The server's plain output, as it comes: one byte at a time. */
static void
out_plain(struct sess *s, const unsigned char *p, size_t n)
{
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		if (s->lit > 0) {
			k = n - i < s->lit ? n - i : (size_t)s->lit;
			s->lit -= k;
			i += k - 1;
			continue;
		}
		buf_addc(&s->resp, (char)p[i]);
		if (p[i] == '\0' || (s->cr && p[i] != '\n') ||
		    (!s->cr && p[i] == '\n')) {
			fprintf(stderr, "session %d: NUL, or CR or LF alone: "
			    "\"%s\"\n", (int)(s - fz), buf_cstr(&s->resp));
			abort();
		}
		s->cr = p[i] == '\r';
		if (p[i] != '\n')
			continue;
		if (line_literal(&s->resp, &s->lit))
			continue;
		if (response_done(s) && i + 1 < n) {
			/* what follows COMPRESS's OK is deflated */
			s->zout.next_in = (unsigned char *)p + i + 1;
			s->zout.avail_in = (uInt)(n - i - 1);
			return;
		}
	}
}

static void
out_raw(struct sess *s, const unsigned char *p, size_t n)
{
	unsigned char	 z[8192];
	int		 rc;

	if (!s->zon) {
		out_plain(s, p, n);
		if (!s->zon || s->zout.avail_in == 0)
			return;
		p = s->zout.next_in;
		n = s->zout.avail_in;
	}
	s->zout.next_in = (unsigned char *)p;
	s->zout.avail_in = (uInt)n;
	do {
		s->zout.next_out = z;
		s->zout.avail_out = sizeof(z);
		rc = inflate(&s->zout, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			abort();	/* the server's deflate stream broke */
		out_plain(s, z, sizeof(z) - s->zout.avail_out);
	} while (s->zout.avail_out == 0);
}

/* Read what the server wrote; 1 if there was anything. */
static int
drain(struct sess *s)
{
	unsigned char	 b[16384];
	ssize_t		 n;
	int		 got = 0;

	while ((n = read(s->fd, b, sizeof(b))) > 0) {
		out_raw(s, b, (size_t)n);
		got = 1;
	}
	return got;
}

/* Write what is pending for s; 1 if anything was written. */
static int
push(struct sess *s)
{
	ssize_t	 n;

	if (s->pend_off == s->pending.len)
		return 0;
	n = write(s->fd, s->pending.data + s->pend_off,
	    s->pending.len - s->pend_off);
	if (n <= 0)
		return 0;
	s->pend_off += (size_t)n;
	if (s->pend_off == s->pending.len) {
		buf_reset(&s->pending);
		s->pend_off = 0;
	}
	return 1;
}

/* Queue bytes for the server, deflated once COMPRESS is on. */
static void
send_bytes(struct sess *s, const uint8_t *p, size_t n)
{
	unsigned char	 z[8192];

	buf_add(&s->sent, p, n);
	if (!s->zon) {
		buf_add(&s->pending, p, n);
		return;
	}
	s->zin.next_in = (unsigned char *)p;
	s->zin.avail_in = (uInt)n;
	do {
		s->zin.next_out = z;
		s->zin.avail_out = sizeof(z);
		if (deflate(&s->zin, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			abort();
		buf_add(&s->pending, z, sizeof(z) - s->zin.avail_out);
	} while (s->zin.avail_out == 0);
}

/* Bytes the server has not read yet from s. */
static int
unread(const struct sess *s)
{
	int	 n = 0;

	if (s->c == NULL || ioctl(s->c->bev != NULL ?
	    bufferevent_getfd(s->c->bev) : -1, FIONREAD, &n) == -1)
		return 0;
	return n;
}

/*
 * Run the event loop and move bytes both ways until nothing moves: every
 * session has read and answered everything sent to it.
 */
static void
pump(void)
{
	int	 i, k, quiet = 0, moved;

	for (k = 0; k < 100000 && quiet < 3; k++) {
		moved = 0;
		for (i = 0; i < NSESS; i++) {
			if (!fz[i].used)
				continue;
			moved |= push(&fz[i]);
			moved |= drain(&fz[i]);
			moved |= unread(&fz[i]) > 0;
		}
		event_base_loop(fz_base, EVLOOP_NONBLOCK);
		quiet = moved ? 0 : quiet + 1;
	}
}

static int
still_open(const char *name, void *arg)
{
	return mbox_is_open(name, 0) ? -1 : 0;
}

static int
sessions_alive(void)
{
	int	 i, n = 0;

	for (i = 0; i < NSESS; i++)
		n += fz[i].used && fz[i].c != NULL;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sess	*s;
	size_t		 i, start, chunk;
	unsigned	 seed;
	int		 cur = 0, k, small;

	if (size == 0 || size > INPUT_MAX)
		return 0;
	imap_quota_bytes = data[0] & 1 ? QUOTA_SMALL : 0;
	small = data[0] & 2;
	seed = data[0];
	data++;
	size--;
	maildir_reset();
	fz_base = event_base_new();
	sess_start(&fz[0]);
	pump();
	for (start = i = 0; i <= size; i++) {
		if (i < size && data[i] != 0x01 && data[i] != 0x02)
			continue;
		s = &fz[cur];
		if (!s->used)
			sess_start(s);
		while (start < i) {
			chunk = small ? 1 + seed % 13 : i - start;
			seed = seed * 1103515245u + 12345u;
			if (chunk > i - start)
				chunk = i - start;
			send_bytes(s, data + start, chunk);
			start += chunk;
			pump();
		}
		start = i + 1;
		if (i < size && data[i] == 0x01)
			cur = (cur + 1) % NSESS;
	}
	for (i = 0; i < NSESS; i++)
		if (fz[i].used) {
			pump();
			shutdown(fz[i].fd, SHUT_WR);
		}
	for (k = 0; k < 1000 && sessions_alive() > 0; k++)
		pump();
	if (sessions_alive() > 0)
		abort();	/* a session must end with its input */
	event_base_loop(fz_base, EVLOOP_NONBLOCK);
	for (i = 0; i < NSESS; i++) {
		if (fz[i].used)
			drain(&fz[i]);
		sess_end(&fz[i]);
	}
	if (mbox_is_open("INBOX", 0) || mbox_list(still_open, NULL) != 0 ||
	    client_count() != 0)
		abort();	/* every folder closed with its sessions */
	event_base_free(fz_base);
	return 0;
}
