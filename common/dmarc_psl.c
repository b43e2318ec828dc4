/*
 * dmarc_psl.c - the Public Suffix List (publicsuffix.org, Debian's
 * publicsuffix package) as a sorted table, and the organizational
 * domain of RFC 7489 section 3.2 from it.
 *
 * The list is read once by a process that can still read the file
 * (dmarc.h); lookups touch no file.  Rules are kept in lower case as
 * written ("com", "*.ck", "!www.ck"), labels in UTF-8 (IDN) turned into
 * the A-labels DNS names carry ("公司.cn" is kept as "xn--55qx5d.cn",
 * Punycode of RFC 3492); a rule that is not valid UTF-8 is left out.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

#define PUNY_LABEL_MAX	63

/* Decode UTF-8 s[0..n) into cp: how many code points, or -1. */
static int
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, size_t max)
{
	size_t	 i = 0, k = 0, more, j;
	uint32_t c;

	while (i < n) {
		if (k == max)
			return (-1);
		c = s[i];
		more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 :
		    (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
		if (more == 4 || i + more >= n + (more == 0))
			return (-1);
		if (more > 0)
			c &= 0x3f >> more;
		for (j = 1; j <= more; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return (-1);
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if ((more == 1 && c < 0x80) || (more == 2 && c < 0x800) ||
		    (more == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return (-1);
		cp[k++] = c;
		i += more + 1;
	}
	return ((int)k);
}

static uint32_t
puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > 35 * 26 / 2) {
		delta /= 35;
		k += 36;
	}
	return (k + 36 * delta / (delta + 38));
}

/* Append the Punycode of cp[0..len) (RFC 3492 6.3) to out: 0 or -1. */
static int
puny_encode(const uint32_t *cp, size_t len, struct buf *out)
{
	uint64_t delta = 0, q;
	uint32_t n = 128, bias = 72, m, k, t;
	size_t	 h = 0, b, i;
	char	 ch;

	for (i = 0; i < len; i++)
		if (cp[i] < 0x80) {
			ch = tolower((int)cp[i]);
			buf_addc(out, ch);
			h++;
		}
	if ((b = h) > 0)
		buf_addc(out, '-');
	while (h < len) {
		for (m = UINT32_MAX, i = 0; i < len; i++)
			if (cp[i] >= n && cp[i] < m)
				m = cp[i];
		delta += (uint64_t)(m - n) * (h + 1);
		n = m;
		for (i = 0; i < len; i++) {
			if (cp[i] < n)
				delta++;
			if (cp[i] != n)
				continue;
			for (q = delta, k = 36;; k += 36) {
				t = k <= bias ? 1 : k >= bias + 26 ? 26 :
				    k - bias;
				if (q < t)
					break;
				ch = "abcdefghijklmnopqrstuvwxyz0123456789"
				    [t + (q - t) % (36 - t)];
				buf_addc(out, ch);
				q = (q - t) / (36 - t);
			}
			ch = "abcdefghijklmnopqrstuvwxyz0123456789"[q];
			buf_addc(out, ch);
			bias = puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		n++;
		if (delta > UINT32_MAX)
			return (-1);
	}
	return (0);
}

/* Append one label of a rule, as an A-label if it is not ASCII. */
static int
rule_label(const char *l, size_t n, struct buf *out)
{
	uint32_t cp[PUNY_LABEL_MAX];
	size_t	 i;
	int	 len;
	char	 ch;

	for (i = 0; i < n && (unsigned char)l[i] < 0x80; i++)
		;
	if (i == n) {
		for (i = 0; i < n; i++) {
			if (!isgraph((unsigned char)l[i]))
				return (-1);
			ch = tolower((unsigned char)l[i]);
			buf_addc(out, ch);
		}
		return (0);
	}
	if ((len = utf8_decode((const unsigned char *)l, n, cp,
	    PUNY_LABEL_MAX)) <= 0)
		return (-1);
	buf_addstr(out, "xn--");
	return (puny_encode(cp, len, out));
}

/* The rule at the start of line, lower case, or NULL to skip it. */
static char *
line_rule(const char *line)
{
	struct buf b;
	const char *l, *dot, *end;
	char	*r = NULL;

	end = line + strcspn(line, " \t\r\n");
	if (end == line || end - line > 253 || strncmp(line, "//", 2) == 0)
		return (NULL);
	buf_init(&b, 512);
	for (l = line; l < end; l = dot + 1) {
		if ((dot = memchr(l, '.', end - l)) == NULL)
			dot = end;
		if (l != line)
			buf_addc(&b, '.');
		if (rule_label(l, dot - l, &b) == -1)
			goto done;
	}
	if (b.len <= 253)
		r = xstrdup(buf_cstr(&b));
done:
	buf_free(&b);
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
