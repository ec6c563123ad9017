/* rtreport — the reset test's report (pure: no I/O, no logging).
 *
 * The three success metrics of the seeds' PRD, judged from what the reset test
 * saw (resettest.h):
 *   reset-and-runs     reset and bootstrap work and both runs (journalist,
 *                      publisher) succeed;
 *   no-plain-secrets   zero plain Kubernetes Secrets for agent workloads: the
 *                      `secrets` check passes and every secret file the runs
 *                      asked the injector for arrived from Vault;
 *   pss-restricted     ai-agents enforces Pod Security `restricted` (checks
 *                      pss-labels and pss-pods pass) and every run got its pod
 *                      admitted under it.
 * A metric whose evidence is missing (a phase never reached, a check absent)
 * fails and says so: nothing passes by default. */
#ifndef AGENTD_RTREPORT_H
#define AGENTD_RTREPORT_H

#include <cjson/cJSON.h>

/* The tasks the proof runs, in order. */
#define RTREPORT_TASKS { "journalist", "publisher" }
#define RTREPORT_NTASKS 2

/* PHASES: [{"name", "ok": BOOL, "seconds", "detail"}] in the order run;
 * CHECKS: the status registry as status_checks_json() gives it (may be NULL);
 * RUNS: the proof results (proof.h), one per task reached (may be NULL);
 * TEARDOWN: the teardown's report (teardown.h) or NULL.  All borrowed.
 * Returns {"ok", "duration" (the phases' sum; a caller that ran some at
 * once puts its wall time there), "phases", "metrics": [{"name", "description",
 * "ok", "detail"}], "runs", "checks", "teardown"}: ok only if every phase
 * and every metric is; NULL on ENOMEM. */
cJSON *rtreport_build(const cJSON *phases, const cJSON *checks, const cJSON *runs, const cJSON *teardown);

/* The report as the table `agentctl bootstrap --reset-test` prints: a malloc'd
 * string, NULL on ENOMEM. */
char *rtreport_table(const cJSON *report);

#endif
