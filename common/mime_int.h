/*
 * mime_int.h - what the mime*.c files share and no caller needs: the
 * small character tests, and the Content-Transfer-Encoding reader the
 * parser takes from the structured-field code.
 */
#ifndef SM_MIME_INT_H
#define SM_MIME_INT_H

#include <stddef.h>

#include "mime.h"

static inline int
mime_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* The value of a hex digit, or -1. */
static inline int
mime_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void	 mime_str_lower(char *);
enum mime_encoding mime_cte_parse(const char *, size_t, char **);

#endif
