/*
 * ks_proto.c - the key server's command parser; see ks_proto.h.
 *
 * Grammar (DESIGN.md): "KEY <address>" | "QUIT", case-insensitive verbs,
 * one space, no trailing junk.  The address is checked for the shape of
 * an RFC 5321 mailbox (dot-atom local part, domain of labels) and limits
 * 64/255/254; anything else is an error with a reason for the -ERR line.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ks_proto.h"

static int
ks_atext(int c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Dot-atom: atoms of atext separated by single dots. */
static int
ks_dot_atom(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!ks_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int
ks_domain(const char *s, size_t n)
{
	size_t	 i, label = 0;

	if (n == 0 || n > 255 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

void
ks_parse_line(const char *line, size_t len, struct ks_cmd *cmd)
{
	const char *at, *arg;
	size_t	 n, i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = KS_CMD_ERROR;
	if (memchr(line, '\0', len) != NULL) {
		cmd->error = "NUL in command";
		return;
	}
	if (len == 4 && strncasecmp(line, "QUIT", 4) == 0) {
		cmd->verb = KS_CMD_QUIT;
		return;
	}
	if (len < 4 || strncasecmp(line, "KEY ", 4) != 0) {
		cmd->error = "unknown command";
		return;
	}
	arg = line + 4;
	n = len - 4;
	if (n == 0 || n > 254) {
		cmd->error = "address missing or too long";
		return;
	}
	if ((at = memrchr(arg, '@', n)) == NULL || at == arg ||
	    (size_t)(at - arg) > 64 ||
	    !ks_dot_atom(arg, (size_t)(at - arg)) ||
	    !ks_domain(at + 1, n - (size_t)(at - arg) - 1)) {
		cmd->error = "malformed address";
		return;
	}
	memcpy(cmd->address, arg, n);
	cmd->address[n] = '\0';
	for (i = (size_t)(at - arg) + 1; i < n; i++)
		cmd->address[i] = (char)tolower((unsigned char)cmd->address[i]);
	cmd->verb = KS_CMD_KEY;
}
