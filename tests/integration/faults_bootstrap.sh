#!/usr/bin/env bash
# The fault matrix's bootstrap cases (issue 10), each on a fresh k3sim: agentd
# recovers, applies nothing twice (a second pass leaves every resourceVersion as
# it was; no Vault init or configuration write happens twice) and says what
# happened.
#   1. the disk full for the init-keys file (state_dir on a full tmpfs; needs root
#      to mount it): the bootstrap fails naming the file, Vault stays
#      uninitialised (no keys to lose), and completes once there is room again;
#   2. k3sim killed (SIGKILL) mid-bootstrap and restarted on its state;
#   3. the Vault pod restarted while agentd configures it; and the API server
#      answering 503 for the pod proxy meanwhile (retried, not a stop);
#   4. agentd killed mid-apply, then restarted (and restarted again once healthy);
#   5. the API away for 8 s while the bootstrap waits: bootstrap again, not wait-api.
# Already covered elsewhere: agentd killed right after Vault's configuration
# (clients_bootstrap.sh), 503s and resets during a bootstrap (bootstrap.sh).
. "$(dirname "$0")/lib.sh"

api_up() { case $(state) in ''|starting|wait-api) return 1 ;; esac; }
# Lines of the journal (agentd's stderr) matching REGEX.
log_count() { grep -Ec -- "$1" "$T/agentd.log"; }

cat >"$T/kube.py" <<'PYEOF'
import json, sys
from simkube import get, path_of
if sys.argv[1] == "snap":
    # every rendered object: status, and its resourceVersion (generation for the
    # controllers' objects, whose status their controller writes)
    for line in open(sys.argv[2]):
        o = json.loads(line)["object"]
        st, x = get(path_of(o))
        key = "generation" if o["kind"] in ("Deployment", "StatefulSet", "CronJob") else "resourceVersion"
        print(o["kind"], o["metadata"].get("namespace", "-"), o["metadata"]["name"], st, (x or {}).get("metadata", {}).get(key))
elif sys.argv[1] == "pods":
    # server pods per owner kind: one Vault pod, one per Deployment replica, no strays
    n = {}
    for ns in ("vault", "ai-agents"):
        _, l = get("/api/v1/namespaces/%s/pods" % ns)
        for p in (l or {}).get("items", []):
            owner = (p["metadata"].get("ownerReferences") or [{}])[0].get("kind", "none")
            if owner != "Job":
                n[ns + "/" + owner] = n.get(ns + "/" + owner, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(n.items())))
elif sys.argv[1] == "vault":
    _, s = get("/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/sys/seal-status")
    print("initialized=%s sealed=%s" % ((s or {}).get("initialized"), (s or {}).get("sealed")))
PYEOF
kube() { kpy "$T/kube.py" "$@"; }
snap() { kube snap "$T/render.jsonl"; }

# fresh [YAML...]: a new k3sim on a new state, a new agentd config (not started).
fresh() {
	agentd_stop >/dev/null 2>&1
	[ -n "${SIM_PID:-}" ] && sim_stop
	rm -rf "$T/sim" "$T/state.d" "$T/kubeconfig"
	mkdir -p "$T/state.d"
	: >"$T/agentd.log"
	sim_start || return 1
	ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
	agentd_config "$T/agentd.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
		"vault: {init: {shares: 3, threshold: 2}}" "state_dir: $T/state.d/state" \
		"api: {backoff_initial: 200ms, backoff_max: 1s, request_timeout: 2s}" "verify: {interval: 2s}" "$@"
	"$AGENTD" --render -c "$T/agentd.yaml" >"$T/render.jsonl"
}

# nothing_twice CASE: the stack is healthy; a second full pass (stack record removed,
# `agentctl bootstrap`) changes no object; Vault was initialised once and every
# configuration write happened once; the expected pods and no more.
nothing_twice() {
	local c=$1 out
	if wait_for 90 state_is healthy; then pass "$c-recovers-healthy"
	else fail "$c-recovers-healthy" "state $(state); $(grep -E 'bootstrap (stopped|complete)' "$T/agentd.log" | tail -2 | cut -c1-300)"; fi
	snap >"$T/before"
	rm -f "$T/state.d/state/stack.json"
	expect_rc 0 "$c-second-pass-exit-0" ctl bootstrap
	snap >"$T/after"
	if [ -s "$T/before" ] && ! awk '$4 != 200 {exit 1}' "$T/before"; then
		fail "$c-every-object-exists" "$(awk '$4 != 200' "$T/before" | head -3 | tr '\n' ' ')"
	elif diff -u "$T/before" "$T/after" >"$T/diff"; then pass "$c-second-pass-changes-nothing"
	else fail "$c-second-pass-changes-nothing" "$(grep '^[-+][A-Z]' "$T/diff" | head -4 | tr '\n' ' ')"; fi
	out=$(log_count 'bootstrap: vault: .* is not initialised: initialising')
	if [ "$out" = 1 ] && ! ls "$T/state.d/state/" | grep -q replaced; then pass "$c-vault-initialised-once"
	else fail "$c-vault-initialised-once" "$out init(s); $(ls "$T/state.d/state/")"; fi
	out=$(grep -Eo 'bootstrap: vault: .* written \([^)]*\)' "$T/agentd.log" | sort | uniq -d | head -3)
	if [ -z "$out" ] && [ "$(log_count 'bootstrap: vault: .* written \(')" -gt 0 ]; then pass "$c-vault-writes-once"
	else fail "$c-vault-writes-once" "written twice: $out"; fi
	out=$(kube pods)
	if [ "$out" = "ai-agents/ReplicaSet=1 vault/ReplicaSet=1 vault/StatefulSet=1" ]; then pass "$c-no-extra-pods"
	else fail "$c-no-extra-pods" "$out"; fi
}

# ---- 1. the disk full for vault-init.json ----------------------------------------
fresh || { fail sim-start "k3sim did not start"; t_done; }
if mount -t tmpfs -o size=256k,mode=0700 agentd-faults "$T/state.d" 2>/dev/null; then
	_t_umount() { umount -l "$T/state.d" 2>/dev/null; _t_cleanup; }
	trap _t_umount EXIT
	mkdir -m 0700 "$T/state.d/state"
	dd if=/dev/zero of="$T/state.d/filler" bs=4k 2>/dev/null
	agentd_start || { fail diskfull-start "agentd did not start"; t_done; }
	wait_for 30 api_up || fail diskfull-api-up "state $(state)"
	timeout 120 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap >"$T/boot1.out" 2>"$T/boot1.err"
	rc=$?
	# The named file, the reason, and that Vault was left alone.
	if [ "$rc" = 1 ] && grep -q "$T/state.d/state/vault-init.json" "$T/boot1.err" &&
		grep -q "No space left on device" "$T/boot1.err" && grep -q "left uninitialised" "$T/boot1.err"; then
		pass "diskfull-bootstrap-fails-naming-the-file ($(cut -c1-200 "$T/boot1.err"))"
	else fail diskfull-bootstrap-fails-naming-the-file "rc $rc: $(tail -n 2 "$T/boot1.err" "$T/boot1.out" | tr '\n' ' ')"; fi
	check diskfull-journal-says-so log_has 'bootstrap stopped: vault: vault-0 left uninitialised: .*vault-init.json.*No space left'
	wait_for 10 eval 'kube vault | grep -qv None'
	out=$(kube vault)
	if [ "$out" = "initialized=False sealed=True" ]; then pass diskfull-vault-not-initialised
	else fail diskfull-vault-not-initialised "$out (keys issued with nowhere to keep them)"; fi
	if ls "$T/state.d/state/" | grep -q .; then fail diskfull-no-partial-file "$(ls "$T/state.d/state/")"
	else pass diskfull-no-partial-file; fi
	check diskfull-agentd-alive agentd_alive
	# room again: the retry (every verify.interval) or a client's bootstrap completes
	rm -f "$T/state.d/filler"
	timeout 120 "$AGENTCTL" -s "$AGENTD_SOCK" bootstrap >"$T/boot2.out" 2>"$T/boot2.err"
	rc=$?
	f=$T/state.d/state/vault-init.json
	if [ "$rc" = 0 ] && [ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] &&
		"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["unseal_keys_b64"]) == 3 and d["root_token"]' "$f"; then
		pass diskfull-completes-with-room
	else fail diskfull-completes-with-room "rc $rc: $(tail -n 2 "$T/boot2.err" "$T/boot2.out" | tr '\n' ' ')"; fi
	# the keys Vault issued are the ones in the file and the ones shown to the client
	out=$("$PY" - "$f" "$T/boot2.out" <<'PYEOF'
import json, re, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(print("no keys in %s: %s" % (sys.argv[1], e)))
shown = re.findall(r"Unseal key \d+: (\S+)", open(sys.argv[2]).read())
print("same" if shown == d["unseal_keys_b64"] else "differ: %d shown" % len(shown))
PYEOF
)
	if [ "$out" = same ]; then pass diskfull-keys-kept-and-shown; else fail diskfull-keys-kept-and-shown "$out"; fi
	nothing_twice diskfull
	agentd_stop >/dev/null
	umount "$T/state.d" 2>/dev/null
else
	skip diskfull "cannot mount a tmpfs (not root?)"
fi

# ---- 2. k3sim killed mid-bootstrap, restarted on its state ------------------------
# Killed while the bootstrap waits for the Vault pod (its StatefulSet controller
# paused, the two first phases applied).  k3sim writes its state at most every
# 0.25 s, so a SIGKILL right after a write would lose writes it acknowledged, which
# an API server backed by etcd never does: the kill comes 1 s after the last one.
fresh || { fail sim-start "k3sim did not start"; t_done; }
simctl pause statefulset
agentd_start || { fail simkill-start "agentd did not start"; t_done; }
if wait_for 60 log_has 'bootstrap: phase vault-server: done'; then
	sleep 1
	kill -KILL "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
	if wait_for 15 log_has 'check api failed: .*(refused|connect)'; then
		pass "simkill-reported ($(grep -Eo 'check api failed: [^[]*' "$T/agentd.log" | tail -1))"
	else fail simkill-reported "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"; fi
	sleep 2
	sim_start "$SIM_PORT" || { fail simkill-restart "k3sim did not start again"; t_done; }
	if wait_for 20 eval '[ "$(log_count "check api ok")" -ge 2 ]'; then pass simkill-api-back-reported
	else fail simkill-api-back-reported "$(grep 'check api' "$T/agentd.log" | tail -1 | cut -c1-200)"; fi
	nothing_twice simkill
else
	fail simkill-reached-vault-wait "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"
fi

# ---- 3. the Vault pod restarted while agentd configures it ------------------------
# Every API answer takes 1 s from the init on, so the configuration (a read and
# maybe a write per step, through the pod proxy; eight steps after the first
# write) lasts long enough to be hit even when the test itself runs slowly
# (300 ms once let a loaded machine's restart land after the last step).
fresh || { fail sim-start "k3sim did not start"; t_done; }
agentd_start || { fail vaultrestart-start "agentd did not start"; t_done; }
if wait_for 60 log_has 'bootstrap: vault: .* is not initialised: initialising'; then
	simctl delay 1000
	if wait_for 30 log_has 'bootstrap: vault: .* written \('; then
		simctl restart-pod vault vault-0
		simctl delay 0
		if wait_for 30 log_has 'bootstrap stopped: vault: configuring the .* failed'; then
			pass "vaultrestart-reported ($(grep -Eo 'bootstrap stopped: [^[]*' "$T/agentd.log" | tail -1 | cut -c1-200))"
		else fail vaultrestart-reported "$(grep bootstrap "$T/agentd.log" | tail -2 | cut -c1-200 | tr '\n' ' ')"; fi
		nothing_twice vaultrestart
		check vaultrestart-unsealed-from-file log_has 'bootstrap: vault: .* is sealed: unsealing with the keys of vault-init.json'
	else
		simctl delay 0
		fail vaultrestart-reached-configure "$(grep bootstrap "$T/agentd.log" | tail -2 | cut -c1-200 | tr '\n' ' ')"
	fi
else
	fail vaultrestart-reached-init "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"
fi

# ---- 3b. the API server answers 503 for the pod proxy while agentd configures Vault
# The configuration steps are tried again (read first) while the API server speaks
# for an unreachable Vault; only Vault's own answers stop the bootstrap.
fresh || { fail sim-start "k3sim did not start"; t_done; }
agentd_start || { fail proxy503-start "agentd did not start"; t_done; }
if wait_for 60 log_has 'bootstrap: vault: .* is not initialised: initialising'; then
	simctl delay 1000
	if wait_for 30 log_has 'bootstrap: vault: .* written \('; then
		simctl fail 3 /proxy/
		simctl delay 0
		if wait_for 60 log_has 'bootstrap complete: '; then pass proxy503-bootstrap-completes
		else fail proxy503-bootstrap-completes "$(grep bootstrap "$T/agentd.log" | tail -2 | cut -c1-200 | tr '\n' ' ')"; fi
		if log_has 'bootstrap: vault: configuring the .*: pod proxy: HTTP 503: .*; trying again'; then
			pass "proxy503-says-it-retries ($(grep -Eo 'bootstrap: vault: configuring the [^[]*trying again' "$T/agentd.log" | head -1 | cut -c1-160))"
		else fail proxy503-says-it-retries "$(grep 'bootstrap: vault' "$T/agentd.log" | tail -3 | cut -c1-200 | tr '\n' ' ')"; fi
		if ! log_has 'bootstrap stopped'; then pass proxy503-no-stop
		else fail proxy503-no-stop "$(grep -Eo 'bootstrap stopped: [^[]*' "$T/agentd.log" | head -1)"; fi
		nothing_twice proxy503
	else
		simctl delay 0
		fail proxy503-reached-configure "$(grep bootstrap "$T/agentd.log" | tail -2 | cut -c1-200 | tr '\n' ' ')"
	fi
else
	fail proxy503-reached-init "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"
fi

# ---- 4. agentd killed mid-apply, restarted; restarted again once healthy ----------
fresh || { fail sim-start "k3sim did not start"; t_done; }
simctl delay 50
agentd_start || { fail agentdkill-start "agentd did not start"; t_done; }
if wait_for 60 log_has 'bootstrap: phase vault-server: .*: applied'; then
	kill -KILL "$AGENTD_PID"; wait "$AGENTD_PID" 2>/dev/null; AGENTD_PID=
	simctl delay 0
	snap | awk '$4 == 200' >"$T/early"
	agentd_start || { fail agentdkill-restart "agentd did not start again"; t_done; }
	if wait_for 10 log_has 'bootstrap starts: (no record of a completed bootstrap|stack absent)'; then
		pass "agentdkill-restart-says-why ($(grep -Eo 'bootstrap starts: [^[]*' "$T/agentd.log" | tail -1))"
	else fail agentdkill-restart-says-why "$(grep -E 'bootstrap' "$T/agentd.log" | tail -2 | cut -c1-200 | tr '\n' ' ')"; fi
	if wait_for 90 state_is healthy; then
		snap | grep -Fxf "$T/early" >"$T/early.after"
		if [ -s "$T/early" ] && diff -u "$T/early" "$T/early.after" >"$T/diff"; then
			pass "agentdkill-applied-objects-unchanged ($(wc -l <"$T/early") objects before the kill)"
		else fail agentdkill-applied-objects-unchanged "$(grep '^[-+][A-Z]' "$T/diff" | head -3 | tr '\n' ' ')"; fi
	fi
	nothing_twice agentdkill
	# a plain restart of a healthy agentd: no bootstrap, nothing written
	snap >"$T/before"
	expect_rc 0 agentdrestart-stops-cleanly agentd_stop
	: >"$T/agentd.log"
	agentd_start || { fail agentdrestart-start "agentd did not start again"; t_done; }
	if wait_for 30 state_is healthy; then pass agentdrestart-healthy; else fail agentdrestart-healthy "state $(state)"; fi
	snap >"$T/after"
	if diff -u "$T/before" "$T/after" >"$T/diff"; then pass agentdrestart-changes-nothing
	else fail agentdrestart-changes-nothing "$(grep '^[-+][A-Z]' "$T/diff" | head -4 | tr '\n' ' ')"; fi
	if log_has 'bootstrap starts'; then fail agentdrestart-no-bootstrap "$(grep -o 'bootstrap starts: [^[]*' "$T/agentd.log")"
	else pass agentdrestart-no-bootstrap; fi
else
	fail agentdkill-reached-apply "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"
fi

# ---- 5. the API away for a while during a bootstrap that is still waiting -----------
# The Vault pod never comes (its StatefulSet controller paused), the API refuses
# connections for 8 s: once it is back, the state is bootstrap, not wait-api until
# the bootstrap ends (discover.c on_api_up), and the bootstrap completes.
fresh || { fail sim-start "k3sim did not start"; t_done; }
simctl pause statefulset
agentd_start || { fail outage-start "agentd did not start"; t_done; }
if wait_for 60 log_has 'bootstrap: phase vault-server: done'; then
	simctl unavailable 8
	sleep 9
	if wait_for 5 state_is bootstrap; then pass outage-state-bootstrap-again
	else fail outage-state-bootstrap-again "state $(state) with the bootstrap still waiting"; fi
	simctl resume statefulset
	if wait_for 90 state_is healthy; then pass outage-bootstrap-completes; else fail outage-bootstrap-completes "state $(state)"; fi
	nothing_twice outage
else
	fail outage-reached-vault-wait "$(tail -3 "$T/agentd.log" | cut -c1-200 | tr '\n' ' ')"
fi
agentd_stop >/dev/null
t_done
