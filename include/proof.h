/* proof — start a Job from a CronJob now, exactly as
 * `kubectl create job --from=cronjob/X` does, wait until it is Complete or Failed,
 * read its pod's log and check that every secret file the template asks the Vault
 * injector for arrived (file and key names only: the demo agent logs names, never
 * values).  Used by `agentctl run TASK` and by the reset test's proof phase.
 * Asynchronous, on the loop; it never logs (its caller does). */
#ifndef AGENTD_PROOF_H
#define AGENTD_PROOF_H

#include <stdbool.h>
#include <cjson/cJSON.h>

struct ev_loop;
struct kube;
struct proof;

/* The namespace of the agent CronJobs (DESIGN.md §2, a fixed name). */
#define PROOF_NAMESPACE "ai-agents"

/* Pure: the Job that `kubectl create job NAME --from=cronjob/X` creates from
 * CRONJOB (borrowed): the jobTemplate's spec, its labels, its annotations plus
 * cronjob.kubernetes.io/instantiate: manual, and an ownerReference to the CronJob
 * without controller/blockOwnerDeletion.  -EINVAL (and *why) when the CronJob lacks
 * metadata.name, metadata.uid or spec.jobTemplate.spec.  *out: cJSON_Delete. */
int proof_job_from_cronjob(const cJSON *cronjob, const char *job_name, cJSON **out, const char **why);

/* Pure: the secret files the pod template asks the injector for
 * (vault.hashicorp.com/agent-inject-secret-FILE annotations), as a JSON array of
 * strings, sorted; an empty array when none.  NULL on ENOMEM. */
cJSON *proof_expected_files(const cJSON *cronjob);

/* Pure: checks a demo agent's LOG for TASK against EXPECTED (array of file names).
 * Returns an object {"files": [{"file": F, "arrived": BOOL, "keys": [K...]}],
 * "result_ok": BOOL} and sets *missing to the first expected file that did not
 * arrive or arrived without keys (NULL when all did; borrowed from EXPECTED).
 * NULL on ENOMEM. */
cJSON *proof_check_log(const char *task, const char *log, const cJSON *expected, const char **missing);

/* The outcome, handed to done (borrowed for the callback):
 * {"task", "job", "ok": BOOL, "reason": STR ("" when ok), "seconds": NUM,
 *  "pod": the Job's pod that was read, or null when the Job never got one,
 *  "files": [{"file", "arrived", "keys"}]} */
struct proof_ops {
	void (*progress)(void *arg, const char *line);
	void (*done)(void *arg, const cJSON *result);
};

/* Starts a run of CronJob TASK in PROOF_NAMESPACE; gives up after DEADLINE_S
 * seconds with a failed result.  K is borrowed for the run.  -EINVAL for a task
 * name that is not a DNS label. */
int proof_start(struct ev_loop *loop, struct kube *k, const char *task, double deadline_s,
		const struct proof_ops *ops, void *arg, struct proof **out);

/* Stops a run without calling done; not from inside its own callbacks.  The Job,
 * if already created, is left to run (and to its CronJob's history limits). */
void proof_cancel(struct proof *p);

#endif
