/*
 * smtp_client.h - the client side of SMTP and LMTP, blocking, for the
 * two programs that hand a message to mda's LMTP server (smtpd.delivery
 * and mda's LDA when it relays for an unprivileged MTA) and for
 * smtpd.mta, which sends mail to other domains' MX hosts over TCP with
 * STARTTLS (smtp_client_fd, smtp_client_starttls, in smtp_client_tls.c
 * so that only the programs using it link OpenSSL).
 *
 *	struct smtp_client c;
 *	if (smtp_client_unix(&c, path, timeout, line, sizeof(line)) != 220)
 *		fail;				(connected, greeted)
 *	code = smtp_client_hello(&c, "LHLO", host, line, sizeof(line));
 *	if (c.caps & SMTP_CAP_XSEAL) ...
 *	smtp_client_cmd(&c, "MAIL FROM:<%s>", from);
 *	code = smtp_client_reply(&c, line, sizeof(line));
 *	smtp_client_body(&c, msgfd);		(after 354)
 * or, when the server offers CHUNKING, instead of DATA:
 *	code = smtp_client_bdat(&c, msgfd, line, sizeof(line));
 *	smtp_client_close(&c);
 *
 * A reply code is 200 to 599; -1 means the connection is no use any
 * more (closed, timed out, or a reply that is not one).  The line given
 * back is the reply's last line, without CRLF, truncated to fit.
 * Commands are queued and go out when the next reply is read.
 *
 * The message goes out dot-stuffed, with every line ending in CRLF: a
 * bare LF or bare CR in it becomes CRLF, which is what the server's
 * engine would otherwise refuse it for (common/smtp_data.c), and then
 * both sides read the same line and message boundaries.
 */
#ifndef SM_SMTP_CLIENT_H
#define SM_SMTP_CLIENT_H

#include <sys/types.h>

#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"

/* extensions a server's EHLO/LHLO reply offered (smtp_client.caps) */
#define SMTP_CAP_XSEAL		0x01	/* mda's class and queue ID */
#define SMTP_CAP_SMTPUTF8	0x02
#define SMTP_CAP_PIPELINING	0x04
#define SMTP_CAP_8BITMIME	0x08
#define SMTP_CAP_STARTTLS	0x10
#define SMTP_CAP_SIZE		0x20	/* the limit in size_max */
#define SMTP_CAP_CHUNKING	0x40
#define SMTP_CAP_ENHANCED	0x80	/* ENHANCEDSTATUSCODES */
#define SMTP_CAP_REQUIRETLS	0x100	/* RFC 8689 */
#define SMTP_CAP_CALLBACK	0x200	/* SEALMAIL-CALLBACK (SESSID=) */

#define SMTP_CLIENT_IN_MAX	(64 * 1024)	/* one reply, buffered */
#define SMTP_CLIENT_SIZE_MAX	((size_t)1 << 40)	/* SIZE we believe */

struct smtp_client;

/* I/O through TLS, set by smtp_client_starttls (smtp_client_tls.c) */
struct smtp_client_io {
	int	 (*write)(struct smtp_client *, const char *, size_t);
	ssize_t	 (*read)(struct smtp_client *, char *, size_t);
	int	 (*pending)(const struct smtp_client *);
	void	 (*close)(struct smtp_client *);
};

struct smtp_client {
	int		 fd;		/* -1: not connected */
	SSL		*ssl;		/* after smtp_client_starttls */
	const struct smtp_client_io *tls;	/* NULL: plain text */
	int		 caps;		/* SMTP_CAP_*, from the last hello */
	size_t		 size_max;	/* SIZE's limit, 0: none given */
	struct buf	 in;
	struct buf	 out;
	/* run on the new SSL before the handshake (DANE), -1 fails it;
	   set after smtp_client_fd, which clears it */
	int		(*tls_hook)(SSL *, void *);
	void		*tls_arg;
};

int	 smtp_client_unix(struct smtp_client *, const char *, int, char *,
	    size_t);
int	 smtp_client_fd(struct smtp_client *, int, int, char *, size_t);
int	 smtp_client_starttls(struct smtp_client *, SSL_CTX *, const char *,
	    const char *, char *, size_t);
int	 smtp_client_hello(struct smtp_client *, const char *, const char *,
	    char *, size_t);
void	 smtp_client_cmd(struct smtp_client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 smtp_client_reply(struct smtp_client *, char *, size_t);
int	 smtp_client_body(struct smtp_client *, int);
int	 smtp_client_bdat(struct smtp_client *, int, char *, size_t);
int	 smtp_client_stale(const struct smtp_client *);
void	 smtp_client_close(struct smtp_client *);

/* the encoder behind smtp_client_body, in pieces; *state starts at 0 */
void	 smtp_client_encode(struct buf *, const char *, size_t, int *);
void	 smtp_client_encode_end(struct buf *, int *);

#endif
