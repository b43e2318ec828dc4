/*
 * sort.h - what SORT and THREAD (RFC 5256, RFC 5957) make of a message's
 * header, and the threading itself.
 *
 *	sortkey.c	keys: the base subject, the casemapped form strings
 *			compare in, the sent date, the first address
 *	thread.c	Message-ID lists, THREAD=REFERENCES and
 *			THREAD=ORDEREDSUBJECT over an array of messages
 *	cmd-sort.c	the SORT and THREAD commands (ESORT's RETURN)
 *
 * sortkey.c and thread.c are pure functions on header values (outside
 * input: any sender writes them) and are unit tested and fuzzed; they run
 * in the per-user imapd process.
 */
#ifndef SM_IMAP_SORT_H
#define SM_IMAP_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* sortkey.c */
void	 imap_casemap(const char *, size_t, struct buf *);
int	 imap_base_subject(const char *, size_t, struct buf *);
int	 imap_sent_date(const char *, size_t, int64_t *);

#define IMAP_ADDR_MAILBOX	0	/* addr-mailbox of the first address */
#define IMAP_ADDR_DISPLAY	1	/* its display name, else addr-spec */
void	 imap_addr_key(const char *, size_t, int, struct buf *);

/* thread.c */
#define THREAD_MAX_REFS		256	/* message IDs of one References */

struct thread_msg {
	uint32_t	 id;		/* what to show: number or UID */
	int64_t		 date;		/* sent date, else INTERNALDATE */
	char		*msgid;		/* NULL: none (or none valid) */
	char		**refs;		/* parents, the oldest first */
	size_t		 nrefs;
	char		*subject;	/* base subject, casemapped */
	int		 reply;		/* the subject was a reply/forward */
};

char	*imap_msgid_first(const char *, size_t);
size_t	 imap_msgid_list(const char *, size_t, size_t, char ***);
void	 imap_thread_msg_free(struct thread_msg *);
void	 imap_thread_references(const struct thread_msg *, size_t,
	    struct buf *);
void	 imap_thread_orderedsubject(const struct thread_msg *, size_t,
	    struct buf *);

#endif
