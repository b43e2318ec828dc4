/*
 * imapd.h - what the files of imapd share: the session (struct client),
 * the command table and the output helpers.
 *
 * Processes (see imapd.c for why):
 *	parent	  root: binds the ports, checks passwords with PAM, forks one
 *		  process per logged-in user and hands it the connection;
 *	prelogin  [global] user, chrooted to empty_dir: TLS, the commands
 *		  allowed before login, then a plaintext relay between the
 *		  TLS connection and the user process;
 *	user	  [global] mail_user, chrooted to the user's mail directory:
 *		  every authenticated session of that one user.
 * The session code in client.c and the cmd-*.c files runs in the user
 * process (and, for the pre-login commands, in the prelogin process).
 */
#ifndef SM_IMAPD_H
#define SM_IMAPD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mailbox.h"
#include "parser.h"

#define IMAP_MAX_LINE		(64 * 1024)
#define IMAP_MAX_DEPTH		16
#define IMAP_MAX_ARGS		4096
#define IMAP_OUT_HIGH		(4 * 1024 * 1024)
#define IMAP_IDLE_TIMEOUT	(31 * 60)
#define IMAP_PRELOGIN_TIMEOUT	60
/*
 * Before login a command is small: LOGIN or AUTHENTICATE with a password,
 * or ID.  Only LITERAL- is offered then (non-synchronising literals of at
 * most 4096 octets, RFC 7888), and a command's literals together stay
 * within a few KB, so the one pre-login process serving every client
 * cannot be made to hold megabytes per session.  The line is the longest
 * ID a client may send (RFC 2971 3.3: 30 pairs, fields of 30 octets,
 * values of 1024), about 32 KB, even with every octet of the quoted
 * strings escaped (about 63.4 KB): the post-login line limit, 64 KB.
 */
#define IMAP_PRELOGIN_LINE	(64 * 1024)
#define IMAP_PRELOGIN_LITERAL	4096
#define IMAP_PRELOGIN_COMMAND	8192
#define IMAP_WRITE_TIMEOUT	300	/* a client that stops reading */
#define IMAP_USER_LINGER	600	/* seconds a user process idles */

#define IMAP_CAPS_AUTH	"IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE " \
	"IDLE NAMESPACE UNSELECT UIDPLUS CHILDREN LIST-EXTENDED " \
	"SPECIAL-USE LIST-STATUS MOVE CONDSTORE ESEARCH STATUS=SIZE " \
	"BINARY COMPRESS=DEFLATE" \
	" CREATE-SPECIAL-USE" \
	" SORT" \
	" SORT=DISPLAY" \
	" THREAD=ORDEREDSUBJECT" \
	" THREAD=REFERENCES" \
	" ESORT" \
	" SEARCHRES" \
	" QRESYNC" \
	" MULTIAPPEND" \
	" QUOTA" \
	" QUOTA=RES-STORAGE"

enum client_state {
	CS_NOTAUTH,
	CS_AUTH,
	CS_SELECTED,
	CS_LOGOUT
};

enum client_mode {
	CM_COMMAND,	/* lines go through the parser */
	CM_IDLE,	/* waiting for "DONE" */
	CM_AUTH		/* waiting for a SASL response line */
};

struct bufferevent;
struct event_base;
struct event;
struct client;

/* Hooks the pre-login process sets; the user process leaves them NULL. */
struct client_hooks {
	int	(*starttls)(struct client *);
	void	(*login)(struct client *, const char *, const char *,
		    const char *);
	int	(*is_tls)(struct client *);
	void	(*closed)(struct client *);
	void	(*command_done)(struct client *);	/* one was run */
};

struct client {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct imap_parser	*parser;
	enum client_state	 state;
	enum client_mode	 mode;
	char			 id[20];
	char			 peer[64];
	char			*user;
	const struct client_hooks *hooks;
	void			*hook_arg;
	int			 closing;
	int			 free_scheduled;
	int			 blocked;	/* waiting for output to drain */
	int			 busy;		/* an async request is pending */
	int			 compress;
	int			 rev2;
	int			 condstore;
	int			 qresync;	/* implies condstore */
	int			 utf8;
	char			*pending_tag;	/* IDLE, AUTHENTICATE */
	struct event		*idle_ev;
	int			 allow_expunge;
	const char		*cmdname;
	size_t			 max_literal;

	/* the selected folder as this session knows it */
	struct mbox		*mb;
	int			 readonly;
	uint32_t		*uids;		/* seq - 1 -> uid */
	uint64_t		*known;		/* modseq last reported */
	size_t			 n;
	size_t			 cap;
	uint64_t		 seen_modseq;
	uint32_t		*recent;	/* uids \Recent to us */
	size_t			 nrecent;
	uint32_t		*saved;		/* SEARCHRES: UIDs */
	size_t			 nsaved;
	size_t			 kw_told;	/* of mb->kw, in FLAGS */

	struct client		*next;
};

struct imap_command {
	const char	*name;
	int		(*fn)(struct client *, const char *,
			    const struct imap_list *, int);
	int		 states;	/* bits of 1 << CS_* */
	int		 flags;
};

#define CMD_F_UID	0x01	/* may follow UID */
#define CMD_F_NOEXPUNGE	0x02	/* no EXPUNGE responses after it */
#define CMD_F_PRE	0x04	/* served by the pre-login process */

#define ST_NOTAUTH	(1 << CS_NOTAUTH)
#define ST_AUTH		(1 << CS_AUTH)
#define ST_SELECTED	(1 << CS_SELECTED)
#define ST_ANY		(ST_NOTAUTH | ST_AUTH | ST_SELECTED)
#define ST_LOGGEDIN	(ST_AUTH | ST_SELECTED)

extern size_t	 imap_max_literal;
extern size_t	 imap_max_command;

/* commands.c */
const struct imap_command *imap_command_find(const char *);

/* client.c */
struct client *client_new(struct event_base *, struct bufferevent *,
	    const char *, const char *, const struct client_hooks *, void *);
void	 client_notify(struct mbox *, struct client *);
void	 client_free(struct client *);
void	 client_close(struct client *, const char *);
void	 client_abort(struct client *);
void	 client_printf(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 client_write(struct client *, const void *, size_t);
void	 client_add_string(struct client *, const char *, size_t);
void	 client_add_nstring(struct client *, const char *);
void	 client_tagged(struct client *, const char *, const char *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	 client_sync(struct client *, int);
void	 client_flags(const struct client *, const struct imsg *,
	    struct buf *);
void	 client_view_reset(struct client *);
void	 client_view_load(struct client *);
void	 client_resume(struct client *);
void	 client_login_done(struct client *, const char *, const char *);
void	 client_set_bev(struct client *, struct bufferevent *);
struct client *client_list(void);
int	 client_count(void);
void	 buf_add_string(struct buf *, const char *, size_t);
void	 client_add_mailbox(struct client *, const char *);
void	 buf_add_nstring(struct buf *, const char *);

/* seq/uid sets against the view */
int	 client_msgset(struct client *, const char *, int, uint32_t **,
	    size_t *);
struct imsg *client_msg(struct client *, size_t);

/* flags */
int	 imap_flags_parse(const struct imap_arg *, uint32_t *, struct buf *);
int	 imap_keywords_merge(const char *, const char *, int, struct buf *);

/* compress.c */
struct bufferevent *compress_start(struct bufferevent *);

/* cmd-any.c */
int	 cmd_capability(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_noop(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_logout(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_id(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_starttls(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_login(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_authenticate(struct client *, const char *,
	    const struct imap_list *, int);
void	 cmd_authenticate_line(struct client *, const char *, size_t);
int	 cmd_enable(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_namespace(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_compress(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_idle(struct client *, const char *, const struct imap_list *,
	    int);
void	 cmd_idle_line(struct client *, const char *, size_t);
void	 client_capabilities(struct client *, struct buf *);

/* cmd-mailbox.c */
int	 cmd_select(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_create(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_delete(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_rename(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_subscribe(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_status(struct client *, const char *, const struct imap_list *,
	    int);
char	*imap_mailbox_arg(struct client *, const struct imap_arg *);
void	 imap_status_list(struct client *, const char *,
	    const struct imap_list *);

/* cmd-list.c */
int	 cmd_list(struct client *, const char *, const struct imap_list *,
	    int);

/* cmd-append.c */
int	 cmd_append(struct client *, const char *, const struct imap_list *,
	    int);

/* quota.c */
extern uint64_t	 imap_quota_bytes;
uint64_t imap_quota_usage(void);
int	 imap_quota_allows(uint64_t);
int	 imap_quota_allows_copy(struct client *, const uint32_t *, size_t);
int	 cmd_getquotaroot(struct client *, const char *,
	    const struct imap_list *, int);
int	 cmd_getquota(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_setquota(struct client *, const char *, const struct imap_list *,
	    int);

/* cmd-select.c */
int	 cmd_check(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_close(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_expunge(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_store(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_copy(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_uid(struct client *, const char *, const struct imap_list *,
	    int);

/* cmd-fetch.c */
int	 cmd_fetch(struct client *, const char *, const struct imap_list *,
	    int);
void	 imap_date_str(int64_t, char *, size_t);

/* flags.c */
size_t	 imap_uid_pos(const uint32_t *, size_t, uint32_t);
int	 client_recent_has(const struct client *, uint32_t);
void	 client_recent_claim(struct client *, size_t);
void	 client_recent_drop(struct client *, uint32_t);
void	 client_flags_announce(struct client *);
void	 client_keywords_sync(struct client *);

/* cmd-search.c */
int	 cmd_search(struct client *, const char *, const struct imap_list *,
	    int);
int	 imap_search_run(struct client *, const struct imap_list *, size_t,
	    uint32_t **, size_t *, int *);

/* esearch.c: RETURN options and results of SEARCH and SORT */
#define RET_MIN		0x01
#define RET_MAX		0x02
#define RET_ALL		0x04
#define RET_COUNT	0x08
#define RET_SAVE	0x10
int	 esearch_parse_return(const struct imap_list *, size_t *, int *);
int	 esearch_min_max_only(int);
void	 esearch_save(struct client *, const uint32_t *, size_t, int, int);
void	 esearch_reply(struct client *, const char *, int, int,
	    const uint32_t *, size_t, uint64_t);

/* cmd-sort.c */
int	 cmd_sort(struct client *, const char *, const struct imap_list *,
	    int);
int	 cmd_thread(struct client *, const char *, const struct imap_list *,
	    int);

/* searchres.c */
void	 searchres_reset(struct client *);
void	 searchres_save(struct client *, const uint32_t *, size_t, int);
int	 searchres_has(const struct client *, uint32_t);
int	 searchres_msgset(struct client *, uint32_t **, size_t *);

/* bodystructure.c */
struct mime_parser;
struct mime_part;
struct mime_parser *imap_mime_parse(const char *, size_t);
int	 imap_envelope(const char *, size_t, struct buf *);
int	 imap_bodystructure(struct mime_parser *, const char *, int,
	    struct buf *);
struct mime_part *imap_part_find(struct mime_parser *, const uint32_t *,
	    size_t);
int	 imap_header_value(const char *, size_t, const char *, struct buf *);

#endif
