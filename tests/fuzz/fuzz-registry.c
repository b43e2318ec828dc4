/*
 * fuzz-registry.c - libFuzzer target for what the registry of trusted
 * transmitters reads from outside: the receiver's IPC_PARENT_REGISTRY
 * request as smtpd's parent splits it (registry_ipc_names), each name
 * through the name rule (registry_name_canon) and into the DNS registry
 * zones' query names, a note through the note rule, and a
 * registry_zones value (common/registry*.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "ipc.h"
#include "registry.h"
#include "registry_dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
one_name(const char *name)
{
	char	 canon[REGISTRY_NAME_MAX + 1], q[DNS_NAME_TEXT_MAX];
	char	 err[256];

	if (registry_name_canon(name, canon, sizeof(canon), err,
	    sizeof(err)) == 0 && strlen(canon) != strlen(name))
		abort();
	(void)registry_dns_name_name(name, "reg.test", q, sizeof(q));
	(void)registry_note_check(name, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ipc_msg	*m;
	const char	*names[REGISTRY_ASK_MAX];
	char		*s;
	int		 i, n;

	if (len > 65536)
		return 0;
	/* the request's payload as the receiver might send it */
	m = ipc_msg_new(IPC_PARENT_REGISTRY, 1);
	ipc_add_data(m, data, len);
	if ((n = registry_ipc_names(m, names)) > REGISTRY_ASK_MAX)
		abort();
	for (i = 0; i < n; i++)
		one_name(names[i]);
	ipc_msg_free(m);
	/* the same bytes as text: a name, a note, a zones value */
	s = malloc(len + 1);
	memcpy(s, data, len);
	s[len] = '\0';
	one_name(s);
	(void)registry_dns_zones_check(s);
	free(s);
	return 0;
}
