/*
 * fuzz-ipc.c - libFuzzer target for the IPC message decoder
 * (common/ipc.c): a hostile peer's bytes are decoded message by message
 * and every field read with each getter, as a privileged parent would.
 */
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ipc_msg *m;
	const char *s;
	const void *p;
	uint32_t u;
	uint64_t U;
	size_t	 used, n;
	int	 progress;

	while (ipc_decode(data, len, &m, &used) == IPC_DECODE_DONE) {
		if (m->fd == IPC_FD_PENDING)
			m->fd = -1;
		do {
			progress = ipc_get_u32(m, &u) == 0 ||
			    ipc_get_u64(m, &U) == 0 ||
			    ipc_get_str(m, &s) == 0 ||
			    ipc_get_data(m, &p, &n) == 0;
		} while (progress);
		(void)ipc_get_end(m);
		ipc_msg_free(m);
		data += used;
		len -= used;
	}
	return 0;
}
