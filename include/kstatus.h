/* kstatus — health of a Kubernetes object from its own fields (pure: no I/O,
 * no logging), by the rules of kubernetes-sigs/cli-utils pkg/kstatus
 * (status/core.go, generic.go), plus the pod causes agentd explains to a
 * person (crash loop, image pull, Vault Agent init stuck, unschedulable).
 *
 * Generic rules first, for every kind: metadata.deletionTimestamp →
 * Terminating; metadata.generation ≠ status.observedGeneration →
 * InProgress; a `Reconciling` condition True → InProgress; `Stalled` True →
 * Failed.  Then per kind: Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * Job, Pod, PersistentVolumeClaim, CustomResourceDefinition, Service
 * (kstatus rules); Namespace (phase Terminating → Terminating); Secret,
 * ConfigMap, CronJob and any other kind → Current.
 */
#ifndef AGENTD_KSTATUS_H
#define AGENTD_KSTATUS_H

#include <stdint.h>
#include <cjson/cJSON.h>

enum kstatus_status {
	KSTATUS_CURRENT,
	KSTATUS_IN_PROGRESS,
	KSTATUS_FAILED,
	KSTATUS_TERMINATING,
	KSTATUS_NOT_FOUND,
};

/* Why a pod (or the pod behind a workload) is not healthy, beyond kstatus. */
enum kstatus_cause {
	KSTATUS_CAUSE_NONE,
	KSTATUS_CAUSE_CRASH_LOOP,	/* a container waits in CrashLoopBackOff */
	KSTATUS_CAUSE_IMAGE_PULL,	/* ImagePullBackOff / ErrImagePull / InvalidImageName */
	KSTATUS_CAUSE_CONFIG_ERROR,	/* CreateContainerConfigError (missing Secret/ConfigMap key) */
	KSTATUS_CAUSE_VAULT_INIT,	/* Init:i/n, held by init container vault-agent-init (Vault sealed?) */
	KSTATUS_CAUSE_INIT_WAITING,	/* Init:i/n, held by another init container */
	KSTATUS_CAUSE_UNSCHEDULABLE,	/* PodScheduled=False, reason Unschedulable */
	KSTATUS_CAUSE_PROGRESS_DEADLINE,/* Deployment ProgressDeadlineExceeded */
	KSTATUS_CAUSE_JOB_FAILED,	/* Job condition Failed=True */
};

struct kstatus {
	enum kstatus_status status;
	enum kstatus_cause cause;
	char reason[64];	/* kstatus' short reason, e.g. "LessReady" ("" when Current) */
	char message[512];	/* human message, e.g. "Ready: 0/1" */
	char container[254];	/* container the cause concerns, or "" */
};

/* Seconds a Pending pod may stay unschedulable, counted from its
 * creationTimestamp, before it is Failed rather than InProgress (kstatus
 * ScheduleWindow). */
#define KSTATUS_SCHEDULE_WINDOW 15

/* Health of OBJ (NULL = the object does not exist → NotFound) at time NOW
 * (Unix seconds; only the Pending-unschedulable grace period uses it).
 * Always fills *out; returns 0.  Strings are truncated to fit. */
int kstatus_compute(const cJSON *obj, int64_t now, struct kstatus *out);

/* "Current", "InProgress", "Failed", "Terminating", "NotFound". */
const char *kstatus_status_name(enum kstatus_status s);

/* "none", "CrashLoopBackOff", "ImagePull", "CreateContainerConfigError",
 * "VaultAgentInit", "InitWaiting", "Unschedulable", "ProgressDeadlineExceeded",
 * "JobFailed". */
const char *kstatus_cause_name(enum kstatus_cause c);

#endif
