/* rfc3339 — parse and format RFC 3339 timestamps (pure: no I/O, no logging). */
#ifndef AGENTD_RFC3339_H
#define AGENTD_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Longest string rfc3339_format writes, NUL included. */
#define RFC3339_MAX 32

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" ('t'/'z' and a space for 'T' are
 * accepted) → Unix seconds, the fraction dropped (floored).  Calendar fields
 * are range-checked (Feb 30 is refused; second 60 is refused).
 * 0 and *t, or -EINVAL. */
int rfc3339_parse(const char *s, int64_t *t);

/* Format T shown at OFFSET seconds east of UTC ("Z" when 0) into BUF
 * (at least RFC3339_MAX bytes): "2012-03-11T03:00:00-04:00".  Returns BUF. */
char *rfc3339_format(int64_t t, int32_t offset, char *buf, size_t len);

#endif
