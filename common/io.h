/*
 * io.h - whole writes and copies between blocking file descriptors,
 * retrying short writes and EINTR: the one such loop, for Maildirs
 * (common/maildir), the queue's envelopes and messages, bounces, the
 * LDA's LMTP client, pid files and the configuration dump.
 */
#ifndef SM_IO_H
#define SM_IO_H

#include <stddef.h>

int	 io_write_all(int, const void *, size_t);
int	 io_copy_fd(int, int);

#endif
