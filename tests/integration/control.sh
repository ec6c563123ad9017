#!/usr/bin/env bash
# agentd + agentctl over a private control socket: status, exit codes, rights,
# protocol abuse, limits, reload, clean stop.  No cluster needed.
. "$(dirname "$0")/lib.sh"

agentd_config "$T/agentd.yaml" "log: {level: debug}" \
	"control: {max_clients: 4, idle_timeout: 1s}"
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

expect_rc 0 status-table ctl status
check status-table-content grep -Eq '^api +FAIL +critical .*kubeconfig .*No such file' "$T/out"

expect_rc 0 version ctl version
check version-both grep -q "agentd $("$AGENTD" --version | cut -d' ' -f2) (protocol 1)" "$T/out"

# --- exit codes -----------------------------------------------------------------
expect_rc 2 usage-unknown-command ctl frobnicate
expect_rc 2 usage-bad-option "$AGENTCTL" --bogus status
expect_rc 2 usage-no-command "$AGENTCTL"
expect_rc 2 usage-extra-arg ctl status extra
expect_rc 3 unreachable "$AGENTCTL" -s "$T/nonexistent.sock" status
check unreachable-names-socket grep -q "$T/nonexistent.sock" "$T/err"
expect_rc 3 unreachable-env env AGENTD_SOCKET="$T/nonexistent.sock" "$AGENTCTL" status

# --- SIGTERM ----------------------------------------------------------------------
sock=$AGENTD_SOCK
agentd_stop
rc=$?
if [ "$rc" -eq 0 ]; then pass sigterm-clean-exit; else fail sigterm-clean-exit "exit $rc"; fi
check sigterm-socket-removed test ! -e "$sock"
check sigterm-logged log_has 'stopping on'

t_done
