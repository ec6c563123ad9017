#!/usr/bin/env bash
# Detection latency: a Vault server pod restarts (a new, sealed Vault process)
# -> agentd reports vault-sealed.  Against k3sim, through the real binaries.
# Prints one line per run and a summary:
#   detect-latency: median N ms, min N ms, max N ms (runs: N)
# usage: tests/bench/detect-latency.sh [RUNS]   (default 5; BUILD=dir as for tests/run)
. "$(dirname "$0")/../integration/lib.sh"

RUNS=${1:-5}
HELP=$ROOT/tests/integration/recovery_sim.py

sim_start || exit 1
"$PY" "$HELP" vault-pod "$T/sim" && "$PY" "$HELP" init "$T/sim" 1 1 "$T/keys" || exit 1
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
mkdir -m 0700 "$T/ask"
agentd_config "$T/agentd.yaml" "api: {backoff_initial: 200ms, backoff_max: 2s}" "ask_password: {dir: $T/ask}"
agentd_start || exit 1

sealed() { ctl --json status 2>/dev/null | grep -q '"state":"vault-sealed"'; }
control_url=$(cat "$T/sim/control-url")
control_token=$(cat "$T/sim/control-token")
restart_pod() {
	curl -fsS -X POST -H "X-Sim-Token: $control_token" -H 'Content-Type: application/json' \
		-d '{"namespace": "vault", "name": "vault-0"}' "$control_url/restart-pod" >/dev/null
}

results=()
for ((run = 1; run <= RUNS; run++)); do
	wait_for 20 sealed || { echo "detect-latency: agentd never reported vault-sealed" >&2; exit 1; }
	ctl unseal --stdin <"$T/keys" >"$T/unseal.out" 2>&1 || { echo "detect-latency: unseal failed: $(tail -2 "$T/unseal.out"; ctl status 2>&1 | head -4)" >&2; exit 1; }
	wait_for 10 sh -c "! $AGENTCTL -s $AGENTD_SOCK --json status | grep -q '\"state\":\"vault-sealed\"'" || exit 1
	start=$(date +%s%N)
	restart_pod || exit 1
	end=
	for _ in $(seq 1 1000); do
		if sealed; then end=$(date +%s%N); break; fi
	done
	[ -n "$end" ] || { echo "detect-latency: run $run: not detected" >&2; exit 1; }
	ms=$(((end - start) / 1000000))
	echo "run $run: $ms ms"
	results+=("$ms")
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
echo "detect-latency: median ${sorted[$((RUNS / 2))]} ms, min ${sorted[0]} ms, max ${sorted[$((RUNS - 1))]} ms (runs: $RUNS)"
