/* wipe — zero memory that held secrets before freeing it (for buffers that are
 * not a struct secret: HTTP bodies, parsed JSON, copies of PEM keys). */
#ifndef AGENTD_WIPE_H
#define AGENTD_WIPE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Zeroes every string value in T, its siblings and their subtrees. */
void wipe_json(cJSON *t);

/* Zeroes T's strings (see above) and deletes it; NULL is a no-op. */
void wipe_json_free(cJSON *t);

/* Zeroes N bytes of P and frees it; NULL is a no-op. */
void wipe_free(void *p, size_t n);

/* Zeroes the NUL-terminated S and frees it; NULL is a no-op. */
void wipe_free_str(char *s);

#endif
