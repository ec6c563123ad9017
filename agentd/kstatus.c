/* kstatus — object health after kubernetes-sigs/cli-utils kstatus. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jpath.h"
#include "kstatus.h"
#include "rfc3339.h"

static const char *
str(const cJSON *o, const char *path, const char *def)
{
	const cJSON *v = jpath_find(o, path);

	return cJSON_IsString(v) ? v->valuestring : def;
}

static bool
int_field(const cJSON *o, const char *path, long long *out)
{
	const cJSON *v = jpath_find(o, path);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9e18 && v->valuedouble <= 9e18))
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

static long long
num(const cJSON *o, const char *path, long long def)
{
	long long v;

	return int_field(o, path, &v) ? v : def;
}

__attribute__((format(printf, 4, 5))) static int
set(struct kstatus *k, enum kstatus_status st, const char *reason, const char *fmt, ...)
{
	va_list ap;

	k->status = st;
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(k->message, sizeof(k->message), fmt, ap);
	va_end(ap);
	return 0;
}

/* The condition of TYPE in status.conditions, or NULL. */
static const cJSON *
condition(const cJSON *obj, const char *type)
{
	const cJSON *c, *conds = jpath_find(obj, "status.conditions");

	if (!cJSON_IsArray(conds))
		return NULL;
	cJSON_ArrayForEach(c, conds) {
		const char *t = str(c, "type", NULL);

		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static bool
cond_is(const cJSON *c, const char *status)
{
	const char *s = str(c, "status", NULL);

	return c && s && strcmp(s, status) == 0;
}

/* deletionTimestamp, generation, Reconciling/Stalled: true when decided. */
static bool
generic(const cJSON *obj, const char *kind, struct kstatus *k)
{
	long long gen, obs;
	const cJSON *c;
	const char *dt = str(obj, "metadata.deletionTimestamp", "");

	if (*dt) {
		set(k, KSTATUS_TERMINATING, "Terminating", "Resource scheduled for deletion");
		return true;
	}
	if (int_field(obj, "metadata.generation", &gen) && int_field(obj, "status.observedGeneration", &obs) &&
	    gen != obs) {
		set(k, KSTATUS_IN_PROGRESS, "LatestGenerationNotObserved",
		    "%s generation is %lld, but latest observed generation is %lld", kind, gen, obs);
		return true;
	}
	c = condition(obj, "Reconciling");
	if (cond_is(c, "True")) {
		set(k, KSTATUS_IN_PROGRESS, str(c, "reason", "Reconciling"), "%s", str(c, "message", ""));
		return true;
	}
	c = condition(obj, "Stalled");
	if (cond_is(c, "True")) {
		set(k, KSTATUS_FAILED, str(c, "reason", "Stalled"), "%s", str(c, "message", ""));
		return true;
	}
	return false;
}

static int
deployment(const cJSON *o, struct kstatus *k)
{
	bool progressing = num(o, "spec.progressDeadlineSeconds", INT_MAX) == INT_MAX, available = false;
	long long spec = num(o, "spec.replicas", 1), replicas = num(o, "status.replicas", 0);
	long long updated = num(o, "status.updatedReplicas", 0), ready = num(o, "status.readyReplicas", 0);
	long long avail = num(o, "status.availableReplicas", 0);
	const cJSON *c, *conds = jpath_find(o, "status.conditions");

	if (cJSON_IsArray(conds))
		cJSON_ArrayForEach(c, conds) {
			const char *t = str(c, "type", ""), *reason = str(c, "reason", "");

			if (strcmp(t, "Progressing") == 0) {
				if (strcmp(reason, "ProgressDeadlineExceeded") == 0) {
					k->cause = KSTATUS_CAUSE_PROGRESS_DEADLINE;
					return set(k, KSTATUS_FAILED, "ProgressDeadlineExceeded",
						   "Progress deadline exceeded%s%s", *str(c, "message", "") ? ": " : "",
						   str(c, "message", ""));
				}
				if (cond_is(c, "True") && strcmp(reason, "NewReplicaSetAvailable") == 0)
					progressing = true;
			} else if (strcmp(t, "Available") == 0 && cond_is(c, "True")) {
				available = true;
			}
		}
	if (spec > replicas)
		return set(k, KSTATUS_IN_PROGRESS, "LessReplicas", "Replicas: %lld/%lld", replicas, spec);
	if (spec > updated)
		return set(k, KSTATUS_IN_PROGRESS, "LessUpdated", "Updated: %lld/%lld", updated, spec);
	if (replicas > spec)
		return set(k, KSTATUS_IN_PROGRESS, "ExtraPods", "Pending termination: %lld", replicas - spec);
	if (updated > avail)
		return set(k, KSTATUS_IN_PROGRESS, "LessAvailable", "Available: %lld/%lld", avail, updated);
	if (spec > ready)
		return set(k, KSTATUS_IN_PROGRESS, "LessReady", "Ready: %lld/%lld", ready, spec);
	if (!progressing)
		return set(k, KSTATUS_IN_PROGRESS, "ReplicaSetNotAvailable", "ReplicaSet not Available");
	if (!available)
		return set(k, KSTATUS_IN_PROGRESS, "DeploymentNotAvailable", "Deployment not Available");
	return set(k, KSTATUS_CURRENT, "", "Deployment is available. Replicas: %lld", replicas);
}

static int
statefulset(const cJSON *o, struct kstatus *k)
{
	long long spec = num(o, "spec.replicas", 1), ready = num(o, "status.readyReplicas", 0);
	long long current = num(o, "status.currentReplicas", 0), updated = num(o, "status.updatedReplicas", 0);
	long long replicas = num(o, "status.replicas", 0);
	long long partition = num(o, "spec.updateStrategy.rollingUpdate.partition", -1);

	if (strcmp(str(o, "spec.updateStrategy.type", ""), "OnDelete") == 0)
		return set(k, KSTATUS_CURRENT, "", "StatefulSet is using the ondelete update strategy");
	if (spec > replicas)
		return set(k, KSTATUS_IN_PROGRESS, "LessReplicas", "Replicas: %lld/%lld", replicas, spec);
	if (spec > ready)
		return set(k, KSTATUS_IN_PROGRESS, "LessReady", "Ready: %lld/%lld", ready, spec);
	if (replicas > spec)
		return set(k, KSTATUS_IN_PROGRESS, "ExtraPods", "Pending termination: %lld", replicas - spec);
	if (partition != -1) {
		if (updated < spec - partition)
			return set(k, KSTATUS_IN_PROGRESS, "PartitionRollout", "updated: %lld/%lld", updated,
				   spec - partition);
		return set(k, KSTATUS_CURRENT, "", "Partition rollout complete. updated: %lld", updated);
	}
	if (spec > current)
		return set(k, KSTATUS_IN_PROGRESS, "LessCurrent", "current: %lld/%lld", current, spec);
	if (strcmp(str(o, "status.currentRevision", ""), str(o, "status.updateRevision", "")) != 0)
		return set(k, KSTATUS_IN_PROGRESS, "RevisionMismatch", "Waiting for updated revision to match current");
	return set(k, KSTATUS_CURRENT, "", "All replicas scheduled as expected. Replicas: %lld", replicas);
}

static int
daemonset(const cJSON *o, struct kstatus *k)
{
	long long desired = num(o, "status.desiredNumberScheduled", -1);
	long long current = num(o, "status.currentNumberScheduled", 0);
	long long updated = num(o, "status.updatedNumberScheduled", 0);
	long long avail = num(o, "status.numberAvailable", 0), ready = num(o, "status.numberReady", 0);
	long long v;

	if (!int_field(o, "metadata.generation", &v))
		return set(k, KSTATUS_IN_PROGRESS, "NoGeneration", "DaemonSet metadata.generation not found");
	if (!int_field(o, "status.observedGeneration", &v))
		return set(k, KSTATUS_IN_PROGRESS, "NoObservedGeneration",
			   "DaemonSet status.observedGeneration not found");
	if (desired == -1)
		return set(k, KSTATUS_IN_PROGRESS, "NoDesiredNumber", "Missing .status.desiredNumberScheduled");
	if (desired > current)
		return set(k, KSTATUS_IN_PROGRESS, "LessCurrent", "Current: %lld/%lld", current, desired);
	if (desired > updated)
		return set(k, KSTATUS_IN_PROGRESS, "LessUpdated", "Updated: %lld/%lld", updated, desired);
	if (desired > avail)
		return set(k, KSTATUS_IN_PROGRESS, "LessAvailable", "Available: %lld/%lld", avail, desired);
	if (desired > ready)
		return set(k, KSTATUS_IN_PROGRESS, "LessReady", "Ready: %lld/%lld", ready, desired);
	return set(k, KSTATUS_CURRENT, "", "All replicas scheduled as expected. Replicas: %lld", desired);
}

static int
replicaset(const cJSON *o, struct kstatus *k)
{
	long long spec = num(o, "spec.replicas", 1), replicas = num(o, "status.replicas", 0);
	long long ready = num(o, "status.readyReplicas", 0), avail = num(o, "status.availableReplicas", 0);
	long long labelled = num(o, "status.fullyLabeledReplicas", 0);

	if (cond_is(condition(o, "ReplicaFailure"), "True"))
		return set(k, KSTATUS_IN_PROGRESS, "ReplicaFailure", "Replica Failure condition. Check Pods");
	if (spec > labelled)
		return set(k, KSTATUS_IN_PROGRESS, "LessLabelled", "Labelled: %lld/%lld", labelled, spec);
	if (spec > avail)
		return set(k, KSTATUS_IN_PROGRESS, "LessAvailable", "Available: %lld/%lld", avail, spec);
	if (spec > ready)
		return set(k, KSTATUS_IN_PROGRESS, "LessReady", "Ready: %lld/%lld", ready, spec);
	if (replicas > spec)
		return set(k, KSTATUS_IN_PROGRESS, "ExtraPods", "Pending termination: %lld", replicas - spec);
	return set(k, KSTATUS_CURRENT, "", "ReplicaSet is available. Replicas: %lld", replicas);
}

static int
job(const cJSON *o, struct kstatus *k)
{
	long long par = num(o, "spec.parallelism", 1), compl = num(o, "spec.completions", par);
	long long succeeded = num(o, "status.succeeded", 0), active = num(o, "status.active", 0);
	long long failed = num(o, "status.failed", 0);
	const cJSON *c, *conds = jpath_find(o, "status.conditions");

	if (cJSON_IsArray(conds))
		cJSON_ArrayForEach(c, conds) {
			const char *t = str(c, "type", "");

			if (!cond_is(c, "True"))
				continue;
			if (strcmp(t, "Complete") == 0)
				return set(k, KSTATUS_CURRENT, "", "Job Completed. succeeded: %lld/%lld", succeeded, compl);
			if (strcmp(t, "Failed") == 0) {
				k->cause = KSTATUS_CAUSE_JOB_FAILED;
				return set(k, KSTATUS_FAILED, "JobFailed", "Job Failed. failed: %lld/%lld%s%s", failed,
					   compl, *str(c, "reason", "") ? ": " : "", str(c, "reason", ""));
			}
			if (strcmp(t, "Suspended") == 0)
				return set(k, KSTATUS_CURRENT, "", "Job is suspended");
		}
	if (!*str(o, "status.startTime", ""))
		return set(k, KSTATUS_IN_PROGRESS, "JobNotStarted", "Job not started");
	return set(k, KSTATUS_CURRENT, "", "Job in progress. success:%lld, active: %lld, failed: %lld", succeeded,
		   active, failed);
}

/* ---- pods ---- */

static const char *
waiting_reason(const cJSON *cs)
{
	return str(cs, "state.waiting.reason", NULL);
}

/* First container status (init containers first) waiting with one of
 * REASONS; records CAUSE and the container and returns true. */
static bool
find_waiting(const cJSON *o, const char *const *reasons, enum kstatus_cause cause, struct kstatus *k)
{
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	const cJSON *cs;
	size_t i, r;

	for (i = 0; i < 2; i++) {
		const cJSON *arr = jpath_find(o, lists[i]);

		if (!cJSON_IsArray(arr))
			continue;
		cJSON_ArrayForEach(cs, arr) {
			const char *w = waiting_reason(cs);

			if (!w)
				continue;
			for (r = 0; reasons[r]; r++)
				if (strcmp(w, reasons[r]) == 0) {
					k->cause = cause;
					snprintf(k->container, sizeof(k->container), "%s", str(cs, "name", ""));
					return true;
				}
		}
	}
	return false;
}

/* The kubelet's words for why container NAME waits (message, else reason). */
static const char *
waiting_message(const cJSON *o, const char *name)
{
	static const char *const lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	const cJSON *cs;
	size_t i;

	for (i = 0; i < 2; i++) {
		const cJSON *arr = jpath_find(o, lists[i]);

		if (!cJSON_IsArray(arr))
			continue;
		cJSON_ArrayForEach(cs, arr)
			if (strcmp(str(cs, "name", ""), name) == 0 && waiting_reason(cs))
				return str(cs, "state.waiting.message", waiting_reason(cs));
	}
	return "";
}

/* "Init:i/n" held by the first init container that has not succeeded. */
static bool
init_blocked(const cJSON *o, struct kstatus *k, int *done, int *total)
{
	const cJSON *cs, *arr = jpath_find(o, "status.initContainerStatuses"), *spec = jpath_find(o, "spec.initContainers");
	int i = 0;

	*total = cJSON_IsArray(spec) ? cJSON_GetArraySize(spec) : cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
	*done = 0;
	if (!cJSON_IsArray(arr))
		return false;
	cJSON_ArrayForEach(cs, arr) {
		const cJSON *term = jpath_find(cs, "state.terminated");

		if (term && num(term, "exitCode", -1) == 0) {
			i++;
			continue;
		}
		*done = i;
		snprintf(k->container, sizeof(k->container), "%s", str(cs, "name", ""));
		k->cause = strcmp(k->container, "vault-agent-init") == 0 ? KSTATUS_CAUSE_VAULT_INIT
									   : KSTATUS_CAUSE_INIT_WAITING;
		return true;
	}
	return false;
}

static int
pod(const cJSON *o, int64_t now, struct kstatus *k)
{
	static const char *const crash[] = { "CrashLoopBackOff", NULL };
	static const char *const pull[] = { "ImagePullBackOff", "ErrImagePull", "InvalidImageName", NULL };
	static const char *const config[] = { "CreateContainerConfigError", NULL };
	const char *phase = str(o, "status.phase", "");
	const cJSON *sched = condition(o, "PodScheduled");
	int done, total;

	if (strcmp(phase, "Succeeded") == 0)
		return set(k, KSTATUS_CURRENT, "", "Pod has completed successfully");
	if (strcmp(phase, "Failed") == 0)
		return set(k, KSTATUS_CURRENT, "", "Pod has completed, but not successfully");
	if (strcmp(phase, "Running") == 0) {
		if (cond_is(condition(o, "Ready"), "True"))
			return set(k, KSTATUS_CURRENT, "", "Pod is Ready");
		if (find_waiting(o, crash, KSTATUS_CAUSE_CRASH_LOOP, k))
			return set(k, KSTATUS_FAILED, "ContainerCrashLooping", "Containers in CrashLoop state: %s",
				   k->container);
		if (find_waiting(o, pull, KSTATUS_CAUSE_IMAGE_PULL, k) ||
		    find_waiting(o, config, KSTATUS_CAUSE_CONFIG_ERROR, k))
			return set(k, KSTATUS_IN_PROGRESS, "PodRunningNotReady",
				   "Pod is running but is not Ready: container %s: %s", k->container,
				   waiting_message(o, k->container));
		return set(k, KSTATUS_IN_PROGRESS, "PodRunningNotReady", "Pod is running but is not Ready");
	}
	if (strcmp(phase, "Pending") == 0) {
		if (cond_is(sched, "False") && strcmp(str(sched, "reason", ""), "Unschedulable") == 0) {
			int64_t created;
			const char *detail = str(sched, "message", "");

			k->cause = KSTATUS_CAUSE_UNSCHEDULABLE;
			if (rfc3339_parse(str(o, "metadata.creationTimestamp", ""), &created) == 0 &&
			    now - KSTATUS_SCHEDULE_WINDOW < created)
				return set(k, KSTATUS_IN_PROGRESS, "PodNotScheduled", "Pod has not been scheduled%s%s",
					   *detail ? ": " : "", detail);
			return set(k, KSTATUS_FAILED, "PodUnschedulable", "Pod could not be scheduled%s%s",
				   *detail ? ": " : "", detail);
		}
		if (find_waiting(o, crash, KSTATUS_CAUSE_CRASH_LOOP, k))
			return set(k, KSTATUS_IN_PROGRESS, "PodPending", "Container %s is in CrashLoopBackOff",
				   k->container);
		if (find_waiting(o, pull, KSTATUS_CAUSE_IMAGE_PULL, k) ||
		    find_waiting(o, config, KSTATUS_CAUSE_CONFIG_ERROR, k))
			return set(k, KSTATUS_IN_PROGRESS, "PodPending", "Container %s: %s", k->container,
				   waiting_message(o, k->container));
		if (init_blocked(o, k, &done, &total))
			return set(k, KSTATUS_IN_PROGRESS, "PodPending", "Init:%d/%d: waiting on init container %s",
				   done, total, k->container);
		return set(k, KSTATUS_IN_PROGRESS, "PodPending", "Pod is in the Pending phase");
	}
	if (!*phase)
		return set(k, KSTATUS_IN_PROGRESS, "PodNotObserved", "Pod phase not available");
	return set(k, KSTATUS_IN_PROGRESS, "UnknownPhase", "Pod phase %s is unknown", phase);
}

static int
pvc(const cJSON *o, struct kstatus *k)
{
	const char *phase = str(o, "status.phase", "unknown");

	if (strcmp(phase, "Bound") != 0)
		return set(k, KSTATUS_IN_PROGRESS, "NotBound", "PVC is not Bound. phase: %s", phase);
	return set(k, KSTATUS_CURRENT, "", "PVC is Bound");
}

static int
crd(const cJSON *o, struct kstatus *k)
{
	const cJSON *c, *conds = jpath_find(o, "status.conditions");

	if (cJSON_IsArray(conds))
		cJSON_ArrayForEach(c, conds) {
			const char *t = str(c, "type", "");

			if (strcmp(t, "NamesAccepted") == 0 && cond_is(c, "False"))
				return set(k, KSTATUS_FAILED, str(c, "reason", "NamesNotAccepted"), "%s",
					   str(c, "message", "CRD names not accepted"));
			if (strcmp(t, "Established") == 0) {
				if (cond_is(c, "False") && strcmp(str(c, "reason", ""), "Installing") != 0)
					return set(k, KSTATUS_FAILED, str(c, "reason", "NotEstablished"), "%s",
						   str(c, "message", "CRD not established"));
				if (cond_is(c, "True"))
					return set(k, KSTATUS_CURRENT, "", "CRD is established");
			}
		}
	return set(k, KSTATUS_IN_PROGRESS, "Installing", "Install in progress");
}

static int
service(const cJSON *o, struct kstatus *k)
{
	if (strcmp(str(o, "spec.type", "ClusterIP"), "LoadBalancer") == 0 && !*str(o, "spec.clusterIP", ""))
		return set(k, KSTATUS_IN_PROGRESS, "NoIPAssigned", "ClusterIP not set. Service type: LoadBalancer");
	return set(k, KSTATUS_CURRENT, "", "Service is ready");
}

int
kstatus_compute(const cJSON *obj, int64_t now, struct kstatus *k)
{
	const char *kind;

	memset(k, 0, sizeof(*k));
	if (!obj || cJSON_IsNull(obj))
		return set(k, KSTATUS_NOT_FOUND, "NotFound", "Resource not found");
	kind = str(obj, "kind", "");
	if (generic(obj, *kind ? kind : "Resource", k))
		return 0;
	if (strcmp(kind, "Deployment") == 0)
		return deployment(obj, k);
	if (strcmp(kind, "StatefulSet") == 0)
		return statefulset(obj, k);
	if (strcmp(kind, "DaemonSet") == 0)
		return daemonset(obj, k);
	if (strcmp(kind, "ReplicaSet") == 0)
		return replicaset(obj, k);
	if (strcmp(kind, "Job") == 0)
		return job(obj, k);
	if (strcmp(kind, "Pod") == 0)
		return pod(obj, now, k);
	if (strcmp(kind, "PersistentVolumeClaim") == 0)
		return pvc(obj, k);
	if (strcmp(kind, "CustomResourceDefinition") == 0)
		return crd(obj, k);
	if (strcmp(kind, "Service") == 0)
		return service(obj, k);
	if (strcmp(kind, "Namespace") == 0 && strcmp(str(obj, "status.phase", ""), "Terminating") == 0)
		return set(k, KSTATUS_TERMINATING, "Terminating", "Namespace is terminating");
	return set(k, KSTATUS_CURRENT, "", "Resource is current");
}

const char *
kstatus_status_name(enum kstatus_status s)
{
	switch (s) {
	case KSTATUS_CURRENT:
		return "Current";
	case KSTATUS_IN_PROGRESS:
		return "InProgress";
	case KSTATUS_FAILED:
		return "Failed";
	case KSTATUS_TERMINATING:
		return "Terminating";
	case KSTATUS_NOT_FOUND:
		return "NotFound";
	}
	return "Unknown";
}

const char *
kstatus_cause_name(enum kstatus_cause c)
{
	switch (c) {
	case KSTATUS_CAUSE_NONE:
		return "none";
	case KSTATUS_CAUSE_CRASH_LOOP:
		return "CrashLoopBackOff";
	case KSTATUS_CAUSE_IMAGE_PULL:
		return "ImagePull";
	case KSTATUS_CAUSE_CONFIG_ERROR:
		return "CreateContainerConfigError";
	case KSTATUS_CAUSE_VAULT_INIT:
		return "VaultAgentInit";
	case KSTATUS_CAUSE_INIT_WAITING:
		return "InitWaiting";
	case KSTATUS_CAUSE_UNSCHEDULABLE:
		return "Unschedulable";
	case KSTATUS_CAUSE_PROGRESS_DEADLINE:
		return "ProgressDeadlineExceeded";
	case KSTATUS_CAUSE_JOB_FAILED:
		return "JobFailed";
	}
	return "unknown";
}
