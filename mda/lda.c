/*
 * lda.c - the command-line LDA: "mda -d user@domain [-s class] [-f from]"
 * with the message on stdin, for MTAs such as Postfix (mailbox_command)
 * that deliver by running a program.  The exit status is a sysexits
 * code: 0 delivered, 67 unknown user, 77 refused, 75 try again later.
 *
 * As root, it resolves the user itself, then drops to [global] mail_user
 * before it reads a byte of the message, and delivers (a root caller is
 * trusted with -s).  As any other user, it cannot open the user database
 * and hands the message to the running mda over LMTP instead, as any
 * local user may: without XSEAL, so the message is unsafe whatever -s
 * says.
 *
 * Both addresses must be mailboxes (mda_addr_ok; the sender may be
 * empty) before they reach an envelope or a header.  The message's own
 * Return-Path and Delivered-To fields (those the MTA put on top, and any
 * the sender wrote) are left out as it is read: the delivery adds the
 * one Return-Path and the one Delivered-To of this delivery.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "io.h"
#include "log.h"
#include "mda.h"
#include "net.h"
#include "privsep.h"
#include "smtp_client.h"
#include "userdb.h"
#include "xmalloc.h"

#define EX_OK_		0
#define EX_NOUSER_	67
#define EX_TEMPFAIL_	75
#define EX_NOPERM_	77

#define LDA_TIMEOUT	300	/* seconds for each reply of mda's */

static int
lda_exit_code(int code, const char *text)
{
	if (code >= 200 && code < 300)
		return EX_OK_;
	if (code >= 500 && code < 600)
		return strstr(text, "5.1.1") != NULL ? EX_NOUSER_ : EX_NOPERM_;
	return EX_TEMPFAIL_;
}

/*
 * The whole of stdin into an anonymous file, bounded by the size limit,
 * without its Return-Path and Delivered-To fields.
 */
static int
lda_read_message(const struct sm_config *cfg)
{
	struct mda_hdrfilter hf;
	struct buf out;
	char	 b[65536];
	size_t	 total = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = memfd_create("lda-message", MFD_CLOEXEC)) == -1)
		return -1;
	mda_hdrfilter_init(&hf);
	buf_init(&out, 0);
	for (;;) {
		if ((n = read(STDIN_FILENO, b, sizeof(b))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		total += (size_t)n;
		if (total > cfg->max_message_size) {
			log_warnx("message larger than %zu bytes",
			    cfg->max_message_size);
			errno = EFBIG;
			goto fail;
		}
		if (n == 0)
			mda_hdrfilter_end(&hf, &out);
		else
			mda_hdrfilter_feed(&hf, b, (size_t)n, &out);
		if (io_write_all(fd, out.data, out.len) == -1)
			goto fail;
		buf_reset(&out);
		if (n == 0)
			break;
	}
	buf_free(&out);
	return fd;
fail:
	buf_free(&out);
	close(fd);
	return -1;
}

/* Deliver ourselves: root resolves, then becomes the mail user. */
static int
lda_direct(const struct sm_config *cfg, const char *rcpt, int class,
    const char *sender)
{
	struct priv_user mailu;
	struct db_env *env;
	struct userdb *udb;
	struct mda_rcpt r;
	struct mda_status st;
	int	 fd;

	if (priv_lookup(cfg->mail_user, &mailu) == -1) {
		log_err("unknown mail user %s", cfg->mail_user);
		return EX_TEMPFAIL_;
	}
	if ((env = db_env_open(cfg->db_dir)) == NULL ||
	    (udb = userdb_open(env)) == NULL) {
		log_err("cannot open the user database in %s", cfg->db_dir);
		db_env_close(env);
		return EX_TEMPFAIL_;
	}
	fd = mda_lookup(cfg, udb, rcpt, &r, &st);
	userdb_close(udb);
	db_env_close(env);
	if (fd == -1) {
		log_info("to=<%s> %s", rcpt, st.text);
		fprintf(stderr, "%s\n", st.text);
		return lda_exit_code(st.code, st.text);
	}
	priv_drop(&mailu, NULL);
	if ((fd = lda_read_message(cfg)) == -1) {
		log_warn("reading the message");
		return errno == EFBIG ? EX_NOPERM_ : EX_TEMPFAIL_;
	}
	mda_deliver(cfg, &r, (enum mda_class)class, sender, NULL, fd, &st);
	close(fd);
	if (st.code != 250)
		fprintf(stderr, "%s\n", st.text);
	return lda_exit_code(st.code, st.text);
}

/* Does s have a byte outside ASCII (then MAIL says SMTPUTF8)? */
static int
lda_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * The LMTP transaction with the running mda (common/smtp_client): the
 * last reply's code (the recipient's, after the message), or -1 when
 * the conversation broke.
 */
static int
lda_lmtp(struct smtp_client *c, const char *rcpt, const char *sender,
    int fd, char *line, size_t len)
{
	int	 code;

	if (smtp_client_hello(c, "LHLO", "localhost", line, len) != 250)
		return -1;
	smtp_client_cmd(c, "MAIL FROM:<%s>%s", sender,
	    lda_8bit(sender) || lda_8bit(rcpt) ? " SMTPUTF8" : "");
	smtp_client_cmd(c, "RCPT TO:<%s>", rcpt);
	smtp_client_cmd(c, "DATA");
	/* pipelined: the three replies in order */
	if ((code = smtp_client_reply(c, line, len)) != 250 ||
	    (code = smtp_client_reply(c, line, len)) != 250 ||
	    (code = smtp_client_reply(c, line, len)) != 354)
		return code;
	/* LMTP wants CRLF; the MTA may give bare LF: the client converts */
	if (smtp_client_body(c, fd) == -1)
		return -1;
	code = smtp_client_reply(c, line, len);
	smtp_client_cmd(c, "QUIT");
	(void)smtp_client_reply(c, NULL, 0);
	return code;
}

/*
 * Not root: hand the message to the running mda over LMTP, like any
 * other local user (no XSEAL: unsafe).
 */
static int
lda_relay(const struct sm_config *cfg, const char *rcpt, int class,
    const char *sender)
{
	struct smtp_client c;
	char	 line[1024];
	int	 fd, code;

	if ((fd = lda_read_message(cfg)) == -1) {
		log_warn("reading the message");
		return errno == EFBIG ? EX_NOPERM_ : EX_TEMPFAIL_;
	}
	if (class == MDA_SAFE)
		log_info("to=<%s> -s safe needs root; delivering as unsafe",
		    rcpt);
	if ((code = smtp_client_unix(&c, cfg->lmtp_socket, LDA_TIMEOUT, line,
	    sizeof(line))) == -1)
		log_warn("connect %s (is mda running?)", cfg->lmtp_socket);
	else if (code == 220)
		code = lda_lmtp(&c, rcpt, sender, fd, line, sizeof(line));
	smtp_client_close(&c);
	close(fd);
	if (code == -1) {
		log_warnx("LMTP conversation with mda failed");
		return EX_TEMPFAIL_;
	}
	if (code != 250)
		fprintf(stderr, "%s\n", line);
	return lda_exit_code(code, line);
}

int
lda_main(const struct sm_config *cfg, const char *rcpt, const char *cls,
    const char *sender)
{
	int	 class = MDA_UNSAFE;

	if (cls != NULL && (class = mda_class_parse(cls)) == -1) {
		log_err("-s: expected safe or unsafe, not \"%s\"", cls);
		return 64;
	}
	if (sender == NULL && (sender = getenv("SENDER")) == NULL)
		sender = "";
	if (!mda_addr_ok(rcpt, 1) ||
	    (sender[0] != '\0' && !mda_addr_ok(sender, 1))) {
		log_err("malformed address");
		return 64;
	}
	return geteuid() == 0 ? lda_direct(cfg, rcpt, class, sender) :
	    lda_relay(cfg, rcpt, class, sender);
}
