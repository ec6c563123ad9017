#!/usr/bin/env bash
# The first-run bootstrap against k3sim with the tree's own manifests: killed
# mid-way and restarted it completes; every object exists, Vault is initialised,
# unsealed and configured, pods run with the injected init container; the init keys
# are only in vault-init.json; a second bootstrap changes nothing; a reboot of the
# cluster shows Vault sealed.
. "$(dirname "$0")/lib.sh"

sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
	"vault: {init: {shares: 3, threshold: 2}}" \
	"api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 2s}"

# 1. killed mid-bootstrap (right after Vault was configured), then started again
agentd_start || { fail agentd-start "agentd did not start"; t_done; }
if wait_for 90 log_has "bootstrap: vault: configured"; then pass first-run-reaches-vault-config
else fail first-run-reaches-vault-config "$(tail -3 "$T/agentd.log")"; fi
kill -KILL "$AGENTD_PID"; wait "$AGENTD_PID" 2>/dev/null; AGENTD_PID=
agentd_start || { fail agentd-restart "agentd did not start again"; t_done; }
if wait_for 120 state_is healthy; then pass bootstrap-completes-after-kill
else fail bootstrap-completes-after-kill "state $(state); $(grep bootstrap "$T/agentd.log" | tail -3)"; fi
check bootstrap-logged-complete log_has "bootstrap complete: the stack is up"
check vault-already-initialised-on-resume log_has "vault: vault-0 is initialised and unsealed"

# 2. the init material: one file, 0600, threshold keys + root token, nowhere else
f=$T/state/vault-init.json
check init-file-mode test "$(stat -c %a "$f" 2>/dev/null)" = 600
if "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["unseal_keys_b64"]) == 3 and d["root_token"]' "$f"; then
	pass init-file-content
else fail init-file-content "$(wc -c <"$f") bytes"; fi
ctl --json status >"$T/status.json" 2>&1
leaks=$("$PY" - "$f" "$T/agentd.log" "$T/status.json" "$T/sim.log" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
secrets = d["unseal_keys_b64"] + [d["root_token"]]
print(sum(s in open(p, errors="replace").read() for p in sys.argv[2:] for s in secrets))
EOF
)
if [ "$leaks" = 0 ]; then pass init-keys-never-logged; else fail init-keys-never-logged "$leaks occurrences"; fi

# 3. every rendered object exists; pods Running and Ready; agents carry the injected init container
"$AGENTD" --render -c "$T/agentd.yaml" >"$T/render.jsonl"
out=$(kpy - "$T/render.jsonl" <<'EOF'
import json, sys
from simkube import get, path_of
missing = []
for line in open(sys.argv[1]):
    o = json.loads(line)["object"]
    st, _ = get(path_of(o))
    if st != 200:
        missing.append("%s %s (%d)" % (o["kind"], o["metadata"]["name"], st))
bad = []
injected = False
for ns in ("vault", "ai-agents"):
    _, pods = get("/api/v1/namespaces/%s/pods" % ns)
    for p in pods["items"]:
        owner = (p["metadata"].get("ownerReferences") or [{}])[0].get("kind")
        if owner == "Job":
            continue
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        if p["status"].get("phase") != "Running" or not ready:
            bad.append(p["metadata"]["name"])
        if ns == "ai-agents" and any(c["name"] == "vault-agent-init" for c in p["spec"].get("initContainers", [])):
            injected = True
print("missing=%s notready=%s injected=%s" % (",".join(missing) or "-", ",".join(bad) or "-", injected))
EOF
)
case $out in *"missing=- "*) pass every-object-exists ;; *) fail every-object-exists "$out" ;; esac
case $out in *"notready=- "*) pass pods-running-ready ;; *) fail pods-running-ready "$out" ;; esac
case $out in *"injected=True"*) pass agent-pods-injected ;; *) fail agent-pods-injected "$out" ;; esac

# 4. Vault configured as asked (read back through the pod proxy with the root token)
out=$(kpy - "$f" <<'EOF'
import json, sys
from simkube import get
tok = json.load(open(sys.argv[1]))["root_token"]
h = {"X-Vault-Token": tok}
p = "/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/"
res = []
_, s = get(p + "sys/seal-status"); res.append("unsealed" if s and not s["sealed"] else "SEALED")
_, a = get(p + "sys/audit", h); res.append("audit" if a and "stdout/" in (a.get("data") or a) else "NOAUDIT")
_, m = get(p + "sys/mounts", h); mm = (m.get("data") or m)["secret/"] if m else {}
res.append("kv2" if (mm.get("options") or {}).get("version") == "2" else "NOKV2")
_, au = get(p + "sys/auth", h); res.append("k8sauth" if au and "kubernetes/" in (au.get("data") or au) else "NOAUTH")
_, r = get(p + "auth/kubernetes/role/ai-agents", h)
rd = (r or {}).get("data") or {}
res.append("role" if "ai-agents" in rd.get("bound_service_account_namespaces", []) else "NOROLE")
_, pol = get(p + "sys/policies/acl/ai-agents-read", h)
res.append("policy" if pol and "agents/" in (pol.get("data") or {}).get("policy", "") else "NOPOLICY")
print(" ".join(res))
EOF
)
if [ "$out" = "unsealed audit kv2 k8sauth role policy" ]; then pass vault-configured; else fail vault-configured "$out"; fi

# 5. bootstrapping again (record removed) changes nothing
sim_snapshot "$T/render.jsonl" >"$T/before"
agentd_stop >/dev/null
rm -f "$T/state/stack.json"
: >"$T/agentd.log"
agentd_start || fail agentd-restart-2 "did not start"
if wait_for 120 log_has "bootstrap complete"; then pass second-bootstrap-completes
else fail second-bootstrap-completes "$(grep bootstrap "$T/agentd.log" | tail -2)"; fi
sim_snapshot "$T/render.jsonl" >"$T/after"
if diff -u "$T/before" "$T/after" >"$T/diff"; then pass second-bootstrap-changes-nothing
else fail second-bootstrap-changes-nothing "$(grep '^[-+][A-Z]' "$T/diff" | head -4 | tr '\n' ' ')"; fi
if grep -q "initialising" "$T/agentd.log"; then fail no-second-init "Vault was initialised again"
else pass no-second-init; fi

# 6. a cluster reboot: Vault comes back sealed and agentd says so
sim_stop
sim_start "$SIM_PORT" || fail sim-restart "k3sim did not restart"
if wait_for 60 state_is vault-sealed; then pass reboot-shows-vault-sealed
else fail reboot-shows-vault-sealed "state $(state)"; fi
if ctl --json status | grep -q '"sealed": *true'; then pass status-lists-sealed-pod
else fail status-lists-sealed-pod "$(ctl --json status | head -c 300)"; fi

expect_rc 0 agentd-stops-cleanly agentd_stop
t_done
