#!/usr/bin/env bash
# `agentctl bootstrap` against k3sim: progress streamed, a summary, every rendered
# object present, Vault initialised and unsealed, the init keys shown once to the
# client that asked and in vault-init.json (0600) only; a second run changes
# nothing; 503s and dropped connections mid-run still end complete with no
# duplicates; `make demo` (tests/demo.sh) runs to the end.
. "$(dirname "$0")/lib.sh"

api_up() { case $(state) in ''|starting|wait-api) return 1 ;; esac; }

snap() { sim_snapshot "$T/render.jsonl"; }

sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"vault: {init: {shares: 3, threshold: 2}}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"
"$AGENTD" --render -c "$T/agentd.yaml" >"$T/render.jsonl"

# 1. first run, driven by agentctl bootstrap
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
wait_for 30 api_up || fail api-up "state $(state)"
timeout 180 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap >"$T/boot1.out" 2>"$T/boot1.err"
rc=$?
if [ "$rc" = 0 ]; then pass bootstrap-exit-0; else fail bootstrap-exit-0 "rc $rc: $(tail -3 "$T/boot1.err" "$T/boot1.out")"; fi
if grep -Eq '^\[ *[0-9.]+s\] phase [a-z0-9-]+: ' "$T/boot1.out"; then pass progress-streamed
else fail progress-streamed "$(head -3 "$T/boot1.out")"; fi
if grep -Eq '^bootstrap complete: [0-9]+ objects applied, [0-9]+ phases, [0-9.]+s$' "$T/boot1.out"; then
	pass summary-printed
else fail summary-printed "$(tail -3 "$T/boot1.out")"; fi

f=$T/state/vault-init.json
check init-file-mode test "$(stat -c %a "$f" 2>/dev/null)" = 600
counts=$("$PY" - "$f" "$T/boot1.out" "$T/agentd.log" "$T/sim.log" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
secrets = d["unseal_keys_b64"] + [d["root_token"]]
print(" ".join(str(sum(open(p, errors="replace").read().count(s) for s in secrets)) for p in sys.argv[2:]))
PYEOF
)
# three keys and the root token, once each, on the client; none in any log
if [ "$counts" = "4 0 0" ]; then pass init-keys-shown-once-never-logged
else fail init-keys-shown-once-never-logged "occurrences client/agentd/sim: $counts"; fi
check client-told-where-keys-are grep -q "vault-init.json" "$T/boot1.out"

out=$(snap)
missing=$(echo "$out" | awk '$3 != 200 {print $1 "/" $2 "(" $3 ")"}' | tr '\n' ' ')
if [ -n "$out" ] && [ -z "$missing" ]; then pass every-object-exists; else fail every-object-exists "$missing"; fi
if wait_for 60 eval '[ "$(state)" = healthy ]'; then pass state-healthy; else fail state-healthy "state $(state)"; fi
if ctl --json status | json_field 'all(p["initialized"] and not p["sealed"] for p in d["vault"]["pods"]) and len(d["vault"]["pods"]) > 0' | grep -q True; then
	pass vault-initialised-unsealed
else fail vault-initialised-unsealed "$(ctl --json status | head -c 300)"; fi

# 2. again: nothing moves, no error, no keys
echo "$out" >"$T/before"
expect_rc 0 second-bootstrap-exit-0 ctl bootstrap
cp "$T/out" "$T/boot2.out"
snap >"$T/after"
if diff -u "$T/before" "$T/after" >"$T/diff"; then pass second-bootstrap-changes-nothing
else fail second-bootstrap-changes-nothing "$(grep '^[-+][A-Z]' "$T/diff" | head -4 | tr '\n' ' ')"; fi
if grep -q "Unseal key" "$T/boot2.out"; then fail keys-not-shown-twice "second run printed keys"
else pass keys-not-shown-twice; fi

# 3. a --json client gets PROGRESS objects and a final object
ctl --json bootstrap >"$T/boot3.out" 2>&1
if "$PY" -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert ls[-1]["result"] == "complete" and "objects" in ls[-1] and "vault_init" not in ls[-1]
assert any("phase" in l and "elapsed" in l for l in ls[:-1])' "$T/boot3.out"; then pass json-stream
else fail json-stream "$(tail -2 "$T/boot3.out")"; fi

# 4. faults mid-run: dropped connections, then 503s; a fresh stack record forces a
# full pass.  The drop comes once the run has begun: before it, it could meet the
# API probe and the bootstrap command would be refused (API not reachable yet).
rm -f "$T/state/stack.json"
( sleep 0.2; simctl drop 6; sleep 0.8; simctl fail 3 ) &
faults=$!
# and two reloads mid-run: the bootstrap keeps the configuration it started with
( sleep 0.3; kill -HUP "$AGENTD_PID"; sleep 0.5; kill -HUP "$AGENTD_PID" ) &
reloads=$!
timeout 180 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap >"$T/boot4.out" 2>"$T/boot4.err"
rc=$?
wait "$faults" "$reloads"
# Drops the bootstrap did not use up (it reuses its connections) would hit the
# observations below: the cluster is observed without faults.
simctl clear-faults >/dev/null
# The 503 window (fail 3, opened at t=1s) may outlast a fast bootstrap: observe only
# after it has closed, so the snapshot below sees the cluster, not the fault.
sleep 3.5
check reloads-mid-bootstrap test "$(grep -c 'reloaded configuration' "$T/agentd.log")" -ge 2
if [ "$rc" = 0 ]; then pass bootstrap-survives-faults
else fail bootstrap-survives-faults "rc $rc: $(tail -2 "$T/boot4.err")"; fi
snap >"$T/after4"
if diff -u "$T/before" "$T/after4" >"$T/diff"; then pass faults-no-duplicates-no-changes
else fail faults-no-duplicates-no-changes "$(grep '^[-+][A-Z]' "$T/diff" | head -4 | tr '\n' ' ')"; fi
dups=$(kpy - <<'PYEOF'
from simkube import get
n = 0
for ns in ("vault", "ai-agents"):
    for res in ("pods", "serviceaccounts", "services", "configmaps"):
        _, l = get("/api/v1/namespaces/%s/%s" % (ns, res))
        names = [i["metadata"]["name"] for i in (l or {}).get("items", [])]
        n += len(names) - len(set(names))
print(n)
PYEOF
)
check no-duplicate-objects test "$dups" = 0
expect_rc 0 agentd-stops-cleanly agentd_stop
sim_stop

# 5. make demo
timeout 480 "$ROOT/tests/demo.sh" >"$T/demo.out" 2>&1
rc=$?
if [ "$rc" = 0 ]; then pass demo-runs; else fail demo-runs "rc $rc: $(tail -5 "$T/demo.out" | tr '\n' ' ')"; fi
# The last status the demo prints; how many check lines follow it depends on
# how many checks have run by then.
if grep -E '^state: ' "$T/demo.out" | tail -1 | grep -Eq '^state: +healthy since '; then pass demo-ends-healthy
else fail demo-ends-healthy "$(grep -E '^state: ' "$T/demo.out" | tail -1)"; fi
t_done
