/*
 * smtp.h - the ESMTP server engine shared by smtpd (port 25), submitd
 * (587/465) and, in its LMTP mode, mda's LMTP server; and its command
 * parser.
 *
 * The engine runs one session per accepted socket on a libevent base, in
 * an unprivileged chrooted process.  It owns the protocol (RFC 5321 state
 * machine, PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS,
 * SMTPUTF8, CHUNKING) and every limit; the caller owns policy through a
 * table of hooks.  A hook that has to answer the client does so by calling
 * smtp_reply(), either before it returns or later (after an IPC round
 * trip): the engine reads no further command until the answer is given.
 * The reply code decides the state change (2xx accepts the sender, the
 * recipient or the message).  A NULL hook gets the engine's default
 * answer.
 *
 *	static const struct smtp_hooks hooks = {
 *		.rcpt = my_rcpt,		(asks the parent, replies later)
 *		.data_begin = my_data_begin,	(returns a memfd)
 *		.data_end = my_data_end,	(hands the memfd to the queue)
 *	};
 *	s = smtp_session_new(base, fd, &params, &hooks, arg);
 *
 *	static void my_rcpt(struct smtp_session *s, const char *addr,
 *	    const struct smtp_cmd *cmd, void *arg)
 *	{ ... later: smtp_reply(s, 250, "2.1.5 Ok"); }
 *
 * Message content: DATA is dot-unstuffed, BDAT chunks are taken as they
 * are; both are written to the fd that data_begin returned, and the
 * engine checks the size limit, the line length limit and line endings.
 * A message boundary is only CRLF "." CRLF.  A bare CR or bare LF in the
 * content (DATA or BDAT) is not normalised: the whole message is refused
 * with 550 5.6.0 once it has ended, so no later hop can read a different
 * message boundary than we did (SMTP smuggling).  In the command phase
 * a line must end in CRLF; a bare LF ends the line with a 500 reply.
 *
 * Deadlines (RFC 5321 4.5.3.2 asks for at least 5 minutes per command;
 * a slow client is not an idle one): each is a total from the moment the
 * engine waits for the client, never restarted by a byte.  The first
 * command line must be complete timeout_greeting after the connection
 * (TLS handshake and greeting pause included); each later one
 * timeout_cmd after the engine became ready for it (its reply queued,
 * so pipelined commands are not charged for each other).  Message
 * content, DATA or one BDAT chunk, must be complete timeout_data after
 * it started, plus one second for every data_min_rate bytes received:
 * a sender that keeps the rate is never cut, one that dribbles is.  The
 * session ends timeout_session after it began.  No deadline runs while
 * a hook's answer is outstanding.  When the session's slot is stressed
 * (common/net.h), the greeting, command and content deadlines are at
 * most timeout_stress, also for sessions that were already waiting.  A
 * missed deadline is 421 4.4.2 and the end of the session.
 *
 * Limits the caller applies before smtp_session_new(): sessions in total
 * and per client address (common/net.h net_slot_enter()); the caller
 * then gives the slot to smtp_set_slot(), and the engine reports the
 * session's progress to it, follows its stress and ends the session
 * (421 4.7.0) when it is evicted.  NULL from
 * smtp_session_new() means either the connect hook refused (a 554 goes
 * out, the socket closes, the close hook will run) or the socket could
 * not be set up (fd closed, no hook has run or will: the caller cleans
 * up; the connect hook having run or not tells the two apart).
 *
 * Extensions such as AUTH plug in through .ehlo_keywords (add "AUTH PLAIN
 * LOGIN" to the EHLO reply) and .command (verbs the engine does not
 * know); a multi-step exchange uses smtp_challenge(), which sends a 334
 * line and routes the client's next line to a callback instead of the
 * command parser.  An extension command that sets state of the
 * transaction (mda's XSEAL) calls smtp_txn_open(): the txn_reset hook
 * then says when that transaction is over, whether or not MAIL came.
 *
 * LMTP mode (RFC 2033; params.lmtp): LHLO instead of HELO/EHLO (which
 * get 500), no STARTTLS and no AUTH, and after the content (DATA, or
 * BDAT ... LAST) one reply per accepted recipient, in RCPT order: the
 * data_end hook calls smtp_reply() smtp_rcpt_count() times, and the
 * engine reads the next command after the last of them.  A message the
 * engine refuses itself (bare CR or LF, size) gets the refusal once per
 * recipient.  Everything else (the content state machine, limits,
 * pipelining, deadlines) is the same as in SMTP.
 */
#ifndef SM_SMTP_H
#define SM_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* RFC 5321 4.5.3.1: 512 for commands, raised for parameters and AUTH. */
#define SMTP_CMD_LINE_MAX	4096
#define SMTP_PATH_MAX		256	/* 4.5.3.1.3 */
#define SMTP_DOMAIN_MAX		255	/* 4.5.3.1.2 */
#define SMTP_PARAM_MAX		16
#define SMTP_TEXT_LINE_MAX	1000	/* 4.5.3.1.6, with CRLF */

/*
 * Sealmail's sending-server callback (docs/interfaces.md, "The
 * callback"): the EHLO keyword a receiver offers and the MAIL parameter
 * that carries the sending session's ID, 64 lowercase hex digits.
 */
#define SMTP_CALLBACK_KEYWORD	"SEALMAIL-CALLBACK"
#define SMTP_SESSID_LEN		64

/* ----------------------------------------------------------------------
 * The command parser: a pure function from one line to a command.
 */
enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_LHLO		/* RFC 2033, in LMTP mode only */
};

enum smtp_parse_error {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_EMPTY,	/* 500 5.5.2 */
	SMTP_PARSE_TOOLONG,	/* 500 5.5.6 */
	SMTP_PARSE_BADCHAR,	/* 500 5.5.2: NUL, CR, LF or 8-bit in verb */
	SMTP_PARSE_SYNTAX,	/* 501 5.5.4 bad arguments */
	SMTP_PARSE_BADPATH,	/* 553 5.1.3 / 501 5.1.7 bad address */
	SMTP_PARSE_BADPARAM,	/* 555 5.5.4 malformed parameter */
	SMTP_PARSE_TOOMANYPARAM	/* 555 5.5.4 */
};

struct smtp_param {
	const char	*key;		/* upper-cased */
	const char	*value;		/* NULL when "KEY" alone */
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	char		 verbstr[16];	/* as sent, upper-cased; "" if long */
	const char	*arg;		/* everything after the verb */
	const char	*path;		/* MAIL/RCPT: canonical Mailbox
					 * (common/addr), no <> or route */
	int		 utf8path;	/* path has 8-bit bytes */
	struct smtp_param params[SMTP_PARAM_MAX];
	int		 nparams;
	uint64_t	 chunk_size;	/* BDAT */
	int		 chunk_last;	/* BDAT ... LAST */
	char		 line[SMTP_CMD_LINE_MAX + 1];	/* storage */
};

enum smtp_parse_error smtp_cmd_parse(const char *, size_t, struct smtp_cmd *);
const char *smtp_parse_reply(enum smtp_parse_error, int *);
const char *smtp_cmd_param(const struct smtp_cmd *, const char *);
int	 smtp_xtext_valid(const char *);

/* ----------------------------------------------------------------------
 * The session engine.
 */
struct smtp_session;
struct event_base;
struct tls_server_ops;

struct smtp_params {
	const char	*hostname;	/* greeting and EHLO */
	const char	*service;	/* "ESMTP Sealmail" after the name */
	size_t		 max_message_size;	/* SIZE; 0: no limit */
	int		 max_rcpt;		/* per transaction */
	int		 max_errors;		/* then 421 and close */
	int		 max_commands;		/* per session; 0: none */
	int		 greeting_delay_ms;	/* pre-greeting talk check */
	/* deadlines in seconds, 0: none (see "Deadlines" above) */
	int		 timeout_greeting;	/* connect to first command */
	int		 timeout_cmd;		/* each command line */
	int		 timeout_data;		/* content, plus size/rate */
	size_t		 data_min_rate;		/* bytes/s; 0: no extension */
	int		 timeout_session;	/* the whole session */
	int		 timeout_stress;	/* caps the first three */
	size_t		 text_line_max;		/* with CRLF; 0: no limit */
	SSL_CTX		*tls_ctx;		/* NULL: no STARTTLS */
	const struct tls_server_ops *tls;	/* with tls_ctx:
						   &tls_server_ops */
	int		 implicit_tls;		/* 465 */
	int		 lmtp;			/* LMTP mode (see above) */
	int		 requiretls;	/* REQUIRETLS offered once TLS is up
					   (RFC 8689): the caller keeps it */
	int		 callback;	/* SEALMAIL-CALLBACK offered, MAIL
					   takes SESSID= (smtp_sessid) */
};

/* where the session is (smtp_phase) */
enum smtp_phase {
	SMTP_PHASE_INIT,	/* greeted, no HELO/EHLO/LHLO yet */
	SMTP_PHASE_HELO,	/* hello done, no sender */
	SMTP_PHASE_MAIL,	/* sender accepted */
	SMTP_PHASE_RCPT		/* at least one recipient accepted */
};

struct smtp_hooks {
	/* 0: go on, -1: refuse the session (554 5.7.1 then close) */
	int	(*connect)(struct smtp_session *, void *);
	/* HELO/EHLO domain; may smtp_reply() a refusal, else 250 */
	void	(*helo)(struct smtp_session *, const char *, int, void *);
	/* extra EHLO keyword lines ("AUTH PLAIN"), one per call of add */
	void	(*ehlo_keywords)(struct smtp_session *,
		    void (*)(struct smtp_session *, const char *), void *);
	/* MAIL FROM: reverse-path ("" for <>) and params; must reply */
	void	(*mail)(struct smtp_session *, const char *,
		    const struct smtp_cmd *, void *);
	/* RCPT TO: must reply (may be later) */
	void	(*rcpt)(struct smtp_session *, const char *,
		    const struct smtp_cmd *, void *);
	/* content starts: return an fd the engine writes to, or -1 */
	int	(*data_begin)(struct smtp_session *, void *);
	/*
	 * content ended well (size in bytes), the fd is complete: reply
	 * (in LMTP mode once per accepted recipient, in RCPT order)
	 */
	void	(*data_end)(struct smtp_session *, size_t, void *);
	/* the transaction is gone (RSET, refused content, EHLO, close) */
	void	(*txn_reset)(struct smtp_session *, void *);
	/* a verb the engine does not handle (AUTH): 0 if taken, -1: 500 */
	int	(*command)(struct smtp_session *, const struct smtp_cmd *,
		    void *);
	/* TLS became active (after STARTTLS or implicit handshake) */
	void	(*tls_ready)(struct smtp_session *, void *);
	/*
	 * The session is over; the engine frees it after this.  Called once
	 * for every session that got as far as the connect hook.  An answer
	 * still outstanding (an IPC round trip) must then be dropped: keep
	 * your own table of live sessions and look them up when the answer
	 * comes, never keep the pointer past close.
	 */
	void	(*close)(struct smtp_session *, void *);
};

struct smtp_session *smtp_session_new(struct event_base *, int,
	    const struct smtp_params *, const struct smtp_hooks *, void *);
void	 smtp_reply(struct smtp_session *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 smtp_challenge(struct smtp_session *, const char *,
	    void (*)(struct smtp_session *, const char *, void *));
void	 smtp_close(struct smtp_session *, const char *);
void	 smtp_txn_open(struct smtp_session *);
struct net_slot;
void	 smtp_set_slot(struct smtp_session *, struct net_slot *);
struct cfg_session_limits;
void	 smtp_params_limits(struct smtp_params *,
	    const struct cfg_session_limits *);

/* facts about the session, for hooks and headers */
const char *smtp_peer(const struct smtp_session *);
const char *smtp_helo_name(const struct smtp_session *);
const char *smtp_mail_from(const struct smtp_session *);
int	 smtp_is_esmtp(const struct smtp_session *);
int	 smtp_is_tls(const struct smtp_session *);
int	 smtp_requiretls(const struct smtp_session *);
int	 smtp_tls_info(const struct smtp_session *, char *, size_t, char *,
	    size_t);
/* The client's certificate: 1 shown (subject, chained?), 0 none. */
int	 smtp_tls_client_cert(const struct smtp_session *, char *, size_t,
	    int *);
int	 smtp_rcpt_count(const struct smtp_session *);
enum smtp_phase smtp_phase(const struct smtp_session *);
int	 smtp_is_8bit(const struct smtp_session *);
int	 smtp_is_smtputf8(const struct smtp_session *);
uint64_t smtp_session_id(const struct smtp_session *);
const char *smtp_sessid(const struct smtp_session *);
int	 smtp_sessid_valid(const char *);
struct sockaddr_storage;
int	 smtp_sockaddrs(const struct smtp_session *, struct sockaddr_storage *,
	    struct sockaddr_storage *);
void	 smtp_set_peer(struct smtp_session *, const char *);

#endif
