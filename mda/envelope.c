/*
 * envelope.c - what mda accepts of an envelope, as pure functions: the
 * addresses of MAIL and RCPT, the XSEAL command's arguments, and the
 * LDA's filter of trace header fields.
 *
 * Called by mda.lmtp (runs as mail_user, on LMTP input from any local
 * user), by the root parent of mda on the addresses mda.lmtp sends it,
 * and by the LDA on the message and addresses an MTA gives it.  No I/O,
 * no allocation but the output buffer; unit tests in
 * tests/unit/test-mda-envelope.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "mda.h"
#include "qhandoff.h"

/*
 * A mailbox mda may write into an envelope, a header or a request to
 * its parent: an RFC 5321 Mailbox by the one grammar of common/addr
 * (UTF-8 when utf8 is set), at most MDA_ADDR_MAX (= ADDR_MAX) bytes.
 */
int
mda_addr_ok(const char *a, int utf8)
{
	return strlen(a) <= MDA_ADDR_MAX &&
	    addr_check(a, utf8 ? ADDR_UTF8 : 0, NULL, 0) == 0;
}

/*
 * The arguments of "XSEAL ID=<queue id> CLASS=SAFE|UNSAFE": both
 * keywords, once each, in either order and any case, and nothing else;
 * the ID exactly as smtpd makes them.  0 with id (MDA_QID_LEN + 1
 * bytes) and *class_r set, or -1.
 */
int
mda_xseal_parse(const char *arg, char *id, enum mda_class *class_r)
{
	const char	*p = arg, *eq;
	char		 tok[64];
	size_t		 n;
	int		 have_id = 0, have_class = 0;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		n = strcspn(p, " ");
		if (n >= sizeof(tok))
			return -1;
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		if ((eq = strchr(tok, '=')) == NULL)
			return -1;
		if ((size_t)(eq - tok) == 2 && strncasecmp(tok, "ID", 2) == 0) {
			if (have_id++ || !q_id_valid(eq + 1))
				return -1;
			memcpy(id, eq + 1, MDA_QID_LEN + 1);
		} else if ((size_t)(eq - tok) == 5 &&
		    strncasecmp(tok, "CLASS", 5) == 0) {
			if (have_class++)
				return -1;
			if (strcasecmp(eq + 1, "SAFE") == 0)
				*class_r = MDA_SAFE;
			else if (strcasecmp(eq + 1, "UNSAFE") == 0)
				*class_r = MDA_UNSAFE;
			else
				return -1;
		} else
			return -1;
	}
	return have_id && have_class ? 0 : -1;
}

/* ----------------------------------------------------------------------
 * The LDA's header filter.  An MTA that runs mda as a command (Postfix's
 * local(8)) has usually put its own Return-Path and Delivered-To on top
 * of the message, and the sender may have put any number of them in;
 * the delivery writes the one true Return-Path and Delivered-To itself,
 * so every earlier one goes.  Only the header is looked at (up to the
 * first empty line); the body passes untouched.
 */
enum { HF_BOL, HF_NAME, HF_LINE, HF_BODY };

static const char *const hf_dropped[] = { "Return-Path", "Delivered-To" };

void
mda_hdrfilter_init(struct mda_hdrfilter *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HF_BOL;
}

/* The line start held in h->name is complete enough: keep or drop it. */
static void
hf_decide(struct mda_hdrfilter *h, struct buf *out)
{
	const char	*colon;
	size_t		 i, n;

	h->drop = 0;
	if ((colon = memchr(h->name, ':', h->nlen)) != NULL) {
		n = (size_t)(colon - h->name);
		while (n > 0 && (h->name[n - 1] == ' ' ||
		    h->name[n - 1] == '\t'))
			n--;
		for (i = 0; i < sizeof(hf_dropped) / sizeof(hf_dropped[0]);
		    i++)
			if (strlen(hf_dropped[i]) == n &&
			    strncasecmp(h->name, hf_dropped[i], n) == 0)
				h->drop = 1;
	}
	if (!h->drop)
		buf_add(out, h->name, h->nlen);
	h->nlen = 0;
}

void
mda_hdrfilter_feed(struct mda_hdrfilter *h, const char *p, size_t len,
    struct buf *out)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < len; i++) {
		c = p[i];
		switch (h->state) {
		case HF_BODY:
			buf_add(out, p + i, len - i);
			return;
		case HF_BOL:
			if (c == '\n') {	/* the empty line (LF) */
				buf_addc(out, c);
				h->state = HF_BODY;
			} else if (c == ' ' || c == '\t') {
				/* a continuation: goes with its field */
				if (!h->drop)
					buf_addc(out, c);
				h->state = HF_LINE;
			} else {
				h->name[h->nlen++] = c;
				h->state = HF_NAME;
			}
			break;
		case HF_NAME:
			if (c == '\n' && h->nlen == 1 && h->name[0] == '\r') {
				/* the empty line (CRLF) */
				buf_add(out, "\r\n", 2);
				h->nlen = 0;
				h->state = HF_BODY;
				break;
			}
			h->name[h->nlen++] = c;
			if (c == ':' || c == '\n' ||
			    h->nlen == sizeof(h->name)) {
				hf_decide(h, out);
				h->state = c == '\n' ? HF_BOL : HF_LINE;
			}
			break;
		case HF_LINE:
			if (!h->drop)
				buf_addc(out, c);
			if (c == '\n')
				h->state = HF_BOL;
			break;
		}
	}
}

/* The message ended: what is still held was no field of ours. */
void
mda_hdrfilter_end(struct mda_hdrfilter *h, struct buf *out)
{
	if (h->nlen > 0)
		buf_add(out, h->name, h->nlen);
	h->nlen = 0;
}
