/*
 * xmalloc.h - allocation that succeeds or does not return.
 *
 * Running out of memory is a broken environment: the wrappers call fatal()
 * rather than hand NULL to code that would have to check it everywhere.
 */
#ifndef SM_XMALLOC_H
#define SM_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 freezero_str(char *);

#endif
