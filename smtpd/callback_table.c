/*
 * callback_table.c - the callback responder's pure parts (callback.h):
 * the parser of the one line a client sends, the table of open outbound
 * sessions the responder answers from, and the address helpers the
 * parent and the responder share.
 *
 * Called by callback_resp.c in smtpd.receiver ([global] user, chrooted:
 * the line parser reads network input), by smtpd's parent (address
 * checks of what smtpd.mta announces) and by test-callback.c and
 * fuzz-callback.c.  Nothing here does I/O.
 *
 * The table holds (mta slot, ID, remote address) for each session an
 * smtpd.mta has open to a receiver that offered SEALMAIL-CALLBACK.  An
 * ID is answered YES once, and only to a client at the address that
 * session connected to; then it is gone.  It goes too when the session
 * closes, and every ID of one mta goes when that mta dies.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "callback.h"
#include "net.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* the line */

static int
hex_lower(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * The client's input so far, b[0..len): exactly "CHECK <64 lowercase
 * hex>\r\n" and nothing after it is a CHECK (the ID to id_r, which holds
 * CBK_ID_LEN + 1); no LF yet and under CBK_LINE_MAX octets is MORE;
 * anything else is BAD.
 */
enum cbk_line
cbk_line_parse(const char *b, size_t len, char *id_r)
{
	static const char	 verb[] = "CHECK ";
	const size_t		 vlen = sizeof(verb) - 1;
	const char		*lf;

	if ((lf = memchr(b, '\n', len)) == NULL)
		return len < CBK_LINE_MAX ? CBK_LINE_MORE : CBK_LINE_BAD;
	if ((size_t)(lf - b) + 1 != len ||
	    len != vlen + CBK_ID_LEN + 2 ||
	    memcmp(b, verb, vlen) != 0 || !hex_lower(b + vlen, CBK_ID_LEN) ||
	    b[len - 2] != '\r')
		return CBK_LINE_BAD;
	memcpy(id_r, b + vlen, CBK_ID_LEN);
	id_r[CBK_ID_LEN] = '\0';
	return CBK_LINE_CHECK;
}

/*
 * A numeric IPv4 or IPv6 address in the one form both sides compare:
 * inet_ntop's, an IPv4-mapped IPv6 address as the IPv4 one.  -1 for
 * anything else (a name, a zone, garbage).
 */
int
cbk_addr_canon(const char *in, char *out, size_t outlen)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*r;

	if (inet_pton(AF_INET, in, &a4) == 1)
		r = inet_ntop(AF_INET, &a4, out, (socklen_t)outlen);
	else if (inet_pton(AF_INET6, in, &a6) != 1)
		return -1;
	else if (IN6_IS_ADDR_V4MAPPED(&a6))
		r = inet_ntop(AF_INET, &a6.s6_addr[12], out,
		    (socklen_t)outlen);
	else
		r = inet_ntop(AF_INET6, &a6, out, (socklen_t)outlen);
	return r == NULL ? -1 : 0;
}

/*
 * The responder listens where the receiver does: "host:port" (or
 * "[v6]:port") of an [smtpd] listen address with the port replaced.
 */
int
cbk_listen_addr(const char *listen, int port, char *out, size_t outlen)
{
	const char	*colon = strrchr(listen, ':');
	int		 n;

	if (colon == NULL || colon == listen || port <= 0 || port > 65535)
		return -1;
	n = snprintf(out, outlen, "%.*s:%d", (int)(colon - listen), listen,
	    port);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/*
 * May addr have one more (CHECK, callback) this minute?  slots is an
 * array of CBK_RATE_SLOTS, keyed by net_addr_key() (an IPv6 /64 counts
 * as one address); when it is full the oldest window is reused.  now is
 * time(NULL).
 */
int
cbk_rate_ok(struct cbk_rate *slots, const char *addr, int per_minute,
    long now)
{
	struct cbk_rate	*r, *oldest = &slots[0];
	char		 key[sizeof(slots[0].key)];
	long		 window = now / 60;
	size_t		 i;

	if (net_addr_key(addr, key, sizeof(key)) == -1)
		snprintf(key, sizeof(key), "%s", addr);
	for (i = 0; i < CBK_RATE_SLOTS; i++) {
		r = &slots[i];
		if (strcmp(r->key, key) == 0)
			goto found;
		if (r->window < oldest->window)
			oldest = r;
	}
	r = oldest;
	memcpy(r->key, key, sizeof(key));
	r->window = 0;
found:
	if (r->window != window) {
		r->window = window;
		r->count = 0;
	}
	return ++r->count <= per_minute;
}

/* ------------------------------------------------------------------ */
/* the table */

struct cbk_entry {
	uint32_t	 slot;
	char		 id[CBK_ID_LEN + 1];
	char		 addr[CBK_ADDR_MAX];
};

struct cbk_table {
	struct cbk_entry *e;
	size_t		 n;
	size_t		 max;
};

struct cbk_table *
cbk_table_new(size_t max)
{
	struct cbk_table *t = xcalloc(1, sizeof(*t));

	t->e = xcalloc(max, sizeof(*t->e));
	t->max = max;
	return t;
}

void
cbk_table_free(struct cbk_table *t)
{
	if (t == NULL)
		return;
	explicit_bzero(t->e, t->max * sizeof(*t->e));
	free(t->e);
	free(t);
}

static void
entry_remove(struct cbk_table *t, size_t i)
{
	t->e[i] = t->e[--t->n];
	explicit_bzero(&t->e[t->n], sizeof(t->e[t->n]));
}

/* id is CBK_ID_LEN long; compared in constant time, it is a secret */
static struct cbk_entry *
entry_find(struct cbk_table *t, const char *id, size_t *i_r)
{
	size_t	 i;

	if (strlen(id) != CBK_ID_LEN)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (CRYPTO_memcmp(t->e[i].id, id, CBK_ID_LEN) == 0) {
			*i_r = i;
			return &t->e[i];
		}
	return NULL;
}

/*
 * Session id of mta slot is open to addr (numeric).  An ID already
 * known is replaced; -1 when the ID or address is malformed or the
 * table is full.
 */
int
cbk_table_open(struct cbk_table *t, uint32_t slot, const char *id,
    const char *addr)
{
	struct cbk_entry *e;
	char		 canon[CBK_ADDR_MAX];
	size_t		 i;

	if (strlen(id) != CBK_ID_LEN || !hex_lower(id, CBK_ID_LEN) ||
	    cbk_addr_canon(addr, canon, sizeof(canon)) == -1)
		return -1;
	if ((e = entry_find(t, id, &i)) == NULL) {
		if (t->n == t->max)
			return -1;
		e = &t->e[t->n++];
	}
	e->slot = slot;
	memcpy(e->id, id, CBK_ID_LEN + 1);
	memcpy(e->addr, canon, sizeof(canon));
	return 0;
}

/* The session closed: its ID goes (only if it is that mta's). */
void
cbk_table_close(struct cbk_table *t, uint32_t slot, const char *id)
{
	size_t	 i;

	if (entry_find(t, id, &i) != NULL && t->e[i].slot == slot)
		entry_remove(t, i);
}

/* The mta in slot died: every ID it had goes. */
void
cbk_table_drop(struct cbk_table *t, uint32_t slot)
{
	size_t	 i = 0;

	while (i < t->n)
		if (t->e[i].slot == slot)
			entry_remove(t, i);
		else
			i++;
}

/*
 * A client at addr asks about id: 1 (YES) when a session with that ID
 * is open to addr, and then the ID is used up; else 0 (NO), and the
 * table is as it was (a wrong address does not burn the real one's ID).
 */
int
cbk_table_check(struct cbk_table *t, const char *id, const char *addr)
{
	char	 canon[CBK_ADDR_MAX];
	size_t	 i;

	if (cbk_addr_canon(addr, canon, sizeof(canon)) == -1 ||
	    entry_find(t, id, &i) == NULL || strcmp(t->e[i].addr, canon) != 0)
		return 0;
	entry_remove(t, i);
	return 1;
}

size_t
cbk_table_count(const struct cbk_table *t)
{
	return t->n;
}
