/* strbuf — a growable string for building messages (pure). */
#ifndef AGENTD_STRBUF_H
#define AGENTD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Start from { 0 }.  s is malloc'd (NULL until something is written) and
 * owned by the caller: free(b.s).  After an allocation failure oom is set,
 * further writes are ignored and s keeps what was written before. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

/* Append printf-style. */
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
