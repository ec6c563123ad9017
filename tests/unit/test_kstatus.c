/* Unit tests for kstatus: every kstatus rule and every pod cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kstatus.h"
#include "yamljson.h"

#define UNUSED __attribute__((unused))
#define NOW 1700000000	/* 2023-11-14T22:13:20Z */

struct expect {
	const char *name;
	const char *yaml;
	enum kstatus_status status;
	enum kstatus_cause cause;
	const char *message;	/* substring */
	const char *container;	/* exact, or NULL for "" */
};

static void
run(const struct expect *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct yamljson *y = NULL;
		char *err = NULL;
		struct kstatus k;

		if (yamljson_parse(e[i].yaml, strlen(e[i].yaml), e[i].name, &y, &err) != 0)
			fail_msg("%s: %s", e[i].name, err);
		assert_int_equal(kstatus_compute(yamljson_doc(y, 0), NOW, &k), 0);
		if (k.status != e[i].status || k.cause != e[i].cause || !strstr(k.message, e[i].message) ||
		    strcmp(k.container, e[i].container ? e[i].container : "") != 0)
			fail_msg("%s: got %s/%s \"%s\" [%s], want %s/%s \"%s\" [%s]", e[i].name,
				 kstatus_status_name(k.status), kstatus_cause_name(k.cause), k.message, k.container,
				 kstatus_status_name(e[i].status), kstatus_cause_name(e[i].cause), e[i].message,
				 e[i].container ? e[i].container : "");
		yamljson_free(y);
	}
}

static void
test_generic(void **state UNUSED)
{
	struct kstatus k;
	static const struct expect e[] = {
		{ "deleting", "kind: ConfigMap\nmetadata: {deletionTimestamp: '2023-01-01T00:00:00Z'}\n",
		  KSTATUS_TERMINATING, KSTATUS_CAUSE_NONE, "scheduled for deletion", NULL },
		{ "generation", "kind: Deployment\nmetadata: {generation: 3}\nstatus: {observedGeneration: 2}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Deployment generation is 3, but latest observed generation is 2", NULL },
		{ "reconciling", "kind: AgentTask\nstatus: {conditions: [{type: Reconciling, status: 'True', message: working}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "working", NULL },
		{ "stalled", "kind: AgentTask\nstatus: {conditions: [{type: Stalled, status: 'True', message: stuck}]}\n",
		  KSTATUS_FAILED, KSTATUS_CAUSE_NONE, "stuck", NULL },
		{ "configmap", "kind: ConfigMap\n", KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "current", NULL },
		{ "ns-terminating", "kind: Namespace\nstatus: {phase: Terminating}\n", KSTATUS_TERMINATING,
		  KSTATUS_CAUSE_NONE, "terminating", NULL },
		{ "ns-active", "kind: Namespace\nstatus: {phase: Active}\n", KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "", NULL },
		{ "svc-lb", "kind: Service\nspec: {type: LoadBalancer}\n", KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE,
		  "ClusterIP not set", NULL },
		{ "svc", "kind: Service\nspec: {clusterIP: 10.0.0.1}\n", KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "Service is ready", NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
	assert_int_equal(kstatus_compute(NULL, NOW, &k), 0);
	assert_int_equal(k.status, KSTATUS_NOT_FOUND);
	assert_string_equal(kstatus_status_name(KSTATUS_IN_PROGRESS), "InProgress");
	assert_string_equal(kstatus_cause_name(KSTATUS_CAUSE_VAULT_INIT), "VaultAgentInit");
}

#define DEPLOY(status) "kind: Deployment\nmetadata: {generation: 1}\nspec: {replicas: 2}\nstatus: {observedGeneration: 1, " status "}\n"
#define DEPLOY_OK_CONDS "conditions: [{type: Available, status: 'True'}, {type: Progressing, status: 'True', reason: NewReplicaSetAvailable}]"

static void
test_deployment(void **state UNUSED)
{
	static const struct expect e[] = {
		{ "ok", DEPLOY("replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, " DEPLOY_OK_CONDS),
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "Deployment is available. Replicas: 2", NULL },
		{ "few", DEPLOY("replicas: 1"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Replicas: 1/2", NULL },
		{ "updated", DEPLOY("replicas: 2, updatedReplicas: 1"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Updated: 1/2", NULL },
		{ "extra", DEPLOY("replicas: 3, updatedReplicas: 2"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Pending termination: 1", NULL },
		{ "avail", DEPLOY("replicas: 2, updatedReplicas: 2, availableReplicas: 1"), KSTATUS_IN_PROGRESS,
		  KSTATUS_CAUSE_NONE, "Available: 1/2", NULL },
		{ "ready", DEPLOY("replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 1"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Ready: 1/2", NULL },
		{ "not-avail", DEPLOY("replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Deployment not Available", NULL },
		{ "deadline", DEPLOY("conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded, message: 'ReplicaSet \"x\" has timed out progressing.'}]"),
		  KSTATUS_FAILED, KSTATUS_CAUSE_PROGRESS_DEADLINE, "Progress deadline exceeded: ReplicaSet", NULL },
		{ "rs-not-avail", "kind: Deployment\nspec: {replicas: 1, progressDeadlineSeconds: 600}\n"
				  "status: {replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [{type: Available, status: 'True'}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "ReplicaSet not Available", NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
}

#define STS(spec, status) "kind: StatefulSet\nspec: {replicas: 1" spec "}\nstatus: {" status "}\n"

static void
test_statefulset_daemonset_replicaset(void **state UNUSED)
{
	static const struct expect e[] = {
		{ "sts-ok", STS("", "replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: a, updateRevision: a"),
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "All replicas scheduled as expected. Replicas: 1", NULL },
		{ "sts-few", STS("", "replicas: 0"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Replicas: 0/1", NULL },
		{ "sts-ready", STS("", "replicas: 1, readyReplicas: 0"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Ready: 0/1", NULL },
		{ "sts-extra", STS("", "replicas: 2, readyReplicas: 2"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Pending termination: 1", NULL },
		{ "sts-current", STS("", "replicas: 1, readyReplicas: 1, currentReplicas: 0"), KSTATUS_IN_PROGRESS,
		  KSTATUS_CAUSE_NONE, "current: 0/1", NULL },
		{ "sts-revision", STS("", "replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: a, updateRevision: b"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Waiting for updated revision", NULL },
		{ "sts-ondelete", STS(", updateStrategy: {type: OnDelete}", ""), KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "ondelete", NULL },
		{ "sts-partition", STS(", updateStrategy: {rollingUpdate: {partition: 0}}", "replicas: 1, readyReplicas: 1, updatedReplicas: 0"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "updated: 0/1", NULL },
		{ "sts-partition-ok", STS(", updateStrategy: {rollingUpdate: {partition: 0}}", "replicas: 1, readyReplicas: 1, updatedReplicas: 1"),
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "Partition rollout complete", NULL },
		{ "ds-nogen", "kind: DaemonSet\n", KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "metadata.generation not found", NULL },
		{ "ds-ready", "kind: DaemonSet\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Ready: 0/1", NULL },
		{ "rs-ok", "kind: ReplicaSet\nspec: {replicas: 1}\nstatus: {replicas: 1, fullyLabeledReplicas: 1, availableReplicas: 1, readyReplicas: 1}\n",
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "ReplicaSet is available", NULL },
		{ "rs-failure", "kind: ReplicaSet\nstatus: {conditions: [{type: ReplicaFailure, status: 'True'}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Replica Failure", NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
}

static void
test_job_pvc_crd(void **state UNUSED)
{
	static const struct expect e[] = {
		{ "job-complete", "kind: Job\nstatus: {succeeded: 1, conditions: [{type: Complete, status: 'True'}]}\n",
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "Job Completed. succeeded: 1/1", NULL },
		{ "job-failed", "kind: Job\nstatus: {failed: 3, conditions: [{type: Failed, status: 'True', reason: BackoffLimitExceeded}]}\n",
		  KSTATUS_FAILED, KSTATUS_CAUSE_JOB_FAILED, "Job Failed. failed: 3/1: BackoffLimitExceeded", NULL },
		{ "job-suspended", "kind: Job\nstatus: {conditions: [{type: Suspended, status: 'True'}]}\n",
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "suspended", NULL },
		{ "job-not-started", "kind: Job\n", KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Job not started", NULL },
		{ "job-running", "kind: Job\nstatus: {startTime: '2023-01-01T00:00:00Z', active: 1}\n",
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "Job in progress. success:0, active: 1, failed: 0", NULL },
		{ "pvc-pending", "kind: PersistentVolumeClaim\nstatus: {phase: Pending}\n", KSTATUS_IN_PROGRESS,
		  KSTATUS_CAUSE_NONE, "PVC is not Bound. phase: Pending", NULL },
		{ "pvc-bound", "kind: PersistentVolumeClaim\nstatus: {phase: Bound}\n", KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "PVC is Bound", NULL },
		{ "crd-ok", "kind: CustomResourceDefinition\nstatus: {conditions: [{type: Established, status: 'True'}]}\n",
		  KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "CRD is established", NULL },
		{ "crd-installing", "kind: CustomResourceDefinition\nstatus: {conditions: [{type: Established, status: 'False', reason: Installing}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Install in progress", NULL },
		{ "crd-names", "kind: CustomResourceDefinition\nstatus: {conditions: [{type: NamesAccepted, status: 'False', reason: NameConflict, message: 'plural taken'}]}\n",
		  KSTATUS_FAILED, KSTATUS_CAUSE_NONE, "plural taken", NULL },
		{ "crd-empty", "kind: CustomResourceDefinition\n", KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Install in progress", NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
}

#define POD(status) "kind: Pod\nmetadata: {creationTimestamp: '2023-11-14T22:00:00Z'}\nspec: {initContainers: [{name: vault-agent-init}], containers: [{name: app}]}\nstatus: {" status "}\n"

static void
test_pod(void **state UNUSED)
{
	static const struct expect e[] = {
		{ "ready", POD("phase: Running, conditions: [{type: Ready, status: 'True'}]"), KSTATUS_CURRENT,
		  KSTATUS_CAUSE_NONE, "Pod is Ready", NULL },
		{ "succeeded", POD("phase: Succeeded"), KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "completed successfully", NULL },
		{ "failed-phase", POD("phase: Failed"), KSTATUS_CURRENT, KSTATUS_CAUSE_NONE, "not successfully", NULL },
		{ "crashloop", POD("phase: Running, containerStatuses: [{name: app, state: {waiting: {reason: CrashLoopBackOff}}}]"),
		  KSTATUS_FAILED, KSTATUS_CAUSE_CRASH_LOOP, "Containers in CrashLoop state: app", "app" },
		{ "not-ready", POD("phase: Running"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "running but is not Ready", NULL },
		{ "image-pull", POD("phase: Pending, initContainerStatuses: [{name: vault-agent-init, state: {terminated: {exitCode: 0}}}], "
				    "containerStatuses: [{name: app, state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"x\"'}}}]"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_IMAGE_PULL, "Container app: Back-off pulling image \"x\"", "app" },
		{ "err-image-pull", POD("phase: Pending, containerStatuses: [{name: app, state: {waiting: {reason: ErrImagePull}}}]"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_IMAGE_PULL, "Container app: ErrImagePull", "app" },
		{ "config-error", POD("phase: Pending, containerStatuses: [{name: app, state: {waiting: {reason: CreateContainerConfigError, message: 'secret \"s\" not found'}}}]"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_CONFIG_ERROR, "secret \"s\" not found", "app" },
		{ "vault-init", POD("phase: Pending, initContainerStatuses: [{name: vault-agent-init, state: {running: {startedAt: x}}}], "
				    "containerStatuses: [{name: app, state: {waiting: {reason: PodInitializing}}}]"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_VAULT_INIT, "Init:0/1: waiting on init container vault-agent-init", "vault-agent-init" },
		{ "other-init", "kind: Pod\nspec: {initContainers: [{name: a}, {name: b}]}\nstatus: {phase: Pending, initContainerStatuses: "
				"[{name: a, state: {terminated: {exitCode: 0}}}, {name: b, state: {running: {}}}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_INIT_WAITING, "Init:1/2: waiting on init container b", "b" },
		{ "init-crash", POD("phase: Pending, initContainerStatuses: [{name: vault-agent-init, state: {waiting: {reason: CrashLoopBackOff}}}]"),
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_CRASH_LOOP, "vault-agent-init is in CrashLoopBackOff", "vault-agent-init" },
		{ "unschedulable", POD("phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable, message: '0/1 nodes are available: 1 Insufficient cpu.'}]"),
		  KSTATUS_FAILED, KSTATUS_CAUSE_UNSCHEDULABLE, "Pod could not be scheduled: 0/1 nodes are available", NULL },
		{ "unschedulable-young", "kind: Pod\nmetadata: {creationTimestamp: '2023-11-14T22:13:10Z'}\nstatus: {phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable}]}\n",
		  KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_UNSCHEDULABLE, "Pod has not been scheduled", NULL },
		{ "pending", POD("phase: Pending"), KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Pending phase", NULL },
		{ "no-phase", "kind: Pod\n", KSTATUS_IN_PROGRESS, KSTATUS_CAUSE_NONE, "Pod phase not available", NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_deployment),
		cmocka_unit_test(test_statefulset_daemonset_replicaset),
		cmocka_unit_test(test_job_pvc_crd),
		cmocka_unit_test(test_pod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
