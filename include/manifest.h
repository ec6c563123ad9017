/* manifest — render the stack from manifests/NN-NAME.yaml and the values.
 *
 * One phase per file, in NN order; the phase is named after the file stem without
 * its NN- prefix ("00-namespaces.yaml" → "namespaces").  Each file is a multi-
 * document YAML stream; empty documents are skipped.  Placeholders in string values:
 *   - a scalar that is exactly ${a.b.c} becomes the value at that path, with its
 *     type (string, number, bool, map, list);
 *   - ${a.b.c} inside a longer string is replaced as text (scalars only);
 *   - $${ is a literal ${.
 * Values are config/values.yaml deep-merged with an optional override (maps merge,
 * the override wins everywhere else).
 *
 * Any error in a file — YAML, an undefined value, a document without apiVersion,
 * kind or metadata.name, an unknown kind, a namespace where the kind has none (or
 * none where it needs one) — rejects that whole phase with one message naming
 * file:line:col.  Pure: no I/O, no logging. */
#ifndef AGENTD_MANIFEST_H
#define AGENTD_MANIFEST_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

struct manifest_object {
	cJSON *obj;			/* owned: the rendered object */
	const char *api_version, *kind, *name;	/* borrowed from obj */
	const char *namespace;		/* borrowed from obj; NULL for cluster-scoped kinds */
	const struct kind_info *info;	/* borrowed from the kinds table given to render */
	char *where;			/* owned: "file:line:col" of the document */
};

struct manifest_phase {
	char *name;			/* "namespaces" */
	char *file;			/* as given */
	unsigned order;			/* NN */
	char *error;			/* non-NULL: the phase is rejected and has no objects */
	struct manifest_object *objects;
	size_t count;
};

struct manifest_stack {
	struct manifest_phase *phases;	/* in NN order */
	size_t count;
};

/* One input file: its name (for messages; the base name gives the phase) and text. */
struct manifest_file {
	const char *path;
	const char *text;
	size_t len;
};

/* Splits a file's base name "NN-NAME.yaml" (or .yml) into order and name.
 * -EINVAL if it does not have that shape.  *name is malloc'd. */
int manifest_phase_name(const char *path, unsigned *order, char **name);

/* Parses the values file and the optional override (ovr may be NULL) and deep-merges
 * them.  0 and *out (cJSON_Delete), or a negative errno and *err "file:line:col: ...". */
int manifest_values(const struct manifest_file *base, const struct manifest_file *ovr, cJSON **out,
		    char **err);

/* Renders FILES (any order; sorted by NN here, duplicate NN is an error of both).
 * CRDs found in any phase are added to KINDS before kinds are checked, so custom
 * resources may use them.  Returns 0 and *out even when phases are rejected (see
 * manifest_phase.error); a negative errno only for allocation failure or a file
 * whose name is not NN-NAME.yaml (*err says which). */
int manifest_render(const struct manifest_file *files, size_t n, const cJSON *values, struct kinds *kinds,
		    struct manifest_stack **out, char **err);

/* Replaces the placeholders in TREE in place; pure helper used by render, exposed
 * for tests.  Errors name POSFILE via yamljson positions when Y is given. */
struct yamljson;
int manifest_substitute(cJSON **tree, const cJSON *values, const struct yamljson *y, const char *file,
			char **err);

/* The value at dotted PATH in VALUES (borrowed), or NULL. */
const cJSON *manifest_lookup(const cJSON *values, const char *path, size_t len);

/* The rendered stack as JSON lines: {"phase":NAME,"object":OBJ} per object, or
 * {"phase":NAME,"error":MSG} for a rejected phase.  malloc'd; NULL on ENOMEM. */
char *manifest_format(const struct manifest_stack *s);

struct manifest_stack *manifest_stack_free(struct manifest_stack *s);

#endif
