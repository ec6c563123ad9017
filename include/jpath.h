/* jpath.h — members of parsed JSON objects (cJSON), looked up without
 * allocating: pure, no I/O.  What they return points into O (borrowed).
 */
#ifndef AGENTD_JPATH_H
#define AGENTD_JPATH_H

#include <cjson/cJSON.h>

/* Member KEY of O; NULL when O is not an object (or NULL) or has no KEY. */
const cJSON *jpath_get(const cJSON *o, const char *key);

/* The string value of member KEY of O; NULL when it is missing or not a string. */
const char *jpath_str(const cJSON *o, const char *key);

/* The member at PATH, keys joined by dots ("spec.template.metadata"): NULL
 * when a step is missing or not an object, or a key is longer than 63 bytes.
 * An empty PATH is O itself. */
const cJSON *jpath_find(const cJSON *o, const char *path);

#endif
