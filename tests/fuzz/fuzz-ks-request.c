/*
 * fuzz-ks-request.c - libFuzzer target for the keystore's decoder of
 * signing requests (keystore/ks_req.c), as keystore.server runs it on what
 * a client sends: the bytes are framed by common/ipc's decoder, each
 * message checked by ks_req_decode(), and what it accepts re-encoded and
 * decoded again, as the root parent does with what the role forwards.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "ks_req.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ipc_msg *m, *fwd;
	struct ks_req r, r2;
	const char *why;
	size_t	 used;

	while (ipc_decode(data, len, &m, &used) == IPC_DECODE_DONE) {
		if (m->fd == IPC_FD_PENDING)
			m->fd = -1;
		if (ks_req_decode(m, &r, &why) == 0) {
			if (strlen(r.owner) > KS_OWNER_MAX ||
			    (r.type == IPC_KS_SIGN &&
			    !ks_selector_valid(r.selector)))
				__builtin_trap();
			fwd = ks_req_encode(&r, m->id);
			if (ks_req_decode(fwd, &r2, &why) != 0 ||
			    memcmp(&r, &r2, sizeof(r)) != 0)
				__builtin_trap();
			ipc_msg_free(fwd);
		} else if (why == NULL || *why == '\0')
			__builtin_trap();
		ipc_msg_free(m);
		data += used;
		len -= used;
	}
	return 0;
}
