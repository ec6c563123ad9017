#!/usr/bin/env bash
# The API probe asks /api only to prove credentials: once when the API first
# answers, again after a failure or when the kubeconfig's credentials change;
# /readyz at every verify.interval.  A kubeconfig that lost its credentials
# (anonymous: /readyz still answers, as on a real API server) is refused by /api
# at the next probe.  Requests counted in k3sim's log (K3SIM_DEBUG).
. "$(dirname "$0")/lib.sh"

export K3SIM_DEBUG=1
sim_start || { fail sim-start "k3sim did not start"; t_done; }
ln -s "$T/sim/kubeconfig" "$T/kubeconfig"
agentd_config "$T/agentd.yaml" "api: {backoff_initial: 200ms, backoff_max: 1s}" "verify: {interval: 1s}"
api_ok() { ctl --json status | json_field 'd["api"]["ok"]' | grep -qx True; }
api_says() { ctl --json status | json_field 'd["api"]["message"]' | grep -q -- "$1"; }
count() { grep -c "\"GET $1 HTTP" "$T/sim.log"; }

agentd_start || { fail agentd-start "agentd did not start"; t_done; }
wait_for 10 api_ok || fail api-up "api: $(ctl --json status | json_field 'd["api"]')"
sleep 5
readyz=$(count /readyz) api=$(count /api)
echo "# 5 s at verify.interval 1 s: /readyz $readyz, /api $api"
check readyz-every-interval test "$readyz" -ge 4
check api-once test "$api" -eq 1

# the same server, no credentials: /readyz is public, /api is not
"$PY" - "$T/sim/kubeconfig" "$T/kc-anon" <<'EOF'
import sys, yaml
kc = yaml.safe_load(open(sys.argv[1]))
kc["users"][0]["user"] = {}
yaml.safe_dump(kc, open(sys.argv[2], "w"))
EOF
ln -sfn "$T/kc-anon" "$T/kubeconfig"
if wait_for 5 api_says "401 Unauthorized"; then pass anonymous-refused-at-once
else fail anonymous-refused-at-once "api: $(ctl --json status | json_field 'd["api"]["message"]')"; fi

# the credentials back: proved once more, then /readyz alone again
ln -sfn "$T/sim/kubeconfig" "$T/kubeconfig"
if wait_for 10 api_ok; then pass recovers; else fail recovers "api: $(ctl --json status | json_field 'd["api"]')"; fi
before=$(count /api)
sleep 4
check api-not-repeated test "$(count /api)" -eq "$before"
t_done
