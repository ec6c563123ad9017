#!/usr/bin/env bash
# agentd + agentctl over a private control socket: status, exit codes, rights,
# protocol abuse, limits, reload, clean stop.  No cluster needed.
. "$(dirname "$0")/lib.sh"

# --- agentd -n: every golden pair through the real binary -------------------------
# The unit test parses them as /etc/agentd/NAME.in: copy each to $T/etc/agentd/
# and strip $T from the output.
gdir=$ROOT/tests/golden/config
mkdir -p "$T/etc/agentd"
n_ok=0 n_bad=""
for in in "$gdir"/*.in; do
	name=$(basename "$in")
	cp "$in" "$T/etc/agentd/$name"
	out=$(cd / && env -u KUBECONFIG -u AGENTD_SOCKET -u STATE_DIRECTORY -u RUNTIME_DIRECTORY \
		-u CREDENTIALS_DIRECTORY "$AGENTD" -n -c "$T/etc/agentd/$name" 2>&1)
	rc=$?
	got=$(printf '%s\n' "$out" | sed "s|^agentd: $T/etc/agentd/|error: |; s|\"$T/|\"/|")
	want=$(cat "${in%.in}.ok")
	case $name in ok-*) want_rc=0 ;; *) want_rc=1 ;; esac
	if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$want" ]; then
		n_ok=$((n_ok + 1))
	else
		n_bad="$n_bad $name(exit $rc)"
	fi
done
if [ -z "$n_bad" ] && [ "$n_ok" -gt 60 ]; then pass "check-config-golden ($n_ok files)"; else fail check-config-golden "differ:$n_bad"; fi
expect_rc 1 check-config-missing-file "$AGENTD" -n -c "$T/none.yaml"
check check-config-missing-says-why grep -q "$T/none.yaml: No such file or directory" "$T/err"
expect_rc 2 agentd-usage "$AGENTD" --bogus
agentd_config "$T/env.yaml"
expect_rc 0 check-config-env-overrides env KUBECONFIG=/k.yaml AGENTD_SOCKET=/tmp/x.sock "$AGENTD" -n -c "$T/env.yaml"
check check-config-env-kubeconfig grep -qx 'kubeconfig: "/k.yaml"  # from $KUBECONFIG' "$T/out"
check check-config-env-socket grep -qx 'socket: "/tmp/x.sock"  # from $AGENTD_SOCKET' "$T/out"

agentd_config "$T/agentd.yaml" "log: {level: debug}" \
	"control: {max_clients: 4, idle_timeout: 20s}"
agentd_start "$T/agentd.yaml" || { fail start "agentd did not start"; t_done; }

# --- status -------------------------------------------------------------------
expect_rc 0 status-json-exit ctl --json status
check status-json-shape "$PY" - "$T/out" <<'PYEOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
rfc = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
assert set(d) == {"state", "since", "api", "vault", "checks"}, sorted(d)
assert d["state"] == "wait-api", d["state"]
assert rfc.match(d["since"]), d["since"]
assert isinstance(d["api"], dict) and d["api"]["ok"] is False, d["api"]
assert isinstance(d["vault"]["pods"], list), d["vault"]
assert d["checks"], "no checks"
for c in d["checks"]:
    assert set(c) == {"name", "ok", "severity", "message", "since"}, sorted(c)
    assert isinstance(c["ok"], bool) and c["severity"] in ("info", "warning", "critical")
    assert rfc.match(c["since"]), c
api = [c for c in d["checks"] if c["name"] == "api"]
assert len(api) == 1 and api[0]["ok"] is False
assert "kubeconfig" in api[0]["message"] and "No such file or directory" in api[0]["message"], api[0]
PYEOF
check status-json-one-line test "$(wc -l <"$T/out")" -eq 1
expect_rc 0 status-json-after-command ctl status --json
check status-json-after-command-is-json "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"

expect_rc 0 status-table ctl status
check status-table-content grep -Eq '^api +FAIL +critical .*kubeconfig .*No such file' "$T/out"

expect_rc 0 version ctl version
check version-both grep -q "agentd $("$AGENTD" --version | cut -d' ' -f2) (protocol 1)" "$T/out"

# --- the socket ------------------------------------------------------------------
check socket-mode-0660 test "$(stat -c %a "$AGENTD_SOCK")" = 660
expect_rc 1 second-agentd-refuses-live-socket timeout 5 "$AGENTD" -f -c "$T/agentd.yaml"
check second-agentd-says-why grep -q "another agentd is listening" "$T/err"
agentd_config "$T/notsock.yaml" "socket: $T/plain-file"
touch "$T/plain-file"
expect_rc 1 refuses-non-socket-path timeout 5 "$AGENTD" -f -c "$T/notsock.yaml"
check refuses-non-socket-says-why grep -q "exists and is not a socket" "$T/err"
# A stale socket (nobody listening) is replaced.
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/stale.sock"
agentd_config "$T/stale.yaml" "socket: $T/stale.sock"
"$AGENTD" -f -c "$T/stale.yaml" 2>>"$T/agentd-stale.log" &
stale_pid=$!
if wait_for 5 "$AGENTCTL" -s "$T/stale.sock" status; then pass stale-socket-replaced; else fail stale-socket-replaced "$(tail -2 "$T/agentd-stale.log")"; fi
kill "$stale_pid"; wait "$stale_pid"

# --- exit codes -----------------------------------------------------------------
expect_rc 2 usage-unknown-command ctl frobnicate
expect_rc 2 usage-bad-option "$AGENTCTL" --bogus status
expect_rc 2 usage-no-command "$AGENTCTL"
expect_rc 2 usage-extra-arg ctl status extra
expect_rc 2 usage-socket-without-path "$AGENTCTL" -s
expect_rc 3 unreachable "$AGENTCTL" -s "$T/nonexistent.sock" status
check unreachable-names-socket grep -q "$T/nonexistent.sock" "$T/err"
expect_rc 3 unreachable-env env AGENTD_SOCKET="$T/nonexistent.sock" "$AGENTCTL" status

# --- rights (SO_PEERCRED) ----------------------------------------------------------
share_with_nobody
expect_rc 0 unprivileged-may-read as_nobody "$AGENTCTL" -s "$AGENTD_SOCK" --json status
expect_rc 4 unprivileged-mutating-refused as_nobody "$AGENTCTL" -s "$AGENTD_SOCK" reload
check refused-says-why grep -q "only root may run it" "$T/err"
check refused-logged log_has "refused 'reload' for uid 65534"
expect_rc 0 root-may-mutate ctl reload
chmod 0600 "$AGENTD_SOCK"
expect_rc 4 socket-permission-denied as_nobody "$AGENTCTL" -s "$AGENTD_SOCK" status
chmod 0666 "$AGENTD_SOCK"

# --- protocol abuse: each bad client gets an error frame; others keep working --------
cat >"$T/raw.py" <<'PYEOF'
# raw.py SOCKET CASE: speak the frame protocol by hand; print what came back.
import json, socket, struct, sys, time

def frame(t, payload, version=1, magic=b"AD"):
    return magic + struct.pack(">BBI", version, t, len(payload)) + payload

def read_frames(s, stop_at_end=False):
    buf, out = b"", []
    s.settimeout(5)
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            out.append(("TIMEOUT", None)); return out
        if not d:
            out.append(("EOF", None)); return out
        buf += d
        while len(buf) >= 8:
            _, v, t, n = buf[:2], buf[2], buf[3], struct.unpack(">I", buf[4:8])[0]
            if len(buf) < 8 + n:
                break
            p = buf[8:8 + n]; buf = buf[8 + n:]
            out.append(({2: "REPLY", 3: "PROGRESS", 4: "ERROR", 5: "END"}.get(t, str(t)),
                        json.loads(p) if p else None))
            if stop_at_end and t == 5:
                return out

sock, case = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX); s.connect(sock)
req = json.dumps({"command": "status", "args": {}}).encode()
if case == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
elif case == "oversize":
    s.sendall(b"AD" + struct.pack(">BBI", 1, 1, 10 * 1024 * 1024) + b"x" * 1000)
elif case == "wrong-version":
    s.sendall(frame(1, req, version=7))
elif case == "bad-json":
    s.sendall(frame(1, b"{not json"))
elif case == "not-request":
    s.sendall(frame(2, req))
elif case == "two-requests":
    s.sendall(frame(1, req) + frame(1, json.dumps({"command": "version"}).encode()))
    got = read_frames_until_two_ends = []
    s.settimeout(5)
    buf = b""
    ends = 0
    while ends < 2:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        ends = buf.count(b"AD\x01\x05\x00\x00\x00\x00")
    print("ENDS", ends)
    sys.exit(0)
elif case == "trickle":
    # Half a header per 0.4 s: never a whole request within the 1 s idle timeout.
    t0 = time.time()
    try:
        for b in frame(1, req):
            s.sendall(bytes([b]))
            time.sleep(0.4)
            if time.time() - t0 > 6:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = read_frames(s)
    print("AFTER %.1f" % (time.time() - t0))
    for t, p in out:
        print(t, json.dumps(p))
    sys.exit(0)
elif case == "idle":
    t0 = time.time()
    out = read_frames(s)
    print("AFTER %.1f" % (time.time() - t0))
    for t, p in out:
        print(t, json.dumps(p))
    sys.exit(0)
elif case == "max-size":
    head = b'{"command":"status","args":{"pad":"'
    tail = b'"}}'
    payload = head + b"x" * (65536 - 8 - len(head) - len(tail)) + tail
    s.sendall(frame(1, payload))
elif case == "hold":
    # Connect, then wait for a line on stdin before asking for status.
    print("CONNECTED", flush=True)
    sys.stdin.readline()
    s.sendall(frame(1, req))
for t, p in read_frames(s, stop_at_end=(case == "hold")):
    print(t, json.dumps(p))
PYEOF
raw() { "$PY" "$T/raw.py" "$AGENTD_SOCK" "$@"; }

# A client connected before the abuse and still served after it.
coproc HOLD { "$PY" "$T/raw.py" "$AGENTD_SOCK" hold; }
hold_pid=$HOLD_PID
read -r -t 10 hold_line <&"${HOLD[0]}"
[ "$hold_line" = CONNECTED ] || fail second-client-connect "got '$hold_line'"
raw garbage >"$T/garbage.out" 2>&1
check garbage-error grep -q '^ERROR {"error": "protocol", "message": "not an agentd control frame' "$T/garbage.out"
check garbage-end-then-close bash -c "tail -2 '$T/garbage.out' | tr '\n' ' ' | grep -q '^END null EOF'"
raw oversize >"$T/oversize.out" 2>&1
check oversize-error grep -q '^ERROR .*frame larger than 65536 bytes' "$T/oversize.out"
raw wrong-version >"$T/version.out" 2>&1
check wrong-version-error grep -q '^ERROR .*protocol version 7 not supported: agentd speaks version 1' "$T/version.out"
raw bad-json >"$T/badjson.out" 2>&1
check bad-json-error grep -q '^ERROR .*not valid JSON' "$T/badjson.out"
raw not-request >"$T/notreq.out" 2>&1
check not-request-error grep -q '^ERROR .*expected a REQUEST frame, got REPLY' "$T/notreq.out"
check protocol-errors-logged log_has "protocol error from uid 0"
echo go >&"${HOLD[1]}"
hold_out=$(timeout 5 cat <&"${HOLD[0]}")
if echo "$hold_out" | grep -q '^REPLY {"state": "wait-api"' && echo "$hold_out" | grep -q '^END'; then
	pass second-client-still-served
else
	fail second-client-still-served "got: $hold_out"
fi
wait "$hold_pid" 2>/dev/null
expect_rc 0 still-alive-after-abuse ctl status
raw max-size >"$T/max.out" 2>&1
check max-size-frame-accepted grep -q '^REPLY {"state"' "$T/max.out"
raw two-requests >"$T/two.out" 2>&1
check pipelined-requests-answered grep -qx 'ENDS 2' "$T/two.out"

# --- limits ---------------------------------------------------------------------
# A reload applies new limits: idle_timeout 1s, so a silent client hears why, then EOF.
sed -i 's/idle_timeout: 20s/idle_timeout: 1s/' "$T/agentd.yaml"
expect_rc 0 reload-limits ctl reload
raw idle >"$T/idle.out" 2>&1
check idle-timeout-error grep -q '^ERROR {"error": "limit", "message": "idle for 1.0s' "$T/idle.out"
check idle-timeout-closed grep -q '^EOF' "$T/idle.out"
check idle-timeout-timely awk '/^AFTER/ { exit !($2 >= 0.8 && $2 < 4) }' "$T/idle.out"
raw trickle >"$T/trickle.out" 2>&1
check idle-timeout-trickle grep -q '^ERROR {"error": "limit", "message": "idle for 1.0s' "$T/trickle.out"
check idle-timeout-trickle-timely awk '/^AFTER/ { exit !($2 < 4) }' "$T/trickle.out"

# max_clients is 4: hold 4 connections open, the 5th is turned away with a reason.
"$PY" - "$AGENTD_SOCK" >"$T/limit.out" 2>&1 <<'PYEOF'
import socket, sys
held = []
for _ in range(4):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
extra = socket.socket(socket.AF_UNIX); extra.connect(sys.argv[1]); extra.settimeout(5)
data = b""
while True:
    d = extra.recv(65536)
    if not d:
        break
    data += d
print(data[8:].split(b"AD\x01\x05")[0].decode())
PYEOF
check client-limit-error grep -q '"error":"limit","message":"too many control clients (limit 4)' "$T/limit.out"
check client-limit-logged log_has 'too many control clients'
wait_for 5 ctl status
expect_rc 0 client-limit-recovers ctl status

# --- reload ---------------------------------------------------------------------
cp "$T/agentd.yaml" "$T/agentd.yaml.good"
printf 'vault:\n  port: http\n' >>"$T/agentd.yaml"
kill -HUP "$AGENTD_PID"
if wait_for 5 log_has 'reload: keeping the current configuration: .*agentd.yaml:[0-9]+:[0-9]+: vault.port: expected an integer'; then
	pass sighup-broken-config-reported
else
	fail sighup-broken-config-reported "no error with file:line:col in the log"
fi
expect_rc 0 sighup-broken-still-serving ctl --json status
check sighup-broken-keeps-old grep -q "\"kubeconfig\":\"$T/kubeconfig\"" "$T/out"
expect_rc 1 reload-broken-exit ctl reload
check reload-broken-message grep -q 'configuration not reloaded, the old one stays: .*agentd.yaml:[0-9]*:[0-9]*: vault.port' "$T/err"
# A good new config is applied: the api check now names the new kubeconfig.
sed "s|^kubeconfig: .*|kubeconfig: $T/other-kubeconfig|" "$T/agentd.yaml.good" >"$T/agentd.yaml"
kill -HUP "$AGENTD_PID"
if wait_for 5 bash -c "'$AGENTCTL' -s '$AGENTD_SOCK' --json status | grep -q 'kubeconfig $T/other-kubeconfig: No such file'"; then
	pass sighup-good-config-applied
else
	fail sighup-good-config-applied "api check still names the old kubeconfig"
fi
check sighup-reload-logged log_has 'reloaded configuration'
# The control group takes effect on reload: nobody's group may now mutate.
nobody_group=$(getent group 65534 | cut -d: -f1)
printf 'control_group: %s\n' "$nobody_group" >>"$T/agentd.yaml"
expect_rc 0 reload-with-group ctl reload
# nobody's primary group is 65534 ($nobody_group on Debian: nogroup).
expect_rc 0 control-group-may-mutate as_nobody "$AGENTCTL" -s "$AGENTD_SOCK" reload
sed -i "s/^control_group: $nobody_group\$/control_group: no-such-group-xyz/" "$T/agentd.yaml"
expect_rc 1 reload-unknown-group ctl reload
check reload-unknown-group-message grep -q "control_group 'no-such-group-xyz'" "$T/err"

# --- status --watch ------------------------------------------------------------------
timeout 2.5 "$AGENTCTL" -s "$AGENTD_SOCK" --json status --watch >"$T/watch.out" 2>&1
rc=$?
if [ "$rc" -eq 124 ] && [ "$(wc -l <"$T/watch.out")" -ge 1 ] &&
	"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/watch.out"; then
	pass status-watch
else
	fail status-watch "exit $rc, output: $(head -c 200 "$T/watch.out")"
fi

# --- SIGTERM ----------------------------------------------------------------------
sock=$AGENTD_SOCK
agentd_stop
rc=$?
if [ "$rc" -eq 0 ]; then pass sigterm-clean-exit; else fail sigterm-clean-exit "exit $rc"; fi
check sigterm-socket-removed test ! -e "$sock"
check sigterm-logged log_has 'stopping on'

# --- sd_notify: READY, STATUS, WATCHDOG, RELOADING, STOPPING ---------------------------
"$PY" - "$T/notify.sock" >"$T/notify.out" 2>&1 <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(15)
print("LISTENING", flush=True)
while True:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    print(msg.replace("\n", "|"), flush=True)
    if "STOPPING=1" in msg:
        break
PYEOF
notify_pid=$!
wait_for 5 grep -q LISTENING "$T/notify.out"
agentd_config "$T/notify.yaml" "socket: $T/notify-agentd.sock"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 agentd_start "$T/notify.yaml"
sleep 1
kill -HUP "$AGENTD_PID"
sleep 0.3
agentd_stop
wait "$notify_pid"
check notify-ready grep -q '^READY=1|STATUS=wait-api' "$T/notify.out"
check notify-status-words grep -q '^STATUS=wait-api: ' "$T/notify.out"
check notify-watchdog test "$(grep -c '^WATCHDOG=1' "$T/notify.out")" -ge 3
check notify-reloading grep -q '^RELOADING=1|MONOTONIC_USEC=[0-9]' "$T/notify.out"
check notify-stopping grep -q '^STOPPING=1' "$T/notify.out"

# --- out of file descriptors: accept pauses instead of spinning, then recovers -------
agentd_config "$T/fd.yaml" "socket: $T/fd.sock"
AGENTD_SOCK=$T/fd.sock
(ulimit -n 14 && exec "$AGENTD" -f -c "$T/fd.yaml") 2>>"$T/agentd.log" &
AGENTD_PID=$!
_t_pids+=("$AGENTD_PID")
if wait_for 10 ctl status; then
	"$PY" - "$T/fd.sock" "$AGENTD_PID" >"$T/fd.out" 2>&1 <<'PYEOF'
import socket, sys, time
held = []
for _ in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
t0 = time.time()
cpu0 = sum(int(x) for x in open("/proc/%s/stat" % sys.argv[2]).read().split(")")[1].split()[11:13])
time.sleep(1.5)
cpu1 = sum(int(x) for x in open("/proc/%s/stat" % sys.argv[2]).read().split(")")[1].split()[11:13])
print("CPU_TICKS", cpu1 - cpu0)
for s in held:
    s.close()
PYEOF
	check emfile-accept-paused log_has 'control: accept: Too many open files; pausing for 1s'
	check emfile-no-busy-loop awk '/^CPU_TICKS/ { found = 1; ok = ($2 < 50) } END { if (!ok) { while ((getline l < FILENAME) > 0) print l; exit 1 } }' "$T/fd.out"
	if wait_for 10 ctl status; then pass emfile-recovers; else fail emfile-recovers "no status after the clients left"; fi
else
	fail emfile "agentd with 14 descriptors did not come up"
fi
agentd_stop

t_done
