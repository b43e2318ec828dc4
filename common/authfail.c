/*
 * authfail.c - counting failed logins; see authfail.h.
 */
#include <stdio.h>
#include <string.h>

#include "authfail.h"
#include "net.h"

void
authfail_init(struct authfail *af, int max, long window)
{
	memset(af, 0, sizeof(*af));
	af->max = max;
	af->window = window > 0 ? window : 1;
}

static struct authfail_rec *
rec_find(struct authfail *af, struct authfail_rec *tab, const char *key,
    int create, time_t now)
{
	struct authfail_rec *r, *oldest = &tab[0];
	size_t	 i;

	for (i = 0; i < AUTHFAIL_SLOTS; i++) {
		r = &tab[i];
		if (r->key[0] != '\0' && strcmp(r->key, key) == 0)
			goto found;
		if (r->last < oldest->last)
			oldest = r;
	}
	if (!create)
		return NULL;
	r = oldest;
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->first = now;
found:
	if (now - r->first >= af->window) {
		r->first = now;
		r->count = 0;
	}
	return r;
}

/* 1 if client is barred now, with the seconds left in *left_r. */
int
authfail_barred(struct authfail *af, const char *client, time_t now,
    time_t *left_r)
{
	struct authfail_rec *r;
	char	 key[NET_ADDR_KEY_MAX];

	net_addr_key(client, key, sizeof(key));
	if ((r = rec_find(af, af->addr, key, 0, now)) == NULL ||
	    r->barred_until <= now)
		return 0;
	if (left_r != NULL)
		*left_r = r->barred_until - now;
	return 1;
}

/* Count one failure; returns the delay before answering, in ms. */
int
authfail_record(struct authfail *af, const char *client, const char *user,
    time_t now, struct authfail_result *res)
{
	struct authfail_rec *ra, *ru;
	char	 key[NET_ADDR_KEY_MAX];
	int	 n, ms;

	memset(res, 0, sizeof(*res));
	net_addr_key(client, key, sizeof(key));
	ra = rec_find(af, af->addr, key, 1, now);
	ra->last = now;
	res->addr_count = ++ra->count;
	ru = rec_find(af, af->user, user, 1, now);
	ru->last = now;
	res->user_count = ++ru->count;
	if (af->max > 0 && ra->count >= af->max && ra->barred_until <= now) {
		ra->barred_until = now + af->window;
		res->barred_now = 1;
	}
	n = res->addr_count > res->user_count ? res->addr_count :
	    res->user_count;
	ms = n * AUTHFAIL_STEP_MS;
	return ms > AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS : ms;
}

/* A good login forgets the user's failures, not the address's. */
void
authfail_success(struct authfail *af, const char *user, time_t now)
{
	struct authfail_rec *r;

	if ((r = rec_find(af, af->user, user, 0, now)) != NULL)
		r->count = 0;
}
