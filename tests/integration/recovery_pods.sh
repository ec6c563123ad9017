#!/usr/bin/env bash
# After an unseal, the pods the sealed Vault held (waiting in their Vault Agent
# init container) are followed until they run: one journal line per pod, one
# summary, the unseal answer and the vault-sealed check name them; a pod still
# held past vault.pod_recovery_deadline gets one warning saying what to do, and
# agentd deletes nothing.  Then a new Vault pod that does not answer yet is
# "starting", not a failure, until its grace ends.
. "$(dirname "$0")/lib.sh"

SIMCTL=$ROOT/tests/sim/simctl
HELP=$ROOT/tests/integration/recovery_sim.py

simctl() { "$PY" "$SIMCTL" --state "$T/sim" "$@" >/dev/null; }
helper() { "$PY" "$HELP" "$1" "$T/sim" "${@:2}"; }
status_json() { ctl --json status 2>/dev/null; }
state() { status_json | json_field 'd["state"]'; }
state_is() { [ "$(state)" = "$1" ]; }
vault_check() { status_json | json_field '[c for c in d["checks"] if c["name"] == "vault-sealed"][0]'; }
vault_msg() { status_json | json_field '[c["message"] for c in d["checks"] if c["name"] == "vault-sealed"][0]'; }
vault_msg_has() { vault_msg | grep -qF -- "$1"; }
vault_msg_is() { [ "$(vault_msg)" = "$1" ]; }
phase_is() { [ "$(helper pod-phase ai-agents "$1")" = "$2" ]; }
count() { grep -cE -- "$1" "$T/agentd.log"; }
PLAIN="every Vault pod is initialised and unsealed"

unseal() {
	sed -n 1p "$T/keys" | ctl unseal --stdin >"$T/out" 2>"$T/err"
	RC=$?
}

# ---- a Vault with Kubernetes auth, sealed by a pod restart -------------------
if ! sim_start; then
	fail sim-start "k3sim did not start"
	t_done
fi
if ! helper vault-pod >"$T/help.log" 2>&1 || ! helper init 1 1 "$T/keys" >>"$T/help.log" 2>&1 ||
	! helper agent-auth "$T/keys" >>"$T/help.log" 2>&1; then
	fail vault-setup "$(cat "$T/help.log")"
	t_done
fi
simctl restart-pod vault vault-0
for p in agent-a agent-b; do helper agent-pod ai-agents "$p" agents >>"$T/help.log" 2>&1; done
helper agent-pod ai-agents plain - >>"$T/help.log" 2>&1
if wait_for 10 phase_is agent-a Pending && wait_for 10 phase_is agent-b Pending && wait_for 10 phase_is plain Running; then
	pass held-by-seal
else fail held-by-seal "agent-a $(helper pod-phase ai-agents agent-a), plain $(helper pod-phase ai-agents plain): $(cat "$T/help.log")"; fi

ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "values: $ROOT/config/values.yaml" \
	"api: {backoff_initial: 200ms, backoff_max: 2s, request_timeout: 3s}" "verify: {interval: 2s}" \
	"ask_password: {enabled: false}" "vault: {pod_recovery_deadline: 4s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
if wait_for 20 state_is vault-sealed; then pass sealed; else fail sealed "state $(state)"; fi

# ---- the unseal: both held pods run again, the plain one is no concern -------
sleep 1
unseal
# The answer names the held pods not running yet when it is sent (the pods
# may win that race): each with its init container's state, the plain pod never.
held_listed() { grep -cE '^  ai-agents/agent-[ab]: vault-agent-init running \(its Vault Agent retries the login\)$' "$T/out"; }
if [ "$RC" -eq 0 ] && grep -qx 'Vault unsealed' "$T/out" && ! grep -q plain "$T/out" &&
	{ [ "$(held_listed)" -eq 0 ] || grep -qx "$(held_listed) pods\? held by the seal not running yet; agentd follows them (agentctl status):" "$T/out"; } &&
	[ "$(wc -l <"$T/out")" -eq $(($(held_listed) > 0 ? $(held_listed) + 2 : 1)) ]; then
	pass unseal-names-held-pods
else fail unseal-names-held-pods "exit $RC: $(cat "$T/out" "$T/err")"; fi
if wait_for 10 phase_is agent-a Running && wait_for 10 phase_is agent-b Running &&
	wait_for 5 log_has 'pod ai-agents/agent-a recovered after unseal: running [0-9.]+ s after Vault was unsealed \[' &&
	log_has 'pod ai-agents/agent-b recovered after unseal: running [0-9.]+ s after Vault was unsealed \['; then
	pass one-line-per-pod
else fail one-line-per-pod "$(grep -E 'ai-agents|recovered' "$T/agentd.log" | tail -5)"; fi
if wait_for 5 log_has 'notice: 2 pods recovered after unseal in [0-9.]+ s$' && [ "$(count 'pods? recovered after unseal in')" -eq 1 ]; then
	pass summary
else fail summary "$(grep -E 'recovered' "$T/agentd.log" | tail -3)"; fi
if log_has 'AGENTD_POD=ai-agents/agent-a' && ! log_has 'ai-agents/plain'; then pass only-held-pods
else fail only-held-pods "$(grep -E 'ai-agents' "$T/agentd.log" | tail -5)"; fi
if wait_for 5 vault_msg_is "$PLAIN"; then pass check-settles; else fail check-settles "$(vault_check)"; fi

# ---- sealed again: one pod recovers, one never gets its secrets ---------------
simctl restart-pod vault vault-0
wait_for 10 state_is vault-sealed || fail sealed-again "state $(state)"
helper agent-pod ai-agents agent-c agents >>"$T/help.log" 2>&1
helper agent-pod ai-agents agent-stuck no-such-role >>"$T/help.log" 2>&1
wait_for 10 phase_is agent-c Pending && wait_for 10 phase_is agent-stuck Pending
sleep 1
unseal
if [ "$RC" -eq 0 ] && grep -qE '^[12] pods? held by the seal not running yet' "$T/out" &&
	grep -qx '  ai-agents/agent-stuck: vault-agent-init running (its Vault Agent retries the login)' "$T/out" &&
	! grep -q 'agent-a' "$T/out"; then
	pass second-unseal-names-held-pods
else fail second-unseal-names-held-pods "exit $RC: $(cat "$T/out" "$T/err")"; fi
if wait_for 3 vault_msg_is "$PLAIN; 1 pod held by the seal not running yet: ai-agents/agent-stuck"; then
	pass status-names-held-pod
else fail status-names-held-pod "$(vault_check)"; fi
if wait_for 5 log_has 'pod ai-agents/agent-c recovered after unseal' && [ "$(count 'pod ai-agents/agent-a recovered')" -eq 1 ]; then
	pass second-recovery-logged
else fail second-recovery-logged "$(grep -E 'recovered' "$T/agentd.log" | tail -4)"; fi
stuck_re='warning: pod ai-agents/agent-stuck still not running 4s after Vault was unsealed: vault-agent-init running \(its Vault Agent retries the login\)\. Look at why: kubectl -n ai-agents logs agent-stuck -c vault-agent-init; if its agent is only waiting to retry, delete the pod so its controller recreates it: kubectl -n ai-agents delete pod agent-stuck \[AGENTD_POD=ai-agents/agent-stuck\]$'
if wait_for 8 log_has "$stuck_re"; then pass stuck-warning; else fail stuck-warning "$(grep -E 'agent-stuck' "$T/agentd.log" | tail -3)"; fi
if log_has 'notice: 1 pod recovered after unseal in [0-9.]+ s; 1 still not running \(see the warnings\)$'; then
	pass stuck-summary
else fail stuck-summary "$(grep -E 'recovered after unseal in' "$T/agentd.log" | tail -2)"; fi
if wait_for 3 vault_msg_has "1 stuck past vault.pod_recovery_deadline" && vault_msg_has "ai-agents/agent-stuck" &&
	[ "$(status_json | json_field '[c["ok"] for c in d["checks"] if c["name"] == "vault-sealed"][0]')" = True ]; then
	pass status-says-stuck
else fail status-says-stuck "$(vault_check)"; fi
sleep 3
if [ "$(count 'still not running 4s after')" -eq 1 ] && phase_is agent-stuck Pending; then pass stuck-warned-once-not-deleted
else fail stuck-warned-once-not-deleted "$(count 'still not running') warnings, phase $(helper pod-phase ai-agents agent-stuck)"; fi

# ---- the operator deletes the stuck pod: following ends ----------------------
helper delete-pod ai-agents agent-stuck
if wait_for 5 log_has 'pod ai-agents/agent-stuck went away before it ran again' && wait_for 5 vault_msg_is "$PLAIN"; then
	pass deleted-stuck-pod
else fail deleted-stuck-pod "$(vault_check): $(grep -E 'agent-stuck' "$T/agentd.log" | tail -2)"; fi

# ---- a new Vault pod that does not answer yet is starting, then a failure ----
# Its init container never completes, so the Vault container never runs and
# the pod proxy answers 503 "connection refused".
if "$PY" -c '
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import recovery_sim as r
call = r.client(sys.argv[2])
cfg = {"auto_auth": {"method": {"type": "kubernetes", "mount_path": "auth/kubernetes", "config": {"role": "none"}}},
       "vault": {"address": "http://vault.vault.svc:8200"}, "template": []}
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vault-1", "namespace": "vault", "labels": r.LABELS},
       "spec": {"initContainers": [{"name": "vault-agent-init", "image": "hashicorp/vault:1.17.2",
                                    "env": [{"name": "VAULT_CONFIG", "value": base64.b64encode(json.dumps(cfg).encode()).decode()}]}],
                "containers": [{"name": "vault", "image": "hashicorp/vault:1.17.2", "ports": [{"containerPort": 8200}]}]}}
s, b = call("POST", "/api/v1/namespaces/vault/pods", pod)
sys.exit(0 if s == 201 else "HTTP %d %s" % (s, b))
' "$ROOT/tests/integration" "$T/sim" >>"$T/help.log" 2>&1; then :; else fail starting-setup "$(cat "$T/help.log")"; fi
t_new=$(date +%s)
if wait_for 5 vault_msg_has "vault-1 is starting (no answer from Vault yet)" &&
	[ "$(vault_check | grep -o "'severity': '[a-z]*'")" = "'severity': 'info'" ]; then
	pass new-pod-starting
else fail new-pod-starting "$(vault_check)"; fi
sleep 3
if ! log_has 'check vault-sealed failed: .*vault-1: seal status unknown' && ! state_is vault-sealed; then
	pass starting-is-no-failure
else fail starting-is-no-failure "state $(state): $(grep 'vault-1' "$T/agentd.log" | tail -2)"; fi
if wait_for 40 log_has 'error: check vault-sealed failed: vault-1: seal status unknown \(.*connection refused'; then
	pass starting-grace-ends
	echo "# vault-1 reported $(($(date +%s) - t_new)) s after it was created"
else fail starting-grace-ends "$(vault_check)"; fi

agentd_stop
sim_stop
t_done
