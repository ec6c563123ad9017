#!/usr/bin/env bash
# An idle healthy stack over a simulated hour (k3sim at --speed 60 for a minute):
# agentd stays healthy and writes no journal entry about its checks, because
# nothing changes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/verify.lib"

verify_up 60 '30 6 * * *' || t_done
if wait_for 30 ctl verify && state_is healthy; then pass healthy
else fail healthy "state $(state): $(failing)"; fi
sleep 2
before=$(check_entries)
start=$("$PY" "$SIMCTL" --state "$T/sim" clock | json_field 'd["now"]')
sleep 60
end=$("$PY" "$SIMCTL" --state "$T/sim" clock | json_field 'd["now"]')
after=$(check_entries)
if "$PY" -c 'import datetime as d, sys
t = [d.datetime.fromisoformat(a.replace("Z", "+00:00")) for a in sys.argv[1:]]
sys.exit(0 if (t[1] - t[0]).total_seconds() >= 3500 else 1)' "$start" "$end"; then pass simulated-hour
else fail simulated-hour "simulated time went from $start to $end"; fi
if [ "$before" -eq "$after" ]; then pass idle-hour-no-repeats
else fail idle-hour-no-repeats "$((after - before)) check entries: $(grep 'check ' "$T/agentd.log" | tail -3)"; fi
if state_is healthy; then pass still-healthy; else fail still-healthy "state $(state): $(failing)"; fi
t_done
