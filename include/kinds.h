/* kinds — which Kubernetes kinds agentd knows, and how to address them:
 * group, version, plural resource name, namespaced or cluster-scoped.
 * Built-in kinds of the stack come from a static table; kinds defined by
 * CustomResourceDefinitions are added at run time.  Pure. */
#ifndef AGENTD_KINDS_H
#define AGENTD_KINDS_H

#include <stdbool.h>
#include <cjson/cJSON.h>

struct kind_info {
	const char *group;	/* "" for core */
	const char *version;
	const char *kind;
	const char *plural;
	bool namespaced;
};

struct kinds;

/* A table holding the built-in kinds.  Free with kinds_free. */
int kinds_new(struct kinds **out);
struct kinds *kinds_free(struct kinds *k);

/* Adds every served version of a CustomResourceDefinition object.  -EINVAL if it
 * lacks spec.group, spec.names.kind/plural, spec.scope or a served version. */
int kinds_add_crd(struct kinds *k, const cJSON *crd);

/* Finds KIND served as API_VERSION ("v1", "apps/v1"); NULL if unknown.  The
 * result is owned by the table. */
const struct kind_info *kinds_find(const struct kinds *k, const char *api_version, const char *kind);

/* Finds KIND in any group/version (for messages); NULL if unknown. */
const struct kind_info *kinds_find_kind(const struct kinds *k, const char *kind);

/* Writes "group/version" (or "version" for core) into buf. */
void kinds_api_version(const struct kind_info *ki, char *buf, size_t size);

#endif
