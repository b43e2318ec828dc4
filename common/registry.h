/*
 * registry.h - the registry of trusted transmitters: domain and host
 * names an administrator vouches for, kept in registry.db of the user
 * database environment (common/db), and the question the receiver asks
 * about them over common/ipc.
 *
 * Who calls it: root processes only (smtpd's parent, which answers the
 * receiver's IPC_PARENT_REGISTRY, and sealmailctl), because only they
 * open the environment.  The receiver (unprivileged, chrooted) asks
 * through smtpd/registry_ask.c; the DNS registry zones are another
 * module (registry_dns.h) that needs no database.
 *
 * Names: a domain or host name in ASCII (A-labels only), by common/addr's
 * domain rule (addr_domain_check with ADDR_LOCAL: no address literal, no
 * U-label), of at least two labels (a listed top-level name would cover
 * every host under it), stored lowercased.  A listed domain covers its
 * hosts: registry_match() of mx.isp-a.test finds isp-a.test.
 *
 *	registry.db	name -> { created u64, expires u64 (0: never),
 *			note str (absent: none) }, a versioned record
 *			(db.h)
 *
 * A note is UTF-8 (RFC 3629) of at most REGISTRY_NOTE_MAX bytes without
 * control characters (it is printed on one line and logged).  An entry
 * whose expiry time has come is treated as absent by registry_match()
 * and by registry_add() (which replaces it), but is listed (marked
 * expired) and can be deleted until then.
 */
#ifndef SM_REGISTRY_H
#define SM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

struct db_env;
struct ipc_msg;
struct registry;

#define REGISTRY_NAME_MAX	ADDR_DOMAIN_MAX
#define REGISTRY_NOTE_MAX	200	/* bytes of UTF-8 */
#define REGISTRY_ASK_MAX	4	/* names in one IPC_PARENT_REGISTRY */

enum registry_result {
	REG_OK = 0,
	REG_INVALID,	/* malformed name, note or expiry */
	REG_NOTFOUND,	/* not listed (or expired, for matching) */
	REG_EXISTS,	/* already listed (and not expired) */
	REG_ERROR	/* the database failed (logged) */
};

struct registry_entry {
	char	 name[REGISTRY_NAME_MAX + 1];
	time_t	 created;
	time_t	 expires;	/* 0: never */
	char	 note[REGISTRY_NOTE_MAX + 1];	/* "": none */
};

/* "ok", "invalid", "not found", "exists", "database error". */
const char	*registry_strerror(int);

/* Validate a name and lowercase it into out.  0 or -1 with err. */
int		 registry_name_canon(const char *, char *out, size_t outlen,
		    char *err, size_t errlen);
/* Validate a note (NULL and "" are none).  0 or -1 with err. */
int		 registry_note_check(const char *, char *err, size_t errlen);
/* Has the entry expired at now? */
int		 registry_expired(const struct registry_entry *, time_t now);

/* Open registry.db in an open environment.  NULL on failure (logged). */
struct registry	*registry_open(struct db_env *);
void		 registry_close(struct registry *);

/*
 * List name (created now) with note (NULL: none) until expires (0:
 * never; must be after now).  REG_EXISTS when it is listed and not
 * expired; an expired entry is replaced.
 */
int		 registry_add(struct registry *, const char *name,
		    const char *note, time_t expires, time_t now, char *err,
		    size_t errlen);
/* Remove name (expired or not).  REG_NOTFOUND when it is not listed. */
int		 registry_del(struct registry *, const char *name, char *err,
		    size_t errlen);
/* Every entry, expired ones too, sorted by name; free() the list. */
int		 registry_list(struct registry *,
		    struct registry_entry **list_r, size_t *n_r);

/*
 * The entry that covers name now: name itself or the nearest parent
 * domain of it that is listed and not expired (one final dot of name is
 * ignored).  REG_OK with *e_r, REG_NOTFOUND, REG_INVALID (name is not a
 * valid name) or REG_ERROR.
 */
int		 registry_match(struct registry *, const char *name,
		    struct registry_entry *e_r);
int		 registry_match_at(struct registry *, const char *name,
		    time_t now, struct registry_entry *e_r);

/*
 * IPC_PARENT_REGISTRY (registry_ipc.c).  Request: one data field, 1 to
 * REGISTRY_ASK_MAX names each followed by a NUL.  Answer
 * IPC_RECEIVER_REGISTRY with the request's id: u32 status
 * (REGISTRY_ANS_*), u32 index of the asked name that matched, str the
 * listed name that covers it, str its note ("" for none; the name and
 * index are "" and 0 unless listed).
 */
#define REGISTRY_ANS_NONE	0
#define REGISTRY_ANS_LISTED	1
#define REGISTRY_ANS_TEMPFAIL	2

/* A request for names[0..n), 1 <= n <= REGISTRY_ASK_MAX. */
struct ipc_msg	*registry_ipc_request(uint32_t id, const char *const *names,
		    size_t n);
/*
 * Split a request into names[] (pointing into the message): their
 * number, or -1 when it is malformed.
 */
int		 registry_ipc_names(struct ipc_msg *,
		    const char *names[REGISTRY_ASK_MAX]);
/*
 * The parent's answer to a request from the receiver, or NULL when the
 * request is malformed (the caller ends that child).  A name that is
 * not a valid name matches nothing.  The first asked name that is
 * covered wins.
 */
struct ipc_msg	*registry_ipc_answer(struct registry *, struct ipc_msg *);
/* Read an answer: 0, or -1 when it is malformed. */
int		 registry_ipc_result(struct ipc_msg *, uint32_t *status_r,
		    uint32_t *index_r, const char **name_r,
		    const char **note_r);

#endif
