#!/usr/bin/env bash
# `agentctl run TASK` against k3sim: a Job made from the CronJob exactly as
# `kubectl create job --from=cronjob/TASK` makes it (template labels and annotations,
# instantiate: manual, a non-controller ownerReference); waited for; its log read;
# a secret file the template asks for that never arrived, and an image that fails,
# are reported with their reason and exit 1.
. "$(dirname "$0")/lib.sh"

# cronjob NAME IMAGE [SECRET-FILE]: a suspended demo-agent CronJob in ai-agents
cronjob() {
	local ann='{}'
	[ $# -ge 3 ] && ann="{\"vault.hashicorp.com/agent-inject-secret-$3\": \"secret/data/agents/$1\"}"
	kapi POST /apis/batch/v1/namespaces/ai-agents/cronjobs /dev/stdin >/dev/null <<JSON
{"apiVersion": "batch/v1", "kind": "CronJob",
 "metadata": {"name": "$1", "namespace": "ai-agents"},
 "spec": {"schedule": "0 0 1 1 *", "suspend": true,
  "jobTemplate": {"metadata": {"labels": {"app.kubernetes.io/name": "$1"},
                               "annotations": {"example.org/from-template": "yes"}},
   "spec": {"backoffLimit": 0, "template": {
    "metadata": {"labels": {"app.kubernetes.io/name": "$1"}, "annotations": $ann},
    "spec": {"restartPolicy": "Never", "containers": [{"name": "$1", "image": "$2",
             "env": [{"name": "AGENTD_DEMO_TASK", "value": "$1"}]}]}}}}}}
JSON
}

sim_start 0 --speed 5 || { fail sim-start "k3sim did not start: $(tail -3 "$T/sim.log")"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "api: {backoff_initial: 200ms, backoff_max: 1s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
kapi POST /api/v1/namespaces /dev/stdin <<<'{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ai-agents"}}' >/dev/null
cronjob journalist example.org/agent:1
cronjob broken example.org/agent-broken:1
cronjob nosecrets example.org/agent:1 nosecrets.env
api_up() { ctl --json status | json_field 'd["api"]["ok"]' | grep -q True; }
wait_for 20 api_up || fail api-up "the API probe never succeeded"

expect_rc 2 run-needs-task ctl run
expect_rc 2 run-rejects-bad-name ctl run 'Bad_Name'
expect_rc 1 run-unknown-cronjob ctl run no-such-task --timeout 5
check run-unknown-cronjob-named grep -q "cronjob ai-agents/no-such-task" "$T/out"

# 1. a good run: exit 0, the job as kubectl would make it
expect_rc 0 run-journalist ctl run journalist --timeout 60
check run-journalist-reported grep -q "run journalist: ok (job journalist-manual-" "$T/out"
job=$(sed -n 's/.*(job \(journalist-manual-[0-9a-f]*\),.*/\1/p' "$T/out")
kapi GET "/apis/batch/v1/namespaces/ai-agents/jobs/$job" >"$T/job.json" 2>&1
cj_uid=$(kapi GET /apis/batch/v1/namespaces/ai-agents/cronjobs/journalist | json_field 'd["metadata"]["uid"]')
if "$PY" - "$T/job.json" "$cj_uid" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1])); m = j["metadata"]
assert m["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual", m
assert m["annotations"]["example.org/from-template"] == "yes", m
assert m["labels"]["app.kubernetes.io/name"] == "journalist", m
refs = m["ownerReferences"]
assert len(refs) == 1 and refs[0]["kind"] == "CronJob" and refs[0]["name"] == "journalist", refs
assert refs[0]["uid"] == sys.argv[2], refs
assert not refs[0].get("controller") and not refs[0].get("blockOwnerDeletion"), refs
assert j["spec"]["backoffLimit"] == 0
assert any(c["type"] == "Complete" and c["status"] == "True" for c in j["status"]["conditions"])
PYEOF
then pass run-job-like-kubectl-create-job-from; else fail run-job-like-kubectl-create-job-from "$(head -c 400 "$T/job.json")"; fi
cj_last=$(kapi GET /apis/batch/v1/namespaces/ai-agents/cronjobs/journalist | json_field 'd.get("status", {}).get("lastScheduleTime")')
check run-does-not-move-last-schedule test "$cj_last" = None

# 2. --json: one object naming task, job, ok
expect_rc 0 run-json ctl --json run journalist --timeout 60
check run-json-object json_field '"ok" if d["ok"] and d["task"] == "journalist" and d["reason"] == "" else 1/0' <"$T/out"

# 3. a failing image: the job and its reason are named
simctl config 'fail_images=["example.org/agent-broken"]'
expect_rc 1 run-failing-image ctl run broken --timeout 60
if grep -q "run broken: FAILED: job ai-agents/broken-manual-[0-9a-f]* failed: BackoffLimitExceeded" "$T/out" &&
	grep -q "container broken exited 1" "$T/out"; then pass run-failing-image-reason
else fail run-failing-image-reason "$(cat "$T/out")"; fi

# 4. a secret file the template asks for never arrived (no injector here)
expect_rc 1 run-missing-secret ctl run nosecrets --timeout 60
check run-missing-secret-named grep -q "secret file nosecrets.env did not arrive" "$T/out"
check run-missing-secret-listed grep -q "secret file nosecrets.env: MISSING" "$T/out"

t_done
