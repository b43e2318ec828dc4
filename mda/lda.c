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
 * Both addresses must be mailboxes (smtp_addr_valid; the sender may be
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
#include "userdb.h"
#include "xmalloc.h"

#define EX_OK_		0
#define EX_NOUSER_	67
#define EX_TEMPFAIL_	75
#define EX_NOPERM_	77

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

/* Read one LMTP reply (multi-line aware); its code, or -1. */
static int
lda_reply(FILE *f, char *line, size_t len)
{
	for (;;) {
		if (fgets(line, (int)len, f) == NULL)
			return -1;
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 4 || line[3] != '-')
			return atoi(line);
	}
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
 * Not root: hand the message to the running mda over LMTP, like any
 * other local user (no XSEAL: unsafe).
 */
static int
lda_relay(const struct sm_config *cfg, const char *rcpt, int class,
    const char *sender)
{
	struct buf out;
	char	 line[1024], b[65536];
	FILE	*f;
	off_t	 off = 0;
	ssize_t	 n, i;
	int	 sock, fd, code = -1, bol = 1, prev = 0;

	if ((fd = lda_read_message(cfg)) == -1) {
		log_warn("reading the message");
		return errno == EFBIG ? EX_NOPERM_ : EX_TEMPFAIL_;
	}
	if ((sock = net_unix_connect(cfg->lmtp_socket)) == -1) {
		log_warn("connect %s (is mda running?)", cfg->lmtp_socket);
		return EX_TEMPFAIL_;
	}
	if ((f = fdopen(sock, "r")) == NULL)
		fatal("fdopen");
	buf_init(&out, 0);
	if (lda_reply(f, line, sizeof(line)) != 220)
		goto fail;
	if (class == MDA_SAFE)
		log_info("to=<%s> -s safe needs root; delivering as unsafe",
		    rcpt);
	buf_printf(&out, "LHLO localhost\r\nMAIL FROM:<%s>%s\r\n"
	    "RCPT TO:<%s>\r\nDATA\r\n", sender,
	    lda_8bit(sender) || lda_8bit(rcpt) ? " SMTPUTF8" : "", rcpt);
	if (io_write_all(sock, out.data, out.len) == -1)
		goto fail;
	buf_reset(&out);
	if (lda_reply(f, line, sizeof(line)) != 250 ||
	    lda_reply(f, line, sizeof(line)) != 250 ||
	    (code = lda_reply(f, line, sizeof(line))) != 250 ||
	    (code = lda_reply(f, line, sizeof(line))) != 354)
		goto done;
	while ((n = pread(fd, b, sizeof(b), off)) > 0) {
		for (i = 0; i < n; i++) {
			if (bol && b[i] == '.')
				buf_addc(&out, '.');
			/* LMTP wants CRLF; the MTA may give bare LF */
			if (b[i] == '\n' && prev != '\r')
				buf_addc(&out, '\r');
			buf_addc(&out, b[i]);
			bol = b[i] == '\n';
			prev = b[i];
		}
		off += n;
		if (io_write_all(sock, out.data, out.len) == -1)
			goto fail;
		buf_reset(&out);
	}
	buf_addstr(&out, bol ? ".\r\nQUIT\r\n" : "\r\n.\r\nQUIT\r\n");
	if (io_write_all(sock, out.data, out.len) == -1)
		goto fail;
	code = lda_reply(f, line, sizeof(line));
done:
	fclose(f);
	close(fd);
	buf_free(&out);
	if (code == -1)
		return EX_TEMPFAIL_;
	if (code != 250)
		fprintf(stderr, "%s\n", line);
	return lda_exit_code(code, line);
fail:
	log_warnx("LMTP conversation with mda failed");
	fclose(f);
	close(fd);
	buf_free(&out);
	return EX_TEMPFAIL_;
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
