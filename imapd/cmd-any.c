/*
 * cmd-any.c - commands of any state and the session-level ones:
 * CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE (PLAIN,
 * with SASL-IR), ENABLE, NAMESPACE, COMPRESS and IDLE.
 *
 * LOGIN and AUTHENTICATE run in the pre-login process (unprivileged,
 * chrooted): they only decode the credentials and hand them to the
 * login hook, which asks the root parent to check them with PAM.  They
 * are refused before TLS (LOGINDISABLED).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "imapd.h"
#include "log.h"
#include "qresync.h"
#include "xmalloc.h"

#define IDLE_POLL_SEC	2

static int
client_tls(struct client *c)
{
	if (c->hooks == NULL)
		return 1;	/* user process: the relay did TLS */
	return c->hooks->is_tls != NULL && c->hooks->is_tls(c);
}

void
client_capabilities(struct client *c, struct buf *b)
{
	if (c->state != CS_NOTAUTH) {
		buf_addstr(b, IMAP_CAPS_AUTH);
		return;
	}
	/* LITERAL-, not LITERAL+, before login: see imapd.h */
	buf_addstr(b, "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID ENABLE IDLE");
	if (client_tls(c))
		buf_addstr(b, " AUTH=PLAIN");
	else
		buf_addstr(b, " STARTTLS LOGINDISABLED");
}

int
cmd_capability(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	struct buf	 b;

	if (args->n != 0) {
		client_tagged(c, tag, "BAD", "No arguments expected");
		return 0;
	}
	buf_init(&b, 0);
	client_capabilities(c, &b);
	client_printf(c, "* CAPABILITY %s\r\n", buf_cstr(&b));
	buf_free(&b);
	client_tagged(c, tag, "OK", "Capability completed");
	return 0;
}

int
cmd_noop(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	client_tagged(c, tag, "OK", "NOOP completed");
	return 0;
}

int
cmd_logout(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	client_printf(c, "* BYE Logging out\r\n");
	c->state = CS_LOGOUT;
	client_printf(c, "%s OK Logout completed\r\n", tag);
	client_close(c, NULL);
	return 0;
}

int
cmd_id(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	if (args->n != 1 || (args->v[0].type != IMAP_ARG_LIST &&
	    !imap_arg_is_atom(&args->v[0], "NIL"))) {
		client_tagged(c, tag, "BAD", "ID takes a list or NIL");
		return 0;
	}
	client_printf(c, "* ID (\"name\" \"Sealmail\")\r\n");
	client_tagged(c, tag, "OK", "ID completed");
	return 0;
}

int
cmd_starttls(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	if (c->hooks == NULL || c->hooks->starttls == NULL || client_tls(c)) {
		client_tagged(c, tag, "BAD", "TLS is already active");
		return 0;
	}
	client_tagged(c, tag, "OK", "Begin TLS negotiation now");
	if (c->hooks->starttls(c) == -1)
		client_close(c, "TLS failed");
	return 0;
}

static void
do_login(struct client *c, const char *tag, const char *user,
    const char *pass)
{
	if (!client_tls(c)) {
		client_tagged(c, tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS "
		    "first");
		return;
	}
	if (c->hooks == NULL || c->hooks->login == NULL) {
		client_tagged(c, tag, "NO", "Login not available");
		return;
	}
	c->busy = 1;
	c->hooks->login(c, tag, user, pass);
}

int
cmd_login(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	const char	*user, *pass;

	if (args->n != 2 || imap_arg_astring(&args->v[0], &user) == -1 ||
	    imap_arg_astring(&args->v[1], &pass) == -1) {
		client_tagged(c, tag, "BAD", "LOGIN user password");
		return 0;
	}
	do_login(c, tag, user, pass);
	return 0;
}

/*
 * A SASL response: base64 whose final padding may be left out (clients
 * differ).  -1 if it is not base64 or out cannot take it.
 */
static int
b64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned char	 raw[4096];
	size_t		 n;
	int		 r = -1;

	if (base64_decode(s, len, raw, sizeof(raw), &n,
	    BASE64_PAD_OPTIONAL) == BASE64_OK)
		r = buf_add(out, raw, n);
	explicit_bzero(raw, sizeof(raw));
	return r;
}

/* SASL PLAIN: [authzid] NUL authcid NUL password. */
static void
auth_plain(struct client *c, const char *tag, const char *b64, size_t len)
{
	struct buf	 b;
	const char	*authz, *user, *pass, *end;

	buf_init(&b, 4096);
	if (b64_decode(b64, len, &b) == -1 || b.len == 0) {
		client_tagged(c, tag, "BAD", "Invalid base64");
		goto out;
	}
	authz = b.data;
	end = b.data + b.len;
	user = memchr(authz, '\0', b.len);
	if (user == NULL || (pass = memchr(user + 1, '\0',
	    (size_t)(end - user - 1))) == NULL) {
		client_tagged(c, tag, "NO", "[AUTHENTICATIONFAILED] Malformed "
		    "PLAIN response");
		goto out;
	}
	user++;
	pass++;
	if (memchr(pass, '\0', (size_t)(end - pass)) != NULL) {
		client_tagged(c, tag, "NO", "[AUTHENTICATIONFAILED] Malformed "
		    "PLAIN response");
		goto out;
	}
	if (*authz != '\0' && strcmp(authz, user) != 0) {
		client_tagged(c, tag, "NO", "[AUTHORIZATIONFAILED] Cannot act "
		    "as another user");
		goto out;
	}
	do_login(c, tag, user, pass);
out:
	buf_wipe(&b);
}

int
cmd_authenticate(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	const char	*mech, *ir;

	if (args->n < 1 || args->n > 2 ||
	    imap_arg_atom(&args->v[0], &mech) == -1) {
		client_tagged(c, tag, "BAD",
		    "AUTHENTICATE mechanism [response]");
		return 0;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		client_tagged(c, tag, "NO", "Unsupported mechanism");
		return 0;
	}
	if (!client_tls(c)) {
		client_tagged(c, tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS "
		    "first");
		return 0;
	}
	if (args->n == 2) {
		if (imap_arg_astring(&args->v[1], &ir) == -1) {
			client_tagged(c, tag, "BAD", "Bad initial response");
			return 0;
		}
		auth_plain(c, tag, strcmp(ir, "=") == 0 ? "" : ir,
		    strcmp(ir, "=") == 0 ? 0 : strlen(ir));
		return 0;
	}
	free(c->pending_tag);
	c->pending_tag = xstrdup(tag);
	c->mode = CM_AUTH;
	client_printf(c, "+ \r\n");
	return 0;
}

void
cmd_authenticate_line(struct client *c, const char *line, size_t len)
{
	char	*tag = c->pending_tag;

	c->pending_tag = NULL;
	c->mode = CM_COMMAND;
	if (len == 1 && line[0] == '*')
		client_tagged(c, tag, "BAD", "Authentication cancelled");
	else
		auth_plain(c, tag, line, len);
	free(tag);
}

int
cmd_enable(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct buf	 b;
	const char	*s;
	size_t		 i;

	if (args->n == 0) {
		client_tagged(c, tag, "BAD", "ENABLE what?");
		return 0;
	}
	buf_init(&b, 0);
	for (i = 0; i < args->n; i++) {
		if (imap_arg_atom(&args->v[i], &s) == -1) {
			buf_free(&b);
			client_tagged(c, tag, "BAD", "Bad capability");
			return 0;
		}
		if (strcasecmp(s, "CONDSTORE") == 0 && !c->condstore) {
			condstore_enable(c);
			buf_addstr(&b, " CONDSTORE");
		} else if (strcasecmp(s, "QRESYNC") == 0 && !c->qresync) {
			c->qresync = 1;		/* and CONDSTORE with it */
			condstore_enable(c);
			buf_addstr(&b, " QRESYNC");
		} else if (strcasecmp(s, "IMAP4rev2") == 0 && !c->rev2) {
			c->rev2 = 1;
			buf_addstr(&b, " IMAP4rev2");
		}
		/* anything else was not advertised and is not enabled */
	}
	client_printf(c, "* ENABLED%s\r\n", buf_cstr(&b));
	buf_free(&b);
	client_tagged(c, tag, "OK", "Enabled");
	return 0;
}

int
cmd_namespace(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	client_printf(c, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	client_tagged(c, tag, "OK", "Namespace completed");
	return 0;
}

int
cmd_compress(struct client *c, const char *tag,
    const struct imap_list *args, int uid)
{
	struct bufferevent	*bev;

	if (args->n != 1 || !imap_arg_is_atom(&args->v[0], "DEFLATE")) {
		client_tagged(c, tag, "BAD", "Only DEFLATE is supported");
		return 0;
	}
	if (c->compress) {
		client_tagged(c, tag, "NO", "[COMPRESSIONACTIVE] Already "
		    "compressing");
		return 0;
	}
	client_tagged(c, tag, "OK", "DEFLATE active");
	if ((bev = compress_start(c->bev)) == NULL) {
		client_close(c, "Compression failed");
		return 0;
	}
	c->compress = 1;
	client_set_bev(c, bev);
	return 0;
}

static void
idle_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct client	*c = arg;

	if (c->mode == CM_IDLE && !c->closing)
		client_sync(c, 1);
}

int
cmd_idle(struct client *c, const char *tag, const struct imap_list *args,
    int uid)
{
	struct timeval	 tv = { IDLE_POLL_SEC, 0 };

	if (args->n != 0) {
		client_tagged(c, tag, "BAD", "No arguments expected");
		return 0;
	}
	free(c->pending_tag);
	c->pending_tag = xstrdup(tag);
	c->mode = CM_IDLE;
	if (c->state == CS_SELECTED)
		client_sync(c, 1);
	client_printf(c, "+ idling\r\n");
	if (c->idle_ev == NULL)
		c->idle_ev = event_new(c->base, -1, EV_PERSIST, idle_tick, c);
	event_add(c->idle_ev, &tv);
	return 0;
}

void
cmd_idle_line(struct client *c, const char *line, size_t len)
{
	char	*tag = c->pending_tag;

	c->pending_tag = NULL;
	c->mode = CM_COMMAND;
	if (c->idle_ev != NULL)
		event_del(c->idle_ev);
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		client_tagged(c, tag, "OK", "IDLE terminated");
	else
		client_tagged(c, tag, "BAD", "Expected DONE");
	free(tag);
}
