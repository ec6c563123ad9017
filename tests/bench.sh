#!/usr/bin/env bash
# make bench: agentd's figures next to their comparisons, measured in the same run,
# against k3sim with 0 ms and 5 ms of injected latency per API request (simctl delay).
# Bounded: about STEADY_SECONDS x 6 + 3 min in all.  Method and results: docs/performance.md.
#
#   BENCH_LATENCIES="0 5"   latencies (ms) to run at
#   STEADY_SECONDS=60       length of each steady-state window (agentd with the whole stack,
#                           agentd with a bare Vault pod, the kubectl loop)
#   DETECT_RUNS=3           Vault pod restarts per detection-latency measurement
#
# Needs kubectl for the comparisons (rows say "n/a (no kubectl)" without it) and jq.
# Per latency: the bootstrap from nothing and the unseal after a reboot (agentd, then
# tests/bench/bootstrap-kubectl.sh and kubectl), then the start-up and steady state.
. "$(dirname "$0")/integration/lib.sh"

LATENCIES=${BENCH_LATENCIES:-0 5}
STEADY=${STEADY_SECONDS:-60}
DETECT_RUNS=${DETECT_RUNS:-3}
HELP=$ROOT/tests/integration/recovery_sim.py
KUBECTL=$(command -v kubectl || true)
rows=()

die() { echo "bench: $*" >&2; exit 1; }
row() { rows+=("$(printf '%-8s %-48s %-14s %-30s' "$@")"); }
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

SIM_PID=
# A new cluster (empty state), or the same one rebooted (Vault pods come back sealed);
# the injected latency is set again each time.
sim_fresh() {
	[ -n "$SIM_PID" ] && sim_stop
	rm -rf "$T/sim"
	sim_start || die "k3sim did not start: $(tail -3 "$T/sim.log")"
	ln -sfn "$T/sim/kubeconfig" "$T/kubeconfig"
	simctl delay "$1"
}
sim_reboot() {
	sim_stop
	sim_start "$SIM_PORT" || die "k3sim did not start again: $(tail -3 "$T/sim.log")"
	simctl delay "$1"
}
simctl() { "$PY" "$ROOT/tests/sim/simctl" --state "$T/sim" "$@" >/dev/null; }
sim_requests() {
	curl -fsS -X POST -H "X-Sim-Token: $(cat "$T/sim/control-token")" -d '{}' \
		"$(cat "$T/sim/control-url")/status" | json_field 'd["requests"]'
}
# utime+stime of a process in seconds (clock ticks / CLK_TCK).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# The checks agentd makes, done the way a shell script would: API health, the
# Vault pods, Vault's seal status through the pod proxy.
kubectl_checks() {
	"$KUBECTL" --kubeconfig "$T/kubeconfig" get --raw /readyz >/dev/null &&
	"$KUBECTL" --kubeconfig "$T/kubeconfig" -n vault get pods -l app.kubernetes.io/name=vault -o json >/dev/null &&
	"$KUBECTL" --kubeconfig "$T/kubeconfig" get --raw \
		/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/sys/seal-status >/dev/null
}

bench_one() {
	local lat=$1 t0 ms r0 r1 cpu hwm anon per_min
	sim_fresh "$lat"
	"$PY" "$HELP" vault-pod "$T/sim" && "$PY" "$HELP" init "$T/sim" 1 1 "$T/keys" >/dev/null ||
		die "Vault pod setup failed"
	rm -rf "$T/state" "$T/ask"; mkdir -m 0700 "$T/ask"
	agentd_config "$T/agentd.yaml" "ask_password: {dir: $T/ask}"

	# Start-up: exec to the status socket answering (agentd signals READY=1 then).
	t0=$(now_ns)
	"$AGENTD" -f -c "$T/agentd.yaml" 2>"$T/agentd.log" &
	AGENTD_PID=$!; AGENTD_SOCK=$T/agentd.sock; _t_pids+=("$AGENTD_PID")
	for _ in $(seq 1 2000); do ctl status >/dev/null 2>&1 && break; sleep 0.005; done
	ms=$(ms_since "$t0")
	ctl status >/dev/null 2>&1 || die "agentd did not answer: $(tail -5 "$T/agentd.log")"
	local ref="n/a (no kubectl)"
	if [ -n "$KUBECTL" ]; then
		t0=$(now_ns); kubectl_checks || die "kubectl checks failed"
		ref="$(ms_since "$t0") ms (one kubectl check round)"
	fi
	row "${lat}ms" "start-up to READY=1 (status answering)" "$ms ms" "$ref"

	# Steady state: agentd idle with a healthy (unsealed) stack.
	wait_for 20 sh -c "$AGENTCTL -s $AGENTD_SOCK --json status | grep -q '\"state\":\"vault-sealed\"'" ||
		die "agentd never reported vault-sealed"
	ctl unseal --stdin <"$T/keys" >/dev/null || die "unseal failed"
	sleep 2
	r0=$(sim_requests)
	sleep "$STEADY"
	r1=$(sim_requests)
	cpu=$(cpu_s "$AGENTD_PID"); hwm=$(hwm_kib "$AGENTD_PID"); anon=$(anon_kib "$AGENTD_PID")
	per_min=$(awk -v n=$((r1 - r0)) -v s="$STEADY" 'BEGIN { printf "%.1f", n * 60 / s }')
	local ref_req="n/a" ref_cpu="n/a" ref_rss="n/a"
	agentd_stop >/dev/null
	if [ -n "$KUBECTL" ]; then
		r0=$(sim_requests)
		# The reference loop, under GNU time: its CPU and the peak RSS of its largest child.
		/usr/bin/time -f '%U %S %M' -o "$T/loop.time" bash -c '
			end=$((SECONDS + $1)); shift
			while [ $SECONDS -lt $end ]; do "$@"; sleep 30 & wait $!; done' \
			loop "$STEADY" bash -c "$(declare -f kubectl_checks); KUBECTL=$KUBECTL T=$T kubectl_checks" ||
			die "kubectl loop failed"
		r1=$(sim_requests)
		ref_req=$(awk -v n=$((r1 - r0)) -v s="$STEADY" 'BEGIN { printf "%.1f", n * 60 / s }')
		read -r u s m <"$T/loop.time"
		ref_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
		ref_rss="$((m / 1024)) MiB"
	fi
	row "${lat}ms" "API requests/min, idle (${STEADY}s window)" "$per_min" "$ref_req (kubectl loop, 30 s)"
	row "${lat}ms" "CPU seconds over ${STEADY}s (incl. start-up)" "$cpu s" "$ref_cpu s (kubectl loop)"
	row "${lat}ms" "peak RSS (VmHWM)" "$(mib "$hwm")" "$ref_rss (kubectl loop); floor $(mib "$floor") ($(mib "$floor_loaded") loaded, before init)"
	row "${lat}ms" "private memory (RssAnon, end of window)" "$(mib "$anon")" ""

	sim_stop
}

state_is() { ctl --json status 2>/dev/null | grep -q "\"state\":\"$1\""; }
api_up() {
	local st
	st=$(ctl --json status 2>/dev/null) || return 1
	! echo "$st" | grep -Eq '"state":"(starting|wait-api)"'
}

# pods_ready_after T0_NS CMD...: run CMD (the unseal) with the pods-ready poller
# already watching; print the ms from T0_NS to every pod Ready.
pods_ready_after() {
	local t0 ready
	"$PY" "$ROOT/tests/bench/pods-ready.py" "$T/kubeconfig" 120 >"$T/ready.ns" &
	local poller=$!
	sleep 0.5	# the poller has seen the sealed, unready pods
	t0=$(now_ns)
	"$@" || die "unseal failed: $*"
	wait "$poller" || die "the pods did not all become Ready"
	ready=$(cat "$T/ready.ns")
	echo $(((ready - t0) / 1000000))
}

# The first key leaves Vault sealed (agentctl exit 1, "not ok"); the second unseals it.
unseal_agentd() {
	jq -r '.unseal_keys_b64[0]' "$T/bstate/vault-init.json" | ctl unseal --stdin >/dev/null
	[ $? -le 1 ] && jq -r '.unseal_keys_b64[1]' "$T/bstate/vault-init.json" | ctl unseal --stdin >/dev/null
}
unseal_kubectl() {
	local i
	for i in 0 1; do
		jq -c "{key: .unseal_keys_b64[$i]}" "$T/bstate/vault-init.json" >"$T/unseal.json"
		HOME=$T/home "$KUBECTL" --kubeconfig "$T/kubeconfig" create --raw \
			/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/sys/unseal -f "$T/unseal.json" >/dev/null || return 1
	done
}

# The stack from nothing: agentd (exec to `agentctl bootstrap` returning, its own
# start-up included) against bootstrap-kubectl.sh on the same rendered objects;
# agentd idle with the whole stack up; then a cluster reboot and the unseal (two keys of three) to every pod Ready, by
# agentctl unseal and by kubectl through the pod proxy.
bench_bootstrap() {
	local lat=$1 t0 ms ms_a ms_k ms_ua ms_uk r0 r1 per_min hwm anon
	sim_fresh "$lat"
	rm -rf "$T/bstate" "$T/ref" "$T/home"
	mkdir -m 0700 "$T/home"
	agentd_config "$T/boot.yaml" "manifests: $ROOT/manifests" "values: $ROOT/config/values.yaml" \
		"vault: {init: {shares: 3, threshold: 2}}" "state_dir: $T/bstate" \
		"api: {backoff_initial: 100ms, backoff_max: 1s}"
	"$AGENTD" --render -c "$T/boot.yaml" >"$T/render.jsonl" || die "agentd --render failed"
	t0=$(now_ns)
	"$AGENTD" -f -c "$T/boot.yaml" 2>"$T/agentd.log" &
	AGENTD_PID=$!; AGENTD_SOCK=$T/agentd.sock; _t_pids+=("$AGENTD_PID")
	for _ in $(seq 1 6000); do api_up && break; sleep 0.005; done
	ctl bootstrap >"$T/boot.out" 2>&1 || die "agentctl bootstrap failed: $(tail -3 "$T/boot.out")"
	ms_a=$(ms_since "$t0")
	wait_for 60 state_is healthy || die "agentd not healthy after its bootstrap: $(tail -3 "$T/agentd.log")"
	# Idle with the whole stack: verify's watches start at its next tick (up to one
	# verify.interval after healthy) and list once; its first results (the netpol
	# check) mark the end of that burst.
	wait_for 60 sh -c "$AGENTCTL -s $AGENTD_SOCK --json status | grep -q '\"name\":\"netpol\"'" ||
		die "verify never reported on the stack"
	sleep 2
	r0=$(sim_requests)
	sleep "$STEADY"
	r1=$(sim_requests)
	per_min=$(awk -v n=$((r1 - r0)) -v s="$STEADY" 'BEGIN { printf "%.1f", n * 60 / s }')
	hwm=$(hwm_kib "$AGENTD_PID"); anon=$(anon_kib "$AGENTD_PID")
	sim_reboot "$lat"
	wait_for 30 state_is vault-sealed || die "agentd did not report the rebooted Vault sealed"
	ms_ua=$(pods_ready_after unseal_agentd) || exit 1
	agentd_stop >/dev/null
	ms_k="n/a (no kubectl)" ms_uk="n/a (no kubectl)"
	if [ -n "$KUBECTL" ]; then
		sim_reboot "$lat"
		ms_uk=$(pods_ready_after unseal_kubectl) || exit 1
		ms_uk="$ms_uk ms (kubectl create --raw, 2 keys)"
		sim_fresh "$lat"
		"$PY" "$ROOT/tests/bench/prepare-kubectl.py" "$T/render.jsonl" "$T/kubeconfig" 3 2 "$T/ref" &&
			cp "$T/kubeconfig" "$T/ref/kubeconfig" || die "cannot prepare the kubectl bootstrap"
		t0=$(now_ns)
		HOME=$T/home bash "$ROOT/tests/bench/bootstrap-kubectl.sh" "$T/ref" 2 >"$T/ref.out" 2>&1 ||
			die "bootstrap-kubectl.sh failed: $(tail -3 "$T/ref.out")"
		ms=$(ms_since "$t0")
		ms_k="$ms ms (kubectl apply --server-side, $(awk -v k="$ms" -v a="$ms_a" 'BEGIN { printf "%.1f", k / a }')x agentd)"
	fi
	row "${lat}ms" "bootstrap, empty cluster to stack up" "$ms_a ms" "$ms_k"
	row "${lat}ms" "reboot: unseal (2 of 3 keys) -> all pods Ready" "$ms_ua ms" "$ms_uk"
	row "${lat}ms" "full stack: API requests/min, idle (${STEADY}s)" "$per_min" \
		"44 (derived: the 22 lists verify watches, each read every 30 s)"
	row "${lat}ms" "full stack: peak RSS (bootstrap + idle)" "$(mib "$hwm")" "private $(mib "$anon")"
	sim_stop
}

# The floor under agentd's peak RSS: its libraries and libcurl's global init, no work.
cc -O2 -o "$T/rss-floor" "$ROOT/tests/bench/rss-floor.c" \
	$(pkg-config --libs libcurl libcjson yaml-0.1 openssl libsystemd 2>/dev/null) -lev -lm ||
	die "cannot build tests/bench/rss-floor.c"
read -r floor_loaded floor < <("$T/rss-floor") || die "tests/bench/rss-floor.c failed"

for lat in $LATENCIES; do bench_bootstrap "$lat"; bench_one "$lat"; done
# Detection: Vault pod restart -> agentd reports vault-sealed.  The recovery
# engineer's script, which runs its own k3sim without injected latency.
det=
det=$(BUILD=$BUILD bash "$ROOT/tests/bench/detect-latency.sh" "$DETECT_RUNS" 2>&1 | tail -1)
case $det in detect-latency:*) ;; *) die "detect-latency failed: $det" ;; esac
row "0ms" "Vault restart -> sealed reported (${DETECT_RUNS} runs)" \
	"$(echo "$det" | sed 's/detect-latency: median \([0-9]*\) ms.*/\1 ms median/')" \
	"15000 ms mean (30 s poll, derived)"
echo
echo "agentd $("$AGENTD" --version 2>/dev/null | head -1) on $(uname -srm), $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
printf '%-8s %-48s %-14s %-30s\n' latency figure agentd comparison
printf '%s\n' "${rows[@]}"
