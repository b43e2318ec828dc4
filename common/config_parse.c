/*
 * config_parse.c - reading sealmail.conf: lines, "[section]" headers and
 * "key = value" pairs into struct sm_config (the keys are config.c's
 * table, the values config_value.c's), then the defaults and the paths
 * resolved against prefix; and freeing and printing a configuration.
 * Runs wherever a configuration is loaded (root, before any privilege
 * drop); the file is the administrator's, but a line is still bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "config_int.h"
#include "io.h"
#include "log.h"
#include "xmalloc.h"

#define CFG_MAX_FILE	(1024 * 1024)
#define CFG_MAX_LINE	4096

static char *
cfg_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
cfg_apply_defaults(struct sm_config *c)
{
	const char *why;
	size_t	 i;

	for (i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].def != NULL &&
		    cfg_set(c, &cfg_keys[i], cfg_keys[i].def, &why) == -1)
			log_panic("default of %s.%s: %s", cfg_keys[i].section,
			    cfg_keys[i].name, why);
}

/* Make every CFG_PATH absolute against prefix. */
static void
cfg_resolve_paths(struct sm_config *c)
{
	char	**field, *p;
	size_t	 i;
	int	 slash;

	for (i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].type != CFG_PATH)
			continue;
		field = (char **)((char *)c + cfg_keys[i].off);
		if (*field == NULL || **field == '/')
			continue;
		slash = c->prefix[strlen(c->prefix) - 1] == '/';
		p = xasprintf("%s%s%s", c->prefix, slash ? "" : "/", *field);
		free(*field);
		*field = p;
	}
}

static int
cfg_error(char *err, size_t errlen, const char *file, int line,
    const char *key, const char *why)
{
	if (key != NULL)
		snprintf(err, errlen, "%s:%d: %s: %s", file, line, key, why);
	else
		snprintf(err, errlen, "%s:%d: %s", file, line, why);
	return -1;
}

/* Parse one line; *section is updated by a section header. */
static int
cfg_line(struct sm_config *c, char *line, char *section, size_t seclen,
    unsigned char *seen, const char *file, int lineno, char *err,
    size_t errlen)
{
	const struct cfg_key *k;
	const char *why;
	char	*s, *eq, *key, *val, *close;

	s = cfg_trim(line);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL ||
		    *cfg_trim(close + 1) != '\0')
			return cfg_error(err, errlen, file, lineno, NULL,
			    "malformed section header");
		*close = '\0';
		s = cfg_trim(s + 1);
		if (!cfg_known_section(s))
			return cfg_error(err, errlen, file, lineno, s,
			    "unknown section");
		snprintf(section, seclen, "%s", s);
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return cfg_error(err, errlen, file, lineno, NULL,
		    "expected key = value");
	*eq = '\0';
	key = cfg_trim(s);
	val = cfg_trim(eq + 1);
	if (*section == '\0')
		return cfg_error(err, errlen, file, lineno, key,
		    "key outside a section");
	if ((k = cfg_find(section, key)) == NULL)
		return cfg_error(err, errlen, file, lineno, key,
		    "unknown key in this section");
	if (seen[k - cfg_keys])
		return cfg_error(err, errlen, file, lineno, key,
		    "set twice");
	seen[k - cfg_keys] = 1;
	if (cfg_set(c, k, val, &why) == -1)
		return cfg_error(err, errlen, file, lineno, key, why);
	return 0;
}

/* Read text line by line into c; every key at most once. */
static int
cfg_lines(struct sm_config *c, const char *file, const char *text,
    size_t len, char *err, size_t errlen)
{
	unsigned char *seen;
	char	 section[32] = "", line[CFG_MAX_LINE + 1];
	size_t	 pos = 0, n;
	const char *nl;
	int	 lineno = 0, r = 0;

	seen = xcalloc(cfg_nkeys, 1);
	while (r == 0 && pos < len) {
		lineno++;
		nl = memchr(text + pos, '\n', len - pos);
		n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
		if (n > CFG_MAX_LINE)
			r = cfg_error(err, errlen, file, lineno, NULL,
			    "line too long");
		else if (memchr(text + pos, '\0', n) != NULL)
			r = cfg_error(err, errlen, file, lineno, NULL,
			    "NUL byte in line");
		else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			pos += n + (nl != NULL);
			r = cfg_line(c, line, section, sizeof(section), seen,
			    file, lineno, err, errlen);
		}
	}
	free(seen);
	return r;
}

int
config_parse_mem(const char *file, const char *text, size_t len,
    struct sm_config *c, char *err, size_t errlen)
{
	char	 host[256];

	memset(c, 0, sizeof(*c));
	c->path = xstrdup(file);
	cfg_apply_defaults(c);
	if (cfg_lines(c, file, text, len, err, errlen) == -1)
		goto fail;
	if (c->prefix[0] != '/') {
		cfg_error(err, errlen, file, 0, "prefix",
		    "must be an absolute path");
		goto fail;
	}
	if (c->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->hostname = xstrdup(host);
	}
	cfg_resolve_paths(c);
	return 0;
fail:
	config_free(c);
	return -1;
}

int
config_load(const char *path, struct sm_config *c, char *err, size_t errlen)
{
	struct buf b;
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, CFG_MAX_FILE);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			snprintf(err, errlen, "%s: file too large", path);
			goto fail;
		}
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	r = config_parse_mem(path, b.data != NULL ? b.data : "", b.len, c,
	    err, errlen);
	buf_free(&b);
	return r;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

/* The types whose field is a string (char *, NULL when unset). */
static int
cfg_is_text(enum cfg_type t)
{
	return t == CFG_STR || t == CFG_PATH || t == CFG_USER ||
	    t == CFG_ADDR || t == CFG_RESOLVER || t == CFG_HOSTPORT ||
	    t == CFG_WORD || t == CFG_WORDS || t == CFG_ZONES;
}

void
config_free(struct sm_config *c)
{
	size_t	 i;
	char	**field;

	for (i = 0; i < cfg_nkeys; i++) {
		if (cfg_is_text(cfg_keys[i].type)) {
			field = (char **)((char *)c + cfg_keys[i].off);
			free(*field);
			*field = NULL;
		} else if (cfg_keys[i].type == CFG_LISTEN)
			cfg_listen_clear((struct cfg_listen *)
			    ((char *)c + cfg_keys[i].off));
	}
	free(c->path);
	c->path = NULL;
}

/* Append the value in field of key k to b as the file would say it. */
static void
cfg_format(const struct cfg_key *k, const void *field, struct buf *b)
{
	const struct cfg_listen *l = field;
	int	 j;

	switch (k->type) {
	case CFG_INT:
	case CFG_PERCENT:
	case CFG_PORT:
	case CFG_PORT_OFF:
	case CFG_BOOL:
	case CFG_LOGLEVEL:
		buf_printf(b, "%d", *(const int *)field);
		break;
	case CFG_SIZE:
		buf_printf(b, "%zu", *(const size_t *)field);
		break;
	case CFG_DURATION:
		buf_printf(b, "%ld", *(const long *)field);
		break;
	case CFG_LISTEN:
		for (j = 0; j < l->n; j++)
			buf_printf(b, "%s%s", j ? " " : "", l->addr[j]);
		break;
	default:	/* the text types */
		if (*(char *const *)field != NULL)
			buf_addstr(b, *(char *const *)field);
		break;
	}
}

/* Print every setting as section.key=value, for check-config -v. */
void
config_dump(const struct sm_config *c, int fd)
{
	const struct cfg_key *k;
	struct buf b;
	size_t	 i;

	buf_init(&b, 0);
	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		buf_printf(&b, "%s.%s=", k->section, k->name);
		cfg_format(k, (const char *)c + k->off, &b);
		buf_addc(&b, '\n');
	}
	if (io_write_all(fd, b.data, b.len) == -1)
		log_warn("config_dump");
	buf_free(&b);
}
