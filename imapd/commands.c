/*
 * commands.c - the IMAP command table: name, handler, the states it is
 * valid in, and whether it may follow UID or must not be followed by
 * EXPUNGE responses.  client.c looks commands up here; one file per
 * command group implements them (cmd-any.c, cmd-mailbox.c,
 * cmd-select.c, cmd-fetch.c, cmd-search.c, cmd-sort.c).
 */
#include <stddef.h>
#include <strings.h>

#include "imapd.h"

static const struct imap_command imap_commands[] = {
	{ "CAPABILITY",	cmd_capability,	ST_ANY,		CMD_F_PRE },
	{ "NOOP",	cmd_noop,	ST_ANY,		CMD_F_PRE },
	{ "LOGOUT",	cmd_logout,	ST_ANY,		CMD_F_PRE },
	{ "ID",		cmd_id,		ST_ANY,		CMD_F_PRE },
	{ "STARTTLS",	cmd_starttls,	ST_NOTAUTH,	CMD_F_PRE },
	{ "LOGIN",	cmd_login,	ST_NOTAUTH,	CMD_F_PRE },
	{ "AUTHENTICATE", cmd_authenticate, ST_NOTAUTH,	CMD_F_PRE },
	{ "ENABLE",	cmd_enable,	ST_LOGGEDIN,	0 },
	{ "NAMESPACE",	cmd_namespace,	ST_LOGGEDIN,	0 },
	{ "COMPRESS",	cmd_compress,	ST_LOGGEDIN,	0 },
	{ "IDLE",	cmd_idle,	ST_LOGGEDIN,	0 },
	{ "SELECT",	cmd_select,	ST_LOGGEDIN,	0 },
	{ "EXAMINE",	cmd_select,	ST_LOGGEDIN,	0 },
	{ "CREATE",	cmd_create,	ST_LOGGEDIN,	0 },
	{ "DELETE",	cmd_delete,	ST_LOGGEDIN,	0 },
	{ "RENAME",	cmd_rename,	ST_LOGGEDIN,	0 },
	{ "SUBSCRIBE",	cmd_subscribe,	ST_LOGGEDIN,	0 },
	{ "UNSUBSCRIBE", cmd_subscribe,	ST_LOGGEDIN,	0 },
	{ "LIST",	cmd_list,	ST_LOGGEDIN,	0 },
	{ "LSUB",	cmd_list,	ST_LOGGEDIN,	0 },
	{ "STATUS",	cmd_status,	ST_LOGGEDIN,	0 },
	{ "APPEND",	cmd_append,	ST_LOGGEDIN,	0 },
	{ "GETQUOTAROOT", cmd_getquotaroot, ST_LOGGEDIN, 0 },
	{ "GETQUOTA",	cmd_getquota,	ST_LOGGEDIN,	0 },
	{ "SETQUOTA",	cmd_setquota,	ST_LOGGEDIN,	0 },
	{ "CHECK",	cmd_check,	ST_SELECTED,	0 },
	{ "CLOSE",	cmd_close,	ST_SELECTED,	0 },
	{ "UNSELECT",	cmd_close,	ST_SELECTED,	0 },
	{ "EXPUNGE",	cmd_expunge,	ST_SELECTED,	CMD_F_UID },
	{ "SEARCH",	cmd_search,	ST_SELECTED,	CMD_F_UID |
	    CMD_F_NOEXPUNGE },
	{ "FETCH",	cmd_fetch,	ST_SELECTED,	CMD_F_UID |
	    CMD_F_NOEXPUNGE },
	{ "STORE",	cmd_store,	ST_SELECTED,	CMD_F_UID |
	    CMD_F_NOEXPUNGE },
	{ "COPY",	cmd_copy,	ST_SELECTED,	CMD_F_UID },
	{ "MOVE",	cmd_copy,	ST_SELECTED,	CMD_F_UID },
	{ "UID",	cmd_uid,	ST_SELECTED,	0 },
	{ "SORT",	cmd_sort,	ST_SELECTED,	CMD_F_UID |
	    CMD_F_NOEXPUNGE },
	{ "THREAD",	cmd_thread,	ST_SELECTED,	CMD_F_UID |
	    CMD_F_NOEXPUNGE },
};

const struct imap_command *
imap_command_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]);
	    i++)
		if (strcasecmp(name, imap_commands[i].name) == 0)
			return &imap_commands[i];
	return NULL;
}
