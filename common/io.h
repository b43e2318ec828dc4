/*
 * io.h - whole writes and copies between file descriptors: every
 * blocking write of a whole buffer in Sealmail goes through
 * io_write_all (Maildirs, the queue's envelopes and messages, bounces,
 * the LDA's LMTP client, pid files).
 */
#ifndef SM_IO_H
#define SM_IO_H

#include <stddef.h>

int	 io_write_all(int, const void *, size_t);
int	 io_copy_fd(int, int);

#endif
