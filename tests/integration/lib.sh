# tests/integration/lib.sh — shared helpers for integration tests (bash).
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
# Every case prints one line that tests/run counts:
#   PASS: name  |  FAIL: name: why  |  SKIP: name: why
# and the script ends with `t_done`, which exits 1 if any case failed.
#
# Variables set on sourcing:
#   ROOT       the source tree (absolute);  BUILD  the build dir (absolute, $BUILD or build)
#   AGENTD     $BUILD/agentd;               AGENTCTL  $BUILD/agentctl
#   SIMCTL     tests/sim/simctl
#   T          a fresh private temp dir (short path, so sockets fit in sun_path),
#              removed on exit together with every process started by agentd_start
#   PY         python3 (from tests/run, else /usr/bin/python3)
#
# Reporting
#   pass NAME                  print PASS
#   fail NAME WHY              print FAIL (the script goes on; t_done exits 1)
#   skip NAME WHY              print SKIP
#   check NAME CMD...          PASS if CMD succeeds, else FAIL with its output
#   expect_rc WANT NAME CMD... PASS if CMD exits with WANT, else FAIL naming the code
#                              and showing CMD's stderr; CMD's stdout goes to $T/out,
#                              its stderr to $T/err
#   t_done                     end of script: summary on stderr, exit status
#
# agentd
#   agentd_config FILE [YAML...]   write a config whose kubeconfig, socket and state_dir
#                              live in $T (kubeconfig: $T/kubeconfig, which does not
#                              exist unless you create it), plus extra YAML lines;
#                              an extra top-level "kubeconfig:", "socket:" or
#                              "state_dir:" line replaces that default
#   agentd_start [CONFIG] [ARGS...]  start `$AGENTD -f -c CONFIG` (default $T/agentd.yaml,
#                              written by agentd_config if missing) in the background,
#                              stderr to $T/agentd.log; wait until `agentctl status`
#                              answers (10 s).  Sets AGENTD_PID and AGENTD_SOCK.
#                              Returns 1 (and prints the log) if it did not come up.
#   agentd_stop                SIGTERM, wait; returns agentd's exit status (124: hung, killed)
#   agentd_alive               true while the agentd started last still runs
#   ctl ARGS...                run $AGENTCTL -s $AGENTD_SOCK ARGS
#
# Utilities
#   wait_for SECONDS CMD...    poll CMD every 0.1 s until it succeeds; 1 on timeout
#   json_field EXPR            read JSON on stdin, print the Python expression EXPR
#                              evaluated with the document as `d` (e.g. 'd["state"]')
#   as_nobody CMD...           run CMD as uid/gid 65534 without supplementary groups
#   share_with_nobody          make $T traversable and the agentd socket connectable
#                              by others (tests only: the daemon creates it 0660)
#   log_has REGEX              true if $T/agentd.log matches REGEX (grep -E)
#   state                      agentd's state (`status` .state)
#   state_is STATE             true while agentd's state is STATE
#
# Simulator
#   sim_start [PORT [ARGS...]] start tests/sim/k3sim on state $T/sim (port 0: any; the
#                              same port again after sim_stop is a reboot on the same
#                              address; ARGS go to k3sim, e.g. --speed 5), wait for
#                              READY (30 s), stderr to $T/sim.log; sets SIM_PID,
#                              SIM_URL, SIM_PORT; returns 1 if it did not start
#   sim_stop                   SIGTERM k3sim and wait for it
#   simctl VERB [ARGS...]      tests/sim/simctl ($SIMCTL) on $T/sim, its output dropped
#   kapi METHOD PATH [BODY-FILE]  one request to $SIM_URL with the admin certificate of
#                              $T/sim; prints the answer's body, returns 1 on an HTTP
#                              error (a body from a file keeps test values out of argv)
#   kpy ARGS...                $PY with tests/integration/simkube.py importable (get,
#                              path_of, snapshot: the simulator as its admin, through
#                              the kubeconfig $T/sim/kubeconfig)
#   sim_snapshot RENDER-JSONL  a line per object of `agentd --render` output: kind,
#                              name, HTTP status, resourceVersion (generation for
#                              controllers); two snapshots differ where a write was

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
AGENTD=$BUILD/agentd
AGENTCTL=$BUILD/agentctl
SIMCTL=$ROOT/tests/sim/simctl
PY=${PY:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
T=$(mktemp -d /tmp/agentd-t.XXXXXX)
AGENTD_PID=
AGENTD_SOCK=
_t_failed=0
_t_pids=()

_t_cleanup() {
	local p
	for p in "${_t_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${_t_pids[@]}"; do
		for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	# A failed run keeps its daemon and simulator logs where tests/run says.
	if [ "$_t_failed" -ne 0 ] && [ -n "${T_KEEP:-}" ] && mkdir -p "$T_KEEP"; then
		find "$T" -maxdepth 1 -name '*.log' -exec cp {} "$T_KEEP/" \;
	fi
	rm -rf "$T"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; _t_failed=1; }
skip() { echo "SKIP: $1: $2"; }

check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}

expect_rc() {
	local want=$1 name=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, want $want: $(tail -3 "$T/err" | tr '\n' ' ')"
	fi
}

t_done() {
	[ "$_t_failed" -eq 0 ] || { echo "some cases failed (temp dir $T, log below)" >&2; tail -30 "$T/agentd.log" >&2 2>/dev/null; }
	exit "$_t_failed"
}

agentd_config() {
	local file=$1
	shift
	local key line
	{
		for key in kubeconfig:$T/kubeconfig socket:$T/agentd.sock state_dir:$T/state; do
			# An extra line setting the same key replaces the default.
			printf '%s\n' "$@" | grep -q "^${key%%:*}:" || echo "${key%%:*}: ${key#*:}"
		done
		for line in "$@"; do echo "$line"; done
	} >"$file"
}

wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

ctl() { "$AGENTCTL" -s "$AGENTD_SOCK" "$@"; }

agentd_alive() { [ -n "$AGENTD_PID" ] && kill -0 "$AGENTD_PID" 2>/dev/null; }

agentd_start() {
	local cfg=${1:-$T/agentd.yaml}
	[ $# -gt 0 ] && shift
	[ -f "$cfg" ] || agentd_config "$cfg"
	AGENTD_SOCK=$(sed -n 's/^socket: *//p' "$cfg" | head -1)
	AGENTD_SOCK=${AGENTD_SOCKET:-${AGENTD_SOCK:-$T/agentd.sock}}
	"$AGENTD" -f -c "$cfg" "$@" 2>>"$T/agentd.log" &
	AGENTD_PID=$!
	_t_pids+=("$AGENTD_PID")
	if ! wait_for 10 ctl status; then
		echo "agentd did not come up; log:" >&2
		tail -20 "$T/agentd.log" >&2
		return 1
	fi
}

agentd_stop() {
	local rc i
	[ -n "$AGENTD_PID" ] || return 0
	kill -TERM "$AGENTD_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$AGENTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$AGENTD_PID" 2>/dev/null; then
		kill -KILL "$AGENTD_PID" 2>/dev/null
		wait "$AGENTD_PID" 2>/dev/null
		AGENTD_PID=
		return 124
	fi
	wait "$AGENTD_PID"
	rc=$?
	AGENTD_PID=
	return "$rc"
}

json_field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

share_with_nobody() {
	chmod 0755 "$T"
	[ -n "$AGENTD_SOCK" ] && chmod 0666 "$AGENTD_SOCK"
}

log_has() { grep -Eq -- "$1" "$T/agentd.log"; }

state() { ctl --json status | json_field 'd["state"]'; }
state_is() { [ "$(state)" = "$1" ]; }

sim_start() {
	local port=${1:-0} line
	[ $# -gt 0 ] && shift
	rm -f "$T/sim.fifo"
	mkfifo "$T/sim.fifo"
	"$PY" "$ROOT/tests/sim/k3sim" --state "$T/sim" --port "$port" "$@" >"$T/sim.fifo" 2>>"$T/sim.log" &
	SIM_PID=$!
	_t_pids+=("$SIM_PID")
	read -r -t 30 line <"$T/sim.fifo" || line=
	rm -f "$T/sim.fifo"
	case $line in
	READY*) SIM_URL=${line##*url=}; SIM_PORT=${SIM_URL##*:} ;;
	*) echo "k3sim did not start: $(tail -5 "$T/sim.log")" >&2; return 1 ;;
	esac
}

sim_stop() {
	kill -TERM "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null
}

simctl() { "$PY" "$SIMCTL" --state "$T/sim" "$@" >/dev/null; }

kapi() {	# METHOD PATH [BODY-FILE [CONTENT-TYPE]]
	local out
	out=$(curl -sS --cacert "$T/sim/tls/server-ca.crt" --cert "$T/sim/tls/client-admin.crt" \
		--key "$T/sim/tls/client-admin.key" -X "$1" -H "Content-Type: ${4:-application/json}" \
		${3:+--data-binary @"$3"} -w '\n%{http_code}' "$SIM_URL$2") || return 1
	printf '%s\n' "${out%$'\n'*}"
	[ "${out##*$'\n'}" -lt 400 ]
}

kpy() { KC=$T/sim/kubeconfig PYTHONPATH=$ROOT/tests/integration "$PY" "$@"; }

sim_snapshot() { kpy -c 'import sys, simkube; print("\n".join(simkube.snapshot(sys.argv[1])))' "$1"; }
