/* secret — wiping memory that held secrets before it is freed. */
#ifndef AGENTD_SECRET_H
#define AGENTD_SECRET_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Zeroes every string (values and keys) in the tree T and its siblings' subtrees. */
void secret_wipe_json(cJSON *t);

/* Wipes the tree T (see above) and deletes it; NULL is a no-op. */
void secret_json_free(cJSON *t);

/* Zeroes N bytes of P and frees it; NULL is a no-op. */
void secret_free(void *p, size_t n);

/* Zeroes the NUL-terminated S and frees it; NULL is a no-op. */
void secret_free_str(char *s);

#endif
