#!/usr/bin/env bash
# agentd's own first bootstrap unseals Vault key by key while the Vault watcher
# keeps reading the seal status.  A reading made between two of the keys
# ("sealed, progress 3/10") describes the past once the last key is in: it is
# no seal, and reporting it would mean a false vault-sealed, the "Vault sealed"
# warning and a password request.  Found by the integration suite under ASan
# with three scripts at a time, where load made both races below; k3sim's
# "lag" fault (an answer held back after it is made) makes them on purpose.
#   in-flight: each seal-status answer 3 s late, each unseal answer 0.45 s: a
#              reading asked among the ten keys arrives after the last one
#              (before the fix: failed 10 of 10 runs);
#   cached:    the init answer 4 s late, each seal-status answer 1.5 s: a
#              reading made after the init (sealed, 0/3) arrives within those
#              4 s, and the next is still on its way when the three keys are
#              in, so the one at hand at the end of the unseal is 0/3 (before
#              the first fix, for the in-flight race only: failed 4 of 4 runs).
. "$(dirname "$0")/lib.sh"

ASK=$T/ask
vault_ok() { ctl --json status 2>/dev/null | json_field '[c["ok"] for c in d["checks"] if c["name"] == "vault-sealed"][0]' | grep -qx True; }

# NAME SHARES SETTLE-SECONDS [LAG-MS PATH METHOD]...
lagged_bootstrap() {
	local name=$1 shares=$2 settle=$3
	rm -rf "$T/sim" "$T/state" "$T/kubeconfig" "$ASK"
	sim_start || { fail "$name-sim-start" "k3sim did not start"; return; }
	ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
	mkdir -m 0700 "$ASK"
	shift 3
	while [ $# -ge 3 ]; do simctl lag "$1" "$2" "$3"; shift 3; done
	agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
		"vault: {init: {shares: $shares, threshold: $shares}}" "ask_password: {enabled: true, dir: $ASK}" \
		"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"
	: >"$T/agentd.log"
	agentd_start || { fail "$name-agentd-start" "agentd did not start"; sim_stop; return; }

	if wait_for 180 log_has 'bootstrap complete: '; then pass "$name-bootstrap-completes"
	else fail "$name-bootstrap-completes" "state $(state): $(grep -E 'bootstrap' "$T/agentd.log" | tail -3)"; fi
	if log_has 'bootstrap: vault: vault-0 unsealed'; then pass "$name-bootstrap-unsealed-vault"
	else fail "$name-bootstrap-unsealed-vault" "$(grep -E 'bootstrap: vault' "$T/agentd.log" | tail -4)"; fi
	# Every seal-status answer asked for before the unseal ended has arrived.
	sleep "$settle"
	if wait_for 10 vault_ok; then pass "$name-vault-check-ok"; else fail "$name-vault-check-ok" "$(ctl --json status 2>&1)"; fi
	if ! log_has 'check vault-sealed failed' && ! log_has 'Vault sealed \(' && ! log_has '-> vault-sealed'; then
		pass "$name-no-seal"
	else fail "$name-no-seal" "$(grep -E 'vault-sealed|Vault sealed' "$T/agentd.log" | head -4)"; fi
	if ! ls "$ASK"/ask.* >/dev/null 2>&1; then pass "$name-asks-nothing"
	else fail "$name-asks-nothing" "$(ls -A "$ASK")"; fi
	agentd_stop
	sim_stop
}

lagged_bootstrap in-flight 10 4 3000 /proxy/v1/sys/seal-status GET 450 /proxy/v1/sys/unseal '*'
lagged_bootstrap cached 3 2 4000 /proxy/v1/sys/init POST 1500 /proxy/v1/sys/seal-status GET
t_done
