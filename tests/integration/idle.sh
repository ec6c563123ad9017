#!/usr/bin/env bash
# Idle traffic of a healthy stack (issue 10: idle near zero requests per minute,
# watches, not polling).  agentd bootstraps the stack in k3sim by itself; over an
# idle window of 10 verify.intervals k3sim's request log (K3SIM_DEBUG) is counted
# per source: only the API probe's /readyz comes every interval; discovery's look,
# /api and the seal status follow watches (a safety net every 20 intervals), the
# audit read comes every 10th interval.  Then what the watches must catch faster
# than any of those timers: a seal without a restart (its pod turns NotReady),
# twice, the stack's namespace deleted (bootstrapped again, healthy again), and new
# values with a reload (applied again).
. "$(dirname "$0")/lib.sh"

INTERVAL=3
WINDOW=30
PROXY=/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1

export K3SIM_DEBUG=1
sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"vault: {init: {shares: 1, threshold: 1}}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: ${INTERVAL}s, grace: 5s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
verified() { ctl --json status | grep -q '"name":"netpol"'; }
if wait_for 180 state_is healthy && wait_for 30 verified; then pass bootstrapped-healthy
else fail bootstrapped-healthy "state $(state): $(tail -3 "$T/agentd.log")"; t_done; fi

# ---- the idle window ---------------------------------------------------------------
sleep "$INTERVAL"
n0=$(wc -l <"$T/sim.log")
sleep "$WINDOW"
n1=$(wc -l <"$T/sim.log")
sed -n "$((n0 + 1)),${n1}p" "$T/sim.log" | grep '^k3sim: .* "[A-Z]* /' >"$T/window"
count() { grep -Ec -- "$1" "$T/window"; }
readyz=$(count '"GET /readyz ')
api=$(count '"GET /api ')
look=$(count '"GET /api/v1/namespaces/vault ')
seal=$(count '/sys/seal-status ')
audit=$(count '/sys/audit |/pods/vault-0/log\?')
total=$(wc -l <"$T/window")
echo "# idle ${WINDOW} s at verify.interval ${INTERVAL} s: $total requests: /readyz $readyz, /api $api," \
	"discovery $look, seal-status $seal, audit $audit, other $((total - readyz - api - look - seal - audit))"
intervals=$((WINDOW / INTERVAL))
check idle-readyz-once-per-interval test "$readyz" -le $((intervals + 1))
check idle-no-api-discovery test "$api" -eq 0
check idle-discovery-not-polled test "$look" -le 1
check idle-seal-status-not-polled test "$seal" -le 1
check idle-audit-every-10th-interval test "$audit" -le 2
other=$((total - readyz - api - look - seal - audit))
if [ "$other" -eq 0 ]; then pass idle-nothing-else
else fail idle-nothing-else "$(grep -Ev '/readyz |"GET /api |/namespaces/vault |seal-status|sys/audit|/log\?' "$T/window" | head -3)"; fi

# ---- a seal without a restart, twice: seen within 10 s (the net is 60 s) -------------
printf 'X-Vault-Token: %s\n' "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["root_token"])' \
	"$T/state/vault-init.json")" >"$T/token.h"
chmod 600 "$T/token.h"
vault_seal() {
	curl -fsS --cacert "$T/sim/tls/server-ca.crt" --cert "$T/sim/tls/client-admin.crt" \
		--key "$T/sim/tls/client-admin.key" -X PUT -H @"$T/token.h" "$SIM_URL$PROXY/sys/seal" >/dev/null
}
unseal() {
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["unseal_keys_b64"][0])' "$T/state/vault-init.json" |
		ctl unseal --stdin >"$T/out" 2>&1
}
for round in 1 2; do
	restarts=$(kapi GET /api/v1/namespaces/vault/pods/vault-0 | json_field 'd["status"]["containerStatuses"][0]["restartCount"]')
	vault_seal || { fail "seal-$round" "sys/seal refused"; break; }
	if wait_for 10 state_is vault-sealed; then pass "seal-without-restart-seen-$round"
	else fail "seal-without-restart-seen-$round" "state $(state)"; fi
	check "seal-no-restart-$round" test "$(kapi GET /api/v1/namespaces/vault/pods/vault-0 |
		json_field 'd["status"]["containerStatuses"][0]["restartCount"]')" = "$restarts"
	unseal
	if wait_for 15 state_is healthy; then pass "unsealed-healthy-$round"
	else fail "unsealed-healthy-$round" "state $(state): $(cat "$T/out")"; fi
done

# ---- the stack deleted: bootstrapped again on the namespace's DELETED event ---------
absent() { grep -c 'bootstrap starts: stack absent: namespace vault does not exist' "$T/agentd.log"; }
# Gone, or already made again by agentd's bootstrap between two polls.
ns_uid() { kapi GET /api/v1/namespaces/vault 2>/dev/null | json_field 'd["metadata"]["uid"] if d.get("kind") == "Namespace" else "absent"'; }
first=$(absent)
uid=$(ns_uid)
kapi DELETE /api/v1/namespaces/vault >/dev/null || fail delete-namespace "DELETE refused"
if wait_for 60 eval '[ "$(ns_uid)" != "$uid" ]'; then
	if wait_for 10 eval '[ "$(absent)" -gt "$first" ]'; then
		pass deleted-stack-bootstrap-starts
	else fail deleted-stack-bootstrap-starts "state $(state): $(grep -E 'state |bootstrap' "$T/agentd.log" | tail -2)"; fi
else fail namespace-deleted "namespace vault still there"; fi
if wait_for 180 state_is healthy; then pass deleted-stack-healthy-again
else fail deleted-stack-healthy-again "state $(state): $(tail -3 "$T/agentd.log")"; fi
check deleted-stack-new-init-file eval 'ls "$T/state"/vault-init.json.replaced-* >/dev/null'

# ---- new values and a reload: the stack applied again at once (the net is 60 s) ------
changed() { grep -c 'bootstrap starts: the manifests changed since the last bootstrap' "$T/agentd.log"; }
printf 'journalist:\n  schedule: "45 7 * * *"\n' >"$T/values.override.yaml"
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"values_override: $T/values.override.yaml" "vault: {init: {shares: 1, threshold: 1}}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: ${INTERVAL}s, grace: 5s}"
first=$(changed)
expect_rc 0 reload ctl reload
if wait_for 10 eval '[ "$(changed)" -gt "$first" ]'; then pass reload-new-values-bootstrap-starts
else fail reload-new-values-bootstrap-starts "state $(state): $(grep -E 'state |bootstrap' "$T/agentd.log" | tail -2)"; fi
sched() { kapi GET /apis/batch/v1/namespaces/ai-agents/cronjobs/journalist | json_field 'd["spec"]["schedule"]'; }
if wait_for 60 eval '[ "$(sched)" = "45 7 * * *" ] && state_is healthy'; then pass reload-new-values-applied
else fail reload-new-values-applied "schedule $(sched), state $(state)"; fi
t_done
