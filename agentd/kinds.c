/* kinds — the kind → resource table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

static const struct kind_info builtin[] = {
	{ "", "v1", "Namespace", "namespaces", false },
	{ "", "v1", "ServiceAccount", "serviceaccounts", true },
	{ "", "v1", "ConfigMap", "configmaps", true },
	{ "", "v1", "Secret", "secrets", true },
	{ "", "v1", "Service", "services", true },
	{ "", "v1", "Pod", "pods", true },
	{ "", "v1", "Endpoints", "endpoints", true },
	{ "", "v1", "Event", "events", true },
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true },
	{ "", "v1", "PersistentVolume", "persistentvolumes", false },
	{ "", "v1", "ResourceQuota", "resourcequotas", true },
	{ "", "v1", "LimitRange", "limitranges", true },
	{ "", "v1", "Node", "nodes", false },
	{ "apps", "v1", "Deployment", "deployments", true },
	{ "apps", "v1", "StatefulSet", "statefulsets", true },
	{ "apps", "v1", "DaemonSet", "daemonsets", true },
	{ "apps", "v1", "ReplicaSet", "replicasets", true },
	{ "batch", "v1", "Job", "jobs", true },
	{ "batch", "v1", "CronJob", "cronjobs", true },
	{ "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true },
	{ "networking.k8s.io", "v1", "Ingress", "ingresses", true },
	{ "rbac.authorization.k8s.io", "v1", "Role", "roles", true },
	{ "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false },
	{ "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
	  "mutatingwebhookconfigurations", false },
	{ "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
	  "validatingwebhookconfigurations", false },
	{ "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false },
	{ "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true },
	{ "scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false },
	{ "storage.k8s.io", "v1", "StorageClass", "storageclasses", false },
	{ "coordination.k8s.io", "v1", "Lease", "leases", true },
	{ "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true },
};

struct kinds {
	struct kind_info *extra;	/* CRD kinds; strings owned */
	size_t n, cap;
};

int
kinds_new(struct kinds **out)
{
	struct kinds *k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	*out = k;
	return 0;
}

static void
info_clear(struct kind_info *ki)
{
	free((char *)(uintptr_t)ki->group);
	free((char *)(uintptr_t)ki->version);
	free((char *)(uintptr_t)ki->kind);
	free((char *)(uintptr_t)ki->plural);
}

struct kinds *
kinds_free(struct kinds *k)
{
	if (!k)
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		info_clear(&k->extra[i]);
	free(k->extra);
	free(k);
	return NULL;
}

static bool
same_gv(const struct kind_info *ki, const char *api_version)
{
	const char *slash = strchr(api_version, '/');
	if (!slash)
		return ki->group[0] == '\0' && strcmp(ki->version, api_version) == 0;
	size_t gl = (size_t)(slash - api_version);
	return strlen(ki->group) == gl && strncmp(ki->group, api_version, gl) == 0 &&
	       strcmp(ki->version, slash + 1) == 0;
}

const struct kind_info *
kinds_find(const struct kinds *k, const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (strcmp(builtin[i].kind, kind) == 0 && same_gv(&builtin[i], api_version))
			return &builtin[i];
	for (size_t i = 0; k && i < k->n; i++)
		if (strcmp(k->extra[i].kind, kind) == 0 && same_gv(&k->extra[i], api_version))
			return &k->extra[i];
	return NULL;
}

const struct kind_info *
kinds_find_kind(const struct kinds *k, const char *kind)
{
	if (!kind)
		return NULL;
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (strcmp(builtin[i].kind, kind) == 0)
			return &builtin[i];
	for (size_t i = 0; k && i < k->n; i++)
		if (strcmp(k->extra[i].kind, kind) == 0)
			return &k->extra[i];
	return NULL;
}

void
kinds_api_version(const struct kind_info *ki, char *buf, size_t size)
{
	if (ki->group[0])
		snprintf(buf, size, "%s/%s", ki->group, ki->version);
	else
		snprintf(buf, size, "%s", ki->version);
}

static const char *
str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int
add_one(struct kinds *k, const char *group, const char *version, const char *kind, const char *plural,
	bool namespaced)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->extra[i].group, group) == 0 && strcmp(k->extra[i].version, version) == 0 &&
		    strcmp(k->extra[i].kind, kind) == 0)
			return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct kind_info *p = realloc(k->extra, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		k->extra = p;
		k->cap = cap;
	}
	struct kind_info ki = { strdup(group), strdup(version), strdup(kind), strdup(plural), namespaced };
	if (!ki.group || !ki.version || !ki.kind || !ki.plural) {
		info_clear(&ki);
		return -ENOMEM;
	}
	k->extra[k->n++] = ki;
	return 0;
}

int
kinds_add_crd(struct kinds *k, const cJSON *crd)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(crd, "spec");
	const char *group = str_at(spec, "group", NULL), *kind = str_at(spec, "names", "kind");
	const char *plural = str_at(spec, "names", "plural"), *scope = str_at(spec, "scope", NULL);
	if (!group || !kind || !plural || !scope ||
	    (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0))
		return -EINVAL;
	const cJSON *v;
	int added = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "versions")) {
		const char *name = str_at(v, "name", NULL);
		if (!name || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "served")))
			continue;
		int r = add_one(k, group, name, kind, plural, strcmp(scope, "Namespaced") == 0);
		if (r < 0)
			return r;
		added++;
	}
	return added ? 0 : -EINVAL;
}
