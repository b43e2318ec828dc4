/*
 * callback.h - the sending-server callback (docs/interfaces.md, "The
 * callback"): a receiver asks the host that connected to it whether the
 * session ID it offered (MAIL ... SESSID=<64 hex>) belongs to a session
 * open from that host to this receiver.
 *
 *	callback_table.c  the responder's line parser and its table of
 *			  open outbound sessions: pure, unit tested
 *			  (test-callback.c) and fuzzed (fuzz-callback.c)
 *	callback_resp.c	  the responder: TLS listener on [smtpd]
 *			  callback_port, in smtpd.receiver ([global] user,
 *			  chrooted); learns the open sessions from the
 *			  parent (IPC_RECEIVER_CBK_*)
 *	callback_parent.c smtpd's parent: binds the responder's sockets,
 *			  relays the transmitters' sessions (IPC)
 *	callback_mta.c	  smtpd.mta's side: an ID per outbound session,
 *			  announced to the parent (IPC_PARENT_CBK_*)
 *	callback_check.c  the verifier: an asynchronous client that asks
 *			  the SMTP client's own address, never a name
 *
 * The verifier, from the receiver's verdict (smtpd/verify.c):
 *
 *	if ((id = cbk_session_id(s)) != NULL &&
 *	    smtp_sockaddrs(s, &peer, &local) == 0)
 *		c = cbk_check_start_from(base, ctx, (struct sockaddr *)&peer,
 *		    (struct sockaddr *)&local, cfg->smtpd_callback_port, id,
 *		    5000, done, arg);
 *	...
 *	static void done(enum cbk_result r, int flags, const char *why,
 *	    void *arg) { r is CBK_PASS, CBK_FAIL or CBK_UNKNOWN }
 *
 * The callback always runs later, from the event loop, never inside
 * cbk_check_start(); after it has run the handle is gone.  Before it
 * has, cbk_check_cancel() ends the check without calling it.
 */
#ifndef SM_CALLBACK_H
#define SM_CALLBACK_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "smtp.h"

struct event_base;
struct ipc_msg;
struct smtp_session;

#define CBK_ID_LEN		SMTP_SESSID_LEN	/* 64 hex digits, 256 bits */
#define CBK_ADDR_MAX		64	/* a numeric address as text */
#define CBK_LINE_MAX		80	/* "CHECK <id>\r\n" is 72 */
#define CBK_RESP_TIMEOUT_MS	5000	/* handshake and line, in all */
#define CBK_RESP_RATE		30	/* CHECKs a minute per address */
#define CBK_RESP_CONN_MAX	64	/* connections at once */
#define CBK_RESP_CONN_PER_ADDR	4	/* of them from one address */
#define CBK_TABLE_MAX		256	/* open sessions known */
#define CBK_CHECK_RATE		10	/* callbacks a minute per address */

#define CBK_YES			"YES\r\n"
#define CBK_NO			"NO \r\n"
#define CBK_ANSWER_LEN		5

/* callback_table.c: the line parser */
enum cbk_line {
	CBK_LINE_MORE,		/* no line end yet, not too long: read on */
	CBK_LINE_CHECK,		/* "CHECK <id>\r\n": id in id_r */
	CBK_LINE_BAD		/* anything else: answer NO */
};

enum cbk_line cbk_line_parse(const char *, size_t, char *);
int	 cbk_addr_canon(const char *, char *, size_t);
int	 cbk_listen_addr(const char *, int, char *, size_t);

/* callback_table.c: per-address rate, fixed one-minute windows */
#define CBK_RATE_SLOTS		256
struct cbk_rate {
	char		 key[64];	/* net_addr_key(): an IPv6 /64 */
	long		 window;
	int		 count;
};

int	 cbk_rate_ok(struct cbk_rate *, const char *, int, long);

/* callback_table.c: the open outbound sessions of smtpd.mta */
struct cbk_table;

struct cbk_table *cbk_table_new(size_t);
void	 cbk_table_free(struct cbk_table *);
int	 cbk_table_open(struct cbk_table *, uint32_t, const char *,
	    const char *);
void	 cbk_table_close(struct cbk_table *, uint32_t, const char *);
void	 cbk_table_drop(struct cbk_table *, uint32_t);
int	 cbk_table_check(struct cbk_table *, const char *, const char *);
size_t	 cbk_table_count(const struct cbk_table *);

/* callback_resp.c: the responder, in smtpd.receiver */
void	 cbk_resp_listen(const int *, int);
void	 cbk_resp_start(struct event_base *, SSL_CTX *);
int	 cbk_resp_ipc(struct ipc_msg *);

/* callback_parent.c: in smtpd's parent */
struct sm_config;
void	 cbk_parent_init(void (*)(struct ipc_msg *));
int	 cbk_parent_listen(const struct sm_config *, int *);
void	 cbk_parent_mta_gone(uint32_t);
void	 cbk_parent_replay(void);
int	 cbk_parent_from_mta(const struct sm_config *, uint32_t,
	    struct ipc_msg *);

/* callback_mta.c: in smtpd.mta */
void	 cbk_mta_init(int);
void	 cbk_mta_open(const char *, char *);
void	 cbk_mta_close(char *);

/* callback_check.c: the verifier */
enum cbk_result {
	CBK_UNKNOWN,		/* no answer, refused, TLS or reply broken */
	CBK_PASS,		/* YES: the session is the peer's */
	CBK_FAIL		/* NO */
};

#define CBK_F_CERT	0x01	/* the responder's certificate chains to
				   [global] tls_ca */

typedef void	(*cbk_done_fn)(enum cbk_result, int, const char *, void *);
struct cbk_check;

struct cbk_check *cbk_check_start(struct event_base *, SSL_CTX *,
	    const struct sockaddr *, int, const char *, int, cbk_done_fn,
	    void *);
struct cbk_check *cbk_check_start_from(struct event_base *, SSL_CTX *,
	    const struct sockaddr *, const struct sockaddr *, int,
	    const char *, int, cbk_done_fn, void *);
void	 cbk_check_cancel(struct cbk_check *);
const char *cbk_result_name(enum cbk_result);

/* the receiver's side: the SESSID= this transaction's MAIL carried */
const char *cbk_session_id(const struct smtp_session *);

#endif
