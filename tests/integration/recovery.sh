#!/usr/bin/env bash
# Boot recovery against k3sim: the machine reboots, the API is down for 20 s,
# Vault comes back sealed; agentd waits, reports vault-sealed, asks at a
# systemd password prompt, and takes the keys from `agentctl unseal --stdin` or
# from a password agent.  Then the bad paths: a wrong key, --reset, a Vault pod
# restarting mid-unseal, agentd restarting while Vault is sealed.  Throughout,
# the known keys must appear nowhere in what agentd and agentctl print or leave.
. "$(dirname "$0")/lib.sh"

SIMCTL=$ROOT/tests/sim/simctl
HELP=$ROOT/tests/integration/recovery_sim.py
ASK=$T/ask
CTL_OUT=$T/ctl-output   # every agentctl stdout and stderr, for the key hygiene check

simctl() { "$PY" "$SIMCTL" --state "$T/sim" "$@" >/dev/null; }
status_json() { ctl --json status 2>>"$CTL_OUT"; }
state() { status_json | json_field 'd["state"]'; }
state_is() { [ "$(state)" = "$1" ]; }
state_in() { local s; s=$(state); for x in "$@"; do [ "$s" = "$x" ] && return 0; done; return 1; }
progress() { status_json | json_field '"%d/%d" % (d["vault"]["pods"][0]["progress"], d["vault"]["pods"][0]["threshold"])'; }
progress_is() { [ "$(progress)" = "$1" ]; }
vault_check_ok() { status_json | json_field '[c["ok"] for c in d["checks"] if c["name"] == "vault-sealed"][0]' | grep -qx True; }
ask_files() { ls "$ASK"/ask.* 2>/dev/null | wc -l; }
ask_present() { [ "$(ask_files)" -eq 1 ]; }
ask_gone() { [ "$(ask_files)" -eq 0 ] && [ -z "$(ls -A "$ASK")" ]; }
sealed_warnings() { grep -c 'warning: Vault sealed (' "$T/agentd.log"; }

# unseal_key N [ARGS]: `agentctl unseal --stdin` with key number N on stdin;
# exit code in $RC, output in $T/out, $T/err (and appended to $CTL_OUT).
unseal_key() {
	local n=$1
	shift
	sed -n "${n}p" "$T/keys" | ctl unseal --stdin "$@" >"$T/out" 2>"$T/err"
	RC=$?
	cat "$T/out" "$T/err" >>"$CTL_OUT"
}

unseal_reset() {
	ctl unseal --reset >"$T/out" 2>"$T/err"
	RC=$?
	cat "$T/out" "$T/err" >>"$CTL_OUT"
}

# agent_answer N: a password agent answers the open request with key N.
agent_answer() { sed -n "${1}p" "$T/keys" | "$PY" "$HELP" agent "$ASK" >>"$CTL_OUT" 2>&1; }

# is_unsealed NAME: the end state of every recovery.
is_unsealed() {
	local name=$1
	if ! wait_for 10 vault_check_ok; then
		fail "$name" "vault-sealed check still failing: $(status_json)"
	elif ! wait_for 5 ask_gone; then
		fail "$name" "the ask-password request was not withdrawn: $(ls -A "$ASK")"
	elif ! wait_for 10 state_in healthy degraded; then
		fail "$name" "state $(state), want healthy or degraded"
	else
		pass "$name"
	fi
}

# restart_vault: the Vault pod restarts (a new, sealed process); waits for agentd to see it.
restart_vault() {
	simctl restart-pod vault vault-0
	wait_for 10 state_is vault-sealed && wait_for 5 ask_present
}

# ---- first boot: a Vault pod, initialised with 3 shares, threshold 2 ---------
if ! sim_start; then
	fail sim-start "k3sim did not start"
	t_done
fi
if ! "$PY" "$HELP" vault-pod "$T/sim" >"$T/help.log" 2>&1 ||
	! "$PY" "$HELP" init "$T/sim" 3 2 "$T/keys" >>"$T/help.log" 2>&1; then
	fail vault-setup "$(cat "$T/help.log")"
	t_done
fi
pass vault-setup
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
mkdir -m 0700 "$ASK"
agentd_config "$T/agentd.yaml" "api: {backoff_initial: 200ms, backoff_max: 2s, request_timeout: 3s}" \
	"verify: {interval: 2s}" "ask_password: {enabled: true, dir: $ASK}"

# ---- the reboot: k3sim restarts on its state, the API refuses for 20 s ------
sim_stop
sim_start "$SIM_PORT" || { fail sim-reboot "k3sim did not restart"; t_done; }
simctl unavailable 20
t0=$(date +%s)
# systemd's notify socket, to read what agentd says in STATUS=
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
' "$T/notify.sock" "$T/notify.log" &
_t_pids+=("$!")
wait_for 5 test -S "$T/notify.sock"
export NOTIFY_SOCKET=$T/notify.sock
agentd_start || { fail agentd-start "agentd did not start"; t_done; }

if wait_for 10 state_is wait-api; then pass reboot-wait-api; else fail reboot-wait-api "state $(state)"; fi
api_msg=$(status_json | json_field '[c["message"] for c in d["checks"] if c["name"] == "api"][0]')
if echo "$api_msg" | grep -q "connection refused"; then pass reboot-api-reason
else fail reboot-api-reason "api check says: $api_msg"; fi
if grep -q '^STATUS=wait-api: .*connection refused' "$T/notify.log"; then pass reboot-status-says-why
else fail reboot-status-says-why "$(grep STATUS= "$T/notify.log" | tail -3)"; fi
if wait_for 40 state_is vault-sealed; then
	pass reboot-vault-sealed
	echo "# vault-sealed $(($(date +%s) - t0)) s after agentd started (API down for 20 s)"
else
	fail reboot-vault-sealed "state $(state): $(status_json)"
fi
if log_has "state starting -> wait-api" && log_has "state wait-api -> vault-sealed"; then
	pass reboot-states-logged
else fail reboot-states-logged "$(grep 'state ' "$T/agentd.log" | tail -5)"; fi
if wait_for 5 grep -qx 'STATUS=Vault sealed — run: agentctl unseal' "$T/notify.log"; then pass reboot-sd-notify-status
else fail reboot-sd-notify-status "$(tail -3 "$T/notify.log")"; fi
if wait_for 5 ask_present; then pass ask-file-created; else fail ask-file-created "no ask.* in $ASK"; fi
f=$(ls "$ASK"/ask.* 2>/dev/null | head -1)
if [ -n "$f" ] && grep -qx '\[Ask\]' "$f" && grep -qx "PID=$AGENTD_PID" "$f" && grep -q '^Socket='"$ASK"'/sck\.' "$f" &&
	grep -qx 'Id=agentd:vault-unseal' "$f" && grep -q '^Message=Vault is sealed (vault-0): enter an unseal key (2 needed)$' "$f" &&
	[ "$(stat -c %a "$f")" = 644 ]; then
	pass ask-file-format
else fail ask-file-format "$(cat "$f" 2>&1)"; fi
if [ "$(sealed_warnings)" -eq 1 ]; then pass one-sealed-warning; else fail one-sealed-warning "$(sealed_warnings) warnings"; fi

# ---- the API flaps while Vault is sealed --------------------------------------
simctl fail 5
if wait_for 10 state_is wait-api && grep -q '^STATUS=wait-api: .*HTTP 503' "$T/notify.log"; then pass flap-wait-api
else fail flap-wait-api "state $(state): $(grep STATUS= "$T/notify.log" | tail -2)"; fi
unseal_key 1
if [ "$RC" -eq 1 ] && grep -q '^agentctl: Vault unreachable: the Kubernetes API is not available' "$T/err"; then
	pass flap-unseal-unreachable
else fail flap-unseal-unreachable "exit $RC: $(cat "$T/out" "$T/err")"; fi
if wait_for 20 state_is vault-sealed && ask_present && progress_is 0/2; then pass flap-sealed-again
else fail flap-sealed-again "state $(state), asks $(ask_files), progress $(progress)"; fi
if [ "$(sealed_warnings)" -eq 1 ]; then pass flap-no-second-warning; else fail flap-no-second-warning "$(sealed_warnings) warnings"; fi

# ---- agentctl unseal --stdin, 2 of 3 ----------------------------------------
unseal_key 1
if [ "$RC" -eq 1 ] && grep -q '^1/2 keys: Vault still sealed' "$T/out"; then pass unseal-progress-1-of-2
else fail unseal-progress-1-of-2 "exit $RC: $(cat "$T/out" "$T/err")"; fi
if wait_for 5 progress_is 1/2 && state_is vault-sealed; then pass status-shows-progress
else fail status-shows-progress "progress $(progress), state $(state)"; fi
if wait_for 5 ask_present && grep -q '(1/2 keys entered)' "$ASK"/ask.*; then pass ask-file-says-progress
else fail ask-file-says-progress "$(cat "$ASK"/ask.* 2>&1)"; fi
unseal_key 2
if [ "$RC" -eq 0 ] && grep -qx 'Vault unsealed' "$T/out"; then pass unseal-completes
else fail unseal-completes "exit $RC: $(cat "$T/out" "$T/err")"; fi
is_unsealed reboot-recovered
unseal_key 3
if [ "$RC" -eq 0 ] && grep -q '^not sealed' "$T/out"; then pass unseal-not-sealed
else fail unseal-not-sealed "exit $RC: $(cat "$T/out" "$T/err")"; fi

# ---- detection latency: Vault pod restart -> agentd reports sealed -----------
sealed_now() { ctl --json status 2>/dev/null | grep -q '"state":"vault-sealed"'; }
start_ns=$(date +%s%N)
curl -fsS -X POST -H "X-Sim-Token: $(cat "$T/sim/control-token")" -H 'Content-Type: application/json' \
	-d '{"namespace": "vault", "name": "vault-0"}' "$(cat "$T/sim/control-url")/restart-pod" >/dev/null
detected=
for _ in $(seq 1 400); do
	if sealed_now; then detected=$(date +%s%N); break; fi
	sleep 0.01
done
if [ -n "$detected" ]; then
	ms=$(((detected - start_ns) / 1000000))
	echo "# detection latency (Vault pod restart -> agentd reports vault-sealed): $ms ms"
	if [ "$ms" -le 2000 ]; then pass detect-latency; else fail detect-latency "$ms ms, want <= 2000 ms"; fi
else
	fail detect-latency "not detected within 4 s: $(status_json)"
fi
if wait_for 5 ask_present && [ "$(sealed_warnings)" -eq 2 ]; then pass sealed-again-asks
else fail sealed-again-asks "asks: $(ask_files), warnings $(sealed_warnings)"; fi

# ---- a password agent answers over the ask socket ---------------------------
if agent_answer 3 && wait_for 5 progress_is 1/2; then pass agent-first-key
else fail agent-first-key "progress $(progress): $(tail -3 "$T/agentd.log")"; fi
if wait_for 5 ask_present && agent_answer 1; then pass agent-second-key
else fail agent-second-key "no new request after the first key: $(ls -A "$ASK")"; fi
is_unsealed agent-recovered
if log_has 'unseal key accepted by vault-0 \(ask-password\): 1/2 keys' && log_has 'vault-0 unsealed \(key from ask-password\)'; then
	pass agent-logged
else fail agent-logged "$(grep -i unseal "$T/agentd.log" | tail -4)"; fi

# ---- a wrong key: progress reset, clear error, exit 1, rate-limited ----------
restart_vault || fail wrong-key-setup "not sealed again: $(state)"
unseal_key 1
head -c 32 /dev/urandom | base64 >"$T/wrong"
ctl unseal --stdin <"$T/wrong" >"$T/out" 2>"$T/err"
RC=$?
cat "$T/out" "$T/err" >>"$CTL_OUT"
if [ "$RC" -eq 1 ] && grep -q '^agentctl: wrong key: vault-0 discarded the unseal attempt (progress back to 0/2)' "$T/err"; then
	pass wrong-key-error
else fail wrong-key-error "exit $RC: $(cat "$T/out" "$T/err")"; fi
unseal_key 1
if [ "$RC" -eq 1 ] && grep -q 'too many wrong keys: the next attempt is allowed in 1 s' "$T/err"; then pass wrong-key-rate-limited
else fail wrong-key-rate-limited "exit $RC: $(cat "$T/out" "$T/err")"; fi
if wait_for 5 progress_is 0/2 && state_is vault-sealed && wait_for 5 ask_present; then pass wrong-key-state
else fail wrong-key-state "progress $(progress), state $(state), asks $(ask_files)"; fi
sleep 1
if log_has 'unseal attempt on vault-0 \(agentctl\) discarded: wrong key'; then pass wrong-key-logged
else fail wrong-key-logged "$(grep -i unseal "$T/agentd.log" | tail -3)"; fi

# ---- partial progress, then --reset -----------------------------------------
unseal_key 2
if [ "$RC" -eq 1 ] && wait_for 5 progress_is 1/2; then :; else fail reset-setup "exit $RC, progress $(progress)"; fi
unseal_reset
if [ "$RC" -eq 0 ] && grep -q '^unseal progress discarded' "$T/out" && wait_for 5 progress_is 0/2 && state_is vault-sealed; then
	pass reset-discards-progress
else fail reset-discards-progress "exit $RC, progress $(progress): $(cat "$T/out" "$T/err")"; fi
unseal_key 1
unseal_key 3
if [ "$RC" -eq 0 ]; then is_unsealed reset-then-unseal; else fail reset-then-unseal "exit $RC: $(cat "$T/err")"; fi
unseal_reset
if [ "$RC" -eq 0 ] && grep -q '^not sealed: nothing to reset' "$T/out"; then pass reset-not-sealed
else fail reset-not-sealed "exit $RC: $(cat "$T/out" "$T/err")"; fi

# ---- the Vault pod restarts mid-unseal: the first key is lost with it --------
restart_vault || fail restart-mid-setup "not sealed: $(state)"
unseal_key 1
simctl restart-pod vault vault-0
if wait_for 10 progress_is 0/2 && state_is vault-sealed; then pass restart-mid-unseal-detected
else fail restart-mid-unseal-detected "progress $(progress), state $(state)"; fi
unseal_key 2
if [ "$RC" -eq 1 ] && grep -q '^1/2 keys' "$T/out"; then pass restart-mid-unseal-starts-over
else fail restart-mid-unseal-starts-over "exit $RC: $(cat "$T/out" "$T/err")"; fi
unseal_key 1
if [ "$RC" -eq 0 ]; then is_unsealed restart-mid-unseal-recovered
else fail restart-mid-unseal-recovered "exit $RC: $(cat "$T/out" "$T/err")"; fi

# ---- agentd restarts while Vault is sealed -----------------------------------
restart_vault || fail agentd-restart-setup "not sealed: $(state)"
agentd_stop
if ask_gone; then pass stop-withdraws-ask; else fail stop-withdraws-ask "left behind: $(ls -A "$ASK")"; fi
agentd_start || { fail agentd-restart "agentd did not start again"; t_done; }
if wait_for 15 state_is vault-sealed && wait_for 5 ask_present; then pass agentd-restart-sees-sealed
else fail agentd-restart-sees-sealed "state $(state), asks $(ask_files)"; fi
unseal_key 3
unseal_key 2
if [ "$RC" -eq 0 ]; then is_unsealed agentd-restart-recovered
else fail agentd-restart-recovered "exit $RC: $(cat "$T/out" "$T/err")"; fi

# ---- usage: never a key on argv; --stdin needs a line ------------------------
expect_rc 2 unseal-rejects-argv-key ctl unseal "$(sed -n 1p "$T/keys")"
cat "$T/out" "$T/err" >>"$CTL_OUT"
echo "" | ctl unseal --stdin >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 2 ] && grep -q 'no key given' "$T/err"; then pass unseal-empty-line; else fail unseal-empty-line "exit $RC: $(cat "$T/err")"; fi
ctl unseal </dev/null >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 2 ] && grep -q 'stdin is not a terminal' "$T/err"; then pass unseal-needs-tty; else fail unseal-needs-tty "exit $RC: $(cat "$T/err")"; fi

# ---- key hygiene --------------------------------------------------------------
# A non-dumpable process's /proc files belong to root whatever its uid; agentd
# runs as nobody here so the difference shows.
mkdir -m 0777 "$T/nobody"
printf 'kubeconfig: /nonexistent\nsocket: %s/nobody/a.sock\nstate_dir: %s/nobody\n' "$T" "$T" >"$T/nobody/agentd.yaml"
chmod 0755 "$T"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$AGENTD" -f -c "$T/nobody/agentd.yaml" 2>"$T/nobody/log" &
np=$!
_t_pids+=("$np")
sleep 0.5
if [ "$(awk '/^Uid:/ {print $2}' /proc/$np/status 2>/dev/null)" = 65534 ] && [ "$(stat -c %u /proc/$np/status)" = 0 ]; then
	pass daemon-not-dumpable
else fail daemon-not-dumpable "uid $(awk '/^Uid:/ {print $2}' /proc/$np/status 2>&1), /proc owner $(stat -c %u /proc/$np/status 2>&1)"; fi
kill -TERM "$np"; wait "$np" 2>/dev/null
mkfifo "$T/nobody/keyin"
chmod 0666 "$T/nobody/keyin"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$AGENTCTL" -s "$T/nobody/none.sock" unseal --stdin \
	<"$T/nobody/keyin" >/dev/null 2>&1 &
cp=$!
exec 7>"$T/nobody/keyin"
sleep 0.3
if [ "$(awk '/^Uid:/ {print $2}' /proc/$cp/status 2>/dev/null)" = 65534 ] && [ "$(stat -c %u /proc/$cp/status)" = 0 ]; then
	pass agentctl-not-dumpable
else fail agentctl-not-dumpable "/proc/$cp owner $(stat -c %u /proc/$cp/status 2>&1)"; fi
exec 7>&-
wait "$cp" 2>/dev/null

agentd_stop
leaks=
while read -r k; do
	[ -n "$k" ] || continue
	for f in "$T/agentd.log" "$CTL_OUT" "$T/state" "$ASK" "$T/nobody/log"; do
		[ -e "$f" ] || continue
		if grep -rqF -- "$k" "$f"; then leaks="$leaks $f"; fi
	done
done <"$T/keys"
if [ ! -s "$T/agentd.log" ] || [ ! -s "$CTL_OUT" ]; then
	fail key-never-printed "nothing captured to search"
elif [ -n "$leaks" ]; then
	fail key-never-printed "a key appears in:$leaks"
else
	pass key-never-printed
fi
sim_stop
t_done
