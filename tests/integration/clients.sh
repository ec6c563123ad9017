#!/usr/bin/env bash
# The API probe and discovery against k3sim: agentd leaves wait-api when the API
# answers, falls back with the reason when it goes away (refused, 503, 401, TLS,
# an unsupported kubeconfig), and comes back when the simulator reboots.
. "$(dirname "$0")/lib.sh"

api_msg() { ctl --json status | json_field '[c["message"] for c in d["checks"] if c["name"] == "api"][0]'; }
state_not() { [ "$(state)" != "$1" ]; }
api_says() { api_msg | grep -Eq -- "$1"; }

# agentd --render: the tree's own stack renders; a broken phase is named and rejected
if "$AGENTD" --render -c "$ROOT/config/agentd.yaml" >"$T/render.out" 2>"$T/render.err" &&
	"$PY" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines and all("object" in l and l["phase"] for l in lines), "bad line"
phases = [l["phase"] for l in lines]
assert phases[0] == "namespaces", phases[0]
assert phases == sorted(phases, key=phases.index), "phases interleaved"
' "$T/render.out"; then pass render-tree-stack
else fail render-tree-stack "$(tail -3 "$T/render.err")"; fi
mkdir -p "$T/bad/manifests"
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n' >"$T/bad/manifests/00-ns.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ok}\ndata:\n  a: ${nope.missing}\n' \
	>"$T/bad/manifests/10-broken.yaml"
echo 'x: 1' >"$T/bad/values.yaml"
printf 'manifests: manifests\nvalues: values.yaml\nkubeconfig: /nonexistent\n' >"$T/bad/agentd.yaml"
expect_rc 1 render-rejects-broken-phase "$AGENTD" --render -c "$T/bad/agentd.yaml"
if grep -q '"phase":"ns","object"' "$T/out" && grep -q "10-broken.yaml:5:6: undefined value \${nope.missing}" "$T/err"; then
	pass render-names-file-line
else fail render-names-file-line "$(cat "$T/err")"; fi

if ! sim_start; then
	fail sim-start "k3sim did not start"
	t_done
fi
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "api: {backoff_initial: 200ms, backoff_max: 1s, request_timeout: 3s}" \
	"verify: {interval: 1s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }

if wait_for 15 state_not wait-api; then pass leaves-wait-api; else fail leaves-wait-api "state still $(state): $(api_msg)"; fi
if api_says "^API ready at $SIM_URL"; then pass api-check-ok; else fail api-check-ok "api: $(api_msg)"; fi
# a fresh simulator has no stack: discovery starts a bootstrap, which stops at once
# here (this config names no manifests directory) and says why
if log_has "wait-api -> bootstrap: bootstrapping: stack absent: namespace vault does not exist"; then
	pass discovers-absent-stack
else fail discovers-absent-stack "state $(state)"; fi
if wait_for 10 state_is degraded && log_has "bootstrap stopped: manifests: .*cannot"; then pass bootstrap-failure-named
else fail bootstrap-failure-named "state $(state)"; fi

# the API answering 503 (simulated etcd trouble): wait-api with the HTTP status
simctl fail 4
if wait_for 10 api_says "HTTP 503 from /readyz"; then pass reason-503; else fail reason-503 "api: $(api_msg)"; fi
check state-wait-api-on-503 state_is wait-api
if wait_for 15 state_not wait-api; then pass recovers-after-503; else fail recovers-after-503 "$(api_msg)"; fi

# the API gone: connection refused, then back after a "reboot" on the same port
port=${SIM_URL##*:}
sim_stop
if wait_for 10 api_says "connection refused"; then pass reason-refused; else fail reason-refused "api: $(api_msg)"; fi
check state-wait-api-on-refused state_is wait-api
sim_start "$port" || fail sim-restart "k3sim did not restart"
if wait_for 15 state_not wait-api; then pass recovers-after-reboot; else fail recovers-after-reboot "$(api_msg)"; fi

# credentials and TLS problems, each named (the kubeconfig is re-read at every probe)
"$PY" - "$T/sim/kubeconfig" "$T/kc-badtoken" "$T/kc-noca" "$T/kc-exec" <<'EOF'
import sys, yaml
src, bad, noca, ex = sys.argv[1:]
kc = yaml.safe_load(open(src))
def write(path, k):
    with open(path, "w") as f:
        yaml.safe_dump(k, f)
import copy
k = copy.deepcopy(kc)
k["users"][0]["user"] = {"token": "not-the-token"}
write(bad, k)
k = copy.deepcopy(kc)
k["clusters"][0]["cluster"].pop("certificate-authority-data")
write(noca, k)
k = copy.deepcopy(kc)
k["users"][0]["user"] = {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}
write(ex, k)
EOF
ln -sfn "$T/kc-badtoken" "$T/kubeconfig"
if wait_for 10 api_says "401 Unauthorized"; then pass reason-401; else fail reason-401 "api: $(api_msg)"; fi
if ! ctl --json status | grep -q "not-the-token" && ! grep -q "not-the-token" "$T/agentd.log"; then
	pass token-never-shown
else fail token-never-shown "the bearer token appeared in status or the log"; fi
ln -sfn "$T/kc-noca" "$T/kubeconfig"
if wait_for 10 api_says "TLS error"; then pass reason-tls; else fail reason-tls "api: $(api_msg)"; fi
ln -sfn "$T/kc-exec" "$T/kubeconfig"
if wait_for 10 api_says "exec credential plugins are unsupported"; then pass reason-exec-unsupported
else fail reason-exec-unsupported "api: $(api_msg)"; fi
ln -sfn "$T/sim/kubeconfig" "$T/kubeconfig"
if wait_for 15 state_not wait-api; then pass recovers-with-good-kubeconfig; else fail recovers-with-good-kubeconfig "$(api_msg)"; fi

expect_rc 0 agentd-stops-cleanly agentd_stop
t_done
