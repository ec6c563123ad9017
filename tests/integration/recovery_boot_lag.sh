#!/usr/bin/env bash
# agentd's own first bootstrap unseals Vault key by key while the Vault watcher
# keeps asking for the seal status.  An answer made between two of the keys
# (sealed, progress 3/10) can arrive after the bootstrap's last key unsealed
# Vault: it describes the past and is no seal.  k3sim's "lag" fault holds each
# seal-status answer back 3 s after it is made and each unseal answer 0.45 s.
# The watcher asks about every 4 s, one call at a time, so one of its samples
# falls among the ten keys, and on most runs the last such
# answer arrives after the bootstrap's last key (measured: the code before the
# fix failed 10 of 10 runs).  Found by the integration suite under ASan with
# three scripts at a time, where load made the same race.
. "$(dirname "$0")/lib.sh"

ASK=$T/ask
vault_ok() { ctl --json status 2>/dev/null | json_field '[c["ok"] for c in d["checks"] if c["name"] == "vault-sealed"][0]' | grep -qx True; }

sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
mkdir -m 0700 "$ASK"
simctl lag 3000 /proxy/v1/sys/seal-status GET
simctl lag 450 /proxy/v1/sys/unseal '*'
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"vault: {init: {shares: 10, threshold: 10}}" "ask_password: {enabled: true, dir: $ASK}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"
agentd_start || { fail agentd-start "agentd did not start"; t_done; }

if wait_for 180 log_has 'bootstrap complete: '; then pass bootstrap-completes
else fail bootstrap-completes "state $(state): $(grep -E 'bootstrap' "$T/agentd.log" | tail -3)"; fi
if log_has 'bootstrap: vault: vault-0 unsealed'; then pass bootstrap-unsealed-vault
else fail bootstrap-unsealed-vault "$(grep -E 'bootstrap: vault' "$T/agentd.log" | tail -4)"; fi
# Every seal-status answer asked for before the unseal ended has arrived.
sleep 4
if wait_for 10 vault_ok; then pass vault-check-ok; else fail vault-check-ok "$(ctl --json status 2>&1)"; fi
if ! log_has 'check vault-sealed failed' && ! log_has 'Vault sealed \(' && ! log_has '-> vault-sealed'; then
	pass stale-answer-no-seal
else fail stale-answer-no-seal "$(grep -E 'vault-sealed|Vault sealed' "$T/agentd.log" | head -4)"; fi
if ! ls "$ASK"/ask.* >/dev/null 2>&1; then pass stale-answer-asks-nothing
else fail stale-answer-asks-nothing "$(ls -A "$ASK")"; fi
agentd_stop
sim_stop
t_done
