/* lint — offline checks of manifests: Pod Security Standards and the stack's
 * hardening rules (DESIGN.md §2).  Pure: no I/O, no logging.
 *
 * Hardening checks (names as printed):
 *   resources            every container has requests and limits for cpu and memory
 *   image-digest         every image is pinned by digest (NAME@sha256:<64 hex>)
 *   no-secrets           no secretKeyRef, envFrom secretRef, secret volume or
 *                        projected secret source; no Secret objects
 *   read-only-root       securityContext.readOnlyRootFilesystem: true
 *   privilege-escalation securityContext.allowPrivilegeEscalation: false
 *   drop-all             securityContext.capabilities.drop contains ALL
 *   run-as-non-root      pod securityContext.runAsNonRoot: true
 *   seccomp              pod securityContext.seccompProfile.type RuntimeDefault or Localhost
 *   emptydir-size        every emptyDir volume has a sizeLimit
 * PSS violations are named "pss/<check ID>".
 * A value still holding an unrendered ${...} placeholder cannot be judged: the
 * rule reading it is skipped and a note says so.
 */
#ifndef AGENTD_LINT_H
#define AGENTD_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "pss.h"

enum {
	LINT_PSS_ONLY = 1 << 0,		/* skip the hardening rules */
};

struct lint_finding {
	bool note;		/* a skipped rule, not a violation */
	char *check;		/* owned: "pss/runAsNonRoot", "image-digest", ... */
	char *message;		/* owned */
	const cJSON *node;	/* borrowed: the node concerned (inside the linted object) */
};

struct lint_result {
	struct lint_finding *f;	/* owned, n entries */
	size_t n;
	size_t violations;	/* entries with note == false */
};

/* Lint OBJ (any kind; objects without a pod template get only the Secret
 * rule) at PSS LEVEL and version 1.MINOR.  Findings are appended to *RES
 * (start from a zeroed struct).  0 or -ENOMEM. */
int lint_object(const cJSON *obj, enum pss_level level, unsigned minor, unsigned flags,
                struct lint_result *res);

/* For a Namespace object NS: the level and version its
 * pod-security.kubernetes.io/enforce and enforce-version labels set.
 * 0 and the outputs (version "latest" when the label is absent), -ENOENT when
 * NS is not a Namespace or has no valid enforce label. */
int lint_namespace_policy(const cJSON *ns, enum pss_level *level, unsigned *minor);

/* Frees what RES holds and zeroes it. */
void lint_result_clear(struct lint_result *res);

#endif
