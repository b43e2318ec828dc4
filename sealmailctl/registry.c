/*
 * registry.c - sealmailctl verbs for the registry of trusted
 * transmitters (common/registry.h):
 *
 *	registry add NAME [--note TEXT] [--expires YYYY-MM-DD|DAYSd]
 *	registry del NAME
 *	registry list
 *
 * add refuses a name that is already listed and has not expired (del it
 * first to change its note or expiry); an expired entry is replaced.  A
 * date expires the entry at 00:00 UTC of that day; DAYSd that many days
 * from now (1 to 36500).  list prints one line per entry, expired ones
 * too:
 *
 *	NAME created=TIME expires=TIME|never state=active|expired note=TEXT
 *
 * (TIME as 2026-12-06T06:21:49Z; the note last, as given, possibly
 * empty).  Every argument is checked before anything changes; each
 * change is one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "registry.h"

#define DAYS_MAX	36500

static struct registry *
reg_open(struct ctl *c)
{
	struct registry	*r;

	if ((r = registry_open(c->env)) == NULL)
		ctl_err(c, "cannot open the registry in %s", c->cfg.db_dir);
	return r;
}

/* "YYYY-MM-DD" (00:00 UTC) or "DAYSd" from now into *t: 0 or -1. */
static int
parse_expires(const char *s, time_t now, time_t *t)
{
	struct tm	 tm;
	char		*end;
	long		 days;
	int		 y, m, d, n = 0;

	if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
		days = strtol(s, &end, 10);
		if (strcmp(end, "d") != 0 || days < 1 || days > DAYS_MAX)
			return -1;
		*t = now + (time_t)days * 86400;
		return 0;
	}
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d,
	    &n) != 3 || n != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*t = timegm(&tm);
	/* timegm normalises 2027-02-30: such a date is refused */
	if (*t == (time_t)-1 || tm.tm_year != y - 1900 ||
	    tm.tm_mon != m - 1 || tm.tm_mday != d)
		return -1;
	return 0;
}

int
ctl_registry_add(struct ctl *c, int argc, char **argv)
{
	struct registry	*r;
	const char	*name = NULL, *note = NULL, *exp = NULL;
	char		 err[256];
	time_t		 now = time(NULL), expires = 0;
	int		 i, res;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--note") == 0 && i + 1 < argc &&
		    note == NULL)
			note = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc &&
		    exp == NULL)
			exp = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return ctl_err(c, "unexpected argument %s (usage: "
			    "registry add NAME [--note TEXT] [--expires "
			    "YYYY-MM-DD|DAYSd])", argv[i]);
	}
	if (name == NULL)
		return ctl_err(c, "no name given");
	if (exp != NULL && parse_expires(exp, now, &expires) == -1)
		return ctl_err(c, "%s: expected --expires YYYY-MM-DD or "
		    "DAYSd (1 to %d days)", exp, DAYS_MAX);
	if ((r = reg_open(c)) == NULL)
		return CTL_FAIL;
	res = registry_add(r, name, note, expires, now, err, sizeof(err));
	registry_close(r);
	if (res != REG_OK)
		return ctl_err(c, "%s", err[0] != '\0' ? err :
		    registry_strerror(res));
	return CTL_OK;
}

int
ctl_registry_del(struct ctl *c, int argc, char **argv)
{
	struct registry	*r;
	char		 err[256];
	int		 res;

	(void)argc;
	if ((r = reg_open(c)) == NULL)
		return CTL_FAIL;
	res = registry_del(r, argv[0], err, sizeof(err));
	registry_close(r);
	if (res != REG_OK)
		return ctl_err(c, "%s", err[0] != '\0' ? err :
		    registry_strerror(res));
	return CTL_OK;
}

static const char *
fmt_time(time_t t, char *s, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(s, len, "%lld", (long long)t);
	return s;
}

int
ctl_registry_list(struct ctl *c, int argc, char **argv)
{
	struct registry		*r;
	struct registry_entry	*l;
	char			 cr[32], ex[32];
	time_t			 now = time(NULL);
	size_t			 i, n;
	int			 res;

	(void)argc;
	(void)argv;
	if ((r = reg_open(c)) == NULL)
		return CTL_FAIL;
	res = registry_list(r, &l, &n);
	registry_close(r);
	if (res != REG_OK)
		return ctl_err(c, "%s", registry_strerror(res));
	for (i = 0; i < n; i++)
		printf("%s created=%s expires=%s state=%s note=%s\n",
		    l[i].name, fmt_time(l[i].created, cr, sizeof(cr)),
		    l[i].expires == 0 ? "never" :
		    fmt_time(l[i].expires, ex, sizeof(ex)),
		    registry_expired(&l[i], now) ? "expired" : "active",
		    l[i].note);
	free(l);
	return CTL_OK;
}
