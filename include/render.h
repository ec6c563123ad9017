/* render — read manifests/ and the values files from disk and render the stack
 * (manifest.c does the pure work). */
#ifndef AGENTD_RENDER_H
#define AGENTD_RENDER_H

#include "kinds.h"
#include "manifest.h"

/* Renders DIR/NN-NAME.yaml (other files are ignored) with VALUES and the optional
 * OVERRIDE (NULL = none).  0 and *out (phases may carry errors, see manifest.h), or
 * a negative errno and *err naming the file. */
int render_load(const char *dir, const char *values, const char *override, struct kinds *kinds,
		struct manifest_stack **out, char **err);

/* Reads VALUES and the optional OVERRIDE and merges them (manifest_values): 0 and
 * *out (caller frees), or a negative errno and *err naming the file. */
int render_values(const char *values, const char *override, cJSON **out, char **err);

#endif
