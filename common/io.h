/*
 * io.h - whole writes and copies between file descriptors, for the
 * places that store mail (mda, the quarantine, submitd's stamping).
 */
#ifndef SM_IO_H
#define SM_IO_H

#include <stddef.h>

int	 io_write_all(int, const void *, size_t);
int	 io_copy_fd(int, int);

#endif
