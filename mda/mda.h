/*
 * mda.h - the mail delivery agent: shared types of its files.
 *
 *	mda.c		entry; the root parent of the LMTP server, which
 *			owns the user database, answers lookups and
 *			restarts mda.lmtp
 *	lmtp.c		the LMTP server role (mda.lmtp, runs as mail_user)
 *	deliver.c	Maildir++ delivery, stripping and quarantine
 *	record.c	delivery records: one copy per queue ID and user
 *	envelope.c	what mda accepts of an envelope: addresses, XSEAL,
 *			and the LDA's header filter
 *	lda.c		the command-line LDA for other MTAs
 *
 * Maildirs are reached and written through common/maildir.
 */
#ifndef SM_MDA_H
#define SM_MDA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "buf.h"
#include "qhandoff.h"

struct md_folder;
struct sm_config;
struct userdb;

#define MDA_ADDR_MAX	254	/* RFC 5321 4.5.3.1.3: 256 with the <> */
#define MDA_QID_LEN	Q_ID_LEN	/* smtpd's queue IDs (q_id_valid) */

enum mda_class {
	MDA_UNSAFE = 0,		/* unknown is unsafe */
	MDA_SAFE = 1
};

/* What delivery needs to know of one recipient. */
struct mda_rcpt {
	char		 rcpt[MDA_ADDR_MAX + 1];	/* as given */
	char		 user[MDA_ADDR_MAX + 1];	/* canonical user */
	int		 unsafe_mailbox;
	int		 strip_attachments;
	int		 strip_html;
	char		 subject_tag[65];
	uint64_t	 quota_bytes;
};

/* The result of one delivery: an LMTP reply line without CRLF. */
struct mda_status {
	int		 code;		/* 250, 451, 501, 550, 552 */
	char		 text[512];	/* "250 2.0.0 <rcpt> delivered..." */
};

/* mda.c */
int	 mda_lookup(const struct sm_config *, struct userdb *, const char *,
	    struct mda_rcpt *, struct mda_status *);

/* deliver.c */
void	 mda_deliver(const struct sm_config *, const struct mda_rcpt *,
	    enum mda_class, const char *, const char *, int,
	    struct mda_status *);
int	 mda_class_parse(const char *);
const char *mda_class_name(enum mda_class);

/* record.c */
int	 rec_open(int);
int	 rec_lock(int, const char *);
int	 rec_check(int, int, const char *, int *);
int	 rec_store(int, const char *, const struct md_folder *, int,
	    const struct buf *, int, const char *, char *, size_t);
int	 rec_purge(const char *, int, time_t, size_t *);

/* envelope.c */
int	 mda_addr_ok(const char *, int);
int	 mda_xseal_parse(const char *, char *, enum mda_class *);

/*
 * The LDA's header filter: copies a message, leaving out of its header
 * every Return-Path and Delivered-To field (with their continuation
 * lines), which the delivery adds afresh.  Fed in pieces of any size.
 */
struct mda_hdrfilter {
	int		 state;
	int		 drop;		/* the current field is dropped */
	size_t		 nlen;		/* bytes of a field name held */
	char		 name[16];	/* start of a line, undecided */
};
void	 mda_hdrfilter_init(struct mda_hdrfilter *);
void	 mda_hdrfilter_feed(struct mda_hdrfilter *, const char *, size_t,
	    struct buf *);
void	 mda_hdrfilter_end(struct mda_hdrfilter *, struct buf *);

/* lmtp.c */
#define MDA_LMTP_PROCESSES_MAX	32
void	 lmtp_main(const struct sm_config *, int, int, uid_t, int *, int,
	    int)
	    __attribute__((noreturn));

/* lda.c */
int	 lda_main(const struct sm_config *, const char *, const char *,
	    const char *);

#endif
