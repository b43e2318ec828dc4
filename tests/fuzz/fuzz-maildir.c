/*
 * fuzz-maildir.c - libFuzzer target for what common/maildir reads from
 * outside: file names found in a Maildir (any Maildir tool of the mail
 * user, or someone planting files, chose them) and the host name that
 * goes into the names it makes.  The input, cut at its first NUL, is
 * both.  Any bytes give flags, never a crash; the flags are known ones
 * and survive format and parse; the info starts where the base ends; a
 * name made with the input as host has no '/' or ':' and leaves room
 * for ",S=" and the info.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		 info[MD_INFO_MAX], name[MD_NAME_MAX], *s;
	uint32_t	 f;
	size_t		 b, i;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	f = md_info_parse(s);
	b = md_base_len(s);
	if ((f & ~MD_FLAGS_ALL) != 0 || b > strlen(s) ||
	    (s[b] != '\0' && s[b] != ':'))
		__builtin_trap();
	md_info_format(f, info, sizeof(info));
	if (md_info_parse(info) != f || strncmp(info, ":2,", 3) != 0)
		__builtin_trap();
	for (i = 4; i < strlen(info); i++)
		if (info[i] <= info[i - 1])
			__builtin_trap();
	md_uniq(name, sizeof(name), s);
	if (strchr(name, '/') != NULL || strchr(name, ':') != NULL ||
	    strlen(name) + 40 >= MD_NAME_MAX)
		__builtin_trap();
	free(s);
	return 0;
}
