/*
 * tls.c - SSL_CTX construction and bufferevent_openssl wrappers; see tls.h.
 *
 * Called by the privileged parents (context construction, which reads the
 * key) and by their unprivileged network children (wrapping sockets).  No
 * network input is parsed here: OpenSSL parses the handshake, libevent
 * moves the bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

/*
 * TLS 1.2 suites: forward secret AEAD only.  TLS 1.3 suites are all fine
 * and keep OpenSSL's default order.
 */
#define TLS_CIPHERS12	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
			"!aNULL:!eNULL:!MD5:!SHA1:!RC4:!3DES:!CAMELLIA"

const char *
tls_error_string(char *buf, size_t len)
{
	unsigned long	 e;

	e = ERR_get_error();
	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		tls_error_string(err, errlen);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS12) != 1) {
		tls_error_string(err, errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* Every client certificate is taken; tls_client_cert() says how it did. */
static int
tls_accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

/*
 * A server context from a PEM certificate chain and key; ca, if not NULL,
 * is a bundle of trust anchors for client certificates: clients are
 * asked for one (naming those CAs), never required to show one, and the
 * handshake goes on whatever they show; tls_client_cert() tells whether
 * it chained to the bundle.
 */
SSL_CTX *
tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;
	char	 e[256];

	if ((ctx = tls_ctx_common(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "%s: %s", cert,
		    tls_error_string(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s: %s", key,
		    tls_error_string(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match %s", key, cert);
		goto fail;
	}
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(err, errlen, "%s: %s", ca,
			    tls_error_string(e, sizeof(e)));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(ca));
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_accept_any);
	}
	/* One long-lived process per role: a session cache is worth it. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sealmail",
	    8);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * A client context.  With verify set, the peer must present a chain to
 * one of the anchors in ca (or the system store when ca is NULL) and
 * tls_connect()/tls_starttls() check the name.
 */
SSL_CTX *
tls_client_ctx(const char *ca, int verify, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 e[256];
	int	 rc;

	if ((ctx = tls_ctx_common(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (ca != NULL)
		rc = SSL_CTX_load_verify_locations(ctx, ca, NULL);
	else
		rc = SSL_CTX_set_default_verify_paths(ctx);
	if (rc != 1) {
		snprintf(err, errlen, "%s: %s", ca ? ca : "system CA store",
		    tls_error_string(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	return ctx;
}

static SSL *
tls_ssl_new(SSL_CTX *ctx, const char *host)
{
	SSL	*ssl;
	char	 e[256];

	if ((ssl = SSL_new(ctx)) == NULL) {
		log_warnx("tls: SSL_new: %s", tls_error_string(e, sizeof(e)));
		return NULL;
	}
	if (host != NULL) {
		SSL_set_tlsext_host_name(ssl, host);
		if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER &&
		    SSL_set1_host(ssl, host) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

/* Implicit TLS on socket fd, in state (accepting or connecting). */
static struct bufferevent *
tls_socket(struct event_base *base, SSL_CTX *ctx, int fd, const char *host,
    enum bufferevent_ssl_state state)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (ssl = tls_ssl_new(ctx, host)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, fd, ssl, state,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Wrap an accepted socket for implicit TLS; the bufferevent owns fd. */
struct bufferevent *
tls_accept(struct event_base *base, SSL_CTX *ctx, int fd)
{
	return tls_socket(base, ctx, fd, NULL, BUFFEREVENT_SSL_ACCEPTING);
}

/* Client side of implicit TLS on a connected socket. */
struct bufferevent *
tls_connect(struct event_base *base, SSL_CTX *ctx, int fd, const char *host)
{
	return tls_socket(base, ctx, fd, host, BUFFEREVENT_SSL_CONNECTING);
}

/*
 * Upgrade a plain bufferevent in place (STARTTLS).  The caller has queued
 * its "220" on plain before calling; that reply still goes out in the
 * clear, ahead of the handshake.  Any input already buffered is dropped:
 * it was sent before TLS and must not be taken as protected input.  On
 * success the returned filter owns plain (freeing it frees both).
 */
struct bufferevent *
tls_starttls(struct bufferevent *plain, SSL_CTX *ctx, int server,
    const char *host)
{
	struct bufferevent	*bev;
	struct evbuffer		*in;
	SSL			*ssl;

	in = bufferevent_get_input(plain);
	evbuffer_drain(in, evbuffer_get_length(in));
	if ((ssl = tls_ssl_new(ctx, server ? NULL : host)) == NULL)
		return NULL;
	bev = bufferevent_openssl_filter_new(bufferevent_get_base(plain),
	    plain, ssl, server ? BUFFEREVENT_SSL_ACCEPTING :
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int
tls_is_tls(struct bufferevent *bev)
{
	return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

/*
 * Protocol and cipher names of an established session, for the Received
 * header ("TLSv1.3", "TLS_AES_256_GCM_SHA384").  -1 if bev is not TLS.
 */
int
tls_info(struct bufferevent *bev, char *proto, size_t protolen, char *cipher,
    size_t cipherlen)
{
	SSL	*ssl;

	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return -1;
	snprintf(proto, protolen, "%s", SSL_get_version(ssl));
	snprintf(cipher, cipherlen, "%s", SSL_get_cipher_name(ssl));
	return 0;
}

int
tls_client_cert(struct bufferevent *bev, char *subject, size_t len,
    int *verified)
{
	SSL	*ssl;
	X509	*x;

	*verified = 0;
	if (len > 0)
		subject[0] = '\0';
	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    (x = SSL_get1_peer_certificate(ssl)) == NULL)
		return 0;
	*verified = SSL_get_verify_result(ssl) == X509_V_OK;
	if (len > 0)
		(void)X509_NAME_oneline(X509_get_subject_name(x), subject,
		    (int)len);
	X509_free(x);
	return 1;
}

const struct tls_server_ops tls_server_ops = {
	tls_accept, tls_starttls, tls_info, tls_client_cert
};
