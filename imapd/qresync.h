/*
 * qresync.h - CONDSTORE and QRESYNC (RFC 7162) for a session: turning
 * CONDSTORE on, the SELECT/EXAMINE parameters, VANISHED.  See qresync.c.
 */
#ifndef SM_IMAPD_QRESYNC_H
#define SM_IMAPD_QRESYNC_H

#include <stdint.h>

#include "imapd.h"

/* What a SELECT or EXAMINE asked for beyond the mailbox name. */
struct select_params {
	int		 condstore;
	int		 qresync;	/* the QRESYNC parameter was given */
	uint32_t	 uidvalidity;
	uint64_t	 modseq;
	const char	*known;		/* known-uids, or NULL */
};

#define MODSEQ_OF_MIN	0x01
#define MODSEQ_OF_MAX	0x02

int	 condstore_number(const char *, uint64_t *);
uint64_t condstore_result_modseq(const uint64_t *, size_t, int);
void	 condstore_enable(struct client *);
int	 select_params_parse(struct client *, const struct imap_list *,
	    struct select_params *, const char **);
void	 qresync_select(struct client *, const struct select_params *);
int	 qresync_vanished(struct client *, uint64_t, const char *);
void	 qresync_expunged(struct client *);

#endif
