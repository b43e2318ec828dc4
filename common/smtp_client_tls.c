/*
 * smtp_client_tls.c - STARTTLS for the SMTP client (smtp_client.c): the
 * handshake, and reading and writing through it afterwards.
 *
 * Used by smtpd.mta ([global] user, chrooted), whose peers are any host
 * on the Internet.  It is a file of its own so that only the programs
 * that start TLS link OpenSSL: smtp_client.c reaches these functions
 * through c->tls, which smtp_client_starttls() sets.
 */
#include <limits.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "smtp_client.h"

static int
tls_write(struct smtp_client *c, const char *p, size_t n)
{
	int	 w;

	while (n > 0) {
		w = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t
tls_read(struct smtp_client *c, char *b, size_t n)
{
	int	 r;

	if ((r = SSL_read(c->ssl, b, n > INT_MAX ? INT_MAX : (int)n)) > 0)
		return r;
	return SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

static int
tls_pending(const struct smtp_client *c)
{
	return SSL_pending(c->ssl) > 0;
}

static void
tls_close(struct smtp_client *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
}

static const struct smtp_client_io tls_io = {
	tls_write, tls_read, tls_pending, tls_close
};

/*
 * The TLS handshake, after the server's 220 to STARTTLS.  Whatever the
 * server sent beyond that reply before the handshake is refused: it
 * could only be injected plaintext (RFC 3207 section 6).  With
 * verify_host the certificate must chain to ctx's trust anchors and name
 * it; c->tls_hook, when set, can add to that (smtpd.mta's DANE).  0,
 * or -1 with why (the connection is then no use).
 */
int
smtp_client_starttls(struct smtp_client *c, SSL_CTX *ctx, const char *sni,
    const char *verify_host, char *why, size_t whylen)
{
	long	 v;

	if (c->in.len > 0) {
		snprintf(why, whylen, "data after the STARTTLS reply");
		return -1;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL)
		goto fail;
	c->tls = &tls_io;	/* from here on; smtp_client_close frees it */
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	if (sni != NULL)
		SSL_set_tlsext_host_name(c->ssl, sni);
	if (verify_host != NULL) {
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		if (SSL_set1_host(c->ssl, verify_host) != 1)
			goto fail;
	} else
		SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	if (c->tls_hook != NULL && c->tls_hook(c->ssl, c->tls_arg) == -1) {
		snprintf(why, whylen, "TLS: cannot set up DANE");
		return -1;
	}
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK) {
			snprintf(why, whylen, "certificate: %s",
			    X509_verify_cert_error_string(v));
			return -1;
		}
		goto fail;
	}
	return 0;
fail:
	snprintf(why, whylen, "TLS: %s", ERR_reason_error_string(
	    ERR_peek_last_error()) ? ERR_reason_error_string(
	    ERR_peek_last_error()) : "handshake failed");
	return -1;
}
