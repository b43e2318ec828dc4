/*
 * dkim_int.h - what the dkim_*.c files share and no caller needs: the
 * generic tag-list parser (RFC 6376 section 3.2), the DKIM-quoted-printable
 * decoder, name syntax checks, and the header
 * hashing that signing and verification must do identically.
 */
#ifndef SM_DKIM_INT_H
#define SM_DKIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base64.h"
#include "dkim.h"

#include <sys/types.h>

#define DKIM_TAGNAME_MAX	32
#define DKIM_HDR_FIELDS_MAX	5000

struct dkim_tag {
	const char	*name;
	size_t		 nlen;
	const char	*val;		/* the value without surrounding FWS */
	size_t		 vlen;
	size_t		 raw_start;	/* offset just after '=' */
	size_t		 raw_end;	/* offset of the ';' or of the end */
};

struct dkim_taglist {
	struct dkim_tag	 tag[DKIM_TAGS_MAX];
	size_t		 n;
};

enum dkim_perr dkim_taglist_parse(const char *, size_t, struct dkim_taglist *,
	    const char **);
const struct dkim_tag *dkim_tag_get(const struct dkim_taglist *,
	    const char *);
int	 dkim_tag_is(const struct dkim_tag *, const char *);

/* A colon-separated list (h=, q=, key h=, s=, t=) into its elements. */
int	 dkim_list_split(const char *, size_t, const char **, size_t *,
	    size_t);

int	 dkim_qp_decode(const char *, size_t, char *, size_t, size_t *);
int	 dkim_domain_valid(const char *, size_t, int);
int	 dkim_is_wsp(int);
int	 dkim_decimal(const char *, size_t, size_t, uint64_t *);
int	 dkim_domain_within(const char *, const char *);

/* The header/body splitter under dkim_msg and the verifier. */
struct dkim_split {
	struct dkim_hdrs	*hdrs;
	struct buf		 line;	/* the header line being read */
	struct buf		 field;	/* the field being assembled */
	int			 in_body;
	int			 failed;
};
void	 dkim_split_init(struct dkim_split *, size_t);
ssize_t	 dkim_split_feed(struct dkim_split *, const char *, size_t);
int	 dkim_split_end(struct dkim_split *);
void	 dkim_split_free(struct dkim_split *);

/*
 * The header hash: the fields h= names, each the lowest one of its name
 * not yet used, then the signature field with its b= value emptied and no
 * final CRLF.  sig is the whole field (name, colon, value, maybe a CRLF);
 * b_start and b_end are offsets in it.
 */
struct dkim_hhash {
	const char *const *names;	/* with nnames entries */
	size_t		 nnames;
	enum dkim_canon	 canon;
	const char	*sig;
	size_t		 siglen;
	size_t		 b_start, b_end;
};
int	 dkim_header_hash(const struct dkim_hdrs *, const struct dkim_hhash *,
	    uint8_t[DKIM_DIGEST_LEN]);
int	 dkim_field_is(const char *, size_t, const char *);
size_t	 dkim_field_name_len(const char *, size_t);

/* Signature checks, shared by the verifier and the tests. */
int	 dkim_digest_verify(EVP_PKEY *, enum dkim_alg,
	    const uint8_t[DKIM_DIGEST_LEN], const uint8_t *, size_t);

#endif
