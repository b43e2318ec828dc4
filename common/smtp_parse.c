/*
 * smtp_parse.c - the SMTP command parser: one line (CRLF already removed)
 * in, one struct smtp_cmd or an error out.  A pure function with no I/O
 * and no allocation; everything it returns points into cmd->line.
 *
 * Called by the session engine (common/smtp.c) in the unprivileged,
 * chrooted receivers of smtpd and submitd, on raw network input; it has
 * a fuzz target (tests/fuzz/fuzz-smtp.c) and table-driven unit tests
 * (tests/unit/test-smtp-parse.c).
 *
 * Grammar: RFC 5321 4.1.1 and 4.1.2, with RFC 6531 (SMTPUTF8) allowing
 * UTF-8 in paths and parameter values; paths, mailboxes and the HELO
 * domain by the one address grammar of common/addr (addr.h says its
 * rules).  Leniencies, each harmless: verbs are case-insensitive,
 * several spaces may separate words, a space is tolerated after "FROM:"
 * and "TO:", and a source route is dropped.
 * Not lenient: an ESMTP keyword given twice on one command (case does
 * not matter) is a syntax error, 501 5.5.4.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "smtp.h"

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
	int		 arg;	/* 0: none allowed, 1: optional, 2: required */
} smtp_verbs[] = {
	{ "HELO", SMTP_CMD_HELO, 2 },
	{ "EHLO", SMTP_CMD_EHLO, 2 },
	{ "MAIL", SMTP_CMD_MAIL, 2 },
	{ "RCPT", SMTP_CMD_RCPT, 2 },
	{ "DATA", SMTP_CMD_DATA, 0 },
	{ "BDAT", SMTP_CMD_BDAT, 2 },
	{ "RSET", SMTP_CMD_RSET, 0 },
	{ "NOOP", SMTP_CMD_NOOP, 1 },
	{ "QUIT", SMTP_CMD_QUIT, 0 },
	{ "VRFY", SMTP_CMD_VRFY, 2 },
	{ "EXPN", SMTP_CMD_EXPN, 2 },
	{ "HELP", SMTP_CMD_HELP, 1 },
	{ "STARTTLS", SMTP_CMD_STARTTLS, 0 },
	{ "AUTH", SMTP_CMD_AUTH, 2 },
	{ "LHLO", SMTP_CMD_LHLO, 2 },
};

static const struct {
	enum smtp_parse_error	 err;
	int			 code;
	const char		*text;
} smtp_parse_replies[] = {
	{ SMTP_PARSE_OK, 250, "2.0.0 Ok" },
	{ SMTP_PARSE_EMPTY, 500, "5.5.2 Error: empty command" },
	{ SMTP_PARSE_TOOLONG, 500, "5.5.6 Error: command line too long" },
	{ SMTP_PARSE_BADCHAR, 500, "5.5.2 Error: bad character in command" },
	{ SMTP_PARSE_SYNTAX, 501, "5.5.4 Syntax error in parameters" },
	{ SMTP_PARSE_BADPATH, 553, "5.1.3 Bad address syntax" },
	{ SMTP_PARSE_BADPARAM, 555, "5.5.4 Malformed parameter" },
	{ SMTP_PARSE_TOOMANYPARAM, 555, "5.5.4 Too many parameters" },
};

/* The reply for a parse error: text begins with the enhanced code. */
const char *
smtp_parse_reply(enum smtp_parse_error err, int *code_r)
{
	size_t	 i;

	for (i = 0; i < sizeof(smtp_parse_replies) /
	    sizeof(smtp_parse_replies[0]); i++)
		if (smtp_parse_replies[i].err == err) {
			*code_r = smtp_parse_replies[i].code;
			return smtp_parse_replies[i].text;
		}
	*code_r = 500;
	return "5.5.2 Error";
}

/* RFC 3461 xtext: printable ASCII but "+" and "=", "+XX" hex escapes. */
int
smtp_xtext_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '+') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]))
				return 0;
			s += 2;
		} else if (*s < 33 || *s > 126 || *s == '=')
			return 0;
	}
	return 1;
}

const char *
smtp_cmd_param(const struct smtp_cmd *cmd, const char *key)
{
	int	 i;

	for (i = 0; i < cmd->nparams; i++)
		if (strcmp(cmd->params[i].key, key) == 0)
			return cmd->params[i].value ? cmd->params[i].value : "";
	return NULL;
}

static char *
skip_sp(char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* esmtp-param: keyword ["=" value], keyword = alnum *(alnum / "-") */
static enum smtp_parse_error
parse_params(char *p, struct smtp_cmd *cmd)
{
	char	*key, *v;
	int	 i;

	for (p = skip_sp(p); *p != '\0'; p = skip_sp(p)) {
		if (cmd->nparams == SMTP_PARAM_MAX)
			return SMTP_PARSE_TOOMANYPARAM;
		key = p;
		if (!isalnum((unsigned char)*p))
			return SMTP_PARSE_BADPARAM;
		for (; isalnum((unsigned char)*p) || *p == '-'; p++)
			*p = toupper((unsigned char)*p);
		v = NULL;
		if (*p == '=') {
			*p++ = '\0';
			v = p;
			for (; *p != '\0' && *p != ' '; p++)
				if ((unsigned char)*p < 33 || *p == '=' ||
				    *p == 127)
					return SMTP_PARSE_BADPARAM;
			if (p == v)
				return SMTP_PARSE_BADPARAM;
		} else if (*p != ' ' && *p != '\0')
			return SMTP_PARSE_BADPARAM;
		if (*p == ' ')
			*p++ = '\0';
		/*
		 * A keyword given twice is refused: which of the two counts
		 * would be the server's guess, and a later hop may guess
		 * differently (a smuggled second value must never win).
		 */
		for (i = 0; i < cmd->nparams; i++)
			if (strcmp(cmd->params[i].key, key) == 0)
				return SMTP_PARSE_SYNTAX;
		cmd->params[cmd->nparams].key = key;
		cmd->params[cmd->nparams].value = v;
		cmd->nparams++;
	}
	return SMTP_PARSE_OK;
}

/*
 * "FROM:<path> params" or "TO:<path> params".  The path is delimited
 * and its route checked and dropped by common/addr; the Mailbox is
 * written back in its canonical form (never longer than what was sent),
 * so every later reader sees the one spelling.
 */
static enum smtp_parse_error
parse_path(char *p, const char *prefix, int is_mail, struct smtp_cmd *cmd)
{
	struct addr_path ap;
	char		 canon[ADDR_MAX + 1];
	size_t		 n = strlen(prefix);
	char		*path, *q;

	if (strncasecmp(p, prefix, n) != 0)
		return SMTP_PARSE_SYNTAX;
	p = skip_sp(p + n);
	if (addr_path_scan(p, ADDR_UTF8, &ap) == -1 ||
	    (p[ap.len] != ' ' && p[ap.len] != '\0'))
		return SMTP_PARSE_BADPATH;
	path = p + ap.mbox;
	path[ap.mboxlen] = '\0';
	if (ap.mboxlen == 0) {
		if (!is_mail)
			return SMTP_PARSE_BADPATH;
	} else if (!is_mail && strcasecmp(path, "postmaster") == 0) {
		/* RFC 5321 4.5.1: <Postmaster> without a domain */
	} else if (addr_canon(path, ADDR_UTF8, canon, sizeof(canon), NULL,
	    0) == -1)
		return SMTP_PARSE_BADPATH;
	else
		memcpy(path, canon, strlen(canon) + 1);
	for (q = path; *q != '\0'; q++)
		if ((unsigned char)*q >= 0x80)
			cmd->utf8path = 1;
	cmd->path = path;
	return parse_params(p + ap.len, cmd);
}

static enum smtp_parse_error
parse_bdat(char *p, struct smtp_cmd *cmd)
{
	uint64_t	 n = 0;
	int		 digits = 0;

	for (; isdigit((unsigned char)*p); p++) {
		if (++digits > 18)
			return SMTP_PARSE_SYNTAX;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0)
		return SMTP_PARSE_SYNTAX;
	cmd->chunk_size = n;
	p = skip_sp(p);
	if (*p == '\0')
		return SMTP_PARSE_OK;
	if (strcasecmp(p, "LAST") != 0)
		return SMTP_PARSE_SYNTAX;
	cmd->chunk_last = 1;
	return SMTP_PARSE_OK;
}

static enum smtp_parse_error
parse_args(struct smtp_cmd *cmd, char *arg)
{
	size_t	 n;

	switch (cmd->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
	case SMTP_CMD_LHLO:
		/* trailing words are tolerated, the name must be sane */
		n = strcspn(arg, " ");
		arg[n] = '\0';
		if (addr_domain_check(arg, ADDR_UTF8 | ADDR_HELO, NULL,
		    0) == -1)
			return SMTP_PARSE_SYNTAX;
		return SMTP_PARSE_OK;
	case SMTP_CMD_MAIL:
		return parse_path(arg, "FROM:", 1, cmd);
	case SMTP_CMD_RCPT:
		return parse_path(arg, "TO:", 0, cmd);
	case SMTP_CMD_BDAT:
		return parse_bdat(arg, cmd);
	default:
		return SMTP_PARSE_OK;
	}
}

enum smtp_parse_error
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	char	*p, *verb;
	size_t	 i, vlen;

	memset(cmd, 0, offsetof(struct smtp_cmd, line));
	cmd->line[0] = '\0';
	cmd->arg = cmd->line;
	if (len > SMTP_CMD_LINE_MAX)
		return SMTP_PARSE_TOOLONG;
	for (i = 0; i < len; i++)
		if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
			return SMTP_PARSE_BADCHAR;
	memcpy(cmd->line, line, len);
	cmd->line[len] = '\0';
	/* trailing spaces are common and meaningless */
	while (len > 0 && (cmd->line[len - 1] == ' ' ||
	    cmd->line[len - 1] == '\t'))
		cmd->line[--len] = '\0';
	if (len == 0)
		return SMTP_PARSE_EMPTY;

	verb = cmd->line;
	for (p = verb; *p != '\0' && *p != ' '; p++)
		if ((unsigned char)*p < 33 || (unsigned char)*p > 126)
			return SMTP_PARSE_BADCHAR;
	vlen = (size_t)(p - verb);
	if (vlen == 0)
		return SMTP_PARSE_EMPTY;
	if (vlen < sizeof(cmd->verbstr))
		for (i = 0; i < vlen; i++)
			cmd->verbstr[i] = toupper((unsigned char)verb[i]);
	if (*p == ' ')
		*p++ = '\0';
	p = skip_sp(p);
	cmd->arg = p;
	cmd->verb = SMTP_CMD_UNKNOWN;
	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		if (strcmp(cmd->verbstr, smtp_verbs[i].name) != 0)
			continue;
		cmd->verb = smtp_verbs[i].verb;
		if (smtp_verbs[i].arg == 0 && *p != '\0')
			return SMTP_PARSE_SYNTAX;
		if (smtp_verbs[i].arg == 2 && *p == '\0')
			return SMTP_PARSE_SYNTAX;
		return parse_args(cmd, p);
	}
	return SMTP_PARSE_OK;
}
