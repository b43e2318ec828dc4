/*
 * config_int.h - what the config*.c files share and no caller needs: the
 * value types and the schema table.  The interface is config.h.
 *
 *	config.c	the schema: cfg_keys[], the sections, lookups
 *	config_value.c	each type's parser and check, storing a value
 *	config_parse.c	the reader: lines, sections, defaults, paths,
 *			free and dump
 */
#ifndef SM_CONFIG_INT_H
#define SM_CONFIG_INT_H

#include <stddef.h>

#include "config.h"

enum cfg_type {
	CFG_STR,	/* any non-empty text */
	CFG_PATH,	/* resolved against prefix */
	CFG_USER,	/* a user name */
	CFG_INT,
	CFG_PERCENT,	/* an integer 0 to 100 */
	CFG_SIZE,	/* bytes, with k/M/G */
	CFG_DURATION,	/* seconds, with s/m/h/d */
	CFG_BOOL,
	CFG_LISTEN,	/* one or more host:port */
	CFG_LOGLEVEL,
	CFG_ADDR,	/* a mail address or empty */
	CFG_RESOLVER,	/* empty or "ADDR[@PORT] ..." (common/dns.h) */
	CFG_HOSTPORT,	/* empty or "host:port" */
	CFG_PORT,	/* an integer 1 to 65535 */
	CFG_WORD,	/* one of the key's words */
	CFG_WORDS,	/* any of the key's words, or none */
	CFG_ZONES,	/* empty or domain names (common/registry_dns.h) */
	CFG_PORT_OFF	/* 0 (off) or a port, 1 to 65535 */
};

struct cfg_key {
	const char	*section;
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	const char	*def;		/* NULL: no default (unset) */
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The key name of section, or NULL. */
const struct cfg_key *cfg_find(const char *section, const char *name);
int	 cfg_known_section(const char *);

/* Store v as the value of key k; *why says what is wrong on failure. */
int	 cfg_set(struct sm_config *, const struct cfg_key *, const char *v,
	    const char **why);
void	 cfg_listen_clear(struct cfg_listen *);

/* The words a CFG_WORD or CFG_WORDS key takes: "a b c" (config.c). */
const char	*cfg_key_words(const struct cfg_key *);

#endif
