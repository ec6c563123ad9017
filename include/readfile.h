/* readfile — read a whole regular file into memory, bounded. */
#ifndef AGENTD_READFILE_H
#define AGENTD_READFILE_H

#include <stddef.h>

/* Reads PATH (a regular file of at most MAX bytes) into a malloc'd, NUL-terminated
 * buffer.  0 and *out and *len, or -errno (-EFBIG over MAX, -EINVAL not a regular
 * file).  A caller holding secrets wipes the buffer before freeing it. */
int readfile(const char *path, size_t max, char **out, size_t *len);

#endif
