#!/usr/bin/env bash
# The live checks against the shipped stack in k3sim: each check is broken the way
# an operator or an accident would, must fail with the right cause within 5 s of
# the event, and must recover once fixed.  Also: `agentctl verify` exit codes, the
# `status --json` shape, the metrics text, and no repeated journal entries while
# nothing changes.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/verify.lib"

# The journalist fires every minute so that a missed schedule shows within the test.
verify_up 1 '* * * * *' || t_done
# discovery may call the stack healthy before the first lists are in: verify waits for them
if wait_for 30 ctl verify && state_is healthy; then pass healthy
else fail healthy "state $(state): $(failing)"; fi
expect_rc 0 verify-exit-0-when-healthy ctl verify

# status --json: the DESIGN.md shape, every check listed
if ctl --json status | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert set(d) >= {"state", "since", "api", "vault", "checks"}, sorted(d)
names = {c["name"] for c in d["checks"]}
want = {"api", "vault-sealed", "vault-audit", "pss-labels", "pss-pods", "pods", "cron-journalist", "secrets",
        "quota", "netpol", "images", "webhook"}
assert want <= names, want - names
assert "cron-publisher" not in names, "a suspended CronJob has no check"
for c in d["checks"]:
    assert set(c) == {"name", "ok", "severity", "message", "since"}, c
    assert isinstance(c["ok"], bool) and c["severity"] in ("info", "warning", "critical"), c
    assert c["message"] and c["since"].endswith("Z"), c
' 2>"$T/err"; then pass status-json-shape; else fail status-json-shape "$(tail -2 "$T/err")"; fi

# metrics: every line a valid exposition line, every check present
metrics_ok() {
	"$PY" -c '
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n")
sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\.)*\",?)*\})? -?[0-9.eE+-]+$")
for line in text.splitlines():
    assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", line) or sample.match(line), line
assert re.search(r"^agentd_check_ok\{check=\"cron-journalist\",severity=\"critical\"\} 1$", text, re.M), "cron check"
assert re.search(r"^agentd_state\{state=\"healthy\"\} 1$", text, re.M), "state"
' "$1"
}
ctl metrics >"$T/metrics.txt"
if metrics_ok "$T/metrics.txt" 2>"$T/err"; then pass metrics-parse; else fail metrics-parse "$(tail -2 "$T/err")"; fi
if metrics_ok "$T/agentd.prom" 2>"$T/err"; then pass metrics-textfile; else fail metrics-textfile "$(tail -2 "$T/err")"; fi

# idle: nothing changes, nothing is logged (a cron run may come and go without a word)
sleep 1
before=$(check_entries)
sleep 15
after=$(check_entries)
if [ "$before" -eq "$after" ]; then pass idle-no-repeats
else fail idle-no-repeats "$((after - before)) check entries while idle: $(grep 'check ' "$T/agentd.log" | tail -3)"; fi

# pss-labels: a label removed, then put back
api PATCH /api/v1/namespaces/ai-agents '{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":null}}}'
breaks pss-labels 5 'namespace ai-agents lacks label pod-security.kubernetes.io/enforce=restricted'
expect_rc 1 verify-exit-1-when-failing ctl verify
grep -q 'FAIL pss-labels' "$T/out" && pass verify-names-the-check || fail verify-names-the-check "$(cat "$T/out")"
if wait_for 5 state_is degraded; then pass degraded; else fail degraded "state $(state)"; fi

# pss-pods: a pod admitted while enforce was off
POD='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"rootish","namespace":"ai-agents"},
 "spec":{"containers":[{"name":"c","image":"busybox:1.37.0@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0",
  "resources":{"requests":{"cpu":"10m","memory":"16Mi","ephemeral-storage":"8Mi"},"limits":{"cpu":"10m","memory":"16Mi","ephemeral-storage":"8Mi"}}}]}}'
api POST /api/v1/namespaces/ai-agents/pods "$POD"
breaks pss-pods 5 'Pod ai-agents/rootish: violates PodSecurity "restricted:v1.32"'
api PATCH /api/v1/namespaces/ai-agents '{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}'
recovers pss-labels 5
api DELETE /api/v1/namespaces/ai-agents/pods/rootish
recovers pss-pods 5

# secrets and images: a pod reading a Secret, by tag
SPOD='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"leaky","namespace":"ai-agents"},
 "spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":10001,"seccompProfile":{"type":"RuntimeDefault"}},
  "containers":[{"name":"c","image":"busybox:1.37.0",
  "securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true},
  "env":[{"name":"TOKEN","valueFrom":{"secretKeyRef":{"name":"api-token","key":"token"}}}],
  "resources":{"requests":{"cpu":"10m","memory":"16Mi","ephemeral-storage":"8Mi"},"limits":{"cpu":"10m","memory":"16Mi","ephemeral-storage":"8Mi"}}}]}}'
api POST /api/v1/namespaces/ai-agents/pods "$SPOD"
breaks secrets 5 'Pod ai-agents/leaky: container c: env TOKEN reads Secret api-token via secretKeyRef'
breaks images 5 'image busybox:1.37.0 is not pinned by digest'
api DELETE /api/v1/namespaces/ai-agents/pods/leaky
recovers secrets 5
recovers images 5

# quota: deleted, then re-applied
api DELETE /api/v1/namespaces/ai-agents/resourcequotas/ai-agents
breaks quota 5 'namespace ai-agents has no ResourceQuota'
"$PY" "$STACK" "$T/sim" apply 40-agents-policy.yaml
recovers quota 5

# netpol: the default deny deleted, then re-applied
api DELETE /apis/networking.k8s.io/v1/namespaces/ai-agents/networkpolicies/default-deny
breaks netpol 5 'namespace ai-agents has no default-deny NetworkPolicy'
"$PY" "$STACK" "$T/sim" apply 40-agents-policy.yaml
recovers netpol 5

# webhook: failurePolicy relaxed to Ignore, then put back
WH=/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/vault-agent-injector-cfg
"$PY" "$STACK" "$T/sim" api GET "$WH" >"$T/wh.json"
"$PY" -c 'import json,sys; w=json.load(open(sys.argv[1])); w["webhooks"][0]["failurePolicy"]="Ignore"; print(json.dumps(w))' \
	"$T/wh.json" >"$T/wh-ignore.json"
api PUT "$WH" "$(cat "$T/wh-ignore.json")"
breaks webhook 5 'failurePolicy Ignore, the stack ships Fail'
"$PY" "$STACK" "$T/sim" apply 25-vault-webhook.yaml
recovers webhook 5

# pods: the controller's image crashes (world_config fail_images)
CTRL_IMAGE=$("$PY" -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["images"]["controller"])' "$ROOT/config/values.yaml")
simctl config "fail_images=[\"$CTRL_IMAGE\"]"
ctrl_pod() { "$PY" "$STACK" "$T/sim" api GET "/api/v1/namespaces/ai-agents/pods" | json_field \
	'[p["metadata"]["name"] for p in d["items"] if p["metadata"]["name"].startswith("agent-controller-")][0]'; }
api DELETE "/api/v1/namespaces/ai-agents/pods/$(ctrl_pod)"
breaks pods 15 'pod ai-agents/agent-controller-.*: container controller is crash-looping [(]CrashLoopBackOff[)]'
simctl config 'fail_images=[]'
api DELETE "/api/v1/namespaces/ai-agents/pods/$(ctrl_pod)"
recovers pods 30

# cron: the CronJob controller stopped across a schedule, then resumed
simctl pause cronjob
breaks cron-journalist 75 'CronJob ai-agents/journalist (did not fire at|never fired).* \(fix: check that the CronJob controller runs'
simctl resume cronjob
recovers cron-journalist 30

if wait_for 30 state_is healthy; then pass healthy-again
else fail healthy-again "state $(state): $(failing)"; fi
t_done
