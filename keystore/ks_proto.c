/*
 * ks_proto.c - the key server's command parser; see ks_proto.h.
 *
 * Grammar (docs/interfaces.md, "The key server"): "KEY <address>" |
 * "QUIT", case-insensitive verbs,
 * one space, no trailing junk.  The address is a user's, so it must pass
 * common/addr's local user rule (addr.h: dot-string, domain name, limits
 * 64/255/254); anything else is an error with a reason for the -ERR line.
 */
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ks_proto.h"

void
ks_parse_line(const char *line, size_t len, struct ks_cmd *cmd)
{
	const char *arg;
	size_t	 n;

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
	if (n == 0 || n >= sizeof(cmd->address)) {
		cmd->error = "address missing or too long";
		return;
	}
	memcpy(cmd->address, arg, n);
	cmd->address[n] = '\0';
	if (addr_check(cmd->address, ADDR_LOCAL, NULL, 0) == -1) {
		cmd->address[0] = '\0';
		cmd->error = "malformed address";
		return;
	}
	addr_domain_lower(cmd->address);
	cmd->verb = KS_CMD_KEY;
}
