/* yamljson — YAML (one or more documents) to cJSON, keeping source positions.
 *
 * Pure: no I/O, no logging.  Scalars are typed as Kubernetes types them
 * (sigs.k8s.io/yaml, i.e. go-yaml v2 / YAML 1.1 resolution, then JSON):
 *   - quoted, literal (|) and folded (>) scalars are strings;
 *   - plain `~`, `null`, `Null`, `NULL` and the empty scalar are null;
 *   - plain y/Y/yes/Yes/YES/on/On/ON/true/True/TRUE are true, and
 *     n/N/no/No/NO/off/Off/OFF/false/False/FALSE are false (YAML 1.1, like kubectl);
 *   - plain integers (decimal, 0x.., 0o.., 0b.., legacy 0755 octal, `_` separators)
 *     and floats (1.5, .5, 1e3) are numbers (cJSON stores a double: integers
 *     beyond 2^53 lose precision); .inf/.nan are errors (not representable in JSON);
 *   - timestamps stay strings; `!!str` forces a string; `!!int`/`!!float`/
 *     `!!bool`/`!!null` must match the scalar;
 *   - anchors/aliases are resolved by copying; `<<` merge keys are honoured
 *     (explicit keys win); duplicate keys in a mapping are an error;
 *   - non-string keys become strings ("true", "1"), like sigs.k8s.io/yaml.
 *
 * Every node created by the parser has a position (file, line, column of the
 * value; and of its key when it is an object member) kept in a side table
 * keyed by the node's address.
 */
#ifndef AGENTD_YAMLJSON_H
#define AGENTD_YAMLJSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct yamljson;	/* opaque: the documents and the position table */

struct yamljson_pos {
	const char *file;	/* borrowed from the yamljson; valid until yamljson_free */
	unsigned line;		/* 1-based line of the value */
	unsigned column;	/* 1-based column of the value */
	unsigned key_line;	/* 1-based line of the member's key; 0 if not an object member */
	unsigned key_column;
};

/* Parse TEXT (LEN bytes, need not be NUL-terminated) named FILE in messages.
 * Every document of the stream becomes one cJSON root, in order; an empty
 * document (e.g. after a trailing `---`) is a cJSON null root, kept so that
 * document indices match the file.
 * Returns 0 and *ret (free with yamljson_free), or -EINVAL with *errmsg set
 * to a malloc'd "FILE:LINE:COL: what was wrong" (caller frees), or -ENOMEM
 * (with *errmsg when it could be allocated).  Out-parameters are written
 * only as described. */
int yamljson_parse(const char *text, size_t len, const char *file,
                   struct yamljson **ret, char **errmsg);

/* Number of documents (0 for an empty stream). */
size_t yamljson_count(const struct yamljson *y);

/* Document I (borrowed; owned by Y).  The caller may read and modify it in
 * place; nodes it adds have no position.  NULL if I is out of range. */
cJSON *yamljson_doc(const struct yamljson *y, size_t i);

/* Detach document I: the caller owns the returned tree (cJSON_Delete) and Y
 * keeps a null in its place.  Positions of its nodes stay retrievable from Y
 * while both Y and the nodes are alive.  NULL if I is out of range. */
cJSON *yamljson_take(struct yamljson *y, size_t i);

/* Position of NODE, a node created by the parser of Y (not freed since).
 * 0 and *pos, or -ENOENT for a node Y does not know. */
int yamljson_pos(const struct yamljson *y, const cJSON *node, struct yamljson_pos *pos);

/* Frees Y and every document it still owns; NULL is a no-op.  Returns NULL. */
struct yamljson *yamljson_free(struct yamljson *y);

#endif
