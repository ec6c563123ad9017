/* clock.h — wall and monotonic time in microseconds, RFC 3339 formatting. */
#ifndef AGENTD_CLOCK_H
#define AGENTD_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_SIZE 32

/* CLOCK_REALTIME in microseconds since the epoch. */
uint64_t clock_now_usec(void);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t clock_mono_usec(void);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf (at least CLOCK_RFC3339_SIZE
 * bytes) and returns buf. */
char *clock_format_rfc3339(uint64_t usec, char *buf, size_t size);

#endif
