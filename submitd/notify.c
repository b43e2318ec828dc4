/*
 * notify.c - recent submissions per user, and the lockout notice to the
 * postmaster; see notify.h.
 *
 * Runs in the root parent.  The history is kept in memory only (the
 * last NOTIFY_HIST submissions of the NOTIFY_USERS most recently active
 * users since submitd started): it exists to tell the administrator
 * where a burst came from, the counters that matter are the user
 * database's.  Every string in the notice was checked by the parent
 * (user addresses through the user database, client addresses come from
 * accept()), so the notice needs no further cleaning.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "notify.h"
#include "queue.h"
#include "stamp.h"
#include "userdb.h"
#include "xmalloc.h"

#define NOTIFY_HIST	16
#define NOTIFY_USERS	256

struct sent {
	time_t		 t;
	char		 client[64];
	unsigned int	 n;
};

struct uhist {
	char		 user[USERDB_ADDR_MAX + 1];
	time_t		 last;
	struct sent	 sent[NOTIFY_HIST];
	int		 pos;		/* next slot */
};

struct notice {
	char	 id[Q_ID_LEN + 1];
	char	*rcpt[1];
	char	*ruser[1];
	char	 user[USERDB_ADDR_MAX + 1];
};

static struct uhist hist[NOTIFY_USERS];

static struct uhist *
hist_find(const char *user, int create)
{
	struct uhist *h, *oldest = &hist[0];
	size_t	 i;

	for (i = 0; i < NOTIFY_USERS; i++) {
		h = &hist[i];
		if (strcmp(h->user, user) == 0)
			return h;
		if (h->last < oldest->last)
			oldest = h;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->user, sizeof(oldest->user), "%s", user);
	return oldest;
}

void
notify_history_add(const char *user, const char *client, unsigned int n,
    time_t now)
{
	struct uhist *h = hist_find(user, 1);
	struct sent *s = &h->sent[h->pos];

	s->t = now;
	s->n = n;
	snprintf(s->client, sizeof(s->client), "%s", client);
	h->pos = (h->pos + 1) % NOTIFY_HIST;
	h->last = now;
}

/* The whole notice: header and body, CRLF lines. */
void
notify_lockout_text(struct buf *b, const struct sm_config *cfg,
    const char *id, const char *user, const char *client, unsigned int n,
    unsigned int used, unsigned int limit, time_t now)
{
	struct uhist *h = hist_find(user, 0);
	struct sent *s;
	char	 date[64];
	int	 i, k;

	stamp_date(date, sizeof(date), now);
	buf_printf(b, "Received: by %s (Sealmail submitd) id %s;\r\n\t%s\r\n",
	    cfg->hostname, id, date);
	buf_printf(b, "Date: %s\r\n", date);
	buf_printf(b, "From: Sealmail submission <%s>\r\n", cfg->postmaster);
	buf_printf(b, "To: <%s>\r\n", cfg->postmaster);
	buf_printf(b, "Subject: Account %s locked: daily recipient limit "
	    "exceeded\r\n", user);
	stamp_message_id(b, id, cfg->hostname);
	buf_printf(b, "Auto-Submitted: auto-generated\r\n");
	buf_printf(b, "MIME-Version: 1.0\r\n");
	buf_printf(b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");

	buf_printf(b, "The account %s was locked at %s because a message\r\n"
	    "would have taken it past its daily recipient limit.\r\n\r\n",
	    user, date);
	buf_printf(b, "user: %s\r\n", user);
	buf_printf(b, "limit: %u recipients per 24 hours\r\n", limit);
	buf_printf(b, "sent in the last 24 hours: %u recipients\r\n", used);
	buf_printf(b, "refused message: %u recipients from client %s at "
	    "%s\r\n\r\n", n, client, date);
	buf_printf(b, "Recent submissions by this user (time, client, "
	    "recipients):\r\n");
	if (h != NULL) {
		for (i = 0; i < NOTIFY_HIST; i++) {
			k = (h->pos + i) % NOTIFY_HIST;
			s = &h->sent[k];
			if (s->t == 0)
				continue;
			stamp_date(date, sizeof(date), s->t);
			buf_printf(b, "  %s  %s  %u\r\n", date, s->client,
			    s->n);
		}
	} else
		buf_printf(b, "  (none since submitd started)\r\n");
	buf_printf(b, "\r\nThe user can authenticate but cannot send until "
	    "the account is unlocked:\r\n\r\n  sealmailctl user unlock %s\r\n",
	    user);
}

static void
notice_done(void *arg, int ok, const char *text)
{
	struct notice *nt = arg;

	if (ok)
		log_info("id=%s lockout notice for user=%s queued to <%s>",
		    nt->id, nt->user, nt->rcpt[0]);
	else
		log_warnx("id=%s lockout notice for user=%s not queued: %s",
		    nt->id, nt->user, text);
	free(nt->rcpt[0]);
	free(nt->ruser[0]);
	free(nt);
}

void
notify_lockout(const struct sm_config *cfg, struct event_base *base,
    struct userdb *udb, const char *user, const char *client,
    unsigned int n, unsigned int used, unsigned int limit, time_t now)
{
	struct queue_envelope qe;
	struct notice *nt;
	struct buf b;
	char	 pmuser[USERDB_ADDR_MAX + 1];
	int	 qfd, msgfd;

	if (cfg->postmaster == NULL || cfg->postmaster[0] == '\0') {
		log_warnx("user=%s locked; no [global] postmaster to notify",
		    user);
		return;
	}
	nt = xcalloc(1, sizeof(*nt));
	q_id_new(nt->id);
	snprintf(nt->user, sizeof(nt->user), "%s", user);
	nt->rcpt[0] = xstrdup(cfg->postmaster);
	if (userdb_lookup_rcpt(udb, cfg->postmaster, pmuser,
	    sizeof(pmuser)) == UDB_OK)
		nt->ruser[0] = xstrdup(pmuser);
	buf_init(&b, 0);
	notify_lockout_text(&b, cfg, nt->id, user, client, n, used, limit,
	    now);
	msgfd = stamp_memfd(&b);
	buf_free(&b);
	if (msgfd == -1 || (qfd = queue_connect(cfg->queue_socket)) == -1) {
		if (msgfd != -1)
			close(msgfd);
		notice_done(nt, 0, "cannot reach the queue");
		return;
	}
	memset(&qe, 0, sizeof(qe));
	qe.id = nt->id;
	qe.from = "";
	qe.helo = cfg->hostname;
	qe.peer = "local";
	qe.nrcpt = 1;
	qe.rcpt = nt->rcpt;
	qe.user = nt->ruser;
	/* system mail: signed with the postmaster's domain's keys */
	qe.author = q_system_owner(cfg->postmaster, cfg->hostname);
	queue_handoff(base, qfd, &qe, msgfd, notice_done, nt);
}
