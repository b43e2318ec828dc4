/*
 * header.h - what submitd needs to know about a submitted message's
 * header: the addresses in From: and Sender:, whether Date: and
 * Message-ID: are there, and where the header ends.
 *
 * A pure function over the first bytes of the message (no I/O; address
 * lists read by common/addr), run in the unprivileged submitd.header
 * role, whose answer the root parent judges against the user database
 * (header_role.c), and in submitd.smtp only to refuse a malformed
 * header early; both read the message's start from its memfd with
 * hdr_scan_fd().
 *
 *	struct hdr_info hi;
 *	if (hdr_scan(buf, len, complete, &hi) != HDR_OK) refuse;
 *	for (i = 0; i < hi.nfrom; i++) report hi.from[i] to the parent;
 */
#ifndef SM_SUBMIT_HEADER_H
#define SM_SUBMIT_HEADER_H

#include <stddef.h>

#include "addr.h"
#include "trace.h"

#define HDR_ADDR_MAX	ADDR_MAX	/* an address, without <> */
#define HDR_FROM_MAX	8	/* mailboxes in From: */
#define HDR_SCAN_MAX	(256 * 1024)	/* larger headers are refused */
#define HDR_FIELD_MAX	(64 * 1024)	/* one unfolded From:/Sender: */

enum hdr_result {
	HDR_OK = 0,
	HDR_ERR_TOOBIG,		/* header longer than HDR_SCAN_MAX */
	HDR_ERR_SYNTAX,		/* a header line that is not a field */
	HDR_ERR_DUP,		/* From/Sender/Date/Message-ID twice */
	HDR_ERR_ADDR		/* From:/Sender: without a usable address */
};

struct hdr_info {
	size_t	 header_len;	/* up to and with the blank line */
	int	 no_header;	/* the message starts with its body */
	int	 has_date;
	int	 has_msgid;
	char	 msgid[TRACE_MSGID_MAX + 1];	/* its value, cleaned */
	int	 has_from;
	int	 nfrom;
	char	 from[HDR_FROM_MAX][HDR_ADDR_MAX + 1];
	int	 has_sender;
	char	 sender[HDR_ADDR_MAX + 1];
};

/*
 * Scan the message's first len bytes; complete says they are the whole
 * message (so a header without a blank line ends at the end).
 */
enum hdr_result hdr_scan(const char *msg, size_t len, int complete,
	    struct hdr_info *hi);

/*
 * hdr_scan() over the first HDR_SCAN_MAX bytes of the message of size
 * bytes in fd (read with pread, the offset untouched): its result, or -1
 * with errno when the file cannot be read (EIO: shorter than size).
 */
int	 hdr_scan_fd(int fd, size_t size, struct hdr_info *hi);

/*
 * The addresses of an address-list field value (RFC 5322 3.4, folded or
 * not, with comments, quoted strings, groups, by common/addr): each
 * mailbox's canonical addr-spec, up to max into addrs.  Returns the
 * number found, or -1 when the value cannot be read, a mailbox fails
 * addr_header_check(), or there are more than max.
 */
int	 hdr_addr_list(const char *value, size_t len,
	    char (*addrs)[HDR_ADDR_MAX + 1], int max);

const char *hdr_result_str(enum hdr_result);

#endif
