/*
 * ks_db_int.h - what ks_db.c (records, reading) and ks_life.c (changes)
 * share; not for other callers, who use ks_db.h.
 */
#ifndef SM_KS_DB_INT_H
#define SM_KS_DB_INT_H

#include "ks_db.h"

#define KS_NALGS	2
extern const enum dkim_alg ks_algs[KS_NALGS];	/* what every owner has */

/* An owner's keys as read inside a transaction. */
struct ks_owned {
	char		 sel[KS_KEYS_PER_OWNER][KS_SELECTOR_MAX + 1];
	struct ks_keyrec rec[KS_KEYS_PER_OWNER];
	size_t		 n;
};

char	*ks_kkey(const char *);
int	 ks_rec_decode(const char *, const void *, size_t, struct ks_keyrec *,
	    struct buf *);
/* Inside txn: one key (rmw: write-locked), with its sealed key if asked;
 * a key stored (fresh: must be new); an owner's keys; its list. */
int	 ks_get_txn(struct ks_db *, DB_TXN *, const char *, int,
	    struct ks_keyrec *, struct buf *);
int	 ks_put_txn(struct ks_db *, DB_TXN *, const struct ks_keyrec *,
	    const struct buf *, int);
int	 ks_owned_txn(struct ks_db *, DB_TXN *, const char *, int,
	    struct ks_owned *);
int	 ks_owned_put(struct ks_db *, DB_TXN *, const char *,
	    struct ks_owned *);

#endif
