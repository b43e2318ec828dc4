/*
 * dmarc_psl.c - the Public Suffix List (publicsuffix.org, Debian's
 * publicsuffix package) as a sorted table, and the organizational
 * domain of RFC 7489 section 3.2 from it.
 *
 * The list is read once by a process that can still read the file
 * (dmarc.h); lookups touch no file.  Rules are kept in lower case as
 * written ("com", "*.ck", "!www.ck"); rules in UTF-8 (IDN) are left
 * out, so a name under an IDN suffix falls back to the default rule
 * "*" (its last label).
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "log.h"
#include "xmalloc.h"

struct dmarc_psl {
	char	**rule;
	size_t	 n;
};

static int
cmp_rule(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* The rule at the start of line, lower case, or NULL to skip it. */
static char *
line_rule(const char *line)
{
	size_t	 n, i;
	char	*r;

	n = strcspn(line, " \t\r\n");
	if (n == 0 || n > 253 || strncmp(line, "//", 2) == 0)
		return (NULL);
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] >= 0x80 ||
		    !isgraph((unsigned char)line[i]))
			return (NULL);
	r = xstrndup(line, n);
	for (i = 0; i < n; i++)
		r[i] = tolower((unsigned char)r[i]);
	return (r);
}

struct dmarc_psl *
dmarc_psl_load(const char *path)
{
	struct dmarc_psl *psl;
	FILE	*f;
	char	*line = NULL, *r;
	size_t	 cap = 0, size = 0;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("dmarc: psl=%s", path);
		return (NULL);
	}
	psl = xcalloc(1, sizeof(*psl));
	while (getline(&line, &cap, f) != -1 && psl->n < DMARC_PSL_MAX) {
		if ((r = line_rule(line)) == NULL)
			continue;
		if (psl->n == size) {
			size = size == 0 ? 1024 : size * 2;
			psl->rule = xreallocarray(psl->rule, size,
			    sizeof(*psl->rule));
		}
		psl->rule[psl->n++] = r;
	}
	free(line);
	if (ferror(f) || psl->n == 0) {
		log_warnx("dmarc: psl=%s error=%s", path,
		    ferror(f) ? "read failed" : "no rules");
		fclose(f);
		dmarc_psl_free(psl);
		return (NULL);
	}
	fclose(f);
	qsort(psl->rule, psl->n, sizeof(*psl->rule), cmp_rule);
	return (psl);
}

void
dmarc_psl_free(struct dmarc_psl *psl)
{
	size_t	 i;

	if (psl == NULL)
		return;
	for (i = 0; i < psl->n; i++)
		free(psl->rule[i]);
	free(psl->rule);
	free(psl);
}

/* Whether the rule prefix followed by s is in the list. */
static int
has_rule(const struct dmarc_psl *psl, const char *prefix, const char *s)
{
	char	 key[300];
	const char *k = key;

	if ((size_t)snprintf(key, sizeof(key), "%s%s", prefix, s) >=
	    sizeof(key))
		return (0);
	return (bsearch(&k, psl->rule, psl->n, sizeof(*psl->rule),
	    cmp_rule) != NULL);
}

/*
 * The public suffix of name (lower case, no final dot): the offset in
 * name where it starts (RFC 7489 3.2, the publicsuffix.org algorithm:
 * an exception rule wins, else the matching rule with most labels,
 * else "*").
 */
static size_t
public_suffix(const struct dmarc_psl *psl, const char *name)
{
	const char *s, *dot;
	size_t	 best = (size_t)-1;

	/* exception rules first: the suffix is the rule less a label */
	for (s = name; s != NULL; s = (dot = strchr(s, '.')) ?
	    dot + 1 : NULL)
		if (has_rule(psl, "!", s)) {
			dot = strchr(s, '.');
			return (dot != NULL ? (size_t)(dot + 1 - name) :
			    strlen(name));
		}
	/* the longest suffix matching a rule or a wildcard */
	for (s = name; s != NULL && best == (size_t)-1;
	    s = (dot = strchr(s, '.')) ? dot + 1 : NULL) {
		dot = strchr(s, '.');
		if (has_rule(psl, "", s) ||
		    (dot != NULL && has_rule(psl, "*.", dot + 1)))
			best = s - name;
	}
	if (best != (size_t)-1)
		return (best);
	s = strrchr(name, '.');
	return (s != NULL ? (size_t)(s + 1 - name) : 0);
}

int
dmarc_org_domain(const struct dmarc_psl *psl, const char *name, char *out,
    size_t outlen)
{
	char	 low[256];
	size_t	 n, i, ps;

	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(low) || n >= outlen)
		return (-1);
	for (i = 0; i < n; i++)
		low[i] = tolower((unsigned char)name[i]);
	low[n] = '\0';
	ps = public_suffix(psl, low);
	/* one label more than the suffix, if there is one */
	if (ps >= 2) {
		i = ps - 1;
		while (i > 0 && low[i - 1] != '.')
			i--;
		ps = i;
	}
	memcpy(out, low + ps, n - ps + 1);
	return (0);
}
