/* secret.h — a buffer for key material: page-aligned, mlock'd (kept out of
 * swap), excluded from core dumps, wiped with explicit_bzero when freed.
 *
 * Use it for every unseal key, token or client key agentd holds.  The
 * contents never go to a log line, an error message, argv or a file.
 */
#ifndef AGENTD_SECRET_H
#define AGENTD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

struct secret {
	char *data;     /* NUL-terminated within cap; len bytes used */
	size_t len;
	size_t cap;     /* usable bytes, excluding the terminating NUL */
	bool locked;    /* mlock succeeded (it may not under RLIMIT_MEMLOCK) */
};

/* A new zeroed secret able to hold `cap` bytes (and a NUL).  NULL on failure. */
struct secret *secret_new(size_t cap);

/* Appends bytes; -ENOSPC when they would not fit (nothing is appended). */
int secret_append(struct secret *s, const void *buf, size_t len);

/* Wipes the contents but keeps the buffer. */
void secret_clear(struct secret *s);

/* Wipes, unlocks and frees; accepts NULL; returns NULL. */
struct secret *secret_free(struct secret *s);

#endif
