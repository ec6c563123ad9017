#!/usr/bin/env bash
# make demo: the simulator (k3sim) and agentd from this tree, a first-run
# bootstrap with `agentctl bootstrap`, the resulting `agentctl status`, a
# simulated reboot (Vault comes back sealed), the unseal that recovers it, and
# the reset test (tear down to a bare cluster, rebuild, prove it) with its report.
# Everything lives in one temp dir, removed on exit or Ctrl-C.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=${PY:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
AGENTD=$BUILD/agentd AGENTCTL=$BUILD/agentctl
D=$(mktemp -d /tmp/agentd-demo.XXXXXX)
SIM_PID= AGENTD_PID=

cleanup() {
	trap - EXIT INT TERM
	[ -n "$AGENTD_PID" ] && kill -TERM "$AGENTD_PID" 2>/dev/null && wait "$AGENTD_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'echo; echo "demo interrupted: stopping agentd and the simulator"; exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; ctl status >&2 2>/dev/null; [ -f "$D/agentd.log" ] && tail -5 "$D/agentd.log" >&2; exit 1; }
ctl() { "$AGENTCTL" -s "$D/agentd.sock" "$@"; }
state() { ctl --json status 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
wait_state() {	# seconds, state...
	local i s
	for ((i = 0; i < $1 * 5; i++)); do
		s=$(state)
		for want in "${@:2}"; do [ "$s" = "$want" ] && return 0; done
		sleep 0.2
	done
	return 1
}

sim_start() {	# [port]
	local line
	mkfifo "$D/sim.fifo"
	"$PY" "$ROOT/tests/sim/k3sim" --state "$D/sim" --port "${1:-0}" >"$D/sim.fifo" 2>>"$D/sim.log" &
	SIM_PID=$!
	read -r -t 30 line <"$D/sim.fifo" || line=
	rm -f "$D/sim.fifo"
	case $line in READY*) SIM_URL=${line##*url=} ;; *) die "the simulator did not start (see $D/sim.log)" ;; esac
}

[ -x "$AGENTD" ] && [ -x "$AGENTCTL" ] || die "build agentd first: make"

echo "agentd demo: a simulated k3s cluster (tests/sim/k3sim) with agentd bootstrapping the whole"
echo "stack on it, then a simulated reboot that leaves Vault sealed and the unseal that recovers it."
echo "Nothing touches this machine: all state is in $D. It ends by itself; Ctrl-C stops it early."

say "starting the simulator (k3sim)"
sim_start
echo "k3sim answers at $SIM_URL"

# The shipped config/agentd.yaml, pointed at the simulator and the temp dir; a
# throwaway Vault with one key share keeps the unseal step to one key.
cat >"$D/agentd.yaml" <<YAML
kubeconfig: $D/sim/kubeconfig
socket: $D/agentd.sock
state_dir: $D/state
manifests: $ROOT/manifests
values: $ROOT/config/values.yaml
vault: {init: {shares: 1, threshold: 1}}
api: {backoff_initial: 200ms, backoff_max: 1s}
verify: {interval: 2s}
YAML
mkdir -p "$D/state"
say "starting agentd (log in $D/agentd.log)"
"$AGENTD" -f -c "$D/agentd.yaml" 2>>"$D/agentd.log" &
AGENTD_PID=$!
wait_state 30 bootstrap vault-sealed healthy degraded || die "agentd did not reach the API (state: $(state))"

say "agentctl bootstrap: agentd stands the stack up; each line is one step (phase, object, result)"
# The keys are printed by agentctl exactly once; the demo hides them here and
# shows the one key it needs later, marked as the demo's.
ctl bootstrap | sed -E 's/^( *(Unseal key [0-9]+|Root token) *:).*/\1 <hidden by the demo>/'
[ "${PIPESTATUS[0]}" = 0 ] || die "agentctl bootstrap failed"

say "agentctl status: the stack as agentd sees it"
wait_state 60 healthy || echo "(not healthy yet: $(state))"
ctl status

say "simulated reboot: the cluster restarts and Vault comes back sealed"
port=${SIM_URL##*:}
kill -TERM "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=
sim_start "$port"
wait_state 60 vault-sealed || die "agentd did not report Vault sealed (state: $(state))"
ctl status

say "agentctl unseal --stdin: the operator enters an unseal key"
key=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["unseal_keys_b64"][0])' "$D/state/vault-init.json")
echo "This is the demo's key (a throwaway simulator; you would paste yours at the prompt of agentctl unseal): $key"
printf '%s\n' "$key" | ctl unseal --stdin || die "unseal failed"
key=

say "agentctl status: healthy again"
wait_state 60 healthy || die "not healthy after the unseal (state: $(state))"
ctl status

say "agentctl bootstrap --reset-test --yes: tear down to a bare cluster, rebuild, prove it"
ctl bootstrap --reset-test --yes || die "the reset test failed (its report is above)"
wait_state 60 healthy || die "not healthy after the reset test (state: $(state))"
ctl status

say "demo complete: stopping agentd and the simulator"
