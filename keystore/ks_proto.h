/*
 * ks_proto.h - the key server's command parser: one line in, one command
 * out.  A pure function with no I/O, so it can be fuzzed alone.
 */
#ifndef SM_KS_PROTO_H
#define SM_KS_PROTO_H

#include <stddef.h>

enum ks_verb {
	KS_CMD_KEY,
	KS_CMD_QUIT,
	KS_CMD_ERROR
};

struct ks_cmd {
	enum ks_verb	 verb;
	char		 address[256];	/* KEY: local@domain, lowercased domain */
	const char	*error;		/* KS_CMD_ERROR: the reason */
};

void	 ks_parse_line(const char *, size_t, struct ks_cmd *);

#endif
