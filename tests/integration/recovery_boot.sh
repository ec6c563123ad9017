#!/usr/bin/env bash
# agentd's own first bootstrap initialises and unseals Vault: while it does, a
# freshly created Vault pod that does not answer yet, an uninitialised Vault
# and the sealed one it is about to unseal are no failures: no failing
# vault-sealed check, no "Vault sealed" warning, no password request.  After
# it, a real seal (the Vault pod restarts) is reported at once as always.
. "$(dirname "$0")/lib.sh"

SIMCTL=$ROOT/tests/sim/simctl
ASK=$T/ask
simctl() { "$PY" "$SIMCTL" --state "$T/sim" "$@" >/dev/null; }
status_json() { ctl --json status 2>/dev/null; }
state() { status_json | json_field 'd["state"]'; }
state_is() { [ "$(state)" = "$1" ]; }
vault_ok() { status_json | json_field '[c["ok"] for c in d["checks"] if c["name"] == "vault-sealed"][0]' | grep -qx True; }
ask_present() { ls "$ASK"/ask.* >/dev/null 2>&1; }

sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
mkdir -m 0700 "$ASK"
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"vault: {init: {shares: 3, threshold: 2}}" "ask_password: {enabled: true, dir: $ASK}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }

if wait_for 180 log_has 'bootstrap complete: '; then pass bootstrap-completes
else fail bootstrap-completes "state $(state): $(grep -E 'bootstrap' "$T/agentd.log" | tail -3)"; fi
if log_has 'bootstrap: vault: vault-0 is not initialised: initialising' && log_has 'bootstrap: vault: vault-0 unsealed'; then
	pass bootstrap-unsealed-vault
else fail bootstrap-unsealed-vault "$(grep -E 'bootstrap: vault' "$T/agentd.log" | tail -4)"; fi
if wait_for 10 vault_ok; then pass vault-check-ok; else fail vault-check-ok "$(status_json)"; fi
if ! log_has 'check vault-sealed failed' && ! log_has 'Vault sealed \(' && ! log_has '-> vault-sealed'; then
	pass bootstrap-reports-no-seal
else fail bootstrap-reports-no-seal "$(grep -E 'vault-sealed|Vault sealed' "$T/agentd.log" | head -4)"; fi
if ! ask_present && ! log_has 'ask-password'; then pass bootstrap-asks-nothing
else fail bootstrap-asks-nothing "$(ls -A "$ASK") $(grep ask-password "$T/agentd.log" | head -2)"; fi

# ---- after the bootstrap a seal is the operator's again -----------------------
simctl restart-pod vault vault-0
if wait_for 3 state_is vault-sealed && wait_for 2 ask_present &&
	[ "$(grep -c 'warning: Vault sealed (vault-0): run agentctl unseal' "$T/agentd.log")" -eq 1 ]; then
	pass real-seal-reported
else fail real-seal-reported "state $(state): $(grep -E 'Vault sealed' "$T/agentd.log" | tail -2)"; fi
agentd_stop
sim_stop
t_done
