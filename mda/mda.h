/*
 * mda.h - the mail delivery agent: shared types of its files.
 *
 *	mda.c		entry; the root parent of the LMTP server, which
 *			owns the user database and answers lookups
 *	lmtp.c		the LMTP server role (mda.lmtp, runs as mail_user)
 *	deliver.c	Maildir++ delivery, stripping and quarantine
 *	lda.c		the command-line LDA for other MTAs
 */
#ifndef SM_MDA_H
#define SM_MDA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct sm_config;
struct userdb;

enum mda_class {
	MDA_UNSAFE = 0,		/* unknown is unsafe */
	MDA_SAFE = 1
};

/* What delivery needs to know of one recipient. */
struct mda_rcpt {
	char		 rcpt[257];	/* as given in RCPT TO / -d */
	char		 user[257];	/* canonical user address */
	char		 maildir[1024];	/* <mail_root>/<domain>/<local>/Maildir */
	char		 quarantine[1024];	/* this user's quarantine dir */
	int		 unsafe_mailbox;
	int		 strip_attachments;
	int		 strip_html;
	char		 subject_tag[65];
	uint64_t	 quota_bytes;
};

/* The result of one delivery: an LMTP reply line without CRLF. */
struct mda_status {
	int		 code;		/* 250, 451, 550, 552 */
	char		 text[256];	/* "250 2.0.0 <id> delivered to INBOX" */
};

/* mda.c */
int	 mda_lookup(const struct sm_config *, struct userdb *, const char *,
	    struct mda_rcpt *, struct mda_status *);

/* deliver.c */
void	 mda_deliver(const struct sm_config *, const struct mda_rcpt *,
	    enum mda_class, const char *, int, struct mda_status *);
int	 mda_class_parse(const char *);
const char *mda_class_name(enum mda_class);

/* lmtp.c */
void	 lmtp_main(const struct sm_config *, int, int, uid_t)
	    __attribute__((noreturn));

/* lda.c */
int	 lda_main(const struct sm_config *, const char *, const char *,
	    const char *);

#endif
