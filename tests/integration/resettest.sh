#!/usr/bin/env bash
# `agentctl bootstrap --reset-test` against k3sim: without --yes and no terminal
# nothing is touched; a healthy stack is torn down (really: new namespace uids,
# the old Vault keys moved aside), rebuilt with a fresh Vault init whose keys are
# shown once, checked, and proven by a journalist and a publisher run, with a
# report of three passing metrics; twice in a row (the second in --json); a
# namespace stuck on a finalizer is reported with its conditions and finalizers
# within the deadline and nothing after it is deleted; a publisher image that
# fails is named with its reason; an interrupted run is followed by one that
# completes.
. "$(dirname "$0")/lib.sh"

export KC=$T/sim/kubeconfig

# merge_patch PATH JSON: a JSON merge patch with the simulator's admin client (lib.sh kapi).
merge_patch() {
	printf '%s' "$2" >"$T/patch.json"
	kapi PATCH "$1" "$T/patch.json" application/merge-patch+json >/dev/null
}
ns_uid() { kapi GET "/api/v1/namespaces/$1" 2>/dev/null | json_field 'd["metadata"]["uid"] if d.get("kind") == "Namespace" else "absent"'; }
ns_terminating() { kapi GET "/api/v1/namespaces/$1" 2>/dev/null | json_field '"yes" if d.get("metadata", {}).get("deletionTimestamp") else "no"'; }
exists() { kapi GET "$1" >/dev/null; }
api_up() { case $(state 2>/dev/null) in '' | starting | wait-api) return 1 ;; esac; }
healthy() { [ "$(state)" = healthy ]; }
reset_test() { timeout 600 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap --reset-test "$@"; }

# --speed 5: the failing publisher's Job backs off (10 s, 20 s, ...) in simulated time.
sim_start 0 --speed 5 || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
# The publisher's image is the user's own: here one the simulator can be told to fail.
BROKEN=example.org/publisher@sha256:$(printf 'b%.0s' $(seq 64))
cat >"$T/override.yaml" <<EOF
images:
  publisher: "$BROKEN"
EOF
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"values_override: $T/override.yaml" "vault: {init: {shares: 3, threshold: 2}}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
wait_for 30 api_up || fail api-up "state $(state)"
timeout 300 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap >"$T/boot.out" 2>&1 || fail first-bootstrap "$(tail -5 "$T/boot.out")"
wait_for 120 healthy || fail first-healthy "state $(state): $(ctl status 2>&1 | grep -v ' ok ' | head -5)"
keys_before=$(json_field '" ".join(d["unseal_keys_b64"])' <"$T/state/vault-init.json")

# 1. No --yes, no terminal: what would go is named, nothing is touched.
uid_agents=$(ns_uid ai-agents)
expect_rc 2 no-yes-refused reset_test </dev/null
if grep -q "namespace ai-agents and everything in it" "$T/err" && grep -q "give --yes" "$T/err" &&
	grep -q "CustomResourceDefinition/agenttasks" "$T/err"; then pass no-yes-names-what-goes
else fail no-yes-names-what-goes "$(cat "$T/err")"; fi
check no-yes-touches-nothing test "$(ns_uid ai-agents)" = "$uid_agents"
# On a terminal it asks; anything but "yes" touches nothing (script(1) gives it a pty).
printf 'no\n' | script -qec "$AGENTCTL -s $AGENTD_SOCK bootstrap --reset-test" /dev/null >"$T/tty.out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q 'Type "yes" to proceed' "$T/tty.out" && grep -q "not confirmed; nothing was touched" "$T/tty.out" &&
	[ "$(ns_uid ai-agents)" = "$uid_agents" ]; then pass tty-asks-and-no-touches-nothing
else fail tty-asks-and-no-touches-nothing "rc $rc: $(tail -3 "$T/tty.out" | tr '\n' ' ')"; fi

# 2. A healthy stack: teardown, bootstrap, checks, both runs; three metrics pass.
expect_rc 0 reset-passes reset_test --yes
cp "$T/out" "$T/reset1.out"
grep -E '^reset test:|^  (teardown|bootstrap|checks|probe-secrets|run-[a-z]+) ' "$T/out" | sed 's/^/# /'
if grep -q "^reset test: PASS" "$T/out" && [ "$(grep -cE '^  [123] .* pass$' "$T/out")" = 3 ]; then
	pass report-three-metrics-pass
else fail report-three-metrics-pass "$(tail -20 "$T/out")"; fi
for ph in teardown bootstrap checks probe-secrets run-journalist run-publisher; do
	grep -qE "^  $ph +ok +[0-9.]+ " "$T/out" || fail "report-phase-$ph" "$(grep -E "^  $ph " "$T/out")"
done
pass report-phases-timed
new_uid=$(ns_uid ai-agents)
if [ "$new_uid" != "$uid_agents" ] && [ "$new_uid" != absent ]; then pass namespaces-really-recreated
else fail namespaces-really-recreated "uid $uid_agents -> $new_uid"; fi
moved=$(ls "$T/state"/vault-init.json.* 2>/dev/null | head -1)
if [ -n "$moved" ] && [ "$(json_field '" ".join(d["unseal_keys_b64"])' <"$moved")" = "$keys_before" ]; then
	pass old-keys-moved-aside
else fail old-keys-moved-aside "$(ls "$T/state")"; fi
keys_after=$(json_field '" ".join(d["unseal_keys_b64"])' <"$T/state/vault-init.json")
if [ -n "$keys_after" ] && [ "$keys_after" != "$keys_before" ]; then pass fresh-vault-init; else fail fresh-vault-init "same keys"; fi
k1=${keys_after%% *}
if [ "$(grep -c "Unseal key 1: $k1" "$T/out")" = 1 ]; then pass new-keys-shown-once; else fail new-keys-shown-once "$(grep -c "$k1" "$T/out")"; fi
if grep -qF "$k1" "$T/agentd.log"; then fail keys-not-logged "a key is in agentd's log"; else pass keys-not-logged; fi
check journal-passed log_has 'reset test passed'

# 3. Twice in a row: the second, with --json, passes too (one object at the end).
expect_rc 0 reset-passes-again reset_test --yes --json
tail -1 "$T/out" >"$T/report.json"
if json_field '"ok" if (d["ok"] and d["result"] == "pass" and [m["name"] for m in d["metrics"]] == ["reset-and-runs", "no-plain-secrets", "pss-restricted"] and all(m["ok"] for m in d["metrics"]) and sorted(r["task"] for r in d["runs"]) == ["journalist", "publisher"]) else 1/0' <"$T/report.json" >/dev/null; then
	pass json-report-object
else fail json-report-object "$(head -c 600 "$T/report.json")"; fi
check json-init-once test "$(grep -c '"vault_init"' "$T/out")" = 1
wait_for 60 healthy

# 4. A namespace stuck on a finalizer (content whose finalizer's owner is gone):
#    reported within the deadline, nothing after it deleted.
merge_patch /api/v1/namespaces/ai-agents/configmaps/agent-demo-script '{"metadata":{"finalizers":["example.com/hold"]}}'
uid_vault=$(ns_uid vault)
start=$(date +%s)
expect_rc 1 stuck-namespace-fails reset_test --yes --teardown-timeout 6
took=$(( $(date +%s) - start ))
cp "$T/out" "$T/stuck.out"
if [ "$took" -lt 60 ]; then pass stuck-within-deadline; else fail stuck-within-deadline "${took}s"; fi
if grep -qE "^  teardown +FAIL .*Namespace/ai-agents \(Terminating\).* NamespaceFinalizersRemaining=True \(SomeFinalizersRemain: .*example.com/hold in 1 resource instances\)" "$T/out" &&
	grep -q "NamespaceContentRemaining=True" "$T/out"; then pass stuck-reported-with-conditions
else fail stuck-reported-with-conditions "$(tail -25 "$T/out")"; fi
if [ "$(ns_uid vault)" = "$uid_vault" ] && [ "$(ns_terminating vault)" = no ] &&
	exists /apis/apiextensions.k8s.io/v1/customresourcedefinitions/agenttasks.agents.agentd.io; then
	pass stuck-nothing-else-deleted
else fail stuck-nothing-else-deleted "vault $(ns_uid vault) terminating=$(ns_terminating vault)"; fi
check stuck-journal log_has 'reset test failed: teardown: '
# The finalizer's owner lets go: the namespace goes, agentd rebuilds the stack by itself.
merge_patch /api/v1/namespaces/ai-agents/configmaps/agent-demo-script '{"metadata":{"finalizers":null}}'
if wait_for 180 healthy; then pass rebuilt-by-itself-after-stuck; else fail rebuilt-by-itself-after-stuck "state $(state)"; fi

# 5. A publisher image that fails: the report names the run and its reason.
simctl config "fail_images=[\"example.org/publisher\"]"
expect_rc 1 failing-publisher-fails reset_test --yes
if grep -qE "^  run-publisher +FAIL .*job ai-agents/publisher-[a-z0-9-]+ failed: BackoffLimitExceeded" "$T/out" &&
	grep -qE "^  run-journalist +ok " "$T/out" && grep -qE "^  1 .* FAIL$" "$T/out" &&
	grep -q "run publisher failed: " "$T/out"; then pass failing-publisher-named
else fail failing-publisher-named "$(tail -20 "$T/out")"; fi
simctl config 'fail_images=[]'

# 6. Interrupted during the teardown, then run again: the second completes.
"$AGENTCTL" -s "$AGENTD_SOCK" bootstrap --reset-test --yes >"$T/int.out" 2>&1 &
rt_pid=$!
wait_for 60 grep -q "teardown: .* deleted" "$T/int.out"
# (bash starts background commands with SIGINT ignored: TERM stands for Ctrl-C)
kill -TERM "$rt_pid"
wait "$rt_pid"
if wait_for 15 log_has 'reset test interrupted'; then pass interrupted-logged; else fail interrupted-logged "no journal line"; fi
expect_rc 0 after-interrupt-passes reset_test --yes
grep -q "^reset test: PASS" "$T/out" || fail after-interrupt-report "$(tail -20 "$T/out")"

agentd_stop
t_done
