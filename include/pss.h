/* pss — Pod Security Standards evaluator (pure: no I/O, no logging).
 *
 * Implements the checks of kubernetes/pod-security-admission (policy/check_*.go)
 * for the levels privileged, baseline and restricted and every policy version
 * from v1.0 to PSS_VERSION_LATEST; a version newer than that is judged by the
 * latest rules, as the admission plugin does.  Containers, init containers and
 * ephemeral containers are all visited.
 */
#ifndef AGENTD_PSS_H
#define AGENTD_PSS_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum pss_level {
	PSS_PRIVILEGED,
	PSS_BASELINE,
	PSS_RESTRICTED,
};

/* Newest policy version whose rules are known (minor of 1.N). */
#define PSS_VERSION_LATEST 37

struct pss_violation {
	const char *check;	/* upstream check ID, e.g. "runAsNonRoot" (static) */
	char *reason;		/* upstream ForbiddenReason, e.g. "runAsNonRoot != true" (owned) */
	char *detail;		/* upstream-style ForbiddenDetail (owned) */
};

struct pss_result {
	struct pss_violation *v;	/* owned array, n entries, in check order */
	size_t n;
};

/* "privileged" | "baseline" | "restricted" → 0, else -EINVAL. */
int pss_level_parse(const char *s, enum pss_level *level);
const char *pss_level_name(enum pss_level level);

/* "latest" or "v1.N" (N ≥ 0) → minor N ("latest" and N > latest give
 * PSS_VERSION_LATEST); else -EINVAL. */
int pss_version_parse(const char *s, unsigned *minor);

/* Evaluate a pod given its metadata (may be NULL) and spec at LEVEL and
 * version 1.MINOR.  Values of the wrong JSON type count as unset.
 * Returns 0 with *res filled (n == 0 means allowed; release with
 * pss_result_clear), or -ENOMEM. */
int pss_evaluate(const cJSON *metadata, const cJSON *spec, enum pss_level level,
                 unsigned minor, struct pss_result *res);

/* The pod metadata and spec inside OBJ, any of: Pod; PodTemplate; Deployment,
 * ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController
 * (spec.template); CronJob (spec.jobTemplate.spec.template).  Borrowed
 * pointers into OBJ (*metadata may be NULL when the template has none).
 * 0, or -ENOENT when OBJ is not a pod-carrying kind or lacks the spec. */
int pss_pod_template(const cJSON *obj, const cJSON **metadata, const cJSON **spec);

/* Frees what RES holds and zeroes it; safe on a zeroed or cleared result. */
void pss_result_clear(struct pss_result *res);

#endif
