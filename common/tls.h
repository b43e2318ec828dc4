/*
 * tls.h - OpenSSL contexts and their libevent bufferevent integration.
 *
 * Every daemon that speaks TLS (smtpd, submitd, imapd, the transmitter)
 * builds its SSL_CTX here, so the protocol floor (TLS 1.2) and the cipher
 * policy live in one place.  The privileged parent builds the server
 * context (it is the one that can read the key file) before it forks the
 * network children, which inherit the context.
 *
 *	ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, NULL, err,
 *	    sizeof(err));
 *	bev = tls_accept(base, ctx, fd);		(implicit TLS, 465/993)
 *	bev = tls_starttls(plain, ctx, 1);		(after "220 Go ahead")
 *	tls_info(bev, proto, sizeof(proto), cipher, sizeof(cipher));
 *
 * tls_starttls() drains whatever plaintext is still buffered in the plain
 * bufferevent before the handshake, so bytes a client pipelined after
 * STARTTLS can never be read as if they came over TLS (RFC 3207 section 6
 * and the STARTTLS command injection class of bugs).
 */
#ifndef SM_TLS_H
#define SM_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

SSL_CTX	*tls_server_ctx(const char *, const char *, const char *, char *,
	    size_t);
SSL_CTX	*tls_client_ctx(const char *, int, char *, size_t);
struct bufferevent *tls_accept(struct event_base *, SSL_CTX *, int);
struct bufferevent *tls_connect(struct event_base *, SSL_CTX *, int,
	    const char *);
struct bufferevent *tls_starttls(struct bufferevent *, SSL_CTX *, int,
	    const char *);
int	 tls_is_tls(struct bufferevent *);
int	 tls_info(struct bufferevent *, char *, size_t, char *, size_t);
/*
 * The client's certificate (server side): 1 when it showed one, its
 * subject in one line and *verified whether it chained to the context's
 * ca bundle; 0 without one.
 */
int	 tls_client_cert(struct bufferevent *, char *, size_t, int *);
const char *tls_error_string(char *, size_t);

/*
 * The server side of a session's TLS as a table (the functions above).
 * common/smtp.c reaches TLS only through it (struct smtp_params' tls),
 * so a program whose sessions never offer TLS, mda's LMTP, links
 * neither this file nor OpenSSL, and starts that much faster (mda -d
 * runs once per message).
 */
struct tls_server_ops {
	struct bufferevent *(*accept)(struct event_base *, SSL_CTX *, int);
	struct bufferevent *(*starttls)(struct bufferevent *, SSL_CTX *, int,
		    const char *);
	int	 (*info)(struct bufferevent *, char *, size_t, char *, size_t);
	int	 (*client_cert)(struct bufferevent *, char *, size_t, int *);
};
extern const struct tls_server_ops tls_server_ops;

#endif
