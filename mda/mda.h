/*
 * mda.h - the mail delivery agent: shared types of its files.
 *
 *	mda.c		entry; the root parent of the LMTP server, which
 *			owns the user database, answers lookups and
 *			restarts mda.lmtp
 *	lmtp.c		the LMTP server role (mda.lmtp, runs as mail_user)
 *	deliver.c	Maildir++ delivery, stripping and quarantine
 *	maildir.c	reaching and writing Maildirs without following
 *			links, the quota walk
 *	record.c	delivery records: one copy per queue ID and user
 *	envelope.c	what mda accepts of an envelope: addresses, XSEAL,
 *			and the LDA's header filter
 *	lda.c		the command-line LDA for other MTAs
 */
#ifndef SM_MDA_H
#define SM_MDA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "buf.h"
#include "qhandoff.h"

struct sm_config;
struct userdb;

#define MDA_ADDR_MAX	254	/* RFC 5321 4.5.3.1.3: 256 with the <> */
#define MDA_QID_LEN	Q_ID_LEN	/* smtpd's queue IDs (q_id_valid) */
#define MD_NAME_MAX	256	/* a Maildir file name we make */

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

/* A Maildir (or folder) being written: itself, tmp/ and new/. */
struct md_folder {
	int		 dir;
	int		 tmp;
	int		 new;
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

/* maildir.c */
int	 md_dir_step(int, const char *, int);
int	 md_user_open(const char *, const char *, int);
int	 md_maildir_init(int, int, struct md_folder *);
int	 md_folder_open(int, int, struct md_folder *);
void	 md_folder_close(struct md_folder *);
void	 md_uniq(char *, size_t, const char *);
int	 md_write(int, const char *, const struct buf *, int, off_t *);
int	 md_store(const struct md_folder *, const struct buf *, int,
	    const char *, char *, size_t);
uint64_t md_usage(int);

/* record.c */
int	 rec_check(int, const char *, int *);
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
void	 lmtp_main(const struct sm_config *, int, int, uid_t)
	    __attribute__((noreturn));

/* lda.c */
int	 lda_main(const struct sm_config *, const char *, const char *,
	    const char *);

#endif
