/*
 * keys.c - sealmailctl verbs for the keystore's keys (keystore/ks_db.h):
 *
 *	keys show ADDRESS|DOMAIN	one key a line
 *	keys rotate ADDRESS|DOMAIN	new keys; the old ones retire
 *	keys revoke ADDRESS|DOMAIN [SELECTOR]
 *	keys dns [DOMAIN]		the TXT records to publish
 *
 * and the keys of "user add" / "domain add" (made) and "user del" /
 * "domain del" (revoked).  sealmailctl opens the key database itself, as
 * root, at the same time as a running keystore: every change is one
 * transaction of the key database.  Each run that opens it first does the
 * keystore's sweep (retiring keys past their deadline are revoked), so a
 * rotation ends on time even while the keystore is not running.
 *
 * An owner is checked against the user database before anything changes:
 * keys are made only for users and domains that exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ks_db.h"
#include "userdb.h"

#define TXT_STRING_MAX	255	/* octets of one <character-string> */

int
ctl_keys_open(struct ctl *c)
{
	char	 err[1024];
	int	 created, rev, del;

	if ((c->kdb = ks_db_open(&c->cfg, &created, err, sizeof(err))) ==
	    NULL)
		return ctl_err(c, "%s", err);
	if (created)
		fprintf(stderr, "sealmailctl: made the key database in %s and "
		    "its passphrase %s: keep a copy of the passphrase apart "
		    "from the backups of the database; without it the keys "
		    "cannot be read\n", c->cfg.keystore_db_dir,
		    c->cfg.keystore_passphrase_file);
	if (ks_db_sweep(c->kdb, (uint64_t)time(NULL), &rev, &del) == -1)
		fprintf(stderr, "sealmailctl: the key sweep failed (see the "
		    "log); going on\n");
	return CTL_OK;
}

void
ctl_keys_close(struct ctl *c)
{
	ks_db_close(c->kdb);
	c->kdb = NULL;
}

/* Canonical owner in out; 1 user, 2 domain, 0 neither (err said), -1. */
static int
ctl_owner(struct ctl *c, const char *given, char *out)
{
	struct userdb_user	 u;
	char			 err[256];
	int			 r;

	if (ks_owner_canon(given, out, KS_OWNER_MAX + 1, err,
	    sizeof(err)) == -1) {
		ctl_err(c, "%s: %s", given, err);
		return -1;
	}
	if (strchr(out, '@') != NULL) {
		r = userdb_user_get(c->udb, out, &u, err, sizeof(err));
		if (r == UDB_OK)
			return 1;
		if (r != UDB_NOTFOUND) {
			ctl_err(c, "%s: %s", out, err);
			return -1;
		}
		return 0;
	}
	if ((r = userdb_domain_exists(c->udb, out)) == -1) {
		ctl_err(c, "%s: the user database failed", out);
		return -1;
	}
	return r == 1 ? 2 : 0;
}

static void
print_time(const char *key, uint64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	char		 s[64];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		s[0] = '\0';
	printf(" %s=%s", key, s);
}

static void
print_key(const struct ks_keyrec *r)
{
	printf("selector=%s algorithm=%s state=%s", r->selector,
	    ks_alg_name(r->alg), ks_state_name(r->state));
	print_time("created", r->created);
	printf(" bits=%u", r->bits);
	if (r->state == KS_RETIRING)
		print_time("revoke_at", r->retire_at);
	else if (r->state == KS_REVOKED)
		print_time("revoked_at", r->revoked_at);
	printf("\n");
}

static int
print_keys(struct ctl *c, const char *owner)
{
	struct ks_keyrec	*l;
	size_t			 i, n;

	if (ks_db_keys(c->kdb, owner, &l, &n) == -1)
		return ctl_err(c, "%s: reading the key database failed", owner);
	for (i = 0; i < n; i++)
		print_key(&l[i]);
	free(l);
	return CTL_OK;
}

int
ctl_keys_show(struct ctl *c, int argc, char **argv)
{
	struct ks_keyrec	*l;
	char			 owner[KS_OWNER_MAX + 1];
	size_t			 n;
	int			 r;

	(void)argc;
	if ((r = ctl_owner(c, argv[0], owner)) == -1)
		return CTL_FAIL;
	if (r == 0) {
		/* a deleted user's revoked keys are still shown */
		if (ks_db_keys(c->kdb, owner, &l, &n) == -1)
			return ctl_err(c, "%s: reading the key database "
			    "failed", owner);
		free(l);
		if (n == 0)
			return ctl_err(c, "%s: no such user or domain", owner);
	}
	return print_keys(c, owner);
}

/* Make what an existing owner lacks of one active key per algorithm. */
int
ctl_keys_make(struct ctl *c, const char *given)
{
	char	 owner[KS_OWNER_MAX + 1], err[256];
	int	 made;

	if (ks_owner_canon(given, owner, sizeof(owner), err,
	    sizeof(err)) == -1)
		return ctl_err(c, "%s: %s", given, err);
	if (ks_db_ensure(c->kdb, owner, (uint64_t)time(NULL), &made) == -1)
		return ctl_err(c, "%s: making its keys failed", owner);
	return CTL_OK;
}

/* Revoke every key of an owner that is gone. */
int
ctl_keys_drop(struct ctl *c, const char *given)
{
	char	 owner[KS_OWNER_MAX + 1], err[256];
	int	 n;

	if (ks_owner_canon(given, owner, sizeof(owner), err,
	    sizeof(err)) == -1)
		return ctl_err(c, "%s: %s", given, err);
	if (ks_db_revoke(c->kdb, owner, NULL, (uint64_t)time(NULL), &n) == -1)
		return ctl_err(c, "%s: revoking its keys failed", owner);
	return CTL_OK;
}

int
ctl_keys_rotate(struct ctl *c, int argc, char **argv)
{
	char	 owner[KS_OWNER_MAX + 1];
	int	 r;

	(void)argc;
	if ((r = ctl_owner(c, argv[0], owner)) == -1)
		return CTL_FAIL;
	if (r == 0)
		return ctl_err(c, "%s: no such user or domain", owner);
	r = ks_db_rotate(c->kdb, owner, (uint64_t)time(NULL));
	if (r == KS_TOOMANY)
		return ctl_err(c, "%s has %d keys: wait until revoked ones "
		    "expire ([keystore] revoked_publish)", owner,
		    KS_KEYS_PER_OWNER);
	if (r != 0)
		return ctl_err(c, "%s: the rotation failed", owner);
	return print_keys(c, owner);
}

int
ctl_keys_revoke(struct ctl *c, int argc, char **argv)
{
	const char	*sel = argc > 1 ? argv[1] : NULL;
	char		 owner[KS_OWNER_MAX + 1];
	int		 r, exists, n;

	if (sel != NULL && !ks_selector_valid(sel))
		return ctl_err(c, "'%s' is not a selector", sel);
	struct ks_keyrec *l;
	size_t		 nkeys;

	if ((exists = ctl_owner(c, argv[0], owner)) == -1)
		return CTL_FAIL;
	if (!exists) {
		/* a deleted user's keys: revoked already, but allowed */
		if (ks_db_keys(c->kdb, owner, &l, &nkeys) == -1)
			return ctl_err(c, "%s: reading the key database "
			    "failed", owner);
		free(l);
		if (nkeys == 0)
			return ctl_err(c, "%s: no such user or domain", owner);
	}
	r = ks_db_revoke(c->kdb, owner, sel, (uint64_t)time(NULL), &n);
	if (r == KS_NOTFOUND)
		return ctl_err(c, "%s has no key %s", owner, sel);
	if (r != 0)
		return ctl_err(c, "%s: revoking failed", owner);
	/* A user or domain that still exists signs on with new keys. */
	if (exists && ctl_keys_make(c, owner) != CTL_OK)
		return CTL_FAIL;
	return print_keys(c, owner);
}

/* One TXT record: the value in strings of at most 255 octets. */
static void
print_txt(const struct ks_keyrec *r, const char *domain)
{
	struct buf	 v;
	size_t		 off, n;

	buf_init(&v, 0);
	ks_keyrec_dns(r, &v);
	printf("%s._domainkey.%s IN TXT", r->selector, domain);
	for (off = 0; off < v.len; off += n) {
		n = v.len - off > TXT_STRING_MAX ? TXT_STRING_MAX :
		    v.len - off;
		printf(" \"%.*s\"", (int)n, v.data + off);
	}
	printf("\n");
	buf_free(&v);
}

int
ctl_keys_dns(struct ctl *c, int argc, char **argv)
{
	struct ks_keyrec	*l;
	char			**owners, domain[KS_OWNER_MAX + 1], err[256];
	size_t			 i, j, n, nowners;
	int			 r;

	if (argc > 0) {
		if (userdb_domain_canon(argv[0], domain, sizeof(domain), err,
		    sizeof(err)) == -1)
			return ctl_err(c, "%s: %s", argv[0], err);
		if ((r = userdb_domain_exists(c->udb, domain)) != 1)
			return ctl_err(c, "%s: %s", domain, r == 0 ?
			    "no such domain" : "the user database failed");
	}
	if (ks_db_owners(c->kdb, &owners, &nowners) == -1)
		return ctl_err(c, "reading the key database failed");
	for (i = 0, r = CTL_OK; i < nowners && r == CTL_OK; i++) {
		if (argc > 0 &&
		    strcmp(ks_owner_domain(owners[i]), domain) != 0)
			continue;
		if (ks_db_keys(c->kdb, owners[i], &l, &n) == -1) {
			r = ctl_err(c, "reading the key database failed");
			break;
		}
		for (j = 0; j < n; j++)
			print_txt(&l[j], ks_owner_domain(owners[i]));
		free(l);
	}
	userdb_list_free(owners, nowners);
	return r;
}
